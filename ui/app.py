"""The Pinpoint web UI: Chat, Lookup (drafting), Documents and Evaluation tabs, plus the /ask and /cite APIs.

``build_app(live, settings)`` returns the gr.Blocks over ``live`` (ui/live.py: the engine, answerer
and browser of the index generation being served; every event takes it once, so it sees one
generation throughout); ``serve(settings, host, port)`` checks the binding (a non-loopback host
needs PINPOINT_AUTH), watches for newer generations and launches it; uploads are capped and
guarded (ui/binding.py, UploadGuard). Conversation state lives in
gr.State, so every browser session has its own history. All text reaches HTML through
ui/render.py (escaped); one page-level script turns clicks on pinpoints into server events.
"""

from __future__ import annotations

import logging
import re
import time

import gradio as gr
from starlette.middleware import Middleware

from services.answer import Answerer
from services.cite import UnknownReference, joint_labels, unit_record
from services.engine import QuestionError
from services.results import NamedUnits, PhraseMatches
from settings import ROOT, Settings, get_settings
from ui import render
from ui.binding import BindingRefused, UploadGuard, check_binding
from ui.documents import DocumentsTab
from ui.i18n import EXAMPLES, choose_language, t
from ui.live import LiveServices, Served

log = logging.getLogger("pinpoint.ui")

__all__ = ["BindingRefused", "build_app", "check_binding", "launch", "serve"]

STREAM_EVERY = 0.1  # seconds between two streamed updates of the answer
ANSWER_GROUP = "answer"  # the concurrency group of every event that runs the answerer
WARMUP_QUESTION = "Where should victims be housed?"  # asked once before serving: the models load then
# gradio's temporary files (uploads never used, cached outputs) older than this are deleted this often:
# an upload the Documents tab did not read does not stay on disk.
TEMP_FILES_SECONDS = 3600

EVAL_REPORT = ROOT / "eval" / "reports" / "retrieval-questions.md"
EVAL_IMAGE_LINK = re.compile(r"!\[[^\]]*\]\([^)]*\)")


# One script for the page: clicks on pinpoints and copy buttons (no inline handlers anywhere).
PAGE_JS = """
() => {
  if (window.ppInstalled) { return; }
  window.ppInstalled = true;
  window.ppPending = {};
  const copyText = async (text) => {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) {
      const area = document.createElement('textarea');
      area.value = text; area.setAttribute('readonly', ''); area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area); area.select();
      let ok = false; try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
      area.remove(); return ok;
    }
  };
  // keep the current unit of the document outline in view
  let outlineShown = null;
  new MutationObserver(() => {
    const current = document.querySelector('.pp-outline .pp-current');
    if (!current || current.dataset.ref === outlineShown) { return; }
    outlineShown = current.dataset.ref;
    const box = current.closest('.pp-outline');
    box.scrollTop = Math.max(0, current.offsetTop - box.offsetTop - box.clientHeight / 3);
  }).observe(document.body, { childList: true, subtree: true });
  document.addEventListener('click', async (event) => {
    const copy = event.target.closest('.pp-copy');
    if (copy) {
      event.preventDefault();
      window.ppLastCopied = copy.dataset.copy;
      await copyText(copy.dataset.copy);
      const before = copy.textContent; copy.textContent = copy.dataset.done || before;
      setTimeout(() => { copy.textContent = before; }, 1200);
      return;
    }
    const pin = event.target.closest('.pp-ref');
    if (pin) {
      event.preventDefault();
      const target = pin.dataset.target;
      window.ppPending[target] = pin.dataset.ref;
      const host = document.getElementById('pp-' + target + '-go');
      const button = host && (host.tagName === 'BUTTON' ? host : host.querySelector('button'));
      if (button) { button.click(); }
    }
  });
}
"""

# Event js: the clicked ref (stashed by PAGE_JS) replaces the hidden textbox's value.
PENDING_JS = "(ref, ...rest) => [(window.ppPending && window.ppPending['{target}']) || ref, ...rest]"

