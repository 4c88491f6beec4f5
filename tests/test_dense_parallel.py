"""The dense runs of one question run side by side, and rank exactly as when run one after another.

A question is encoded by USE, and by e5 twice (on itself, for units in its language, and on its
word-by-word translation, for the others). Those encodes run in a pool of ``PINPOINT_QUERY_THREADS``
threads shared by all requests. The fixture corpus is the two small test excerpts (an English
report, a Chinese treaty), ingested with both real models, so every question crosses languages.
"""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest
from conftest import settings_for

from index import generations
from index.chroma_store import make_client
from index.fusion import OTHER, SAME
from index.hybrid import HybridRetriever, LoadedIndex

MANIFEST = """
[[document]]
key = "report-en"
symbol = "CTOC/COP/WG.4/2017/4"
kind = "report"
language = "en"
file = "report_en_excerpt.txt"
title_en = "Report on the meeting of the Working Group on Trafficking in Persons (test excerpt)"
title_zh = "贩运人口问题工作组会议报告（测试节选）"
short_en = "CTOC/COP/WG.4/2017/4"
short_zh = "CTOC/COP/WG.4/2017/4"
aliases = ["the report"]

[[document]]
key = "tip-zh"
symbol = "A/RES/55/25, annex II"
kind = "treaty"
language = "zh"
file = "treaty_zh_excerpt.txt"
title_en = "Trafficking in Persons Protocol (test excerpt)"
title_zh = "贩运人口议定书（测试节选）"
short_en = "Trafficking in Persons Protocol"
short_zh = "贩运人口议定书"
aliases = ["Trafficking in Persons Protocol", "贩运人口议定书"]
"""

QUESTIONS = [
    "What did the Working Group recommend about employment and training for victims?",
    "缔约国应当为被害人提供哪些协助和保护？",
    "which decision established the working group",
    "贩运人口的定义",
]


@pytest.fixture(scope="module")
def two_model_index(tmp_path_factory, fixtures_dir, integration):
    """The two fixture excerpts ingested with USE and e5: (index_dir, corpus_dir)."""
    from index.build import ingest

    root = tmp_path_factory.mktemp("two-models")
    corpus_dir = root / "corpus"
    corpus_dir.mkdir()
    for name in ("report_en_excerpt.txt", "treaty_zh_excerpt.txt"):
        shutil.copy(fixtures_dir / name, corpus_dir / name)
    (corpus_dir / "documents.toml").write_text(MANIFEST, encoding="utf-8")
    index_dir = root / "index"
    ingest(settings_for(index_dir, corpus_dir, integration, PINPOINT_EMBEDDERS="use,e5"), progress=False)
    return index_dir, corpus_dir


def _retriever(two_model_index, integration, threads: int) -> HybridRetriever:
    index_dir, corpus_dir = two_model_index
    settings = settings_for(
        index_dir, corpus_dir, integration, PINPOINT_EMBEDDERS="use,e5", PINPOINT_QUERY_THREADS=str(threads)
    )
    return HybridRetriever(LoadedIndex.load(settings), settings)


def test_parallel_dense_runs_rank_exactly_as_sequential_ones(two_model_index, integration, monkeypatch):
    sequential = _retriever(two_model_index, integration, 1)
    parallel = _retriever(two_model_index, integration, 2)
    assert set(parallel.index.dense) == {"use", "e5"}
    runs: list[tuple[str, str]] = []
    record = HybridRetriever._run

    def spy(self, run, name, text, n, scope, qlang):
        runs.append((name, threading.current_thread().name))
        return record(self, run, name, text, n, scope, qlang)

    monkeypatch.setattr(HybridRetriever, "_run", spy)
    for question in QUESTIONS:
        expected = [(h.ref, h.score, h.dense, h.lexical) for h in sequential.search(question)]
        runs.clear()
        got = [(h.ref, h.score, h.dense, h.lexical) for h in parallel.search(question)]
        assert got == expected, question
        # USE once, e5 on the question and on its translation: three runs, over both pool threads
        assert sorted(name for name, _ in runs) == ["e5", "e5", "use"], question
    assert len({thread for _, thread in runs}) == 2


