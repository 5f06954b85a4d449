"""Pipelined folds (``fold_overlap``) and groups packed on the columns (``pack_groups``).

Expected counts are hand-derived schedules, not the code's output. Cycle ``c`` counts from 0;
``PE (i, j)`` sits on row ``i``, column ``j``; a fold's streamed operands enter row/column 0 one
vector per cycle and reach PE (i, j) ``i + j`` cycles later (the skew), so a fold whose stream
starts at cycle ``s`` finishes its last MAC at PE (R-1, C-1) at ``s + (T - 1) + (R-1) + (C-1)``.
Pipelined, the next fold's stream starts ``max(T, R)`` after this one's (the stream occupies
its edge ``T`` cycles; the R-row move of outputs (os) or of the next stationary tile (ws, is)
takes ``R``).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.compute.array import layer_timing
from npusim.compute.params import DEFAULT_MACS_PER_PE_PER_CYCLE, ArrayParams
from npusim.workload.layers import Conv2d, Gemm


def cycles(gemm: Gemm, dataflow: str, overlap: bool, shape: tuple[int, int] = (4, 6),
           pack: bool = True) -> int:  # fmt: skip
    rows, cols = shape  # rows != cols, so a swapped R and C fails
    params = ArrayParams(rows, cols, dataflow, fold_overlap=overlap, pack_groups=pack)
    return layer_timing(gemm, params, "int8").compute_cycles


def test_os_stream_longer_than_the_rows() -> None:
    # 4x6, M=8, K=5, N=6: F_r = 2, F_c = 1, T = 5 >= R = 4. Fold 1 streams cycles 0-4, its last
    # MAC at PE (3,5) is cycle 4 + 3 + 5 = 12 (13 cycles, SCALE-Sim's 5 + 4 + 6 - 2). Fold 2
    # streams from cycle 5, right behind: last MAC at 5 + 12 = 17, so 18 cycles (26 apart).
    assert cycles(Gemm(8, 5, 6), "os", overlap=False) == 2 * 13
    assert cycles(Gemm(8, 5, 6), "os", overlap=True) == 18


def test_os_output_drain_bounds_short_streams() -> None:
    # 4x6, M=8, K=2, N=6: T = 2 < R = 4. Fold 1 streams 0-1, last MAC 1 + 3 + 5 = 9 (10
    # cycles). Each column's 4 outputs of fold 1 leave through its one output port in 4
    # cycles, so fold 2 streams from cycle 4, not 2: last MAC 13, 14 cycles (SCALE-Sim 20).
    assert cycles(Gemm(8, 2, 6), "os", overlap=False) == 2 * 10
    assert cycles(Gemm(8, 2, 6), "os", overlap=True) == 14


def test_ws_next_weights_load_during_the_stream() -> None:
    # 4x6, M=6, K=8, N=6: F_r = 2 (K on rows), T = M = 6. Fold 1 loads weights cycles 0-3,
    # streams 4-9, last MAC 9 + 3 + 5 = 17 (18 = 2*4 + 6 + 6 - 2). Fold 2's weights shift into
    # the shadow registers during 4-7, its stream follows at 10: last MAC 23, 24 cycles.
    assert cycles(Gemm(6, 8, 6), "ws", overlap=False) == 2 * 18
    assert cycles(Gemm(6, 8, 6), "ws", overlap=True) == 24
    # M=2 (T = 2 < R): fold 1 loads 0-3, streams 4-5, last MAC 5 + 8 = 13 (14 cycles); fold
    # 2's 4 weight rows load during 4-7, its stream starts at 8: last MAC 17, 18 cycles.
    assert cycles(Gemm(2, 8, 6), "ws", overlap=False) == 2 * 14
    assert cycles(Gemm(2, 8, 6), "ws", overlap=True) == 18


def test_is_preload_longer_than_the_stream() -> None:
    # 4x6, M=4, K=8, N=3: F_r = 2 (K on rows), F_c = 1 (M on columns), T = N = 3 < R = 4.
    # Fold 1 preloads inputs 0-3, streams weights 4-6, last MAC 6 + 3 + 5 = 14 (15 cycles).
    # Fold 2's 4 rows of inputs preload during 4-7, so its stream starts at 8 (not 7): last
    # MAC 10 + 8 = 18, 19 cycles (SCALE-Sim 30).
    assert cycles(Gemm(4, 8, 3), "is", overlap=False) == 2 * 15
    assert cycles(Gemm(4, 8, 3), "is", overlap=True) == 19


def test_one_fold_keeps_its_fill_and_drain() -> None:
    for dataflow in ("os", "ws", "is"):
        gemm = Gemm(3, 4, 2)  # fits one 4x6 fold in every dataflow
        assert cycles(gemm, dataflow, overlap=True) == cycles(gemm, dataflow, overlap=False)


def test_precision_rate_shortens_the_stream_not_the_row_move() -> None:
    # os 4x4, M=8, K=10, N=4, two folds. int8 T=10: 10 + (10 + 6) = 26. int4 (2 MACs/PE/cycle)
    # T=5: 5 + 11 = 16. binary (8/cycle) T=2 < R: the drain sets the interval, 4 + 8 = 12.
    params = ArrayParams(4, 4, "os")
    got = [layer_timing(Gemm(8, 10, 4), params, p).compute_cycles for p in ("int8", "int4")]
    assert got == [26, 16]
    assert layer_timing(Gemm(8, 10, 4), params, "binary").compute_cycles == 12


def test_fold_interval_and_scalesim_figure_are_reported() -> None:
    s = layer_timing(Gemm(6, 8, 4), ArrayParams(4, 4, "ws"), "int8")
    assert (s.fold_interval, s.cycles_per_fold, s.folds) == (6, 16, 2)
    assert s.scalesim_cycles == 2 * 16 - 1  # what SCALE-Sim would print, overlap or not


dims = st.integers(min_value=1, max_value=2000)
sides = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128])
dataflows = st.sampled_from(["os", "ws", "is"])
precisions = st.sampled_from(sorted(DEFAULT_MACS_PER_PE_PER_CYCLE))


@settings(max_examples=300, deadline=None)
@given(dims, dims, dims, st.integers(1, 64), sides, sides, dataflows, precisions, st.booleans())
def test_overlap_never_slower_and_never_below_the_compute_steps(
    m: int, k: int, n: int, groups: int, rows: int, cols: int, flow: str, precision: str, pack: bool
) -> None:
    gemm = Gemm(m, k, n, groups)
    params = {"rows": rows, "cols": cols, "dataflow": flow, "pack_groups": pack}
    on = layer_timing(gemm, ArrayParams(**params, fold_overlap=True), precision)
    off = layer_timing(gemm, ArrayParams(**params, fold_overlap=False), precision)
    assert off.compute_cycles == off.folds * off.cycles_per_fold  # SCALE-Sim's sum
    assert on.compute_cycles <= off.compute_cycles
    # Never below the folds' streams back to back, nor the array's peak throughput.
    assert on.compute_cycles >= on.folds * on.t_steps
    rate = DEFAULT_MACS_PER_PE_PER_CYCLE[precision]
    assert on.compute_cycles >= math.ceil(on.macs / (rows * cols * rate))
    if on.folds == 1:
        assert on.compute_cycles == off.compute_cycles
    elif cols > 1:  # os saves min(T, R) + C - 2 >= 1 per fold, ws and is R + min(T, R) + C - 2
        assert on.compute_cycles < off.compute_cycles
    # One fold's fill and drain stay: exactly what the overlap removes from every other fold.
    assert off.compute_cycles - on.compute_cycles == (on.folds - 1) * (
        on.cycles_per_fold - on.fold_interval
    )
    assert on.fold_interval == max(on.t_steps, rows)
    assert (on.input_reads, on.weight_reads, on.output_writes) == (
        off.input_reads,
        off.weight_reads,
        off.output_writes,
    )


# Groups packed side by side on the columns.


def test_depthwise_groups_share_a_fold_hand_count() -> None:
    # os 8x8, depthwise 20 channels, M=20 pixels, K=9 taps, N=1: 8 channels per fold
    # (Sc = 1 column each), ceil(20/8) = 3 group folds x F_r = ceil(20/8) = 3 -> 9 folds of
    # 9 + 8 + 8 - 2 = 23 cycles: 207 cycles (SCALE-Sim, one channel after another:
    # 20 x 3 x 23 = 1380); pipelined, T = 9 >= R: 8 * 9 + 23 = 95.
    gemm = Gemm(20, 9, 1, groups=20)
    assert cycles(gemm, "os", overlap=False, shape=(8, 8), pack=False) == 1380
    assert cycles(gemm, "os", overlap=False, shape=(8, 8)) == 207
    assert cycles(gemm, "os", overlap=True, shape=(8, 8)) == 95
    s = layer_timing(gemm, ArrayParams(8, 8, "os"), "int8")
    assert (s.groups_per_fold, s.folds) == (8, 9)
    # Used PEs: 20 channels x 20 pixels over 9 folds of 64 PEs.
    assert s.mapping_efficiency == pytest.approx(400 / (9 * 64))


def test_ws_packs_on_columns_is_only_when_pixels_are_few() -> None:
    # ws: Sc = N = 1 -> 8 groups per fold; is: Sc = M = 20 > 8 columns -> no packing.
    gemm = Gemm(20, 9, 1, groups=20)
    ws = layer_timing(gemm, ArrayParams(8, 8, "ws"), "int8")
    assert (ws.groups_per_fold, ws.row_folds, ws.folds) == (8, 2, 3 * 2)
    is_ = layer_timing(gemm, ArrayParams(8, 8, "is"), "int8")
    assert (is_.groups_per_fold, is_.folds) == (1, 20 * 2 * 3)
    few = layer_timing(Gemm(3, 9, 1, groups=20), ArrayParams(8, 8, "is"), "int8")
    assert few.groups_per_fold == 2  # two groups of 3 pixels on 8 columns


@settings(max_examples=200, deadline=None)
@given(dims, dims, dims, st.integers(1, 300), sides, sides, dataflows, st.booleans())
def test_packing_never_slower_and_moves_the_same_operands(
    m: int, k: int, n: int, groups: int, rows: int, cols: int, flow: str, overlap: bool
) -> None:
    gemm = Gemm(m, k, n, groups)
    params = {"rows": rows, "cols": cols, "dataflow": flow, "fold_overlap": overlap}
    packed = layer_timing(gemm, ArrayParams(**params, pack_groups=True), "int8")
    alone = layer_timing(gemm, ArrayParams(**params, pack_groups=False), "int8")
    assert packed.compute_cycles <= alone.compute_cycles
    assert packed.macs == alone.macs
    for key in ("input_read_bytes", "weight_read_bytes", "output_write_bytes", "output_reads"):
        assert getattr(packed, key) == getattr(alone, key)
    assert 0 < packed.mac_utilization <= packed.mapping_efficiency + 1e-12 <= 1 + 1e-12


def test_mobilenet_depthwise_on_the_default_array() -> None:
    # MobileNetV2's first depthwise conv (3x3, 32 channels, 112x112) on the default 64x64 os
    # array. One channel at a time: 1 of 64 columns, T = 9 of 9 + 126 cycles per fold:
    # 9 / (64 x 135) = 0.10 %. Packed: 32 channels on 32 columns; pipelined, a fold every
    # max(9, 64) = 64 cycles (the output drain): about 9/64 x 32/64 = 7.0 %.
    dw = Conv2d("dw", 112, 112, 32, 32, 3, 3, padding=1, groups=32).gemm()
    scalesim = ArrayParams(64, 64, "os", fold_overlap=False, pack_groups=False)
    assert layer_timing(dw, scalesim, "int8").mac_utilization == pytest.approx(
        9 / (64 * 135), rel=1e-9
    )
    packed = layer_timing(dw, ArrayParams(64, 64, "os"), "int8")
    assert packed.groups_per_fold == 32  # all 32 channels, on 32 of the 64 columns
    folds = 12544 // 64  # 196 row folds of 64 pixels, one group fold
    assert packed.compute_cycles == (folds - 1) * 64 + 135
    assert packed.mac_utilization == pytest.approx(
        dw.macs / (((folds - 1) * 64 + 135) * 4096), rel=1e-12
    )
    assert 0.069 < packed.mac_utilization < 9 / 64 * 32 / 64
