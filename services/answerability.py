"""Do the documents answer the question? A calibrated model over the evidence retrieval found.

One score cannot tell: an unanswerable question on this topic ("What was the Working Group's
budget for 2017?") still finds on-topic paragraphs with high similarity. What differs is the
evidence around the best units: whether they contain the question's content words (in either
language: a unit's rendering counts), whether the question's names and numbers occur anywhere in
the corpus, whether it asks for a quantity the best unit has none of, how far the best unit stands
above the next, and whether the dense and lexical runs agree on it. A logistic regression over
these features, fitted with cross-validation on our evaluation sets (`python -m eval.answerability`,
which writes ``data/answerability.json`` and its report), turns them into a probability; a
question is answered when it reaches the model's threshold, chosen so that answerable questions
are almost never declined.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.hybrid import LoadedIndex
from index.passes import Hit
from index.text_norm import HAS_CJK, tokenize
from settings import Settings

FEATURES = (
    "top", "margin", "dense", "dense_max", "lexical", "coverage", "corpus_coverage", "idf_coverage",
    "missing_rare", "absent_names", "absent_numbers", "quantity_missing", "date_missing",
    "asks_who_where", "scope", "agree",
)
COVERAGE_UNITS = 3  # the best units whose words may cover the question's
UNIT_TOKEN_CACHE = 20_000  # units whose tokens are kept between questions
# Words that ask something rather than name it: they say nothing about whether the corpus answers.
QUESTION_TOKENS = frozenset(
    "what which who whom whose when where why how doe did can could should would will say said tell pleas about "
    "mean defin requir provid state parti protocol convent report group work recommend 什么 哪些 哪个 谁 是否 如何 怎么 "
    "怎样 为什么 多少 几 规定 说 了 吗 呢 要求 议定书 公约 报告 工作组 建议 缔约国".split()
)
# A question that asks for a number ("how many States", "多少") is answered only by a unit that
# gives one, one that asks for a date ("哪一年", "when") only by a unit with a date; a unit's own
# numbering and cross-references ("article 5", "第 6 条") do not count.
ASKS_QUANTITY = re.compile(
    r"\bhow (?:many|much|long|old)\b|\bwhat (?:percentage|number|amount|share|proportion)\b|\bnumber of\b|"
    r"\bbudget\b|\bvotes?\b|多少|几个|几名|几次|几项|几场|几道|几票|比例|预算",
    re.I,
)
ASKS_DATE = re.compile(
    r"\bwhen\b|\bwhat (?:year|date|day)\b|\bwhich (?:year|day|date)\b|\bdeadline\b|"
    r"哪一年|哪年|什么时候|何时|哪一天|哪天|哪几天|日期|截止",
    re.I,
)
_NUMBER_WORDS = (
    "one two three four five six seven eight nine ten eleven twelve fifteen eighteen twenty thirty forty fifty "
    "hundred thousand million first second third fourth fifth sixth seventh eighth ninth tenth twentieth "
    "thirtieth fortieth half"
)
QUANTITY_IN_TEXT = re.compile(
    r"[0-9]|\b(?:" + "|".join(_NUMBER_WORDS.split()) + r")\b|"
    r"[一二两三四五六七八九十百千万]+\s*(?:个|名|次|场|岁|天|日|周|月|年|项|届|票|小时|倍|%)|百分之",
    re.I,
)
DATE_IN_TEXT = re.compile(
    r"\b(?:19|20)[0-9]{2}\b|\b(?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December)\b|[0-9一二三四五六七八九十]+\s*月|[0-9]{4}\s*年",
    re.I,
)
WHO_WHERE = re.compile(r"\bwho\b|\bwhose\b|\bwhich (?:country|countries|state|delegation|city)\b|\bwhere\b|谁|哪个国家|哪些国家|哪位|哪国|哪里|哪个城市|何处|由谁", re.I)
REFERENCE_NUMBER = re.compile(
    r"^\s*\(?[0-9a-z]{1,4}[.)]|\b(?:article|paragraph|para\.|art\.|resolution|decision|chapter)s?\s*[0-9/]+|"
    r"第\s*[0-9一二三四五六七八九十]+\s*[条款段项章届]|[0-9]+\s*/\s*[0-9]+\s*号",
    re.I | re.M,
)
NUMBER = re.compile(
    r"^\s*\(?[0-9a-z]{1,4}[.)]|\b(?:article|paragraph|para\.|art\.|resolution|decision|chapter)s?\s*[0-9/]+|"
    r"第\s*[0-9一二三四五六七八九十]+\s*[条款段项章届]|[0-9]+\s*/\s*[0-9]+\s*号",
    re.I | re.M,
)
NUMBER = re.compile(r"(?<![0-9])[0-9]{2,}(?![0-9])")
NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{2,}(?:\s+[A-Z][a-z]{2,})*")


@dataclass(frozen=True)
class AnswerabilityModel:
    """Standardised features -> logistic regression -> probability; ``threshold`` decides."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float
    # The dense models whose scores it was fitted on: over an index of other models (the fallback
    # embedders, a test's) its scores mean something else, and it is not used.
    embedders: tuple[str, ...] = ()

    def probability(self, values: dict[str, float]) -> float:
        z = self.bias + sum(
            w * (values[name] - m) / s for name, w, m, s in zip(self.features, self.weights, self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def to_json(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "weights": list(self.weights), "bias": self.bias, "threshold": self.threshold,
                "embedders": list(self.embedders)}

    @classmethod
    def from_json(cls, data: dict) -> AnswerabilityModel:
        return cls(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                   float(data["bias"]), float(data["threshold"]), tuple(data.get("embedders", ())))


def fit(rows: list[dict[str, float]], labels: list[bool], l2: float = 1.0, iterations: int = 50) -> AnswerabilityModel:
    """Logistic regression by Newton's method with an L2 penalty, on standardised features; the
    threshold is set by the caller (eval/answerability.py) from cross-validated probabilities."""
    x = np.array([[row[name] for name in FEATURES] for row in rows], dtype=np.float64)
    y = np.array(labels, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.eye(z.shape[1]) * l2
    penalty[-1, -1] = 0.0  # the bias is not penalised
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        gradient = z.T @ (p - y) + penalty @ w
        hessian = z.T @ (z * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return AnswerabilityModel(FEATURES, tuple(mean), tuple(scale), tuple(w[:-1]), float(w[-1]), 0.5)


class Answerability:
    """The fitted model over one loaded index; without a model file, or over an index of other dense
    models than it was fitted on, every question with hits is taken as answerable (the scope check
    still declines absent instruments and years)."""

    def __init__(self, index: LoadedIndex, model: AnswerabilityModel | None) -> None:
        self.index = index
        self.model = model
        self.threshold = model.threshold if model is not None else 0.0
        self._vocabulary = _corpus_tokens(index)
        self._units = len(index.units)
        self._tokens_of = lru_cache(maxsize=UNIT_TOKEN_CACHE)(self._tokens)
        self._lowered = "\n".join([u.text for u in index.units] + [r.text for r in index.renderings.values()]).lower()

    @classmethod
    def load(cls, settings: Settings, index: LoadedIndex) -> Answerability:
        path = Path(settings.answerability_path)
        model = AnswerabilityModel.from_json(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None
        if model is not None and (model.features != FEATURES or set(model.embedders) != set(index.dense)):
            model = None  # fitted on other features or models: refit with `python -m eval.answerability`
        return cls(index, model)

    def probability(self, question: str, hits: list[Hit], scope: tuple[str, str] | None) -> float:
        if self.model is None:
            return 1.0
        return self.model.probability(self.features(question, hits, scope))

    def features(self, question: str, hits: list[Hit], scope: tuple[str, str] | None) -> dict[str, float]:
        """The evidence for one question's hits, by name (``FEATURES``)."""
        top = hits[0] if hits else Hit("", 0.0)
        second = hits[1].score if len(hits) > 1 else 0.0
        terms = _content_tokens(question)
        lexicon = self.index.lexical.lexicon
        expanded = {t: {t, *lexicon.translate(t)} for t in terms}
        coverage = max((_covered(expanded, self._unit_tokens(h.ref)) for h in hits[:COVERAGE_UNITS]), default=0.0)
        in_corpus = _covered(expanded, self._vocabulary)
        names = [n for n in NAME.findall(question) if n.lower() not in self._lowered]
        numbers = [n for n in NUMBER.findall(question) if n not in self._lowered]
        near_texts = [REFERENCE_NUMBER.sub(" ", self._text(h.ref)) for h in hits[:COVERAGE_UNITS]]
        asks_quantity = bool(ASKS_QUANTITY.search(question))
        asks_date = bool(ASKS_DATE.search(question))
        near = set().union(*(self._unit_tokens(h.ref) for h in hits[:COVERAGE_UNITS])) if hits else set()
        weight = {t: self._idf(options) for t, options in expanded.items()}
        found = {t for t, options in expanded.items() if options & near}
        total = sum(weight.values())
        return {
            "top": top.score,
            "margin": top.score - second,
            "dense": top.dense,
            "dense_max": max((h.dense for h in hits[:5]), default=0.0),
            "lexical": math.log1p(max((h.lexical for h in hits[:5]), default=0.0)),
            "coverage": coverage,
            "corpus_coverage": in_corpus,
            # the question's words weighed by how rare they are: a rare word no near unit has is the
            # thing asked about that the documents lack ("budget", "rapporteur", "报告员")
            "idf_coverage": sum(weight[t] for t in found) / total if total else 1.0,
            "missing_rare": max((weight[t] for t in expanded if t not in found), default=0.0) / self._max_idf,
            "absent_names": float(len(names)),
            "absent_numbers": float(len(numbers)),
            "quantity_missing": float(asks_quantity and not any(QUANTITY_IN_TEXT.search(t) for t in near_texts)),
            "date_missing": float(asks_date and not any(DATE_IN_TEXT.search(t) for t in near_texts)),
            "asks_who_where": float(bool(WHO_WHERE.search(question))),
            "scope": float(scope is not None),
            "agree": min(top.signals.values(), default=0.0),
        }

    def _idf(self, options: set[str]) -> float:
        """The rarest reading of a question word over the corpus and its renderings; a word the
        corpus never has weighs the most."""
        frequency = min(
            (self.index.lexical.document_frequency(t) + (self.index.rendered.document_frequency(t) if self.index.rendered else 0)
             for t in options),
            default=0,
        )
        return math.log((self._units + 1) / (frequency + 0.5))

    @property
    def _max_idf(self) -> float:
        return math.log((self._units + 1) / 0.5)

    def _text(self, ref: str) -> str:
        """A unit's text with its rendering: a number in either counts."""
        rendering = self.index.renderings.get(ref)
        return self.index.by_ref[ref].text + ("\n" + rendering.text if rendering else "")

    def _unit_tokens(self, ref: str) -> frozenset[str]:
        return self._tokens_of(ref)

    def _tokens(self, ref: str) -> frozenset[str]:
        """A unit's tokens in both languages (its text, heading, lead-in and rendering). Worked out
        the first time a question needs them and kept (``_tokens_of``, an LRU cache per model):
        tokenizing at every question cost more than the retrieval, and at load, every unit of a
        large corpus."""
        unit = self.index.by_ref[ref]
        rendering = self.index.renderings.get(ref)
        text = "\n".join(part for part in (unit.heading, unit.lead_in, unit.text, rendering.text if rendering else "") if part)
        return frozenset(tokenize(text))


def _content_tokens(question: str) -> set[str]:
    return {t for t in tokenize(question) if t not in QUESTION_TOKENS and not t.isdigit() and (len(t) > 1 or HAS_CJK.match(t))}


def _covered(expanded: dict[str, set[str]], tokens: set[str]) -> float:
    """Share of the question's content tokens found, each directly or through a translation."""
    if not expanded:
        return 1.0
    return sum(bool(options & tokens) for options in expanded.values()) / len(expanded)


def _corpus_tokens(index: LoadedIndex) -> set[str]:
    """Every token of the corpus in either language: the two BM25 vocabularies (texts, renderings)."""
    return set(index.lexical.vocab) | (set(index.rendered.vocab) if index.rendered is not None else set())
