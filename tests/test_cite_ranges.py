"""`cite` of several units at once: ranges and pairs as UN drafting writes them ("paras. 7 (c)–(e)",
"arts. 6-8", "articles 6 and 7", "第7段(c)至(e)项"), and lists of whole references ("paras. 7 (c)
and 8 (d)", "para. 7 (d) and Protocol art. 6(3)(d)"). Each member is read as the single reference
it stands for, and all must exist: the lookup returns exactly those units, in order, verbatim.
"""

from __future__ import annotations

import json

import pytest

import settings
from ingest.manifest import load_manifest
from services.cite import UnknownReference
from services.refrange import _runs, parse_list, parse_range
from ui.render import matches_html

DOCS = load_manifest(settings.get_settings().corpus_dir)


def refs(query: str) -> list[list[str]]:
    return [[p.ref for p in reading] for reading in parse_range(query, DOCS)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("paras. 7(c)-(e)", ["report:7(c)", "report:7(d)", "report:7(e)"]),
        ("para. 7 (c)–(e)", ["report:7(c)", "report:7(d)", "report:7(e)"]),
        ("第7段(c)至(e)项", ["report:7(c)", "report:7(d)", "report:7(e)"]),
        ("paras. 7-9", ["report:7", "report:8", "report:9"]),
        ("第7至9段", ["report:7", "report:8", "report:9"]),
        ("arts. 6-8", ["tip-protocol:6", "tip-protocol:7", "tip-protocol:8"]),
        ("articles 6 and 7", ["tip-protocol:6", "tip-protocol:7"]),
        ("arts. 6 and 7 of the Smuggling Protocol", ["som-protocol:6", "som-protocol:7"]),
        ("第6条第3款(a)至(d)项", [f"tip-protocol:6(3)({c})" for c in "abcd"]),
        ("art. 6(3), (4)", ["tip-protocol:6(3)", "tip-protocol:6(4)"]),
        ("art. 5(1)(a)(i)-(ii)", ["tip-protocol:5(1)(a)(i)", "tip-protocol:5(1)(a)(ii)"]),
    ],
)
def test_ranges_and_pairs_name_each_member(query, expected):
    assert refs(query) == [expected]


@pytest.mark.parametrize(
    "query",
    ["7(c)", "para. 8, 2017", "victims 3-5", "1-999", "Protocol, art. 5", "7(c)-9", "free legal representation"],
)
def test_what_is_not_a_range(query):
    assert parse_range(query, DOCS) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("paras. 7 (c) and 8 (d)", ["report:7(c)", "report:8(d)"]),
        ("paragraphs 7 (c), 8 (d) and 9", ["report:7(c)", "report:8(d)", "report:9"]),
        ("第7段(c)项和第8段(d)项", ["report:7(c)", "report:8(d)"]),
        ("第7段(c)项、第8段(d)项", ["report:7(c)", "report:8(d)"]),
        ("art. 6(3); art. 7(1)", ["tip-protocol:6(3)", "tip-protocol:7(1)"]),
        ("articles 6 (3) and 7 (1)", ["tip-protocol:6(3)", "tip-protocol:7(1)"]),
        ("arts 5, 6 and 7", ["tip-protocol:5", "tip-protocol:6", "tip-protocol:7"]),
        # a part that names no document is read in the one its neighbour names, before or after it
        ("公约第5条和第6条", ["untoc:5", "untoc:6"]),
        ("arts. 5 and 6 (1) of the Convention", ["untoc:5", "untoc:6(1)"]),
        ("art. 6 of the Smuggling Protocol and art. 3", ["som-protocol:6", "som-protocol:3"]),
        # the (1) belongs to article 6, not to both (read as a pair, this gave untoc:5(1))
        ("Convention arts. 5 and 6(1)", ["untoc:5", "untoc:6(1)"]),
        # each part keeps its own document
        ("para. 7 (d) and Protocol art. 6(3)(d)", ["report:7(d)", "tip-protocol:6(3)(d)"]),
        ("art. 6 and para. 7 of the report", ["tip-protocol:6", "report:7"]),
        # a part that only continues the previous one takes what it leaves out from it
        ("第6条第3款和第4款", ["tip-protocol:6(3)", "tip-protocol:6(4)"]),
        ("第六条第三款、第四款", ["tip-protocol:6(3)", "tip-protocol:6(4)"]),
        ("第7段(c)项和(d)项", ["report:7(c)", "report:7(d)"]),
        ("article 6, paragraph 3 and paragraph 4", ["tip-protocol:6(3)", "tip-protocol:6(4)"]),
        # after a whole article, "para. 7" is the report's, as it would be alone
        ("art. 6 and para. 7", ["tip-protocol:6", "report:7"]),
        # a comma inside one reference does not split it; a range is one part
        ("article 14, paragraph 1 and article 15", ["tip-protocol:14(1)", "tip-protocol:15"]),
        ("paras. 7 (c)-(e) and 8 (d)", ["report:7(c)", "report:7(d)", "report:7(e)", "report:8(d)"]),
    ],
)
def test_a_list_of_references_names_each_unit(session_engine, query, expected):
    assert [u.ref for u in session_engine.cite(query).units] == expected


