"""Concurrent users stay apart: 20 chat sessions of the served app at once, and 20 threads of
Engine.retrieve and Answerer.answer.

The conversation history lives in each browser session's gr.State (ui/app.py); the /ask API is
stateless. gradio_client reaches the chat event itself as the undocumented /chat endpoint, and
each Client is one session with its own server-side state, exactly as a browser tab is. Every
session talks about another article; all send the same follow-up ("what does its paragraph 2
say?"), so only its own first turn can make its answer differ from the others'.

The server is the shared one of tests/ui_support.py (over the session's temporary index).
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from ui_support import ui_url

from eval.questions import load_set
from settings import ROOT

USERS = 20
EN_ARTICLES = (5, 7, 11, 14, 15, 16, 17, 18, 19, 20)
ZH_ARTICLES = (2, 3, 8, 14, 15, 16, 17, 18, 19, 20)
FOLLOW_UP = {"en": "What does its paragraph 2 say?", "zh": "它的第2款怎么说？"}
REF = re.compile(r'data-ref="([^"]+)"')

CONVERSATIONS = [("en", n, f"What does article {n} of the Protocol say?") for n in EN_ARTICLES] + [
    ("zh", n, f"《议定书》第{n}条规定了什么？") for n in ZH_ARTICLES
]
assert len(CONVERSATIONS) == USERS


@pytest.fixture(scope="module")
def url(request):
    return ui_url(request.getfixturevalue("session_index")[0])


def _text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def chat(client, question: str) -> dict:
    """One chat turn through the session's /chat event: the transcript shown and the refs on the page."""
    chatbot, _box, citations, sources = client.predict(question, api_name="/chat")
    return {
        "transcript": [(m["role"], _text(m)) for m in chatbot],
        "refs": REF.findall(citations + sources),
        "citations": citations,
        "sources": sources,
    }


def conversation(url: str, first: str, follow_up: str, between: threading.Barrier | None = None) -> tuple[dict, dict]:
    """A new session (Client) asks ``first``, then ``follow_up``; ``between`` holds every session
    between the two turns, so all first turns are in before any follow-up is asked."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    try:
        one = chat(client, first)
        if between is not None:
            between.wait(timeout=600)
        return one, chat(client, follow_up)
    finally:
        client.close()


@pytest.fixture(scope="module")
def sequential(url):
    """Each conversation alone, one after the other: what every session must get under load too."""
    return [conversation(url, first, FOLLOW_UP[lang]) for lang, _, first in CONVERSATIONS]


def test_follow_ups_depend_on_their_own_first_turn(sequential, url):
    """The premise of the isolation test: the same follow-up gives each session another answer, tied to
    the article of its own first question, and a session without that first turn gets something else."""
    from gradio_client import Client

    alone = {}
    for lang, text in FOLLOW_UP.items():
        client = Client(url, verbose=False)
        alone[lang] = chat(client, text)
        client.close()
        assert len(alone[lang]["transcript"]) == 2, "a new session must start with an empty history"
    for (lang, article, first), (one, two) in zip(CONVERSATIONS, sequential, strict=True):
        assert [role for role, _ in two["transcript"]] == ["user", "assistant"] * 2, first
        assert two["transcript"][:2] == one["transcript"], f"{first}: the follow-up lost its first turn"
        own = f"tip-protocol:{article}"
        assert any(ref == own or ref.startswith(own + "(") for ref in two["refs"]), (
            f"{first} -> {FOLLOW_UP[lang]}: no unit of article {article} among {two['refs']}"
        )
        assert (two["refs"], two["transcript"][3]) != (alone[lang]["refs"], alone[lang]["transcript"][1])
    answers = {(tuple(two["refs"]), two["transcript"][3]) for _, two in sequential}
    assert len(answers) == USERS, "two sessions got the same follow-up answer: a mix-up would go unseen"


def test_twenty_concurrent_sessions_keep_their_own_history(sequential, url):
    between = threading.Barrier(USERS)
    with ThreadPoolExecutor(USERS) as pool:
        futures = [
            pool.submit(conversation, url, first, FOLLOW_UP[lang], between) for lang, _, first in CONVERSATIONS
        ]
        concurrent = [f.result(timeout=900) for f in futures]
    for i, ((_, _, first), got, alone) in enumerate(zip(CONVERSATIONS, concurrent, sequential, strict=True)):
        if got == alone:
            continue
        other = [CONVERSATIONS[j][2] for j, seq in enumerate(sequential) if seq[1] == got[1] and j != i]
        pytest.fail(
            f"session {i} ({first!r}) got another answer under load than alone"
            + (f": that of {other}" if other else "")
            + f"\nalone: {alone[1]['transcript']}\nunder load: {got[1]['transcript']}"
        )


def test_concurrent_engine_asks_match_sequential(session_engine, session_settings):
    """Retrieval shares the embedders, the Chroma client and the BM25 index between request threads,
    and the answerer its engine and label map: 20 threads asking at once must get exactly what one
    thread gets (the retrieval, scores and all, and the whole answer)."""
    from services.answer import Answerer

    answerer = Answerer(session_engine, session_settings)

    def ask(question: str):
        return session_engine.retrieve(question), answerer.answer(question).to_json()

    rows = load_set(ROOT / "eval" / "sets" / "questions.jsonl")
    questions = [r["question"] for r in rows if r["lang"] == "zh"][:20] + [r["question"] for r in rows if r["lang"] == "en"][:20]
    expected = [ask(q) for q in questions]
    with ThreadPoolExecutor(USERS) as pool:
        results = list(pool.map(ask, questions * 3))
    for i, result in enumerate(results):
        assert result == expected[i % len(questions)], f"thread result differs for {questions[i % len(questions)]!r}"
