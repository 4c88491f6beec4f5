"""An English UN report goes through the same parser as the Chinese one.

tests/fixtures/report_en_excerpt.txt is a synthetic excerpt written for these tests in the
layout of an English UN meeting report (roman chapters I.-V., lettered sub-headings,
"(a)" sub-items, an agenda list inside a paragraph). It is not the official English text.
"""

from __future__ import annotations

import shutil

import pytest

from ingest.labels import label_en, label_zh
from ingest.parse import parse_document
from ingest.readers import blocks, read_text
from ingest.un_paragraphs import parse_report
from ingest.units import Document

EXPECTED = ["1", "2", "3", "3(a)", "3(b)", "3(c)", "4", "4(a)", "4(b)", "5", "6", "7", "8", "8(a)", "8(b)", "9"]
LEAD_IN_3 = (
    "3. The Working Group recommended that the Conference of the Parties consider adopting "
    "the following recommendations:"
)

REPORT_EN = Document(
    key="report-en", symbol="CTOC/COP/WG.4/2017/4", kind="report", language="en",
    file="report_en_excerpt.txt",
    title_en="Report on the meeting of the Working Group on Trafficking in Persons held in Vienna from 6 to 8 September 2017",
    title_zh="贩运人口问题工作组会议报告", short_en="CTOC/COP/WG.4/2017/4", short_zh="CTOC/COP/WG.4/2017/4",
    aliases=("English report",),
)


@pytest.fixture(scope="module")
def en_units(tmp_path_factory, fixtures_dir, corpus_dir, manifest_docs):
    """Parse the excerpt next to a copy of the Protocol, so links into it can resolve."""
    corpus = tmp_path_factory.mktemp("corpus_en")
    shutil.copy(fixtures_dir / "report_en_excerpt.txt", corpus / "report_en_excerpt.txt")
    tip = next(d for d in manifest_docs if d.key == "tip-protocol")
    shutil.copy(corpus_dir / tip.file, corpus / tip.file)
    units = parse_document(REPORT_EN, corpus, [REPORT_EN, tip])
    return {u.pinpoint: u for u in units}, [u.pinpoint for u in units]


@pytest.fixture(scope="module")
def source(fixtures_dir) -> str:
    return read_text(fixtures_dir / "report_en_excerpt.txt")


def test_english_report_pinpoints(en_units):
    _, order = en_units
    assert order == EXPECTED


def test_english_report_title(source):
    title, _ = parse_report(blocks(source), "report_en_excerpt.txt")
    assert title.startswith(
        "Report on the meeting of the Working Group on Trafficking in Persons held in Vienna from 6 to 8 September 2017"
    )


def test_english_lead_ins(en_units):
    units, _ = en_units
    assert units["3(a)"].lead_in == LEAD_IN_3
    assert units["3(b)"].lead_in == LEAD_IN_3
    assert units["8(b)"].lead_in == "8. The Working Group had before it the following documents:"
    assert units["3"].lead_in == ""


def test_english_sections_nest_chapters_and_sub_headings(en_units):
    units, _ = en_units
    assert units["1"].section == "I. Introduction"
    assert units["3"].section == "II. Recommendations / A. General recommendations"
    assert units["3(b)"].section == "II. Recommendations / A. General recommendations"
    assert units["4"].section == "II. Recommendations / B. Recommendations on the protection and assistance needs of victims"
    assert units["5"].section == "III. Summary of deliberations"
    assert units["7"].section == "IV. Organization of the meeting / B. Adoption of the agenda and organization of work"
    # "V." is the fifth chapter, not a sub-heading of chapter IV
    assert units["9"].section == "V. Adoption of the report"


def test_agenda_inside_paragraph_7_is_text_not_units(en_units):
    units, order = en_units
    para = units["7"]
    assert para.text.startswith("7. At its 1st meeting, on 6 September 2017")
    for item in ("1. Organizational matters:", "(a) Opening of the meeting;", "(b) Adoption of the agenda",
                 "4. Other matters.", "5. Adoption of the report."):
        assert item in para.text
    assert para.children == ()
    assert not [p for p in order if p.startswith("7(")]


def test_continuation_line_belongs_to_its_paragraph(en_units):
    units, _ = en_units
    assert units["5"].text.endswith("Many speakers said that the draft questionnaire should be short, relevant and focused.")
    assert "IV. Organization" not in units["5"].text


def test_english_units_are_verbatim(en_units, source):
    units, _ = en_units
    for unit in units.values():
        assert unit.text == source[unit.start : unit.end]
    assert units["3(c)"].text == "(c) Place victims without delay in safe shelters or other appropriate accommodation."


def test_english_labels(en_units):
    units, _ = en_units
    assert units["3(b)"].label_en == "CTOC/COP/WG.4/2017/4, para. 3 (b)"
    assert units["3(b)"].label_zh == "CTOC/COP/WG.4/2017/4，第3段(b)项"
    assert units["9"].label_en == "CTOC/COP/WG.4/2017/4, para. 9"
    assert label_en(REPORT_EN, "8(a)") == "CTOC/COP/WG.4/2017/4, para. 8 (a)"
    assert label_zh(REPORT_EN, "8") == "CTOC/COP/WG.4/2017/4，第8段"
    assert all(u.lang == "en" and u.doc == "report-en" for u in units.values())


def test_un_style_comma_citation_links_to_the_protocol(en_units):
    """"article 6, paragraph 3 (d), of the Trafficking in Persons Protocol" is how UN English cites."""
    units, _ = en_units
    assert units["3(b)"].links == ("tip-protocol:6(3)(d)",)
    assert units["3(a)"].links == ()
