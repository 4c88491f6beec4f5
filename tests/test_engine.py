"""Engine.retrieve / Engine.cite against the session index of the whole shipped corpus (real USE +
Chroma + BM25), and the `ask --json` contract the Answerer makes of a retrieval."""

from __future__ import annotations

import dataclasses
import time

import pytest
from answer_support import is_quoted, retrieved_json

from index.passes import Hit
from services.answer import Answerer
from services.cite import UnknownReference
from services.engine import Engine, QuestionError
from services.results import NamedUnits, PhraseMatches, Retrieval, UnitRecord

ASK_KEYS = {"question", "language", "answer", "answerable", "citations", "retrieved"}
CITE_KEYS = {"ref", "text", "labels", "lead_in", "language", "links", "translations"}


@pytest.fixture(scope="module")
def answerer(session_engine, session_settings) -> Answerer:
    return Answerer(session_engine, session_settings)


def refs(result: dict, n: int) -> list[str]:
    return [r["ref"] for r in result["retrieved"][:n]]


def ask(answerer: Answerer, question: str) -> dict:
    """The `ask --json` contract for ``question``."""
    return answerer.answer(question).to_json()


def check_contract(answerer: Answerer, result: dict, question: str, language: str, sources: dict[str, str]) -> None:
    engine = answerer.engine
    assert ASK_KEYS <= set(result)
    assert result["question"] == question
    assert result["language"] == language
    assert isinstance(result["answer"], str) and result["answer"].strip()
    assert isinstance(result["answerable"], bool)
    retrieved = result["retrieved"]
    assert len(retrieved) >= 10
    assert len({r["ref"] for r in retrieved}) == len(retrieved)
    assert all(r["ref"] in engine.index.by_ref for r in retrieved)
    scores = [r["score"] for r in retrieved]
    assert scores == sorted(scores, reverse=True)
    found = engine.retrieve(question)
    assert retrieved == retrieved_json(found)  # the answer lists exactly what the engine retrieved
    if result["answerable"]:
        assert result["citations"]
        # the quoting rule picks the cited units (services/answer.py, Answerer.quoted) among the retrieved ones
        assert [c["ref"] for c in result["citations"]] == answerer.quoted(found)
        assert {c["ref"] for c in result["citations"]} <= {r["ref"] for r in retrieved}
    for citation in result["citations"]:
        unit = engine.index.by_ref[citation["ref"]]
        assert citation["quote"] == unit.text
        assert citation["quote"] in sources[unit.doc]
        assert citation["label"] == (unit.label_zh if language == "zh" else unit.label_en)
        assert citation["label"] in result["answer"] and is_quoted(citation["quote"], result["answer"])


# --- known answers, both languages ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language", "expected", "top"),
    [
        ("Where should victims be housed?", "en", {"tip-protocol:6(3)(a)", "report:7(c)"}, 5),
        ("受害人能否获得免费法律代理？", "zh", {"report:8(j)"}, 3),
        ("Who chaired the meeting?", "en", {"report:16"}, 5),
        ("议定书对遣返被害人有何规定？", "zh", {"tip-protocol:8", "tip-protocol:8(1)", "tip-protocol:8(2)",
                                               "tip-protocol:8(3)", "tip-protocol:8(4)", "tip-protocol:8(5)",
                                               "tip-protocol:8(6)"}, 5),
        ("What is the definition of a child?", "en", {"tip-protocol:3(d)"}, 5),
        ("受害人的隱私應如何保護？", "zh", {"tip-protocol:6(1)"}, 5),  # traditional characters
        # art. 6 contains 6(3) and scores a little higher: the sub-unit that answers goes first
        ("議定書對受害人身心康復有哪些措施？", "zh", {"tip-protocol:6(3)"}, 1),
        ("公约对洗钱的上游犯罪范围有什么要求？", "zh", {"untoc:6(2)", "untoc:6(2)(a)"}, 2),
    ],
)
def test_known_answers_are_retrieved_near_the_top(answerer, sources, question, language, expected, top):
    result = ask(answerer, question)
    check_contract(answerer, result, question, language, sources)
    assert expected & set(refs(result, top)), refs(result, 10)


