"""Functional set-associative cache: block and trace accesses, vectorized per batch.

A block (contiguous byte range) becomes consecutive lines; ``sets`` consecutive lines fall in
distinct sets, so each chunk of at most ``sets`` lines is one numpy batch whose result equals
sequential processing. Traces are cut into runs of accesses to distinct sets the same way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from npusim.cache.classify import MissClassifier
from npusim.cache.params import CacheParams, WritePolicy, check_params
from npusim.cache.policies import make_policy
from npusim.cache.stats import COUNTER_NAMES, BlockOutcome, CacheStats
from npusim.errors import ConfigError, Problem

_EMPTY = np.zeros(0, dtype=np.uint64)  # no byte addresses
_NO_LINES = np.zeros(0, dtype=np.int64)  # no line numbers
# Blocks of at most this many lines take the per-line path (measured faster up to ~16 lines).
SCALAR_MAX_LINES = 16


class _Run(NamedTuple):
    """Per-line record of a run: line numbers, write flags, miss flags (lists, in order),
    fetched and written-back line numbers, eviction count."""

    lines: list
    writes: list
    missed: list
    fetched: np.ndarray | list
    written_back: np.ndarray | list
    evictions: int


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
        self.dirty = np.zeros((self.sets, params.ways), dtype=bool)
        self.policy = make_policy(params.replacement, self.sets, params.ways, params.seed)
        self.classifier = MissClassifier(params.lines, self.write_back) if classify_misses else None
        self.line_cycles = -(-params.line_bytes // params.port_bytes)
        self.time = 0
        self._totals = [0] * len(COUNTER_NAMES)
        self._tag_totals: dict[str, list[int]] = {}

    def _batch(self, lines: np.ndarray, is_write: np.ndarray) -> tuple[np.ndarray, ...]:
        """Access ``lines`` (int64, distinct sets) in order; return (hit mask, fetched mask,
        written-back line numbers, number of evictions). Branches skip the masks when a
        whole batch misses or allocates (streaming), to keep the numpy call count low."""
        n = lines.shape[0]
        sets = lines & (self.sets - 1)
        tags = lines >> self.set_bits
        rows = self.tags[sets]
        match = rows == tags[:, None]
        hit = _any_per_row(match)
        way = match.argmax(axis=1)
        any_write = bool(np.count_nonzero(is_write))
        alloc = ~hit if self.write_back or not any_write else ~hit & ~is_write
        allocations = int(np.count_nonzero(alloc))
        written_back, evictions = _NO_LINES, 0
        if allocations == n:
            written_back, evictions = self._allocate(sets, rows, tags, is_write, way)
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
        way: np.ndarray,
    ) -> tuple[np.ndarray, int]:  # fmt: skip
        """Fill ``tags`` into ``sets`` (invalid way first, else the policy's victim); writes
        the chosen ways into ``way`` in place; return (written-back lines, evictions)."""
        invalid = rows < 0
        victim = invalid.argmax(axis=1)
        full = ~_any_per_row(invalid)
        evictions = int(np.count_nonzero(full))
        written_back = _NO_LINES
        if evictions:
            victim[full] = self.policy.victims(sets[full])
            old_tags = rows[np.arange(victim.shape[0]), victim]
            dirty = self.dirty[sets, victim] & full
            if np.count_nonzero(dirty):
                written_back = (old_tags[dirty] << self.set_bits) | sets[dirty]
        self.tags[sets, victim] = tags
        self.dirty[sets, victim] = is_write & self.write_back
        way[:] = victim
        return written_back, evictions

    def _scalar(self, lines: list[int], writes: list[bool]) -> _Run:
        """Same semantics as :meth:`_batch` for a few lines (any sets), one Python step per
        line (cheaper than ~40 numpy calls when a request spans only a few lines)."""
        tags, dirty, policy, mask = self.tags, self.dirty, self.policy, self.sets - 1
        write_back = self.write_back
        missed, fetched, written_back, evictions = [], [], [], 0
        for line, is_write in zip(lines, writes, strict=True):
            set_index, tag = line & mask, line >> self.set_bits
            row = tags[set_index].tolist()
            if tag in row:
                way = row.index(tag)
                missed.append(False)
                if write_back and is_write:
                    dirty[set_index, way] = True
                policy.touch_one(set_index, way, False, self.time)
            else:
                missed.append(True)
                if write_back or not is_write:
                    if -1 in row:
                        way = row.index(-1)
                    else:
                        way = policy.victim(set_index)
                        evictions += 1
                        if dirty[set_index, way]:
                            written_back.append((row[way] << self.set_bits) | set_index)
                    tags[set_index, way] = tag
                    dirty[set_index, way] = write_back and is_write
                    fetched.append(line)
                    policy.touch_one(set_index, way, True, self.time)
            self.time += 1
        return _Run(lines, writes, missed, fetched, written_back, evictions)

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
                run = self._vectorized([lines], [writes])
            else:
                cuts = range(self.sets, count, self.sets)
                run = self._vectorized(np.split(lines, cuts), np.split(writes, cuts))
        read_bytes, write_bytes = (0, size_bytes) if is_write else (size_bytes, 0)
        busiest = -(-count // self.params.banks)
        return self._finish(run, read_bytes, write_bytes, busiest, tag, distinct=True)

    def access_trace(
        self, addr: np.ndarray, size_bytes: np.ndarray, is_write: np.ndarray,
        tag: str | None = None,
    ) -> BlockOutcome:  # fmt: skip
        """Run requests in order: ``addr`` uint64/int64 byte addresses, ``size_bytes`` int64
        (0 = one access to the line holding ``addr``), ``is_write`` bool; all shape (n,).
        The outcome aggregates all requests (``array_cycles`` as if issued as one block);
        ``tag`` as in :meth:`access_block`."""
        addr = np.asarray(addr, dtype=np.int64)
        size = np.asarray(size_bytes, dtype=np.int64)
        writes_in = np.asarray(is_write, dtype=bool)
        first = addr >> self.line_shift
        span = ((addr + np.maximum(size, 1) - 1) >> self.line_shift) - first + 1
        starts = np.repeat(np.cumsum(span) - span, span)
        lines = np.repeat(first, span) + np.arange(int(span.sum()), dtype=np.int64) - starts
        writes = np.repeat(writes_in, span)
        size = np.where(size > 0, size, self.params.line_bytes)
        if lines.shape[0] <= SCALAR_MAX_LINES:
            run = self._scalar(lines.tolist(), writes.tolist())
        else:
            bounds = _conflict_free_bounds(lines & (self.sets - 1))
            run = self._vectorized(np.split(lines, bounds), np.split(writes, bounds))
        read_bytes, write_bytes = int(size[~writes_in].sum()), int(size[writes_in].sum())
        banks = self.params.banks
        busiest = int(np.bincount(lines % banks, minlength=banks).max())
        return self._finish(run, read_bytes, write_bytes, busiest, tag)

    def _vectorized(self, line_chunks: list, write_chunks: list) -> _Run:
        missed, fetched, written_back, evictions = [], [], [], 0
        for lines, writes in zip(line_chunks, write_chunks, strict=True):
            hit, alloc, wb_lines, evicted = self._batch(lines, writes)
            missed.append(~hit)
            fetched.append(lines[alloc])
            written_back.append(wb_lines)
            evictions += evicted
        if len(line_chunks) == 1:
            lines, writes = line_chunks[0], write_chunks[0]
            return _Run(lines.tolist(), writes.tolist(), missed[0].tolist(), fetched[0],
                        written_back[0], evictions)  # fmt: skip
        return _Run(
            np.concatenate(line_chunks).tolist(),
            np.concatenate(write_chunks).tolist(),
            np.concatenate(missed).tolist(),
            np.concatenate(fetched),
            np.concatenate(written_back),
            evictions,
        )

    @property
    def stats(self) -> CacheStats:
        """Snapshot of the cumulative counts, with one entry per request tag in ``per_tag``."""
        stats = CacheStats(**dict(zip(COUNTER_NAMES, self._totals, strict=True)))
        for tag, totals in self._tag_totals.items():
            stats.per_tag[tag] = CacheStats(**dict(zip(COUNTER_NAMES, totals, strict=True)))
        return stats

    def _finish(
        self, run: _Run, read_bytes: int, write_bytes: int, busiest_bank_lines: int,
        tag: str | None, distinct: bool = False,
    ) -> BlockOutcome:  # fmt: skip
        line_bytes, shift = self.params.line_bytes, self.line_shift
        fetched = np.asarray(run.fetched, dtype=np.uint64) << shift if len(run.fetched) else _EMPTY
        written_back = (
            np.asarray(run.written_back, dtype=np.uint64) << shift
            if len(run.written_back)
            else _EMPTY
        )
        through, through_bytes = _EMPTY, 0
        if write_bytes and not self.write_back:
            through_lines = [line for line, w in zip(run.lines, run.writes, strict=True) if w]
            through = np.asarray(through_lines, dtype=np.uint64) << shift
            through_bytes = write_bytes
        accesses, writes, misses = len(run.lines), sum(run.writes), sum(run.missed)
        fills, write_backs = len(fetched), len(written_back)
        counts = [
            accesses, accesses - writes, writes, accesses - misses, misses, 0, 0, 0, fills,
            run.evictions, write_backs, read_bytes, write_bytes, fills * line_bytes,
            write_backs * line_bytes + through_bytes,
        ]  # fmt: skip
        if self.classifier is not None:
            counts[5:8] = self.classifier.classify(run.lines, run.writes, run.missed, distinct)
        totals = self._totals
        for index, count in enumerate(counts):
            totals[index] += count
        if tag is not None:
            tag_totals = self._tag_totals.setdefault(tag, [0] * len(counts))
            for index, count in enumerate(counts):
                tag_totals[index] += count
        return BlockOutcome(
            accesses - misses,
            misses,
            fetched,
            written_back,
            through,
            through_bytes,
            self.params.hit_latency_cycles + busiest_bank_lines * self.line_cycles,
        )


def _any_per_row(mask: np.ndarray) -> np.ndarray:
    """``mask.any(axis=1)`` without the Python-level wrapper (hot path)."""
    return np.logical_or.reduce(mask, axis=1)


def _conflict_free_bounds(sets: np.ndarray) -> list[int]:
    """Cut points splitting ``sets`` into runs in which no set repeats (greedy, in order)."""
    n = sets.shape[0]
    order = np.argsort(sets, kind="stable")
    ordered = sets[order]
    same = ordered[1:] == ordered[:-1]
    previous = np.full(n, -1, dtype=np.int64)
    previous[order[1:][same]] = order[:-1][same]
    bounds, start, window = [], 0, 64
    while start < n:
        end = min(n, start + window)
        clash = np.flatnonzero(previous[start:end] >= start)
        if clash.size:
            end = start + int(clash[0])
        window = max(64, 2 * (end - start))
        if end < n:
            bounds.append(end)
        start = end
    return bounds
