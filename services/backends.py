"""Language-model backends behind one OpenAI-compatible client, with a hard deadline.

- ``openai``: llama-index ``OpenAILike`` at PINPOINT_LLM_BASE_URL / PINPOINT_LLM_MODEL /
  PINPOINT_LLM_API_KEY (the key goes to the client only; it is never logged or shown).
- ``gguf``: the GGUF file at PINPOINT_GGUF_PATH, served by xllamacpp's llama.cpp server on
  127.0.0.1 at a free port (started once per process, on first use), then the same client.
  When PINPOINT_GGUF_SHA256 is set the file's sha256 must match it.

Every call runs in a worker thread and the caller waits on a queue with the time left before
the request's deadline, so no answer waits past PINPOINT_LLM_TIMEOUT whatever the server does
(refuses, stalls, answers 5xx or garbage). Every failure becomes ``BackendError`` with a short
reason the user may see (never the key, never a URL's credentials).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from settings import Settings

log = logging.getLogger(__name__)

BACKENDS = ("extractive", "openai", "gguf")
_DONE = object()


class BackendError(RuntimeError):
    """The model could not answer: unreachable, too slow, an error status, or a malformed reply."""


@dataclass
class Deadline:
    """The moment a request must be answered by."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def left(self) -> float:
        return self.at - time.monotonic()


def backend_label(settings: Settings) -> str:
    """"extractive", "openai:<model>", "gguf:<file stem>"."""
    if settings.backend == "openai":
        return f"openai:{settings.llm_model or 'default'}"
    if settings.backend == "gguf":
        return f"gguf:{Path(settings.gguf_path).stem if settings.gguf_path else 'unset'}"
    return "extractive"


def _reason(exc: BaseException) -> str:
    """A one-line, secret-free description of a failure."""
    name = type(exc).__name__
    status = getattr(exc, "status_code", None)
    if status:
        return f"server error {status}"
    if "Timeout" in name:
        return "timed out"
    if "Connection" in name:
        return "connection failed"
    return f"malformed or failed reply ({name})"


# --- the client ----------------------------------------------------------------------------------


def make_llm(settings: Settings, api_base: str, model: str):
    """llama-index OpenAILike for any OpenAI-compatible server; no retries (the deadline rules)."""
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=model or "default",
        api_base=api_base,
        api_key=settings.llm_api_key or "not-needed",
        is_chat_model=True,
        is_function_calling_model=False,
        context_window=settings.gguf_ctx,
        max_tokens=settings.llm_max_tokens,
        temperature=0.0,
        timeout=max(1.0, settings.llm_timeout),
        max_retries=0,
    )


def _in_thread(work, deadline: Deadline) -> Iterator[object]:
    """Run ``work(put)`` in a daemon thread; yield what it puts until done, error or deadline."""
    box: queue.Queue = queue.Queue()

    def run() -> None:
        try:
            work(box.put)
            box.put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            box.put(exc)

    threading.Thread(target=run, daemon=True, name="pinpoint-llm").start()
    while True:
        left = deadline.left()
        if left <= 0:
            raise BackendError("timed out")
        try:
            item = box.get(timeout=left)
        except queue.Empty:
            raise BackendError("timed out") from None
        if item is _DONE:
            return
        if isinstance(item, BaseException):
            raise BackendError(_reason(item)) from item
        yield item


def stream_chat(llm, messages, deadline: Deadline) -> Iterator[str]:
    """The model's reply in pieces as they arrive; BackendError on failure, timeout or an empty reply."""

    def work(put) -> None:
        for chunk in llm.stream_chat(messages):
            if chunk.delta:
                put(chunk.delta)

    got = False
    for delta in _in_thread(work, deadline):
        got = True
        yield delta
    if not got:
        raise BackendError("empty reply")


def predict(llm, prompt, deadline: Deadline, **kwargs) -> str:
    """One completion of a llama-index prompt template, within the deadline."""
    out = list(_in_thread(lambda put: put(llm.predict(prompt, **kwargs)), deadline))
    if not out or not str(out[0]).strip():
        raise BackendError("empty reply")
    return str(out[0])


# --- the local GGUF server -----------------------------------------------------------------------

_servers: dict[str, tuple[object, str]] = {}
_servers_lock = threading.Lock()
_sha_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _sha_cache:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _sha_cache[key] = digest.hexdigest()
    return _sha_cache[key]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gguf_base_url(settings: Settings) -> str:
    """Start (once per process and file) xllamacpp's server for the GGUF file; its /v1 URL."""
    if not settings.gguf_path:
        raise BackendError("PINPOINT_GGUF_PATH is not set")
    path = Path(settings.gguf_path).expanduser().resolve()
    if not path.is_file():
        raise BackendError(f"no GGUF file at {path}")
    with _servers_lock:
        if settings.gguf_sha256 and file_sha256(path) != settings.gguf_sha256:
            raise BackendError(f"the sha256 of {path.name} does not match PINPOINT_GGUF_SHA256")
        if str(path) in _servers:
            return _servers[str(path)][1]
        try:
            import xllamacpp
        except ImportError as exc:
            raise BackendError("xllamacpp is not installed") from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.hostnames = ["127.0.0.1"]
        params.port = _free_port()
        params.n_ctx = settings.gguf_ctx
        params.n_parallel = 1
        params.n_predict = settings.llm_max_tokens
        params.warmup = False
        params.verbosity = 0
        params.cpuparams.n_threads = max(1, settings.threads)
        params.cpuparams_batch.n_threads = max(1, settings.threads)
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise BackendError(f"the GGUF server did not start ({type(exc).__name__})") from exc
        url = f"http://127.0.0.1:{params.port}/v1"
        _servers[str(path)] = (server, url)
        log.info("gguf server for %s on %s", path.name, url)
        return url


def build_llm(settings: Settings):
    """The llama-index LLM of the configured backend (None for extractive); BackendError if unusable."""
    if settings.backend == "extractive":
        return None
    if settings.backend == "openai":
        if not settings.llm_base_url:
            raise BackendError("PINPOINT_LLM_BASE_URL is not set")
        return make_llm(settings, settings.llm_base_url, settings.llm_model)
    if settings.backend == "gguf":
        return make_llm(settings, gguf_base_url(settings), Path(settings.gguf_path).stem)
    raise BackendError(f"unknown PINPOINT_BACKEND {settings.backend!r} (one of {', '.join(BACKENDS)})")
