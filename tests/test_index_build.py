"""Ingest end to end with the real parts: USE vectors in a persisted Chroma store, bm25s, generations.

The full corpus is ingested once per session (``session_index``); the tests that ingest again work on
private copies of a two-document corpus (report + TIP Protocol, ``subset_base`` / ``subset_copy``).
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest

import settings as settings_module
from index import generations
from index.build import ingest
from index.chroma_store import make_client
from index.embed_cache import text_key
from index.hybrid import LoadedIndex
from index.unit_store import load_units
from ingest.units import IngestError
from services.engine import Engine

REPORT_FILE = "report_CTOC-COP-WG.4-2017-4_zh.txt"
FULL_COUNTS = {"report": 60, "tip-protocol": 98, "som-protocol": 133, "untoc": 343}
SUBSET_COUNTS = {"report": 60, "tip-protocol": 98}
NEW_PARAGRAPH = "33. 工作组建议秘书处就珊瑚礁保护与海洋生态问题编写一份专题研究。"

REBUILT_COSINE = 0.98  # the same window embedded again, in other batches


def vectors(folder) -> dict[str, tuple[str, np.ndarray]]:
    """node id ("ref#window") -> (stored sha, vector) of the generation's USE collection, via a fresh read."""
    return {node_id: (sha, vec) for node_id, (sha, vec, _) in stored_windows(folder).items()}


def stored_windows(folder) -> dict[str, tuple[str, np.ndarray, str]]:
    """node id -> (stored sha, vector, embedded text)."""
    meta = generations.read_meta(folder)
    collection = make_client(folder / "chroma").get_collection(meta["collections"]["gemma"], embedding_function=None)
    got = collection.get(include=["embeddings", "metadatas", "documents"])
    return {
        node_id: (row["sha"], np.asarray(vec, dtype=np.float32), text)
        for node_id, row, vec, text in zip(got["ids"], got["metadatas"], got["embeddings"], got["documents"], strict=True)
    }


def windows_per_ref(folder) -> Counter:
    return Counter(node_id.rsplit("#", 1)[0] for node_id in vectors(folder))


def generation_names(index_dir) -> set[str]:
    return {p.name for p in index_dir.glob("gen-*")}


def current_name(index_dir) -> str:
    return (index_dir / generations.CURRENT).read_text(encoding="utf-8").strip()


def top_refs(engine: Engine, question: str, n: int) -> list[str]:
    return engine.retrieve(question).refs[:n]


# --- the session index (whole shipped corpus) --------------------------------------------------------


def test_full_ingest_indexes_634_units_per_document(session_index, session_settings):
    index_dir, report = session_index
    assert report.units == 634
    assert report.documents == FULL_COUNTS
    assert report.reused == 0 and report.embedded > 0
    folder = generations.current_generation(index_dir)
    assert folder is not None and folder.name == report.generation == current_name(index_dir)
    meta = generations.read_meta(folder)
    assert meta["units"] == 634 and meta["documents"] == FULL_COUNTS
    units = load_units(folder)
    assert len(units) == 634 and len({u.ref for u in units}) == 634
    assert Counter(u.doc for u in units) == FULL_COUNTS
    # every window ingest counted is in Chroma, and every unit has at least one window there
    stored = vectors(folder)
    assert len(stored) == report.embedded
    assert {node_id.rsplit("#", 1)[0] for node_id in stored} == {u.ref for u in units}
    # the stored sha is the hash of the embedded text, so reuse happens only for identical text
    assert all(sha == text_key(text) for sha, _, text in stored_windows(folder).values())
    assert all(v.shape == (768,) and abs(float(np.linalg.norm(v)) - 1.0) < 0.05 for _, v in stored.values())
    # BM25 scores one document per unit
    loaded = LoadedIndex.load(session_settings)
    assert loaded.lexical.scores("受害人").shape == (634,)
    assert [u.ref for u in loaded.units] == [u.ref for u in units]


def test_chroma_collection_has_no_default_embedding_function(session_index):
    """Created with embedding_function=None: Chroma's default EF would download a model offline."""
    index_dir, _ = session_index
    folder = generations.current_generation(index_dir)
    name = generations.read_meta(folder)["collections"]["gemma"]
    collection = make_client(folder / "chroma").get_collection(name)  # persisted configuration, no EF passed
    assert "embedding_function" in collection.configuration
    assert collection.configuration["embedding_function"] is None
    assert collection.metadata.get("hnsw:space") == "cosine"


# --- ingesting again, on copies of a two-document corpus --------------------------------------------------


def test_reingest_of_unchanged_corpus_embeds_nothing_and_reuses_every_vector(subset_copy):
    corpus_dir, index_dir = subset_copy
    old = generations.current_generation(index_dir)
    report = ingest(settings_module.get_settings(), progress=False)
    assert report.embedded == 0
    assert report.reused > 0
    assert report.units == 158 and report.documents == SUBSET_COUNTS
    new = generations.current_generation(index_dir)
    assert new != old and new.name == report.generation
    old_vectors, new_vectors = vectors(old), vectors(new)
    assert report.reused == len(old_vectors) == len(new_vectors)
    assert old_vectors.keys() == new_vectors.keys()
    for node_id, (sha, vec) in old_vectors.items():
        assert new_vectors[node_id][0] == sha
        np.testing.assert_allclose(new_vectors[node_id][1], vec, rtol=1e-6, atol=1e-7)
    assert generation_names(index_dir) == {old.name, new.name}  # the previous one is kept


