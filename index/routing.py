"""Route a question to the documents it names or clearly concerns.

A Chinese question about "议定书" otherwise drifts to the Chinese report, whose
every paragraph shares its language; an English question about "the working
group" drifts to the English treaties. Names (aliases) and topic cues come
from the manifest, so a user's new document routes without code. Where a
longer name contains a shorter one ("Smuggling of Migrants Protocol" vs
"Protocol"), only the longer counts.
"""

from __future__ import annotations

from index.text_norm import normalize
from ingest.units import Document


class Router:
    def __init__(self, docs: list[Document]) -> None:
        self.languages = {doc.key: doc.language for doc in docs}
        terms: dict[str, set[str]] = {}
        for doc in docs:
            for term in (*doc.aliases, doc.short_en, doc.short_zh, *doc.cues):
                norm = normalize(term).strip()
                if len(norm) >= 2:
                    terms.setdefault(norm, set()).add(doc.key)
        # Longest first, so a longer name claims its span before a shorter one inside it.
        self._terms = sorted(terms.items(), key=lambda kv: -len(kv[0]))

    def route(self, question: str) -> set[str]:
        """Keys of the documents the question names or concerns; empty when none."""
        docs: set[str] = set()
        for _, _, keys in self._matches(f" {normalize(question)} "):
            docs |= keys
        return docs

    def without_names(self, text: str, keep: set[str]) -> str:
        """The (normalised) text with every name or cue of a document outside ``keep`` cut out.

        Why: a follow-up that turns to another document ("那偷运移民议定书呢？" after a question on
        the Trafficking Protocol) must not carry the earlier document's name into the standalone
        question, or retrieval goes back to it. Cutting the matched span, not words, also removes a
        Chinese name that jieba splits into pieces that no longer look like a name.
        """
        padded = f" {normalize(text)} "
        cuts = [(start, end) for start, end, keys in self._matches(padded) if not keys & keep]
        for start, end in sorted(cuts, reverse=True):
            padded = padded[:start] + " " + padded[end:]
        return padded.strip()

    def _matches(self, text: str):
        """(start, end, keys) of every name or cue in ``text``, longest claiming its span first."""
        taken = [False] * len(text)
        for term, keys in self._terms:
            start = text.find(term)
            while start != -1:
                end = start + len(term)
                ascii_term = term.isascii()
                bounded = not ascii_term or not text[start - 1].isalnum()  # prefixes: "recommend" ~ "recommended"
                if bounded and not any(taken[start:end]):
                    taken[start:end] = [True] * (end - start)
                    yield start, end, keys
                start = text.find(term, start + 1)
