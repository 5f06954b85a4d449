"""Decoder layer kinds (npusim/workload/decoder.py): RMSNorm, rotary embedding, the embedding
gather; op counts from the published formulas, traffic of a gather, the Llama graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from npusim.config import load_scenario
from npusim.errors import ConfigError, WorkloadError
from npusim.simulate import simulate
from npusim.workload import Embedding, RMSNorm, Rope, load_workload


def test_op_counts_follow_the_published_formulas() -> None:
    """RMSNorm (Zhang & Sennrich 2019, Eq. 4): a_i / sqrt(mean(a^2)) * g_i is a square, a
    sum, a scale and a gain per element: 4, not layernorm's 7. RoPE (Su et al. 2021, Eq. 34):
    x * cos + rotate_half(x) * sin, 3 per element. A gather moves data only."""
    assert RMSNorm("n", tokens=3, features=2048).vector_ops == 4 * 3 * 2048
    rope = Rope("r", tokens=5, heads=8, head_dim=64, batch=2)
    assert rope.input_elements == rope.output_elements == 2 * 5 * 8 * 64
    assert rope.vector_ops == 3 * 2 * 5 * 8 * 64
    embed = Embedding("e", tokens=7, features=2048, vocab=128256)
    assert (embed.input_elements, embed.vector_ops, embed.weight_elements) == (7 * 2048, 0, 0)


def test_bad_shapes_name_the_layer() -> None:
    with pytest.raises(WorkloadError, match="'r': head_dim must be even"):
        Rope("r", tokens=1, heads=8, head_dim=63)
    with pytest.raises(WorkloadError, match="'e'"):
        Embedding("e", tokens=1, features=2048, vocab=0)


def test_a_gather_reads_its_rows_not_the_table(tmp_path: Path) -> None:
    """Three tokens of a 128256 x 2048 table at INT8: 3 x 2048 bytes in from DRAM (plus the
    per-tensor scale), never the 262 MB table."""
    path = tmp_path / "g.yaml"
    path.write_text("name: g\nlayers:\n  - {name: embed, type: embedding, tokens: 3, "
                    "features: 2048, vocab: 128256}\n"
                    "  - {name: n, type: rmsnorm, tokens: 3, features: 2048}\n")  # fmt: skip
    result = simulate(load_scenario(), load_workload(path), "analytic")
    embed = result.layers[0]
    assert embed.extra["input_read_bytes"] == 3 * 2048
    assert embed.dram_read_bytes < 3 * 2048 + 64


def test_an_unknown_field_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("layers: [{name: r, type: rope, tokens: 1, heads: 2, headdim: 64}]\n")
    with pytest.raises(ConfigError, match="head_dim"):
        load_workload(path)


def test_llama_rotates_queries_and_new_keys_and_gathers_its_tokens() -> None:
    """Llama-3.2-1B decode: RoPE on the 32 query heads and the 8 new KV-head keys; the rotated
    keys are the cache append; the gather feeds block 0 and its residual add."""
    w = load_workload("llama3_2_1b", params={"tokens": 2})
    layers = {layer.name: layer for layer in w.layers}
    assert (layers["l0_q_rope"].heads, layers["l0_k_rope"].heads) == (32, 8)
    assert w.inputs["l0_qk"] == ("l0_q_rope",)
    assert w.graph.tensors["l0_k_rope"].is_output
    assert w.graph.tensors["embed"].consumers == ("l0_norm1", "l0_add1")
    assert layers["embed"].input_elements == 2 * 2048
    assert {layers[n].kind for n in ("l0_norm1", "l0_norm2", "norm")} == {"rmsnorm"}


def test_a_layer_type_that_is_not_a_name_is_a_config_error(tmp_path: Path) -> None:
    """A mapping as the type (tools/fuzz.py found it raising TypeError: unhashable)."""
    path = tmp_path / "bad.yaml"
    path.write_text("layers: [{name: a, type: {x: 1}, in_features: 4, out_features: 4}]\n")
    with pytest.raises(ConfigError, match=r"layers\[0\]\.type: expected one of"):
        load_workload(path)
