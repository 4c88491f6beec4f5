"""The systems under evaluation, behind one interface: ``ask(question) -> (ranking, answered)``.

Pinpoint and baselines (b) BM25 only and (c) dense only are the engine in its
three modes. Baseline (a) is what the llama-index starter tutorial builds:
SimpleDirectoryReader + default SentenceSplitter + in-memory VectorStoreIndex,
with the same embedding model, so the comparison measures the structure-aware
units and fusion, not the embedder. Its chunks carry no refs, so each chunk is
mapped to the refs of the units its span overlaps (``chunk_refs``).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Protocol

from settings import Settings

Answer = tuple[list[list[str]], bool | None]  # (ranking: refs per rank position, answerable decision)


class System(Protocol):
    name: str

    def ask(self, question: str) -> Answer: ...


class Span(Protocol):
    """What chunk mapping needs of a unit (ingest.units.Unit has it)."""

    @property
    def ref(self) -> str: ...

    @property
    def start(self) -> int: ...

    @property
    def end(self) -> int: ...


def locate(chunk: str, text: str, hint: int | None) -> tuple[int, int]:
    """The span of ``chunk`` in ``text``: at ``hint`` when it is there, else the occurrence nearest to it.

    Why not trust the node's offsets: they index the file as SimpleDirectoryReader
    read it, units index ``read_text``'s output, which drops CRs, a BOM and page
    furniture lines. When the chunk contains a dropped line it is not verbatim in
    ``text``; then its first and last lines anchor the span.
    """
    hint = hint or 0
    if text[hint : hint + len(chunk)] == chunk:
        return hint, hint + len(chunk)
    starts = _occurrences(chunk, text)
    if starts:
        start = min(starts, key=lambda s: abs(s - hint))
        return start, start + len(chunk)
    lines = [line.strip() for line in chunk.split("\n") if line.strip()]
    if lines:
        firsts = _occurrences(lines[0], text)
        if firsts:
            start = min(firsts, key=lambda s: abs(s - hint))
            last = text.find(lines[-1], start)
            if last >= 0:
                return start, last + len(lines[-1])
    raise LookupError(f"chunk not found in the document text: {chunk[:60]!r}")


def _occurrences(needle: str, text: str) -> list[int]:
    out, pos = [], text.find(needle)
    while pos >= 0:
        out.append(pos)
        pos = text.find(needle, pos + 1)
    return out


def chunk_refs(start: int, end: int, units: Sequence[Span]) -> list[str]:
    """Refs of the units whose span [start, end) overlaps the chunk's, in document order.

    A chunk "finds" every paragraph it touches, parents included (a parent's
    span covers its children), which makes the starter's hit@k generous.
    """
    return [u.ref for u in sorted(units, key=lambda u: u.start) if u.start < end and u.end > start]


class EngineSystem:
    """Pinpoint ("hybrid") or a single-retriever baseline ("dense", "bm25") over the live index."""

    def __init__(self, name: str, engine: object) -> None:
        self.name = name
        self.engine = engine

    def ask(self, question: str) -> Answer:
        """A position holds the ref and its other language versions (index/versions.py): retrieval
        lists a provision once, in the asker's language, and a gold ref names it in one of them."""
        found = self.engine.retrieve(question)  # type: ignore[attr-defined]
        versions = self.engine.index.versions  # type: ignore[attr-defined]
        return [[ref, *versions.get(ref, ())] for ref in found.refs], found.answerable


class StarterSystem:
    """Baseline (a): the llama-index starter pipeline; no answerability decision.

    "starter" is scored at paragraph level: its chunks' refs, chunk by chunk in
    document order, one ref per rank position, because a user citing from it must
    still name the paragraph. "starter-chunks" scores a whole chunk as one
    position (it "finds" every paragraph it contains): generous, shown for contrast.
    """

    def __init__(self, settings: Settings, k: int, units: Sequence[Span], per_chunk: bool = False) -> None:
        self.name = "starter-chunks" if per_chunk else "starter"
        self.per_chunk = per_chunk
        from llama_index.core import SimpleDirectoryReader, VectorStoreIndex
        from llama_index.core.node_parser import SentenceSplitter
        from llama_index.core.schema import MetadataMode

        from index.embeddings import make_embedder
        from ingest.manifest import load_manifest
        from ingest.readers import read_text

        docs = load_manifest(settings.corpus_dir)
        by_file = {d.file: d.key for d in docs}
        paths = [settings.corpus_dir / d.file for d in docs]
        documents = SimpleDirectoryReader(input_files=[str(p) for p in paths]).load_data()
        embedder = make_embedder(settings.embedders[0], settings.threads, settings)
        index = VectorStoreIndex.from_documents(documents, embed_model=embedder, transformations=[SentenceSplitter()])
        self.retriever = index.as_retriever(similarity_top_k=k)
        texts = {d.key: read_text(settings.corpus_dir / d.file) for d in docs}
        doc_units: dict[str, list[Span]] = {}
        for u in units:
            doc_units.setdefault(u.ref.split(":", 1)[0], []).append(u)
        self.refs: dict[str, list[str]] = {}
        for node in index.docstore.docs.values():
            key = by_file[node.metadata["file_name"]]
            start, end = locate(node.get_content(metadata_mode=MetadataMode.NONE), texts[key], node.start_char_idx)
            self.refs[node.node_id] = chunk_refs(start, end, doc_units.get(key, []))
        self.chunks = len(self.refs)

    def scored(self, per_chunk: bool) -> StarterSystem:
        """The same index scored the other way: "starter" and "starter-chunks" share one build, the
        corpus is not embedded twice."""
        view = copy.copy(self)
        view.name, view.per_chunk = ("starter-chunks" if per_chunk else "starter"), per_chunk
        return view

    def ask(self, question: str) -> Answer:
        chunks = [self.refs[n.node.node_id] for n in self.retriever.retrieve(question)]
        if self.per_chunk:
            return chunks, None
        return [[ref] for ref in dict.fromkeys(r for chunk in chunks for r in chunk)], None


