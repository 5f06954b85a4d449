"""Cache behaviour the other cache tests left unpinned, found by mutation testing (issue 18).

Each test here was written against a mutmut survivor in ``npusim/cache/`` and kills it; the
expected values are worked by hand in the test (or come from the cited energy table), not
copied from the model's output.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.cache import model, runs
from npusim.cache.energy import SramEnergyModel, check_energy_model, read_energy_pj
from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import CacheParams, check_params
from npusim.cache.runner import run_trace
from npusim.cache.stats import CacheStats, dynamic_energy_pj
from npusim.cache.timed import FixedLatencyMemory, TimedCache
from npusim.trace import Trace

KIB = 1024

# The public counter names of ``npusim cache --json`` and CacheStats, in declaration order.
COUNTERS = (
    "accesses", "read_accesses", "write_accesses", "hits", "misses", "compulsory_misses",
    "capacity_misses", "conflict_misses", "fills", "evictions", "dirty_writebacks",
    "requested_read_bytes", "requested_write_bytes", "next_level_read_bytes",
    "next_level_write_bytes",
)  # fmt: skip


# --- statistics ------------------------------------------------------------------------------


def numbered_stats(scale: int) -> CacheStats:
    """Counter ``i`` (0-based) holds ``scale * (i + 1)``: every counter differs."""
    return CacheStats(**{name: scale * (i + 1) for i, name in enumerate(COUNTERS)})


def test_add_sums_each_counter_into_its_own_field_and_leaves_per_tag_alone() -> None:
    total = numbered_stats(1)
    total.per_tag["weights"] = numbered_stats(7)
    other = numbered_stats(100)
    other.per_tag["inputs"] = numbered_stats(3)
    total.add(other)
    assert [getattr(total, name) for name in COUNTERS] == [101 * (i + 1) for i in range(15)]
    assert list(total.per_tag) == ["weights"]
    assert total.per_tag["weights"].accesses == 7


def test_add_counts_needs_one_count_per_counter() -> None:
    stats = CacheStats()
    with pytest.raises(ValueError):
        stats.add_counts([1] * (len(COUNTERS) - 1))
    with pytest.raises(ValueError):
        stats.add_counts([1] * (len(COUNTERS) + 1))


def test_copy_is_a_deep_snapshot() -> None:
    stats = numbered_stats(2)
    stats.per_tag["weights"] = numbered_stats(5)
    snapshot = stats.copy()
    assert snapshot is not stats
    assert [getattr(snapshot, n) for n in COUNTERS] == [2 * (i + 1) for i in range(15)]
    assert snapshot.per_tag["weights"].misses == 5 * 5
    stats.hits += 1000
    stats.per_tag["weights"].hits += 1000
    stats.per_tag["outputs"] = CacheStats()
    assert snapshot.hits == 2 * 4 and snapshot.per_tag["weights"].hits == 5 * 4
    assert list(snapshot.per_tag) == ["weights"]


def test_to_dict_holds_every_counter_the_hit_rate_and_the_tags() -> None:
    stats = CacheStats(accesses=8, hits=6, misses=2)
    stats.per_tag["inputs"] = CacheStats(accesses=4, hits=1, misses=3)
    data = stats.to_dict()
    assert list(data) == [*COUNTERS, "per_tag", "hit_rate"]
    assert data["hit_rate"] == 6 / 8
    assert data["per_tag"]["inputs"]["hit_rate"] == 1 / 4
    assert data["per_tag"]["inputs"]["misses"] == 3


def test_dynamic_energy_counts_write_back_reads_and_fill_writes_at_one_bank() -> None:
    """Reads are read accesses plus dirty write-backs (the victim is read out), writes are
    write accesses plus fills; the default is one bank. CACTI 45 nm, 64 KB, 256-bit access:
    51.9 pJ per read and 66.3 pJ per write."""
    stats = CacheStats(read_accesses=5, write_accesses=3, dirty_writebacks=2, fills=7)
    expected = (5 + 2) * 51.9 + (3 + 7) * 66.3
    got = dynamic_energy_pj(stats, 64 * KIB, 32, SramEnergyModel())
    assert got == pytest.approx(expected, rel=1e-12)
    flat = SramEnergyModel(read_pj_per_access=1.0, write_pj_per_access=1000.0)
    assert dynamic_energy_pj(stats, 64 * KIB, 32, flat) == 7 * 1.0 + 10 * 1000.0


# --- energy table and parameter checks -------------------------------------------------------


def test_read_energy_below_the_table_extends_the_first_segment_down_to_one_byte() -> None:
    # Horowitz 8 KB -> 32 KB is 10 -> 20 pJ: slope 1/2 in log-log, so 1 byte is 10 / sqrt(8192).
    assert read_energy_pj(1, 8) == pytest.approx(10.0 / math.sqrt(8192), rel=1e-12)
    assert read_energy_pj(0.5, 8) == pytest.approx(10.0 / math.sqrt(16384), rel=1e-12)


def test_zero_and_fractional_energy_overrides_are_valid() -> None:
    """Overrides are ``>= 0`` (a free access is a legal what-if), area ``> 0``: the checks
    must accept 0 and values below 1, not only round numbers."""
    model_ = SramEnergyModel(
        read_pj_per_access=0.0, write_pj_per_access=0.5, leakage_w_per_kib=0.0,
        area_mm2_per_mib=0.5,
    )  # fmt: skip
    assert check_energy_model(model_) == []
    assert [p for p, _ in check_energy_model(SramEnergyModel(area_mm2_per_mib=-0.5))] == [
        "energy.area_mm2_per_mib"
    ]


def test_an_unknown_name_with_no_close_match_gets_no_suggestion() -> None:
    problems = check_params(CacheParams(replacement="zzz", write_policy="qq"))
    assert problems == [
        ("replacement", "unknown policy 'zzz'; valid: lru, fifo, random, plru"),
        ("write_policy", "unknown policy 'qq'; valid: write-back, write-through, wb, wt"),
    ]


# --- trace runner ----------------------------------------------------------------------------


def two_request_trace(arrivals: bool = True) -> Trace:
    """A 128-byte read at cycle 0 (lines 0 and 1), then a one-line read of line 0 at 500."""
    return Trace(
        addr=np.array([0, 0], dtype=np.uint64),
        is_write=np.array([False, False]),
        size_bytes=np.array([128, 0], dtype=np.int64),
        arrival_cycle=np.array([0, 500], dtype=np.int64) if arrivals else None,
    )


def test_trace_run_summary_keys_and_values() -> None:
    """``npusim cache --json`` keys (a public interface) with values worked by hand: 4 KiB of
    4 ways of 64 B lines is 16 sets; the trace touches lines 0, 1 (compulsory) and 0 (hit);
    leakage 1 nW per bit (4 KiB = 32768 bits), area 119 mm^2 per 153 Mbit (Intel 45 nm)."""
    params = CacheParams(capacity_bytes=4 * KIB, ways=4)
    run = run_trace(two_request_trace(), params, memory_latency_cycles=50)
    data = run.to_dict()
    assert data["cache"] == {
        "capacity_bytes": 4096, "line_bytes": 64, "ways": 4, "sets": 16,
        "replacement": "lru", "write_policy": "write-back",
    }  # fmt: skip
    assert data["requests"] == 2
    assert (data["accesses"], data["hits"], data["misses"]) == (3, 1, 2)
    assert data["compulsory_misses"] == 2  # 3C classification is on by default
    assert data["leakage_power_w"] == pytest.approx(4 * KIB * 8 * 1e-9, rel=1e-12)
    assert data["area_mm2"] == pytest.approx(4 * KIB * 8 / 153e6 * 119.0, rel=1e-12)
    assert data["timed"] == {"total_cycles": 503, "mshr_merges": 0, "mshr_stall_cycles": 0}
    assert list(data) == [
        "cache", "requests", *COUNTERS, "per_tag", "hit_rate", "dynamic_energy_pj",
        "leakage_power_w", "area_mm2", "timed",
    ]  # fmt: skip


def test_trace_run_timing_follows_arrival_cycles_and_request_sizes() -> None:
    """Hit latency 2, one line per port cycle, memory 50 cycles. Lines 0 and 1 miss at
    issue 0 and 1 (reads sent at 2 and 3, back at 52 and 53). Arriving at 500, the re-read of
    line 0 hits: 500 + 2 + 1 = 503. Arriving at 0 it issues at 2 while line 0 is in flight:
    a merged secondary miss done at 52, so the run ends with line 1 at 53."""
    params = CacheParams(capacity_bytes=4 * KIB, ways=4)
    timed = run_trace(two_request_trace(), params, memory_latency_cycles=50).timed
    assert (timed.issue_cycle.tolist(), timed.completion_cycle.tolist()) == ([0, 500], [53, 503])
    at_once = run_trace(two_request_trace(False), params, memory_latency_cycles=50).timed
    assert at_once.completion_cycle.tolist() == [53, 52]
    assert (at_once.total_cycles, at_once.mshr_merges) == (53, 1)
    assert run_trace(two_request_trace(), params).timed is None


# --- timed cache -----------------------------------------------------------------------------

LATENCY = 100


def timed(**kwargs) -> tuple[TimedCache, FixedLatencyMemory]:
    memory = FixedLatencyMemory(LATENCY)
    settings_ = dict(capacity_bytes=4 * KIB, ways=4, hit_latency_cycles=3) | kwargs
    return TimedCache(CacheParams(**settings_), memory), memory


def test_one_byte_lines_fetch_only_the_line_asked_for() -> None:
    cache, memory = timed(capacity_bytes=16, line_bytes=1, ways=1)
    for addr in range(4):
        cache.access(addr, False, addr)
    assert memory.reads == [(0, 3), (1, 4), (2, 5), (3, 6)]
    assert cache.cache.stats.fills == 4


def test_stall_and_merge_counters_accumulate() -> None:
    """One MSHR: misses at cycles 0, 1, 2 issue at 0, 103 (stalled 102) and 206 (stalled
    206 - 104 = 102); two later requests to the third line merge with its fill."""
    cache, memory = timed(mshrs=1)
    result = cache.run(np.array([0, 64, 128, 128, 128]), np.zeros(5, dtype=bool))
    assert result.issue_cycle.tolist() == [0, 103, 206, 207, 208]
    assert result.mshr_stall_cycles == 102 + 102
    assert result.mshr_merges == 2
    assert [cycle for _, cycle in memory.reads] == [3, 106, 209]


def test_a_secondary_miss_completes_no_earlier_than_its_own_lookup() -> None:
    cache, _ = timed()
    assert cache.access(0, False, 0) == (0, 103)
    # Issued at 102, one cycle before the fill: the lookup (3 cycles) ends after it.
    assert cache.access(0, False, 102) == (102, 105)


def test_a_line_refetched_while_its_old_fill_is_in_flight_merges_with_the_new_fill() -> None:
    """Direct-mapped: A (line 0) misses at 0 (fill at 103), B (same set) evicts it at 1
    (fill at 104), A misses again at 2 (fill at 105). At 104 the old fill of A has retired
    but the new one has not: A's request merges with it and completes at 104 + 3 = 107, not
    via the bank port (104 + 3 + 4)."""
    cache, memory = timed(capacity_bytes=KIB, ways=1, port_bytes=16)
    a, b = 0, KIB
    assert [cache.access(x, False, t)[1] for x, t in ((a, 0), (b, 1), (a, 2))] == [103, 104, 105]
    assert cache.access(a, False, 104) == (104, 107)
    assert cache.mshr_merges == 1 and len(memory.reads) == 3


def test_timed_run_of_multi_line_requests_issues_one_line_per_cycle() -> None:
    """Bytes 60..191 are lines 0..2 (issued at 0, 1, 2, filled at 103..105); byte 255 alone
    is line 3 (issued at 3, filled at 106); bytes 191..192 straddle lines 2 and 3, both in
    flight: two merges, issued at 4 and 5, done with the fills."""
    cache, memory = timed()
    addrs, sizes = np.array([60, 255, 191]), np.array([132, 1, 2])
    result = cache.run(addrs, np.zeros(3, dtype=bool), None, sizes)
    assert [addr for addr, _ in memory.reads] == [0, 64, 128, 192]
    assert result.issue_cycle.tolist() == [0, 3, 4]
    assert result.completion_cycle.tolist() == [105, 106, 106]
    assert (result.total_cycles, result.mshr_merges) == (106, 2)
    empty = timed()[0].run(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool))
    assert empty.total_cycles == 0 and empty.completion_cycle.shape == (0,)


# --- functional model: invalidation, whole-line writes, request sizes, batching ---------------


def resident(cache: SetAssociativeCache, line: int) -> bool:
    """Whether ``line`` is cached (looked up in the tag array, no access)."""
    return bool((cache.tags[line % cache.sets] == line // cache.sets).any())


def test_invalidate_range_ends_are_exact() -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=KIB, ways=4))  # 4 sets x 4 ways
    cache.access_block(0, 4 * 64, True)  # lines 0..3, dirty
    assert cache.invalidate(65, 0) == (0, 0)  # an empty range drops nothing
    assert cache.invalidate(64, 1) == (1, 1)  # one byte of line 1 drops line 1
    assert cache.invalidate(2 * 64, 64 + 1) == (2, 2)  # bytes 128..192: lines 2 and 3
    assert [resident(cache, line) for line in range(4)] == [True, False, False, False]


def test_invalidate_by_tag_scan_keeps_lines_outside_the_range() -> None:
    """A range longer than the cache's 16 lines is matched by scanning the tags: lines 20..40
    go (20 and 40 written, so dirty), lines 0..3 and 100 stay."""
    cache = SetAssociativeCache(CacheParams(capacity_bytes=KIB, ways=4))  # 4 sets x 4 ways
    for line, write in ((0, False), (1, False), (2, True), (3, False), (20, True), (21, False),
                        (40, True), (100, True)):  # fmt: skip
        cache.access_block(line * 64, 64, write)
    assert cache.invalidate(20 * 64, 21 * 64) == (3, 2)
    kept = [line for line in (0, 1, 2, 3, 20, 21, 40, 100) if resident(cache, line)]
    assert kept == [0, 1, 2, 3, 100]
    assert cache.valid_lines == 5


def test_an_invalidated_way_is_filled_before_anything_is_evicted() -> None:
    """One set of two ways: B then A (A the most recent). Dropping A leaves a free way, so C
    takes it and B, the least recent, stays: no eviction."""
    cache = SetAssociativeCache(CacheParams(capacity_bytes=128, ways=2))
    b, a, c = 64, 0, 128
    cache.access_block(b, 64, False)
    cache.access_block(a, 64, False)
    assert cache.invalidate(a, 64) == (1, 0)
    assert cache.access_block(c, 64, False).misses == 1
    assert cache.stats.evictions == 0
    assert cache.access_block(b, 64, False).hits == 1


@pytest.mark.parametrize("lines_per_request", [2, 10])  # 4 or 20 lines: per-line or vectorized
def test_whole_line_writes_fetch_only_the_lines_read(lines_per_request: int) -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=4 * KIB, ways=4))
    size = lines_per_request * 64
    addr = np.array([0, 16 * 64])  # a read of lines 0.., a write of lines 16..
    outcome = cache.access_trace(addr, np.array([size, size]), np.array([False, True]),
                                 whole_line_writes=True)  # fmt: skip
    assert outcome.fetch_addrs.dtype == np.uint64
    assert outcome.fetch_addrs.tolist() == [64 * i for i in range(lines_per_request)]
    assert outcome.misses == 2 * lines_per_request
    assert cache.stats.fills == lines_per_request
    only_writes = cache.access_trace(addr[1:] + 64 * 32, np.array([size]), np.array([True]),
                                     whole_line_writes=True)  # fmt: skip
    assert only_writes.fetch_addrs.dtype == np.uint64 and only_writes.fetch_addrs.size == 0


def test_a_one_byte_trace_request_counts_one_byte_and_a_sizeless_one_a_line() -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=4 * KIB, ways=4))
    cache.access_trace(np.array([5, 200]), np.array([1, 0]), np.array([False, True]))
    assert (cache.stats.requested_read_bytes, cache.stats.requested_write_bytes) == (1, 64)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=400))
def test_trace_batches_never_repeat_a_set(sets: list[int]) -> None:
    """The cut points of a trace into numpy batches: strictly increasing inside (0, n); no
    set twice in a batch (else the batch result would differ from sequential processing);
    a batch shorter than the 64-access minimum window ends only because the next access
    repeats one of its sets."""
    array = np.array(sets, dtype=np.int64)
    bounds = runs.conflict_free_bounds(array)
    assert bounds == sorted(set(bounds)) and all(0 < b < len(sets) for b in bounds)
    edges = [0, *bounds, len(sets)]
    for start, end in itertools.pairwise(edges):
        batch = sets[start:end]
        assert len(set(batch)) == len(batch)
        if end < len(sets) and end - start < 64:
            assert sets[end] in batch


def test_array_cycles_are_hit_latency_plus_the_busiest_banks_line_transfers() -> None:
    """A 64 B line through a 48 B port takes ceil(64 / 48) = 2 cycles; 5 lines over 4 banks
    put ceil(5 / 4) = 2 lines on the busiest bank: 3 + 2 x 2 = 7 cycles (a block and the
    same lines as a trace, where bank = line mod 4 gives lines 0 and 4 to bank 0)."""
    params = CacheParams(capacity_bytes=4 * KIB, ways=4, banks=4, port_bytes=48,
                         hit_latency_cycles=3)  # fmt: skip
    assert SetAssociativeCache(params).access_block(0, 5 * 64, False).array_cycles == 7
    trace = SetAssociativeCache(params).access_trace(
        np.arange(5) * 64, np.zeros(5, dtype=np.int64), np.zeros(5, dtype=bool)
    )
    assert trace.array_cycles == 7
    one_line = SetAssociativeCache(params).access_block(64, 64, False)
    assert one_line.array_cycles == 3 + 1 * 2


def test_miss_classification_switched_off_counts_no_3c_misses() -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=KIB, ways=1), classify_misses=False)
    cache.access_block(0, 64, False)
    cache.access_block(0, 40 * 64, True)
    cache.access_trace(np.array([0, KIB, 0]), np.zeros(3, dtype=np.int64), np.zeros(3, bool))
    s = cache.stats
    assert s.misses > 0
    assert (s.compulsory_misses, s.capacity_misses, s.conflict_misses) == (0, 0, 0)


@pytest.mark.parametrize("one_call", [False, True])
def test_a_conflict_miss_with_the_shadow_cache_exactly_full(one_call: bool) -> None:
    """2 sets x 2 ways (4 lines). Lines 0, 1, 2, 4 fill the fully associative shadow exactly;
    line 0 was evicted from set 0 by 2 and 4 but is still in the shadow: a conflict miss.
    (A shadow one line smaller would call it a capacity miss.)"""
    cache = SetAssociativeCache(CacheParams(capacity_bytes=256, ways=2))
    lines = [0, 1, 2, 4, 0]
    if one_call:  # one trace: the classifier's general walk
        addrs = np.array(lines) * 64
        cache.access_trace(addrs, np.zeros(5, dtype=np.int64), np.zeros(5, dtype=bool))
    else:  # one line per call: the single-line classifier
        for line in lines:
            cache.access_block(line * 64, 64, False)
    s = cache.stats
    assert (s.misses, s.compulsory_misses, s.capacity_misses, s.conflict_misses) == (5, 4, 0, 1)


@pytest.mark.parametrize("policy", ["write-back", "write-through"])
def test_fifo_on_the_vectorized_path_ignores_hits(policy: str) -> None:
    """32 sets x 2 ways. Fill lines 0..31 (A), then 32..63 (B), re-read A (hits, which FIFO
    ignores), then 64..95 (C): each set evicts its A line, the oldest fill, so B hits and A
    misses afterwards; LRU would evict B instead. Each request is a 32-line trace, longer than
    the per-line path's limit, so the numpy batch path runs."""
    params = CacheParams(capacity_bytes=4 * KIB, ways=2, replacement="fifo", write_policy=policy)
    cache = SetAssociativeCache(params)
    assert model.SCALAR_MAX_LINES < 32

    def read(first_line: int, write_last: bool = False):
        addrs = (first_line + np.arange(32)) * 64
        writes = np.zeros(32, dtype=bool)
        writes[-1] = write_last
        return cache.access_trace(addrs, np.zeros(32, dtype=np.int64), writes)

    read(0), read(32)
    assert read(0, write_last=True).hits == 32
    read(64)
    assert read(32).hits == 32  # B kept (LRU would have evicted it)
    assert read(0).hits == 0