def test_unanswerable_below_threshold_cites_nothing_but_still_lists_retrieved(session_engine, session_settings, sources):
    strict = Engine(session_settings, index=session_engine.index)
    strict.answerability.threshold = 2.0  # no probability reaches it
    question = "Who chaired the meeting?"
    found = strict.retrieve(question)
    assert found.answerable is False and len(found.hits) >= 10
    result = Answerer(strict, session_settings).answer(question).to_json()
    check_contract(Answerer(strict, session_settings), result, question, "en", sources)
    assert result["answerable"] is False
    assert result["citations"] == []
    assert result["closest"] == found.refs[: session_settings.closest_units]
    normal = ask(Answerer(session_engine, session_settings), question)
    assert normal["answerable"] is True and normal["citations"] and normal["closest"] == []
    assert result["answer"] != normal["answer"]  # the not-found lead, not the extractive one
    assert result["answer"].startswith("The documents do not say.\nClosest passages (not an answer):\n")


@pytest.mark.parametrize(
    ("question", "ref"),
    [
        ("What does paragraph 2 of article 6 of the Protocol require?", "tip-protocol:6(2)"),
        ("议定书第6条第3款规定了什么？", "tip-protocol:6(3)"),
        ("第8段(j)项说了什么？", "report:8(j)"),
        ("What does article 2 of the Smuggling of Migrants Protocol say?", "som-protocol:2"),
        ("公約第十八條第十八款怎麼說？", "untoc:18(18)"),
        # no document named and the default treaty (the Trafficking Protocol) lacks it: the one that has it
        ("What does article 18(15)(f) say?", "untoc:18(15)(f)"),
    ],
)
def test_a_provision_named_in_the_question_comes_first_and_is_quoted_alone(session_engine, answerer, question, ref):
    found = session_engine.retrieve(question)
    assert found.refs[0] == ref and found.named == [ref]
    result = ask(answerer, question)
    assert result["retrieved"][0]["ref"] == ref
    assert [c["ref"] for c in result["citations"]] == [ref]


@pytest.mark.parametrize(
    ("question", "refs"),
    [
        ("What do paras. 7 (c) and 8 (d) say?", ["report:7(c)", "report:8(d)"]),
        ("第7段(c)项和第8段(d)项说了什么？", ["report:7(c)", "report:8(d)"]),
        ("Compare article 6(3) of the Protocol with article 16 of the Smuggling Protocol",
         ["tip-protocol:6(3)", "som-protocol:16"]),
        ("What do arts. 6-8 say?", ["tip-protocol:6", "tip-protocol:7", "tip-protocol:8"]),
        ("議定書第6條第3款和第7條第1款有什麼規定？", ["tip-protocol:6(3)", "tip-protocol:7(1)"]),
        # a later paragraph of no article is read in the article just named
        ("What do article 6, paragraph 3 and paragraph 4 require?", ["tip-protocol:6(3)", "tip-protocol:6(4)"]),
        # one of the two does not exist: the other is still quoted
        ("What do article 6(3) and article 45 say?", ["tip-protocol:6(3)"]),
    ],
)
def test_every_provision_the_question_names_comes_first_in_order_and_is_quoted(session_engine, answerer, question, refs):
    found = session_engine.retrieve(question)
    assert found.refs[: len(refs)] == refs and found.named == refs
    result = ask(answerer, question)
    assert [r["ref"] for r in result["retrieved"][: len(refs)]] == refs
    assert [c["ref"] for c in result["citations"]] == refs


def test_several_named_documents_leave_an_unnamed_reference_undecided(session_engine):
    """Both protocols are named and "article 9" is not said to be either one's: which is meant
    cannot be told, so neither is put first (both have an article 9)."""
    question = "Is article 9 the same in the Trafficking Protocol and the Smuggling Protocol?"
    assert session_engine.named_in(question, "en") == []


def test_a_named_provision_that_does_not_exist_changes_nothing(session_engine):
    question = "What does article 45 of the Protocol say about victims?"
    plain = session_engine.retriever.search(question)
    found = session_engine.retrieve(question)
    assert found.named == []
    assert found.refs == [h.ref for h in plain]


def retrieval(hits: list[tuple[str, float]], text: str = "What do the documents say?", named=()) -> Retrieval:
    """A hand-built retrieval: these hits, in this order."""
    return Retrieval(text, text, "en", [Hit(ref, score) for ref, score in hits], list(named), True, 1.0)


# Units of the shipped corpus none of which contains another.
A, B, C, D, E = "report:16", "report:1", "tip-protocol:5", "untoc:2", "som-protocol:2"


def test_quoted_units_are_the_best_and_those_within_the_margin(session_engine, session_settings):
    answerer = Answerer(session_engine, dataclasses.replace(session_settings, quote_margin=0.1, quote_max=3))
    assert answerer.quoted(retrieval([(A, 1.0), (B, 0.95), (C, 0.85), (D, 0.84)])) == [A, B]
    close = [(ref, 1.0) for ref in (A, B, C, D, E)]
    assert answerer.quoted(retrieval(close)) == [A, B, C]  # never more than quote_max
    assert answerer.quoted(retrieval([])) == []


