"""The scratchpad allocator: lifetime-based greedy-by-size placement, worked by hand."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.engine.allocator import Block, plan_arena


def test_blocks_alive_together_never_overlap_and_dead_space_is_reused() -> None:
    # A [0,1] 100 B at 0 (largest first); B [1,2] overlaps A in time: the gap above A;
    # C [2,3] overlaps only B, so A's space (dead by then) is reused at offset 0.
    blocks = [Block("B", 60, 1, 2), Block("C", 50, 2, 3), Block("A", 100, 0, 1)]
    arena = plan_arena(blocks, 160)
    assert arena.offsets == {"A": 0, "B": 100, "C": 0}
    assert arena.spilled == ()
    assert arena.peak_bytes == 160  # position 1: A + B
    assert arena.arena_bytes == 160


def test_a_block_that_fits_no_gap_is_spilled() -> None:
    arena = plan_arena([Block("A", 100, 0, 3), Block("D", 80, 1, 2)], 160)
    assert arena.offsets == {"A": 0}
    assert arena.spilled == ("D",)


def test_best_fit_takes_the_smallest_gap_that_holds_the_block() -> None:
    # long1 [0,30) and long2 [70,80) live throughout; short [30,70) dies after position 0.
    # From position 1 the free gaps are [30,70) (40 B) and [80,100) (20 B): a 15 B block
    # takes the 20 B gap (best fit), where first fit would take offset 30.
    fixed = [Block("long1", 30, 0, 5), Block("short", 40, 0, 0), Block("long2", 10, 0, 5)]
    arena = plan_arena([Block("t", 15, 1, 2)], 100, fixed=fixed)
    assert [arena.offsets[n] for n in ("long1", "short", "long2")] == [0, 30, 70]
    assert arena.offsets["t"] == 80


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 200), st.integers(0, 10), st.integers(0, 5)),
        min_size=1,
        max_size=25,
    ),
    st.integers(1, 600),
)
def test_placed_blocks_fit_and_never_share_bytes_while_alive(raw: list, capacity: int) -> None:
    blocks = [Block(f"b{i}", size, first, first + span)
              for i, (size, first, span) in enumerate(raw)]  # fmt: skip
    arena = plan_arena(blocks, capacity)
    assert set(arena.offsets) | set(arena.spilled) == {b.name for b in blocks}
    placed = [b for b in blocks if b.name in arena.offsets]
    for b in placed:
        assert arena.offsets[b.name] >= 0 and arena.offsets[b.name] + b.size_bytes <= capacity
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            if a.first <= b.last and b.first <= a.last:
                a0, b0 = arena.offsets[a.name], arena.offsets[b.name]
                assert a0 + a.size_bytes <= b0 or b0 + b.size_bytes <= a0
    assert arena.peak_bytes <= capacity
