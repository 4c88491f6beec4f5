"""A Pinpoint UI server for the UI tests: one `python app.py serve` subprocess per test session.

Both UI test modules share it (a module-level cache; it is stopped at interpreter exit). It
serves the session's temporary index, never data/index. PINPOINT_TEST_UI_URL points the tests
at an already running server instead (handy when working on the UI).
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
START_TIMEOUT = 120

_server: dict[str, object] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(index_dir: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PINPOINT_INDEX_DIR=str(index_dir),
        PINPOINT_EMBEDDERS="use",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONIOENCODING="utf-8",
    )
    env.pop("PINPOINT_AUTH", None)
    env.update(extra)
    return env


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def ui_url(index_dir: Path) -> str:
    """The URL of a running UI over ``index_dir`` (started on first use, on a free port)."""
    if os.environ.get("PINPOINT_TEST_UI_URL"):
        return os.environ["PINPOINT_TEST_UI_URL"]
    if "url" in _server:
        return str(_server["url"])
    port = free_port()
    log = open(index_dir.parent / f"ui-server-{port}.log", "w+", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(APP), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=app_env(index_dir), stdout=log, stderr=subprocess.STDOUT,
    )
    atexit.register(_stop, proc)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the UI server exited with {proc.returncode}:\n{log.read()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    _server.update(url=url, proc=proc)
                    return url
        except OSError:
            time.sleep(0.5)
    _stop(proc)
    log.seek(0)
    raise RuntimeError(f"the UI server did not answer within {START_TIMEOUT} s:\n{log.read()[-3000:]}")