CSS = """
.pp-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px; margin: 0 0 10px 0; }
.pp-card.pp-selected { border: 2px solid var(--color-accent); background: var(--background-fill-secondary); }
.pp-card-head { margin-bottom: 4px; }
.pp-refcode { font-size: 0.85em; }
.pp-badge { background: var(--color-accent); color: white; border-radius: 4px; padding: 0 6px; font-size: 0.8em; }
.pp-label { margin: 2px 0; }
.pp-label-name { color: var(--body-text-color-subdued); font-size: 0.85em; margin-right: 4px; }
.pp-label-text { font-weight: 600; }
.pp-verbatim { white-space: pre-wrap; }
.pp-text { margin: 6px 0; padding: 6px 10px; border-left: 3px solid var(--color-accent); }
.pp-leadin { margin: 4px 0; font-size: 0.92em; }
.pp-version { margin: 6px 0 0 0; }
.pp-version .pp-text { border-left-style: dashed; }
.pp-rendering { margin: 6px 0; padding: 6px 10px; border: 1px dashed var(--border-color-primary); border-radius: 6px;
  background: var(--background-fill-secondary); }
.pp-rendering-text { white-space: pre-wrap; font-style: italic; }
.pp-ref, .pp-copy { cursor: pointer; border: 1px solid var(--border-color-primary); border-radius: 12px;
  padding: 1px 10px; margin: 2px 2px; background: var(--background-fill-primary); font-size: 0.9em; }
.pp-ref { color: var(--link-text-color); }
.pp-ref:hover, .pp-copy:hover { background: var(--background-fill-secondary); }
.pp-copy { font-size: 0.8em; padding: 0 8px; }
.pp-small { font-size: 0.8em; }
.pp-muted { color: var(--body-text-color-subdued); font-size: 0.9em; margin: 4px 0; }
.pp-notice { background: var(--background-fill-secondary); padding: 4px 8px; border-radius: 6px; margin: 4px 0; }
.pp-error { border: 1px solid #c0392b; border-radius: 6px; padding: 8px; margin: 4px 0; }
.pp-h { font-weight: 600; margin: 6px 0; }
.pp-nb { margin: 2px 0; }
#pp-chatbot h1, #pp-chatbot h2, #pp-chatbot h3 { font-size: 1.05em; margin: 0.6em 0 0.2em 0; }
.pp-card:not(.pp-selected) .pp-text { max-height: 12em; overflow-y: auto; }
.pp-outline { max-height: 420px; overflow-y: auto; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 6px; }
.pp-outline .pp-ref { display: block; width: 100%; text-align: left; border: none; border-radius: 4px; margin: 0;
  padding: 1px 6px; white-space: pre; overflow: hidden; text-overflow: ellipsis; color: var(--body-text-color);
  font-weight: 400; box-shadow: none; background: transparent; border-left: 3px solid transparent; }
.pp-outline .pp-ref:hover { background: var(--background-fill-secondary); }
.pp-table { border-collapse: collapse; width: 100%; margin: 4px 0 10px 0; font-size: 0.92em; }
.pp-table th, .pp-table td { border-bottom: 1px solid var(--border-color-primary); padding: 3px 8px; text-align: left;
  vertical-align: top; }
.pp-outcome ul, .pp-error ul, .pp-notice ul { margin: 4px 0 0 1.2em; }
.pp-outline .pp-ref.pp-current { background: var(--background-fill-secondary); border-left-color: var(--color-accent);
  font-weight: 600; }
"""


