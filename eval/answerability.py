"""`python -m eval.answerability`: fit the answerability model on our sets, with cross-validation.

    python -m eval.answerability [--set FILE ...] [--folds 5] [--answered 0.97]

For every question of the sets the engine retrieves, and services/answerability.py turns the
evidence into features. A logistic regression is scored out of fold (stratified k-fold over all
questions, and each set predicted by a model fitted on the others only), and the threshold is the
highest at which the out-of-fold share of answerable questions answered stays at or above
``--answered``: declining an answerable question costs a delegate more than a cautious answer.
The model fitted on all questions, with that threshold, goes to ``settings.answerability_path``;
the report (eval/reports/answerability.md) gives both refusal numbers per set, out of fold.

Refit whenever retrieval changes: the features are read off its hits.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path

from settings import ROOT, apply_offline_defaults, get_settings

DEFAULT_SETS = (ROOT / "eval" / "sets" / "questions.jsonl", ROOT / "eval" / "sets" / "dev_heldout.jsonl")
SEED = 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.answerability", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--set", action="append", type=Path, help="question set .jsonl; repeatable")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--answered", type=float, default=0.96, help="out-of-fold share of answerable questions to answer")
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "reports")
    args = parser.parse_args(argv)
    args.set = args.set or list(DEFAULT_SETS)
    return args


def folds(labels: list[bool], k: int) -> list[int]:
    """A fold number per item, stratified: each fold gets its share of either label."""
    rng = random.Random(SEED)
    out = [0] * len(labels)
    for value in (True, False):
        members = [i for i, label in enumerate(labels) if label == value]
        rng.shuffle(members)
        for position, i in enumerate(members):
            out[i] = position % k
    return out


def threshold_for(probabilities: list[float], labels: list[bool], answered: float) -> float:
    """The highest threshold at which at least ``answered`` of the answerable are answered."""
    positives = sorted(p for p, label in zip(probabilities, labels, strict=True) if label)
    if not positives:
        return 0.5
    allowed = int(len(positives) * (1 - answered))  # how many answerable may fall below it
    return positives[allowed] - 1e-9


def split(probabilities: list[float], labels: list[bool], threshold: float) -> dict[str, float | int | None]:
    neg = [p for p, label in zip(probabilities, labels, strict=True) if not label]
    pos = [p for p, label in zip(probabilities, labels, strict=True) if label]
    return {
        "refused_when_unanswerable": sum(p < threshold for p in neg) / len(neg) if neg else None,
        "answered_when_answerable": sum(p >= threshold for p in pos) / len(pos) if pos else None,
        "unanswerable": len(neg),
        "answerable": len(pos),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_offline_defaults()
    from eval.questions import EvalSetError, load_set
    from eval.report import fmt, shown_path, table
    from services.answerability import FEATURES, fit
    from services.engine import Engine

    settings = get_settings()
    engine = Engine(settings)
    try:
        sets = [(path.stem, load_set(path)) for path in args.set]
    except EvalSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows, labels, origin, questions = [], [], [], []
    for name, items in sets:
        for item in items:
            questions.append(f"{item['id']} {item['question']}")
            found = engine.retrieve(item["question"])
            rows.append(engine.answerability.features(found.text, found.hits, found.scope))
            labels.append(bool(item["answerable"]))
            origin.append(name)
    assignment = folds(labels, args.folds)
    pooled = [0.0] * len(rows)
    for fold in range(args.folds):
        train = [i for i, f in enumerate(assignment) if f != fold]
        model = fit([rows[i] for i in train], [labels[i] for i in train])
        for i, f in enumerate(assignment):
            if f == fold:
                pooled[i] = model.probability(rows[i])
    threshold = threshold_for(pooled, labels, args.answered)
    across = [0.0] * len(rows)  # each set predicted by a model fitted on the other sets alone
    for name, _ in sets:
        train = [i for i, o in enumerate(origin) if o != name]
        if not train:
            continue
        model = fit([rows[i] for i in train], [labels[i] for i in train])
        for i, o in enumerate(origin):
            if o == name:
                across[i] = model.probability(rows[i])
    final = fit(rows, labels)
    final = dataclasses.replace(final, threshold=threshold, embedders=tuple(sorted(engine.index.dense)))
    args_out = Path(settings.answerability_path)
    args_out.write_text(json.dumps(final.to_json(), indent=1) + "\n", encoding="utf-8")

    report_rows = []
    for name, _ in sets:
        members = [i for i, o in enumerate(origin) if o == name]
        for what, probs in (("k-fold", pooled), ("other sets only", across)):
            if what == "other sets only" and len(sets) < 2:
                continue
            s = split([probs[i] for i in members], [labels[i] for i in members], threshold)
            report_rows.append([name, what, f"{fmt(s['refused_when_unanswerable'])} (of {s['unanswerable']})",
                                f"{fmt(s['answered_when_answerable'])} (of {s['answerable']})"])
    # the mistakes, out of fold, so the next feature is written against them
    wrong = sorted((i for i, label in enumerate(labels) if (pooled[i] >= threshold) != label), key=lambda i: (labels[i], -pooled[i]))
    mistakes = table(["question", "answerable", "probability"],
                     [[questions[i][:100].replace("|", "/"), "yes" if labels[i] else "no", f"{pooled[i]:.3f}"] for i in wrong])
    weights = table(["feature", "weight (standardised)"], [[n, f"{w:+.3f}"] for n, w in zip(FEATURES, final.weights, strict=True)])
    text = "\n\n".join([
        "# Answerability: out-of-fold refusal",
        f"Sets: {', '.join(shown_path(p) for p in args.set)}; {args.folds}-fold stratified cross-validation; threshold "
        f"{threshold:.3f}, the highest that answers at least {args.answered:.2f} of the answerable questions out of fold. "
        f"Model written to `{shown_path(args_out)}`.",
        table(["set", "model", "refused when unanswerable", "answered when answerable"], report_rows),
        "## Feature weights (the model fitted on all questions)",
        weights,
        "## Out-of-fold mistakes (unanswerable answered first, then answerable declined)",
        mistakes,
    ]) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "answerability.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
