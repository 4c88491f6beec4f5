"""EmbeddingGemma-300M on onnxruntime, from the safetensors Google ships: no torch at run time.

Why: torch is a large install that nothing else in Pinpoint needs, and onnxruntime is already
here (for e5). So the set-up step reads the checkpoint's tensors itself (a safetensors file is
an 8-byte header length, a JSON header and raw little-endian arrays), writes the network as an
ONNX graph once, and from then on the vectors come from onnxruntime alone. The graph follows
transformers' Gemma3TextModel as sentence-transformers runs it, step for step:

* the token embedding times sqrt(hidden_size), rounded to float32 as transformers does;
* per layer: RMSNorm in Gemma's ``x * (1 + w)`` form, multi-query attention with RMSNorm on
  queries and keys, RoPE (``rope_theta`` on full-attention layers, ``rope_local_base_freq`` on
  sliding ones), scores scaled by ``query_pre_attn_scalar ** -0.5``, norms after attention and
  around the GeGLU feed-forward (gelu, tanh approximation);
* the mask: bidirectional everywhere (``use_bidirectional_attention``), and on sliding layers a
  token sees only tokens at most ``sliding_window // 2`` positions away on either side.
  transformers turns the config's 512 into 257 for bidirectional models ("exclusive bounds")
  and keeps ``|q - k| < 257``: 256 tokens each side, 513 in all, not 512 each side;
* padded keys masked, then mean pooling over the attention mask, the two bias-free Dense
  layers (768 -> 3072 -> 768) and L2 normalisation.

Tokens come from the checkpoint's tokenizer.json (the ``tokenizers`` library, as transformers
uses it): <bos> text <eos>, truncated to 2048 tokens with <eos> kept, the prompt prepended to
the text as sentence-transformers does.

The whole fp32 network (embedding table included) is under protobuf's 2 GB limit, so the graph
is one self-contained file, ids in and vectors out. The int8 file is onnxruntime's dynamic
quantization of it: the embedding table and the MatMuls' weights per output channel, as uint8,
except the feed-forward's down projections (see ``convert``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import struct
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

QUERY_PROMPT = "task: search result | query: "  # config_sentence_transformers.json, "query"
DOCUMENT_PROMPT = "title: {title} | text: "  # ... "document" is this with the title "none"
NO_TITLE = "none"
MAX_TOKENS = 2048  # sentence_bert_config.json's max_seq_length, <bos> and <eos> included
DIM = 768  # the output vector's size
DEFAULT_BATCH = 8  # texts per onnxruntime run in ``encode``

_OPSET = 23  # for RMSNormalization
_IR_VERSION = 11  # the first with opset 23; onnx 1.2x would write a newer one than needed
_SAFETENSORS_DTYPES = {"F32": np.dtype("<f4")}  # the checkpoint is float32; nothing else is expected
_MASKED = float(np.finfo(np.float32).min)  # score of a masked key: finite, so a row of them stays finite
_MIN_TOKENS = 1e-9  # sentence-transformers' floor on the token count of mean pooling
_NORM_EPS = 1e-12  # torch.nn.functional.normalize's floor on the norm
_DOWN = ".down"  # the name of every feed-forward's down projection (kept float32 in the int8 graph)


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file, as read-only arrays mapped from the file."""
    with open(path, "rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    header.pop("__metadata__", None)
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors = {}
    for name, info in header.items():
        if info["dtype"] not in _SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: {name} is {info['dtype']}, only float32 is supported")
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view(_SAFETENSORS_DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors


@dataclass(frozen=True)
class GemmaConfig:
    """What the graph needs from config.json, checked to be the variant built here."""

    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    eps: float
    query_scale: float
    rope_full: float
    rope_local: float
    half_window: int
    sliding: tuple[bool, ...]  # per layer: sliding-window attention (else full)

    @classmethod
    def read(cls, model_dir: Path) -> GemmaConfig:
        c = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        required = {
            "hidden_activation": (c["hidden_activation"], "gelu_pytorch_tanh"),
            "use_bidirectional_attention": (c["use_bidirectional_attention"], True),
            "attn_logit_softcapping": (c["attn_logit_softcapping"], None),
            "attention_bias": (c["attention_bias"], False),
            "rope_scaling": (c.get("rope_scaling"), None),
        }
        for key, (value, expected) in required.items():
            if value != expected:
                raise ValueError(f"config.json: {key} is {value!r}; this graph is built for {expected!r}")
        return cls(
            hidden=c["hidden_size"],
            layers=c["num_hidden_layers"],
            heads=c["num_attention_heads"],
            kv_heads=c["num_key_value_heads"],
            head_dim=c["head_dim"],
            eps=c["rms_norm_eps"],
            query_scale=c["query_pre_attn_scalar"] ** -0.5,
            rope_full=c["rope_theta"],
            rope_local=c["rope_local_base_freq"],
            half_window=c["sliding_window"] // 2,  # see the module docstring
            sliding=tuple(kind == "sliding_attention" for kind in c["layer_types"]),
        )


def _check_head(model_dir: Path) -> None:
    """Mean pooling and two Dense layers without bias or activation: the only head built here."""
    pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    if not pooling["pooling_mode_mean_tokens"] or not pooling["include_prompt"]:
        raise ValueError(f"{model_dir}: only mean pooling over every token is supported")
    for dense in ("2_Dense", "3_Dense"):
        c = json.loads((model_dir / dense / "config.json").read_text(encoding="utf-8"))
        if c["bias"] or not c["activation_function"].endswith("Identity"):
            raise ValueError(f"{model_dir / dense}: only bias-free linear layers are supported")


class _Graph:
    """The ONNX nodes and weights of the encoder, added in order."""

    def __init__(self, cfg: GemmaConfig, tensors: dict[str, np.ndarray]) -> None:
        self.cfg, self.t = cfg, tensors
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], out: str, **attrs) -> str:
        self.nodes.append(helper.make_node(kind, inputs, [out], name=out, **attrs))
        return out

    def ops(self, kind: str, inputs: list[str], outs: list[str], **attrs) -> list[str]:
        self.nodes.append(helper.make_node(kind, inputs, outs, name=outs[0], **attrs))
        return outs

    def linear(self, x: str, name: str, *weights: str) -> str:
        """x @ W.T, the rows of several [out, in] weights side by side: one MatMul for q, k and v."""
        w = np.concatenate([self.t[key] for key in weights], axis=0).T
        return self.op("MatMul", [x, self.const(name + ".w", w)], name)

    def norm(self, x: str, name: str, weight: str) -> str:
        """Gemma's RMSNorm: x / rms(x) * (1 + w), the 1 + w rounded to float32 as transformers does."""
        scale = self.const(name + ".w", 1.0 + self.t[weight])
        return self.op("RMSNormalization", [x, scale], name, axis=-1, epsilon=self.cfg.eps)

    def rope(self, positions: str, theta: float, name: str) -> tuple[str, str]:
        """cos and sin [seq, head_dim] of the rotary embedding, in float32 as transformers computes them."""
        dim = self.cfg.head_dim
        inv_freq = (1.0 / (np.float32(theta) ** (np.arange(0, dim, 2, dtype=np.float32) / dim))).astype(np.float32)
        freqs = self.op("Mul", [positions, self.const(name + ".inv_freq", inv_freq)], name + ".freqs")
        both = self.op("Concat", [freqs, freqs], name + ".emb", axis=-1)
        return self.op("Cos", [both], name + ".cos"), self.op("Sin", [both], name + ".sin")

    def rotate(self, x: str, cos: str, sin: str, name: str) -> str:
        """x * cos + rotate_half(x) * sin, rotate_half(x) = (-x2, x1) for the halves x1, x2 of x."""
        x1, x2 = self.ops("Split", [x], [name + ".x1", name + ".x2"], axis=-1, num_outputs=2)
        half = self.op("Concat", [self.op("Neg", [x2], name + ".neg"), x1], name + ".half", axis=-1)
        return self.op(
            "Add",
            [self.op("Mul", [x, cos], name + ".cos"), self.op("Mul", [half, sin], name + ".sin")],
            name,
        )

    def attention(self, x: str, p: str, cos: str, sin: str, bias: str) -> str:
        cfg = self.cfg
        w = f"{p}.self_attn."
        qkv = self.linear(x, f"{p}.qkv", w + "q_proj.weight", w + "k_proj.weight", w + "v_proj.weight")
        q_width, kv_width = cfg.heads * cfg.head_dim, cfg.kv_heads * cfg.head_dim
        q, k, v = self.ops(
            "Split",
            [qkv, self.const(f"{p}.qkv.split", np.array([q_width, kv_width, kv_width], np.int64))],
            [f"{p}.q", f"{p}.k", f"{p}.v"],
            axis=-1,
        )
        heads = {}
        for part, n in (("q", cfg.heads), ("k", cfg.kv_heads), ("v", cfg.kv_heads)):
            shape = self.const(f"{p}.{part}.shape", np.array([0, 0, n, cfg.head_dim], np.int64))
            split = self.op("Reshape", [{"q": q, "k": k, "v": v}[part], shape], f"{p}.{part}.heads")
            heads[part] = self.op("Transpose", [split], f"{p}.{part}.t", perm=[0, 2, 1, 3])  # [B, n, S, D]
        q = self.rotate(self.norm(heads["q"], f"{p}.q_norm", w + "q_norm.weight"), cos, sin, f"{p}.q.rope")
        k = self.rotate(self.norm(heads["k"], f"{p}.k_norm", w + "k_norm.weight"), cos, sin, f"{p}.k.rope")
        k_t = self.op("Transpose", [k], f"{p}.k.tt", perm=[0, 1, 3, 2])
        # The one key/value head broadcasts over the query heads in MatMul: no copies of it.
        scores = self.op("MatMul", [q, k_t], f"{p}.qk")
        scores = self.op("Mul", [scores, "attn.scale"], f"{p}.scores")
        probs = self.op("Softmax", [self.op("Add", [scores, bias], f"{p}.masked")], f"{p}.probs", axis=-1)
        ctx = self.op("MatMul", [probs, heads["v"]], f"{p}.ctx")
        ctx = self.op("Transpose", [ctx], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = self.op("Reshape", [ctx, "flat"], f"{p}.ctx.flat")
        return self.linear(ctx, f"{p}.o", w + "o_proj.weight")

    def mlp(self, x: str, p: str) -> str:
        w = f"{p}.mlp."
        both = self.linear(x, f"{p}.gate_up", w + "gate_proj.weight", w + "up_proj.weight")
        gate, up = self.ops("Split", [both], [f"{p}.gate", f"{p}.up"], axis=-1, num_outputs=2)
        act = self.op("Gelu", [gate], f"{p}.gelu", approximate="tanh")
        return self.linear(self.op("Mul", [act, up], f"{p}.geglu"), p + _DOWN, w + "down_proj.weight")

    def masks(self, mask: str, positions: str) -> tuple[str, str]:
        """Additive biases [B, 1, S or 1, S]: padded keys for full layers, and beyond the window for sliding ones."""
        keys = self.op("Cast", [mask], "mask.bool", to=TensorProto.BOOL)
        keys = self.op("Unsqueeze", [keys, self.const("axes12", np.array([1, 2], np.int64))], "mask.keys")
        zero = self.const("zero", np.array(0, np.float32))
        masked = self.const("masked", np.array(_MASKED, np.float32))
        full = self.op("Where", [keys, zero, masked], "bias.full")
        rows = self.op("Unsqueeze", [positions, self.const("axis1", np.array([1], np.int64))], "pos.rows")
        cols = self.op("Unsqueeze", [positions, self.const("axis0", np.array([0], np.int64))], "pos.cols")
        distance = self.op("Abs", [self.op("Sub", [rows, cols], "pos.diff")], "pos.distance")
        half_window = self.const("half_window", np.array(self.cfg.half_window, np.int64))
        near = self.op("LessOrEqual", [distance, half_window], "pos.near")
        local = self.op("Where", [self.op("And", [near, keys], "mask.local"), zero, masked], "bias.local")
        return full, local

    def pool(self, x: str, mask: str) -> str:
        """Mean over the unpadded tokens, then 2_Dense and 3_Dense, then L2 normalisation."""
        weights = self.op("Cast", [mask], "mask.float", to=TensorProto.FLOAT)
        total = self.op("Mul", [x, self.op("Unsqueeze", [weights, "last"], "mask.col")], "pool.masked")
        total = self.op(
            "ReduceSum", [total, self.const("axis_tokens", np.array([1], np.int64))], "pool.sum", keepdims=0
        )
        count = self.op("ReduceSum", [weights, "last"], "pool.count", keepdims=1)
        count = self.op("Max", [count, self.const("min_tokens", np.array(_MIN_TOKENS, np.float32))], "pool.clamped")
        x = self.op("Div", [total, count], "pool.mean")
        for dense in ("2_Dense", "3_Dense"):
            x = self.op("MatMul", [x, self.const(dense, self.t[dense].T)], dense + ".out")
        norm = self.op("ReduceL2", [x, "last"], "l2", keepdims=1)
        norm = self.op("Max", [norm, self.const("norm_eps", np.array(_NORM_EPS, np.float32))], "l2.clamped")
        return self.op("Div", [x, norm], "embedding")

    def build(self) -> onnx.ModelProto:
        cfg = self.cfg
        self.const("last", np.array([-1], np.int64))
        self.const("flat", np.array([0, 0, cfg.heads * cfg.head_dim], np.int64))
        self.const("attn.scale", np.array(cfg.query_scale, np.float32))
        self.const("start", np.array(0, np.int64))
        self.const("one", np.array(1, np.int64))
        x = self.op("Gather", [self.const("embed", self.t["embed_tokens.weight"]), "input_ids"], "embedded")
        # transformers multiplies by sqrt(hidden) cast to the weights' dtype: float32 here. (Not named
        # "embed_scale": the quantizer names the table's scale that and would take this one.)
        x = self.op("Mul", [x, self.const("embed.sqrt_hidden", np.array(math.sqrt(cfg.hidden), np.float32))], "x")

        seq = self.op("Gather", [self.op("Shape", ["input_ids"], "ids.shape"), "one"], "seq")
        positions = self.op("Range", ["start", seq, "one"], "positions")
        pos_f = self.op("Unsqueeze", [self.op("Cast", [positions], "pos.f", to=TensorProto.FLOAT), "last"], "pos.col")
        rope = {
            True: self.rope(pos_f, cfg.rope_local, "rope.local"),
            False: self.rope(pos_f, cfg.rope_full, "rope.full"),
        }
        full, local = self.masks("attention_mask", positions)

        for i, sliding in enumerate(cfg.sliding):
            p = f"layers.{i}"
            cos, sin = rope[sliding]
            h = self.attention(
                self.norm(x, f"{p}.in", f"{p}.input_layernorm.weight"), p, cos, sin, local if sliding else full
            )
            x = self.op("Add", [x, self.norm(h, f"{p}.post_attn", f"{p}.post_attention_layernorm.weight")], f"{p}.res1")
            h = self.mlp(self.norm(x, f"{p}.pre_ff", f"{p}.pre_feedforward_layernorm.weight"), p)
            x = self.op("Add", [x, self.norm(h, f"{p}.post_ff", f"{p}.post_feedforward_layernorm.weight")], f"{p}.res2")
        x = self.norm(x, "final_norm", "norm.weight")

        graph = helper.make_graph(
            self.nodes,
            "embeddinggemma",
            [
                helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
                helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
            ],
            [helper.make_tensor_value_info(self.pool(x, "attention_mask"), TensorProto.FLOAT, ["batch", DIM])],
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
        model.ir_version = _IR_VERSION
        return model


def build_graph(model_dir: Path) -> onnx.ModelProto:
    """The fp32 graph of the checkpoint in ``model_dir`` (sentence-transformers layout)."""
    model_dir = Path(model_dir)
    cfg = GemmaConfig.read(model_dir)
    _check_head(model_dir)
    tensors = read_safetensors(model_dir / "model.safetensors")
    for dense in ("2_Dense", "3_Dense"):
        tensors[dense] = read_safetensors(model_dir / dense / "model.safetensors")["linear.weight"]
    return _Graph(cfg, tensors).build()


def _save(model: onnx.ModelProto, path: Path) -> None:
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))


