"""The Answerer (services/answer.py) on the session index: extractive answers in both languages,
traditional Chinese, two-turn condensing, streaming, and falling back when the model fails."""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import threading
import time

import pytest
from answer_support import CJK, UNOFFICIAL_LABEL, is_quoted, own_words, quote_lines, short_answer

from services.answer import Answerer
from services.conversation import rule_condense, to_traditional
from services.prompts import template
from services.results import Answer

ANSWER_KEYS = {
    "question", "language", "answer", "answerable", "confidence", "citations", "closest", "retrieved",
    "backend", "standalone_question", "notice", "flags",
}  # fmt: skip


@pytest.fixture(scope="module")
def answerer(session_engine, session_settings) -> Answerer:
    return Answerer(session_engine, session_settings)


def ask(answerer: Answerer, question: str, history: list[dict] | None = None) -> dict:
    """The `ask --json` contract of the answer."""
    answer = answerer.answer(question, history)
    assert isinstance(answer, Answer)
    return answer.to_json()


def check_answer(engine, result: dict, language: str, sources: dict[str, str]) -> None:
    assert set(result) == ANSWER_KEYS
    assert result["language"] == language
    assert result["backend"] == "extractive"
    retrieved = [r["ref"] for r in result["retrieved"]]
    for citation in result["citations"]:
        assert citation["ref"] in retrieved
        unit = engine.index.by_ref[citation["ref"]]
        assert citation["quote"] == unit.text
        assert citation["quote"] in sources[unit.doc]
        assert citation["label"] == (unit.label_zh if language == "zh" else unit.label_en)
        assert citation["label"] in result["answer"] and is_quoted(citation["quote"], result["answer"])


def top(result: dict, n: int = 5) -> list[str]:
    return [r["ref"] for r in result["retrieved"][:n]]


def rendered(citation: dict) -> bool:
    """The citation's unit is in the other language and carries an unofficial rendering."""
    return "translation" in citation and not citation["translation"]["official"]


def check_layout(settings, result: dict, traditional: bool = False) -> None:
    """An extractive answer: the short answer (one line per cited unit, each ending with its label, and
    marked when it comes from an unofficial rendering), then the lead, then the verbatim quotes."""
    language, citations = result["language"], result["citations"]
    script = to_traditional if traditional else (lambda text: text)
    mark = template(settings.prompts_dir, language, "unofficial_mark").format()
    name = "summary_rendered" if any(rendered(c) for c in citations) else "summary"
    head = script(template(settings.prompts_dir, language, name).format(mark=mark))
    lead = script(template(settings.prompts_dir, language, "extractive_lead").format(count=len(citations)))
    summary, rest = result["answer"].split("\n\n", 1)
    assert summary.split("\n")[0] == head, summary
    assert rest.startswith(lead + "\n\n"), rest[:300]
    bullets = short_answer(result["answer"])
    assert len(bullets) == len(citations) == len(summary.split("\n")) - 1, summary
    shown_mark = script(mark)  # the heading names the mark as the reader sees it: the bullets carry that one
    for bullet, citation in zip(bullets, citations, strict=True):
        label = script(citation["label"])
        cited = f" ({label})" if language == "en" else f"（{label}）"
        assert bullet.endswith(f"{cited} {shown_mark}" if rendered(citation) else cited), (bullet, citation["label"])


# --- extractive answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        ("Where should victims be housed?", "en", {"tip-protocol:6(3)(a)", "report:7(c)"}),
        ("受害人能否获得免费法律代理？", "zh", {"report:8(j)"}),
    ],
)
def test_extractive_answer_cites_verbatim(answerer, session_engine, sources, question, language, expected):
    result = ask(answerer, question)
    check_answer(session_engine, result, language, sources)
    assert result["answerable"] and result["notice"] is None and result["flags"] == [] and result["closest"] == []
    assert expected & {c["ref"] for c in result["citations"]}
    check_layout(answerer.settings, result)
    assert result["standalone_question"] == question


