"""Faults: an ingest killed midway, a disk that fills up during ingest, a damaged or read-only Chroma store.

Real parts throughout: `python app.py` subprocesses, the embedded Chroma store, the USE embedder. The full
disk is a real tmpfs and the read-only store a real read-only bind mount where this machine allows mounting
(root; otherwise those tests skip and say why); the full disk also has a portable variant that injects
ENOSPC where the new generation is written. What the user sees for each: docs/bad-input.md, "Faults".
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from answer_support import retrieved_json
from conftest import ROOT, app_command, pinpoint_env, run_app, settings_for

import app
import settings as settings_module
from index import generations
from index.build import ingest
from index.chroma_store import DATABASE
from index.hybrid import IndexMissing
from services.engine import Engine

QUESTION = "受害人能否获得免费法律代理？"  # report:8(j)
ASK = ["ask", QUESTION, "--json"]
CITE = ["cite", "7(c)", "--json"]
REBUILD_ADVICE = "run `python app.py ingest --rebuild`"


# --- helpers -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline(subset_base, integration):
    """What the intact subset index answers (in process): {"ask": {"retrieved": what Engine.retrieve(QUESTION)
    found, as the JSON contract lists it}, "cite": the JSON of Engine.cite("7(c)")}."""
    engine = Engine(settings_for(subset_base[1], subset_base[0], integration))
    return {"ask": {"retrieved": retrieved_json(engine.retrieve(QUESTION))}, "cite": engine.cite("7(c)").to_json()}


def run_all(jobs: list[list[str]], env: dict[str, str]) -> list[subprocess.CompletedProcess]:
    """Run `python app.py JOB` for every job at once; their CompletedProcesses in order."""
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(lambda args: run_app(args, env), jobs))


def expect_exit(run: subprocess.CompletedProcess, code: int) -> subprocess.CompletedProcess:
    assert run.returncode == code, f"exit {run.returncode}\nstdout: {run.stdout[-2000:]}\nstderr: {run.stderr[-3000:]}"
    return run


def expect_error_line(run: subprocess.CompletedProcess | str, code: int | None, *parts: str) -> str:
    """The run failed with exit ``code`` and one line `error: ...` holding ``parts``, and no traceback
    (progress bars may precede it on stderr)."""
    err = run if isinstance(run, str) else expect_exit(run, code).stderr
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err[-3000:]
    for part in parts:
        assert part in errors[0], f"{part!r} not in {errors[0]!r}"
    return errors[0]


def assert_ranks_as_before(retrieved: list[dict], baseline: dict, tolerance: float = 0.02) -> None:
    """The same refs with the same scores, to ``tolerance``: the index's windows were embedded in
    batches, and EmbeddingGemma's int8 graph quantizes a batch's activations with one scale, so a
    window embedded in another batch (another process, a rebuild) moves in the third decimal."""
    got = {r["ref"]: r["score"] for r in retrieved}
    want = {r["ref"]: r["score"] for r in baseline["ask"]["retrieved"]}
    assert got.keys() == want.keys()
    assert all(abs(got[ref] - want[ref]) < tolerance for ref in want), (got, want)


def assert_cli_serves_as_before(ask: subprocess.CompletedProcess, cite: subprocess.CompletedProcess, baseline) -> None:
    assert_ranks_as_before(json.loads(expect_exit(ask, 0).stdout)["retrieved"], baseline)
    assert json.loads(expect_exit(cite, 0).stdout) == baseline["cite"]


def assert_engine_serves_as_before(settings, baseline, tolerance: float = 0.02) -> None:
    engine = Engine(settings)
    assert_ranks_as_before(retrieved_json(engine.retrieve(QUESTION)), baseline, tolerance)
    assert engine.cite("7(c)").to_json() == baseline["cite"]


def generation_names(index_dir: Path) -> set[str]:
    return {p.name for p in index_dir.glob("gen-*")}


def current_name(index_dir: Path) -> str:
    return (index_dir / generations.CURRENT).read_text(encoding="utf-8")


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


@contextmanager
def mounted(target: Path, *commands: list[str]):
    """Run the mount ``commands`` (the last one mounts ``target``) for the block, then unmount ``target``.

    Skips the test where this machine does not allow mounting (not root, or a container without the
    capability). The unmount is lazy: an in-process Chroma client of the test may still hold a file there.
    """
    if os.geteuid() != 0:
        pytest.skip("mounting (tmpfs, read-only bind mount) needs root")
    target.mkdir(parents=True, exist_ok=True)
    done_any = False
    try:
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"this machine does not allow `{' '.join(command)}`: {done.stderr.strip()}")
            done_any = True
        yield target
    finally:
        if done_any:
            subprocess.run(["umount", "-l", str(target)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Take all the free space of ``disk`` but ``leave`` bytes, with a file that really holds its blocks."""
    filler = disk / f"filler-{time.monotonic_ns()}"
    descriptor = os.open(filler, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        os.posix_fallocate(descriptor, 0, shutil.disk_usage(disk).free - leave)
    finally:
        os.close(descriptor)
    return filler


def killed_ingest_leftover(index_dir: Path) -> Path:
    """What an ingest killed just before publishing leaves: a generation folder with everything but meta.json."""
    live = generations.current_generation(index_dir)
    orphan = index_dir / "gen-00000000-000000-0"
    shutil.copytree(live, orphan)
    (orphan / generations.META).unlink()
    return orphan


# --- 1. ingest killed with SIGKILL midway ----------------------------------------------------------------

PROGRESS = re.compile(r"embedding \([a-z0-9]+\):[^\r\n|]*\|[^|]*\|\s*(\d+)/(\d+)")


def wait_until_midway(process: subprocess.Popen, log: Path, index_dir: Path, live: str) -> tuple[Path, int, int]:
    """Poll until the ingest has its new generation folder and has embedded some windows, not yet published.

    Returns (new folder, windows done, windows in all) as last shown by its progress bar.
    """
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the ingest ended (exit {process.returncode}) before it could be killed midway"
        new = [index_dir / name for name in generation_names(index_dir) - {live}]
        shown = PROGRESS.findall(log.read_text(encoding="utf-8", errors="replace"))
        if new and shown and int(shown[-1][0]) > 0:
            assert not (new[0] / generations.META).exists(), "too late: the new generation is complete"
            return new[0], int(shown[-1][0]), int(shown[-1][1])
        time.sleep(0.02)
    raise AssertionError(f"no embedding progress within 180 s:\n{log.read_text(encoding='utf-8')[-2000:]}")


def test_ingest_killed_midway_leaves_the_previous_index_serving_and_the_next_ingest_clears_it(
    subset_copy, baseline, tmp_path
):
    corpus_dir, index_dir = subset_copy
    live = current_name(index_dir)
    # its own embedding cache (the killed process writes into it); small batches: many steps to land in
    env = pinpoint_env(index_dir, corpus_dir, tmp_path / "cache")
    command, process_env = app_command(["ingest", "--rebuild"], {**env, "PINPOINT_EMBED_BATCH": "4"})
    log = tmp_path / "ingest.log"
    with open(log, "w", encoding="utf-8") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env=process_env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        orphan, done, total = wait_until_midway(process, log, index_dir, live)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert 0 < done <= total

    # the half-written generation is there, unpublished; the previous one still serves, answering as before
    assert (orphan / "chroma").is_dir() and not (orphan / generations.META).exists()
    assert current_name(index_dir) == live
    assert_cli_serves_as_before(*run_all([ASK, CITE], env), baseline)

    # the next ingest (the kill released the lock) completes, publishes, and removes the leftover
    run = expect_exit(run_app(["ingest"], env), 0)
    published = re.match(r"index (gen-\S+): ", run.stdout)
    assert published, run.stdout
    assert current_name(index_dir) == published[1] != live
    assert not orphan.exists()
    assert all((index_dir / name / generations.META).exists() for name in generation_names(index_dir))
    assert_engine_serves_as_before(settings_module.get_settings(), baseline)


# --- 2. the disk fills up during ingest ------------------------------------------------------------------

# Free space left, as a share of one generation's size. Each share fails at another step on this machine:
# SQLite says "database or disk is full" (0.05), Chroma loses the cause, "Error in compaction" (0.3),
# Python's own write of the lexicon gets ENOSPC (0.65). The guarantees are the same for all three.
FREE_SHARES = (0.05, 0.3, 0.65)


def test_disk_full_during_ingest_on_a_real_tmpfs(subset_base, baseline, integration, make_env, tmp_path):
    corpus_dir, base_index, _ = subset_base
    size = folder_size(generations.current_generation(base_index))
    disks = [tmp_path / f"disk-{share}" for share in FREE_SHARES]
    with ExitStack() as stack:
        for disk in disks:
            tmpfs_size = f"size={(3 * size) // 1024 + 2048}k"
            stack.enter_context(mounted(disk, ["mount", "-t", "tmpfs", "-o", tmpfs_size, "tmpfs", str(disk)]))
        indexes = [disk / "index" for disk in disks]
        fillers = []
        for disk, index_dir, share in zip(disks, indexes, FREE_SHARES, strict=True):
            shutil.copytree(base_index, index_dir)
            fillers.append(fill(disk, int(share * size)))
        live = current_name(indexes[0])

        with ThreadPoolExecutor(max_workers=len(disks)) as pool:
            runs = list(pool.map(lambda index_dir: run_app(["ingest"], make_env(index_dir, corpus_dir)), indexes))
        for run, index_dir in zip(runs, indexes, strict=True):
            expect_error_line(
                run, app.EXIT_CANNOT_WRITE,
                f"error: ingest failed: cannot write a new index generation in {index_dir}: No space left on device (",
                "nothing was published, the index in use is unchanged",
            )
            assert current_name(index_dir) == live
            assert generation_names(index_dir) == {live}  # the partial generation was removed: its space is back
            assert_engine_serves_as_before(settings_for(index_dir, corpus_dir, integration), baseline)

        # space freed: the next ingest completes and publishes
        fillers[0].unlink()
        run = expect_exit(run_app(["ingest"], make_env(indexes[0], corpus_dir)), 0)
        assert current_name(indexes[0]) != live and run.stdout.startswith(f"index {current_name(indexes[0])}: ")
        assert_engine_serves_as_before(settings_for(indexes[0], corpus_dir, integration), baseline)

        # a killed ingest's leftover holds space the next ingest needs: it is removed before anything is written
        fillers[1].unlink()
        orphan = killed_ingest_leftover(indexes[1])
        fill(disks[1], int(FREE_SHARES[1] * size))
        assert shutil.disk_usage(disks[1]).free < size
        report = ingest(settings_for(indexes[1], corpus_dir, integration), progress=False)
        assert current_name(indexes[1]) == report.generation and not orphan.exists()


def _python_write_fails(mp: pytest.MonkeyPatch) -> None:
    import index.build

    def full(folder, units):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "units.jsonl"))

    mp.setattr(index.build, "save_units", full)


