"""Closed-form hit rates: reuse, the LRU cliff, replacement orders, the primer's 4 MiB example."""

from __future__ import annotations

import numpy as np
import pytest

from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import CacheParams
from npusim.precision import PRECISIONS

KIB = 1024
MIB = 1024 * KIB


def sweep(cache: SetAssociativeCache, nbytes: int, passes: int, is_write: bool = False) -> list:
    """Read (or write) ``[0, nbytes)`` ``passes`` times; return each pass's hit count."""
    hits = []
    for _ in range(passes):
        hits.append(cache.access_block(0, nbytes, is_write).hits)
    return hits


def test_second_pass_over_fitting_working_set_hits_everything():
    cache = SetAssociativeCache(CacheParams(capacity_bytes=64 * KIB, ways=4))
    assert sweep(cache, 64 * KIB, 2) == [0, 1024]
    assert cache.stats.compulsory_misses == 1024
    assert cache.stats.hit_rate == pytest.approx(0.5)


@pytest.mark.parametrize("replacement", ["lru", "fifo"])
def test_lru_cliff_one_line_more_than_fully_associative_capacity(replacement):
    lines = 64
    params = CacheParams(capacity_bytes=lines * 64, ways=lines, replacement=replacement)
    cache = SetAssociativeCache(params)
    # Cyclic sweep over lines + 1 lines, accessed one line per call.
    for _ in range(5):
        for line in range(lines + 1):
            cache.access_block(line * 64, 64, False)
    assert cache.stats.hits == 0
    assert cache.stats.compulsory_misses == lines + 1
    assert cache.stats.capacity_misses == 4 * (lines + 1)
    assert cache.stats.conflict_misses == 0


def test_random_replacement_escapes_the_cliff():
    lines = 64
    params = CacheParams(capacity_bytes=lines * 64, ways=lines, replacement="random", seed=3)
    cache = SetAssociativeCache(params)
    for _ in range(20):
        for line in range(lines + 1):
            cache.access_block(line * 64, 64, False)
    # Each miss evicts a uniformly random line, so many of the 65 lines survive a sweep.
    assert cache.stats.hit_rate > 0.5


def test_direct_mapped_ping_pong_is_all_conflict_misses():
    params = CacheParams(capacity_bytes=4 * KIB, line_bytes=64, ways=1)
    cache = SetAssociativeCache(params)
    for _ in range(10):
        cache.access_block(0, 8, False)
        cache.access_block(4 * KIB, 8, False)  # same set, other tag
    s = cache.stats
    assert (s.hits, s.misses) == (0, 20)
    assert (s.compulsory_misses, s.capacity_misses, s.conflict_misses) == (2, 0, 18)


@pytest.mark.parametrize(
    ("replacement", "b_hits"),
    [("lru", False), ("fifo", True), ("plru", True)],
)
def test_replacement_orders_in_one_four_way_set(replacement, b_hits):
    # One set of 4 ways. A B C D, re-touch A, then E evicts: LRU -> B, FIFO -> A,
    # tree-PLRU -> C (after D the root points left; touching A points it right, toward C/D,
    # and the right node points away from D, to C).
    cache = SetAssociativeCache(CacheParams(capacity_bytes=256, ways=4, replacement=replacement))
    for name in "ABCDAE":
        cache.access_block("ABCDE".index(name) * 64, 64, False)
    assert (cache.access_block(64, 64, False).hits == 1) is b_hits
    # Only FIFO evicted A.
    assert (cache.access_block(0, 64, False).hits == 1) is (replacement != "fifo")


def test_write_back_writes_dirty_lines_once_on_eviction():
    cache = SetAssociativeCache(CacheParams(capacity_bytes=16 * KIB, ways=4))
    cache.access_block(0, 16 * KIB, True)  # dirty the whole cache (256 lines)
    cache.access_block(0, 16 * KIB, True)  # hits: still one dirty copy per line
    out = cache.access_block(16 * KIB, 16 * KIB, False)  # evict all of them
    assert out.writeback_addrs.shape == (256,)
    assert sorted(out.writeback_addrs.tolist()) == list(range(0, 16 * KIB, 64))
    assert cache.stats.next_level_write_bytes == 16 * KIB
    assert cache.stats.next_level_read_bytes == 32 * KIB  # write-allocate fetches too


def test_write_through_forwards_every_written_byte_and_never_allocates_on_write():
    params = CacheParams(capacity_bytes=16 * KIB, ways=4, write_policy="write-through")
    cache = SetAssociativeCache(params)
    out = cache.access_block(100, 1000, True)  # bytes 100..1099: lines 1..17
    assert (out.misses, out.fetch_addrs.size, out.write_through_bytes) == (17, 0, 1000)
    assert cache.access_block(100, 1000, True).hits == 0  # no-write-allocate
    cache.access_block(0, 2 * KIB, False)
    out = cache.access_block(100, 1000, True)
    assert out.hits == 17 and out.writeback_addrs.size == 0
    assert out.write_through_addrs.tolist() == list(range(64, 18 * 64, 64))
    assert cache.stats.dirty_writebacks == 0
    assert cache.stats.next_level_write_bytes == 3000


# The primer: a 4 MB SRAM holds 1M FP32 values or 4M INT8 values, but not 4M FP32 values.
@pytest.mark.parametrize(
    ("values", "precision", "fits"),
    [(2**20, "fp32", True), (4 * 2**20, "int8", True), (4 * 2**20, "fp32", False)],
)
def test_primer_4mib_working_sets(values, precision, fits):
    nbytes = PRECISIONS[precision].payload_bytes(values)
    cache = SetAssociativeCache(CacheParams(capacity_bytes=4 * MIB), classify_misses=False)
    first, second = sweep(cache, nbytes, 2)
    lines = nbytes // 64
    assert first == 0
    assert second == (lines if fits else 0)  # 16 MiB in 4 MiB LRU: every set cliffs
    saved = cache.stats.requested_read_bytes - cache.stats.next_level_read_bytes
    assert saved == (nbytes if fits else 0)


def test_block_larger_than_the_number_of_sets_is_split_correctly():
    # 1 KiB, 2-way, 8 sets of 64 B lines: a 40-line block wraps the sets five times.
    cache = SetAssociativeCache(CacheParams(capacity_bytes=1 * KIB, ways=2))
    out = cache.access_block(0, 40 * 64, False)
    assert (out.hits, out.misses, cache.stats.evictions) == (0, 40, 24)
    assert np.array_equal(out.fetch_addrs, np.arange(40, dtype=np.uint64) * 64)
    assert cache.access_block(24 * 64, 16 * 64, False).hits == 16
