"""Navigating the loaded index for drafters: siblings, parent, children, a document's units."""

from __future__ import annotations

from collections import defaultdict


class Browser:
    """Document order and family relations of every unit, computed once from the loaded index."""

    def __init__(self, index) -> None:
        self.index = index
        self.by_doc: dict[str, list] = defaultdict(list)
        siblings: dict[tuple[str, str | None], list[str]] = defaultdict(list)
        for unit in index.units:
            self.by_doc[unit.doc].append(unit)
            siblings[(unit.doc, unit.parent)].append(unit.ref)
        self._siblings = siblings

    def label(self, ref: str, lang: str) -> str:
        return self.index.by_ref[ref].label(lang)

    def neighbours(self, ref: str, lang: str) -> dict:
        """{"self", "prev", "next", "parent": (ref, label) | None, "children": [(ref, label), ...]}."""
        unit = self.index.by_ref[ref]
        row = self._siblings[(unit.doc, unit.parent)]
        at = row.index(ref)

        def pair(other: str | None):
            return (other, self.label(other, lang)) if other and other in self.index.by_ref else None

        return {
            "self": pair(ref),
            "prev": pair(row[at - 1] if at > 0 else None),
            "next": pair(row[at + 1] if at + 1 < len(row) else None),
            "parent": pair(unit.parent),
            "children": [pair(c) for c in unit.children if c in self.index.by_ref],
        }

    def doc_choices(self, lang: str) -> list[tuple[str, str]]:
        docs = []
        for doc in self.index.docs:
            if doc.key in self.by_doc:
                title = doc.title_zh if lang == "zh" else doc.title_en
                short = doc.short_zh if lang == "zh" else doc.short_en
                docs.append((f"{short} — {title}" if short != title else title, doc.key))
        return docs

    def unit_choices(self, doc_key: str | None, lang: str) -> list[tuple[str, str]]:
        """Every unit of a document in order, indented by depth, shown by its label in ``lang``."""
        out = []
        for unit in self.by_doc.get(doc_key or "", []):
            depth, parent = 0, unit.parent
            while parent and parent in self.index.by_ref:
                depth += 1
                parent = self.index.by_ref[parent].parent
            preview = unit.text.strip().splitlines()[0] if unit.text.strip() else ""
            if len(preview) > 60:
                preview = preview[:60] + "…"
            out.append((f"{'  ' * depth}{unit.pinpoint} · {preview}", unit.ref))
        return out
