"""The one place that makes Chroma clients and collections.

Embedded (``PersistentClient`` in the index generation's folder) by default;
``PINPOINT_CHROMA_URL=http://host:port`` switches the same code to a Chroma
server (``HttpClient``). Collections are created with
``embedding_function=None``: Chroma's default function downloads a model on
first use, which fails offline; Pinpoint always supplies its own vectors.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

from llama_index.vector_stores.chroma import ChromaVectorStore

DATABASE = "chroma.sqlite3"  # an embedded store's one database file (next to its HNSW segment folders)


class StoreDamaged(RuntimeError):
    """An embedded store that is missing, not a database, corrupt, or that Chroma cannot open."""


def make_client(path: Path | None, url: str = "", create: bool = True):
    """A Chroma client; ``create=False`` opens an existing embedded store and refuses a damaged one."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1", port=parsed.port or 8000,
            ssl=parsed.scheme == "https", settings=chroma_settings,
        )
    if path is None:
        raise ValueError("an embedded Chroma store needs a folder")
    if create:
        path.mkdir(parents=True, exist_ok=True)
    else:
        check_store(path)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except BaseException as exc:
        # Chroma caches a path's system before starting it: forget the one that failed, or every later
        # client of this path in the process meets it half-built ("no attribute 'bindings'")
        from chromadb.api.shared_system_client import SharedSystemClient

        SharedSystemClient._identifier_to_system.pop(str(path), None)
        if type(exc).__name__ != "PanicException":  # Chroma's Rust core panics on some damage: a BaseException
            raise
        raise StoreDamaged(f"Chroma cannot open {path} ({exc})") from None


def check_store(path: Path) -> None:
    """Refuse a missing or corrupt embedded store before Chroma opens it.

    Chroma would create an empty store in place of a missing one, and a corrupt database
    surfaces only when a query reaches a bad page (or as a panic); SQLite's quick_check
    finds it up front, cheaply next to loading the index (docs/experiments.md).
    """
    database = path / DATABASE
    if not database.is_file():
        raise StoreDamaged(f"{database} is missing")
    uri = f"{database.resolve().as_uri()}?mode=rw"  # never creates it; a hot journal is rolled back, as by Chroma
    try:
        with closing(sqlite3.connect(uri, uri=True)) as connection:
            verdict = connection.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.Error as exc:
        raise StoreDamaged(f"{database} is not a readable database ({exc})") from None
    if verdict != "ok":
        raise StoreDamaged(f"{database} is corrupt ({' '.join(verdict.split())})")  # one line


def collection_name(prefix: str, generation: str, embedder: str) -> str:
    """A valid Chroma name (3-512 chars of [a-zA-Z0-9._-], alphanumeric ends)."""
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", f"{prefix}-{generation}-{embedder}").strip("-._")
    return (name + "-col")[:512] if len(name) < 3 else name[:512]


def open_store(client, name: str, create: bool = False, ef_search: int = 0) -> ChromaVectorStore:
    """The llama-index vector store over collection ``name`` (cosine distance).

    A new collection gets HNSW's ``ef_search`` from settings: at Chroma's default the same
    question could score differently from one process to the next (docs/experiments.md), because the
    graph's approximate search depends on its load order; a wider search is exact here and stable.
    """
    if create:
        metadata = {"hnsw:space": "cosine", **({"hnsw:search_ef": ef_search} if ef_search else {})}
        collection = client.get_or_create_collection(name=name, embedding_function=None, metadata=metadata)
    else:
        collection = client.get_collection(name=name, embedding_function=None)
    return ChromaVectorStore(chroma_collection=collection)
