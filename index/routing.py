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
from ingest.grammar import NameMatcher, word_start
from ingest.units import Document


class Router:
    def __init__(self, docs: list[Document]) -> None:
        self.languages = {doc.key: doc.language for doc in docs}
        # Names and cues, not keys: a key is an identifier ("notes"), which a question may use as a
        # plain word. A single character would route every question that has it.
        terms = (
            (normalize(term).strip(), doc.key)
            for doc in docs
            for term in (*doc.aliases, doc.short_en, doc.short_zh, *doc.cues)
        )
        self._names = NameMatcher((term, key) for term, key in terms if len(term) >= 2)

    def route(self, question: str) -> set[str]:
        """Keys of the documents the question names or concerns; empty when none."""
        docs: set[str] = set()
        for span in self._names.spans(f" {normalize(question)} ", word_start):
            docs.update(span.keys)
        return docs

    def without_names(self, text: str, keep: set[str]) -> str:
        """The (normalised) text with every name or cue of a document outside ``keep`` cut out.

        Why: a follow-up that turns to another document ("那偷运移民议定书呢？" after a question on
        the Trafficking Protocol) must not carry the earlier document's name into the standalone
        question, or retrieval goes back to it. Cutting the matched span, not words, also removes a
        Chinese name that jieba splits into pieces that no longer look like a name.
        """
        padded = f" {normalize(text)} "
        cuts = [span for span in self._names.spans(padded, word_start) if keep.isdisjoint(span.keys)]
        for span in sorted(cuts, key=lambda span: span.start, reverse=True):
            padded = padded[: span.start] + " " + padded[span.end :]
        return padded.strip()
