"""Renderings: unofficial translations of every unit into the other language, kept as data.

A delegate who reads only English cannot use a quote from the Chinese report; one who reads only
Chinese cannot use the English Protocol. Each document may have a rendering in the other language,
``<renderings_dir>/<doc key>.<lang>.jsonl``, one line per unit:

    {"ref": "report:8(b)", "text": "(b) Consider ...", "provenance": "...", "source_sha": "..."}

``text`` renders the unit's *own* words, up to its first sub-unit (``own_texts``), as each unit's
verbatim text contains its sub-units'; a unit's full rendering is its own followed by its
sub-units', joined as the source joins them. ``source_sha`` is the hash of the own text that was
rendered: when the document changes, a rendering of words that are no longer there is dropped
(with a warning) instead of being shown under the new text. A rendering is never a quotation:
every view labels it "Unofficial translation / 非官方译文", and an official language version of
the same document (index/versions.py) always takes precedence over it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ingest.units import Document, Unit, content_hash, own_texts

SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Rendering:
    """A unit's full unofficial translation into ``lang``."""

    ref: str
    lang: str
    text: str
    provenance: str
    own: str = ""  # the rendering of the unit's own words (for a sub-item's parent: its lead-in)

    def to_json(self) -> dict:
        return {"ref": self.ref, "lang": self.lang, "text": self.text, "provenance": self.provenance, "own": self.own}

    @classmethod
    def from_json(cls, data: dict) -> Rendering:
        return cls(data["ref"], data["lang"], data["text"], data["provenance"], data.get("own", ""))


@dataclass(frozen=True)
class RenderingLine:
    """One line of a renderings file: the translation of one unit's own words."""

    ref: str
    text: str
    provenance: str
    source_sha: str

    def to_json(self) -> dict:
        return {"ref": self.ref, "text": self.text, "provenance": self.provenance, "source_sha": self.source_sha}


def other_language(lang: str) -> str:
    return "en" if lang == "zh" else "zh"


def rendering_path(folder: Path, doc_key: str, lang: str) -> Path:
    return folder / f"{doc_key}.{lang}{SUFFIX}"


def source_sha(own_text: str) -> str:
    """The hash a rendering line records of the words it renders."""
    return content_hash(own_text)


def read_lines(path: Path) -> list[RenderingLine]:
    """The lines of one renderings file; a line that cannot be read names the file and line."""
    out = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                out.append(RenderingLine(data["ref"], data["text"], data.get("provenance", ""), data.get("source_sha", "")))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}, line {number}: not a rendering line ({exc})") from exc
    return out


def write_lines(path: Path, lines: list[RenderingLine]) -> None:
    """Write a renderings file atomically: a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line.to_json(), ensure_ascii=False) + "\n")
    tmp.replace(path)


def collect_renderings(folder: Path, docs: list[Document], units: list[Unit]) -> tuple[dict[str, Rendering], list[str]]:
    """Every unit's full rendering into the other language, where its document has one; and warnings
    (a stale or unknown line, a unit left unrendered) for the ingest to print."""
    own = own_texts(units)
    by_doc: dict[str, list[Unit]] = {}
    for unit in units:
        by_doc.setdefault(unit.doc, []).append(unit)
    renderings: dict[str, Rendering] = {}
    warnings: list[str] = []
    for doc in docs:
        lang = other_language(doc.language)
        path = rendering_path(folder, doc.key, lang)
        if not path.exists():
            continue
        own_rendered: dict[str, RenderingLine] = {}
        for line in read_lines(path):
            if line.ref not in own:
                warnings.append(f"{path.name}: {line.ref} is not a unit of {doc.key}; line ignored")
            elif line.source_sha and line.source_sha != source_sha(own[line.ref]):
                warnings.append(f"{path.name}: {line.ref} was rendered from other words than the document has now; not shown")
            else:
                own_rendered[line.ref] = line
        members = by_doc.get(doc.key, [])
        missing = [u.ref for u in members if u.ref not in own_rendered]
        if missing:
            warnings.append(f"{path.name}: {len(missing)} of {len(members)} units have no rendering (first: {missing[0]})")
        by_ref = {u.ref: u for u in members}
        for unit in members:
            text = _full(unit, by_ref, own_rendered)
            if text is not None:
                line = own_rendered[unit.ref]
                renderings[unit.ref] = Rendering(unit.ref, lang, text, line.provenance, line.text)
    return renderings, warnings


def _full(unit: Unit, by_ref: dict[str, Unit], own: dict[str, RenderingLine]) -> str | None:
    """The unit's own rendering followed by its sub-units' full renderings; None when any part is
    missing (half a translated article would read as the whole)."""
    if unit.ref not in own:
        return None
    parts = [own[unit.ref].text]
    for child in unit.children:
        text = _full(by_ref[child], by_ref, own)
        if text is None:
            return None
        parts.append(text)
    return "\n".join(parts)
