"""Timed cache with MSHRs in front of a next level, in integer cycles of the cache clock.

Per request, plain arithmetic (no SimPy event per line): the requester issues at most one
line request per cycle and does not wait for completions (non-blocking), so several misses
can be outstanding. A tag lookup takes ``hit_latency_cycles``; a bank moves ``port_bytes`` per
cycle, so a line occupies its bank ``ceil(line_bytes / port_bytes)`` cycles. A primary miss
takes an MSHR and sends one line read to the next level after the lookup; a miss to a line
already in flight (secondary miss) waits for that fill and sends nothing; when every MSHR is
busy the requester stalls until the earliest fill returns. Write-backs and write-through
writes are posted to the next level (an unbounded write buffer; not modelled as a stall).
The hit/miss decisions are those of :class:`SetAssociativeCache` (a line is allocated when its
miss is issued), so the functional counts equal the untimed model's on the same requests.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import CacheParams


class NextLevel(Protocol):
    """The memory below the cache (the LPDDR5 controller in the engine)."""

    def read_line(self, addr: int, cycle: int) -> int:
        """Read the line at byte ``addr`` issued at ``cycle``; return the arrival cycle."""
        ...

    def write_line(self, addr: int, cycle: int) -> None:
        """Post a write of the line at byte ``addr`` at ``cycle``."""
        ...


@dataclass
class FixedLatencyMemory:
    """Next level answering every read ``latency_cycles`` after issue; logs all requests."""

    latency_cycles: int
    reads: list[tuple[int, int]] = field(default_factory=list)
    writes: list[tuple[int, int]] = field(default_factory=list)

    def read_line(self, addr: int, cycle: int) -> int:
        self.reads.append((addr, cycle))
        return cycle + self.latency_cycles

    def write_line(self, addr: int, cycle: int) -> None:
        self.writes.append((addr, cycle))


@dataclass(frozen=True)
class TimedResult:
    """Per-request ``issue_cycle`` and ``completion_cycle`` (int64, shape (n,)), the last
    completion, and MSHR activity: merged secondary misses and requester stall cycles."""

    issue_cycle: np.ndarray
    completion_cycle: np.ndarray
    total_cycles: int
    mshr_merges: int
    mshr_stall_cycles: int


class TimedCache:
    """A :class:`SetAssociativeCache` with MSHRs, banks and a :class:`NextLevel`."""

    def __init__(
        self, params: CacheParams, next_level: NextLevel, classify_misses: bool = False
    ) -> None:
        self.cache = SetAssociativeCache(params, classify_misses)
        self.params = params
        self.next_level = next_level
        self.in_flight: dict[int, int] = {}
        self.busy_mshrs: list[tuple[int, int]] = []
        self.bank_free = [0] * params.banks
        self.next_issue = 0
        self.mshr_merges = 0
        self.mshr_stall_cycles = 0

    def access(self, addr: int, is_write: bool, cycle: int) -> tuple[int, int]:
        """One line request arriving at ``cycle``; return (issue cycle, completion cycle)."""
        p = self.params
        issue = max(cycle, self.next_issue)
        self._retire(issue)
        line = addr >> self.cache.line_shift
        ready = self.in_flight.get(line, -1)
        outcome = self.cache.access_block(line << self.cache.line_shift, 1, is_write)
        if outcome.fetch_addrs.size:
            if len(self.busy_mshrs) >= p.mshrs:
                free_at = self.busy_mshrs[0][0]
                self.mshr_stall_cycles += free_at - issue
                issue = free_at
                self._retire(issue)
            fetch_addr = int(outcome.fetch_addrs[0])
            ready = self.next_level.read_line(fetch_addr, issue + p.hit_latency_cycles)
            heapq.heappush(self.busy_mshrs, (ready, line))
            self.in_flight[line] = ready
            done = ready
        elif outcome.hits and ready > issue:
            self.mshr_merges += 1
            done = max(ready, issue + p.hit_latency_cycles)
        else:
            bank = line % p.banks
            start = max(issue, self.bank_free[bank])
            self.bank_free[bank] = start + self.cache.line_cycles
            done = start + p.hit_latency_cycles + self.cache.line_cycles
        posted = issue + p.hit_latency_cycles
        for victim in outcome.writeback_addrs.tolist() + outcome.write_through_addrs.tolist():
            self.next_level.write_line(victim, posted)
        self.next_issue = issue + 1
        return issue, done

    def _retire(self, cycle: int) -> None:
        """Free the MSHRs whose fill has arrived by ``cycle``."""
        while self.busy_mshrs and self.busy_mshrs[0][0] <= cycle:
            ready, line = heapq.heappop(self.busy_mshrs)
            if self.in_flight.get(line) == ready:
                del self.in_flight[line]

    def run(
        self,
        addr: np.ndarray,
        is_write: np.ndarray,
        arrival_cycle: np.ndarray | None = None,
        size_bytes: np.ndarray | None = None,
    ) -> TimedResult:
        """Run requests in order (``arrival_cycle`` None: all arrive at cycle 0); a request of
        ``size_bytes`` spanning several lines issues one line per cycle and completes with
        its last line."""
        n = int(np.asarray(addr).shape[0])
        arrivals = np.zeros(n, np.int64) if arrival_cycle is None else arrival_cycle
        sizes = np.zeros(n, np.int64) if size_bytes is None else size_bytes
        issued = np.zeros(n, dtype=np.int64)
        completed = np.zeros(n, dtype=np.int64)
        line_bytes = self.params.line_bytes
        columns = (addr, is_write, arrivals, sizes)
        requests = zip(*(np.asarray(c).tolist() for c in columns), strict=True)
        for i, (a, w, t, s) in enumerate(requests):
            first, last = a // line_bytes, (a + max(s, 1) - 1) // line_bytes
            times = [self.access(line * line_bytes, w, t) for line in range(first, last + 1)]
            issued[i] = times[0][0]
            completed[i] = max(done for _, done in times)
        return TimedResult(
            issue_cycle=issued,
            completion_cycle=completed,
            total_cycles=int(completed.max()) if n else 0,
            mshr_merges=self.mshr_merges,
            mshr_stall_cycles=self.mshr_stall_cycles,
        )
