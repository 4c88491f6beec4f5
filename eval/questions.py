"""Read an evaluation set: one JSON object a line (id, question, lang, gold, answerable, key_facts, notes)."""

from __future__ import annotations

import json
from pathlib import Path


def load_set(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
