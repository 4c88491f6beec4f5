"""Fusion of candidate runs into one score per unit: pure functions, no index, no models.

Why not reciprocal rank fusion: most questions cross languages, and there BM25 only sees the
lexicon's translations, so its ranking is noisy; an equal vote for it drowns the dense hits. Each
run's scores are scaled on their own (a cosine means something only against the run's other
cosines), the dense runs are averaged with their weights over the runs that may score a unit, and
the lexical side is mixed in with its own weight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

DENSE = "dense"
LEXICAL = "lexical"
ALL, SAME, OTHER = "all", "same", "other"  # which units a run may score, by the question's language


@dataclass
class Run:
    """One candidate generator's best units: ref -> raw score (a cosine, a BM25 score)."""

    name: str  # "gemma", "e5", "e5>other", "bm25" ...
    kind: str  # DENSE | LEXICAL
    scores: dict[str, float]
    weight: float = 1.0
    scope: str = ALL


@dataclass
class Fused:
    """A unit's fused score and what each run made of it (scaled 0..1), for the answerability model."""

    score: float
    signals: dict[str, float] = field(default_factory=dict)
    dense: float = 0.0  # best raw cosine over the dense runs
    lexical: float = 0.0  # raw BM25 score


def over_floor(scores: dict[str, float], floor_rank: int) -> dict[str, float]:
    """Scores rescaled so that the best is 1 and the ``floor_rank``-th best is 0 (those below, too).

    Cosines are compressed, so a dense run's scores only mean something relative to each other.
    Scaled between the best and the last of the run's candidates, a unit's value depended on how
    poor the last candidate happened to be; against a fixed rank it says how far the unit stands
    above the crowd of plausible ones.
    """
    if not scores:
        return {}
    ranked = sorted(scores.values(), reverse=True)
    hi, lo = ranked[0], ranked[min(max(floor_rank, 2), len(ranked)) - 1]
    span = hi - lo or 1.0
    return {k: max(0.0, (v - lo) / span) for k, v in scores.items()}


def scale_max(scores: dict[str, float]) -> dict[str, float]:
    """Scores over the best one: BM25 scores have no floor worth anchoring to (most units score 0)."""
    if not scores:
        return {}
    hi = max(scores.values()) or 1.0
    return {k: v / hi for k, v in scores.items()}


def admits(scope: str, unit_lang: str, qlang: str) -> bool:
    return scope == ALL or (scope == SAME) == (unit_lang == qlang)


def fuse(
    runs: Sequence[Run], lang_of: Callable[[str], str], qlang: str, lexical_weight: float, floor_rank: int
) -> dict[str, Fused]:
    """One Fused per unit any run found.

    A unit's dense score is the weighted mean of its scaled scores over the dense runs that may
    score it (a run scoped to the question's language cannot speak for a unit in the other one, so
    it neither helps nor penalises it); the lexical runs are scaled over their best and mixed in
    with ``lexical_weight``. Without dense runs the lexical score is the score, and back.
    """
    dense_runs = [r for r in runs if r.kind == DENSE]
    lexical_runs = [r for r in runs if r.kind == LEXICAL]
    scaled = {r.name: (over_floor(r.scores, floor_rank) if r.kind == DENSE else scale_max(r.scores)) for r in runs}
    refs = {ref for r in runs for ref in r.scores}
    out: dict[str, Fused] = {}
    for ref in refs:
        lang = lang_of(ref)
        signals = {r.name: scaled[r.name].get(ref, 0.0) for r in runs if admits(r.scope, lang, qlang)}
        weights = [(r.weight, signals[r.name]) for r in dense_runs if r.name in signals]
        total = sum(w for w, _ in weights)
        dense = sum(w * s for w, s in weights) / total if total else 0.0
        lexical = max((signals[r.name] for r in lexical_runs if r.name in signals), default=0.0)
        if dense_runs and lexical_runs:
            score = (1 - lexical_weight) * dense + lexical_weight * lexical
        else:
            score = dense if dense_runs else lexical
        raw_dense = max((r.scores[ref] for r in dense_runs if ref in r.scores), default=0.0)
        raw_lexical = max((r.scores[ref] for r in lexical_runs if ref in r.scores), default=0.0)
        out[ref] = Fused(score, signals, raw_dense, raw_lexical)
    return out
