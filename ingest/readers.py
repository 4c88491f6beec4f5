"""Read a document file (.txt, .md, .pdf, .docx) into text and its non-empty lines.

Every format ends as one text with one structural block per line, so the
structure parsers never care where the text came from. PDF line breaks are
joined back into blocks (a line that starts with a paragraph, item or article
marker starts a new block) and UN page furniture is dropped: the symbol line
and the "5/6 V.17-06892" job-number line repeated on every page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest.grammar import LEAD_IN_ENDINGS, PDF_BLOCK_END, PDF_BLOCK_START
from ingest.units import IngestError

SUPPORTED = (".txt", ".md", ".pdf", ".docx")

# Running headers and footers of UN documents.
FURNITURE = re.compile(
    r"^(?:\d+/\d+\s+)?V\.\d{2}-\d{5}(?:\s+\d+/\d+)?$"  # job number, with or without page "5/6"
    r"|^[A-Z]{1,6}(?:/[A-Z0-9.]+){2,}$"  # document symbol alone on a line
    r"|^\d{1,3}$"  # bare page number
    r"|^-\s*\d{1,3}\s*-$"
)
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@dataclass(frozen=True)
class Block:
    """A non-empty line: ``text == source[start:end]`` and ``line`` is 1-based."""

    line: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Extracted:
    """A file read once: ``text`` is what ingest parses, ``lines`` the lines as extracted, page
    furniture kept (a UN document's symbol stands alone on its first line, which ``text`` drops as
    a running header; ``ingest.detect`` reads it from here)."""

    text: str
    lines: list[str]


def read_text(path: Path) -> str:
    """The document's text, one block per line; a clear error when it cannot be read."""
    return extract(path).text


def extract(path: Path) -> Extracted:
    """The document's text and its raw lines; a clear error when it cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(path.name, 0, f"unsupported file type {suffix!r}; use {', '.join(SUPPORTED)}")
    if suffix == ".pdf":
        lines = _pdf_lines(path)
        text = _join_lines(lines)
    else:
        text = _docx_text(path) if suffix == ".docx" else _decode(path)
        lines = text.split("\n")
    text = "\n".join(line for line in text.split("\n") if not FURNITURE.match(line.strip()))
    if not text.strip():
        raise IngestError(path.name, 1, "the document has no text (empty file, or a PDF without a text layer)")
    return Extracted(text, lines)


def blocks(text: str) -> list[Block]:
    """Non-empty lines with their offsets, surrounding white space excluded."""
    out = []
    pos = 0
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped:
            start = pos + line.index(stripped)
            out.append(Block(number, start, start + len(stripped), stripped))
        pos += len(line) + 1
    return out


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(path.name, 1, "the file is UTF-16; save it as UTF-8")
    if b"\x00" in raw:  # no text file holds NUL bytes: UTF-16 without a BOM, or not text at all
        raise IngestError(path.name, 1, "the file holds NUL bytes: binary data, or UTF-16 text; save the text as UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise IngestError(path.name, line, "the file is not UTF-8 (GBK or another legacy encoding?); save it as UTF-8") from exc
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _pdf_lines(path: Path) -> list[str]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # pypdf raises many types for broken files
        raise IngestError(path.name, 0, f"cannot read the PDF: {exc}") from exc
    return [line for page in pages for line in page.split("\n")]


def _docx_text(path: Path) -> str:
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises zipfile and KeyError variants
        raise IngestError(path.name, 0, f"cannot read the .docx file: {exc}") from exc
    return "\n".join(p.text for p in document.paragraphs)


def _join_lines(lines: list[str]) -> str:
    """Re-join wrapped PDF lines into one block per line."""
    joined: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line or FURNITURE.match(line):
            continue
        if joined and not PDF_BLOCK_START.match(line) and not _ends_block(joined[-1]):
            sep = "" if CJK.search(joined[-1][-1:]) and CJK.search(line[:1]) else " "
            joined[-1] = joined[-1] + sep + line
        else:
            joined.append(line)
    return "\n".join(joined)


def _ends_block(line: str) -> bool:
    """An article line, a chapter numeral or a lead-in ending in a colon closes its block."""
    return line.endswith(LEAD_IN_ENDINGS) or bool(PDF_BLOCK_END.match(line))
