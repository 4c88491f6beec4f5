"""Read and write ``documents.toml``: which files are documents, and what they are called.

Writing is for ``services.documents`` (``app.py add`` / ``remove``): an entry is appended as one
``[[document]]`` table, or cut out as the text from its header line to the next one, so every
other byte of the file (comments, the hand-written entries, their order and layout) stays as it
was. Each new text is parsed and validated before it replaces the file, and it replaces it in one
rename, so the manifest is never half-written nor left invalid.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tomllib
import uuid
from contextlib import contextmanager
from pathlib import Path

from ingest.units import Document

MANIFEST_NAME = "documents.toml"
REQUIRED = ("key", "symbol", "kind", "language", "file", "title_en", "title_zh", "short_en", "short_zh")
KINDS = ("report", "treaty")
LANGUAGES = ("zh", "en")
# What a key added by `app.py add` may be: it is the prefix of every ref ("egm-tip-2019-1:3(b)") and
# is typed by users, so lowercase words of [a-z0-9] joined by single hyphens.
KEY = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TABLE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*document[ \t]*\]\][ \t]*(?:#.*)?$", re.MULTILINE)
ANY_TABLE = re.compile(r"^[ \t]*\[", re.MULTILINE)  # a table header, or a line of a multi-line array (checked after)
# Characters TOML forbids raw in a basic string that json.dumps leaves raw.
_TOML_UNESCAPED = {"\x7f": "\\u007f"}


class CorpusBusy(RuntimeError):
    """Another add or remove holds the corpus."""


def manifest_path(corpus_dir: Path) -> Path:
    return corpus_dir / MANIFEST_NAME


def load_manifest(corpus_dir: Path) -> list[Document]:
    """Documents in manifest order; a missing field or file is a clear error."""
    path = manifest_path(corpus_dir)
    if not path.exists():
        raise FileNotFoundError(f"no manifest at {path}: list the documents in {MANIFEST_NAME}")
    return parse_manifest(path.read_text(encoding="utf-8"), path)


def parse_manifest(text: str, path: Path) -> list[Document]:
    """The documents a manifest text lists; ``path`` names it in errors."""
    data = tomllib.loads(text)
    docs = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("document", []), start=1):
        missing = [k for k in REQUIRED if not entry.get(k)]
        if missing:
            raise ValueError(f"{path}: document #{i} lacks {', '.join(missing)}")
        if entry["kind"] not in KINDS:
            raise ValueError(f"{path}: document {entry['key']!r} has kind {entry['kind']!r}; use report or treaty")
        if entry["key"] in seen:
            raise ValueError(f"{path}: document key {entry['key']!r} appears twice")
        seen.add(entry["key"])
        fields = {k: entry[k] for k in REQUIRED}
        docs.append(Document(**fields, aliases=tuple(entry.get("aliases", ())), cues=tuple(entry.get("cues", ()))))
    return docs


def document_table(doc: Document) -> str:
    """``doc`` as a ``[[document]]`` table, fields in the order of the shipped entries."""
    lines = ["[[document]]"]
    lines += [f"{name} = {_toml_string(getattr(doc, name))}" for name in REQUIRED]
    lines += [f"{name} = [{', '.join(_toml_string(v) for v in getattr(doc, name))}]" for name in ("aliases", "cues")]
    return "\n".join(lines) + "\n"


def with_entry(text: str, doc: Document, path: Path) -> str:
    """The manifest text with ``doc`` appended after a blank line; every byte before it kept."""
    separator = "\n" if text.endswith("\n") or not text else "\n\n"
    new = text + separator + document_table(doc)
    data = tomllib.loads(text)
    expected = {**data, "document": [*data.get("document", []), _entry(doc)]}
    if tomllib.loads(new) != expected:
        raise ValueError(f"{path}: the entry for {doc.key!r} would not read back as written")
    parse_manifest(new, path)
    return new


def without_entry(text: str, key: str, path: Path) -> str:
    """The manifest text without the table of ``key``; every other byte kept.

    A table runs from its header line to the next table's; comment lines directly above a header (no
    blank line between) belong to that header's table. The last table takes the blank lines before it.
    """
    data = tomllib.loads(text)
    entries = data.get("document", [])
    headers = [m.start() for m in TABLE_HEADER.finditer(text)]
    if len(headers) != len(entries):
        raise ValueError(
            f"{path}: {len(entries)} documents but {len(headers)} [[document]] header lines; "
            f"remove {key!r} by hand"
        )
    index = next((i for i, entry in enumerate(entries) if entry.get("key") == key), None)
    if index is None:
        raise KeyError(key)
    start = _comments_above(text, headers[index])
    line_end = text.find("\n", headers[index])
    following = ANY_TABLE.search(text, len(text) if line_end < 0 else line_end + 1)
    if following is not None:
        new = text[:start] + text[_comments_above(text, following.start()) :]
    else:
        new = text[:start].rstrip("\n") + "\n" if text[:start].strip() else ""
    expected = {**data, "document": entries[:index] + entries[index + 1 :]}
    if tomllib.loads(new) != expected:
        raise ValueError(f"{path}: removing {key!r} would change the rest of the file; remove it by hand")
    return new


def write_atomically(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` in one rename: a reader sees the old file or the new one, never a part.

    The temporary file is created like any new file (the umask decides its mode) and takes the mode of
    the file it replaces."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def corpus_lock(corpus_dir: Path):
    """One add or remove at a time on a corpus folder.

    The lock is on the folder itself (flock on its descriptor), not on a lock file: a file would
    change the folder that a refused add must leave as it was, and the manifest cannot carry the
    lock because it is replaced, not rewritten.
    """
    descriptor = os.open(corpus_dir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CorpusBusy(f"another add or remove is running on {corpus_dir}; wait for it to finish") from exc
        yield
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock


def _comments_above(text: str, pos: int) -> int:
    """Where the comment lines directly above the line starting at ``pos`` start (``pos`` when none)."""
    while pos > 0:
        line_start = text.rfind("\n", 0, pos - 1) + 1
        if not text[line_start:pos].lstrip().startswith("#"):
            break
        pos = line_start
    return pos


def _entry(doc: Document) -> dict:
    """``doc`` as tomllib reads its table back."""
    return {name: getattr(doc, name) for name in REQUIRED} | {"aliases": list(doc.aliases), "cues": list(doc.cues)}


def _toml_string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for the few characters TOML also forbids raw."""
    out = json.dumps(value, ensure_ascii=False)
    for raw, escaped in _TOML_UNESCAPED.items():
        out = out.replace(raw, escaped)
    return out
