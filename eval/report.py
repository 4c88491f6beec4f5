"""Render one set's results: Markdown tables (stdout and .md), a bar chart (.png), numbers (.json).

The JSON is what CI reads; the Markdown repeats the scoring rules so a reader
of the report alone knows what the starter's generous numbers mean.
"""

from __future__ import annotations

import json
from pathlib import Path

from eval.metrics import DIRECTIONS, LANGS
from settings import ROOT


def shown_path(path: Path) -> str:
    """A path as a report may print it: relative to the project, else the file name alone (a report
    never names a folder of the machine it ran on)."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return path.name


SCORING_NOTES = """\
Scoring rules:
- Metrics over the answerable questions (gold non-empty); a retrieved ref matches a gold ref only when equal
  (strict), or when it is one of the question's explicitly acceptable alternatives (`acceptable`), never a
  parent or child. "lenient hit@5" also accepts the direct parent or a direct child of a gold ref.
- MRR and recall are over the top {k} positions. Refusal is two numbers, never one accuracy: the share of
  unanswerable questions the engine declines, and the share of answerable ones it answers.
- pinpoint / dense / bm25 rank units: one ref per position. The starter (llama-index SimpleDirectoryReader +
  default SentenceSplitter + in-memory VectorStoreIndex, same embedder) ranks chunks: a chunk "finds" every unit
  whose span overlaps it (parents included), so its hit@k is generous. Its positions are counted in chunks:
  hit@k = a gold ref is among the refs of the top k chunks; MRR = 1 / rank of the first chunk containing a gold
  ref; recall@{k} = gold refs among the refs of the top {k} chunks. It makes no answerability decision: n/a.
- Latency: per question, warm (one warm-up query per system first), retrieval and answerability only.
"""


def fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (also used by the scale benchmark's report)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main_table(summaries: dict[str, dict], k: int) -> str:
    """Rows: systems; the headline numbers."""
    header = ["system", "hit@1", "hit@5", "MRR", f"recall@{k}", "refused (unanswerable)", "answered (answerable)",
              "lenient hit@5", "p50 ms"]
    rows = []
    for name, s in summaries.items():
        o, r = s["overall"], s["refusal"]
        rows.append(
            [name, fmt(o.get("hit@1")), fmt(o.get("hit@5")), fmt(o.get("mrr")), fmt(o.get(f"recall@{k}")),
             fmt(r["refused_when_unanswerable"]), fmt(r["answered_when_answerable"]), fmt(o.get("lenient_hit@5")),
             fmt(s["latency_ms"].get("p50"), 1)]
        )
    return table(header, rows)


def group_table(summaries: dict[str, dict], group: str, keys: tuple[str, ...], metric: str) -> str:
    """Rows: systems; columns: the directions or languages (with their question counts)."""
    first = next(iter(summaries.values()))[group]
    header = ["system"] + [f"{key} (n={first[key]['n']})" for key in keys]
    rows = [[name] + [fmt(s[group][key].get(metric)) for key in keys] for name, s in summaries.items()]
    return table(header, rows)


def refusal_table(summaries: dict[str, dict]) -> str:
    header = ["system", "refused when unanswerable", "answered when answerable", "refs in top k", "mean ms", "p50 ms"]
    rows = []
    for name, s in summaries.items():
        r, ms = s["refusal"], s["latency_ms"]
        refused = f"{fmt(r['refused_when_unanswerable'])} (of {r['unanswerable']})" if r["unanswerable"] else "n/a"
        answered = f"{fmt(r['answered_when_answerable'])} (of {r['answerable']})" if r["answerable"] else "n/a"
        rows.append([name, refused, answered, fmt(s["refs_in_top_k"], 1), fmt(ms.get("mean"), 1), fmt(ms.get("p50"), 1)])
    return table(header, rows)


def targets_table(checks: list[tuple[str, float | None, float, bool]]) -> str:
    rows = [[name, fmt(value), f">= {target:.2f}", "PASS" if ok else "FAIL"] for name, value, target, ok in checks]
    return table(["Pinpoint target", "value", "target", "result"], rows)


def stdout_tables(summaries: dict[str, dict], k: int) -> str:
    """What the command prints: the headline table and the per-direction hit@5 / MRR tables."""
    return "\n\n".join(
        [
            main_table(summaries, k),
            "hit@5 by direction\n\n" + group_table(summaries, "by_direction", DIRECTIONS, "hit@5"),
            "MRR by direction\n\n" + group_table(summaries, "by_direction", DIRECTIONS, "mrr"),
        ]
    )


def markdown(set_name: str, info: dict, summaries: dict[str, dict], k: int, checks: list | None) -> str:
    """The full report of one set."""
    parts = [
        f"# Retrieval evaluation: {set_name}",
        (
            f"Date: {info['date']}. Set: `{info['set']}` ({info['questions']} questions, "
            f"{info['answerable']} answerable). Index generation: `{info['index']}`. "
            f"Evaluation time: {info['seconds']:.1f} s."
        ),
        "## Summary",
        main_table(summaries, k),
        "## hit@5 by direction",
        group_table(summaries, "by_direction", DIRECTIONS, "hit@5"),
        "## MRR by direction",
        group_table(summaries, "by_direction", DIRECTIONS, "mrr"),
        f"## recall@{k} by direction",
        group_table(summaries, "by_direction", DIRECTIONS, f"recall@{k}"),
        "## By question language",
        "hit@5\n\n" + group_table(summaries, "by_lang", LANGS, "hit@5"),
        "MRR\n\n" + group_table(summaries, "by_lang", LANGS, "mrr"),
        "## Refusal, depth and latency",
        refusal_table(summaries),
    ]
    if checks is not None:
        parts += ["## Targets", targets_table(checks)]
    parts += ["## Notes", SCORING_NOTES.format(k=k), f"![hit@5 and MRR by direction](retrieval-{set_name}.png)"]
    return "\n\n".join(parts) + "\n"


def chart(path: Path, set_name: str, summaries: dict[str, dict]) -> None:
    """Grouped bars: hit@5 and MRR per direction, one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    x = np.arange(len(DIRECTIONS))
    width = 0.8 / max(len(summaries), 1)
    for ax, metric, title in zip(axes, ("hit@5", "mrr"), ("hit@5", "MRR"), strict=True):
        for i, (name, s) in enumerate(summaries.items()):
            values = [s["by_direction"][d].get(metric) or 0.0 for d in DIRECTIONS]
            ax.bar(x + (i - (len(summaries) - 1) / 2) * width, values, width, label=name)
        ax.set_xticks(x, DIRECTIONS)
        ax.set_title(f"{title} by direction ({set_name})")
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.savefig(path, dpi=120)
    plt.close(fig)


