"""Citation labels in UN style, English and Chinese, from a document and a pinpoint.

"CTOC/COP/WG.4/2017/4, para. 7 (c)" / "CTOC/COP/WG.4/2017/4，第7段(c)项";
"Trafficking in Persons Protocol, art. 6, para. 3 (d)" / "《贩运人口议定书》第6条第3款(d)项".
Labels are derived, never stored by hand, so a label and its ref always agree.
"""

from __future__ import annotations

import re

from ingest.grammar import ROMAN_ITEMS
from ingest.units import Document

PART = re.compile(r"\(([^()]+)\)")


def split_pinpoint(pinpoint: str) -> tuple[str, list[str]]:
    """``"6(3)(d)"`` -> ``("6", ["3", "d"])``."""
    head = pinpoint.split("(", 1)[0]
    return head, PART.findall(pinpoint[len(head):])


def label_en(doc: Document, pinpoint: str) -> str:
    if pinpoint == "preamble":
        return f"{doc.short_en}, preamble"
    head, parts = split_pinpoint(pinpoint)
    suffix = " ".join(f"({p})" for p in parts)
    if doc.kind == "report":
        return f"{doc.short_en}, para. {head}" + (f" {suffix}" if suffix else "")
    if parts and parts[0].isdigit():
        rest = " ".join(f"({p})" for p in parts[1:])
        return f"{doc.short_en}, art. {head}, para. {parts[0]}" + (f" {rest}" if rest else "")
    return f"{doc.short_en}, art. {head}" + (f" {suffix}" if suffix else "")


def label_zh(doc: Document, pinpoint: str) -> str:
    name = doc.short_zh if doc.kind == "report" else f"《{doc.short_zh}》"
    sep = "，" if doc.kind == "report" else ""
    if pinpoint == "preamble":
        return f"{name}序言"
    head, parts = split_pinpoint(pinpoint)
    if doc.kind == "report":
        return f"{name}{sep}第{head}段" + "".join(_zh_item(p, i) for i, p in enumerate(parts))
    text = f"{name}第{head}条"
    if parts and parts[0].isdigit():
        text += f"第{parts[0]}款"
        parts = parts[1:]
    return text + "".join(_zh_item(p, i) for i, p in enumerate(parts))


def _zh_item(part: str, depth: int) -> str:
    """(d)项 for a letter, 第(i)目 for a roman numeral below it."""
    return f"({part})项" if depth == 0 else f"第({part})目"


def labels_of_many(units: list[tuple[Document, str]]) -> tuple[str, str]:
    """One citation, English and Chinese, for several units named together, as a drafter writes
    it: "Trafficking in Persons Protocol, art. 6, paras. 3 and 4" / "《贩运人口议定书》第6条第3款和第4款",
    "CTOC/COP/WG.4/2017/4, para. 7 (c)–(e)" / "CTOC/COP/WG.4/2017/4，第7段(c)至(e)项".

    Consecutive units of one document are cited together after the document's name once: members
    of one provision by their last level (a run of three or more as a range), others by their own
    labels without the name. Documents are separated by "; " / "；".
    """
    groups: list[tuple[Document, list[str]]] = []
    for doc, pinpoint in units:
        if groups and groups[-1][0].key == doc.key:
            groups[-1][1].append(pinpoint)
        else:
            groups.append((doc, [pinpoint]))
    return (
        "; ".join(_group_en(doc, pins) for doc, pins in groups),
        "；".join(_group_zh(doc, pins) for doc, pins in groups),
    )


def _siblings(pinpoints: list[str]) -> tuple[str, list[str]] | None:
    """(parent pinpoint, last levels) when every pinpoint is a member of the same provision at the
    same depth ("" for whole articles or paragraphs); None otherwise."""
    if len(pinpoints) < 2 or "preamble" in pinpoints:
        return None
    paths = [[head, *parts] for head, parts in map(split_pinpoint, pinpoints)]
    if len({len(p) for p in paths}) != 1 or len({tuple(p[:-1]) for p in paths}) != 1:
        return None
    parent = paths[0][:-1]
    return (parent[0] + "".join(f"({p})" for p in parent[1:]) if parent else ""), [p[-1] for p in paths]


def _is_run(items: list[str]) -> bool:
    """Three or more consecutive numbers, letters or roman numerals: cited as a range."""
    if len(items) < 3:
        return False
    for order in (lambda x: int(x) if x.isdigit() else None,
                  lambda x: ord(x) if len(x) == 1 and x.isalpha() else None,
                  lambda x: ROMAN_ITEMS.index(x) if x in ROMAN_ITEMS else None):
        keys = [order(x) for x in items]
        if None not in keys and keys == list(range(keys[0], keys[0] + len(keys))):
            return True
    return False


def _join(items: list[str], language: str) -> str:
    if len(items) == 1:
        return items[0]
    if language == "zh":
        return "、".join(items[:-1]) + "和" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _group_en(doc: Document, pinpoints: list[str]) -> str:
    siblings = _siblings(pinpoints)
    if siblings is not None:
        parent, last = siblings
        run = _is_run(last)
        if not parent or (doc.kind != "report" and last[0].isdigit()):  # whole paragraphs or articles
            word = "paras." if doc.kind == "report" or parent else "arts."
            listed = f"{last[0]}–{last[-1]}" if run else _join(last, "en")
            return f"{label_en(doc, parent) if parent else doc.short_en}, {word} {listed}"
        items = [f"({x})" for x in last]
        return f"{label_en(doc, parent)} " + (f"{items[0]}–{items[-1]}" if run else _join(items, "en"))
    labels = [label_en(doc, p) for p in pinpoints]
    if doc.kind == "report" and len(labels) > 1:  # "paras. 7 (c) and 8 (d)"
        return f"{doc.short_en}, paras. " + _join([label.removeprefix(f"{doc.short_en}, para. ") for label in labels], "en")
    name = f"{doc.short_en}, "
    return _join([labels[0], *(label.removeprefix(name) for label in labels[1:])], "en")


def _group_zh(doc: Document, pinpoints: list[str]) -> str:
    siblings = _siblings(pinpoints)
    if siblings is not None:
        parent, last = siblings
        run = _is_run(last)
        if not parent:
            unit = "段" if doc.kind == "report" else "条"
            listed = f"第{last[0]}至{last[-1]}{unit}" if run else _join([f"第{x}{unit}" for x in last], "zh")
            name = f"{doc.short_zh}，" if doc.kind == "report" else f"《{doc.short_zh}》"
            return name + listed
        depth = sum(1 for part in split_pinpoint(parent)[1] if not part.isdigit())  # items above these
        if doc.kind != "report" and last[0].isdigit():  # paragraphs of one article
            listed = f"第{last[0]}至{last[-1]}款" if run else _join([f"第{x}款" for x in last], "zh")
        elif depth == 0:  # items: (c)项
            listed = f"({last[0]})至({last[-1]})项" if run else _join([f"({x})项" for x in last], "zh")
        else:  # sub-items: 第(i)目
            listed = f"第({last[0]})至({last[-1]})目" if run else _join([f"第({x})目" for x in last], "zh")
        return label_zh(doc, parent) + listed
    labels = [label_zh(doc, p) for p in pinpoints]
    name = f"{doc.short_zh}，" if doc.kind == "report" else f"《{doc.short_zh}》"
    return _join([labels[0], *(label.removeprefix(name) for label in labels[1:])], "zh")
