"""The verification gate every generated answer passes before a user sees it.

Rules (nothing a question, a document or a model writes can get around them):
- a citation is a ref in square brackets, ``[report:7(c)]`` or ``[report:7(c); tip-protocol:6]``;
  a cited ref that is not a unit of the corpus, or was not retrieved for this question, is
  removed from the text and flagged;
- text presented as a quotation (“…”, "…", 「…」, 『…』, or a ``>`` block) must occur verbatim in
  a unit it cites (the valid refs of the same line or block; else any valid ref of the answer).
  A quotation that does not is replaced with the verbatim text of the cited unit, or dropped when
  nothing is cited to repair it from. A quotation labelled as an unofficial translation is exempt;
- an answer left with no valid citation is not an answer: the caller turns it into
  "not found in the documents" with the closest units (``Verified.valid`` is False).

The gate only reads ``index.by_ref`` (unit texts) and the retrieved refs; it never trusts the model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

BRACKET = re.compile(r"\[([^\[\]\n]{1,300})\]")
REF_SHAPE = re.compile(r"^[a-z][a-z0-9-]*:[0-9A-Za-z()._-]+$")
QUOTE_PAIRS = (("“", "”"), ('"', '"'), ("「", "」"), ("『", "』"))
QUOTED = re.compile("|".join(f"{re.escape(a)}([^{re.escape(b)}\\n]{{1,4000}}){re.escape(b)}" for a, b in QUOTE_PAIRS))
UNOFFICIAL = re.compile(r"(unofficial|non-official|非官方|非正式)[^\n]{0,40}$", re.IGNORECASE)
SPACES = re.compile(r"\s+")


@dataclass
class Verified:
    """The gated answer text, the valid refs it cites in order, and what was removed or repaired."""

    text: str
    refs: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return bool(self.refs)


def _squash(text: str) -> str:
    return SPACES.sub(" ", text).strip()


def cited_refs(text: str) -> list[str]:
    """Every ref-shaped item inside square brackets, in order (valid or not)."""
    out = []
    for match in BRACKET.finditer(text):
        out.extend(part for part in _parts(match.group(1)) if REF_SHAPE.match(part))
    return out


def _parts(inside: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;，；、]|\s+and\s+", inside) if p.strip()]


def verify(text: str, retrieved: Iterable[str], units: Mapping[str, object]) -> Verified:
    """Apply the gate to a generated answer. ``units``: ref -> Unit (``index.by_ref``)."""
    allowed = {ref for ref in retrieved if ref in units}
    flags: list[str] = []
    text = _strip_refs(text, allowed, units, flags)
    valid_all = _valid_in(text, allowed)
    text = _check_blocks(text, allowed, units, valid_all, flags)
    text = "\n".join(_check_inline(line, allowed, units, valid_all, flags) for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return Verified(text=text, refs=_valid_in(text, allowed), flags=flags)


def _valid_in(text: str, allowed: set[str]) -> list[str]:
    seen: list[str] = []
    for ref in cited_refs(text):
        if ref in allowed and ref not in seen:
            seen.append(ref)
    return seen


def _strip_refs(text: str, allowed: set[str], units: Mapping[str, object], flags: list[str]) -> str:
    """Keep bracketed refs that are real and retrieved; drop the others (and flag them)."""

    def repl(match: re.Match) -> str:
        parts = _parts(match.group(1))
        if not any(REF_SHAPE.match(p) for p in parts):
            return match.group(0)  # not a citation ("[sic]", "[1]"): left alone
        kept = []
        for part in parts:
            if part in allowed:
                kept.append(part)
            elif part in units:
                flags.append(f"removed citation [{part}]: not retrieved for this question")
            else:
                flags.append(f"removed citation [{part}]: no such unit in the documents")
        return f"[{'; '.join(kept)}]" if kept else ""

    return BRACKET.sub(repl, text)


def _occurs(quote: str, refs: list[str], units: Mapping[str, object]) -> bool:
    squashed = _squash(quote)
    return bool(squashed) and any(
        quote in units[ref].text or squashed in _squash(units[ref].text) for ref in refs
    )


def _check_blocks(text: str, allowed, units, valid_all: list[str], flags: list[str]) -> str:
    """``>`` blocks: the quoted lines (refs removed) must occur verbatim in a unit the block cites."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith(">"):
            out.append(lines[i])
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].lstrip().startswith(">"):
            j += 1
        block = lines[i:j]
        body = "\n".join(re.sub(r"^\s*>\s?", "", line) for line in block)
        near = "\n".join(block + lines[j : j + 1] + lines[max(0, i - 1) : i])
        refs = _valid_in(near, allowed) or valid_all
        quote = BRACKET.sub("", body).strip()
        if not quote or _occurs(quote, refs, units):
            out.extend(block)
        elif refs:
            flags.append(f"replaced a quotation not found verbatim in [{refs[0]}] with its text")
            out.append(f"> {units[refs[0]].text} [{refs[0]}]")
        else:
            flags.append("dropped a quotation that cites no retrieved unit")
        i = j
    return "\n".join(out)


def _check_inline(line: str, allowed, units, valid_all: list[str], flags: list[str]) -> str:
    if line.lstrip().startswith(">"):
        return line
    refs = _valid_in(line, allowed) or valid_all
    pieces: list[str] = []
    last = 0
    for match in QUOTED.finditer(line):
        quote = next(g for g in match.groups() if g is not None)
        pieces.append(line[last : match.start()])
        last = match.end()
        if _occurs(quote, refs, units) or UNOFFICIAL.search(line[: match.start()]):
            pieces.append(match.group(0))
        elif refs:
            flags.append(f"replaced a quotation not found verbatim in [{refs[0]}] with its text")
            opening, closing = match.group(0)[0], match.group(0)[-1]
            pieces.append(f"{opening}{units[refs[0]].text}{closing}")
        else:
            flags.append("dropped a quotation that cites no retrieved unit")
    pieces.append(line[last:])
    return "".join(pieces)


class StreamGate:
    """Filters streamed text so that no invalid citation is ever shown, even for a moment.

    Text is passed on as it comes, except from an unclosed ``[`` on, which is held until its
    ``]`` arrives (or 300 characters pass) and then goes out with invalid refs removed. Quotations
    are checked on the whole answer (``verify``); the final answer replaces the streamed text.
    """

    def __init__(self, retrieved: Iterable[str], units: Mapping[str, object]) -> None:
        self.allowed = {ref for ref in retrieved if ref in units}
        self.units = units
        self.held = ""

    def feed(self, delta: str) -> str:
        self.held += delta
        out = []
        while self.held:
            start = self.held.find("[")
            if start < 0:
                out.append(self.held)
                self.held = ""
                break
            out.append(self.held[:start])
            self.held = self.held[start:]
            end = self.held.find("]")
            if end < 0:
                if len(self.held) <= 300 and "\n" not in self.held:
                    break
                end = len(self.held) - 1
            chunk, self.held = self.held[: end + 1], self.held[end + 1 :]
            out.append(_strip_refs(chunk, self.allowed, self.units, []))
        return "".join(out)

    def flush(self) -> str:
        rest, self.held = self.held, ""
        return "" if re.match(r"\[\s*[a-z][a-z0-9-]*:", rest) else rest  # a ref cut off by the end
