"""Multi-channel LPDDR5 system: address decode, one controller per channel, stats.

The engine's API is :meth:`DramSystem.serve` (a batch of requests arriving together) and the
trace runner's is :meth:`DramSystem.run_trace`. Both split requests into bursts, decode all
addresses at once with numpy, hand each channel its bursts in order and report per-request
completion cycles in CK. Channels are independent: each has its own controller and front end.
"""

from __future__ import annotations

import numpy as np

from npusim.dram.controller import ChannelController
from npusim.dram.energy import DramEnergy
from npusim.dram.mapping import AddressMap
from npusim.dram.params import (
    PAGE_POLICIES,
    QUEUE_RELEASES,
    REFRESH_MODES,
    SCHEDULERS,
    WCK_SYNC_MODES,
    DramParams,
    check_params,
)
from npusim.dram.standard import (
    BANK_ARCHS,
    DENSITIES,
    PRESETS,
    burst_bytes,
    peak_bandwidth_bytes_per_s,
    resolve_timing,
    rows_per_bank,
)
from npusim.dram.stats import DramStats, channel_energy_until, collect_stats
from npusim.errors import ConfigError, Problem, TraceError
from npusim.trace import Trace


class DramSystem:
    """LPDDR5 memory system built from valid :class:`DramParams` (raises ``ConfigError``).

    ``log_commands=True`` records every command as ``(cycle, command, bank, row)`` per channel
    in ``command_logs`` (off by default: it costs memory and time).
    """

    def __init__(self, params: DramParams | None = None, *, log_commands: bool = False) -> None:
        params = params or DramParams()
        problems = check_params(params)
        if problems:
            raise ConfigError([Problem(f"dram.{path}", message) for path, message in problems])
        self.params = params
        speed = PRESETS[params.preset]
        arch = BANK_ARCHS[params.bank_arch]
        self.timing = resolve_timing(
            params.preset, params.density, params.bank_arch, params.burst_length, params.timing
        )
        self.energy = DramEnergy().with_overrides(params.energy)
        self.tck_ns = speed.tck_ps / 1000.0
        self.ck_hz = 1e12 / speed.tck_ps
        self.burst_bytes = burst_bytes(params.burst_length)
        self.page_bytes = arch.page_bytes
        self.channels = params.channels
        self.capacity_bytes = DENSITIES[params.density].capacity_bytes * params.channels
        self.peak_bytes_per_s = peak_bandwidth_bytes_per_s(params.preset, params.channels)
        self.address_map = AddressMap(
            params.mapping,
            channels=params.channels,
            bank_groups=arch.bank_groups,
            banks_per_group=arch.banks_per_group,
            rows=rows_per_bank(params.density, params.bank_arch),
            bursts_per_row=arch.page_bytes // self.burst_bytes,
            bank_hash=params.bank_hash,
        )
        self.controllers = [
            ChannelController(
                self.timing,
                banks=arch.banks,
                bank_groups=arch.bank_groups,
                scheduler=SCHEDULERS[params.scheduler],
                page_policy=PAGE_POLICIES[params.page_policy],
                refresh=REFRESH_MODES[params.refresh],
                read_queue_depth=params.read_queue_depth,
                write_queue_depth=params.write_queue_depth,
                write_high_watermark=params.write_high_watermark,
                write_low_watermark=params.write_low_watermark,
                queue_release=QUEUE_RELEASES[params.queue_release],
                wck_sync=WCK_SYNC_MODES[params.wck_sync],
                log=log_commands,
            )
            for _ in range(params.channels)
        ]
        self.bytes_requested = 0
        self._last_arrival = 0

    @property
    def command_logs(self) -> list[list[tuple[int, int, int, int]]]:
        """Per channel, the commands issued so far (empty lists unless ``log_commands``)."""
        return [c.dev.log or [] for c in self.controllers]

    def _bursts(self, addr: np.ndarray, size_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Burst indices covering each request, and the number of bursts of each request.

        A request with a size covers the bursts of its bytes; one without (size 0) is the one
        burst holding its address and counts as ``burst_bytes`` requested.
        """
        addr = np.asarray(addr, dtype=np.uint64).astype(np.int64)
        size = np.where(size_bytes > 0, size_bytes, self.burst_bytes).astype(np.int64)
        if addr.size and (int(addr.min()) < 0 or int((addr + size).max()) > self.capacity_bytes):
            bad = int(np.argmax((addr < 0) | (addr + size > self.capacity_bytes)))
            raise TraceError(
                f"request {bad} at address {int(addr[bad]):#x} (+{int(size[bad])} B) is beyond "
                f"the capacity of {self.capacity_bytes:#x} bytes "
                f"({self.channels} x {self.params.density})"
            )
        shift = self.burst_bytes.bit_length() - 1
        first = addr >> shift
        last_byte = np.where(size_bytes > 0, addr + size - 1, addr)  # no size: the one burst
        counts = (last_byte >> shift) - first + 1
        self.bytes_requested += int(size.sum())
        if counts.size and int(counts.max()) == 1:  # one burst each: nothing to spread
            return first, counts
        offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
            np.cumsum(counts) - counts, counts
        )
        return np.repeat(first, counts) + offsets, counts

    def _serve_bursts(
        self, bursts: np.ndarray, is_write: np.ndarray, arrival: np.ndarray, timed: bool
    ) -> np.ndarray:
        decoded = self.address_map.decode(bursts)
        completion = np.empty(bursts.shape[0], dtype=np.int64)
        for index, controller in enumerate(self.controllers):
            mine = np.flatnonzero(decoded.channel == index) if self.channels > 1 else None
            if mine is None:
                completion[:] = controller.run(decoded.bank, decoded.row, is_write, arrival, timed)
            elif mine.size:
                completion[mine] = controller.run(
                    decoded.bank[mine], decoded.row[mine], is_write[mine], arrival[mine], timed
                )
        return completion

    def serve(
        self,
        addr_bytes: np.ndarray,
        is_write: np.ndarray | bool,
        arrival_ck: int,
        size_bytes: np.ndarray | int = 0,
    ) -> np.ndarray:
        """Serve requests that all arrive at ``arrival_ck``; return each one's completion CK.

        ``addr_bytes``: byte addresses (1-D integer array); ``is_write``: bool array or one
        bool for all; ``size_bytes``: bytes per request (0 or omitted: one burst). Arrival
        cycles must not decrease across calls (``ValueError``); addresses beyond capacity raise
        ``TraceError``. Completion is the cycle the last burst of a request finished.
        """
        if arrival_ck < self._last_arrival:
            raise ValueError(f"arrival {arrival_ck} is before the previous {self._last_arrival}")
        self._last_arrival = arrival_ck
        addr = np.atleast_1d(np.asarray(addr_bytes))
        writes = np.broadcast_to(np.asarray(is_write, dtype=bool), addr.shape)
        sizes = np.broadcast_to(np.asarray(size_bytes, dtype=np.int64), addr.shape)
        bursts, counts = self._bursts(addr, sizes)
        arrival = np.full(bursts.shape[0], arrival_ck, dtype=np.int64)
        per_burst = self._serve_bursts(bursts, np.repeat(writes, counts), arrival, timed=False)
        return _per_request(per_burst, counts)

    def run_trace(self, trace: Trace) -> np.ndarray:
        """Run a parsed trace; return each request's completion CK.

        Untimed traces (``LD``/``ST``) arrive as fast as the controller accepts them (the
        queues kept full); timed traces arrive at their cycle (CK of this system), latency
        counted from it.
        """
        bursts, counts = self._bursts(trace.addr, trace.size_bytes)
        timed = trace.arrival_cycle is not None
        single = bursts.size == counts.size  # one burst per request
        if timed:
            cycles = trace.arrival_cycle.astype(np.int64)
            arrival = cycles if single else np.repeat(cycles, counts)
        else:
            arrival = np.full(bursts.shape[0], self._last_arrival, dtype=np.int64)
        writes = trace.is_write if single else np.repeat(trace.is_write, counts)
        per_burst = self._serve_bursts(bursts, writes, arrival, timed)
        if timed and arrival.size:
            self._last_arrival = int(arrival[-1])
        return _per_request(per_burst, counts)

    def stats(self) -> DramStats:
        """Per-channel and total statistics of everything served so far."""
        return collect_stats(self)

    def energy_until(self, until_ck: int) -> float:
        """Energy in pJ of all channels from cycle 0 to ``until_ck``, idle time included
        (:func:`npusim.dram.stats.channel_energy_until`): the difference between two cycles
        is the energy of that interval. Cheap: no latency percentiles."""
        return sum(channel_energy_until(ctrl, self, until_ck) for ctrl in self.controllers)


def _per_request(per_burst: np.ndarray, counts: np.ndarray) -> np.ndarray:
    if per_burst.size == 0 or per_burst.size == counts.size:  # one burst per request
        return per_burst
    starts = np.cumsum(counts) - counts
    return np.maximum.reduceat(per_burst, starts)
