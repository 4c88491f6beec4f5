"""References to several units at once: "paras. 7 (c)–(e)", "arts. 6-8", "articles 6 and 7", "第7段(c)至(e)项",
and lists of whole references: "paras. 7 (c) and 8 (d)", "para. 7 (d) and Protocol art. 6(3)(d)".

UN drafting cites runs of sub-items and paragraphs all the time, and a drafter looking them up
wants each unit's exact text, not a similarity search over the words. The last item of the first
reference and the item after the dash (or "and", "至", "和", "、") are the two ends; every
reference in between is read by ``parse_reference``, with the same document words around it, so
a range means exactly what its members would mean one by one. Anything else is not a range.

A list is read part by part, each part a reference or a range; a part that only continues the
previous one takes what it leaves out from it ("8 (d)" in "paras. 7 (c) and 8 (d)", "第4款" in
"第6条第3款和第4款", "(d)项" in "第7段(c)项和(d)项"), and a part that names no document is read in the
document a neighbouring part names ("arts. 5 and 6 (1) of the Convention"). One part that is not
a reference makes the whole a phrase.
"""

from __future__ import annotations

import re

from ingest.grammar import (
    ARTICLE_PREFIX,
    EN_PARAGRAPH_START,
    LAST_ITEM,
    LIST_SEPARATOR,
    PAIR_SEPARATORS,
    PLURAL_UNIT_WORD,
    RANGE,
    REFERENCE_END,
    ROMAN_ITEMS,
    WORDS_BEFORE_NUMBER,
    ZH_TREATY_PARAGRAPH_START,
)
from ingest.units import Document
from services.refparse import (
    ARTICLE_STYLE,
    MAX_QUERY_CHARS,
    PARAGRAPH_STYLE,
    ParsedRef,
    first_explicit,
    parse_reference,
    prepare,
)

MAX_MEMBERS = 30  # a longer run is a typo ("1-999"), not a citation
NUMBERED_PARAGRAPH = re.compile(r"^[0-9]+\([0-9]")  # a pinpoint at a treaty paragraph or below: "6(3)", "6(3)(d)"
SPAN_CHARS = 80  # how far a question's reference may run from its first pinpoint


def parse_range(
    query: str, docs: list[Document], default_report: str = "report", default_treaty: str = "tip-protocol"
) -> list[list[ParsedRef]]:
    """The readings of a range or a pair, each its references in order; [] when ``query`` is not one.

    Usually one reading; "(i)-(v)" has two (letters i..v, roman numerals i..v), and which is meant
    depends on what exists, which the caller knows."""
    m = _range_match(query)
    if m is None:
        return []
    first, last = _bare(m["first"]), _bare(m["last"])
    readings = [[first, last]] if m["sep"].lower() in PAIR_SEPARATORS else _runs(first, last)
    return [refs for items in readings if (refs := _members(m, items, docs, default_report, default_treaty))]


def overlong_run(
    query: str, docs: list[Document], default_report: str = "report", default_treaty: str = "tip-protocol"
) -> list[ParsedRef]:
    """The two ends of a run of numbers longer than MAX_MEMBERS ("paras. 1-200"), each the reference
    it stands for; [] when ``query`` is no such run. Not a range (``parse_range``), but where an end
    does not exist the run is an unknown reference naming it, as a shorter run past the end is,
    not a phrase to search."""
    m = _range_match(query)
    if m is None or m["sep"].lower() in PAIR_SEPARATORS:
        return []
    first, last = _bare(m["first"]), _bare(m["last"])
    if not (first.isdigit() and last.isdigit()) or int(last) - int(first) < MAX_MEMBERS:
        return []
    return _members(m, [first, last], docs, default_report, default_treaty)


def _range_match(query: str) -> re.Match | None:
    m = RANGE.match(_singular(query))
    # "arts. 5 and 6 (1)": the (1) is article 6's, not the range's; that is a list (parse_list)
    if m is None or m["first"].startswith("(") != m["last"].startswith("(") or m["tail"].lstrip().startswith("("):
        return None
    return m


def _members(m: re.Match, items: list[str], docs: list[Document], default_report: str, default_treaty: str) -> list[ParsedRef]:
    """The references ``items`` stand for in the range ``m``; [] unless all are references of one document and style."""
    refs = [parse_reference(_member(m, item), docs, default_report, default_treaty) for item in items]
    if all(refs) and len({(r.doc, r.kind) for r in refs}) == 1:  # type: ignore[union-attr]
        return refs  # type: ignore[return-value]
    return []


