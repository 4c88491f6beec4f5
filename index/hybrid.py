"""Hybrid retrieval: the loaded index, and the retriever that runs its named steps.

Candidate runs (dense, one or two per embedder in Chroma; BM25) are fused by index/fusion.py and
then passed through the post-passes of index/passes.py that ``settings.retrieval_steps`` names.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from index import generations
from index.bm25 import RENDERED, LexicalIndex
from index.chroma_store import make_client, open_store
from index.embeddings import make_embedder, usable_embedders
from index.fusion import ALL, DENSE, LEXICAL, OTHER, SAME, Run, fuse
from index.passes import Hit, lift_sub_units, one_per_provision, route_boost
from index.routing import Router
from index.text_norm import language_of
from index.unit_store import load_renderings, load_units
from index.versions import symbol_key, version_map
from index.windows import is_rendered, window_ref
from ingest.renderings import Rendering, other_language
from ingest.units import Document, Unit
from settings import Settings

# Every step `settings.retrieval_steps` may name ("named" is the engine's: services/engine.py).
STEPS = ("bm25", "rendered", "translate", "expand", "route", "versions", "lift", "named")


class IndexMissing(RuntimeError):
    """No usable index: tell the user to run ingest."""


@dataclass
class LoadedIndex:
    """One published generation, loaded once and shared read-only by every request."""

    folder: Path
    units: list[Unit]
    lexical: LexicalIndex
    dense: dict[str, tuple[object, object]] = field(default_factory=dict)  # name -> (embedder, store)
    docs: list[Document] = field(default_factory=list)
    query_threads: int = 2
    # One pool per process, shared by every request (and by the next generation a server loads): it
    # bounds how many encodes run at once, so concurrent requests queue for the cores instead of
    # fighting over them.
    encoders: ThreadPoolExecutor | None = None
    client: object = None  # the Chroma client it opened (closed when a server drops this generation)
    renderings: dict[str, Rendering] = field(default_factory=dict)  # ref -> unofficial translation
    rendered: LexicalIndex | None = None  # BM25 over the renderings, in unit order (None: an older generation)
    notice: str | None = None  # why a configured embedder is not in use (EmbeddingGemma missing), for the user

    def __post_init__(self) -> None:
        if self.encoders is None:
            self.encoders = ThreadPoolExecutor(max_workers=max(1, self.query_threads), thread_name_prefix="encode")
        self.router = Router(self.docs)
        self.doc_by_key = {d.key: d for d in self.docs}
        self.by_ref = {u.ref: u for u in self.units}
        self.position = {u.ref: i for i, u in enumerate(self.units)}
        self.versions = version_map(self.docs, self.units)  # ref -> the same provision in other language versions

    @classmethod
    def load(cls, settings: Settings, reuse: LoadedIndex | None = None) -> LoadedIndex:
        """The live generation; ``reuse``, an index loaded before, lends its models and encode pool
        (a server loading a newer generation keeps one copy of each model)."""
        folder = generations.current_generation(settings.index_dir)
        if folder is None:
            raise IndexMissing(f"no index in {settings.index_dir}: run `python app.py ingest`")
        meta = generations.read_meta(folder)
        url = meta.get("chroma_url", "")
        client = None
        try:
            units = load_units(folder)
            lexical = LexicalIndex.load(folder)
            rendered = LexicalIndex.load(folder, RENDERED, lexical.lexicon) if (folder / RENDERED).exists() else None
            client = make_client(folder / "chroma", url, create=False)
            models = {name: pair[0] for name, pair in reuse.dense.items()} if reuse else {}
            usable, notice = usable_embedders(settings)
            dense = {
                name: (models.get(name) or _embedder(name, settings), open_store(client, store_name))
                for name, store_name in meta["collections"].items()
                if name in usable
            }
        except Exception as exc:
            if url and (client is None or not _reachable(client)):
                raise IndexMissing(
                    f"the Chroma server at {url} (PINPOINT_CHROMA_URL) cannot be reached ({type(exc).__name__}: {exc}); "
                    f"start it (`chroma run ...`) and try again"
                ) from exc
            raise IndexMissing(
                f"the index in {folder} cannot be read ({type(exc).__name__}: {exc}); run `python app.py ingest --rebuild`"
            ) from exc
        if not dense:
            raise IndexMissing(f"the index in {folder} has none of the embedders {settings.embedders}; run ingest")
        docs = [Document(**{**d, "aliases": tuple(d["aliases"]), "cues": tuple(d["cues"])}) for d in meta["docs"]]
        encoders = reuse.encoders if reuse else None
        renderings = load_renderings(folder)
        loaded = cls(folder, units, lexical, dense, docs, settings.query_threads, encoders, client, renderings, rendered)
        if notice is None and "gemma" in settings.embedders and "gemma" not in dense:
            notice = "this index was built without EmbeddingGemma: run `python app.py models`, then `python app.py ingest`"
        loaded.notice = notice
        return loaded


class HybridRetriever(BaseRetriever):
    """llama-index retriever returning one node per unit, best first.

    Retrieval is a list of named steps (``settings.retrieval_steps``), each of which can be left
    out: candidate runs (one dense run per embedder, ``bm25``), their fusion (index/fusion.py),
    then the post-passes of index/passes.py in a fixed order. ``mode`` "dense" or "bm25" keeps one
    kind of run and no post-pass: the evaluation's single-retriever baselines.
    """

    def __init__(self, index: LoadedIndex, settings: Settings, mode: str = "hybrid") -> None:
        super().__init__()
        if mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"unknown retrieval mode {mode!r}")
        unknown = set(settings.retrieval_steps) - set(STEPS)
        if unknown:
            raise ValueError(f"unknown retrieval step(s) {', '.join(sorted(unknown))}; choose from {', '.join(STEPS)}")
        self.index = index
        self.settings = settings
        self.mode = mode
        # The baselines keep the query translation and expansion their one kind of run uses.
        query_steps = set(settings.retrieval_steps) & {"translate", "expand"}
        self.steps = {
            "hybrid": set(settings.retrieval_steps),
            "dense": query_steps,
            "bm25": query_steps | {"bm25"},
        }[mode]
        self.dense_names = [] if mode == "bm25" else [name for name in index.dense if name in settings.embedders]
        # The primary treaty and its other language versions (the same UN symbol): what a question
        # that routes nowhere is taken to be about.
        primary = index.doc_by_key.get(settings.primary_treaty)
        self._primary = {d.key for d in index.docs if primary and symbol_key(d.symbol) == symbol_key(primary.symbol)}
        self._weight = dict(settings.embedder_weights)

    def has(self, step: str) -> bool:
        return step in self.steps

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [
            NodeWithScore(node=TextNode(id_=h.ref, text=self.index.by_ref[h.ref].text, metadata={"ref": h.ref}), score=h.score)
            for h in self.search(query_bundle.query_str)
        ]

    def search(self, query: str, top_k: int | None = None) -> list[Hit]:
        k = top_k or self.settings.top_k
        n = self.settings.candidates
        qlang = language_of(query)
        # The dense runs start first and BM25 scores meanwhile in this thread.
        pending = self._start_dense(query, n, qlang)
        runs = [Run("bm25", LEXICAL, self._lexical(self.index.lexical, query, n, True))] if self.has("bm25") else []
        if self.has("rendered") and self.index.rendered is not None:
            runs.append(Run("bm25:rendered", LEXICAL, self._lexical(self.index.rendered, query, n, False)))
        runs = [*(future.result() for future in pending), *runs]  # in submission order: no timing in the sums
        by_ref = self.index.by_ref
        fused = fuse(runs, lambda ref: by_ref[ref].lang, qlang, self.settings.bm25_weight, self.settings.dense_floor_rank)
        hits = [Hit(ref, f.score, f.dense, f.lexical, f.signals) for ref, f in fused.items()]
        if self.has("route"):
            routed = self.index.router.route(query)
            if routed:
                route_boost(hits, by_ref, routed, self.settings.route_boost)
            else:
                route_boost(hits, by_ref, self._primary, self.settings.default_route_boost)
        if self.has("versions"):
            hits = one_per_provision(hits, self.index.versions, by_ref, qlang)
        if self.has("lift"):
            lift_sub_units(hits, by_ref, self.settings.sub_unit_margin)
        # On a tie the sub-unit goes first: it is the more exact citation.
        hits.sort(key=lambda h: (-h.score, -h.ref.count("("), self.index.position[h.ref]))
        return hits[:k]

    def _start_dense(self, query: str, n: int, qlang: str) -> list[Future]:
        """Submit one dense run per (embedder, text); returns the runs' futures.

        An embedder named in ``same_language_embedders`` (e5: strong within a language, blind
        across) scores units in the question's language on the question, and the others on its
        word-by-word translation (``translate``); an English question's same-language run also
        reads the treaties' wording for its plain phrases (``expand``). Each encode runs
        single-threaded on its own core, side by side (the models release the GIL).
        """
        scoped_any = any(name in self.settings.same_language_embedders for name in self.dense_names)
        lexicon = self.index.lexical.lexicon
        translated = lexicon.translate_text(query) if scoped_any and self.has("translate") else ""
        wording = lexicon.expand(query) if scoped_any and qlang == "en" and self.has("expand") else ""
        runs = []  # (run name, embedder, text, scope)
        for name in self.dense_names:
            if name not in self.settings.same_language_embedders:
                runs.append((name, name, query, ALL))
                continue
            runs.append((name, name, f"{query} ({wording})" if wording else query, SAME))
            if translated:
                runs.append((f"{name}>other", name, translated, OTHER))
        submit = self.index.encoders.submit
        return [submit(self._run, run, embedder, text, n, scope, qlang) for run, embedder, text, scope in runs]

    def _run(self, run: str, name: str, text: str, n: int, scope: str, qlang: str) -> Run:
        """One dense run: encode ``text`` with embedder ``name`` and keep its ``n`` best units."""
        embedder, store = self.index.dense[name]
        vector = embedder.encode([text], True)[0]
        where = None if scope == ALL else ({"lang": qlang} if scope == SAME else {"lang": {"$ne": qlang}})
        scores = self._nearest(store, vector.tolist(), n * 2, where)
        self._propagate_up(scores)
        best = dict(sorted(scores.items(), key=lambda kv: -kv[1])[:n])
        return Run(run, DENSE, best, self._weight.get(name, 1.0), scope)

    def _nearest(self, store, vector: list[float], k: int, where: dict | None) -> dict[str, float]:
        """Best cosine per unit among the ``k`` nearest windows that match ``where`` (a language).

        Chroma filtering by language builds an allow-list of every window in that language, which
        costs several times the query itself. So the ``k`` nearest windows are fetched unfiltered
        and filtered here. When at least ``k / 2`` units remain, their scores and order are those
        the filtered query gives (every window it adds ranks below them), and the run keeps
        ``k / 2`` units; otherwise Chroma filters.
        """
        rendered = self.has("rendered")
        found = _nearest_windows(store, vector, k, None)
        if where is not None:
            found = [w for w in found if _in_scope(self._window_lang(w), where)]
            if len({ref for ref, _, _ in found}) < k // 2:
                found = _nearest_windows(store, vector, k, where)
        best: dict[str, float] = {}
        for ref, is_rendering, cosine in found:
            if rendered or not is_rendering:
                best[ref] = max(best.get(ref, -1.0), cosine)
        return best

    def _window_lang(self, window: tuple[str, bool, float]) -> str:
        """The language a window is written in: its unit's, or the other one for a rendering window."""
        lang = self.index.by_ref[window[0]].lang
        return other_language(lang) if window[1] else lang

    def _propagate_up(self, scores: dict[str, float]) -> None:
        """A unit's text contains its sub-units' texts, which are embedded once, as theirs: a parent
        scores at least as well as its best descendant."""
        for ref, value in list(scores.items()):
            parent = self.index.by_ref[ref].parent
            while parent:
                if scores.get(parent, -1.0) < value:
                    scores[parent] = value
                parent = self.index.by_ref[parent].parent

    def _lexical(self, lexical: LexicalIndex, query: str, n: int, translate: bool) -> dict[str, float]:
        """BM25's ``n`` best units; over the renderings without the lexicon's translation (their
        point is that the question's own words meet a text in its language)."""
        scores = lexical.scores(query, translate and self.has("translate"), self.has("expand"))
        # The n best without sorting all units (at 100k units a full argsort was 1.6 ms a question).
        top = np.argpartition(-scores, n - 1)[:n] if len(scores) > n else range(len(scores))
        return {self.index.units[i].ref: float(scores[i]) for i in top if scores[i] > 0}


