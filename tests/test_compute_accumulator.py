"""Accumulator buffer: ws/is partial sums stay below the array when a column fold's fit;
os keeps its outputs in the PEs. PE registers per MAC by dataflow. Expected counts derived by
hand from the dataflow table."""

from __future__ import annotations

import math

import pytest

from npusim.compute.array import layer_timing
from npusim.compute.energy import NodeScaling
from npusim.compute.params import ArrayParams, check_params
from npusim.config import load_scenario
from npusim.engine.plan import LayerPlan, plan_layer
from npusim.errors import ConfigError
from npusim.workload.layers import Gemm, Linear

KIB = 1024
# ws on 32 x 32: Sr = K = 96 (3 row folds), Sc = N = 40 (2 column folds), T = M = 100.
WS_GEMM = Gemm(m=100, k=96, n=40)
# one column fold holds M x min(N, 32) = 3200 INT32 partial sums = 12,800 B
WS_FOLD_BYTES = 100 * 32 * 4


def _ws(accumulator_bytes: int | None, dataflow: str = "ws") -> ArrayParams:
    return ArrayParams(rows=32, cols=32, dataflow=dataflow, accumulator_bytes=accumulator_bytes)


def test_ws_partial_sums_stay_in_a_buffer_they_fit() -> None:
    s = layer_timing(WS_GEMM, _ws(WS_FOLD_BYTES), "int8")
    assert s.psum_bytes == WS_FOLD_BYTES and s.psums_in_accumulator
    # SCALE-Sim's array-side counts are unchanged: M N F_r writes, M N (F_r - 1) read-backs
    assert (s.output_writes, s.output_reads) == (100 * 40 * 3, 100 * 40 * 2)
    assert (s.accumulator_writes, s.accumulator_reads) == (12_000, 8_000)
    assert s.sram_output_write_bytes == 100 * 40  # only the final INT8 outputs
    assert s.sram_output_read_bytes == 0


def test_ws_partial_sums_spill_one_byte_short() -> None:
    s = layer_timing(WS_GEMM, _ws(WS_FOLD_BYTES - 1), "int8")
    assert not s.psums_in_accumulator
    assert (s.accumulator_writes, s.accumulator_reads) == (0, 0)
    assert s.sram_output_write_bytes == 100 * 40 + 8_000 * 4
    assert s.sram_output_read_bytes == 8_000 * 4
    none = layer_timing(WS_GEMM, _ws(0), "int8")
    assert none.sram_output_write_bytes == s.output_write_bytes


def test_is_partial_sums_are_n_by_the_m_slice() -> None:
    # is: Sr = K = 96, Sc = M = 20 (one column fold), T = N = 50; fp16 -> fp32 partial sums
    s = layer_timing(Gemm(m=20, k=96, n=50), _ws(20 * 50 * 4, "is"), "fp16")
    assert s.psum_bytes == 20 * 50 * 4 and s.psums_in_accumulator
    assert s.sram_output_write_bytes == 20 * 50 * 2


def test_os_never_leaves_partial_sums() -> None:
    s = layer_timing(WS_GEMM, _ws(0, "os"), "int8")
    assert s.psum_bytes == 0 and not s.psums_in_accumulator
    assert s.sram_output_write_bytes == 100 * 40 and s.sram_output_read_bytes == 0


def test_default_is_tpu_v1_depth_and_bad_sizes_are_config_errors() -> None:
    assert ArrayParams(cols=256).accumulator_capacity_bytes == 4 * 1024 * KIB  # TPU v1: 4 MiB
    assert check_params(ArrayParams(accumulator_bytes=-1)) == [
        ("accumulator_bytes", "must be an integer >= 0, got -1")
    ]
    with pytest.raises(ConfigError, match=r"array\.accumulator_bytes"):
        load_scenario(overrides=["array.accumulator_bytes=-1 B"])


def _ws_plan(accumulator: str) -> LayerPlan:
    scenario = load_scenario(overrides=["array.dataflow=ws", "array.rows=32", "array.cols=32",
                                        f"array.accumulator_bytes={accumulator}"])  # fmt: skip
    return plan_layer(Linear("fc", in_features=96, out_features=40, tokens=100), scenario)


def test_kept_partial_sums_cost_accumulator_accesses_in_the_mac_energy() -> None:
    plan = _ws_plan("16 KiB")
    t = plan.timing
    assert t is not None and t.psums_in_accumulator
    # a 16 KiB buffer: 64-bit read sqrt(10 * 20) pJ (Horowitz 8 KB / 32 KB, log-log), widened
    # to a 32 x INT32 = 1024-bit row by the CACTI 64 KB exponent; writes x 66.3 / 51.9
    at_64kib = 20.0 * 2 ** (math.log(5) / math.log(32))
    alpha = math.log(51.9 / at_64kib) / math.log(4)
    read_row = math.sqrt(200.0) * 16**alpha
    expected = (12_000 * read_row * 66.3 / 51.9 + 8_000 * read_row) / 32
    # and each of the 4000 INT8 outputs requantized: 32 x 32 multiply (0.2 * 16) + 32-bit add
    requantize = 4000 * (0.2 * 16 + 0.1)
    kept = plan.op_energy_pj - t.mac_energy_pj - t.register_energy_pj
    assert kept == pytest.approx(expected + requantize)
    spilled = _ws_plan("0 B")
    assert spilled.op_energy_pj == pytest.approx(
        t.mac_energy_pj + t.register_energy_pj + requantize
    )
    assert spilled.sram_operand_bytes[1] - plan.sram_operand_bytes[1] == 8_000 * 4


def test_pe_registers_latch_moving_operands_and_the_partial_sum() -> None:
    # Aladdin 40 nm: 0.009 pJ per register bit vs 0.21 pJ per 32-bit add; on Horowitz's
    # 0.1 pJ 32-bit add: 0.1 * 0.009 / 0.21 pJ per bit.
    bit_pj = 0.1 * 0.009 / 0.21
    macs = 100 * 96 * 40
    ws = layer_timing(WS_GEMM, _ws(0), "int8")  # input moves (8 b), partial sum moves (32 b)
    assert ws.register_energy_pj == pytest.approx(macs * (8 + 32) * bit_pj)
    os_ = layer_timing(WS_GEMM, _ws(0, "os"), "int4")  # two INT4 operands move, INT32 sum
    assert os_.register_energy_pj == pytest.approx(macs * (4 + 4 + 32) * bit_pj)
    half = ArrayParams(rows=32, cols=32, dataflow="os", node=NodeScaling(energy_factor=0.5))
    assert layer_timing(WS_GEMM, half, "int4").register_energy_pj == pytest.approx(
        os_.register_energy_pj / 2
    )
