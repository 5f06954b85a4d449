"""Llama-3 decoder passes as workload layers (the bundled ``llama3_*`` workloads and any
other size, e.g. the tiny model the tests simulate every decode step of).

:func:`llama_layers` is the one builder: ``tools/make_zoo.py`` writes the bundled files with
it, :func:`write_llama_workload` writes a custom size. A pass runs ``tokens`` new tokens
against ``kv_len`` cached ones and computes logits for the last ``logits`` positions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from npusim.results import write_file_atomically
from npusim.workload import Workload


@dataclass(frozen=True)
class LlamaShape:
    """A Llama-3 architecture: hidden size ``d``, ``blocks`` decoder blocks, ``heads`` query
    heads and ``kv_heads`` key/value heads of ``head_dim``, SwiGLU width ``mlp``, ``vocab``
    tokens, and whether the LM head is tied to the token embedding."""

    d: int
    blocks: int
    heads: int
    kv_heads: int
    head_dim: int
    mlp: int
    vocab: int
    tied: bool = True


LLAMA_SHAPES: dict[str, LlamaShape] = {
    # The models' published config.json files (meta-llama on Hugging Face); parameter totals
    # 1,235,814,400 / 3,212,749,824 / 8,030,261,248 (tests/test_workload_zoo.py checks them).
    "llama3_2_1b": LlamaShape(2048, 16, 32, 8, 64, 8192, 128256, tied=True),
    "llama3_2_3b": LlamaShape(3072, 28, 24, 8, 128, 8192, 128256, tied=True),
    "llama3_1_8b": LlamaShape(4096, 32, 32, 8, 128, 14336, 128256, tied=False),
}

LLAMA_PARAMS = {"tokens": 1, "kv_len": 2048, "logits": 1}
"""Parameters of a Llama pass and their defaults: one decode step at context 2048."""


def _linear(name: str, k: int, n: int, tokens: str, inputs: str | None = None) -> dict[str, Any]:
    layer = {"name": name, "type": "linear", "in_features": k, "out_features": n,
             "tokens": tokens}  # fmt: skip
    return {**layer, "inputs": [inputs]} if inputs else layer


def _block(p: str, x: str, s: LlamaShape) -> list[dict[str, Any]]:
    """One decoder block reading the residual stream ``x``; layer names start with ``p``."""
    t, d, group, keys = "tokens", s.d, s.heads // s.kv_heads, "kv_len + tokens"
    rows = f"{group} * tokens"
    return [
        {"name": f"{p}norm1", "type": "rmsnorm", "tokens": t, "features": d, "inputs": [x]},
        _linear(f"{p}q", d, s.heads * s.head_dim, t, f"{p}norm1"),
        {"name": f"{p}q_rope", "type": "rope", "tokens": t, "heads": s.heads,
         "head_dim": s.head_dim, "inputs": [f"{p}q"]},
        _linear(f"{p}k", d, s.kv_heads * s.head_dim, t, f"{p}norm1"),
        {"name": f"{p}k_rope", "type": "rope", "tokens": t, "heads": s.kv_heads,
         "head_dim": s.head_dim, "inputs": [f"{p}k"]},
        _linear(f"{p}v", d, s.kv_heads * s.head_dim, t, f"{p}norm1"),
        {"name": f"{p}qk", "type": "matmul", "batch": s.kv_heads, "m": rows, "k": s.head_dim,
         "n": keys, "inputs": [f"{p}q_rope"]},
        {"name": f"{p}softmax", "type": "softmax", "batch": s.kv_heads, "rows": rows,
         "length": keys},
        {"name": f"{p}av", "type": "matmul", "batch": s.kv_heads, "m": rows, "k": keys,
         "n": s.head_dim},
        _linear(f"{p}o", s.heads * s.head_dim, d, t),
        {"name": f"{p}add1", "type": "elementwise", "op": "add", "elements": f"tokens * {d}",
         "inputs": [f"{p}o", x]},
        {"name": f"{p}norm2", "type": "rmsnorm", "tokens": t, "features": d},
        _linear(f"{p}gate", d, s.mlp, t),
        _linear(f"{p}up", d, s.mlp, t, f"{p}norm2"),
        {"name": f"{p}silu", "type": "activation", "function": "silu",
         "elements": f"tokens * {s.mlp}", "inputs": [f"{p}gate"]},
        {"name": f"{p}mul", "type": "elementwise", "op": "mul",
         "elements": f"tokens * {s.mlp}", "inputs": [f"{p}silu", f"{p}up"]},
        _linear(f"{p}down", s.mlp, d, t),
        {"name": f"{p}add2", "type": "elementwise", "op": "add", "elements": f"tokens * {d}",
         "inputs": [f"{p}down", f"{p}add1"]},
    ]  # fmt: skip


def llama_layers(shape: LlamaShape) -> list[dict[str, Any]]:
    """A Llama-3 decoder pass over ``tokens`` new tokens with ``kv_len`` cached ones, as
    workload layer mappings (parameters :data:`LLAMA_PARAMS`).

    The token embedding is a gather of one row per new token (the pass's input). Grouped-query
    attention as batched matmuls over the KV heads: each KV head's keys and values are read
    once for its ``heads / kv_heads`` query heads (the query rows of a group are the M rows).
    Rotary embedding rotates the new queries and keys; the K and V caches (``kv_len + tokens``
    rows, the new ones included) are stored operands read from DRAM; the new (rotated) K and
    the new V rows are outputs of the pass (the cache append). RMSNorm and SwiGLU (gate and up
    projections, SiLU and a multiply) as published. The causal mask is not modelled:
    attention scores every cached position for every new token (a prefill in chunks,
    :mod:`npusim.llm.generate`, is causal at chunk granularity).

    The final norm and the LM head run on the last ``logits`` positions only (a generation
    needs the next token's logits, not the prompt's). When ``logits < tokens`` (a prefill)
    the final norm reads its rows from DRAM, so the last block's output (the final hidden
    states) is written there: ``tokens x d`` activations, which is what a runtime that keeps
    only the last rows would also move at most.
    """
    layers: list[dict[str, Any]] = [{"name": "embed", "type": "embedding", "tokens": "tokens",
                                     "features": shape.d, "vocab": shape.vocab}]  # fmt: skip
    x = "embed"
    for i in range(shape.blocks):
        layers += _block(f"l{i}_", x, shape)
        x = f"l{i}_add2"
    layers.append({"name": "norm", "type": "rmsnorm", "tokens": "logits",
                   "features": shape.d})  # fmt: skip
    layers.append(_linear("lm_head", shape.d, shape.vocab, "logits"))
    return layers


HEAD_LAYERS = ("norm", "lm_head")
"""The layers after the last decoder block (:func:`llama_layers`)."""


def without_head(workload: Workload) -> Workload:
    """``workload`` without :data:`HEAD_LAYERS`: a prefill chunk whose logits nobody needs
    (the last block's output becomes the pass's output, written to DRAM: ``tokens x d``
    activations, as a runtime keeping the hidden state of the chunk's last row moves at
    most)."""
    layers = tuple(layer for layer in workload.layers if layer.name not in HEAD_LAYERS)
    inputs = {name: reads for name, reads in workload.inputs.items() if name not in HEAD_LAYERS}
    return dataclasses.replace(workload, layers=layers, inputs=MappingProxyType(inputs))


def write_llama_workload(path: Path, name: str, shape: LlamaShape) -> Path:
    """Write a Llama workload of ``shape`` named ``name`` to ``path`` (YAML, atomically)."""
    import yaml

    document = {"name": name, "description": f"Llama-3 shape {shape}", "batch": 1,
                "params": dict(LLAMA_PARAMS), "layers": llama_layers(shape)}  # fmt: skip
    return write_file_atomically(path, yaml.safe_dump(document, sort_keys=False))
