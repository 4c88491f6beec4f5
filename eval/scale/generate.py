"""Generate a large corpus with real structure: many UN-style reports and treaties in both languages.

Why generated and not downloaded: the scale benchmark needs 10k-100k units
offline, reproducibly, in the exact shapes the parsers meet in real documents.
Each document is built from the shipped corpus's own sentences
(``eval.scale.sentences``): reports with numbered paragraphs, lettered
sub-items, chapter and sub-chapter headings and the odd numbered list inside a
paragraph (an agenda); treaties with a preamble, chapters, articles with
headings, numbered paragraphs, subparagraphs and sub-subparagraphs. Like the
shipped corpus, most reports are Chinese and most treaties English, with some
of each other kind. The shipped documents are copied in as well, so the
evaluation questions keep their answers among the generated distractors.

Deterministic: document ``i`` depends only on ``(seed, i)``, so the same
arguments give byte-identical files, and a smaller corpus is the prefix of a
larger one except for its last, truncated document. The unit count is exact:
every structure is sized against the remaining budget.

    python -m eval.scale.generate --units 10000 --out /tmp/pinpoint-10k [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from eval.report import shown_path
from eval.scale.sentences import Pool, load_pools
from ingest.grammar import ROMAN_ITEMS, cn_numeral, letter_item, roman_numeral
from ingest.manifest import MANIFEST_NAME, load_manifest

# Document mix (kind, language, weight): like the shipped corpus, plus some of each other kind.
MIX = (("report", "zh", 45), ("treaty", "en", 35), ("report", "en", 10), ("treaty", "zh", 10))
UNITS_PER_DOCUMENT = {"report": (60, 320), "treaty": (40, 360)}  # the shipped ones have 60-343
# Reports.
P_CHAPTER = 0.08  # a new chapter heading (一. / I.) before a paragraph
P_SUBHEADING = 0.12  # a new sub-heading (A. / B.) before a paragraph
MAX_CHAPTERS = 20  # roman numerals stay within I..XX, never "C." (a sub-heading letter)
MAX_SUBHEADINGS = 6  # A..F: "I." after "H." would read as a sub-heading
P_ITEMS = 0.2  # a paragraph that is a lead-in followed by lettered sub-items
ITEMS = (2, 12)
P_INNER_LIST = 0.02  # a paragraph whose lead-in introduces a numbered list that stays inside it
INNER_LIST = (2, 5)
SENTENCES = (1, 3)
# Treaties.
P_PREAMBLE = 0.7
PREAMBLE_LINES = (2, 5)
P_TREATY_CHAPTER = 0.12
P_LETTERED_ARTICLE = 0.2  # "For the purposes of this Protocol:" followed by a) b) c)
P_NUMBERED_ARTICLE = 0.55  # otherwise numbered paragraphs 1. 2. 3.; the rest are one plain text
PARAGRAPHS = (2, 9)  # Chinese paragraphs are numbered 一、..九、
P_PARAGRAPH_LETTERS = 0.25
LETTERS = (2, 10)
P_ROMANS = 0.15  # (i) (ii) under a letter; never under h, where "(i)" would read as the next letter
ROMANS = (2, 4)
LETTER_STYLES = {"en": ("{}) ", "({}) "), "zh": ("（{}）",)}
ROMAN_STYLE = {"en": "({}) ", "zh": "（{}）"}
PREAMBLE_WORD = {"en": "Preamble", "zh": "序言"}
AGREED = {"en": "Have agreed as follows:", "zh": "兹协议如下："}
TERMINATOR = {"en": (";", "."), "zh": ("；", "。")}
JOIN = {"en": " ", "zh": ""}
MARKER_FILE = ".pinpoint-scale"  # marks a folder this module may overwrite
KEY_PREFIX = "scale-"
# The paragraph the incremental-ingest measure appends: a sentence no generated text contains.
NEW_PARAGRAPH = {"zh": "工作组建议秘书处就贩运人口案件数据的跨境共享编写一份专题研究报告。",
                 "en": "The working group recommended that the secretariat prepare a study on sharing case data across borders."}


@dataclass
class GeneratedCorpus:
    """What was written: the folder, the exact unit count and the documents by kind."""

    folder: Path
    units: int
    documents: int
    shipped_units: int
    by_kind: dict[str, int] = field(default_factory=dict)  # "report-zh" -> units

    def to_json(self) -> dict:
        return {"folder": shown_path(self.folder), "units": self.units, "documents": self.documents,
                "shipped_units": self.shipped_units, "by_kind": self.by_kind}


class _Lines:
    """A document's lines and how many units they will parse into."""

    def __init__(self, title: str) -> None:
        self.lines = [title]
        self.units = 0

    def unit(self, line: str) -> None:
        self.lines.append(line)
        self.units += 1

    def text(self, *lines: str) -> None:
        self.lines.extend(lines)


