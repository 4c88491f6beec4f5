"""The corpus's documents: preview, add, remove and list them, for the CLI and the UI alike.

A user's file becomes a document in four steps, each of which can refuse it before the next writes
anything: its size (``max_upload_bytes``); its content (an identical file already in the corpus is
reported, not added twice); its reading (``ingest.detect``: a file with no numbering, or a numbering
the parsers refuse, is not a document); its manifest entry (composed and read back before it is
written). Only then is the file copied into the corpus folder, the entry appended to
``documents.toml`` (in one rename) and the corpus ingested, which embeds only the new document's
units; if that ingest fails, the copy and the entry are taken back, and the index in use never
changed. Removing a document is the same in reverse. Errors are ``DocumentError``s with a message
for the user; results are dataclasses with ``to_json()``.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from index import generations
from ingest.detect import NO_OVERRIDES, Detection, Overrides, detect
from ingest.manifest import (
    LANGUAGES,
    MANIFEST_NAME,
    corpus_lock,
    load_manifest,
    manifest_path,
    with_entry,
    without_entry,
    write_atomically,
)
from ingest.parse import parse_document
from ingest.readers import SUPPORTED
from ingest.units import Document, IngestError, Unit
from settings import Settings

PREVIEW_UNITS = 5  # units a preview shows: enough to see that the numbering was read right
# Files of the corpus folder that are about the corpus, not documents: never a "not registered" warning.
CORPUS_NOTES = re.compile(rf"^(?:{re.escape(MANIFEST_NAME)}|SOURCES\.md|README.*)$")
UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]+")  # a file name from an upload may hold anything: keep it a plain name


class _Record:
    """``to_json()``: the fields as JSON values (tuples as lists, a Document as its fields)."""

    def to_json(self) -> dict:
        return _plain(asdict(self))


class DocumentError(ValueError):
    """A request the corpus cannot take; the message says why and what to do."""


class NotADocument(DocumentError):
    """A file that is not a document Pinpoint can cite: too big, not text, empty, or with no sound numbering."""


class UnknownDocument(DocumentError, LookupError):
    """No document has that key."""


@dataclass(frozen=True)
class UnitPreview(_Record):
    ref: str
    label_en: str
    label_zh: str
    line: int
    text: str


@dataclass(frozen=True)
class Preview(_Record):
    """What adding the file would register, read without writing anything."""

    document: Document
    units: int
    first_units: tuple[UnitPreview, ...]
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # any problem and `add` refuses the file
    duplicate_of: str | None = None  # the key of the document that already has this file's content


@dataclass(frozen=True)
class AddResult(_Record):
    """A document added (``added``), or the one already in the corpus with the same content."""

    key: str
    symbol: str
    language: str
    kind: str
    file: str
    units: int | None  # in the live index; None when it is not indexed
    warnings: tuple[str, ...] = ()
    added: bool = True
    embedded: int = 0  # windows the ingest did not take from the previous index: the new document's
    reused: int = 0
    generation: str | None = None


@dataclass(frozen=True)
class RemoveResult(_Record):
    key: str
    symbol: str
    file: str
    units: int | None  # the units it had in the index it was removed from
    generation: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocumentInfo(_Record):
    key: str
    symbol: str
    language: str
    kind: str
    file: str
    title_en: str
    title_zh: str
    units: int | None  # in the live index; None: not indexed
    renderings: tuple[str, ...] = field(default=())  # languages with a <renderings_dir>/<key>.<lang>.jsonl


def preview(settings: Settings, data: bytes, filename: str, overrides: Overrides = NO_OVERRIDES) -> Preview:
    """The entry, the first units and the numbering problems of adding ``data`` as ``filename``; writes
    nothing. NotADocument for a file that cannot be read as text at all (too big, binary, empty)."""
    _check_size(settings, len(data), filename)
    docs = load_manifest(settings.corpus_dir)
    detection, units = _read(settings, data, _safe_name(filename), overrides, docs)
    duplicate = _duplicate_of(settings.corpus_dir, data, docs)
    return Preview(
        detection.document,
        len(detection.units),
        tuple(UnitPreview(u.ref, u.label_en, u.label_zh, u.line, u.text) for u in units[:PREVIEW_UNITS]),
        detection.warnings,
        detection.problems,
        duplicate.key if duplicate else None,
    )


def add_file(settings: Settings, path: Path, overrides: Overrides = NO_OVERRIDES, progress: bool = False) -> AddResult:
    """``add`` of a file on disk; its size is checked before it is read."""
    if path.exists() and not path.is_file():
        raise NotADocument(f"{path} is not a file")
    _check_size(settings, path.stat().st_size, path.name)
    return add(settings, path.read_bytes(), path.name, overrides, progress)


def add(
    settings: Settings, data: bytes, filename: str, overrides: Overrides = NO_OVERRIDES, progress: bool = False
) -> AddResult:
    """Register ``data`` (a file called ``filename``) as a new document and ingest it.

    Raises NotADocument (nothing written) for a file that is not one, DocumentError for an override
    that cannot stand; an identical file already in the corpus is returned with ``added=False``.
    """
    _check_size(settings, len(data), filename)
    corpus = settings.corpus_dir
    name = _safe_name(filename)
    docs = load_manifest(corpus)
    # Checked before the lock, so a file that is not a document is refused at once, never told to wait.
    checked = _checked(settings, data, name, overrides, docs)
    with corpus_lock(corpus):
        current = load_manifest(corpus)
        if current != docs:  # another add or remove finished meanwhile: check beside what it left
            checked = _checked(settings, data, name, overrides, current)
        if isinstance(checked, Document):
            return AddResult(
                checked.key, checked.symbol, checked.language, checked.kind, checked.file,
                _indexed_units(settings).get(checked.key), added=False,
            )
        target, adopted = _target(corpus, checked.document.file, data)
        doc = replace(checked.document, file=target.name)
        path = manifest_path(corpus)
        before = path.read_bytes().decode("utf-8")  # as bytes: a CRLF manifest is restored as it was
        after = with_entry(before, doc, path)
        report = _registered_and_ingested(settings, target, None if adopted else data, path, before, after, progress)
    return AddResult(
        doc.key, doc.symbol, doc.language, doc.kind, doc.file, report.documents.get(doc.key),
        checked.warnings, embedded=report.embedded, reused=report.reused, generation=report.generation,
    )


def _checked(settings: Settings, data: bytes, name: str, overrides: Overrides, docs: list[Document]) -> Detection | Document:
    """The detection of a file that can be added beside ``docs``, or the document that already has its
    content; NotADocument for a file that is not one."""
    duplicate = _duplicate_of(settings.corpus_dir, data, docs)
    if duplicate is not None:
        return duplicate
    detection, _ = _read(settings, data, name, overrides, docs)  # its units parsed as ingest will parse them
    if detection.problems:
        raise NotADocument("; ".join(detection.problems))
    return detection


def remove(settings: Settings, key: str, progress: bool = False) -> RemoveResult:
    """Take the document ``key`` out: its manifest entry, then (once the re-ingest succeeded) its file."""
    corpus = settings.corpus_dir
    with corpus_lock(corpus):
        docs = load_manifest(corpus)
        doc = next((d for d in docs if d.key == key), None)
        if doc is None:
            raise UnknownDocument(f"no document {key!r}; the documents are {', '.join(d.key for d in docs)}")
        if len(docs) == 1:
            raise DocumentError(f"{key} is the only document; an index needs one (add another first)")
        units = _indexed_units(settings).get(key)
        path = manifest_path(corpus)
        before = path.read_bytes().decode("utf-8")
        write_atomically(path, without_entry(before, key, path))
        try:
            report = _ingest(settings, progress)
        except BaseException:
            write_atomically(path, before)
            raise
        if not any(d.file == doc.file for d in docs if d.key != key):
            (corpus / doc.file).unlink(missing_ok=True)
    variable = f"PINPOINT_DEFAULT_{doc.kind.upper()}"
    default = settings.primary_report if doc.kind == "report" else settings.primary_treaty
    warnings = (
        (f"{key} was the default {doc.kind} ({variable}): a reference that names no document finds none of its "
         f"kind now; set {variable} to another key",)
        if default == key else ()
    )
    return RemoveResult(key, doc.symbol, doc.file, units, report.generation, warnings)


def list_documents(settings: Settings) -> list[DocumentInfo]:
    """Every manifest document with its unit count in the live index and the languages it has renderings in."""
    counts = _indexed_units(settings)
    return [
        DocumentInfo(
            d.key, d.symbol, d.language, d.kind, d.file, d.title_en, d.title_zh, counts.get(d.key),
            tuple(lang for lang in LANGUAGES if (settings.renderings_dir / f"{d.key}.{lang}.jsonl").is_file()),
        )
        for d in load_manifest(settings.corpus_dir)
    ]


def unregistered_files(settings: Settings) -> list[Path]:
    """Files of the corpus folder that no manifest entry names, so ingest does not read them."""
    corpus = settings.corpus_dir
    registered = {(corpus / d.file).resolve() for d in load_manifest(corpus)}
    return [
        path
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and not CORPUS_NOTES.match(path.name) and path.resolve() not in registered
    ]


def _check_size(settings: Settings, size: int, filename: str) -> None:
    if size > settings.max_upload_bytes:
        raise NotADocument(
            f"{filename} is {size:,} bytes, over the limit of {settings.max_upload_bytes:,} (PINPOINT_MAX_UPLOAD_BYTES)"
        )


def _safe_name(filename: str) -> str:
    """The upload's own name, without any folder, in plain characters, with a readable suffix."""
    name = UNSAFE_NAME_CHARS.sub("_", Path(filename).name).lstrip(".")
    suffix = Path(name).suffix.lower()
    if suffix not in SUPPORTED:
        raise NotADocument(f"{filename}: unsupported file type {suffix or '(none)'!r}; use {', '.join(SUPPORTED)}")
    if not Path(name).stem:
        raise NotADocument(f"{filename}: the file needs a name before its {suffix}")
    return name