def test_traditional_question_gets_traditional_lead(answerer, session_engine, sources):
    result = ask(answerer, "議定書對遣返被害人有何規定？")
    check_answer(session_engine, result, "zh", sources)
    check_layout(answerer.settings, result, traditional=True)
    lead = template(answerer.settings.prompts_dir, "zh", "extractive_lead").format(count=len(result["citations"]))
    assert to_traditional(lead) != lead
    assert any(r.startswith("tip-protocol:8") for r in top(result))


def test_extractive_stream_pieces_add_up(answerer):
    pieces = list(answerer.stream("Who chaired the meeting?"))
    deltas = [p["delta"] for p in pieces if "delta" in p]
    assert len(deltas) >= 2 and "final" in pieces[-1]
    assert all(set(p) == {"delta"} for p in pieces[:-1]) and set(pieces[-1]) == {"final"}
    assert isinstance(pieces[-1]["final"], Answer)
    assert "".join(deltas) == pieces[-1]["final"].answer


# --- the other language: unofficial renderings beside the verbatim text ------------------------------


def one_line(text: str) -> str:
    """A translation as the answer shows it: on the one line of its label."""
    return text.replace("\n", " ")


def fragments(text: str) -> list[str]:
    """The pieces of ``text`` between punctuation marks (a short answer's sentence drops a unit's
    numbering, closes on a full stop and may lower-case a first letter)."""
    return [f.strip().lower() for f in re.split(r"[,.;:!?，。；：！？、()（）]", text) if f.strip()]


def bullet_words(bullet: str, citation: dict, language: str, mark: str) -> str:
    """A short-answer line without its "- ", its label and its mark."""
    label = f" ({citation['label']})" if language == "en" else f"（{citation['label']}）"
    text = bullet[2:].removesuffix(f" {mark}")
    assert text.endswith(label), bullet
    return text.removesuffix(label)


def check_renderings_stay_out_of_quotes(engine, result: dict) -> None:
    """No rendering is ever quoted or cited: its text is in no "> " line, no label and no quote."""
    renderings = engine.index.renderings
    quoted = quote_lines(result["answer"])
    for citation in result["citations"]:
        unit = engine.index.by_ref[citation["ref"]]
        for ref in (unit.ref, unit.parent):
            rendering = renderings.get(ref or "")
            if rendering is None:
                continue
            for line in filter(None, (rendering.own or rendering.text).split("\n")):
                if len(line) < 12:  # "第6条", "Article 8": a numbering, not a sentence
                    continue
                assert not any(line in q for q in quoted), (ref, line)
                assert line not in citation["label"] and line not in citation["quote"], (ref, line)


@pytest.mark.parametrize(
    "question", ["Where should victims be placed without delay?", "Where should victims be housed?"]
)
def test_an_english_question_about_the_chinese_report_reads_in_english(answerer, session_engine, sources, question):
    result = ask(answerer, question)
    check_answer(session_engine, result, "en", sources)
    check_layout(answerer.settings, result)
    by_ref = session_engine.index.by_ref
    cited = {c["ref"]: c for c in result["citations"]}
    assert "report:7(c)" in cited, list(cited)
    for ref, citation in cited.items():
        if by_ref[ref].lang == "en":
            assert "translation" not in citation  # in the reader's language already
            continue
        rendering = session_engine.index.renderings[ref]
        assert citation["translation"] == {"lang": "en", "text": rendering.text, "official": False, "source": rendering.provenance}
        # below the verbatim text, on one line labelled as what it is
        assert f"Unofficial translation / 非官方译文: {one_line(rendering.text)}" in result["answer"].split("\n")
    # the answer's own words are English: the only Chinese outside the quotes is the fixed bilingual label
    outside = own_words(result["answer"]).replace(UNOFFICIAL_LABEL, "")
    assert not CJK.search(outside), [line for line in outside.split("\n") if CJK.search(line)]
    assert any(CJK.search(line) for line in quote_lines(result["answer"]))  # the report is quoted in Chinese
    # the short answer: 7 (c) in its rendering's own words, marked as unofficial, no Chinese
    mark = template(answerer.settings.prompts_dir, "en", "unofficial_mark").format()
    bullets = dict(zip(cited, short_answer(result["answer"]), strict=True))
    line = bullets["report:7(c)"]
    assert line.endswith(f" (CTOC/COP/WG.4/2017/4, para. 7 (c)) {mark}"), line
    assert "Place victims without delay in safe shelters" in line
    for ref, bullet in bullets.items():
        citation = cited[ref]
        words = bullet_words(bullet, citation, "en", mark)
        source = citation["translation"]["text"] if "translation" in citation else citation["quote"]
        parent = session_engine.index.renderings.get(by_ref[ref].parent or "") if "translation" in citation else None
        source += "\n" + (parent.own if parent else citation.get("lead_in", ""))
        assert all(f in source.lower() for f in fragments(words)), (bullet, source)
    check_renderings_stay_out_of_quotes(session_engine, result)


