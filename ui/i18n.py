"""Interface labels in Chinese and English, and how the interface language is chosen.

Only interface text lives here; document text is never translated. ``PINPOINT_UI_LANG`` is
"auto" (the browser's Accept-Language), "zh" or "en"; the user can switch in the page.
"""

from __future__ import annotations

LANGS = ("zh", "en")

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Pinpoint",
        "subtitle": "Cited answers from UN documents on trafficking in persons, in Chinese and English.",
        "ui_lang": "Interface language",
        "tab_chat": "Chat",
        "tab_lookup": "Lookup (drafting)",
        "tab_eval": "Evaluation",
        "backend": "Answer backend",
        "chatbot": "Conversation",
        "question": "Your question",
        "question_ph": "Ask in Chinese or English, e.g. 受害人能否获得免费法律代理？",
        "send": "Ask",
        "new_chat": "New conversation",
        "examples": "Example questions",
        "citations": "Citations in the answer",
        "citations_hint": "Click a pinpoint to show that unit in the sources panel.",
        "sources": "Sources",
        "sources_empty": "Ask a question: the units the answer cites appear here, verbatim.",
        "no_citations": "No citation: the documents do not answer this question.",
        "retrieved": "Other retrieved units",
        "selected": "Selected",
        "label_en": "Citation (English)",
        "label_zh": "Citation (Chinese)",
        "lead_in": "Lead-in (parent)",
        "links": "Cross-references",
        "version": "{language} version",
        "unofficial_translation": "Unofficial translation / 非官方译文",
        "no_rendering": "This unit has no {language} translation yet.",
        "language_en": "English",
        "language_zh": "Chinese",
        "copy": "Copy",
        "copy_answer": "Copy the answer",
        "copied": "Copied",
        "notice": "Note",
        "error": "Error",
        "lookup_query": "Reference or phrase",
        "lookup_ph": "7(c), 第8段(j)项, art. 6(3)(d), or a phrase such as free legal representation",
        "lookup_go": "Look up",
        "lookup_result": "Text",
        "lookup_empty": "Enter a reference or a phrase, or browse a document below.",
        "neighbours": "Neighbouring units",
        "prev": "Previous",
        "next": "Next",
        "parent": "Parent",
        "children": "Children",
        "none": "none",
        "browse": "Browse a document",
        "document": "Document",
        "unit": "Paragraph / article",
        "unknown_ref": "There is no unit {query} in the corpus.",
        "nearest": "Nearest existing references:",
        "matches": "Best-matching units for the phrase",
        "range_units": "Units the reference names",
        "no_match": "Nothing in the documents matches this phrase.",
        "eval_title": "Latest retrieval evaluation",
        "eval_refresh": "Reload report",
        "eval_missing": "No evaluation report yet: run `python -m eval` to create eval/reports/retrieval-questions.md.",
        "eval_chart": "Chart",
        "empty_question": "The question is empty.",
        "tab_docs": "Documents",
        "docs_upload": "Add a document: .txt, .md, .pdf (with a text layer) or .docx, at most {size}",
        "docs_upload_hint": "Upload a file: Pinpoint shows what it reads in it before anything is added.",
        "docs_key": "Key (the refs' prefix)",
        "docs_symbol": "UN symbol",
        "docs_language": "Language",
        "docs_kind": "Kind",
        "docs_title_en": "Title (English)",
        "docs_title_zh": "Title (Chinese)",
        "docs_repreview": "Check again with these values",
        "docs_add": "Add to the corpus",
        "docs_preview": "What Pinpoint reads in {file}",
        "docs_numbering": "Numbering",
        "kind_report": "report: numbered paragraphs with (a), (b) … items",
        "kind_treaty": "treaty: articles with their paragraphs",
        "docs_units": "{count} units",
        "docs_first_units": "The first units",
        "docs_ref": "Ref",
        "docs_label": "Citation",
        "docs_line": "Line",
        "docs_opening": "Opening words",
        "docs_problems": "Not a document Pinpoint can cite; fix the file and upload it again:",
        "docs_warnings": "Warnings",
        "docs_duplicate": "This file is already in the corpus as {key}; adding it changes nothing.",
        "docs_gone": "The uploaded file is gone (the upload expired or the page was reloaded): upload it again.",
        "docs_added": "Added {key} ({symbol}): {units} units, {embedded} windows embedded, {reused} reused; served now (index {generation}).",
        "docs_not_served": "The index was updated ({generation}), but this server could not load it and still serves the previous one; see the server log.",
        "docs_removed": "Removed {key} ({symbol}); served now (index {generation}).",
        "docs_write_failed": "The corpus or the index could not be written ({error}); nothing changed.",
        "docs_list": "Documents in the corpus",
        "docs_col_key": "Key",
        "docs_col_symbol": "Symbol",
        "docs_col_language": "Language",
        "docs_col_kind": "Kind",
        "docs_col_units": "Units",
        "docs_col_renderings": "Translations",
        "docs_not_indexed": "not indexed",
        "docs_remove_pick": "Document to remove",
        "docs_remove": "Remove…",
        "docs_remove_question": "Remove {key} ({symbol})? Its entry in documents.toml and its file {file} are deleted and the corpus is ingested again.",
        "docs_remove_confirm": "Yes, remove it",
        "docs_cancel": "Cancel",
        "docs_pick_first": "Choose a document first.",
        "kind_name_report": "report",
        "kind_name_treaty": "treaty",
        "progress_ingest": "Ingesting the corpus",
        "progress_load": "Loading the new index",
    },
    "zh": {
        "title": "Pinpoint",
        "subtitle": "基于联合国打击贩运人口文件的引注式问答，中英双语。",
        "ui_lang": "界面语言",
        "tab_chat": "问答",
        "tab_lookup": "查引（起草）",
        "tab_eval": "评估",
        "backend": "回答引擎",
        "chatbot": "对话",
        "question": "您的问题",
        "question_ph": "可用中文或英文提问，例如 Where should victims of trafficking be housed?",
        "send": "提问",
        "new_chat": "新对话",
        "examples": "示例问题",
        "citations": "回答中的引注",
        "citations_hint": "点击引注，在来源栏中查看该段原文。",
        "sources": "来源",
        "sources_empty": "提问后，回答所引各段的原文将显示在这里。",
        "no_citations": "无引注：文件中没有回答此问题的内容。",
        "retrieved": "其他检索到的段落",
        "selected": "已选",
        "label_en": "引注（英文）",
        "label_zh": "引注（中文）",
        "lead_in": "上级段落引语",
        "links": "交叉引用",
        "version": "{language}文本",
        "unofficial_translation": "非官方译文 / Unofficial translation",
        "no_rendering": "本单元尚无{language}译文。",
        "language_en": "英文",
        "language_zh": "中文",
        "copy": "复制",
        "copy_answer": "复制回答",
        "copied": "已复制",
        "notice": "注意",
        "error": "错误",
        "lookup_query": "引注或词句",
        "lookup_ph": "7(c)、第8段(j)项、art. 6(3)(d)，或词句，如 免费法律代理",
        "lookup_go": "查找",
        "lookup_result": "原文",
        "lookup_empty": "请输入引注或词句，或在下方浏览文件。",
        "neighbours": "相邻段落",
        "prev": "上一项",
        "next": "下一项",
        "parent": "上级",
        "children": "下级",
        "none": "无",
        "browse": "浏览文件",
        "document": "文件",
        "unit": "段 / 条",
        "unknown_ref": "文件中没有 {query} 这一段落。",
        "nearest": "最接近的现有引注：",
        "matches": "与该词句最匹配的段落",
        "range_units": "该引注所指的各段落",
        "no_match": "文件中没有与该词句匹配的内容。",
        "eval_title": "最新检索评估",
        "eval_refresh": "重新载入报告",
        "eval_missing": "尚无评估报告：运行 `python -m eval` 生成 eval/reports/retrieval-questions.md。",
        "eval_chart": "图表",
        "empty_question": "问题为空。",
        "tab_docs": "文件",
        "docs_upload": "添加文件：.txt、.md、.pdf（须有文字层）或 .docx，最大 {size}",
        "docs_upload_hint": "上传文件后，Pinpoint 先显示从中读出的内容，确认后才添加。",
        "docs_key": "键（引注前缀）",
        "docs_symbol": "联合国文号",
        "docs_language": "语言",
        "docs_kind": "类型",
        "docs_title_en": "标题（英文）",
        "docs_title_zh": "标题（中文）",
        "docs_repreview": "按这些值重新检查",
        "docs_add": "添加到文件库",
        "docs_preview": "Pinpoint 从 {file} 读出的内容",
        "docs_numbering": "编号",
        "kind_report": "报告：编号段落及 (a)、(b) …… 项",
        "kind_treaty": "条约：条及其各款",
        "docs_units": "{count} 个单元",
        "docs_first_units": "前几个单元",
        "docs_ref": "引注代码",
        "docs_label": "引注",
        "docs_line": "行",
        "docs_opening": "开头",
        "docs_problems": "这不是 Pinpoint 能引注的文件；请修改后重新上传：",
        "docs_warnings": "提示",
        "docs_duplicate": "文件库中已有此文件（{key}），添加不会改变任何内容。",
        "docs_gone": "上传的文件已不在（上传已过期或页面已重新载入）：请重新上传。",
        "docs_added": "已添加 {key}（{symbol}）：{units} 个单元，新嵌入 {embedded} 个窗口，沿用 {reused} 个；现已可用（索引 {generation}）。",
        "docs_not_served": "索引已更新（{generation}），但本服务器未能载入，仍在使用之前的索引；请查看服务器日志。",
        "docs_removed": "已删除 {key}（{symbol}）；现已生效（索引 {generation}）。",
        "docs_write_failed": "无法写入文件库或索引（{error}）；未作任何改动。",
        "docs_list": "文件库中的文件",
        "docs_col_key": "键",
        "docs_col_symbol": "文号",
        "docs_col_language": "语言",
        "docs_col_kind": "类型",
        "docs_col_units": "单元数",
        "docs_col_renderings": "译文",
        "docs_not_indexed": "未编入索引",
        "docs_remove_pick": "要删除的文件",
        "docs_remove": "删除……",
        "docs_remove_question": "删除 {key}（{symbol}）？其在 documents.toml 中的条目和文件 {file} 将被删除，文件库将重新编入索引。",
        "docs_remove_confirm": "确认删除",
        "docs_cancel": "取消",
        "docs_pick_first": "请先选择文件。",
        "kind_name_report": "报告",
        "kind_name_treaty": "条约",
        "progress_ingest": "正在编入索引",
        "progress_load": "正在载入新索引",
    },
}

EXAMPLES = [
    "受害人能否获得免费法律代理？",
    "Where should victims of trafficking be housed?",
    "《议定书》如何界定“人口贩运”？",
    "What did the Working Group recommend on non-punishment of victims?",
]


def t(lang: str, key: str, /, **fields: str) -> str:
    """The label ``key`` in ``lang`` (English when the language is unknown)."""
    text = LABELS.get(lang, LABELS["en"])[key]
    return text.format(**fields) if fields else text


def language_name(lang: str, code: str) -> str:
    """A document language's name in the interface language; its code when there is no name for it."""
    return LABELS.get(lang, LABELS["en"]).get(f"language_{code}", code)


def from_accept_language(header: str | None) -> str:
    """"zh" when the browser prefers Chinese over English, else "en" (q-values respected)."""
    best, best_q = "en", -1.0
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        if not tag:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        q -= position * 1e-6  # earlier wins on ties
        primary = tag.split("-")[0]
        if primary in LANGS and q > best_q:
            best, best_q = primary, q
    return best


def choose_language(setting: str, accept_language: str | None) -> str:
    """The interface language: the setting when it names one, else the browser's."""
    setting = (setting or "auto").strip().lower()
    if setting in LANGS:
        return setting
    return from_accept_language(accept_language)
