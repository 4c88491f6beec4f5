"""Citation labels in UN style, English and Chinese, from a document and a pinpoint.

"CTOC/COP/WG.4/2017/4, para. 7 (c)" / "CTOC/COP/WG.4/2017/4，第7段(c)项";
"Trafficking in Persons Protocol, art. 6, para. 3 (d)" / "《贩运人口议定书》第6条第3款(d)项".
Labels are derived, never stored by hand, so a label and its ref always agree.
"""

from __future__ import annotations

import re

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