def _chroma_write_fails(mp: pytest.MonkeyPatch) -> None:
    from chromadb.errors import InternalError
    from llama_index.vector_stores.chroma import ChromaVectorStore

    def full(self, nodes, **kwargs):  # the error a real full tmpfs gave
        raise InternalError("Query error: Database error: error returned from database: (code: 13) database or disk is full")

    mp.setattr(ChromaVectorStore, "add", full)


@pytest.mark.parametrize("inject", [_python_write_fails, _chroma_write_fails], ids=["units-jsonl", "chroma-add"])
def test_no_space_left_while_writing_the_generation(subset_copy, baseline, inject, capsys):
    """The portable variant: ENOSPC injected where the new generation is written, through the CLI's main()."""
    _, index_dir = subset_copy
    live = current_name(index_dir)
    with pytest.MonkeyPatch.context() as mp:
        inject(mp)
        code = app.main(["ingest"])
    assert code == app.EXIT_CANNOT_WRITE == 4
    expect_error_line(
        capsys.readouterr().err, None,
        f"error: ingest failed: cannot write a new index generation in {index_dir}: No space left on device (",
        "nothing was published",
    )
    assert current_name(index_dir) == live
    assert generation_names(index_dir) == {live}
    assert_engine_serves_as_before(settings_module.get_settings(), baseline)

    report = ingest(settings_module.get_settings(), progress=False)  # the space is back
    assert current_name(index_dir) == report.generation != live


