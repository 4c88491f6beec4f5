"""Citation lookup for drafters: a reference or a phrase in, verbatim text and UN-style labels out.

A reference ("art. 6(3)(d)", "第8段(j)项") must name a unit exactly; when it
names none, the caller gets ``UnknownReference`` with the nearest existing
refs, never a guess. A range or pair ("paras. 7 (c)-(e)", "articles 6 and 7") or a list of
references ("paras. 7 (c) and 8 (d)") names each of its units, all of which must exist, and gets
one citation of them all. Anything that is not a reference is searched as a phrase and the
best-matching units are returned.
"""

from __future__ import annotations

from index.hybrid import LoadedIndex
from index.text_norm import normalize
from ingest.grammar import symbols_in
from ingest.labels import labels_of_many
from ingest.manifest import KEY
from ingest.units import Unit
from services.refparse import ParsedRef, nearest, parse_reference, resolve
from services.refrange import overlong_run, parse_list, parse_range
from services.results import Link, NamedUnits, UnitRecord, Version
from services.translations import translations_of

PHRASE_MATCHES = 5


class UnknownReference(LookupError):
    """A well-formed reference to a unit that does not exist."""

    def __init__(self, query: str, suggestions: list[str]):
        hint = f"; nearest: {', '.join(suggestions)}" if suggestions else ""
        super().__init__(f"no unit {query!r} in the corpus{hint}")
        self.query = query
        self.suggestions = suggestions


def unit_record(index: LoadedIndex, unit: Unit) -> UnitRecord:
    """One unit for `cite` and the sources panel: verbatim text, labels, lead-in, links, its other
    official language versions (only where the document has some) and its text in the other language."""
    return UnitRecord(
        ref=unit.ref,
        text=unit.text,
        labels=_labels(unit),
        lead_in=unit.lead_in,
        language=unit.lang,
        links=tuple(Link(ref, _labels(index.by_ref[ref])) for ref in unit.links if ref in index.by_ref),
        versions=tuple(_version(index.by_ref[ref]) for ref in index.versions.get(unit.ref, ())),
        translations=translations_of(index, unit.ref),
    )


def _version(unit: Unit) -> Version:
    return Version(unit.ref, unit.lang, unit.text, _labels(unit))


def _labels(unit: Unit) -> dict[str, str]:
    return {"en": unit.label_en, "zh": unit.label_zh}


def lookup_reference(
    index: LoadedIndex, query: str, default_report: str, default_treaty: str
) -> UnitRecord | NamedUnits | None:
    """The unit a reference names, or every unit a range or a list of references names ("paras. 7
    (c)-(e)", "paras. 7 (c) and 8 (d)") with one citation of them all; None when ``query`` is not a
    reference at all."""
    refs = named_refs(index, query, default_report, default_treaty)
    if refs is None:
        if _names_another_document(index, query):
            raise UnknownReference(query.strip(), [])
        return None
    if len(refs) == 1:
        return unit_record(index, index.by_ref[refs[0]])
    units = tuple(unit_record(index, index.by_ref[ref]) for ref in refs)
    return NamedUnits(query.strip(), joint_labels(index, refs), units)


def _names_another_document(index: LoadedIndex, query: str) -> bool:
    """A reference into a document the corpus does not have is an unknown reference, not a phrase to
    search: a raw ref of a key no document has ("notes:3(b)" after `app.py remove notes`, or a typo),
    or a pinpoint beside a UN symbol no document has ("EGM/2019/1 para. 3 (c)"). Whether the rest
    reads as a reference is asked of the same parser with a document that exists in its place."""
    if not index.docs:
        return False
    key, colon, pinpoint = query.strip().partition(":")
    if colon and KEY.fullmatch(key):
        return key not in index.doc_by_key and parse_reference(f"{index.docs[0].key}:{pinpoint}", index.docs) is not None
    known = next((doc for doc in index.docs if doc.symbol), None)
    if known is None:
        return False
    symbols = [normalize(doc.symbol) for doc in index.docs if doc.symbol]
    for match in symbols_in(query):
        written = normalize(match.group(0))
        # "A/RES/55/25" begins the symbol of three documents ("A/RES/55/25, annex II"): known, if not one
        if not any(s == written or s.startswith((f"{written},", f"{written} ")) for s in symbols):
            in_its_place = query[: match.start()] + known.symbol + query[match.end() :]
            return parse_reference(in_its_place, index.docs) is not None
    return False


def joint_labels(index: LoadedIndex, refs: list[str]) -> dict[str, str]:
    """One ready-to-paste citation of several units, in both languages ("…, art. 6, paras. 3 and 4")."""
    en, zh = labels_of_many([(index.doc_by_key[index.by_ref[r].doc], index.by_ref[r].pinpoint) for r in refs])
    return {"en": en, "zh": zh}


def named_refs(
    index: LoadedIndex, query: str, default_report: str, default_treaty: str, partial: bool = False
) -> list[str] | None:
    """The existing refs a reference, a range or a list of them names, in order and once each;
    None when ``query`` is none of these. A member that does not exist raises UnknownReference;
    with ``partial`` (a question, not a lookup), a part of a list that does not exist is left out."""
    found = _one_or_range(index, query, default_report, default_treaty)
    if found is not None:
        return found
    parts = parse_list(query, index.docs, default_report, default_treaty)
    if not parts:
        return None
    refs: list[str] = []
    for text, report, treaty in parts:
        try:
            refs += _one_or_range(index, text, report, treaty) or []
        except UnknownReference:
            if not partial:
                raise
    return list(dict.fromkeys(refs))


def _one_or_range(index: LoadedIndex, query: str, default_report: str, default_treaty: str) -> list[str] | None:
    """The ref one reference names, or every ref of a range in order; None when ``query`` is neither.

    Where a range reads two ways ("(i)-(v)": letters or roman numerals), the reading whose
    members all exist; one missing member makes the whole an unknown reference, and so does a run
    too long to read member by member whose end does not exist ("paras. 1-200")."""
    parsed = parse_reference(query, index.docs, default_report=default_report, default_treaty=default_treaty)
    if parsed is not None:
        return [_resolved(index, parsed, query)]
    readings = parse_range(query, index.docs, default_report, default_treaty)
    if not readings:
        ends = overlong_run(query, index.docs, default_report, default_treaty)
        missing = next((end for end in ends if resolve(end, index.by_ref.keys()) is None), None)
        if missing is None:
            return None
        raise _unknown(index, missing, query)  # "paras. 1-200" runs past the end, as "paras. 30-40" does
    resolved = [[resolve(p, index.by_ref.keys()) for p in reading] for reading in readings]
    for refs in resolved:
        if all(refs):
            return refs  # type: ignore[return-value]
    missing = next(p for p, ref in zip(readings[0], resolved[0], strict=True) if ref is None)
    raise _unknown(index, missing, query)


def _resolved(index: LoadedIndex, parsed: ParsedRef, query: str) -> str:
    ref = resolve(parsed, index.by_ref.keys())  # a view: copying 100k refs into a set cost 9 ms a lookup
    if ref is None:
        raise _unknown(index, parsed, query)
    return ref


def _unknown(index: LoadedIndex, parsed: ParsedRef, query: str) -> UnknownReference:
    return UnknownReference(query.strip(), nearest(parsed, list(index.by_ref)))
