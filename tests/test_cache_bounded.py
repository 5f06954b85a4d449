"""Bounded memory for huge cache traces (issue 18): the runner expands a trace in pieces and
the 3C classifier keeps streamed lines as ranges, and neither changes a count.

Before: one `LD 0x0 1073741824` (a 1 GiB request, 16.8M line accesses) took 2.3 GB in
`npusim cache`, three of them 3.3 GB without 3C; after, 141 MB for either (measured, README).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.cache import runner
from npusim.cache.classify import LineSet, MissClassifier
from npusim.cache.params import CacheParams
from npusim.cache.runner import run_trace, trace_chunks
from npusim.trace import Trace


def _trace(addr: list[int], size: list[int], writes: list[bool]) -> Trace:
    return Trace(np.array(addr, np.uint64), np.array(writes, bool), np.array(size, np.int64), None)


SIZES = [0, 1, 63, 64, 65, 200, 1000, 5000]
requests = st.lists(
    st.tuples(st.integers(0, 1 << 16), st.sampled_from(SIZES), st.booleans()),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(requests, st.integers(1, 40))
def test_pieces_keep_order_bytes_and_the_line_bound(reqs: list, chunk: int) -> None:
    """Every piece holds at most ``chunk`` line accesses (or one request of one line), the
    pieces' line accesses in order are the trace's, and their bytes add up to each kind's."""
    trace = _trace(*map(list, zip(*reqs, strict=True)))

    def lines_of(addr: np.ndarray, size: np.ndarray) -> list[int]:
        out: list[int] = []
        for a, s in zip(addr.tolist(), size.tolist(), strict=True):
            out += range(a // 64, (a + max(s, 1) - 1) // 64 + 1)
        return out

    pieces = list(trace_chunks(trace, 64, chunk))
    got: list[int] = []
    read = written = 0
    for addr, size, writes in pieces:
        piece_lines = lines_of(addr, size)
        assert len(piece_lines) <= chunk or (len(addr) == 1 and len(piece_lines) <= chunk)
        got += piece_lines
        read += int(size[~writes].sum())
        written += int(size[writes].sum())
    assert got == lines_of(trace.addr, trace.size_bytes)
    assert read == int(trace.size_bytes[~trace.is_write].sum())
    assert written == int(trace.size_bytes[trace.is_write].sum())


@settings(max_examples=40, deadline=None)
@given(requests, st.integers(1, 50), st.sampled_from(["write-back", "write-through"]))
def test_a_trace_run_in_pieces_counts_what_it_counts_in_one_go(
    reqs: list, chunk: int, write_policy: str
) -> None:
    trace = _trace(*map(list, zip(*reqs, strict=True)))
    params = CacheParams(capacity_bytes=4096, line_bytes=64, ways=4, write_policy=write_policy)
    whole = run_trace(trace, params).stats.to_dict()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(runner, "CHUNK_LINES", chunk)
        pieces = run_trace(trace, params).stats.to_dict()
    assert pieces == whole


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 200)),
        st.tuples(st.just("run"), st.integers(0, 200), st.integers(1, 30)),
        st.tuples(st.just("scatter"), st.lists(st.integers(0, 400), max_size=6, unique=True)),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(ops, st.lists(st.integers(0, 450), max_size=10))
def test_line_set_behaves_as_a_set(operations: list, probes: list[int]) -> None:
    """LineSet against Python's set: adds, blocks of new lines (a range or scattered),
    membership, disjointness and size."""
    lines, reference = LineSet(), set()
    for op in operations:
        if op[0] == "add":
            lines.add(op[1])
            reference.add(op[1])
        else:
            block = list(range(op[1], op[1] + op[2])) if op[0] == "run" else op[1]
            if block and lines.isdisjoint(block) and reference.isdisjoint(block):
                lines.update_new(block[::-1] if op[0] == "run" and len(block) % 2 else block)
                reference.update(block)
            assert lines.isdisjoint(block) == reference.isdisjoint(block)
        assert len(lines) == len(reference)
    for probe in probes:
        assert (probe in lines) == (probe in reference)
    assert lines.isdisjoint(probes) == reference.isdisjoint(probes)
    starts = lines.starts
    assert starts == sorted(starts)
    assert all(a < b for a, b in zip(lines.stops, starts[1:], strict=False))  # never touching


def test_a_streamed_block_is_one_range() -> None:
    """2**20 consecutive lines never seen: one range, no set entries; ranges that touch
    merge; a line inside a range is found without being stored."""
    classifier = MissClassifier(capacity_lines=64, write_allocate=True)
    block = list(range(1000, 1000 + (1 << 20)))
    assert classifier.classify(block, [False] * len(block), [True] * len(block), True) == (
        len(block), 0, 0,
    )  # fmt: skip
    held = classifier.allocated
    assert held.scattered == set() and (held.starts, held.stops) == ([1000], [1000 + (1 << 20)])
    held.update_new(list(range(10, 1000)))
    assert (held.starts, held.stops) == ([10], [1000 + (1 << 20)])
    assert 5000 in held and 9 not in held and len(held) == 990 + (1 << 20)


def test_disjointness_at_a_range_s_edges() -> None:
    held = LineSet()
    held.update_new(list(range(10, 20)))  # [10, 20)
    assert not held.isdisjoint([19, 25]) and held.isdisjoint([20, 25])
    assert not held.isdisjoint([5, 10]) and held.isdisjoint([3, 9])
    assert not held.isdisjoint([25, 15, 30])  # scattered probes reaching into the range
    assert held.isdisjoint([5, 25, 30])  # around it, none inside


def test_ranges_that_touch_merge() -> None:
    """Ranges added next to each other become one: after one, before one, and bridging two
    (the third range added between the first two); a range apart stays apart."""
    held = LineSet()
    held.update_new(list(range(10, 20)))
    held.update_new(list(range(20, 30)))  # after [10, 20)
    assert (held.starts, held.stops) == ([10], [30])
    held.update_new(list(range(50, 60)))  # apart
    held.update_new(list(range(40, 50)))  # before [50, 60)
    assert (held.starts, held.stops) == ([10, 40], [30, 60])
    held.update_new(list(range(100, 110)))
    held.update_new(list(range(30, 40)))  # bridges [10, 30) and [40, 60)
    assert (held.starts, held.stops) == ([10, 100], [60, 110])
    assert len(held) == 60 and 59 in held and 60 not in held and 100 in held
