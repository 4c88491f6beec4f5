"""Structure of treaties: articles, numbered paragraphs, subparagraphs, sub-subparagraphs.

Pinpoints follow the way drafters cite: ``6`` (article), ``6(3)`` (paragraph),
``6(3)(d)`` (subparagraph), ``6(3)(d)(i)``; ``3(a)`` for an article whose
unnumbered text has lettered subparagraphs; ``preamble``. English and Chinese
markers are both recognised (``Article 6`` / ``第6条`` / ``第六条``; ``1.`` /
``一、`` / ``第一款``; ``a)`` / ``(a)`` / ``（a）``), so a Chinese text of a
protocol needs no code. Chapters are section metadata. Article numbers must
run 1, 2, 3, ...: a duplicate or a gap is an error naming the line.
"""

from __future__ import annotations

import re

from ingest.grammar import (
    ARTICLE_HEADING,
    CHAPTER_HEADING,
    CLAUSE_ENDINGS,
    CLOSING_LINE,
    LETTER_AFTER,
    PREAMBLE_HEADING,
    TREATY_LETTER,
    TREATY_PARAGRAPH,
    TREATY_ROMAN,
    cn_number,
)
from ingest.outline import Outline
from ingest.readers import Block
from ingest.units import IngestError, RawUnit

LEVEL_ARTICLE, LEVEL_PARAGRAPH, LEVEL_LETTER, LEVEL_ROMAN = 0, 1, 2, 3


def parse_treaty(blocks: list[Block], file: str) -> tuple[str, list[RawUnit]]:
    """Title and the units of a treaty text."""
    parser = _TreatyParser(file)
    for index, block in enumerate(blocks):
        parser.feed(block, blocks[index + 1] if index + 1 < len(blocks) else None)
    units = parser.outline.finish()
    if not any(u.parent is None and u.pinpoint != "preamble" for u in units):
        raise IngestError(file, blocks[-1].line if blocks else 1, "no articles found")
    return " ".join(parser.title), units


class _TreatyParser:
    """Line classifier; state is the current article, paragraph and letter."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.outline = Outline()
        self.title: list[str] = []
        self.chapter = ""
        self.article = 0
        self.paragraph = 0
        self.letter = ""
        self.expect_heading = False
        self.expect_chapter_title = False
        self.heading = ""
        self.closed = False
        self.seen: set[str] = set()

    def feed(self, block: Block, following: Block | None) -> None:
        text = block.text
        if self.closed:
            return
        if CLOSING_LINE.match(text):
            self.outline.close(0)
            self.closed = True
            return
        if self.expect_heading:
            self.expect_heading = False
            if not (TREATY_PARAGRAPH.match(text) or TREATY_LETTER.match(text)) and not text.endswith(CLAUSE_ENDINGS):
                self.heading = text
                self.outline.extend(block)
                return
        if self.expect_chapter_title:
            self.expect_chapter_title = False
            self.chapter = f"{self.chapter} {text}".strip()
            return
        if PREAMBLE_HEADING.match(text):
            if self.article or "preamble" in self.seen:
                raise IngestError(self.file, block.line, "a second preamble, or a preamble after the articles")
            self.seen.add("preamble")
            self.outline.open(LEVEL_ARTICLE, "preamble", block, section="Preamble")
            return
        article = ARTICLE_HEADING.match(text)
        if article:
            self._open_article(article, block)
            return
        chapter = CHAPTER_HEADING.match(text)
        if chapter and (chapter.group(4) or chapter.group(1)) and self._is_chapter(chapter, following):
            self.outline.close(0)
            numeral = chapter.group(1) or chapter.group(2) or chapter.group(3)
            self.chapter = f"{numeral} {chapter.group(4)}".strip()
            self.expect_chapter_title = not chapter.group(4)
            return
        if not self.article and self.outline.top(LEVEL_ARTICLE) != "preamble":
            self.title.append(text)
            return
        if self.article:
            self._feed_body(block)
        else:
            self.outline.extend(block)

    def _is_chapter(self, chapter: re.Match, following: Block | None) -> bool:
        """A bare roman numeral line is a chapter only when a title line follows."""
        if chapter.group(2) or chapter.group(3):
            return True
        return not chapter.group(4) and following is not None and not ARTICLE_HEADING.match(following.text)

    def _open_article(self, match: re.Match, block: Block) -> None:
        number = self._number(match.group(1) or match.group(2), block)
        if number != self.article + 1:
            what = "appears twice" if number <= self.article else "skips a number"
            raise IngestError(self.file, block.line, f"article {number} {what}: expected article {self.article + 1}")
        rest = match.group(3).strip()  # "第二条　宗旨": the heading on the article line
        self.article, self.paragraph, self.letter = number, 0, ""
        self.heading = rest if not rest.endswith(CLAUSE_ENDINGS) else ""
        self.outline.open(LEVEL_ARTICLE, str(number), block, section=self.chapter)
        self.expect_heading = not rest

    def _number(self, token: str, block: Block) -> int:
        try:
            return cn_number(token)
        except ValueError as exc:
            raise IngestError(self.file, block.line, str(exc)) from exc

    def _open_once(self, level: int, pinpoint: str, block: Block) -> None:
        """Letters and roman numerals are not numbered in sequence; a repeat would make two units with one ref."""
        if pinpoint in self.seen:
            raise IngestError(self.file, block.line, f"{pinpoint} appears twice")
        self.seen.add(pinpoint)
        self.outline.open(level, pinpoint, block, self.chapter, self.heading)

    def _feed_body(self, block: Block) -> None:
        text = block.text
        paragraph = TREATY_PARAGRAPH.match(text)
        roman = TREATY_ROMAN.match(text)
        letter = TREATY_LETTER.match(text)
        if paragraph:
            number = self._number(next(g for g in paragraph.groups() if g), block)
            if number != self.paragraph + 1:
                raise IngestError(
                    self.file, block.line,
                    f"article {self.article}: paragraph {number} out of sequence, expected {self.paragraph + 1}",
                )
            self.paragraph, self.letter = number, ""
            self.outline.open(LEVEL_PARAGRAPH, f"{self.article}({number})", block, self.chapter, self.heading)
        elif roman and self.letter and not self._is_letter(roman.group(1) or roman.group(2)):
            numeral = roman.group(1) or roman.group(2)
            self._open_once(LEVEL_ROMAN, f"{self._letter_pinpoint()}({numeral})", block)
        elif letter:
            self.letter = letter.group(1) or letter.group(2)
            self._open_once(LEVEL_LETTER, self._letter_pinpoint(), block)
        else:
            self.outline.extend(block)

    def _is_letter(self, token: str) -> bool:
        return token in LETTER_AFTER and LETTER_AFTER[token] == self.letter

    def _letter_pinpoint(self) -> str:
        base = f"{self.article}({self.paragraph})" if self.paragraph else str(self.article)
        return f"{base}({self.letter})"