def build_app(live: LiveServices, settings: Settings) -> gr.Blocks:
    """The gr.Blocks of the whole UI over ``live``'s current engine, answerer and browser."""

    def record(s: Served, ref: str) -> dict:
        return unit_record(s.engine.index, s.engine.index.by_ref[ref]).to_json()

    def cited_records(s: Served, result: dict | None) -> list[dict]:
        refs: list[str] = []
        for c in (result or {}).get("citations") or []:
            if c["ref"] in s.engine.index.by_ref and c["ref"] not in refs:
                refs.append(c["ref"])
        return [record(s, r) for r in refs]

    def sources_for(s: Served, result: dict | None, selected: str | None, lang: str) -> str:
        records = cited_records(s, result)
        if selected and selected in s.engine.index.by_ref and selected not in {r["ref"] for r in records}:
            records.insert(0, record(s, selected))
        return render.sources_html(records, lang, selected, (result or {}).get("retrieved"))

    def backend_text(lang: str) -> str:
        text = f"**{t(lang, 'backend')}:** `{live.current.answerer.backend_name}`"
        notice = live.current.engine.index.notice  # EmbeddingGemma missing: said once, on the page itself
        return f"{text}  \n**{t(lang, 'notice')}:** {render.chat_text(notice)}" if notice else text

    def display(history: list[dict]) -> list[dict]:
        return [
            {"role": m["role"], "content": render.chat_text(m["content"], structure=m["role"] == "assistant")}
            for m in history
        ]

    # --- chat -------------------------------------------------------------------------------
    def chat_turn(question, history, lang):
        s = live.current
        history = list(history or [])
        question = question or ""
        lang = lang or "en"
        if not question.strip():
            gr.Warning(t(lang, "empty_question"))
            yield gr.update(), gr.update(), history, gr.update(), gr.update(), gr.update(), gr.update()
            return
        shown = display(history) + [
            {"role": "user", "content": render.chat_text(question)},
            {"role": "assistant", "content": "…"},
        ]
        yield shown, "", history, gr.update(), gr.update(), gr.update(), gr.update()
        text, result, last, failure = "", None, 0.0, ""
        try:
            for event in s.answerer.stream(question, history):
                if "delta" in event:
                    text += event["delta"]
                    if time.monotonic() - last >= STREAM_EVERY:  # at most a few page updates per second
                        last = time.monotonic()
                        shown[-1] = {"role": "assistant", "content": render.chat_text(text, structure=True)}
                        yield shown, gr.update(), history, gr.update(), gr.update(), gr.update(), gr.update()
                elif "final" in event:
                    result = event["final"].to_json()
        except QuestionError as exc:
            failure = str(exc)
        except Exception as exc:  # the page must survive any backend failure
            log.exception("answering failed")
            failure = f"{type(exc).__name__}: {exc}"
        if result is not None:
            text = result.get("answer", text)
        elif failure:
            text = f"{text}\n\n{t(lang, 'error')}: {failure}".strip()
        history = history + [{"role": "user", "content": question}, {"role": "assistant", "content": text}]
        selected = ((result or {}).get("citations") or [{}])[0].get("ref")
        yield (
            display(history),
            gr.update(),
            history,
            result,
            selected,
            render.citations_html(result, lang) if result else render.notice(failure or text, lang, "error"),
            sources_for(s, result, selected, lang),
        )

    def show_source(ref, result, lang):
        s = live.current
        ref = (ref or "").strip()
        if ref not in s.engine.index.by_ref:
            return gr.update(), gr.update()
        return ref, sources_for(s, result, ref, lang)

    def new_conversation(lang):
        return [], "", [], None, None, render.citations_html(None, lang), render.sources_html([], lang)

    # --- lookup -----------------------------------------------------------------------------
    def lookup_view(s: Served, state: dict | None, lang: str):
        """(result html, label en, label zh, neighbours html) for a lookup state."""
        if not state:
            return render.muted(t(lang, "lookup_empty")), "", "", ""
        if state["kind"] == "unit":
            rec = record(s, state["ref"])
            nb = s.browser.neighbours(state["ref"], lang)
            return (
                render.unit_card(rec, lang, "lookup", selected=True),
                rec["labels"]["en"],
                rec["labels"]["zh"],
                render.neighbours_html(nb, lang),
            )
        if state["kind"] == "matches":
            recs = [record(s, r) for r in state["refs"]]
            first = recs[0] if recs else None
            # units named together are cited together; a phrase's best match is cited alone
            labels = joint_labels(s.engine.index, state["refs"]) if state.get("named") else (first or {}).get("labels")
            return (
                render.matches_html(state["query"], recs, lang, "range_units" if state.get("named") else "matches"),
                labels["en"] if labels else "",
                labels["zh"] if labels else "",
                render.neighbours_html(s.browser.neighbours(first["ref"], lang), lang) if first else "",
            )
        if state["kind"] == "unknown":
            nearest = [(r, s.browser.label(r, lang)) for r in state["suggestions"] if r in s.engine.index.by_ref]
            return render.unknown_html(state["query"], nearest, lang), "", "", ""
        return render.notice(state.get("message", ""), lang, "error"), "", "", ""

    def lookup_state_for(s: Served, query: str) -> dict:
        query = (query or "").strip()
        if query in s.engine.index.by_ref:
            return {"kind": "unit", "ref": query}
        try:
            found = s.engine.cite(query)
        except UnknownReference as exc:
            return {"kind": "unknown", "query": exc.query, "suggestions": list(exc.suggestions)}
        except QuestionError as exc:
            return {"kind": "error", "message": str(exc)}
        if isinstance(found, PhraseMatches):
            return {"kind": "matches", "query": found.query, "refs": [m.ref for m in found.matches]}
        if isinstance(found, NamedUnits):  # a range or list of references: each unit it names, in order
            return {"kind": "matches", "query": found.query, "refs": [u.ref for u in found.units], "named": True}
        return {"kind": "unit", "ref": found.ref}

    def do_lookup(query, lang):
        s = live.current
        state = lookup_state_for(s, query)
        if state["kind"] == "unit":
            return opened(s, state["ref"], lang)
        return (state, *lookup_view(s, state, lang), gr.update(), gr.update(), gr.update())

    def open_ref(ref, lang):
        return opened(live.current, ref, lang)

    def opened(s: Served, ref, lang):
        ref = (ref or "").strip()
        if ref not in s.engine.index.by_ref:
            return (gr.update(),) * 8
        state = {"kind": "unit", "ref": ref}
        doc = s.engine.index.by_ref[ref].doc
        choices = s.browser.unit_choices(doc, lang)
        return (
            state,
            *lookup_view(s, state, lang),
            gr.update(value=doc),
            gr.update(choices=choices, value=ref),
            render.outline_html(choices, ref),
        )

    def pick_doc(doc, lang):
        choices = live.current.browser.unit_choices(doc, lang)
        return gr.update(choices=choices, value=None), render.outline_html(choices, None)

    # --- evaluation -------------------------------------------------------------------------
    def eval_view(lang):
        if not EVAL_REPORT.exists():
            return t(lang, "eval_missing"), None
        png = EVAL_REPORT.with_suffix(".png")
        text = EVAL_IMAGE_LINK.sub("", EVAL_REPORT.read_text(encoding="utf-8"))  # the chart is shown above
        return text, (str(png) if png.exists() else None)

    # --- interface language -----------------------------------------------------------------
    def relabel(lang, result, selected, lookup_state, doc, unit, docs_preview):
        s = live.current
        lang = lang if lang in ("zh", "en") else "en"
        view = lookup_view(s, lookup_state, lang)
        eval_text, _ = eval_view(lang)
        return [
            lang,
            gr.update(value=lang),
            f"# {t(lang, 'title')}\n{t(lang, 'subtitle')}",
            gr.update(label=t(lang, "tab_chat")),
            gr.update(label=t(lang, "tab_lookup")),
            gr.update(label=t(lang, "tab_eval")),
            backend_text(lang),
            gr.update(label=t(lang, "chatbot")),
            gr.update(label=t(lang, "question"), placeholder=t(lang, "question_ph")),
            gr.update(value=t(lang, "send")),
            gr.update(value=t(lang, "new_chat")),
            f"### {t(lang, 'citations')}",
            render.citations_html(result, lang),
            f"### {t(lang, 'sources')}",
            sources_for(s, result, selected, lang),
            gr.update(label=t(lang, "lookup_query"), placeholder=t(lang, "lookup_ph")),
            gr.update(value=t(lang, "lookup_go")),
            view[0],
            gr.update(label=t(lang, "label_en")),
            gr.update(label=t(lang, "label_zh")),
            view[3],
            f"### {t(lang, 'browse')}",
            gr.update(label=t(lang, "document"), choices=s.browser.doc_choices(lang), value=doc),
            gr.update(label=t(lang, "unit"), choices=s.browser.unit_choices(doc, lang), value=unit),
            f"## {t(lang, 'eval_title')}",
            eval_text,
            gr.update(label=t(lang, "eval_chart")),
            gr.update(value=t(lang, "eval_refresh")),
            *docs_tab.relabel(lang, docs_preview),
        ]

    def on_load(result, selected, lookup_state, doc, unit, docs_preview, request: gr.Request):
        header = request.headers.get("accept-language", "") if request is not None else ""
        return relabel(choose_language(settings.ui_lang, header), result, selected, lookup_state, doc, unit, docs_preview)

    first = "en" if settings.ui_lang not in ("zh", "en") else settings.ui_lang
    browser = live.current.browser  # the page's first render; every event reads live.current
    docs = browser.doc_choices(first)
    first_doc = docs[0][1] if docs else None
    eval_text, eval_png = eval_view(first)

    with gr.Blocks(
        title="Pinpoint", analytics_enabled=False, delete_cache=(TEMP_FILES_SECONDS, TEMP_FILES_SECONDS)
    ) as demo:
        lang = gr.State(first)
        history = gr.State([])
        last_result = gr.State(None)
        selected = gr.State(None)
        lookup_state = gr.State(None)

        with gr.Row(equal_height=True):
            title = gr.Markdown(f"# {t(first, 'title')}\n{t(first, 'subtitle')}", elem_id="pp-title")
            lang_radio = gr.Radio(
                [("中文", "zh"), ("English", "en")], value=first, label="界面语言 / Language",
                elem_id="pp-lang", scale=0, min_width=220,
            )
        with gr.Tabs():
            with gr.Tab(t(first, "tab_chat"), id="chat", elem_id="pp-tab-chat") as tab_chat:
                backend = gr.Markdown(backend_text(first), elem_id="pp-backend")
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            label=t(first, "chatbot"), elem_id="pp-chatbot", height=560,
                            buttons=[], sanitize_html=True, render_markdown=True,  # copy: "Copy the answer"
                        )
                        question = gr.Textbox(
                            label=t(first, "question"), placeholder=t(first, "question_ph"), lines=2,
                            elem_id="pp-question",
                        )
                        with gr.Row():
                            send = gr.Button(t(first, "send"), variant="primary", elem_id="pp-send")
                            new_chat = gr.Button(t(first, "new_chat"), elem_id="pp-new")
                        gr.Examples(
                            EXAMPLES, inputs=question, label="示例问题 / Example questions",
                            examples_per_page=len(EXAMPLES),
                        )
                        citations_md = gr.Markdown(f"### {t(first, 'citations')}")
                        citations = gr.HTML(render.citations_html(None, first), elem_id="pp-citations")
                    with gr.Column(scale=2):
                        sources_md = gr.Markdown(f"### {t(first, 'sources')}")
                        sources = gr.HTML(render.sources_html([], first), elem_id="pp-sources")
                src_ref = gr.Textbox(visible="hidden", elem_id="pp-sources-ref")
                src_go = gr.Button("show", visible="hidden", elem_id="pp-sources-go")

            with gr.Tab(t(first, "tab_lookup"), id="lookup", elem_id="pp-tab-lookup") as tab_lookup:
                with gr.Row():
                    lk_query = gr.Textbox(
                        label=t(first, "lookup_query"), placeholder=t(first, "lookup_ph"), scale=4,
                        elem_id="pp-lookup-query",
                    )
                    lk_button = gr.Button(t(first, "lookup_go"), variant="primary", scale=1, elem_id="pp-lookup-button")
                with gr.Row():
                    with gr.Column(scale=3):
                        lk_result = gr.HTML(render.muted(t(first, "lookup_empty")), elem_id="pp-lookup-result")
                        with gr.Row():
                            lk_en = gr.Textbox(label=t(first, "label_en"), buttons=["copy"], elem_id="pp-label-en")
                            lk_zh = gr.Textbox(label=t(first, "label_zh"), buttons=["copy"], elem_id="pp-label-zh")
                    with gr.Column(scale=2):
                        lk_neighbours = gr.HTML("", elem_id="pp-neighbours")
                browse_md = gr.Markdown(f"### {t(first, 'browse')}")
                with gr.Row():
                    doc_pick = gr.Dropdown(docs, value=first_doc, label=t(first, "document"), elem_id="pp-doc")
                    unit_pick = gr.Dropdown(
                        browser.unit_choices(first_doc, first), value=None, label=t(first, "unit"),
                        elem_id="pp-unit", filterable=True,
                    )
                outline = gr.HTML(
                    render.outline_html(browser.unit_choices(first_doc, first), None), elem_id="pp-outline"
                )
                lk_ref = gr.Textbox(visible="hidden", elem_id="pp-lookup-ref")
                lk_go = gr.Button("open", visible="hidden", elem_id="pp-lookup-go")

            docs_tab = DocumentsTab(live, settings, first, lang, doc_pick)

            with gr.Tab(t(first, "tab_eval"), id="eval", elem_id="pp-tab-eval") as tab_eval:
                eval_title = gr.Markdown(f"## {t(first, 'eval_title')}")
                eval_refresh = gr.Button(t(first, "eval_refresh"), size="sm")
                eval_png_view = gr.Image(eval_png, label=t(first, "eval_chart"), interactive=False, elem_id="pp-eval-png")
                eval_md = gr.Markdown(eval_text, elem_id="pp-eval-report")

        # --- wiring ---
        chat_out = [chatbot, question, history, last_result, selected, citations, sources]
        private = {"api_visibility": "private"}
        # A chat turn reads and writes the session's own history (gr.State): /chat is callable by
        # gradio_client (each Client is one session) but not listed. Chat turns and /ask share one
        # concurrency group: together they never run more than PINPOINT_CONCURRENCY at once.
        send.click(
            chat_turn, [question, history, lang], chat_out, api_name="chat", api_visibility="undocumented",
            concurrency_id=ANSWER_GROUP,
        )
        question.submit(chat_turn, [question, history, lang], chat_out, concurrency_id=ANSWER_GROUP, **private)
        new_chat.click(new_conversation, [lang], chat_out, **private)
        chatbot.clear(new_conversation, [lang], chat_out, **private)  # the trash icon clears the history too
        src_go.click(
            show_source, [src_ref, last_result, lang], [selected, sources],
            js=PENDING_JS.replace("{target}", "sources"), **private,
        )

        lk_out = [lookup_state, lk_result, lk_en, lk_zh, lk_neighbours]
        lk_all = [*lk_out, doc_pick, unit_pick, outline]
        lk_button.click(do_lookup, [lk_query, lang], lk_all, **private)
        lk_query.submit(do_lookup, [lk_query, lang], lk_all, **private)
        lk_go.click(open_ref, [lk_ref, lang], lk_all, js=PENDING_JS.replace("{target}", "lookup"), **private)
        doc_pick.input(pick_doc, [doc_pick, lang], [unit_pick, outline], **private)
        unit_pick.input(open_ref, [unit_pick, lang], lk_all, **private)
        eval_refresh.click(lambda lg: eval_view(lg)[::-1], [lang], [eval_png_view, eval_md], **private)

        relabel_out = [
            lang, lang_radio, title, tab_chat, tab_lookup, tab_eval, backend, chatbot, question, send, new_chat,
            citations_md, citations, sources_md, sources, lk_query, lk_button, lk_result, lk_en, lk_zh,
            lk_neighbours, browse_md, doc_pick, unit_pick, eval_title, eval_md, eval_png_view, eval_refresh,
            *docs_tab.relabel_outputs,
        ]
        relabel_in = [last_result, selected, lookup_state, doc_pick, unit_pick, *docs_tab.relabel_inputs]
        lang_radio.input(relabel, [lang_radio, *relabel_in], relabel_out, **private)
        demo.load(on_load, relabel_in, relabel_out, **private).then(
            None, js="() => { document.body.dataset.ppReady = '1'; }", **private
        )

        # --- API for gradio_client ---
        def api_ask(question: str) -> dict:
            """Answer a question with verbatim quotes and pinpoint citations (the ask JSON contract)."""
            try:
                return live.current.answerer.answer(question).to_json()
            except QuestionError as exc:  # the caller's error: no traceback in the server log
                raise gr.Error(str(exc), print_exception=False) from exc

        def api_cite(query: str) -> dict:
            """A reference -> that unit (text, labels in en/zh, lead-in, links); a range or list of references ->
            {"query", "labels" (one citation of them all), "units"}; a phrase -> best matches."""
            try:
                return live.current.engine.cite(query).to_json()
            except UnknownReference as exc:
                return {"query": exc.query, "error": str(exc), "suggestions": list(exc.suggestions)}
            except QuestionError as exc:  # the caller's error: no traceback in the server log
                raise gr.Error(str(exc), print_exception=False) from exc

        gr.api(api_ask, api_name="ask", concurrency_id=ANSWER_GROUP)
        gr.api(api_cite, api_name="cite")

    return demo


