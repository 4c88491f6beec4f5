"""Machine renderings: the configured model writes the unofficial translations a document lacks.

The shipped documents have renderings written by people (data/renderings); a user's own document
has none. ``translate_corpus`` (``python app.py ingest --translate``, before the ingest) asks the
configured backend for every unit whose own words have no rendering line, or a stale one (its
``source_sha`` is not the hash of the words the document has now), one unit per request, with
``prompts/<target>/translate.txt``. A reply is written only when it passes ``check_translation``:
a model's failure is counted and reported, never written, and nothing stands in for it (the next
run asks again). A unit whose official version in the other language is in the corpus is not
translated: the official text is shown instead of any rendering.

Lines are cached by content hash (``source_sha``) and name the model in their ``provenance``, so a
re-run asks only for what is missing or stale, and a line of a person's is never replaced unless
the words it renders are gone. The file is rewritten in one rename every few new lines
(``translate_save_every``): a killed run loses at most those, and the next run goes on from there.
Without a model (the extractive backend, or one that cannot start) nothing is written and the
report's notice says so; the ingest runs all the same. ingest/ may not import services/, so app.py
calls this first, then the ingest, which reads the files as it always does.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from tqdm import tqdm

from index.text_norm import HAS_CJK
from index.versions import version_map
from ingest.manifest import CorpusBusy, corpus_lock, load_manifest
from ingest.parse import parse_documents
from ingest.renderings import RenderingLine, other_language, read_lines, rendering_path, source_sha, write_lines
from ingest.units import Document, Unit, own_texts
from services.backends import BackendError, Deadline, backend_label, build_llm, predict
from services.prompts import template
from settings import Settings

PROMPT = "translate"
NO_MODEL_HINT = (
    "set PINPOINT_BACKEND=openai (with PINPOINT_LLM_BASE_URL) or PINPOINT_BACKEND=gguf (with PINPOINT_GGUF_PATH) "
    "to translate; the units stay without a rendering"
)
NO_MODEL = f"no translation model configured: {NO_MODEL_HINT}"
# backends.predict's reason for a reply with no text: the server answered, so it has not stopped.
EMPTY_REPLY = "empty reply"

# What a model puts before or instead of a translation ("Here is the translation:", "I'm sorry, I
# cannot ...", "以下是译文："): a line that starts so is not the passage's words.
PREAMBLE = re.compile(
    r"^\W*(?:here\s+is\b.{0,30}\btranslation|here's|sure[,!.]|certainly[,!.]|of\s+course[,!.]|translation\s*[:：]|"
    r"the\s+translation\b|translated\s+text\b|i'm\s+sorry|i\s+am\s+sorry|sorry\b|i\s+cannot\b|i\s+can't\b|"
    r"i\s+am\s+unable\b|as\s+an\s+ai\b|"
    # Not a bare 以下是 / 好的: "以下是工作组的建议" and "好的做法" (good practices) open real sentences.
    r"(?:以下是|下面是|这是).{0,8}(?:译文|翻译)|好的[，,。！!]|当然[，,。！!]|译文\s*[:：]|翻译\s*[:：]|"
    r"中文译文|英文译文|抱歉|对不起|很抱歉|我无法|我不能)",
    re.IGNORECASE,
)
# A leading numbering marker: "(a)", "a)", "(ii)", "1.", "(3)"; the people's renderings keep it, and
# write "a)" as "(a)", so only its letters or digits are compared.
MARKER = re.compile(r"^\s*(?:\(([a-z]{1,4}|\d{1,3})\)|([a-z]{1,4})\)|(\d{1,3})\.(?!\d))", re.IGNORECASE)
# Arabic numerals, with their decimal points and thousands separators ("2,235", "4.5").
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# A Chinese date's month ("9 月") is a month's name in English ("September"), not a numeral.
MONTH = re.compile(r"(\d{1,2})\s*月")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
LATIN_LETTER = re.compile(r"[A-Za-z]")
# How a sentence or an item ends, in either script; closing quotes and brackets may follow.
TERMINAL = ".;:!?。；：！？,，"
CLOSERS = "\"'”’)）」』]】"


class RendererBusy(RuntimeError):
    """Another ``ingest --translate`` is writing renderings into the same folder."""


@dataclass(frozen=True)
class Failure:
    """A unit left without a rendering, and why."""

    ref: str
    reason: str


@dataclass
class DocumentTranslation:
    """What one document's rendering file got in this run."""

    key: str
    lang: str  # the language of the rendering
    file: str  # the rendering file's name in renderings_dir
    units: int
    to_translate: int = 0  # units with no line, or a stale one, at the start of the run
    translated: int = 0  # lines written in this run
    kept: int = 0  # lines already there and current (a person's or an earlier run's)
    official: int = 0  # units an official version in ``lang`` covers: never translated
    failed: list[Failure] = field(default_factory=list)  # a reply refused by the checks, or no reply
    not_reached: int = 0  # left when the model stopped answering
    error: str | None = None  # the file could not be read: the document was left alone

    def summary(self) -> str:
        """One line for the user."""
        if self.error:
            return f"{self.key} -> {self.lang}: not translated: {self.error}"
        parts = [f"{self.translated} translated", f"{len(self.failed)} failed", f"{self.kept} kept"]
        if self.official:
            parts.append(f"{self.official} in an official version")
        if self.not_reached:
            parts.append(f"{self.not_reached} not reached")
        line = f"{self.key} -> {self.lang}: {', '.join(parts)} ({self.file})"
        if self.failed:
            first = self.failed[0]
            line += f"; first failure {first.ref}: {first.reason}"
        return line


