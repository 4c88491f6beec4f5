"""Ingest: parse the corpus, embed what changed, build BM25, publish a new generation.

Incremental and idempotent: a unit whose content hash is unchanged takes its
vectors from the previous generation instead of being embedded again, so
re-running ingest on an unchanged corpus embeds nothing, and a changed file
re-embeds only its own units. Everything is parsed before anything is
written, so a malformed document stops the ingest with the previous index
still live.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from tqdm import tqdm

from index import generations
from index.bm25 import RENDERED, LexicalIndex
from index.chroma_store import collection_name, make_client, open_store
from index.embed_cache import EmbeddingCache, text_key
from index.embeddings import make_embedder, model_id, usable_embedders
from index.lexicon import build_lexicon, read_glossary
from index.text_norm import add_words
from index.unit_store import save_renderings, save_units
from index.windows import embedding_texts, rendered_texts, window_id
from ingest.manifest import load_manifest
from ingest.parse import parse_documents
from ingest.renderings import Rendering, collect_renderings, other_language
from ingest.units import Document, Unit, own_texts
from settings import Settings

# Windows per Chroma add: each slice's nodes and vectors are made, stored and dropped before the next slice,
# so an ingest holds one slice of them, not the corpus's (for a large corpus, gigabytes: docs/experiments.md).
STORE_BATCH = 1000
PREVIOUS_PAGE = 5000  # windows read per page from the previous generation's store


@dataclass
class IngestReport:
    generation: str
    units: int
    embedded: int  # windows not taken from the previous generation: from the embedding cache or the model
    reused: int  # windows taken from the previous generation
    seconds: float
    documents: dict[str, int] = field(default_factory=dict)
    computed: int = 0  # distinct window texts the model embedded in this run (the rest of `embedded` were cached)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step: parse, embed <model>, bm25, ...
    renderings: int = 0  # units with a rendering in the other language
    warnings: list[str] = field(default_factory=list)  # for the user: stale or missing renderings


class _Laps:
    """Seconds per ingest step, for the report: where an ingest of a large corpus spends its time."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now


def parse_corpus(settings: Settings) -> tuple[list[Document], list[Unit]]:
    docs = load_manifest(settings.corpus_dir)
    return docs, parse_documents(docs, settings.corpus_dir, settings.tokenizer_encoding)


def ingest(settings: Settings, rebuild: bool = False, progress: bool = True) -> IngestReport:
    """Build and publish a new index generation; the old one serves until the switch."""
    started = time.perf_counter()
    laps = _Laps()
    with generations.ingest_lock(settings.index_dir):
        glossary = read_glossary(settings.glossary_path)
        add_words([zh for _, zh in glossary])
        docs, units = parse_corpus(settings)
        renderings, warnings = collect_renderings(settings.renderings_dir, docs, units)
        laps.lap("parse")
        previous = None if rebuild else generations.current_generation(settings.index_dir)
        folder = generations.new_generation(settings.index_dir)
        with generations.writing(folder):  # no space left, read-only: a clear error, the partial folder removed
            client = make_client(folder / "chroma", settings.chroma_url)
            names = {doc.key: doc.short_en for doc in docs}
            embedded = reused = computed = 0
            collections = {}
            embedders, notice = usable_embedders(settings)
            if notice:
                warnings.append(notice)
            for name in embedders:
                store_name = collection_name(settings.collection_prefix, folder.name, name)
                new, old, model = _embed_units(
                    settings, name, units, names, client, store_name, previous, progress, rebuild, renderings,
                    {doc.key: doc.short_zh if doc.language == "en" else doc.short_en for doc in docs},
                )
                embedded, reused, computed = embedded + new, reused + old, computed + model
                collections[name] = store_name
                laps.lap(f"embed {name}")
            lexical = LexicalIndex.build([_lexical_text(u) for u in units])
            # The renderings as a second BM25 index in unit order: an English question then shares
            # words with the English rendering of a Chinese paragraph, without a dictionary's guess.
            rendered = LexicalIndex.build([renderings[u.ref].text if u.ref in renderings else "" for u in units])
            laps.lap("bm25")
            lexical.lexicon = build_lexicon(glossary, lexical.vocab, read_glossary(settings.paraphrases_path))
            laps.lap("lexicon")
            lexical.save(folder)
            rendered.save(folder, RENDERED)
            save_units(folder, units)
            save_renderings(folder, renderings)
            laps.lap("save")
            meta = {
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "collections": collections,
                "models": {name: model_id(name, settings) for name in collections},
                "embed_window_tokens": settings.embed_window_tokens,
                "rendering_embedders": [n for n in collections if n in settings.rendering_embedders],
                "chroma_url": settings.chroma_url,
                "documents": {d.key: sum(1 for u in units if u.doc == d.key) for d in docs},
                "units": len(units),
                "docs": [asdict(d) for d in docs],
            }
            del client
            generations.publish(settings.index_dir, folder, meta)
        generations.prune(settings.index_dir)
        laps.lap("publish")
    return IngestReport(folder.name, len(units), embedded, reused, time.perf_counter() - started, meta["documents"],
                        computed, laps.seconds, len(renderings), warnings)


