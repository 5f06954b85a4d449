"""Invariants that hold for any trace and any valid geometry (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.cache import model
from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import REPLACEMENT_NAMES, CacheParams

geometries = st.tuples(
    st.sampled_from([16, 32, 64, 128]),  # line bytes
    st.sampled_from([1, 2, 4, 8]),  # ways
    st.sampled_from([1, 2, 4, 16]),  # sets
    st.sampled_from(REPLACEMENT_NAMES),
    st.sampled_from(["write-back", "write-through"]),
    st.integers(0, 2**16),  # seed
)
requests = st.lists(
    st.tuples(st.integers(0, 8191), st.integers(1, 700), st.booleans()), min_size=1, max_size=60
)


def build(geometry) -> SetAssociativeCache:
    line, ways, sets, replacement, policy, seed = geometry
    params = CacheParams(
        capacity_bytes=line * ways * sets, line_bytes=line, ways=ways,
        replacement=replacement, write_policy=policy, seed=seed,
    )  # fmt: skip
    return SetAssociativeCache(params)


def run_blocks(cache: SetAssociativeCache, reqs) -> list:
    return [cache.access_block(a, s, w, tag="outputs" if w else "inputs") for a, s, w in reqs]


@settings(max_examples=60, deadline=None)
@given(geometries, requests)
def test_counts_are_consistent(geometry, reqs):
    cache = build(geometry)
    outcomes = run_blocks(cache, reqs)
    s = cache.stats
    assert s.hits + s.misses == s.accesses == sum(o.lines for o in outcomes)
    assert s.compulsory_misses + s.capacity_misses + s.conflict_misses == s.misses
    assert 0.0 <= s.hit_rate <= 1.0
    assert s.read_accesses + s.write_accesses == s.accesses
    assert s.evictions <= s.fills and s.dirty_writebacks <= s.evictions
    # A dirty line needs a write since its fill: write-backs never exceed write accesses.
    assert s.dirty_writebacks <= s.write_accesses
    assert s.next_level_read_bytes == s.fills * cache.params.line_bytes
    assert s.requested_read_bytes + s.requested_write_bytes == sum(size for _, size, _ in reqs)
    assert sum(t.accesses for t in s.per_tag.values()) == s.accesses
    if not cache.write_back:
        assert s.dirty_writebacks == 0
        assert s.next_level_write_bytes == s.requested_write_bytes


@settings(max_examples=40, deadline=None)
@given(geometries, requests)
def test_line_aligned_write_backs_never_exceed_bytes_written(geometry, reqs):
    cache = build(geometry)
    line = cache.params.line_bytes
    aligned = [(a // line * line, -(-s // line) * line, w) for a, s, w in reqs]
    run_blocks(cache, aligned)
    s = cache.stats
    assert s.next_level_write_bytes <= s.requested_write_bytes


@settings(max_examples=40, deadline=None)
@given(geometries, requests)
def test_deterministic_and_block_equals_its_line_trace(geometry, reqs):
    first, second, traced = build(geometry), build(geometry), build(geometry)
    run_blocks(first, reqs)
    run_blocks(second, reqs)
    a, b = first.stats.to_dict(), second.stats.to_dict()
    assert a == b
    for addr, size, write in reqs:  # the same requests as a trace, one call per request
        traced.access_trace(np.array([addr]), np.array([size]), np.array([write]))
    t = traced.stats
    assert (t.hits, t.misses, t.dirty_writebacks, t.fills) == (
        first.stats.hits, first.stats.misses, first.stats.dirty_writebacks, first.stats.fills
    )  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(geometries, requests)
def test_one_trace_call_equals_many(geometry, reqs):
    """The conflict-free batching of a whole trace equals feeding it request by request."""
    whole, single = build(geometry), build(geometry)
    addr = np.array([a for a, _, _ in reqs])
    size = np.array([s for _, s, _ in reqs])
    write = np.array([w for _, _, w in reqs])
    whole.access_trace(addr, size, write, tag="weights")
    for i in range(len(reqs)):
        single.access_trace(addr[i : i + 1], size[i : i + 1], write[i : i + 1], tag="weights")
    assert whole.stats.to_dict() == single.stats.to_dict()
    assert whole.stats.per_tag["weights"].accesses == whole.stats.accesses


@settings(max_examples=30, deadline=None)
@given(geometries, requests)
def test_per_line_and_vectorized_block_paths_agree(geometry, reqs):
    """Small blocks take a per-line path; forcing either path gives identical results."""
    outcomes = []
    for threshold in (0, 10**9):
        cache = build(geometry)
        original, model.SCALAR_MAX_LINES = model.SCALAR_MAX_LINES, threshold
        try:
            results = run_blocks(cache, reqs)
        finally:
            model.SCALAR_MAX_LINES = original
        summary = [(o.hits, o.fetch_addrs.tolist(), o.writeback_addrs.tolist()) for o in results]
        outcomes.append((summary, cache.stats.to_dict()))
    assert outcomes[0] == outcomes[1]
