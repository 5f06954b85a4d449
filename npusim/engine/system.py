"""The memory path the engine drives: DMA -> SRAM cache -> LPDDR5 channels.

Only the engine builds and wires the units. Time here is core-clock cycles; the DRAM runs in
its own CK domain, and :meth:`MemoryPath.to_ck` / :meth:`MemoryPath.to_core` are the one
place the two clocks meet (rounding up: a result is never available before it exists).

Loads go through the cache: hits are served by the SRAM, missed lines are read from DRAM as
one batch, dirty victims are written back. Stores of finished output tiles stream straight
to DRAM (non-allocating DMA writes: a full-line write needs no read of the old line, and
outputs are not re-read within the layer).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from npusim.cache import BlockOutcome, SetAssociativeCache
from npusim.config import Scenario
from npusim.dram import DramSystem


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


@dataclass
class PathCounters:
    """Cumulative counts of the memory path (the engine diffs them per layer)."""

    hits: int = 0
    misses: int = 0
    dram_read_bytes: int = 0
    dram_write_bytes: int = 0
    dma_read_bytes: int = 0
    dma_write_bytes: int = 0
    sram_fill_bytes: int = 0
    # DRAM bytes read per load part: [0] the input tensor, [1] the weights (or 2nd operand)
    dram_read_bytes_by_part: list[int] = field(default_factory=lambda: [0, 0])


class MemoryPath:
    """The SRAM cache in front of the LPDDR5 system, with the two clocks reconciled."""

    def __init__(self, scenario: Scenario) -> None:
        self.dram = DramSystem(scenario.dram)
        # The 3C split walks every line in Python; the engine reports hits and misses only.
        self.cache = SetAssociativeCache(scenario.sram, classify_misses=False)
        self.line_bytes = scenario.sram.line_bytes
        self.core_hz = scenario.clock_hz
        self.ck_hz = self.dram.ck_hz
        self.counters = PathCounters()
        self.log = TrafficLog()

    def to_ck(self, core_cycle: float) -> int:
        return math.ceil(core_cycle * self.ck_hz / self.core_hz - 1e-9)

    def to_core(self, ck: int) -> int:
        return math.ceil(ck * self.core_hz / self.ck_hz - 1e-9)

    def load(self, parts: Sequence[tuple[np.ndarray, np.ndarray]], now: int) -> int:
        """Read byte blocks through the cache at core cycle ``now``; return the ready cycle.

        ``parts`` are (addresses, sizes) per tensor (input, weights); the missed lines of all
        parts go to DRAM as one batch, and :attr:`PathCounters.dram_read_bytes_by_part`
        records which part each fetched byte belonged to.
        """
        c = self.counters
        fetches, array_cycles = [], 0
        for index, (addrs, sizes) in enumerate(parts):
            if addrs.shape[0] == 0:
                continue
            outcome = self._access(addrs, sizes)
            c.hits += outcome.hits
            c.misses += outcome.misses
            c.dma_read_bytes += int(sizes.sum())
            c.dram_read_bytes_by_part[index] += outcome.fetch_addrs.shape[0] * self.line_bytes
            array_cycles += outcome.array_cycles
            fetches.append(outcome.fetch_addrs)
            if outcome.writeback_addrs.shape[0]:
                self._write(outcome.writeback_addrs, self.line_bytes, now)
        ready = now + array_cycles
        fetch = np.concatenate(fetches) if fetches else np.zeros(0, np.uint64)
        if fetch.shape[0]:
            fetched = fetch.shape[0] * self.line_bytes
            done = self.dram.serve(fetch, False, self.to_ck(now), self.line_bytes)
            end = self.to_core(int(done.max()))
            c.dram_read_bytes += fetched
            c.sram_fill_bytes += fetched
            self.log.add(now, end, fetched, 0)
            ready = max(ready, end + array_cycles)
        return ready

    def _access(self, addrs: np.ndarray, sizes: np.ndarray) -> BlockOutcome:
        if addrs.shape[0] == 1:
            return self.cache.access_block(int(addrs[0]), int(sizes[0]), False)
        return self.cache.access_trace(addrs, sizes, np.zeros(addrs.shape[0], bool))

    def store(self, addrs: np.ndarray, sizes: np.ndarray, now: int) -> int:
        """Write byte blocks to DRAM at core cycle ``now``; return the cycle they are done."""
        self.counters.dma_write_bytes += int(sizes.sum())
        return self._write(addrs, sizes, now)

    def _write(self, addrs: np.ndarray, sizes: np.ndarray | int, now: int) -> int:
        done = self.dram.serve(addrs, True, self.to_ck(now), sizes)
        written = int(np.broadcast_to(sizes, addrs.shape).sum())
        self.counters.dram_write_bytes += written
        end = self.to_core(int(done.max()))
        self.log.add(now, end, 0, written)
        return end
