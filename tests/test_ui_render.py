"""UI building blocks without a server: escaping, language choice, binding rules."""

from __future__ import annotations

import re

import pytest

from ui import render
from ui.binding import BindingRefused, check_binding
from ui.i18n import LABELS, choose_language, from_accept_language

RECORD = {
    "ref": "report:7(c)",
    "text": "<script>alert(1)</script> & \"quoted\" <img src=x onerror=alert(2)>",
    "labels": {"en": "para. 7 (c) <x-en>", "zh": "第7段(c)项 <x-zh>"},
    "lead_in": "7. <x-lead>lead</x-lead>",
    "links": [{"ref": "x:\"1\"", "labels": {"en": "<x-link>link</x-link>", "zh": "<x-link>链接</x-link>"}}],
}


def test_every_text_in_html_is_escaped():
    for html in (
        render.unit_card(RECORD, "en", "sources", selected=True),
        render.sources_html([RECORD], "zh", "report:7(c)", [{"ref": "<x-a>", "score": 1}]),
        render.citations_html({"citations": [{"ref": "<x-r>", "label": "<x-l>", "quote": "q"}], "notice": "<x-n>"}, "en"),
        render.unknown_html("<x-q>", [("<x-s>", "<x-s>")], "en"),
        render.matches_html("<x-q>", [RECORD], "zh"),
        render.neighbours_html({"prev": ("<x-p>", "<x-p>"), "next": None, "parent": None, "children": []}, "en"),
        render.outline_html([("<x-t>", "<x-r>")], "<x-r>"),
    ):
        for raw in ("<script", "<img", "<x-"):
            assert raw not in html, (raw, html)
    card = render.unit_card(RECORD, "en", "sources")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;" in card
    assert 'data-ref="x:&quot;1&quot;"' in card  # attribute values cannot be broken out of


def test_chat_text_is_inert_markdown_and_html():
    out = render.chat_text("<script>window.__x=1</script>\n8. item *bold* [link](http://x)\n- dash")
    assert "<" not in out and ">" not in out
    assert "8\\." in out and "\\*bold\\*" in out and "\\[link\\]" in out and "\\- dash" in out


def test_language_choice():
    assert from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert from_accept_language("fr-FR,fr;q=0.9") == "en"
    assert from_accept_language("fr;q=1,zh-TW;q=0.5,en;q=0.4") == "zh"
    assert from_accept_language("") == "en"
    assert choose_language("zh", "en-US") == "zh" and choose_language("auto", "zh-CN") == "zh"
    assert set(LABELS["en"]) == set(LABELS["zh"])


def test_binding_rules():
    assert check_binding("127.0.0.1", "") is None
    assert check_binding("localhost", "a:b") == ("a", "b")
    assert check_binding("0.0.0.0", "user:pa:ss") == ("user", "pa:ss")
    with pytest.raises(BindingRefused, match="PINPOINT_AUTH"):
        check_binding("0.0.0.0", "")
    with pytest.raises(BindingRefused, match="user:password"):
        check_binding("127.0.0.1", "justuser")


def test_answer_structure_survives_but_stays_inert():
    out = render.chat_text("## CTOC/COP <b>\n> quoted <script>x</script> *a*\n8. item", structure=True)
    lines = out.split("\n")
    assert lines[0].startswith("## ") and "<b>" not in out and "&lt;b&gt;" in lines[0]
    assert lines[1].startswith("> ") and "<script>" not in lines[1] and "\\*a\\*" in lines[1]
    assert lines[2].startswith("8\\.")
    assert render.chat_text("## not a heading in a question").startswith("\\#\\# ")


RENDERED = "(c) Place victims <b>without delay</b> in safe shelters;"
CHINESE_UNIT = {
    "ref": "report:7(c)",
    "text": "(c) 毫不拖延地将受害人安置在安全的收容所或其他适当住处；",
    "labels": {"en": "CTOC/COP/WG.4/2017/4, para. 7 (c)", "zh": "CTOC/COP/WG.4/2017/4，第7段(c)项"},
    "lead_in": "7. 工作组建议缔约方会议审议是否采纳以下建议：",
    "language": "zh",
    "links": [],
    "translations": [{"lang": "en", "text": RENDERED, "official": False, "source": "Pinpoint team, unofficial translation"}],
}


def _blockquotes(html: str) -> list[str]:
    return re.findall(r"<blockquote[^>]*>(.*?)</blockquote>", html, re.S)


def test_a_unit_in_the_other_language_shows_its_rendering_below_the_verbatim_text_labelled_unofficial():
    html = render.unit_card(CHINESE_UNIT, "en", "sources")
    shown = "(c) Place victims &lt;b&gt;without delay&lt;/b&gt; in safe shelters;"
    assert shown in html and "<b>" not in html  # escaped, as every text
    assert 'class="pp-rendering"' in html and "Unofficial translation / 非官方译文" in html
    assert html.index("pp-text pp-verbatim") < html.index('class="pp-rendering"')  # below the official text
    assert all(shown not in quote and "Place victims" not in quote for quote in _blockquotes(html))  # never quoted
    assert any(CHINESE_UNIT["text"] in quote for quote in _blockquotes(html))


def test_no_rendering_is_shown_in_the_units_own_language_and_a_missing_one_is_said():
    html = render.unit_card(CHINESE_UNIT, "zh", "sources")
    assert "pp-rendering" not in html and "Place victims" not in html
    bare = {**CHINESE_UNIT, "translations": []}
    html = render.unit_card(bare, "en", "sources")
    assert "pp-rendering" not in html and "This unit has no English translation yet." in html
    html = render.unit_card({**bare, "language": "en", "ref": "tip-protocol:6(3)(d)"}, "zh", "sources")
    assert "本单元尚无中文译文。" in html


def test_an_official_version_is_shown_as_the_version_not_as_a_rendering():
    official = {**CHINESE_UNIT, "translations": [{"lang": "en", "text": "(c) Official.", "official": True, "source": "report-en:7(c)"}],
                "versions": [{"ref": "report-en:7(c)", "language": "en", "text": "(c) Official.", "labels": CHINESE_UNIT["labels"]}]}
    html = render.unit_card(official, "en", "sources")
    assert "pp-rendering" not in html and "非官方译文" not in html
    assert any("(c) Official." in quote for quote in _blockquotes(html))  # an official text is verbatim

