"""Standalone trace runs: a trace through the cache, summarized with energy and area."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from npusim.cache.energy import SramEnergyModel
from npusim.cache.model import SetAssociativeCache, validated
from npusim.cache.params import CacheParams
from npusim.cache.runs import line_spans
from npusim.cache.stats import CacheStats, dynamic_energy_pj
from npusim.cache.timed import FixedLatencyMemory, TimedCache, TimedResult
from npusim.trace import Trace


@dataclass(frozen=True)
class TraceRun:
    """Result of one trace: the stats, the SRAM energy (pJ, 45 nm table unless overridden),
    leakage (W) and area (mm^2) of the configured capacity, and the timed result if run."""

    params: CacheParams
    requests: int
    stats: CacheStats
    dynamic_energy_pj: float
    leakage_power_w: float
    area_mm2: float
    timed: TimedResult | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary (stats keys as in :meth:`CacheStats.to_dict`)."""
        p = self.params
        data: dict[str, object] = {
            "cache": {
                "capacity_bytes": p.capacity_bytes,
                "line_bytes": p.line_bytes,
                "ways": p.ways,
                "sets": p.sets,
                "replacement": p.replacement.value,
                "write_policy": p.write_policy.value,
            },
            "requests": self.requests,
            **self.stats.to_dict(),
            "dynamic_energy_pj": self.dynamic_energy_pj,
            "leakage_power_w": self.leakage_power_w,
            "area_mm2": self.area_mm2,
        }
        if self.timed is not None:
            data["timed"] = {
                "total_cycles": self.timed.total_cycles,
                "mshr_merges": self.timed.mshr_merges,
                "mshr_stall_cycles": self.timed.mshr_stall_cycles,
            }
        return data


CHUNK_LINES = 1 << 20
"""Line accesses the runner expands at once: the model is sequential, so a trace run in pieces
counts exactly what it counts in one go, and memory stays bounded (a 1 GiB request is 16.8M
line accesses of 64 B; expanded at once it took about 1 GB)."""


def trace_chunks(
    trace: Trace, line_bytes: int, chunk_lines: int = CHUNK_LINES
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``trace``'s requests in order as (addr uint64, size_bytes int64, is_write bool) pieces
    of at most ``chunk_lines`` line accesses each (or one request of one line): a request
    longer than that is cut at line boundaries into consecutive requests whose sizes add up
    to its own."""
    shift = line_bytes.bit_length() - 1
    addr = trace.addr.astype(np.int64)
    size = trace.size_bytes.astype(np.int64)
    _, span = line_spans(addr, size, shift)
    ends = np.cumsum(span)
    start = 0
    while start < len(trace):
        base = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, base + chunk_lines, side="right")), start + 1)
        if stop > start + 1 or span[start] <= chunk_lines:
            yield trace.addr[start:stop], trace.size_bytes[start:stop], trace.is_write[start:stop]
        else:  # one request of more than chunk_lines lines: its pieces, in order
            end_addr = int(addr[start] + size[start])
            piece_start = int(addr[start])
            while piece_start < end_addr:
                piece_end = min(end_addr, ((piece_start >> shift) + chunk_lines) << shift)
                yield (np.array([piece_start], np.uint64),
                       np.array([piece_end - piece_start], np.int64),
                       trace.is_write[start:start + 1])  # fmt: skip
                piece_start = piece_end
        start = stop


def run_trace(
    trace: Trace,
    params: CacheParams,
    energy: SramEnergyModel | None = None,
    classify_misses: bool = True,
    memory_latency_cycles: int | None = None,
) -> TraceRun:
    """Run ``trace`` through a cache of ``params`` (ConfigError if invalid).

    Requests are taken in file order; a timed trace's cycles matter only with
    ``memory_latency_cycles``, which adds a :class:`TimedCache` run against a fixed-latency
    next level (MSHRs, banks, stalls). Size 0 means one access to the line holding the address.
    """
    validated(params)
    energy = energy or SramEnergyModel()
    cache = SetAssociativeCache(params, classify_misses)
    for addr, size, is_write in trace_chunks(trace, params.line_bytes):
        cache.access_trace(addr, size, is_write)
    timed = None
    if memory_latency_cycles is not None:
        timed_cache = TimedCache(params, FixedLatencyMemory(memory_latency_cycles))
        timed = timed_cache.run(trace.addr, trace.is_write, trace.arrival_cycle, trace.size_bytes)
    return TraceRun(
        params=params,
        requests=len(trace),
        stats=cache.stats,
        dynamic_energy_pj=dynamic_energy_pj(
            cache.stats, params.capacity_bytes, params.line_bytes, energy, params.banks
        ),
        leakage_power_w=energy.leakage_power_w(params.capacity_bytes),
        area_mm2=energy.area_mm2(params.capacity_bytes),
        timed=timed,
    )