@pytest.mark.parametrize(
    ("question", "traditional"),
    [("议定书对被害人的身心康复有什么规定？", False), ("議定書對遣返被害人有何規定？", True)],
)
def test_a_chinese_question_about_the_protocol_reads_in_chinese(answerer, session_engine, sources, question, traditional):
    from index.text_norm import language_of

    result = ask(answerer, question)
    check_answer(session_engine, result, "zh", sources)
    check_layout(answerer.settings, result, traditional)
    protocol = [c for c in result["citations"] if c["ref"].startswith("tip-protocol:")]
    assert protocol, result["citations"]
    script = to_traditional if traditional else (lambda text: text)
    for citation in protocol:
        rendering = session_engine.index.renderings[citation["ref"]]
        assert citation["translation"] == {"lang": "zh", "text": rendering.text, "official": False, "source": rendering.provenance}
        assert f"非官方译文 / Unofficial translation：{one_line(script(rendering.text))}" in result["answer"].split("\n")
        assert is_quoted(citation["quote"], result["answer"])  # the English text verbatim, never converted
    # the short answer is Chinese: made of the renderings, each line marked as unofficial
    mark = script(template(answerer.settings.prompts_dir, "zh", "unofficial_mark").format())
    bullets = short_answer(result["answer"])
    assert bullets and all(CJK.search(b) for b in bullets)
    assert language_of("\n".join(bullets)) == "zh" and language_of(own_words(result["answer"])) == "zh"
    for citation, bullet in zip(result["citations"], bullets, strict=True):
        if citation in protocol:
            assert bullet.endswith(mark), bullet
    check_renderings_stay_out_of_quotes(session_engine, result)


@pytest.mark.parametrize(
    "question",
    ["《议定书》第3条规定了什么？", "公约第2条规定了什么？", "议定书对被害人的身心康复有什么规定？", "第7段(c)项和第8段(d)项说了什么？"],
)
def test_a_chinese_short_answer_closes_its_sentences_in_chinese(answerer, question):
    """A sentence taken from a Chinese text ends as Chinese does: "在本议定书中：" closes with "。",
    never with an English full stop after the Chinese colon ("在本议定书中：.")."""
    result = ask(answerer, question)
    bullets = short_answer(result["answer"])
    assert bullets and result["language"] == "zh"
    for bullet in bullets:
        assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]\.", bullet), bullet


@pytest.mark.parametrize(
    "question",
    [
        "What do paras. 7 (c) and 8 (d) say?",
        "第7段(c)项和第8段(d)项说了什么？",
        "What does article 6(3) of the Protocol require?",
        "议定书第6条第3款规定了什么？",
        "What did the working group recommend about shelters for victims?",
    ],
)
def test_no_rendering_is_ever_quoted_or_cited(answerer, session_engine, sources, question):
    result = ask(answerer, question)
    check_answer(session_engine, result, result["language"], sources)
    assert result["citations"]
    check_renderings_stay_out_of_quotes(session_engine, result)
    for citation in result["citations"]:
        translation = citation.get("translation")
        if translation is not None:
            assert translation["text"] != citation["quote"] and not translation["official"]