def generate(dest: Path, units: int, seed: int, shipped: Path, include_shipped: bool = True) -> GeneratedCorpus:
    """Write a corpus of exactly ``units`` units (shipped documents included) and its manifest to ``dest``."""
    _prepare(dest)
    pools = load_pools(shipped)
    manifest = [_shipped_manifest(shipped, dest)] if include_shipped else []
    shipped_units = _count_units(shipped) if include_shipped else 0
    if units < shipped_units:
        raise ValueError(f"{units} units is fewer than the shipped corpus's {shipped_units}")
    by_kind: Counter[str] = Counter({"shipped": shipped_units} if shipped_units else {})
    remaining, number = units - shipped_units, 0
    while remaining > 0:
        number += 1
        rng = random.Random(f"{seed}:{number}")
        kind, language = _pick_kind(rng)
        budget = min(rng.randint(*UNITS_PER_DOCUMENT[kind]), remaining)
        key = f"{KEY_PREFIX}{number:04d}"
        build = _report if kind == "report" else _treaty
        doc = build(rng, pools[language], language, budget, _title(kind, language, number))
        assert doc.units == budget, f"{key}: built {doc.units} units for a budget of {budget}"
        (dest / f"{key}_{language}.txt").write_text("\n".join(doc.lines) + "\n", encoding="utf-8")
        manifest.append(_manifest_entry(key, kind, language, number))
        by_kind[f"{kind}-{language}"] += budget
        remaining -= budget
    (dest / MANIFEST_NAME).write_text("\n".join(manifest), encoding="utf-8")
    documents = number + (len(load_manifest(shipped)) if include_shipped else 0)
    return GeneratedCorpus(dest, units, documents, shipped_units, dict(by_kind))


def add_paragraph(corpus: Path) -> str:
    """Append one new paragraph to the first generated report: "change one document" for the
    incremental-ingest measure. Returns the new unit's ref."""
    from ingest.parse import parse_document

    docs = load_manifest(corpus)
    doc = next(d for d in docs if d.key.startswith(KEY_PREFIX) and d.kind == "report")
    last = max(int(u.pinpoint) for u in parse_document(doc, corpus, docs) if u.pinpoint.isdigit())
    with open(corpus / doc.file, "a", encoding="utf-8") as handle:
        handle.write(f"{last + 1}. {NEW_PARAGRAPH[doc.language]}\n")
    return f"{doc.key}:{last + 1}"


def _prepare(dest: Path) -> None:
    """An empty folder, or one this module wrote before (then emptied); never someone else's files."""
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MARKER_FILE).exists():
            raise FileExistsError(f"{dest} is not empty and was not written by eval.scale.generate")
        shutil.rmtree(dest)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / MARKER_FILE).write_text("generated by eval.scale.generate\n", encoding="utf-8")


def _shipped_manifest(shipped: Path, dest: Path) -> str:
    """Copy the shipped documents; their manifest text opens the new one unchanged."""
    for doc in load_manifest(shipped):
        shutil.copyfile(shipped / doc.file, dest / doc.file)
    return (shipped / MANIFEST_NAME).read_text(encoding="utf-8").rstrip() + "\n"


def _count_units(corpus: Path) -> int:
    from ingest.parse import parse_documents

    return len(parse_documents(load_manifest(corpus), corpus))


def _pick_kind(rng: random.Random) -> tuple[str, str]:
    kind, language, _ = rng.choices(MIX, weights=[w for *_, w in MIX])[0]
    return kind, language


