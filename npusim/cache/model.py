"""Functional set-associative cache: block and trace accesses, vectorized per batch.

A block (contiguous byte range) becomes consecutive lines; ``sets`` consecutive lines fall in
distinct sets, so each chunk of at most ``sets`` lines is one numpy batch whose result equals
sequential processing. Traces are cut into runs of accesses to distinct sets the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from npusim.cache.classify import MissClassifier
from npusim.cache.params import CacheParams, WritePolicy, check_params
from npusim.cache.policies import make_policy
from npusim.cache.runs import (
    EMPTY_ADDRS,
    Run,
    any_per_row,
    conflict_free_bounds,
    line_spans,
    without_write_fills,
    written_addrs,
)
from npusim.cache.stats import COUNTER_NAMES, BlockOutcome, CacheStats, CountSums
from npusim.errors import ConfigError, Problem

_NO_LINES = np.zeros(0, dtype=np.int64)  # no line numbers
# Requests of at most this many lines take the per-line path and the small-request finish
# (measured faster up to ~16 lines); 0 forces every request through the vectorized path.
SCALAR_MAX_LINES = 16


def validated(params: CacheParams) -> CacheParams:
    """Return ``params`` or raise :class:`ConfigError` listing every problem."""
    problems = check_params(params)
    if problems:
        raise ConfigError([Problem(path, message) for path, message in problems])
    return params


class SetAssociativeCache:
    """Tags, dirty bits and replacement state of ``params`` (validated, else ConfigError).

    ``classify_misses`` enables the 3C split (see :mod:`npusim.cache.classify`); it costs a
    Python-level walk per line access, so streaming users may switch it off.
    """

    def __init__(self, params: CacheParams, classify_misses: bool = True) -> None:
        self.params = validated(params)
        self.sets = params.sets
        self.set_bits = self.sets.bit_length() - 1
        self.line_shift = params.line_bytes.bit_length() - 1
        self.write_back = params.write_policy is WritePolicy.WRITE_BACK
        self.tags = np.full((self.sets, params.ways), -1, dtype=np.int64)
        self.valid_lines = 0  # ways holding a line: once every way does, no invalid way is left
        self.dirty = np.zeros((self.sets, params.ways), dtype=bool)
        # Per-line path state: flat views writing into ``tags``/``dirty`` and, per set it
        # read, the tag row as a list with a tag -> way dict (see _scalar).
        self._flat_tags = memoryview(self.tags.reshape(-1))
        self._flat_dirty = memoryview(self.dirty.reshape(-1))
        self._set_views: dict[int, tuple[list[int], dict[int, int]]] = {}
        self.policy = make_policy(params.replacement, self.sets, params.ways, params.seed)
        # a policy that picks victims of a range of sets from a view (LRU), looked up once
        self._victims_in = getattr(self.policy, "victims_in", None)
        self.classifier = MissClassifier(params.lines, self.write_back) if classify_misses else None
        self.line_cycles = -(-params.line_bytes // params.port_bytes)
        self.time = 0
        self._sums = CountSums()
        self._tag_sums: dict[str, CountSums] = {}

    def _batch(
        self, lines: np.ndarray, is_write: np.ndarray, consecutive: bool = False
    ) -> tuple[np.ndarray, ...]:
        """Access ``lines`` (int64, distinct sets) in order; return (hit mask, fetched mask,
        written-back line numbers, number of evictions). Branches skip the masks when a
        whole batch misses or allocates (streaming), to keep the numpy call count low.
        ``consecutive``: the lines are consecutive numbers (a block), so their sets are a
        range and their tag rows a view rather than a gathered copy."""
        n = lines.shape[0]
        sets = lines & (self.sets - 1)
        tags = lines >> self.set_bits
        span = None
        if consecutive and int(sets[0]) + n <= self.sets:
            span = (int(sets[0]), int(sets[0]) + n)
            rows = self.tags[span[0] : span[1]]  # read before any write below
        else:
            rows = np.take(self.tags, sets, axis=0)  # faster than self.tags[sets], same rows
        match = rows == tags[:, None]
        hit = any_per_row(match)
        # the way each line hit in (its value for a miss is overwritten or unused)
        way = match.argmax(axis=1) if hit.any() else np.zeros(n, dtype=np.int64)
        any_write = bool(np.count_nonzero(is_write))
        alloc = ~hit if self.write_back or not any_write else ~hit & ~is_write
        allocations = int(np.count_nonzero(alloc))
        written_back, evictions = _NO_LINES, 0
        if allocations == n:
            written_back, evictions = self._allocate(sets, rows, tags, is_write, way, span)
        elif allocations:
            a_way = way[alloc]
            written_back, evictions = self._allocate(
                sets[alloc], rows[alloc], tags[alloc], is_write[alloc], a_way
            )
            way[alloc] = a_way
        if self.write_back and any_write:
            write_hit = hit & is_write
            self.dirty[sets[write_hit], way[write_hit]] = True
        if self.write_back or not any_write:  # every line was a hit or an allocation
            self.policy.touch(sets, way, alloc, self.time)
        else:
            used = hit | alloc
            self.policy.touch(sets[used], way[used], alloc[used], self.time)
        self.time += int(n)
        return hit, alloc, written_back, evictions

    def _allocate(
        self, sets: np.ndarray, rows: np.ndarray, tags: np.ndarray, is_write: np.ndarray,
        way: np.ndarray, span: tuple[int, int] | None = None,
    ) -> tuple[np.ndarray, int]:  # fmt: skip
        """Fill ``tags`` into ``sets`` (invalid way first, else the policy's victim); writes
        the chosen ways into ``way`` in place; return (written-back lines, evictions).
        ``span``: ``sets`` is the range ``[start, stop)`` (see :meth:`_batch`)."""
        if self.valid_lines == self.tags.size:  # every way valid (steady streaming): all evict
            in_range = self._victims_in
            victim = in_range(*span) if span and in_range else self.policy.victims(sets)
            full = None
            evictions = int(sets.shape[0])
        else:
            invalid = rows < 0
            victim = invalid.argmax(axis=1)
            full = ~any_per_row(invalid)
            evictions = int(np.count_nonzero(full))
            self.valid_lines += int(sets.shape[0]) - evictions
        written_back = _NO_LINES
        if evictions:
            if full is not None:
                victim[full] = self.policy.victims(sets[full])
            old_tags = rows[np.arange(victim.shape[0]), victim]
            dirty = self.dirty[sets, victim]
            if full is not None:
                dirty &= full
            if np.count_nonzero(dirty):
                written_back = (old_tags[dirty] << self.set_bits) | sets[dirty]
        self.tags[sets, victim] = tags
        self._set_views.clear()  # the per-line path's copies of tag rows are stale now
        self.dirty[sets, victim] = is_write & self.write_back
        way[:] = victim
        return written_back, evictions

    def _scalar(self, lines: list[int], writes: list[bool]) -> Run:
        """Same semantics as :meth:`_batch` for a few lines (any sets), one Python step per
        line (cheaper than ~40 numpy calls when a request spans only a few lines). Tags are
        looked up in Python copies of the set's row and writes go through flat memoryviews,
        because numpy scalar indexing costs 0.1-0.3 us per element and scanning 16 Python
        ints for a tag about 0.15 us."""
        views, policy, ways, mask = self._set_views, self.policy, self.params.ways, self.sets - 1
        flat_tags, flat_dirty, set_bits = self._flat_tags, self._flat_dirty, self.set_bits
        shift = self.line_shift
        write_back, time, touch_one = self.write_back, self.time, policy.touch_one
        missed, fetched, written_back, evictions = [], [], [], 0
        for line, is_write in zip(lines, writes, strict=True):
            set_index, tag = line & mask, line >> set_bits
            row, where = views.get(set_index) or self._set_view(set_index)
            way = where.get(tag)
            if way is not None:
                missed.append(False)
                if write_back and is_write:
                    flat_dirty[set_index * ways + way] = True
                touch_one(set_index, way, False, time)
            elif write_back or not is_write:
                missed.append(True)
                if len(where) < ways:  # tags in a set are distinct: an invalid way is left
                    way = row.index(-1)
                    self.valid_lines += 1
                else:
                    way = policy.victim(set_index)
                    evictions += 1
                    del where[row[way]]
                    if flat_dirty[set_index * ways + way]:
                        written_back.append(((row[way] << set_bits) | set_index) << shift)
                row[way], where[tag], slot = tag, way, set_index * ways + way
                flat_tags[slot], flat_dirty[slot] = tag, write_back and is_write
                fetched.append(line << shift)
                touch_one(set_index, way, True, time)
            else:
                missed.append(True)
            time += 1
        self.time = time
        return lines, writes, missed, fetched, written_back, evictions

    def _set_view(self, set_index: int) -> tuple[list[int], dict[int, int]]:
        """Load the per-line path's copy of a set: its tag row and a tag -> way dict."""
        row = self.tags[set_index].tolist()
        where = dict(zip(row, range(len(row)), strict=True))  # C-level, unlike a comprehension
        where.pop(-1, None)  # invalid ways
        view = self._set_views[set_index] = (row, where)
        return view

    def access_block(
        self, addr: int, size_bytes: int, is_write: bool, tag: str | None = None
    ) -> BlockOutcome:
        """Read or write the byte range ``[addr, addr + size_bytes)`` (``size_bytes`` > 0).

        Counts go to :attr:`stats` and, when ``tag`` is given (``"weights"``, ``"inputs"``,
        ``"outputs"``...), to ``stats.per_tag[tag]``. Raises ``ValueError`` for a negative
        address or a non-positive size (a caller bug, not user input).
        """
        if addr < 0 or size_bytes <= 0:
            raise ValueError(f"block needs addr >= 0 and size > 0, got {addr}, {size_bytes}")
        first = addr >> self.line_shift
        count = ((addr + size_bytes - 1) >> self.line_shift) - first + 1
        if count <= SCALAR_MAX_LINES:
            run = self._scalar(list(range(first, first + count)), [is_write] * count)
        else:
            lines = np.arange(first, first + count, dtype=np.int64)
            writes = np.full(count, is_write, dtype=bool)
            if count <= self.sets:
                run = self._vectorized([lines], [writes], consecutive=True)
            else:
                cuts = range(self.sets, count, self.sets)
                run = self._vectorized(np.split(lines, cuts), np.split(writes, cuts), True)
        read_bytes, write_bytes = (0, size_bytes) if is_write else (size_bytes, 0)
        busiest = -(-count // self.params.banks)
        return self._finish(run, read_bytes, write_bytes, busiest, tag, distinct=True)

    def access_trace(
        self, addr: np.ndarray, size_bytes: np.ndarray, is_write: np.ndarray,
        tag: str | None = None, whole_line_writes: bool = False,
    ) -> BlockOutcome:  # fmt: skip
        """Run requests in order: ``addr`` uint64/int64 byte addresses, ``size_bytes`` int64
        (0 = one access to the line holding ``addr``), ``is_write`` bool; all shape (n,).
        The outcome aggregates all requests (``array_cycles`` as if issued as one block);
        ``tag`` as in :meth:`access_block`. ``whole_line_writes``: the writes overwrite whole
        lines (a DMA engine writing with byte enables), so a write miss allocates its line
        without fetching it; no fill is counted or returned for it."""
        addr = np.asarray(addr, dtype=np.int64)
        size = np.asarray(size_bytes, dtype=np.int64)
        writes_in = np.asarray(is_write, dtype=bool)
        first, span = line_spans(addr, size, self.line_shift)
        starts = np.repeat(np.cumsum(span) - span, span)
        lines = np.repeat(first, span) + np.arange(int(span.sum()), dtype=np.int64) - starts
        writes = np.repeat(writes_in, span)
        size = np.where(size > 0, size, self.params.line_bytes)
        if lines.shape[0] <= SCALAR_MAX_LINES:
            run = self._scalar(lines.tolist(), writes.tolist())
        else:
            one = addr.shape[0] == 1  # consecutive lines: every ``sets`` are distinct sets
            if one:
                bounds: Any = range(self.sets, lines.shape[0], self.sets)
            else:
                bounds = conflict_free_bounds(lines & (self.sets - 1))
            run = self._vectorized(np.split(lines, bounds), np.split(writes, bounds), one)
        read_bytes, write_bytes = int(size[~writes_in].sum()), int(size[writes_in].sum())
        banks = self.params.banks
        busiest = int(np.bincount(lines % banks, minlength=banks).max())
        if whole_line_writes and self.write_back:
            run = without_write_fills(run, self.line_shift)
        # one request covers distinct lines: the 3C classifier's block shortcuts apply
        return self._finish(run, read_bytes, write_bytes, busiest, tag, addr.shape[0] == 1)

    def invalidate(self, addr: int, size_bytes: int) -> tuple[int, int]:
        """Drop every cached line of ``[addr, addr + size_bytes)`` without writing it back
        (its data is dead: a compiler's discard of a tensor nobody reads again). Return
        (lines dropped, dirty lines dropped). Replacement state is left as it is: invalid ways
        are filled first. The 3C classifier's shadow is not told (it is an analysis aid)."""
        if size_bytes <= 0:
            return 0, 0
        first = addr >> self.line_shift
        last = (addr + size_bytes - 1) >> self.line_shift
        if last - first + 1 > self.tags.size:  # scan the array rather than the range
            sets, ways = np.nonzero(self.tags >= 0)
            lines = (self.tags[sets, ways] << self.set_bits) | sets
            keep = (lines >= first) & (lines <= last)
            sets, ways = sets[keep], ways[keep]
        else:
            lines = np.arange(first, last + 1, dtype=np.int64)
            rows = self.tags[lines & (self.sets - 1)]
            index, ways = np.nonzero(rows == (lines >> self.set_bits)[:, None])
            sets = lines[index] & (self.sets - 1)
        dirty = int(np.count_nonzero(self.dirty[sets, ways]))
        self.tags[sets, ways] = -1
        self.valid_lines -= int(sets.size)
        self.dirty[sets, ways] = False
        if sets.size:
            self._set_views.clear()
        return int(sets.size), dirty

    def _vectorized(self, line_chunks: list, write_chunks: list, consecutive: bool = False) -> Run:
        missed, fetched, written_back, evictions = [], [], [], 0
        for lines, writes in zip(line_chunks, write_chunks, strict=True):
            hit, alloc, wb_lines, evicted = self._batch(lines, writes, consecutive)
            missed.append(~hit)
            fetched.append(lines[alloc])
            written_back.append(wb_lines)
            evictions += evicted
        # numpy arrays, not lists: a run of thousands of lines is only counted afterwards
        if len(line_chunks) == 1:
            return (line_chunks[0], write_chunks[0], missed[0],
                    self._byte_addrs(fetched[0]), self._byte_addrs(written_back[0]),
                    evictions)  # fmt: skip
        return (
            np.concatenate(line_chunks),
            np.concatenate(write_chunks),
            np.concatenate(missed),
            self._byte_addrs(np.concatenate(fetched)),
            self._byte_addrs(np.concatenate(written_back)),
            evictions,
        )

    def _byte_addrs(self, lines: np.ndarray) -> np.ndarray:
        """uint64 byte addresses of int64 line numbers."""
        return lines.astype(np.uint64) << self.line_shift if lines.shape[0] else EMPTY_ADDRS

    @property
    def stats(self) -> CacheStats:
        """Snapshot of the cumulative counts, with one entry per request tag in ``per_tag``."""
        stats = CacheStats(**dict(zip(COUNTER_NAMES, self._sums.totals(), strict=True)))
        for tag, sums in self._tag_sums.items():
            stats.per_tag[tag] = CacheStats(**dict(zip(COUNTER_NAMES, sums.totals(), strict=True)))
        return stats

    def _finish(
        self, run: Run, read_bytes: int, write_bytes: int, busiest_bank_lines: int,
        tag: str | None, distinct: bool = False,
    ) -> BlockOutcome:  # fmt: skip
        lines, writes, missed, fetch_addrs, writeback_addrs, evictions = run
        # A run from the per-line path holds a few Python ints: building each array in one
        # np.array call and classifying a single line directly skips ~1 us of numpy ufuncs
        # and bulk-classifier checks per small request.
        small = isinstance(lines, list)
        line_bytes, shift = self.params.line_bytes, self.line_shift
        fetched = np.asarray(fetch_addrs, dtype=np.uint64) if len(fetch_addrs) else EMPTY_ADDRS
        written_back = (
            np.asarray(writeback_addrs, dtype=np.uint64) if len(writeback_addrs) else EMPTY_ADDRS
        )
        through, through_bytes = EMPTY_ADDRS, 0
        if write_bytes and not self.write_back:
            through, through_bytes = written_addrs(lines, writes, shift, small), write_bytes
        if small:
            accesses, write_count, misses = len(lines), sum(writes), sum(missed)
        else:
            accesses = len(lines)
            write_count, misses = int(np.count_nonzero(writes)), int(np.count_nonzero(missed))
        fills, write_backs = len(fetched), len(written_back)
        counts = [
            accesses, accesses - write_count, write_count, accesses - misses, misses, 0, 0, 0,
            fills, evictions, write_backs, read_bytes, write_bytes, fills * line_bytes,
            write_backs * line_bytes + through_bytes,
        ]  # fmt: skip
        classifier = self.classifier
        if classifier is not None:
            if small and accesses == 1:
                counts[5:8] = classifier.classify_one(lines[0], writes[0], missed[0])
            elif small:
                counts[5:8] = classifier.classify(lines, writes, missed, distinct)
            else:
                counts[5:8] = classifier.classify(
                    lines.tolist(), writes.tolist(), missed.tolist(), distinct
                )
        self._sums.add(counts)
        if tag is not None:
            sums = self._tag_sums.get(tag) or self._tag_sums.setdefault(tag, CountSums())
            sums.add(counts)
        return BlockOutcome(
            accesses - misses,
            misses,
            fetched,
            written_back,
            through,
            through_bytes,
            self.params.hit_latency_cycles + busiest_bank_lines * self.line_cycles,
        )