def convert(model_dir: Path, out_path: Path, quantize: bool) -> Path:
    """Write the fp32 graph, or its int8 quantization, to ``out_path``; the file appears whole or not at all."""
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    model = build_graph(model_dir)
    down_projections = [node.name for node in model.graph.node if node.name.endswith(_DOWN)]
    # Next to the target, so the final rename stays on one file system.
    with tempfile.TemporaryDirectory(dir=out_path.parent, prefix=out_path.name + ".") as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        _save(model, fp32)
        del model  # the quantizer loads its own copy
        result = fp32
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            result = Path(scratch) / "int8.onnx"
            # Unsigned weights: onnxruntime multiplies uint8 activations by int8 weights with
            # VPMADDUBSW on CPUs without VNNI, whose int16 pair sums saturate (wrong sums, vectors
            # far off); uint8 by uint8 is exact on every CPU.
            # The down projections stay float32: their input, gelu(gate) * up, is heavy-tailed (rare
            # values far above the rest, on any token), and onnxruntime quantizes a MatMul's input
            # with one scale for the whole tensor, so most of it would round to a few levels; that
            # error grows with the text's length.
            with _quiet_root_logger():
                quantize_dynamic(
                    fp32,
                    result,
                    op_types_to_quantize=["MatMul", "Gather"],
                    per_channel=True,
                    weight_type=QuantType.QUInt8,
                    nodes_to_exclude=down_projections,
                )
        os.replace(result, out_path)
    return out_path