def test_a_list_question_may_quote_up_to_quote_max_list(session_engine, session_settings):
    answerer = Answerer(session_engine, dataclasses.replace(session_settings, quote_margin=0.1, quote_max=2, quote_max_list=4))
    close = [(ref, 1.0) for ref in (A, B, C, D, E)]
    assert answerer.quoted(retrieval(close, "List all the measures for victims")) == [A, B, C, D]
    assert answerer.quoted(retrieval(close, "列出所有措施")) == [A, B, C, D]
    assert answerer.quoted(retrieval(close, "What measures are there for victims?")) == [A, B]


def test_a_unit_of_many_sub_units_is_quoted_by_its_best_scoring_one(session_engine, session_settings):
    answerer = Answerer(session_engine, dataclasses.replace(session_settings, quote_margin=0.1, quote_max=3))
    # paragraph 7 (ten items) and two of its items were retrieved: the better item is quoted, with its
    # lead-in, not all of 7
    hits = [("report:7", 1.0), (A, 0.95), ("report:7(d)", 0.5), ("report:7(c)", 0.6)]
    assert answerer.quoted(retrieval(hits)) == ["report:7(c)", A]
    # a unit of a few sub-units (6(3): four) stays whole, and an ancestor and a descendant of it both
    # close to the top are not quoted beside it
    hits = [("tip-protocol:6(3)", 1.0), ("tip-protocol:6", 0.98), ("tip-protocol:6(3)(a)", 0.97)]
    assert answerer.quoted(retrieval(hits)) == ["tip-protocol:6(3)"]


def test_a_question_naming_provisions_quotes_exactly_those(session_engine, session_settings):
    answerer = Answerer(session_engine, session_settings)
    named = ["report:8(d)", "report:7(c)"]
    hits = [("report:8(d)", 2.0), ("report:7(c)", 2.0), (A, 1.99), (B, 1.98)]
    assert answerer.quoted(retrieval(hits, named=named)) == named


# --- questions that cannot be asked as given --------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", " \n\t  ", "\x00\x01\x7f"])
def test_empty_questions_are_refused(session_engine, question):
    with pytest.raises(QuestionError):
        session_engine.retrieve(question)


def test_huge_question_is_cut_with_a_notice_and_answered_quickly(session_engine):
    question = ("Where should victims be housed? " * 7000)[:200_000]
    assert len(question) == 200_000
    started = time.perf_counter()
    found = session_engine.retrieve(question)
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0
    limit = session_engine.settings.max_question_chars
    assert len(found.notices) == 1 and str(limit) in found.notices[0]
    assert len(found.text) == limit and found.question == question
    assert len(found.hits) >= 10
    assert {"tip-protocol:6(3)(a)", "report:7(c)"} & set(found.refs[:5])


def test_short_question_has_no_notice(session_engine, answerer):
    assert session_engine.retrieve("Who chaired the meeting?").notices == []
    assert ask(answerer, "Who chaired the meeting?")["notice"] is None


# --- cite ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "ref"),
    [
        ("7(c)", "report:7(c)"),
        ("第8段(j)项", "report:8(j)"),
        ("art. 6(3)(d)", "tip-protocol:6(3)(d)"),
        ("Article 3(a)", "tip-protocol:3(a)"),
        ("议定书第17条第1款", "tip-protocol:17(1)"),
        ("article 14, paragraph 1", "tip-protocol:14(1)"),
        ("para. 8 (o)", "report:8(o)"),
        ("paragraph 16", "report:16"),
        ("第 1 段", "report:1"),
        ("para 7 c", "report:7(c)"),
        ("第六条第三款第(四)项", "tip-protocol:6(3)(d)"),
        ("art. 18(15)(f)", "untoc:18(15)(f)"),
    ],
)
def test_cite_resolves_references_in_both_languages(session_engine, sources, query, ref):
    found = session_engine.cite(query)
    assert isinstance(found, UnitRecord)
    record = found.to_json()
    assert set(record) == CITE_KEYS  # no "versions": no shipped document has another language version
    assert record["ref"] == ref
    unit = session_engine.index.by_ref[ref]
    assert record["text"] == unit.text and record["text"] in sources[unit.doc]
    assert record["labels"] == {"en": unit.label_en, "zh": unit.label_zh}
    assert record["labels"]["en"] and record["labels"]["zh"]
    assert record["language"] == unit.lang


