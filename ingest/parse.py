"""Parse one manifest document into Units: structure, labels, lead-ins, links, tokens."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ingest.crossrefs import find_links
from ingest.labels import label_en, label_zh, split_pinpoint
from ingest.readers import blocks, read_text
from ingest.treaty_articles import parse_treaty
from ingest.un_paragraphs import parse_report
from ingest.units import Document, Unit, content_hash


@lru_cache(maxsize=2)
def _encoding(name: str):
    import tiktoken

    return tiktoken.get_encoding(name)


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    return len(_encoding(encoding).encode(text, disallowed_special=()))


def parse_documents(docs: list[Document], corpus_dir: Path, encoding: str = "cl100k_base") -> list[Unit]:
    """All units of every document of ``docs``, in manifest order: one parse of the corpus.

    Each document's structure is parsed once for the links of all the others, and forgotten when
    this parse ends: the next parse reads the files as they are then (a document added or edited
    in between), so no link points at a provision that is gone.
    """
    structures: dict[str, frozenset[str]] = {}
    return [unit for doc in docs for unit in parse_document(doc, corpus_dir, docs, encoding, structures)]


def parse_document(
    doc: Document, corpus_dir: Path, docs: list[Document], encoding: str = "cl100k_base",
    structures: dict[str, frozenset[str]] | None = None,
) -> list[Unit]:
    """All units of ``doc``, in document order; raises IngestError on bad structure.

    ``structures``: the refs of the other documents parsed so far in the same parse of the corpus
    (``parse_documents``), by key, filled here as they are parsed; without it each is parsed anew.
    """
    path = corpus_dir / doc.file
    if not path.exists():
        raise FileNotFoundError(f"{doc.key}: file {path} listed in the manifest does not exist")
    text = read_text(path)
    parse = parse_report if doc.kind == "report" else parse_treaty
    _title, raw_units = parse(blocks(text), doc.file)
    by_pin = {r.pinpoint: r for r in raw_units}
    children: dict[str, list[str]] = {}
    for r in raw_units:
        if r.parent:
            children.setdefault(r.parent, []).append(r.pinpoint)
    existing = _existing_refs(doc, by_pin, docs, corpus_dir, {} if structures is None else structures)
    units = []
    for r in raw_units:
        body = text[r.start : r.end]
        parent = by_pin.get(r.parent) if r.parent else None
        lead_in = text[parent.start : parent.own_end] if parent else ""
        article = split_pinpoint(r.pinpoint)[0] if doc.kind == "treaty" else None
        own = text[r.start : r.own_end]
        links = [x for x in find_links(own, doc, article, docs, existing) if not _is_self(x, doc.key, r.pinpoint)]
        units.append(
            Unit(
                doc=doc.key, pinpoint=r.pinpoint, text=body, lead_in=lead_in, section=r.section,
                heading=r.heading, lang=doc.language, label_en=label_en(doc, r.pinpoint),
                label_zh=label_zh(doc, r.pinpoint), start=r.start, end=r.end, line=r.line,
                parent=f"{doc.key}:{r.parent}" if r.parent else None,
                children=tuple(f"{doc.key}:{c}" for c in children.get(r.pinpoint, ())),
                links=tuple(links), tokens=count_tokens(body, encoding),
                sha=content_hash(doc.key, r.pinpoint, body, lead_in, r.heading),
            )
        )
    return units


def _is_self(ref: str, key: str, pinpoint: str) -> bool:
    """A unit citing its own article ("paragraph 1 of this article") is not a link."""
    target = ref.split(":", 1)[1]
    return ref.startswith(f"{key}:") and (pinpoint == target or pinpoint.startswith(target + "("))


class KnownRefs:
    """The refs of every document of the corpus, by document, for ``in`` tests.

    Why not one set: each document needs this document's fresh refs plus all the
    others', and copying the corpus's refs into a new set for each document costs
    documents x refs, a large share of parsing a big corpus (docs/experiments.md).
    """

    def __init__(self, by_doc: dict[str, frozenset[str]]) -> None:
        self._by_doc = by_doc

    def __contains__(self, ref: object) -> bool:
        return isinstance(ref, str) and ref in self._by_doc.get(ref.split(":", 1)[0], frozenset())


def _existing_refs(
    doc: Document, own: dict, docs: list[Document], corpus_dir: Path, structures: dict[str, frozenset[str]]
) -> KnownRefs:
    """Refs of this document and of every other one, parsed structure only (no links)."""
    by_doc = {doc.key: frozenset(f"{doc.key}:{p}" for p in own)}
    for other in docs:
        if other.key == doc.key:
            continue
        if other.key not in structures:
            try:
                other_text = read_text(corpus_dir / other.file)
                parse = parse_report if other.kind == "report" else parse_treaty
                structures[other.key] = frozenset(f"{other.key}:{r.pinpoint}" for r in parse(blocks(other_text), other.file)[1])
            except (OSError, ValueError):
                structures[other.key] = frozenset()
        by_doc[other.key] = structures[other.key]
    return KnownRefs(by_doc)