def _read(
    settings: Settings, data: bytes, name: str, overrides: Overrides, docs: list[Document]
) -> tuple[Detection, list[Unit]]:
    """The detection of ``data`` staged outside the corpus as ``name``, and its units as ingest will make
    them (none when it has problems)."""
    with tempfile.TemporaryDirectory(prefix="pinpoint-add-") as folder:
        staged = Path(folder) / name
        staged.write_bytes(data)
        try:
            detection = detect(staged, overrides, docs)
            if detection.problems:
                return detection, []
            # Parsed alone: links to the other documents are found at ingest, not needed to preview.
            doc = detection.document
            return detection, parse_document(doc, Path(folder), [doc], settings.tokenizer_encoding)
        except IngestError as exc:
            raise NotADocument(str(exc)) from exc
        except ValueError as exc:  # an override that cannot stand
            raise DocumentError(str(exc)) from exc


def _duplicate_of(corpus: Path, data: bytes, docs: list[Document]) -> Document | None:
    digest = hashlib.sha256(data).digest()
    for doc in docs:
        path = corpus / doc.file
        if path.is_file() and path.stat().st_size == len(data) and hashlib.sha256(path.read_bytes()).digest() == digest:
            return doc
    return None


def _target(corpus: Path, name: str, data: bytes) -> tuple[Path, bool]:
    """Where the file goes in the corpus, and whether it is already there: a file the user put in the
    corpus folder and registers (`add data/corpus/FILE`) stays where it is. Another file of that name
    is never overwritten: the new one takes the name with -2, -3 ..."""
    path = corpus / name
    if path.is_file() and path.read_bytes() == data:
        return path, True
    number = 1
    while path.exists():
        number += 1
        path = corpus / f"{Path(name).stem}-{number}{Path(name).suffix}"
    return path, False


def _registered_and_ingested(
    settings: Settings, target: Path, data: bytes | None, manifest: Path, before: str, after: str, progress: bool
):
    """Write the file (unless ``data`` is None: it is in place), then the manifest, then ingest; a
    failure takes back what was written and is raised. The ingest's report."""
    file_written = manifest_written = False
    try:
        if data is not None:
            write_atomically(target, data)
            file_written = True
        write_atomically(manifest, after)
        manifest_written = True
        return _ingest(settings, progress)
    except BaseException:
        if manifest_written:
            write_atomically(manifest, before)
        if file_written:
            target.unlink(missing_ok=True)
        raise


def _ingest(settings: Settings, progress: bool):
    from index.build import ingest  # the models and stores load only when something is written

    return ingest(settings, progress=progress)


def _indexed_units(settings: Settings) -> dict[str, int]:
    """doc key -> units in the live index ({} when there is none)."""
    live = generations.current_generation(settings.index_dir)
    return dict(generations.read_meta(live).get("documents", {})) if live else {}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
