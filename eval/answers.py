"""Answer evaluation: what the user reads, per answering backend.

    python -m eval.answers [--set FILE] [--multiturn FILE] [--backend NAME[,NAME]] [--limit N]

For every question of the set the Answerer (services/answer.py) answers, and per backend:
- citation precision / recall per answer, strict: a citation is correct when it is a gold ref or
  one of the set's explicitly acceptable alternatives (a citation in another language version of
  the same provision counts); recall is the share of gold refs cited. Averaged over the
  answerable questions; an answer that cites nothing scores 0 on both. The JSON also keeps the
  lenient precision (a direct parent or child counts, as in ALCE);
- verbatim quote rate: every citation's quote must be its unit's text and occur in the source
  file, and every quotation in a generated answer must occur in a unit it cites (must be 100%);
- key-fact coverage: a key fact (a short string from the source) is covered when the answer
  text, its quoted units or their translations contain it (whitespace-insensitive);
- refusal, in two parts: refused when unanswerable, answered when answerable (never one accuracy);
- reader's language: the share of answers whose own words (all but the verbatim ``>`` quotes) are
  in the question's language; cross-language rendered: the share of citations of a unit in the
  other language that carry its text in the reader's language;
- multi-turn (eval/sets/multiturn.jsonl): every turn asked with the conversation so far; the
  last turn scored: hit@5 (strict) of its retrieval, refusal of unanswerable last turns, and how
  often it repeated the previous answer's first citation where the gold is another unit.
Backends that need a server or a model file (openai, gguf) are skipped with a notice when
PINPOINT_LLM_BASE_URL / PINPOINT_GGUF_PATH is not set or the model cannot be started.
Writes eval/reports/answers-<set>.md and .json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import settings as settings_module  # noqa: E402

settings_module.apply_offline_defaults()

from eval.metrics import hit_at, related  # noqa: E402
from eval.questions import EvalSetError, load_set, warn_unknown_refs  # noqa: E402
from eval.report import shown_path  # noqa: E402

DEFAULT_SET = ROOT / "eval" / "sets" / "questions.jsonl"
DEFAULT_MULTITURN = ROOT / "eval" / "sets" / "multiturn.jsonl"
BACKENDS = ("extractive", "openai", "gguf")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.answers", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="question set .jsonl")
    parser.add_argument("--multiturn", type=Path, default=DEFAULT_MULTITURN, help="two-turn set .jsonl")
    parser.add_argument("--backend", default="extractive", help="comma-separated: " + ",".join(BACKENDS) + " or all")
    parser.add_argument("--limit", type=int, default=0, help="only the first N items of each set (0 = all)")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "reports")
    args = parser.parse_args(argv)
    names = BACKENDS if args.backend == "all" else tuple(b.strip() for b in args.backend.split(",") if b.strip())
    unknown = [b for b in names if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
    args.backends = names
    return args


def load(path: Path, limit: int, asks: str = "question") -> list[dict]:
    items = load_set(path, asks)
    return items[:limit] if limit else items


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def unavailable(settings) -> str | None:
    """Why a backend cannot run here, or None."""
    import importlib.util

    if settings.backend == "openai" and not settings.llm_base_url:
        return "PINPOINT_LLM_BASE_URL is not set (needs an OpenAI-compatible server)"
    if settings.backend == "gguf":
        if not settings.gguf_path or not Path(settings.gguf_path).is_file():
            return "PINPOINT_GGUF_PATH does not name a GGUF file"
        if importlib.util.find_spec("xllamacpp") is None:
            return "xllamacpp is not installed"
    return None


def score_answer(item: dict, result, engine, sources: dict[str, str]) -> dict:
    """Per-answer scores (None where a metric does not apply); ``result`` is an ``Answer``."""
    from index.text_norm import HAS_CJK, language_of
    from services.verify import QUOTED, UNOFFICIAL

    by_ref = engine.index.by_ref
    parent_of = {ref: unit.parent for ref, unit in by_ref.items()}
    versions = engine.index.versions  # a citation in another language version names the same provision
    cited = [c.ref for c in result.citations]
    named = {v for ref in cited for v in (ref, *versions.get(ref, ()))}
    gold, acceptable = list(item.get("gold") or []), list(item.get("acceptable") or [])
    precision = recall = lenient_precision = None
    if item.get("answerable") and gold:
        def hit(ref: str, targets: list[str], lenient: bool) -> bool:
            return any(related(r, g, parent_of if lenient else None) for r in (ref, *versions.get(ref, ())) for g in targets)

        correct = [c for c in cited if hit(c, gold + acceptable, False)]
        precision = len(correct) / len(cited) if cited else 0.0
        lenient_precision = sum(hit(c, gold, True) for c in cited) / len(cited) if cited else 0.0
        recalled = sum(g in named for g in gold)
        if not recalled and any(a in named for a in acceptable):
            recalled = 1  # an explicitly acceptable alternative stands for the gold unit
        recall = recalled / len(gold)
    quotes_ok = quotes = 0
    for c in result.citations:
        unit = by_ref[c.ref]
        quotes += 1
        quotes_ok += c.quote == unit.text and c.quote in sources[unit.doc]
    if result.backend != "extractive" and not result.notice and cited:
        # a generated answer (a not-found answer is composed of verbatim units, checked above)
        texts = [by_ref[r].text for r in cited]
        for line in result.answer.split("\n"):
            for match in QUOTED.finditer(line):
                if UNOFFICIAL.search(line[: match.start()]):
                    continue
                quote = next(g for g in match.groups() if g is not None)
                quotes += 1
                quotes_ok += any(quote in t or _squash(quote) in _squash(t) for t in texts)
    facts = item.get("key_facts") or []
    translations = "".join(c.translation.text for c in result.citations if c.translation is not None)
    haystack = _squash(result.answer + "".join(c.quote for c in result.citations) + translations)
    covered = sum(_squash(f) in haystack for f in facts)
    own = "\n".join(line for line in result.answer.split("\n") if not line.lstrip().startswith(">"))
    cross = [c for c in result.citations if by_ref[c.ref].lang != result.language]
    return {
        "id": item["id"],
        "precision": precision,
        "recall": recall,
        "lenient_precision": lenient_precision,
        "quotes": quotes,
        "quotes_verbatim": quotes_ok,
        "facts": len(facts),
        "facts_covered": covered,
        "expected_answerable": bool(item.get("answerable")),
        "answerable": result.answerable,
        # the answer's own words (all but the verbatim > blocks) in the reader's language
        "own_language": language_of(own) == result.language,
        "own_cjk_share": round(len(HAS_CJK.findall(own)) / max(1, len(re.sub(r"\s", "", own))), 3),
        "cross_citations": len(cross),
        "cross_rendered": sum(c.translation is not None and c.translation.lang == result.language for c in cross),
        "cited": cited,
        "notice": result.notice,
        "flags": list(result.flags),
    }


def _mean(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.fmean(values), 4) if values else None


def summarize(rows: list[dict], ms: list[float]) -> dict:
    quotes = sum(r["quotes"] for r in rows)
    facts = sum(r["facts"] for r in rows)
    cross = sum(r["cross_citations"] for r in rows)
    positive = [r for r in rows if r["expected_answerable"]]
    negative = [r for r in rows if not r["expected_answerable"]]
    answered = [r for r in rows if r["answerable"]]
    return {
        "questions": len(rows),
        "citation_precision": _mean([r["precision"] for r in rows]),
        "citation_recall": _mean([r["recall"] for r in rows]),
        "lenient_precision": _mean([r["lenient_precision"] for r in rows]),
        "verbatim_quote_rate": round(sum(r["quotes_verbatim"] for r in rows) / quotes, 4) if quotes else None,
        "quotes": quotes,
        "key_fact_coverage": round(sum(r["facts_covered"] for r in rows) / facts, 4) if facts else None,
        "refused_when_unanswerable": _mean([float(not r["answerable"]) for r in negative]),
        "answered_when_answerable": _mean([float(r["answerable"]) for r in positive]),
        "unanswerable": len(negative),
        "reader_language": _mean([float(r["own_language"]) for r in answered]),
        "cross_rendered": round(sum(r["cross_rendered"] for r in rows) / cross, 4) if cross else None,
        "cross_citations": cross,
        "notices": sum(1 for r in rows if r["notice"]),  # out-of-scope, cut question, or model fallback
        "gate_flags": sum(len(r["flags"]) for r in rows),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
    }


def multiturn(answerer, items: list[dict], engine) -> dict:
    """Every turn asked with the turns and answers before it as history; scored on the last turn:
    hit@5 of its retrieval (strict, acceptable alternatives count), whether it was answered or
    declined as it should be, and whether it repeated the previous answer's first citation where
    the gold is another unit."""
    hits, rows = [], []
    for item in items:
        history: list[dict] = []
        previous = last = None
        for turn in item["turns"]:
            previous, last = last, answerer.answer(turn, history)
            history += [{"role": "user", "content": turn}, {"role": "assistant", "content": last.answer}]
        assert last is not None
        targets = [*item["gold"], *item.get("acceptable", [])]
        ranking = [[ref] for ref, _ in last.retrieved]
        hit = hit_at(ranking, targets, 5) if item.get("gold") else None
        if hit is not None:
            hits.append(hit)
        first = [c.ref for c in last.citations[:1]]
        before = [c.ref for c in previous.citations[:1]] if previous is not None else []
        repeated = bool(first) and first == before and first[0] not in targets
        rows.append({"id": item["id"], "standalone": last.standalone_question, "hit@5": hit,
                     "answerable": last.answerable, "expected_answerable": bool(item.get("answerable")),
                     "repeated": repeated, "top5": [r[0] for r in ranking[:5]]})
    scored = [r for r in rows if r["hit@5"] is not None]
    negative = [r for r in rows if not r["expected_answerable"]]
    return {"items": len(items), "scored": len(hits), "hit@5": _mean(hits),
            "repeated": sum(r["repeated"] for r in scored),
            "refused_when_unanswerable": _mean([float(not r["answerable"]) for r in negative]),
            "rows": rows}


def run_backend(name: str, base, engine, items, turns, sources) -> dict:
    from services.answer import Answerer

    settings = dataclasses.replace(base, backend=name)
    why = unavailable(settings)
    answerer = None if why else Answerer(engine, settings)
    if answerer is not None and answerer._llm_error:
        why = answerer._llm_error
    if why:
        print(f"skipped backend {name}: {why}", file=sys.stderr)
        return {"backend": name, "skipped": why}
    answerer.answer(items[0]["question"])  # warm-up
    rows, ms = [], []
    for item in items:
        t0 = time.perf_counter()
        result = answerer.answer(item["question"])
        ms.append((time.perf_counter() - t0) * 1000)
        rows.append(score_answer(item, result, engine, sources))
    return {
        "backend": answerer.backend_name,
        "summary": summarize(rows, ms),
        "multiturn": multiturn(answerer, turns, engine),
        "rows": rows,
    }


def fmt(value) -> str:
    return "n/a" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))


def markdown(set_name: str, runs: list[dict]) -> str:
    header = ["backend", "questions", "cit. precision", "cit. recall", "verbatim quotes", "key facts",
              "refused (unanswerable)", "answered (answerable)", "reader's language", "cross-language rendered",
              "multi-turn hit@5", "notices", "p50 ms"]
    lines = [f"# Answer evaluation: {set_name}", "", __doc__.split("\n\n", 2)[2].strip(), "",
             "| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    skipped = []
    for run in runs:
        if "skipped" in run:
            skipped.append(f"- {run['backend']}: skipped ({run['skipped']})")
            continue
        s = run["summary"]
        lines.append("| " + " | ".join([
            run["backend"], str(s["questions"]), fmt(s["citation_precision"]), fmt(s["citation_recall"]),
            f"{fmt(s['verbatim_quote_rate'])} ({s['quotes']})", fmt(s["key_fact_coverage"]),
            f"{fmt(s['refused_when_unanswerable'])} (of {s['unanswerable']})", fmt(s["answered_when_answerable"]),
            fmt(s["reader_language"]), f"{fmt(s['cross_rendered'])} (of {s['cross_citations']})",
            fmt(run["multiturn"]["hit@5"]), str(s["notices"]), fmt(s["p50_ms"]),
        ]) + " |")
    if skipped:
        lines += ["", "Skipped backends:", *skipped]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from services.engine import Engine

    base = settings_module.get_settings()
    engine = Engine(base)
    sources = {d.key: (base.corpus_dir / d.file).read_text(encoding="utf-8") for d in engine.index.docs}
    try:
        items = load(args.set, args.limit)
        turns = load(args.multiturn, args.limit, asks="turns")
    except EvalSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for path, loaded in ((args.set, items), (args.multiturn, turns)):
        warn_unknown_refs(path, loaded, engine.index.by_ref)
    runs = [run_backend(name, base, engine, items, turns, sources) for name in args.backends]
    set_name = args.set.stem
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"answers-{set_name}.json").write_text(
        json.dumps({"set": shown_path(args.set), "multiturn": shown_path(args.multiturn), "runs": runs}, ensure_ascii=False, indent=1),
        encoding="utf-8",
    )
    report = markdown(set_name, runs)
    (args.out / f"answers-{set_name}.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
