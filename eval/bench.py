"""`python -m eval.bench`: how fast Pinpoint ingests, starts and answers, next to its baselines.

One run measures, on the shipped corpus and this machine:
ingest from nothing and again on the unchanged corpus (in a fresh temporary
index dir, never data/index), index size on disk, cold start of the CLI
(`app.py ask` / `app.py cite` as subprocesses) and of the served UI (`app.py serve` until its
API answers, then its first answer over the gradio API), warm in-process latency of
retrieval, `ask` and `cite`, the same retrieval latency for the dense-only,
BM25-only and llama-index starter baselines, and peak RSS. It prints a
Markdown report to stdout (progress to stderr) and writes
eval/reports/bench.{md,json} (bench-quick.* with --quick).

Shared machines are noisy: absolute numbers move between runs, so baseline
latencies are interleaved question by question and reported as ratios to
Pinpoint's p50 within the same run. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from eval.timing import ChildRun, ProgressLog, ingest_twice, rss_mb, run_child, serve_app, summarize, time_ms
from settings import ROOT, apply_offline_defaults, get_settings

QUESTIONS = ROOT / "eval" / "sets" / "questions.jsonl"
REPORTS = ROOT / "eval" / "reports"
COLD_ASK = "Where should victims be housed?"
COLD_CITE = "7(c)"
# Not from the timed set, so warm-up never primes the exact queries that are timed.
WARMUP = ("Where should victims be housed?", "贩运人口的定义是什么？", "article 6 assistance to victims")
CITE_REFS = 40
QUICK_QUESTIONS = 20
log = ProgressLog("bench")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_QUESTIONS} questions, 1 cold-start run")
    parser.add_argument("--keep-index", action="store_true", help="keep the temporary index dir (its path is logged)")
    return parser.parse_args(argv)


def machine() -> dict[str, Any]:
    """What the numbers were measured on: they mean little without it."""
    cpu = next((line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if line.startswith("model name")), "?")
    mem_kb = next((int(line.split()[1]) for line in _lines("/proc/meminfo") if line.startswith("MemTotal:")), 0)
    settings = get_settings()
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024**2, 1),
        "python": platform.python_version(),
        "threads": settings.threads,
        "gemma_threads": settings.gemma_threads,
        "loadavg_1m": round(os.getloadavg()[0], 2),  # other load on a shared machine skews everything
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def measure_ingest() -> dict[str, Any]:
    """Both ingests in a spawned child, so this process's peak RSS stays that of a server."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(ingest_twice).result()


def tree_mb(path: Path) -> float:
    """Apparent size (sum of file sizes) of a file or folder, in MB."""
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def index_sizes(folder: Path) -> dict[str, float]:
    """The live generation's parts; ``lexicon`` is BM25's query-translation table, saved beside it."""
    parts = {"chroma": folder / "chroma", "bm25": folder / "bm25", "lexicon": folder / "lexicon.json",
             "units": folder / "units.jsonl"}
    sizes = {name: tree_mb(path) for name, path in parts.items() if path.exists()}
    return {"total": tree_mb(folder), **sizes}


def cold_start(runs: int) -> dict[str, Any]:
    """Wall time of the CLI from process start to exit, with the index the ingest just built."""
    commands = {
        "ask": [sys.executable, "app.py", "ask", COLD_ASK, "--json"],
        "cite": [sys.executable, "app.py", "cite", COLD_CITE, "--json"],
    }
    out: dict[str, Any] = {}
    for name, cmd in commands.items():
        samples: list[ChildRun] = []
        for i in range(runs):
            run = run_child(cmd, ROOT)
            if run.returncode != 0:
                log(f"cold {name} run {i + 1}: exit {run.returncode}: {run.stderr.strip()[-300:]}")
            samples.append(run)
            log(f"cold {name} run {i + 1}/{runs}: {run.seconds:.2f} s")
        first = _json_or_none(samples[-1].stdout)
        out[name] = {
            "command": " ".join(["python", *cmd[1:3], json.dumps(cmd[3], ensure_ascii=False), *cmd[4:]]),
            "seconds": [r.seconds for r in samples],
            "median": statistics.median(r.seconds for r in samples),
            "rss_mb": max(r.rss_mb for r in samples),
            "exit_codes": [r.returncode for r in samples],
            "top_ref": _top_ref(first),
        }
    out["serve"] = serve_cold_start(runs)
    return out