@pytest.mark.parametrize("query", ["victims and witnesses", "7(c) and victims", "2017 and 2018", "victims in 7 (c) and 8",
                                   "article 14, paragraph 1", "trafficking, smuggling and 3"])
def test_what_is_not_a_list(query):
    assert parse_list(query, DOCS) == []


def test_a_list_with_a_missing_member_names_it(session_engine):
    with pytest.raises(UnknownReference, match="no unit 'art. 99'"):
        session_engine.cite("para. 7(c) and art. 99")


def test_an_ambiguous_run_reads_both_ways():
    assert _runs("i", "iii") == [["i", "ii", "iii"]]
    assert _runs("i", "v") == [["i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v"], ["i", "ii", "iii", "iv", "v"]]
    assert _runs("c", "a") == [] and _runs("1", "99") == []  # backwards; longer than a citation runs


def test_cite_returns_every_unit_of_a_range_verbatim(session_engine, sources):
    found = session_engine.cite("paras. 7 (c)–(e)").to_json()
    assert [u["ref"] for u in found["units"]] == ["report:7(c)", "report:7(d)", "report:7(e)"]
    for record in found["units"]:
        unit = session_engine.index.by_ref[record["ref"]]
        assert record["text"] == unit.text and record["text"] in sources[unit.doc]
        assert record["labels"] == {"en": unit.label_en, "zh": unit.label_zh}
    assert found["labels"] == {"en": "CTOC/COP/WG.4/2017/4, para. 7 (c)–(e)", "zh": "CTOC/COP/WG.4/2017/4，第7段(c)至(e)项"}
    html = matches_html(found["query"], found["units"], "en", "range_units")
    assert "Units the reference names" in html and html.count('class="pp-card" data-unit=') == 3


def test_a_range_with_a_missing_member_is_an_unknown_reference(session_engine):
    with pytest.raises(UnknownReference) as caught:
        session_engine.cite("paras. 7(h)-(l)")  # paragraph 7 stops at (j)
    assert caught.value.suggestions and "report:7(j)" in caught.value.suggestions


@pytest.mark.parametrize("query", ["paras. 30-40", "paras. 1-200"])
def test_a_run_past_the_end_of_the_report_is_an_unknown_reference(session_engine, query):
    """However long the run: "paras. 1-200", longer than a range is read member by member, was searched
    as a phrase (and answered with a treaty article) where "paras. 30-40" named the last paragraph."""
    with pytest.raises(UnknownReference) as caught:
        session_engine.cite(query)
    assert caught.value.suggestions[0] == "report:32"
    assert str(caught.value).startswith(f"no unit {query!r} in the corpus; nearest: report:32")


def test_cli_cite_of_a_run_past_the_end_exits_2_naming_the_last_paragraph(app_main, capsys):
    assert app_main(["cite", "paras. 1-200"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: no unit 'paras. 1-200' in the corpus; nearest: report:32,")


def test_cli_cite_prints_the_units_of_a_range(app_main, capsys):
    assert app_main(["cite", "第6条第3款(a)至(d)项", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [u["ref"] for u in found["units"]] == [f"tip-protocol:6(3)({c})" for c in "abcd"]
    assert app_main(["cite", "arts. 6 and 7"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Trafficking in Persons Protocol, arts. 6 and 7\n《贩运人口议定书》第6条和第7条\n")
    assert "Trafficking in Persons Protocol, art. 6\n" in out and "Trafficking in Persons Protocol, art. 7\n" in out


def test_cli_rendering_of_a_phrase_without_matches_is_empty_not_an_error():
    import app

    assert app._render_cite({"query": "zzz", "matches": []}) == ""
