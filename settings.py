"""One settings object for Pinpoint, read from environment variables.

Why one object: every component (ingest, index, services, UI, eval) takes its
paths, model choices and thresholds from here, so a deployment changes
behaviour by environment alone and no constant hides in a module.

``apply_offline_defaults`` must run before llama-index, chromadb, gradio or
tiktoken are imported: they read these variables at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


def _env_list(name: str, default: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _env(name, default).split(",") if item.strip())


def _env_weights(name: str, default: str) -> tuple[tuple[str, float], ...]:
    """ "use=1,e5=3" -> (("use", 1.0), ("e5", 3.0)): pairs, not a dict, so Settings stays hashable."""
    out = []
    for item in _env(name, default).split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{name}: expected name=weight pairs separated by commas, got {item!r}")
        out.append((key.strip(), float(value)))
    return tuple(out)


def apply_offline_defaults(threads: int | None = None) -> None:
    """Make every library work without network and without thread fights.

    tiktoken downloads its encodings unless TIKTOKEN_CACHE_DIR points at the
    copy llama-index-core ships; gradio and chromadb phone home unless told
    not to; numpy/BLAS and the embedders each start one thread per core, and
    two pools of two threads on two cores slow each other down badly.
    """
    n = str(threads or _env_int("PINPOINT_THREADS", 1))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(var, n)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
        if spec and spec.origin:
            cache = Path(spec.origin).parent / "_static" / "tiktoken_cache"
            os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with the defaults a single user wants."""

    corpus_dir: Path = field(default_factory=lambda: Path(_env("PINPOINT_CORPUS_DIR", str(ROOT / "data" / "corpus"))))
    index_dir: Path = field(default_factory=lambda: Path(_env("PINPOINT_INDEX_DIR", str(ROOT / "data" / "index"))))
    glossary_path: Path = field(
        default_factory=lambda: Path(_env("PINPOINT_GLOSSARY", str(ROOT / "data" / "glossary.tsv")))
    )
    # Plain English -> the treaties' wording ("pull out" -> "denounce"), for query expansion.
    paraphrases_path: Path = field(
        default_factory=lambda: Path(_env("PINPOINT_PARAPHRASES", str(ROOT / "data" / "paraphrases.tsv")))
    )
    # Unofficial translations of each unit into the other language, one `<key>.<lang>.jsonl` file per
    # document (ingest/renderings.py; `app.py documents` lists them).
    renderings_dir: Path = field(
        default_factory=lambda: Path(_env("PINPOINT_RENDERINGS_DIR", str(ROOT / "data" / "renderings")))
    )
    # The largest file `app.py add` (and the documents service under the UI) accepts, in bytes: the shipped
    # documents are 14-80 kB of text, so 5 MB holds a long report even as a PDF, and refuses what is not one.
    max_upload_bytes: int = field(default_factory=lambda: _env_int("PINPOINT_MAX_UPLOAD_BYTES", 5_000_000))
    prompts_dir: Path = field(default_factory=lambda: Path(_env("PINPOINT_PROMPTS_DIR", str(ROOT / "prompts"))))
    cache_dir: Path = field(
        default_factory=lambda: Path(_env("PINPOINT_CACHE_DIR", str(Path.home() / ".cache" / "pinpoint")))
    )
    chroma_url: str = field(default_factory=lambda: _env("PINPOINT_CHROMA_URL", ""))
    collection_prefix: str = field(default_factory=lambda: _env("PINPOINT_COLLECTION", "pinpoint"))
    # Dense models, comma-separated: "use" (multilingual USE v3) and/or "e5" (multilingual-e5-small).
    embedders: tuple[str, ...] = field(default_factory=lambda: _env_list("PINPOINT_EMBEDDERS", "gemma"))
    # Embedders that also embed each unit's rendering (its unofficial translation) as further windows
    # of the unit, so that a question meets a text in its own language.
    rendering_embedders: tuple[str, ...] = field(default_factory=lambda: _env_list("PINPOINT_RENDERING_EMBEDDERS", "gemma"))
    # What stands in when EmbeddingGemma is not installed (its fetch refused, no registry): the
    # models that ship inside their wheels.
    fallback_embedders: tuple[str, ...] = field(default_factory=lambda: _env_list("PINPOINT_FALLBACK_EMBEDDERS", "use,e5"))
    # Embedders that only score units in the question's language (e5 is blind across languages).
    same_language_embedders: tuple[str, ...] = field(
        default_factory=lambda: _env_list("PINPOINT_SAME_LANGUAGE_EMBEDDERS", "e5")
    )
    # Weight of each embedder's runs in the dense fusion (index/hybrid.py, _fuse_dense); unlisted: 1.
    embedder_weights: tuple[tuple[str, float], ...] = field(
        default_factory=lambda: _env_weights("PINPOINT_EMBEDDER_WEIGHTS", "use=1,e5=3")
    )
    threads: int = field(default_factory=lambda: _env_int("PINPOINT_THREADS", 1))
    # onnxruntime threads of one EmbeddingGemma query encode: the question's one dense run. Two: one user's
    # question then costs about a third less; a server shared by many users at once serves more requests
    # with 1, each request then keeping to one core (docs/experiments.md).
    gemma_threads: int = field(default_factory=lambda: _env_int("PINPOINT_GEMMA_THREADS", 2))
    # Encodes of one question (e5 on the question and on its translation, USE) run side by side in a
    # pool of this many threads, shared by all requests; each model runs single-threaded, so the pool
    # uses that many cores without two thread pools fighting over them.
    query_threads: int = field(default_factory=lambda: _env_int("PINPOINT_QUERY_THREADS", os.cpu_count() or 1))
    # Threads for embedding at ingest time, when nothing else competes for the cores.
    ingest_threads: int = field(default_factory=lambda: _env_int("PINPOINT_INGEST_THREADS", os.cpu_count() or 1))
    # The embedding window in model tokens; a longer unit is embedded as sentence windows.
    embed_window_tokens: int = field(default_factory=lambda: _env_int("PINPOINT_EMBED_WINDOW", 128))
    # Windows embedded and cached together at ingest (a kill loses at most one batch).
    embed_batch: int = field(default_factory=lambda: _env_int("PINPOINT_EMBED_BATCH", 32))
    # Texts per EmbeddingGemma onnxruntime run. One: the int8 graph quantizes a run's activations on one
    # scale, so in a larger run a text's vector depends on its batch-mates (an added document's windows
    # would differ from the same windows in a full ingest), and a run is padded to its longest text.
    gemma_batch: int = field(default_factory=lambda: _env_int("PINPOINT_GEMMA_BATCH", 1))
    # Scale benchmark (`python -m eval.scale`): where generated corpora, their indexes and embedding caches
    # go (never inside the repository), the corpus sizes in units, and the generator's seed.
    scale_dir: Path = field(
        default_factory=lambda: Path(_env("PINPOINT_SCALE_DIR", str(Path.home() / ".cache" / "pinpoint" / "scale")))
    )
    scale_sizes: tuple[int, ...] = field(
        default_factory=lambda: tuple(
            int(s) for s in _env("PINPOINT_SCALE_SIZES", "10000,50000,100000").split(",") if s.strip()
        )
    )
    scale_seed: int = field(default_factory=lambda: _env_int("PINPOINT_SCALE_SEED", 0))
    # HNSW search breadth of new Chroma collections (Chroma's default is 10, widened to the number of
    # results asked for): 400 makes the dense search exact on the shipped corpus and the same from one
    # process to the next, where the default is neither (docs/experiments.md).
    hnsw_ef_search: int = field(default_factory=lambda: _env_int("PINPOINT_HNSW_EF_SEARCH", 400))
    # How many candidates each retriever passes to fusion, and how many refs `ask` returns.
    candidates: int = field(default_factory=lambda: _env_int("PINPOINT_CANDIDATES", 50))
    top_k: int = field(default_factory=lambda: _env_int("PINPOINT_TOP_K", 10))
    # A dense run's scores are rescaled between its best and its dense_floor_rank-th best (index/hybrid.py).
    dense_floor_rank: int = field(default_factory=lambda: _env_int("PINPOINT_DENSE_FLOOR_RANK", 20))
    # Retrieval's named steps (index/hybrid.py): "bm25" (the lexical run), "rendered" (a lexical run
    # over the units' renderings), "translate" (the query's
    # word-by-word translation for BM25 and the language-scoped dense runs), "expand" (the treaties'
    # wording for plain phrases), then the post-passes "route", "versions", "lift" (index/
    # passes.py) and "named" (services/engine.py). The dense runs are `embedders`.
    retrieval_steps: tuple[str, ...] = field(
        default_factory=lambda: _env_list("PINPOINT_RETRIEVAL_STEPS", "bm25,rendered,translate,expand,route,versions,lift,named")
    )
    # Fusion weight of the lexical side (index/fusion.py).
    bm25_weight: float = field(default_factory=lambda: _env_float("PINPOINT_BM25_WEIGHT", 0.4))
    # Added to the fused score of units of a document the question names or concerns.
    route_boost: float = field(default_factory=lambda: _env_float("PINPOINT_ROUTE_BOOST", 0.6))
    # Added to the primary treaty's units (PINPOINT_DEFAULT_TREATY) when a question names and concerns
    # no document: the Protocol is what users work with, as a bare "article 6" means its article 6, and
    # its provisions reappear almost word for word in the Smuggling Protocol and the Convention.
    default_route_boost: float = field(default_factory=lambda: _env_float("PINPOINT_DEFAULT_ROUTE_BOOST", 0.2))
    # A sub-unit scored at most this far below one of its ancestors is lifted to the ancestor's score,
    # so that it ranks first (index/hybrid.py, _lift_sub_units).
    sub_unit_margin: float = field(default_factory=lambda: _env_float("PINPOINT_SUB_UNIT_MARGIN", 0.1))
    # The extractive answer quotes the best unit and those within this fused-score margin of it, at
    # most quote_max (swept in docs/experiments.md: a wider margin cites more wrong units than it finds
    # right ones). A quoted unit with at least quote_split_children sub-units (para. 8's fifteen items)
    # is quoted by its best-scoring sub-unit instead, unless the question names it or asks for a list.
    quote_max: int = field(default_factory=lambda: _env_int("PINPOINT_QUOTE_MAX", 2))
    quote_margin: float = field(default_factory=lambda: _env_float("PINPOINT_QUOTE_MARGIN", 0.02))
    quote_split_children: int = field(default_factory=lambda: _env_int("PINPOINT_QUOTE_SPLIT_CHILDREN", 8))
    # A question that asks for a list ("list all the measures …") may quote this many units.
    quote_max_list: int = field(default_factory=lambda: _env_int("PINPOINT_QUOTE_MAX_LIST", 6))
    # A declined answer names this many closest units ("closest, not an answer").
    closest_units: int = field(default_factory=lambda: _env_int("PINPOINT_CLOSEST_UNITS", 3))
    # The answerability model (services/answerability.py), fitted by `python -m eval.answerability`.
    answerability_path: Path = field(
        default_factory=lambda: Path(_env("PINPOINT_ANSWERABILITY", str(ROOT / "data" / "answerability.json")))
    )
    max_question_chars: int = field(default_factory=lambda: _env_int("PINPOINT_MAX_QUESTION_CHARS", 2000))
    tokenizer_encoding: str = field(default_factory=lambda: _env("PINPOINT_TOKEN_ENCODING", "cl100k_base"))
    # --- answering (services/answer.py, services/backends.py) ---------------------------------------
    # Who writes the answer: "extractive" (no model, no network: verbatim quotes under a short lead),
    # "openai" (any OpenAI-compatible server at PINPOINT_LLM_BASE_URL) or "gguf" (a local GGUF file
    # served by xllamacpp on 127.0.0.1). A failing model falls back to the extractive answer.
    backend: str = field(default_factory=lambda: _env("PINPOINT_BACKEND", "extractive").strip().lower())
    llm_base_url: str = field(default_factory=lambda: _env("PINPOINT_LLM_BASE_URL", ""))
    llm_model: str = field(default_factory=lambda: _env("PINPOINT_LLM_MODEL", ""))
    # The key is never logged or shown: repr=False keeps it out of every printed Settings.
    llm_api_key: str = field(default_factory=lambda: _env("PINPOINT_LLM_API_KEY", ""), repr=False)
    gguf_path: str = field(default_factory=lambda: _env("PINPOINT_GGUF_PATH", ""))
    # Optional sha256 pin of the GGUF file; a file that does not match is refused.
    gguf_sha256: str = field(default_factory=lambda: _env("PINPOINT_GGUF_SHA256", "").strip().lower())
    # No answer request waits longer than this for the model (seconds, whole request).
    llm_timeout: float = field(default_factory=lambda: _env_float("PINPOINT_LLM_TIMEOUT", 30.0))
    llm_max_tokens: int = field(default_factory=lambda: _env_int("PINPOINT_LLM_MAX_TOKENS", 512))
    # How many retrieved units the model sees (each labelled with its ref), and the GGUF context size.
    llm_context_units: int = field(default_factory=lambda: _env_int("PINPOINT_LLM_CONTEXT_UNITS", 5))
    # A unit longer than this many characters reaches the model cut (quotes are still checked in full).
    llm_unit_chars: int = field(default_factory=lambda: _env_int("PINPOINT_LLM_UNIT_CHARS", 1500))
    gguf_ctx: int = field(default_factory=lambda: _env_int("PINPOINT_GGUF_CTX", 4096))
    # --- machine renderings (services/renderer.py, `app.py ingest --translate`) ---------------------
    # Each request waits at most llm_timeout. A unit's translation can be longer than an answer: the
    # longest unit of the shipped corpus is 2,235 characters of English, about 600 Chinese characters,
    # which a small model's tokenizer may spend two tokens each on.
    translate_max_tokens: int = field(default_factory=lambda: _env_int("PINPOINT_TRANSLATE_MAX_TOKENS", 2048))
    # The renderings file is rewritten (in one rename) after this many new lines: a killed run loses at most these.
    translate_save_every: int = field(default_factory=lambda: _env_int("PINPOINT_TRANSLATE_SAVE_EVERY", 5))
    # After this many requests in a row get no reply (refused, error status, timeout) the model is taken to
    # have stopped; a single slow or failed unit is only counted, so that a re-run cannot stall on it.
    translate_give_up_after: int = field(default_factory=lambda: _env_int("PINPOINT_TRANSLATE_GIVE_UP_AFTER", 3))
    # A Chinese translation's letters must be at least this share Chinese characters ("mostly CJK"); the
    # people's renderings have 0.8 at the least (a line naming a UN symbol or a title in English).
    translate_min_cjk_share: float = field(default_factory=lambda: _env_float("PINPOINT_TRANSLATE_MIN_CJK_SHARE", 0.5))
    # Web UI: where `python app.py serve` listens, the interface language ("auto" = the browser's,
    # "zh", "en"), and "user:password" for gradio's login (required for a non-loopback host).
    host: str = field(default_factory=lambda: _env("PINPOINT_HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env_int("PINPOINT_PORT", 7860))
    ui_lang: str = field(default_factory=lambda: _env("PINPOINT_UI_LANG", "auto"))
    auth: str = field(default_factory=lambda: _env("PINPOINT_AUTH", ""), repr=False)
    # Serving under load (ui/app.py): how many answering requests (chat turns and /ask together) and how
    # many of each other event run at once; the rest wait in gradio's queue. Two, one per core, each with
    # one model thread (PINPOINT_THREADS): one makes /ask slower, more make /cite slower without making /ask
    # faster (`python -m eval.load --concurrency`, docs/experiments.md). max_threads caps gradio's worker
    # threads (its own default, 40: the queue limits keep far fewer busy).
    concurrency: int = field(default_factory=lambda: _env_int("PINPOINT_CONCURRENCY", 2))
    max_threads: int = field(default_factory=lambda: _env_int("PINPOINT_MAX_THREADS", 40))
    # How often a running server looks for an index generation published by a later ingest, and
    # serves it once loaded; 0: never (serve what was loaded at start).
    reload_seconds: float = field(default_factory=lambda: _env_float("PINPOINT_RELOAD_SECONDS", 5.0))
    # --- models (index/model_install.py, `python app.py models`) -----------------------------------
    # Where installed models live, one folder per model, each published whole by one rename. It
    # follows PINPOINT_CACHE_DIR (read again here, as scale_dir does: a field cannot see another).
    models_dir: Path = field(
        default_factory=lambda: Path(
            _env(
                "PINPOINT_MODELS_DIR",
                str(Path(_env("PINPOINT_CACHE_DIR", str(Path.home() / ".cache" / "pinpoint"))) / "models"),
            )
        )
    )
    # Which ONNX graph of EmbeddingGemma the install writes: "int8" (onnxruntime's dynamic
    # quantization, about a quarter of the size) or "fp32" (the checkpoint's own precision).
    gemma_precision: str = field(default_factory=lambda: _env("PINPOINT_GEMMA_PRECISION", "int8").strip().lower())
    # Keep the verified safetensors weights after conversion (1.2 GB the runtime never reads; only
    # worth it to convert again without fetching). `models --keep-weights` asks for it once.
    model_keep_weights: bool = field(
        default_factory=lambda: _env("PINPOINT_MODEL_KEEP_WEIGHTS", "0").strip().lower() in ("1", "true", "yes")
    )

    @property
    def primary_treaty(self) -> str:
        """The treaty a bare "article N" refers to."""
        return _env("PINPOINT_DEFAULT_TREATY", "tip-protocol")

    @property
    def primary_report(self) -> str:
        """The report a bare "paragraph N" refers to."""
        return _env("PINPOINT_DEFAULT_REPORT", "report")


def get_settings() -> Settings:
    """A fresh Settings from the current environment (tests change the env)."""
    return Settings()
