"""Read ``documents.toml``: which files are documents, and what they are called."""

from __future__ import annotations

import tomllib
from pathlib import Path

from ingest.units import Document

MANIFEST_NAME = "documents.toml"
REQUIRED = ("key", "symbol", "kind", "language", "file", "title_en", "title_zh", "short_en", "short_zh")


def load_manifest(corpus_dir: Path) -> list[Document]:
    """Documents in manifest order; a missing field or file is a clear error."""
    path = corpus_dir / MANIFEST_NAME
    if not path.exists():
        raise FileNotFoundError(f"no manifest at {path}: list the documents in {MANIFEST_NAME}")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    docs = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("document", []), start=1):
        missing = [k for k in REQUIRED if not entry.get(k)]
        if missing:
            raise ValueError(f"{path}: document #{i} lacks {', '.join(missing)}")
        if entry["kind"] not in ("report", "treaty"):
            raise ValueError(f"{path}: document {entry['key']!r} has kind {entry['kind']!r}; use report or treaty")
        if entry["key"] in seen:
            raise ValueError(f"{path}: document key {entry['key']!r} appears twice")
        seen.add(entry["key"])
        fields = {k: entry[k] for k in REQUIRED}
        docs.append(Document(**fields, aliases=tuple(entry.get("aliases", ())), cues=tuple(entry.get("cues", ()))))
    return docs
