"""MAC array timing: conformance to the SCALE-Sim formulas, per-precision rates, groups.

SCALE-Sim runs every fold with its own fill and drain and a grouped layer one group after
another, so these tests build the array with ``fold_overlap=False, pack_groups=False``
(npusim's defaults pipeline the folds and pack narrow groups: tests/test_compute_pipelining.py).

Formulas (Samajdar et al., SCALE-Sim, ISPASS 2020, via reference dataflow-cycles.md):
  os: Sr=M, Sc=N, T=K, cycles/fold = T + R + C - 2
  ws: Sr=K, Sc=N, T=M, cycles/fold = 2R + C + T - 2
  is: Sr=K, Sc=M, T=N, cycles/fold = 2R + C + T - 2
  F_r = ceil(Sr/R), F_c = ceil(Sc/C), cycles = F_r * F_c * cycles/fold
  accesses (in, w, out): os (MK F_c, KN F_r, MN); ws (MK F_c, KN, MN F_r); is (KM, KN F_c, MN F_r)
"""

from __future__ import annotations

import math

import pytest

from npusim.compute.array import MacArray, layer_timing
from npusim.compute.params import ArrayParams
from npusim.workload.layers import Gemm


def scalesim(rows: int = 32, cols: int = 32, dataflow: str = "ws") -> ArrayParams:
    """An array that runs SCALE-Sim's formulas exactly (no overlap, no group packing)."""
    return ArrayParams(rows, cols, dataflow, fold_overlap=False, pack_groups=False)


def reference_stats(m: int, k: int, n: int, rows: int, cols: int, dataflow: str) -> dict:
    """Straight transcription of the reference tables, with a fold-by-fold loop for the means."""
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[dataflow]
    fr, fc = math.ceil(sr / rows), math.ceil(sc / cols)
    per_fold = t + rows + cols - 2 if dataflow == "os" else 2 * rows + cols + t - 2
    used = []
    for col_fold in range(fc):  # column folds outer
        for row_fold in range(fr):
            used_r = min(rows, sr - row_fold * rows)
            used_c = min(cols, sc - col_fold * cols)
            used.append(used_r * used_c)
    accesses = {
        "os": (m * k * fc, k * n * fr, m * n),
        "ws": (m * k * fc, k * n, m * n * fr),
        "is": (k * m, k * n * fc, m * n * fr),
    }[dataflow]
    return {
        "cycles": fr * fc * per_fold,
        "folds": fr * fc,
        "mapping_efficiency": sum(used) / (len(used) * rows * cols),
        "compute_utilization": sum(u * t / (rows * cols * per_fold) for u in used) / len(used),
        "accesses": accesses,
    }


def test_reference_example_os_128x768x768_on_32x32() -> None:
    # Reference: F_r = 4, F_c = 24, per fold 768 + 32 + 32 - 2 = 830 -> 79,680 cycles.
    s = layer_timing(Gemm(128, 768, 768), scalesim(dataflow="os"), "int8")
    assert (s.row_folds, s.col_folds, s.cycles_per_fold) == (4, 24, 830)
    assert s.compute_cycles == 79_680
    assert s.folds == 96
    assert s.scalesim_cycles == 79_679  # SCALE-Sim prints cycles minus one


def test_same_gemm_ws_and_is_by_hand() -> None:
    # ws: F_r = ceil(768/32) = 24, F_c = 24, per fold 64 + 32 + 128 - 2 = 222 -> 127,872.
    ws = layer_timing(Gemm(128, 768, 768), scalesim(dataflow="ws"), "int8")
    assert ws.compute_cycles == 24 * 24 * 222 == 127_872
    # is: F_r = 24, F_c = ceil(128/32) = 4, per fold 64 + 32 + 768 - 2 = 862 -> 82,752.
    is_ = layer_timing(Gemm(128, 768, 768), scalesim(dataflow="is"), "int8")
    assert is_.compute_cycles == 24 * 4 * 862 == 82_752


SHAPES = [
    (1, 1, 1),
    (1, 768, 768),  # GEMV, M = 1
    (128, 768, 1),  # N = 1
    (128, 1, 768),  # K = 1
    (7, 5, 3),  # smaller than the array
    (33, 65, 31),  # not multiples
    (100, 27, 64),
    (3136, 576, 64),  # ResNet-50 conv2_x 3x3
    (49, 4608, 512),
]
ARRAYS = [(32, 32), (8, 8), (16, 64), (128, 128), (1, 4)]


