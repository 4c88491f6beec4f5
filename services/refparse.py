"""Read what a user types into ``cite`` as a reference: "art. 6(3)(d)", "第8段(j)项", "tip-protocol:6(3)(d)".

Why a parser of its own: ``cite`` must answer *exactly* the unit a person names,
in the forms people actually write (UN English and Chinese citation styles, our
own labels pasted back, raw refs, traditional characters, full-width digits),
and must say "this is not a reference" for a phrase so the caller can search
instead of guessing. Everything here is deterministic and index-free: it works
from the manifest (``Document``) and a set of existing refs only.

Three steps, three functions:

* ``parse_reference`` turns text into a ``ParsedRef`` (document, pinpoint, kind)
  or ``None``. The query is normalised with ``index.text_norm.normalize``
  (NFKC + lower case + traditional -> simplified), the pinpoint expression is
  found, and whatever text is left must be a document name (decided by
  ``ingest.grammar.resolve_alias``, the same alias matching ingest uses) or
  filler ("of the", "的"); anything else means the query is a phrase.
* ``resolve`` maps a ``ParsedRef`` to the existing ref it names, with one
  tolerance ("3(1)(a)" for an article without numbered paragraphs is "3(a)").
* ``nearest`` suggests existing refs when the named one does not exist.

Two helpers serve questions rather than ``cite``: ``first_explicit`` (where a reference a
question writes out among other words starts; ``services.refrange.mentioned_spans`` reads it
from there) and ``relative_reference`` (a follow-up's "its paragraph 2" / "(d)项" read within
the provision just cited).

Rejected on purpose by ``parse_reference`` (it returns ``None``): several references in one query
("articles 6 and 7", "paras. 7 and 8": ``services.refrange`` reads those), a paragraph of a treaty without its
article ("第3款"), malformed items ("art. 6 (bis)", "6(3)(4)"), numbers of four
or more digits (years, symbols), and any reference-shaped text with words that
are not a document name ("victims in paragraph 3").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from index.text_norm import normalize
from ingest.grammar import (
    BARE_PINPOINT,
    EN_ARTICLE_REF,
    EN_PARAGRAPH_REF,
    EN_REVERSED_REF,
    ITEM_TEXT,
    LETTER_OR_ROMAN_ITEM,
    NEIGHBOUR,
    NEIGHBOUR_FORWARD,
    NEIGHBOUR_LEVEL,
    PREAMBLE_WORD,
    RAW_REF,
    REFERENCE_FILLER,
    RELATIVE_ITEM,
    RELATIVE_PARAGRAPH,
    UNBRACKETED_ITEM,
    ZH_ARTICLE_REF,
    ZH_NUMERAL_ITEM,
    ZH_ORDINAL,
    ZH_PARAGRAPH_REF,
    ZH_UNBRACKETED_ITEM,
    NameMatcher,
    cn_number,
    document_names,
    is_roman,
    letter_item,
    resolve_alias,
    roman_item,
    roman_value,
    standalone,
)
from ingest.labels import split_pinpoint
from ingest.units import Document

PARAGRAPH_STYLE = "paragraph"  # report style: "7", "7(c)"
ARTICLE_STYLE = "article"  # treaty style: "6", "6(3)", "6(3)(d)", "3(a)", "preamble"
PREAMBLE = "preamble"  # the pinpoint of a treaty's preamble

# A reference is short; a long text is a question or a passage, never a reference.
MAX_QUERY_CHARS = 200


@dataclass(frozen=True)
class ParsedRef:
    """What a query names; ``doc`` is None when the document cannot be decided."""

    doc: str | None  # document key when named or implied, None when not decidable
    pinpoint: str  # e.g. "6(3)(d)"
    kind: str  # "paragraph" (report style) or "article" (treaty style)
    # When ``doc`` is a default, not a name: the other documents of its kind, tried when it lacks
    # the pinpoint ("art. 18(15)(f)": the Trafficking Protocol has no article 18(15), the Convention has).
    alternatives: tuple[str, ...] = field(default=(), compare=False)

    @property
    def ref(self) -> str | None:
        return f"{self.doc}:{self.pinpoint}" if self.doc else None


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    head: str
    parts: tuple[str, ...]
    kind: str | None  # None: decided by the document or by the shape ("7(c)" vs "6(3)")

    @property
    def pinpoint(self) -> str | None:
        """The canonical pinpoint it names, or None when its items are not one."""
        return PREAMBLE if self.head == PREAMBLE else _pinpoint(self.head, list(self.parts))


# ---------------------------------------------------------------- parsing


def parse_reference(
    query: str, docs: list[Document], default_report: str = "report", default_treaty: str = "tip-protocol"
) -> ParsedRef | None:
    """None when the query is not a reference (a phrase to search instead).

    A reference without a document name goes to ``default_report`` (paragraph
    style) or ``default_treaty`` (article style), because in Pinpoint's corpus
    "para. 7" means the report and "art. 6" means the Trafficking Protocol.
    When the named document contradicts the pinpoint style ("report, art. 6")
    the document is not decidable and ``doc`` is None.
    """
    if not isinstance(query, str) or not query.strip() or len(query) > MAX_QUERY_CHARS:
        return None
    text = UNBRACKETED_ITEM.sub(r"\1(\2)", prepare(query))
    if not text:
        return None
    by_key = {d.key.lower(): d for d in docs}
    raw = RAW_REF.match(text)
    if raw and raw["key"] in by_key:
        doc = by_key[raw["key"]]
        if raw["pin"] == PREAMBLE:
            return ParsedRef(doc.key, PREAMBLE, ARTICLE_STYLE)
        pin = _pinpoint(raw["pin"].split("(", 1)[0], ITEM_TEXT.findall(raw["pin"]))
        return ParsedRef(doc.key, pin, _kind_of(doc)) if pin else None
    found = _find_pinpoint(text)
    pinpoint = found.pinpoint if found is not None else None
    if pinpoint is None:
        return None
    named = _named_document(text[: found.start] + " " + text[found.end :], docs)
    if named is False:
        return None
    kind = found.kind
    if named:
        doc = next(d for d in docs if d.key == named)
        if kind is None or kind == _kind_of(doc):
            return ParsedRef(doc.key, pinpoint, _kind_of(doc))
        return ParsedRef(None, pinpoint, kind)
    if kind is None:
        kind = ARTICLE_STYLE if found.parts and found.parts[0].isdigit() else PARAGRAPH_STYLE
    return _defaulted(pinpoint, kind, docs, default_report if kind == PARAGRAPH_STYLE else default_treaty)


def _defaulted(pinpoint: str, kind: str, docs: list[Document], default: str) -> ParsedRef:
    """A pinpoint that names no document: ``default`` when it is of that kind, the others as alternatives."""
    same_kind = [d.key for d in docs if _kind_of(d) == kind]
    key = next((k for k in same_kind if k.lower() == default.lower()), None)
    if key is None:
        return ParsedRef(None, pinpoint, kind)
    return ParsedRef(key, pinpoint, kind, tuple(k for k in same_kind if k != key))


def relative_reference(question: str, anchor: str, existing: Collection[str]) -> str | None:
    """The provision a follow-up names relative to ``anchor``, the ref just discussed, or None.

    After article 7, "What does its paragraph 2 say?" / "它的第2款呢？" means 7(2); after 7(c),
    "And (d)?" means 7(d), and after 6(3), "(d)" means 6(3)(d): a paragraph number is read within
    the anchor's article, items as the anchor's own sub-items first, then as its siblings, then
    upwards. "The next paragraph" / "下一项" / "前款" step from the anchor at that level (the
    deepest for an item). Only what exists counts. A follow-up that names an article or a report paragraph of
    its own ("article 8", "第8段") is not relative.
    """
    text = prepare(question[: MAX_QUERY_CHARS * 5])
    if any(p.search(text) for p in (EN_ARTICLE_REF, ZH_ARTICLE_REF, ZH_PARAGRAPH_REF, PREAMBLE_WORD)):
        return None
    doc, _, pinpoint = anchor.partition(":")
    head, parts = split_pinpoint(pinpoint)
    if m := NEIGHBOUR.search(text):
        candidates = _neighbours(head, parts, m)
    elif m := RELATIVE_PARAGRAPH.search(text):
        candidates = [_pinpoint(head, [m["en"] or m["zh"], *_parts(m["items"])])]
    elif m := RELATIVE_ITEM.search(text):
        items = _parts(m["items"])
        candidates = [_pinpoint(head, [*parts[:keep], *items]) for keep in range(len(parts), -1, -1)]
    else:
        return None
    return next((f"{doc}:{c}" for c in candidates if c and f"{doc}:{c}" in existing), None)


def _neighbours(head: str, parts: list[str], m: re.Match) -> list[str | None]:
    """Pinpoints one step from ``head(parts)`` at the level the words name, in both readings of
    an item like "i" (a letter, or a roman numeral)."""
    step = 1 if (m["dir"] or m["zdir"]) in NEIGHBOUR_FORWARD else -1
    level = NEIGHBOUR_LEVEL.get(m["unit"] or m["zunit"], "item")
    if level == "paragraph" and parts and parts[0].isdigit():
        depth = 1
    elif level == "item":
        depth = len(parts)
    elif m["zunit"] == "款":  # a treaty paragraph, and this article has no numbered ones
        return []
    else:  # an article, or a report paragraph
        depth = 0
    if depth == 0:
        return [_pinpoint(str(int(head) + step), [])] if head.isdigit() and int(head) + step > 0 else []
    return [_pinpoint(head, [*parts[: depth - 1], item]) for item in _step(parts[depth - 1], step)]


def _step(part: str, step: int) -> list[str]:
    """The item ``step`` places on: "3" -> "4", "c" -> "d", "ii" -> "iii"; "i" reads both ways."""
    if part.isdigit():
        return [str(int(part) + step)] if int(part) + step > 0 else []
    out = []
    if is_roman(part) and (item := roman_item(roman_value(part) + step)):
        out.append(item)
    if len(part) == 1 and "a" <= chr(ord(part) + step) <= "z":
        out.append(chr(ord(part) + step))
    return out


def _kind_of(doc: Document) -> str:
    return PARAGRAPH_STYLE if doc.kind == "report" else ARTICLE_STYLE


def prepare(query: str) -> str:
    """Normalised for matching: simplified, half-width, lower case, Chinese numerals as digits."""
    text = normalize(query)
    text = ZH_ORDINAL.sub(lambda m: _zh_number(m[1]), text)
    text = ZH_NUMERAL_ITEM.sub(_zh_item, text)
    text = ZH_UNBRACKETED_ITEM.sub(r"\1(\2)", text)
    return re.sub(r"\s+", " ", text).strip()


def _zh_item(m: re.Match) -> str:
    """"(四)" -> "(d)", "(二)目" -> "(ii)目"; an unreadable or too large numeral stays as it was."""
    try:
        value = cn_number(m[1])
    except ValueError:
        return m[0]
    if m[2]:
        numeral = roman_item(value)
        return f"({numeral}){m[2]}" if numeral else m[0]
    return f"({letter_item(value - 1)})" if 0 < value <= 26 else m[0]


def _zh_number(numeral: str) -> str:
    """"十七" -> "第17"; an unreadable numeral is left as it was (and so matches nothing)."""
    try:
        value = cn_number(numeral)
    except ValueError:
        return f"第{numeral}"
    return f"第{value}" if value > 0 else f"第{numeral}"

def _parts(*chains: str | None) -> list[str]:
    out: list[str] = []
    for chain in chains:
        if chain:
            out.extend(ITEM_TEXT.findall(chain))
    return out


def _find_pinpoint(text: str) -> _Found | None:
    """The first pinpoint expression, most explicit forms first (a bare number comes last)."""
    return next(_candidates(text), None)


def first_explicit(text: str) -> _Found | None:
    """The leftmost pinpoint of prepared text that is written as one (an article or paragraph word,
    第…条 / 第…段, "preamble"), not a bare number: where a question's references start."""
    return min((f for f in _candidates(text) if f.kind is not None), key=lambda f: f.start, default=None)


