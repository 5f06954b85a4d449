"""Timed model: hit latency, bank ports, MSHR merging and stalls against a fixed-latency memory."""

from __future__ import annotations

import numpy as np

from npusim.cache.params import CacheParams
from npusim.cache.timed import FixedLatencyMemory, TimedCache

LATENCY = 100


def make(**kwargs) -> tuple[TimedCache, FixedLatencyMemory]:
    memory = FixedLatencyMemory(LATENCY)
    params = CacheParams(capacity_bytes=4096, ways=4, hit_latency_cycles=3, **kwargs)
    return TimedCache(params, memory), memory


def test_miss_then_hit_latencies():
    cache, memory = make(port_bytes=16)  # a 64 B line occupies its bank 4 cycles
    assert cache.access(0, False, 0) == (0, 3 + LATENCY)  # read sent after the lookup
    assert memory.reads == [(0, 3)]
    assert cache.access(0, False, 200) == (200, 200 + 3 + 4)
    # Two hits to the same bank back to back: the second waits for the port.
    cache.access(0, False, 300)
    assert cache.access(0, False, 301) == (301, 304 + 3 + 4)


def test_secondary_miss_waits_for_the_fill_without_a_second_read():
    cache, memory = make()
    _, first_done = cache.access(0, False, 0)
    issue, done = cache.access(8, False, 1)  # same line, still in flight
    assert (issue, done) == (1, first_done)
    assert len(memory.reads) == 1 and cache.mshr_merges == 1


def test_full_mshr_file_stalls_the_requester():
    cache, memory = make(mshrs=2)
    result = cache.run(np.array([0, 64, 128, 192]), np.zeros(4, dtype=bool))
    # Misses issue at cycles 0 and 1; the third waits for the first fill (cycle 103).
    assert result.issue_cycle.tolist() == [0, 1, 103, 104]
    assert result.completion_cycle.tolist() == [103, 104, 206, 207]
    assert result.mshr_stall_cycles == 103 - 2
    assert [cycle for _, cycle in memory.reads] == [3, 4, 106, 107]


def test_more_mshrs_overlap_more_misses():
    addrs = np.arange(0, 16 * 64, 64)
    totals = []
    for mshrs in (1, 4, 16):
        cache, _ = make(mshrs=mshrs)
        totals.append(cache.run(addrs, np.zeros(16, dtype=bool)).total_cycles)
    assert totals[0] > totals[1] > totals[2]
    assert totals[2] == 15 + 3 + LATENCY  # one miss issued per cycle, all overlapped


def test_dirty_evictions_are_posted_to_the_next_level():
    cache, memory = make()  # 16 sets x 4 ways of 64 B
    for way in range(5):  # five lines of set 0: the fifth evicts the first, dirty
        cache.access(way * 1024, True, way * 1000)
    assert memory.writes == [(0, 4000 + 3)]


def test_arrival_cycles_and_functional_counts_match_untimed_model():
    cache, memory = make(write_policy="wt")
    rng = np.random.default_rng(5)
    addr = rng.integers(0, 16384, 200)
    write = rng.random(200) < 0.5
    result = cache.run(addr, write, np.arange(200) * 2)
    assert (np.diff(result.issue_cycle) >= 1).all()
    assert (result.completion_cycle >= result.issue_cycle + 3).all()
    s = cache.cache.stats
    assert len(memory.reads) == s.fills and len(memory.writes) == s.write_accesses