@pytest.mark.parametrize("dataflow", ["os", "ws", "is"])
@pytest.mark.parametrize(("rows", "cols"), ARRAYS)
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_formula_conformance(m: int, k: int, n: int, rows: int, cols: int, dataflow: str) -> None:
    s = layer_timing(Gemm(m, k, n), scalesim(rows=rows, cols=cols, dataflow=dataflow), "int8")
    ref = reference_stats(m, k, n, rows, cols, dataflow)
    assert s.compute_cycles == ref["cycles"]
    assert s.folds == ref["folds"]
    assert s.mapping_efficiency == pytest.approx(ref["mapping_efficiency"], rel=1e-9)
    assert s.mac_utilization == pytest.approx(ref["compute_utilization"], rel=1e-9)
    assert (s.input_reads, s.weight_reads, s.output_writes) == ref["accesses"]
    assert s.output_reads == s.output_writes - m * n
    assert s.macs == m * k * n


def test_bytes_at_operand_and_accumulator_precision() -> None:
    # ws, K = 64 on 32 rows -> F_r = 2: M*N partial sums (int32, 4 B) + M*N final outputs (1 B).
    s = layer_timing(Gemm(10, 64, 8), scalesim(dataflow="ws"), "int8")
    assert s.input_read_bytes == 10 * 64 * 1 and s.weight_read_bytes == 64 * 8
    assert s.output_writes == 2 * 80 and s.output_reads == 80
    assert s.output_write_bytes == 80 * 4 + 80 * 1
    assert s.output_read_bytes == 80 * 4
    int4 = layer_timing(Gemm(10, 64, 8), scalesim(dataflow="ws"), "int4")
    assert int4.input_read_bytes == 10 * 64 // 2  # bit-packed, 4 bits per element
    fp32 = layer_timing(Gemm(10, 64, 8), scalesim(dataflow="ws"), "fp32")
    assert fp32.weight_read_bytes == 64 * 8 * 4


def test_macs_per_pe_per_cycle_scales_the_temporal_term_only() -> None:
    params = scalesim(dataflow="os")
    gemm = Gemm(128, 768, 768)
    int4 = layer_timing(gemm, params, "int4")  # 2 MACs/PE/cycle -> T = 384
    fp32 = layer_timing(gemm, params, "fp32")  # 0.25 -> T = 3072
    assert int4.compute_cycles == 4 * 24 * (384 + 62)
    assert fp32.compute_cycles == 4 * 24 * (3072 + 62)
    binary = layer_timing(Gemm(4, 9, 4), params, "binary")  # 8 per cycle: ceil(9/8) = 2
    assert binary.t_steps == 2 and binary.compute_cycles == 2 + 62
    assert fp32.folds == int4.folds == 96


def test_groups_run_one_after_another() -> None:
    one = layer_timing(Gemm(3136, 9, 1), scalesim(), "int8")
    grouped = layer_timing(Gemm(3136, 9, 1, groups=64), scalesim(), "int8")
    assert grouped.compute_cycles == 64 * one.compute_cycles
    assert grouped.folds == 64 * one.folds
    assert grouped.input_read_bytes == 64 * one.input_read_bytes
    assert grouped.mac_utilization == pytest.approx(one.mac_utilization)
    assert grouped.scalesim_cycles == 64 * (one.compute_cycles - 1)


def test_one_array_times_many_layers_as_the_reference_tables_do() -> None:
    """An array built once and reused carries nothing from one layer to the next: every shape,
    timed forwards and then backwards with other precisions in between, matches the reference
    transcription (not the array's own :func:`layer_timing`, which would share any bug)."""
    array = MacArray(scalesim(rows=16, cols=8, dataflow="is"))
    for m, k, n in [*SHAPES, *reversed(SHAPES)]:
        array.layer_timing(Gemm(n, m, k), "fp32")  # a different shape and rate just before
        s = array.layer_timing(Gemm(m, k, n), "int8")
        ref = reference_stats(m, k, n, 16, 8, "is")
        assert (s.compute_cycles, s.folds) == (ref["cycles"], ref["folds"]), (m, k, n)
        assert (s.input_reads, s.weight_reads, s.output_writes) == ref["accesses"]
        assert s.mac_utilization == pytest.approx(ref["compute_utilization"], rel=1e-9)