def _candidates(text: str) -> Iterator[_Found]:
    """The first match of each pinpoint form in ``text``, most explicit forms first."""
    m = PREAMBLE_WORD.search(text)
    if m:
        yield _Found(m.start(), m.end(), PREAMBLE, (), ARTICLE_STYLE)
    for m in EN_REVERSED_REF.finditer(text):
        if m["sub"] or m["para"]:
            parts = ([m["para"]] if m["para"] else []) + _parts(m["chain"], m["sub"], m["subchain"])
            yield _Found(m.start(), m.end(), m["art"], tuple(parts), ARTICLE_STYLE)
            break
    m = EN_ARTICLE_REF.search(text)
    if m:
        sub = m["sub"] if m["sub"] and m["sub"].startswith("(") else (f"({m['sub']})" if m["sub"] else None)
        parts = _parts(m["chain"]) + ([m["para"]] if m["para"] else []) + _parts(m["chain2"], sub, m["chain3"])
        yield _Found(m.start(), m.end(), m["art"], tuple(parts), ARTICLE_STYLE)
    m = ZH_ARTICLE_REF.search(text)
    if m:
        parts = ([m["para"]] if m["para"] else []) + _parts(m["items"])
        yield _Found(m.start(), m.end(), m["art"], tuple(parts), ARTICLE_STYLE)
    m = ZH_PARAGRAPH_REF.search(text)
    if m:
        yield _Found(m.start(), m.end(), m["n1"] or m["n2"], tuple(_parts(m["items"])), PARAGRAPH_STYLE)
    m = EN_PARAGRAPH_REF.search(text)
    if m:
        sub = m["sub"] if m["sub"] and m["sub"].startswith("(") else (f"({m['sub']})" if m["sub"] else None)
        yield _Found(m.start(), m.end(), m["num"], tuple(_parts(m["chain"], sub, m["chain3"])), PARAGRAPH_STYLE)
    m = BARE_PINPOINT.search(text)
    if m:
        yield _Found(m.start(), m.end(), m["num"], tuple(_parts(m["chain"])), None)


