"""The report parser on the shipped Chinese report (CTOC/COP/WG.4/2017/4) and on broken reports."""

from __future__ import annotations

import pytest

from ingest.readers import blocks, read_text
from ingest.un_paragraphs import parse_report
from ingest.units import IngestError

REPORT_FILE = "report_CTOC-COP-WG.4-2017-4_zh.txt"
LETTERS = "abcdefghijklmnopqrstuvwxyz"


def expected_report_pinpoints() -> list[str]:
    subs = {7: 10, 8: 15, 31: 3}  # 7(a)-(j), 8(a)-(o), 31(a)-(c)
    out = []
    for n in range(1, 33):
        out.append(str(n))
        out.extend(f"{n}({c})" for c in LETTERS[: subs.get(n, 0)])
    return out


@pytest.fixture(scope="module")
def report(corpus_units):
    return {u.pinpoint: u for u in corpus_units["report"]}


@pytest.fixture(scope="module")
def report_source(corpus_dir) -> str:
    return (corpus_dir / REPORT_FILE).read_text(encoding="utf-8")


def parse(text: str, file: str = "bad_report.txt"):
    return parse_report(blocks(text), file)


# --- the shipped report -------------------------------------------------------------


def test_report_has_paragraphs_1_to_32_and_the_lettered_sub_items_in_order(corpus_units):
    pins = [u.pinpoint for u in corpus_units["report"]]
    assert len(pins) == 60
    assert pins == expected_report_pinpoints()


def test_report_title_is_the_text_before_the_first_heading(corpus_dir):
    title, _ = parse_report(blocks(read_text(corpus_dir / REPORT_FILE)), REPORT_FILE)
    assert title == "贩运人口问题工作组 2017 年 9 月 6 日至 8 日在维也纳举行的会议报告"


def test_para_24_holds_the_whole_agenda_and_has_no_sub_units(report, corpus_units):
    para = report["24"]
    for item in ("1. 组织事项", "(a) 会议开幕；", "(b) 通过议程和工作安排。", "4. 其他事项。", "5. 通过报告。"):
        assert item in para.text
    assert para.text.startswith("24. 工作组在 2017 年 9 月 6 日的第一次会议上")
    assert para.text.endswith("5. 通过报告。")
    assert para.children == ()
    assert not [u for u in corpus_units["report"] if u.parent == "report:24"]
    assert "24(a)" not in report and "24(b)" not in report
    # the agenda's "1." ... "5." did not shift the numbering: the next paragraph is 25
    assert report["25"].text.startswith("25. 《贩运人口议定书》的下列缔约国")


def test_sub_item_lead_in_is_the_parent_paragraph_own_text(report):
    assert report["7(c)"].lead_in == "7. 工作组建议缔约方会议审议是否采纳以下建议："
    assert report["8(o)"].lead_in == "8. 工作组建议缔约方会议审议是否采纳以下建议："
    assert report["31(a)"].lead_in == "31. 工作组收到了下列文件："
    assert report["7"].lead_in == ""


def test_every_unit_is_a_verbatim_span_of_the_source(corpus_units, report_source):
    for unit in corpus_units["report"]:
        assert unit.text == report_source[unit.start : unit.end], unit.pinpoint
        assert unit.text == unit.text.strip()
        first_line = report_source.split("\n")[unit.line - 1]
        assert unit.text.startswith(first_line.strip()), unit.pinpoint


def test_paragraph_spans_cover_their_sub_items_and_stop_before_the_next_heading(report):
    para7 = report["7"]
    assert para7.start == report["7(a)"].start - len("7. 工作组建议缔约方会议审议是否采纳以下建议：\n")
    assert para7.end == report["7(j)"].end
    assert "B. 侧重于" not in para7.text
    assert report["8"].end == report["8(o)"].end
    assert "三. 审议情况概要" not in report["8"].text
    assert report["7(c)"].text == "(c) 毫不拖延地将受害人安置在安全的收容所或其他适当住处，除非实际情况表明这样做可能会影响受害人的防护和安全；"
    assert report["32"].text == "32. 工作组于 2017 年 9 月 8 日通过了本会议报告（CTOC/COP/WG.4/2017/L.1）。"


def test_children_and_parents(report):
    assert report["7"].children == tuple(f"report:7({c})" for c in "abcdefghij")
    assert report["31"].children == ("report:31(a)", "report:31(b)", "report:31(c)")
    assert report["8(k)"].parent == "report:8"
    assert report["6"].parent is None and report["6"].children == ()


def test_section_metadata_comes_from_the_headings(report):
    assert "一般性建议" in report["7"].section
    assert report["7"].section == "二. 建议 / A. 一般性建议"
    assert report["7(d)"].section == report["7"].section
    assert report["1"].section == "一. 导言"
    assert report["6"].section == "二. 建议"
    assert report["8"].section.startswith("二. 建议 / B. 侧重于处理不同群体")
    # a new chapter drops the previous chapter's sub-heading
    assert report["9"].section == "三. 审议情况概要"
    assert report["24"].section == "四. 会议安排 / C. 通过议程和工作安排"
    assert report["32"].section == "五. 通过报告"


def test_double_space_after_the_number_is_still_a_paragraph(report):
    assert report["18"].text.startswith("18.  在议程项目 1、2、3 下")


def test_report_cross_reference_to_the_protocol(report):
    assert report["7(d)"].links == ("tip-protocol:6(3)(d)",)
    assert report["7(c)"].links == ()
    # "第 4/4 号决定", "第三和第四次会议" are not article references
    assert report["1"].links == () and report["9"].links == ()


