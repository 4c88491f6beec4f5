"""The grammar of UN numbering and references, English and Chinese: numerals, the markers and words
of articles, paragraphs and items, and the names of documents.

Every reader of that grammar uses this module: the structure parsers (``ingest.un_paragraphs``,
``ingest.treaty_articles``, PDF re-joining in ``ingest.readers``), cross-reference links
(``ingest.crossrefs``), joint labels (``ingest.labels``), `cite`'s reference parser with its ranges
and lists (``services.refparse``, ``services.refrange``), follow-ups (``services.conversation``),
scope (``services.scope``), routing (``index.routing``) and the scale generator (``eval.scale``).
So a form is written once, and a numeral a heading may use is also found in a reference to it. It
imports only the document model, so ingest, index and services can all use it.

Where readers need different patterns on purpose, both are here, named for the difference:

* line markers (``REPORT_PARAGRAPH``, ``ARTICLE_HEADING``, ...) match at the start of a line, as a
  document numbers itself;
* mentions (``ZH_MENTION``, ``EN_MENTION``) are references inside a document's own text, matched as
  written: any case, full-width brackets, Chinese numerals, any number of digits;
* typed references (``EN_ARTICLE_REF``, ``ZH_PARAGRAPH_REF``, ...) are what a person writes into
  `cite` or a question, matched on text ``services.refparse.prepare`` has normalised (lower case,
  half-width, Chinese numerals as digits), where a number of four digits is a year or a symbol.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from ingest.units import Document

# ---------------------------------------------------------------- numerals

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_WRITTEN_DIGITS = "零一二三四五六七八九"
CN_NUMERAL = "[零〇一二两三四五六七八九十百]+"  # a regex class, for patterns that embed a numeral
# Headings count with small numerals (一. 二、 十一.), never 零 or 百.
CN_HEADING_NUMERAL = "[一二三四五六七八九十]+"
# A number as a document writes it: digits of any script (int() reads them) or a Chinese numeral.
WRITTEN_NUMBER = rf"(?:\d+|{CN_NUMERAL})"
# 一 … 九百九十九: optional hundreds, an optional 零 after them, optional tens, optional ones.
_CN_FORM = re.compile(r"(?:(?P<h>[一二两三四五六七八九])百)?零?(?:(?P<t>[一二两三四五六七八九])?(?P<ten>十))?(?P<o>[零〇一二两三四五六七八九])?")


def cn_number(text: str) -> int:
    """Arabic (also full-width) or Chinese numerals (一 ... 九百九十九) to int; ValueError otherwise."""
    if text.isdigit():
        return int(text)
    match = _CN_FORM.fullmatch(text)
    if not text or match is None or (text.startswith(("零", "〇")) and len(text) > 1):
        raise ValueError(f"cannot read the number {text!r}")
    hundreds = _CN_DIGITS[match["h"]] if match["h"] else 0
    tens = (_CN_DIGITS[match["t"]] if match["t"] else 1) if match["ten"] else 0
    ones = _CN_DIGITS[match["o"]] if match["o"] else 0
    return hundreds * 100 + tens * 10 + ones


def cn_numeral(number: int) -> str:
    """0 ... 999 in Chinese numerals as Chinese texts write them and ``cn_number`` reads them:
    一, 十, 十一, 二十三, 一百零五, 一百一十."""
    if not 0 <= number <= 999:
        raise ValueError(f"no Chinese numeral for {number}: 0 to 999 only")
    if number == 0:
        return "零"
    hundreds, rest = divmod(number, 100)
    tens, ones = divmod(rest, 10)
    out = f"{_CN_WRITTEN_DIGITS[hundreds]}百" if hundreds else ""
    if tens:
        out += ("" if tens == 1 and not hundreds else _CN_WRITTEN_DIGITS[tens]) + "十"
    elif hundreds and ones:
        out += "零"
    return out + (_CN_WRITTEN_DIGITS[ones] if ones else "")


_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10, "l": 50, "c": 100}
_ROMAN_WRITTEN = ((100, "c"), (90, "xc"), (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"))


def is_roman(text: str) -> bool:
    """Only roman-numeral letters (i v x l c): "ii" and "v" are, "d" is not."""
    return all(c in _ROMAN_VALUES for c in text)


def roman_value(text: str) -> int:
    """A lower-case roman numeral as a number: "xiv" -> 14 (KeyError on another letter)."""
    total = 0
    for i, ch in enumerate(text):
        v = _ROMAN_VALUES[ch]
        total += -v if i + 1 < len(text) and _ROMAN_VALUES[text[i + 1]] > v else v
    return total


def roman_numeral(number: int) -> str:
    """1 ... 399 as a lower-case roman numeral: 14 -> "xiv"."""
    if not 1 <= number <= 399:
        raise ValueError(f"no roman numeral for {number}: 1 to 399 only")
    out = ""
    for value, numeral in _ROMAN_WRITTEN:
        while number >= value:
            out, number = out + numeral, number - value
    return out


# The roman items a run is read over ("(i)-(iv)") or a step goes to ("the next item"): (i) to (xx),
# well past where sub-subparagraphs stop.
ROMAN_ITEMS = tuple(roman_numeral(n) for n in range(1, 21))


def roman_item(value: int) -> str | None:
    """The item numbered ``value`` in ROMAN_ITEMS (4 -> "iv"); None outside them."""
    return ROMAN_ITEMS[value - 1] if 1 <= value <= len(ROMAN_ITEMS) else None


def letter_item(index: int) -> str:
    """The ``index``-th lettered item from 0: a..z, then aa, bb, ... as UN documents letter sub-items."""
    return chr(ord("a") + index) if index < 26 else chr(ord("a") + index - 26) * 2


def next_letter(letter: str) -> str:
    """The item after ``letter``: (b) after (a), (aa) after (z), (bb) after (aa)."""
    if letter == "z":
        return "aa"
    if len(letter) == 2 and letter[0] == letter[1]:
        return chr(ord(letter[0]) + 1) * 2
    return chr(ord(letter) + 1)


# ---------------------------------------------------------------- line markers: how a document numbers itself
# Matched at the start of a line (an ``ingest.readers.Block``), as the document writes it.

# Reports: "12." paragraphs (up to four digits) with text after the number.
REPORT_PARAGRAPH = re.compile(r"^(\d{1,4})\s*[.．]\s*(?=\S)")
# "(a)" sub-items: a report brackets its letters on both sides ("a)" is a treaty's style).
REPORT_ITEM = re.compile(r"^[(（]([a-z]{1,2})[)）]")
# Headings: 一. chapters, I. chapters (reports run to L), A. sub-headings.
REPORT_HEADING = re.compile(rf"^(?:{CN_HEADING_NUMERAL}[.、．]|[IVXL]+\.|[A-Z]\.)\s*\S")
REPORT_HEADING_LETTER = re.compile(r"^([A-Z])\.")  # a sub-heading's letter, or a chapter's I. V. X. L.
# A numbered list inside a paragraph may start only after a lead-in ending so.
LEAD_IN_ENDINGS = (":", "：")

# Treaties: "Article 6" / "第6条" / "第六条", the heading on the same line or the next.
ARTICLE_HEADING = re.compile(rf"^(?:Article\s+(\d+)|第\s*({WRITTEN_NUMBER})\s*条)\s*(.*)$")
TREATY_CHAPTER_NUMERAL = "[IVX]+"  # "II" alone on a line, "Chapter II"
CHAPTER_HEADING = re.compile(
    rf"^(?:({TREATY_CHAPTER_NUMERAL})|Chapter\s+({TREATY_CHAPTER_NUMERAL})|第\s*({WRITTEN_NUMBER})\s*章)\s*(.*)$"
)
PREAMBLE_HEADING = re.compile(r"^(?:Preamble|Preambule|序言)$")
CLOSING_LINE = re.compile(r"^(?:IN WITNESS WHEREOF|为此[，,]|下列签署人)")
# Numbered paragraphs of an article: "1." (up to three digits), "一、", "第一款".
TREATY_PARAGRAPH = re.compile(rf"^(?:(\d{{1,3}})\s*[.．]\s*|({CN_NUMERAL})、|第\s*({WRITTEN_NUMBER})\s*款\s*)")
TREATY_LETTER = re.compile(r"^(?:[(（]([a-z]{1,2})[)）]|([a-z]{1,2})\))\s*")  # "(a)", "（a）", "a)"
TREATY_ROMAN = re.compile(r"^(?:[(（]([ivx]+)[)）]|([ivx]+)\))\s*")  # "(ii)", "ii)"
# A letter that is also a roman numeral is a letter only right after its predecessor.
LETTER_AFTER = {"i": "h", "v": "u", "x": "w", "ii": None}
# A line ending so is a sentence or a clause, never an article's heading.
CLAUSE_ENDINGS = (".", "。", ":", "：", ";", "；")

# PDF text re-joined into one block per line: a line that starts with roughly any marker above starts a
# block (taken wrongly, a line only keeps the break the PDF gave it; missed, two units would be glued).
PDF_BLOCK_START = re.compile(
    r"^(?:\d{1,3}\.\s|[(（][a-z]{1,4}[)）]|[a-z]\)\s|Article\s+\d|第\s*\S{1,4}\s*[条章段]"
    rf"|{CN_HEADING_NUMERAL}[.、]|{TREATY_CHAPTER_NUMERAL}\.?\s|[A-Z]\.\s)"
)
# An article line or a chapter numeral alone: its block ends with it (the heading follows).
PDF_BLOCK_END = re.compile(rf"^(?:Article\s+\d+|第\s*\S{{1,4}}\s*条|{TREATY_CHAPTER_NUMERAL})$")

# ---------------------------------------------------------------- mentions: references in a document's own text

ZH_MENTION = re.compile(  # "《议定书》第 6 条第 3 款(d)项", "第二十七条"
    rf"(?:《(?P<name>[^》]{{1,40}})》)?\s*第\s*(?P<art>{WRITTEN_NUMBER})\s*条"
    rf"(?:\s*第\s*(?P<para>{WRITTEN_NUMBER})\s*款)?(?:\s*[(（](?P<sub>[a-z])[)）]\s*项)?"
)
EN_MENTION = re.compile(  # "articles 27 and 28 of the Convention", "article 6, paragraph 3 (d), of this Protocol"
    r"\barticles?\s+(?P<arts>\d+(?:\s*(?:,|and|or)\s*\d+)*)"
    r"(?:,\s*paragraph\s+(?P<para>\d+)(?:\s*\(?(?P<sub>[a-z])\))?)?"
    r"(?:,?\s+of\s+(?P<name>this Protocol|this Convention|the (?:[A-Z][\w ]{0,60}?)?(?:Protocol|Convention)))?",
    re.IGNORECASE,
)
EN_PARAGRAPH_OF_THIS_ARTICLE = re.compile(
    r"\bparagraphs?\s+(?P<para>\d+)(?:\s*\(?(?P<sub>[a-z])\))?\s+of\s+this\s+article", re.I
)

# ---------------------------------------------------------------- typed references (prepared text)

NUMBER = r"[0-9]{1,3}(?![0-9])"  # four digits are a year or a symbol, never a paragraph
_ITEM_TEXT = "[0-9a-z]{1,6}"
ITEM = rf"\(\s*{_ITEM_TEXT}\s*\)"  # "(d)", "( ii )", "(3)"
ITEM_CHAIN = rf"(?:\s*{ITEM})*"
ITEM_TEXT = re.compile(rf"\(\s*({_ITEM_TEXT})\s*\)")  # what an item says
PARAGRAPH_WORD = r"\bpara(?:graph|\.)?"
SUBPARAGRAPH_WORD = r"\bsub[- ]?para(?:graph|\.)?"
ARTICLE_WORD = r"\bart(?:icle|\.)?"
ZH_UNIT = "[条款段项目]"  # article, treaty paragraph, report paragraph, item, sub-item
ZH_ITEM = rf"(?:\s*第?\s*{ITEM}\s*(?:分段|项|目)?)"  # "(d)项", "第(ii)目"

RAW_REF = re.compile(rf"^(?P<key>[a-z0-9][a-z0-9._-]*)\s*:\s*(?P<pin>preamble|{NUMBER}{ITEM_CHAIN})$")  # "report:7(c)"
PREAMBLE_WORD = re.compile(r"\bpreamble\b|序言")
# "subparagraph (d) of paragraph 3 of article 6", "paragraph 1 of article 14"
EN_REVERSED_REF = re.compile(
    rf"(?:{SUBPARAGRAPH_WORD}\s*(?P<sub>{ITEM})(?P<subchain>{ITEM_CHAIN})\s*,?\s*of\s+)?"
    rf"(?:{PARAGRAPH_WORD}\s*(?P<para>{NUMBER})(?P<chain>{ITEM_CHAIN})\s*,?\s*of\s+)?"
    rf"{ARTICLE_WORD}\s*(?P<art>{NUMBER})"
)
# "art. 6(3)(d)", "article 14, paragraph 1", "Article 6, paragraph 3, subparagraph (d)"
EN_ARTICLE_REF = re.compile(
    rf"{ARTICLE_WORD}\s*(?P<art>{NUMBER})(?P<chain>{ITEM_CHAIN})"
    rf"(?:\s*,?\s*{PARAGRAPH_WORD}\s*(?P<para>{NUMBER})(?P<chain2>{ITEM_CHAIN}))?"
    rf"(?:\s*,?\s*{SUBPARAGRAPH_WORD}\s*(?P<sub>{ITEM}|[a-z]\b)(?P<chain3>{ITEM_CHAIN}))?"
)
# "第6条第3款(d)项", "第5条第1款(a)项第(ii)目", "6条"
ZH_ARTICLE_REF = re.compile(
    rf"(?<![0-9])第?\s*(?P<art>{NUMBER})\s*条(?:\s*第?\s*(?P<para>{NUMBER})\s*款)?(?P<items>{ZH_ITEM}*)"
)
# "第8段(j)项", "第 1 段", "段 24"
ZH_PARAGRAPH_REF = re.compile(rf"(?:(?<![0-9])第?\s*(?P<n1>{NUMBER})\s*段|段\s*(?P<n2>{NUMBER}))(?P<items>{ZH_ITEM}*)")
# "para. 8 (o)", "paragraph 16", "¶ 7, subparagraph (c)"
EN_PARAGRAPH_REF = re.compile(
    rf"(?:{PARAGRAPH_WORD}|¶)\s*(?P<num>{NUMBER})(?P<chain>{ITEM_CHAIN})"
    rf"(?:\s*,?\s*{SUBPARAGRAPH_WORD}\s*(?P<sub>{ITEM}|[a-z]\b)(?P<chain3>{ITEM_CHAIN}))?"
)
# "7(c)", "6 (3) (d)", "untoc 2(a)": not part of a symbol like WG.4/2017/4
BARE_PINPOINT = re.compile(rf"(?<![\w./:-])(?P<num>{NUMBER})(?P<chain>{ITEM_CHAIN})(?![\w/:-]|\.\w)")
# An item is a letter (d), a doubled letter (aa) or a roman numeral (ii).
LETTER_OR_ROMAN_ITEM = re.compile(r"[a-z]|([a-z])\1|[ivxlc]{1,6}")

# Chinese numbers as digits before the patterns above read them: "第十七条" is 第17条.
ZH_ORDINAL = re.compile(rf"第\s*({CN_NUMERAL})\s*(?={ZH_UNIT})")
# Items numbered in Chinese, as in domestic drafting: "第(四)项" is (d), "第(二)目" is (ii).
ZH_NUMERAL_ITEM = re.compile(rf"\(\s*({CN_NUMERAL})\s*\)(\s*目)?")
# Items people write without brackets: "7c", "7.c", "para 7 c", "art. 6(3) d" (whole queries only:
# inside a sentence "7 a" is too often something else), and "第8段j项", "第3款d项".
UNBRACKETED_ITEM = re.compile(r"((?<![0-9a-z./:-])[0-9]{1,3}|\))\s*\.?\s*([a-z])(?![a-z0-9(])")
ZH_UNBRACKETED_ITEM = re.compile(r"([段款])\s*([a-z]{1,2}|[ivx]{1,4})\s*(?=[项目])")
# Words that may stand around a reference without making it a phrase ("see art. 6 of the Protocol").
REFERENCE_FILLER = frozenset(["of", "the", "this", "in", "see", "cf", "at", "under", "的", "见", "参见"])

# A follow-up's reference relative to the provision just discussed: "its paragraph 2", "第2款", "(d)项",
# "subparagraph (b)", "what about (d)?"
RELATIVE_PARAGRAPH = re.compile(rf"(?:{PARAGRAPH_WORD}\s*(?P<en>{NUMBER})|(?<![0-9])第\s*(?P<zh>{NUMBER})\s*款)(?P<items>{ZH_ITEM}*)")
RELATIVE_ITEM = re.compile(rf"(?P<items>{ZH_ITEM}+)")
# "the next paragraph", "the previous one", "下一段", "上一款", "前款", "下一项"
NEIGHBOUR = re.compile(
    r"\b(?P<dir>next|following|previous|preceding)\s+(?P<unit>sub-?paragraph|paragraph|article|item|point|one)\b"
    rf"|(?P<zdir>[下上前后])\s*一?\s*(?P<zunit>{ZH_UNIT})(?!\s*(?:时间|时期|日子))"  # not 前段时间, "lately"
)
NEIGHBOUR_FORWARD = frozenset(["next", "following", "下", "后"])
NEIGHBOUR_LEVEL = {"article": "head", "条": "head", "paragraph": "paragraph", "段": "paragraph", "款": "paragraph"}

# ---------------------------------------------------------------- several references at once (prepared text)

# Two ends and what joins them: "7 (c)-(e)", "6 and 7", "(c)至(e)", "7-9".
RANGE = re.compile(
    rf"^(?P<head>.*?)(?P<first>{ITEM}|(?<![0-9]){NUMBER})\s*"
    rf"(?P<sep>-|–|—|\bto\b|至|到|\band\b|和|与|及|、|,|，)\s*"
    rf"(?P<last>{ITEM}|{NUMBER})(?![0-9])(?P<tail>.*)$",
    re.IGNORECASE,
)
PAIR_SEPARATORS = frozenset(["and", "和", "与", "及", "、", ",", "，"])  # two references, not a run
PLURAL_UNIT_WORD = re.compile(r"\b(para|art|subpara)s(?:\.|\b)|\b(paragraph|article|subparagraph)s\b", re.IGNORECASE)
LIST_SEPARATOR = re.compile(r"\s*(;|；|,|，|、|\band\b|以及|和|及|与)\s*", re.IGNORECASE)
WORDS_BEFORE_NUMBER = re.compile(r"^[^0-9(（第]*")  # "para. " of "para. 7 (c)"
LAST_ITEM = re.compile(rf"\s*{ITEM}\s*[项目]?\s*$")  # "(c)项" of "第7段(c)项"
ARTICLE_PREFIX = re.compile(rf"^.*?(?:{ARTICLE_WORD}\s*{NUMBER}|第\s*{NUMBER}\s*条)")  # "article 6" of "article 6, paragraph 3"
ZH_TREATY_PARAGRAPH_START = re.compile(rf"^第\s*{NUMBER}\s*款")
EN_PARAGRAPH_START = re.compile(rf"^{PARAGRAPH_WORD}\s*[0-9]")
# Where a reference written in a question may end: after a word, a ")" or a Chinese unit marker.
REFERENCE_END = re.compile(rf"(?<=[a-z0-9)])(?![a-z0-9])|(?<={ZH_UNIT})")

# ---------------------------------------------------------------- document names

# Titles a question writes, of any instrument, known or not ("the Firearms Protocol", 《儿童权利公约》):
# wider than a mention's document name, as a question may name what the corpus lacks.
ZH_INSTRUMENT_TITLE = re.compile(r"《([^》]{2,40})》")
EN_INSTRUMENT_TITLE = re.compile(
    r"\b([A-Z][\w'-]*(?:\s+(?:[A-Z][\w'-]*|in|of|against|on|the|and|by|for|to)){0,8}"
    r"\s+(?:Protocol|Convention|Covenant|Charter|Directive))\b"
)
# A UN document symbol: capital letters first, then slash-separated parts ("CTOC/COP/WG.4/2019/2",
# "A/RES/55/25", "EGM/2019/1", "E/CN.15/2019/L.1/Add.1"); one with a digit is a symbol (``symbols_in``).
DOCUMENT_SYMBOL = re.compile(r"(?<![\w/.-])[A-Z][A-Z0-9.]*(?:/[A-Z0-9][A-Za-z0-9.-]*)+")
# A capitalised word followed by a determiner opens a sentence ("Both the Protocol", "Must this
# Convention"), it is not part of a title: in titles a determiner follows a preposition ("against the").
SENTENCE_OPENER = re.compile(r"^[A-Z][\w'-]*\s+(?=(?:the|this|that|its|these|those|each|either|both)\s)")


def symbols_in(text: str) -> Iterator[re.Match[str]]:
    """The UN document symbols written in ``text``: symbol-shaped, with a digit ("and/or" is not one)."""
    return (m for m in DOCUMENT_SYMBOL.finditer(text) if any(c.isdigit() for c in m.group(0)))


def document_names(doc: Document) -> tuple[str, ...]:
    """The names a document goes by: its key, short names and aliases, as the manifest gives them."""
    return (doc.key, doc.short_en, doc.short_zh, *doc.aliases)


@dataclass(frozen=True)
class NameSpan:
    """Where a name stands in a text, and the documents it names (in the order given)."""

    start: int
    end: int
    keys: tuple[str, ...]


class NameMatcher:
    """The documents a text names: the one matcher of document names, for every reader.

    Built from (name, document key) pairs, each name folded as the text it is matched in will be
    (lower case for a document's own text, ``index.text_norm.normalize`` for what people type);
    empty names are dropped, and a name given for several documents names them all. Longest first,
    because a long name holds shorter ones ("偷运移民议定书", the Smuggling Protocol, holds "议定书",
    the Trafficking Protocol's); among names of one length the one given first comes first.
    """

    def __init__(self, named: Iterable[tuple[str, str]]) -> None:
        keys: dict[str, tuple[str, ...]] = {}
        for name, key in named:
            if name and key not in keys.get(name, ()):
                keys[name] = (*keys.get(name, ()), key)
        self._keys = keys

    @cached_property
    def names(self) -> list[str]:
        """Every name, longest first (sorted on first use: ``longest`` does without)."""
        return sorted(self._keys, key=len, reverse=True)

    def longest(self, text: str) -> str | None:
        """The document whose longest name ``text`` contains; None when it contains none."""
        found = max((name for name in self._keys if name in text), key=len, default=None)
        return self._keys[found][0] if found else None

    def contained(self, text: str) -> list[str]:
        """Every name ``text`` contains, longest first."""
        return [name for name in self.names if name in text]

    def spans(self, text: str, bounded: Callable[[str, int, int], bool] | None = None) -> Iterator[NameSpan]:
        """Every occurrence of a name in ``text``, longest first, each claiming its span: a shorter
        name inside a longer one found there is not found again. ``bounded(text, start, end)`` says
        whether an occurrence counts where it stands."""
        taken = [False] * len(text)
        for name in self.names:
            start = text.find(name)
            while start != -1:
                end = start + len(name)
                if (bounded is None or bounded(text, start, end)) and not any(taken[start:end]):
                    taken[start:end] = [True] * (end - start)
                    yield NameSpan(start, end, self._keys[name])
                start = text.find(name, start + 1)


_ASCII_WORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


def standalone(text: str, start: int, end: int) -> bool:
    """No ASCII letter or digit touches ``text[start:end]`` on either side: a symbol is written
    whole ("a/res/55/25" is not inside "a/res/55/251")."""
    return not (start and text[start - 1] in _ASCII_WORD_CHARS) and not (end < len(text) and text[end] in _ASCII_WORD_CHARS)


def word_start(text: str, start: int, end: int) -> bool:
    """A Latin name begins a word; its end is free, as topic cues are prefixes ("recommend" finds
    "recommended"). Chinese has no spaces, so a Chinese name counts anywhere."""
    return not text[start:end].isascii() or start == 0 or not text[start - 1].isalnum()


def _bare_name(name: str) -> str:
    return name.lower().removeprefix("the ").strip()


def resolve_alias(name: str, docs: Iterable[Document]) -> str | None:
    """The document key a name refers to, by the longest of the documents' names that it contains
    ("the Smuggling of Migrants Protocol" is the Smuggling Protocol, not the Protocol); None if none."""
    matcher = NameMatcher((_bare_name(n), doc.key) for doc in docs for n in document_names(doc))
    return matcher.longest(_bare_name(name))
