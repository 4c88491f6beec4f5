"""The units of one index generation, and their renderings, as JSON lines (units in BM25 document order)."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.renderings import Rendering
from ingest.units import Unit

FILE = "units.jsonl"
RENDERINGS = "renderings.jsonl"


def save_units(folder: Path, units: list[Unit]) -> None:
    with open(folder / FILE, "w", encoding="utf-8") as handle:
        for unit in units:
            handle.write(json.dumps(unit.to_json(), ensure_ascii=False) + "\n")


def load_units(folder: Path) -> list[Unit]:
    with open(folder / FILE, encoding="utf-8") as handle:
        return [Unit.from_json(json.loads(line)) for line in handle if line.strip()]


def save_renderings(folder: Path, renderings: dict[str, Rendering]) -> None:
    with open(folder / RENDERINGS, "w", encoding="utf-8") as handle:
        for rendering in renderings.values():
            handle.write(json.dumps(rendering.to_json(), ensure_ascii=False) + "\n")


def load_renderings(folder: Path) -> dict[str, Rendering]:
    """ref -> rendering; none for a generation written before renderings existed."""
    path = folder / RENDERINGS
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        rows = [Rendering.from_json(json.loads(line)) for line in handle if line.strip()]
    return {r.ref: r for r in rows}