def test_a_killed_ingests_leftover_is_removed_before_the_next_ingest_writes(subset_copy, monkeypatch):
    _, index_dir = subset_copy
    orphan = killed_ingest_leftover(index_dir)
    seen = []
    real = generations.new_generation

    def spy(index_dir):
        seen.append(orphan.exists())
        return real(index_dir)

    monkeypatch.setattr(generations, "new_generation", spy)
    report = ingest(settings_module.get_settings(), progress=False)
    assert seen == [False]
    assert current_name(index_dir) == report.generation and not orphan.exists()


def test_ingest_into_a_read_only_index_folder_fails_in_one_line(subset_copy, make_env):
    corpus_dir, index_dir = subset_copy
    live = current_name(index_dir)
    with read_only(index_dir):
        run = run_app(["ingest"], make_env(index_dir, corpus_dir))
    expect_error_line(run, app.EXIT_CANNOT_WRITE, "error: ingest failed: ", str(index_dir))
    assert current_name(index_dir) == live and generation_names(index_dir) == {live}


# --- 3. the live generation's Chroma store deleted, corrupted or read-only ---------------------------------


def _delete_store(generation: Path) -> None:
    shutil.rmtree(generation / "chroma")


def _garbage_database(generation: Path) -> None:
    database = generation / "chroma" / DATABASE
    database.write_bytes(os.urandom(database.stat().st_size))