def _title(kind: str, language: str, number: int) -> str:
    """The document's first line; generated, so nobody mistakes it for a shipped title."""
    if kind == "report":
        return f"工作组会议报告（规模测试文件 {number:04d}）" if language == "zh" else (
            f"Report of the working group meeting, scale test document {number:04d}")
    return f"补充议定书（规模测试文件 {number:04d}）" if language == "zh" else (
        f"Protocol supplementing the Convention, scale test document {number:04d}")


def _manifest_entry(key: str, kind: str, language: str, number: int) -> str:
    """One ``[[document]]`` table; strings are JSON-quoted, which TOML basic strings accept."""
    if kind == "report":
        symbol = short_en = short_zh = f"CTOC/COP/WG.4/S/{number:04d}"
    else:
        symbol, short_en, short_zh = f"A/RES/S/{number:04d}", f"Scale Protocol {number:04d}", f"规模议定书{number:04d}"
    fields = {
        "key": key, "symbol": symbol, "kind": kind, "language": language, "file": f"{key}_{language}.txt",
        "title_en": _title(kind, "en", number), "title_zh": _title(kind, "zh", number),
        "short_en": short_en, "short_zh": short_zh,
    }
    body = "\n".join(f"{name} = {json.dumps(value, ensure_ascii=False)}" for name, value in fields.items())
    return f"\n[[document]]\n{body}\naliases = []\n"


# ---------------------------------------------------------------- reports


def _report(rng: random.Random, pool: Pool, language: str, budget: int, title: str) -> _Lines:
    """Chapters, sub-headings and numbered paragraphs, some with lettered sub-items, until ``budget`` units."""
    doc = _Lines(title)
    paragraph = chapter = subheadings = 0
    while doc.units < budget:
        if chapter == 0 or (chapter < MAX_CHAPTERS and rng.random() < P_CHAPTER):
            chapter, subheadings = chapter + 1, 0
            doc.text("", f"{_chapter_numeral(chapter, language)}. {rng.choice(pool.headings)}")
        elif subheadings < MAX_SUBHEADINGS and rng.random() < P_SUBHEADING:
            doc.text("", f"{chr(ord('A') + subheadings)}. {rng.choice(pool.headings)}")
            subheadings += 1
        paragraph += 1
        room = budget - doc.units - 1
        if room >= ITEMS[0] and rng.random() < P_ITEMS:
            doc.unit(f"{paragraph}. {_sentences(rng, pool, language, 0, 1)}{JOIN[language]}{rng.choice(pool.lead_ins)}")
            _items(rng, pool, language, doc, min(rng.randint(*ITEMS), room), "({}) ")
        elif paragraph > INNER_LIST[1] + 1 and rng.random() < P_INNER_LIST:
            # Numbers below the paragraph's own, after a lead-in ending in a colon: the list stays inside.
            doc.unit(f"{paragraph}. {rng.choice(pool.lead_ins)}")
            inner = _distinct(rng, pool.sentences, rng.randint(*INNER_LIST))
            doc.text(*(f"{n}. {sentence}" for n, sentence in enumerate(inner, start=1)))
        else:
            doc.unit(f"{paragraph}. {_sentences(rng, pool, language, *SENTENCES)}")
    return doc


def _chapter_numeral(number: int, language: str) -> str:
    return cn_numeral(number) if language == "zh" else roman_numeral(number).upper()


# ---------------------------------------------------------------- treaties


def _treaty(rng: random.Random, pool: Pool, language: str, budget: int, title: str) -> _Lines:
    """Optional preamble, then chapters of articles with paragraphs and subparagraphs, until ``budget`` units."""
    doc = _Lines(title)
    if budget > 1 and rng.random() < P_PREAMBLE:
        lines = rng.sample(pool.preamble, min(rng.randint(*PREAMBLE_LINES), len(pool.preamble)))
        doc.unit(PREAMBLE_WORD[language])
        doc.text(*lines, AGREED[language], "")
    letter_style = rng.choice(LETTER_STYLES[language])
    article = chapter = 0
    while doc.units < budget:
        if chapter == 0 or (chapter < MAX_CHAPTERS and rng.random() < P_TREATY_CHAPTER):
            chapter += 1
            heading = rng.choice(pool.headings)
            doc.text(*(["", roman_numeral(chapter).upper(), heading] if language == "en" else
                       ["", f"第{cn_numeral(chapter)}章 {heading}"]))
        article += 1
        heading = rng.choice(pool.headings)
        doc.text("")
        if language == "en":
            doc.unit(f"Article {article}")
            doc.text(heading)
        else:
            doc.unit(f"第{article}条 {heading}")
        _article_body(rng, pool, language, doc, budget - doc.units, letter_style)
    return doc