def launch(
    demo: gr.Blocks, host: str, port: int, credentials: tuple[str, str] | None, settings: Settings | None = None,
    **kwargs,
):
    """Start the server (blocking unless prevent_thread_lock=True is passed).

    Each event runs at most ``settings.concurrency`` requests at once (the answering events together,
    see ANSWER_GROUP); ``settings.max_threads`` caps gradio's worker threads. An upload is at most
    ``settings.max_upload_bytes`` (gradio's max_file_size, per file, and UploadGuard, per request), from
    this app's own pages or a client that is not a browser, and after the login when there is one.
    """
    settings = settings or get_settings()
    return demo.queue(default_concurrency_limit=settings.concurrency).launch(
        server_name=host, server_port=port, auth=credentials, auth_message="Pinpoint",
        css=CSS, js=PAGE_JS, theme=gr.themes.Soft(), footer_links=["api"], show_error=True,
        allowed_paths=[str(EVAL_REPORT.parent)], max_threads=settings.max_threads,
        max_file_size=settings.max_upload_bytes,
        app_kwargs={"middleware": [Middleware(UploadGuard, limit=settings.max_upload_bytes)]}, **kwargs,
    )


def serve(settings: Settings, host: str | None = None, port: int | None = None, **kwargs):
    """Check the binding, load the engine, build the UI and serve it."""
    host = host or settings.host
    port = port or settings.port
    credentials = check_binding(host, settings.auth)
    from services.engine import Engine

    engine = Engine(settings)
    engine.retrieve(WARMUP_QUESTION)  # the embedders load lazily: here, not inside the first users' requests
    live = LiveServices(engine, Answerer(engine, settings), settings)
    demo = build_app(live, settings)
    live.watch()  # an ingest while the app runs is served without a restart
    print(f"Pinpoint UI on http://{host}:{port}/", flush=True)
    return launch(demo, host, port, credentials, settings, **kwargs)