def serve_cold_start(runs: int) -> dict[str, Any]:
    """Wall time from spawning `python app.py serve` until its API answers.

    The server loads the index and warms the embedders before gradio listens, so this is when
    the first user can ask; one /ask through gradio_client then shows that it answers for real.
    """
    from gradio_client import Client

    seconds: list[float] = []
    peaks: list[float] = []
    top_ref = None
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(runs):
            t0 = time.perf_counter()
            app = serve_app(dict(os.environ), Path(tmp) / f"serve-{i}.log")
            seconds.append(time.perf_counter() - t0)
            try:
                client = Client(app.url, verbose=False)
                top_ref = _top_ref(client.predict(COLD_ASK, api_name="/ask"))
                client.close()
                peaks.append(_peak_rss_mb(app.process.pid))
            finally:
                app.stop()
            log(f"cold serve run {i + 1}/{runs}: {seconds[-1]:.2f} s")
    return {
        "command": "python app.py serve",
        "seconds": seconds,
        "median": statistics.median(seconds),
        "rss_mb": max(peaks),
        "top_ref": top_ref,
    }


def _peak_rss_mb(pid: int) -> float:
    """A live process's peak RSS (VmHWM, Linux); the server is stopped, not awaited, so wait4 cannot tell."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _json_or_none(text: str) -> dict | None:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _top_ref(result: dict | None) -> str | None:
    """What the command returned first: a sanity check that the timed run did real work."""
    if not result:
        return None
    if "retrieved" in result:
        return result["retrieved"][0]["ref"] if result["retrieved"] else None
    return result.get("ref")


def cite_queries(units: list[Any], count: int = CITE_REFS) -> list[tuple[str, str]]:
    """(query, expected ref) for ~count units spread over the corpus, cycling label_en, label_zh, raw ref."""
    step = max(1, len(units) // count)
    picked = units[::step][:count]
    forms: tuple[Callable[[Any], str], ...] = (lambda u: u.label_en, lambda u: u.label_zh, lambda u: u.ref)
    return [(forms[i % len(forms)](u), u.ref) for i, u in enumerate(picked)]


LATENCY_LABELS = {
    "pinpoint retrieval": "Pinpoint retrieval (`HybridRetriever.search`)",
    "pinpoint ask": "Pinpoint `ask` (extractive)",
    "pinpoint cite": "Pinpoint `cite` ({refs} refs, mixed forms)",
    "dense only": "baseline: dense only",
    "BM25 only": "baseline: BM25 only",
    "llama-index starter": "baseline: llama-index starter",
}


def warm(questions: list[str]) -> dict[str, Any]:
    """In-process latency after warm-up: Pinpoint's retrieval, ask and cite, and the baselines' retrieval.

    Retrieval of every system and Pinpoint's ask run interleaved, question by
    question, in a rotating order, so machine noise and drift hit them alike
    and their ratios hold even when the absolute numbers move.
    """
    from eval.baselines import StarterSystem
    from index.hybrid import LoadedIndex
    from services.answer import Answerer
    from services.cite import UnknownReference
    from services.engine import Engine

    settings = get_settings()
    t0 = time.perf_counter()
    loaded = LoadedIndex.load(settings)
    load_s = time.perf_counter() - t0
    engines = {mode: Engine(settings, mode, index=loaded) for mode in ("hybrid", "dense", "bm25")}
    pinpoint = engines["hybrid"]
    answerer = Answerer(pinpoint, settings)
    refs = cite_queries(loaded.units)
    expected = dict(refs)
    resolved = 0

    def cite(query: str) -> None:
        nonlocal resolved
        try:
            resolved += getattr(pinpoint.cite(query), "ref", None) == expected[query]
        except UnknownReference:
            pass

    for engine in engines.values():
        time_ms(engine.retriever.search, WARMUP)
    time_ms(answerer.answer, WARMUP)
    time_ms(cite, [query for query, _ in refs[: len(WARMUP)]])
    resolved = 0
    log(f"index loaded in {load_s:.2f} s; engines warm")
    cite_ms = time_ms(cite, [query for query, _ in refs])
    log(f"cite: {len(refs)} references, {resolved} resolved to the expected unit")
    serving_rss = rss_mb()

    t0 = time.perf_counter()
    starter = StarterSystem(settings, settings.top_k, loaded.units)
    starter_build_s = time.perf_counter() - t0
    time_ms(starter.retriever.retrieve, WARMUP)
    log(f"starter baseline built in {starter_build_s:.2f} s ({starter.chunks} chunks)")

    timed: dict[str, Callable[[str], Any]] = {
        "pinpoint retrieval": pinpoint.retriever.search,
        "pinpoint ask": answerer.answer,
        "dense only": engines["dense"].retriever.search,
        "BM25 only": engines["bm25"].retriever.search,
        "llama-index starter": starter.retriever.retrieve,
    }
    names = list(timed)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i, q in enumerate(questions):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            samples[name].extend(time_ms(timed[name], [q]))
    log(f"retrieval and ask: {len(questions)} questions x {len(names)} paths")
    latency = {name: summarize(samples[name]) for name in names}
    latency["pinpoint cite"] = summarize(cite_ms)
    return {
        "index_load_s": load_s,
        "starter_build_s": starter_build_s,
        "starter_chunks": starter.chunks,
        "cite_refs": [query for query, _ in refs],
        "cite_resolved": resolved,
        "latency": {key: latency[key] for key in LATENCY_LABELS},
        "rss_mb": {"serving": serving_rss, "end": rss_mb()},
    }


def render(result: dict[str, Any]) -> str:
    """The whole result as Markdown: header, then ingest, cold start, warm latency, memory."""
    m, ing, size, cold, w = result["machine"], result["ingest"], result["index_mb"], result["cold"], result["warm"]
    first, second = ing["first"], ing["second"]
    lines = [
        f"# Pinpoint benchmark{' (quick)' if result['quick'] else ''}",
        "",
        f"{result['date']} · {m['nproc']} CPUs (nproc) · {m['cpu']} · {m['ram_gib']} GiB RAM · "
        f"Python {m['python']} · load avg {m['loadavg_1m']} at start · PINPOINT_THREADS={m['threads']} · PINPOINT_GEMMA_THREADS={m['gemma_threads']} · "
        f"embedders {','.join(result['embedders'])} · "
        f"{first['units']} units · {result['questions']} questions · run took {result['run_seconds']:.0f} s",
        "",
        "## Ingest and index",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| ingest from nothing (fresh process, imports excluded) | {first['wall']:.2f} s · {first['units']} units · "
        f"{first['units'] / first['wall']:.0f} units/s · {first['embedded']} windows embedded |",
        f"| ingest again, corpus unchanged | {second['wall']:.2f} s · {second['embedded']} embedded, "
        f"{second['reused']} reused |",
        f"| ingest process peak RSS | {ing['rss_mb']:.0f} MB |",
        f"| index on disk (live generation) | {size['total']:.2f} MB: "
        + ", ".join(f"{k} {v:.2f}" for k, v in size.items() if k != "total")
        + " |",
        "",
        "## Cold start (subprocess, index already built)",
        "",
        "| command | runs | median s | min s | max s | peak RSS MB | first ref |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in cold.values():
        lines.append(
            f"| `{c['command']}` | {len(c['seconds'])} | {c['median']:.2f} | {min(c['seconds']):.2f} | "
            f"{max(c['seconds']):.2f} | {c['rss_mb']:.0f} | {c['top_ref']} |"
        )
    lines += [
        "",
        "`ask` and `cite` run from process start to exit. `serve` runs from process start until its API "
        "answers (it loads the index and warms the embedders before it listens); its first ref is the "
        "answer to one /ask over gradio_client after that.",
    ]
    base = w["latency"]["pinpoint retrieval"]["p50"]
    lines += [
        "",
        f"## Warm latency (in-process, after {len(WARMUP)} warm-up queries)",
        "",
        "| path | n | p50 ms | p95 ms | mean ms | p50 / Pinpoint retrieval p50 |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for key, s in w["latency"].items():
        label = LATENCY_LABELS[key].format(refs=len(w["cite_refs"]))
        lines.append(f"| {label} | {s['n']} | {s['p50']:.2f} | {s['p95']:.2f} | {s['mean']:.2f} | {s['p50'] / base:.2f}× |")
    lines += [
        "",
        "Retrieval, `ask` and the baselines ran interleaved question by question; `cite` ran on its own "
        "over reference strings. Index load "
        f"{w['index_load_s']:.2f} s; starter baseline built in memory in {w['starter_build_s']:.2f} s "
        f"({w['starter_chunks']} chunks); cite resolved {w['cite_resolved']}/{len(w['cite_refs'])} references "
        "to the expected unit.",
        "",
        "## Memory (peak RSS, ru_maxrss)",
        "",
        "| process | MB |",
        "| --- | --- |",
        f"| this process after all warm runs (Pinpoint + baselines, starter index in memory) | {w['rss_mb']['end']:.0f} |",
        f"| same, before the starter baseline was built (one index for hybrid, dense, BM25) | {w['rss_mb']['serving']:.0f} |",
        f"| `app.py ask` cold start | {cold['ask']['rss_mb']:.0f} |",
        f"| `app.py serve` after its first answer | {cold['serve']['rss_mb']:.0f} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host, date = machine(), time.strftime("%Y-%m-%d %H:%M")
    index_dir = Path(tempfile.mkdtemp(prefix="pinpoint-bench-"))
    os.environ["PINPOINT_INDEX_DIR"] = str(index_dir)  # inherited by the ingest child and the CLI runs
    # An empty embedding cache, so "ingest from nothing" pays for every vector; the installed models
    # stay where the set-up put them (their folder follows PINPOINT_CACHE_DIR unless named).
    os.environ.setdefault("PINPOINT_MODELS_DIR", str(get_settings().models_dir))
    os.environ["PINPOINT_CACHE_DIR"] = str(index_dir / "embedding-cache")
    apply_offline_defaults()  # before llama-index / chromadb / tiktoken are imported
    settings = get_settings()
    if settings.index_dir.resolve() == (ROOT / "data" / "index").resolve():
        raise SystemExit("refusing to benchmark into data/index")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.quick:
        step = max(1, len(questions) // QUICK_QUESTIONS)
        questions = questions[::step][:QUICK_QUESTIONS]
    log(f"temporary index dir {index_dir}")
    try:
        ingest = measure_ingest()
        log(f"ingest: {ingest['first']['wall']:.2f} s, again: {ingest['second']['wall']:.2f} s")
        from index.generations import current_generation

        live = current_generation(index_dir)
        if live is None:
            raise SystemExit(f"the ingest published no generation in {index_dir}")
        sizes = index_sizes(live)
        cold = cold_start(1 if args.quick else 3)
        warm_result = warm(questions)
    finally:
        if args.keep_index:
            log(f"kept {index_dir}")
        else:
            shutil.rmtree(index_dir, ignore_errors=True)
    result = {
        "date": date,
        "quick": args.quick,
        "machine": host,
        "embedders": list(settings.embedders),
        "questions": len(questions),
        "ingest": ingest,
        "index_mb": sizes,
        "cold": cold,
        "warm": warm_result,
        "run_seconds": log.elapsed(),
    }
    report = render(result)
    print(report)
    REPORTS.mkdir(parents=True, exist_ok=True)
    stem = "bench-quick" if args.quick else "bench"
    (REPORTS / f"{stem}.md").write_text(report, encoding="utf-8")
    (REPORTS / f"{stem}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    log(f"wrote {REPORTS / stem}.md and .json; full run {result['run_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