# MRR a set may gain when a step is left out before the step counts as trading that set for the
# other: one or two of our questions moving by a rank, which a re-run on another machine can undo.
ABLATION_TOLERANCE = 0.01


def ablation_markdown(ablation: dict[str, dict[str, dict]], settings) -> str:
    """One row per step left out: hit@1 / hit@5 / MRR on each set, and the change in MRR against the
    whole pipeline. A step earns its place when leaving it out loses MRR on some set and gains no set
    more than ``ABLATION_TOLERANCE``; one that helps one set at the other's cost trades them."""
    sets = list(ablation)
    variants = list(next(iter(ablation.values())))
    header = ["variant", *(f"{m} ({name})" for name in sets for m in ("hit@1", "hit@5", "MRR", "ΔMRR")), "verdict"]
    rows = []
    for variant in variants:
        cells, deltas = [], []
        for name in sets:
            o, full = ablation[name][variant], ablation[name]["pinpoint"]
            delta = o.get("mrr", 0.0) - full.get("mrr", 0.0)
            deltas.append(delta)
            cells += [fmt(o.get("hit@1")), fmt(o.get("hit@5")), fmt(o.get("mrr")), f"{delta:+.3f}"]
        if variant == "pinpoint":
            verdict = ""
        elif all(abs(d) < 1e-9 for d in deltas):
            verdict = "inert on these sets"
        else:
            verdict = ("does not earn it" if all(d >= 0 for d in deltas)
                       else "earns its place" if all(d <= ABLATION_TOLERANCE for d in deltas)
                       else "trades one set for the other")
        rows.append([variant, *cells, verdict])
    steps = ", ".join(settings.retrieval_steps)
    return "\n\n".join([
        "# Ablation: Pinpoint without each step",
        f"Steps: {steps}; embedders: {', '.join(settings.embedders)}. Strict refs, as in the retrieval reports.",
        table(header, rows),
    ]) + "\n"


def write(out_dir: Path, set_name: str, info: dict, summaries: dict[str, dict], k: int,
          checks: list | None, questions: dict[str, list[dict]]) -> list[Path]:
    """Write retrieval-<set>.md, .png and .json; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    base = out_dir / f"retrieval-{set_name}"
    md, png, js = base.with_suffix(".md"), base.with_suffix(".png"), base.with_suffix(".json")
    md.write_text(markdown(set_name, info, summaries, k, checks), encoding="utf-8")
    chart(png, set_name, summaries)
    data = {
        **info,
        "k": k,
        "systems": summaries,
        "targets": None if checks is None else [
            {"name": n, "value": v, "target": t, "pass": ok} for n, v, t, ok in checks
        ],
        "questions": questions,
    }
    js.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return [md, png, js]
