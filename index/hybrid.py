"""Hybrid retrieval: dense (one or more embedders in Chroma) fused with BM25.

Why not plain reciprocal rank fusion: most questions cross languages, and
there BM25 only sees the lexicon's translations, so its ranking is noisy;
giving it an equal vote drowns the dense hits (measured: en->zh hit@5 fell
to 0.12). The fusion here normalises each side's scores and weighs the
lexical side by whether the unit is in the question's language.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from index import generations
from index.bm25 import LexicalIndex
from index.chroma_store import make_client, open_store
from index.embeddings import make_embedder
from index.routing import Router
from index.text_norm import language_of
from index.unit_store import load_units
from index.versions import in_language, version_map
from index.windows import window_ref
from ingest.units import Document, Unit
from settings import Settings


class IndexMissing(RuntimeError):
    """No usable index: tell the user to run ingest."""


@dataclass
class Hit:
    ref: str
    score: float
    dense: float = 0.0
    lexical: float = 0.0


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
            client = make_client(folder / "chroma", url, create=False)
            models = {name: pair[0] for name, pair in reuse.dense.items()} if reuse else {}
            dense = {
                name: (models.get(name) or make_embedder(name, settings.threads), open_store(client, store_name))
                for name, store_name in meta["collections"].items()
                if name in settings.embedders
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
        return cls(folder, units, lexical, dense, docs, settings.query_threads, reuse.encoders if reuse else None, client)


class HybridRetriever(BaseRetriever):
    """llama-index retriever returning one node per unit, best first."""

    def __init__(self, index: LoadedIndex, settings: Settings, mode: str = "hybrid") -> None:
        super().__init__()
        if mode not in ("hybrid", "dense", "bm25"):
            raise ValueError(f"unknown retrieval mode {mode!r}")
        self.index = index
        self.settings = settings
        self.mode = mode
        # Each dense run's weight in the fusion, by embedder (settings.embedder_weights; unlisted: 1),
        # and the total weight that may score a unit in the question's language (all runs) or in the
        # other, by whether a translation ran (without one, the language-scoped embedders cannot).
        given = dict(settings.embedder_weights)
        self._weight = {name: given.get(name, 1.0) for name in index.dense}
        self._weight_same = sum(self._weight.values())
        scoped = sum(w for name, w in self._weight.items() if name in settings.same_language_embedders)
        self._weight_other = {True: self._weight_same or 1.0, False: (self._weight_same - scoped) or 1.0}

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
        runs = self._start_dense(query, n, qlang) if self.mode != "bm25" else None
        lexical = self._lexical(query, n) if self.mode != "dense" else {}
        dense, d_norm = self._fuse_dense(*runs, qlang) if runs is not None else ({}, {})
        l_norm = _scale_max(lexical)
        routed = self.index.router.route(query) if self.mode == "hybrid" else set()
        hits = []
        for ref in set(dense) | set(lexical):
            if self.mode == "hybrid":
                same = self.index.by_ref[ref].lang == qlang
                w = self.settings.bm25_weight_same if same else self.settings.bm25_weight_cross
                score = (1 - w) * d_norm.get(ref, 0.0) + w * l_norm.get(ref, 0.0)
                if self.index.by_ref[ref].doc in routed:
                    score += self.settings.route_boost
                if self.index.by_ref[ref].children:
                    score *= self.settings.parent_factor
            else:
                score = d_norm.get(ref, 0.0) if self.mode == "dense" else l_norm.get(ref, 0.0)
            hits.append(Hit(ref, score, dense.get(ref, 0.0), lexical.get(ref, 0.0)))
        if self.index.versions:
            hits = _one_per_provision(hits, self.index.versions, self.index.by_ref, qlang)
        if self.mode == "hybrid":
            _lift_sub_units(hits, self.index.by_ref, self.settings.sub_unit_margin)
        # On a tie the sub-unit goes first: it is the more exact citation.
        hits.sort(key=lambda h: (-h.score, -h.ref.count("("), self.index.position[h.ref]))
        return hits[:k]

    def _start_dense(self, query: str, n: int, qlang: str) -> tuple[list[tuple[str, Future]], bool]:
        """Submit one dense run per (embedder, text); returns (embedder name, run) pairs and whether
        a translation ran.

        An embedder named in ``same_language_embedders`` (e5: strong within a language, blind
        across) scores units in the question's language on the question, and the others on its
        word-by-word translation; an English question's same-language run also reads the treaties'
        wording for its plain phrases (``Lexicon.expand``: measured, en->en hit@5 0.79 -> 0.84 on our
        set, 0.70 -> 0.80 on the dev set). Each encode runs single-threaded on its own core: e5 on the
        question and on its translation side by side take one encode's time, not two (the models
        release the GIL).
        """
        translated = wording = ""
        if any(name in self.settings.same_language_embedders for name in self.index.dense):
            translated = self.index.lexical.lexicon.translate_text(query)
            # The treaties' wording for plain English phrases joins the English question.
            wording = self.index.lexical.lexicon.expand(query) if qlang == "en" else ""
        runs = []  # (embedder name, text, Chroma filter)
        for name in self.index.dense:
            scoped = name in self.settings.same_language_embedders
            runs.append((name, f"{query} ({wording})" if scoped and wording else query, {"lang": qlang} if scoped else None))
            if scoped and translated:
                runs.append((name, translated, {"lang": {"$ne": qlang}}))
        submit = self.index.encoders.submit
        return [(name, submit(self._run, name, text, n, where)) for name, text, where in runs], bool(translated)

    def _fuse_dense(self, runs: list[tuple[str, Future]], translated: bool, qlang: str) -> tuple[dict[str, float], dict[str, float]]:
        """Best window cosine per unit (raw, max over runs) and its normalised fusion: a unit's
        normalised dense score is the weighted mean over the runs that may score it, so without a
        translation a cross-language unit is judged by the language-neutral model alone.

        Each embedder's runs weigh ``embedder_weights`` (e5 3, USE 1). Measured with equal weights
        and with e5 at 1.5, 2, 3 and 4 (our set; second set): at 3, hit@1 0.690 -> 0.708 and 0.618,
        MRR 0.777 -> 0.794 and 0.714 -> 0.729, hit@5 0.917 and 0.853 -> 0.882; at 4 the second set
        fell back (MRR 0.710); USE at 1.5 or 2 lost on both.
        """
        raw: dict[str, float] = {}
        sums: dict[str, float] = {}
        for name, future in runs:  # in submission order: the sums below do not depend on timing
            run = future.result()
            for ref, value in _over_floor(run, self.settings.dense_floor_rank).items():
                sums[ref] = sums.get(ref, 0.0) + self._weight[name] * value
                raw[ref] = max(raw.get(ref, -1.0), run[ref])
        same, other = self._weight_same, self._weight_other[translated]
        norm = {ref: value / (same if self.index.by_ref[ref].lang == qlang else other) for ref, value in sums.items()}
        return raw, norm

    def _run(self, name: str, text: str, n: int, where: dict | None) -> dict[str, float]:
        """One dense run: encode ``text`` with embedder ``name`` and keep its ``n`` best units."""
        embedder, store = self.index.dense[name]
        vector = embedder.encode([text], True)[0]
        run = self._nearest(store, vector.tolist(), n * 2, where)
        self._propagate_up(run)
        return dict(sorted(run.items(), key=lambda kv: -kv[1])[:n])

    def _nearest(self, store, vector: list[float], k: int, where: dict | None) -> dict[str, float]:
        """Best cosine per unit among the ``k`` nearest windows that match ``where`` (a language).

        Chroma filtering by language cost 4-6 ms a query where the query alone costs 1.5 ms (it
        builds an allow-list of every window in that language), and e5's runs are filtered. So the
        ``k`` nearest windows are fetched unfiltered and filtered here. When at least ``k / 2``
        units remain, their scores and order are those the filtered query gives (every window it
        adds ranks below them), and the run keeps ``k / 2`` units; otherwise Chroma filters.
        """
        best = _nearest_units(store, vector, k, None)
        if where is None:
            return best
        kept = {ref: value for ref, value in best.items() if _in_scope(self.index.by_ref[ref].lang, where)}
        return kept if len(kept) >= k // 2 else _nearest_units(store, vector, k, where)

    def _propagate_up(self, scores: dict[str, float]) -> None:
        """A unit's text contains its sub-units' texts, which are embedded once, as theirs: a parent
        scores at least as well as its best descendant."""
        for ref, value in list(scores.items()):
            parent = self.index.by_ref[ref].parent
            while parent:
                if scores.get(parent, -1.0) < value:
                    scores[parent] = value
                parent = self.index.by_ref[parent].parent

    def _lexical(self, query: str, n: int) -> dict[str, float]:
        scores = self.index.lexical.scores(query)
        # The n best without sorting all units (at 100k units a full argsort was 1.6 ms a question).
        top = np.argpartition(-scores, n - 1)[:n] if len(scores) > n else range(len(scores))
        return {self.index.units[i].ref: float(scores[i]) for i in top if scores[i] > 0}


def _lift_sub_units(hits: list[Hit], by_ref: dict[str, Unit], margin: float) -> None:
    """A unit's best-scoring sub-unit, when it scores less than ``margin`` below the unit, takes the
    unit's score, and so ranks just ahead of it (ties go to the sub-unit).

    A parent's text contains its sub-units', so it scores at least as well as the one that answers
    (dense: lifted to its best sub-unit; BM25: all their words): art. 6 came first where the
    question was about art. 6 (3). Where a gold ref and its parent or child took the first two
    places, the sub-unit was the gold one 73 times and the parent 10 (both evaluation sets).
    Multiplying every parent's score instead (``parent_factor`` 0.9) also pushed whole articles out
    of the top 5; lifting every close sub-unit crowded the quotes with siblings. One sub-unit per
    unit, and none when one already ranks above it. Measured (our set; second set): MRR 0.745 ->
    0.765 and 0.663 -> 0.702, hit@1 0.631 -> 0.673 and 0.529 -> 0.588, hit@5 unchanged, answers'
    citation precision and recall unchanged; margins 0.06-0.15 tried.
    """
    fused = {h.ref: h.score for h in hits}
    best: dict[str, Hit] = {}  # ancestor -> its best-scoring sub-unit among the hits
    for hit in hits:
        ancestor = by_ref[hit.ref].parent
        while ancestor:
            if ancestor in fused and (ancestor not in best or (hit.score, hit.ref) > (best[ancestor].score, best[ancestor].ref)):
                best[ancestor] = hit
            ancestor = by_ref[ancestor].parent
    for ancestor, hit in best.items():
        if fused[hit.ref] < fused[ancestor] <= fused[hit.ref] + margin:
            hit.score = max(hit.score, fused[ancestor])


def _one_per_provision(hits: list[Hit], versions: dict[str, tuple[str, ...]], by_ref: dict[str, Unit], qlang: str) -> list[Hit]:
    """One hit per provision where a document has language versions: the version in the question's
    language when there is one (whether or not it was among the hits), else the best-scoring one,
    with the best score of any version. Otherwise the top of the list would hold the same
    paragraph twice, in two languages, and push other answers out."""
    groups: dict[str, list[Hit]] = {}
    out: list[Hit] = []
    for hit in hits:
        if hit.ref in versions:
            groups.setdefault(min((hit.ref, *versions[hit.ref])), []).append(hit)
        else:
            out.append(hit)
    for members in groups.values():
        best = max(members, key=lambda h: h.score)
        ref = in_language(best.ref, versions, by_ref, qlang)
        out.append(Hit(ref, best.score, max(h.dense for h in members), max(h.lexical for h in members)))
    return out


def _nearest_units(store, vector: list[float], k: int, where: dict | None) -> dict[str, float]:
    """Best cosine per unit among the ``k`` nearest windows.

    Queries the Chroma collection behind llama-index's store directly, for ids and distances
    only (the unit's ref is in the window id): the store's own ``query`` rebuilds a full node
    from JSON for every hit, and fetching metadata alone cost six times the bare query.
    """
    result = store.client.query(query_embeddings=[vector], n_results=k, where=where, include=["distances"])
    best: dict[str, float] = {}
    for node_id, distance in zip(result["ids"][0], result["distances"][0], strict=True):
        cosine = 1.0 - distance  # the collections use cosine distance
        ref = window_ref(node_id)
        best[ref] = max(best.get(ref, -1.0), cosine)
    return best


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


def _over_floor(scores: dict[str, float], floor_rank: int) -> dict[str, float]:
    """Scores rescaled so that the best is 1 and the ``floor_rank``-th best is 0 (those below, too).

    Cosines are compressed (e5's hits all lie within a few hundredths), so a dense run's scores
    only mean something relative to each other. Scaled between the best and the last of the run's
    candidates (min-max over 50), a unit's value depended on how poor the 50th happened to be;
    against the 20th it says how far the unit stands above the crowd of plausible ones. Measured
    (our set; second set): hit@1 0.673 -> 0.690 and 0.588 -> 0.618, MRR 0.765 -> 0.777 and 0.702
    -> 0.714, hit@5 0.905 -> 0.917 and 0.853 -> 0.853; floors at the 10th-30th all gained on our
    set, the 20th most on the second.
    """
    if not scores:
        return {}
    ranked = sorted(scores.values(), reverse=True)
    hi, lo = ranked[0], ranked[min(max(floor_rank, 2), len(ranked)) - 1]
    span = hi - lo or 1.0
    return {k: max(0.0, (v - lo) / span) for k, v in scores.items()}


def _scale_max(scores: dict[str, float]) -> dict[str, float]:
    if not scores:
        return {}
    hi = max(scores.values()) or 1.0
    return {k: v / hi for k, v in scores.items()}
