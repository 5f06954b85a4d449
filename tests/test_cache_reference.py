"""The cache model agrees exactly with an independent per-set OrderedDict LRU reference."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import CacheParams


def reference_lru(lines, writes, sets: int, ways: int, write_back: bool) -> dict[str, int]:
    """Textbook per-set LRU: an OrderedDict per set, most recent at the end."""
    table = [OrderedDict() for _ in range(sets)]
    counts = dict(hits=0, misses=0, fills=0, evictions=0, writebacks=0)
    for line, write in zip(lines, writes, strict=True):
        entry = table[line % sets]
        if line in entry:
            counts["hits"] += 1
            entry.move_to_end(line)
            entry[line] = entry[line] or (write and write_back)
            continue
        counts["misses"] += 1
        if write and not write_back:
            continue  # no-write-allocate
        if len(entry) == ways:
            _, dirty = entry.popitem(last=False)
            counts["evictions"] += 1
            counts["writebacks"] += dirty
        entry[line] = write and write_back
        counts["fills"] += 1
    return counts


GEOMETRIES = [
    # (capacity_bytes, line_bytes, ways)
    (1024, 64, 1),  # direct-mapped, 16 sets
    (2048, 32, 4),
    (4096, 64, 8),
    (4096, 64, 64),  # fully associative: one set
    (16384, 128, 2),
]


@pytest.mark.parametrize("policy", ["write-back", "write-through"])
@pytest.mark.parametrize(("capacity", "line", "ways"), GEOMETRIES)
def test_matches_reference_on_random_trace(capacity, line, ways, policy):
    rng = np.random.default_rng(capacity + ways)
    n = 3000
    # A skewed footprint about 3x the capacity gives a mix of hits, conflicts and evictions.
    lines = (rng.zipf(1.3, n) + rng.integers(0, 3 * capacity // line, n)) % (4 * capacity // line)
    writes = rng.random(n) < 0.3
    params = CacheParams(capacity_bytes=capacity, line_bytes=line, ways=ways, write_policy=policy)
    cache = SetAssociativeCache(params)
    offsets = rng.integers(0, line, n)  # any byte inside the line maps to the same line
    cache.access_trace(lines * line + offsets, np.zeros(n, dtype=np.int64), writes)
    expected = reference_lru(lines.tolist(), writes.tolist(), params.sets, ways,
                             policy == "write-back")  # fmt: skip
    stats = cache.stats
    assert stats.hits == expected["hits"]
    assert stats.misses == expected["misses"]
    assert stats.fills == expected["fills"]
    assert stats.evictions == expected["evictions"]
    assert stats.dirty_writebacks == expected["writebacks"]
    assert 0 < stats.hits < n


@pytest.mark.parametrize("policy", ["write-back", "write-through"])
def test_block_accesses_match_reference(policy):
    """Blocks spanning several lines (and more lines than sets) equal their line sequence."""
    rng = np.random.default_rng(7)
    params = CacheParams(capacity_bytes=8192, line_bytes=64, ways=4, write_policy=policy)
    cache = SetAssociativeCache(params)
    lines, writes = [], []
    for _ in range(300):
        addr = int(rng.integers(0, 40000))
        size = int(rng.integers(1, 3000))
        write = bool(rng.random() < 0.4)
        cache.access_block(addr, size, write, tag="weights" if write else "inputs")
        span = range(addr // 64, (addr + size - 1) // 64 + 1)
        lines += list(span)
        writes += [write] * len(span)
    expected = reference_lru(lines, writes, params.sets, 4, policy == "write-back")
    assert cache.stats.hits == expected["hits"]
    assert cache.stats.misses == expected["misses"]
    assert cache.stats.dirty_writebacks == expected["writebacks"]
    per_tag = cache.stats.per_tag
    assert per_tag["weights"].accesses + per_tag["inputs"].accesses == len(lines)


def reference_3c(lines, writes, sets: int, ways: int, write_back: bool) -> tuple[int, int, int]:
    """3C by definition: per-set LRU misses checked against a fully associative LRU of
    sets x ways lines and an infinite cache, all with the same allocation policy."""
    table = [OrderedDict() for _ in range(sets)]
    full = OrderedDict()
    ever = set()
    counts = [0, 0, 0]
    for line, write in zip(lines, writes, strict=True):
        allocate = write_back or not write
        entry = table[line % sets]
        missed = line not in entry
        if not missed:
            entry.move_to_end(line)
        elif allocate:
            if len(entry) == ways:
                entry.popitem(last=False)
            entry[line] = None
        fully_hit = line in full
        if fully_hit:
            full.move_to_end(line)
        elif allocate:
            full[line] = None
            if len(full) > sets * ways:
                full.popitem(last=False)
        if missed:
            counts[0 if line not in ever else 2 if fully_hit else 1] += 1
        if allocate:
            ever.add(line)
    return tuple(counts)


@pytest.mark.parametrize("policy", ["write-back", "write-through"])
@pytest.mark.parametrize("ways", [1, 4])
def test_3c_split_matches_definition(policy, ways):
    """Blocks re-reading, streaming and conflicting exercise every classifier path."""
    rng = np.random.default_rng(11 + ways)
    params = CacheParams(capacity_bytes=4096, ways=ways, write_policy=policy)
    cache = SetAssociativeCache(params)
    lines, writes = [], []
    for _ in range(400):
        base = int(rng.choice([0, 2048, 4096, 65536, int(rng.integers(0, 30000))]))
        size = int(rng.integers(1, 1500))
        write = bool(rng.random() < 0.3)
        cache.access_block(base, size, write)
        span = list(range(base // 64, (base + size - 1) // 64 + 1))
        lines += span
        writes += [write] * len(span)
    expected = reference_3c(lines, writes, params.sets, ways, policy == "write-back")
    s = cache.stats
    assert (s.compulsory_misses, s.capacity_misses, s.conflict_misses) == expected
    assert all(expected)  # each kind occurs, so the test can tell them apart


def test_invalidate_drops_lines_without_write_back() -> None:
    """A dead tensor's dirty lines leave the cache and are never written back."""
    cache = SetAssociativeCache(CacheParams(capacity_bytes=1024, line_bytes=64, ways=2))
    cache.access_block(0, 256, True)  # 4 dirty lines
    cache.access_block(4096, 64, False)  # one clean line elsewhere
    assert cache.invalidate(64, 128) == (2, 2)  # lines 1 and 2, both dirty
    assert cache.invalidate(4096, 64) == (1, 0)
    # refilling every set evicts what is left: only lines 0 and 3 are written back
    outcome = cache.access_block(8192, 1024, False)
    assert sorted(outcome.writeback_addrs.tolist()) == [0, 192]
    assert cache.access_block(64, 64, False).misses == 1  # dropped lines are gone


def test_invalidate_of_a_range_larger_than_the_cache_scans_the_tags() -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=1024, line_bytes=64, ways=4))
    cache.access_block(0, 1024, True)
    assert cache.invalidate(0, 1 << 20) == (16, 16)
    assert not (cache.tags >= 0).any()


def test_whole_line_writes_allocate_without_a_fill() -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=1024, line_bytes=64, ways=2))
    addrs, sizes = np.array([0, 128]), np.array([128, 64])
    outcome = cache.access_trace(addrs, sizes, np.ones(2, bool), whole_line_writes=True)
    assert outcome.misses == 3 and outcome.fetch_addrs.size == 0
    plain = SetAssociativeCache(CacheParams(capacity_bytes=1024, line_bytes=64, ways=2))
    assert plain.access_trace(addrs, sizes, np.ones(2, bool)).fetch_addrs.size == 3
    assert cache.access_block(0, 192, False).hits == 3  # the written lines are resident