def _pinpoint(head: str, parts: list[str]) -> str | None:
    """Canonical pinpoint ("06 (3)(D)" -> "6(3)(d)"); None when the items are not a pinpoint.

    A number is allowed only as the first item (the paragraph of an article);
    items are letters ("d", "aa") or roman numerals ("ii"), at most four levels.
    """
    if not head.isdigit() or len(parts) > 4:
        return None
    out = str(int(head))
    for i, part in enumerate(parts):
        if part.isdigit():
            if i != 0:
                return None
            part = str(int(part))
        elif not LETTER_OR_ROMAN_ITEM.fullmatch(part):
            return None
        out += f"({part})"
    return out


def _named_document(leftover: str, docs: list[Document]) -> str | None | bool:
    """The document the text around the pinpoint names; None if it names none, False if it is not a name.

    False means words remain that are neither a document name nor filler, so the
    whole query is a phrase ("victims in paragraph 3"), not a reference.
    """
    if _only_filler(leftover):
        return None
    key = _symbol_match(leftover, docs) or resolve_alias(leftover.strip(), docs)
    if key is None:
        return False
    doc = next(d for d in docs if d.key == key)
    rest = leftover
    names = NameMatcher((normalize(n).removeprefix("the ").strip(), key) for n in (*document_names(doc), doc.symbol))
    for name in names.names:  # longest first: a name inside a longer one would leave the rest of it
        rest = rest.replace(name, " ")
    return key if _only_filler(rest) else False


