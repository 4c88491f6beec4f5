"""Index generations: every ingest writes a new folder and switches to it atomically.

``CURRENT`` names the live generation. A new one becomes live only after it
is complete (``meta.json`` written last, then ``CURRENT`` replaced with
``os.replace``), so an ingest that fails, is killed or fills the disk leaves
the previous index serving. A lock file refuses a second ingest while one
runs, rather than letting two interleave.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

CURRENT = "CURRENT"
META = "meta.json"
LOCK = "ingest.lock"
KEEP = 2  # the live generation and the one before it


class IngestLocked(RuntimeError):
    """Another ingest holds the lock."""


def current_generation(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    if not pointer.exists():
        return None
    folder = index_dir / pointer.read_text(encoding="utf-8").strip()
    return folder if (folder / META).exists() else None


def read_meta(folder: Path) -> dict:
    return json.loads((folder / META).read_text(encoding="utf-8"))


def new_generation(index_dir: Path) -> Path:
    index_dir.mkdir(parents=True, exist_ok=True)
    name = time.strftime("gen-%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    folder = index_dir / name
    folder.mkdir()
    return folder


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
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
