"""The Answerer (services/answer.py) on the session index: extractive answers in both languages,
traditional Chinese, two-turn condensing, streaming, and falling back when the model fails."""

from __future__ import annotations

import dataclasses
import http.server
import json
import socket
import threading
import time

import pytest

from services.answer import Answerer
from services.conversation import rule_condense, to_traditional
from services.prompts import template

ANSWER_KEYS = {
    "question", "language", "answer", "answerable", "citations", "retrieved",
    "backend", "standalone_question", "notice", "flags",
}  # fmt: skip


@pytest.fixture(scope="module")
def answerer(session_engine, session_settings) -> Answerer:
    return Answerer(session_engine, session_settings)


def check_answer(engine, result: dict, language: str, sources: dict[str, str]) -> None:
    assert ANSWER_KEYS <= set(result)
    assert result["language"] == language
    assert result["backend"] == "extractive"
    retrieved = [r["ref"] for r in result["retrieved"]]
    for citation in result["citations"]:
        assert citation["ref"] in retrieved
        unit = engine.index.by_ref[citation["ref"]]
        assert citation["quote"] == unit.text
        assert citation["quote"] in sources[unit.doc]
        assert citation["label"] == (unit.label_zh if language == "zh" else unit.label_en)
        assert citation["label"] in result["answer"] and citation["quote"] in result["answer"]


def top(result: dict, n: int = 5) -> list[str]:
    return [r["ref"] for r in result["retrieved"][:n]]


# --- extractive answers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "language", "expected"),
    [
        ("Where should victims be housed?", "en", {"tip-protocol:6(3)(a)", "report:7(c)"}),
        ("受害人能否获得免费法律代理？", "zh", {"report:8(j)"}),
    ],
)
def test_extractive_answer_cites_verbatim(answerer, session_engine, sources, question, language, expected):
    result = answerer.answer(question)
    check_answer(session_engine, result, language, sources)
    assert result["answerable"] and result["notice"] is None and result["flags"] == []
    assert expected & {c["ref"] for c in result["citations"]}
    lead = template(answerer.settings.prompts_dir, language, "extractive_lead").format(count=len(result["citations"]))
    assert result["answer"].startswith(lead)
    assert result["standalone_question"] == question


def test_traditional_question_gets_traditional_lead(answerer, session_engine, sources):
    result = answerer.answer("議定書對遣返被害人有何規定？")
    check_answer(session_engine, result, "zh", sources)
    lead = template(answerer.settings.prompts_dir, "zh", "extractive_lead").format(count=len(result["citations"]))
    assert result["answer"].startswith(to_traditional(lead))
    assert to_traditional(lead) != lead
    assert any(r.startswith("tip-protocol:8") for r in top(result))


def test_extractive_stream_pieces_add_up(answerer):
    pieces = list(answerer.stream("Who chaired the meeting?"))
    deltas = [p["delta"] for p in pieces if "delta" in p]
    assert len(deltas) >= 2 and "final" in pieces[-1]
    assert "".join(deltas) == pieces[-1]["final"]["answer"]


# --- conversation -----------------------------------------------------------------------------------


def two_turns(answerer: Answerer, first: str, second: str) -> dict:
    one = answerer.answer(first)
    history = [{"role": "user", "content": first}, {"role": "assistant", "content": one["answer"]}]
    return answerer.answer(second, history)


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
    simplified = answerer.answer("《儿童权利公约》对童工的最低就业年龄有什么规定？")
    traditional = answerer.answer("《兒童權利公約》對童工的最低就業年齡有什麼規定？")
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
    first = answerer.answer("What did the working group recommend about shelters for victims?")
    assert first["citations"] and all(c["ref"].startswith("report:") for c in first["citations"])
    history = [{"role": "user", "content": first["question"]}, {"role": "assistant", "content": first["answer"]}]
    result = answerer.answer("And what does the Protocol itself say on that?", history)
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
    result = answerer.answer("What do paras. 7 (c) and 8 (d) say?")
    assert [c["ref"] for c in result["citations"]] == ["report:7(c)", "report:8(d)"]
    for citation in result["citations"]:
        assert citation["quote"] in sources["report"] and citation["quote"] in result["answer"]


def test_answerer_keeps_no_conversation_state(answerer):
    a = [{"role": "user", "content": "Who chaired the meeting?"}]
    b = [{"role": "user", "content": "How does the Protocol define a child?"}]
    first = answerer.answer("And this?", a)["standalone_question"]
    second = answerer.answer("And this?", b)["standalone_question"]
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
    result = answerer.answer("Which country is she from?" if history else "Where should victims be housed?", history)
    elapsed = time.monotonic() - start
    assert elapsed < timeout + 2, f"{mode}: {elapsed:.1f} s"
    assert result["notice"] and "\n" not in result["notice"]
    assert "sk-secret" not in json.dumps(result)
    assert result["answerable"] and result["citations"]
    lead = template(answerer.settings.prompts_dir, "en", "extractive_lead").format(count=len(result["citations"]))
    assert result["answer"].startswith(lead)
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
