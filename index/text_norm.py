"""Tokens for the lexical index, for Chinese and English alike.

Normalisation (traditional -> simplified with OpenCC, full-width -> half-width
with NFKC, lower case) applies to index and query tokens only; displayed and
quoted text never passes through here. Chinese runs are cut with jieba's
``cut_for_search`` (whole words plus their sub-words), English words are
stemmed with Snowball, so "victims" finds "victim" and 贩运人口 finds 人口贩运's
parts.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

CJK_RUN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]+")
LATIN_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
HAS_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")

EN_STOP = frozenset(
    """a an the and or of to in on for by with as at from that this these those be is are was were been being it its
    their his her he she they them which who whom whose what when where why how shall may such any all each other
    not no nor if than then there so into under upon within without between about also including include has have
    had do does did can could would should will our we you your i me my per via""".split()
)
ZH_STOP = frozenset("的 了 和 与 及 或 在 是 为 对 于 以 等 其 之 并 中 上 下 该 这 那 有 也 将 被 由 从 把 就 都 而 或者 以及 什么 哪些 是否 如何 怎么 吗 呢 吧 啊 请 問 问".split())


@lru_cache(maxsize=1)
def _converter():
    from opencc import OpenCC

    return OpenCC("t2s")


_per_thread = threading.local()


def _stemmer():
    """This thread's Snowball stemmer: a PyStemmer object keeps state while it stems and must
    not be used by two threads at once (its docstring says so), and requests run in threads."""
    stemmer = getattr(_per_thread, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _per_thread.stemmer = Stemmer.Stemmer("english")
    return stemmer


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def add_words(words: list[str]) -> None:
    """Teach jieba multi-character terms (from the glossary) so they stay whole tokens."""
    jb = _jieba()
    for word in words:
        jb.add_word(word, freq=20000)


def normalize(text: str) -> str:
    """Simplified, half-width, lower-case; for matching only."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _converter().convert(text) if HAS_CJK.search(text) else text


def to_simplified(text: str) -> str:
    """Traditional -> simplified characters (OpenCC t2s); for matching, never for display."""
    return _converter().convert(text)


def language_of(text: str) -> str:
    """"zh" when Chinese characters make up a fair share of the letters, else "en"."""
    cjk = len(HAS_CJK.findall(text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk * 3 >= latin else "en"


def zh_words(text: str) -> list[str]:
    """jieba search-mode words of the Chinese runs of normalised text, stop words removed."""
    out = []
    for run in CJK_RUN.findall(text):
        out.extend(w for w in _jieba().cut_for_search(run) if w not in ZH_STOP)
    return out


def en_words(text: str) -> list[str]:
    """Lower-case English words of normalised text, stop words removed, not stemmed."""
    return [w for w in LATIN_WORD.findall(text) if w not in EN_STOP and not (w.isdigit() and len(w) > 4)]


def stem(words: list[str]) -> list[str]:
    """Snowball stems, with adverbs folded into their adjective ("temporarili" -> "temporari").

    Dictionary glosses say "temporary" where the treaty says "temporarily"; Snowball
    keeps them apart, and query translation then misses.
    """
    return [s[:-2] if len(s) > 6 and s.endswith("li") else s for s in _stemmer().stemWords(words)]


def tokenize(text: str) -> list[str]:
    """Index/query tokens of any text: jieba words for Chinese, stems for English."""
    norm = normalize(text)
    return zh_words(norm) + stem(en_words(norm))
