"""The engine behind every interface (CLI, UI, evaluation): load once, then ask and cite.

``ask`` returns the JSON contract of the command line:
{"question", "language", "answer", "answerable", "citations": [{"ref", "label", "quote"}],
 "retrieved": [{"ref", "score"}]}.
"""

from __future__ import annotations

from index.hybrid import HybridRetriever, LoadedIndex
from index.text_norm import language_of
from settings import Settings


class Engine:
    """Loaded index + retriever; read-only after construction, safe to share between requests."""

    def __init__(self, settings: Settings, mode: str = "hybrid", index: LoadedIndex | None = None) -> None:
        self.settings = settings
        self.index = index or LoadedIndex.load(settings)
        self.retriever = HybridRetriever(self.index, settings, mode)

    def ask(self, question: str) -> dict:
        hits = self.retriever.search(question)
        best = hits[0] if hits else None
        answerable = bool(best and best.score >= self.settings.answer_threshold)
        citations = []
        if answerable:
            for hit in hits[:3]:
                unit = self.index.by_ref[hit.ref]
                label = unit.label_zh if language_of(question) == "zh" else unit.label_en
                citations.append({"ref": hit.ref, "label": label, "quote": unit.text})
        return {
            "question": question,
            "language": language_of(question),
            "answer": "\n\n".join(f"{c['label']}: {c['quote']}" for c in citations),
            "answerable": answerable,
            "citations": citations,
            "retrieved": [{"ref": h.ref, "score": round(h.score, 4)} for h in hits],
        }
