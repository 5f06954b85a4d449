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
    ``spill_write_bytes`` (dirty lines of live tensors evicted from the cache). DRAM bytes are
    what the DRAM bus moved, in whole bursts (a cache line smaller than a burst, or a block
    edge inside one, still costs the whole burst).
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


class Transfer(NamedTuple):
    """A transfer in flight (a load, or a store draining its buffer): done at
    :meth:`_DramSide.ready` and no earlier than ``floor``; ``ticket`` is the DRAM batch it
    waits for (-1: none), ``tail`` the SRAM cycles after that batch's last line arrives."""

    floor: int
    ticket: int = -1
    tail: int = 0


class _DramSide:
    """The LPDDR5 system behind the SRAM, with the two clocks reconciled.

    Transfers are submitted when the DMA issues them and timed when their end is first asked
    for (:meth:`npusim.dram.DramSystem.result`): loads issued while earlier ones are still
    in flight share the controllers' queues with them.
    """

    def __init__(self, scenario: Scenario) -> None:
        self.dram = DramSystem(scenario.dram)
        self.line_bytes = scenario.sram.line_bytes
        self.core_hz = scenario.clock_hz
        self.ck_hz = self.dram.ck_hz
        self.counters = PathCounters()
        self.log = TrafficLog()
        self.fill_bytes = max(self.line_bytes, self.dram.burst_bytes)  # bus bytes per line
        self._log_index: dict[int, int] = {}  # ticket -> its traffic-log entry, until timed
        self._times: dict[int, tuple[int, int]] = {}  # ticket -> (done, accepted) core cycles

    def to_ck(self, core_cycle: float) -> int:
        return math.ceil(core_cycle * self.ck_hz / self.core_hz - 1e-9)

    def to_core(self, ck: int) -> int:
        return math.ceil(ck * self.core_hz / self.ck_hz - 1e-9)

    def _submit(self, addrs: np.ndarray, sizes: np.ndarray | int, now: int, write: bool
                ) -> tuple[int, int]:  # fmt: skip
        """Issue blocks to DRAM at ``now``; return (bytes on the DRAM bus, whole bursts;
        ticket for :meth:`_timed`)."""
        ticket, moved = self.dram.submit(addrs, write, self.to_ck(now), sizes)
        self._log_index[ticket] = len(self.log.start)
        self.log.add(now, now, 0 if write else moved, moved if write else 0)
        return moved, ticket

    def _timed(self, ticket: int) -> tuple[int, int]:
        """(core cycle a submitted transfer is done, cycle its last request entered the DRAM
        queues); times it, and everything submitted before it, on first asking."""
        times = self._times.get(ticket)
        if times is None:
            served = self.dram.result(ticket)
            end = self.to_core(int(served.done_ck.max()))
            times = self._times[ticket] = (end, self.to_core(served.accepted_ck))
            self.log.end[self._log_index.pop(ticket)] = end
        return times

    def ready(self, transfer: Transfer) -> int:
        """The core cycle a transfer is done (a load's data is in the SRAM)."""
        if transfer.ticket < 0:
            return transfer.floor
        return max(transfer.floor, self._timed(transfer.ticket)[0] + transfer.tail)

    def freed(self, store: Transfer) -> int:
        """The core cycle a store's buffer is free: writes are posted, so once its data is
        in the DRAM controllers' write queues (or in the SRAM)."""
        if store.ticket < 0:
            return store.floor
        return max(store.floor, self._timed(store.ticket)[1])

    def settle(self) -> None:
        """Time every transfer nobody waited for (dirty-line spills) so the log is complete;
        forget the times of the layer's transfers."""
        for ticket in list(self._log_index):
            self._timed(ticket)
        self._times.clear()


