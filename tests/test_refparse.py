"""services.refparse: the reference forms `cite` accepts, the ones it rejects, resolve and nearest.

The corpus round-trip is the strongest check: every label Pinpoint shows,
English or Chinese, pasted back into `cite`, must lead to the same unit.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import settings
from ingest.labels import label_en, label_zh
from ingest.manifest import load_manifest
from services.refparse import ParsedRef, nearest, parse_reference, relative_reference, resolve

DOCS = load_manifest(settings.get_settings().corpus_dir)
DOC_BY_KEY = {d.key: d for d in DOCS}


@pytest.fixture(scope="module")
def corpus():
    """(docs, units) of the shipped corpus, parsed exactly as ingest parses it."""
    settings.apply_offline_defaults()
    from index.build import parse_corpus

    return parse_corpus(settings.get_settings())


@pytest.fixture(scope="module")
def existing(corpus) -> list[str]:
    return [u.ref for u in corpus[1]]


def parse(query: str) -> ParsedRef | None:
    return parse_reference(query, DOCS)


# ---------------------------------------------------------------- forms that must parse

REPORT, TIP, SOM, UNTOC = "report", "tip-protocol", "som-protocol", "untoc"
P, A = "paragraph", "article"

MUST_PARSE = [
    ("7(c)", REPORT, "7(c)", P),
    ("7 (c)", REPORT, "7(c)", P),
    ("para. 8 (o)", REPORT, "8(o)", P),
    ("第8段(j)项", REPORT, "8(j)", P),
    ("paragraph 16", REPORT, "16", P),
    ("第 1 段", REPORT, "1", P),
    ("段 24", REPORT, "24", P),
    ("art. 6(3)(d)", TIP, "6(3)(d)", A),
    ("Article 3(a)", TIP, "3(a)", A),
    ("议定书第17条第1款", TIP, "17(1)", A),
    ("article 14, paragraph 1", TIP, "14(1)", A),
    ("art. 6, para. 3 (d)", TIP, "6(3)(d)", A),
    ("Article 6, paragraph 3, subparagraph (d)", TIP, "6(3)(d)", A),
    ("第6条第3款(d)项", TIP, "6(3)(d)", A),
    ("《贩运人口议定书》第6条第3款(d)项", TIP, "6(3)(d)", A),
    ("Trafficking in Persons Protocol, art. 6, para. 3 (d)", TIP, "6(3)(d)", A),
    ("CTOC/COP/WG.4/2017/4, para. 7 (c)", REPORT, "7(c)", P),
    ("CTOC/COP/WG.4/2017/4，第7段(c)项", REPORT, "7(c)", P),
    ("untoc art. 2(a)", UNTOC, "2(a)", A),
    ("Convention article 2 (a)", UNTOC, "2(a)", A),
    ("公约第2条(a)项", UNTOC, "2(a)", A),
    ("Smuggling Protocol art 3", SOM, "3", A),
    ("偷运移民议定书第6条", SOM, "6", A),
    ("tip-protocol:6(3)(d)", TIP, "6(3)(d)", A),
    ("report:7(c)", REPORT, "7(c)", P),
    ("preamble of the Protocol", TIP, "preamble", A),
    ("议定书序言", TIP, "preamble", A),
    ("議定書第6條第3款", TIP, "6(3)", A),
    ("第８段（ｊ）项", REPORT, "8(j)", P),
    ("art. 5(1)(a)(ii)", TIP, "5(1)(a)(ii)", A),
    ("6(3)(d)", TIP, "6(3)(d)", A),
    # beyond the brief: reversed English order, Chinese numerals, UN symbols, explicit document + bare pinpoint
    ("paragraph 3 (d) of article 6", TIP, "6(3)(d)", A),
    ("subparagraph (a) of article 3 of the Protocol", TIP, "3(a)", A),
    ("article 6 of the Protocol", TIP, "6", A),
    ("第六条第三款(d)项", TIP, "6(3)(d)", A),
    ("第十七条", TIP, "17", A),
    ("A/RES/55/25, annex I, art. 2 (a)", UNTOC, "2(a)", A),
    ("A/RES/55/25, annex III, art. 6", SOM, "6", A),
    ("untoc 2(a)", UNTOC, "2(a)", A),
    ("report 7", REPORT, "7", P),
    ("ART. 06 (3) (D)", TIP, "6(3)(d)", A),
    ("Organized Crime Convention, art. 5, para. 1 (a) (ii)", UNTOC, "5(1)(a)(ii)", A),
    ("《有组织犯罪公约》第5条第1款(a)项第(ii)目", UNTOC, "5(1)(a)(ii)", A),
    # items typed without brackets, and items numbered in Chinese as in domestic drafting
    ("7c", REPORT, "7(c)", P),
    ("7.c", REPORT, "7(c)", P),
    ("para 7 c", REPORT, "7(c)", P),
    ("report 7c", REPORT, "7(c)", P),
    ("art. 6(3) d", TIP, "6(3)(d)", A),
    ("untoc 2 a", UNTOC, "2(a)", A),
    ("第8段j项", REPORT, "8(j)", P),
    ("第6条第3款d项", TIP, "6(3)(d)", A),
    ("第六条第三款第(四)项", TIP, "6(3)(d)", A),
    ("《有组织犯罪公约》第5条第1款(a)项第(二)目", UNTOC, "5(1)(a)(ii)", A),
]


@pytest.mark.parametrize("query,doc,pinpoint,kind", MUST_PARSE)
def test_must_parse(query, doc, pinpoint, kind):
    assert parse(query) == ParsedRef(doc, pinpoint, kind)


PHRASES = [
    "free legal representation",
    "免费法律代理",
    "what about shelters?",
    "victims in paragraph-less text",
    "",
    "   ",
    "victims in paragraph 3",  # words that are not a document name
    "articles 6 and 7",  # several references at once
    "paras. 7 and 8",
    "2017",  # a year, not a paragraph
    "multiple 7",  # "tip" inside a word is not the TIP Protocol
    "reporting 7",
    "第3款",  # a treaty paragraph without its article
    "art. 6 (bis)",
    "6(3)(4)",  # a number below a number
    "foo:6(3)",  # unknown document key
    "art. 6 " + "x" * 300,
    "7 a.m.",  # a letter after a number is an item only when nothing but a name surrounds it
    "page 7 a",
    "in 2017 a meeting",
]


@pytest.mark.parametrize("query", PHRASES)
def test_phrases_are_not_references(query):
    assert parse(query) is None


def test_named_document_contradicting_the_style_is_not_decidable():
    assert parse("report art. 6") == ParsedRef(None, "6", A)
    assert parse("Convention, para. 3") == ParsedRef(None, "3", P)


def test_defaults_are_parameters():
    assert parse_reference("7(c)", DOCS, default_report="nope") == ParsedRef(None, "7(c)", P)
    assert parse_reference("art. 3", DOCS, default_treaty="untoc") == ParsedRef(UNTOC, "3", A)
    assert parse_reference("art. 3", DOCS, default_treaty="report") == ParsedRef(None, "3", A)  # wrong kind


# ---------------------------------------------------------------- the shipped corpus round-trips


def test_every_unit_label_round_trips(corpus):
    docs, units = corpus
    refs = {u.ref for u in units}
    assert len(units) > 500
    failures = []
    for unit in units:
        for label in (unit.label_en, unit.label_zh):
            parsed = parse_reference(label, docs)
            if parsed is None or resolve(parsed, refs) != unit.ref:
                failures.append((label, unit.ref, parsed))
    assert not failures, failures[:10]


# ---------------------------------------------------------------- resolve


def test_resolve_exact_and_missing(existing):
    refs = set(existing)
    assert resolve(parse("7(c)"), refs) == "report:7(c)"
    assert resolve(parse("7(z)"), refs) is None
    assert resolve(parse("article 45"), refs) is None
    assert resolve(parse("untoc preamble"), refs) is None  # the Convention has no preamble here


def test_resolve_falls_back_for_articles_without_numbered_paragraphs(existing):
    refs = set(existing)
    assert resolve(parse("3(1)(a)"), refs) == "tip-protocol:3(a)"
    assert resolve(parse("Convention, art. 2, para. 1 (a)"), refs) == "untoc:2(a)"
    assert resolve(parse("article 4, paragraph 1"), refs) == "tip-protocol:4"
    # only paragraph 1, and only where the article has no numbered paragraphs
    assert resolve(parse("Protocol, art. 3(2)(a)"), refs) is None
    assert resolve(parse("6(1)(a)"), refs) is None


def test_a_defaulted_document_gives_way_to_the_one_that_has_the_pinpoint(existing):
    """Unnamed, "art. 18(15)(f)" defaults to the Trafficking Protocol, which has no article 18(15):
    the Convention alone has it. Named, the document is kept; several others having it, none is picked."""
    refs = set(existing)
    assert resolve(parse("art. 18(15)(f)"), refs) == "untoc:18(15)(f)"
    assert resolve(parse("第十八条第十五款"), refs) == "untoc:18(15)"
    assert resolve(parse("Article 3(c)(i)"), refs) == "som-protocol:3(c)(i)"
    assert resolve(parse("art. 6(3)(d)"), refs) == "tip-protocol:6(3)(d)"  # the default has it: no fallback
    assert resolve(parse("Protocol, art. 18(15)(f)"), refs) is None
    assert resolve(parse("art. 25"), refs) is None  # both other treaties have an article 25
    assert nearest(parse("art. 25"), existing)[:2] == ["som-protocol:25", "untoc:25"]
    many = nearest(parse("art. 25"), existing, n=300)
    assert len(many) == 300 and len(set(many)) == len(many)  # listed first, not again later


def test_resolve_without_document_needs_a_unique_match(existing):
    refs = set(existing)
    assert resolve(ParsedRef(None, "8(o)", P), refs) == "report:8(o)"  # only the report has 8(o)
    assert resolve(ParsedRef(None, "6(3)(d)", A), refs) == "tip-protocol:6(3)(d)"
    assert resolve(ParsedRef(None, "6(1)", A), refs) is None  # in all three treaties
    assert resolve(ParsedRef(None, "16(17)", A), refs) == "untoc:16(17)"


# ---------------------------------------------------------------- nearest


def test_nearest_past_the_end_of_the_report(existing):
    out = nearest(parse("99(z)"), existing)
    assert out[0] == "report:32"
    assert len(out) == 5 and all(r.startswith("report:") for r in out)


def test_nearest_past_the_last_article(existing):
    for query in ("article 45", "第50条"):
        out = nearest(parse(query), existing)
        assert out[0] == "tip-protocol:20"
        assert all(r.startswith("tip-protocol:") for r in out)


def test_nearest_missing_item_prefers_last_sibling_then_parent(existing):
    out = nearest(parse("7(z)"), existing)
    assert out[:2] == ["report:7(j)", "report:7"]
    assert out[2] == "report:7(i)"


def test_nearest_missing_paragraph_of_an_article(existing):
    out = nearest(parse("art. 6(9)(a)"), existing, n=3)
    assert out == ["tip-protocol:6(6)", "tip-protocol:6", "tip-protocol:6(5)"]


def test_nearest_lists_the_items_of_a_missing_parent_first():
    refs = ["report:6", "report:7(a)", "report:7(b)", "report:8"]
    assert nearest(ParsedRef(REPORT, "7", P), refs, n=2) == ["report:7(a)", "report:7(b)"]


def test_nearest_fills_from_other_documents_and_respects_n(existing):
    out = nearest(ParsedRef("nowhere", "3", A), existing, n=4)
    assert len(out) == 4 and len({r.split(":")[0] for r in out}) > 1
    assert nearest(parse("7(z)"), existing, n=0) == []
    assert nearest(parse("7(z)"), [], n=5) == []


def test_nearest_reads_roman_items(existing):
    out = nearest(parse("Convention art. 5(1)(a)(v)"), existing, n=2)
    assert out == ["untoc:5(1)(a)(ii)", "untoc:5(1)(a)"]


# ---------------------------------------------------------------- properties

FAST = hsettings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.text(max_size=250))
def test_never_raises_on_arbitrary_text(text):
    parsed = parse_reference(text, DOCS)
    assert parsed is None or parsed.kind in (P, A)


@FAST
@given(st.text(alphabet="第条款段项目序言()（）,，. 0123456789abcdijvxartpgh:-《》议定书公约报告", max_size=60))
def test_never_raises_on_reference_like_text(text):
    parsed = parse_reference(text, DOCS)
    if parsed is not None:
        nearest(parsed, ["report:7", "report:7(a)", "tip-protocol:6(3)(d)"])
        resolve(parsed, {"report:7", "tip-protocol:3(a)"})


LETTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyz")
ROMANS = st.sampled_from(["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x"])


@st.composite
def doc_and_pinpoint(draw):
    doc = draw(st.sampled_from(DOCS))
    head = str(draw(st.integers(1, 999)))
    para = f"({draw(st.integers(1, 99))})"
    letter, roman = f"({draw(LETTERS)})", f"({draw(ROMANS)})"
    if doc.kind == "report":
        shapes = [head, head + letter, head + letter + roman]
    else:
        shapes = ["preamble", head, head + para, head + para + letter, head + para + letter + roman,
                  head + letter, head + letter + roman]
    return doc, draw(st.sampled_from(shapes))


@FAST
@given(doc_and_pinpoint())
def test_rendered_labels_round_trip(case):
    doc, pinpoint = case
    kind = P if doc.kind == "report" else A
    for label in (label_en(doc, pinpoint), label_zh(doc, pinpoint)):
        assert parse_reference(label, DOCS) == ParsedRef(doc.key, pinpoint, kind), label
    assert parse_reference(f"{doc.key}:{pinpoint}", DOCS) == ParsedRef(doc.key, pinpoint, kind)


# --- references relative to the provision just discussed (follow-ups) ----------------------------


@pytest.mark.parametrize(
    ("anchor", "follow_up", "expected"),
    [
        ("tip-protocol:7", "What does its paragraph 2 say?", "tip-protocol:7(2)"),
        ("tip-protocol:7", "它的第2款怎么说？", "tip-protocol:7(2)"),
        ("tip-protocol:7", "那第二款呢？", "tip-protocol:7(2)"),
        ("tip-protocol:6(2)", "and paragraph 3 (d)?", "tip-protocol:6(3)(d)"),
        ("tip-protocol:6(3)", "What about (d)?", "tip-protocol:6(3)(d)"),  # a sub-item of the anchor
        ("tip-protocol:6(3)(c)", "And subparagraph (d)?", "tip-protocol:6(3)(d)"),  # a sibling
        ("report:7(c)", "那(d)项呢？", "report:7(d)"),
        ("report:7", "and (j)?", "report:7(j)"),
        # one step from the anchor, at the level the words name
        ("report:7(c)", "And the next one?", "report:7(d)"),
        ("report:7(c)", "下一项呢？", "report:7(d)"),
        ("report:7(c)", "What about the next paragraph?", "report:8"),
        ("report:8", "上一段呢？", "report:7"),
        ("tip-protocol:6(3)(d)", "and the previous subparagraph?", "tip-protocol:6(3)(c)"),
        ("tip-protocol:6(3)(d)", "下一款呢？", "tip-protocol:6(4)"),
        ("tip-protocol:6(2)", "前款怎么说？", "tip-protocol:6(1)"),
        ("tip-protocol:7", "What does the next article say?", "tip-protocol:8"),
        ("untoc:5(1)(a)(i)", "and the following item?", "untoc:5(1)(a)(ii)"),
        ("tip-protocol:3(a)", "下一款呢？", None),  # article 3 has no numbered paragraphs
        ("report:1", "上一段呢？", None),
        ("report:7(c)", "工作组前段时间开过会吗？", None),  # 前段时间: "lately", not a paragraph
        # not relative: an article or report paragraph of its own, or nothing that exists
        ("tip-protocol:7", "What does article 8 say?", None),
        ("tip-protocol:7", "第8条第2款呢？", None),
        ("report:7(c)", "第8段(j)项呢？", None),
        ("report:7(c)", "What about paragraph 2?", None),  # the report has no 7(2): paragraph 2 is absolute
        ("tip-protocol:7", "and paragraph 9?", None),
        ("tip-protocol:7", "What about victims of forced labour?", None),
        ("tip-protocol:preamble", "and (a)?", None),
    ],
)
def test_relative_reference_reads_a_follow_up_within_the_anchor(existing, anchor, follow_up, expected):
    assert relative_reference(follow_up, anchor, set(existing)) == expected
