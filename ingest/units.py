"""The document model: a Document from the manifest, and the Units parsed from it.

A Unit is the smallest thing Pinpoint can cite: report para. 7 (c), Protocol
art. 6 (3)(d). Its ``text`` is the verbatim span ``source[start:end]``; every
quote Pinpoint shows comes from this field and nothing else.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Document:
    """One entry of ``documents.toml``."""

    key: str
    symbol: str
    kind: str  # "report" | "treaty"
    language: str  # "zh" | "en"
    file: str
    title_en: str
    title_zh: str
    short_en: str
    short_zh: str
    aliases: tuple[str, ...] = ()
    cues: tuple[str, ...] = ()  # topic words that point a question at this document


class IngestError(ValueError):
    """A document that cannot be parsed; names the file and line so the user can fix it."""

    def __init__(self, file: str, line: int, message: str):
        super().__init__(f"{file}, line {line}: {message}")
        self.file = file
        self.line = line


@dataclass(frozen=True)
class RawUnit:
    """What a structure parser finds: a pinpoint and where it sits in the source."""

    pinpoint: str
    start: int
    end: int
    own_end: int  # end of the unit's own text before its first child (its lead-in for children)
    line: int
    parent: str | None
    section: str = ""
    heading: str = ""


@dataclass(frozen=True)
class Unit:
    """A citable unit with everything the index, `cite` and the answerer need."""

    doc: str
    pinpoint: str
    text: str
    lead_in: str
    section: str
    heading: str
    lang: str
    label_en: str
    label_zh: str
    start: int
    end: int
    line: int
    parent: str | None
    children: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    tokens: int = 0
    sha: str = field(default="")

    @property
    def ref(self) -> str:
        return f"{self.doc}:{self.pinpoint}"

    def label(self, language: str) -> str:
        """The citation label in the reader's language ("zh" or "en")."""
        return self.label_zh if language == "zh" else self.label_en

    def to_json(self) -> dict:
        data = asdict(self)
        data["children"] = list(self.children)
        data["links"] = list(self.links)
        return data

    @classmethod
    def from_json(cls, data: dict) -> Unit:
        data = dict(data)
        data["children"] = tuple(data.get("children", ()))
        data["links"] = tuple(data.get("links", ()))
        return cls(**data)


def content_hash(*parts: str) -> str:
    """Stable hash of a unit's content, so unchanged units are never re-embedded."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def own_texts(units: list[Unit]) -> dict[str, str]:
    """Each unit's text before its first sub-unit (the whole text for a leaf): what is its own and
    not its sub-units' (embedded once, rendered once)."""
    by_ref = {u.ref: u for u in units}
    out = {}
    for unit in units:
        if unit.children:
            first = by_ref[unit.children[0]]
            out[unit.ref] = unit.text[: first.start - unit.start].rstrip()
        else:
            out[unit.ref] = unit.text
    return out