def _only_filler(text: str) -> bool:
    words = re.sub(r"[\W_]+", " ", text).split()
    return all(w in REFERENCE_FILLER for w in words)


def _symbol_match(text: str, docs: list[Document]) -> str | None:
    """A UN document symbol ("A/RES/55/25, annex II") names its document; longest symbol first.

    Found with ``str.find``, not a pattern per symbol: a corpus of hundreds of documents would compile
    one for each on every query (Python caches 512), which made `cite` slow at scale (docs/experiments.md)."""
    symbols = NameMatcher((normalize(doc.symbol), doc.key) for doc in docs)
    return next((span.keys[0] for span in symbols.spans(text, standalone)), None)


# ---------------------------------------------------------------- resolving


def resolve(parsed: ParsedRef, existing: Collection[str]) -> str | None:
    """The existing ref it names; tolerant: '3(1)(a)' for an article without numbered paragraphs falls back to '3(a)'.

    The tolerance exists because people cite a one-paragraph article as
    "paragraph 1"; it applies only to paragraph 1 and only when the article has
    no numbered paragraphs at all, so it never picks a different provision.
    With no document (``doc`` None) a pinpoint is resolved only if exactly one
    document has it; a defaulted document that lacks it gives way in the same way to the one
    alternative that has it (the label that comes back names that document).
    """
    if parsed.doc is not None:
        ref = _lookup(parsed.doc, parsed.pinpoint, existing)
        return ref if ref or not parsed.alternatives else _unique(parsed.alternatives, parsed.pinpoint, existing)
    return _unique(sorted({r.split(":", 1)[0] for r in existing if ":" in r}), parsed.pinpoint, existing)


def _unique(docs: Collection[str], pinpoint: str, existing: Collection[str]) -> str | None:
    """The ref of the one document among ``docs`` that has ``pinpoint``; None when none or several do."""
    hits = {ref for d in docs if (ref := _lookup(d, pinpoint, existing))}
    return hits.pop() if len(hits) == 1 else None


