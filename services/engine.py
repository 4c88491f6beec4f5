"""The engine behind every interface (CLI, UI, evaluation): load once, then ask and cite.

``ask`` returns the JSON contract of the command line:
{"question", "language", "answer", "answerable", "citations": [{"ref", "label", "quote"}],
 "retrieved": [{"ref", "score"}]}. Until a generating backend exists the answer is
extractive: the best units quoted verbatim under their labels, in the question's language.
"""

from __future__ import annotations

from index.hybrid import Hit, HybridRetriever, LoadedIndex
from index.text_norm import language_of
from index.versions import in_language
from services.cite import PHRASE_MATCHES, UnknownReference, lookup_reference, named_refs, unit_record
from services.prompts import template
from services.refparse import relative_reference
from services.refrange import MAX_MEMBERS, mentioned_spans
from services.scope import out_of_scope, years_in
from settings import Settings


def quoted_refs(retrieved: list[dict], settings: Settings) -> list[str]:
    """The refs an extractive answer quotes: the best unit, and the next ones whose score is
    within ``quote_margin`` of it (at most ``quote_max``). A fixed top 3 cited two wrong units
    for every right one; a close second is kept because two-part questions need both."""
    if not retrieved:
        return []
    top = retrieved[0]["score"]
    close = [r["ref"] for r in retrieved if top - r["score"] <= settings.quote_margin]
    return close[: settings.quote_max]


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

    def clean_question(self, question: str) -> tuple[str, str | None]:
        """The question to search and a notice when it had to be cut."""
        text = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
        if not text:
            raise QuestionError("the question is empty")
        limit = self.settings.max_question_chars
        if len(text) > limit:
            return text[:limit], f"the question was cut to its first {limit} of {len(text)} characters"
        return text, None

    def ask(self, question: str, scope_text: str | None = None) -> dict:
        """``scope_text``: the text checked for instruments and years the corpus lacks, when it is not
        the question itself (a condensed follow-up can mangle a name the user wrote correctly)."""
        text, notice = self.clean_question(question)
        language = language_of(text)
        named = self.named_in(text, language)
        hits = self._named_first(named, self.retriever.search(text))
        missing = out_of_scope(scope_text or text, self.index.docs, self.corpus_years)
        answerable = bool(hits) and not missing and hits[0].score >= self.settings.answer_threshold
        retrieved = [{"ref": h.ref, "score": round(h.score, 4)} for h in hits]
        shown = named or quoted_refs(retrieved, self.settings)
        citations = [self._citation(ref, language) for ref in shown] if answerable else []
        name = "extractive_lead" if answerable else "not_found"
        lead = template(self.settings.prompts_dir, language, name).format(count=len(shown))
        body = citations or [self._citation(ref, language) for ref in shown]
        result = {
            "question": echo(question),
            "language": language,
            "answer": lead + "\n\n" + "\n\n".join(f"{c['label']}\n{c['quote']}" for c in body),
            "answerable": answerable,
            "citations": citations,
            "retrieved": retrieved,
        }
        scope_notice = template(self.settings.prompts_dir, language, missing[0]).format(what=missing[1]) if missing else None
        notices = [n for n in (notice, scope_notice) if n]
        if notices:
            result["notice"] = "; ".join(notices)
        return result

    def cite(self, query: str) -> dict:
        """A reference -> that unit (raises UnknownReference); a phrase -> the best-matching units."""
        text, _ = self.clean_question(query)
        record = lookup_reference(self.index, text, self.settings.primary_report, self.settings.primary_treaty)
        if record is not None:
            return record
        hits = self.retriever.search(text, PHRASE_MATCHES)
        return {"query": text, "matches": [unit_record(self.index, self.index.by_ref[h.ref]) for h in hits]}

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

    def quotes(self, text: str, language: str, retrieved: list[dict]) -> list[str]:
        """What an extractive answer quotes: the provisions the question names, all of them, else
        the best units by the quoting rule (``quoted_refs``)."""
        return self.named_in(text, language) or quoted_refs(retrieved, self.settings)

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

    def _citation(self, ref: str, language: str) -> dict:
        unit = self.index.by_ref[ref]
        return {"ref": ref, "label": unit.label(language), "quote": unit.text}
