"""The memory path the engine drives: DMA -> SRAM (cache or scratchpad) -> LPDDR5 channels.

Only the engine builds and wires the units. Time here is core-clock cycles; the DRAM runs in
its own CK domain, and :meth:`MemoryPath.to_ck` / :meth:`MemoryPath.to_core` are the one
place the two clocks meet (rounding up: a result is never available before it exists).

Cache mode (:class:`MemoryPath`): loads go through the cache; hits are served by the SRAM,
missed lines are read from DRAM as one batch, dirty victims are written back (a spill of a
live tensor). A stored output tile that a later layer reads is written into the cache
(write-allocate of whole lines, no fill: the DMA overwrites them); an output nobody on chip
reads again (a network output) streams straight to DRAM. A dead tensor's lines are dropped
without write-back (:meth:`MemoryPath.drop`).

Scratchpad mode (:class:`ScratchpadPath`): the compile-time allocator decided which tensors
live in the SRAM; a transfer of an on-chip tensor costs SRAM port time only, any other one
goes to DRAM directly (explicit DMA, no cache).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from npusim.cache import BlockOutcome, SetAssociativeCache
from npusim.config import Scenario
from npusim.dram import DramSystem

ACTIVATION, WEIGHT = 0, 1
"""Kinds of a load part: an activation tensor, or a stored tensor (weights, a KV cache)."""


class LoadPart(NamedTuple):
    """Byte blocks of one tensor to load: int64 ``addrs`` and ``sizes``, the tensor's kind
    (:data:`ACTIVATION` or :data:`WEIGHT`) and whether the allocator keeps it on chip
    (scratchpad mode; the cache decides for itself in cache mode)."""

    addrs: np.ndarray
    sizes: np.ndarray
    kind: int
    on_chip: bool = False


@dataclass
class TrafficLog:
    """DRAM transfers as (start, end) core cycles and bytes, for bandwidth-over-time plots."""

    start: list[int] = field(default_factory=list)
    end: list[int] = field(default_factory=list)
    read_bytes: list[int] = field(default_factory=list)
    write_bytes: list[int] = field(default_factory=list)

    def add(self, start: int, end: int, read_bytes: int, write_bytes: int) -> None:
        self.start.append(start)
        self.end.append(end)
        self.read_bytes.append(read_bytes)
        self.write_bytes.append(write_bytes)


def _pair() -> list[int]:
    return [0, 0]


@dataclass
class PathCounters:
    """Cumulative counts of the memory path (the engine diffs them per layer).

    Lists hold ``[activation, weight]`` figures. ``dma_read_bytes_by_kind`` are the bytes the
    loader asked for, ``dram_read_bytes_by_kind`` what came from DRAM. DRAM writes split into
    ``output_write_bytes`` (stores that go to DRAM: network outputs, scratchpad spills) and
    ``spill_write_bytes`` (dirty lines of live tensors evicted from the cache).
    """

    hits_by_kind: list[int] = field(default_factory=_pair)
    misses_by_kind: list[int] = field(default_factory=_pair)
    dma_read_bytes_by_kind: list[int] = field(default_factory=_pair)
    dram_read_bytes_by_kind: list[int] = field(default_factory=_pair)
    dma_write_bytes: int = 0
    output_write_bytes: int = 0
    spill_write_bytes: int = 0
    sram_fill_bytes: int = 0
    sram_store_bytes: int = 0
    dropped_dirty_bytes: int = 0

    @property
    def hits(self) -> int:
        return sum(self.hits_by_kind)

    @property
    def misses(self) -> int:
        return sum(self.misses_by_kind)

    @property
    def dram_read_bytes(self) -> int:
        return sum(self.dram_read_bytes_by_kind)

    @property
    def dram_write_bytes(self) -> int:
        return self.output_write_bytes + self.spill_write_bytes

    def minus(self, before: PathCounters) -> PathCounters:
        """The counts since ``before`` (a copy taken earlier)."""

        def diff(a: int | list[int], b: int | list[int]) -> int | list[int]:
            if isinstance(a, list):
                return [x - y for x, y in zip(a, b, strict=True)]  # type: ignore[arg-type]
            return a - b  # type: ignore[operator]

        names = self.__dataclass_fields__
        return PathCounters(*(diff(getattr(self, f), getattr(before, f)) for f in names))


class _DramSide:
    """The LPDDR5 system behind the SRAM, with the two clocks reconciled."""

    def __init__(self, scenario: Scenario) -> None:
        self.dram = DramSystem(scenario.dram)
        self.line_bytes = scenario.sram.line_bytes
        self.core_hz = scenario.clock_hz
        self.ck_hz = self.dram.ck_hz
        self.counters = PathCounters()
        self.log = TrafficLog()

    def to_ck(self, core_cycle: float) -> int:
        return math.ceil(core_cycle * self.ck_hz / self.core_hz - 1e-9)

    def to_core(self, ck: int) -> int:
        return math.ceil(ck * self.core_hz / self.ck_hz - 1e-9)

    def _read(self, addrs: np.ndarray, sizes: np.ndarray | int, now: int) -> tuple[int, int]:
        """Read blocks from DRAM at ``now``; return (bytes, the core cycle they are in)."""
        done = self.dram.serve(addrs, False, self.to_ck(now), sizes)
        read = int(np.broadcast_to(sizes, addrs.shape).sum())
        end = self.to_core(int(done.max()))
        self.log.add(now, end, read, 0)
        return read, end

    def _write(self, addrs: np.ndarray, sizes: np.ndarray | int, now: int) -> tuple[int, int]:
        """Write blocks to DRAM at ``now``; return (bytes, the core cycle they are done)."""
        done = self.dram.serve(addrs, True, self.to_ck(now), sizes)
        written = int(np.broadcast_to(sizes, addrs.shape).sum())
        end = self.to_core(int(done.max()))
        self.log.add(now, end, 0, written)
        return written, end


class MemoryPath(_DramSide):
    """Cache mode: the SRAM cache in front of the LPDDR5 system (see the module docstring)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        # The 3C split walks every line in Python; the engine reports hits and misses only.
        self.cache = SetAssociativeCache(scenario.sram, classify_misses=False)

    def load(self, parts: Sequence[LoadPart], now: int) -> int:
        """Read byte blocks through the cache at core cycle ``now``; return the ready cycle.

        The missed lines of all parts go to DRAM as one batch; the counters record which
        kind of tensor each fetched byte belonged to.
        """
        c = self.counters
        fetches, array_cycles = [], 0
        for part in parts:
            if part.addrs.shape[0] == 0:
                continue
            outcome = self._access(part.addrs, part.sizes)
            c.hits_by_kind[part.kind] += outcome.hits
            c.misses_by_kind[part.kind] += outcome.misses
            c.dma_read_bytes_by_kind[part.kind] += int(part.sizes.sum())
            c.dram_read_bytes_by_kind[part.kind] += outcome.fetch_addrs.shape[0] * self.line_bytes
            array_cycles += outcome.array_cycles
            fetches.append(outcome.fetch_addrs)
            self._spill(outcome.writeback_addrs, now)
        ready = now + array_cycles
        fetch = np.concatenate(fetches) if fetches else np.zeros(0, np.uint64)
        if fetch.shape[0]:
            fetched, end = self._read(fetch, self.line_bytes, now)
            c.sram_fill_bytes += fetched
            ready = max(ready, end + array_cycles)
        return ready

    def _access(self, addrs: np.ndarray, sizes: np.ndarray) -> BlockOutcome:
        if addrs.shape[0] == 1:
            return self.cache.access_block(int(addrs[0]), int(sizes[0]), False)
        return self.cache.access_trace(addrs, sizes, np.zeros(addrs.shape[0], bool))

    def _spill(self, writeback_addrs: np.ndarray, now: int) -> int:
        """Write dirty victims back to DRAM; return the cycle they are done (``now`` if none)."""
        if not writeback_addrs.shape[0]:
            return now
        written, end = self._write(writeback_addrs, self.line_bytes, now)
        self.counters.spill_write_bytes += written
        return end

    def store(self, addrs: np.ndarray, sizes: np.ndarray, now: int, on_chip: bool) -> int:
        """Write an output tile at ``now``: into the cache when a later layer reads it
        (``on_chip``), else straight to DRAM; return the cycle it is done."""
        c = self.counters
        stored = int(sizes.sum())
        c.dma_write_bytes += stored
        if not on_chip:
            written, end = self._write(addrs, sizes, now)
            c.output_write_bytes += written
            return end
        outcome = self.cache.access_trace(addrs, sizes, np.ones(addrs.shape[0], bool),
                                          whole_line_writes=True)  # fmt: skip
        c.sram_store_bytes += stored
        return max(now + outcome.array_cycles, self._spill(outcome.writeback_addrs, now))

    def drop(self, base: int, size_bytes: int) -> None:
        """A tensor died: its lines leave the cache without write-back."""
        _, dirty = self.cache.invalidate(base, size_bytes)
        self.counters.dropped_dirty_bytes += dirty * self.line_bytes

    def resident_lines(self) -> np.ndarray:
        """Byte addresses (int64) of every valid line in the SRAM."""
        cache = self.cache
        sets, ways = np.nonzero(cache.tags >= 0)
        lines = (cache.tags[sets, ways] << cache.set_bits) | sets
        return lines << cache.line_shift