@contextlib.contextmanager
def _quiet_root_logger():
    """The quantizer logs advice through the root logger ("consider pre-processing"), which would
    install a stderr handler for the rest of the process: every library's debug records (bm25s's
    among them) then reach the user's terminal. A handler of our own, for the call's duration,
    keeps the root logger unconfigured and drops that advice."""
    root = logging.getLogger()
    sink = logging.NullHandler()
    root.addHandler(sink)
    try:
        yield
    finally:
        root.removeHandler(sink)


def document_prompt(title: str | None = None) -> str:
    """The prompt of a document, with its title or sentence-transformers' "none"."""
    return DOCUMENT_PROMPT.format(title=title or NO_TITLE)


class GemmaOnnx:
    """Encode texts with EmbeddingGemma-300M; ``query``/``passage`` return one L2-normalised [768] row.

    ``onnx_path`` is a file ``convert`` wrote, ``tokenizer_path`` the checkpoint's tokenizer.json.
    """

    def __init__(self, onnx_path: Path, tokenizer_path: Path, threads: int = 1) -> None:
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)  # counts the <bos> and <eos> the template adds
        self.pad_id = self.tokenizer.token_to_id("<pad>")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

    def token_ids(self, texts: Sequence[str], prompt: str) -> list[list[int]]:
        """The ids sentence-transformers feeds the model for ``prompt + text``."""
        return [e.ids for e in self.tokenizer.encode_batch([prompt + text for text in texts])]

    def encode(self, texts: Sequence[str], prompt: str, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
        """[len(texts), 768] float32, in the order of ``texts``.

        Texts are run in batches of similar length (sorted by token count), each padded to its
        longest; padding does not change a text's vector. (In the int8 graph a batch shares one
        activation scale per tensor, so there a text's vector moves slightly with its batch-mates;
        ``batch_size=1`` makes every vector independent of the others.)
        """
        ids = self.token_ids(texts, prompt)
        out = np.zeros((len(ids), DIM), np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            width = max(len(ids[i]) for i in chunk)
            input_ids = np.full((len(chunk), width), self.pad_id, np.int64)
            mask = np.zeros((len(chunk), width), np.int64)
            for row, i in enumerate(chunk):
                input_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1
            out[chunk] = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
        return out

    def query(self, text: str) -> np.ndarray:
        return self.encode([text], QUERY_PROMPT)[0]

    def passage(self, text: str, title: str | None = None) -> np.ndarray:
        return self.encode([text], document_prompt(title))[0]
