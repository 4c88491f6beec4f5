"""A Pinpoint UI server for the UI tests: one `python app.py serve` subprocess per test session.

Both UI test modules share it (a module-level cache; it is stopped at interpreter exit). It
serves the session's temporary index, never data/index. PINPOINT_TEST_UI_URL points the tests
at an already running server instead (handy when working on the UI).
"""

from __future__ import annotations

import atexit
import os
from pathlib import Path

from eval.timing import APP, ServedApp, free_port, serve_app

ROOT = APP.parent
START_TIMEOUT = 120

__all__ = ["APP", "ROOT", "app_env", "free_port", "ui_url"]

_server: dict[str, ServedApp] = {}


def app_env(index_dir: Path, **extra: str) -> dict[str, str]:
    from conftest import TEST_ENV

    env = dict(os.environ)
    env.update(
        TEST_ENV,
        PINPOINT_INDEX_DIR=str(index_dir),
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
    )
    env.pop("PINPOINT_AUTH", None)
    env.update(extra)
    return env


def ui_url(index_dir: Path) -> str:
    """The URL of a running UI over ``index_dir`` (started on first use, on a free port)."""
    if os.environ.get("PINPOINT_TEST_UI_URL"):
        return os.environ["PINPOINT_TEST_UI_URL"]
    if "app" not in _server:
        app = serve_app(app_env(index_dir), index_dir.parent / "ui-server.log", START_TIMEOUT)
        atexit.register(app.stop)
        _server["app"] = app
    return _server["app"].url
