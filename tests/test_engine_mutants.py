"""Engine behaviour the other engine tests left unpinned, found by mutation testing (issue 18).

Each test here was written against mutmut survivors in ``npusim/engine/`` and kills them; the
expected values are worked by hand in the test (or follow from the formula its docstring
cites), not copied from the model's output. A number that is the code's own output is called
a regression pin where it appears.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from npusim.cache import SramEnergyModel
from npusim.compute import array_area_mm2
from npusim.config import load_scenario
from npusim.dram import DramSystem
from npusim.engine import cycle, replay
from npusim.engine.allocator import Arena, Block, plan_arena
from npusim.engine.analytic import ANALYTIC_NOTE, _traffic, analytic_layer, run_analytic
from npusim.engine.assemble import layer_result, peak_bytes_per_cycle, traffic_by_kind
from npusim.engine.cycle import (
    _dram_summary,
    _moved_by_kind,
    _occupancy_columns,
    _residency_extra,
    _timeline,
    run_cycle,
)
from npusim.engine.energy import (
    accumulator_energy_pj,
    area_mm2,
    data_io_energy_pj,
    dram_phy_energy_pj,
    dram_streaming_energy_pj,
    sram_energy_pj,
    static_energy_pj,
)
from npusim.engine.layout import Allocator, TensorPlacement
from npusim.engine.modes import SramMode
from npusim.engine.placement import Placer
from npusim.engine.plan import kv_spec, plan_layer
from npusim.engine.quality import network_quality
from npusim.engine.replay import engine_vs_trace
from npusim.engine.residency import LayerResidency, Operand, plan_network
from npusim.engine.steps import _ranges, _Shares, gemm_steps, step_count, vector_steps
from npusim.engine.system import LoadPart, MemoryPath, PathCounters, ScratchpadPath
from npusim.engine.tiling import (
    OperandBits,
    _candidates,
    choose_tiling,
    footprint_bytes,
    smallest_footprint_bytes,
)
from npusim.errors import CapacityError, WorkloadError
from npusim.quant import StorageBytes
from npusim.results import Energy
from npusim.trace import Trace
from npusim.workload import Linear, Matmul, Softmax, Workload

INT8 = OperandBits(input=8, weight=8, output=8, accumulator=32)


# --- allocator -------------------------------------------------------------------------------


def test_live_bytes_counts_a_block_at_its_first_and_at_its_last_position() -> None:
    # A lives [2, 4], B [3, 6], C [0, 1]; only placed blocks count.
    blocks = [Block("A", 100, 2, 4), Block("B", 30, 3, 6), Block("C", 7, 0, 1)]
    arena = Arena({"A": 0, "B": 100, "C": 0}, (), 0, 0)
    assert [arena.live_bytes(blocks, p) for p in range(8)] == [7, 7, 100, 130, 130, 30, 30, 0]
    spilled_b = Arena({"A": 0, "C": 0}, ("B",), 0, 0)
    assert spilled_b.live_bytes(blocks, 4) == 100


def test_an_arena_with_nothing_placed_peaks_at_zero_and_uses_no_bytes() -> None:
    empty = plan_arena([], 64)
    assert (empty.offsets, empty.spilled, empty.peak_bytes, empty.arena_bytes) == ({}, (), 0, 0)
    all_spilled = plan_arena([Block("big", 65, 0, 3)], 64)
    assert all_spilled.spilled == ("big",)
    assert (all_spilled.peak_bytes, all_spilled.arena_bytes) == (0, 0)


def test_equal_gaps_tie_to_the_lowest_offset() -> None:
    # Fixed blocks go first, in order, each into its best gap: lo [0, 20) and pad [40, 60)
    # live at position 0 only, X [20, 40) and Y [60, 80) to position 5. At positions 1-2
    # the gaps [0, 20), [40, 60) and [80, 100) are all 20 B: a 10 B block takes offset 0.
    fixed = [Block("lo", 20, 0, 0), Block("X", 20, 0, 5), Block("pad", 20, 0, 0),
             Block("Y", 20, 0, 5)]  # fmt: skip
    arena = plan_arena([Block("t", 10, 1, 2)], 100, fixed=fixed)
    assert arena.offsets == {"lo": 0, "X": 20, "pad": 40, "Y": 60, "t": 0}


def test_the_best_gap_is_the_smallest_even_after_a_larger_one_at_offset_zero() -> None:
    # M [100, 150) alive: gaps [0, 100) (100 B) and [150, 200) (50 B); 15 B takes the 50 B.
    fixed = [Block("lo", 100, 0, 0), Block("M", 50, 0, 3)]
    arena = plan_arena([Block("t", 15, 1, 2)], 200, fixed=fixed)
    assert arena.offsets == {"lo": 0, "M": 100, "t": 150}
    assert arena.peak_bytes == 150  # position 0: lo + M
    assert arena.arena_bytes == 165  # t ends at 150 + 15


# --- tiling ----------------------------------------------------------------------------------


def test_footprint_rounds_each_packed_tile_up_to_whole_bytes() -> None:
    # 4-bit inputs and weights, a 28-bit accumulator-plus-output tile, odd tile sides:
    # input 3 x 7 x 4 b = 10.5 B -> 11, weights 7 x 5 x 4 b = 17.5 B -> 18,
    # output 3 x 5 x 28 b = 52.5 B -> 53; double-buffered operands: 2 * (11 + 18) + 53.
    bits = OperandBits(input=4, weight=4, output=4, accumulator=24)
    assert footprint_bytes(3, 5, 7, bits) == 2 * (11 + 18) + 53 == 111
    # 8-bit operands: 2 x 3 x 8 b = 6 B, 3 x 5 x 8 b = 15 B, 2 x 5 x 40 b = 50 B
    int8 = OperandBits(input=8, weight=8, output=8, accumulator=32)
    assert footprint_bytes(2, 5, 3, int8) == 2 * (6 + 15) + 50 == 92
    assert smallest_footprint_bytes(2, 3, 5, int8, min_tile=64) == 92
    # dimensions above the array side are cut to it: m 100 -> 4, k 9 -> 4, n 3 stays
    assert smallest_footprint_bytes(100, 9, 3, int8, min_tile=4) == footprint_bytes(4, 3, 4, int8)
    assert footprint_bytes(4, 3, 4, int8) == 2 * (16 + 12) + 60


def test_candidates_are_the_dimension_and_the_powers_of_two_below_it() -> None:
    assert _candidates(8, 2).tolist() == [2, 4, 8]  # 8 itself once, not twice
    assert _candidates(6, 1).tolist() == [1, 2, 4, 6]
    assert _candidates(3, 64).tolist() == [3]


def test_one_by_one_tiles_by_default_and_a_footprint_equal_to_the_capacity_fits() -> None:
    # 5 x 5 x 5 at INT8: the 1 x 1 x 1 tile takes 2 * (1 + 1) + 1 * (32 + 8) / 8 = 9 B; every
    # other candidate takes at least 13 B (tk = 2). With k cut, each operand is re-read once
    # per tile of the other: 5 times.
    t = choose_tiling("x", 5, 5, 5, INT8, (25, 25, 25), 9)
    assert (t.tm, t.tn, t.tk, t.order, t.tiles, t.footprint_bytes) == (1, 1, 1, "m_outer", 125, 9)
    assert (t.input_reuse, t.weight_reuse) == (5, 5)
    assert (t.input_read_bytes, t.weight_read_bytes, t.output_write_bytes) == (125, 125, 25)
    with pytest.raises(CapacityError) as info:
        choose_tiling("x", 5, 5, 5, INT8, (25, 25, 25), 8)
    assert str(info.value) == (
        "layer 'x': no tile fits the 8 B SRAM: the smallest tile needs 9 B (GEMM 5x5x5)"
    )


def test_m_outer_reads_a_full_k_input_once_across_several_n_tiles() -> None:
    # 4 x 8 x 64 at INT8 in 1,216 B: no tile with tn = 64 fits (1 x 8 x 64 needs 1,360 B), so
    # the least traffic (each tensor once: 32 + 512 B) needs tk = K and tm = M; among those
    # the smallest exposed tile is tn = 1 (32 + 8 + 4 B). Both orders then read each tensor
    # once and tie; the first, m_outer, is kept: its input stays across the 64 n tiles.
    t = choose_tiling("x", 4, 8, 64, INT8, (32, 512, 256), 1216)
    assert (t.tm, t.tn, t.tk, t.order, t.tiles) == (4, 1, 8, "m_outer", 64)
    assert (t.footprint_bytes, t.input_reuse, t.weight_reuse) == (2 * (32 + 8) + 4 * 5, 1, 1)
    assert (t.input_read_bytes, t.weight_read_bytes, t.output_write_bytes) == (32, 512, 256)


def test_m_outer_keeps_all_weights_resident_when_tn_is_n_and_tk_is_k() -> None:
    # The mirror image, 64 x 8 x 4: tn = N and tk = K read the weights once however many m
    # tiles there are; the smallest exposed such tile is tm = 1; m_outer kept on the tie.
    t = choose_tiling("x", 64, 8, 4, INT8, (512, 32, 256), 1216)
    assert (t.tm, t.tn, t.tk, t.order, t.tiles) == (1, 4, 8, "m_outer", 64)
    assert (t.footprint_bytes, t.input_reuse, t.weight_reuse) == (2 * (8 + 32) + 4 * 5, 1, 1)
    assert (t.input_read_bytes, t.weight_read_bytes) == (512, 32)


def test_n_outer_wins_when_re_reading_the_inputs_costs_less_than_the_weights() -> None:
    # 8 x 4 x 8, side 4: only the 4 x 4 x 4 tile fits 255 B (2 * (16 + 16) + 16 * 5 = 144;
    # 4 x 8 or 8 x 4 needs 256). Two m tiles, two n tiles, K whole. m_outer reads the
    # 32 B of inputs once and the 320 B of weights twice (672 B); n_outer the inputs twice
    # and the weights once (384 B): n_outer.
    t = choose_tiling("x", 8, 4, 8, INT8, (32, 320, 64), 255, min_tile=4)
    assert (t.tm, t.tn, t.tk, t.order, t.tiles, t.footprint_bytes) == (4, 4, 4, "n_outer", 4, 144)
    assert (t.input_reuse, t.weight_reuse) == (2, 1)
    assert (t.input_read_bytes, t.weight_read_bytes, t.output_write_bytes) == (64, 320, 64)
    # 320 B of inputs and 32 B of weights: m_outer (320 + 2 * 32 = 384 against 640 + 32)
    t = choose_tiling("x", 8, 4, 8, INT8, (320, 32, 64), 255, min_tile=4)
    assert (t.order, t.input_reuse, t.weight_reuse) == ("m_outer", 1, 2)
    assert (t.input_read_bytes, t.weight_read_bytes) == (320, 64)


def test_k_tiles_round_up_in_the_tile_count() -> None:
    # 1 x 5 x 1, side 4: tk 4 (21 B) fits 24 B, tk 5 (25 B) does not: two k tiles, 4 + 1.
    t = choose_tiling("x", 1, 5, 1, INT8, (5, 5, 1), 24, min_tile=4)
    assert (t.tm, t.tn, t.tk, t.tiles, t.footprint_bytes) == (1, 1, 4, 2, 21)
    assert (t.order, t.input_reuse, t.weight_reuse) == ("m_outer", 1, 1)


def test_among_equal_traffic_the_smallest_fill_and_drain_counts_the_output_tile() -> None:
    # 8 x 4 x 8, side 2, 448 B (every tile fits). Each tensor is read once by the tiles with
    # tk = K and tm = M or tn = N, and by 8 x 8 x 2 (one m and one n tile). Exposed bytes
    # (input + weight + output tile): 8 x 2 x 4: 32 + 8 + 16 = 56 (and 2 x 8 x 4 alike);
    # 8 x 4 x 4: 32 + 16 + 32 = 80; 8 x 8 x 2: 16 + 16 + 64 = 96, the least operand bytes
    # but the largest output tile. Either 56 B tile wins; both read each tensor once.
    t = choose_tiling("x", 8, 4, 8, INT8, (32, 32, 64), 448, min_tile=2)
    assert {t.tm, t.tn} == {2, 8} and t.tk == 4
    assert (t.tiles, t.footprint_bytes, t.input_reuse, t.weight_reuse) == (4, 160, 1, 1)


def test_fewest_tiles_break_a_tie_of_traffic_and_exposed_bytes() -> None:
    # 2 x 4 x 2 with FP32 outputs (64-bit accumulator + output per element) in 40 B: the
    # tiles reading each 8 B tensor once are 1 x 2 x 4 and 2 x 1 x 4 (4 + 8 + 8 = 20 exposed
    # bytes, 2 tiles, 40 B) and 2 x 2 x 1 (2 + 2 + 16 = 20 exposed, but 4 tiles).
    bits = OperandBits(input=8, weight=8, output=32, accumulator=32)
    t = choose_tiling("x", 2, 4, 2, bits, (8, 8, 4), 40)
    assert {t.tm, t.tn} == {1, 2} and t.tk == 4
    assert (t.tiles, t.footprint_bytes, t.input_read_bytes, t.weight_read_bytes) == (2, 40, 8, 8)


# --- layout ----------------------------------------------------------------------------------


def test_row_major_blocks_whole_rows_one_block_partial_rows_one_per_row() -> None:
    # 100 B in 6 rows of 10 columns: row r starts at floor(r * 100 / 6):
    # 0, 16, 33, 50, 66, 83, 100.
    t = TensorPlacement("t", 8192, 100, 6, 10)
    assert [int(x) for x in t.row_offset(np.arange(7))] == [0, 16, 33, 50, 66, 83, 100]
    addrs, sizes = t.blocks(1, 4, 0, 10)
    assert addrs.tolist() == [8192 + 16] and sizes.tolist() == [66 - 16]
    addrs, sizes = t.blocks(2, 2, 0, 10)  # an empty band still costs one byte
    assert addrs.tolist() == [8192 + 33] and sizes.tolist() == [1]
    # columns 3:7 of rows 1-2 (17 B each): from floor(17 * 3 / 10) = 5 to floor(17 * 7 / 10) = 11
    addrs, sizes = t.blocks(1, 3, 3, 7)
    assert addrs.tolist() == [8192 + 16 + 5, 8192 + 33 + 5]
    assert sizes.tolist() == [6, 6]
    # columns 0:9 of rows 3-4 (16 and 17 B): floor(16 * 9 / 10) = 14, floor(17 * 9 / 10) = 15
    addrs, sizes = t.blocks(3, 5, 0, 9)
    assert addrs.tolist() == [8192 + 50, 8192 + 66] and sizes.tolist() == [14, 15]
    addrs, sizes = t.blocks(1, 2, 4, 4)  # no columns: one byte
    assert sizes.tolist() == [1]


def test_tile_major_blocks_follow_bands_inside_each_group() -> None:
    # 12 rows x 10 columns (120 elements) in 1000 B, tiles of 4 rows x 5 columns, groups of
    # 6 rows: group 1 (rows 6-11) has bands at rows 6 and 10. The tile rows 10:12, columns
    # 5:10 starts after 10 * 10 + 5 * 2 = 110 elements and holds 2 * 5 = 10 of them:
    # bytes floor(110 * 1000 / 120) = 916 to floor(120 * 1000 / 120) = 1000.
    w = TensorPlacement("w", 4096, 1000, 12, 10, tile=(4, 5), group_rows=6)
    addrs, sizes = w.blocks(10, 12, 5, 10)
    assert addrs.tolist() == [4096 + 916] and sizes.tolist() == [1000 - 916]
    assert addrs.dtype == sizes.dtype == np.int64  # byte addresses stay integers
    # rows 6:10, columns 5:10: 6 * 10 + 5 * 4 = 80 elements before it, 20 in it
    addrs, sizes = w.blocks(6, 10, 5, 10)
    assert addrs.tolist() == [4096 + 666] and sizes.tolist() == [833 - 666]
    # without groups the bands are at rows 0, 4, 8: rows 4:8, columns 0:5 start at 40
    plain = TensorPlacement("p", 0, 1000, 12, 10, tile=(4, 5))
    addrs, sizes = plain.blocks(4, 8, 0, 5)
    assert addrs.tolist() == [333] and sizes.tolist() == [500 - 333]
    tiny = TensorPlacement("q", 0, 3, 12, 10, tile=(4, 5))  # 3 B: a tile of 20 elements
    assert tiny.blocks(0, 4, 0, 5)[1].tolist() == [1]  # rounds to 0 B, still one byte


def test_dram_allocator_aligns_to_4_kib_and_fills_the_capacity_exactly() -> None:
    alloc = Allocator(8192)
    a = alloc.place("a", 100, 10, 10)
    b = alloc.place("b", 4096, 64, 64, tile=(8, 16), group_rows=32, kind=1)
    assert (a.name, a.base, a.total_bytes, a.rows, a.cols) == ("a", 0, 100, 10, 10)
    assert (a.tile, a.group_rows, a.kind, a.on_chip) == (None, 0, 0, False)
    assert (b.base, b.tile, b.group_rows, b.kind) == (4096, (8, 16), 32, 1)
    assert alloc.next_free == 8192  # 4096 + 4096: exactly the capacity, allowed
    with pytest.raises(CapacityError) as info:
        alloc.place("c", 1, 1, 1)
    assert str(info.value) == (
        "tensor 'c' (1 B) does not fit in DRAM: 8192 B already placed of 8192 B"
    )
    fresh = Allocator(4097)
    fresh.place("x", 1, 1, 1)
    assert fresh.place("y", 1, 1, 1).base == 4096  # 1 B rounds the next base up to 4096
    with pytest.raises(CapacityError):
        fresh.place("z", 1, 1, 1)


# --- steps -----------------------------------------------------------------------------------


def _gemm_plan(layer: object, tm: int, tn: int, tk: int, order: str, cycles: int,
               bundle: int = 1) -> SimpleNamespace:  # fmt: skip
    """The fields of a LayerPlan that the step makers read, with a tiling chosen by hand."""
    tiling = SimpleNamespace(tm=tm, tn=tn, tk=tk, order=order)
    return SimpleNamespace(layer=layer, tiling=tiling, timing=SimpleNamespace(
        compute_cycles=cycles), group_bundle=bundle, chunk_elements=0)  # fmt: skip


def _vector_plan(n_in: int, n_out: int, cycles: int, chunk: int) -> SimpleNamespace:
    layer = SimpleNamespace(input_elements=n_in, output_elements=n_out, gemm=lambda: None)
    return SimpleNamespace(layer=layer, tiling=None, compute_cycles=cycles, chunk_elements=chunk)


def _blocks(part: object) -> list[tuple[int, int]]:
    return list(zip(part.addrs.tolist(), part.sizes.tolist(), strict=True))


def test_gemm_steps_reuse_a_k_deep_input_tile_across_the_inner_n_loop() -> None:
    # 5 x 6 x 3, tiles 2 x 6 x 2, m outer: m tiles 0:2, 2:4, 4:5; n tiles 0:2, 2:3; one k tile.
    # Inputs 5 rows x 6 B at 0, weights 3 rows x 6 B at 4096, outputs 5 rows x 3 B at 8192.
    plan = _gemm_plan(Linear("fc", 6, 3, tokens=5), 2, 2, 6, "m_outer", 1000)
    inputs = TensorPlacement("in", 0, 30, 5, 6)
    weights = TensorPlacement("w", 4096, 18, 3, 6, kind=1)
    outputs = TensorPlacement("fc", 8192, 15, 5, 3, on_chip=True)
    steps = list(gemm_steps(plan, inputs, weights, outputs))
    assert step_count(plan) == len(steps) == 6
    tiles = [(0, 2, 0, 2), (0, 2, 2, 3), (2, 4, 0, 2), (2, 4, 2, 3), (4, 5, 0, 2), (4, 5, 2, 3)]
    for step, (m0, m1, n0, n1) in zip(steps, tiles, strict=True):
        expected = [] if n0 else [[(6 * m0, 6 * (m1 - m0))]]  # the input: on a new m tile only
        expected.append([(4096 + 6 * n0, 6 * (n1 - n0))])
        assert [_blocks(p) for p in step.loads] == expected
        assert [p.kind for p in step.loads] == [0] * (n0 == 0) + [1]
        assert step.first_k and step.store_on_chip
        assert list(zip(step.store_addrs.tolist(), step.store_sizes.tolist(), strict=True)) == [
            (8192 + 3 * r + n0, n1 - n0) for r in range(m0, m1)
        ]
    # MACs per step 24, 12, 24, 12, 12, 6 of 90: cumulative shares of 1000 cycles floor to
    # 266, 400, 666, 800, 933, 1000.
    assert [s.compute_cycles for s in steps] == [266, 134, 266, 134, 133, 67]


def test_gemm_steps_n_outer_cut_k_and_store_after_the_last_k_step() -> None:
    # 5 x 6 x 3, tiles 4 x 4 x 2, n outer: n 0:2, 2:3; m 0:4, 4:5; k 0:4, 4:6.
    plan = _gemm_plan(Linear("fc", 6, 3, tokens=5), 4, 2, 4, "n_outer", 90)
    inputs = TensorPlacement("in", 0, 30, 5, 6)
    weights = TensorPlacement("w", 4096, 18, 3, 6)
    outputs = TensorPlacement("fc", 8192, 15, 5, 3)
    steps = list(gemm_steps(plan, inputs, weights, outputs))
    assert step_count(plan) == len(steps) == 8
    order = [
        (n, m, k) for n in ((0, 2), (2, 3)) for m in ((0, 4), (4, 5)) for k in ((0, 4), (4, 6))
    ]
    for step, ((n0, n1), (m0, m1), (k0, k1)) in zip(steps, order, strict=True):
        # k alternates, so both tiles are loaded on every step, one block per row
        assert _blocks(step.loads[0]) == [(6 * r + k0, k1 - k0) for r in range(m0, m1)]
        assert _blocks(step.loads[1]) == [(4096 + 6 * r + k0, k1 - k0) for r in range(n0, n1)]
        assert step.first_k == (k0 == 0) and not step.store_on_chip
        if k1 == 6:
            assert step.store_addrs.tolist() == [8192 + 3 * r + n0 for r in range(m0, m1)]
            assert step.store_sizes.tolist() == [n1 - n0] * (m1 - m0)
        else:
            assert step.store_addrs is None and step.store_sizes is None
    # one cycle per MAC: each step's cycles are its tile's MACs
    assert [s.compute_cycles for s in steps] == [
        (m1 - m0) * (n1 - n0) * (k1 - k0) for (n0, n1), (m0, m1), (k0, k1) in order
    ]


def test_gemm_steps_move_bundles_of_whole_groups() -> None:
    # 5 groups of 2 x 3 x 2 (a batched matmul), 2 groups per step: bundles 0-1, 2-3, 4.
    plan = _gemm_plan(Matmul("mm", m=2, k=3, n=2, batch=5), 2, 2, 3, "m_outer", 60, bundle=2)
    inputs = TensorPlacement("a", 0, 30, 10, 3)  # 10 rows (5 groups x m) of 3 B
    weights = TensorPlacement("b", 4096, 60, 10, 3)  # 10 rows (5 groups x n) of 6 B
    outputs = TensorPlacement("mm", 8192, 20, 10, 2)  # 10 rows of 2 B
    steps = list(gemm_steps(plan, inputs, weights, outputs))
    assert step_count(plan) == len(steps) == 3
    assert [_blocks(s.loads[0]) for s in steps] == [[(0, 12)], [(12, 12)], [(24, 6)]]
    assert [_blocks(s.loads[1]) for s in steps] == [[(4096, 24)], [(4096 + 24, 24)],
                                                    [(4096 + 48, 12)]]  # fmt: skip
    assert [list(zip(s.store_addrs.tolist(), s.store_sizes.tolist(), strict=True))
            for s in steps] == [[(8192, 8)], [(8192 + 8, 8)], [(8192 + 16, 4)]]  # fmt: skip
    # 24, 24 and 12 of the 60 MACs: 60 cycles split 24, 24, 12
    assert [s.compute_cycles for s in steps] == [24, 24, 12]


def test_vector_steps_cut_each_operand_in_proportion_and_skip_empty_pieces() -> None:
    # 10 input elements in chunks of 4: 0:4, 4:8, 8:10. Operand a has 10 rows (10 B), b 2
    # rows (8 B): b's rows e0 * 2 // 10 .. e1 * 2 // 10 are 0:0 (skipped), 0:1, 1:2.
    # Outputs 5 rows of 3 B (15 B): rows e0 * 5 // 10 .. e1 * 5 // 10 = 0:2, 2:4, 4:5.
    plan = _vector_plan(10, 5, 7, 4)
    a = TensorPlacement("a", 0, 10, 10, 1)
    b = TensorPlacement("b", 4096, 8, 2, 1, on_chip=True)
    out = TensorPlacement("o", 8192, 15, 5, 1, on_chip=True)
    steps = list(vector_steps(plan, (a, b), out))
    assert step_count(plan) == len(steps) == 3
    assert [[_blocks(p) for p in s.loads] for s in steps] == [
        [[(0, 4)]],
        [[(4, 4)], [(4096, 4)]],
        [[(8, 2)], [(4096 + 4, 4)]],
    ]
    assert [p.on_chip for p in steps[1].loads] == [False, True]
    assert [(s.store_addrs.tolist(), s.store_sizes.tolist()) for s in steps] == [
        ([8192], [6]), ([8192 + 6], [6]), ([8192 + 12], [3])]  # fmt: skip
    assert all(s.first_k and s.store_on_chip for s in steps)
    # 7 cycles by elements 4, 4, 2: cumulative floor(7 * 4 / 10) = 2, floor(7 * 8 / 10) = 5, 7
    assert [s.compute_cycles for s in steps] == [2, 3, 2]


def test_vector_steps_load_an_operand_only_on_chunks_that_reach_a_new_row() -> None:
    # 10 inputs in chunks of 2; operand b has 2 rows (4 B each): chunk e0:e1 covers its rows
    # e0 * 2 // 10 .. e1 * 2 // 10 = 0:0, 0:0, 0:1, 1:1, 1:2, so b loads on chunks 3 and 5.
    b = TensorPlacement("b", 4096, 8, 2, 1)
    steps = list(
        vector_steps(_vector_plan(10, 10, 10, 2), (b,), TensorPlacement("o", 0, 10, 10, 1))
    )
    assert [[_blocks(p) for p in s.loads] for s in steps] == [
        [], [], [[(4096, 4)]], [], [[(4096 + 4, 4)]]]  # fmt: skip


def test_vector_steps_store_nothing_for_a_chunk_with_no_whole_output_row() -> None:
    # 10 inputs, 2 outputs: chunk 0:4 covers output rows 0:0 (none), 4:8 0:1, 8:10 1:2.
    steps = list(vector_steps(_vector_plan(10, 2, 10, 4), (TensorPlacement("a", 0, 10, 10, 1),),
                              TensorPlacement("o", 64, 4, 2, 1)))  # fmt: skip
    assert [s.store_addrs is None for s in steps] == [True, False, False]
    assert [s.store_sizes is None for s in steps] == [True, False, False]
    assert [s.store_addrs.tolist() for s in steps[1:]] == [[64], [66]]
    assert not any(s.store_on_chip for s in steps)


def test_a_vector_layer_without_inputs_is_one_step_storing_all_its_output() -> None:
    plan = _vector_plan(0, 6, 9, 4)
    steps = list(vector_steps(plan, (), TensorPlacement("o", 0, 12, 6, 1)))
    assert step_count(plan) == len(steps) == 1
    assert steps[0].loads == () and steps[0].compute_cycles == 9
    assert (steps[0].store_addrs.tolist(), steps[0].store_sizes.tolist()) == ([0], [12])
    # no chunk size (0) counts as one element per step
    assert step_count(_vector_plan(3, 3, 1, 0)) == 3
    assert step_count(_vector_plan(0, 6, 9, 1)) == step_count(_vector_plan(1, 1, 1, 1)) == 1
    assert step_count(_vector_plan(9, 3, 1, 4)) == 3


def test_shares_hand_out_nothing_without_weight_and_sum_exactly() -> None:
    nothing = _Shares(50, 0)
    assert [nothing.take(w) for w in (3, 0, 4)] == [0, 0, 0]
    shares = _Shares(10, 7)
    # cumulative floor(10 * 2 / 7) = 2, floor(10 * 5 / 7) = 7, 10
    assert [shares.take(w) for w in (2, 3, 2)] == [2, 5, 3]
    assert _ranges(7, 3) == [(0, 3), (3, 6), (6, 7)]
    assert _ranges(6, 3) == [(0, 3), (3, 6)]


# --- assemble --------------------------------------------------------------------------------

# LPDDR5-6400 x 4 channels of 2 B at a 1 GHz core clock: 6400e6 * 2 * 4 / 1e9 B per cycle.
PEAK_BYTES_PER_CYCLE = 51.2


def test_layer_result_derives_each_figure_from_cycles_bytes_and_counts() -> None:
    scenario = load_scenario()
    plan = plan_layer(Linear("fc", 300, 200, tokens=3), scenario)
    assert peak_bytes_per_cycle(scenario) == pytest.approx(PEAK_BYTES_PER_CYCLE)
    assert plan.compute_cycles < 1392  # so that 71,234 B in 5,000 cycles is memory bound
    r = layer_result(plan, scenario, cycles=5000, read_bytes=70_000, write_bytes=1234, hits=30,
                     misses=10, energy=Energy(mac=1.0, sram=2.0, dram=3.0, static=4.0),
                     extra={"x": 1})  # fmt: skip
    assert (r.name, r.type, r.m, r.k, r.n, r.groups, r.macs) == ("fc", "linear", 3, 300, 200,
                                                                   1, 3 * 300 * 200)  # fmt: skip
    assert r.cycles == 5000 and r.time_s == pytest.approx(5e-6, rel=1e-12)
    assert r.memory_cycles == 1392  # ceil(71,234 / 51.2) = ceil(1391.3)
    assert r.compute_cycles == plan.compute_cycles
    assert r.stall_cycles == 5000 - plan.compute_cycles
    assert r.bound == "memory"
    assert (r.folds, r.mapping_efficiency) == (plan.timing.folds, plan.timing.mapping_efficiency)
    assert r.peak_macs_per_cycle == plan.peak_macs_per_cycle == 64 * 64
    assert r.mac_utilization == pytest.approx(180_000 / (5000 * 4096), rel=1e-12)
    assert (r.dram_read_bytes, r.dram_write_bytes) == (70_000, 1234)
    assert r.dram_bandwidth_gbps == pytest.approx(71_234 / 5e-6 / 1e9, rel=1e-12)
    assert (r.cache_hits, r.cache_misses, r.cache_hit_rate) == (30, 10, 0.75)
    e = r.energy_pj
    assert (e.mac, e.sram, e.dram, e.static) == (1.0, 2.0, 3.0, 4.0)
    assert e.phy == pytest.approx(8 * (70_000 * 1.83 + 1234 * 5.68), rel=1e-12)
    t = plan.tiling
    assert r.extra == {
        "mac_precision": "int8", "vector_ops": 0, "array_energy_pj": dict(plan.op_energy_parts_pj),
        "tile": f"{t.tm}x{t.tk}x{t.tn} {t.order}", "input_reuse": t.input_reuse,
        "weight_reuse": t.weight_reuse, "x": 1,
    }  # fmt: skip


def test_layer_result_at_the_compute_memory_tie_and_with_nothing_counted() -> None:
    scenario = load_scenario()
    plan = plan_layer(Linear("fc", 300, 200, tokens=3), scenario)
    c = plan.compute_cycles
    tie = math.floor(c * PEAK_BYTES_PER_CYCLE)  # ceil(tie / 51.2) == c: memory equals compute
    assert math.ceil(tie / PEAK_BYTES_PER_CYCLE) == c
    r = layer_result(plan, scenario, cycles=c - 1, read_bytes=tie, write_bytes=0, hits=0,
                     misses=0, energy=Energy(), extra={})  # fmt: skip
    assert r.memory_cycles == c and r.bound == "compute"
    assert r.stall_cycles == 0  # fewer cycles than compute: no negative stall
    assert r.cache_hit_rate == 0.0
    idle = layer_result(plan, scenario, cycles=0, read_bytes=0, write_bytes=0, hits=3, misses=1,
                        energy=Energy(), extra={})  # fmt: skip
    assert (idle.mac_utilization, idle.dram_bandwidth_gbps, idle.time_s) == (0.0, 0.0, 0.0)
    assert idle.cache_hit_rate == 0.75 and idle.energy_pj.phy == 0.0
    even = layer_result(plan, scenario, cycles=9, read_bytes=0, write_bytes=0, hits=6, misses=6,
                        energy=Energy(), extra={})  # fmt: skip
    assert even.cache_hit_rate == 0.5


def test_layer_result_of_a_vector_layer_has_no_gemm_figures() -> None:
    scenario = load_scenario()
    plan = plan_layer(Softmax("sm", rows=4, length=50), scenario)
    r = layer_result(plan, scenario, cycles=10, read_bytes=0, write_bytes=0, hits=0, misses=0,
                     energy=Energy(), extra={})  # fmt: skip
    assert (r.m, r.k, r.n, r.groups, r.macs, r.folds, r.mapping_efficiency) == (0, 0, 0, 1, 0,
                                                                               0, 0.0)  # fmt: skip
    assert r.mac_utilization == 0.0
    assert r.extra["tile"] == f"{plan.chunk_elements} elements" and "input_reuse" not in r.extra
    assert r.extra["vector_ops"] == plan.vector_ops > 0


def test_traffic_by_kind_moves_metadata_in_proportion_rounded() -> None:
    plan = SimpleNamespace(input=StorageBytes(900, 4, 904), weight=StorageBytes(0, 0, 0),
                           output=StorageBytes(600, 8, 608))  # fmt: skip
    moved = {"input_read": 1100, "weight_read": 0, "output_write": 608, "spill_write": 100}
    # shares: round(1100 * 4 / 904) = round(4.87) = 5; none of no weights;
    # round(608 * 8 / 608) = 8; round(100 * 8 / 608) = round(1.32) = 1
    assert traffic_by_kind(plan, moved) == {
        "input_read_bytes": 1095, "weight_read_bytes": 0, "output_write_bytes": 600,
        "spill_write_bytes": 99, "metadata_bytes": 14,
    }  # fmt: skip


# --- energy ----------------------------------------------------------------------------------


def test_sram_energy_counts_whole_port_accesses_of_one_bank() -> None:
    scenario = load_scenario()  # 4 MiB in 16 banks, 64 B port
    model, cap = scenario.energy.sram, 4 * 1024 * 1024
    read, write = model.read_energy_pj(cap, 64, 16), model.write_energy_pj(cap, 64, 16)
    assert read != write
    # 100 B read: 2 accesses; 130 B written: 3 accesses
    assert sram_energy_pj(scenario, 100, 130) == pytest.approx(2 * read + 3 * write, rel=1e-12)
    assert sram_energy_pj(scenario, 128, 0) == pytest.approx(2 * read, rel=1e-12)
    assert sram_energy_pj(scenario, 0, 64) == pytest.approx(write, rel=1e-12)


def test_accumulator_energy_is_a_share_of_one_row_access_per_element() -> None:
    scenario = load_scenario()  # 64 columns, INT8 accumulates in INT32: 256 B rows
    array = scenario.array
    assert array.cols == 64 and array.accumulator_for("int8") == "int32"
    model = SramEnergyModel(energy_factor=scenario.energy.sram.energy_factor)
    cap = array.accumulator_capacity_bytes
    write, read = model.write_energy_pj(cap, 256), model.read_energy_pj(cap, 256)
    assert read != write
    timing = SimpleNamespace(psums_in_accumulator=True, precision="int8",
                             accumulator_writes=1000, accumulator_reads=300)  # fmt: skip
    expected = (1000 * write + 300 * read) / 64
    assert accumulator_energy_pj(scenario, timing) == pytest.approx(expected, rel=1e-12)
    spilled = SimpleNamespace(psums_in_accumulator=False, precision="int8",
                              accumulator_writes=1000, accumulator_reads=300)  # fmt: skip
    assert accumulator_energy_pj(scenario, spilled) == 0.0


def test_phy_static_and_area_by_hand() -> None:
    scenario = load_scenario()
    assert dram_phy_energy_pj(scenario, 3, 5) == pytest.approx(8 * (3 * 1.83 + 5 * 5.68))
    both = load_scenario(overrides=["energy.dram_phy_read=2 pJ", "energy.dram_phy_write=7 pJ"])
    assert dram_phy_energy_pj(both, 3, 5) == pytest.approx(8 * (3 * 2 + 5 * 7))
    cap = scenario.sram.capacity_bytes
    leak = scenario.energy.sram.leakage_power_w(cap)
    assert static_energy_pj(scenario, 2e-6) == pytest.approx(leak * 2e-6 * 1e12, rel=1e-12)
    powered = load_scenario(overrides=["energy.static_power=0.5 W"])
    assert static_energy_pj(powered, 2e-6) == pytest.approx((leak + 0.5) * 2e-6 * 1e12)
    area = area_mm2(scenario)
    mac = array_area_mm2(scenario.array, "int8")
    sram = scenario.energy.sram.area_mm2(cap)
    assert area == pytest.approx({"mac_array": mac, "sram": sram, "total": mac + sram})
    assert mac != sram


def test_data_io_energy_prices_each_kind_at_its_measured_toggle_rate() -> None:
    flat = load_scenario()
    moved = {"input_read": 1000, "weight_read": 2000, "output_write": 300, "spill_write": 0}
    rates = {"input_io_toggles_per_bit": 0.25, "weight_io_toggles_per_bit": 0.75,
             "output_io_toggles_per_bit": 0.6}  # fmt: skip
    assert data_io_energy_pj(flat, moved, rates) == 0.0
    data = load_scenario(overrides=["dram.io_energy=data"])
    per_bit = 0.5  # LPDDR5 io_pj_per_bit
    # 8 x bytes x 0.5 x (2r - 1): inputs -0.5, weights +0.5, outputs +0.2; spills moved none
    expected = 8 * per_bit * (1000 * -0.5 + 2000 * 0.5 + 300 * 0.2)
    assert data_io_energy_pj(data, moved, rates) == pytest.approx(expected, rel=1e-12)
    # a kind without a measured rate stays at the flat price; so does a kind nobody names
    partial = {"input_io_toggles_per_bit": 0.25}
    assert data_io_energy_pj(data, {**moved, "other": 50}, partial) == pytest.approx(
        8 * per_bit * 1000 * -0.5
    )
    # spills are priced at the output rate
    assert data_io_energy_pj(data, {"spill_write": 100}, rates) == pytest.approx(
        8 * per_bit * 100 * 0.2
    )


def test_streaming_dram_energy_by_hand_for_each_refresh_mode() -> None:
    """LPDDR5-6400 terms (npusim.dram.energy's table): ACT-PRE 1,100 pJ per 2 KiB page,
    3.3 / 2.2 pJ per bit read / written, 0.5 pJ/bit I/O, refresh 36,000 pJ all-bank and
    4,500 per bank, 47 mW active standby; tCK 1.25 ns, nREFI 3,125 and nREFIpb 391 cycles."""
    read, write, time_s = 5000, 3000, 10e-6
    # 8,000 B: ceil(8000 / 2048) = 4 rows opened; 40,000 bits read, 24,000 written
    traffic = 1100 * 4 + 3.3 * 40_000 + 2.2 * 24_000 + 0.5 * 64_000
    cycles = 8000  # 10 us / 1.25 ns
    standby = 47 * cycles * 1.25  # mW x ns = pJ, per channel
    # refresh at its nominal rate, time / nREFI per channel (a fraction: a layer shorter than
    # nREFI still pays its share, so a network's layers add up to the run's rate)
    cases = {
        (): 36_000 * 8000 / 3125,  # all-bank: 2.56 refreshes per channel
        ("dram.refresh=per-bank",): 4500 * 8000 / 391,  # 20.46 per-bank refreshes
        ("dram.refresh=off",): 0.0,
        ("dram.timing.nREFI=400",): 36_000 * 8000 / 400,
    }
    for overrides, refresh in cases.items():
        scenario = load_scenario(overrides=list(overrides))
        expected = traffic + 4 * (standby + refresh)  # 4 channels
        got = dram_streaming_energy_pj(scenario, read, write, time_s)
        assert got == pytest.approx(expected, rel=1e-9), overrides
    two = load_scenario(overrides=["dram.channels=2"])
    expected = traffic + 2 * (standby + 36_000 * 8000 / 3125)
    assert dram_streaming_energy_pj(two, read, write, time_s) == pytest.approx(expected, rel=1e-9)
    # 8 banks: 4 KiB pages, so 8,000 B open ceil(8000 / 4096) = 2 rows at twice the energy
    wide = load_scenario(
        overrides=["dram.bank_arch=8B", "dram.burst_length=32", "dram.refresh=off"]
    )
    expected = traffic - 1100 * 4 + 1100 * 2 * 4096 / 2048 + 4 * standby
    assert dram_streaming_energy_pj(wide, read, write, time_s) == pytest.approx(expected, rel=1e-9)
    # one nREFI (3,125 cycles = 3,906.25 ns) holds one refresh per channel; a moment less,
    # 3,124 whole cycles, holds 3,124 / 3,125 of one
    off = dram_streaming_energy_pj(load_scenario(overrides=["dram.refresh=off"]), 0, 0, 3.90625e-6)
    due = dram_streaming_energy_pj(load_scenario(), 0, 0, 3.90625e-6)
    not_yet = dram_streaming_energy_pj(load_scenario(), 0, 0, 3.9062499999e-6)
    assert due - off == pytest.approx(4 * 36_000, rel=1e-9)
    assert not_yet == pytest.approx(4 * (47 * 3124 * 1.25 + 36_000 * 3124 / 3125), rel=1e-12)
    # no traffic and no time: nothing
    assert dram_streaming_energy_pj(load_scenario(), 0, 0, 0.0) == 0.0


# --- replay ----------------------------------------------------------------------------------

SMALL = Workload("small", (Linear("fc", 256, 96, tokens=3),))


def test_engine_vs_trace_replays_the_engines_own_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """A second recorder of the same run: its requests as an untimed trace give the same
    time, and the engine's own time is an unrecorded run's."""
    scenario = load_scenario()
    plain = run_cycle(scenario, SMALL, measure_quality=False).totals()["time_s"]
    stream: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    real_submit = DramSystem.submit

    def record(self: DramSystem, addr: object, is_write: object, arrival_ck: int,
               size: object = 0) -> object:  # fmt: skip
        a = np.atleast_1d(np.asarray(addr)).astype(np.uint64)
        stream.append((a, np.broadcast_to(np.asarray(is_write, bool), a.shape),
                       np.broadcast_to(np.asarray(size, np.int64), a.shape)))  # fmt: skip
        return real_submit(self, addr, is_write, arrival_ck, size)

    monkeypatch.setattr(DramSystem, "submit", record)
    run_cycle(scenario, SMALL, measure_quality=False)
    monkeypatch.undo()
    addr, writes, sizes = (np.concatenate(c) for c in zip(*stream, strict=True))
    assert writes.any() and not writes.all()
    system = DramSystem(scenario.dram)
    trace_s = int(system.run_trace(Trace(addr, writes, sizes, None)).max()) / system.ck_hz
    got = engine_vs_trace(scenario, SMALL)
    assert got.engine_s == pytest.approx(plain, rel=1e-12)
    assert got.trace_s == pytest.approx(trace_s, rel=1e-12)
    # weights 96 x 256 B + 96 FP32 scales = 24,960 B = 390 lines; input 768 + 4 B = 13 lines;
    # the output's 288 + 4 B stored straight to DRAM
    assert got.dram_bytes == int(sizes.sum()) == (390 + 13) * 64 + 292
    assert 0 < got.trace_s < got.engine_s
    assert DramSystem.submit is real_submit  # restored


def test_engine_vs_trace_without_dram_requests_has_no_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = SimpleNamespace(totals=lambda: {"time_s": 1.5})
    monkeypatch.setattr(replay, "run_cycle", lambda scenario, workload: fake)
    got = replay.engine_vs_trace(load_scenario(), SMALL)
    assert got == (1.5, 0.0, 0)
    assert (type(got.trace_s), type(got.dram_bytes)) == (float, int)


# --- plan and memory path (partly measured) --------------------------------------------------


def test_kv_spec_carries_every_quantization_setting() -> None:
    scenario = load_scenario(overrides=[
        "precision.kv_cache=int4", "quantization.kv_group_size=64",
        "quantization.symmetric=false", "quantization.calibration=percentile",
        "quantization.percentile=99.5", "quantization.scale_format=fp16",
    ])  # fmt: skip
    spec = kv_spec(scenario)
    assert (spec.bits, spec.symmetric, spec.group_size, spec.percentile) == (4, False, 64, 99.5)
    assert (spec.granularity.value, spec.calibration.value, spec.scale_format.value) == (
        "per_group", "percentile", "fp16")  # fmt: skip
    per_tensor = kv_spec(load_scenario(overrides=["precision.kv_cache=int4"]))
    assert per_tensor.granularity.value == "per_tensor" and per_tensor.group_size is None
    assert per_tensor.symmetric is True  # the default


def test_scratchpad_loads_count_on_chip_and_dram_parts_by_hand() -> None:
    scenario = load_scenario(overrides=["sram.mode=scratchpad"])  # 16 banks x 64 B per cycle
    path = ScratchpadPath(scenario)
    latency = scenario.sram.hit_latency_cycles
    assert path.sram_cycles(1024) == latency + 1 and path.sram_cycles(2049) == latency + 3
    empty = np.zeros(0, np.int64)
    parts = [
        LoadPart(empty, empty, 0),  # nothing: skipped, and the parts after it still load
        LoadPart(np.array([1]), np.array([1]), 0),  # one byte from DRAM
        LoadPart(np.array([0]), np.array([100]), 1, on_chip=True),  # 2 lines from the SRAM
        LoadPart(np.array([4096, 8192]), np.array([64, 64]), 0),  # 2 lines from DRAM
    ]
    transfer = path.load(parts, 10)
    c = path.counters
    assert transfer.floor == 10 + latency + 1 and transfer.ticket >= 0
    assert (c.dma_read_bytes_by_kind, c.hits_by_kind, c.misses_by_kind) == ([129, 100], [0, 2],
                                                                            [3, 0])  # fmt: skip
    assert c.sram_fill_bytes == 129
    only_dram = ScratchpadPath(scenario).load([parts[3]], 7)
    assert only_dram.floor == 7  # nothing on chip: no SRAM port time before the DRAM's


# --- analytic --------------------------------------------------------------------------------


def _fake_plan(weight: int, output: int, gemm: bool) -> SimpleNamespace:
    layer = SimpleNamespace(gemm=(lambda: object()) if gemm else (lambda: None))
    return SimpleNamespace(layer=layer, weight=SimpleNamespace(total=weight),
                           output=SimpleNamespace(total=output))  # fmt: skip


def test_compulsory_traffic_in_each_sram_mode() -> None:
    cache = load_scenario(overrides=["sram.capacity=64 KiB"])
    stored, on_chip = Operand(None, 10, 1000, False), Operand("a", 10, 70_000, True)
    one = LayerResidency((stored,), output_on_chip=False, dying=())
    both_in = LayerResidency((stored, on_chip), output_on_chip=True, dying=())
    # cache: what the SRAM cannot hold of the on-chip operand is read (70,000 - 65,536), and
    # of the output written into it, what exceeds it spills
    assert _traffic(_fake_plan(777, 70_000, True), cache, both_in, SramMode.CACHE) == {
        "input_read": 1000 + 4464,
        "weight_read": 0,
        "output_write": 0,
        "spill_write": 4464,
    }
    assert _traffic(_fake_plan(777, 5000, True), cache, one, SramMode.CACHE) == {
        "input_read": 1000,
        "weight_read": 777,
        "output_write": 5000,
        "spill_write": 0,
    }
    # a vector layer's second operand is an operand, and its weights (none here) still count
    assert _traffic(_fake_plan(777, 5000, False), cache, both_in, SramMode.CACHE) == {
        "input_read": 5464,
        "weight_read": 777,
        "output_write": 0,
        "spill_write": 0,
    }
    # scratchpad: the allocator's decision exactly
    assert _traffic(_fake_plan(777, 70_000, True), cache, both_in, SramMode.SCRATCHPAD) == {
        "input_read": 1000,
        "weight_read": 0,
        "output_write": 0,
        "spill_write": 0,
    }
    assert _traffic(_fake_plan(777, 5000, True), cache, one, SramMode.SCRATCHPAD) == {
        "input_read": 1000,
        "weight_read": 777,
        "output_write": 5000,
        "spill_write": 0,
    }
    small_out = LayerResidency((on_chip,), output_on_chip=True, dying=())
    assert _traffic(_fake_plan(0, 60_000, True), cache, small_out, SramMode.CACHE) == {
        "input_read": 4464,
        "weight_read": 0,
        "output_write": 0,
        "spill_write": 0,
    }


def test_analytic_layer_by_hand() -> None:
    """fc 3 x 300 x 200 INT8: input 900 + 4 B, weights 60,000 + 800 B, output 600 + 4 B;
    tiles 3 x 64 x 200, so the first load is 904 x 192 / 900 = 192 B of input and
    60,800 x 64 / 300 = 12,970 B of weights, the last store the whole 604 B."""
    scenario = load_scenario()
    plan = plan_layer(Linear("fc", 300, 200, tokens=3), scenario)
    assert (plan.tiling.tm, plan.tiling.tk, plan.tiling.tn) == (3, 64, 200)
    c = plan.compute_cycles
    stored = LayerResidency((Operand(None, 900, 904, False),), output_on_chip=False, dying=())
    r = analytic_layer(plan, scenario, {"q": 1}, stored, SramMode.CACHE)
    # busy: ceil(13,162 / 51.2) + compute + ceil(604 / 51.2) = 258 + c + 12
    assert r.cycles == max(258 + c + 12, 1217) == 258 + c + 12
    assert (r.dram_read_bytes, r.dram_write_bytes, r.memory_cycles) == (61_704, 604, 1217)
    reads, writes = plan.sram_operand_bytes
    assert r.cache_misses == 965  # ceil(61,704 / 64)
    assert r.cache_hits == max(-(-reads // 64) - 965, 0)
    time_s = r.cycles / 1e9
    e = r.energy_pj
    assert e.mac == plan.op_energy_pj
    assert e.sram == pytest.approx(sram_energy_pj(scenario, reads + 604, writes + 61_704))
    assert e.dram == pytest.approx(dram_streaming_energy_pj(scenario, 61_704, 604, time_s))
    assert e.static == pytest.approx(static_energy_pj(scenario, time_s))
    assert (r.extra["input_read_bytes"], r.extra["weight_read_bytes"]) == (900, 60_000)
    assert (r.extra["output_write_bytes"], r.extra["metadata_bytes"], r.extra["q"]) == (600, 808, 1)
    # priced by the data's toggles: 8 x bytes x 0.5 pJ x (2r - 1) per kind
    data = load_scenario(overrides=["dram.io_energy=data"])
    rates = {"input_io_toggles_per_bit": 0.25, "weight_io_toggles_per_bit": 0.75,
             "output_io_toggles_per_bit": 0.6}  # fmt: skip
    priced = analytic_layer(plan, data, rates, stored, SramMode.CACHE)
    io = 8 * 0.5 * (904 * -0.5 + 60_800 * 0.5 + 604 * 0.2)
    assert priced.energy_pj.dram == pytest.approx(
        dram_streaming_energy_pj(data, 61_704, 604, priced.time_s) + io, rel=1e-12
    )
    # the input on chip: no first input load; the output on chip: no last store
    on_chip = LayerResidency((Operand("x", 900, 904, True),), output_on_chip=True, dying=())
    r = analytic_layer(plan, scenario, {}, on_chip, SramMode.CACHE)
    assert r.cycles == 254 + c  # ceil(12,970 / 51.2) = 254
    assert (r.dram_read_bytes, r.dram_write_bytes) == (60_800, 0)
    # one channel (12.8 B per cycle): memory bound, ceil(62,308 / 12.8) = 4,868 cycles
    narrow = load_scenario(overrides=["dram.channels=1"])
    r = analytic_layer(plan, narrow, {}, stored, SramMode.CACHE)
    assert 1029 + c + 48 < 4868 and r.cycles == 4868


# --- placement -------------------------------------------------------------------------------

TWO = Workload("two", (Linear("fc1", 64, 32, tokens=2), Linear("fc2", 32, 16, tokens=2)))


def _extent(steps: list, kind: int) -> tuple[int, int, set[bool]]:
    parts = [p for s in steps for p in s.loads if p.kind == kind]
    start = min(int(p.addrs.min()) for p in parts)
    end = max(int((p.addrs + p.sizes).max()) for p in parts)
    return start, end, {p.on_chip for p in parts}


@pytest.mark.parametrize("mode", ["cache", "scratchpad"])
def test_placer_gives_each_tensor_one_home_that_its_steps_cover(mode: str) -> None:
    network = plan_network(TWO, load_scenario(overrides=[f"sram.mode={mode}"]))
    placer = Placer(1 << 30, network)
    dropped: list[tuple[int, int]] = []
    path = SimpleNamespace(drop=lambda base, size: dropped.append((base, size)))
    placer.drop_dead(path, network.layers[0])  # nothing placed yet: nothing to drop
    assert dropped == []
    # fc1: its output (68 B) first at 0, the network input (128 + 4 B) at 4096, its weights
    # (2,048 + 32 x 4 B scales) at 8192
    steps = placer.steps(network.plans[0], network.layers[0])
    assert placer.bases == {"fc1": 0, "input": 4096}
    assert _extent(steps, 0) == (4096, 4096 + 132, {False})
    assert _extent(steps, 1) == (8192, 8192 + 2176, {False})
    stores = [(int(a), int(a + n)) for s in steps if s.store_addrs is not None
              for a, n in zip(s.store_addrs, s.store_sizes, strict=True)]  # fmt: skip
    assert min(a for a, _ in stores) == 0 and max(e for _, e in stores) == 68
    assert all(s.store_on_chip for s in steps)  # fc2 reads fc1
    # fc2 reads fc1 where fc1 was written; on chip by the allocator's word in scratchpad mode
    steps = placer.steps(network.plans[1], network.layers[1])
    assert _extent(steps, 0) == (0, 68, {mode == "scratchpad"})
    assert placer.bases["fc2"] == 12288  # after fc1's weights (8192 + 2176), aligned
    assert _extent(steps, 1) == (16384, 16384 + 16 * 32 + 16 * 4, {False})
    assert not any(s.store_on_chip for s in steps)  # the network output goes to DRAM
    placer.drop_dead(path, network.layers[0])
    placer.drop_dead(path, network.layers[1])
    assert dropped == [(4096, 132), (0, 68)]
    # an operand no layer produces is a stored tensor of the layer's own
    own = placer.operand("fc3", Operand(None, 10, 50, True), 5, 2)
    assert (own.name, own.base, own.total_bytes, own.rows, own.cols) == (
        "fc3.input", 16384 + 4096, 50, 5, 2)  # fmt: skip
    assert (own.kind, own.on_chip) == (0, False)


def test_an_on_chip_output_larger_than_the_sram_spills_in_cache_mode_only() -> None:
    scenario = load_scenario(overrides=["sram.capacity=64 KiB"])
    plan = plan_layer(Linear("fc", 100, 1000, tokens=100), scenario)
    assert plan.output.total == 100_000 + 4  # INT8 outputs and one FP32 scale
    kept = LayerResidency((Operand(None, 10_000, plan.input.total, False),),
                          output_on_chip=True, dying=())  # fmt: skip
    cache = analytic_layer(plan, scenario, {}, kept, SramMode.CACHE)
    assert cache.dram_write_bytes == 100_004 - 65_536
    assert cache.extra["spill_write_bytes"] + cache.extra["metadata_bytes"] > 0
    scratchpad = analytic_layer(plan, scenario, {}, kept, SramMode.SCRATCHPAD)
    assert scratchpad.dram_write_bytes == 0


# --- residency -------------------------------------------------------------------------------


def test_cache_mode_keeps_produced_and_read_tensors_and_sizes_each_tensor() -> None:
    network = plan_network(TWO, load_scenario())
    # INT8 with one FP32 scale each: input 128 + 4, fc1 64 + 4, fc2 32 + 4
    assert network.tensor_bytes == {"input": 132, "fc1": 68, "fc2": 36}
    first, second = network.layers
    assert [(o.tensor, o.elements, o.size_bytes, o.on_chip) for o in first.operands] == [
        ("input", 128, 132, False)]  # fmt: skip
    assert (first.output_on_chip, first.dying) == (True, ("input",))
    assert [(o.tensor, o.size_bytes, o.on_chip) for o in second.operands] == [("fc1", 68, True)]
    assert (second.output_on_chip, second.dying) == (False, ("fc1",))
    assert network.summary() == {"mode": "cache", "capacity_bytes": 4 * 1024 * 1024}
    assert (network.arena, network.occupancy_bytes) == (None, ())


def test_a_tensor_read_at_a_wider_precision_takes_its_widest_view() -> None:
    # fc2 reads fc1 as FP32 activations: 64 x 4 B, wider than fc1's INT8 output (68 B)
    scenario = load_scenario(overrides=["precision.layers.fc2={weights: fp32, activations: fp32}"])
    network = plan_network(TWO, scenario)
    assert network.tensor_bytes["fc1"] == 256
    assert network.layers[1].operands[0].size_bytes == 256


def test_scratchpad_plan_of_two_layers_by_hand() -> None:
    """8 KiB: fc1's smallest buffers (2 x 64 x 32 tiles: 2 x (128 + 2048) + 64 x 5 B = 4,672)
    and fc2's (2 x 32 x 16: 2 x (64 + 512) + 32 x 5 = 1,312) never live together, both at 0;
    fc1's 68 B tensor, alive over both layers, goes above the larger, at 4,672."""
    network = plan_network(TWO, load_scenario(overrides=["sram.capacity=8 KiB",
                                                         "sram.mode=scratchpad"]))  # fmt: skip
    arena = network.arena
    assert arena.offsets == {"fc1#buffers": 0, "fc2#buffers": 0, "fc1": 4672}
    assert (arena.spilled, arena.peak_bytes, arena.arena_bytes) == ((), 4740, 4740)
    assert network.occupancy_bytes == (68 + 4672, 68 + 1312)
    assert [p.footprint_bytes for p in network.plans] == [4672, 1312]
    assert network.summary() == {
        "mode": "scratchpad", "capacity_bytes": 8192, "peak_bytes": 4740,
        "tensor_arena_bytes": 4740, "resident_tensors": 1, "spilled_tensors": [],
    }  # fmt: skip
    assert [o.on_chip for o in network.layers[1].operands] == [True]
    assert network.layers[0].output_on_chip and not network.layers[1].output_on_chip
    with pytest.raises(CapacityError) as info:
        plan_network(TWO, load_scenario(overrides=["sram.capacity=4 KiB", "sram.mode=scratchpad"]))
    assert str(info.value) == (  # the tiler refuses first: 4,672 B > 4 KiB
        "layer 'fc1': no tile fits the 4096 B SRAM: the smallest tile needs 4672 B (GEMM 2x64x32)"
    )


# --- cycle engine ----------------------------------------------------------------------------


def test_per_kind_bytes_and_residency_figures_from_the_path_counters() -> None:
    c = PathCounters(hits_by_kind=[6, 0], misses_by_kind=[2, 5],
                     dma_read_bytes_by_kind=[1000, 640], dram_read_bytes_by_kind=[384, 640],
                     dma_write_bytes=300, output_write_bytes=256, spill_write_bytes=128,
                     sram_fill_bytes=1024, sram_store_bytes=44, dropped_dirty_bytes=64)  # fmt: skip
    assert _moved_by_kind(c) == {"input_read": 384, "weight_read": 640, "output_write": 256,
                                 "spill_write": 128}  # fmt: skip
    assert _residency_extra(c) == {
        "activation_read_bytes": 1000, "activation_onchip_bytes": 1000 - 384,
        "activation_hit_rate": 6 / 8, "weight_hit_rate": 0.0,
        "onchip_store_bytes": 44, "dropped_dirty_bytes": 64,
    }  # fmt: skip
    # more fetched than asked (whole lines): no negative on-chip bytes; no accesses: no rate
    fetched = PathCounters(dma_read_bytes_by_kind=[10, 0], dram_read_bytes_by_kind=[64, 0])
    extra = _residency_extra(fetched)
    assert extra["activation_onchip_bytes"] == 0
    assert extra["activation_hit_rate"] is None and extra["weight_hit_rate"] is None
    later = PathCounters(hits_by_kind=[7, 1], dma_write_bytes=301, output_write_bytes=300)
    diff = later.minus(PathCounters(hits_by_kind=[2, 1], dma_write_bytes=1, output_write_bytes=0))
    assert (diff.hits_by_kind, diff.dma_write_bytes, diff.output_write_bytes) == ([5, 0], 300, 300)
    assert (c.hits, c.misses, c.dram_read_bytes, c.dram_write_bytes) == (6, 7, 1024, 384)


def test_timeline_occupancy_and_dram_summary_columns() -> None:
    log = SimpleNamespace(start=[0, 2000], end=[1500, 4000], read_bytes=[64, 0],
                          write_bytes=[0, 128])  # fmt: skip
    path = SimpleNamespace(log=log)
    assert _timeline(path, 1e9, ["a", "b"]) == {
        "start_s": [0.0, 2e-6], "end_s": [1.5e-6, 4e-6], "read_bytes": [64, 0],
        "write_bytes": [0, 128], "layer": ["a", "b"],
    }  # fmt: skip
    assert _occupancy_columns([(1000, 64, 32), (3000, 0, 128)], 2e9) == {
        "end_s": [5e-7, 1.5e-6], "activation_bytes": [64, 0], "other_bytes": [32, 128]}  # fmt: skip
    total = SimpleNamespace(
        read_latency_mean_ns=50.0, read_latency_p50_ns=40.0, read_latency_p95_ns=90.0,
        read_latency_p99_ns=120.0, read_latency_max_ns=200.0, row_hits=7, row_misses=3,
        row_conflicts=2, bus_utilization=0.25, refresh_ns=30.0, power_down_ns=4.0,
        self_refresh_ns=60.0, command_counts={"ACT": 5})  # fmt: skip
    summary = _dram_summary(SimpleNamespace(total=total))
    assert summary["read_latency_ns"] == {"mean": 50.0, "p50": 40.0, "p95": 90.0, "p99": 120.0,
                                          "max": 200.0}  # fmt: skip
    assert (summary["row_hits"], summary["row_misses"], summary["row_conflicts"]) == (7, 3, 2)
    assert (summary["bus_utilization"], summary["refresh_ns"]) == (0.25, 30.0)
    assert (summary["power_down_ns"], summary["self_refresh_ns"]) == (4.0, 60.0)
    assert summary["command_counts"] == {"ACT": 5}


def test_the_work_bound_names_the_largest_layer_and_allows_exactly_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    workload = SimpleNamespace(name="w", layers=[SimpleNamespace(name=n) for n in "abc"])
    network = SimpleNamespace(plans=["a", "b", "c"])
    counts = {"a": 10, "b": 30, "c": 5}
    monkeypatch.setattr(cycle, "step_count", counts.__getitem__)
    monkeypatch.setattr(cycle, "MAX_TILE_STEPS", 45)
    cycle._check_work(workload, network)  # 45 steps: exactly the bound, allowed
    monkeypatch.setattr(cycle, "MAX_TILE_STEPS", 44)
    with pytest.raises(WorkloadError) as info:
        cycle._check_work(workload, network)
    assert str(info.value) == (
        "w: cycle fidelity would simulate 45 tile steps (layer 'b' alone 30), over the 44 a run "
        "is bounded to; use --fidelity analytic for this workload, or a larger SRAM (larger "
        "tiles)"
    )


def test_a_vector_layer_reading_everything_from_dram_has_no_analytic_hits() -> None:
    # the vector unit reads each input byte once, and all of them come from DRAM: the SRAM
    # line reads are all fills, none a hit
    scenario = load_scenario()
    plan = plan_layer(Softmax("sm", rows=4, length=50), scenario)
    stored = LayerResidency((Operand(None, 200, plan.input.total, False),), False, ())
    r = analytic_layer(plan, scenario, {}, stored, SramMode.CACHE)
    assert plan.input.total == 204 and r.cache_misses == 4  # ceil(204 / 64)
    assert r.cache_hits == 0


# --- quality ---------------------------------------------------------------------------------


def test_an_output_is_priced_at_its_first_readers_input_toggle_rate() -> None:
    scenario = load_scenario(overrides=["dram.io_energy=data"])
    first, second = network_quality(TWO, scenario)
    for q in (first, second):
        assert 0.0 < q["input_io_toggles_per_bit"] < 1.0 and q["weight_io_toggles_per_bit"] > 0.0
        assert 0.0 <= q["input_io_ones_per_bit"] <= 1.0
    # fc1's output is fc2's input; fc2's output has no reader: its own input's rate
    assert first["output_io_toggles_per_bit"] == second["input_io_toggles_per_bit"]
    assert second["output_io_toggles_per_bit"] == second["input_io_toggles_per_bit"]
    assert first["input_io_toggles_per_bit"] != second["input_io_toggles_per_bit"]
    flat = network_quality(TWO, load_scenario(), measure=False)
    assert flat == [{"weight_precision": "int8", "activation_precision": "int8"}] * 2


def test_cache_path_loads_stores_and_drops_by_hand() -> None:
    path = MemoryPath(load_scenario())  # 4 MiB, 64 B lines, LPDDR5 bursts of 32 B
    assert path.fill_bytes == 64
    part = LoadPart(np.array([0, 4096]), np.array([100, 64]), 0)  # lines 0, 64 and 4096
    first = path.load([LoadPart(np.zeros(0, np.int64), np.zeros(0, np.int64), 1), part], 10)
    c = path.counters
    assert (c.hits_by_kind, c.misses_by_kind, c.dma_read_bytes_by_kind) == ([0, 0], [3, 0],
                                                                            [164, 0])  # fmt: skip
    assert (c.dram_read_bytes_by_kind, c.sram_fill_bytes) == ([192, 0], 192)
    assert first.ticket >= 0 and path.ready(first) > 10
    again = path.load([part._replace(kind=1)], 20)  # all three lines now hit, as weights
    assert again.ticket == -1 and (c.hits_by_kind, c.misses_by_kind) == ([0, 3], [3, 0])
    assert sorted(path.resident_lines().tolist()) == [0, 64, 4096]
    # an output nobody reads again goes to DRAM; one a later layer reads stays in the SRAM
    out = path.store(np.array([8192]), np.array([96]), 30, on_chip=False)
    assert out.ticket >= 0 and (c.dma_write_bytes, c.output_write_bytes) == (96, 96)
    kept = path.store(np.array([12288]), np.array([128]), 40, on_chip=True)
    assert kept.ticket == -1 and (c.sram_store_bytes, c.dma_write_bytes) == (128, 224)
    assert sorted(path.resident_lines().tolist()) == [0, 64, 4096, 12288, 12352]
    path.drop(12288, 128)  # dead: two dirty lines leave without write-back
    assert c.dropped_dirty_bytes == 128 and c.spill_write_bytes == 0
    assert sorted(path.resident_lines().tolist()) == [0, 64, 4096]
    path.settle()
    assert path.log.read_bytes == [192, 0] and path.log.write_bytes == [0, 96]
    assert all(e >= s for s, e in zip(path.log.start, path.log.end, strict=True))


def test_run_analytic_reports_itself_and_runs_each_layer_at_its_own_view() -> None:
    scenario = load_scenario(overrides=["precision.layers.fc2.weights=int4"])
    run = run_analytic(scenario, TWO)
    assert (run.scenario, run.workload, run.fidelity) == (scenario.name, "two", "analytic")
    assert run.notes == (ANALYTIC_NOTE,)
    assert run.dram_peak_gbps == pytest.approx(51.2, rel=1e-12)  # 6400 MT/s x 2 B x 4
    assert run.extra["sram"] == {"mode": "cache", "capacity_bytes": 4 * 1024 * 1024}
    # fc1 reads 32 x 64 INT8 weights (2,048 B), fc2 its own 16 x 32 at INT4 (256 B)
    fc1, fc2 = run.layers
    assert (fc1.extra["weight_read_bytes"], fc2.extra["weight_read_bytes"]) == (2048, 256)
    assert (fc1.extra["weight_precision"], fc2.extra["weight_precision"]) == ("int8", "int4")
    assert "weight_sqnr_db" in fc1.extra  # measured by default
    quick = run_analytic(scenario, TWO, measure_quality=False)
    assert "weight_sqnr_db" not in quick.layers[0].extra
    assert quick.layers[1].cycles == fc2.cycles
