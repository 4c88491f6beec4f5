"""ingest.grammar: numerals both ways, the markers and references in both languages, document names."""

from __future__ import annotations

import pytest

from ingest import grammar as g
from ingest.units import Document

# ---------------------------------------------------------------- numerals


@pytest.mark.parametrize(
    ("numeral", "value"),
    [("一", 1), ("十", 10), ("十一", 11), ("二十三", 23), ("一百", 100), ("一百零五", 105), ("一百一十", 110),
     ("九百九十九", 999), ("零", 0)],
)
def test_chinese_numerals_both_ways(numeral, value):
    assert g.cn_number(numeral) == value
    assert g.cn_numeral(value) == numeral


def test_every_chinese_numeral_written_is_read_back():
    assert all(g.cn_number(g.cn_numeral(n)) == n for n in range(1000))
    assert g.cn_number("两百") == 200 and g.cn_number("１７") == 17  # 两 and full-width digits are read too
    with pytest.raises(ValueError):
        g.cn_numeral(1000)


@pytest.mark.parametrize(("numeral", "value"), [("i", 1), ("iv", 4), ("ix", 9), ("xiv", 14), ("xx", 20), ("xlix", 49)])
def test_roman_numerals_both_ways(numeral, value):
    assert g.roman_value(numeral) == value
    assert g.roman_numeral(value) == numeral


def test_roman_items_run_from_i_to_xx():
    assert all(g.roman_value(g.roman_numeral(n)) == n for n in range(1, 400))
    assert g.ROMAN_ITEMS[:4] == ("i", "ii", "iii", "iv") and g.ROMAN_ITEMS[-1] == "xx"
    assert g.roman_item(4) == "iv" and g.roman_item(0) is None and g.roman_item(21) is None
    assert g.is_roman("xiv") and not g.is_roman("d")


def test_letters_run_a_to_z_then_doubled():
    letters = [g.letter_item(i) for i in range(30)]
    assert letters[:3] == ["a", "b", "c"] and letters[25:28] == ["z", "aa", "bb"]
    assert all(g.next_letter(a) == b for a, b in zip(letters, letters[1:], strict=False))


# ---------------------------------------------------------------- line markers: how a document numbers itself


def test_a_report_numbers_paragraphs_and_letters_items_in_either_language():
    assert g.REPORT_PARAGRAPH.match("7. 工作组建议：")[1] == "7"
    assert g.REPORT_PARAGRAPH.match("12．The Working Group")[1] == "12"
    assert not g.REPORT_PARAGRAPH.match("7.")  # a number with no text is no paragraph
    assert g.REPORT_ITEM.match("(c) 毫不拖延地")[1] == "c" and g.REPORT_ITEM.match("（aa）项")[1] == "aa"
    assert not g.REPORT_ITEM.match("c) a treaty's style")
    assert all(g.REPORT_HEADING.match(h) for h in ("一. 导言", "二、建议", "II. Recommendations", "A. Proceedings"))


def test_a_treaty_numbers_articles_paragraphs_and_items_in_either_language():
    assert g.ARTICLE_HEADING.match("Article 6").groups() == ("6", None, "")
    assert g.ARTICLE_HEADING.match("第二条　宗旨").groups() == (None, "二", "宗旨")
    assert g.ARTICLE_HEADING.match("第 17 条").group(2) == "17"
    paragraphs = [g.TREATY_PARAGRAPH.match(line) for line in ("3. Each State Party", "三、各缔约国", "第三款 各缔约国")]
    assert [next(x for x in m.groups() if x) for m in paragraphs] == ["3", "三", "三"]
    assert [g.TREATY_LETTER.match(x).group(1) or g.TREATY_LETTER.match(x).group(2) for x in ("(d) The", "（d）向", "d) The")] == ["d"] * 3
    assert g.TREATY_ROMAN.match("(ii) Lists")[1] == "ii"
    assert g.CHAPTER_HEADING.match("第二章 保护贩运人口活动被害人").group(3) == "二"
    assert g.CHAPTER_HEADING.match("Chapter II").group(2) == "II"
    assert g.PREAMBLE_HEADING.match("序言") and g.PREAMBLE_HEADING.match("Preamble")
    assert g.CLOSING_LINE.match("IN WITNESS WHEREOF, the undersigned") and g.CLOSING_LINE.match("下列签署人")


# ---------------------------------------------------------------- references


def test_mentions_in_a_documents_own_text():
    zh = g.ZH_MENTION.search("依据国内法并按照《议定书》第 6 条第 3 款(d)项考虑")
    assert (zh["name"], zh["art"], zh["para"], zh["sub"]) == ("议定书", "6", "3", "d")
    assert g.ZH_MENTION.search("依照《公约》第二十七条")["art"] == "二十七"
    en = g.EN_MENTION.search("under article 6, paragraph 3 (d), of the Trafficking in Persons Protocol")
    assert (en["arts"], en["para"], en["sub"], en["name"]) == ("6", "3", "d", "the Trafficking in Persons Protocol")
    assert g.EN_MENTION.search("articles 27 and 28 of the Convention")["arts"] == "27 and 28"
    assert g.EN_PARAGRAPH_OF_THIS_ARTICLE.search("in accordance with paragraph 1 of this article")["para"] == "1"


