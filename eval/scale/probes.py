"""The measuring child processes of the scale benchmark; each prints one JSON object on stdout.

    python -m eval.scale.probes ingest
    python -m eval.scale.probes floor --sample N
    python -m eval.scale.probes query --questions N --cite N

Why child processes: peak RSS (``ru_maxrss``) only ever grows, so the memory an
ingest needs and the memory a serving process needs can only be told apart in
separate processes; the parent reads each child's own peak from ``wait4``
(``eval.timing.run_child``). Every probe takes its folders and models from the
environment the parent set (PINPOINT_CORPUS_DIR, PINPOINT_INDEX_DIR,
PINPOINT_CACHE_DIR, PINPOINT_EMBEDDERS).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from settings import ROOT, apply_offline_defaults, get_settings

QUESTIONS = ROOT / "eval" / "sets" / "questions.jsonl"
PROFILE_ROWS = 15  # functions listed from the query profile
CITE_FAILURES_SHOWN = 5


def ingest_probe() -> dict[str, Any]:
    """One ingest with the progress bar on (it goes to stderr): the IngestReport and its wall time."""
    from index.build import ingest

    t0 = time.perf_counter()
    report = ingest(get_settings(), progress=True)
    return {**asdict(report), "wall": time.perf_counter() - t0}


def floor_probe(sample: int) -> dict[str, Any]:
    """What the embedder alone costs on the ingest's own window texts: tokens/s over an even sample.

    The windows are made exactly as ingest makes them (``index.build.window_texts``); the
    sample is embedded in ingest's batch size and thread count, so the ratio of this rate to
    the ingest's is the share of ingest time that is the model's.
    """
    from index.build import parse_corpus, window_texts
    from index.embeddings import make_embedder
    from ingest.parse import count_tokens

    settings = get_settings()
    docs, units = parse_corpus(settings)
    names = {doc.key: doc.short_en for doc in docs}
    texts = list(dict.fromkeys(w.text for w in window_texts(units, names, settings.embed_window_tokens)))
    tokens = [count_tokens(t, settings.tokenizer_encoding) for t in texts]
    step = max(1, len(texts) // sample)
    picked = texts[::step][:sample]
    embedder = make_embedder(settings.embedders[0], settings.ingest_threads)
    embedder.encode(picked[:2])  # the model loads lazily: keep its loading out of the timing
    t0 = time.perf_counter()
    for start in range(0, len(picked), settings.embed_batch):
        embedder.encode(picked[start : start + settings.embed_batch])
    seconds = time.perf_counter() - t0
    sample_tokens = sum(tokens[::step][:sample])
    rate = sample_tokens / seconds
    return {"embedder": settings.embedders[0], "distinct_windows": len(texts), "tokens": sum(tokens),
            "sample": len(picked), "sample_tokens": sample_tokens, "seconds": seconds, "tokens_per_s": rate,
            "projected_s": sum(tokens) / rate}


def query_probe(questions: int, cites: int) -> dict[str, Any]:
    """A serving process: index load, warm retrieval latency, `cite` latency and exactness, then a profile.

    Peak RSS is read before the extra loads that time the BM25 index and the units alone,
    so it is the memory of a process that serves.
    """
    from eval.bench import WARMUP, cite_queries
    from eval.questions import load_set
    from eval.timing import rss_mb, summarize, time_ms
    from index.hybrid import LoadedIndex
    from services.engine import Engine

    settings = get_settings()
    t0 = time.perf_counter()
    loaded = LoadedIndex.load(settings)
    load_s = time.perf_counter() - t0
    engine = Engine(settings, index=loaded)
    asked = _spread(load_set(QUESTIONS), questions)
    time_ms(engine.retriever.search, WARMUP)
    hits: list[list[str]] = []
    search_ms = time_ms(lambda q: hits.append([h.ref for h in engine.retriever.search(q)]), [q["question"] for q in asked])
    cite = _cite_check(engine, loaded, cite_queries(loaded.units, cites))
    serving_rss = rss_mb()
    profile = _profile(engine.retriever.search, [q["question"] for q in asked])
    return {
        "index_load_s": load_s,
        "questions": len(asked),
        "search_ms": summarize(search_ms),
        "hit@5": _hit_at_5(asked, hits),
        "cite": cite,
        "refs_unique": _refs_unique(loaded.units),
        "rss_mb": serving_rss,
        "profile": profile,
        **_part_load_times(loaded.folder),
    }


def _spread(items: list[dict], count: int) -> list[dict]:
    """``count`` items evenly spread over the list (the set is ordered by document and topic)."""
    step = max(1, len(items) // count)
    return items[::step][:count]


def _hit_at_5(asked: list[dict], hits: list[list[str]]) -> dict[str, Any]:
    """hit@5 over the answerable questions: a sanity check that retrieval still finds the shipped answers."""
    scored = [bool(set(q["gold"]) & set(refs[:5])) for q, refs in zip(asked, hits, strict=True) if q["gold"]]
    return {"n": len(scored), "value": sum(scored) / len(scored) if scored else None}


def _cite_check(engine, loaded, refs: list[tuple[str, str]]) -> dict[str, Any]:
    """`cite` of each (query, expected ref): exact when it returns that unit with its verbatim source span."""
    from eval.timing import summarize
    from ingest.readers import read_text

    sources: dict[str, str] = {}
    timings: list[float] = []
    failures: list[dict[str, str]] = []
    for query, expected in refs:
        t0 = time.perf_counter()
        try:
            got = getattr(engine.cite(query), "ref", None)
        except LookupError as exc:  # UnknownReference: a miss, not a crash
            got = f"error: {exc}"
        timings.append((time.perf_counter() - t0) * 1000)
        unit = loaded.by_ref[expected]
        doc = loaded.doc_by_key[unit.doc]
        if doc.file not in sources:
            sources[doc.file] = read_text(engine.settings.corpus_dir / doc.file)
        verbatim = sources[doc.file][unit.start : unit.end] == unit.text
        if got != expected or not verbatim:
            failures.append({"query": query, "expected": expected, "got": str(got), "verbatim": verbatim})
    return {"n": len(refs), "exact": len(refs) - len(failures), "ms": summarize(timings),
            "failures": failures[:CITE_FAILURES_SHOWN]}


def _refs_unique(units: list) -> dict[str, Any]:
    """Every ref names one unit: (document, pinpoint) pairs never repeat."""
    counts = Counter(u.ref for u in units)
    repeated = [ref for ref, n in counts.items() if n > 1]
    return {"units": len(units), "distinct": len(counts), "repeated": repeated[:CITE_FAILURES_SHOWN]}


def _profile(search, questions: list[str]) -> list[dict[str, Any]]:
    """cProfile of a second pass over the questions: the functions with the most cumulative time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for question in questions:
        search(question)
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (file, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(file).name}:{line}({name})", "calls": calls,
                     "own_ms": own * 1000 / len(questions), "cumulative_ms": cumulative * 1000 / len(questions)})
    rows.sort(key=lambda r: -r["cumulative_ms"])
    return rows[:PROFILE_ROWS]


def _part_load_times(folder: Path) -> dict[str, float]:
    """Load time of the BM25 index and of the units alone (after the RSS was read)."""
    from index.bm25 import LexicalIndex
    from index.unit_store import load_units

    t0 = time.perf_counter()
    LexicalIndex.load(folder)
    t1 = time.perf_counter()
    load_units(folder)
    return {"bm25_load_s": t1 - t0, "units_load_s": time.perf_counter() - t1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.scale.probes", description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="probe", required=True)
    sub.add_parser("ingest")
    floor = sub.add_parser("floor")
    floor.add_argument("--sample", type=int, required=True)
    query = sub.add_parser("query")
    query.add_argument("--questions", type=int, required=True)
    query.add_argument("--cite", type=int, required=True)
    args = parser.parse_args(argv)
    apply_offline_defaults()  # before llama-index / chromadb / tiktoken are imported
    if args.probe == "ingest":
        result = ingest_probe()
    elif args.probe == "floor":
        result = floor_probe(args.sample)
    else:
        result = query_probe(args.questions, args.cite)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
