"""The one place that makes Chroma clients and collections.

Embedded (``PersistentClient`` in the index generation's folder) by default;
``PINPOINT_CHROMA_URL=http://host:port`` switches the same code to a Chroma
server (``HttpClient``). Collections are created with
``embedding_function=None``: Chroma's default function downloads a model on
first use, which fails offline; Pinpoint always supplies its own vectors.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlparse

from llama_index.vector_stores.chroma import ChromaVectorStore


def make_client(path: Path | None, url: str = ""):
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
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def collection_name(prefix: str, generation: str, embedder: str) -> str:
    """A valid Chroma name (3-512 chars of [a-zA-Z0-9._-], alphanumeric ends)."""
    name = re.sub(r"[^a-zA-Z0-9._-]", "-", f"{prefix}-{generation}-{embedder}").strip("-._")
    return (name + "-col")[:512] if len(name) < 3 else name[:512]


def open_store(client, name: str, create: bool = False) -> ChromaVectorStore:
    """The llama-index vector store over collection ``name`` (cosine distance)."""
    if create:
        collection = client.get_or_create_collection(
            name=name, embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
    else:
        collection = client.get_collection(name=name, embedding_function=None)
    return ChromaVectorStore(chroma_collection=collection)