def _lexical_text(unit: Unit) -> str:
    """What BM25 sees: the article heading, then the unit's text.

    The parent's lead-in is left out: every sibling would then match the lead-in's words
    equally, and retrieval was worse with it (docs/experiments.md).
    """
    return "\n".join(part for part in (unit.heading, unit.text) if part)


def _embed_units(
    settings, name, units, names, client, store_name, previous, progress, rebuild, renderings, rendered_names
) -> tuple[int, int, int]:
    """Add one embedder's window vectors for all units; returns (embedded, reused, computed) window counts.

    Slice by slice (STORE_BATCH windows): the slice's nodes are built, take their vectors from
    the previous generation, else the embedding cache, else the model, and go into Chroma;
    then the slice is dropped, so memory holds the window texts but one slice of nodes.
    """
    store = open_store(client, store_name, create=True, ef_search=settings.hnsw_ef_search)
    cached = _previous_vectors(settings, name, previous)
    rendered = (renderings, rendered_names) if name in settings.rendering_embedders else (None, None)
    windows = window_texts(units, names, settings.embed_window_tokens, *rendered)
    todo = [w.text for w in windows if w.key not in cached]
    source = _VectorSource(settings, name, todo, progress, use_cache=not rebuild)
    try:
        for start in range(0, len(windows), STORE_BATCH):
            chunk = window_nodes(windows, start, start + STORE_BATCH)
            for node, window in zip(chunk, windows[start : start + STORE_BATCH], strict=True):
                if window.key in cached:
                    node.embedding = cached[window.key].tolist()
            source.fill([node for node in chunk if node.embedding is None])
            store.add(chunk)
    finally:
        source.close()
    return len(todo), len(windows) - len(todo), source.computed


class Window(NamedTuple):
    """One embedding window of a unit: what is embedded, and the key its vector is reused by."""

    unit: Unit
    number: int
    text: str
    sha: str  # of the embedded text itself
    rendered: bool = False  # a window of the unit's rendering, in the other language

    @property
    def id(self) -> str:
        return window_id(self.unit.ref, self.number, self.rendered)

    @property
    def lang(self) -> str:
        return other_language(self.unit.lang) if self.rendered else self.unit.lang

    @property
    def key(self) -> tuple[str, str]:
        return self.id, self.sha


def window_texts(
    units: list[Unit], names: dict[str, str], max_tokens: int,
    renderings: dict[str, Rendering] | None = None, rendered_names: dict[str, str] | None = None,
) -> list[Window]:
    """Every unit's embedding windows, in reading order; with ``renderings``, each unit's rendering
    windows after its own (``rendered_names``: the documents' names in the renderings' language)."""
    own = own_texts(units)
    out = []
    for unit in units:
        texts = embedding_texts(unit, own[unit.ref] or unit.heading or unit.ref, names[unit.doc], max_tokens)
        out.extend(Window(unit, i, text, text_key(text)) for i, text in enumerate(texts))
        rendering = (renderings or {}).get(unit.ref)
        if rendering is not None and rendering.own and rendered_names is not None:
            parent = renderings.get(unit.parent or "")
            lead_in = parent.own if parent is not None else ""
            texts = rendered_texts(unit, rendering.own, lead_in, rendered_names[unit.doc], max_tokens)
            out.extend(Window(unit, i, text, text_key(text), True) for i, text in enumerate(texts))
    return out


def window_nodes(windows: list[Window], start: int, stop: int) -> list[TextNode]:
    """llama-index TextNodes for ``windows[start:stop]``, carrying the unit's ref and the document's
    structure: PARENT/CHILD between units, PREVIOUS/NEXT in reading order. Neighbours are found by
    position in ``windows``, so a slice needs no node outside it (a large corpus's nodes all at once take too much memory)."""
    nodes: list[TextNode] = []
    for k in range(start, min(stop, len(windows))):
        unit, number, text, sha, rendered = windows[k]
        node = TextNode(
            id_=windows[k].id, text=text,
            metadata={"ref": unit.ref, "doc": unit.doc, "lang": windows[k].lang, "sha": sha, "window": number,
                      "rendered": rendered},
        )
        if unit.parent:
            node.relationships[NodeRelationship.PARENT] = RelatedNodeInfo(node_id=window_id(unit.parent, 0))
        if unit.children:
            node.relationships[NodeRelationship.CHILD] = [RelatedNodeInfo(node_id=window_id(c, 0)) for c in unit.children]
        if k > 0 and windows[k - 1].unit.doc == unit.doc:
            node.relationships[NodeRelationship.PREVIOUS] = RelatedNodeInfo(node_id=windows[k - 1].id)
        if k + 1 < len(windows) and windows[k + 1].unit.doc == unit.doc:
            node.relationships[NodeRelationship.NEXT] = RelatedNodeInfo(node_id=windows[k + 1].id)
        nodes.append(node)
    return nodes


