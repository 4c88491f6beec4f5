"""The answerer: a question (and the conversation so far) in, a cited ``Answer`` out.

    answerer = Answerer(engine, settings)
    answerer.answer("Who chaired the meeting?")                        # -> Answer
    for piece in answerer.stream("Which country is she from?", history):  # {"delta"} ..., {"final": Answer}
        ...

Steps: make a follow-up standalone (services/conversation.py), retrieve (the engine's typed
``Retrieval``), then compose. The extractive answer (no model) opens with a short answer in the
reader's language, made of the answering units' own sentences (the official text when it is in
the reader's language, else the unit's unofficial rendering, marked as such), each followed by
its pinpoint; then the verbatim text of exactly the units cited, each with its parent's lead-in
and, when it is in the other language, its translation below it. A model backend writes the
answer from ref-labelled units (renderings included) and passes the gate (services/verify.py); a
model that fails or runs past PINPOINT_LLM_TIMEOUT gives way to the extractive answer plus a
notice. When the documents do not answer, the answer says so plainly and lists the closest units
as "closest, not an answer". The answer's own words are in the language of the latest question,
in traditional characters when it was; quotes stay as in the source.

Streamed deltas are the text as it is produced; the "final" Answer is authoritative (the gate may
have repaired or replaced what was streamed).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from index.text_norm import language_of, tokenize
from services import conversation
from services.backends import BackendError, Deadline, backend_label, build_llm, predict, stream_chat
from services.engine import echo
from services.prompts import template
from services.results import Answer, Citation, Retrieval
from services.translations import translation_of
from services.verify import QUOTED, StreamGate, verify

if TYPE_CHECKING:
    from services.engine import Engine
    from settings import Settings

# A question that asks for a list ("list", "all the measures", "有哪些…全部") may be quoted at length.
LIST_QUESTION = re.compile(r"\b(list|all|every|enumerate|each of)\b|列出|所有|全部|各项|哪几", re.I)
SENTENCE = re.compile(r"(?<=[.;:!?])\s+(?=[A-Z(\"“])|(?<=[。；！？])|\n")
MARKER = re.compile(r"^\s*(?:\(?[0-9a-z]{1,4}[.)]|\([0-9a-z]{1,6}\))\s*", re.I)
SENTENCES_PER_UNIT = 2
SHORT_ITEM_CHARS = 80  # a sub-item this short is shown after the words that introduce it
EXCERPT_CHARS = 160  # of a closest unit's verbatim text, in a declined answer


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

    def answer(self, question: str, history: list[dict] | None = None) -> Answer:
        final: Answer | None = None
        for piece in self.stream(question, history):
            final = piece.get("final", final)
        assert final is not None
        return final

    def stream(self, question: str, history: list[dict] | None = None) -> Iterator[dict]:
        text, cut_notice = self.engine.clean_question(question)
        language = language_of(text)
        traditional = language == "zh" and conversation.is_traditional(text)
        deadline = Deadline.after(self.settings.llm_timeout)
        failure = self._llm_error if self.settings.backend != "extractive" else None

        standalone, failure = self._standalone(text, history, language, deadline, failure)
        found = self._retrieve(text, standalone, history)
        notices = [n for n in (cut_notice, *found.notices) if n]
        result = Answer(
            question=echo(text) if cut_notice else echo(question),  # a cut question is echoed cut, not 240 KB back
            language=language,
            answer="",
            answerable=found.answerable,
            citations=[],
            retrieved=[(h.ref, h.score) for h in found.hits],
            backend=self.backend_name,
            standalone_question=standalone,
            confidence=found.confidence,
        )
        if self._llm is None or failure is not None or not found.answerable:
            if failure is not None:
                notices.append(self._failure_notice(failure, language))
            self._extractive(result, found, language, traditional)
            for piece in _pieces(result.answer):
                yield {"delta": piece}
        else:
            produced: list[str] = []
            gate = StreamGate([h.ref for h in found.hits], self.engine.index.by_ref)
            try:
                for delta in stream_chat(self._llm, self._messages(standalone, found, language), deadline):
                    produced.append(delta)
                    shown = gate.feed(delta)
                    if shown:
                        yield {"delta": shown}
                rest = gate.flush()
                if rest:
                    yield {"delta": rest}
                self._generated(result, found, "".join(produced), language, traditional)
            except BackendError as exc:
                notices.append(self._failure_notice(str(exc), language))
                self._extractive(result, found, language, traditional)
        result.notice = self._script("; ".join(notices), traditional) if notices else None
        yield {"final": result}

    def quoted(self, found: Retrieval) -> list[str]:
        """The units an answer quotes: the provisions the question names, all of them; else the best
        unit and the next ones within ``quote_margin`` of it (at most ``quote_max``, more for a list
        question). A unit of many sub-units is replaced by its best-scoring sub-unit among the hits (a
        sub-item with its parent's lead-in, not a whole 15-item paragraph); a smaller one stays whole,
        as retrieval already ranks a sub-unit that answers above it."""
        if found.named:
            return found.named
        hits = found.hits
        if not hits:
            return []
        by_ref = self.engine.index.by_ref
        limit = self.settings.quote_max_list if LIST_QUESTION.search(found.text) else self.settings.quote_max
        top = hits[0].score
        chosen: list[str] = []
        for hit in hits:
            if top - hit.score > self.settings.quote_margin or len(chosen) >= limit:
                break
            ref = hit.ref if len(by_ref[hit.ref].children) < self.settings.quote_split_children else _finest(hit.ref, hits, by_ref)
            if ref not in chosen and not any(_within(ref, c, by_ref) or _within(c, ref, by_ref) for c in chosen):
                chosen.append(ref)
        return chosen

    # --- extractive ------------------------------------------------------------------------------

    def _extractive(self, result: Answer, found: Retrieval, language: str, traditional: bool) -> None:
        shown = self.quoted(found) if found.answerable else []
        if not shown:
            self._declined(result, found, language, traditional)
            return
        citations = [self.citation(ref, language) for ref in shown]
        lead = self._prompt(language, "extractive_lead").format(count=len(shown))
        summary = self._summary(citations, found.text, language, traditional)
        body = self.compose_quotes(citations, language, traditional)
        result.answer = "\n\n".join(part for part in (summary, self._script(lead, traditional), body) if part).strip()
        result.answerable = True
        result.citations = citations

    def _summary(self, citations: list[Citation], question: str, language: str, traditional: bool) -> str:
        """The short answer: for each cited unit, its sentences that share most words with the
        question, in the reader's language, followed by its pinpoint; a sentence taken from an
        unofficial rendering is marked as such (never a quotation)."""
        terms = set(tokenize(question))
        marker = self._script(self._prompt(language, "unofficial_mark").format(), traditional)
        lines = []
        for citation in citations:
            text, rendered = self._reader_text(citation, language)
            if not text:
                continue
            picked = _best_sentences(text, terms, SENTENCES_PER_UNIT)
            sentence = " ".join(picked) if language == "en" else "".join(picked)
            intro = self._introduction(citation, language)
            if intro and len(sentence) <= SHORT_ITEM_CHARS:
                # "Appropriate housing." means nothing alone: the parent's words that introduce it go first
                sentence = f"{intro} {sentence[0].lower()}{sentence[1:]}" if language == "en" else intro + sentence
            if rendered:
                sentence = self._script(sentence, traditional)
            label = self._script(citation.label, traditional)
            cited = f" ({label})" if language == "en" else f"（{label}）"
            lines.append(f"- {sentence}{cited}" + (f" {marker}" if rendered else ""))
        if not lines:
            return ""
        rendered_any = any(self._reader_text(c, language)[1] for c in citations)
        head = self._prompt(language, "summary_rendered" if rendered_any else "summary").format(mark=marker)
        return self._script(head, traditional) + "\n" + "\n".join(lines)

    def _introduction(self, citation: Citation, language: str) -> str:
        """The words that introduce a listed sub-item ("… in particular, the provision of:"), in
        the reader's language; "" when the unit is no list item."""
        parent = self.engine.index.by_ref[citation.ref].parent
        if not citation.lead_in or parent is None:
            return ""
        words = citation.lead_in_translation if citation.translation is not None else citation.lead_in
        words = MARKER.sub("", words.split("\n")[-1]).strip()
        return words if words.endswith((":", "：")) else ""

    @staticmethod
    def _reader_text(citation: Citation, language: str) -> tuple[str, bool]:
        """The cited unit's text in the reader's language, and whether it is an unofficial rendering."""
        if citation.translation is None:
            return citation.quote, False
        return citation.translation.text, not citation.translation.official

    def compose_quotes(self, citations: list[Citation], language: str, traditional: bool = False) -> str:
        """Verbatim quotes (``>`` blocks) under their labels, grouped by document, with the parent's
        lead-in, cross-references and, for a unit in the other language, its translation below."""
        by_ref = self.engine.index.by_ref
        docs = self.engine.index.doc_by_key
        groups: dict[str, list[Citation]] = {}
        for citation in citations:
            groups.setdefault(by_ref[citation.ref].doc, []).append(citation)
        blocks = []
        for doc, members in groups.items():
            title = _label(docs[doc], language, "short") if doc in docs else doc
            lines = [f"## {self._script(title, traditional)}"]
            for citation in members:
                unit = by_ref[citation.ref]
                if not citation.lead_in:
                    lines.append(citation.label)
                if citation.lead_in and unit.parent in by_ref:
                    note = self._prompt(language, "lead_in_note").format(label=_label(by_ref[unit.parent], language))
                    lines.append(self._script(note, traditional))
                    lines.extend(_quoted(citation.lead_in))
                    lines.append(citation.label)
                lines.extend(_quoted(unit.text))
                if citation.translation is not None:
                    lines.append(self._translation_line(citation, language, traditional))
                links = [_label(by_ref[link], language) for link in unit.links if link in by_ref]
                if links:
                    see = self._prompt(language, "see_also").format(labels="; ".join(links))
                    lines.append(self._script(see, traditional))
                lines.append("")
            blocks.append("\n".join(lines).strip())
        return "\n\n".join(blocks)

    def _translation_line(self, citation: Citation, language: str, traditional: bool) -> str:
        translation = citation.translation
        assert translation is not None
        name = "official_version" if translation.official else "unofficial_translation"
        text = translation.text if translation.official else self._script(translation.text, traditional)
        return self._prompt(language, name).format(text=text.replace("\n", " "))

    def _declined(self, result: Answer, found: Retrieval, language: str, traditional: bool) -> None:
        """The documents do not answer: say so plainly, and list the closest units as what they are."""
        closest = [h.ref for h in found.hits[: self.settings.closest_units]]
        by_ref = self.engine.index.by_ref
        lead = self._prompt(language, "not_found").format()
        lines = [self._script(lead, traditional)]
        if closest:
            lines.append(self._script(self._prompt(language, "closest").format(), traditional))
            for ref in closest:
                unit = by_ref[ref]
                excerpt = unit.text if len(unit.text) <= EXCERPT_CHARS else unit.text[:EXCERPT_CHARS].rstrip() + " …"
                lines.append(f"- {unit.label(language)}: {excerpt.replace(chr(10), ' ')}")
        result.answer = "\n".join(lines)
        result.answerable = False
        result.citations = []
        result.closest = closest

    def citation(self, ref: str, language: str) -> Citation:
        index = self.engine.index
        unit = index.by_ref[ref]
        translation = translation_of(index, ref, language)
        parent = index.renderings.get(unit.parent or "")
        lead_in = parent.own if translation is not None and parent is not None and parent.lang == language else ""
        return Citation(ref, _label(unit, language), unit.text, unit.lead_in, translation, lead_in)

    # --- generated -------------------------------------------------------------------------------

    def _messages(self, question: str, found: Retrieval, language: str):
        from llama_index.core.llms import ChatMessage, MessageRole

        by_ref = self.engine.index.by_ref
        limit = self.settings.llm_unit_chars
        passages = []
        for hit in found.hits[: self.settings.llm_context_units]:
            unit = by_ref[hit.ref]
            passage = f"[{hit.ref}] {_label(unit, language)}: {_cut(unit.text, limit)}"
            translation = translation_of(self.engine.index, hit.ref, language)
            if translation is not None:
                passage += "\n" + self._translation_line(Citation(hit.ref, "", "", translation=translation), language, False)
            passages.append(passage)
        system = self._prompt(language, "system").format()
        user = self._prompt(language, "context").format(context_str="\n\n".join(passages), question=question)
        return [ChatMessage(role=MessageRole.SYSTEM, content=system), ChatMessage(role=MessageRole.USER, content=user)]

    def _generated(self, result: Answer, found: Retrieval, text: str, language: str, traditional: bool) -> None:
        checked = verify(text, [h.ref for h in found.hits], self.engine.index.by_ref)
        result.flags = checked.flags
        if not checked.valid:  # the model found nothing it could cite: the documents do not answer
            self._declined(result, found, language, traditional)
            return
        result.answer = _outside_quotes(checked.text, conversation.to_traditional) if traditional else checked.text
        result.answerable = True
        result.citations = [self.citation(ref, language) for ref in checked.refs]

    def _retrieve(self, text: str, standalone: str, history: list[dict] | None) -> Retrieval:
        """Retrieval for the latest turn. A follow-up that asks for the previous answer again gets
        its units; one that turns to another aspect never gets them back first."""
        previous = [unit.ref for unit in self._previously_cited(history)] if conversation.user_turns(history) else []
        if previous and conversation.asks_again(text):
            return self.engine.retrieve(standalone, scope_text=text, again=previous)
        if previous and standalone != text and conversation.moves_on(text):
            # the previous answer's first unit only: its second one is often the next aspect itself
            return self.engine.retrieve(standalone, scope_text=text, demote=previous[:1])
        return self.engine.retrieve(standalone, scope_text=text)

    def _standalone(
        self, text: str, history: list[dict] | None, language: str, deadline: Deadline, failure: str | None
    ) -> tuple[str, str | None]:
        """The follow-up made standalone (services/conversation.py), and a model failure on the way."""
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
        return standalone, failure

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

    @staticmethod
    def _script(text: str, traditional: bool) -> str:
        return conversation.to_traditional(text) if traditional else text


def _quoted(text: str) -> list[str]:
    """Verbatim text as Markdown quote lines, and the blank line that ends the quotation: the reader,
    the gate and the evaluation all see it as one (a line right after a quote line would continue it)."""
    return [*(f"> {line}" if line else ">" for line in text.split("\n")), ""]


def _finest(ref: str, hits, by_ref) -> str:
    """``ref``'s best-scoring descendant among the hits, when it has one; else ``ref``."""
    inside = [h for h in hits if h.ref != ref and _within(h.ref, ref, by_ref)]
    return max(inside, key=lambda h: h.score).ref if inside else ref


def _within(ref: str, ancestor: str, by_ref) -> bool:
    parent = by_ref[ref].parent
    while parent:
        if parent == ancestor:
            return True
        parent = by_ref[parent].parent
    return False


def _best_sentences(text: str, terms: set[str], limit: int) -> list[str]:
    """Up to ``limit`` sentences of ``text`` sharing most tokens with ``terms``, in reading order;
    numbering markers and article headings dropped, a closing ";" made a full stop."""
    lines = text.split("\n")
    if len(lines) > 1 and re.match(r"^(Article|第)\s*\S+", lines[0]):
        lines = lines[2:] or lines  # "Article 6" and its heading name the unit, they do not answer
    sentences = [s.strip() for line in lines for s in SENTENCE.split(line) if s and s.strip()]
    sentences = [MARKER.sub("", s) for s in sentences]
    sentences = [s for s in sentences if len(s) > 1]
    if not sentences:
        return []
    scored = sorted(range(len(sentences)), key=lambda i: (-len(terms & set(tokenize(sentences[i]))), i))
    picked = sorted(scored[:limit])
    return [_closed(sentences[i]) for i in picked]


def _closed(sentence: str) -> str:
    sentence = re.sub(r"[;；,，:：]\s*(?:and|or|和|或)?\s*$", "", sentence.strip())
    if re.search(r"[\u4e00-\u9fff]$", sentence):
        return sentence + "。"
    return sentence if re.search(r"[.。!?！？”\"]$", sentence) else sentence + "."


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
