"""Llama-3.2-1B decode steps (analytic fidelity) by DRAM traffic kind: what INT4 weights,
a KV-cache format and a batch change, against hand counts from the published shapes."""

from __future__ import annotations

import pytest

from npusim.config import load_scenario
from npusim.llm.generate import GenerateSpec, run_generate
from npusim.llm.kinds import llm_bytes_by_kind
from npusim.simulate import simulate
from npusim.workload import load_workload

# Llama-3.2-1B: 1,235,814,400 published parameters less the 33 RMSNorm gains of 2048
WEIGHTS = 1_235_814_400 - 33 * 2048
# output channels of every projection (Q, K, V, O, gate, up, down) and the LM head
CHANNELS = 16 * (2048 + 512 + 512 + 2048 + 8192 + 8192 + 2048) + 128256
SCALE_BYTES = 4  # the quantizer stores FP32 scales (npusim/quant)
KV_ROW = 16 * 2 * 8 * 64  # blocks x (K, V) x KV heads x head_dim values per cached token
INT4_G128 = ["precision.weights=int4", "quantization.granularity=per_group",
             "quantization.group_size=128"]  # fmt: skip


def _kinds(overrides: list[str], kv_len: int = 2047, batch: int = 1) -> dict[str, int]:
    workload = load_workload("llama3_2_1b", {"kv_len": kv_len, "batch": batch})
    result = simulate(load_scenario(overrides=overrides), workload, "analytic")
    return llm_bytes_by_kind(result, workload)


def test_int4_weights_halve_weight_traffic_and_scales_are_stated() -> None:
    """INT8 per channel: 1 byte a weight + one scale per output channel. INT4 per group of
    128: half a byte a weight + one scale per 128 weights, so weights + scales are 0.530 of
    INT8's, not 0.5 (FP16 scales would make it 0.515)."""
    int8, int4 = _kinds([]), _kinds(INT4_G128)
    assert int8["weights"] == WEIGHTS
    assert int4["weights"] * 2 == WEIGHTS
    weight_scales = {"int8": CHANNELS * SCALE_BYTES, "int4": WEIGHTS // 128 * SCALE_BYTES}
    assert int4["metadata"] - int8["metadata"] == weight_scales["int4"] - weight_scales["int8"]
    ratio = (int4["weights"] + weight_scales["int4"]) / (int8["weights"] + weight_scales["int8"])
    assert ratio == pytest.approx(0.5304, abs=1e-4)
    for kind in ("kv_read", "kv_write", "activations"):
        assert int4[kind] == int8[kind]


def test_fp16_group_scales_as_on_device_runtimes_ship_them() -> None:
    """``quantization.scale_format: fp16``: 2 B a scale, so INT4 g128 weights + scales are
    (1/2 + 2/128) / (1 + 2 x channels / weights) = 0.515 of INT8 per-channel's."""
    fp16 = ["quantization.scale_format=fp16"]
    int8, int4 = _kinds(fp16), _kinds(INT4_G128 + fp16)
    scales = {"int8": CHANNELS * 2, "int4": WEIGHTS // 128 * 2}
    assert int4["metadata"] - int8["metadata"] == scales["int4"] - scales["int8"]
    ratio = (int4["weights"] + scales["int4"]) / (int8["weights"] + scales["int8"])
    assert ratio == pytest.approx((1 / 2 + 2 / 128) / (1 + 2 * CHANNELS / WEIGHTS), rel=1e-6)
    assert ratio == pytest.approx(0.5152, abs=1e-4)


@pytest.mark.parametrize(("kv", "bits"), [("int4", 4), ("fp16", 16)])
def test_a_kv_cache_format_moves_only_kv_traffic(kv: str, bits: int) -> None:
    """Context 2048 (2047 cached + the new row): 16 x 2 x 8 x 64 x 2048 values read and the
    new row's 16 x 2 x 8 x 64 values appended, both at the KV format's width; weights and
    activations unchanged."""
    int8, other = _kinds([]), _kinds([f"precision.kv_cache={kv}"])
    assert int8["kv_read"] == KV_ROW * 2048
    assert other["kv_read"] == KV_ROW * 2048 * bits // 8
    assert int8["kv_write"] == KV_ROW
    assert other["kv_write"] == KV_ROW * bits // 8
    for kind in ("weights", "activations"):
        assert other[kind] == int8[kind]


def test_per_token_kv_scales_are_read_with_the_cache_and_written_with_each_row() -> None:
    """An INT4 cache with one FP32 scale per 64 values (head_dim 64: per token and head):
    2048 tokens x 256 head rows read and the new token's 256 written, each with its scale,
    in place of 64 per-tensor scales (32 K/V reads and 32 appends); values unchanged."""
    int4 = ["precision.kv_cache=int4"]
    per_tensor, per_token = _kinds(int4), _kinds([*int4, "quantization.kv_group_size=64"])
    scales = (KV_ROW * 2048 + KV_ROW) // 64
    assert per_token["metadata"] - per_tensor["metadata"] == (scales - 64) * SCALE_BYTES
    for kind in ("weights", "kv_read", "kv_write", "activations"):
        assert per_token[kind] == per_tensor[kind]


def test_kv_appends_are_the_k_rope_and_v_outputs_of_each_block() -> None:
    """The new cache rows are each block's K projection after its rotary embedding and its V
    projection (16 blocks); a graph without a KV cache read has none."""
    graph = load_workload("llama3_2_1b", {"kv_len": 16}).graph
    expected = {f"l{i}_{name}" for i in range(16) for name in ("k_rope", "v")}
    assert graph.kv_appends() == expected
    assert load_workload("resnet50").graph.kv_appends() == frozenset()


def test_batch_decode_reads_the_weights_once_and_each_sequences_cache() -> None:
    one, many = _kinds([], batch=1), _kinds([], batch=16)
    assert many["weights"] == one["weights"] == WEIGHTS
    assert many["kv_read"] == 16 * one["kv_read"]
    assert many["kv_write"] == 16 * one["kv_write"]


def test_decode_time_is_bounded_below_by_its_bytes_over_peak_bandwidth() -> None:
    """Every decode step of a 1B generation (INT8, analytic) takes at least its weights and
    KV cache, counted by hand, over 51.2 GB/s: 24.8 ms at context 2048."""
    spec = GenerateSpec(prefill_tokens=2048, decode_tokens=32, samples=3)
    result = run_generate(load_scenario(), "llama3_2_1b", spec, "analytic")
    for step in result.decode.simulated:
        hand_bytes = WEIGHTS + KV_ROW * (step.kv_len + 1)
        assert step.time_s >= hand_bytes / 51.2e9
        assert step.time_s >= (step.dram_read_bytes + step.dram_write_bytes) / 51.2e9
    assert result.decode.tokens_per_s <= result.decode.limit_tokens_per_s
    assert result.decode.limit_tokens_per_s <= 51.2e9 / (WEIGHTS + KV_ROW * 2049)