@pytest.mark.parametrize(
    "question",
    [
        "Where should victims be placed without delay?",
        "议定书对被害人的身心康复有什么规定？",
        "議定書對遣返被害人有何規定？",
        "What does the Firearms Protocol say about marking?",
        "victims \ud800 legal aid",
    ],
)
def test_answer_json_round_trips_with_ensure_ascii_false(answerer, question):
    answer = answerer.answer(question)
    data = answer.to_json()
    text = json.dumps(data, ensure_ascii=False)
    assert json.loads(text) == data
    assert set(data) == ANSWER_KEYS
    assert data["answer"] == answer.answer and data["answerable"] is answer.answerable
    assert [c["ref"] for c in data["citations"]] == [c.ref for c in answer.citations]
    assert data["retrieved"] == [{"ref": ref, "score": round(score, 4)} for ref, score in answer.retrieved]
    assert 0.0 <= data["confidence"] <= 1.0
    text.encode("utf-8")  # nothing unencodable (a lone surrogate is echoed as "?")
    if answer.language == "zh":
        assert CJK.search(text)  # not escaped


# --- declined answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language", "lead", "closest"),
    [
        ("What does the Firearms Protocol say about marking?", "en", "The documents do not say.", "Closest passages (not an answer):"),
        ("《儿童权利公约》对童工的最低就业年龄有什么规定？", "zh", "文件中没有这方面的内容。", "最接近的段落（并非答案）："),
    ],
)
def test_a_declined_answer_says_so_and_lists_the_closest_units(answerer, session_engine, question, language, lead, closest):
    result = ask(answerer, question)
    assert set(result) == ANSWER_KEYS and result["language"] == language
    assert result["answerable"] is False and result["citations"] == []
    assert result["notice"]  # the scope check names the instrument the corpus lacks
    n = answerer.settings.closest_units
    assert result["closest"] == [r["ref"] for r in result["retrieved"][:n]] and len(result["closest"]) == n
    lines = result["answer"].split("\n")
    assert lines[:2] == [lead, closest], lines[:3]
    assert lead == template(answerer.settings.prompts_dir, language, "not_found").format()
    assert len(lines) == 2 + n
    by_ref = session_engine.index.by_ref
    for ref, line in zip(result["closest"], lines[2:], strict=True):
        unit = by_ref[ref]
        prefix = f"- {unit.label(language)}: "
        assert line.startswith(prefix), line
        excerpt = line.removeprefix(prefix)
        flat = unit.text.replace("\n", " ")
        assert excerpt == flat or (excerpt.endswith(" …") and flat.startswith(excerpt.removesuffix(" …"))), line
    assert quote_lines(result["answer"]) == []  # nothing is quoted as if it answered
    pieces = list(answerer.stream(question))
    assert "".join(p["delta"] for p in pieces if "delta" in p) == result["answer"]


# --- conversation -----------------------------------------------------------------------------------


def two_turns(answerer: Answerer, first: str, second: str) -> dict:
    one = ask(answerer, first)
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": one["answer"]}]
    return ask(answerer, second, history)


@pytest.mark.parametrize(
    ("first", "second", "language"),
    [("Who chaired the meeting?", "Which country is she from?", "en"), ("工作组会议的主席是谁？", "她来自哪个国家？", "zh")],
)
def test_follow_up_is_condensed_before_retrieval(answerer, first, second, language):
    result = two_turns(answerer, first, second)
    assert result["question"] == second and result["language"] == language
    assert result["standalone_question"] != second
    assert "report:16" in top(result)


def test_standalone_question_untouched_without_history_or_anaphora():
    history = [{"role": "user", "content": "Who chaired the meeting?"}]
    assert rule_condense("Which country is she from?", None) == "Which country is she from?"
    long_q = "What does the Smuggling of Migrants Protocol say about the criminal liability of migrants?"
    assert rule_condense(long_q, history) == long_q
    assert "chaired" in rule_condense("Which country is she from?", history)


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("有组织犯罪公约中的“严重犯罪”怎么定义？", "那“有组织犯罪集团”呢？", "有组织犯罪公约中的“有组织犯罪集团”怎么定义？"),
        ('What does the Protocol mean by "exploitation"?', 'And "coercion"?', 'What does the Protocol mean by "coercion"?'),
    ],
)
def test_what_about_another_quoted_term_asks_the_previous_question_of_it(first, second, expected):
    assert rule_condense(second, [{"role": "user", "content": first}]) == expected


