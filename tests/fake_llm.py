"""A scripted stand-in for a language model, for unit tests of what surrounds the model (the
verification gate, fallbacks): never for testing a model.

Each reply is a string, or a function of the prompt the model was given: an "obedient" model that
follows whatever instructions the prompt (and so the retrieved documents) contain.
"""

from __future__ import annotations

from collections.abc import Callable

Reply = str | Callable[[str], str]


def scripted_llm(replies: list[Reply]):
    from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata

    class ScriptedLLM(CustomLLM):
        script: list

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=False, model_name="scripted")

        def _next(self, prompt: str) -> str:
            reply = self.script.pop(0)
            return reply(prompt) if callable(reply) else reply

        def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
            return CompletionResponse(text=self._next(prompt))

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
            text = self._next(prompt)
            acc = ""
            for i in range(0, len(text), 16):
                acc += text[i : i + 16]
                yield CompletionResponse(text=acc, delta=text[i : i + 16])

    return ScriptedLLM(script=list(replies))
