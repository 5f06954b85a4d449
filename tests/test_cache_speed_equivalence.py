"""The small-request fast paths give exactly the results of the general vectorized path.

One cache runs with the default ``SCALAR_MAX_LINES`` (requests of a few lines take the per-line
path, the small-request finish and the single-line 3C walk); a twin runs every call with
``SCALAR_MAX_LINES = 0``, which forces the vectorized path. After every call the two
outcomes (every field; arrays by dtype and value) and the two stats snapshots must be equal.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.cache import model
from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import REPLACEMENT_NAMES, CacheParams
from npusim.cache.stats import BlockOutcome

LINE_BYTES = 32
geometries = st.tuples(
    st.sampled_from([1, 2, 4, 8, 16, 32]),  # ways (8 or more: rows read as 64-bit words)
    st.sampled_from([1, 2, 8, 16]),  # sets
    st.sampled_from(REPLACEMENT_NAMES),
    st.sampled_from(["write-back", "write-through"]),
    st.integers(0, 2**16),  # seed of the random policy
    st.booleans(),  # classify misses
)
# Addresses over 16 KiB (up to 512 lines, several times any capacity here) and sizes from a
# byte to 40 lines: mostly small requests with some larger than the cache.
small_sizes = st.integers(1, 4 * LINE_BYTES)
sizes = st.one_of(small_sizes, small_sizes, st.integers(1, 40 * LINE_BYTES))
requests = st.tuples(st.integers(0, 16383), sizes, st.booleans())
tags = st.sampled_from([None, "weights", "inputs"])
calls = st.lists(
    st.one_of(
        st.tuples(st.just("block"), requests, tags),
        st.tuples(st.just("trace"), st.lists(requests, min_size=1, max_size=6), tags),
        st.tuples(st.just("drop"), requests, tags),
    ),
    min_size=1,
    max_size=40,
)


def build(geometry) -> SetAssociativeCache:
    ways, sets, replacement, policy, seed, classify = geometry
    params = CacheParams(
        capacity_bytes=LINE_BYTES * ways * sets, line_bytes=LINE_BYTES, ways=ways,
        replacement=replacement, write_policy=policy, seed=seed,
    )  # fmt: skip
    return SetAssociativeCache(params, classify_misses=classify)


def issue(cache: SetAssociativeCache, call, scalar_max_lines: int) -> BlockOutcome:
    kind, args, tag = call
    original, model.SCALAR_MAX_LINES = model.SCALAR_MAX_LINES, scalar_max_lines
    try:
        if kind == "block":
            addr, size, write = args
            return cache.access_block(addr, size, write, tag=tag)
        if kind == "drop":  # a dead tensor's lines leave: ways become invalid again
            addr, size, _ = args
            cache.invalidate(addr, size)
            return cache.access_block(addr, 1, False, tag=tag)
        addr = np.array([a for a, _, _ in args], dtype=np.int64)
        size = np.array([s if s % 3 else 0 for _, s, _ in args], dtype=np.int64)  # 0 = 1 line
        write = np.array([w for _, _, w in args], dtype=bool)
        return cache.access_trace(addr, size, write, tag=tag)
    finally:
        model.SCALAR_MAX_LINES = original


def assert_same_outcome(fast: BlockOutcome, general: BlockOutcome) -> None:
    assert type(fast) is type(general) is BlockOutcome
    for name, a, b in zip(BlockOutcome._fields, fast, general, strict=True):
        if isinstance(b, np.ndarray):
            assert isinstance(a, np.ndarray), name
            assert a.dtype == b.dtype == np.uint64, name
            assert a.tolist() == b.tolist(), name
        else:
            assert type(a) is type(b) and a == b, name


@settings(max_examples=150, deadline=None)
@given(geometries, calls)
def test_fast_paths_equal_the_vectorized_path(geometry, call_list):
    fast, general = build(geometry), build(geometry)
    for call in call_list:
        assert_same_outcome(issue(fast, call, model.SCALAR_MAX_LINES), issue(general, call, 0))
        assert fast.stats.to_dict() == general.stats.to_dict()
        for cache in (fast, general):  # the count behind the all-ways-valid shortcut
            assert cache.valid_lines == np.count_nonzero(cache.tags >= 0)
    assert np.array_equal(fast.tags, general.tags)
    assert np.array_equal(fast.dirty, general.dirty)


def test_fast_path_is_taken_for_small_requests():
    """The comparison above is meaningful only if the default threshold sends a few-line
    request down the per-line path: that path returns Python ints before the finish."""
    cache = build((4, 16, "lru", "write-back", 0, True))
    run = cache._scalar([1, 2], [False, True])
    assert isinstance(run[3], list)
    assert model.SCALAR_MAX_LINES >= 16  # a 1 KiB block of 64 B lines is a small request
