"""Evaluation sets written elsewhere: `load_set` normalises them, names what it cannot read, and
`python -m eval` scores them (per-direction rows derived from the data, unknown gold refs named)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.metrics import direction_of
from eval.questions import EvalSetError, load_set

SETS = Path(__file__).resolve().parent.parent / "eval" / "sets"
REF_LANG = {"report:7(c)": "zh", "report:8": "zh", "tip-protocol:6(3)": "en", "untoc:2(a)": "en"}


def write_set(tmp_path: Path, *lines) -> Path:
    path = tmp_path / "their-set.jsonl"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False)
                              for line in lines) + "\n", encoding="utf-8")
    return path


def test_direction_is_derived_from_question_and_gold_languages():
    assert direction_of("en", ["report:7(c)"], REF_LANG) == "en→zh"
    assert direction_of("zh", ["tip-protocol:6(3)", "untoc:2(a)"], REF_LANG) == "zh→en"
    assert direction_of("zh", ["report:8", "tip-protocol:6(3)"], REF_LANG) == "mixed"
    assert direction_of("en", [], REF_LANG) == "none"
    assert direction_of("en", ["report:99"], REF_LANG) == "other"  # no such unit
    assert direction_of("fr", ["report:8"], REF_LANG) == "other"


def test_our_sets_hand_labelled_directions_agree_with_the_derived_ones(corpus_units):
    """Every question of our three sets carries its direction in its notes, written by hand;
    the derivation must reproduce all 372 of them."""
    ref_lang = {u.ref: u.lang for units in corpus_units.values() for u in units}
    labels = {"zh→zh+en": "mixed", "en→zh+en": "mixed", "en→none": "none", "zh→none": "none"}
    checked = 0
    for name, asks in (("questions", "question"), ("dev_heldout", "question"), ("multiturn", "turns")):
        for item in load_set(SETS / f"{name}.jsonl", asks):
            head = item["notes"].split(";", 1)[0].strip()
            assert direction_of(item["lang"], item["gold"], ref_lang) == labels.get(head, head), item["id"]
            checked += 1
    assert checked == 372


def test_a_set_in_another_shape_is_normalised(tmp_path):
    path = write_set(
        tmp_path,
        {"qid": "x", "query": "Where should victims be housed?", "gold_refs": "report: 7 (c)"},
        {"id": 7, "question": "議定書對受害人康復有哪些規定？", "refs": ["tip-protocol:6(3)"], "lang": "zh-Hant"},
        {"question": "Who won the 2018 World Cup?", "gold": [], "answerable": "false"},
        "",
        {"question": "受害人住在哪里？", "expected_refs": ["report:7(c)"], "key_facts": None},
    )
    items = load_set(path)
    assert [i["id"] for i in items] == ["their-set-1", "7", "their-set-3", "their-set-5"]
    assert [i["question"] for i in items][0] == "Where should victims be housed?"
    assert [i["gold"] for i in items] == [["report:7(c)"], ["tip-protocol:6(3)"], [], ["report:7(c)"]]
    assert [i["lang"] for i in items] == ["en", "zh", "en", "zh"]
    assert [i["answerable"] for i in items] == [True, True, False, True]
    assert all(i["key_facts"] == [] and i["notes"] == "" for i in items)


def test_a_conversation_set_accepts_chat_messages(tmp_path):
    path = write_set(tmp_path, {"id": "c", "turns": [
        {"role": "user", "content": "Who chaired the meeting?"},
        {"role": "assistant", "content": "…"},
        {"role": "user", "content": "Which country is she from?"},
    ], "gold": ["report:17"]})
    (item,) = load_set(path, asks="turns")
    assert item["turns"] == ["Who chaired the meeting?", "Which country is she from?"]
    assert item["lang"] == "en" and "question" not in item


@pytest.mark.parametrize(("lines", "message"), [
    (['{"id": "a", "question": "ok", "gold": []}', '{"id": "b", "question": '], "their-set.jsonl:2: not a JSON object"),
    ([{"id": "a", "gold": ["report:7"]}], "their-set.jsonl:1: no question"),
    ([{"id": "a", "question": "  ", "gold": []}], "their-set.jsonl:1: no question"),
    (['["a list"]'], "their-set.jsonl:1: not a JSON object"),
    ([{"id": "a", "question": "q", "gold": [7]}], "gold refs must be"),
    ([{"id": "a", "question": "q"}, {"id": "a", "question": "r"}], "repeated ids a"),
])
def test_an_unreadable_set_names_file_and_line(tmp_path, lines, message):
    with pytest.raises(EvalSetError, match=message):
        load_set(write_set(tmp_path, *lines))


def test_a_conversation_needs_two_turns(tmp_path):
    with pytest.raises(EvalSetError, match=":1: turns must hold at least two questions"):
        load_set(write_set(tmp_path, {"id": "c", "turns": ["only one"]}), asks="turns")


def test_a_missing_set_is_an_error_not_a_traceback(tmp_path):
    with pytest.raises(EvalSetError, match="cannot read evaluation set"):
        load_set(tmp_path / "nope.jsonl")


def test_python_m_eval_scores_a_foreign_set(app_main, tmp_path, capsys):
    """The retrieval evaluation over the session index, on a set with other field names, no
    notes and a mistyped gold ref: per-direction rows from the data, the typo named, exit 0."""
    from eval.__main__ import main

    path = write_set(
        tmp_path,
        {"qid": "1", "query": "Where should victims of trafficking be housed safely?", "gold_refs": ["report: 7 (c)"]},
        {"qid": "2", "query": "议定书对受害人的身心康复有什么规定？", "gold_refs": ["tip-protocol:6(3)"]},
        {"qid": "3", "query": "What is an organized criminal group?", "gold_refs": ["untoc:2(a)", "untoc:2(z)"]},
        {"qid": "4", "query": "Who won the 2018 World Cup?", "gold_refs": []},
    )
    out = tmp_path / "reports"
    assert main(["--set", str(path), "--systems", "pinpoint,bm25", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "1 gold ref(s) name no unit of the index and count as misses: untoc:2(z)" in captured.err
    report = json.loads((out / "retrieval-their-set.json").read_text(encoding="utf-8"))
    by_direction = report["systems"]["pinpoint"]["by_direction"]
    assert {d for d, s in by_direction.items() if s.get("n")} == {"en→zh", "zh→en", "en→en"}
    assert (out / "retrieval-their-set.md").exists()


def test_python_m_eval_refuses_an_unreadable_set(app_main, tmp_path, capsys):
    from eval.__main__ import main

    assert main(["--set", str(write_set(tmp_path, '{"id": 1'))]) == 2
    assert "their-set.jsonl:1: not a JSON object" in capsys.readouterr().err
