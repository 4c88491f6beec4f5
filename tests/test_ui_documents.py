"""The Documents tab in headless Chromium, gradio's upload route over raw HTTP, what the server logs for
an empty question, and URLs typed in a question (shown as typed, never as links).

The served app (``python app.py serve``) runs over a COPY of the report + TIP Protocol corpus and its
own index in pytest's temporary folders (real parsing, real USE embeddings, real ingests), never
data/corpus. PINPOINT_RELOAD_SECONDS=0: the server never looks for a new index generation by itself,
so a question answered from an added document shows that the tab loaded it. GRADIO_TEMP_DIR is a
temporary folder too, where the tests look for what gradio kept of an upload. A second server, over
the session's index, requires a login (PINPOINT_AUTH) for the upload route's refusals before it.
Screenshots go to tests/output/.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from conftest import SUBSET_KEYS, copy_corpus, pinpoint_env, settings_for
from ui_support import APP, ROOT, START_TIMEOUT, app_env, free_port

from eval.timing import ServedApp, serve_app

OUTPUT = Path(__file__).resolve().parent / "output"
INGEST_MS = 240_000  # an add or a remove ingests the corpus again (only the new document is embedded)
CAP = 200_000  # PINPOINT_MAX_UPLOAD_BYTES of the served apps: small, so over-cap bodies stay small
REPORT = Path(__file__).resolve().parent / "fixtures" / "egm_report_en.txt"
KEY = "egm-tip-2019-1"
ASKED = "Where can victims obtain legal advice within forty-eight hours?"
CITED = f"{KEY}:3(b)"  # (b) Establish mobile legal clinics ... legal advice within forty-eight hours
TITLE_ZH = "关于贩运人口受害人法律援助的专家组会议报告"
USER, PASSWORD = "drafter", "s3cret-pass"


@dataclass
class DocsApp:
    app: ServedApp
    corpus: Path
    uploads: Path  # the server's GRADIO_TEMP_DIR

    @property
    def url(self) -> str:
        return self.app.url


@pytest.fixture(scope="module")
def docs_app(tmp_path_factory, integration):
    from index.build import ingest

    root = tmp_path_factory.mktemp("docs-ui")
    corpus = copy_corpus(root / "corpus", SUBSET_KEYS)
    index = root / "index"
    ingest(settings_for(index, corpus, integration), progress=False)
    uploads = root / "gradio"
    env = app_env(
        index, **pinpoint_env(index, corpus, integration), GRADIO_TEMP_DIR=str(uploads),
        PINPOINT_RELOAD_SECONDS="0", PINPOINT_MAX_UPLOAD_BYTES=str(CAP),
    )
    app = serve_app(env, root / "server.log", START_TIMEOUT)
    yield DocsApp(app, corpus, uploads)
    app.stop()


def _holding(folder: Path, marker: bytes) -> list[Path]:
    """The files under ``folder`` whose bytes contain ``marker``."""
    return [p for p in folder.rglob("*") if p.is_file() and marker in p.read_bytes()] if folder.exists() else []


# --- the tab in a browser -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def shared():
    """tests/test_ui_browser.py's Chromium settings and page helpers; importing it skips the browser
    tests when playwright or Chromium is missing."""
    return importlib.import_module("test_ui_browser")


@pytest.fixture(scope="module")
def browser(shared):
    shared.OUTPUT.mkdir(exist_ok=True)
    with shared.sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=shared.CHROMIUM, args=shared.ARGS)
        yield chromium
        chromium.close()


def open_documents(shared, browser, url: str, locale: str, tab: str):
    context, page = shared.open_page(browser, url, locale)
    page.get_by_role("tab", name=tab).click()
    page.wait_for_selector("#pp-docs-list .pp-documents")
    return context, page


def field(page, elem_id: str):
    return page.locator(f"#{elem_id}").locator("textarea, input").first


def listed_keys(page) -> list[str]:
    return page.eval_on_selector_all("#pp-docs-list tr[data-key]", "rows => rows.map(r => r.dataset.key)")


def test_upload_preview_add_ask_then_remove(shared, browser, docs_app):
    context, page = open_documents(shared, browser, docs_app.url, "en-US", "Documents")
    try:
        assert KEY not in listed_keys(page) and set(SUBSET_KEYS) <= set(listed_keys(page))
        page.locator("#pp-docs-upload input[type=file]").set_input_files(str(REPORT))
        page.wait_for_selector("#pp-docs-preview .pp-first-units")
        preview = page.locator("#pp-docs-preview").inner_text()
        assert "14 units" in preview and "numbered paragraphs" in preview
        assert page.locator(f'#pp-docs-preview tr[data-ref="{KEY}:3(a)"]').count() == 1
        assert "(a) Provide victims of trafficking with free legal counsel" in preview  # its opening words
        assert "no Chinese title given" in preview  # the detection's guess, said
        assert field(page, "pp-docs-key").input_value() == KEY
        assert field(page, "pp-docs-symbol").input_value() == "EGM/TIP/2019/1"
        assert not _holding(docs_app.uploads, REPORT.read_bytes()[:200])  # gradio's copy was deleted once read
        assert not (docs_app.corpus / REPORT.name).exists()  # a preview writes nothing
        page.screenshot(path=str(OUTPUT / "documents-preview.png"), full_page=True)

        field(page, "pp-docs-title-zh").fill(TITLE_ZH)  # a value of the form overrides the detected one
        page.locator("#pp-docs-add").click()
        page.wait_for_selector("#pp-docs-outcome .progress-text, #pp-docs-outcome .eta-bar", timeout=INGEST_MS)
        page.screenshot(path=str(OUTPUT / "documents-adding.png"), full_page=True)
        page.wait_for_selector("#pp-docs-outcome .pp-outcome", timeout=INGEST_MS)
        outcome = page.locator("#pp-docs-outcome").inner_text()
        assert f"Added {KEY}" in outcome and "14 units" in outcome and "served now" in outcome, outcome
        assert "no Chinese title given" not in outcome
        page.wait_for_selector(f'#pp-docs-list tr[data-key="{KEY}"]')
        row = page.locator(f'#pp-docs-list tr[data-key="{KEY}"]').inner_text()
        assert "EGM/TIP/2019/1" in row and "English" in row and "report" in row and "14" in row
        assert (docs_app.corpus / REPORT.name).read_bytes() == REPORT.read_bytes()
        assert TITLE_ZH in (docs_app.corpus / "documents.toml").read_text(encoding="utf-8")
        assert page.locator("#pp-docs-add").is_disabled()  # the upload is used up
        page.screenshot(path=str(OUTPUT / "documents-added.png"), full_page=True)

        page.get_by_role("tab", name="Chat").click()  # asked at once: the server has not restarted
        page.locator("#pp-question textarea").fill(ASKED)
        page.locator("#pp-send").click()
        page.wait_for_selector(f'#pp-citations .pp-cite[data-ref="{CITED}"]')
        assert "EGM/TIP/2019/1, para. 3 (b)" in page.locator("#pp-chatbot").inner_text()
        page.wait_for_selector(f'#pp-sources .pp-card.pp-selected[data-unit="{CITED}"]')
        shared.shoot(page, "documents-chat.png")

        page.get_by_role("tab", name="Documents").click()
        page.locator("#pp-docs-pick input").click()
        page.locator("#pp-docs-pick [role=option]", has_text=KEY).click()
        page.locator("#pp-docs-remove").click()
        page.wait_for_selector("#pp-docs-confirm-text .pp-notice")
        assert f"Remove {KEY} (EGM/TIP/2019/1)?" in page.locator("#pp-docs-confirm-text").inner_text()
        assert (docs_app.corpus / REPORT.name).exists()  # nothing happens before the confirmation
        page.screenshot(path=str(OUTPUT / "documents-remove-confirm.png"), full_page=True)
        page.locator("#pp-docs-confirm-yes").click()
        page.wait_for_selector("#pp-docs-outcome .pp-outcome:has-text('Removed')", timeout=INGEST_MS)
        assert "served now" in page.locator("#pp-docs-outcome").inner_text()
        assert KEY not in listed_keys(page) and set(SUBSET_KEYS) <= set(listed_keys(page))
        assert page.locator("#pp-docs-confirm").count() == 0 or not page.locator("#pp-docs-confirm").is_visible()
        assert not (docs_app.corpus / REPORT.name).exists()
        page.screenshot(path=str(OUTPUT / "documents-removed.png"), full_page=True)

        page.get_by_role("tab", name="Lookup (drafting)").click()
        field(page, "pp-lookup-query").fill(CITED)
        page.locator("#pp-lookup-button").click()
        page.wait_for_selector("#pp-lookup-result .pp-error")
        assert "There is no unit" in page.locator("#pp-lookup-result").inner_text()
        page.screenshot(path=str(OUTPUT / "documents-lookup-gone.png"), full_page=True)
    finally:
        context.close()


def test_chinese_interface_shows_a_numbering_gap_by_line(shared, browser, docs_app, tmp_path):
    gap = tmp_path / "egm_gap_en.txt"  # paragraph 4 numbered 6: the parser refuses the skip
    gap.write_text(REPORT.read_text(encoding="utf-8").replace("\n4. The experts further", "\n6. The experts further"),
                   encoding="utf-8")
    context, page = open_documents(shared, browser, docs_app.url, "zh-CN", "文件")
    try:
        assert page.locator("#pp-docs-add").inner_text().strip() == "添加到文件库"
        assert "文件库中的文件" in page.locator("body").inner_text()
        page.locator("#pp-docs-upload input[type=file]").set_input_files(str(gap))
        page.wait_for_selector("#pp-docs-preview .pp-error")
        problem = page.locator("#pp-docs-preview .pp-error").inner_text()
        assert "请修改后重新上传" in problem and "line 17" in problem and "expected 4, found 6" in problem
        assert page.locator("#pp-docs-add").is_disabled()
        page.screenshot(path=str(OUTPUT / "documents-problem-zh.png"), full_page=True)
        page.locator("#pp-lang").get_by_text("English").click()  # the preview follows the interface language
        page.wait_for_function("() => document.querySelector('#pp-docs-add').innerText.trim() === 'Add to the corpus'")
        assert "fix the file and upload it again" in page.locator("#pp-docs-preview").inner_text()
    finally:
        context.close()
    assert not (docs_app.corpus / gap.name).exists()


# --- gradio's upload route ----------------------------------------------------------------------

def post_upload(url: str, data: bytes, name: str = "probe.txt", **kwargs) -> httpx.Response:
    return httpx.post(f"{url.rstrip('/')}/gradio_api/upload", files={"files": (name, data, "text/plain")},
                      timeout=30, **kwargs)


def test_upload_route_without_login_takes_only_same_site_uploads_under_the_cap(docs_app):
    own = docs_app.url.rstrip("/")
    marker = b"pinpoint-upload-probe-" + str(time.time_ns()).encode()
    accepted = post_upload(own, marker + b" same site", headers={"Origin": own})
    assert accepted.status_code == 200, accepted.text  # loopback without a login: like the page itself
    no_origin = post_upload(own, marker + b" a client")
    assert no_origin.status_code == 200, no_origin.text
    kept = len(_holding(docs_app.uploads, marker))
    assert kept == 2

    cross = post_upload(own, marker + b" cross site", headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "another site" in cross.text
    too_long = post_upload(own, marker + b"x" * (CAP + 100_000))  # the body, refused before it is read
    assert too_long.status_code == 413 and "over the limit" in too_long.text
    over_cap = post_upload(own, marker + b"y" * (CAP + 1000))  # within the body room, over gradio's max_file_size
    assert over_cap.status_code == 413 and "maximum allowed size" in over_cap.text

    def chunked():
        yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.txt\"\r\n\r\n" + marker
        yield b"\r\n--b--\r\n"

    unstated = httpx.post(f"{own}/gradio_api/upload", content=chunked(), timeout=30,
                          headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert unstated.status_code == 411
    assert len(_holding(docs_app.uploads, marker)) == kept  # nothing refused was kept


@pytest.fixture(scope="module")
def login_app(session_index, tmp_path_factory):
    """`python app.py serve` on 127.0.0.1 with PINPOINT_AUTH, over the session's index (read only)."""
    root = tmp_path_factory.mktemp("login-ui")
    uploads = root / "gradio"
    env = app_env(session_index[0], PINPOINT_AUTH=f"{USER}:{PASSWORD}", GRADIO_TEMP_DIR=str(uploads),
                  PINPOINT_MAX_UPLOAD_BYTES=str(CAP))
    port = free_port()
    log = root / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(APP), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    app = ServedApp(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + START_TIMEOUT
    while True:  # serve_app waits for a 200, which a login-only server never gives before the login
        assert process.poll() is None, app.log_tail()
        try:
            if httpx.get(f"{app.url}/gradio_api/info", timeout=2).status_code == 401:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, app.log_tail()
        time.sleep(0.2)
    yield app, uploads
    app.stop()


def test_upload_route_with_login_takes_nothing_before_it(login_app):
    app, uploads = login_app
    marker = b"pinpoint-login-probe-" + str(time.time_ns()).encode()
    anonymous = post_upload(app.url, marker + b" anonymous", headers={"Origin": app.url})
    assert anonymous.status_code == 401, anonymous.text
    assert post_upload(app.url, marker + b" anonymous client").status_code == 401
    assert httpx.post(f"{app.url}/gradio_api/queue/join", json={}, timeout=10).status_code == 401  # no event either
    assert not _holding(uploads, marker)

    with httpx.Client(base_url=app.url, timeout=30) as session:
        assert session.post("/login", data={"username": USER, "password": "wrong"}).status_code >= 400
        assert session.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
        files = {"files": ("probe.txt", marker + b" logged in", "text/plain")}
        logged_in = session.post("/gradio_api/upload", files=files, headers={"Origin": app.url})
        assert logged_in.status_code == 200, logged_in.text
        cross = session.post("/gradio_api/upload", files=files, headers={"Origin": "https://evil.example"})
        assert cross.status_code == 403  # the login cookie does not make a cross-site upload
        big = {"files": ("big.txt", marker + b"x" * (CAP + 1000), "text/plain")}
        assert session.post("/gradio_api/upload", files=big).status_code == 413
    assert len(_holding(uploads, marker)) == 1


# --- the server's log -----------------------------------------------------------------------------

def test_an_empty_question_is_a_user_error_without_a_traceback(docs_app):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    before = len(docs_app.app.log.read_text(encoding="utf-8", errors="replace"))
    client = Client(docs_app.url, verbose=False)
    try:
        for question in ("", "   ", "\u200b\u200b"):
            with pytest.raises(AppError, match="empty"):
                client.predict(question, api_name="/ask")
        with pytest.raises(AppError, match="empty"):
            client.predict("", api_name="/cite")
        client.predict("", api_name="/chat")  # the page says so in a toast; nothing is asked
        chatbot, *_ = client.predict("\u200b", api_name="/chat")  # cleaned to nothing: the error in the chat
        assert "empty" in str(chatbot[-1]["content"])
    finally:
        client.close()
    time.sleep(0.5)  # let the server's output reach its log
    logged = docs_app.app.log.read_text(encoding="utf-8", errors="replace")[before:]
    assert "Traceback" not in logged and "QuestionError" not in logged, logged


# --- URLs in a question -------------------------------------------------------------------------

def test_chat_text_keeps_urls_and_addresses_from_becoming_links():
    from html import unescape

    from ui.render import chat_text

    typed = "see https://x.org/a_b, WWW.example.org and info_desk@example.org"
    out = chat_text(typed)
    assert "://" not in out and "www." not in out.lower() and "@" not in out  # nothing GFM autolinks from
    assert "https&#58;//x.org/a\\_b" in out and "WWW&#46;example.org" in out and "info\\_desk&#64;example.org" in out
    assert unescape(out).replace("\\", "") == typed


def test_urls_in_a_question_are_shown_as_typed_not_as_broken_links(shared, browser, docs_app):
    """chat_text escapes Markdown ("_" -> "\\_"); the Chatbot's GFM autolinks kept that backslash inside
    the link and on screen. The question is shown exactly as typed, with no link."""
    typed = ("Does https://www.unodc.org/unodc/en/human_trafficking/index.html (or www.example.org/a_b?x=1&y=2, "
             "mail info_desk@example.org) say where victims of trafficking should be housed?")
    context, page = shared.open_page(browser, docs_app.url, "en-US")
    try:
        page.locator("#pp-question textarea").fill(typed)
        page.locator("#pp-send").click()
        page.wait_for_selector("#pp-citations .pp-answer-copy")  # the answer is in
        page.wait_for_function("(typed) => document.querySelector('#pp-chatbot').innerText.includes(typed)", arg=typed)
        assert page.locator("#pp-chatbot a").count() == 0
        assert "\\_" not in page.locator("#pp-chatbot").inner_text()
        shared.shoot(page, "chat-urls.png")
    finally:
        context.close()


# --- pieces without a server --------------------------------------------------------------------

def test_upload_guard_refusals():
    from ui.binding import MULTIPART_ROOM, UploadGuard

    guard = UploadGuard(None, limit=1000)
    own = {"host": "127.0.0.1:7860", "content-length": "900"}
    assert guard.refusal(own) is None
    assert guard.refusal({**own, "origin": "http://127.0.0.1:7860"}) is None
    assert guard.refusal({**own, "origin": "https://app.example", "x-forwarded-host": "app.example"}) is None
    assert guard.refusal({**own, "origin": "http://evil.example"})[0] == 403
    assert guard.refusal({**own, "origin": "null"})[0] == 403  # a sandboxed frame or a local file
    assert guard.refusal({"host": "127.0.0.1:7860"})[0] == 411
    assert guard.refusal({**own, "content-length": str(1000 + MULTIPART_ROOM + 1)})[0] == 413


def test_document_form_overrides_only_what_was_changed():
    from ui.documents import overrides, size_text

    detected = {"key": "egm-1", "symbol": "EGM/1", "language": "en", "kind": "report", "title_en": "T", "title_zh": "T"}
    stated = overrides(detected, ("egm-1", " EGM/2 ", "en", "report", "", "标题"))
    assert (stated.key, stated.symbol, stated.title_en, stated.title_zh) == (None, "EGM/2", None, "标题")
    assert size_text(5_000_000) == "5 MB" and size_text(200_000) == "200 kB" and size_text(900) == "900 bytes"
