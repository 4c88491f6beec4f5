"""`python -m eval`: retrieval evaluation of Pinpoint against three baselines.

Runs every question of each set through each system, prints the headline and
per-direction tables, writes eval/reports/retrieval-<set>.{md,png,json}, and
with --check exits 1 when Pinpoint misses a target (eval.metrics.TARGET_*).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from settings import ROOT, apply_offline_defaults, get_settings

if TYPE_CHECKING:  # eval.metrics imports llama-index, which must wait for apply_offline_defaults
    from eval.baselines import System
    from eval.metrics import QuestionResult

DEFAULT_SET = ROOT / "eval" / "sets" / "questions.jsonl"
ALL_SYSTEMS = ("pinpoint", "dense", "bm25", "fusion-rrf", "starter", "starter-chunks")
PER_EMBEDDER = "dense-"  # "dense-gemma": one embedder's dense run alone, a baseline of its own


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", action="append", type=Path, help="question set .jsonl; repeatable")
    parser.add_argument(
        "--systems", default="",
        help="comma-separated: " + ",".join(ALL_SYSTEMS) + f", {PER_EMBEDDER}<embedder> (default: all, and each embedder alone)",
    )
    parser.add_argument(
        "--ablate", action="store_true",
        help="also score Pinpoint without each retrieval step (and each embedder) in turn; writes eval/reports/ablation.md",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "reports", help="report folder")
    parser.add_argument("--check", action="store_true", help="exit 1 when Pinpoint misses a target")
    parser.add_argument(
        "--floor", action="store_true",
        help="exit 1 when Pinpoint falls below the regression floor or below a paragraph-level baseline",
    )
    parser.add_argument("--k", type=int, default=10, help="retrieval depth; MRR and recall are @k (>= 5)")
    args = parser.parse_args(argv)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in args.systems if s not in ALL_SYSTEMS and not s.startswith(PER_EMBEDDER)]
    if unknown:
        parser.error(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(ALL_SYSTEMS)}")
    if (args.check or args.ablate) and args.systems and "pinpoint" not in args.systems:
        parser.error("--check and --ablate need the pinpoint system")
    if args.k < 5:
        parser.error("--k must be at least 5 (hit@5 is a headline metric)")
    args.set = args.set or [DEFAULT_SET]
    return args


def run(system: System, questions: list[dict], ref_lang: dict[str, str]) -> list[QuestionResult]:
    """Ask every question, timing each call (the system is already warm)."""
    from eval.metrics import QuestionResult, direction_of

    results = []
    for q in questions:
        t0 = time.perf_counter()
        ranking, answered = system.ask(q["question"])
        ms = (time.perf_counter() - t0) * 1000
        refs = list(dict.fromkeys(r for position in ranking for r in position))
        results.append(
            QuestionResult(q["id"], q["lang"], direction_of(q["lang"], q["gold"], ref_lang), list(q["gold"]),
                           bool(q["answerable"]), ranking, answered, ms, refs, list(q["acceptable"]))
        )
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    apply_offline_defaults()  # before llama-index / chromadb / tiktoken are imported

    from eval import metrics, report
    from eval.baselines import EngineSystem, build_systems
    from eval.questions import EvalSetError, load_set, warn_unknown_refs
    from index.build import parse_corpus

    settings = get_settings()
    if not args.systems:
        alone = [PER_EMBEDDER + name for name in settings.embedders] if len(settings.embedders) > 1 else []
        args.systems = [*ALL_SYSTEMS[:2], *alone, *ALL_SYSTEMS[2:]]
    _, units = parse_corpus(settings)
    parent_of = {u.ref: u.parent for u in units}
    ref_lang = {u.ref: u.lang for u in units}
    try:
        sets = [(path, load_set(path)) for path in args.set]
    except EvalSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path, questions in sets:
        warn_unknown_refs(path, questions, ref_lang)
    systems = build_systems(args.systems, settings, args.k, units, ablate=args.ablate)
    for system in systems:  # warm-up: first-query costs (lazy imports, caches) are not latency
        system.ask(sets[0][1][0]["question"] if sets[0][1] else "warm-up")
    # The generation actually loaded: CURRENT can move while the evaluation runs.
    loaded = next((s.engine.index.folder for s in systems if isinstance(s, EngineSystem)), settings.index_dir)
    print(f"systems ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    failed = False
    ablation: dict[str, dict[str, dict]] = {}  # set -> variant -> overall scores
    for path, questions in sets:
        set_started = time.perf_counter()
        summaries: dict[str, dict] = {}
        per_question: dict[str, list[dict]] = {}
        for system in systems:
            results = run(system, questions, ref_lang)
            summaries[system.name] = metrics.summarize(results, args.k, parent_of)
            # First 20 refs only: the starter's 10 chunks cover about 170, which would bloat the JSON.
            per_question[system.name] = [
                {"id": r.id, "refs": r.refs[:20], "answered": r.answered, "ms": round(r.ms, 2),
                 "hit@5": metrics.hit_at(r.ranking, r.targets, 5) if r.gold else None,
                 "rr": metrics.mrr_at(r.ranking, r.targets, args.k) if r.gold else None}
                for r in results
            ]
        checks = metrics.check_targets(summaries["pinpoint"]) if "pinpoint" in summaries else None
        name = path.stem
        info = {
            "set": report.shown_path(path), "date": time.strftime("%Y-%m-%d %H:%M"), "questions": len(questions),
            "answerable": sum(bool(q["gold"]) for q in questions), "index": loaded.name,
            "seconds": time.perf_counter() - set_started,
        }
        print(f"\n## {name} ({len(questions)} questions)\n")
        print(report.stdout_tables(summaries, args.k))
        if checks is not None:
            print()
            for target, value, threshold, ok in checks:
                verdict = "PASS" if ok else "FAIL"
                print(f"{verdict}  pinpoint {target} = {report.fmt(value)} (target >= {threshold:.2f})")
            failed = failed or (args.check and not all(ok for *_, ok in checks))
        if args.floor and "pinpoint" in summaries:
            for what, value, floor, ok in metrics.check_floor(summaries):
                print(f"{'PASS' if ok else 'FAIL'}  floor: pinpoint {what} = {report.fmt(value)} (must be >= {floor:.3f})")
                failed = failed or not ok
        if args.ablate:
            ablation[name] = {v: s["overall"] for v, s in summaries.items() if v == "pinpoint" or v.startswith("pinpoint -")}
        for written in report.write(args.out, name, info, summaries, args.k, checks, per_question):
            print(f"wrote {written}", file=sys.stderr)
    if ablation:
        text = report.ablation_markdown(ablation, settings)
        print("\n" + text)
        (args.out / "ablation.md").write_text(text, encoding="utf-8")
    print(f"\nfull run: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