class MemoryPath(_DramSide):
    """Cache mode: the SRAM cache in front of the LPDDR5 system (see the module docstring)."""

    def __init__(self, scenario: Scenario) -> None:
        super().__init__(scenario)
        # The 3C split walks every line in Python; the engine reports hits and misses only.
        self.cache = SetAssociativeCache(scenario.sram, classify_misses=False)
        self._set_column: np.ndarray | None = None  # each set's index, for resident_lines

    def load(self, parts: Sequence[LoadPart], now: int) -> Transfer:
        """Issue a read of byte blocks through the cache at core cycle ``now``.

        The missed lines of all parts go to DRAM as one batch; the counters record which
        kind of tensor each fetched byte belonged to. Dirty victims are written back behind
        it, waited for by no one (the line is free once its data left the array).
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
            # whole aligned lines: each costs max(line, burst) bytes of bus (powers of two)
            c.dram_read_bytes_by_kind[part.kind] += outcome.fetch_addrs.shape[0] * self.fill_bytes
            array_cycles += outcome.array_cycles
            fetches.append(outcome.fetch_addrs)
            self._spill(outcome.writeback_addrs, now)
        fetch = np.concatenate(fetches) if fetches else np.zeros(0, np.uint64)
        if not fetch.shape[0]:
            return Transfer(now + array_cycles)
        _, ticket = self._submit(fetch, self.line_bytes, now, False)
        c.sram_fill_bytes += fetch.shape[0] * self.line_bytes
        return Transfer(now + array_cycles, ticket, array_cycles)

    def _access(self, addrs: np.ndarray, sizes: np.ndarray) -> BlockOutcome:
        if addrs.shape[0] == 1:
            return self.cache.access_block(int(addrs[0]), int(sizes[0]), False)
        return self.cache.access_trace(addrs, sizes, np.zeros(addrs.shape[0], bool))

    def _spill(self, writeback_addrs: np.ndarray, now: int) -> int:
        """Issue dirty victims' write-back to DRAM; return its ticket (-1 if none)."""
        if not writeback_addrs.shape[0]:
            return -1
        written, ticket = self._submit(writeback_addrs, self.line_bytes, now, True)
        self.counters.spill_write_bytes += written
        return ticket

    def store(self, addrs: np.ndarray, sizes: np.ndarray, now: int, on_chip: bool) -> Transfer:
        """Issue the write of an output tile at ``now``: into the cache when a later layer
        reads it (``on_chip``; victims it evicts are written back), else to DRAM. The
        tile's buffer is free at :meth:`freed`, the write done at :meth:`ready`."""
        c = self.counters
        stored = int(sizes.sum())
        c.dma_write_bytes += stored
        if not on_chip:
            written, ticket = self._submit(addrs, sizes, now, True)
            c.output_write_bytes += written
            return Transfer(now, ticket)
        outcome = self.cache.access_trace(addrs, sizes, np.ones(addrs.shape[0], bool),
                                          whole_line_writes=True)  # fmt: skip
        c.sram_store_bytes += stored
        return Transfer(now + outcome.array_cycles, self._spill(outcome.writeback_addrs, now))

    def drop(self, base: int, size_bytes: int) -> None:
        """A tensor died: its lines leave the cache without write-back."""
        _, dirty = self.cache.invalidate(base, size_bytes)
        self.counters.dropped_dirty_bytes += dirty * self.line_bytes

    def resident_lines(self) -> np.ndarray:
        """Byte addresses (int64) of every valid line in the SRAM."""
        cache = self.cache
        if self._set_column is None:
            self._set_column = np.arange(cache.sets, dtype=np.int64)[:, None]
        lines = (cache.tags << cache.set_bits) | self._set_column
        return lines[cache.tags >= 0] << cache.line_shift


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

    def load(self, parts: Sequence[LoadPart], now: int) -> Transfer:
        """Issue a read of each part from the SRAM (on chip) or from DRAM at ``now``; the
        parts read from DRAM go as one batch."""
        c = self.counters
        on_chip, addrs, sizes = 0, [], []
        for part in parts:
            size = int(part.sizes.sum())
            if size == 0:
                continue
            c.dma_read_bytes_by_kind[part.kind] += size
            if part.on_chip:
                on_chip += size
                c.hits_by_kind[part.kind] += -(-size // self.line_bytes)
                continue
            addrs.append(part.addrs)
            sizes.append(part.sizes)
            c.misses_by_kind[part.kind] += -(-size // self.line_bytes)
            c.dram_read_bytes_by_kind[part.kind] += self.dram.bus_bytes(part.addrs, part.sizes)
            c.sram_fill_bytes += size
        floor = now + self.sram_cycles(on_chip) if on_chip else now
        if not addrs:
            return Transfer(floor)
        _, ticket = self._submit(np.concatenate(addrs), np.concatenate(sizes), now, False)
        return Transfer(floor, ticket)

    def store(self, addrs: np.ndarray, sizes: np.ndarray, now: int, on_chip: bool) -> Transfer:
        """Issue the write of an output tile to its SRAM home (``on_chip``) or to DRAM
        (spilled) at ``now``; its buffer is free at :meth:`freed`, the write done at
        :meth:`ready`."""
        c = self.counters
        stored = int(sizes.sum())
        c.dma_write_bytes += stored
        if on_chip:
            c.sram_store_bytes += stored
            return Transfer(now + self.sram_cycles(stored))
        written, ticket = self._submit(addrs, sizes, now, True)
        c.output_write_bytes += written
        return Transfer(now, ticket)

    def drop(self, base: int, size_bytes: int) -> None:
        """Nothing to do: the allocator already reuses a dead tensor's space."""
