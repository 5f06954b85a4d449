"""Result types of the cache: per-block outcome and cumulative statistics."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import NamedTuple

import numpy as np

from npusim.cache.energy import SramEnergyModel


class BlockOutcome(NamedTuple):
    """What one block access did and what the next level must do.

    ``fetch_addrs``: uint64 line-aligned byte addresses to read (``line_bytes`` each) from the
    next level, in access order. ``writeback_addrs``: uint64 line addresses of dirty victims to
    write (``line_bytes`` each). ``write_through_addrs``: uint64 line addresses whose written
    bytes go to the next level (write-through only), ``write_through_bytes`` their total.
    ``array_cycles``: cycles the SRAM banks need to move the block (hit latency plus the most
    loaded bank's lines times ``ceil(line_bytes / port_bytes)``), excluding next-level time.
    """

    hits: int
    misses: int
    fetch_addrs: np.ndarray
    writeback_addrs: np.ndarray
    write_through_addrs: np.ndarray
    write_through_bytes: int
    array_cycles: int

    @property
    def lines(self) -> int:
        """Line accesses of the block (hits + misses)."""
        return self.hits + self.misses


@dataclass
class CacheStats:
    """Cumulative counts, in line accesses and bytes (an accumulator; snapshot with copy()).

    ``compulsory_misses + capacity_misses + conflict_misses == misses`` when miss
    classification is enabled (3C against a fully associative LRU of the same capacity and
    allocation policy); all three stay 0 when it is disabled. ``fills`` are lines written into
    the array from the next level, ``dirty_writebacks`` lines written back on eviction.
    ``requested_*_bytes`` are the bytes the requester asked for; ``next_level_*_bytes`` the
    traffic to the next level.
    """

    accesses: int = 0
    read_accesses: int = 0
    write_accesses: int = 0
    hits: int = 0
    misses: int = 0
    compulsory_misses: int = 0
    capacity_misses: int = 0
    conflict_misses: int = 0
    fills: int = 0
    evictions: int = 0
    dirty_writebacks: int = 0
    requested_read_bytes: int = 0
    requested_write_bytes: int = 0
    next_level_read_bytes: int = 0
    next_level_write_bytes: int = 0
    per_tag: dict[str, CacheStats] = field(default_factory=dict)

    @property
    def hit_rate(self) -> float:
        """hits / accesses in [0, 1]; 0.0 before any access."""
        return self.hits / self.accesses if self.accesses else 0.0

    def add(self, other: CacheStats) -> None:
        """Add ``other``'s counters (not its per-tag entries) into this one."""
        self.add_counts([getattr(other, name) for name in COUNTER_NAMES])

    def add_counts(self, counts: list[int]) -> None:
        """Add ``counts``, one per name of :data:`COUNTER_NAMES`, in that order."""
        for name, count in zip(COUNTER_NAMES, counts, strict=True):
            setattr(self, name, getattr(self, name) + int(count))

    def copy(self) -> CacheStats:
        """Deep snapshot."""
        snapshot = CacheStats()
        snapshot.add(self)
        snapshot.per_tag = {tag: stats.copy() for tag, stats in self.per_tag.items()}
        return snapshot

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict: every counter, ``hit_rate`` and ``per_tag`` (tag -> same keys)."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["hit_rate"] = self.hit_rate
        data["per_tag"] = {tag: stats.to_dict() for tag, stats in self.per_tag.items()}
        return data


COUNTER_NAMES: tuple[str, ...] = tuple(f.name for f in fields(CacheStats) if f.name != "per_tag")


class CountSums:
    """Running sums of count lists (one int per name of :data:`COUNTER_NAMES`).

    :meth:`add` only queues the list, and the queue is summed column-wise at C level every
    ``fold_every`` adds and on :meth:`totals`: a per-request element-wise add of 15 counters
    costs 0.4-0.9 us, several times a small request's own work. Sums of ints are exact, so
    the totals equal adding one request at a time.
    """

    def __init__(self, fold_every: int = 1024) -> None:
        self._totals = [0] * len(COUNTER_NAMES)
        self._queued: list[list[int]] = []
        self._fold_every = fold_every

    def add(self, counts: list[int]) -> None:
        """Queue ``counts`` (not copied: the caller must not modify it afterwards)."""
        queued = self._queued
        queued.append(counts)
        if len(queued) >= self._fold_every:
            self._fold()

    def totals(self) -> list[int]:
        """The sums of every list added so far, in :data:`COUNTER_NAMES` order."""
        self._fold()
        return list(self._totals)

    def _fold(self) -> None:
        if self._queued:
            self._totals = list(map(sum, zip(self._totals, *self._queued, strict=True)))
            self._queued = []


def dynamic_energy_pj(
    stats: CacheStats,
    capacity_bytes: int,
    line_bytes: int,
    model: SramEnergyModel,
    banks: int = 1,
) -> float:
    """SRAM array dynamic energy in pJ of ``stats``, one line-wide array access per event.

    Reads: read accesses plus dirty write-backs (the victim is read out); writes: write
    accesses plus fills. Energies per access from ``model`` for a ``line_bytes``-wide
    access to one of ``banks`` banks of ``capacity_bytes`` in all (an access activates only
    its bank, as the engine prices it). Tag-array energy is not modelled separately, and a
    write-through write miss (which does not touch the array) is still counted as a write,
    so write energy is an upper bound under write-through.
    """
    reads = stats.read_accesses + stats.dirty_writebacks
    writes = stats.write_accesses + stats.fills
    return reads * model.read_energy_pj(capacity_bytes, line_bytes, banks) + writes * (
        model.write_energy_pj(capacity_bytes, line_bytes, banks)
    )