class _VectorSource:
    """Vectors for new windows: from the embedding cache, else from the model, batch by batch.

    Every batch the model embeds is written to the cache at once, so an interrupted ingest
    resumes without embedding it again. Each distinct text is embedded once per run; the
    model loads only if something is missing. ``use_cache=False`` (ingest --rebuild)
    computes everything again and refreshes the cache.
    """

    def __init__(self, settings: Settings, name: str, texts: list[str], progress: bool, use_cache: bool) -> None:
        self.settings, self.name, self.use_cache = settings, name, use_cache
        self.cache = EmbeddingCache(settings.cache_dir)
        self.done: set[str] = set()  # texts this run embedded (and cached)
        self.computed = 0
        self._model = None
        distinct = set(texts)
        self.model = model_id(name, settings)  # the cache's key: vectors of another model or engine are not reused
        missing = distinct - self.cache.known(self.model, distinct) if use_cache else distinct
        self.bar = tqdm(total=len(missing), desc=f"embedding ({name})", unit="window", disable=not progress or not missing)

    def fill(self, nodes: list[TextNode]) -> None:
        texts = list(dict.fromkeys(node.text for node in nodes))
        vectors = self.cache.get_many(self.model, [t for t in texts if self.use_cache or t in self.done])
        missing = [t for t in texts if t not in vectors]
        for start in range(0, len(missing), self.settings.embed_batch):
            batch = missing[start : start + self.settings.embed_batch]
            if self._model is None:
                self._model = make_embedder(self.name, self.settings.ingest_threads, self.settings)
            encoded = self._model.encode(batch)
            self.cache.put_many(self.model, batch, encoded)  # committed now: a kill keeps this batch
            vectors.update(zip(batch, encoded, strict=True))
            self.done.update(batch)
            self.computed += len(batch)
            self.bar.update(len(batch))
        for node in nodes:
            node.embedding = vectors[node.text].tolist()

    def close(self) -> None:
        self.bar.close()
        self.cache.close()
        if self._model is not None:
            self._model.close()  # USE's worker processes end with the ingest


def _previous_vectors(settings: Settings, name: str, previous: Path | None) -> dict:
    """(node id, embedded-text sha) -> vector from the live generation, when it used the same model and window."""
    if previous is None:
        return {}
    meta = generations.read_meta(previous)
    store_name = meta.get("collections", {}).get(name)
    same_model = meta.get("models", {}).get(name) == model_id(name, settings)
    if not store_name or not same_model or meta.get("embed_window_tokens") != settings.embed_window_tokens:
        return {}
    client = None
    try:
        client = make_client(previous / "chroma", meta.get("chroma_url", ""), create=False)  # where that generation stored them
        collection = client.get_collection(store_name, embedding_function=None)
        return _read_vectors(collection)
    except Exception:  # a damaged previous store only costs a full re-embed
        return {}
    finally:
        if client is not None:
            client.close()  # Chroma keeps a store's vectors in memory until its last client closes


def _read_vectors(collection) -> dict[tuple[str, str], np.ndarray]:
    """(node id, sha) -> float32 row of one matrix, read page by page: 100k windows are 200 MB so,
    where Chroma's whole-collection answer as Python lists would be several GB."""
    total = collection.count()
    matrix: np.ndarray | None = None
    out: dict[tuple[str, str], np.ndarray] = {}
    for offset in range(0, total, PREVIOUS_PAGE):
        got = collection.get(include=["embeddings", "metadatas"], limit=PREVIOUS_PAGE, offset=offset)
        if not got["ids"]:
            break
        page = np.asarray(got["embeddings"], dtype=np.float32)
        if matrix is None:
            matrix = np.empty((total, page.shape[1]), dtype=np.float32)
        matrix[offset : offset + len(page)] = page
        for i, (node_id, row) in enumerate(zip(got["ids"], got["metadatas"], strict=True)):
            out[(node_id, row.get("sha"))] = matrix[offset + i]
    return out
