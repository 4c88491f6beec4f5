"""`python -m eval.load`: many simultaneous users of the served app's API, measured.

    python -m eval.load [--users 20] [--seconds 60] [--url URL] [--concurrency 1,2,4]

Without --url it serves the live index itself (`python app.py serve` on a free local port, after
`python app.py ingest` if there is no index yet) and waits until the app answers; with
--concurrency it does so once per value (PINPOINT_CONCURRENCY of that server) and compares them.
Each simulated user is one gradio_client Client (one session) in its own thread: it asks (/ask)
a question of eval/sets/questions.jsonl, alternating Chinese and English, then looks up (/cite)
a gold reference of the same set, and again, until the time is up (requests under way then
finish and count). Every answer is checked (an /ask result with retrieved units, a /cite result
for the reference asked); any failure is an error, printed, and the exit code is 1.

It prints and writes eval/reports/load.md and load.json: requests done, errors, latency p50/p95
per endpoint, throughput, and, for a server it started, the server's CPU use (cores busy on
average). The client threads share the machine with the server, and so does anything else
running: read the load average beside the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.bench import machine
from eval.questions import load_set
from eval.report import shown_path
from eval.timing import ProgressLog, ServedApp, serve_app, summarize
from settings import ROOT, apply_offline_defaults, get_settings

QUESTIONS = ROOT / "eval" / "sets" / "questions.jsonl"
REPORTS = ROOT / "eval" / "reports"
ENDPOINTS = ("/ask", "/cite")
START_TIMEOUT = 300.0
log = ProgressLog("load")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.load", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, default=20, help="simultaneous users (threads), default 20")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long they keep asking, default 60")
    parser.add_argument("--url", help="an app already serving (else one is started over the live index)")
    parser.add_argument(
        "--concurrency", help="comma-separated PINPOINT_CONCURRENCY values to compare, one started server each"
    )
    parser.add_argument("--set", type=Path, default=QUESTIONS, help="questions and gold refs (JSONL)")
    parser.add_argument("--name", default="load", help="report name: eval/reports/NAME.{md,json}")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.url and args.concurrency:
        parser.error("--concurrency starts its own servers; it cannot be combined with --url")
    return args


# --- the workload -----------------------------------------------------------------------------------


@dataclass
class Workload:
    """Questions by language and the gold refs to look up."""

    questions: dict[str, list[str]]
    refs: list[str]

    @classmethod
    def from_set(cls, path: Path) -> Workload:
        rows = load_set(path)
        by_lang: dict[str, list[str]] = {"zh": [], "en": []}
        for row in rows:
            by_lang.setdefault(row.get("lang", "en"), []).append(row["question"])
        refs = sorted({ref for row in rows for ref in row.get("gold") or []})
        if not by_lang["zh"] or not by_lang["en"] or not refs:
            raise SystemExit(f"{path} needs Chinese and English questions and gold refs")
        return cls(by_lang, refs)


@dataclass
class Sample:
    endpoint: str
    ms: float
    error: str | None = None


@dataclass
class UserRun:
    samples: list[Sample] = field(default_factory=list)


def check_ask(result: Any) -> str | None:
    if not isinstance(result, dict) or not isinstance(result.get("retrieved"), list) or not result.get("answer"):
        return f"/ask returned no answer: {str(result)[:200]}"
    return None


def check_cite(result: Any, ref: str) -> str | None:
    if not isinstance(result, dict) or result.get("ref") != ref:
        return f"/cite {ref!r} returned {str(result)[:200]}"
    return None


def user(number: int, url: str, work: Workload, start: threading.Barrier, until: list[float], seed: int) -> UserRun:
    """One simulated user: its own Client (session), ask then cite until the deadline."""
    from gradio_client import Client

    run = UserRun()
    rng = random.Random(seed * 1000 + number)
    try:
        client = Client(url, verbose=False)
    except Exception as exc:
        run.samples.append(Sample("connect", 0.0, f"{type(exc).__name__}: {exc}"))
        start.wait()
        return run
    start.wait()
    turn = number
    while time.perf_counter() < until[0]:
        lang = ("zh", "en")[turn % 2]
        turn += 1
        question = rng.choice(work.questions[lang])
        ref = rng.choice(work.refs)
        for endpoint, argument, check in (
            ("/ask", question, check_ask),
            ("/cite", ref, lambda result, ref=ref: check_cite(result, ref)),
        ):
            t0 = time.perf_counter()
            try:
                error = check(client.predict(argument, api_name=endpoint))
            except Exception as exc:
                error = f"{endpoint} {argument!r}: {type(exc).__name__}: {exc}"
            run.samples.append(Sample(endpoint, (time.perf_counter() - t0) * 1000, error))
    client.close()
    return run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(url: str, users: int, seconds: float, work: Workload, seed: int, server_pid: int | None) -> dict[str, Any]:
    """All users against ``url`` for ``seconds``; the measured numbers as a dict."""
    start = threading.Barrier(users + 1)
    until = [float("inf")]
    runs: list[UserRun] = [UserRun() for _ in range(users)]

    def target(i: int) -> None:
        runs[i] = user(i, url, work, start, until, seed)

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    start.wait(timeout=START_TIMEOUT)  # every client connected: the clock starts now
    load_before = os.getloadavg()[0]
    cpu0 = cpu_seconds(server_pid) if server_pid else None
    own0 = cpu_seconds(os.getpid())
    t0 = time.perf_counter()
    until[0] = t0 + seconds
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - t0
    own = cpu_seconds(os.getpid()) - own0
    samples = [s for r in runs for s in r.samples]
    errors = [s.error for s in samples if s.error]
    done = [s for s in samples if not s.error]
    result: dict[str, Any] = {
        "url": url,
        "users": users,
        "seconds": seconds,
        "wall": round(wall, 2),
        "requests": len(done),
        "errors": errors,
        "throughput": round(len(done) / wall, 2),
        "latency_ms": {e: summarize([s.ms for s in done if s.endpoint == e]) for e in ENDPOINTS},
        "loadavg_1m": {"start": round(load_before, 2), "end": round(os.getloadavg()[0], 2)},
        "client_cores_busy": round(own / wall, 2),
    }
    if server_pid:
        result["server_cores_busy"] = round((cpu_seconds(server_pid) - cpu0) / wall, 2)
    return result


# --- one run per server -----------------------------------------------------------------------------


def ensure_index() -> None:
    """Build the live index first if there is none (`python app.py ingest`)."""
    from index.generations import current_generation

    settings = get_settings()
    if current_generation(settings.index_dir) is None:
        log(f"no index in {settings.index_dir}: running `python app.py ingest`")
        subprocess.run([sys.executable, str(ROOT / "app.py"), "ingest"], cwd=ROOT, check=True)


def with_server(concurrency: int | None, run) -> dict[str, Any]:
    """Serve the live index (PINPOINT_CONCURRENCY=concurrency when given), call ``run(app)``, stop it."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    if concurrency is not None:
        env["PINPOINT_CONCURRENCY"] = str(concurrency)
    log_path = Path(tempfile.gettempdir()) / f"pinpoint-load-server-{os.getpid()}.log"
    t0 = time.perf_counter()
    app: ServedApp = serve_app(env, log_path, START_TIMEOUT)
    log(f"server on {app.url} ready in {time.perf_counter() - t0:.1f} s (PINPOINT_CONCURRENCY={concurrency})")
    try:
        return run(app)
    finally:
        app.stop()