def test_quoted_terms_are_swapped_only_one_for_one():
    """Without one quoted term on each side there is nothing to swap: the earlier terms are carried."""
    two = [{"role": "user", "content": "How do “coercion” and “deception” differ?"}]
    assert rule_condense("那“欺诈”呢？", two) != "How do “欺诈” and “deception” differ?"
    plain = [{"role": "user", "content": "What does the Protocol say about shelters?"}]
    assert rule_condense('And "coercion"?', plain).endswith('And "coercion"?') and "shelters" in rule_condense('And "coercion"?', plain)


def test_the_answerer_searches_with_the_swapped_question(answerer):
    result = two_turns(answerer, "有组织犯罪公约中的“严重犯罪”怎么定义？", "那“有组织犯罪集团”呢？")
    assert result["question"] == "那“有组织犯罪集团”呢？"
    assert result["standalone_question"] == "有组织犯罪公约中的“有组织犯罪集团”怎么定义？"
    assert all(ref.startswith("untoc:") for ref in top(result))


def test_out_of_scope_notice_follows_the_question_script(answerer):
    simplified = ask(answerer, "《儿童权利公约》对童工的最低就业年龄有什么规定？")
    traditional = ask(answerer, "《兒童權利公約》對童工的最低就業年齡有什麼規定？")
    assert not simplified["answerable"] and not traditional["answerable"]
    assert simplified["notice"] and traditional["notice"] and traditional["notice"] != simplified["notice"]
    assert traditional["notice"] == to_traditional(simplified["notice"])


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("贩运人口议定书什么时候开放签署？", "那偷运移民议定书呢？"),
        ("When was the Trafficking in Persons Protocol opened for signature?", "And the Smuggling Protocol?"),
    ],
)
def test_follow_up_naming_another_document_drops_the_earlier_name(answerer, first, second):
    result = two_turns(answerer, first, second)
    standalone = result["standalone_question"]
    assert "签署" in standalone or "signature" in standalone  # the topic is carried over ...
    assert "贩运人口" not in standalone and "Trafficking" not in standalone  # ... the other document is not
    assert top(result)[0].startswith("som-protocol:"), top(result)


def test_follow_up_on_another_document_carries_what_the_answer_quoted(answerer, session_engine):
    """"that" in "what does the Protocol say on that?" is the report paragraph just quoted (in Chinese):
    its terms, translated into the Protocol's language, go into the standalone question."""
    first = ask(answerer, "What did the working group recommend about shelters for victims?")
    assert first["citations"] and all(c["ref"].startswith("report:") for c in first["citations"])
    history = [{"role": "user", "content": first["question"]}, {"role": "assistant", "content": first["answer"]}]
    result = ask(answerer, "And what does the Protocol itself say on that?", history)
    focus = max(first["citations"], key=lambda c: c["ref"].count("("))["ref"]
    translated = session_engine.index.lexical.lexicon.translate_text(session_engine.index.by_ref[focus].text)
    carried = set(result["standalone_question"].split()) & set(translated.split())
    assert len(carried) >= 3, (focus, translated, result["standalone_question"])
    assert top(result)[0].startswith("tip-protocol:"), top(result)


