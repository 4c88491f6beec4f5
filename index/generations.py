"""Index generations: every ingest writes a new folder and switches to it atomically.

``CURRENT`` names the live generation. A new one becomes live only after it
is complete (``meta.json`` written last, then ``CURRENT`` replaced with
``os.replace``), so an ingest that fails, is killed or fills the disk leaves
the previous index serving. A lock file refuses a second ingest while one
runs, rather than letting two interleave; whoever takes it first removes what a killed
ingest left behind. A write that fails for want of space or write access becomes
``WriteFailed``, naming the folder.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

CURRENT = "CURRENT"
META = "meta.json"
LOCK = "ingest.lock"
KEEP = 2  # the live generation and the one before it


# Failures of a write that are the disk's or the folder's, not the program's.
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


class IngestLocked(RuntimeError):
    """Another ingest holds the lock."""


class WriteFailed(OSError):
    """The new generation could not be written (no space left, read-only folder); nothing was published."""

    def __str__(self) -> str:
        return self.strerror


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.exists():
        return None
    folder = index_dir / pointer.read_text(encoding="utf-8").strip()
    return folder if (folder / META).exists() else None


def read_meta(folder: Path) -> dict:
    return json.loads((folder / META).read_text(encoding="utf-8"))


def new_generation(index_dir: Path) -> Path:
    """A new, empty generation folder; names sort in creation order (``prune`` relies on it).

    Microseconds in the name: two ingests in one second of one process (a failed one and its
    retry) must not share a folder name, or Chroma, which caches a client per path, serves the
    second from the first's deleted store ("attempt to write a readonly database").
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    name = datetime.now().strftime("gen-%Y%m%d-%H%M%S-%f") + f"-{os.getpid()}"
    folder = index_dir / name
    folder.mkdir()
    return folder


@contextmanager
def writing(folder: Path):
    """Guard the writing of the new generation ``folder``.

    A write that fails for want of space or of write access raises WriteFailed naming the
    index folder, after removing the partial generation: it would only hold the space the next
    ingest needs.
    """
    try:
        yield folder
    except Exception as exc:
        code, note = _write_failure(exc, folder)
        if code is None:
            raise
        shutil.rmtree(folder, ignore_errors=True)
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        raise WriteFailed(
            code,
            f"cannot write a new index generation in {folder.parent}: {os.strerror(code)} "
            f"({note}{type(exc).__name__}: {first_line}); nothing was published, the index in use is unchanged",
        ) from exc


def _write_failure(exc: Exception, folder: Path) -> tuple[int | None, str]:
    """(errno, note) when writing ``folder`` failed for want of space or write access, else (None, "").

    SQLite and Chroma report a full disk as a message ("database or disk is full"), and Chroma
    sometimes loses the cause altogether ("Error in compaction: ..."): then the disk itself is
    asked whether it still has room for a generation the size of the live one.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return (exc.errno, "") if exc.errno in WRITE_ERRNOS else (None, "")
    text = str(exc)
    if "disk is full" in text or "No space left on device" in text:
        return errno.ENOSPC, ""
    if "readonly database" in text or "Read-only file system" in text:
        return errno.EROFS, ""
    live = current_generation(folder.parent)
    if live is not None:
        need = sum(f.stat().st_size for f in live.rglob("*") if f.is_file())
        free = shutil.disk_usage(folder.parent).free
        if free < need:
            return errno.ENOSPC, f"{free / 1e6:.1f} MB free, the live generation takes {need / 1e6:.1f} MB; "
    return None, ""


def publish(index_dir: Path, folder: Path, meta: dict) -> None:
    """Write meta last and flip CURRENT atomically."""
    tmp = folder / (META + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / META)
    pointer_tmp = index_dir / (CURRENT + ".tmp")
    pointer_tmp.write_text(folder.name, encoding="utf-8")
    with open(pointer_tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(pointer_tmp, index_dir / CURRENT)


def prune(index_dir: Path) -> list[str]:
    """Remove incomplete generations and all but the newest KEEP complete ones; return their names."""
    live = current_generation(index_dir)
    folders = sorted(p for p in index_dir.glob("gen-*") if p.is_dir())
    complete = [p for p in folders if (p / META).exists()]
    keep = set(complete[-KEEP:]) | ({live} if live else set())
    removed = []
    for folder in folders:
        if folder not in keep:
            _drop_server_collections(folder)
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def _drop_server_collections(folder: Path) -> None:
    """A generation on a Chroma server keeps its collections there, not in its folder: delete them.

    Best effort: an unreachable server leaves them behind (they only cost space), not a failed ingest.
    """
    try:
        meta = read_meta(folder)
    except (OSError, ValueError):
        return  # incomplete generation: no meta, so no URL to reach
    if not meta.get("chroma_url"):
        return  # embedded store: it lives in the folder and goes with it
    from index.chroma_store import make_client

    try:
        client = make_client(None, meta["chroma_url"])
        for name in meta.get("collections", {}).values():
            try:
                client.delete_collection(name)
            except Exception:  # already gone
                pass
    except Exception:
        pass


@contextmanager
def ingest_lock(index_dir: Path):
    index_dir.mkdir(parents=True, exist_ok=True)
    handle = open(index_dir / LOCK, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        handle.close()
        raise IngestLocked(f"another ingest is running on {index_dir}; wait for it to finish") from exc
    try:
        prune(index_dir)  # a killed ingest's half-written folder goes first: it may hold the space this one needs
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
