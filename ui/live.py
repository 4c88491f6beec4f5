"""What the UI answers from, swapped whole when an ingest publishes a new index generation.

Users add documents while the app runs: `python app.py ingest` writes a new generation and flips
CURRENT (index/generations.py), and the server should serve it without a restart. The engine, the
answerer and the browser are each read-only over one loaded index, so the server loads the new
generation beside the old one and swaps a single reference; every request takes that reference
once (``current``) and so sees one generation from start to end, never refs of one and texts of
another. A generation that fails to load leaves the old one serving, and the failure is logged
once.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass

from index.generations import current_generation
from index.hybrid import LoadedIndex
from services.answer import Answerer
from services.engine import Engine
from settings import Settings
from ui.browse import Browser

log = logging.getLogger("pinpoint.live")


@dataclass(frozen=True)
class Served:
    engine: Engine
    answerer: Answerer
    browser: Browser


class LiveServices:
    """The current ``Served``; ``refresh`` loads a newer generation, ``watch`` does it periodically."""

    def __init__(self, engine: Engine, answerer: Answerer, settings: Settings) -> None:
        self.settings = settings
        self.current = Served(engine, answerer, Browser(engine.index))
        self._failed: str | None = None  # the generation that last failed to load, not retried
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Serve the live generation if it is not the one served; True when it swapped."""
        with self._lock:
            served = self.current
            folder = None
            try:
                folder = current_generation(self.settings.index_dir)
                if folder is None or folder == served.engine.index.folder or folder.name == self._failed:
                    return False
                index = LoadedIndex.load(self.settings, reuse=served.engine.index)
                engine = Engine(self.settings, index=index)
            except Exception as exc:  # a bad generation (or a vanished folder) must not stop the server
                self._failed = folder.name if folder is not None else None
                log.error("index not reloaded, still serving %s: %s", served.engine.index.folder.name, exc)
                return False
            self.current = Served(engine, served.answerer.over(engine), Browser(index))
            # Chroma keeps every store it opened, with its vectors in memory, until its client closes:
            # close the old one when the last request that took the old generation lets go of it.
            weakref.finalize(served.engine.index, served.engine.index.client.close).atexit = False
            log.warning("now serving index generation %s (%d units)", folder.name, len(index.units))
            return True

    def watch(self) -> threading.Thread | None:
        """A daemon thread that calls ``refresh`` every ``settings.reload_seconds`` (none when 0)."""
        if self.settings.reload_seconds <= 0:
            return None

        def loop() -> None:
            while True:
                time.sleep(self.settings.reload_seconds)
                self.refresh()

        thread = threading.Thread(target=loop, name="index-reload", daemon=True)
        thread.start()
        return thread
