"""Multi-channel LPDDR5 system: address decode, one controller per channel, stats.

The engine's API is :meth:`DramSystem.submit` / :meth:`DramSystem.result` (batches of
requests submitted as they are issued, served when a completion is asked for: every batch
submitted by then is served together, each at its own arrival cycle, so the controllers'
queues see the next batch while they finish the previous one, as behind a DMA engine with
several batches in flight); :meth:`DramSystem.serve` is both at once. The trace runner's is
:meth:`DramSystem.run_trace`. All split requests into bursts, decode all addresses at once
with numpy, hand each channel its bursts in order and report per-request completion cycles
in CK. Channels are independent: each has its own controller and front end.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from npusim.dram.controller import ChannelController
from npusim.dram.energy import default_energy
from npusim.dram.io_bits import IoActivity, channel_activity
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
from npusim.dram.powerdown import OFF, PowerDown
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
from npusim.dram.trace_parts import PART_BURSTS, run_parts
from npusim.errors import ConfigError, Problem, TraceError
from npusim.trace import Trace


class Submitted(NamedTuple):
    """A batch handed to :meth:`DramSystem.submit`: its ticket and its bus bytes."""

    ticket: int
    bus_bytes: int


class Served(NamedTuple):
    """A served batch: each request's completion CK (int64 array) and the CK its last burst
    entered a controller's queue (a posted write's data is then off the requester's hands;
    its arrival CK for an empty batch)."""

    done_ck: np.ndarray
    accepted_ck: int


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
        self.energy = default_energy(params.preset).with_overrides(params.energy)
        self.tck_ns = speed.tck_ps / 1000.0
        self.speed_ck_per_cycle = speed.ck_per_cycle
        """CK per controller cycle: 1 (LPDDR5/5X), 2 (LPDDR6's command slot)."""
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
                power_down=self._power_down(params),
                log=log_commands,
            )
            for _ in range(params.channels)
        ]
        self.bytes_requested = 0
        self.last_arrival_ck = 0
        """Arrival CK of the latest request (untimed trace requests arrive at it)."""
        self.part_bursts: int | None = None
        """Bursts :meth:`run_trace` expands and serves at a time (:mod:`trace_parts`); None:
        :data:`trace_parts.PART_BURSTS`, an eighth of it for the Python loop."""
        # Submitted batches not served yet: (bursts, writes, arrival CK, bursts per request)
        self._pending: list[tuple[np.ndarray, np.ndarray, int, np.ndarray | int]] = []
        self._served: dict[int, Served] = {}  # by ticket, until asked
        self._tickets = 0
        # Per channel, the I/O activity of trace data (``io_energy: data``), else None
        self.io_activity: list[IoActivity | None] = [None] * params.channels

    @property
    def command_logs(self) -> list[list[tuple[int, int, int, int]]]:
        """Per channel, the commands issued so far (empty lists unless ``log_commands``)."""
        return [c.dev.log or [] for c in self.controllers]

    def _bursts(self, addr: np.ndarray, size_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Burst indices covering each request, and the number of bursts of each request.

        A request with a size covers the bursts of its bytes; one without (size 0) is the one
        burst holding its address and counts as ``burst_bytes`` requested.
        """
        first, counts = self._requests(addr, size_bytes)
        return _expand(first, counts), counts

    def _requests(self, addr: np.ndarray, size_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each request's first burst index and burst count (:meth:`_bursts`), its bytes
        added to ``bytes_requested``; ``TraceError`` for one beyond the capacity."""
        addr = np.asarray(addr, dtype=np.uint64).view(np.int64)  # 2^63 and up: negative
        if not np.any(size_bytes):  # one burst each, the common trace: no arrays of sizes
            top = self.capacity_bytes - self.burst_bytes
            if addr.size == 0 or (int(addr.min()) >= 0 and int(addr.max()) <= top):
                self.bytes_requested += addr.size * self.burst_bytes
                return addr >> (self.burst_bytes.bit_length() - 1), np.ones(addr.size, np.int64)
        size = np.where(size_bytes > 0, size_bytes, self.burst_bytes).astype(np.int64)
        if addr.size and (int(addr.min()) < 0 or int((addr + size).max()) > self.capacity_bytes):
            bad = int(np.argmax((addr < 0) | (addr + size > self.capacity_bytes)))
            raise TraceError(
                f"request {bad} at address {int(addr[bad]):#x} (+{int(size[bad])} B) is beyond "
                f"the capacity of {self.capacity_bytes:#x} bytes "
                f"({self.channels} x {self.params.density})"
            )
        self.bytes_requested += int(size.sum())
        return self._span(addr, size_bytes)

    def _span(self, addr: np.ndarray, size_bytes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First burst index of each request (int64 byte addresses) and its burst count."""
        shift = self.burst_bytes.bit_length() - 1
        first = addr >> shift
        # no size: the one burst holding the address
        last_byte = np.where(size_bytes > 0, addr + size_bytes - 1, addr)
        return first, (last_byte >> shift) - first + 1

    def bus_bytes(self, addr_bytes: np.ndarray, size_bytes: np.ndarray | int) -> int:
        """Bytes the data bus moves for these requests: whole bursts (a partial burst is
        written with data masks or read and discarded in part, but takes a whole burst's bus
        time). Arguments as :meth:`serve`."""
        addr = np.atleast_1d(np.asarray(addr_bytes)).astype(np.int64)
        sizes = np.broadcast_to(np.asarray(size_bytes, dtype=np.int64), addr.shape)
        return int(self._span(addr, sizes)[1].sum()) * self.burst_bytes

    def _serve_bursts(
        self, bursts: np.ndarray, is_write: np.ndarray, arrival: np.ndarray, timed: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each burst's completion CK and the CK it entered its controller's queue."""
        decoded = self.address_map.decode(bursts)
        if self.channels == 1:
            controller = self.controllers[0]
            completion = controller.run(decoded.bank, decoded.row, is_write, arrival, timed)
            return completion, controller.last_enqueued
        # Group the bursts by channel (stable: each channel sees them in order), one gather
        # per field instead of one per field and channel.
        # (a stable sort of 8-bit keys is a radix sort: 3-4x faster than of int64 ones)
        order = np.argsort(decoded.channel.astype(np.uint8), kind="stable")
        ends = np.cumsum(np.bincount(decoded.channel, minlength=self.channels)).tolist()
        bank, row = decoded.bank[order], decoded.row[order]
        writes, arrivals = is_write[order], arrival[order]
        completion = np.empty(bursts.shape[0], dtype=np.int64)
        accepted = np.empty(bursts.shape[0], dtype=np.int64)
        start = 0
        for controller, end in zip(self.controllers, ends, strict=True):
            if end > start:
                mine = order[start:end]
                completion[mine] = controller.run(
                    bank[start:end], row[start:end], writes[start:end], arrivals[start:end], timed
                )
                accepted[mine] = controller.last_enqueued
            start = end
        return completion, accepted

    def _power_down(self, params: DramParams) -> PowerDown | None:
        """A channel's power-down and self-refresh policy (its own residency counters), or
        None when neither ``power_down_after_s`` nor ``self_refresh_after_s`` is set; the
        timeouts in cycles are rounded up."""
        if not params.powers_down:
            return None
        t = self.timing
        return PowerDown(self._timeout_ck(params.power_down_after_s), t.nXP, t.nCKE,
                         self._timeout_ck(params.self_refresh_after_s), t.nXSR, t.nSR)  # fmt: skip

    def _timeout_ck(self, after_s: float | None) -> int:
        """A timeout in cycles, rounded up (:data:`powerdown.OFF` for None: never)."""
        if after_s is None:
            return OFF
        return max(1, math.ceil(after_s * 1e9 / self.tck_ns - 1e-9))

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
        Batches submitted earlier and not served yet are served with this one.
        """
        submitted = self.submit(addr_bytes, is_write, arrival_ck, size_bytes)
        return self.result(submitted.ticket).done_ck

    def submit(
        self,
        addr_bytes: np.ndarray,
        is_write: np.ndarray | bool,
        arrival_ck: int,
        size_bytes: np.ndarray | int = 0,
    ) -> Submitted:
        """Queue requests arriving at ``arrival_ck`` (arguments and errors as :meth:`serve`)
        without serving them yet; return a ticket for :meth:`result` and the bytes the data
        bus will move for them (:meth:`bus_bytes`)."""
        if arrival_ck < self.last_arrival_ck:
            raise ValueError(f"arrival {arrival_ck} is before the previous {self.last_arrival_ck}")
        self.last_arrival_ck = arrival_ck
        addr = np.atleast_1d(np.asarray(addr_bytes))
        uniform = None
        if np.ndim(size_bytes) == 0 and np.ndim(is_write) == 0:
            uniform = self._uniform_bursts(addr, int(size_bytes))
        if uniform is not None:
            bursts, per_request = uniform
            writes = np.full(bursts.shape[0], bool(is_write))
            counts: np.ndarray | int = per_request
        else:
            write_flags = np.broadcast_to(np.asarray(is_write, dtype=bool), addr.shape)
            sizes = np.broadcast_to(np.asarray(size_bytes, dtype=np.int64), addr.shape)
            bursts, counts = self._bursts(addr, sizes)
            writes = np.repeat(write_flags, counts)
        self._pending.append((bursts, writes, arrival_ck, counts))
        self._tickets += 1
        return Submitted(self._tickets - 1, int(bursts.shape[0]) * self.burst_bytes)

    def _uniform_bursts(self, addr: np.ndarray, size_bytes: int) -> tuple[np.ndarray, int] | None:
        """:meth:`_bursts` for requests of one size, a whole number of bursts, at aligned
        addresses inside the capacity (the engine's line fills and write-backs): each covers
        the same number of bursts, so no per-request spreading. None: take the general path
        (which also raises for addresses beyond the capacity)."""
        burst = self.burst_bytes
        size = size_bytes if size_bytes > 0 else burst
        if size % burst or not addr.shape[0]:
            return None
        addr = addr.astype(np.int64)
        if int(addr.min()) < 0 or int(addr.max()) + size > self.capacity_bytes:
            return None
        if np.bitwise_and(addr, burst - 1).any():
            return None
        self.bytes_requested += size * int(addr.shape[0])
        first, per_request = addr >> (burst.bit_length() - 1), size // burst
        if per_request == 1:
            return first, 1
        return (first[:, None] + np.arange(per_request)).ravel(), per_request

    def result(self, ticket: int) -> Served:
        """How a submitted batch was served (asked once per ticket). The first question about
        a batch serves every batch submitted so far, in one run of the controllers."""
        if ticket not in self._served:
            self.flush()
        return self._served.pop(ticket)

    def flush(self) -> None:
        """Serve every submitted batch now, each burst at its batch's arrival cycle."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        bursts = np.concatenate([p[0] for p in pending])
        writes = np.concatenate([p[1] for p in pending])
        arrival = np.repeat([p[2] for p in pending], [p[0].shape[0] for p in pending])
        done, accepted = self._serve_bursts(bursts, writes, arrival.astype(np.int64), False)
        ticket, start = self._tickets - len(pending), 0
        for batch_bursts, _, arrival_ck, counts in pending:
            end = start + batch_bursts.shape[0]
            # no burst enters a queue before it arrives: an empty batch is accepted on arrival
            accepted_ck = int(accepted[start:end].max(initial=arrival_ck))
            self._served[ticket] = Served(_per_request(done[start:end], counts), accepted_ck)
            ticket, start = ticket + 1, end

    def run_trace(self, trace: Trace) -> np.ndarray:
        """Run a parsed trace; return each request's completion CK.

        Untimed traces (``LD``/``ST``) arrive as fast as the controller accepts them (the
        queues kept full); timed traces arrive at their cycle (CK of this system), latency
        counted from it. Served ``part_bursts`` bursts at a time (:mod:`trace_parts`) with
        the decisions of one run, so memory stays bounded however many bursts it covers.
        """
        self.flush()
        first, counts = self._requests(trace.addr, trace.size_bytes)
        if trace.data is not None:
            total = int(counts.sum())
            if trace.data.size != total * self.burst_bytes:
                raise TraceError(
                    f"the trace's data holds {trace.data.size} bytes; its requests cover "
                    f"{total} bursts of {self.burst_bytes} B = "
                    f"{total * self.burst_bytes} bytes on the data bus"
                )
        cycles = None if trace.arrival_cycle is None else trace.arrival_cycle.astype(np.int64)
        data_io = trace.data is not None and self.params.io_energy == "data"
        done, per_burst = run_parts(
            self, (trace.is_write, cycles), first, counts, self._part_bursts(), data_io
        )
        if cycles is not None and cycles.size:
            self.last_arrival_ck = int(cycles[-1])
        if data_io and per_burst is not None:
            self._add_io(_expand(first, counts), per_burst, trace.data)
        return done

    def _part_bursts(self) -> int:
        if self.part_bursts is not None:
            return self.part_bursts
        # The Python loop holds each burst in seven lists (about 300 B a burst with the int
        # objects) and is 10-20x slower, so its smaller parts cost no measurable time.
        return PART_BURSTS if self.controllers[0].compiled else PART_BURSTS // 8

    def _add_io(self, bursts: np.ndarray, done_ck: np.ndarray, data: np.ndarray) -> None:
        """Count the data's bit transitions on each channel's bus (io_bits.channel_activity)."""
        channel = self.address_map.decode(bursts).channel
        rows = data.reshape(-1, self.burst_bytes)
        found = channel_activity(channel, done_ck, rows, self.channels, self.params.dbi)
        for index, activity in enumerate(found):
            if activity is not None:
                known = self.io_activity[index]
                self.io_activity[index] = activity if known is None else known + activity

    def stats(self) -> DramStats:
        """Per-channel and total statistics of everything submitted so far (served now)."""
        self.flush()
        return collect_stats(self)

    def energy_until(self, until_ck: int) -> float:
        """Energy in pJ of all channels from cycle 0 to ``until_ck``, idle time included
        (:func:`npusim.dram.stats.channel_energy_until`): the difference between two cycles
        is the energy of that interval. Cheap: no latency percentiles. Serves every
        submitted batch first."""
        self.flush()
        return sum(channel_energy_until(ctrl, self, until_ck) for ctrl in self.controllers)


def _expand(first: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The burst indices of requests starting at burst ``first``, ``counts`` bursts each."""
    if counts.size and int(counts.max()) == 1:  # one burst each: nothing to spread
        return first
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    return np.repeat(first, counts) + offsets


def _per_request(per_burst: np.ndarray, counts: np.ndarray | int) -> np.ndarray:
    """Each request's completion: the last of its bursts' (``counts``: bursts per request,
    or one count for all)."""
    if isinstance(counts, int):
        return per_burst if counts == 1 else per_burst.reshape(-1, counts).max(axis=1)
    if per_burst.size == 0 or per_burst.size == counts.size:  # one burst per request
        return per_burst
    starts = np.cumsum(counts) - counts
    return np.maximum.reduceat(per_burst, starts)