def test_rebuild_re_embeds_every_window(subset_copy, subset_base, tmp_path, monkeypatch):
    corpus_dir, index_dir = subset_copy
    monkeypatch.setenv("PINPOINT_CACHE_DIR", str(tmp_path / "empty-cache"))  # make the model run
    old = generations.current_generation(index_dir)
    report = ingest(settings_module.get_settings(), rebuild=True, progress=False)
    assert report.reused == 0
    assert report.embedded == subset_base[2].embedded == len(vectors(old))
    new = generations.current_generation(index_dir)
    assert new.name == report.generation != old.name
    old_vectors, new_vectors = vectors(old), vectors(new)
    assert old_vectors.keys() == new_vectors.keys()
    # Recomputed ~ stored: EmbeddingGemma's int8 graph quantizes a batch's activations with one
    # scale, so a window's vector moves a little with the windows that share its batch.
    for node_id in sorted(old_vectors)[::20]:
        assert float(np.dot(new_vectors[node_id][1], old_vectors[node_id][1])) > REBUILT_COSINE, node_id


def test_changed_document_re_embeds_only_its_new_units_and_an_interrupted_ingest_leaves_the_old_index(
    subset_copy, monkeypatch
):
    corpus_dir, index_dir = subset_copy
    old = generations.current_generation(index_dir)
    old_units = load_units(old)
    path = corpus_dir / REPORT_FILE
    source = path.read_text(encoding="utf-8")
    path.write_text(source.rstrip("\n") + "\n" + NEW_PARAGRAPH + "\n", encoding="utf-8")

    # 1. an ingest killed after writing its generation folder, before publishing it
    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash before publish")

    real_publish = generations.publish
    monkeypatch.setattr(generations, "publish", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        ingest(settings_module.get_settings(), progress=False)
    monkeypatch.setattr(generations, "publish", real_publish)

    orphans = generation_names(index_dir) - {old.name}
    assert len(orphans) == 1
    orphan = index_dir / orphans.pop()
    assert (orphan / "chroma").is_dir() and not (orphan / generations.META).exists()
    assert current_name(index_dir) == old.name
    engine = Engine(settings_module.get_settings())
    assert engine.index.folder == old
    assert "report:33" not in engine.index.by_ref
    assert "report:8(j)" in top_refs(engine, "受害人能否获得免费法律代理？", 3)

    # 2. the next ingest completes, embeds only the new paragraph, and removes the orphan
    report = ingest(settings_module.get_settings(), progress=False)
    new = generations.current_generation(index_dir)
    assert new.name == report.generation == current_name(index_dir)
    assert not orphan.exists()
    assert report.documents == {"report": 61, "tip-protocol": 98}
    old_keys = {(u.ref, u.sha) for u in old_units}
    changed = [u.ref for u in load_units(new) if (u.ref, u.sha) not in old_keys]
    assert changed == ["report:33"]
    windows = windows_per_ref(new)
    total = sum(windows.values())
    assert 0 < report.embedded < total
    assert report.embedded == windows["report:33"]
    assert report.reused == total - report.embedded
    assert report.reused >= sum(n for ref, n in windows.items() if ref.startswith("tip-protocol:"))

    # the new paragraph is citable verbatim and found by a question and by a phrase
    engine = Engine(settings_module.get_settings())
    record = engine.cite("第33段").to_json()
    assert record["ref"] == "report:33"
    assert record["text"] == NEW_PARAGRAPH
    assert record["labels"]["en"] == "CTOC/COP/WG.4/2017/4, para. 33"
    assert "report:33" in top_refs(engine, "关于珊瑚礁保护的专题研究", 3)
    assert engine.cite("珊瑚礁保护").matches[0].ref == "report:33"


def test_malformed_document_stops_ingest_naming_file_and_line_and_the_old_index_stays_live(subset_copy):
    corpus_dir, index_dir = subset_copy
    old = generations.current_generation(index_dir)
    before = generation_names(index_dir)
    path = corpus_dir / REPORT_FILE
    lines = path.read_text(encoding="utf-8").split("\n")
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("20. "))
    lines[number - 1] = "21. " + lines[number - 1][4:]  # numbering now skips 20
    path.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(IngestError) as caught:
        ingest(settings_module.get_settings(), progress=False)
    assert caught.value.file == REPORT_FILE
    assert caught.value.line == number
    assert f"{REPORT_FILE}, line {number}" in str(caught.value)
    assert "expected 20, found 21" in str(caught.value)

    assert current_name(index_dir) == old.name
    assert generation_names(index_dir) == before  # nothing was written
    engine = Engine(settings_module.get_settings())
    assert engine.index.folder == old
    assert engine.cite("第20段").text.startswith("20. 在议程项目 2 下的讨论由主席主持")
    assert "report:8(j)" in top_refs(engine, "受害人能否获得免费法律代理？", 3)
    with generations.ingest_lock(index_dir):  # the failed ingest released its lock
        pass


def test_second_ingest_while_the_lock_is_held_is_refused(subset_copy):
    _, index_dir = subset_copy
    before = generation_names(index_dir)
    old = current_name(index_dir)
    with generations.ingest_lock(index_dir):
        with pytest.raises(generations.IngestLocked, match="another ingest is running"):
            ingest(settings_module.get_settings(), progress=False)
    assert generation_names(index_dir) == before
    assert current_name(index_dir) == old


def test_publish_writes_meta_then_switches_current(tmp_path):
    """CURRENT only ever names a generation whose meta.json (the completeness marker) exists."""
    first = generations.new_generation(tmp_path)
    assert generations.current_generation(tmp_path) is None
    generations.publish(tmp_path, first, {"n": 1})
    assert generations.current_generation(tmp_path) == first
    assert json.loads((first / generations.META).read_text(encoding="utf-8")) == {"n": 1}
    assert not list(tmp_path.glob("*.tmp")) and not list(first.glob("*.tmp"))
