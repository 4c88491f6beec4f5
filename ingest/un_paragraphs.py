"""Structure of UN reports: numbered paragraphs ``N.`` and lettered sub-items ``(a)``.

Headings (一. / A. / I.) become section metadata, not units. Paragraph
numbers must increase by one: a gap or a repeat is an error naming the line,
because a silently shifted number would make every later citation wrong. A
numbered list inside a paragraph (the agenda in para. 24 restarts at "1.")
belongs to that paragraph: it may start only after a lead-in ending in a
colon, and its lettered items are part of its text, not sub-items.
"""

from __future__ import annotations

from ingest.grammar import (
    LEAD_IN_ENDINGS,
    REPORT_HEADING,
    REPORT_HEADING_LETTER,
    REPORT_ITEM,
    REPORT_PARAGRAPH,
    next_letter,
)
from ingest.outline import Outline
from ingest.readers import Block
from ingest.units import IngestError, RawUnit


def parse_report(blocks: list[Block], file: str) -> tuple[str, list[RawUnit]]:
    """Title (the text before the first heading or paragraph) and the paragraph units."""
    outline = Outline()
    title_parts: list[str] = []
    sections: dict[int, str] = {}
    last_para = 0
    last_text = ""
    inner_last = 0  # last number of a list inside the current paragraph, 0 when none
    last_item = ""
    for block in blocks:
        text = block.text
        para = REPORT_PARAGRAPH.match(text)
        item = REPORT_ITEM.match(text)
        if REPORT_HEADING.match(text) and not para:
            outline.close(1)
            level = _heading_level(text, sections.get(2, ""))
            sections = {k: v for k, v in sections.items() if k < level} | {level: text}
            inner_last = 0
        elif para:
            number = int(para.group(1))
            if number == last_para + 1:
                outline.open(1, str(number), block, section=" / ".join(sections.values()))
                last_para, inner_last, last_item = number, 0, ""
            elif last_para and _starts_inner_list(number, inner_last, last_text):
                inner_last = number
                outline.extend(block)
            elif last_para == 0 and not title_parts:
                raise IngestError(file, block.line, f"the first paragraph is numbered {number}; expected 1")
            else:
                what = "repeats" if number <= last_para else "skips"
                raise IngestError(
                    file, block.line, f"paragraph numbering {what}: expected {last_para + 1}, found {number}"
                )
        elif item and last_para and not inner_last:
            letter = item.group(1)
            _check_letter(letter, last_item, file, block.line)
            outline.open(2, f"{last_para}({letter})", block, section=" / ".join(sections.values()))
            last_item = letter
        elif last_para:
            outline.extend(block)
        else:
            title_parts.append(text)
        last_text = text
    units = outline.finish()
    if not units:
        raise IngestError(file, blocks[-1].line if blocks else 1, "no numbered paragraphs found")
    return " ".join(title_parts), units


def _heading_level(text: str, sub_heading: str) -> int:
    """1 for a chapter (一. / II.), 2 for a sub-heading (A.); I. V. X. L. are chapters unless they follow H. U. W. K."""
    letter = REPORT_HEADING_LETTER.match(text)
    if not letter:
        return 1
    if letter.group(1) in "IVXL":
        return 2 if sub_heading[:2] == chr(ord(letter.group(1)) - 1) + "." else 1
    return 2


def _starts_inner_list(number: int, inner_last: int, previous: str) -> bool:
    """True when ``number.`` continues or starts a list inside the current paragraph."""
    if inner_last:
        return number == inner_last + 1
    return number == 1 and previous.endswith(LEAD_IN_ENDINGS)


def _check_letter(letter: str, previous: str, file: str, line: int) -> None:
    """Sub-items run (a), (b), ... without gaps; (aa) follows (z)."""
    expected = "a" if not previous else next_letter(previous)
    if letter != expected:
        raise IngestError(file, line, f"sub-item ({letter}) out of sequence: expected ({expected})")