class FusionSystem:
    """llama-index's own QueryFusionRetriever over Pinpoint's dense and BM25 retrievers.

    Measures what Pinpoint's fusion adds over the library's (reciprocal rank fusion,
    no query variants): language-dependent weights and document routing.
    """

    name = "fusion-rrf"

    def __init__(self, settings: Settings, index: object, k: int) -> None:
        from llama_index.core.llms import MockLLM
        from llama_index.core.retrievers import QueryFusionRetriever
        from llama_index.core.retrievers.fusion_retriever import FUSION_MODES

        from index.hybrid import HybridRetriever

        retrievers = [HybridRetriever(index, settings, mode) for mode in ("dense", "bm25")]  # type: ignore[arg-type]
        self.retriever = QueryFusionRetriever(
            retrievers, mode=FUSION_MODES.RECIPROCAL_RANK, similarity_top_k=k, num_queries=1, use_async=False,
            llm=MockLLM(),  # never called with num_queries=1; without it llama-index looks for an OpenAI key
        )

    def ask(self, question: str) -> Answer:
        return [[n.node.node_id] for n in self.retriever.retrieve(question)], None


def ablations(settings: Settings) -> list[tuple[str, Settings]]:
    """Pinpoint without each of its steps in turn: (variant name, settings), one per retrieval step
    and one per embedder when there are several (`python -m eval --ablate`)."""
    out = []
    for step in settings.retrieval_steps:
        steps = tuple(s for s in settings.retrieval_steps if s != step)
        out.append((f"pinpoint -{step}", dataclasses.replace(settings, retrieval_steps=steps)))
    if len(settings.embedders) > 1:
        for name in settings.embedders:
            embedders = tuple(e for e in settings.embedders if e != name)
            out.append((f"pinpoint -dense:{name}", dataclasses.replace(settings, embedders=embedders)))
    return out


def build_systems(
    names: Sequence[str], settings: Settings, k: int, units: Sequence[Span], ablate: bool = False
) -> list[System]:
    """Load the index once and share it between the engine modes (and the ablation variants);
    build the starter in memory. "dense-<embedder>" is one embedder's dense run alone."""
    from index.hybrid import LoadedIndex
    from services.engine import Engine

    settings = dataclasses.replace(settings, top_k=k)
    modes = {"pinpoint": "hybrid", "dense": "dense", "bm25": "bm25"}
    needs_index = ablate or any(n in modes or n == "fusion-rrf" or n.startswith("dense-") for n in names)
    loaded = LoadedIndex.load(settings) if needs_index else None
    systems: list[System] = []
    for name in names:
        if name in modes:
            systems.append(EngineSystem(name, Engine(settings, modes[name], index=loaded)))
        elif name.startswith("dense-"):
            alone = dataclasses.replace(settings, embedders=(name.removeprefix("dense-"),))
            systems.append(EngineSystem(name, Engine(alone, "dense", index=loaded)))
        elif name == "fusion-rrf":
            systems.append(FusionSystem(settings, loaded, k))
        elif name in ("starter", "starter-chunks"):
            built = next((s for s in systems if isinstance(s, StarterSystem)), None)
            if built is None:
                systems.append(StarterSystem(settings, k, units, per_chunk=name == "starter-chunks"))
            else:
                systems.append(built.scored(per_chunk=name == "starter-chunks"))
        else:
            raise ValueError(f"unknown system {name!r}; choose from pinpoint, dense, dense-<embedder>, bm25, fusion-rrf, starter, starter-chunks")
    if ablate:
        systems += [EngineSystem(name, Engine(variant, "hybrid", index=loaded)) for name, variant in ablations(settings)]
    return systems
