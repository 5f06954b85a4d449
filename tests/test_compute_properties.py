"""Invariants of the array model for any GEMM, array shape, dataflow and precision."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.compute.array import layer_timing
from npusim.compute.params import DEFAULT_MACS_PER_PE_PER_CYCLE, ArrayParams
from npusim.workload.layers import Conv2d, Gemm

dims = st.integers(min_value=1, max_value=3000)
sides = st.sampled_from([1, 2, 4, 8, 16, 32, 64, 128])
dataflows = st.sampled_from(["os", "ws", "is"])
precisions = st.sampled_from(sorted(DEFAULT_MACS_PER_PE_PER_CYCLE))


@settings(max_examples=200, deadline=None)
@given(dims, dims, dims, st.integers(1, 8), sides, sides, dataflows, precisions)
def test_cycles_bounded_by_peak_and_utilization_in_unit_interval(
    m: int, k: int, n: int, groups: int, rows: int, cols: int, dataflow: str, precision: str
) -> None:
    params = ArrayParams(rows=rows, cols=cols, dataflow=dataflow)
    s = layer_timing(Gemm(m, k, n, groups), params, precision)
    rate = DEFAULT_MACS_PER_PE_PER_CYCLE[precision]
    assert s.compute_cycles >= s.macs / (rows * cols * rate)
    assert 0 < s.mac_utilization <= 1
    assert 0 < s.mapping_efficiency <= 1
    assert s.mac_utilization <= s.mapping_efficiency + 1e-12
    assert s.output_writes >= s.groups * m * n and s.output_reads >= 0
    assert s.mac_energy_pj > 0


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 40), st.integers(1, 40), st.integers(1, 40), sides, sides, dataflows,
    st.sampled_from(["rows", "cols"]),
)  # fmt: skip
def test_doubling_the_array_never_increases_cycles_when_it_stays_full(
    fm: int, fk: int, fn: int, rows: int, cols: int, dataflow: str, axis: str
) -> None:
    # Dimensions are multiples of the doubled array, so both arrays are fully mapped (even
    # fold counts); then 2x the PEs never costs cycles. (Partially filled layers can get
    # slower: see test_doubling_a_gemv_array_adds_fill_cycles.)
    big_rows, big_cols = (2 * rows, cols) if axis == "rows" else (rows, 2 * cols)
    m, k, n = fm * 2 * rows * cols, fk * 2 * rows * cols, fn * 2 * rows * cols
    small = layer_timing(Gemm(m, k, n), ArrayParams(rows, cols, dataflow), "int8")
    big = layer_timing(Gemm(m, k, n), ArrayParams(big_rows, big_cols, dataflow), "int8")
    assert big.compute_cycles <= small.compute_cycles
    assert big.folds <= small.folds


@settings(max_examples=150, deadline=None)
@given(dims, dims, dims, sides, sides, dataflows)
def test_doubling_the_array_never_increases_folds(
    m: int, k: int, n: int, rows: int, cols: int, dataflow: str
) -> None:
    small = layer_timing(Gemm(m, k, n), ArrayParams(rows, cols, dataflow), "int8")
    big = layer_timing(Gemm(m, k, n), ArrayParams(2 * rows, 2 * cols, dataflow), "int8")
    assert big.folds <= small.folds


def test_doubling_a_gemv_array_adds_fill_cycles() -> None:
    # Published formula, os: M = 1 fits one fold on both arrays; T + R + C - 2 grows with R, C.
    small = layer_timing(Gemm(1, 64, 32), ArrayParams(32, 32, "os"), "int8")
    big = layer_timing(Gemm(1, 64, 32), ArrayParams(64, 64, "os"), "int8")
    assert (small.compute_cycles, big.compute_cycles) == (64 + 62, 64 + 126)


@settings(max_examples=100, deadline=None)
@given(dims, dims, dims, sides, sides, dataflows)
def test_more_macs_per_pe_per_cycle_never_slower(
    m: int, k: int, n: int, rows: int, cols: int, dataflow: str
) -> None:
    params = ArrayParams(rows, cols, dataflow)
    slow_to_fast = ("fp32", "fp16", "int8", "int4", "int2", "binary")
    cycles = [layer_timing(Gemm(m, k, n), params, p).compute_cycles for p in slow_to_fast]
    assert cycles == sorted(cycles, reverse=True)


def test_depthwise_conv_on_a_large_array_uses_it_poorly_as_scalesim_runs_it() -> None:
    # MobileNet-v1 first depthwise layer: 3x3, 32 channels, 112x112 (padding 1). SCALE-Sim's
    # way, one channel after another with no fold overlap (npusim's default packs the channels
    # on the columns: tests/test_compute_pipelining.py).
    depthwise = Conv2d("dw", 112, 112, 32, 32, 3, 3, padding=1, groups=32)
    pointwise = Conv2d("pw", 112, 112, 32, 64, 1, 1)
    for dataflow in ("os", "ws", "is"):
        params = ArrayParams(128, 128, dataflow, fold_overlap=False, pack_groups=False)
        dw = layer_timing(depthwise.gemm(), params, "int8")
        pw = layer_timing(pointwise.gemm(), params, "int8")
        assert dw.mac_utilization < 0.01
        assert dw.mac_utilization < pw.mac_utilization / 4
    # ws: K = 9 of 128 rows, N = 1 of 128 columns used.
    ws = layer_timing(depthwise.gemm(), ArrayParams(128, 128, "ws", pack_groups=False), "int8")
    assert ws.mapping_efficiency == 9 / (128 * 128)