def test_follow_up_is_checked_for_scope_as_the_user_wrote_it(answerer):
    """The condensed question drops stop words ("Trafficking Persons Protocol"): the scope check must
    read the user's own words, or it declines a question about a document the corpus has."""
    result = two_turns(answerer, "What does article 7 of the Trafficking in Persons Protocol say?", "What does its paragraph 2 say?")
    assert result["answerable"] and result["citations"], result["notice"]
    assert result["notice"] is None


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("What does article 7 of the Trafficking in Persons Protocol say?", "What does its paragraph 2 say?", "tip-protocol:7(2)"),
        ("《贩运人口议定书》第6条第3款规定了什么？", "那(d)项呢？", "tip-protocol:6(3)(d)"),
        ("What does paragraph 7 (c) of the report recommend?", "And (d)?", "report:7(d)"),
        ("What does paragraph 7 (c) of the report recommend?", "What does the next one say?", "report:7(d)"),
        ("《贩运人口议定书》第6条第3款规定了什么？", "下一款呢？", "tip-protocol:6(4)"),
    ],
)
def test_follow_up_reference_is_read_relative_to_the_provision_just_cited(answerer, first, second, expected):
    """"its paragraph 2" after article 7 is 7(2), not article 7 again, and is quoted alone."""
    result = two_turns(answerer, first, second)
    assert [c["ref"] for c in result["citations"]] == [expected], result["standalone_question"]


def test_the_answer_quotes_every_provision_the_question_names(answerer, sources):
    result = ask(answerer, "What do paras. 7 (c) and 8 (d) say?")
    assert [c["ref"] for c in result["citations"]] == ["report:7(c)", "report:8(d)"]
    for citation in result["citations"]:
        assert citation["quote"] in sources["report"] and is_quoted(citation["quote"], result["answer"])


def test_answerer_keeps_no_conversation_state(answerer):
    a = [{"role": "user", "content": "Who chaired the meeting?"}]
    b = [{"role": "user", "content": "How does the Protocol define a child?"}]
    first = answerer.answer("And this?", a).standalone_question
    second = answerer.answer("And this?", b).standalone_question
    assert "chaired" in first and "chaired" not in second and "child" in second


# --- backend failure --------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "sleep":
            time.sleep(8)
        if self.mode == "500":
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"error": {"message": "boom"}}).encode())
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{this is not json")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_server():
    servers = []

    def start(mode: str) -> str:
        handler = type(f"Handler_{mode}", (_Handler,), {"mode": mode})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/v1"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _failing(session_engine, session_settings, base_url: str, timeout: float) -> Answerer:
    settings = dataclasses.replace(
        session_settings,
        backend="openai",
        llm_base_url=base_url,
        llm_model="qwen-test",
        llm_api_key="sk-secret-test-key",
        llm_timeout=timeout,
    )
    return Answerer(session_engine, settings)


@pytest.mark.parametrize("mode", ["closed", "500", "garbage", "sleep"])
def test_backend_failure_falls_back_to_extractive(session_engine, session_settings, fake_server, mode):
    url = f"http://127.0.0.1:{_closed_port()}/v1" if mode == "closed" else fake_server(mode)
    timeout = 3.0
    answerer = _failing(session_engine, session_settings, url, timeout)
    assert answerer.backend_name == "openai:qwen-test"
    start = time.monotonic()
    history = [{"role": "user", "content": "Who chaired the meeting?"}] if mode == "sleep" else None
    result = ask(answerer, "Which country is she from?" if history else "Where should victims be housed?", history)
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 2, f"{mode}: {elapsed:.1f} s"
    assert result["notice"] and "\n" not in result["notice"]
    assert "sk-secret" not in json.dumps(result)
    assert result["answerable"] and result["citations"]
    assert result["backend"] == "openai:qwen-test"
    check_layout(answerer.settings, result)  # the extractive answer
    assert "sk-secret" not in repr(answerer.settings)


# --- the CLI ask path -------------------------------------------------------------------------------


def test_cli_ask_json_uses_the_answerer(session_engine, session_settings, monkeypatch, capsys):
    import app

    monkeypatch.setattr(app.settings_module, "get_settings", lambda: session_settings)
    monkeypatch.setattr(app, "_engine", lambda settings: session_engine)
    assert app.main(["ask", "受害人能否获得免费法律代理？", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"question", "language", "answer", "answerable", "citations", "retrieved", "backend"} <= set(result)
    assert result["language"] == "zh" and result["backend"] == "extractive"
