"""USE encodes in worker processes, for ingest.

USE's forward pass is many small matrix products, driven from Python, that a second BLAS thread
barely speeds up, where a second process with one thread of its own nearly halves the time
(docs/experiments.md). So
an ingest with PINPOINT_INGEST_THREADS > 1 encodes USE batches in that many spawned processes,
each with its own model and one thread. Spawned, not forked: the parent runs threads (Chroma's,
the encode pool), and a fork copies their locks in whatever state they are.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np

_model = None  # the worker's own model


def _start() -> None:
    global _model
    from index.use_model import load_use

    _model = load_use()


def _encode(texts: list[str]) -> np.ndarray:
    return np.asarray(_model.encode(texts), dtype=np.float32)


class UsePool:
    """``workers`` processes; ``encode`` splits a batch between them and keeps its order."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start)

    def encode(self, texts: list[str]) -> np.ndarray:
        step = -(-len(texts) // self.workers)
        parts = [texts[i : i + step] for i in range(0, len(texts), step)]
        return np.concatenate(list(self._pool.map(_encode, parts)))

    def close(self) -> None:
        self._pool.shutdown()
