"""HTML for the UI panels. Every piece of text put into HTML goes through ``esc`` (html.escape).

Document text, labels, refs and user questions are data, never markup: a question or a
document containing ``<script>`` is shown as those characters and cannot run. Clickable
elements carry their target in ``data-*`` attributes (escaped too); one page-level script in
ui/app.py turns a click into a server event, so no inline handlers are ever emitted.
"""

from __future__ import annotations

import html
import re

from ui.i18n import language_name, t


def esc(value: object) -> str:
    """Text -> HTML text, quotes included (safe inside attribute values)."""
    return html.escape("" if value is None else str(value), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_LIST_START = re.compile(r"^(\s*)(\d+)\.", re.MULTILINE)
_BULLET_START = re.compile(r"^(\s*)([-+*])", re.MULTILINE)


# The Chatbot's Markdown (GFM) turns "https://…", "www.…" and "a@b.c" in plain text into links, and
# keeps the Markdown escapes above inside them: "human\_trafficking" in the href and on screen. The
# character each autolink starts from, written as an entity, keeps it text; the browser shows the
# character itself.
_AUTOLINK_START = re.compile(r"://|(www)\.|@", re.IGNORECASE)


def _no_autolink(match: re.Match) -> str:
    if match.group(1):
        return f"{match.group(1)}&#46;"
    return "&#58;//" if match.group(0) == "://" else "&#64;"


def _inert(text: str) -> str:
    out = _MD_SPECIAL.sub(r"\\\1", text)
    out = _LIST_START.sub(r"\1\2\\.", out)
    out = _BULLET_START.sub(r"\1\\\2", out)
    # esc last, so no entity (&#x27;) is split by a Markdown escape; the autolink entities after it
    return _AUTOLINK_START.sub(_no_autolink, esc(out))


_STRUCTURE = re.compile(r"^(#{1,6} |> ?)(.*)$")


def chat_text(text: str, structure: bool = False) -> str:
    """Text for a Chatbot message (rendered as Markdown): HTML-escaped, Markdown-inert.

    The reader sees exactly the characters of ``text``: "<script>" stays "<script>", "*" stays
    "*", and a "8." at the start of a line is not turned into a numbered list. With ``structure``
    (answers), a line's leading "## " (a document heading) or "> " (a quotation) keeps its
    Markdown meaning; the rest of that line is inert all the same.
    """
    if not structure:
        return _inert(text)
    lines = []
    for line in text.split("\n"):
        match = _STRUCTURE.match(line)
        lines.append(match.group(1) + _inert(match.group(2)) if match else _inert(line))
    return "\n".join(lines)


def ref_button(ref: str, text: str, target: str, css: str = "pp-ref") -> str:
    """A pinpoint the user can click: the page script sends ``ref`` to the ``target`` panel."""
    return (
        f'<button type="button" class="{esc(css)}" data-ref="{esc(ref)}" data-target="{esc(target)}" '
        f'title="{esc(ref)}">{esc(text)}</button>'
    )


def copy_button(text: str, lang: str, label_key: str = "copy") -> str:
    """A button that copies ``text`` (a citation string, an answer) to the clipboard, exactly."""
    return (
        f'<button type="button" class="pp-copy" data-copy="{esc(text)}" data-done="{esc(t(lang, "copied"))}" '
        f'title="{esc(text[:300])}">{esc(t(lang, label_key))}</button>'
    )


def notice(text: str, lang: str, kind: str = "notice") -> str:
    return f'<div class="pp-{esc(kind)}"><b>{esc(t(lang, kind))}:</b> {esc(text)}</div>'


def _label_rows(record: dict, lang: str) -> str:
    rows = []
    for key in ("en", "zh"):
        label = record["labels"][key]
        rows.append(
            f'<div class="pp-label" data-lang="{key}"><span class="pp-label-name">{esc(t(lang, "label_" + key))}</span> '
            f'<span class="pp-label-text" lang="{key}">{esc(label)}</span> {copy_button(label, lang)}</div>'
        )
    return "".join(rows)


def unit_card(record: dict, lang: str, target: str, selected: bool = False) -> str:
    """One unit verbatim: both labels (with copy), the parent's lead-in, the text, cross-references."""
    parts = [
        f'<div class="pp-card{" pp-selected" if selected else ""}" data-unit="{esc(record["ref"])}">',
        f'<div class="pp-card-head"><code class="pp-refcode">{esc(record["ref"])}</code>'
        + (f' <span class="pp-badge">{esc(t(lang, "selected"))}</span>' if selected else "")
        + "</div>",
        _label_rows(record, lang),
    ]
    if record.get("lead_in"):
        parts.append(
            f'<div class="pp-leadin"><span class="pp-label-name">{esc(t(lang, "lead_in"))}</span> '
            f'<span class="pp-verbatim">{esc(record["lead_in"])}</span></div>'
        )
    parts.append(f'<blockquote class="pp-text pp-verbatim">{esc(record["text"])}</blockquote>')
    if record.get("links"):
        links = " ".join(ref_button(link["ref"], link["labels"][lang], target) for link in record["links"])
        parts.append(f'<div class="pp-links"><span class="pp-label-name">{esc(t(lang, "links"))}</span> {links}</div>')
    parts.append(_translation_block(record, lang))
    for version in record.get("versions", ()):
        parts.append(
            f'<div class="pp-version"><span class="pp-label-name">{esc(t(lang, "version", language=language_name(lang, version["language"])))}</span> '
            f'{ref_button(version["ref"], version["labels"][lang], target)}'
            f'<blockquote class="pp-text pp-verbatim" lang="{esc(version["language"])}">{esc(version["text"])}</blockquote></div>'
        )
    parts.append("</div>")
    return "".join(parts)


def _translation_block(record: dict, lang: str) -> str:
    """The unit's unofficial translation into the interface language, below the verbatim text and
    labelled as what it is; or a line saying it has none (never a quotation, never a citation)."""
    rendered = [tr for tr in record.get("translations", ()) if not tr["official"] and tr["lang"] == lang]
    official = [tr for tr in record.get("translations", ()) if tr["official"] and tr["lang"] == lang]
    if official or record.get("language") == lang:
        return ""  # an official version is shown as such (versions), or the unit is in this language
    if rendered:
        return (
            f'<div class="pp-rendering" lang="{esc(lang)}"><span class="pp-label-name">{esc(t(lang, "unofficial_translation"))}</span>'
            f'<div class="pp-rendering-text">{esc(rendered[0]["text"])}</div></div>'
        )
    if record.get("language"):
        return f'<div class="pp-muted">{esc(t(lang, "no_rendering", language=language_name(lang, lang)))}</div>'
    return ""


def citations_html(result: dict | None, lang: str) -> str:
    """The pinpoints an answer cites, as clickable chips (they open the unit in the sources panel)."""
    if not result:
        return f'<div class="pp-muted">{esc(t(lang, "citations_hint"))}</div>'
    parts = []
    if result.get("notice"):
        parts.append(notice(result["notice"], lang))
    citations = result.get("citations") or []
    if not citations:
        parts.append(f'<div class="pp-muted">{esc(t(lang, "no_citations"))}</div>')
    else:
        chips = " ".join(ref_button(c["ref"], c["label"], "sources", "pp-ref pp-cite") for c in citations)
        parts.append(f'<div class="pp-chips">{chips}</div>')
        parts.append(f'<div class="pp-muted">{esc(t(lang, "citations_hint"))}</div>')
    if result.get("answer"):
        parts.append(f'<div class="pp-answer-copy">{copy_button(result["answer"], lang, "copy_answer")}</div>')
    return "".join(parts)


def sources_html(records: list[dict], lang: str, selected: str | None = None, retrieved: list[dict] | None = None) -> str:
    """The sources panel: the selected unit first, then every other cited unit, then other retrieved refs."""
    if not records and not selected:
        return f'<div class="pp-muted">{esc(t(lang, "sources_empty"))}</div>'
    ordered = sorted(records, key=lambda r: r["ref"] != selected)
    parts = [unit_card(r, lang, "sources", selected=r["ref"] == selected) for r in ordered]
    cited = {r["ref"] for r in records}
    others = [r for r in (retrieved or []) if r["ref"] not in cited]
    if others:
        chips = " ".join(ref_button(r["ref"], r["ref"], "sources", "pp-ref pp-small") for r in others)
        parts.append(f'<div class="pp-retrieved"><span class="pp-label-name">{esc(t(lang, "retrieved"))}</span> {chips}</div>')
    return "".join(parts)


def neighbours_html(nb: dict, lang: str) -> str:
    """Previous / next sibling, parent and children of a unit, each clickable (opens it in Lookup)."""

    def chips(items: list[tuple[str, str]]) -> str:
        if not items:
            return f'<span class="pp-muted">{esc(t(lang, "none"))}</span>'
        return " ".join(ref_button(ref, label, "lookup", "pp-ref pp-small") for ref, label in items)

    rows = [
        ("prev", [nb["prev"]] if nb.get("prev") else []),
        ("next", [nb["next"]] if nb.get("next") else []),
        ("parent", [nb["parent"]] if nb.get("parent") else []),
        ("children", nb.get("children") or []),
    ]
    body = "".join(
        f'<div class="pp-nb"><span class="pp-label-name">{esc(t(lang, key))}</span> {chips(items)}</div>' for key, items in rows
    )
    of = f' <span class="pp-label-name">{esc(nb["self"][1])}</span>' if nb.get("self") else ""
    return f'<div class="pp-neighbours"><div class="pp-h">{esc(t(lang, "neighbours"))}{of}</div>{body}</div>'


def unknown_html(query: str, suggestions: list[tuple[str, str]], lang: str) -> str:
    """An unknown reference, and the nearest existing units ((ref, label) pairs), each clickable."""
    chips = " ".join(ref_button(ref, label, "lookup", "pp-ref pp-small") for ref, label in suggestions)
    return (
        f'<div class="pp-error"><b>{esc(t(lang, "unknown_ref", query=query))}</b>'
        + (f'<div>{esc(t(lang, "nearest"))} {chips}</div>' if suggestions else "")
        + "</div>"
    )


def matches_html(query: str, matches: list[dict], lang: str, heading: str = "matches") -> str:
    """Several units under one heading: a phrase's best matches, or the units a range names."""
    if not matches:
        return f'<div class="pp-muted">{esc(t(lang, "no_match"))}</div>'
    head = f'<div class="pp-h">{esc(t(lang, heading))}: <q>{esc(query)}</q></div>'
    return head + "".join(unit_card(m, lang, "lookup") for m in matches)


def muted(text: str) -> str:
    return f'<div class="pp-muted">{esc(text)}</div>'


def outline_html(choices: list[tuple[str, str]], current: str | None) -> str:
    """A whole document as a list of its units (indented by depth), each opening that unit."""
    rows = [
        ref_button(ref, text, "lookup", "pp-ref pp-current" if ref == current else "pp-ref") for text, ref in choices
    ]
    return f'<div class="pp-outline">{"".join(rows)}</div>'


# --- the Documents tab --------------------------------------------------------------------------

OPENING_CHARS = 90  # of a unit's first line in a preview: enough to recognise it, short enough to scan


def _items(items, css: str = "") -> str:
    return f'<ul class="{esc(css)}">' + "".join(f"<li>{esc(item)}</li>" for item in items) + "</ul>"


def preview_html(preview: dict, filename: str, lang: str) -> str:
    """What adding a file would register (``services.documents.Preview.to_json()``): its numbering and unit
    count, the first units with their refs and opening words, then its problems (each naming its line),
    warnings, or the document that already has its content."""
    doc = preview["document"]
    parts = [f'<div class="pp-doc-preview"><div class="pp-h">{esc(t(lang, "docs_preview", file=filename))}</div>']
    if preview.get("problems"):
        parts.append(f'<div class="pp-error"><b>{esc(t(lang, "docs_problems"))}</b>{_items(preview["problems"], "pp-problems")}</div>')
    if preview.get("duplicate_of"):
        parts.append(notice(t(lang, "docs_duplicate", key=preview["duplicate_of"]), lang))
    if not preview.get("problems"):
        parts.append(
            f'<div class="pp-nb"><span class="pp-label-name">{esc(t(lang, "docs_numbering"))}</span> '
            f'<span class="pp-doc-kind">{esc(t(lang, "kind_" + doc["kind"]))}</span> · '
            f'<b class="pp-doc-units">{esc(t(lang, "docs_units", count=str(preview["units"])))}</b></div>'
        )
    if preview.get("first_units"):
        head = "".join(f"<th>{esc(t(lang, key))}</th>" for key in ("docs_ref", "docs_label", "docs_line", "docs_opening"))
        rows = []
        for unit in preview["first_units"]:
            line = (unit["text"].strip().splitlines() or [""])[0]
            opening = line if len(line) <= OPENING_CHARS else line[:OPENING_CHARS] + "…"
            rows.append(
                f'<tr data-ref="{esc(unit["ref"])}"><td><code>{esc(unit["ref"])}</code></td>'
                f'<td>{esc(unit["label_" + lang])}</td>'
                f'<td>{esc(unit["line"])}</td><td class="pp-verbatim">{esc(opening)}</td></tr>'
            )
        parts.append(
            f'<div class="pp-h">{esc(t(lang, "docs_first_units"))}</div>'
            f'<table class="pp-table pp-first-units"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
        )
    if preview.get("warnings"):
        parts.append(f'<div class="pp-notice"><b>{esc(t(lang, "docs_warnings"))}:</b>{_items(preview["warnings"])}</div>')
    parts.append("</div>")
    return "".join(parts)


def outcome_html(text: str, warnings: list[str] | tuple[str, ...], lang: str, kind: str = "notice") -> str:
    """The outcome of an add or a remove (``kind`` "notice") or why it failed ("error"), with any warnings."""
    extra = _items(warnings) if warnings else ""
    return f'<div class="pp-{esc(kind)} pp-outcome"><b>{esc(t(lang, kind))}:</b> {esc(text)}{extra}</div>'


def documents_html(documents: list[dict], lang: str) -> str:
    """The corpus's documents (``services.documents.DocumentInfo.to_json()``), one table row each."""
    columns = ("key", "symbol", "language", "kind", "units", "renderings")
    head = "".join(f"<th>{esc(t(lang, 'docs_col_' + c))}</th>" for c in columns)
    rows = []
    for d in documents:
        units = t(lang, "docs_not_indexed") if d["units"] is None else str(d["units"])
        renderings = ", ".join(language_name(lang, code) for code in d["renderings"]) or t(lang, "none")
        cells = (
            f"<code>{esc(d['key'])}</code>", esc(d["symbol"]), esc(language_name(lang, d["language"])),
            esc(t(lang, "kind_name_" + d["kind"])), esc(units), esc(renderings),
        )
        rows.append(f'<tr data-key="{esc(d["key"])}">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<table class="pp-table pp-documents"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
