"""A running server serves the generation a later ingest publishes, without a restart (ui/live.py).

Real parts: the subset corpus ingested with USE into a temporary index, a document added to it
and ingested again, the engine and answerer reloaded in process, and a served app (`python app.py
serve`) that starts answering about the new document over its API.
"""

from __future__ import annotations

import gc
import json
import shutil
import time

import pytest
from conftest import SUBSET_KEYS, copy_corpus, run_app
from ui_support import app_env

from index import generations
from index.build import ingest
from services.answer import Answerer
from services.cite import UnknownReference
from services.engine import Engine
from settings import get_settings
from ui.live import LiveServices

NEW_REF = "som-protocol:6(3)"  # in the document the second ingest adds


def _add_smuggling_protocol(corpus_dir) -> None:
    copy_corpus(corpus_dir, (*SUBSET_KEYS, "som-protocol"))


def test_refresh_serves_a_new_generation_and_keeps_the_old_snapshot_whole(subset_copy):
    corpus_dir, _ = subset_copy
    settings = get_settings()
    engine = Engine(settings)
    live = LiveServices(engine, Answerer(engine, settings), settings)
    assert live.refresh() is False  # nothing new published
    old = live.current

    _add_smuggling_protocol(corpus_dir)
    ingest(settings, progress=False)
    assert live.refresh() is True
    new = live.current
    assert new.engine.index.folder == generations.current_generation(settings.index_dir) != old.engine.index.folder

    # the new generation answers about the new document, through engine, answerer and browser
    assert new.engine.cite(NEW_REF).ref == NEW_REF
    answer = new.answerer.answer("What aggravating circumstances does the Smuggling of Migrants Protocol list?")
    assert any(c.ref.startswith("som-protocol:6") for c in answer.citations)
    assert "som-protocol" in {key for _, key in new.browser.doc_choices("en")}
    # a request that took the old snapshot still sees one whole generation
    assert NEW_REF not in old.engine.index.by_ref
    with pytest.raises(UnknownReference):  # a raw ref of a document that generation does not have
        old.engine.cite(NEW_REF)
    assert old.engine.cite("7(c)").ref == "report:7(c)"
    # one copy of each model and one encode pool per process
    assert new.engine.index.dense["gemma"][0] is old.engine.index.dense["gemma"][0]
    assert new.engine.index.encoders is old.engine.index.encoders
    assert new.answerer.engine is new.engine and old.answerer.engine is old.engine
    assert live.refresh() is False

    # once no request holds the old generation, its Chroma store is closed (its vectors leave memory)
    from chromadb.api.shared_system_client import SharedSystemClient

    old_store = str(old.engine.index.folder / "chroma")
    assert old_store in SharedSystemClient._identifier_to_system
    del old, engine
    gc.collect()
    assert old_store not in SharedSystemClient._identifier_to_system
    assert new.engine.cite("7(c)").ref == "report:7(c)"


def test_a_generation_that_fails_to_load_leaves_the_old_one_serving(subset_copy):
    _, index_dir = subset_copy
    settings = get_settings()
    engine = Engine(settings)
    live = LiveServices(engine, Answerer(engine, settings), settings)
    served = live.current
    broken = generations.new_generation(index_dir)  # complete-looking, but its Chroma store is missing
    shutil.copy(served.engine.index.folder / generations.META, broken / generations.META)
    (index_dir / generations.CURRENT).write_text(broken.name, encoding="utf-8")

    assert live.refresh() is False
    assert live.current is served
    assert live.current.engine.cite("7(c)").ref == "report:7(c)"
    assert live.refresh() is False  # not retried on every tick


def test_watch_is_off_when_reload_seconds_is_zero(subset_copy, monkeypatch):
    monkeypatch.setenv("PINPOINT_RELOAD_SECONDS", "0")
    settings = get_settings()
    engine = Engine(settings)
    assert LiveServices(engine, Answerer(engine, settings), settings).watch() is None


def test_served_app_answers_about_a_document_ingested_while_it_runs(subset_copy, make_env, tmp_path):
    from gradio_client import Client

    from eval.timing import serve_app

    corpus_dir, index_dir = subset_copy
    env = make_env(index_dir, corpus_dir)
    app = serve_app(app_env(index_dir, **env, PINPOINT_RELOAD_SECONDS="1"), tmp_path / "serve.log")
    try:
        client = Client(app.url, verbose=False)
        assert client.predict(NEW_REF, api_name="/cite").get("ref") != NEW_REF  # not in the served index yet

        _add_smuggling_protocol(corpus_dir)
        done = run_app(["ingest"], env)
        assert done.returncode == 0, done.stderr

        deadline = time.monotonic() + 60
        result = client.predict(NEW_REF, api_name="/cite")
        while result.get("ref") != NEW_REF and time.monotonic() < deadline:
            time.sleep(0.5)
            result = client.predict(NEW_REF, api_name="/cite")
        assert result.get("ref") == NEW_REF, json.dumps(result, ensure_ascii=False)[:300] + app.log_tail()
        assert "now serving index generation" in app.log_tail()
        asked = client.predict("What does the Smuggling of Migrants Protocol say about aggravating circumstances?", api_name="/ask")
        assert any(c["ref"].startswith("som-protocol:") for c in asked["citations"])
        client.close()
    finally:
        app.stop()