def test_report_units_metadata(report):
    unit = report["7(c)"]
    assert unit.doc == "report" and unit.lang == "zh" and unit.ref == "report:7(c)"
    assert unit.tokens > 0 and len(unit.sha) == 16
    assert len({u.sha for u in report.values()}) == len(report)


# --- broken reports -----------------------------------------------------------------

GOOD_START = "会议报告\n一. 导言\n1. 第一段。\n2. 第二段：\n(a) 甲；\n(b) 乙。\n"


def test_a_well_formed_inline_report_parses():
    title, units = parse(GOOD_START + "3. 第三段。\n")
    assert title == "会议报告"
    assert [u.pinpoint for u in units] == ["1", "2", "2(a)", "2(b)", "3"]


def test_skipped_paragraph_number_names_the_line():
    with pytest.raises(IngestError) as err:
        parse("Title\n1. One.\n2. Two.\n4. Four.\n5. Five.\n")
    assert err.value.line == 4
    assert err.value.file == "bad_report.txt"
    assert "bad_report.txt, line 4" in str(err.value)
    assert "skips" in str(err.value) and "expected 3" in str(err.value)


def test_repeated_paragraph_number_names_the_line():
    with pytest.raises(IngestError) as err:
        parse("Title\n\n1. One.\n2. Two.\n(a) sub;\n2. Two again.\n")
    assert err.value.line == 6
    assert "repeats" in str(err.value)


def test_sub_item_out_of_sequence_names_the_line():
    with pytest.raises(IngestError) as err:
        parse(GOOD_START + "3. 第三段：\n(a) 甲；\n(c) 丙。\n")
    assert err.value.line == 9
    assert "(c)" in str(err.value) and "expected (b)" in str(err.value)


def test_sub_items_restart_at_a_for_each_paragraph():
    with pytest.raises(IngestError) as err:
        parse("T\n1. x:\n(a) a;\n(b) b.\n2. y:\n(c) c.\n")
    assert err.value.line == 6


def test_first_paragraph_must_be_1():
    with pytest.raises(IngestError) as err:
        parse("3. Starts at three.\n4. Four.\n")
    assert err.value.line == 1
    assert "expected 1" in str(err.value)


def test_no_paragraphs_is_an_error():
    with pytest.raises(IngestError, match="no numbered paragraphs"):
        parse("Just a title\nI. Introduction\nSome text without numbers.\n")
    with pytest.raises(IngestError):
        parse("")


def test_a_restart_at_1_without_a_colon_lead_in_is_a_repeat_not_an_inner_list():
    with pytest.raises(IngestError) as err:
        parse("T\n1. One.\n2. Two.\n1. Not a list: the previous line has no colon.\n")
    assert err.value.line == 4


def test_inner_list_may_use_full_width_colon_and_must_run_in_order():
    text = "T\n1. 一。\n2. 二。\n3. 议程如下：\n1. 开幕\n2. 通过议程\n4. 第四段。\n"
    _, units = parse(text)
    assert [u.pinpoint for u in units] == ["1", "2", "3", "4"]
    assert text[units[2].start : units[2].end] == "3. 议程如下：\n1. 开幕\n2. 通过议程"
    with pytest.raises(IngestError) as err:
        parse("T\n1. 一。\n2. 二。\n3. 议程如下：\n1. 开幕\n3. 跳号\n")
    assert err.value.line == 6


@pytest.mark.xfail(strict=True, reason="known ambiguity: inside para. n, an inner list item n+1 reads as para. n+1")
def test_inner_list_item_equal_to_the_next_paragraph_number():
    _, units = parse("T\n1. The agenda:\n1. Opening\n2. Adoption\n2. Second paragraph.\n")
    assert [u.pinpoint for u in units] == ["1", "2"]


def test_sub_items_after_z_continue_with_aa():
    letters = list(LETTERS) + ["aa", "bb"]
    text = "T\n1. List:\n" + "".join(f"({c}) item {c};\n" for c in letters)
    _, units = parse(text)
    assert [u.pinpoint for u in units][-3:] == ["1(z)", "1(aa)", "1(bb)"]


def test_full_width_markers():
    _, units = parse("T\n1．第一段：\n（a） 甲；\n（b） 乙。\n2．第二段。\n")
    assert [u.pinpoint for u in units] == ["1", "1(a)", "1(b)", "2"]


def test_english_headings_roman_numerals_that_are_also_letters():
    """"I." and "V." are chapters, not sub-headings; "I." after "H." is a sub-heading."""
    text = (
        "T\nI. Introduction\nA. Background\n1. a.\nII. Chapter two\n2. b.\n"
        "III. Three\nIV. Four\n3. c.\nV. Adoption of the report\n4. d.\n"
        "VI. Subsections\n" + "".join(f"{c}. Sub {c}\n{i + 5}. p.\n" for i, c in enumerate("ABCDEFGHI"))
    )
    _, units = parse(text)
    by = {u.pinpoint: u for u in units}
    assert by["1"].section == "I. Introduction / A. Background"
    assert by["2"].section == "II. Chapter two"
    assert by["3"].section == "IV. Four"
    assert by["4"].section == "V. Adoption of the report"
    assert by["12"].section == "VI. Subsections / H. Sub H"
    assert by["13"].section == "VI. Subsections / I. Sub I"