@dataclass
class TranslateReport:
    """The result of one ``translate_corpus`` run; ``notice`` is for stderr (no model, model stopped)."""

    backend: str
    documents: list[DocumentTranslation]
    notice: str | None = None
    stopped: bool = False  # the run ended before every unit to translate was asked for

    @property
    def translated(self) -> int:
        return sum(d.translated for d in self.documents)

    @property
    def failed(self) -> int:
        return sum(len(d.failed) for d in self.documents)

    @property
    def to_translate(self) -> int:
        return sum(d.to_translate for d in self.documents)

    def to_json(self) -> dict:
        return {
            **dataclasses.asdict(self),
            "translated": self.translated,
            "failed": self.failed,
            "to_translate": self.to_translate,
        }


# --- the checks ----------------------------------------------------------------------------------


def check_translation(source: str, output: str, target: str, min_cjk_share: float) -> str | None:
    """Why ``output`` is not a rendering of ``source`` into ``target`` ("zh" | "en"); None if it passes.

    The people's renderings pass every check (tests/test_renderer.py reads them all)."""
    text = output.strip()
    if not text:
        return "empty reply"
    if PREAMBLE.match(text):
        return f"a preamble or refusal, not a translation: {_clip(text)!r}"
    cjk, latin = _letters(text)
    if target == "en" and cjk:
        return f"Chinese characters in an English translation: {_clip(text)!r}"
    if target == "zh" and cjk + latin and cjk / (cjk + latin) < min_cjk_share:
        return f"not Chinese ({cjk} Chinese characters, {latin} Latin letters): {_clip(text)!r}"
    if not cjk + latin and sum(_letters(source)):
        return f"no words: {_clip(text)!r}"
    missing = [n for n in _numbers(source) if n not in _numbers(text) and not _month_named(n, source, text)]
    if missing:
        return f"a number of the source is missing ({', '.join(missing)})"
    marker = _marker(source)
    if marker and _marker(text) != marker:
        return f"the numbering marker ({marker}) is not kept"
    lines, source_lines = _line_count(text), _line_count(source)
    if lines != source_lines:
        return f"{lines} lines for the source's {source_lines} (a note or a title added, or lines merged)"
    if _ends_a_sentence(source) and not _ends_a_sentence(text):
        return f"cut off: {_clip(text[-40:])!r}"
    return None


def _normal(text: str) -> str:
    """Full-width digits, letters and brackets as ASCII, for comparing markers and numbers only."""
    return unicodedata.normalize("NFKC", text)


def _letters(text: str) -> tuple[int, int]:
    """Chinese characters and Latin letters of ``text``, its numbering marker left out."""
    body = MARKER.sub("", _normal(text), count=1)
    return len(HAS_CJK.findall(body)), len(LATIN_LETTER.findall(body))


def _numbers(text: str) -> list[str]:
    """The Arabic numerals of ``text``, thousands separators dropped ("1,000" and "1000" are one number)."""
    seen: dict[str, None] = {}
    for match in NUMBER.findall(_normal(text)):
        seen[re.sub(r",(?=\d{3}\b)", "", match).rstrip(".")] = None
    return list(seen)


def _month_named(number: str, source: str, text: str) -> bool:
    """The source's ``number`` is a month of a Chinese date and ``text`` names that month."""
    months = {int(m) for m in MONTH.findall(_normal(source))}
    return number.isdigit() and int(number) in months and 1 <= int(number) <= len(MONTHS) and (
        MONTHS[int(number) - 1] in text.lower()
    )


