"""The scale generator: exact unit counts, real structure in both languages, deterministic by seed."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import CORPUS

from eval.scale.generate import NEW_PARAGRAPH, add_paragraph, generate
from ingest.manifest import load_manifest
from ingest.parse import parse_document
from ingest.readers import read_text


def parse_all(folder):
    docs = load_manifest(folder)
    return docs, [u for d in docs for u in parse_document(d, folder, docs)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scale") / "corpus"
    corpus = generate(folder, 3000, seed=1, shipped=CORPUS)  # seed 1 draws all four kinds at this size
    return corpus, *parse_all(folder)


def test_the_ingest_parsers_find_exactly_the_units_asked_for_shipped_documents_included(generated):
    corpus, docs, units = generated
    assert len(units) == corpus.units == 3000
    assert sum(corpus.by_kind.values()) == 3000 and corpus.by_kind["shipped"] == 634
    assert {"report", "tip-protocol", "som-protocol", "untoc"} <= {d.key for d in docs}


def test_reports_and_treaties_in_both_languages_with_every_level_of_structure(generated):
    _, docs, units = generated
    kinds = {(d.kind, d.language) for d in docs if d.key.startswith("scale-")}
    assert kinds == {("report", "zh"), ("report", "en"), ("treaty", "en"), ("treaty", "zh")}
    depth = Counter(u.pinpoint.count("(") for u in units if u.doc.startswith("scale-"))
    assert all(depth[level] > 0 for level in (0, 1, 2, 3))  # 6, 6(3), 6(3)(d), 6(3)(d)(ii)
    assert any(u.pinpoint == "preamble" for u in units if u.doc.startswith("scale-"))
    assert any(u.section for u in units if u.doc.startswith("scale-")) and any(u.heading for u in units)


def test_every_ref_is_unique_and_every_text_is_its_verbatim_source_span(generated):
    corpus, docs, units = generated
    assert len({u.ref for u in units}) == len(units)
    sources = {d.key: read_text(corpus.folder / d.file) for d in docs}
    assert all(sources[u.doc][u.start : u.end] == u.text for u in units)


def test_same_seed_same_bytes_other_seed_other_text(tmp_path):
    def files(folder):
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    first = files(generate(tmp_path / "a", 1500, seed=1, shipped=CORPUS, include_shipped=False).folder)
    again = files(generate(tmp_path / "a", 1500, seed=1, shipped=CORPUS, include_shipped=False).folder)
    other = files(generate(tmp_path / "b", 1500, seed=2, shipped=CORPUS, include_shipped=False).folder)
    assert first == again and first != other


def test_a_folder_it_did_not_write_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        generate(tmp_path, 800, seed=0, shipped=CORPUS)


def test_add_paragraph_appends_one_unit_to_one_report(tmp_path):
    corpus = generate(tmp_path / "c", 900, seed=3, shipped=CORPUS, include_shipped=False)
    ref = add_paragraph(corpus.folder)
    _, units = parse_all(corpus.folder)
    added = {u.ref: u for u in units}[ref]
    assert len(units) == 901 and added.text.endswith(NEW_PARAGRAPH[added.lang]) and not added.children
