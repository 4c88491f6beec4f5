"""The treaty parser on the shipped English treaties, on a Chinese treaty excerpt, and on broken treaties.

tests/fixtures/treaty_zh_excerpt.txt is a synthetic, abridged text written for these tests in
the layout of a UN Chinese treaty text (第一条 / 第 6 条 with a heading line, 第二条　宗旨 with
the heading on the article line, 1. and 一、 paragraphs, (a) and （b） subparagraphs, (i) and
（ii） sub-subparagraphs, 第二章 chapters, a closing 下列签署人 line). It is not an authentic text.
"""

from __future__ import annotations

import shutil

import pytest

from ingest.labels import split_pinpoint
from ingest.numerals import cn_number
from ingest.parse import parse_document
from ingest.readers import blocks, read_text
from ingest.treaty_articles import parse_treaty
from ingest.units import Document, IngestError

ART6_HEADING = "Assistance to and protection of victims of trafficking in persons"
CHAPTER_II = "II Protection of victims of trafficking in persons"


def by_pin(units):
    return {u.pinpoint: u for u in units}


@pytest.fixture(scope="module")
def tip(corpus_units):
    return by_pin(corpus_units["tip-protocol"])


@pytest.fixture(scope="module")
def untoc(corpus_units):
    return by_pin(corpus_units["untoc"])


@pytest.fixture(scope="module")
def som(corpus_units):
    return by_pin(corpus_units["som-protocol"])


# --- Trafficking in Persons Protocol -----------------------------------------------------


def test_protocol_has_preamble_and_articles_1_to_20(corpus_units):
    top = [u.pinpoint for u in corpus_units["tip-protocol"] if u.parent is None]
    assert top == ["preamble"] + [str(n) for n in range(1, 21)]


@pytest.mark.parametrize("pin", ["3(a)", "6(3)(d)", "12(a)", "12(b)", "13", "5(2)(c)", "20(2)"])
def test_protocol_pinpoints_exist(tip, pin):
    assert pin in tip


def test_protocol_paragraph_counts_match_the_source(corpus_units):
    """SOURCES.md lists the paragraphs per article; articles 2, 3, 4, 12, 13 have none."""
    expected = {1: 3, 5: 2, 6: 6, 7: 2, 8: 6, 9: 5, 10: 3, 11: 6, 14: 2, 15: 4, 16: 4, 17: 2, 18: 5, 19: 2, 20: 2}
    units = corpus_units["tip-protocol"]
    for article in range(1, 21):
        paras = [u for u in units if u.parent == f"tip-protocol:{article}" and split_pinpoint(u.pinpoint)[1][0].isdigit()]
        assert len(paras) == expected.get(article, 0), article


def test_subparagraph_lead_in_heading_and_chapter(tip, corpus_dir):
    unit = tip["6(3)(d)"]
    source = read_text(corpus_dir / "tip_protocol_en.txt")
    para = tip["6(3)"]
    assert unit.parent == "tip-protocol:6(3)"
    assert unit.lead_in == source[para.start : tip["6(3)(a)"].start].rstrip()  # own text before the first child
    assert unit.lead_in.startswith("3. Each State Party shall consider implementing measures to provide for the physical")
    assert unit.lead_in.endswith("in particular, the provision of:")
    assert "a) Appropriate housing" not in unit.lead_in
    assert unit.text == "d) Employment, educational and training opportunities."
    assert unit.heading == ART6_HEADING
    assert unit.section == CHAPTER_II
    assert tip["6"].section == CHAPTER_II
    assert tip["1(1)"].section == "I General Provisions"
    assert tip["20(1)"].section == "IV Final provisions"


def test_article_without_paragraphs_gets_letters_directly(tip):
    assert tip["3(a)"].parent == "tip-protocol:3"
    assert tip["3(a)"].lead_in == "Article 3\nUse of terms\nFor the purposes of this Protocol:"
    assert tip["3(a)"].text.startswith('a) "Trafficking in persons" shall mean the recruitment')
    assert tip["12(b)"].heading == "Security and control of documents"
    assert tip["13"].children == ()
    assert tip["13"].text.startswith("Article 13\nLegitimacy and validity of documents\n")


