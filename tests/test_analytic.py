"""Analytic (roofline) model: the primer's 4x, lower-bound structure, physical invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.config import load_scenario
from npusim.engine.analytic import run_analytic
from npusim.engine.tiling import OperandBits, choose_tiling
from npusim.errors import CapacityError
from npusim.workload import Conv2d, Linear, Workload, load_workload

GEMV = Workload("gemv", (Linear("gemv", in_features=4096, out_features=4096, tokens=1),))


# DRAM bytes of the 4096 x 4096 GEMV by hand: weights (+ FP32 scale per output channel for
# the integer formats, the default symmetric per-channel scheme), input and output vectors (+
# one FP32 per-tensor scale each).
GEMV_DRAM_BYTES = {
    "fp32": 4096 * 4096 * 4 + 2 * 4096 * 4,
    "int8": 4096 * 4096 + 4096 * 4 + 2 * (4096 + 4),
    "int4": 4096 * 4096 // 2 + 4096 * 4 + 2 * (4096 // 2 + 4),
}


def test_gemv_fp32_over_int8_time_is_the_primers_4x_less_the_scales() -> None:
    """Primer: 50 GB/s moves 12.5 G FP32 or 50 G INT8 parameters per second (ratio 4).

    The roofline's memory time is the bytes over the 51.2 B/cycle peak (4 x 12.8 GB/s at
    1 GHz), rounded up to a cycle; the integer formats' scales make the ratio 3.996, not 4."""
    runs = {p: run_analytic(load_scenario(precision=p), GEMV) for p in GEMV_DRAM_BYTES}
    for p, moved in GEMV_DRAM_BYTES.items():
        totals = runs[p].totals()
        assert totals["dram_read_bytes"] + totals["dram_write_bytes"] == moved, p
        assert totals["cycles"] == math.ceil(moved / 51.2), p
        assert runs[p].layers[0].bound == "memory"
    fp32, int8, int4 = (runs[p].totals()["time_s"] for p in ("fp32", "int8", "int4"))
    assert fp32 / int8 == pytest.approx(GEMV_DRAM_BYTES["fp32"] / GEMV_DRAM_BYTES["int8"], rel=1e-5)
    assert int8 / int4 == pytest.approx(GEMV_DRAM_BYTES["int8"] / GEMV_DRAM_BYTES["int4"], rel=1e-5)
    # Parameters per second at the peak bandwidth: 12.8 G vs 51.2 G at 51.2 GB/s.
    params = 4096 * 4096
    assert params / fp32 == pytest.approx(51.2e9 / 4, rel=0.001)
    assert params / int8 == pytest.approx(51.2e9 / 1, rel=0.002)  # 0.1 % scales, 0.05 % I/O


def test_peak_bandwidth_is_channels_times_12_8_gbps() -> None:
    # Micron MT62F / JESD209-5B: 6400 MT/s x 2 B = 12.8 GB/s per x16 channel.
    for channels in (1, 2, 4):
        s = load_scenario(overrides=[f"dram.channels={channels}"])
        assert run_analytic(s, GEMV).dram_peak_gbps == pytest.approx(12.8 * channels)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8", "int4", "int2", "binary"])
@pytest.mark.parametrize("workload", ["resnet50_layers", "mlp", "gemv_4096"])
def test_invariants(precision: str, workload: str) -> None:
    scenario = load_scenario(precision=precision)
    result = run_analytic(scenario, load_workload(workload))
    totals = result.totals()
    assert totals["dram_bandwidth_gbps"] <= totals["dram_peak_gbps"] * (1 + 1e-9)
    assert 0 <= totals["cache_hit_rate"] <= 1
    assert 0 < totals["mac_utilization"] <= 1
    assert totals["energy_pj"]["total"] > 0
    assert totals["energy_pj"]["total"] == pytest.approx(
        sum(layer.energy_pj.total for layer in result.layers)
    )
    for layer in result.layers:
        assert layer.cycles >= layer.compute_cycles and layer.cycles >= layer.memory_cycles
        assert layer.cache_hits + layer.cache_misses > 0
        assert min(layer.energy_pj.as_dict().values()) >= 0
    assert run_analytic(scenario, load_workload(workload)).summary() == result.summary()


def test_fewer_bits_never_move_more_dram_bytes() -> None:
    workload = load_workload("resnet50_layers")
    traffic = [
        run_analytic(load_scenario(precision=p), workload).totals()["dram_read_bytes"]
        for p in ("fp32", "fp16", "int8", "int4", "int2", "binary")
    ]
    assert traffic == sorted(traffic, reverse=True)


