"""A unit's text in the other language: an official language version first, else its rendering.

An official version (another document with the same UN symbol, index/versions.py) is a UN text and
may be quoted; a rendering (data/renderings, ingest/renderings.py) is an unofficial translation and
never is. Every view shows either one below the verbatim text, labelled as what it is.
"""

from __future__ import annotations

from index.hybrid import LoadedIndex
from services.results import Translation


def translation_of(index: LoadedIndex, ref: str, lang: str) -> Translation | None:
    """The unit's text in ``lang`` when the unit is in the other language; None when it is in
    ``lang`` already or has no text in ``lang``."""
    if index.by_ref[ref].lang == lang:
        return None
    return next((t for t in translations_of(index, ref) if t.lang == lang), None)


def translations_of(index: LoadedIndex, ref: str) -> tuple[Translation, ...]:
    """Every text of the unit in a language other than its own: official versions, then the rendering."""
    unit = index.by_ref[ref]
    out = [
        Translation(index.by_ref[v].lang, index.by_ref[v].text, True, v)
        for v in index.versions.get(ref, ())
        if index.by_ref[v].lang != unit.lang
    ]
    rendering = index.renderings.get(ref)
    if rendering is not None and rendering.lang not in {t.lang for t in out}:
        out.append(Translation(rendering.lang, rendering.text, False, rendering.provenance))
    return tuple(out)
