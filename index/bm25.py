"""The lexical retriever: bm25s over Chinese-aware tokens, as a llama-index retriever.

llama-index's own BM25Retriever is not used: its default token pattern makes a
whole Chinese sentence one token, it ignores a custom tokenizer, and its
persist/load drops a custom pattern. Here the tokens come from
``index.text_norm`` and the query adds the lexicon's translations and the
treaties' wording for plain phrases (``Lexicon.expand``), scored as a second, down-weighted query so a dictionary guess never outranks a word the
user typed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from index.lexicon import Lexicon
from index.text_norm import add_words, tokenize

TRANSLATION_WEIGHT = 0.6
RENDERED = "bm25-rendered"  # the folder of the BM25 index over the units' renderings, beside "bm25"


class LexicalIndex:
    """BM25 scores for all units at once, in unit order."""

    def __init__(self, retriever, lexicon: Lexicon | None = None):
        self._bm25 = retriever
        self.lexicon = lexicon or Lexicon()

    @classmethod
    def build(cls, texts: list[str]) -> LexicalIndex:
        import bm25s

        retriever = bm25s.BM25()
        corpus = [tokenize(t) or [""] for t in texts]
        retriever.index(corpus, show_progress=False)
        return cls(retriever)

    @property
    def vocab(self) -> set[str]:
        return set(self._bm25.vocab_dict)

    def document_frequency(self, token: str) -> int:
        """In how many units ``token`` occurs (0 when it is not in the vocabulary)."""
        column = self._bm25.vocab_dict.get(token)
        if column is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[column + 1] - indptr[column]) if column + 1 < len(indptr) else 0

    @property
    def size(self) -> int:
        return int(self._bm25.scores["num_docs"])

    def save(self, folder: Path, name: str = "bm25") -> None:
        """The BM25 index as ``folder/name``; the lexicon beside the main one only (a second index,
        over the renderings, shares the main one's lexicon)."""
        self._bm25.save(str(folder / name))
        if name == "bm25":
            self.lexicon.save(folder / "lexicon.json")

    @classmethod
    def load(cls, folder: Path, name: str = "bm25", lexicon: Lexicon | None = None) -> LexicalIndex:
        import bm25s

        if lexicon is None:
            lexicon_path = folder / "lexicon.json"
            lexicon = Lexicon.load(lexicon_path) if lexicon_path.exists() else Lexicon()
            add_words(lexicon.user_words)
        return cls(bm25s.BM25.load(str(folder / name)), lexicon)

    def scores(self, query: str, translate: bool = True, expand: bool = True) -> np.ndarray:
        """BM25 of the query's own tokens plus down-weighted extra tokens: the query's translations
        (``translate``) and the treaties' wording for its plain phrases, in both languages (``expand``)."""
        own = [t for t in tokenize(query) if t in self._bm25.vocab_dict]
        result = self._bm25.get_scores(own) if own else np.zeros(self._bm25.scores["num_docs"], dtype=np.float32)
        expansion = self.lexicon.expand(query) if expand else ""
        extra = tokenize(expansion) if expansion else []
        if translate:
            extra += self.lexicon.translate(query) + (self.lexicon.translate(expansion) if expansion else [])
        extra = [t for t in extra if t in self._bm25.vocab_dict]
        if extra:
            result = result + TRANSLATION_WEIGHT * self._bm25.get_scores(extra)
        return result
