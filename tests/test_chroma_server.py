"""The Chroma server path: PINPOINT_CHROMA_URL points ingest and serving at a `chroma run` server.

Ingest writes its collections to the server instead of into the generation folder, a second
ingest reuses the vectors from the server, pruning deletes old generations' collections, and
a stopped server gives a clear error that goes away once the server is back.

The server is a real `chroma run` (offline, from the venv). PINPOINT_TEST_CHROMA_URL names one
that is already running (CI starts one, see .ci/run): every test but the outage test uses it,
never stopping it. Otherwise this module starts its own on a free local port. The outage test
always stops and restarts a server of its own. This module's collections carry a prefix of
their own (PINPOINT_COLLECTION), so a shared server's other collections do not matter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SUBSET_KEYS, copy_corpus, settings_for

from eval.timing import free_port, stop_process

CHROMA = Path(sys.executable).parent / "chroma"
QUESTION = "受害人能否获得免费法律代理？"
EXTERNAL_URL = "PINPOINT_TEST_CHROMA_URL"
PREFIX = f"pinpoint-test-{os.getpid()}-{int(time.time())}"  # this module's collections, on any server


class ChromaServer:
    """One `chroma run` subprocess over a fixed folder and port; stop() and start() again at will."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        import chromadb

        cmd = [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)]
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                chromadb.HttpClient(host="127.0.0.1", port=self.port).heartbeat()
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"chroma run gave no heartbeat in {timeout} s: {self.log.read_text()[-2000:]}"
                    ) from exc
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def client(self):
        from index.chroma_store import make_client

        return make_client(None, self.url)


class ExternalChroma(ChromaServer):
    """A server someone else runs (PINPOINT_TEST_CHROMA_URL): used, never stopped; its folder is unknown."""

    def __init__(self, url: str) -> None:
        self.url, self.path, self.process = url.rstrip("/"), None, None

    def start(self, timeout: float = 0.0) -> None:
        raise RuntimeError("an external Chroma server is not this module's to start")

    stop = start


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A `chroma run` of this module, on a free port: the one the outage test may stop."""
    if not CHROMA.exists():
        pytest.skip(f"the `chroma` executable is missing ({CHROMA}); install chromadb in the venv")
    root = tmp_path_factory.mktemp("chroma-server")
    srv = ChromaServer(root / "data", free_port(), root / "server.log")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def server(request):
    """The server of PINPOINT_TEST_CHROMA_URL when it names one (CI's), else this module's own."""
    url = os.environ.get(EXTERNAL_URL, "").strip()
    if not url:
        return request.getfixturevalue("own_server")
    srv = ExternalChroma(url)
    try:
        srv.client().heartbeat()
    except Exception as exc:
        pytest.fail(f"{EXTERNAL_URL}={url} gives no heartbeat ({type(exc).__name__}: {exc})")
    return srv


def _ingest_subset(srv, cache_dir, root: Path):
    """The subset corpus (report + TIP Protocol) ingested into ``srv``: (corpus_dir, index_dir, report)."""
    from index.build import ingest

    corpus_dir = copy_corpus(root / "corpus", SUBSET_KEYS)
    index_dir = root / "index"
    report = ingest(_settings(index_dir, corpus_dir, cache_dir, srv), progress=False)
    return corpus_dir, index_dir, report


@pytest.fixture(scope="module")
def served(server, integration, tmp_path_factory):
    return _ingest_subset(server, integration, tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="module")
def own_served(own_server, server, served, integration, tmp_path_factory):
    """The subset in this module's own server (the same index as ``served`` when that is the one in use)."""
    if server is own_server:
        return served
    return _ingest_subset(own_server, integration, tmp_path_factory.mktemp("own-served"))


def _settings(index_dir, corpus_dir, cache_dir, server):
    return settings_for(index_dir, corpus_dir, cache_dir, PINPOINT_CHROMA_URL=server.url, PINPOINT_COLLECTION=PREFIX)


def _ours(srv) -> set[str]:
    """The names of this module's collections on the server."""
    return {c.name for c in srv.client().list_collections() if c.name.startswith(PREFIX)}


def _ingest_again(index_dir, corpus_dir, cache_dir, server):
    from index.build import ingest

    return ingest(_settings(index_dir, corpus_dir, cache_dir, server), progress=False)


def test_ingest_writes_collections_to_the_server_not_the_folder(served, server):
    from index import generations

    _, index_dir, report = served
    folder = generations.current_generation(index_dir)
    assert folder is not None and folder.name == report.generation
    meta = generations.read_meta(folder)
    assert meta["chroma_url"] == server.url
    assert set(meta["collections"]) == {"gemma"}
    on_server = _ours(server)
    for name in meta["collections"].values():
        assert 3 <= len(name) <= 512
        assert name in on_server
        assert server.client().get_collection(name, embedding_function=None).count() > 0
    assert not (folder / "chroma").exists(), "a server-backed ingest must not write an embedded store"
    assert report.embedded + report.reused > 0


def test_engine_answers_and_cites_from_the_server(served, integration, server):
    from index.hybrid import LoadedIndex
    from services.engine import Engine

    corpus_dir, index_dir, _ = served
    settings = _settings(index_dir, corpus_dir, integration, server)
    engine = Engine(settings, index=LoadedIndex.load(settings))
    found = engine.retrieve(QUESTION)
    top = found.refs[:3]
    assert "report:8(j)" in top, found.hits[:10]
    record = engine.cite("7(c)").to_json()
    assert record["ref"] == "report:7(c)"
    assert record["labels"]["en"] == "CTOC/COP/WG.4/2017/4, para. 7 (c)"


def test_second_ingest_reuses_every_vector_from_the_server(served, integration, server):
    corpus_dir, index_dir, first = served
    second = _ingest_again(index_dir, corpus_dir, integration, server)
    assert second.generation != first.generation
    assert second.embedded == 0
    assert second.reused == first.embedded + first.reused


def test_pruned_generations_lose_their_collections_on_the_server(served, integration, server):
    from index import generations

    corpus_dir, index_dir, _ = served
    _ingest_again(index_dir, corpus_dir, integration, server)
    folders = sorted(p for p in index_dir.glob("gen-*") if p.is_dir())
    kept = {name for f in folders for name in generations.read_meta(f)["collections"].values()}
    on_server = _ours(server)
    assert len(folders) == generations.KEEP
    assert kept <= on_server
    assert on_server == kept, f"collections of pruned generations left on the server: {on_server - kept}"


def test_stopped_server_gives_a_clear_error_and_restart_recovers(own_served, integration, own_server):
    from index.hybrid import IndexMissing, LoadedIndex
    from services.engine import Engine

    server = own_server
    corpus_dir, index_dir, _ = own_served
    settings = _settings(index_dir, corpus_dir, integration, server)
    server.stop()
    try:
        with pytest.raises(IndexMissing) as info:
            LoadedIndex.load(settings)
        message = str(info.value)
        assert server.url in message and "Chroma server" in message, message
    finally:
        server.start()
    engine = Engine(settings, index=LoadedIndex.load(settings))
    assert "report:8(j)" in engine.retrieve(QUESTION).refs[:3]


def test_server_data_stays_in_its_own_folder(served, server):
    """Nothing of the server's store lands in the index folder (it lives under `chroma run --path`)."""
    _, index_dir, _ = served
    assert not list(index_dir.rglob("chroma.sqlite3"))
    if server.path is not None:  # an external server's folder is its own business
        assert server.path.exists() and any(server.path.iterdir())