def test_cite_labels_are_un_style(session_engine):
    assert session_engine.cite("7(c)").labels == {
        "en": "CTOC/COP/WG.4/2017/4, para. 7 (c)",
        "zh": "CTOC/COP/WG.4/2017/4，第7段(c)项",
    }
    assert session_engine.cite("art. 6(3)(d)").labels == {
        "en": "Trafficking in Persons Protocol, art. 6, para. 3 (d)",
        "zh": "《贩运人口议定书》第6条第3款(d)项",
    }
    assert session_engine.cite("议定书第17条第1款").labels["zh"] == "《贩运人口议定书》第17条第1款"


def test_cite_7c_carries_its_lead_in_and_7d_links_to_the_protocol(session_engine, sources):
    record = session_engine.cite("7(c)").to_json()
    assert record["text"].startswith("(c) 毫不拖延地将受害人安置在安全的收容所")
    assert record["lead_in"] == "7. 工作组建议缔约方会议审议是否采纳以下建议："
    assert session_engine.index.by_ref["report:7"].text.startswith(record["lead_in"])
    assert record["lead_in"] in sources["report"]
    links = session_engine.cite("7(d)").to_json()["links"]
    assert "tip-protocol:6(3)(d)" in [link["ref"] for link in links]
    link = next(link for link in links if link["ref"] == "tip-protocol:6(3)(d)")
    assert link["labels"]["en"] == "Trafficking in Persons Protocol, art. 6, para. 3 (d)"


@pytest.mark.parametrize(
    ("query", "lang", "start"),
    [
        ("7(c)", "en", "(c) Place victims without delay in safe shelters or other appropriate accommodation"),
        ("第8段(j)项", "en", "(j) "),
        ("art. 6(3)(d)", "zh", "(d) 就业、教育和培训机会"),
        ("公约第5条", "zh", "第5条"),
    ],
)
def test_cite_carries_the_units_unofficial_translation_into_the_other_language(session_engine, query, lang, start):
    found = session_engine.cite(query)
    record = found.to_json()
    unit = session_engine.index.by_ref[found.ref]
    rendering = session_engine.index.renderings[found.ref]
    assert record["language"] == unit.lang != lang
    [translation] = record["translations"]  # no official version in the shipped corpus: the rendering alone
    assert translation == {"lang": lang, "text": rendering.text, "official": False, "source": rendering.provenance}
    assert translation["text"].startswith(start) and translation["text"] != unit.text
    assert "unofficial" in translation["source"]
    assert record["text"] == unit.text  # the verbatim text is the official one, never the rendering


def test_a_parents_translation_renders_its_sub_units_too(session_engine):
    """A paragraph with items: its rendering is its own words followed by its items' renderings."""
    renderings = session_engine.index.renderings
    [translation] = session_engine.cite("para. 7").translations
    assert translation.text.startswith(renderings["report:7"].own)
    for item in ("report:7(c)", "report:7(d)"):
        assert renderings[item].text in translation.text


def test_cite_of_a_list_of_references_is_named_units(session_engine):
    found = session_engine.cite("paras. 7 (c) and 8 (d)")
    assert isinstance(found, NamedUnits)
    record = found.to_json()
    assert set(record) == {"query", "labels", "units"}
    assert [u["ref"] for u in record["units"]] == ["report:7(c)", "report:8(d)"]
    assert all(set(u) == CITE_KEYS and u["translations"] for u in record["units"])


@pytest.mark.parametrize(
    ("query", "doc"),
    [("99(z)", "report"), ("article 45", "tip-protocol"), ("第50条", "tip-protocol")],
)
def test_cite_unknown_reference_raises_with_existing_suggestions(session_engine, query, doc):
    with pytest.raises(UnknownReference) as caught:
        session_engine.cite(query)
    suggestions = caught.value.suggestions
    assert suggestions
    assert all(s in session_engine.index.by_ref for s in suggestions)
    assert all(s.startswith(f"{doc}:") for s in suggestions)
    assert suggestions[0] in str(caught.value)


def test_cite_phrase_returns_matching_units_best_first(session_engine, sources):
    found = session_engine.cite("免费法律代理")
    assert isinstance(found, PhraseMatches)
    result = found.to_json()
    assert set(result) == {"query", "matches"}
    assert result["query"] == "免费法律代理"
    matches = result["matches"]
    assert matches and matches[0]["ref"] == "report:8(j)"
    assert "免费法律代理" in matches[0]["text"]
    for match in matches:
        unit = session_engine.index.by_ref[match["ref"]]
        assert match["text"] == unit.text and match["text"] in sources[unit.doc]


def test_cite_of_an_empty_query_is_refused(session_engine):
    with pytest.raises(QuestionError):
        session_engine.cite("  ")
