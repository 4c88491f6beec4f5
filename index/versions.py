"""Language versions of one document: the same UN symbol, paragraph numbering the common key.

Users add other language versions of a document they already have (the official English report
beside the Chinese one, the Chinese Protocol beside the English). Each version is a document of
its own in the manifest (key, file, language) that shares the original's UN symbol; a provision
then exists once per version, under the same pinpoint. Retrieval lists such a provision once, in
the asker's language where a version in that language has it, and every view of a unit shows its
text in the other versions beside it.
"""

from __future__ import annotations

from index.text_norm import normalize
from ingest.units import Document, Unit


def symbol_key(symbol: str) -> str:
    """A symbol as written in either language's manifest entry: case, width and spacing do not count."""
    return " ".join(normalize(symbol).split())


def version_map(docs: list[Document], units: list[Unit]) -> dict[str, tuple[str, ...]]:
    """ref -> refs of the same pinpoint in the document's other language versions (those that exist).

    Only refs that have another version are keys: with one version per symbol, as in the shipped
    corpus, the map is empty and nothing downstream changes.
    """
    groups: dict[str, list[str]] = {}
    for doc in docs:
        if key := symbol_key(doc.symbol):
            groups.setdefault(key, []).append(doc.key)
    siblings = {key: [k for k in keys if k != key] for keys in groups.values() if len(keys) > 1 for key in keys}
    if not siblings:
        return {}
    refs = {u.ref for u in units}
    out: dict[str, tuple[str, ...]] = {}
    for unit in units:
        others = tuple(ref for key in siblings.get(unit.doc, ()) if (ref := f"{key}:{unit.pinpoint}") in refs)
        if others:
            out[unit.ref] = others
    return out


def in_language(ref: str, versions: dict[str, tuple[str, ...]], by_ref: dict[str, Unit], lang: str) -> str:
    """``ref`` itself when it is in ``lang``, else its version in ``lang``, else ``ref``."""
    return next((r for r in (ref, *versions.get(ref, ())) if by_ref[r].lang == lang), ref)
