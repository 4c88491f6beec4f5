"""The Documents tab: upload a file, see what Pinpoint reads in it, add it; list and remove documents.

Every step is ``services/documents.py`` (``preview`` writes nothing; ``add`` and ``remove`` leave the
corpus and the index as they were when they fail), so the tab only keeps the upload between the
steps and shows the results, escaped (ui/render.py). The upload is read once and gradio's copy of
it deleted at once: the document's only copy is then the one ``add`` writes into the corpus folder.
After an add or a remove the tab loads the new index generation itself (``LiveServices.refresh``)
before it reports, so a question asked next is answered from it, without waiting for the periodic
reload.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr

from index.generations import IngestLocked
from ingest.detect import Overrides
from ingest.manifest import KINDS, LANGUAGES, CorpusBusy
from ingest.readers import SUPPORTED
from ingest.units import IngestError
from services import documents
from settings import Settings
from ui import render
from ui.i18n import language_name, t
from ui.live import LiveServices

log = logging.getLogger("pinpoint.ui")

FIELDS = ("key", "symbol", "language", "kind", "title_en", "title_zh")  # the form, named as in Overrides
# An upload waits in the session (in memory, up to the size cap) this long for its "Add"; gradio also
# drops it when the tab is closed.
PENDING_SECONDS = 3600
# Add and remove run one at a time (the next waits in gradio's queue rather than failing on the corpus lock).
DOCUMENTS_GROUP = "documents"
# What the user can fix or wait out, said in the tab; anything else is logged with its traceback.
REFUSED = (documents.DocumentError, CorpusBusy, IngestLocked, IngestError)


def size_text(size: int) -> str:
    """A byte count as people write it: 5 MB, 800 kB, 900 bytes."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:g} MB"
    return f"{size / 1000:g} kB" if size >= 1000 else f"{size} bytes"


def overrides(detected: dict | None, values: tuple[str | None, ...]) -> Overrides:
    """The form's values that differ from the detected ones: only what the user changed overrides the
    detection, so its warnings (a title standing in for the other language's) still say what was guessed."""
    stated = {}
    for name, value in zip(FIELDS, values, strict=True):
        value = (value or "").strip()
        if value and value != (detected or {}).get(name):
            stated[name] = value
    return Overrides(**stated)


def _read_upload(path: str) -> bytes:
    """The upload's bytes; gradio's copy (in its temporary folder) is deleted, read or not."""
    upload = Path(path)
    try:
        return upload.read_bytes()
    finally:
        upload.unlink(missing_ok=True)
        try:
            upload.parent.rmdir()  # gradio's folder for this one upload (named by its hash)
        except OSError:
            pass  # not empty: another upload of the same bytes is in it