class ScratchpadPath(_DramSide):
    """Scratchpad mode: on-chip tensors cost SRAM port time, the rest goes to DRAM directly."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        sram = scenario.sram
        self.bytes_per_cycle = sram.banks * sram.port_bytes
        self.latency = sram.hit_latency_cycles

    def sram_cycles(self, size_bytes: int) -> int:
        """Cycles to move ``size_bytes`` through all SRAM bank ports at once."""
        return self.latency + -(-size_bytes // self.bytes_per_cycle)

    def load(self, parts: Sequence[LoadPart], now: int) -> int:
        """Read each part from the SRAM (on chip) or from DRAM; return the ready cycle."""
        c = self.counters
        on_chip, ready = 0, now
        for part in parts:
            size = int(part.sizes.sum())
            if size == 0:
                continue
            c.dma_read_bytes_by_kind[part.kind] += size
            if part.on_chip:
                on_chip += size
                c.hits_by_kind[part.kind] += -(-size // self.line_bytes)
                continue
            read, end = self._read(part.addrs, part.sizes, now)
            c.misses_by_kind[part.kind] += -(-size // self.line_bytes)
            c.dram_read_bytes_by_kind[part.kind] += read
            c.sram_fill_bytes += read
            ready = max(ready, end)
        return max(ready, now + self.sram_cycles(on_chip)) if on_chip else ready

    def store(self, addrs: np.ndarray, sizes: np.ndarray, now: int, on_chip: bool) -> int:
        """Write an output tile to its SRAM home (``on_chip``) or to DRAM (spilled)."""
        c = self.counters
        stored = int(sizes.sum())
        c.dma_write_bytes += stored
        if on_chip:
            c.sram_store_bytes += stored
            return now + self.sram_cycles(stored)
        written, end = self._write(addrs, sizes, now)
        c.output_write_bytes += written
        return end

    def drop(self, base: int, size_bytes: int) -> None:
        """Nothing to do: the allocator already reuses a dead tensor's space."""
