"""The units of one index generation, as JSON lines, in BM25 document order."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.units import Unit

FILE = "units.jsonl"


def save_units(folder: Path, units: list[Unit]) -> None:
    with open(folder / FILE, "w", encoding="utf-8") as handle:
        for unit in units:
            handle.write(json.dumps(unit.to_json(), ensure_ascii=False) + "\n")


def load_units(folder: Path) -> list[Unit]:
    with open(folder / FILE, encoding="utf-8") as handle:
        return [Unit.from_json(json.loads(line)) for line in handle if line.strip()]
