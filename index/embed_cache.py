"""A persistent cache of window vectors keyed by model and text.

Embedding is the only slow step of ingest (docs/experiments.md). Every vector
computed is stored at once, batch by batch, so
an ingest that is interrupted resumes without embedding again what it had
done, and a second index of the same corpus (tests, a rebuild, a new folder)
costs no model time. Lives outside the index generations, in
``PINPOINT_CACHE_DIR``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import numpy as np

SQL_CHUNK = 500  # keys per query, under SQLite's limit on bound parameters
SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, PRIMARY KEY (model, key))"


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(folder / "embeddings.sqlite"), timeout=30)
        self._db.execute(SCHEMA)

    def get_many(self, model: str, texts: list[str]) -> dict[str, np.ndarray]:
        """text -> vector for the texts already embedded by ``model``."""
        keys = {text_key(t): t for t in texts}
        return {keys[key]: np.frombuffer(blob, dtype=np.float32) for key, blob in self._rows(model, list(keys), "vec")}

    def known(self, model: str, texts: set[str]) -> set[str]:
        """The texts already embedded by ``model``, without reading their vectors (ingest sizes its progress bar)."""
        keys = {text_key(t): t for t in texts}
        return {keys[key] for key, _ in self._rows(model, list(keys), "NULL")}

    def _rows(self, model: str, keys: list[str], column: str):
        """(key, column) rows for ``keys``, in chunks that stay under SQLite's parameter limit."""
        for start in range(0, len(keys), SQL_CHUNK):
            chunk = keys[start : start + SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            yield from self._db.execute(
                f"SELECT key, {column} FROM vectors WHERE model = ? AND key IN ({marks})", [model, *chunk]
            )

    def put_many(self, model: str, texts: list[str], vectors: np.ndarray) -> None:
        rows = [(model, text_key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in zip(texts, vectors, strict=True)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
