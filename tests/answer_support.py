"""Reading an extractive answer's text the way its reader does (services/answer.py composes it).

The verbatim text of every cited unit is a Markdown quote: one "> " line per line of the unit's
text (">" alone for an empty line), the lines in order. Everything else (the short answer, the
lead, labels, lead-in notes, unofficial translations) is the answer's own words.
"""

from __future__ import annotations

import re

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
# The one fixed bilingual label of an unofficial translation: "Unofficial translation / 非官方译文".
UNOFFICIAL_LABEL = "非官方译文"


def quote_block(text: str) -> list[str]:
    """``text`` as the answer quotes it: its lines as Markdown quote lines."""
    return [f"> {line}" if line else ">" for line in text.split("\n")]


def is_quoted(text: str, answer: str) -> bool:
    """Every line of ``text`` is a "> " line of ``answer``, all of them together and in order."""
    block, lines = quote_block(text), answer.split("\n")
    return any(lines[i : i + len(block)] == block for i in range(len(lines) - len(block) + 1))


def quote_lines(answer: str) -> list[str]:
    """The answer's quote lines, without their "> " marker."""
    return [line[2:] if line.startswith("> ") else line[1:] for line in answer.split("\n") if line.startswith(">")]


def own_words(answer: str) -> str:
    """All of the answer but its verbatim quotes."""
    return "\n".join(line for line in answer.split("\n") if not line.startswith(">"))


def short_answer(answer: str) -> list[str]:
    """The short answer's bullet lines: from the first line to the first blank line, less the heading."""
    head = answer.split("\n\n", 1)[0].split("\n")
    return [line for line in head[1:] if line.startswith("- ")]


def retrieved_json(found) -> list[dict]:
    """A ``Retrieval``'s hits as the JSON contract lists them ({"ref", "score"}, scores to 4 places)."""
    return [{"ref": hit.ref, "score": round(hit.score, 4)} for hit in found.hits]
