"""index/gemma_onnx.py against sentence-transformers, the reference it re-implements.

The fixture (tests/fixtures/gemma_reference.*, made by eval/dev/gemma_reference.py in a dev venv
with torch) holds 80 texts, half Chinese, half English: evaluation questions and corpus
sentences as queries and as documents, paragraphs, passages longer than the local layers'
window, one longer than the 2048 tokens the model reads; with the token ids and the vector
sentence-transformers gave each. The tokens must be those exactly, the fp32 graph's vectors
those up to float rounding, and the int8 graph's within its 8-bit rounding.

The checkpoint is not shipped: set PINPOINT_GEMMA_DIR to the model folder (sentence-transformers
layout, e.g. `python app.py models --keep-weights`) to run the fp32 and token tests. The converted
graphs are cached under PINPOINT_CACHE_DIR when set (keyed by this converter's source, so a changed
converter builds anew), else in the session's temporary folder. The int8 test runs on the graph
`python app.py models` installed (what users run) when no checkpoint folder is given.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from index import gemma_onnx
from index.gemma_onnx import DIM, QUERY_PROMPT, GemmaOnnx, convert, document_prompt, read_safetensors

MODEL_DIR = os.environ.get("PINPOINT_GEMMA_DIR")
needs_model = pytest.mark.skipif(
    not MODEL_DIR, reason="PINPOINT_GEMMA_DIR is not set (the EmbeddingGemma-300M checkpoint folder)"
)

FP32_FLOOR = 0.999  # float rounding only
# 8-bit weights and activations, per language, every text and on average: the rounding errors
# pile up with length, so the long passages are the lowest; the floors leave room for another
# CPU's float rounding, and a wrong graph falls far below them
INT8_FLOOR = 0.99
INT8_MEAN_FLOOR = 0.995
SHORT_TOKENS = 300  # the texts also encoded in batches (the long ones would make that test slow)


@pytest.fixture(scope="session")
def reference(fixtures_dir) -> tuple[list[dict], np.ndarray]:
    items = [
        json.loads(line) for line in (fixtures_dir / "gemma_reference.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    vectors = np.load(fixtures_dir / "gemma_reference.npy")
    assert vectors.shape == (len(items), DIM)
    return items, vectors


def _prompt(item: dict) -> str:
    return QUERY_PROMPT if item["kind"] == "query" else document_prompt(item["title"])


@pytest.fixture(scope="session")
def graph_dir(tmp_path_factory) -> Path:
    cache = os.environ.get("PINPOINT_CACHE_DIR")
    if not cache:
        return tmp_path_factory.mktemp("gemma-onnx")
    version = hashlib.sha256(Path(gemma_onnx.__file__).read_bytes()).hexdigest()[:12]
    return Path(cache) / f"gemma-onnx-{version}"


def _engine(graph_dir: Path, quantize: bool) -> GemmaOnnx:
    path = graph_dir / ("int8.onnx" if quantize else "fp32.onnx")
    if not path.exists():
        convert(Path(MODEL_DIR), path, quantize)
    return GemmaOnnx(path, Path(MODEL_DIR) / "tokenizer.json", threads=2)


@pytest.fixture(scope="session")
def fp32(graph_dir) -> GemmaOnnx:
    return _engine(graph_dir, quantize=False)


@pytest.fixture(scope="session")
def int8(graph_dir) -> GemmaOnnx:
    if MODEL_DIR:
        return _engine(graph_dir, quantize=True)
    from index.model_install import status
    from settings import get_settings

    installed = status(get_settings())
    if not installed.ok or installed.precision != "int8":
        pytest.skip("no checkpoint (PINPOINT_GEMMA_DIR) and no installed int8 graph (`python app.py models`)")
    return GemmaOnnx(installed.onnx_path, installed.tokenizer_path, threads=2)


def _cosines(engine: GemmaOnnx, items: list[dict], reference: np.ndarray) -> np.ndarray:
    ours = np.stack([engine.encode([item["text"]], _prompt(item))[0] for item in items])
    return (ours * reference).sum(axis=1)


@needs_model
def test_prompts_and_length_are_the_checkpoints():
    model_dir = Path(MODEL_DIR)
    prompts = json.loads((model_dir / "config_sentence_transformers.json").read_text(encoding="utf-8"))["prompts"]
    assert QUERY_PROMPT == prompts["query"]
    assert document_prompt() == prompts["document"]
    assert document_prompt("TIP Protocol") == "title: TIP Protocol | text: "
    st = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
    assert gemma_onnx.MAX_TOKENS == st["max_seq_length"]


@needs_model
def test_tokens_are_sentence_transformers(fp32, reference):
    """<bos> and <eos>, the prompt, full-width and odd spacing, and truncation to 2048 with <eos> kept."""
    items, _ = reference
    assert any(len(item["ids"]) == gemma_onnx.MAX_TOKENS for item in items)
    for item in items:
        assert fp32.token_ids([item["text"]], _prompt(item))[0] == item["ids"], item["text"][:60]


@needs_model
def test_fp32_vectors_are_sentence_transformers(fp32, reference):
    items, vectors = reference
    cosines = _cosines(fp32, items, vectors)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= FP32_FLOOR, (float(cosines.min()), items[worst]["text"][:60])
    vec = fp32.query(items[0]["text"])
    assert vec.shape == (DIM,) and vec.dtype == np.float32 and abs(float(np.linalg.norm(vec)) - 1) < 1e-5


def test_int8_vectors_are_within_8_bit_rounding(int8, reference):
    """Each text alone, and the short ones batched as well.

    A batch shares one activation scale per tensor (dynamic quantization), so a text's int8 vector
    moves a little with its batch-mates; it must stay as close to the reference as when alone.
    """
    items, vectors = reference
    cosines = _cosines(int8, items, vectors)
    short = [i for i, item in enumerate(items) if len(item["ids"]) < SHORT_TOKENS]
    for prompt in {_prompt(items[i]) for i in short}:
        rows = [i for i in short if _prompt(items[i]) == prompt]
        batched = int8.encode([items[i]["text"] for i in rows], prompt)
        worst = float((batched * vectors[rows]).sum(axis=1).min())
        assert worst >= INT8_FLOOR, (prompt, worst)
    for lang in ("en", "zh"):
        mine = cosines[[item["lang"] == lang for item in items]]
        assert mine.min() >= INT8_FLOOR and mine.mean() >= INT8_MEAN_FLOOR, (
            lang,
            float(mine.min()),
            float(mine.mean()),
        )


@needs_model
def test_padding_does_not_change_a_vector(fp32, reference):
    """A short text alone, and batched with texts longer than the sliding window (so padded to them)."""
    items, _ = reference
    short = [item["text"] for item in items if len(item["ids"]) < 40][:3]
    long = [item["text"] for item in items if 600 < len(item["ids"]) < gemma_onnx.MAX_TOKENS][:1]
    alone = np.stack([fp32.passage(text) for text in short])
    batched = fp32.encode(long + short, document_prompt(), batch_size=len(short) + 1)
    assert np.abs(batched[1:] - alone).max() < 1e-5
    assert np.abs(batched[0] - fp32.passage(long[0])).max() < 1e-5


@needs_model
def test_prompts_and_titles_change_the_vector(fp32):
    text = "free legal assistance for victims"
    assert float(fp32.query(text) @ fp32.passage(text)) < 0.999
    assert float(fp32.passage(text) @ fp32.passage(text, title="Trafficking in Persons Protocol")) < 0.999
    assert fp32.encode([], QUERY_PROMPT).shape == (0, DIM)


def test_safetensors_reader(tmp_path):
    """The format as documented: u64 header length, a JSON header of byte ranges, raw little-endian data."""
    a = np.arange(6, dtype="<f4").reshape(2, 3)
    b = np.array([-1.5, 2.25], dtype="<f4")
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, a.nbytes]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [a.nbytes, a.nbytes + b.nbytes]},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(len(raw).to_bytes(8, "little") + raw + a.tobytes() + b.tobytes())
    tensors = read_safetensors(path)
    assert sorted(tensors) == ["a", "b"]
    np.testing.assert_array_equal(tensors["a"], a)
    np.testing.assert_array_equal(tensors["b"], b)


def test_the_quantizers_advice_leaves_the_terminal_quiet(capsys):
    """onnxruntime's quantizer logs through the root logger; that must not configure it for the
    rest of the process (every library's debug records would then reach the user's terminal)."""
    import logging

    before = list(logging.getLogger().handlers)
    with gemma_onnx._quiet_root_logger():
        logging.warning("Please consider to run pre-processing before quantization.")
    assert logging.getLogger().handlers == before
    assert "pre-processing" not in capsys.readouterr().err