class DocumentsTab:
    """The tab's components, built in the current gr.Blocks (inside its gr.Tabs), and its events.

    ``lookup_doc`` is the Lookup tab's document dropdown: an add or a remove updates its choices.
    ``relabel_outputs`` / ``relabel`` put the tab in another interface language, like the other tabs.
    """

    def __init__(self, live: LiveServices, settings: Settings, first: str, lang: gr.State, lookup_doc: gr.Dropdown):
        self.live, self.settings, self.lookup_doc = live, settings, lookup_doc
        with gr.Tab(t(first, "tab_docs"), id="documents", elem_id="pp-tab-docs") as self.tab:
            self.pending = gr.State(None, time_to_live=PENDING_SECONDS)  # {"name", "data"}: the file being checked
            self.detected = gr.State(None)  # the detected entry's FIELDS
            self.preview = gr.State(None)  # {"file", "preview"}: the last preview, to show it in another language
            self.upload = gr.File(
                label=self._upload_label(first), file_types=list(SUPPORTED), type="filepath", elem_id="pp-docs-upload",
            )
            self.preview_html = gr.HTML(render.muted(t(first, "docs_upload_hint")), elem_id="pp-docs-preview")
            with gr.Row():
                self.key = gr.Textbox(label=t(first, "docs_key"), elem_id="pp-docs-key")
                self.symbol = gr.Textbox(label=t(first, "docs_symbol"), elem_id="pp-docs-symbol")
                self.language = gr.Dropdown(
                    self._language_choices(first), value=None, label=t(first, "docs_language"), elem_id="pp-docs-language",
                )
                self.kind = gr.Dropdown(
                    self._kind_choices(first), value=None, label=t(first, "docs_kind"), elem_id="pp-docs-kind",
                )
            with gr.Row():
                self.title_en = gr.Textbox(label=t(first, "docs_title_en"), elem_id="pp-docs-title-en")
                self.title_zh = gr.Textbox(label=t(first, "docs_title_zh"), elem_id="pp-docs-title-zh")
            with gr.Row():
                self.check = gr.Button(t(first, "docs_repreview"), interactive=False, elem_id="pp-docs-check")
                self.add = gr.Button(t(first, "docs_add"), variant="primary", interactive=False, elem_id="pp-docs-add")
            self.outcome = gr.HTML("", elem_id="pp-docs-outcome")
            self.list_md = gr.Markdown(f"### {t(first, 'docs_list')}")
            listed = documents.list_documents(settings)
            self.listing = gr.HTML(render.documents_html([d.to_json() for d in listed], first), elem_id="pp-docs-list")
            with gr.Row():
                self.pick = gr.Dropdown(
                    self._pick_choices(listed), value=None, label=t(first, "docs_remove_pick"), elem_id="pp-docs-pick",
                )
                self.remove = gr.Button(t(first, "docs_remove"), variant="stop", elem_id="pp-docs-remove")
            with gr.Row(visible=False, elem_id="pp-docs-confirm") as self.confirm_row:
                self.confirm_text = gr.HTML("", elem_id="pp-docs-confirm-text")
                self.confirm = gr.Button(t(first, "docs_remove_confirm"), variant="stop", elem_id="pp-docs-confirm-yes")
                self.cancel = gr.Button(t(first, "docs_cancel"), elem_id="pp-docs-cancel")
        self.form = [self.key, self.symbol, self.language, self.kind, self.title_en, self.title_zh]
        self.relabel_outputs = [
            self.tab, self.upload, self.preview_html, *self.form, self.check, self.add, self.list_md, self.listing,
            self.pick, self.remove, self.confirm, self.cancel, self.confirm_row,
        ]
        self.relabel_inputs = [self.preview]
        self._wire(lang)

    # --- events ---------------------------------------------------------------------------------
    def _wire(self, lang: gr.State) -> None:
        private = {"api_visibility": "private"}
        serial = {"concurrency_id": DOCUMENTS_GROUP, "concurrency_limit": 1, "show_progress_on": [self.outcome]}
        # the upload and its check: the states, the form, the preview and which buttons work
        sheet = [self.pending, self.detected, self.preview, *self.form, self.preview_html, self.check, self.add]
        changed = [self.outcome, self.listing, self.pick, self.lookup_doc]
        self.upload.upload(self.on_upload, [self.upload, lang], [*sheet, self.outcome], **private)
        self.upload.clear(self.on_clear, [lang], [*sheet, self.outcome], **private)
        self.check.click(
            self.on_check, [self.pending, self.detected, *self.form, lang],
            [self.preview, self.preview_html, self.add, self.outcome], **private,
        )
        self.add.click(
            self.on_add, [self.pending, self.detected, *self.form, lang, self.lookup_doc],
            [*changed, *sheet, self.upload], **serial, **private,
        )
        self.remove.click(self.on_remove_asked, [self.pick, lang], [self.confirm_row, self.confirm_text, self.outcome], **private)
        self.cancel.click(lambda: gr.update(visible=False), None, [self.confirm_row], **private)
        self.confirm.click(
            self.on_remove, [self.pick, lang, self.lookup_doc], [*changed, self.confirm_row], **serial, **private,
        )
        # another session may have added or removed a document since this page was built
        self.tab.select(self.on_select, [lang], [self.listing, self.pick], **private)

    def on_upload(self, path: str | None, lang: str):
        if not path:
            return (*self._sheet(lang), "")
        name = Path(path).name
        try:
            data = _read_upload(path)
        except FileNotFoundError:  # another session's upload of the same bytes was read (and deleted) first
            return (*self._sheet(lang), render.outcome_html(t(lang, "docs_gone"), (), lang, "error"))
        try:
            found = documents.preview(self.settings, data, name)
        except documents.DocumentError as exc:  # too big, binary, empty, an unsupported type
            return (*self._sheet(lang), render.outcome_html(str(exc), (), lang, "error"))
        detected = {field: getattr(found.document, field) for field in FIELDS}
        shown = {"file": name, "preview": found.to_json()}
        return (*self._sheet(lang, {"name": name, "data": data}, detected, shown), "")

    def on_clear(self, lang: str):
        return (*self._sheet(lang), "")

    def on_check(self, pending, detected, key, symbol, language, kind, title_en, title_zh, lang):
        if not pending:
            return None, render.muted(t(lang, "docs_upload_hint")), gr.update(interactive=False), self._error(lang, "docs_gone")
        stated = overrides(detected, (key, symbol, language, kind, title_en, title_zh))
        try:
            found = documents.preview(self.settings, pending["data"], pending["name"], stated)
        except documents.DocumentError as exc:  # an override that cannot stand (a key already taken ...)
            return gr.update(), gr.update(), gr.update(interactive=False), render.outcome_html(str(exc), (), lang, "error")
        shown = {"file": pending["name"], "preview": found.to_json()}
        return shown, self._preview_view(shown, lang), gr.update(interactive=self._addable(shown)), ""

    def on_add(
        self, pending, detected, key, symbol, language, kind, title_en, title_zh, lang, lookup_value,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008 (gradio finds the progress bar by this default)
    ):
        unchanged = (gr.update(),) * (3 + 12 + 1)
        if not pending:
            return (self._error(lang, "docs_gone"), *unchanged)
        stated = overrides(detected, (key, symbol, language, kind, title_en, title_zh))
        progress(0.05, desc=t(lang, "progress_ingest"))  # then the ingest's embedding bars (its tqdm, tracked)
        try:
            result = documents.add(self.settings, pending["data"], pending["name"], stated)
        except REFUSED as exc:
            return (render.outcome_html(str(exc), (), lang, "error"), *unchanged)
        except OSError as exc:  # the ingest could not write; the service took the copy and the entry back
            return (self._error(lang, "docs_write_failed", error=str(exc)), *unchanged)
        except Exception as exc:  # the page must survive any failure; the log has the traceback
            log.exception("adding %s failed", pending["name"])
            return (render.outcome_html(f"{type(exc).__name__}: {exc}", (), lang, "error"), *unchanged)
        if not result.added:
            text, ok = t(lang, "docs_duplicate", key=result.key), True
        else:
            progress(0.95, desc=t(lang, "progress_load"))
            ok = self._served(result.key, present=True)
            fields = {k: str(v) for k, v in result.to_json().items()}
            text = t(lang, "docs_added", **fields) if ok else t(lang, "docs_not_served", **fields)
        return (
            render.outcome_html(text, result.warnings, lang, "notice" if ok else "error"),
            *self._changed(lang, lookup_value),
            *self._sheet(lang),
            gr.update(value=None),
        )

    def on_remove_asked(self, key: str | None, lang: str):
        doc = next((d for d in documents.list_documents(self.settings) if d.key == key), None)
        if doc is None:
            return gr.update(visible=False), "", self._error(lang, "docs_pick_first")
        question = t(lang, "docs_remove_question", key=doc.key, symbol=doc.symbol, file=doc.file)
        return gr.update(visible=True), f'<div class="pp-notice">{render.esc(question)}</div>', ""

    def on_remove(self, key: str | None, lang: str, lookup_value, progress=gr.Progress()):  # noqa: B008
        if not key:
            return self._error(lang, "docs_pick_first"), *(gr.update(),) * 3, gr.update(visible=False)
        progress(0.05, desc=t(lang, "progress_ingest"))
        try:
            result = documents.remove(self.settings, key)
        except REFUSED as exc:
            return render.outcome_html(str(exc), (), lang, "error"), *(gr.update(),) * 3, gr.update(visible=False)
        except OSError as exc:  # the re-ingest could not write; the entry was put back
            return self._error(lang, "docs_write_failed", error=str(exc)), *(gr.update(),) * 3, gr.update(visible=False)
        progress(0.95, desc=t(lang, "progress_load"))
        ok = self._served(key, present=False)
        fields = {k: str(v) for k, v in result.to_json().items()}
        text = t(lang, "docs_removed", **fields) if ok else t(lang, "docs_not_served", **fields)
        return (
            render.outcome_html(text, result.warnings, lang, "notice" if ok else "error"),
            *self._changed(lang, lookup_value),
            gr.update(visible=False),
        )

    def on_select(self, lang: str):
        return self._changed(lang, None)[:2]

    # --- views ------------------------------------------------------------------------------------
    def relabel(self, lang: str, shown: dict | None) -> list:
        listed = documents.list_documents(self.settings)
        return [
            gr.update(label=t(lang, "tab_docs")),
            gr.update(label=self._upload_label(lang)),
            self._preview_view(shown, lang),
            gr.update(label=t(lang, "docs_key")),
            gr.update(label=t(lang, "docs_symbol")),
            gr.update(label=t(lang, "docs_language"), choices=self._language_choices(lang)),
            gr.update(label=t(lang, "docs_kind"), choices=self._kind_choices(lang)),
            gr.update(label=t(lang, "docs_title_en")),
            gr.update(label=t(lang, "docs_title_zh")),
            gr.update(value=t(lang, "docs_repreview")),
            gr.update(value=t(lang, "docs_add")),
            f"### {t(lang, 'docs_list')}",
            render.documents_html([d.to_json() for d in listed], lang),
            gr.update(label=t(lang, "docs_remove_pick"), choices=self._pick_choices(listed)),
            gr.update(value=t(lang, "docs_remove")),
            gr.update(value=t(lang, "docs_remove_confirm")),
            gr.update(value=t(lang, "docs_cancel")),
            gr.update(visible=False),  # a question asked in the other language is asked again
        ]

    def _sheet(self, lang: str, pending=None, detected=None, shown=None) -> tuple:
        """The states, the form, the preview and the two buttons for an upload (none: all empty)."""
        form = [gr.update(value=(detected or {}).get(name)) for name in FIELDS]
        check = gr.update(interactive=pending is not None)
        return (pending, detected, shown, *form, self._preview_view(shown, lang), check,
                gr.update(interactive=self._addable(shown)))

    def _changed(self, lang: str, lookup_value: str | None) -> tuple:
        """After an add or a remove: the list, the remove dropdown and the Lookup tab's documents (its
        choice kept while that document is still served)."""
        listed = documents.list_documents(self.settings)
        served = self.live.current.browser.doc_choices(lang)
        keep = lookup_value if lookup_value in {key for _, key in served} else (served[0][1] if served else None)
        return (
            render.documents_html([d.to_json() for d in listed], lang),
            gr.update(choices=self._pick_choices(listed), value=None),
            gr.update(choices=served, value=keep),
        )

    def _served(self, key: str, present: bool) -> bool:
        """Serve the generation just published (unless the periodic reload already did): whether the
        served index now has (``present``) or no longer has the document ``key``."""
        self.live.refresh()
        return (key in self.live.current.engine.index.doc_by_key) == present

    @staticmethod
    def _addable(shown: dict | None) -> bool:
        return bool(shown) and not shown["preview"]["problems"] and not shown["preview"]["duplicate_of"]

    @staticmethod
    def _preview_view(shown: dict | None, lang: str) -> str:
        if not shown:
            return render.muted(t(lang, "docs_upload_hint"))
        return render.preview_html(shown["preview"], shown["file"], lang)

    @staticmethod
    def _error(lang: str, key: str, **fields: str) -> str:
        return render.outcome_html(t(lang, key, **fields), (), lang, "error")

    def _upload_label(self, lang: str) -> str:
        return t(lang, "docs_upload", size=size_text(self.settings.max_upload_bytes))

    @staticmethod
    def _language_choices(lang: str) -> list[tuple[str, str]]:
        return [(language_name(lang, code), code) for code in LANGUAGES]

    @staticmethod
    def _kind_choices(lang: str) -> list[tuple[str, str]]:
        return [(t(lang, f"kind_name_{kind}"), kind) for kind in KINDS]

    @staticmethod
    def _pick_choices(listed) -> list[tuple[str, str]]:
        return [(f"{d.key} — {d.symbol}", d.key) for d in listed]