def test_valid_line_count_follows_fills_and_invalidations() -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=KIB, ways=4))
    for line in (0, 1, 5):
        cache.access_block(line * 64, 64, False)
    assert cache.valid_lines == 3
    cache.invalidate(64, 64)
    assert cache.valid_lines == 2
    cache.access_block(0, 2 * KIB, False)  # 32 lines through 16 ways: all valid
    assert cache.valid_lines == 16


def test_statistics_accumulate_across_snapshots() -> None:
    cache = SetAssociativeCache(CacheParams(capacity_bytes=4 * KIB, ways=4))
    cache.access_block(0, 64, False)
    assert cache.stats.accesses == 1
    cache.access_block(0, 3 * 64, False)
    assert (cache.stats.accesses, cache.stats.hits) == (4, 1)
    for _ in range(1100):  # more requests than one fold of the running sums
        cache.access_block(64, 64, False)
    assert (cache.stats.accesses, cache.stats.hits) == (1104, 1101)


def test_smallest_geometry_is_valid_and_bad_fields_are_not_checked_twice() -> None:
    assert check_params(CacheParams(capacity_bytes=1, line_bytes=1, ways=1)) == []
    assert check_params(CacheParams(line_bytes=0)) == [("line_bytes", "must be >= 1, got 0")]
    assert check_params(CacheParams(capacity_bytes=0)) == [
        ("capacity_bytes", "must be >= 1, got 0")
    ]
    assert check_params(CacheParams(replacement="plru", ways=0)) == [
        ("ways", "must be >= 1, got 0")
    ]


