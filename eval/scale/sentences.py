"""The real text a generated corpus is made of: sentences, clauses, lead-ins and headings.

Why from the shipped corpus: a scale test on lorem ipsum would measure a
different tokenizer load, a different BM25 vocabulary and embeddings that
cluster nothing like UN prose. Recombining the corpus's own sentences keeps
all three realistic. Lines are classified with the ingest parsers' own
patterns, and every kept string is checked against them too, so a generated
line can never be mistaken for a structural marker it does not mean.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.grammar import (
    ARTICLE_HEADING,
    CHAPTER_HEADING,
    CLOSING_LINE,
    CN_HEADING_NUMERAL,
    PREAMBLE_HEADING,
    REPORT_HEADING,
    REPORT_ITEM,
    REPORT_PARAGRAPH,
    TREATY_CHAPTER_NUMERAL,
    TREATY_LETTER,
    TREATY_PARAGRAPH,
    TREATY_ROMAN,
)
from ingest.manifest import load_manifest
from ingest.readers import FURNITURE, blocks, read_text

# Patterns that give a line structural meaning in some parser: a pool string must start with none of them.
STRUCTURAL = (
    REPORT_PARAGRAPH, REPORT_ITEM, REPORT_HEADING, ARTICLE_HEADING, TREATY_PARAGRAPH, TREATY_LETTER,
    TREATY_ROMAN, PREAMBLE_HEADING, CLOSING_LINE, FURNITURE,
)
MARKER = re.compile(rf"^(?:\d{{1,4}}\s*[.．]\s*|[(（]?[a-z]{{1,4}}[)）]\s*|{CN_HEADING_NUMERAL}[.、．]\s*|[A-Z]\.\s*)")
ZH_SENTENCE = re.compile(r"[^。]+。?")
EN_SENTENCE = re.compile(r"(?<=\.)\s+(?=[A-Z“\"])")
CLAUSE_END = re.compile(r"(?:[;；]\s*(?:and|or)?|[.。,，])$")
TERMINAL = (".", "。", ":", "：", ";", "；", ",", "，")
MIN_CHARS = 6  # shorter pieces are fragments ("5.", "Notes:"), not sentences
MIN_HEADING_CHARS = 2  # "导言", "建议" are real section titles


@dataclass
class Pool:
    """One language's real text, by the role it can play in a generated document."""

    sentences: list[str] = field(default_factory=list)  # end with . or 。
    lead_ins: list[str] = field(default_factory=list)  # end with : or ：
    clauses: list[str] = field(default_factory=list)  # sub-item text without its terminator
    headings: list[str] = field(default_factory=list)  # article headings or section titles, no punctuation
    preamble: list[str] = field(default_factory=list)  # "Recognizing that ...," lines

    def add_text(self, text: str, language: str) -> None:
        """A paragraph's text: its sentences, and a trailing lead-in."""
        pieces = ZH_SENTENCE.findall(text) if language == "zh" else EN_SENTENCE.split(text)
        for piece in (p.strip() for p in pieces):
            if piece.endswith((".", "。")):
                _keep(self.sentences, piece)
            elif piece.endswith((":", "：")):
                _keep(self.lead_ins, piece)

    def add_clause(self, text: str) -> None:
        _keep(self.clauses, CLAUSE_END.sub("", text).strip())


def load_pools(corpus_dir: Path) -> dict[str, Pool]:
    """{"zh": Pool, "en": Pool} from every document of the corpus, in a stable order."""
    pools = {"zh": Pool(), "en": Pool()}
    for doc in load_manifest(corpus_dir):
        lines = [b.text for b in blocks(read_text(corpus_dir / doc.file))]
        collect = _collect_report if doc.kind == "report" else _collect_treaty
        collect(lines, pools[doc.language], doc.language)
    zh = pools["zh"]
    zh.preamble = zh.preamble or [s.rstrip("。") + "，" for s in zh.sentences]  # no Chinese treaty is shipped
    for pool in pools.values():
        for name in ("sentences", "lead_ins", "clauses", "headings", "preamble"):
            if not getattr(pool, name):
                raise ValueError(f"the corpus in {corpus_dir} yields no {name}; it cannot seed a generated corpus")
    return pools


def _collect_report(lines: list[str], pool: Pool, language: str) -> None:
    """Report lines: headings (their titles), paragraphs (sentences), sub-items (clauses)."""
    for line in lines:
        if REPORT_HEADING.match(line) and not REPORT_PARAGRAPH.match(line):
            _keep(pool.headings, MARKER.sub("", line), MIN_HEADING_CHARS)
        elif REPORT_ITEM.match(line):
            pool.add_clause(MARKER.sub("", line))
        elif REPORT_PARAGRAPH.match(line):
            pool.add_text(MARKER.sub("", line), language)


def _collect_treaty(lines: list[str], pool: Pool, language: str) -> None:
    """Treaty lines: article and chapter headings, preamble lines, paragraphs, subparagraphs."""
    previous = ""
    in_preamble = False
    for line in lines:
        if CLOSING_LINE.match(line):
            break
        chapter = CHAPTER_HEADING.match(line)
        if ARTICLE_HEADING.match(line) or (chapter and not chapter.group(4)):
            in_preamble = False
        elif (ARTICLE_HEADING.match(previous) or re.fullmatch(TREATY_CHAPTER_NUMERAL, previous)) and not line.endswith(TERMINAL):
            _keep(pool.headings, line, MIN_HEADING_CHARS)
        elif PREAMBLE_HEADING.match(line):
            in_preamble = True
        elif in_preamble:
            if line.endswith((",", "，")):
                _keep(pool.preamble, line)
        elif TREATY_LETTER.match(line) or TREATY_ROMAN.match(line):
            pool.add_clause(MARKER.sub("", line))
        else:
            pool.add_text(MARKER.sub("", line), language)
        previous = line


def _keep(bucket: list[str], text: str, min_chars: int = MIN_CHARS) -> None:
    """Append ``text`` once, if it is long enough and starts with no structural marker."""
    text = text.strip()
    if len(text) >= min_chars and "\n" not in text and text not in bucket and not _structural(text):
        bucket.append(text)


def _structural(text: str) -> bool:
    return any(pattern.match(text) for pattern in STRUCTURAL)