def _overwrite_middle_pages(generation: Path) -> None:
    """Four pages of garbage mid-file: Chroma itself still opens it and fails only when a query reads them."""
    database = generation / "chroma" / DATABASE
    with open(database, "r+b") as handle:
        handle.seek(database.stat().st_size // 2 // 4096 * 4096)
        handle.write(os.urandom(4 * 4096))


# damage -> (how, what the message says, how it is repaired: the advised `ingest --rebuild` or a plain ingest)
DAMAGE = {
    "store-deleted": (_delete_store, f"{DATABASE} is missing", "ingest"),
    "database-garbage": (_garbage_database, f"{DATABASE} is not a readable database (file is not a database)", "cli"),
    "database-pages-overwritten": (_overwrite_middle_pages, f"{DATABASE} is corrupt (", "ingest"),
}


def assert_serve_refuses(capsys, *parts: str) -> None:
    """`python app.py serve` (the web UI and API) does not start on the index: exit 3 and the same error line."""
    import ui.app

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ui.app, "launch", lambda *args, **kwargs: pytest.fail("the UI started on a damaged index"))
        capsys.readouterr()
        assert app.main(["serve"]) == app.EXIT_NO_INDEX
    expect_error_line(capsys.readouterr().err, None, *parts)


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_chroma_store_is_refused_clearly_and_ingest_rebuild_recovers(
    damage, subset_copy, baseline, make_env, capsys
):
    corpus_dir, index_dir = subset_copy
    live = generations.current_generation(index_dir)
    harm, says, repair = DAMAGE[damage]
    harm(live)
    env = make_env(index_dir, corpus_dir)
    expected = (f"error: the index in {live} cannot be read (StoreDamaged: {live / 'chroma'}/", says, REBUILD_ADVICE)
    for run in run_all([ASK, CITE], env):  # cite refuses too: the engine loads the whole index
        expect_error_line(run, app.EXIT_NO_INDEX, *expected)
    with pytest.raises(IndexMissing) as refused:
        Engine(settings_module.get_settings())
    expect_error_line(f"error: {refused.value}", None, *expected)
    assert_serve_refuses(capsys, *expected)
    if damage == "store-deleted":
        assert not (live / "chroma").exists()  # reading never creates an empty store in its place

    if repair == "cli":
        run = expect_exit(run_app(["ingest", "--rebuild"], env), 0)
        assert run.stdout.startswith(f"index {current_name(index_dir)}: ")
    else:  # a plain ingest repairs it too: the damaged store only costs the reuse of its vectors
        report = ingest(settings_module.get_settings(), progress=False)
        assert report.reused == 0 and current_name(index_dir) == report.generation
    assert current_name(index_dir) != live.name
    assert_engine_serves_as_before(settings_module.get_settings(), baseline)


def test_deleted_hnsw_segment_files_are_rebuilt_by_chroma_and_answers_do_not_change(subset_copy, baseline):
    _, index_dir = subset_copy
    live = generations.current_generation(index_dir)
    segments = [p for p in (live / "chroma").iterdir() if p.is_dir()]
    assert segments and all(any(p.iterdir()) for p in segments)
    for segment in segments:
        for file in segment.iterdir():
            file.unlink()
    assert_engine_serves_as_before(settings_module.get_settings(), baseline)
    assert all(any(p.iterdir()) for p in segments)  # Chroma wrote them again from chroma.sqlite3


@contextmanager
def read_only(folder: Path):
    """``folder`` read-only for the block: a read-only bind mount as root (root ignores permission bits),
    chmod -R a-w otherwise."""
    if os.geteuid() == 0:
        with mounted(folder, ["mount", "--bind", str(folder), str(folder)],
                     ["mount", "-o", "remount,ro,bind", str(folder)]):
            yield folder
        return
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for path, mode in modes.items():
        path.chmod(mode & ~0o222)
    try:
        yield folder
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_read_only_chroma_store_is_refused_clearly_and_ingest_rebuild_recovers(
    subset_copy, baseline, make_env, capsys
):
    corpus_dir, index_dir = subset_copy
    live = generations.current_generation(index_dir)
    env = make_env(index_dir, corpus_dir)
    with read_only(live / "chroma"):
        with pytest.raises(OSError):
            (live / "chroma" / "probe").write_text("x")  # really read-only
        # Chroma writes to its store even to read it
        expected = (f"error: the index in {live} cannot be read (", "readonly database", REBUILD_ADVICE)
        for run in run_all([ASK, CITE], env):
            expect_error_line(run, app.EXIT_NO_INDEX, *expected)
        with pytest.raises(IndexMissing) as refused:
            Engine(settings_module.get_settings())
        expect_error_line(f"error: {refused.value}", None, *expected)
        assert_serve_refuses(capsys, *expected)  # a second load in the same process: the same message
        run = expect_exit(run_app(["ingest", "--rebuild"], env), 0)
        assert current_name(index_dir) != live.name and run.stdout.startswith(f"index {current_name(index_dir)}: ")
        assert_engine_serves_as_before(settings_module.get_settings(), baseline)
