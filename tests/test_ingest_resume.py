"""An ingest killed mid-embedding resumes without embedding again what it had embedded.

A generated corpus (~1k units, real structure, eval.scale.generate) is ingested with USE by
`python app.py ingest` in a subprocess, which is SIGKILLed once some batches are in the
embedding cache. The next ingest must embed only the rest: the model's count in its report
equals the rows it added to the cache (re-embedding a cached text would replace a row, not
add one), and the published index is complete.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import CORPUS, ROOT, pinpoint_env, settings_for

# The resume is the cache's and the ingest's, not the model's: the fast fallback embedder embeds the
# 1,000 generated units in seconds where EmbeddingGemma takes minutes.
RESUME_ENV = {"PINPOINT_EMBEDDERS": "use", "PINPOINT_RENDERING_EMBEDDERS": ""}

UNITS = 1000
KILL_AFTER_ROWS = 128  # four batches of PINPOINT_EMBED_BATCH=32
WAIT_S = 60.0


def cached_rows(cache_dir: Path) -> int:
    """Rows in the embedding cache, read-only (0 before the ingest creates it)."""
    database = cache_dir / "embeddings.sqlite"
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5) as connection:
            return connection.execute("SELECT count(*) FROM vectors").fetchone()[0]
    except sqlite3.OperationalError:  # the table is being created
        return 0


def start_ingest(env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:  # a file, not a pipe: the progress bar must never block the child
        return subprocess.Popen([sys.executable, "app.py", "ingest"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def kill_after_some_batches(proc: subprocess.Popen, cache_dir: Path, log: Path) -> None:
    """SIGKILL the ingest once KILL_AFTER_ROWS vectors are committed; fail if it ends or stalls first."""
    deadline = time.monotonic() + WAIT_S
    while cached_rows(cache_dir) < KILL_AFTER_ROWS:
        assert proc.poll() is None, f"the ingest ended before it was killed:\n{log.read_text(errors='replace')[-2000:]}"
        assert time.monotonic() < deadline, "the ingest embedded nothing within the time allowed"
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def test_killed_ingest_resumes_without_re_embedding(tmp_path, guard_live_index, shared_embedders):
    from eval.scale.generate import generate
    from index import generations
    from index.build import ingest
    from index.chroma_store import make_client
    from index.unit_store import load_units

    corpus = generate(tmp_path / "corpus", UNITS, seed=0, shipped=CORPUS, include_shipped=False)
    index_dir, cache_dir = tmp_path / "index", tmp_path / "cache"
    env = {**os.environ, **pinpoint_env(index_dir, corpus.folder, cache_dir), **RESUME_ENV}
    proc = start_ingest(env, tmp_path / "ingest.log")
    kill_after_some_batches(proc, cache_dir, tmp_path / "ingest.log")
    before = cached_rows(cache_dir)
    assert proc.returncode == -signal.SIGKILL and before >= KILL_AFTER_ROWS
    assert generations.current_generation(index_dir) is None, "a killed ingest must publish nothing"

    report = ingest(settings_for(index_dir, corpus.folder, cache_dir, **RESUME_ENV), progress=False)

    after = cached_rows(cache_dir)
    assert report.computed > 0, "the kill came after all embedding: nothing was left to resume"
    assert report.computed == after - before, "texts embedded before the kill were embedded again"
    assert report.units == UNITS and report.reused == 0
    folder = generations.current_generation(index_dir)
    assert folder is not None and folder.name == report.generation
    assert [p.name for p in index_dir.glob("gen-*")] == [folder.name], "the killed ingest's folder was left behind"
    assert len(load_units(folder)) == UNITS
    meta = generations.read_meta(folder)
    collection = make_client(folder / "chroma").get_collection(meta["collections"]["use"], embedding_function=None)
    assert collection.count() == report.embedded >= UNITS  # every window of every unit, in the store
