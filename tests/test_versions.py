"""A document's other language version, added by a user: the Chinese Trafficking Protocol (the
test excerpt, articles 1-7 with the Protocol's numbering) beside the shipped English one, sharing
its UN symbol. Ingested for real (USE, Chroma, BM25) with the report.

What must hold: a provision that exists in both versions is retrieved once, in the asker's
language; `cite` and the sources panel show the other version's text verbatim beside it; and a
provision only one version has stays as it is.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import copy_corpus, settings_for

from ui.render import unit_card

VERSION_MANIFEST = """
[[document]]
key = "tip-protocol-zh"
symbol = "A/RES/55/25, annex II"
kind = "treaty"
language = "zh"
file = "tip_protocol_zh_excerpt.txt"
title_en = "Trafficking in Persons Protocol (Chinese test excerpt)"
title_zh = "贩运人口议定书（中文测试节选）"
short_en = "Trafficking in Persons Protocol"
short_zh = "贩运人口议定书"
aliases = []
cues = []
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory, fixtures_dir, integration):
    from index.build import ingest
    from services.engine import Engine

    root = tmp_path_factory.mktemp("versions")
    corpus_dir = copy_corpus(root / "corpus", ("report", "tip-protocol"))
    shutil.copy(fixtures_dir / "treaty_zh_excerpt.txt", corpus_dir / "tip_protocol_zh_excerpt.txt")
    with open(corpus_dir / "documents.toml", "a", encoding="utf-8") as manifest:
        manifest.write(VERSION_MANIFEST)
    settings = settings_for(root / "index", corpus_dir, integration)
    ingest(settings, progress=False)
    return Engine(settings)


def test_the_versions_are_linked_by_pinpoint(engine):
    versions = engine.index.versions
    assert versions["tip-protocol:6(3)(d)"] == ("tip-protocol-zh:6(3)(d)",)
    assert versions["tip-protocol-zh:6(3)(d)"] == ("tip-protocol:6(3)(d)",)
    assert versions["tip-protocol:preamble"] == ("tip-protocol-zh:preamble",)
    assert "tip-protocol:6(5)" not in versions  # the excerpt's article 6 stops at paragraph 4
    assert not any(ref.startswith("report:") for ref in versions)  # one version of the report


@pytest.mark.parametrize(
    ("question", "ref", "other"),
    [
        ("缔约国应考虑为被害人身心康复提供哪些帮助，例如住房和医疗？", "tip-protocol-zh:6(3)", "tip-protocol:6(3)"),
        ("What must States consider providing for the physical and psychological recovery of victims?", "tip-protocol:6(3)", "tip-protocol-zh:6(3)"),
    ],
)
def test_a_provision_in_both_versions_is_retrieved_once_in_the_askers_language(engine, question, ref, other):
    refs = engine.retrieve(question).refs
    assert ref in refs[:5], refs
    assert other not in refs
    provisions = [r.split(":", 1)[1] if r.startswith("tip-protocol") else r for r in refs]
    assert len(provisions) == len(set(provisions)), refs  # no provision twice


def test_a_provision_only_one_version_has_is_retrieved_as_it_is(engine):
    # "在接收国境内" reads as art. 8's return to the receiving State; "在缔约国境内期间" is art. 6's wording
    refs = engine.retrieve("被害人在缔约国境内期间的人身安全").refs
    assert "tip-protocol-zh:6(4)" in refs[:5], refs
    refs = engine.retrieve("return of victims to their country of origin without undue delay").refs
    assert any(r.startswith("tip-protocol:8") for r in refs[:3]), refs  # art. 8 is not in the excerpt


def test_cite_shows_the_other_version_verbatim(engine, fixtures_dir):
    record = engine.cite("art. 6(3)(d)").to_json()
    assert record["ref"] == "tip-protocol:6(3)(d)"
    [version] = record["versions"]
    assert version["ref"] == "tip-protocol-zh:6(3)(d)" and version["language"] == "zh"
    assert version["text"] == "(d) 就业、教育和培训机会。"
    assert version["text"] in (fixtures_dir / "treaty_zh_excerpt.txt").read_text(encoding="utf-8")
    assert version["labels"]["zh"] == "《贩运人口议定书》第6条第3款(d)项"
    html = unit_card(record, "zh", "target")
    assert "英文文本" not in html and "中文文本" in html and "就业、教育和培训机会" in html
    assert "versions" not in engine.cite("第8段(j)项").to_json()  # one version: the contract's shape


