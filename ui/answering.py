"""The answerer the UI talks to: services.answer.Answerer when present, else a local stand-in.

Both have the same shape: ``backend_name``; ``answer(question, history) -> dict`` (the ask
contract plus "backend", "standalone_question", "notice", "flags"); ``stream(question, history)``
yielding ``{"delta": str}`` pieces and then ``{"final": dict}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator


class ExtractiveAnswerer:
    """Engine.ask behind the Answerer interface (used until services/answer.py exists)."""

    backend_name = "extractive"

    def __init__(self, engine, settings) -> None:
        self.engine = engine
        self.settings = settings

    def answer(self, question: str, history: list[dict] | None = None) -> dict:
        result = dict(self.engine.ask(question))
        result.setdefault("backend", self.backend_name)
        result.setdefault("standalone_question", question)
        result.setdefault("notice", None)
        result.setdefault("flags", [])
        return result

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[dict]:
        result = self.answer(question, history)
        for piece in re.findall(r"[^\n]*\n*", result["answer"]):  # line by line
            if not piece:
                continue
            yield {"delta": piece}
        yield {"final": result}


def make_answerer(engine, settings):
    """The real Answerer if services/answer.py provides one, else the extractive stand-in."""
    try:
        from services.answer import Answerer
    except ModuleNotFoundError as exc:
        if exc.name != "services.answer":
            raise  # services/answer.py exists but is broken: say so instead of hiding it
        return ExtractiveAnswerer(engine, settings)
    return Answerer(engine, settings)
