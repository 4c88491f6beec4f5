"""The answerer: a question (and the conversation so far) in, a cited answer out.

    answerer = Answerer(engine, settings)
    answerer.answer("Who chaired the meeting?")                       # -> dict
    for piece in answerer.stream("Which country is she from?", history):  # {"delta"} ..., {"final"}
        ...

The dict is the CLI contract of ``Engine.ask`` ({"question", "language", "answer", "answerable",
"citations": [{"ref", "label", "quote"}], "retrieved": [{"ref", "score"}]}) plus "backend",
"standalone_question", "notice" (str | None) and "flags" (what the verification gate removed).

Steps: condense the follow-up into a standalone question (services/conversation.py), retrieve
with the engine, then either compose the extractive answer (verbatim quotes grouped by document)
or let the model write one from ref-labelled units and pass it through the gate
(services/verify.py). A model that fails or runs past PINPOINT_LLM_TIMEOUT gives way to the
extractive answer plus a one-line notice. The answer is in the language of the latest question,
its lead in traditional characters when the question was; quotes stay as in the source.

Streamed deltas are the text as it is produced; the "final" dict is authoritative (the gate may
have repaired or replaced what was streamed).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from index.text_norm import language_of
from services import conversation
from services.backends import BackendError, Deadline, backend_label, build_llm, predict, stream_chat
from services.engine import echo
from services.prompts import template
from services.verify import QUOTED, StreamGate, verify

if TYPE_CHECKING:
    from services.engine import Engine
    from settings import Settings

CLOSEST_UNITS = 3


class Answerer:
    """Shared by every user: it holds the engine and the model client, never a conversation."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._label_map = _label_map(engine)
        self._llm = None
        self._llm_error: str | None = None
        if settings.backend != "extractive":
            try:
                self._llm = build_llm(settings)  # the gguf server starts here, not inside a request
            except BackendError as exc:
                self._llm_error = str(exc)

    def over(self, engine: Engine) -> Answerer:
        """This answerer over another engine (a newer index generation), with the same model client:
        a local model server is not started twice."""
        other = copy.copy(self)
        other.engine = engine
        other._label_map = _label_map(engine)
        return other

    @property
    def backend_name(self) -> str:
        return backend_label(self.settings)

    # --- public API ------------------------------------------------------------------------------

    def answer(self, question: str, history: list[dict] | None = None) -> dict:
        final: dict = {}
        for piece in self.stream(question, history):
            final = piece.get("final", final)
        return final

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[dict]:
        text, cut_notice = self.engine.clean_question(question)
        language = language_of(text)
        traditional = language == "zh" and conversation.is_traditional(text)
        deadline = Deadline.after(self.settings.llm_timeout)
        failure = self._llm_error if self.settings.backend != "extractive" else None

        cited = self._previously_cited(history)
        index = self.engine.index
        relative = conversation.relative_condense(text, cited, index.by_ref, index.router)
        standalone = relative or conversation.rule_condense(
            text, history, cited, index.router, index.lexical.lexicon.translate_text
        )
        if relative is None and self._llm is not None and failure is None and conversation.user_turns(history):
            try:
                condensed = self._llm_condense(text, history, language, deadline)
                if conversation.usable_condensed(condensed, text):
                    standalone = condensed
            except BackendError as exc:
                failure = str(exc)

        base = self.engine.ask(standalone, scope_text=text)
        notices = [n for n in (cut_notice, base.get("notice")) if n]
        result = {
            "question": echo(question),
            "language": language,
            "answer": "",
            "answerable": base["answerable"],
            "citations": [],
            "retrieved": base["retrieved"],
            "backend": self.backend_name,
            "standalone_question": standalone,
            "notice": None,
            "flags": [],
        }

        if self._llm is None or failure is not None or not base["answerable"]:
            if failure is not None:
                notices.append(self._failure_notice(failure, language))
            self._extractive(result, language, traditional)
            for piece in _pieces(result["answer"]):
                yield {"delta": piece}
        else:
            produced: list[str] = []
            gate = StreamGate([r["ref"] for r in result["retrieved"]], self.engine.index.by_ref)
            try:
                for delta in stream_chat(self._llm, self._messages(standalone, result["retrieved"], language), deadline):
                    produced.append(delta)
                    shown = gate.feed(delta)
                    if shown:
                        yield {"delta": shown}
                rest = gate.flush()
                if rest:
                    yield {"delta": rest}
                self._generated(result, "".join(produced), language, traditional)
            except BackendError as exc:
                notices.append(self._failure_notice(str(exc), language))
                self._extractive(result, language, traditional)
        result["notice"] = self._script("; ".join(notices), traditional) if notices else None
        yield {"final": result}

    # --- extractive ------------------------------------------------------------------------------

    def _extractive(self, result: dict, language: str, traditional: bool) -> None:
        shown = self.engine.quotes(result["standalone_question"], language, result["retrieved"])
        answerable = bool(result["answerable"] and shown)
        name = "extractive_lead" if answerable else "not_found"
        lead = self._prompt(language, name).format(count=len(shown))
        body = self.compose_quotes(shown, language, traditional)
        result["answer"] = (self._script(lead, traditional) + "\n\n" + body).strip()
        result["answerable"] = answerable
        result["citations"] = [self._citation(ref, language) for ref in shown] if answerable else []

    def compose_quotes(self, refs: list[str], language: str, traditional: bool = False) -> str:
        """Verbatim quotes under their labels, grouped by document, with lead-in and cross-references."""
        by_ref = self.engine.index.by_ref
        docs = self.engine.index.doc_by_key
        groups: dict[str, list[str]] = {}
        for ref in refs:
            groups.setdefault(by_ref[ref].doc, []).append(ref)
        blocks = []
        for doc, members in groups.items():
            title = _label(docs[doc], language, "short") if doc in docs else doc
            lines = [f"## {self._script(title, traditional)}"]
            for ref in members:
                unit = by_ref[ref]
                lines.append(_label(unit, language))
                if unit.lead_in and unit.parent in by_ref:
                    note = self._prompt(language, "lead_in_note").format(
                        label=_label(by_ref[unit.parent], language), lead_in=unit.lead_in
                    )
                    lines.append(self._script(note, traditional))
                lines.append(unit.text)
                links = [_label(by_ref[link], language) for link in unit.links if link in by_ref]
                if links:
                    see = self._prompt(language, "see_also").format(labels="; ".join(links))
                    lines.append(self._script(see, traditional))
                lines.append("")
            blocks.append("\n".join(lines).strip())
        return "\n\n".join(blocks)

    # --- generated -------------------------------------------------------------------------------

    def _messages(self, question: str, retrieved: list[dict], language: str):
        from llama_index.core.llms import ChatMessage, MessageRole

        by_ref = self.engine.index.by_ref
        limit = self.settings.llm_unit_chars
        context = "\n\n".join(
            f"[{r['ref']}] {_label(by_ref[r['ref']], language)}: {_cut(by_ref[r['ref']].text, limit)}"
            for r in retrieved[: self.settings.llm_context_units]
        )
        system = self._prompt(language, "system").format()
        user = self._prompt(language, "context").format(context_str=context, question=question)
        return [ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user)]

    def _generated(self, result: dict, text: str, language: str, traditional: bool) -> None:
        retrieved = [r["ref"] for r in result["retrieved"]]
        checked = verify(text, retrieved, self.engine.index.by_ref)
        result["flags"] = checked.flags
        if not checked.valid:
            result["answerable"] = False
            self._not_found(result, language, traditional)
            return
        result["answer"] = _outside_quotes(checked.text, conversation.to_traditional) if traditional else checked.text
        result["answerable"] = True
        result["citations"] = [self._citation(ref, language) for ref in checked.refs]

    def _not_found(self, result: dict, language: str, traditional: bool) -> None:
        closest = [r["ref"] for r in result["retrieved"][:CLOSEST_UNITS]]
        lead = self._script(self._prompt(language, "not_found").format(), traditional)
        result["answer"] = (lead + "\n\n" + self.compose_quotes(closest, language, traditional)).strip()
        result["citations"] = []

    def _llm_condense(self, question: str, history: list[dict] | None, language: str, deadline: Deadline) -> str:
        from llama_index.core.base.llms.generic_utils import messages_to_history_str

        chat_history = conversation.history_messages(history)
        return predict(
            self._llm,
            self._prompt(language, "condense"),
            deadline,
            question=question,
            chat_history=messages_to_history_str(chat_history),
        ).strip()

    # --- helpers ---------------------------------------------------------------------------------

    def _previously_cited(self, history: list[dict] | None) -> list:
        """The units the previous answer cites ([ref] or a label line), in order of first mention."""
        previous = conversation.last_assistant(history)
        by_ref = self.engine.index.by_ref
        found = [by_ref[ref] for ref in re.findall(r"\[([a-z][a-z0-9-]*:[^\]\s;,]+)\]", previous) if ref in by_ref]
        for line in previous.splitlines():
            found.extend(self._label_map.get(line.strip(), [])[:1])
        return list({unit.ref: unit for unit in found}.values())

    def _failure_notice(self, reason: str, language: str) -> str:
        return self._prompt(language, "backend_failed").format(reason=reason)

    def _prompt(self, language: str, name: str):
        return template(self.settings.prompts_dir, language, name)

    def _citation(self, ref: str, language: str) -> dict:
        unit = self.engine.index.by_ref[ref]
        return {"ref": ref, "label": _label(unit, language), "quote": unit.text}

    @staticmethod
    def _script(text: str, traditional: bool) -> str:
        return conversation.to_traditional(text) if traditional else text