def test_an_official_version_takes_precedence_over_the_rendering(engine):
    """The Chinese text of 6(3)(d) is the official version: it is the translation, and the unofficial
    rendering of the English unit into Chinese is no longer offered beside it."""
    assert "tip-protocol:6(3)(d)" in engine.index.renderings  # data/renderings has one ...
    record = engine.cite("art. 6(3)(d)").to_json()
    assert record["translations"] == [
        {"lang": "zh", "text": "(d) 就业、教育和培训机会。", "official": True, "source": "tip-protocol-zh:6(3)(d)"}
    ]  # ... but the official version is the one shown
    html = unit_card(record, "zh", "target")
    assert "非官方译文" not in html, html
    assert 'class="pp-rendering"' not in html and "pp-muted" not in html
    # a provision the Chinese excerpt lacks still carries its rendering
    [rendering] = engine.cite("art. 8(2)").to_json()["translations"]
    assert rendering["lang"] == "zh" and rendering["official"] is False
    assert "非官方译文" in unit_card(engine.cite("art. 8(2)").to_json(), "zh", "target")
    # the Chinese version's translation is the official English text
    [english] = engine.cite("tip-protocol-zh:6(3)(d)").to_json()["translations"]
    assert english == {"lang": "en", "text": engine.index.by_ref["tip-protocol:6(3)(d)"].text, "official": True,
                       "source": "tip-protocol:6(3)(d)"}


def test_an_answer_gives_an_official_version_as_such(engine):
    from services.answer import Answerer
    from services.prompts import template

    answerer = Answerer(engine, engine.settings)
    citation = answerer.citation("tip-protocol:6(3)(d)", "zh")
    assert citation.quote == engine.index.by_ref["tip-protocol:6(3)(d)"].text
    assert citation.translation is not None and citation.translation.official
    assert citation.to_json()["translation"] == {"lang": "zh", "text": "(d) 就业、教育和培训机会。", "official": True,
                                                 "source": "tip-protocol-zh:6(3)(d)"}
    text = answerer.compose_quotes([citation], "zh")
    official = template(engine.settings.prompts_dir, "zh", "official_version").format(text="(d) 就业、教育和培训机会。")
    assert official in text.split("\n") and "非官方译文" not in text


def test_evaluation_counts_a_hit_in_either_version(engine):
    """Gold refs name the English Protocol; a Chinese question now retrieves the Chinese version."""
    from eval.answers import score_answer
    from eval.baselines import EngineSystem
    from eval.metrics import hit_at

    question = "缔约国应考虑为被害人身心康复提供哪些帮助，例如住房和医疗？"
    ranking, _ = EngineSystem("pinpoint", engine).ask(question)
    assert hit_at(ranking, ["tip-protocol:6(3)"], 5) == 1.0
    from services.answer import Answerer

    result = Answerer(engine, engine.settings).answer(question)
    assert result.backend == "extractive"
    assert result.citations[0].ref.startswith("tip-protocol-zh:")
    item = {"id": "v1", "answerable": True, "gold": [result.citations[0].ref.replace("tip-protocol-zh:", "tip-protocol:")]}
    sources = {doc.key: (engine.settings.corpus_dir / doc.file).read_text(encoding="utf-8") for doc in engine.index.docs}
    scores = score_answer(item, result, engine, sources)
    assert scores["recall"] == 1.0 and scores["precision"] > 0


def test_a_named_provision_comes_first_once_in_the_askers_language(engine):
    refs = engine.retrieve("议定书第6条第3款规定了什么？").refs
    assert refs[0] == "tip-protocol-zh:6(3)" and "tip-protocol:6(3)" not in refs, refs
    refs = engine.retrieve("What does article 6, paragraph 3 of the Protocol require?").refs
    assert refs[0] == "tip-protocol:6(3)" and "tip-protocol-zh:6(3)" not in refs, refs
