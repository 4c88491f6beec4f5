"""The web UI in a real browser: headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

One served app (tests/ui_support.py, over the session's temporary index); a Chinese-locale and an
English-locale browser context, i.e. two independent sessions. Screenshots go to tests/output/.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from ui_support import ui_url

CHROMIUM = "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parent / "output"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 60_000

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
    pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def url(request):
    if os.environ.get("PINPOINT_TEST_UI_URL"):
        return os.environ["PINPOINT_TEST_UI_URL"]
    return ui_url(request.getfixturevalue("session_index")[0])


@pytest.fixture(scope="module")
def browser():
    OUTPUT.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


def open_page(browser, url: str, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.wait_for_selector("#pp-chatbot")
    page.wait_for_function("() => document.body.dataset.ppReady === '1'")  # labels set for this browser
    return context, page


def shoot(page, name: str) -> None:
    """A full-page screenshot with the conversation scrolled to its start (the question and the answer's lead)."""
    page.wait_for_timeout(800)  # let the chatbot finish its own scrolling to the latest message
    page.evaluate(
        "() => document.querySelectorAll('#pp-chatbot, #pp-chatbot *').forEach(e => {"
        " if (e.scrollHeight > e.clientHeight + 4) { e.scrollTop = 0; } })"
    )
    page.wait_for_timeout(300)
    page.screenshot(path=str(OUTPUT / name), full_page=True)


def test_chinese_question_cites_8j_and_shows_it_in_sources(browser, url):
    context, page = open_page(browser, url, "zh-CN")
    try:
        assert page.locator("#pp-send").inner_text().strip() == "提问"  # interface follows the browser language
        page.locator("#pp-question textarea").fill("受害人能否获得免费法律代理？")
        page.locator("#pp-send").click()
        page.wait_for_selector('#pp-citations .pp-cite[data-ref="report:8(j)"]')
        chat = page.locator("#pp-chatbot").inner_text()
        assert "受害人能否获得免费法律代理？" in chat
        assert "第8段(j)项" in chat  # the label is in the answer itself
        sources = page.locator("#pp-sources")
        selected = sources.locator('.pp-card.pp-selected[data-unit="report:8(j)"]')
        assert selected.count() == 1
        card = selected.inner_text()
        assert "CTOC/COP/WG.4/2017/4，第8段(j)项" in card and "CTOC/COP/WG.4/2017/4, para. 8 (j)" in card
        assert "(j) 确保受害人能够获得法律代理服务，包括免费法律代理；" in card  # verbatim
        assert "工作组建议缔约方会议审议是否采纳以下建议" in card  # the parent's lead-in
        # copy buttons carry each citation string
        selected.locator('.pp-label[data-lang="en"] .pp-copy').click()
        assert page.evaluate("window.ppLastCopied") == "CTOC/COP/WG.4/2017/4, para. 8 (j)"
        page.locator("#pp-citations .pp-answer-copy .pp-copy").click()  # the answer as plain text
        copied = page.evaluate("window.ppLastCopied")
        assert "(j) 确保受害人能够获得法律代理服务，包括免费法律代理；" in copied and "\\" not in copied and "&" not in copied
        shoot(page, "chat-zh.png")
        # clicking another pinpoint (one of the other retrieved units) shows that unit in the sources panel
        other = page.locator("#pp-sources .pp-retrieved [data-ref]").first
        other_ref = other.get_attribute("data-ref")
        other.click()
        page.wait_for_selector(f'#pp-sources .pp-card.pp-selected[data-unit="{other_ref}"]')
        assert page.locator("#pp-sources .pp-card").first.get_attribute("data-unit") == other_ref
        shoot(page, "chat-zh-clicked.png")
    finally:
        context.close()


def test_english_question_and_escaping_in_a_separate_session(browser, url):
    context, page = open_page(browser, url, "en-US")
    try:
        assert page.locator("#pp-send").inner_text().strip() == "Ask"
        chat = page.locator("#pp-chatbot").inner_text()
        assert "受害人能否获得免费法律代理" not in chat  # another session's history is not here
        page.locator("#pp-question textarea").fill("Where should victims of trafficking be housed?")
        page.locator("#pp-send").click()
        page.wait_for_selector("#pp-citations .pp-cite")
        refs = page.eval_on_selector_all(
            "#pp-citations [data-ref], #pp-sources [data-ref], #pp-sources [data-unit]",
            "els => els.map(e => e.dataset.ref || e.dataset.unit)",
        )
        assert any(r == "report:7(c)" or re.fullmatch(r"tip-protocol:6(\(.*)?", r) for r in refs), refs
        shoot(page, "chat-en.png")
        page.locator("#pp-lang").get_by_text("中文").click()  # switch the interface language in the page
        page.wait_for_function("() => document.querySelector('#pp-send').innerText.trim() === '提问'")
        page.wait_for_selector("#pp-sources .pp-label-name:has-text('引注（中文）')")
        page.locator("#pp-lang").get_by_text("English").click()
        page.wait_for_function("() => document.querySelector('#pp-send').innerText.trim() === 'Ask'")

        hostile = "<script>window.__x=1</script><img src=x onerror=\"window.__x=2\"> victims?"
        page.locator("#pp-new").click()
        page.wait_for_function("() => !document.querySelector('#pp-chatbot').innerText.includes('housed')")
        page.locator("#pp-question textarea").fill(hostile)
        page.locator("#pp-send").click()
        page.wait_for_selector("#pp-citations .pp-cite, #pp-citations .pp-muted")
        page.wait_for_function("() => document.querySelector('#pp-chatbot').innerText.includes('window.__x=1')")
        assert "<script>window.__x=1</script>" in page.locator("#pp-chatbot").inner_text()
        page.wait_for_timeout(500)
        assert page.evaluate("typeof window.__x") == "undefined"
        assert page.locator("#pp-chatbot script").count() == 0 and page.locator("#pp-chatbot img[src=x]").count() == 0
        shoot(page, "chat-escaped.png")
    finally:
        context.close()


def look_up(page, tab: str, reference: str):
    """Open the Lookup tab (named in the page's language), look ``reference`` up; the query box."""
    page.get_by_role("tab", name=tab).click()
    query = page.locator("#pp-lookup-query").locator("textarea, input").first
    query.fill(reference)
    page.locator("#pp-lookup-button").click()
    return query


def test_lookup_tab_verbatim_labels_neighbours(browser, url):
    context, page = open_page(browser, url, "zh-CN")
    try:
        query = look_up(page, "查引（起草）", "7(c)")
        page.wait_for_selector('#pp-lookup-result .pp-card[data-unit="report:7(c)"]')
        result = page.locator("#pp-lookup-result").inner_text()
        assert "(c) 毫不拖延地将受害人安置在安全的收容所" in result
        assert "CTOC/COP/WG.4/2017/4, para. 7 (c)" in result and "CTOC/COP/WG.4/2017/4，第7段(c)项" in result
        assert page.locator("#pp-label-en").locator("textarea, input").first.input_value() == "CTOC/COP/WG.4/2017/4, para. 7 (c)"
        assert page.locator("#pp-label-zh").locator("textarea, input").first.input_value() == "CTOC/COP/WG.4/2017/4，第7段(c)项"
        neighbours = page.eval_on_selector_all("#pp-neighbours [data-ref]", "els => els.map(e => e.dataset.ref)")
        assert {"report:7(b)", "report:7(d)", "report:7"} <= set(neighbours)
        page.screenshot(path=str(OUTPUT / "lookup-7c.png"), full_page=True)
        page.locator('#pp-neighbours [data-ref="report:7(d)"]').click()
        page.wait_for_selector('#pp-lookup-result .pp-card[data-unit="report:7(d)"]')
        assert page.locator("#pp-outline .pp-current").get_attribute("data-ref") == "report:7(d)"  # document outline
        query.fill("第6条第3款和第4款")  # units named together: one citation of them all in the copy boxes
        page.locator("#pp-lookup-button").click()
        page.wait_for_selector('#pp-lookup-result .pp-card[data-unit="tip-protocol:6(4)"]')
        assert page.locator("#pp-label-en").locator("textarea, input").first.input_value() == (
            "Trafficking in Persons Protocol, art. 6, paras. 3 and 4")
        assert page.locator("#pp-label-zh").locator("textarea, input").first.input_value() == "《贩运人口议定书》第6条第3款和第4款"
        page.screenshot(path=str(OUTPUT / "lookup-list.png"), full_page=True)
        query.fill("7(zz)")
        page.locator("#pp-lookup-button").click()
        page.wait_for_selector("#pp-lookup-result .pp-error")
        assert page.locator("#pp-lookup-result .pp-error [data-ref]").count() > 0  # nearest refs offered
        page.screenshot(path=str(OUTPUT / "lookup-unknown.png"), full_page=True)
        page.get_by_role("tab", name="评估").click()
        page.wait_for_selector("#pp-eval-report")
        page.screenshot(path=str(OUTPUT / "evaluation.png"), full_page=True)
    finally:
        context.close()


def test_english_reader_sees_the_reports_unofficial_translation_below_its_chinese_text(browser, url):
    context, page = open_page(browser, url, "en-US")
    try:
        query = look_up(page, "Lookup (drafting)", "7(c)")
        card = page.locator('#pp-lookup-result .pp-card[data-unit="report:7(c)"]')
        card.wait_for()
        rendering = card.locator(".pp-rendering")
        assert rendering.count() == 1
        assert "Unofficial translation / 非官方译文" in rendering.inner_text()
        assert "(c) Place victims without delay in safe shelters" in rendering.inner_text()
        verbatim = card.locator("blockquote.pp-verbatim").first.inner_text()
        assert verbatim.startswith("(c) 毫不拖延地将受害人安置在安全的收容所") and "Place victims" not in verbatim
        page.screenshot(path=str(OUTPUT / "lookup-7c-en.png"), full_page=True)
        page.locator("#pp-lang").get_by_text("中文").click()  # a Chinese reader: the unit is in her language
        page.wait_for_function("() => document.querySelector('#pp-send').innerText.trim() === '提问'")
        query.fill("7(c)")
        page.locator("#pp-lookup-button").click()
        page.wait_for_selector('#pp-lookup-result .pp-card[data-unit="report:7(c)"] .pp-label-name:has-text("引注（中文）")')
        assert page.locator("#pp-lookup-result .pp-rendering").count() == 0
    finally:
        context.close()


def test_an_english_question_on_the_report_reads_its_translation_and_a_declined_one_says_so(browser, url):
    """In the chat, under the Chinese quote, its English rendering labelled unofficial; a question
    the documents do not answer says so, with the closest passages as what they are."""
    context, page = open_page(browser, url, "en-US")
    try:
        page.locator("#pp-question textarea").fill("Where should victims be placed without delay, according to the Working Group?")
        page.locator("#pp-send").click()
        page.wait_for_selector('#pp-citations .pp-cite[data-ref="report:7(c)"]')
        answer = page.locator("#pp-chatbot .message").last
        quotes = answer.locator("blockquote").all_inner_texts()
        assert any("(c) 毫不拖延地将受害人安置在安全的收容所" in q for q in quotes), quotes
        assert not any("Place victims" in q for q in quotes)  # the translation is never a quote
        text = answer.inner_text()
        assert "Unofficial translation / 非官方译文: (c) Place victims without delay in safe shelters" in text
        assert text.index("毫不拖延地将受害人安置") < text.index("Unofficial translation / 非官方译文: (c) Place")
        shoot(page, "chat-en-rendering.png")
        page.locator("#pp-new").click()
        page.wait_for_function("() => !document.querySelector('#pp-chatbot').innerText.includes('Place victims')")
        page.locator("#pp-question textarea").fill("What is the capital of Australia?")
        page.locator("#pp-send").click()
        page.wait_for_function("() => document.querySelector('#pp-chatbot').innerText.includes('The documents do not say.')")
        declined = page.locator("#pp-chatbot .message").last.inner_text()
        assert "Closest passages (not an answer):" in declined
        assert page.locator("#pp-citations .pp-cite").count() == 0
        shoot(page, "chat-en-declined.png")
    finally:
        context.close()


@pytest.fixture(scope="module")
def hostile_url(hostile_index, tmp_path_factory):
    """A second served app, over an index holding a user document with markup and script in it."""
    from ui_support import START_TIMEOUT, app_env

    from eval.timing import serve_app

    corpus_dir, index_dir = hostile_index
    log = tmp_path_factory.mktemp("hostile-ui") / "server.log"
    app = serve_app(app_env(index_dir, PINPOINT_CORPUS_DIR=str(corpus_dir)), log, START_TIMEOUT)
    yield app.url
    app.stop()


def _assert_inert(page) -> None:
    """The document's markup became no element and ran no code anywhere on the page."""
    page.wait_for_timeout(500)  # an onerror handler would have fired by now
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert not page.evaluate("[...document.scripts].some(s => s.textContent.includes('__pwned'))")
    assert page.locator("img[src=x]").count() == 0


def test_script_inside_a_document_is_shown_as_text_and_never_runs(browser, hostile_url):
    from conftest import HOSTILE_KEY, HOSTILE_SCRIPT

    ref = f"{HOSTILE_KEY}:2"
    context, page = open_page(browser, hostile_url, "en-US")
    try:
        page.locator("#pp-question textarea").fill("free interpretation services for victims during criminal proceedings")
        page.locator("#pp-send").click()
        page.wait_for_selector(f'[data-ref="{ref}"]')
        page.locator(f'[data-ref="{ref}"]').first.click()
        page.wait_for_selector(f'#pp-sources .pp-card[data-unit="{ref}"]')
        assert HOSTILE_SCRIPT in page.locator(f'#pp-sources .pp-card[data-unit="{ref}"]').inner_text()
        _assert_inert(page)
        shoot(page, "hostile-document-chat.png")

        page.get_by_role("tab", name="Lookup (drafting)").click()
        query = page.locator("#pp-lookup-query").locator("textarea, input").first
        query.fill("consultation notes para. 2")
        page.locator("#pp-lookup-button").click()
        page.wait_for_selector(f'#pp-lookup-result .pp-card[data-unit="{ref}"]')
        assert HOSTILE_SCRIPT in page.locator("#pp-lookup-result").inner_text()
        _assert_inert(page)
        page.screenshot(path=str(OUTPUT / "hostile-document-lookup.png"), full_page=True)
    finally:
        context.close()

