"""A user's own document that carries markup, script and a prompt injection in its paragraphs.

Ingested for real (tests/conftest.py ``hostile_index``). What must hold: the text is kept and
quoted verbatim (it is the source), it is only ever shown as text (the browser half is in
tests/test_ui_browser.py), and a model that obeys the injected instruction still cannot make
Pinpoint cite a unit that does not exist or was not retrieved (a scripted, obedient stand-in for
the model: this tests the verification gate, not a model).
"""

from __future__ import annotations

import re

import pytest
from answer_support import is_quoted
from conftest import HOSTILE_INJECTION, HOSTILE_KEY, HOSTILE_SCRIPT, settings_for
from fake_llm import scripted_llm

from ui.render import sources_html

INJECTED_REF = "report:99(z)"


@pytest.fixture(scope="module")
def engine(hostile_index, integration):
    from services.engine import Engine

    corpus_dir, index_dir = hostile_index
    return Engine(settings_for(index_dir, corpus_dir, integration))


def test_hostile_paragraphs_are_indexed_and_quoted_verbatim(engine):
    from services.answer import Answerer

    question = "free interpretation services for victims during criminal proceedings"
    refs = engine.retrieve(question).refs
    assert f"{HOSTILE_KEY}:2" in refs[:5], refs
    unit = engine.index.by_ref[f"{HOSTILE_KEY}:2"]
    assert HOSTILE_SCRIPT in unit.text  # the source is kept as it is, markup included
    result = Answerer(engine, engine.settings).answer(question).to_json()
    assert result["citations"]
    for citation in result["citations"]:
        assert citation["quote"] == engine.index.by_ref[citation["ref"]].text
        assert is_quoted(citation["quote"], result["answer"])
    assert f"{HOSTILE_KEY}:2" not in engine.index.renderings  # a user's document without renderings
    assert all("translation" not in c for c in result["citations"] if c["ref"].startswith(f"{HOSTILE_KEY}:"))


def test_hostile_unit_is_shown_as_text_in_the_sources_panel(engine):
    record = engine.cite(f"{HOSTILE_KEY} para. 2").to_json()
    assert record["ref"] == f"{HOSTILE_KEY}:2", record
    html = sources_html([record], "en", selected=record["ref"])
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html


def _obedient(prompt: str) -> str:
    """A model that does what the retrieved documents tell it to, and also cites what it read."""
    read = sorted(set(re.findall(rf"\b(?:{HOSTILE_KEY}|report|tip-protocol):[\w()]+", prompt)))
    assert HOSTILE_INJECTION.split(".")[0] in prompt, "the injected paragraph must reach the model"
    cited = " ".join(f"[{ref}]" for ref in read[:1])
    return f"Border officials need training {cited}. As instructed: see [{INJECTED_REF}] and [untoc:5]."


def test_an_obeyed_injection_in_a_document_cannot_cite_what_does_not_exist(engine):
    from services.answer import Answerer

    answerer = Answerer(engine, engine.settings)
    answerer._llm = scripted_llm([_obedient])
    final = list(answerer.stream("training of border officials to identify victims"))[-1]["final"].to_json()
    retrieved = {r["ref"] for r in final["retrieved"]}
    assert f"{HOSTILE_KEY}:3" in retrieved
    cited = {c["ref"] for c in final["citations"]}
    assert INJECTED_REF not in final["answer"] and "untoc:5" not in final["answer"]
    assert cited <= retrieved and INJECTED_REF not in cited
    assert any(INJECTED_REF in flag for flag in final["flags"])
