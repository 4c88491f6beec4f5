"""The served app's API through gradio_client (/ask, /cite), and the binding refusal.

The server is the one tests/ui_support.py starts over the session's temporary index.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from ui_support import APP, ROOT, app_env, free_port, ui_url

ASK_KEYS = {
    "question", "language", "answer", "answerable", "confidence", "citations", "closest", "retrieved",
    "backend", "standalone_question", "notice", "flags",
}  # fmt: skip
CITE_KEYS = {"ref", "text", "labels", "lead_in", "language", "links", "translations"}
CITATION_KEYS = {"ref", "label", "quote"}  # and "lead_in" for a sub-item, "translation" for the other language


@pytest.fixture(scope="module")
def client(request):
    from gradio_client import Client

    url = os.environ.get("PINPOINT_TEST_UI_URL") or ui_url(request.getfixturevalue("session_index")[0])
    return Client(url, verbose=False)


def test_api_lists_ask_and_cite(client):
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/ask", "/cite"} <= set(named)


def test_ask_returns_the_contract(client):
    result = client.predict("受害人能否获得免费法律代理？", api_name="/ask")
    assert set(result) == ASK_KEYS
    assert result["language"] == "zh" and result["answerable"] is True
    assert result["citations"]
    for citation in result["citations"]:
        assert CITATION_KEYS <= set(citation) <= CITATION_KEYS | {"lead_in", "translation"}
        # the report is Chinese, the treaties English: a unit in the other language carries its translation
        assert ("translation" in citation) == (not citation["ref"].startswith("report:")), citation["ref"]
    assert result["citations"][0]["ref"] == "report:8(j)"
    assert result["citations"][0]["lead_in"].startswith("8. ")  # the words that introduce item (j)
    assert "第8段(j)项" in result["answer"]
    assert all(set(r) == {"ref", "score"} for r in result["retrieved"])
    assert result["backend"] == "extractive" and result["notice"] is None and result["closest"] == []


def test_ask_of_the_other_language_carries_the_rendering(client):
    result = client.predict("Where should victims be placed without delay?", api_name="/ask")
    assert set(result) == ASK_KEYS and result["language"] == "en"
    cited = {c["ref"]: c for c in result["citations"]}
    assert "report:7(c)" in cited, list(cited)
    translation = cited["report:7(c)"]["translation"]
    assert set(translation) == {"lang", "text", "official", "source"}
    assert translation["lang"] == "en" and translation["official"] is False
    assert translation["text"].startswith("(c) Place victims without delay")
    assert "Unofficial translation / 非官方译文: " + translation["text"] in result["answer"].split("\n")


def test_cite_reference_phrase_and_unknown(client):
    unit = client.predict("7(c)", api_name="/cite")
    assert set(unit) == CITE_KEYS
    assert unit["ref"] == "report:7(c)"
    assert unit["text"].startswith("(c) 毫不拖延地将受害人安置在安全的收容所")
    assert unit["labels"] == {"en": "CTOC/COP/WG.4/2017/4, para. 7 (c)", "zh": "CTOC/COP/WG.4/2017/4，第7段(c)项"}
    assert unit["language"] == "zh"
    assert [(t["lang"], t["official"]) for t in unit["translations"]] == [("en", False)]
    phrase = client.predict("free legal representation", api_name="/cite")
    assert set(phrase) == {"query", "matches"}
    assert phrase["matches"] and all(set(m) == CITE_KEYS for m in phrase["matches"])
    named = client.predict("paras. 7 (c) and 8 (d)", api_name="/cite")
    assert set(named) == {"query", "labels", "units"}
    assert [u["ref"] for u in named["units"]] == ["report:7(c)", "report:8(d)"]
    unknown = client.predict("7(zz)", api_name="/cite")
    assert "error" in unknown and unknown["suggestions"] and all(":" in s for s in unknown["suggestions"])


@pytest.mark.parametrize(
    ("host", "auth", "needle"),
    [("0.0.0.0", None, "PINPOINT_AUTH"), ("0.0.0.0", "nopassword", "user:password")],
)
def test_public_host_without_auth_is_refused(tmp_path, host, auth, needle):
    extra = {"PINPOINT_AUTH": auth} if auth else {}
    proc = subprocess.run(
        [sys.executable, str(APP), "serve", "--host", host, "--port", str(free_port())],
        cwd=ROOT, env=app_env(tmp_path / "no-index", **extra), capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode != 0
    assert needle in proc.stderr and "refus" in proc.stderr + "refus" and proc.stdout == ""


def test_launch_with_credentials_requires_login():
    """ui.app.launch hands PINPOINT_AUTH's credentials to gradio: the API answers only after login."""
    import gradio as gr
    import httpx

    from ui.app import launch

    def echo(text: str) -> str:
        return text

    with gr.Blocks() as demo:
        gr.api(echo, api_name="echo")
    port = free_port()
    launch(demo, "127.0.0.1", port, ("drafter", "s3cret"), prevent_thread_lock=True, quiet=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/gradio_api/info", timeout=10).status_code == 401
        with httpx.Client(base_url=base, timeout=10) as session:
            assert session.post("/login", data={"username": "drafter", "password": "wrong"}).status_code >= 400
            assert session.post("/login", data={"username": "drafter", "password": "s3cret"}).status_code == 200
            assert session.get("/gradio_api/info").status_code == 200
    finally:
        demo.close()