def test_a_nine_way_cache_on_the_vectorized_path_matches_the_reference_lru() -> None:
    """Rows of 9 ways take the general per-row reduction (the 64-bit word shortcut needs a
    multiple of 8 ways): a 9-way, 2-set cache against a hand-run LRU of each set."""
    cache = SetAssociativeCache(CacheParams(capacity_bytes=2 * 9 * 64, ways=9))
    lines = list(range(20)) + list(range(2, 20)) + [0, 1]  # 40 lines: numpy batches
    addrs = np.array(lines) * 64
    cache.access_trace(addrs, np.zeros(40, dtype=np.int64), np.zeros(40, dtype=bool))
    # Each set gets 10 lines, then 9 of them again (its lines 2.. in order: all resident
    # after the first one evicted the set's line 0 or 1), then 0 and 1 come back as misses.
    assert (cache.stats.hits, cache.stats.misses) == (18, 22)


def test_a_block_longer_than_the_shadow_cache_keeps_its_last_lines_in_the_shadow() -> None:
    """2 ways x 8 sets (16 lines). A 20-line block leaves lines 4..19 in the fully
    associative shadow. Line 24 evicts line 8 from set 0 (and line 4 from the shadow), so
    line 8 misses while the shadow still holds it: a conflict miss, not a capacity one."""
    cache = SetAssociativeCache(CacheParams(capacity_bytes=KIB, ways=2))
    cache.access_block(0, 20 * 64, False)
    cache.access_block(24 * 64, 64, False)
    assert cache.access_block(8 * 64, 64, False).misses == 1
    s = cache.stats
    assert (s.compulsory_misses, s.capacity_misses, s.conflict_misses) == (21, 0, 1)


def test_timed_and_trace_runs_classify_misses_only_when_asked() -> None:
    cache, _ = timed()
    cache.run(np.array([0, 64, 0]), np.zeros(3, dtype=bool))
    assert cache.cache.stats.misses == 2 and cache.cache.stats.compulsory_misses == 0
    params = CacheParams(capacity_bytes=4 * KIB, ways=4)
    unclassified = run_trace(two_request_trace(), params, classify_misses=False)
    assert unclassified.stats.misses == 2 and unclassified.stats.compulsory_misses == 0
