"""References to several units at once: "paras. 7 (c)–(e)", "arts. 6-8", "articles 6 and 7", "第7段(c)至(e)项".

UN drafting cites runs of sub-items and paragraphs all the time, and a drafter looking them up
wants each unit's exact text, not a similarity search over the words. The last item of the first
reference and the item after the dash (or "and", "至", "和", "、") are the two ends; every
reference in between is read by ``parse_reference``, with the same document words around it, so
a range means exactly what its members would mean one by one. Anything else is not a range.
"""

from __future__ import annotations

import re

from ingest.units import Document
from services.refparse import ROMAN_NUMERALS, ParsedRef, parse_reference

MAX_MEMBERS = 30  # a longer run is a typo ("1-999"), not a citation
_ITEM = r"\(\s*[0-9a-z]{1,6}\s*\)"
RANGE = re.compile(
    rf"^(?P<head>.*?)(?P<first>{_ITEM}|(?<![0-9])[0-9]{{1,3}})\s*"
    rf"(?P<sep>-|–|—|\bto\b|至|到|\band\b|和|与|及|、|,|，)\s*"
    rf"(?P<last>{_ITEM}|[0-9]{{1,3}})(?![0-9])(?P<tail>.*)$",
    re.IGNORECASE,
)
LIST_SEPARATORS = frozenset(["and", "和", "与", "及", "、", ",", "，"])
PLURALS = re.compile(r"\b(para|art|subpara)s\.|\b(paragraph|article|subparagraph)s\b", re.IGNORECASE)


def parse_range(
    query: str, docs: list[Document], default_report: str = "report", default_treaty: str = "tip-protocol"
) -> list[list[ParsedRef]]:
    """The readings of a range or a pair, each its references in order; [] when ``query`` is not one.

    Usually one reading; "(i)-(v)" has two (letters i..v, roman numerals i..v), and which is meant
    depends on what exists, which the caller knows."""
    text = PLURALS.sub(lambda m: f"{m[1]}." if m[1] else m[2], query.strip())
    m = RANGE.match(text)
    if m is None or m["first"].startswith("(") != m["last"].startswith("("):
        return []
    first, last = _bare(m["first"]), _bare(m["last"])
    readings = [[first, last]] if m["sep"].lower() in LIST_SEPARATORS else _runs(first, last)
    out = []
    for items in readings:
        refs = [parse_reference(_member(m, item), docs, default_report, default_treaty) for item in items]
        if all(refs) and len({(r.doc, r.kind) for r in refs}) == 1:  # type: ignore[union-attr]
            out.append(refs)
    return out  # type: ignore[return-value]


def _member(m: re.Match, item: str) -> str:
    """One member's reference text: the first end's place, the member's item."""
    return f"{m['head']}({item}){m['tail']}" if m["first"].startswith("(") else f"{m['head']}{item}{m['tail']}"


def _bare(item: str) -> str:
    return item.strip("() ").lower()


def _runs(first: str, last: str) -> list[list[str]]:
    """The readings of first..last: numbers, letters, roman numerals ("(i)-(iii)"); "(i)-(v)" both ways."""
    readings = []
    if first.isdigit() and last.isdigit():
        readings.append(_bounded([str(n) for n in range(int(first), int(last) + 1)]))
    if len(first) == len(last) == 1 and first.isalpha() and last.isalpha():
        readings.append(_bounded([chr(c) for c in range(ord(first), ord(last) + 1)]))
    if first in ROMAN_NUMERALS and last in ROMAN_NUMERALS:
        readings.append(_bounded(ROMAN_NUMERALS[ROMAN_NUMERALS.index(first) : ROMAN_NUMERALS.index(last) + 1]))
    return [r for r in readings if r]


def _bounded(items: list[str]) -> list[str]:
    return items if 2 <= len(items) <= MAX_MEMBERS else []
