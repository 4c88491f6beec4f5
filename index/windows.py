"""What gets embedded for a unit: its context line plus sentence windows of its text.

A unit longer than the embedding window is embedded as several windows that
all keep the unit's ref; its dense score is the best window's. The context
line (document, article heading, parent's lead-in) goes in front of every
window, because "(c) Appropriate housing;" means nothing without "art. 6,
para. 3: ... the provision of:".
"""

from __future__ import annotations

import re

from ingest.parse import count_tokens
from ingest.units import Unit

WINDOW_SEP = "#"  # a window's id is "<ref>#<n>": the ref is read back from the id alone
RENDERED_MARK = "t"  # a window of the unit's rendering (its unofficial translation) is "<ref>#t<n>"
SENTENCE_END = re.compile(r"(?<=[。；;！？!?])|(?<=[.:])\s+(?=[A-Z(“\"])|\n")
LEAD_IN_CHARS = 200


def window_id(ref: str, number: int, rendered: bool = False) -> str:
    return f"{ref}{WINDOW_SEP}{RENDERED_MARK if rendered else ''}{number}"


def is_rendered(node_id: str) -> bool:
    """Whether a window embeds the unit's rendering rather than its official text."""
    return node_id.rsplit(WINDOW_SEP, 1)[1].startswith(RENDERED_MARK)


def window_ref(node_id: str) -> str:
    """The unit ref of a window id. Retrieval asks Chroma for ids and distances only: fetching
    each hit's metadata as well costs several times the bare query (docs/experiments.md)."""
    return node_id.rsplit(WINDOW_SEP, 1)[0]


def context_line(unit: Unit, doc_name: str) -> str:
    """Document name, article heading and the parent's lead-in, shortened."""
    parts = [doc_name]
    if unit.heading:
        parts.append(unit.heading)
    if unit.lead_in and unit.lead_in != unit.heading:
        lead = unit.lead_in.replace("\n", " ")
        parts.append(lead[:LEAD_IN_CHARS])
    return " | ".join(parts)


def windows(text: str, max_tokens: int) -> list[str]:
    """Greedy packing of sentences into windows of at most ``max_tokens`` (cl100k) tokens."""
    if count_tokens(text) <= max_tokens:
        return [text]
    out: list[str] = []
    current = ""
    for sentence in (s.strip() for s in SENTENCE_END.split(text)):
        if not sentence:
            continue
        candidate = f"{current} {sentence}".strip()
        if current and count_tokens(candidate) > max_tokens:
            out.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def rendered_texts(unit: Unit, own_rendering: str, lead_in: str, doc_name: str, max_tokens: int) -> list[str]:
    """The strings embedded for a unit's rendering: as ``embedding_texts``, in the rendering's
    language (the document's name and the parent's rendered lead-in before each window)."""
    parts = [doc_name] + ([lead_in.replace("\n", " ")[:LEAD_IN_CHARS]] if lead_in else [])
    prefix = " | ".join(parts)
    return [f"{prefix}\n{w}" for w in windows(own_rendering, max_tokens)]


def embedding_texts(unit: Unit, own_text: str, doc_name: str, max_tokens: int) -> list[str]:
    """The strings embedded for ``unit``, one per window of its own text.

    Only the unit's own text is embedded (for a parent: up to its first sub-unit);
    the sub-units' texts are embedded once, as theirs, and retrieval lifts a
    sub-unit's score to its ancestors, so no text is embedded twice (docs/experiments.md).
    """
    prefix = context_line(unit, doc_name)
    return [f"{prefix}\n{w}" for w in windows(own_text, max_tokens)]
