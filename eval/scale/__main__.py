"""`python -m eval.scale [--sizes 10000,50000,100000]`: Pinpoint on generated corpora of 10k-100k units.

For each size: generate the corpus (``eval.scale.generate``) under PINPOINT_SCALE_DIR, ingest it from
nothing with the fast embedder only (PINPOINT_EMBEDDERS=use, an empty embedding cache), measure the
embedder alone on the same window texts, load the index in a fresh process and time retrieval over
questions of eval/sets/questions.jsonl and `cite` over a sample of refs (checking each returns exactly
its unit), then append a paragraph to one report and ingest again (the incremental add). Every step
runs in a child process (``eval.scale.probes``) whose own peak RSS is recorded. Writes
eval/reports/scale.{md,png,json}; progress goes to stderr. Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from eval.bench import index_sizes, machine
from eval.scale.generate import add_paragraph, generate
from eval.scale.report import chart, markdown
from eval.timing import ProgressLog, run_child
from settings import ROOT, Settings, apply_offline_defaults, get_settings

REPORTS = ROOT / "eval" / "reports"
EMBEDDERS = "use"  # the fast embedder, as the issue asks; e5 (int8) costs more a window at ingest (docs/experiments.md)
QUESTIONS = 50
CITE_REFS = 200
FLOOR_SAMPLE = 2000  # windows the embedder alone is timed on
log = ProgressLog("scale")


def parse_args(argv: list[str] | None, settings: Settings) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.scale", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default=",".join(map(str, settings.scale_sizes)),
                        help="comma-separated corpus sizes in units (default PINPOINT_SCALE_SIZES)")
    parser.add_argument("--seed", type=int, default=settings.scale_seed)
    parser.add_argument("--questions", type=int, default=QUESTIONS)
    parser.add_argument("--cite", type=int, default=CITE_REFS, help="refs sampled for the `cite` check")
    parser.add_argument("--floor-sample", type=int, default=FLOOR_SAMPLE)
    parser.add_argument("--keep", action="store_true", help="keep each size's corpus, index and cache")
    parser.add_argument("--out", type=Path, default=REPORTS, help="report folder")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    return args


def probe(*args: str) -> dict[str, Any]:
    """Run one ``eval.scale.probes`` child; its JSON plus its wall time, its own peak RSS and the
    machine's load average over its run (others' work on a shared machine slows every timing)."""
    run = run_child([sys.executable, "-m", "eval.scale.probes", *args], ROOT)
    if run.returncode != 0:
        raise SystemExit(f"probe {args[0]} failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    load = os.getloadavg()[0 if run.seconds < 300 else 1]  # the 1-minute average, or the 5-minute one for long runs
    return {**json.loads(run.stdout.strip().splitlines()[-1]), "child_wall_s": run.seconds, "child_rss_mb": run.rss_mb,
            "loadavg": load}


def point_at(work: Path, fresh: bool) -> Path:
    """Set the children's environment to this size's folders; ``fresh`` empties index and cache first."""
    folders = {"PINPOINT_CORPUS_DIR": work / "corpus", "PINPOINT_INDEX_DIR": work / "index",
               "PINPOINT_CACHE_DIR": work / "embed-cache"}
    for name, folder in folders.items():
        if fresh and name != "PINPOINT_CORPUS_DIR":
            shutil.rmtree(folder, ignore_errors=True)
        os.environ[name] = str(folder)
    os.environ["PINPOINT_EMBEDDERS"] = EMBEDDERS
    return folders["PINPOINT_CORPUS_DIR"]


def measure_size(units: int, args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """Everything for one corpus size; the size's folder is removed afterwards unless --keep."""
    from index.generations import current_generation

    work = settings.scale_dir / str(units)
    corpus_dir = point_at(work, fresh=True)
    t0 = time.perf_counter()
    corpus = generate(corpus_dir, units, args.seed, settings.corpus_dir)
    generate_s = time.perf_counter() - t0
    log(f"{units}: generated {corpus.documents} documents in {generate_s:.1f} s; ingesting")
    ingest = probe("ingest")
    if ingest["units"] != units:
        raise SystemExit(f"the ingest of the {units}-unit corpus found {ingest['units']} units")
    log(f"{units}: ingest {ingest['wall']:.0f} s, {ingest['computed']} windows embedded, "
        f"peak RSS {ingest['child_rss_mb']:.0f} MB; timing the embedder alone")
    live = current_generation(work / "index")
    sizes = index_sizes(live)
    floor = probe("floor", "--sample", str(args.floor_sample))
    log(f"{units}: embedder floor {floor['tokens_per_s']:.0f} tokens/s; querying")
    query = probe("query", "--questions", str(args.questions), "--cite", str(args.cite))
    log(f"{units}: query p50 {query['search_ms']['p50']:.0f} ms, cite exact {query['cite']['exact']}/{query['cite']['n']}, "
        f"peak RSS {query['child_rss_mb']:.0f} MB; incremental add")
    added = add_paragraph(corpus_dir)
    incremental = probe("ingest")
    log(f"{units}: incremental add of {added}: {incremental['wall']:.0f} s, {incremental['computed']} embedded")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {"units": units, "corpus": corpus.to_json(), "generate_s": generate_s, "ingest": ingest,
            "index_mb": sizes, "floor": floor, "query": query, "incremental": {**incremental, "added": added}}


def main(argv: list[str] | None = None) -> int:
    apply_offline_defaults()  # before llama-index / chromadb / tiktoken are imported
    settings = get_settings()
    args = parse_args(argv, settings)
    if ROOT in settings.scale_dir.resolve().parents or settings.scale_dir.resolve() == ROOT:
        raise SystemExit(f"refusing to write generated corpora inside the repository ({settings.scale_dir})")
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine(), "embedders": EMBEDDERS,
              "seed": args.seed, "ingest_threads": settings.ingest_threads, "threads": settings.threads,
              "query_threads": settings.query_threads, "sizes": []}
    log(f"sizes {args.sizes} under {settings.scale_dir}")
    for units in args.sizes:
        result["sizes"].append(measure_size(units, args, settings))
        report = write(args.out, {**result, "run_seconds": log.elapsed()})  # a late failure keeps these
    print(report)
    return 0


def write(out: Path, result: dict[str, Any]) -> str:
    """scale.md, scale.json and scale.png in ``out``; returns the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    report = markdown(result)
    (out / "scale.md").write_text(report, encoding="utf-8")
    (out / "scale.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    chart(out / "scale.png", result)
    log(f"wrote {out / 'scale'}.md, .png and .json ({len(result['sizes'])} sizes)")
    return report


if __name__ == "__main__":
    sys.exit(main())
