"""Metric functions of `python -m eval` on tiny hand-made rankings, and the starter's chunk -> ref mapping."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eval.baselines import chunk_refs, locate
from eval.metrics import (
    QuestionResult,
    check_targets,
    hit_at,
    mrr_at,
    recall_at,
    refusal,
    related,
    summarize,
)

PARENTS = {"r:7": None, "r:7(a)": "r:7", "r:7(b)": "r:7", "t:6": None, "t:6(3)": "t:6", "t:6(3)(d)": "t:6(3)"}


def units_ranking(*refs: str) -> list[list[str]]:
    return [[r] for r in refs]


def test_hit_at_k_counts_positions():
    ranking = units_ranking("r:1", "r:2", "r:3", "r:4", "r:5", "r:6")
    assert hit_at(ranking, ["r:3"], 1) == 0.0
    assert hit_at(ranking, ["r:3"], 2) == 0.0
    assert hit_at(ranking, ["r:3"], 3) == 1.0
    assert hit_at(ranking, ["r:6"], 5) == 0.0
    assert hit_at(ranking, ["r:9", "r:1"], 1) == 1.0  # any of two gold refs
    assert hit_at([], ["r:1"], 5) == 0.0  # nothing retrieved is a miss, not an error


def test_mrr_first_gold_and_cutoff():
    assert mrr_at(units_ranking("a", "b", "g"), ["g"]) == pytest.approx(1 / 3)
    assert mrr_at(units_ranking("g2", "g1"), ["g1", "g2"]) == 1.0
    assert mrr_at(units_ranking(*[f"x{i}" for i in range(10)], "g"), ["g"], k=10) == 0.0
    assert mrr_at(units_ranking("a", "b"), ["g"]) == 0.0
    assert mrr_at([], ["g"]) == 0.0


def test_chunk_positions_are_counted_in_chunks():
    ranking = [["x", "y", "z"], ["w", "g"], ["g"]]
    assert mrr_at(ranking, ["g"]) == 0.5
    assert hit_at(ranking, ["g"], 1) == 0.0
    assert hit_at(ranking, ["g"], 2) == 1.0


def test_recall_at_k():
    ranking = units_ranking("g1", *[f"x{i}" for i in range(9)], "g2")
    assert recall_at(ranking, ["g1", "g2"], k=10) == 0.5
    assert recall_at(ranking, ["g1", "g2"], k=11) == 1.0
    assert recall_at([["g2", "g1"]], ["g1", "g2"], k=10) == 1.0  # one chunk holding both
    assert recall_at([], ["g1"], k=10) == 0.0


def test_lenient_matches_parent_and_child_only():
    assert related("r:7", "r:7(a)", PARENTS)  # parent of the gold
    assert related("t:6(3)(d)", "t:6(3)", PARENTS)  # child of the gold
    assert not related("r:7(b)", "r:7(a)", PARENTS)  # sibling
    assert not related("t:6", "t:6(3)(d)", PARENTS)  # grandparent
    assert not related("r:7", "r:7(a)", None)  # strict
    ranking = units_ranking("r:1", "r:7")
    assert hit_at(ranking, ["r:7(a)"], 5) == 0.0
    assert hit_at(ranking, ["r:7(a)"], 5, PARENTS) == 1.0


def _result(answerable: bool, answered: bool | None, gold: list[str] | None = None, **kw) -> QuestionResult:
    gold = gold if gold is not None else (["g"] if answerable else [])
    fields = {"id": "q", "lang": "en", "direction": "en→zh", "ranking": units_ranking("g"), "ms": 1.0} | kw
    return QuestionResult(gold=gold, answerable=answerable, answered=answered, **fields)


def test_refusal_is_two_numbers_never_one_accuracy():
    rows = [_result(True, True), _result(True, True), _result(True, False), _result(False, False), _result(False, True)]
    r = refusal(rows)
    assert "accuracy" not in r  # over mostly answerable questions it rewards answering everything
    assert r["answered_when_answerable"] == pytest.approx(2 / 3)
    assert r["refused_when_unanswerable"] == pytest.approx(1 / 2)
    assert (r["answerable"], r["unanswerable"]) == (3, 2)
    starter = refusal([_result(True, None), _result(False, None)])  # no decision: n/a
    assert starter["refused_when_unanswerable"] is None and starter["answered_when_answerable"] is None


def test_an_acceptable_alternative_is_a_hit_and_a_parent_is_not():
    row = _result(True, True, gold=["t:6(3)(d)"], acceptable=["r:7(d)"], ranking=units_ranking("t:6(3)", "r:7(d)"))
    s = summarize([row], 10, PARENTS)
    assert s["overall"]["hit@1"] == 0.0  # the parent of the gold is not a strict hit
    assert s["overall"]["hit@5"] == 1.0 and s["overall"]["mrr"] == 0.5
    assert s["overall"]["recall@10"] == 0.0  # recall counts the gold refs alone


def test_summary_ignores_unanswerable_for_ranking_and_checks_targets():
    rows = [
        _result(True, True, ranking=units_ranking("g"), direction="en→zh"),
        _result(True, True, ranking=units_ranking("x", "x2", "x3", "x4", "x5", "g"), direction="zh→en"),
        _result(False, False, ranking=units_ranking("g")),
    ]
    s = summarize(rows, 10, PARENTS)
    assert s["overall"]["n"] == 2
    assert s["overall"]["hit@5"] == 0.5
    assert s["overall"]["mrr"] == pytest.approx((1 + 1 / 6) / 2)
    assert s["by_direction"]["zh→en"]["hit@5"] == 0.0
    assert s["refusal"]["refused_when_unanswerable"] == 1.0 and s["refusal"]["answered_when_answerable"] == 1.0
    assert s["refs_in_top_k"] == pytest.approx((1 + 6 + 1) / 3)
    checks = {name: ok for name, _, _, ok in check_targets(s)}
    assert not checks["hit@5"]  # 0.5 is below the target
    assert checks["en→zh hit@5"] and not checks["zh→en hit@5"]
    assert checks["refused when unanswerable"] and checks["answered when answerable"]


@dataclass(frozen=True)
class FakeUnit:
    ref: str
    start: int
    end: int


DOC = "Title\n1. First para.\n2. Second para:\n(a) item a;\n(b) item b.\n3. Third para.\n"


def _span(text: str) -> tuple[int, int]:
    start = DOC.index(text)
    return start, start + len(text)


UNITS = [
    FakeUnit("d:1", *_span("1. First para.")),
    FakeUnit("d:2", _span("2. Second para:")[0], _span("(b) item b.")[1]),
    FakeUnit("d:2(a)", *_span("(a) item a;")),
    FakeUnit("d:2(b)", *_span("(b) item b.")),
    FakeUnit("d:3", *_span("3. Third para.")),
]


def test_chunk_refs_overlap_in_document_order():
    start, end = _span("item a;\n(b) item b.\n3. Th")
    assert chunk_refs(start, end, UNITS) == ["d:2", "d:2(a)", "d:2(b)", "d:3"]
    assert chunk_refs(*_span("Title"), UNITS) == []  # before the first unit
    assert chunk_refs(*_span("First"), UNITS) == ["d:1"]
    gap = DOC.index("\n2. Second")  # the newline between units 1 and 2 belongs to neither
    assert chunk_refs(gap, gap + 1, UNITS) == []


def test_locate_verifies_offsets():
    chunk = "(a) item a;\n(b) item b."
    true_start = DOC.index(chunk)
    assert locate(chunk, DOC, true_start) == (true_start, true_start + len(chunk))
    assert locate(chunk, DOC, 0) == (true_start, true_start + len(chunk))  # wrong offset: found by text
    raw = "2. Second para:\n(a) item a;\nV.17-06892\n(b) item b."  # a page-furniture line read_text drops
    start, end = locate(raw, DOC, 5)
    assert DOC[start:end] == "2. Second para:\n(a) item a;\n(b) item b."
    with pytest.raises(LookupError):
        locate("not in the document", DOC, 0)


def test_ablation_verdicts_weigh_both_sets():
    from types import SimpleNamespace

    from eval.report import ablation_markdown

    def run(mrr):
        return {"hit@1": mrr, "hit@5": mrr, "mrr": mrr}

    ablation = {
        "ours": {"pinpoint": run(0.88), "pinpoint -a": run(0.88), "pinpoint -b": run(0.886), "pinpoint -c": run(0.95),
                 "pinpoint -d": run(0.88), "pinpoint -e": run(0.90)},
        "dev": {"pinpoint": run(0.90), "pinpoint -a": run(0.78), "pinpoint -b": run(0.83), "pinpoint -c": run(0.80),
                "pinpoint -d": run(0.90), "pinpoint -e": run(0.91)},
    }
    text = ablation_markdown(ablation, SimpleNamespace(retrieval_steps=("a", "b"), embedders=("gemma",)))
    verdicts = {line.split(" | ")[0].strip("| "): line.rsplit(" | ", 1)[1].strip(" |") for line in text.splitlines()
                if line.startswith("| pinpoint -")}
    assert verdicts == {
        "pinpoint -a": "earns its place",  # lost on one set, neutral on the other
        "pinpoint -b": "earns its place",  # a gain within the tolerance on one set
        "pinpoint -c": "trades one set for the other",
        "pinpoint -d": "inert on these sets",
        "pinpoint -e": "does not earn it",  # the pipeline is better without it everywhere
    }
