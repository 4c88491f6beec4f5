"""Small timing helpers for ``eval.bench`` and ``eval.load``: latency summaries, timed child processes,
ingest in a child, and a served app in a child (``serve_app``, also the UI tests' server).

Why a separate module: the ingest measurement runs in a spawned child process
(so the benchmark's own peak RSS is that of a serving process, not of an
ingest), and a spawned child can only import its target from a real module,
not from ``__main__``.
"""

from __future__ import annotations

import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class ChildRun:
    """One child process: wall time from spawn to exit, its own peak RSS, exit code and output."""

    seconds: float
    rss_mb: float
    returncode: int
    stdout: str
    stderr: str


class ProgressLog:
    """Progress lines of a long script on stderr (its stdout carries the report), stamped with the
    seconds since the script started; ``elapsed()`` is the run's wall time so far."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def __call__(self, message: str) -> None:
        print(f"[{self.name} {self.elapsed():7.1f} s] {message}", file=sys.stderr, flush=True)


def summarize(samples_ms: list[float]) -> dict[str, float]:
    """p50, p95 and mean of latencies in ms; p95 interpolates, so it is meaningful for n >= 2."""
    if not samples_ms:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "mean": float("nan")}
    p95 = statistics.quantiles(samples_ms, n=100, method="inclusive")[94] if len(samples_ms) > 1 else samples_ms[0]
    return {"n": len(samples_ms), "p50": statistics.median(samples_ms), "p95": p95, "mean": statistics.fmean(samples_ms)}


def time_ms(fn: Callable[[str], Any], items: Iterable[str]) -> list[float]:
    """Call ``fn`` on each item and return each call's wall time in ms (perf_counter)."""
    out = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def rss_mb() -> float:
    """Peak RSS of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(cmd: list[str], cwd: Path) -> ChildRun:
    """Run ``cmd`` and time it from spawn to exit; ``wait4`` gives this child's own peak RSS.

    Output goes to temporary files rather than pipes so a large answer can never
    block the child on a full pipe while we wait for it.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildRun(seconds, usage.ru_maxrss / 1024, proc.returncode,
                        out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def ingest_twice() -> dict[str, Any]:
    """In a fresh process: ingest from nothing, then again on the unchanged corpus.

    Uses PINPOINT_INDEX_DIR from the environment the parent set. Returns both
    IngestReports as dicts with the wall time around each call, and the
    child's peak RSS (the memory an ingest needs).
    """
    from dataclasses import asdict

    from settings import apply_offline_defaults, get_settings

    apply_offline_defaults()  # before llama-index / chromadb / tiktoken are imported
    from index.build import ingest

    settings = get_settings()
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        report = ingest(settings, rebuild=False, progress=False)
        runs.append({**asdict(report), "wall": time.perf_counter() - t0})
    return {"first": runs[0], "second": runs[1], "rss_mb": rss_mb()}


APP = Path(__file__).resolve().parent.parent / "app.py"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """Terminate a child server (app, Chroma) and wait for it; kill it if it does not stop in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@dataclass
class ServedApp:
    """A `python app.py serve` child process and its URL; ``stop()`` ends it (and only it)."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        stop_process(self.process)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:] if self.log.exists() else ""


def serve_app(env: dict[str, str], log: Path, timeout: float = 120.0) -> ServedApp:
    """Start `python app.py serve` on a free local port with ``env`` and return once its API answers.

    Output goes to ``log``. Raises RuntimeError (with the log's tail) when the server exits or does
    not answer within ``timeout`` seconds; the child is stopped then.
    """
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(APP), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=APP.parent, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    app = ServedApp(f"http://127.0.0.1:{port}/", proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app server exited with {proc.returncode}:\n{app.log_tail()}")
        try:
            with urllib.request.urlopen(app.url + "gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    return app
        except OSError:
            time.sleep(0.1)  # the cold-start figure is this loop's, so poll finely
    app.stop()
    raise RuntimeError(f"the app server did not answer within {timeout:.0f} s:\n{app.log_tail()}")