def test_closing_line_is_in_no_unit(corpus_units, tip):
    for unit in corpus_units["tip-protocol"]:
        assert "IN WITNESS WHEREOF" not in unit.text
    assert tip["20"].text.endswith("shall be deposited with the Secretary-General of the United Nations.")


def test_preamble_stops_before_the_first_chapter(tip):
    pre = tip["preamble"]
    assert pre.text.startswith("Preamble\nThe States Parties to this Protocol,")
    assert pre.text.endswith("Have agreed as follows:")
    assert "General Provisions" not in pre.text


def test_protocol_links_to_the_convention_and_within_itself(tip):
    assert tip["11(6)"].links == ("untoc:27",)
    assert tip["5(2)(a)"].links == ("tip-protocol:5(1)",)
    assert tip["1(3)"].links == ("tip-protocol:5",)


@pytest.mark.parametrize("key", ["tip-protocol", "som-protocol", "untoc"])
def test_treaty_units_are_verbatim_unique_and_nested(corpus_units, corpus_dir, manifest_docs, key):
    doc = next(d for d in manifest_docs if d.key == key)
    source = read_text(corpus_dir / doc.file)
    units = corpus_units[key]
    pins = [u.pinpoint for u in units]
    assert len(pins) == len(set(pins))
    spans = by_pin(units)
    for unit in units:
        assert unit.text == source[unit.start : unit.end]
        if unit.parent:
            parent = spans[unit.parent.split(":", 1)[1]]
            assert parent.start <= unit.start and unit.end <= parent.end
            assert unit.ref in parent.children


# --- UNTOC and the Smuggling of Migrants Protocol ----------------------------------------


def test_untoc_2_i_is_a_letter_after_h(untoc, corpus_units):
    assert untoc["2(i)"].parent == "untoc:2"
    pins = [u.pinpoint for u in corpus_units["untoc"]]
    assert pins.index("2(h)") < pins.index("2(i)") < pins.index("2(j)")
    assert "2(h)(i)" not in untoc
    assert untoc["2(i)"].text.startswith("i) ")
    assert untoc["18(3)(i)"].parent == "untoc:18(3)"


def test_untoc_5_1_a_has_roman_sub_subparagraphs(untoc):
    assert untoc["5(1)(a)(i)"].parent == "untoc:5(1)(a)"
    assert untoc["5(1)(a)(ii)"].parent == "untoc:5(1)(a)"
    assert untoc["5(1)(a)"].children == ("untoc:5(1)(a)(i)", "untoc:5(1)(a)(ii)")
    assert "5(1)(i)" not in untoc
    assert untoc["5(1)(b)"].parent == "untoc:5(1)"
    assert untoc["5(1)(a)(ii)"].lead_in == untoc["5(1)(a)"].text.split("\n")[0]


def test_untoc_has_41_articles(corpus_units):
    top = [u.pinpoint for u in corpus_units["untoc"] if u.parent is None]
    assert top == [str(n) for n in range(1, 42)]


def test_som_3_c_roman_items(som):
    for numeral in ("i", "ii", "iii"):
        assert som[f"3(c)({numeral})"].parent == "som-protocol:3(c)"
    assert som["3(d)"].parent == "som-protocol:3"
    assert "preamble" in som  # the Dutch-export "Preambule" label


# --- a Chinese treaty text ---------------------------------------------------------------

TIP_ZH = Document(
    key="tip-protocol-zh", symbol="A/RES/55/25, annex II", kind="treaty", language="zh",
    file="treaty_zh_excerpt.txt", title_en="Trafficking in Persons Protocol (test excerpt)",
    title_zh="贩运人口议定书（测试节选）", short_en="Trafficking in Persons Protocol", short_zh="贩运人口议定书",
    aliases=("本议定书",),
)