def _label_map(engine: Engine) -> dict[str, list]:
    """Label (en or zh) -> units; built once per engine and only read by requests (no lazy cache to race on)."""
    out: dict[str, list] = {}
    for unit in engine.index.units:
        out.setdefault(unit.label_en, []).append(unit)
        out.setdefault(unit.label_zh, []).append(unit)
    return out


def _label(obj, language: str, kind: str = "label") -> str:
    """label_zh / label_en of a unit, short_zh / short_en of a document."""
    return getattr(obj, f"{kind}_{'zh' if language == 'zh' else 'en'}")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def _pieces(text: str) -> list[str]:
    """The extractive answer in a few stream pieces (paragraphs, separators kept)."""
    parts = re.split(r"(\n\n)", text)
    out: list[str] = []
    for part in parts:
        if out and (part == "\n\n" or len(out[-1]) < 40):
            out[-1] += part
        else:
            out.append(part)
    return [p for p in out if p]


def _outside_quotes(text: str, convert) -> str:
    """``convert`` applied to the text outside quotations, > blocks and [refs]."""
    out = []
    for line in text.split("\n"):
        if line.lstrip().startswith(">"):
            out.append(line)
            continue
        pieces, last = [], 0
        for match in re.finditer(QUOTED.pattern + r"|\[[^\[\]\n]*\]", line):
            pieces.append(convert(line[last : match.start()]))
            pieces.append(match.group(0))
            last = match.end()
        pieces.append(convert(line[last:]))
        out.append("".join(pieces))
    return "\n".join(out)
