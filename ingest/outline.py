"""A stack of open units, shared by the report and treaty parsers.

Both kinds of document are outlines: a unit opens at a marker line, stays open
while deeper units and continuation lines follow, and closes when a marker of
its own level or higher appears. This module keeps that bookkeeping (spans,
lead-ins, parents) in one place; the parsers only classify lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.readers import Block
from ingest.units import RawUnit


@dataclass
class _Open:
    level: int
    pinpoint: str
    start: int
    end: int
    own_end: int
    line: int
    parent: str | None
    section: str
    heading: str
    has_child: bool = False


class Outline:
    """Collects RawUnits as the parser opens units and feeds continuation lines."""

    def __init__(self) -> None:
        self._stack: list[_Open] = []
        self.units: list[RawUnit] = []

    def open(self, level: int, pinpoint: str, block: Block, section: str = "", heading: str = "") -> None:
        """Start a unit at ``block``; closes open units of this level or deeper."""
        self.close(level)
        parent = self._stack[-1] if self._stack else None
        if parent is not None:
            parent.has_child = True
        self._stack.append(
            _Open(level, pinpoint, block.start, block.end, block.end, block.line,
                  parent.pinpoint if parent else None, section, heading)
        )
        for unit in self._stack:
            unit.end = max(unit.end, block.end)

    def extend(self, block: Block) -> None:
        """A continuation line belongs to every open unit; to the deepest one's own text."""
        for unit in self._stack:
            unit.end = block.end
            if not unit.has_child:
                unit.own_end = block.end

    def close(self, level: int = 0) -> None:
        """Close open units at ``level`` and deeper, in document order of their starts."""
        while self._stack and self._stack[-1].level >= level:
            unit = self._stack.pop()
            self.units.append(
                RawUnit(unit.pinpoint, unit.start, unit.end, unit.own_end, unit.line,
                        unit.parent, unit.section, unit.heading)
            )
            if self._stack:
                self._stack[-1].end = max(self._stack[-1].end, unit.end)

    def top(self, level: int) -> str | None:
        """Pinpoint of the open unit at exactly ``level``, if any."""
        for unit in self._stack:
            if unit.level == level:
                return unit.pinpoint
        return None

    def finish(self) -> list[RawUnit]:
        self.close(0)
        return sorted(self.units, key=lambda u: (u.start, -u.end))
