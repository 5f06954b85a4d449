"""MAC array behaviour pinned by hand-worked cases, from mutmut survivors (issue 18).

Every expected number is worked out here from Horowitz's 45 nm table (ISSCC 2014: integer adds
8/16/32 bits 0.03/0.05/0.1 pJ and 36/67/137 um^2, 8-bit multiply 0.2 pJ and 282 um^2, FP16 and
FP32 multiplies 1.1/3.7 pJ and 1640/7700 um^2, FP16 and FP32 adds 0.4/0.9 pJ and 1360/4184
um^2), the SCALE-Sim cycle formulas (``dataflow-cycles.md``), IEEE-754 or two's-complement
arithmetic, or the documented message formats; none is copied from the code's output.

The fitted parts (shifter cell and wire, the float multiplier's significand datapath) are
computed by the module at import, so a test of the constants alone cannot see a change in the
fitting functions: these tests call the functions themselves, and solve the fits here as 2 x 2
linear systems (``numpy.linalg.solve``) rather than with the module's closed forms.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from npusim.compute import arith, energy
from npusim.compute.arith import HOROWITZ, OpCost
from npusim.compute.array import MacArray, layer_timing
from npusim.compute.dataflow import get_dataflow
from npusim.compute.datapath import (
    AccumulatorOverflowError,
    float_gemm,
    int_gemm,
    int_range,
    requantize,
)
from npusim.compute.params import (
    ArrayParams,
    Dataflow,
    check_params,
    params_from_mapping,
)
from npusim.compute.run import ArrayRun, run_layers
from npusim.errors import ConfigError, Problem, QuantizationError, WorkloadError
from npusim.workload.shapes import Gemm

# --- a second, simple model of the 45 nm parts, from Horowitz's table -------------------------

ADDS = ((8, 0.03, 36.0), (16, 0.05, 67.0), (32, 0.1, 137.0))


def add(bits: float) -> tuple[float, float]:
    """(pJ, um^2) of an integer adder: proportional below 8 bits, linear between table points
    (the 16-32 segment extended above 32)."""
    if bits <= 8:
        return 0.03 * bits / 8, 36.0 * bits / 8
    (b0, e0, a0), (b1, e1, a1) = (ADDS[0], ADDS[1]) if bits <= 16 else (ADDS[1], ADDS[2])
    t = (bits - b0) / (b1 - b0)
    return e0 + t * (e1 - e0), a0 + t * (a1 - a0)


def mul(a_bits: int, b_bits: int) -> tuple[float, float]:
    """(pJ, um^2) of an ``a x b`` array multiplier: the 8-bit multiply x a*b/64."""
    return 0.2 * a_bits * b_bits / 64, 282.0 * a_bits * b_bits / 64


def plus(*parts: tuple[float, float]) -> tuple[float, float]:
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


# A float add's rest after its adders (exponent compare e, significand add s + 3, rounding s):
# FP32 (e 8, s 24): two 27-bit shifters of 5 stages, 270 cells, 2 x 27 x 31 = 1674 pitches;
# FP16 (e 5, s 11): two 14-bit shifters of 4 stages, 112 cells, 2 x 14 x 15 = 420 pitches.
REST32 = (0.9 - plus(add(8), add(27), add(24))[0], 4184 - plus(add(8), add(27), add(24))[1])
REST16 = (0.4 - plus(add(5), add(14), add(11))[0], 1360 - plus(add(5), add(14), add(11))[1])
CELL_PJ = REST32[0] / 270  # energy: the FP32 add alone
CELL_UM2, WIRE_UM2 = np.linalg.solve([[270.0, 1674.0], [112.0, 420.0]], [REST32[1], REST16[1]])

# Float multiplier significand alpha s^2 + beta s, through FP16 (e 5, s 11) and FP32 (e 8,
# s 24) after their exponent adders (e + 1 bits).
ALPHA_PJ, BETA_PJ = np.linalg.solve([[121.0, 11.0], [576.0, 24.0]],
                                    [1.1 - add(6)[0], 3.7 - add(9)[0]])  # fmt: skip
ALPHA_UM2, BETA_UM2 = np.linalg.solve([[121.0, 11.0], [576.0, 24.0]],
                                      [1640 - add(6)[1], 7700 - add(9)[1]])  # fmt: skip


def fmul(e: int, s: int) -> tuple[float, float]:
    """(pJ, um^2) of a float multiplier with ``e`` exponent and ``s`` significand bits."""
    exponent = add(e + 1)
    return (exponent[0] + ALPHA_PJ * s * s + BETA_PJ * s,
            exponent[1] + ALPHA_UM2 * s * s + BETA_UM2 * s)  # fmt: skip


def shift(bits: int, stages: int) -> tuple[float, float]:
    """(pJ, um^2) of a ``bits``-wide shifter of ``stages`` stages."""
    cells, pitches = bits * stages, bits * (2**stages - 1)
    return cells * CELL_PJ, cells * CELL_UM2 + pitches * WIRE_UM2


def approx(pair: tuple[float, float]) -> tuple[object, object]:
    return pytest.approx(pair[0], rel=1e-9), pytest.approx(pair[1], rel=1e-9)


def cost(op: OpCost) -> tuple[float, float]:
    return op.energy_pj, op.area_um2


# --- arith: the parts and the fits ------------------------------------------------------------


def test_opcost_sum_and_multiple_keep_their_sources() -> None:
    a, b = OpCost(1.0, 2.0, "mul"), OpCost(0.5, 3.0, "add")
    assert (a + b) == OpCost(1.5, 5.0, "mul + add")
    assert a.times(3) == OpCost(3.0, 6.0, "3 x (mul)")
    assert a.times(0.25, "quarter") == OpCost(0.25, 0.5, "quarter")


def test_part_sources_name_their_derivation() -> None:
    assert arith.int_add(4).source == f"{HOROWITZ} 8-bit add x 4/8"
    assert arith.int_add(20).source == f"{HOROWITZ} integer adds interpolated to 20 bits"
    assert arith.int_multiply(4, 2).source == f"{HOROWITZ} 8-bit multiply x 4*2/64"
    assert arith.shifter(27).source == "27-bit 5-stage shifter"
    assert arith.float_add(5, 11).source == (
        f"float add e5 s11: exponent compare, align, add, normalize, round ({HOROWITZ} parts)"
    )
    assert arith.float_multiply(4, 4).source == (
        "float multiply e4 s4: exponent add + significand alpha*s^2 + beta*s fitted through "
        f"{HOROWITZ} FP16/FP32 multiplies"
    )


def test_int_add_and_multiply_by_hand() -> None:
    # 20 bits: 16-32 segment, 0.05 + 4/16 * 0.05 pJ, 67 + 4/16 * 70 um^2; 40 bits extends it.
    assert cost(arith.int_add(20)) == approx((0.0625, 84.5))
    assert cost(arith.int_add(40)) == approx((0.125, 172.0))
    assert cost(arith.int_add(12)) == approx((0.04, 51.5))
    assert cost(arith.int_multiply(4, 2)) == approx((0.2 / 8, 282 / 8))


def test_shifters_of_one_and_two_bits() -> None:
    # one bit needs no stage (nothing to shift); two bits one stage: 2 cells, 2 x 1 pitches
    assert cost(arith.shifter(1)) == (0.0, 0.0)
    assert cost(arith.shifter(2)) == approx((2 * CELL_PJ, 2 * CELL_UM2 + 2 * WIRE_UM2))
    assert cost(arith.shifter(14)) == approx(shift(14, 4))


def test_float_add_rest_and_shifter_fit_called_afresh() -> None:
    e32, a32, cells32, wires32 = arith._float_add_rest(arith._FP32_ADD)
    assert (e32, a32) == approx(REST32) and (cells32, wires32) == (270, 1674)
    e16, a16, cells16, wires16 = arith._float_add_rest(arith._FP16_ADD)
    assert (e16, a16) == approx(REST16) and (cells16, wires16) == (112, 420)
    cell, wire = arith._shifter_fit()
    assert cost(cell) == approx((CELL_PJ, CELL_UM2))
    assert wire.energy_pj == 0.0 and wire.area_um2 == pytest.approx(WIRE_UM2, rel=1e-9)
    assert cell.source == f"{HOROWITZ} float adds less their adders, per shifter cell"
    assert wire.source == f"{HOROWITZ} float adds' shifter wiring, per bit pitch"


def test_significand_fit_called_afresh() -> None:
    assert arith._significand_fit(2) == approx((ALPHA_PJ, BETA_PJ))
    assert arith._significand_fit(3) == approx((ALPHA_UM2, BETA_UM2))


def test_float_multiply_reproduces_horowitz_and_fits_between() -> None:
    # exact at the two fitted points, by construction: Horowitz's own numbers
    assert cost(arith.float_multiply(5, 11)) == approx((1.1, 1640.0))
    assert cost(arith.float_multiply(8, 24)) == approx((3.7, 7700.0))
    # E4M3 (s = 4) and BF16 (e 8, s 8) from the solved fit
    assert cost(arith.float_multiply(4, 4)) == approx(fmul(4, 4))
    assert cost(arith.float_multiply(8, 8)) == approx(fmul(8, 8))


def test_float_add_of_fp16_by_hand() -> None:
    # exponent compare 5 b, two 14-bit 4-stage shifters, a 14-bit add and an 11-bit round
    expected = plus(add(5), shift(14, 4), add(14), shift(14, 4), add(11))
    assert cost(arith.float_add(5, 11)) == approx(expected)
    assert expected[1] == pytest.approx(1360, rel=1e-9)  # the area fit is exact at FP16


# --- energy: MAC parts per format ---------------------------------------------------------------


def test_multiply_parts_per_operand_format() -> None:
    assert cost(energy._multiply("int4")) == approx(mul(4, 4))
    assert cost(energy._multiply("fp8_e4m3")) == approx(fmul(4, 4))  # 3 mantissa bits + 1
    assert cost(energy._multiply("bf16")) == approx(fmul(8, 8))
    assert cost(energy._multiply("fp16")) == approx((1.1, 1640.0))


def test_block_element_products() -> None:
    # MXINT8: 8 x 8 integer product; float elements: (m + 1)^2 significand product plus an
    # (e + 1)-bit exponent add
    assert cost(energy._element_multiply("mxint8")) == approx(mul(8, 8))
    assert cost(energy._element_multiply("mxfp6_e2m3")) == approx(plus(mul(4, 4), add(3)))
    assert cost(energy._element_multiply("mxfp8_e5m2")) == approx(plus(mul(3, 3), add(6)))


def test_natural_accumulator() -> None:
    assert energy.natural_accumulator("fp8_e4m3") == "fp16"  # from the table, not the fallback
    assert energy.natural_accumulator("int4") == "int32"
    assert energy.natural_accumulator("int32") == "int32"  # no MAC entry: integer -> INT32
    assert energy.natural_accumulator("int16") == "int32"


def test_unknown_precision_and_accumulator_problems() -> None:
    with pytest.raises(ConfigError) as err:
        energy.mac_cost("int32")
    valid = ", ".join(energy.MULTIPLY_COSTS)
    assert err.value.problems == [Problem("precision", f"no MAC cost for 'int32'; valid: {valid}")]
    with pytest.raises(ConfigError) as err:
        energy.mac_cost("int8", "int64")
    assert err.value.problems == [
        Problem("accumulator", "unknown accumulator 'int64'; valid: int16, int32, fp16, fp32")
    ]


NODE = energy.NodeScaling(node_nm=7, energy_factor=0.5, area_factor=0.25, source="test node")

# per block of an MX format: the E8M0 scales' 9-bit add and the FP32 accumulate (0.9 pJ, 4184)
MX_BLOCK = plus(add(9), (0.9, 4184.0))


def test_block_macs_by_hand() -> None:
    # MXINT8 into an INT32 accumulator instead of FP32: 8 x 8 product, 16 + 5 = 21-bit block sum
    mxint8 = plus(mul(8, 8), add(21))
    per_block = plus(add(9), add(32))
    assert cost(energy.mac_cost("mxint8", "int32")) == approx(
        (mxint8[0] + per_block[0] / 32, mxint8[1] + per_block[1] / 32)
    )
    # MXFP4 E2M1: 2 x 2 product, exponent add 3 b, span 2 (2^2 - 1) = 6, sum 4 + 6 + 5 = 15 b,
    # shifter of 15 bits and ceil(log2 7) = 3 stages
    per_mac = plus(mul(2, 2), add(15), add(3), shift(15, 3))
    assert cost(energy.mac_cost("mxfp4_e2m1")) == approx(
        (per_mac[0] + MX_BLOCK[0] / 32, per_mac[1] + MX_BLOCK[1] / 32)
    )
    # NVFP4: the same elements in 16-element blocks (sum 4 + 6 + 4 = 14 b), E4M3 block scales
    # multiplied (float_multiply(4, 4)), scaled by the node
    per_mac = plus(mul(2, 2), add(14), add(3), shift(14, 3))
    per_block = plus(fmul(4, 4), (0.9, 4184.0))
    nv = energy.mac_cost("nvfp4", node=NODE)
    assert cost(nv) == approx(
        ((per_mac[0] + per_block[0] / 16) * 0.5, (per_mac[1] + per_block[1] / 16) * 0.25)
    )
    assert nv.source.endswith("node: test node") and "exact 14-bit block sum" in nv.source


def test_block_mac_with_one_exponent_bit_has_a_two_stage_shifter() -> None:
    # e = 1: span 2 (2^1 - 1) = 2 exponent steps, shifts 0..2 need ceil(log2 3) = 2 stages;
    # s = 3, 8-element blocks: sum 6 + 2 + 3 = 11 bits
    per_mac = plus(mul(3, 3), add(11), add(2), shift(11, 2))
    got = energy.block_scaled_mac_cost(1, 3, block=8, node=NODE)
    assert cost(got) == approx(
        ((per_mac[0] + MX_BLOCK[0] / 8) * 0.5, (per_mac[1] + MX_BLOCK[1] / 8) * 0.25)
    )


def test_mac_area_with_its_accumulator() -> None:
    # FP16 multiply (1640 um^2) + FP16 add (1360 um^2), both Horowitz's areas
    assert energy.mac_area_um2("fp16", accumulator="fp16") == pytest.approx(3000, rel=1e-9)


def test_requantize_dequantize_and_block_quantize_costs() -> None:
    # Jacob et al.: a 32 x 32 multiply (16 x the 8-bit one) and a 32-bit add
    req = energy.requantize_cost(NODE)
    assert cost(req) == approx((3.3 * 0.5, (16 * 282 + 137) * 0.25))
    assert req.source == (
        f"requantize (Jacob et al. 2018): {HOROWITZ} 8-bit multiply x 32*32/64 + "
        f"{HOROWITZ} integer adds interpolated to 32 bits; node: test node"
    )
    # dequantize for an FP16 MAC: one FP16 multiply; affine: plus a 4-bit zero-point subtract
    assert cost(energy.dequantize_cost("fp16")) == approx((1.1, 1640.0))
    deq = energy.dequantize_cost("fp16", zero_point_bits=4, node=NODE)
    assert cost(deq) == approx(((1.1 + 0.015) * 0.5, (1640 + 18) * 0.25))
    assert deq.source.startswith("dequantize (Jacob et al. 2018): ")
    assert deq.source.endswith("; node: test node")
    with pytest.raises(ConfigError, match="no MAC cost for 'int32'"):
        energy.dequantize_cost("int32")
    # block quantize: two 8-bit adds and a rounding add of the significand (MXINT8: 8 bits,
    # MXFP8 E4M3: 4 bits)
    assert cost(energy.block_quantize_cost("mxint8")) == approx((0.09, 108.0))
    bq = energy.block_quantize_cost("mxfp8_e4m3", NODE)
    assert cost(bq) == approx(((0.06 + 0.015) * 0.5, (72 + 18) * 0.25))
    assert bq.source.startswith("block quantize (OCP MX v1.0 6.3): ")
    assert bq.source.endswith("; node: test node")
    with pytest.raises(ConfigError, match="no MAC cost for 'int8'"):
        energy.block_quantize_cost("int8")


# --- params and dataflow lookup ----------------------------------------------------------------


def test_accumulator_override_and_node_reach_mac_energy_and_area() -> None:
    params = ArrayParams(rows=8, cols=4, accumulator={"int8": "int16"}, node=NODE)
    assert params.accumulator_for("int8") == "int16"
    assert params.accumulator_for("int4") == "int32"
    array = MacArray(params)
    # INT8 multiply 0.2 pJ / 282 um^2 + INT16 add 0.05 pJ / 67 um^2, node x 0.5 / x 0.25
    assert array.mac_energy_pj("int8") == pytest.approx(0.25 * 0.5)
    assert array.area_mm2("int8") == pytest.approx(8 * 4 * 349 * 0.25 * 1e-6)


def test_check_params_messages() -> None:
    valid = ", ".join(energy.MULTIPLY_COSTS)
    assert check_params(ArrayParams(dataflow="wx")) == [
        ("dataflow", "unknown dataflow 'wx'; valid: os, ws, is; did you mean 'ws'?")
    ]
    assert check_params(ArrayParams(dataflow="zzz")) == [
        ("dataflow", "unknown dataflow 'zzz'; valid: os, ws, is")
    ]
    assert check_params(ArrayParams(macs_per_pe_per_cycle={})) == [
        ("macs_per_pe_per_cycle", "must be a non-empty mapping precision -> rate")
    ]
    assert check_params(ArrayParams(macs_per_pe_per_cycle={"int32": 1.0, "fp33": 1.0})) == [
        ("macs_per_pe_per_cycle.int32",
         f"no MAC cost for this precision; valid: {valid}; did you mean 'int2'?"),
        ("macs_per_pe_per_cycle.fp33", f"unknown; valid: {valid}; did you mean 'fp32'?"),
    ]  # fmt: skip
    assert check_params(ArrayParams(accumulator={"int7": "int32", "int8": "int23"})) == [
        ("accumulator.int7", "unknown precision"),
        ("accumulator.int8",
         "unknown accumulator 'int23'; valid: int16, int32, fp16, fp32; did you mean 'int32'?"),
    ]  # fmt: skip
    node = energy.NodeScaling(energy_factor=0.0, area_factor=-2.0)
    assert check_params(ArrayParams(node=node)) == [
        ("node.energy_factor", "must be > 0, got 0.0"),
        ("node.area_factor", "must be > 0, got -2.0"),
    ]


def test_bad_node_mapping_is_one_problem_at_array_node() -> None:
    with pytest.raises(ConfigError) as err:
        params_from_mapping({"rows": 8, "node": {"nm": 7}})
    [problem] = err.value.problems
    assert problem.path == "array.node" and "'nm'" in problem.message


def test_unknown_dataflow_problem_path() -> None:
    with pytest.raises(ConfigError) as err:
        get_dataflow("xs")
    assert err.value.problems == [
        Problem("array.dataflow", "unknown dataflow 'xs'; valid: os, ws, is")
    ]


# --- array: layer stats ------------------------------------------------------------------------


def test_rate_problems() -> None:
    array = MacArray(ArrayParams(macs_per_pe_per_cycle={"int8": 1.0, "fp16": 0.5}))
    with pytest.raises(ConfigError) as err:
        array.rate("int4")
    assert err.value.problems == [
        Problem(
            "array.macs_per_pe_per_cycle",
            "the array does not support 'int4'; supported: int8, fp16",
        )
    ]
    with pytest.raises(ConfigError) as err:
        array.rate("int7")
    names = "fp32, fp16, bf16, fp8_e4m3, fp8_e5m2, int32, int16, int8, uint8, int4, uint4, int2"
    assert err.value.problems[0].path == "array.macs_per_pe_per_cycle"
    assert err.value.problems[0].message.startswith(f"unknown precision 'int7'; valid: {names}")


def test_layer_stats_identify_their_array_and_convert_to_a_dict() -> None:
    # is on 8 rows x 4 columns: Sr = K = 12, Sc = M = 10, T = N = 5: F_r 2, F_c 3
    params = ArrayParams(rows=8, cols=4, dataflow="is", fold_overlap=False)
    s = layer_timing(Gemm(10, 12, 5), params, "int8")
    assert (s.dataflow, s.rows, s.cols) == ("is", 8, 4)
    d = s.to_dict()
    assert (d["dataflow"], d["rows"], d["cols"], d["row_folds"], d["col_folds"]) == (
        "is", 8, 4, 2, 3,
    )  # fmt: skip
    assert d["compute_cycles"] == 6 * (2 * 8 + 4 + 5 - 2)


def test_spilled_psums_flag_is_false_not_just_falsy() -> None:
    # ws, K = 12 on 8 rows: 2 row folds, partial sums but no accumulator buffer
    s = layer_timing(Gemm(10, 12, 5), ArrayParams(rows=8, cols=4, accumulator_bytes=0), "int8")
    assert s.psums_in_accumulator is False


def test_a_bool_gemm_dimension_is_rejected() -> None:
    with pytest.raises(WorkloadError, match="GEMM m must be a positive integer, got True"):
        layer_timing(Gemm(True, 2, 3), ArrayParams(), "int8")


# --- run: totals and dict -----------------------------------------------------------------------


def test_run_totals_utilization_on_an_asymmetric_array() -> None:
    # ws on 8 rows x 4 columns at INT4 (2 MACs/PE/cycle), SCALE-Sim timing (no overlap):
    # a: M 10, K 12, N 5: F_r 2, F_c 2, T = ceil(10/2) = 5, 2*8 + 4 + 5 - 2 = 23 -> 92 cycles
    # b: M 3, K 8, N 4: F_r 1, F_c 1, T = 2, 16 + 4 + 2 - 2 = 20 cycles
    params = ArrayParams(rows=8, cols=4, fold_overlap=False)
    run = run_layers([("a", Gemm(10, 12, 5)), ("b", Gemm(3, 8, 4))], params, "int4")
    assert run.totals["compute_cycles"] == 112
    assert run.totals["mac_utilization"] == pytest.approx((600 + 96) / (112 * 8 * 4 * 2))
    assert run.to_dict()["array"] == {
        "rows": 8,
        "cols": 4,
        "dataflow": "ws",
        "fold_overlap": False,
        "pack_groups": True,
        "precision": "int4",
        "macs_per_pe_per_cycle": 2.0,
        "accumulator": "int32",
        "area_mm2": pytest.approx(8 * 4 * 2 * (282 / 4 + 137) * 1e-6),
    }


def test_empty_run_has_zero_utilization() -> None:
    run = run_layers([], ArrayParams(), "int8")
    assert run.totals["compute_cycles"] == 0 and run.totals["mac_utilization"] == 0.0


def test_run_dict_with_a_dataflow_given_as_text() -> None:
    run = ArrayRun(ArrayParams(dataflow="os"), "int8", 1.0, (), {})
    assert run.to_dict()["array"]["dataflow"] == "os"
    assert Dataflow("os") is Dataflow.OS


# --- datapath ----------------------------------------------------------------------------------

I8 = np.int8


def test_int_range_lists_the_integer_precisions() -> None:
    with pytest.raises(QuantizationError) as err:
        int_range("fp16")
    assert str(err.value) == (
        "not an integer precision: 'fp16'; valid: int32, int16, int8, uint8, int4, uint4, int2"
    )


def test_int_gemm_operand_and_bias_messages() -> None:
    with pytest.raises(QuantizationError) as err:
        int_gemm(np.ones((2, 3), np.float32), np.ones((3, 2), I8))
    assert str(err.value) == "a must be a 2-D integer array, got float32 (2, 3)"
    with pytest.raises(QuantizationError) as err:
        int_gemm(np.ones((1, 1), I8), np.full((1, 1), 8, I8), "int4")
    assert str(err.value) == "b has values outside int4 range [-8, 7]"
    a, b = np.ones((1, 2), I8), np.ones((2, 2), I8)
    with pytest.raises(QuantizationError) as err:
        int_gemm(a, b, bias=np.array([1, 2, 3]))
    assert str(err.value) == "bias must be (2,) integers, got (3,)"
    with pytest.raises(QuantizationError, match="bias must be"):
        int_gemm(a, b, bias=np.array([1.0, 2.0]))
    # the accumulator's own range: both ends accepted, one beyond either end refused
    zero = np.zeros((1, 2), I8)
    assert int_gemm(zero, b, "int8", "int16", np.array([-32768, 32767])).tolist() == [
        [-32768, 32767]
    ]
    for bias in ([-32769, 0], [0, 32768]):
        with pytest.raises(QuantizationError) as err:
            int_gemm(a, b, "int8", "int16", np.array(bias))
        assert str(err.value) == "bias outside int16 range"


def test_int16_accumulator_wraps_in_twos_complement() -> None:
    # 3 x 127 x 127 = 48387 -> 48387 - 65536 = -17149; 3 x -128 x 127 = -48768 -> 16768
    a = np.array([[127, 127, 127], [-128, -128, -128]], I8)
    b = np.full((3, 1), 127, I8)
    out = int_gemm(a, b, accumulator="int16", overflow="wrap")
    assert out.tolist() == [[-17149], [16768]] and out.dtype == np.int64


def test_first_overflow_is_the_earliest_k_then_row_then_column() -> None:
    # int16 accumulator, bias 20000 per column; M = 3 > N = 2.
    # k = 0 adds 127 * 127 to output (1, 1) only: 36129 > 32767; k = 1 pushes (0, 0) over.
    a = np.array([[0, 127, 0], [127, 0, 0], [0, 0, 0]], I8)
    b = np.array([[0, 127], [127, 0], [0, 0]], I8)
    with pytest.raises(AccumulatorOverflowError) as err:
        int_gemm(a, b, "int8", "int16", np.array([20000, 20000]))
    assert str(err.value) == "int16 accumulator overflow at output (1, 1) after k = 0: " + (
        "partial sum 36129"
    )
    # the same k: (0, 1) gets 127 * 127 and (1, 0) gets -128 * -128 = 16384; row 0 first
    a = np.array([[127], [-128], [0]], I8)
    b = np.array([[-128, 127]], I8)
    with pytest.raises(AccumulatorOverflowError) as err:
        int_gemm(a, b, "int8", "int16", np.array([20000, 20000]))
    assert str(err.value).endswith("at output (0, 1) after k = 0: partial sum 36129")


def test_partial_sums_exactly_at_the_ends_are_not_overflows() -> None:
    # bounds exceeded (|bias| + sum |a b| > 32767), so every partial sum is checked:
    # 16638 + 16129 = 32767 exactly, then 32766; -16639 - 16129 = -32768 exactly, then -32767
    a = np.array([[127, -1], [-127, 1]], I8)
    b = np.array([[127], [1]], I8)
    assert int_gemm(a[:1], b, "int8", "int16", np.array([16638])).tolist() == [[32766]]
    assert int_gemm(a[1:], b, "int8", "int16", np.array([-16639])).tolist() == [[-32767]]


def test_cancelling_partial_sums_do_not_overflow() -> None:
    # 127 * 127 = 16129 per step: 16129, 32258, 16129, 0 never leave int16 (the bound, 64516,
    # does, so the exact check runs to the end and must not count a step twice)
    a = np.array([[127, 127, -127, -127], [0, 0, 0, 0], [1, 0, 0, 0]], I8)
    b = np.full((4, 2), 127, I8)
    assert int_gemm(a, b, "int8", "int16").tolist() == [[0, 0], [0, 0], [127, 127]]


def test_overflow_found_in_a_later_chunk_of_k() -> None:
    # 2049 x 1024 outputs: the exact check walks K one step per chunk. Output (5, 7): bias
    # 1000 + 16129 = 17129 after k = 0, 33258 after k = 1.
    m, n = 2049, 1024
    a = np.zeros((m, 2), I8)
    b = np.zeros((2, n), I8)
    a[5] = 127
    b[:, 7] = 127
    bias = np.zeros(n, np.int64)
    bias[7] = 1000
    with pytest.raises(AccumulatorOverflowError) as err:
        int_gemm(a, b, "int8", "int16", bias)
    assert str(err.value).endswith("at output (5, 7) after k = 1: partial sum 33258")


def test_empty_gemm_and_result_dtypes() -> None:
    out = int_gemm(np.zeros((0, 3), I8), np.zeros((3, 2), I8))
    assert out.shape == (0, 2)
    assert int_gemm(np.ones((1, 1), I8), np.ones((1, 1), I8), accumulator="int16").dtype == (
        np.int64
    )


def test_requantize_to_wide_outputs_keeps_the_values() -> None:
    acc = np.array([[100_000, -70_000, 5]], np.int64)
    wide = requantize(acc, 1.0, 0, "int32")
    assert wide.tolist() == [[100_000, -70_000, 5]] and wide.dtype == np.int32
    half = requantize(acc, 1.0, 0, "int16")
    assert half.tolist() == [[32767, -32768, 5]] and half.dtype == np.int16


def test_requantize_zero_point_at_the_range_end_and_scale_message() -> None:
    assert requantize(np.array([[0, 10]]), 1.0, -128).tolist() == [[-128, -118]]
    with pytest.raises(QuantizationError) as err:
        requantize(np.array([[1]]), -1.0)
    assert str(err.value) == "scale must be positive and finite"


def test_float_gemm_messages() -> None:
    f32, f16 = np.ones((1, 2), np.float32), np.ones((2, 1), np.float16)
    cases = [
        (lambda: float_gemm(f32, f32, "fp8_e4m3"), "precision 'fp8_e4m3' not supported; "),
        (lambda: float_gemm(f32, f32, "fp32", "bf16"), "accumulator 'bf16' not supported; "),
        (lambda: float_gemm(f32.astype(np.float64), f32.T), "a must be 2-D float32, got "),
        (lambda: float_gemm(f32, f16), "b must be 2-D float32, got float16"),
        (lambda: float_gemm(f32, np.ones((3, 1), np.float32)), "shape mismatch: a (1, 2) @ "),
    ]
    for call, start in cases:
        with pytest.raises(QuantizationError) as err:
            call()
        assert str(err.value).startswith(start)


def test_float_gemm_overflow_and_inf_minus_inf_are_silent_ieee() -> None:
    # FP16: 300 * 300 = 90000 > 65504 rounds to +inf, 300 * -300 to -inf; inf + -inf = NaN
    a = np.array([[300, 300]], np.float16)
    b = np.array([[300], [-300]], np.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = float_gemm(a, b, "fp16", "fp16")
    assert math.isnan(float(out[0, 0]))
