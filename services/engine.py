"""The engine behind every interface (CLI, UI, evaluation): load once, then retrieve and cite.

``retrieve`` returns a typed ``Retrieval`` (the hits, the provisions the question names, whether
the documents answer it, notices) and no text: the answerer (services/answer.py) alone composes
answers. ``cite`` returns a ``UnitRecord``, ``NamedUnits`` or ``PhraseMatches``.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.hybrid import HybridRetriever, LoadedIndex
from index.passes import Hit
from index.text_norm import language_of
from index.versions import in_language
from services.answerability import Answerability
from services.cite import PHRASE_MATCHES, UnknownReference, lookup_reference, named_refs, unit_record
from services.prompts import template
from services.refparse import relative_reference
from services.refrange import MAX_MEMBERS, mentioned_spans
from services.results import CiteResult, PhraseMatches, Retrieval
from services.scope import out_of_scope, years_in
from settings import Settings


def echo(question: str) -> str:
    """The question as it is echoed in results: a lone surrogate becomes "?" so the JSON can be printed."""
    return question.encode("utf-8", "replace").decode("utf-8")


class QuestionError(ValueError):
    """A question that cannot be asked (empty, or nothing but control characters)."""


class Engine:
    """Loaded index + retriever; read-only after construction, safe to share between requests."""

    def __init__(self, settings: Settings, mode: str = "hybrid", index: LoadedIndex | None = None) -> None:
        self.settings = settings
        self.index = index or LoadedIndex.load(settings)
        self.retriever = HybridRetriever(self.index, settings, mode)
        self.corpus_years = years_in([u.text for u in self.index.units])
        self.answerability = Answerability.load(settings, self.index)

    def clean_question(self, question: str) -> tuple[str, str | None]:
        """The question to search and a notice when it had to be cut."""
        text = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
        if not text:
            raise QuestionError("the question is empty")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            return text[:limit], f"the question was cut to its first {limit} of {len(text)} characters"
        return text, None

    def retrieve(
        self, question: str, scope_text: str | None = None, again: Sequence[str] = (), demote: Sequence[str] = ()
    ) -> Retrieval:
        """What the documents hold for ``question``. ``scope_text``: the text checked for instruments
        and years the corpus lacks, when it is not the question itself (a condensed follow-up can
        mangle a name the user wrote correctly). A follow-up passes ``again``, the previous answer's
        units when it asks for that answer again (they are its answer, as a named provision is), or
        ``demote``, those units when it turns to another aspect (they go below the other hits)."""
        text, notice = self.clean_question(question)
        language = language_of(text)
        named = list(again) or self.named_in(text, language)
        hits = self.retriever.search(text)
        if demote:
            hits = [*(h for h in hits if h.ref not in demote), *(h for h in hits if h.ref in demote)]
        hits = self._named_first(named, hits)
        missing = out_of_scope(scope_text or text, self.index.docs, self.corpus_years)
        confidence = self.answerability.probability(scope_text or text, hits, missing) if hits else 0.0
        answerable = bool(hits) and (bool(named) or (missing is None and confidence >= self.answerability.threshold))
        notices = [notice] if notice else []
        if missing:
            notices.append(template(self.settings.prompts_dir, language, missing[0]).format(what=missing[1]))
        return Retrieval(echo(question), text, language, hits, named, answerable, confidence, missing, notices)

    def cite(self, query: str) -> CiteResult:
        """A reference -> that unit (raises UnknownReference); a phrase -> the best-matching units."""
        text, _ = self.clean_question(query)
        record = lookup_reference(self.index, text, self.settings.primary_report, self.settings.primary_treaty)
        if record is not None:
            return record
        hits = self.retriever.search(text, PHRASE_MATCHES)
        return PhraseMatches(text, tuple(unit_record(self.index, self.index.by_ref[h.ref]) for h in hits))

    def named_in(self, text: str, language: str) -> list[str]:
        """The provisions the question names outright, in the order it names them ("What do paras.
        7 (c) and 8 (d) say?", "Compare article 6(3) of the Protocol with article 16 of the Smuggling
        Protocol", "第8段(j)项说了什么？"), each once, in the question's language where the document
        has language versions. A named provision that does not exist is left out. None in the
        single-retriever modes (the evaluation's baselines, the retrievers alone) or without the
        "named" step."""
        if not self.retriever.has("named"):
            return []
        routed = self.index.router.route(text)
        report = self._default(routed, "report", self.settings.primary_report)
        treaty = self._default(routed, "treaty", self.settings.primary_treaty)
        refs: list[str] = []
        for span in mentioned_spans(text, self.index.docs, report, treaty):
            # "article 6, paragraph 3 and paragraph 4": a later paragraph of no article is the last one's
            relative = relative_reference(span, refs[-1], self.index.by_ref) if refs else None
            try:
                refs += [relative] if relative else named_refs(self.index, span, report, treaty, partial=True) or []
            except UnknownReference:
                continue
        named = (in_language(ref, self.index.versions, self.index.by_ref, language) for ref in refs)
        return list(dict.fromkeys(named))[:MAX_MEMBERS]

    def _default(self, routed: set[str], kind: str, primary: str) -> str:
        """The document an unnamed reference of ``kind`` means: the one of that kind the question
        names, else the primary one; "" (none: resolved only if unique) when it names several."""
        named = [d.key for d in self.index.docs if d.key in routed and d.kind == kind]
        return named[0] if len(named) == 1 else ("" if named else primary)

    def _named_first(self, refs: list[str], hits: list[Hit]) -> list[Hit]:
        """The provisions a question names (``named_in``) are what the user asked about: they go
        first, in the order named, whatever the similarity search made of the words around them,
        scored two quoting margins above the best hit; the versions of each are dropped below."""
        if not refs:
            return hits
        versions = {v for ref in refs for v in (ref, *self.index.versions.get(ref, ()))}
        best = hits[0].score if hits else 0.0
        named = [Hit(ref, best + 2 * self.settings.quote_margin) for ref in refs]
        return [*named, *(h for h in hits if h.ref not in versions)][: max(len(hits), len(named))]
