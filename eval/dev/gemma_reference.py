"""Reference vectors of EmbeddingGemma-300M from sentence-transformers, for tests/test_gemma_onnx.py.

Dev-time only, never run by tests or CI: it needs a dev venv with torch 2.13.0 CPU and
sentence-transformers (``pip install torch==2.13.0 sentence-transformers``), which Pinpoint
itself does not install, and the checkpoint in the sentence-transformers layout:

    /path/to/devvenv/bin/python eval/dev/gemma_reference.py MODEL_DIR

It writes tests/fixtures/gemma_reference.jsonl (one text a line: text, kind query|document,
title, lang, source, and the token ids sentence-transformers feeds the model) and
tests/fixtures/gemma_reference.npy (float32 [n, 768], the same order). The texts are half
Chinese, half English, all from the shipped corpus and the evaluation questions: questions and
corpus sentences as queries and as documents, short sentences, whole paragraphs, passages of
several paragraphs longer than the local layers' window, and one longer than the 2048 tokens the
model reads (truncation). Each text is encoded alone, so no padding is involved: the vectors are
what sentence-transformers gives for that text.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "corpus"
QUESTIONS = ROOT / "eval" / "sets" / "questions.jsonl"
OUT_JSONL = ROOT / "tests" / "fixtures" / "gemma_reference.jsonl"
OUT_NPY = ROOT / "tests" / "fixtures" / "gemma_reference.npy"

QUERIES_PER_LANG = 12  # evaluation questions, as queries
QUESTIONS_AS_DOCS = 3
SENTENCES_AS_QUERIES = 3
SENTENCES = 8  # short corpus sentences, as documents
PARAGRAPHS = 8  # whole corpus lines, as documents; the first TITLED of them with the document's title
TITLED = 2
LONG_PASSAGES = 4  # several paragraphs joined
LONG_TOKENS = 600  # a long passage is at least this many tokens: beyond the sliding window
TRUNCATED_TOKENS = 2600  # the one passage sentence-transformers truncates (it reads 2048)
SHORT_SENTENCE = (20, 120)  # characters
PARAGRAPH_CHARS = (150, 1200)
SENTENCE_END = re.compile(r"(?<=[。；！？])|(?<=[.;!?])\s+")
ODD = {  # spaces, full-width and compatibility characters: the tokenizer's corners
    "en": "  two  spaces   and\u3000an ideographic space, ﬁ ligature, Ⅻ, ①, ＡＢＣ, café ",
    "zh": "全角标点：（甲）、“乙”；丙……　以及繁體字與半角,标点!",
}


@dataclass
class Item:
    text: str
    kind: str  # query | document
    lang: str  # zh | en
    source: str
    title: str | None = None
    ids: list[int] | None = None


def spread(items: list, n: int) -> list:
    """``n`` of ``items`` evenly spaced (deterministic), in order."""
    if len(items) <= n:
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def corpus_docs() -> list[dict]:
    return tomllib.loads((CORPUS / "documents.toml").read_text(encoding="utf-8"))["document"]


def lines_of(doc: dict) -> list[str]:
    text = (CORPUS / doc["file"]).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def long_passages(lines: list[str], count_tokens, n: int, at_least: int) -> list[str]:
    """``n`` runs of consecutive lines of at least ``at_least`` tokens, from spread-out starts."""
    out = []
    for start in spread(range(len(lines)), n * 2):
        run = []
        for line in lines[start:]:
            run.append(line)
            if count_tokens("\n".join(run)) >= at_least:
                out.append("\n".join(run))
                break
        if len(out) == n:
            break
    return out


def select(count_tokens) -> list[Item]:
    docs = corpus_docs()
    questions = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    items: list[Item] = []
    for lang in ("en", "zh"):
        asked = [q["question"] for q in questions if q["lang"] == lang]
        items += [Item(q, "query", lang, "question") for q in spread(asked, QUERIES_PER_LANG)]
        items += [Item(q, "document", lang, "question") for q in spread(asked[1::2], QUESTIONS_AS_DOCS)]

        lang_docs = [d for d in docs if d["language"] == lang]
        lines = [(d, line) for d in lang_docs for line in lines_of(d)]
        sentences = [
            (d, s.strip())
            for d, line in lines
            for s in SENTENCE_END.split(line)
            if SHORT_SENTENCE[0] <= len(s.strip()) <= SHORT_SENTENCE[1]
        ]
        picked = spread(sentences, SENTENCES + SENTENCES_AS_QUERIES)
        items += [Item(s, "query", lang, d["key"]) for d, s in picked[:SENTENCES_AS_QUERIES]]
        items += [Item(s, "document", lang, d["key"]) for d, s in picked[SENTENCES_AS_QUERIES:]]

        paragraphs = [(d, p) for d, p in lines if PARAGRAPH_CHARS[0] <= len(p) <= PARAGRAPH_CHARS[1]]
        for i, (d, p) in enumerate(spread(paragraphs, PARAGRAPHS)):
            items.append(Item(p, "document", lang, d["key"], d[f"short_{lang}"] if i < TITLED else None))

        runs = [(d, p) for d in lang_docs for p in long_passages(lines_of(d), count_tokens, LONG_PASSAGES, LONG_TOKENS)]
        items += [Item(p, "document", lang, d["key"]) for d, p in spread(runs, LONG_PASSAGES)]
        longest = max(lang_docs, key=lambda d: len(lines_of(d)))
        items += [
            Item(p, "document", lang, longest["key"])
            for p in long_passages(lines_of(longest), count_tokens, 1, TRUNCATED_TOKENS)
        ]
        items.append(Item(ODD[lang], "document", lang, "odd"))
    return items


def main(model_dir: Path) -> None:
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    tokenizer = model.tokenizer

    def count_tokens(text: str) -> int:
        return len(tokenizer(text)["input_ids"])

    items = select(count_tokens)
    vectors = []
    for item in items:
        if item.kind == "query":
            prompt = model.prompts["query"]
        elif item.title is None:
            prompt = model.prompts["document"]
        else:
            prompt = f"title: {item.title} | text: "
        features = model.preprocess([item.text], prompt=prompt)  # exactly what encode feeds the model
        item.ids = features["input_ids"][0].tolist()
        with torch.inference_mode():
            vectors.append(model.encode(item.text, prompt=prompt, convert_to_numpy=True))
    OUT_JSONL.write_text("".join(json.dumps(asdict(i), ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    np.save(OUT_NPY, np.stack(vectors).astype(np.float32))

    lengths = [len(i.ids) for i in items]
    print(f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}")
    for lang in ("en", "zh"):
        mine = [i for i in items if i.lang == lang]
        print(
            f"{lang}: {len(mine)} texts, {sum(i.kind == 'query' for i in mine)} queries, "
            f"{sum(len(i.ids) > LONG_TOKENS for i in mine)} over {LONG_TOKENS} tokens, "
            f"{sum(len(i.ids) == model.max_seq_length for i in mine)} truncated"
        )
    print(f"{len(items)} texts, tokens {min(lengths)}..{max(lengths)} -> {OUT_JSONL.name}, {OUT_NPY.name}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