def _lookup(doc: str, pinpoint: str, existing: Collection[str]) -> str | None:
    ref = f"{doc}:{pinpoint}"
    if ref in existing:
        return ref
    head, parts = split_pinpoint(pinpoint)
    if not parts or parts[0] != "1" or (len(parts) > 1 and parts[1].isdigit()):
        return None
    prefix = f"{doc}:{head}("
    numbered = any(r.startswith(prefix) and r[len(prefix) : len(prefix) + 1].isdigit() for r in existing)
    if numbered:
        return None
    alt = f"{doc}:{head}" + "".join(f"({p})" for p in parts[1:])
    return alt if alt in existing else None


# ---------------------------------------------------------------- suggestions


def nearest(parsed: ParsedRef, existing: list[str], n: int = 5) -> list[str]:
    """Existing refs closest to an unknown reference.

    The same pinpoint in the other documents of its kind first, when the document was a default
    (several have it, or the lookup would have resolved); then the same document: same
    article/paragraph number, then numerically nearest, then siblings.

    Why this order: a missing "7(z)" is most likely a typo for the last item,
    7(j), or a reference to paragraph 7 as a whole; a missing "article 45" is
    past the end, so the last article is the useful answer. Concretely, walking
    up the requested pinpoint level by level: descendants of the pinpoint, then
    at each level the nearest existing sibling, the common parent, and the
    other siblings by distance (each followed by its own items).
    """
    if n <= 0:
        return []
    query = _path(parsed.pinpoint)
    by_doc: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for ref in dict.fromkeys(existing):
        if ":" not in ref:
            continue
        doc, pin = ref.split(":", 1)
        path = _path(pin)
        if path:
            by_doc.setdefault(doc, []).append((ref, path))
    ranked = {doc: _rank(query, cands) for doc, cands in by_doc.items()}
    out = [ref for d in parsed.alternatives if (ref := _lookup(d, parsed.pinpoint, existing))]
    if parsed.doc in ranked:
        out.extend(r for r in ranked.pop(parsed.doc) if r not in out)
    lists = list(ranked.values())
    for i in range(max((len(x) for x in lists), default=0)):
        out.extend(x[i] for x in lists if i < len(x) and x[i] not in out)
        if len(out) >= n:
            break
    return out[:n]


def _path(pinpoint: str) -> tuple[str, ...]:
    if pinpoint == PREAMBLE:
        return (PREAMBLE,)
    head, parts = split_pinpoint(pinpoint)
    return (head, *parts) if head else ()


def _value(path: tuple[str, ...], level: int) -> tuple[int, int]:
    """(type, number) of one item: 0 number, 1 letter, 2 roman (an item below a letter)."""
    item = path[level]
    if item == PREAMBLE:
        return 0, 0
    if item.isdigit():
        return 0, int(item)
    below_letter = level > 0 and not path[level - 1].isdigit() and path[level - 1] != PREAMBLE
    if below_letter and is_roman(item):
        return 2, roman_value(item)
    return 1, (ord(item[0]) - 96) + 26 * (len(item) - 1)


def _distance(query: tuple[str, ...], path: tuple[str, ...], level: int) -> int:
    qt, qv = _value(query, level)
    ct, cv = _value(path, level)
    return abs(qv - cv) + (0 if qt == ct else 1000)


def _natural(path: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    return tuple(_value(path, i) for i in range(len(path)))


def _rank(query: tuple[str, ...], cands: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()

    def add(ref: str) -> None:
        if ref not in seen:
            seen.add(ref)
            out.append(ref)

    own = [c for c in cands if c[1][: len(query)] == query]
    for ref, _ in sorted(own, key=lambda c: (len(c[1]), _natural(c[1]))):
        add(ref)  # the pinpoint itself and its own items
    for level in range(len(query) - 1, -1, -1):
        prefix = query[:level]
        group = [(r, p) for r, p in cands if p[:level] == prefix and r not in seen]
        if not group:
            continue
        below = [(r, p) for r, p in group if len(p) > level]
        dist = {r: _distance(query, p, level) for r, p in below}
        children = [(r, p) for r, p in below if len(p) == level + 1]
        if children:
            best = min(dist[r] for r, _ in children)
            for r, _ in sorted(children, key=lambda c: _natural(c[1])):
                if dist[r] == best:
                    add(r)
        for r, p in group:
            if p == prefix:
                add(r)
        for r, _ in sorted(below, key=lambda c: (dist[c[0]], _value(c[1], level), len(c[1]), _natural(c[1]))):
            add(r)
    return out
