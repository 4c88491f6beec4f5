"""Chinese numerals as integers: Chinese texts write 第五条 as often as 第5条, in treaty headings,
in cross-references inside the documents and in the references users type.

One reader for all three (ingest/treaty_articles.py, ingest/crossrefs.py, services/refparse.py),
so a numeral the parser accepts in a heading is also found in a reference to it.
"""

from __future__ import annotations

import re

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
CN_NUM = "[零〇一二两三四五六七八九十百]+"  # a regex class, for patterns that embed a numeral
# 一 … 九百九十九: optional hundreds, an optional 零 after them, optional tens, optional ones.
_FORM = re.compile(r"(?:(?P<h>[一二两三四五六七八九])百)?零?(?:(?P<t>[一二两三四五六七八九])?(?P<ten>十))?(?P<o>[零〇一二两三四五六七八九])?")


def cn_number(text: str) -> int:
    """Arabic (also full-width) or Chinese numerals (一 ... 九百九十九) to int; ValueError otherwise."""
    if text.isdigit():
        return int(text)
    match = _FORM.fullmatch(text)
    if not text or match is None or (text.startswith(("零", "〇")) and len(text) > 1):
        raise ValueError(f"cannot read the number {text!r}")
    hundreds = CN_DIGITS[match["h"]] if match["h"] else 0
    tens = (CN_DIGITS[match["t"]] if match["t"] else 1) if match["ten"] else 0
    ones = CN_DIGITS[match["o"]] if match["o"] else 0
    return hundreds * 100 + tens * 10 + ones
