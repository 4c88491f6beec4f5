"""Read an evaluation set: one JSON object a line.

Pinpoint's own sets write id, question (or turns, for a conversation), lang, gold, answerable,
key_facts and notes, and where another unit answers just as well, acceptable (refs that count as
a hit too; never a parent or child of a gold ref, which the strict scores do not accept). A set written elsewhere (a user's, or a held-out one) may call the gold refs
something else, write a ref with spaces ("report: 7 (c)"), tag languages as "zh-Hant", or leave
out what can be derived; each item is normalised to the one shape the evaluations read, so such a
set is scored rather than crashing on a missing key. What cannot be derived (no question) is an
error naming the file and line.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Collection
from pathlib import Path

from index.text_norm import language_of

QUESTION_FIELDS = ("question", "query")
GOLD_FIELDS = ("gold", "gold_refs", "refs", "expected_refs")
TURN_FIELDS = ("content", "question")  # a turn given as a chat message instead of a string


class EvalSetError(ValueError):
    """An evaluation set that cannot be read; the message names the file and line."""


def load_set(path: Path, asks: str = "question") -> list[dict]:
    """The set's items, normalised: id, ``asks`` ("question", or "turns" for a conversation set),
    lang, gold, answerable, key_facts, notes."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalSetError(f"cannot read evaluation set {path}: {exc}") from exc
    items: list[dict] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"{where}: not a JSON object ({exc.msg})") from exc
        if not isinstance(raw, dict):
            raise EvalSetError(f"{where}: not a JSON object")
        items.append(_normalise(raw, asks, f"{path.stem}-{lineno}", where))
    ids = [item["id"] for item in items]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise EvalSetError(f"{path}: repeated ids {', '.join(repeated[:5])}")
    return items


def warn_unknown_refs(path: Path, items: list[dict], known: Collection[str]) -> None:
    """Say on stderr which gold refs name no unit of the index: they can only count as misses,
    and are more often a typo in the set than a failure of retrieval."""
    unknown = sorted({ref for item in items for ref in (*item["gold"], *item["acceptable"]) if ref not in known})
    if unknown:
        shown = ", ".join(unknown[:8]) + (" …" if len(unknown) > 8 else "")
        print(f"warning: {path}: {len(unknown)} gold ref(s) name no unit of the index and count as misses: {shown}",
              file=sys.stderr)


def _normalise(raw: dict, asks: str, default_id: str, where: str) -> dict:
    turns = _turns(raw.get("turns"), where) if asks == "turns" else None
    question = next((raw[f] for f in QUESTION_FIELDS if isinstance(raw.get(f), str) and raw[f].strip()), None)
    if asks == "question" and question is None:
        raise EvalSetError(f"{where}: no question (a non-empty {' or '.join(QUESTION_FIELDS)})")
    gold = _gold(next((raw[f] for f in GOLD_FIELDS if raw.get(f) is not None), []), where)
    lang = str(raw.get("lang") or language_of(question or turns[-1]))[:2].lower()
    acceptable = _gold(raw.get("acceptable") or [], where)
    item = {**raw, "id": str(raw.get("id", default_id)), "lang": lang, "gold": gold, "acceptable": acceptable,
            "answerable": _flag(raw.get("answerable", bool(gold))),
            "key_facts": [str(f) for f in raw.get("key_facts") or []], "notes": str(raw.get("notes") or "")}
    if question is not None:
        item["question"] = question
    if turns is not None:
        item["turns"] = turns
    return item


def _flag(value) -> bool:
    """A JSON boolean, or the string a spreadsheet export writes for one ("false", "no", "0")."""
    return value.strip().lower() not in ("false", "no", "0", "") if isinstance(value, str) else bool(value)


def _gold(value, where: str) -> list[str]:
    """Refs as the contract writes them: "report:7(c)", whatever spaces the set put in."""
    refs = [value] if isinstance(value, str) else value
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise EvalSetError(f"{where}: gold refs must be a string or a list of strings")
    return [re.sub(r"\s+", "", ref) for ref in refs if ref.strip()]


def _turns(value, where: str) -> list[str]:
    """The user's questions of a conversation: strings, or chat messages (the assistant's skipped)."""
    turns = []
    for turn in value if isinstance(value, list) else []:
        if isinstance(turn, dict):
            if turn.get("role") == "assistant":
                continue
            turn = next((turn[f] for f in TURN_FIELDS if turn.get(f)), None)
        turns.append(turn)
    if len(turns) < 2 or not all(isinstance(t, str) and t.strip() for t in turns):
        raise EvalSetError(f"{where}: turns must hold at least two questions")
    return turns
