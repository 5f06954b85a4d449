"""``precision.kv_cache``: a KV cache stored, read and computed in its own format."""

from __future__ import annotations

import pytest

from npusim.config import load_scenario
from npusim.errors import ConfigError
from npusim.simulate import simulate
from npusim.workload import Linear, Matmul, Workload, load_workload

BITS = {"int8": 8, "int4": 4, "fp16": 16}


@pytest.mark.parametrize("kv", sorted(BITS))
def test_gpt2_attention_reads_its_kv_cache_at_the_kv_precision(kv: str) -> None:
    """QK^T of one GPT-2 decode step reads the K cache: 12 heads x 64 x (1024 + 1) keys, at
    the KV format's bits (payload; the per-tensor scale is metadata). The Q operand stays at
    INT8 and the product runs at the wider of the two."""
    scenario = load_scenario(overrides=[f"precision.kv_cache={kv}"])
    result = simulate(scenario, load_workload("gpt2_decode"), "analytic")
    qk = next(layer for layer in result.layers if layer.name == "h0_qk")
    assert qk.extra["weight_read_bytes"] == 12 * 64 * 1025 * BITS[kv] // 8
    assert qk.extra["mac_precision"] == ("fp16" if kv == "fp16" else "int8")
    assert result.summary()["precision"]["kv_cache"] == kv
    proj = next(layer for layer in result.layers if layer.name == "h0_proj")
    assert proj.extra["weight_read_bytes"] == 768 * 768  # weights keep their INT8


def test_a_long_context_decode_gains_from_an_int4_kv_cache() -> None:
    """Llama-3.2-1B at 32K context: the KV cache (16 blocks x 2 x 8 heads x 64 x 32769 values)
    is a third of the step's bytes at INT8, so halving it saves time; labels say so."""
    workload = load_workload("llama3_2_1b", params={"kv_len": 32768})
    times = {}
    for kv in ("int8", "int4"):
        scenario = load_scenario(overrides=[f"precision.kv_cache={kv}"])
        result = simulate(scenario, workload, "analytic")
        times[kv] = result.totals()["time_s"]
        kv_bytes = sum(layer.extra["weight_read_bytes"] for layer in result.layers
                       if layer.type == "matmul")  # fmt: skip
        assert kv_bytes == 16 * 2 * 8 * 64 * 32769 * BITS[kv] // 8
    assert times["int4"] < times["int8"]
    assert load_scenario(overrides=["precision.kv_cache=int4"]).precision.label == "int8+kv:int4"


def test_an_unknown_kv_format_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"precision\.kv_cache: expected one of"):
        load_scenario(overrides=["precision.kv_cache=int3"])


def test_the_allocator_reserves_a_wide_kv_caches_own_tile_buffers() -> None:
    """The scratchpad allocator reserves each layer's smallest tile buffers at the plan's own
    operand widths. QK^T's smallest tiles over an FP32 K cache (a 64 x 64 FP32 tile, double
    buffered: 32 KiB) do not fit beside a 40,000-byte tensor alive across it in 64 KiB, so the
    allocator must spill that tensor rather than leave the layer too little room."""
    layers = (
        Linear("q", in_features=64, out_features=768),
        Linear("big", in_features=64, out_features=40_000),
        Matmul("qk", m=1, k=64, n=1025, batch=12),
        Linear("back", in_features=40_000, out_features=64),
    )
    inputs = {"q": ("input",), "big": ("input",), "qk": ("q",), "back": ("big",)}
    workload = Workload("kv", layers, inputs=inputs)
    scenario = load_scenario(overrides=["precision.kv_cache=fp32", "sram.mode=scratchpad",
                                        "sram.capacity=64 KiB"])  # fmt: skip
    result = simulate(scenario, workload, "analytic")
    assert result.summary()["sram"]["spilled_tensors"] == ["big"]
    assert result.summary()["sram"]["peak_bytes"] <= 64 * 1024


def test_a_kv_group_that_does_not_divide_the_cache_names_its_key() -> None:
    """Llama 3.2 1B at a 64-token context: 48 values per scale divide no K or V cache (8 heads
    x 64 = 512 values per token), and the refusal names quantization.kv_group_size instead of
    a tensor axis; 64 (one scale per token and head) runs."""
    workload = load_workload("llama3_2_1b", {"kv_len": 64})
    bad = load_scenario(overrides=["precision.kv_cache=int4", "quantization.kv_group_size=48"])
    with pytest.raises(ConfigError, match=r"quantization\.kv_group_size.*48.*512 values"):
        simulate(bad, workload, "analytic")
    good = load_scenario(overrides=["precision.kv_cache=int4", "quantization.kv_group_size=64"])
    assert simulate(good, workload, "analytic").totals()["time_s"] > 0