ZH_EXPECTED = [
    "preamble", "1", "1(1)", "1(2)", "1(3)", "2", "2(a)", "2(b)", "2(c)", "3", "3(a)", "3(b)", "3(c)", "4",
    "5", "5(1)", "5(2)", "5(2)(a)", "5(2)(b)", "5(2)(c)",
    "6", "6(1)", "6(2)", "6(2)(a)", "6(2)(b)", "6(2)(b)(i)", "6(2)(b)(ii)",
    "6(3)", "6(3)(a)", "6(3)(b)", "6(3)(c)", "6(3)(d)", "6(4)", "7",
]


@pytest.fixture(scope="module")
def zh(tmp_path_factory, fixtures_dir, corpus_dir, manifest_docs):
    corpus = tmp_path_factory.mktemp("corpus_zh")
    shutil.copy(fixtures_dir / TIP_ZH.file, corpus / TIP_ZH.file)
    untoc_doc = next(d for d in manifest_docs if d.key == "untoc")
    shutil.copy(corpus_dir / untoc_doc.file, corpus / untoc_doc.file)
    units = parse_document(TIP_ZH, corpus, [TIP_ZH, untoc_doc])
    return units, read_text(corpus / TIP_ZH.file)


def test_chinese_treaty_pinpoints(zh):
    units, _ = zh
    assert [u.pinpoint for u in units] == ZH_EXPECTED


def test_chinese_treaty_labels(zh):
    units = by_pin(zh[0])
    assert units["6(3)(d)"].label_zh == "《贩运人口议定书》第6条第3款(d)项"
    assert units["6(3)(d)"].label_en == "Trafficking in Persons Protocol, art. 6, para. 3 (d)"
    assert units["5(1)"].label_zh == "《贩运人口议定书》第5条第1款"
    assert units["2(b)"].label_zh == "《贩运人口议定书》第2条(b)项"
    assert units["6(2)(b)(ii)"].label_zh == "《贩运人口议定书》第6条第2款(b)项第(ii)目"
    assert units["preamble"].label_zh == "《贩运人口议定书》序言"


def test_chinese_markers_full_width_and_chinese_numerals(zh):
    units = by_pin(zh[0])
    assert units["5(1)"].text.startswith("一、各缔约国均应采取必要的立法")
    assert units["5(2)"].text.startswith("二、各缔约国还应采取")
    assert units["2(b)"].text.startswith("（b） 在充分尊重受害人人权")
    assert units["6(2)(b)(ii)"].text == "（ii） 不损害被害人的安全。"
    assert units["6(2)(b)(i)"].parent == "tip-protocol-zh:6(2)(b)"
    assert units["6(2)(b)"].children == ("tip-protocol-zh:6(2)(b)(i)", "tip-protocol-zh:6(2)(b)(ii)")
    assert units["6"].text.startswith("第 6 条\n对贩运人口活动被害人的帮助和保护\n1. ")


def test_chinese_headings_lead_ins_and_chapters(zh):
    units = by_pin(zh[0])
    d = units["6(3)(d)"]
    assert d.heading == "对贩运人口活动被害人的帮助和保护"
    assert d.lead_in == "3. 各缔约国均应考虑采取措施，使贩运人口活动被害人在身心和社会方面得到康复，特别是提供："
    assert d.section.startswith("二") and "对贩运人口活动被害人的保护" in d.section
    assert units["1(1)"].section.startswith("一") and "总则" in units["1(1)"].section
    assert units["1(1)"].heading == "与《联合国打击跨国有组织犯罪公约》的关系"
    assert units["3(a)"].heading == "术语的使用"
    assert units["3(a)"].lead_in == "第三条\n术语的使用\n在本议定书中："
    # "第二条　宗旨": heading on the article line itself
    assert units["2(a)"].heading == "宗旨"
    assert units["2(c)"].heading == "宗旨"


def test_chinese_treaty_verbatim_and_closing_line(zh):
    units, source = zh
    for unit in units:
        assert unit.text == source[unit.start : unit.end]
        assert "下列签署人" not in unit.text
    last = by_pin(units)["7"]
    assert last.text.endswith("此种措施应符合《公约》第 27 条的规定。")