def test_an_embedder_weighted_zero_leaves_the_dense_ranking_to_the_others(two_model_index, integration):
    """PINPOINT_EMBEDDER_WEIGHTS reaches the fusion: with e5 at 0, the dense ranking of both models
    is USE's alone, unit for unit and score for score; at the default weights it is not."""
    index_dir, corpus_dir = two_model_index

    def ranking(**env: str) -> list[list[tuple[str, float]]]:
        settings = settings_for(index_dir, corpus_dir, integration, **env)
        retriever = HybridRetriever(LoadedIndex.load(settings), settings, mode="dense")
        return [[(h.ref, round(h.score, 6)) for h in retriever.search(q)] for q in QUESTIONS]

    use_alone = ranking(PINPOINT_EMBEDDERS="use")
    assert ranking(PINPOINT_EMBEDDERS="use,e5", PINPOINT_EMBEDDER_WEIGHTS="use=1,e5=0") == use_alone
    assert ranking(PINPOINT_EMBEDDERS="use,e5") != use_alone


def test_new_collections_search_wide_enough_to_be_exact(two_model_index, integration):
    """ef_search from settings is persisted with each collection (Chroma's default is 10)."""
    index_dir, corpus_dir = two_model_index
    settings = settings_for(index_dir, corpus_dir, integration)
    folder = generations.current_generation(index_dir)
    client = make_client(folder / "chroma")
    for name in generations.read_meta(folder)["collections"].values():
        assert client.get_collection(name).configuration["hnsw"]["ef_search"] == settings.hnsw_ef_search == 400


def test_ingest_encodes_use_in_worker_processes_and_e5_in_threads_with_the_same_vectors(fixtures_dir):
    """Ingest threads > 1: USE splits a batch between spawned worker processes (its tokenizer holds
    the GIL) and e5 encodes texts side by side in threads; the vectors are those of one process."""
    from index.embeddings import make_embedder

    texts = [line for line in (fixtures_dir / "report_en_excerpt.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    texts += [line for line in (fixtures_dir / "treaty_zh_excerpt.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    for name in ("use", "e5"):
        alone = make_embedder(name, 1)
        pooled = make_embedder(name, 2)
        try:
            assert np.allclose(pooled.encode(texts), alone.encode(texts), atol=1e-5), name
            if name == "use":
                workers = pooled._pool._pool._processes  # the ProcessPoolExecutor's own processes
                assert len(workers) == 2 and os.getpid() not in workers
            pooled.close()
            assert np.allclose(pooled.encode(texts[:3]), alone.encode(texts[:3]), atol=1e-5)  # starts again
        finally:
            pooled.close()


def test_language_filter_applied_after_the_query_gives_chromas_filtered_run(two_model_index, integration):
    """e5's runs are limited to one language. Fetching the nearest windows unfiltered and dropping
    the other language (Chroma's own filter cost 4-6 ms a query) must keep exactly the run Chroma's
    filter gives, whether enough units of the language were among the nearest or not (then Chroma
    filters after all)."""
    import index.hybrid as hybrid

    retriever = _retriever(two_model_index, integration, 1)
    embedder, _ = retriever.index.dense["e5"]
    calls: list[dict | None] = []
    query = hybrid._nearest_windows

    def counting(store, vector, k, where):
        calls.append(where)
        return query(store, vector, k, where)

    def filtered_by_chroma(store, vector, k, where):
        best: dict[str, float] = {}
        for ref, _, cosine in query(store, vector, k, where):
            best[ref] = max(best.get(ref, -1.0), cosine)
        return best

    chroma_filtered = HybridRetriever(retriever.index, retriever.settings)
    chroma_filtered._nearest = filtered_by_chroma
    paths = set()
    for question in QUESTIONS:
        for scope, qlang in ((SAME, "en"), (SAME, "zh"), (OTHER, "en")):
            for n in (*range(1, 9), 50):
                calls.clear()
                hybrid._nearest_windows = counting
                try:
                    got = retriever._run("e5", "e5", question, n, scope, qlang).scores
                finally:
                    hybrid._nearest_windows = query
                assert got == chroma_filtered._run("e5", "e5", question, n, scope, qlang).scores, (question, scope, n)
                in_english = all(retriever.index.by_ref[ref].lang == "en" for ref in got)
                assert got and in_english == ((scope, qlang) == (SAME, "en"))
                paths.add(len(calls))
    assert paths == {1, 2}  # both ways were taken: filtered here, and by Chroma when too few were left