def _article_body(rng: random.Random, pool: Pool, language: str, doc: _Lines, room: int, style: str) -> None:
    """Plain text, a lead-in with subparagraphs, or numbered paragraphs; at most ``room`` more units."""
    shape = rng.random()
    if room >= LETTERS[0] and shape < P_LETTERED_ARTICLE:
        doc.text(rng.choice(pool.lead_ins))
        _letters(rng, pool, language, doc, room, style)
    elif room >= PARAGRAPHS[0] and shape < P_LETTERED_ARTICLE + P_NUMBERED_ARTICLE:
        _paragraphs(rng, pool, language, doc, room, style)
    else:
        doc.text(_sentences(rng, pool, language, *SENTENCES))


def _paragraphs(rng: random.Random, pool: Pool, language: str, doc: _Lines, room: int, style: str) -> None:
    start = doc.units
    for number in range(1, rng.randint(*PARAGRAPHS) + 1):
        left = room - (doc.units - start) - 1
        if left < 0:
            return
        marker = f"{number}. " if language == "en" else f"{cn_numeral(number)}、"
        if left >= LETTERS[0] and rng.random() < P_PARAGRAPH_LETTERS:
            doc.unit(marker + rng.choice(pool.lead_ins))
            _letters(rng, pool, language, doc, left, style)
        else:
            doc.unit(marker + _sentences(rng, pool, language, *SENTENCES))


def _letters(rng: random.Random, pool: Pool, language: str, doc: _Lines, room: int, style: str) -> None:
    """Subparagraphs a), b), ... and now and then (i), (ii) under one; at most ``room`` units."""
    count = min(rng.randint(*LETTERS), room)
    spare = room - count  # units left over for sub-subparagraphs
    semi, stop = TERMINATOR[language]
    for n, clause in enumerate(_distinct(rng, pool.clauses, count)):
        letter, last = letter_item(n), n == count - 1
        doc.unit(style.format(letter) + clause + (stop if last else semi))
        if not last and letter < "h" and spare >= ROMANS[0] and rng.random() < P_ROMANS:
            romans = min(rng.randint(*ROMANS), spare)
            spare -= romans
            for numeral, clause in zip(ROMAN_ITEMS[:romans], _distinct(rng, pool.clauses, romans), strict=True):
                doc.unit(ROMAN_STYLE[language].format(numeral) + clause + semi)


def _items(rng: random.Random, pool: Pool, language: str, doc: _Lines, count: int, style: str) -> None:
    """A report paragraph's sub-items (a), (b), ...: ";" after each, "." after the last."""
    semi, stop = TERMINATOR[language]
    for n, clause in enumerate(_distinct(rng, pool.clauses, count)):
        doc.unit(style.format(letter_item(n)) + clause + (stop if n == count - 1 else semi))


# ---------------------------------------------------------------- text and numerals


def _sentences(rng: random.Random, pool: Pool, language: str, low: int, high: int) -> str:
    return JOIN[language].join(_distinct(rng, pool.sentences, rng.randint(low, high)))


def _distinct(rng: random.Random, texts: list[str], count: int) -> list[str]:
    """``count`` texts, none twice in one list or paragraph unless the pool is smaller than ``count``."""
    if count <= len(texts):
        return rng.sample(texts, count)
    return [rng.choice(texts) for _ in range(count)]


def main(argv: list[str] | None = None) -> int:
    from settings import apply_offline_defaults, get_settings

    apply_offline_defaults()  # parsing counts tokens with tiktoken
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m eval.scale.generate", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--units", type=int, required=True, help="exact number of units, shipped documents included")
    parser.add_argument("--out", type=Path, required=True, help="folder to write (emptied if generated before)")
    parser.add_argument("--seed", type=int, default=settings.scale_seed)
    parser.add_argument("--no-shipped", action="store_true", help="leave the shipped documents out")
    args = parser.parse_args(argv)
    corpus = generate(args.out, args.units, args.seed, settings.corpus_dir, include_shipped=not args.no_shipped)
    print(json.dumps(corpus.to_json(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