def _embedder(name: str, settings: Settings):
    """A query-time embedder: EmbeddingGemma with its own onnxruntime thread count, the others with
    ``settings.threads``."""
    return make_embedder(name, settings.gemma_threads if name == "gemma" else settings.threads, settings)


def _nearest_windows(store, vector: list[float], k: int, where: dict | None) -> list[tuple[str, bool, float]]:
    """(unit ref, whether a rendering window, cosine) of the ``k`` nearest windows.

    Queries the Chroma collection behind llama-index's store directly, for ids and distances
    only (the unit's ref and the window's kind are in its id): the store's own ``query`` rebuilds
    a full node from JSON for every hit, and fetching metadata alone cost six times the bare query.
    """
    result = store.client.query(query_embeddings=[vector], n_results=k, where=where, include=["distances"])
    return [
        (window_ref(node_id), is_rendered(node_id), 1.0 - distance)  # the collections use cosine distance
        for node_id, distance in zip(result["ids"][0], result["distances"][0], strict=True)
    ]


def _in_scope(lang: str, where: dict) -> bool:
    """Whether a unit in ``lang`` matches a run's Chroma filter: {"lang": x} or {"lang": {"$ne": x}}."""
    wanted = where["lang"]
    return lang != wanted["$ne"] if isinstance(wanted, dict) else lang == wanted


def _reachable(client) -> bool:
    try:
        client.heartbeat()
        return True
    except Exception:
        return False