def _marker(text: str) -> str | None:
    match = MARKER.match(_normal(text))
    return next(g for g in match.groups() if g).lower() if match else None


def _line_count(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def _ends_a_sentence(text: str) -> bool:
    return _normal(text).rstrip().rstrip(CLOSERS)[-1:] in TERMINAL


def _clip(text: str, limit: int = 60) -> str:
    """A reply as a failure reason quotes it: its first line, cut (a reason is one line)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"


# --- the run -------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """One document's work: its rendering file as read, and the units to translate."""

    doc: Document
    path: Path
    result: DocumentTranslation
    lines: list[RenderingLine] = field(default_factory=list)
    todo: list[tuple[str, str]] = field(default_factory=list)  # (ref, own text), in document order
    refs: list[str] = field(default_factory=list)  # every unit's ref, in document order
    new: dict[str, RenderingLine] = field(default_factory=dict)


def translate_corpus(settings: Settings, progress: bool = True, llm=None) -> TranslateReport:
    """Write the missing and stale renderings of every manifest document; see the module docstring.

    ``llm``: a llama-index LLM to use instead of the configured backend's (tests)."""
    docs = load_manifest(settings.corpus_dir)
    units = parse_documents(docs, settings.corpus_dir, settings.tokenizer_encoding)
    label = backend_label(settings) if llm is None else getattr(llm.metadata, "model_name", "custom")
    settings.renderings_dir.mkdir(parents=True, exist_ok=True)
    with _renderings_lock(settings.renderings_dir):
        plans = _plans(settings, docs, units)
        report = TranslateReport(label, [p.result for p in plans])
        total = sum(len(p.todo) for p in plans)
        if not total:
            return report
        if llm is None:
            try:
                llm = _model(settings, label)
            except BackendError as exc:
                report.notice, report.stopped = str(exc), True
                for plan in plans:
                    plan.result.not_reached = len(plan.todo)
                return report
        _Run(settings, llm, label, total, progress, report).all(plans)
        return report


def _model(settings: Settings, label: str):
    """The configured backend's LLM, with room for a long unit's translation; BackendError with the
    notice for the user when there is none or it cannot start."""
    if settings.backend == "extractive":
        raise BackendError(NO_MODEL)
    try:
        return build_llm(dataclasses.replace(settings, llm_max_tokens=settings.translate_max_tokens))
    except BackendError as exc:
        raise BackendError(f"no translation model available ({label} cannot start: {exc}): {NO_MODEL_HINT}") from exc


@contextmanager
def _renderings_lock(folder: Path) -> Iterator[None]:
    """One translating run per renderings folder: two would each rewrite a file from their own reading
    of it and drop the other's new lines. The corpus's folder lock (a flock on the folder itself), so
    no lock file lands among the data."""
    stack = ExitStack()
    try:
        stack.enter_context(corpus_lock(folder))
    except CorpusBusy as exc:
        raise RendererBusy(f"another `ingest --translate` is writing renderings in {folder}; wait for it to finish") from exc
    with stack:
        yield


def _plans(settings: Settings, docs: list[Document], units: list[Unit]) -> list[_Plan]:
    own = own_texts(units)
    by_ref = {u.ref: u for u in units}
    versions = version_map(docs, units)
    plans = []
    for doc in docs:
        lang = other_language(doc.language)
        path = rendering_path(settings.renderings_dir, doc.key, lang)
        members = [u for u in units if u.doc == doc.key]
        plan = _Plan(doc, path, DocumentTranslation(doc.key, lang, path.name, len(members)), refs=[u.ref for u in members])
        plans.append(plan)
        try:
            plan.lines = read_lines(path) if path.exists() else []
        except (OSError, ValueError) as exc:  # a file a person may be editing: never overwrite what cannot be read
            plan.result.error = str(exc)
            continue
        current = {line.ref for line in plan.lines if not line.source_sha or line.source_sha == source_sha(own.get(line.ref, ""))}
        for unit in members:
            if unit.ref in current:
                plan.result.kept += 1
            elif any(by_ref[v].lang == lang for v in versions.get(unit.ref, ())):
                plan.result.official += 1  # the official text is shown instead of any rendering
            else:
                plan.todo.append((unit.ref, own[unit.ref]))
        plan.result.to_translate = len(plan.todo)
    return plans


class _Run:
    """One pass over the plans with one model: asks, checks, saves, and stops when the model does."""

    def __init__(self, settings: Settings, llm, label: str, total: int, progress: bool, report: TranslateReport):
        self.settings, self.llm, self.total, self.progress, self.report = settings, llm, total, progress, report
        self.provenance = f"machine translation, unofficial: {label}, {date.today().isoformat()}"
        self.asked = self.answered = 0
        self.in_a_row = 0  # requests in a row with no reply
        self.last_error = ""

    def all(self, plans: list[_Plan]) -> None:
        for plan in plans:
            if self.report.stopped:
                plan.result.not_reached = len(plan.todo)
            elif plan.todo:
                self._document(plan)

    def _document(self, plan: _Plan) -> None:
        prompt = template(self.settings.prompts_dir, plan.result.lang, PROMPT)
        title = plan.doc.title_zh if plan.doc.language == "zh" else plan.doc.title_en
        unsaved = 0
        with tqdm(total=len(plan.todo), desc=f"translating {plan.doc.key} -> {plan.result.lang}", unit="unit",
                  disable=not self.progress) as bar:
            for done, (ref, own) in enumerate(plan.todo):
                if self.in_a_row >= self.settings.translate_give_up_after:
                    plan.result.not_reached = len(plan.todo) - done
                    self._stop(self._stopped_notice())
                    break
                line = self._translate(plan, prompt, title, ref, own)
                bar.update()
                if line is None:
                    continue
                plan.new[ref] = line
                unsaved += 1
                if unsaved >= self.settings.translate_save_every:
                    if not self._save(plan, unsaved, len(plan.todo) - done - 1):
                        return
                    unsaved = 0
        if unsaved:
            self._save(plan, unsaved, plan.result.not_reached)

    def _stopped_notice(self) -> str:
        """How far the run got when the model stopped answering, and that a re-run goes on from there."""
        how = "stopped answering" if self.answered else "did not answer"
        kept = f"the {self.report.translated} translations written are kept" if self.report.translated else "nothing was written"
        return (
            f"translation stopped: the model {how} ({self.last_error}) after {self.asked} of {self.total} units "
            f"to translate; {kept}; run `python app.py ingest --translate` again to translate the rest"
        )

    def _translate(self, plan: _Plan, prompt, title: str, ref: str, own: str) -> RenderingLine | None:
        self.asked += 1
        try:
            reply = predict(self.llm, prompt, Deadline.after(self.settings.llm_timeout), title=title, text=own)
        except BackendError as exc:
            reason = str(exc)
            if reason != EMPTY_REPLY:
                self.in_a_row += 1
                self.last_error = reason
            plan.result.failed.append(Failure(ref, f"no reply ({reason})" if reason != EMPTY_REPLY else reason))
            return None
        self.in_a_row = 0
        self.answered += 1
        text = reply.strip()
        problem = check_translation(own, text, plan.result.lang, self.settings.translate_min_cjk_share)
        if problem:
            plan.result.failed.append(Failure(ref, problem))
            return None
        return RenderingLine(ref, text, self.provenance, source_sha(own))

    def _save(self, plan: _Plan, unsaved: int, left: int) -> bool:
        """Rewrite the document's file with the new lines; False (the run stopped) when it cannot be
        written, the ``unsaved`` lines then counted as not reached, with the ``left`` ones."""
        try:
            write_lines(plan.path, _merged(plan))
        except OSError as exc:
            plan.result.not_reached = unsaved + left
            self._stop(f"translation stopped: {plan.path} could not be written ({exc}); "
                       f"the {self.report.translated} translations written before are kept")
            return False
        plan.result.translated += unsaved
        return True

    def _stop(self, notice: str) -> None:
        self.report.notice, self.report.stopped = notice, True


def _merged(plan: _Plan) -> list[RenderingLine]:
    """The file's lines with this run's: in the document's order, each unit's new line in place of its
    stale one; a line this run did not replace stays as it was (a stale one stays not shown, with the
    ingest's warning, until a translation passes), and lines of refs the document no longer has go last."""
    by_ref: dict[str, list[RenderingLine]] = {}
    for line in plan.lines:
        by_ref.setdefault(line.ref, []).append(line)
    known = set(plan.refs)
    out: list[RenderingLine] = []
    for ref in plan.refs:
        out.extend([plan.new[ref]] if ref in plan.new else by_ref.get(ref, []))
    out.extend(line for line in plan.lines if line.ref not in known)
    return out