def test_chinese_treaty_links(zh):
    units = by_pin(zh[0])
    assert units["1(3)"].links == ("tip-protocol-zh:5",)  # 本议定书第 5 条
    assert units["5(1)"].links == ("tip-protocol-zh:3",)
    assert units["7"].links == ("untoc:27",)  # 《公约》第 27 条


# --- broken treaties -------------------------------------------------------------------


def parse(text: str, file: str = "bad_treaty.txt"):
    return parse_treaty(blocks(text), file)


def test_duplicated_article_number_names_the_line():
    with pytest.raises(IngestError) as err:
        parse("Title\nArticle 1\nScope\nText.\nArticle 2\nTerms\nText.\nArticle 2\nAgain\nText.\n")
    assert err.value.line == 8 and err.value.file == "bad_treaty.txt"
    assert "bad_treaty.txt, line 8" in str(err.value) and "appears twice" in str(err.value)


def test_skipped_article_number_names_the_line():
    with pytest.raises(IngestError) as err:
        parse("Title\n\nArticle 1\nScope\nText.\n\nArticle 3\nTerms\nText.\n")
    assert err.value.line == 7
    assert "skips" in str(err.value) and "expected article 2" in str(err.value)


def test_chinese_duplicated_and_skipped_articles():
    with pytest.raises(IngestError) as err:
        parse("标题\n第一条\n宗旨\n正文。\n第一条\n宗旨\n正文。\n")
    assert err.value.line == 5
    with pytest.raises(IngestError) as err:
        parse("标题\n第一条\n宗旨\n正文。\n第 3 条\n宗旨\n正文。\n")
    assert err.value.line == 5


def test_first_article_must_be_1():
    with pytest.raises(IngestError) as err:
        parse("Title\nArticle 2\nScope\n")
    assert err.value.line == 2


def test_paragraph_out_of_sequence_names_the_line():
    with pytest.raises(IngestError) as err:
        parse("T\nArticle 1\nH\n1. One.\n3. Three.\n")
    assert err.value.line == 5 and "expected 2" in str(err.value)
    with pytest.raises(IngestError) as err:
        parse("标题\n第一条\n宗旨\n一、甲。\n三、丙。\n")
    assert err.value.line == 5


def test_malformed_chinese_numeral_is_an_ingest_error():
    with pytest.raises(IngestError) as err:
        parse("标题\n第一条\n宗旨\n正文。\n第一一条\n宗旨\n")
    assert err.value.line == 5 and "一一" in str(err.value)
    with pytest.raises(IngestError):
        parse("标题\n第一条\n宗旨\n一二、正文。\n")
    with pytest.raises(IngestError):
        parse("标题\n第一百条\n")


def test_repeated_subparagraph_letter_is_an_error():
    """Two units with one ref would make a citation ambiguous."""
    with pytest.raises(IngestError) as err:
        parse("T\nArticle 1\nH\n1. Lead:\n(a) one;\n(b) two;\n(b) two again.\n")
    assert err.value.line == 7 and "1(1)(b)" in str(err.value)


def test_preamble_twice_or_after_the_articles_is_an_error():
    with pytest.raises(IngestError) as err:
        parse("T\nPreamble\nRecital,\nPreamble\nArticle 1\nH\nText.\n")
    assert err.value.line == 4
    with pytest.raises(IngestError) as err:
        parse("T\nArticle 1\nH\nText.\n序言\n(a) x;\n")
    assert err.value.line == 5


def test_no_articles_is_an_error():
    with pytest.raises(IngestError, match="no articles"):
        parse("Just a title\nSome words.\n")
    with pytest.raises(IngestError):
        parse("")


@pytest.mark.parametrize(
    ("text", "value"),
    [("6", 6), ("６", 6), ("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("四十一", 41), ("两", 2),
     ("一百", 100), ("一百零五", 105), ("一百一十", 110), ("三百四十五", 345)],
)
def test_cn_number(text, value):
    assert cn_number(text) == value


@pytest.mark.parametrize("text", ["", "十十", "五五", "百", "零五", "x", "一千"])
def test_cn_number_refuses_what_is_not_a_numeral(text):
    with pytest.raises(ValueError):
        cn_number(text)