def test_int8_array_energy_is_about_10x_cheaper_than_fp32() -> None:
    # Horowitz ISSCC 2014 (45 nm): INT8 MAC 0.3 pJ, FP32 MAC 4.6 pJ (15x); plus os PE
    # registers, 2 operands + the INT32/FP32 sum at Aladdin's register bit (0.1 * 0.009 / 0.21
    # pJ): 48 bits for INT8, 96 for FP32. ResNet-50's layers are all on the array.
    # INT8 outputs are requantized (Jacob et al. 2018): 32 x 32 multiply + 32-bit add each.
    workload = load_workload("resnet50_layers")
    int8_run = run_analytic(load_scenario(precision="int8"), workload)
    int8 = int8_run.totals()["energy_pj"]["mac"]
    fp32 = run_analytic(load_scenario(precision="fp32"), workload).totals()["energy_pj"]["mac"]
    bit = 0.1 * 0.009 / 0.21
    macs = sum(layer.macs for layer in int8_run.layers)
    outputs = sum(layer.groups * layer.m * layer.n for layer in int8_run.layers)
    assert int8 == pytest.approx(macs * (0.3 + 48 * bit) + outputs * (0.2 * 16 + 0.1))
    assert fp32 == pytest.approx(macs * (4.6 + 96 * bit))


def test_tiling_fits_double_buffered_and_reads_each_tensor_at_least_once() -> None:
    bits = OperandBits(input=8, weight=8, output=8, accumulator=32)
    tiling = choose_tiling("l", 3136, 576, 64, bits, (200_704, 36_864, 200_704), 64 * 1024)
    assert tiling.footprint_bytes <= 64 * 1024
    assert tiling.input_reuse >= 1 and tiling.weight_reuse >= 1
    tm, tn, tk = tiling.tm, tiling.tn, tiling.tk
    footprint = 2 * (tm * tk + tk * tn) + tm * tn * (4 + 1)
    assert footprint == tiling.footprint_bytes


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.sampled_from([16 * 1024, 256 * 1024, 4 * 2**20]),
)
def test_more_sram_never_means_more_traffic(m: int, k: int, n: int, capacity: int) -> None:
    bits = OperandBits(input=8, weight=8, output=8, accumulator=32)
    sizes = (m * k, k * n, m * n)
    try:
        small = choose_tiling("l", m, k, n, bits, sizes, capacity)
    except CapacityError:
        return
    big = choose_tiling("l", m, k, n, bits, sizes, capacity * 4)
    assert big.dram_read_bytes <= small.dram_read_bytes
    assert small.dram_read_bytes >= sizes[0] + sizes[1]


def test_a_tile_that_cannot_fit_is_a_named_error() -> None:
    bits = OperandBits(input=32, weight=32, output=32, accumulator=32)
    with pytest.raises(CapacityError, match="layer 'big': no tile fits the 1024 B SRAM"):
        choose_tiling("big", 64, 64, 64, bits, (1, 1, 1), 1024, min_tile=64)


def test_conv_reads_the_stored_ifmap_not_im2col() -> None:
    conv = Conv2d("c", in_h=56, in_w=56, in_channels=64, out_channels=64, kernel_h=3,
                  kernel_w=3, padding=1)  # fmt: skip
    result = run_analytic(load_scenario(), Workload("w", (conv,)))
    layer = result.layers[0]
    ifmap = 56 * 56 * 64
    assert layer.extra["input_read_bytes"] % ifmap == 0  # whole ifmap reads, not 9x im2col
    assert math.isclose(layer.macs, 56 * 56 * 64 * 64 * 9)


def test_area_is_reported_and_fp32_macs_cost_far_more_silicon() -> None:
    # Horowitz ISSCC 2014 (45 nm): INT8 MAC ~420 um^2, FP32 MAC ~11,900 um^2; an FP32 PE
    # does 0.25 MAC/cycle here, so the array's FP32 datapath is sized for that rate.
    int8 = run_analytic(load_scenario(precision="int8"), GEMV).extra["area_mm2"]
    fp32 = run_analytic(load_scenario(precision="fp32"), GEMV).extra["area_mm2"]
    assert int8["sram"] == fp32["sram"] > 0
    assert fp32["mac_array"] > 5 * int8["mac_array"]
    assert int8["total"] == pytest.approx(int8["mac_array"] + int8["sram"])
    smaller = load_scenario(overrides=["energy.sram_area=1 mm^2"])
    assert run_analytic(smaller, GEMV).extra["area_mm2"]["sram"] == pytest.approx(4.0)
