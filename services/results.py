"""The typed results every interface reads: the CLI, the API, the UI and the evaluation.

One shape per kind of result, each with ``to_json()`` for the `--json` contract and the API, so
no reader tells results apart by the keys a dict happens to have:

- ``Retrieval``: what the engine found for a question (hits, the provisions it names, whether
  the documents answer it); no text;
- ``Answer``: what the answerer made of it: the text, the citations (verbatim quotes, each with
  its translation in the reader's language when the unit is in the other one);
- ``UnitRecord``, ``NamedUnits``, ``PhraseMatches``: what `cite` returns for one reference, for a
  range or list of references, and for a phrase.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.passes import Hit


@dataclass(frozen=True)
class Translation:
    """A unit's text in the reader's language. ``official``: another official language version of the
    same document (same UN symbol); otherwise an unofficial rendering, never to be quoted."""

    lang: str
    text: str
    official: bool
    source: str  # the version's ref, or the rendering's provenance

    def to_json(self) -> dict:
        return {"lang": self.lang, "text": self.text, "official": self.official, "source": self.source}


@dataclass(frozen=True)
class Citation:
    """One cited unit: its label in the reader's language and its verbatim text."""

    ref: str
    label: str
    quote: str  # the unit's verbatim official text, character for character
    lead_in: str = ""  # the parent's words that introduce a sub-item ("7. 工作组建议…：")
    translation: Translation | None = None  # when the unit is not in the reader's language
    lead_in_translation: str = ""  # the lead-in in the reader's language, when it is a rendering

    def to_json(self) -> dict:
        out = {"ref": self.ref, "label": self.label, "quote": self.quote}
        if self.lead_in:
            out["lead_in"] = self.lead_in
        if self.translation is not None:
            out["translation"] = self.translation.to_json()
        return out


@dataclass
class Retrieval:
    """What the engine found for one question; the answerer alone turns it into text."""

    question: str  # as asked (echoed)
    text: str  # as searched: cleaned and cut
    language: str
    hits: list[Hit]
    named: list[str]  # provisions the question names outright, in its order
    answerable: bool
    confidence: float  # the answerability model's probability that the documents answer it
    scope: tuple[str, str] | None = None  # (template, what is missing) when it asks of an absent instrument or year
    notices: list[str] = field(default_factory=list)

    @property
    def refs(self) -> list[str]:
        return [h.ref for h in self.hits]


@dataclass
class Answer:
    """The answer to one question, as every interface shows it."""

    question: str
    language: str
    answer: str
    answerable: bool
    citations: list[Citation]
    retrieved: list[tuple[str, float]]
    backend: str = "extractive"
    standalone_question: str = ""
    notice: str | None = None
    flags: list[str] = field(default_factory=list)  # what the verification gate removed or repaired
    closest: list[str] = field(default_factory=list)  # a declined answer's nearest units: "closest, not an answer"
    confidence: float = 0.0

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "answerable": self.answerable,
            "confidence": round(self.confidence, 3),
            "citations": [c.to_json() for c in self.citations],
            "closest": list(self.closest),
            "retrieved": [{"ref": ref, "score": round(score, 4)} for ref, score in self.retrieved],
            "backend": self.backend,
            "standalone_question": self.standalone_question,
            "notice": self.notice,
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class Link:
    ref: str
    labels: dict[str, str]

    def to_json(self) -> dict:
        return {"ref": self.ref, "labels": dict(self.labels)}


@dataclass(frozen=True)
class Version:
    """The same provision in another official language version of its document, verbatim."""

    ref: str
    language: str
    text: str
    labels: dict[str, str]

    def to_json(self) -> dict:
        return {"ref": self.ref, "language": self.language, "text": self.text, "labels": dict(self.labels)}


@dataclass(frozen=True)
class UnitRecord:
    """One unit as `cite` and the sources panel show it."""

    ref: str
    text: str
    labels: dict[str, str]
    lead_in: str
    language: str = ""
    links: tuple[Link, ...] = ()
    versions: tuple[Version, ...] = ()
    translations: tuple[Translation, ...] = ()  # its text in the other language: official first

    def to_json(self) -> dict:
        out = {
            "ref": self.ref,
            "text": self.text,
            "labels": dict(self.labels),
            "lead_in": self.lead_in,
            "language": self.language,
            "links": [link.to_json() for link in self.links],
            "translations": [t.to_json() for t in self.translations],
        }
        if self.versions:  # only where the document has language versions: the shape stays the contract's
            out["versions"] = [v.to_json() for v in self.versions]
        return out


@dataclass(frozen=True)
class NamedUnits:
    """Several units a range or list of references names, with one citation of them all."""

    query: str
    labels: dict[str, str]
    units: tuple[UnitRecord, ...]

    def to_json(self) -> dict:
        return {"query": self.query, "labels": dict(self.labels), "units": [u.to_json() for u in self.units]}


@dataclass(frozen=True)
class PhraseMatches:
    """The best-matching units for a phrase that is not a reference."""

    query: str
    matches: tuple[UnitRecord, ...]

    def to_json(self) -> dict:
        return {"query": self.query, "matches": [u.to_json() for u in self.matches]}


CiteResult = UnitRecord | NamedUnits | PhraseMatches
