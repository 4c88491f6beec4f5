"""Find the units a unit cites: "《议定书》第 6 条第 3 款(d)项", "article 5 of this Protocol".

A link is kept only when its target exists, so a link is always followable.
Which document a mention means is decided by the aliases in the manifest
("the Convention" -> untoc, 《议定书》 -> tip-protocol); a bare article
mention inside a treaty means the treaty itself.
"""

from __future__ import annotations

import re
from collections.abc import Container

from ingest.grammar import EN_MENTION, EN_PARAGRAPH_OF_THIS_ARTICLE, ZH_MENTION, cn_number, resolve_alias
from ingest.units import Document


def find_links(
    text: str, doc: Document, article: str | None, docs: list[Document], existing: Container[str]
) -> list[str]:
    """Refs of existing units that ``text`` (a unit of ``doc``) cites."""
    found: list[str] = []
    default_treaty = doc.key if doc.kind == "treaty" else None
    for m in ZH_MENTION.finditer(text):
        target = resolve_alias(m["name"], docs) if m["name"] else default_treaty
        para = str(cn_number(m["para"])) if m["para"] else None
        found.append(_ref(target, str(cn_number(m["art"])), para, m["sub"]))
    for m in EN_MENTION.finditer(text):
        name = m["name"] or ""
        target = doc.key if name.lower().startswith("this") or not name else resolve_alias(name, docs)
        if not name and doc.kind != "treaty":
            target = None
        for art in re.findall(r"\d+", m["arts"]):
            found.append(_ref(target, art, m["para"], m["sub"]))
    if article and doc.kind == "treaty":
        for m in EN_PARAGRAPH_OF_THIS_ARTICLE.finditer(text):
            found.append(_ref(doc.key, article, m["para"], m["sub"]))
    out: list[str] = []
    for ref in found:
        ref = _deepest_existing(ref, existing) if ref else None
        if ref and ref not in out:
            out.append(ref)
    return out


def _ref(doc: str | None, art: str, para: str | None, sub: str | None) -> str | None:
    if doc is None:
        return None
    pin = art + (f"({para})" if para else "") + (f"({sub})" if sub else "")
    return f"{doc}:{pin}"


def _deepest_existing(ref: str, existing: Container[str]) -> str | None:
    """``tip-protocol:3(a)`` written as ``article 3, paragraph a)`` may lack a level: back off."""
    while ref not in existing and "(" in ref:
        ref = ref[: ref.rfind("(")]
    return ref if ref in existing else None
