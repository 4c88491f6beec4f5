"""Is a question about something the corpus does not contain?

Retrieval scores barely separate answerable from unanswerable questions here
(the best unit's dense cosine overlaps widely between the two kinds:
docs/experiments.md), because an unanswerable question on this topic still finds
on-topic paragraphs. Two cheap signals are reliable, though: the question
names an instrument that is not in the corpus ("the Firearms Protocol",
《儿童权利公约》), or it hinges on a year that appears nowhere in the corpus.
"""

from __future__ import annotations

import re

from index.text_norm import normalize
from ingest.grammar import EN_INSTRUMENT_TITLE, SENTENCE_OPENER, ZH_INSTRUMENT_TITLE, NameMatcher, document_names
from ingest.units import Document

YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
# Words that may stand beside a known name without making it another instrument
# ("Does the Protocol ...", "Under this Convention ...", "这项议定书").
BESIDE_A_NAME = re.compile(
    r"^(?:the|this|that|its|un|united nations|does|do|did|is|are|was|can|may|what|which|how|why|when|where|who|"
    r"under|according|in|of|to|by|for|and|本|该|这项|这个|此|上述|联合国|\s)*$",
    re.I,
)


def known_instrument(name: str, docs: list[Document]) -> bool:
    """True when ``name`` is one of the manifest's names, give or take filler words."""
    norm = normalize(name).strip()
    names = NameMatcher((normalize(n).strip(), doc.key) for doc in docs for n in document_names(doc))
    return any(BESIDE_A_NAME.match(norm.replace(known, " ", 1)) for known in names.contained(norm))


def out_of_scope(question: str, docs: list[Document], corpus_years: set[str]) -> tuple[str, str] | None:
    """Why to decline, as (template name, the thing missing), or None.

    The template (``prompts/<lang>/<name>.txt``) words the notice in the question's language.
    """
    names = [m.group(1) for m in ZH_INSTRUMENT_TITLE.finditer(question)]
    names += [SENTENCE_OPENER.sub("", m.group(1)) for m in EN_INSTRUMENT_TITLE.finditer(question)]
    for name in names:
        if not known_instrument(name, docs):
            return "scope_instrument", name.strip()
    for year in YEAR.findall(question):
        if year not in corpus_years:
            return "scope_year", year
    return None


def years_in(texts: list[str]) -> set[str]:
    return {y for t in texts for y in YEAR.findall(t)}