def parse_list(
    query: str, docs: list[Document], default_report: str = "report", default_treaty: str = "tip-protocol"
) -> list[tuple[str, str, str]]:
    """The parts of a list of references, each (text, default report, default treaty) to read it
    with (a reference or a range); [] when ``query`` is not such a list."""
    parts = _parts(_singular(prepare(query)), docs, default_report, default_treaty)
    if len(parts) < 2:
        return []
    for i in range(1, len(parts)):
        own = _reading(parts[i], docs, "", "")  # no defaults: a document only if named
        if own is None or own.doc is None:
            parts[i] = _inherit(parts[i - 1], _reading(parts[i - 1], docs, default_report, default_treaty), parts[i])
    named = [_reading(part, docs, "", "") for part in parts]
    out = []
    for i, part in enumerate(parts):
        defaults = {PARAGRAPH_STYLE: default_report, ARTICLE_STYLE: default_treaty}
        reading = _reading(part, docs, default_report, default_treaty)
        if reading is None:
            return []
        if named[i] is None or named[i].doc is None:
            nearest = [named[j] for j in sorted(range(len(parts)), key=lambda j: (abs(j - i), j > i)) if j != i]
            source = next((r for r in nearest if r is not None and r.doc and r.kind == reading.kind), None)
            if source is not None:
                defaults[source.kind] = source.doc
        out.append((part, defaults[PARAGRAPH_STYLE], defaults[ARTICLE_STYLE]))
    return out


def mentioned_spans(question: str, docs: list[Document], default_report: str, default_treaty: str) -> list[str]:
    """The references a question writes out, in order, each the longest stretch from a pinpoint
    written as one ("article 6", "第8段") that reads as a reference, a range or a list: "What do
    paras. 7 (c) and 8 (d) say?" -> ["para. 7 (c) and 8 (d)"]. A bare "7(c)" or "3" in a sentence
    starts none: it is too often something else."""
    text = _singular(prepare(question[: MAX_QUERY_CHARS * 5]))
    spans: list[str] = []
    pos = 0
    while (found := first_explicit(text[pos:])) is not None:
        window = text[pos + found.start : pos + found.start + SPAN_CHARS]
        shortest = found.end - found.start
        ends = sorted({m.start() for m in REFERENCE_END.finditer(window) if m.start() > shortest}, reverse=True)
        end = next((e for e in ends if _reads(window[:e], docs, default_report, default_treaty)), shortest)
        spans.append(window[:end])
        pos += found.start + end
    return spans


def _reads(text: str, docs: list[Document], default_report: str, default_treaty: str) -> bool:
    return _reading(text, docs, default_report, default_treaty) is not None or bool(
        parse_list(text, docs, default_report, default_treaty)
    )


def _inherit(previous: str, reading: ParsedRef | None, part: str) -> str:
    """A part that only continues the previous one (``reading`` is what that one names), completed
    from it: "8 (d)" after "para. 7 (c)" takes "para. ", "(d)项" after "第7段(c)项" takes "第7段",
    and a treaty paragraph after a treaty paragraph is of the same article: "第4款" after
    "第6条第3款" takes "第6条", "paragraph 4" after "article 6, paragraph 3" takes "article 6, ".
    After a whole article, "para. 7" stays what it says (the report's)."""
    if part[:1].isdigit():
        return WORDS_BEFORE_NUMBER.match(previous)[0] + part
    if part.startswith("("):
        return LAST_ITEM.sub("", previous) + part
    article = ARTICLE_PREFIX.match(previous) if reading and NUMBERED_PARAGRAPH.match(reading.pinpoint) else None
    if article and ZH_TREATY_PARAGRAPH_START.match(part):
        return article[0] + part
    if article and EN_PARAGRAPH_START.match(part):
        return f"{article[0]}, {part}"
    return part


def _parts(query: str, docs: list[Document], default_report: str, default_treaty: str) -> list[str]:
    """``query`` cut at list separators, adjacent pieces kept together while together they are
    one reference ("article 14, paragraph 1") or one range ("paras. 7 (c)-(e)")."""
    pieces = LIST_SEPARATOR.split(query.strip())  # text, separator, text, ...
    parts: list[str] = []
    current = pieces[0]
    for sep, piece in zip(pieces[1::2], pieces[2::2], strict=True):
        joined = f"{current}{sep} {piece}" if sep in (",", ";") else f"{current} {sep} {piece}"
        if _reading(joined, docs, default_report, default_treaty) is not None:
            current = joined
        else:
            parts.append(current)
            current = piece
    return [p for p in [*parts, current] if p.strip()]


def _reading(text: str, docs: list[Document], default_report: str, default_treaty: str) -> ParsedRef | None:
    """What ``text`` names, as one reference or a range's first member; None when neither."""
    single = parse_reference(text, docs, default_report, default_treaty)
    if single is not None:
        return single
    readings = parse_range(text, docs, default_report, default_treaty)
    return readings[0][0] if readings else None


def _singular(query: str) -> str:
    """"paras. 7-9" as "para. 7-9": each member is read as one reference."""
    return PLURAL_UNIT_WORD.sub(lambda m: f"{m[1]}." if m[1] else m[2], query.strip())


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
    if first in ROMAN_ITEMS and last in ROMAN_ITEMS:
        readings.append(_bounded(list(ROMAN_ITEMS[ROMAN_ITEMS.index(first) : ROMAN_ITEMS.index(last) + 1])))
    return [r for r in readings if r]


def _bounded(items: list[str]) -> list[str]:
    return items if 2 <= len(items) <= MAX_MEMBERS else []
