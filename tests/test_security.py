"""What the served app must never hand out: files through gradio's file routes, a public binding, the API key.

The server is the shared one of tests/ui_support.py (``python app.py serve`` over the session's
temporary index). gradio 6's file routes (gradio/routes.py): ``/gradio_api/file={path}``,
``/gradio_api/file/{path}`` (deprecated alias), ``/static/{path}`` and ``/assets/{path}``; the app
allows only eval/reports (``allowed_paths``). Requests are sent raw (http.client), so "../" and
"%2e%2e%2f" reach the server exactly as written.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import urllib.parse
from pathlib import Path

import pytest
from ui_support import ROOT, ui_url

import settings as settings_module

REFUSED = {400, 403, 404}
CORPUS = ROOT / "data" / "corpus"


@pytest.fixture(scope="module")
def server(request) -> tuple[str, int]:
    url = os.environ.get("PINPOINT_TEST_UI_URL") or ui_url(request.getfixturevalue("session_index")[0])
    parsed = urllib.parse.urlsplit(url)
    return parsed.hostname, parsed.port


def get(server: tuple[str, int], path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection(*server, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def snippet(path: Path) -> str:
    """A piece of the file's content that its name/path does not contain (what a leak would show)."""
    text = path.read_text(encoding="utf-8")
    line = next(line.strip() for line in text.splitlines() if len(line.strip()) >= 8)
    return line[:60]


def secret_files(index_dir: Path) -> dict[str, Path]:
    generation = (index_dir / "CURRENT").read_text(encoding="utf-8").strip()
    report = next(CORPUS.glob("report_*.txt"))
    return {
        "passwd": Path("/etc/passwd"),
        "manifest": CORPUS / "documents.toml",
        "corpus-txt": report,
        "index-current": index_dir / "CURRENT",
        "index-meta": index_dir / generation / "meta.json",
        "app": ROOT / "app.py",
    }


def probes(target: Path) -> list[str]:
    """Every way of naming ``target`` to gradio's file routes: absolute, traversal, URL-encoded."""
    absolute = str(target)
    up = "../" * (len(ROOT.parts) + 2)  # far enough up from any server folder to reach /
    relative_to_root = up + absolute.lstrip("/")
    enc = relative_to_root.replace("../", "%2e%2e%2f")
    enc_upper = relative_to_root.replace("../", "%2E%2E%2F")
    dotdot_only = relative_to_root.replace("..", "%2e%2e")
    from_allowed = f"{ROOT}/eval/reports/" + "../" * 2 + str(target.relative_to(ROOT)) if ROOT in target.parents else None
    paths = [
        f"/gradio_api/file={absolute}",
        f"/gradio_api/file={urllib.parse.quote(absolute, safe='')}",
        f"/gradio_api/file/{absolute}",
        f"/file={absolute}",
        f"/gradio_api/file={relative_to_root}",
        f"/gradio_api/file={enc}",
        f"/gradio_api/file={enc_upper}",
        f"/gradio_api/file={dotdot_only}",
        f"/gradio_api/file=..%2f..%2f{relative_to_root}",
        f"/gradio_api/file/{relative_to_root}",
        f"/static/{relative_to_root}",
        f"/static/{enc}",
        f"/assets/{relative_to_root}",
        f"/assets/{enc}",
    ]
    if from_allowed:  # allowed_paths is eval/reports: climbing out of it must not work either
        paths += [f"/gradio_api/file={from_allowed}", f"/gradio_api/file={from_allowed.replace('../', '%2e%2e%2f')}"]
    if target == ROOT / "app.py":
        paths += ["/static/../../app.py", "/static/%2e%2e/%2e%2e/app.py", "/assets/../../app.py", "/gradio_api/file=app.py"]
    return paths


@pytest.mark.parametrize("name", ["passwd", "manifest", "corpus-txt", "index-current", "index-meta", "app"])
def test_file_routes_refuse_files_outside_the_allowed_folder(server, session_index, name):
    target = secret_files(session_index[0])[name]
    assert target.exists(), target
    leak = snippet(target)
    served = []
    for path in probes(target):
        status, body = get(server, path)
        if status not in REFUSED or "root:x:" in body or leak in body:
            served.append((path, status, body[:120]))
    assert not served, f"{name} was served: {served}"


def test_the_allowed_report_folder_is_still_served(server):
    """The refusals above are not a broken route: a file of eval/reports does come back."""
    report = ROOT / "eval" / "reports" / "retrieval-questions.md"
    if not report.exists():
        pytest.skip("no evaluation report in this checkout")
    status, body = get(server, f"/gradio_api/file={report}")
    assert status == 200 and snippet(report) in body


def test_server_listens_on_loopback_only(server):
    host, port = server
    assert host == "127.0.0.1"
    if os.environ.get("PINPOINT_TEST_UI_URL"):
        pytest.skip("an external server: its sockets are not ours to inspect")
    listening = []
    for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                raw = bytes.fromhex(address)
                raw = raw[::-1] if family == socket.AF_INET else b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                listening.append(socket.inet_ntop(family, raw))
    if not listening:
        pytest.skip("no /proc/net view of the listening socket")
    assert set(listening) <= {"127.0.0.1", "::1"}, listening


def test_default_host_is_loopback(monkeypatch):
    monkeypatch.delenv("PINPOINT_HOST", raising=False)
    assert settings_module.get_settings().host == "127.0.0.1"
    from ui.binding import BindingRefused, check_binding

    assert check_binding("127.0.0.1", "") is None
    with pytest.raises(BindingRefused):
        check_binding("0.0.0.0", "")


KEY = "sk-test-Pinpoint-0123456789-secret"


def test_settings_repr_hides_the_api_key_and_the_login(monkeypatch):
    monkeypatch.setenv("PINPOINT_LLM_API_KEY", KEY)
    monkeypatch.setenv("PINPOINT_AUTH", "admin:hunter2-pass")
    current = settings_module.get_settings()
    assert current.llm_api_key == KEY
    assert KEY not in repr(current) and KEY not in str(current)
    assert "hunter2-pass" not in repr(current)


def test_cli_ask_json_never_prints_the_api_key(monkeypatch, capsys, session_settings, session_engine):
    import app

    for name in ("PINPOINT_INDEX_DIR", "PINPOINT_CORPUS_DIR", "PINPOINT_CACHE_DIR"):
        monkeypatch.setenv(name, str(getattr(session_settings, name.split("_", 1)[1].lower())))
    monkeypatch.setenv("PINPOINT_LLM_API_KEY", KEY)
    monkeypatch.setattr(app, "_engine", lambda _settings: session_engine)
    assert app.main(["ask", "Who chaired the meeting?", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["citations"]
    assert KEY not in out and KEY not in err


def test_served_page_and_ask_never_show_the_api_key(server):
    """Only meaningful when the shared server was started with a key (it inherits the environment)."""
    key = os.environ.get("PINPOINT_LLM_API_KEY")
    if not key:
        pytest.skip("the shared server was started without PINPOINT_LLM_API_KEY")
    for path in ("/", "/gradio_api/info", "/config"):
        status, body = get(server, path)
        assert key not in body, path
    from gradio_client import Client

    client = Client(f"http://{server[0]}:{server[1]}/", verbose=False)
    assert key not in json.dumps(client.predict("Who chaired the meeting?", api_name="/ask"), ensure_ascii=False)
