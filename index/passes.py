"""Post-passes over the fused hits, each a named step that retrieval can run or skip.

Every pass takes the hits and what it needs to know, and returns the hits; the retriever runs the
ones ``settings.retrieval_steps`` names, in a fixed order, so that `python -m eval --ablate` can
score the pipeline without each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.versions import in_language
from ingest.units import Unit


@dataclass
class Hit:
    ref: str
    score: float
    dense: float = 0.0  # best raw cosine of any dense run
    lexical: float = 0.0  # raw BM25 score
    signals: dict[str, float] = field(default_factory=dict)  # each run's scaled score of this unit


def route_boost(hits: list[Hit], by_ref: dict[str, Unit], routed: set[str], boost: float) -> list[Hit]:
    """Units of a document the question names or concerns ("议定书", "the working group") gain
    ``boost``: otherwise a Chinese question about the Protocol drifts to the Chinese report, whose
    every paragraph shares its language. A question that routes nowhere gets the primary treaty
    as ``routed``, with a smaller boost (the caller's choice)."""
    for hit in hits:
        if by_ref[hit.ref].doc in routed:
            hit.score += boost
    return hits


def lift_sub_units(hits: list[Hit], by_ref: dict[str, Unit], margin: float) -> list[Hit]:
    """A unit's best-scoring sub-unit, when it scores less than ``margin`` below the unit, takes the
    unit's score, and so ranks just ahead of it (ties go to the sub-unit).

    A parent's text contains its sub-units', so it scores at least as well as the one that answers
    (dense: lifted to its best sub-unit; BM25: all their words), and art. 6 came first where the
    question was about art. 6 (3). One sub-unit per unit, and none when one already ranks above it:
    lifting every close sub-unit crowded the quotes with siblings.
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
    return hits


def one_per_provision(hits: list[Hit], versions: dict[str, tuple[str, ...]], by_ref: dict[str, Unit], qlang: str) -> list[Hit]:
    """One hit per provision where a document has language versions: the version in the question's
    language when there is one (whether or not it was among the hits), else the best-scoring one,
    with the best score of any version. Otherwise the top of the list would hold the same
    paragraph twice, in two languages, and push other answers out."""
    if not versions:
        return hits
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
        out.append(Hit(ref, best.score, max(h.dense for h in members), max(h.lexical for h in members), best.signals))
    return out
