"""What a new document is, read from its own text: language, kind, UN symbol, title and key.

Why detect rather than ask: a user adding a file should have to give only the file. The language is
the script's; the kind is whichever structure parser (``un_paragraphs`` for ``1.`` paragraphs with
``(a)`` items, ``treaty_articles`` for Article N / 第N条 with paragraphs or 款) reads the text
soundly; the symbol and the title come from the lines above the first unit, where UN documents put
them. Every guess can be overridden (``Overrides``), and a guess made without evidence (a key from
the file name, a title standing in for the other language's) is said in a warning. A structure that
does not read (no numbering, a gap the parser refuses) is a problem: such a file is not a document
Pinpoint can cite.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from index.text_norm import language_of
from index.versions import symbol_key
from ingest.grammar import ROMAN_ITEMS, symbols_in
from ingest.labels import split_pinpoint
from ingest.manifest import KEY, KINDS, LANGUAGES
from ingest.readers import Block, blocks, extract
from ingest.treaty_articles import parse_treaty
from ingest.un_paragraphs import parse_report
from ingest.units import Document, IngestError, RawUnit

PARSERS: dict[str, Callable[[list[Block], str], tuple[str, list[RawUnit]]]] = {
    "report": parse_report,
    "treaty": parse_treaty,
}
# How far down a file its symbol and title are looked for when it has no unit to stop at: a UN cover
# page (symbol, distribution, date, language, agenda item, title) fits in this many lines.
HEAD_LINES = 15
# Cover-page lines that are not the title: distribution, date, original language, bracketed notes.
COVER_LINE = re.compile(
    r"^(?:distr\b|original\s*:|原文\s*[:：]|(?:general|limited|restricted|united nations|联合国)$"
    r"|\d{1,2}\s+[a-z]+\s+\d{4}$|[a-z]+\s+\d{1,2},?\s+\d{4}$|\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?$"
    r"|[\[【(（])",
    re.IGNORECASE,
)
TITLE_WORD = re.compile(r"[A-Za-z]{3,}|[\u4e00-\u9fff]{2,}")  # a title has words, not only numbers and marks


@dataclass(frozen=True)
class Overrides:
    """What the user states instead of what would be detected; None: detect it."""

    key: str | None = None
    symbol: str | None = None
    language: str | None = None
    kind: str | None = None
    title_en: str | None = None
    title_zh: str | None = None


NO_OVERRIDES = Overrides()  # detect everything


@dataclass(frozen=True)
class Detection:
    """A file read as a document: its manifest entry, its structure, and what is doubtful or wrong.

    ``problems`` are numbering errors that stop it from being ingested (then ``units`` is empty and
    the entry's kind is the best guess); ``warnings`` are guesses and numbering oddities that do not.
    """

    document: Document
    units: tuple[RawUnit, ...]
    warnings: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Reading:
    """One parser's reading of the text: its units, or the error and how many units it read before it."""

    kind: str
    title: str = ""
    units: tuple[RawUnit, ...] = ()
    error: IngestError | None = None
    read_before_error: int = 0


def detect(path: Path, overrides: Overrides, existing: list[Document]) -> Detection:
    """Read the file at ``path`` (named as it will be in the corpus) as a new document beside ``existing``.

    Raises IngestError when the file cannot be read as text at all (binary, empty, a broken PDF)
    and ValueError for an override that cannot stand (an unknown language or kind, a taken key).
    """
    _check_overrides(overrides, existing)
    extracted = extract(path)
    lines = blocks(extracted.text)
    warnings: list[str] = []
    reading = _structure(lines, path.name, overrides.kind, warnings)
    language = overrides.language or language_of(extracted.text)
    symbol = overrides.symbol or _symbol(_head(extracted.lines, extracted.text, reading))
    key = overrides.key or _unique_key(_slug(symbol or "") or _slug(path.stem), existing)
    if not symbol:
        source = "the key" if overrides.key else "the key, taken from the file name,"
        warnings.append(f"no UN symbol found; {source} stands in for it (--symbol to give one)")
    titles = _titles(language, _title(lines, reading, symbol), path, overrides, warnings)
    document = Document(
        key=key, symbol=symbol or key, kind=reading.kind, language=language, file=path.name,
        title_en=titles["en"], title_zh=titles["zh"],
        short_en=symbol or titles["en"], short_zh=symbol or titles["zh"],  # UN citations name a document by its symbol
        aliases=tuple(dict.fromkeys(a for a in (symbol, key) if a)), cues=(),
    )
    if symbol:
        warnings.extend(_versions(document, existing))
    if reading.error is None:
        warnings.extend(numbering_gaps(reading.units))
    problems = (_problem(reading, overrides.kind),) if reading.error is not None else ()
    return Detection(document, reading.units, tuple(warnings), problems)


def numbering_gaps(units: tuple[RawUnit, ...] | list[RawUnit]) -> list[str]:
    """Siblings whose numbers or letters do not run 1, 2, 3 / (a), (b), (c) / (i), (ii), (iii).

    The parsers refuse gaps in paragraph and article numbers; a treaty's lettered subparagraphs are
    only checked for repeats there, so "(a), (c)" reads, and is worth a warning: "(b)" may be lost.
    """
    siblings: dict[str | None, list[str]] = {}
    for unit in units:
        if unit.pinpoint != "preamble":
            siblings.setdefault(unit.parent, []).append(unit.pinpoint)
    gaps = []
    for parent, pinpoints in siblings.items():
        items = [_last_part(p) for p in pinpoints]
        if not any(_runs_from_one(items, order) for order in (_number, _letter, _roman)):
            where = f"in {parent}" if parent else "at the top level"
            gaps.append(f"numbering gap {where}: {', '.join(pinpoints)}")
    return gaps


def _check_overrides(overrides: Overrides, existing: list[Document]) -> None:
    if overrides.language is not None and overrides.language not in LANGUAGES:
        raise ValueError(f"language {overrides.language!r}: use {' or '.join(LANGUAGES)}")
    if overrides.kind is not None and overrides.kind not in KINDS:
        raise ValueError(f"kind {overrides.kind!r}: use {' or '.join(KINDS)}")
    if overrides.key is not None:
        if not KEY.fullmatch(overrides.key):
            raise ValueError(f"key {overrides.key!r}: use lowercase letters, digits and single hyphens (egm-2019-1)")
        if overrides.key in {d.key for d in existing}:
            raise ValueError(f"key {overrides.key!r} is taken; choose another")


def _structure(lines: list[Block], file: str, kind: str | None, warnings: list[str]) -> _Reading:
    """The reading of the stated kind, else of the parser that reads the text soundly (most units when
    both do), else of the one that read furthest before its error."""
    readings = [_read(k, lines, file) for k in ([kind] if kind else PARSERS)]
    sound = [r for r in readings if r.error is None]
    if not sound:
        return max(readings, key=lambda r: r.read_before_error)
    best = max(sound, key=lambda r: len(r.units))
    if len(sound) > 1:
        counts = " and ".join(f"as a {r.kind} ({len(r.units)} units)" for r in sound)
        warnings.append(f"the numbering reads {counts}; read as a {best.kind} (--kind to choose)")
    return best


def _read(kind: str, lines: list[Block], file: str) -> _Reading:
    parse = PARSERS[kind]
    try:
        title, units = parse(lines, file)
    except IngestError as error:
        return _Reading(kind, error=error, read_before_error=_units_before(parse, lines, file, error.line))
    return _Reading(kind, title, tuple(units))


def _units_before(parse, lines: list[Block], file: str, line: int) -> int:
    """How many units ``parse`` reads in the lines before ``line``: 0 when it found no structure at all."""
    try:
        return len(parse([b for b in lines if b.line < line], file)[1])
    except IngestError:
        return 0


def _problem(reading: _Reading, stated_kind: str | None) -> str:
    if reading.read_before_error or stated_kind:
        return str(reading.error)
    return (
        f"{reading.error.file}: no numbering found: neither numbered paragraphs (1., 2. with (a), (b) items) "
        f"nor articles (Article 1, 第一条) with their paragraphs"
    )


def _head(raw_lines: list[str], text: str, reading: _Reading) -> list[str]:
    """The file's non-empty lines above its first unit (page furniture kept: the symbol is there)."""
    first = ""
    if reading.units:
        start = min(u.start for u in reading.units)
        end = text.find("\n", start)
        first = text[start : end if end >= 0 else len(text)].strip()
    head = []
    for raw in raw_lines:
        line = raw.strip()
        if not line:
            continue
        if (first and first.startswith(line)) or len(head) == HEAD_LINES:
            break
        head.append(line)
    return head


def _symbol(head: list[str]) -> str | None:
    return next((match.group(0).rstrip(".-") for line in head for match in symbols_in(line)), None)


def _unique_key(base: str, existing: list[Document]) -> str:
    """``base`` ("egm-tip-2019-1"), or with -2, -3 ... when a document has it."""
    base = base or "document"
    taken = {d.key for d in existing}
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def _title(lines: list[Block], reading: _Reading, symbol: str | None) -> str | None:
    """The first line above the first unit that is the title: not cover-page matter, with words in it."""
    stop = min(u.start for u in reading.units) if reading.units else None
    for block in lines[:HEAD_LINES] if stop is None else [b for b in lines if b.start < stop]:
        if reading.units and block.text not in reading.title:
            continue  # a heading or chapter line above the first unit, not the title
        text = block.text.replace(symbol, " ").strip(" ,;:-–—") if symbol else block.text
        if text and not COVER_LINE.match(text) and TITLE_WORD.search(text):
            return text
    return None


def _titles(language: str, found: str | None, path: Path, overrides: Overrides, warnings: list[str]) -> dict[str, str]:
    """Both titles: each one given, else the one found (in the document's language), else the file name;
    the document's own title stands in for the other language's when that is not given."""
    names = {"en": "English", "zh": "Chinese"}
    given = {"en": overrides.title_en, "zh": overrides.title_zh}
    if not given[language] and found is None:
        warnings.append(f"no title found in the first lines; the file name stands in (--title-{language})")
    own = given[language] or found or path.stem.replace("_", " ")
    titles = {}
    for lang in LANGUAGES:
        if not given[lang] and lang != language:
            warnings.append(f"no {names[lang]} title given (--title-{lang}); the {names[language]} one stands in")
        titles[lang] = given[lang] or own
    return titles


def _versions(document: Document, existing: list[Document]) -> list[str]:
    """A document with another's symbol is read as that document's other language version (``index.versions``)."""
    out = []
    for other in existing:
        if symbol_key(other.symbol) == symbol_key(document.symbol):
            if other.language == document.language:
                out.append(f"{other.key} has the same symbol and language: the two are read as versions of one document")
            else:
                out.append(f"{other.key} has the same symbol: this is read as its {document.language} version")
    return out


def _last_part(pinpoint: str) -> str:
    head, parts = split_pinpoint(pinpoint)
    return parts[-1] if parts else head


def _runs_from_one(items: list[str], order: Callable[[str], int | None]) -> bool:
    return [order(x) for x in items] == list(range(1, len(items) + 1))


def _number(item: str) -> int | None:
    return int(item) if item.isdigit() else None


def _letter(item: str) -> int | None:
    """(a) 1 ... (z) 26, (aa) 27, (bb) 28: the UN's lettering past z."""
    if not item.isalpha() or not item.islower() or len(set(item)) != 1:
        return None
    return (len(item) - 1) * 26 + ord(item[0]) - ord("a") + 1


def _roman(item: str) -> int | None:
    return ROMAN_ITEMS.index(item) + 1 if item in ROMAN_ITEMS else None
