"""Property tests: generated outlines parse back to exactly what was generated; junk fails cleanly."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.readers import blocks, read_text
from ingest.treaty_articles import parse_treaty
from ingest.un_paragraphs import parse_report
from ingest.units import IngestError

SETTINGS = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["aa", "bb", "cc", "dd"]
ROMANS = ["i", "ii", "iii", "iv", "v", "vi"]
CN = "零一二三四五六七八九"


def roman(n: int) -> str:
    out = ""
    for value, numeral in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + numeral, n - value
    return out


def cn(n: int) -> str:
    """1..99 in Chinese numerals as treaties write them (十二, 二十, 四十一)."""
    tens, ones = divmod(n, 10)
    if not tens:
        return CN[ones]
    return ("" if tens == 1 else CN[tens]) + "十" + (CN[ones] if ones else "")


# Body text never starts with a marker: it opens with a fixed word, then free text.
WORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,;.()（）、，。《》工作组缔约国建议"
words = st.text(alphabet=WORD_CHARS, min_size=0, max_size=40).map(lambda s: s.strip())


def body(prefix: str) -> st.SearchStrategy[str]:
    return words.map(lambda s: f"{prefix} {s}".rstrip().rstrip(":：") + "。")


# --- reports -------------------------------------------------------------------------------


@dataclass
class Para:
    subs: int
    conts: list[str]
    inner: int
    chapter: bool
    sub_heading: bool
    full_width: bool
    lead: str
    sub_texts: list[str] = field(default_factory=list)


@st.composite
def report_outlines(draw):
    n = draw(st.integers(1, 25))
    paras = []
    for number in range(1, n + 1):
        subs = draw(st.sampled_from([0, 0, 0, 1, 2, 3, 5, 10, 27, 30]))
        # an agenda list inside a paragraph: only without sub-items, and never reaching the next
        # paragraph number (that case is ambiguous, see test_ingest_report.py)
        inner = 0 if subs else draw(st.sampled_from([0, 0, 0, min(number, 2), min(number, 5)]))
        paras.append(
            Para(
                subs=subs,
                conts=draw(st.lists(body("续"), max_size=2)),
                inner=inner,
                chapter=number == 1 or draw(st.booleans()),
                sub_heading=draw(st.booleans()),
                full_width=draw(st.booleans()),
                lead=draw(body("The Working Group")),
                sub_texts=[f"Consider {k} {tail}".strip() for k, tail in enumerate(draw(st.lists(words, min_size=1, max_size=3)) * subs)][:subs],
            )
        )
    english = draw(st.booleans())
    return paras, english


def render_report(paras: list[Para], english: bool):
    """The report text, and per pinpoint: (expected text, expected lead-in, expected section)."""
    lines = ["Report of the Working Group" if english else "工作组会议报告", ""]
    expected: dict[str, tuple[str, str, str]] = {}
    chapter = sub = 0
    chapter_text = sub_text = ""
    for number, p in enumerate(paras, start=1):
        if p.chapter:
            chapter += 1
            sub = 0
            sub_text = ""
            chapter_text = f"{roman(chapter)}. Chapter {chapter}" if english else f"{cn(chapter)}. 第{chapter}章标题"
            lines += ["", chapter_text]
        if p.sub_heading and sub < 12:  # A.-L.: "I." and "L." here are sub-headings
            sub_text = f"{chr(ord('A') + sub)}. Sub-heading {sub + 1}"
            sub += 1
            lines.append(sub_text)
        section = " / ".join(x for x in (chapter_text, sub_text) if x)
        dot = "．" if p.full_width else "."
        ends_colon = p.subs or p.inner
        first = f"{number}{dot} {p.lead}" + (("：" if p.full_width else ":") if ends_colon else "")
        if ends_colon:
            first = first.replace("。：", "：").replace("。:", ":")
        own = [first, *p.conts]
        if p.conts and ends_colon:  # the lead-in's colon sits on its last line
            own = [first.rstrip(":：") + "。", *p.conts[:-1], p.conts[-1].rstrip("。") + ":"]
        para_lines = list(own)
        for j in range(1, p.inner + 1):
            para_lines.append(f"{j}. Agenda item {j}" + (":" if j == 1 else "."))
            if j == 1:
                para_lines += ["(a) Opening of the meeting;", "(b) Adoption of the agenda."]
        for k in range(p.subs):
            o, c = ("（", "）") if p.full_width else ("(", ")")
            line = f"{o}{LETTERS[k]}{c} {p.sub_texts[k]}"
            para_lines.append(line)
            expected[f"{number}({LETTERS[k]})"] = (line, "\n".join(own), section)
        expected[str(number)] = ("\n".join(para_lines), "", section)
        lines += para_lines
    return "\n".join(lines) + "\n", expected


@SETTINGS
@given(report_outlines())
def test_generated_reports_parse_back_exactly(outline):
    paras, english = outline
    text, expected = render_report(paras, english)
    _, units = parse_report(blocks(text), "generated.txt")
    pins = [u.pinpoint for u in units]
    order = []
    for number, p in enumerate(paras, start=1):
        order += [str(number)] + [f"{number}({LETTERS[k]})" for k in range(p.subs)]
    assert pins == order
    for u in units:
        want_text, want_lead, want_section = expected[u.pinpoint]
        assert text[u.start : u.end] == want_text, u.pinpoint
        assert u.section == want_section, u.pinpoint
        assert text.split("\n")[u.line - 1] == want_text.split("\n")[0]
        if u.parent:
            parent = next(x for x in units if x.pinpoint == u.parent)
            assert text[parent.start : parent.own_end] == want_lead
            assert parent.start <= u.start <= u.end <= parent.end
        else:
            assert "(" not in u.pinpoint


# --- treaties ------------------------------------------------------------------------------


@st.composite
def treaty_outlines(draw):
    """[(heading or None, same_line, paragraphs, letters-per-paragraph, romans-per-letter, chapter)]"""
    articles = []
    for _ in range(draw(st.integers(1, 24))):
        n_paras = draw(st.sampled_from([0, 0, 1, 2, 3, 6]))
        groups = max(n_paras, 1)
        letters = [draw(st.sampled_from([0, 0, 1, 2, 4, 9])) for _ in range(groups)]
        romans = [
            [0 if LETTERS[k] in ("h", "u", "w") else draw(st.sampled_from([0, 0, 0, 2, 4])) for k in range(m)]
            for m in letters
        ]
        articles.append(
            dict(
                heading=draw(st.sampled_from([None, "Scope of application", "宗旨", "对被害人的帮助和保护"])),
                same_line=draw(st.booleans()),
                paras=n_paras,
                letters=letters,
                romans=romans,
                chapter=draw(st.sampled_from([None, None, None, "en", "zh"])),
                style=draw(st.sampled_from(["en", "zh", "zh_digits"])),
                para_style=draw(st.sampled_from(["1.", "一、", "第一款"])),
                paren=draw(st.sampled_from(["()", "（）", ")"])),
            )
        )
    return articles, draw(st.booleans())


def render_treaty(articles, preamble: bool):
    lines = ["Protocol (generated)"]
    expected: dict[str, tuple[str, str]] = {}  # pinpoint -> (first line, heading)
    order: list[str] = []
    if preamble:
        lines += ["Preamble", "The States Parties to this Protocol,", "Have agreed as follows:"]
        order.append("preamble")
        expected["preamble"] = ("Preamble", "")
    chapters = 0
    for number, a in enumerate(articles, start=1):
        if a["chapter"]:
            chapters += 1
            lines += [roman(chapters), "Chapter title"] if a["chapter"] == "en" else [f"第{cn(chapters)}章 章标题"]
        marker = {"en": f"Article {number}", "zh": f"第{cn(number)}条", "zh_digits": f"第 {number} 条"}[a["style"]]
        heading = a["heading"] or ""
        if heading and a["same_line"]:
            lines.append(f"{marker}　{heading}" if a["style"] != "en" else f"{marker} {heading}")
        else:
            lines.append(marker)
            if heading:
                lines.append(heading)
        order.append(str(number))
        expected[str(number)] = (lines[-1] if not heading or a["same_line"] else lines[-2], "")
        if not a["paras"] and a["letters"][0]:
            lines.append("For the purposes of this article:")
        for p in range(1, max(a["paras"], 1) + 1):
            base = str(number)
            if a["paras"]:
                mark = {"1.": f"{p}. ", "一、": f"{cn(p)}、", "第一款": f"第{cn(p)}款 "}[a["para_style"]]
                line = f"{mark}Each State Party shall" + (":" if a["letters"][p - 1] else ".")
                lines.append(line)
                base = f"{number}({p})"
                order.append(base)
                expected[base] = (line, heading)
            for k in range(a["letters"][p - 1]):
                letter = LETTERS[k]
                o, c = ("", ")") if a["paren"] == ")" else (a["paren"][0], a["paren"][1])
                line = f"{o}{letter}{c} measure {letter}" + (":" if a["romans"][p - 1][k] else ";")
                lines.append(line)
                order.append(f"{base}({letter})")
                expected[f"{base}({letter})"] = (line, heading)
                for r in range(a["romans"][p - 1][k]):
                    line = f"{o}{ROMANS[r]}{c} detail {r};"
                    lines.append(line)
                    order.append(f"{base}({letter})({ROMANS[r]})")
                    expected[order[-1]] = (line, heading)
        if not a["paras"] and not a["letters"][0]:
            lines.append("This Protocol shall apply.")
    lines.append("IN WITNESS WHEREOF, the undersigned have signed this Protocol.")
    return "\n".join(lines), order, expected


@SETTINGS
@given(treaty_outlines())
def test_generated_treaties_parse_back_exactly(outline):
    articles, preamble = outline
    text, order, expected = render_treaty(articles, preamble)
    _, units = parse_treaty(blocks(text), "generated.txt")
    assert [u.pinpoint for u in units] == order
    source_lines = text.split("\n")
    for u in units:
        first, heading = expected[u.pinpoint]
        assert source_lines[u.line - 1] == first, u.pinpoint
        assert text[u.start : u.end].startswith(first)
        assert "IN WITNESS WHEREOF" not in text[u.start : u.end]
        if u.parent:
            assert u.heading == heading, u.pinpoint


# --- junk ------------------------------------------------------------------------------------

MARKERS = [
    "1.", "2.", "3.", "1．", "10.", "(a)", "(b)", "（c）", "a)", "(i)", "(ii)", "i)", "(h)", "(aa)", "(z)",
    "I.", "II.", "V.", "A.", "B.", "一.", "二、", "一、", "十、", "第一条", "第 2 条", "第一一条", "第百条", "第十十条",
    "第二章", "第一款", "Article 1", "Article 2", "Article 1 Heading", "Chapter II", "II", "IV", "Preamble",
    "序言", "IN WITNESS WHEREOF", "为此，", "下列签署人", ":", "：", "", " ", "text", "正文。", "x:",
]

junk_lines = st.lists(
    st.builds(
        lambda m, rest: f"{m} {rest}".strip() if rest else m,
        st.sampled_from(MARKERS),
        st.one_of(st.just(""), st.sampled_from(MARKERS), st.text(max_size=12)),
    ),
    max_size=40,
)


def check_units(text: str, units) -> None:
    pins = [u.pinpoint for u in units]
    assert len(pins) == len(set(pins)), "two units with one ref"
    for u in units:
        assert 0 <= u.start <= u.own_end <= u.end <= len(text)
        assert text[u.start : u.end] == text[u.start : u.end].strip()
        assert u.parent is None or u.parent in pins


@SETTINGS
@given(st.one_of(junk_lines.map("\n".join), st.text(max_size=300)))
def test_junk_text_raises_only_ingest_error(text):
    for parse in (parse_report, parse_treaty):
        try:
            _, units = parse(blocks(text), "junk.txt")
        except IngestError as err:
            assert str(err).startswith("junk.txt, line ")
        else:
            check_units(text, units)


@pytest.mark.parametrize("suffix", [".txt", ".md", ".pdf", ".docx"])
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_junk_bytes_raise_only_ingest_error(tmp_path, suffix, data):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(data)
    try:
        text = read_text(path)
    except IngestError as err:
        assert path.name in str(err)
    else:
        assert text.strip()
        for parse in (parse_report, parse_treaty):
            try:
                check_units(text, parse(blocks(text), path.name)[1])
            except IngestError:
                pass