def test_typed_references_in_both_languages():
    en = g.EN_ARTICLE_REF.search("art. 6(3)(d)")
    assert (en["art"], en["chain"]) == ("6", "(3)(d)")
    assert g.EN_ARTICLE_REF.search("article 14, paragraph 1")["para"] == "1"
    assert g.EN_REVERSED_REF.search("subparagraph (d) of paragraph 3 of article 6").group("sub", "para", "art") == ("(d)", "3", "6")
    assert g.EN_PARAGRAPH_REF.search("para. 8 (o)").group("num", "chain") == ("8", " (o)")
    zh = g.ZH_ARTICLE_REF.search("第6条第3款(d)项")
    assert (zh["art"], zh["para"], zh["items"]) == ("6", "3", "(d)项")
    assert g.ZH_PARAGRAPH_REF.search("第8段(j)项").group("n1", "items") == ("8", "(j)项")
    assert g.BARE_PINPOINT.search("7(c)")["num"] == "7"
    assert not g.BARE_PINPOINT.search("wg.4/2017/4")  # a symbol's numbers are not a pinpoint
    assert not g.EN_PARAGRAPH_REF.search("paragraph 2017")  # four digits: a year


def test_several_references_at_once():
    m = g.RANGE.match("para. 7 (c)-(e)")
    assert m.group("head", "first", "sep", "last") == ("para. 7 ", "(c)", "-", "(e)")
    assert g.RANGE.match("第7至9段").group("first", "sep", "last") == ("7", "至", "9")
    assert g.PLURAL_UNIT_WORD.sub(lambda m: f"{m[1]}." if m[1] else m[2], "paras. 7 and articles 6") == "para. 7 and article 6"


# ---------------------------------------------------------------- document names


def _doc(key: str, short_en: str, short_zh: str, *aliases: str, symbol: str = "") -> Document:
    return Document(key=key, symbol=symbol or f"S/{key}", kind="treaty", language="en", file=f"{key}.txt", title_en=short_en,
                    title_zh=short_zh, short_en=short_en, short_zh=short_zh, aliases=aliases)


DOCS = [
    _doc("tip-protocol", "Trafficking in Persons Protocol", "贩运人口议定书", "the Protocol", "议定书", symbol="A/RES/55/25, annex II"),
    _doc("som-protocol", "Smuggling of Migrants Protocol", "偷运移民议定书", "Smuggling Protocol", symbol="A/RES/55/25, annex III"),
    _doc("untoc", "Organized Crime Convention", "有组织犯罪公约", "the Convention", "公约"),
]


@pytest.mark.parametrize(
    ("name", "key"),
    [("the Protocol", "tip-protocol"), ("议定书", "tip-protocol"), ("偷运移民议定书", "som-protocol"),
     ("the Smuggling of Migrants Protocol", "som-protocol"), ("Convention", "untoc"), ("有组织犯罪公约", "untoc"),
     ("untoc", "untoc"), ("Geneva Accord", None)],
)
def test_a_name_means_the_document_whose_longest_alias_it_holds(name, key):
    assert g.resolve_alias(name, DOCS) == key


def test_document_names_are_key_short_names_and_aliases():
    assert g.document_names(DOCS[0]) == ("tip-protocol", "Trafficking in Persons Protocol", "贩运人口议定书", "the Protocol", "议定书")


def test_a_longer_name_claims_its_span_before_a_shorter_one_inside_it():
    names = g.NameMatcher([("议定书", "tip-protocol"), ("偷运移民议定书", "som-protocol"), ("有组织犯罪公约", "untoc")])
    spans = names.spans("偷运移民议定书和议定书")
    assert [(s.start, s.end, s.keys) for s in spans] == [(0, 7, ("som-protocol",)), (8, 11, ("tip-protocol",))]
    assert names.contained("另一项议定书") == ["议定书"] and names.longest("另一项议定书") == "tip-protocol"
    assert names.longest("公约") is None


def test_titles_a_question_writes_known_or_not():
    assert g.ZH_INSTRUMENT_TITLE.search("《儿童权利公约》对童工有什么规定？")[1] == "儿童权利公约"
    assert g.EN_INSTRUMENT_TITLE.search("What does the Firearms Protocol require?")[1] == "Firearms Protocol"
    title = g.EN_INSTRUMENT_TITLE.search("Both the Protocol and the working group talk about language")[1]
    assert g.SENTENCE_OPENER.sub("", title) == "the Protocol"  # "Both" opens the sentence, not the title


def test_a_name_shared_by_documents_names_them_all():
    names = g.NameMatcher([("protocol", "tip-protocol"), ("protocol", "som-protocol"), ("", "untoc")])
    assert [s.keys for s in names.spans("the protocol")] == [("tip-protocol", "som-protocol")]
    assert names.names == ["protocol"]  # an empty name is no name


def test_where_a_name_counts():
    symbols = g.NameMatcher((d.symbol.lower(), d.key) for d in DOCS[:2])
    assert next(symbols.spans("a/res/55/25, annex iii, art. 6", g.standalone)).keys == ("som-protocol",)
    assert next(symbols.spans("a/res/55/25, annex ii, art. 6", g.standalone)).keys == ("tip-protocol",)
    cues = g.NameMatcher([("recommend", "report")])
    assert list(cues.spans(" what did they recommended? ", g.word_start))  # a cue is a prefix
    assert not list(cues.spans(" unrecommend ", g.word_start))  # but begins a word


def test_symbols_in_finds_un_symbols_and_not_words_with_a_slash():
    text = "See EGM/2019/1 and/or A/RES/55/25, annex II, and E/CN.15/2019/L.1/Add.1 (not ABC/DEF)."
    assert [m.group(0) for m in g.symbols_in(text)] == ["EGM/2019/1", "A/RES/55/25", "E/CN.15/2019/L.1/Add.1"]