def render(results: list[dict[str, Any]], host: dict[str, Any], date: str, question_set: str) -> str:
    lines = [
        "# Load test",
        "",
        f"{date}; {host['nproc']} cores ({host['cpu']}), {host['ram_gib']} GiB, Python {host['python']}. "
        f"{results[0]['users']} users (one gradio_client Client and thread each, on the same machine as the "
        f"server), {results[0]['seconds']:.0f} s each run, asking `/ask` (questions of "
        f"`{question_set}`, Chinese and English in turn) then `/cite` "
        "(a gold reference) in a loop. A shared machine: the load average beside each run is everything "
        "else that ran.",
        "",
        "| server | requests | errors | req/s | /ask p50 | /ask p95 | /cite p50 | /cite p95 | cores busy: server / clients | load avg start / end |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ask, cite = r["latency_ms"]["/ask"], r["latency_ms"]["/cite"]
        lines.append(
            f"| {r['label']} | {r['requests']} | {len(r['errors'])} | {r['throughput']:.1f} | "
            f"{ask['p50']:.0f} ms | {ask['p95']:.0f} ms | {cite['p50']:.0f} ms | {cite['p95']:.0f} ms | "
            f"{r.get('server_cores_busy', 'n/a')} / {r['client_cores_busy']} | {r['loadavg_1m']['start']} / {r['loadavg_1m']['end']} |"
        )
    shared = {k: v for k, v in (results[0].get("settings") or {}).items() if k != "PINPOINT_CONCURRENCY"}
    if shared:
        lines += ["", "Server settings besides `PINPOINT_CONCURRENCY`: " + ", ".join(f"`{k}={v}`" for k, v in shared.items()) + "."]
    for r in results:
        if r["errors"]:
            lines += ["", f"Errors ({r['label']}):", "", *[f"- {e}" for e in r["errors"][:50]]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    apply_offline_defaults()
    host, date = machine(), time.strftime("%Y-%m-%d %H:%M")
    work = Workload.from_set(args.set)
    log(f"{sum(len(q) for q in work.questions.values())} questions, {len(work.refs)} refs; {args.users} users, {args.seconds:.0f} s")

    def measure(url: str, pid: int | None, label: str) -> dict[str, Any]:
        log(f"{label}: {args.users} users for {args.seconds:.0f} s")
        result = run_load(url, args.users, args.seconds, work, args.seed, pid)
        log(f"{label}: {result['requests']} requests, {len(result['errors'])} errors, {result['throughput']} req/s")
        return {"label": label, **result}

    results = []
    if args.url:
        results.append(measure(args.url, None, args.url))
    else:
        ensure_index()
        settings = get_settings()
        values = [int(v) for v in args.concurrency.split(",")] if args.concurrency else [settings.concurrency]
        for value in values:
            result = with_server(value, lambda app, value=value: measure(app.url, app.process.pid, f"concurrency {value}"))
            result["settings"] = {
                "PINPOINT_CONCURRENCY": value,
                "PINPOINT_MAX_THREADS": settings.max_threads,
                "PINPOINT_THREADS": settings.threads,
                "PINPOINT_EMBEDDERS": ",".join(settings.embedders),
            }
            results.append(result)
    report = render(results, host, date, shown_path(args.set))
    print(report)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{args.name}.md").write_text(report, encoding="utf-8")
    payload = {"date": date, "machine": host, "set": shown_path(args.set), "runs": results}
    (REPORTS / f"{args.name}.json").write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    errors = [e for r in results for e in r["errors"]]
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
