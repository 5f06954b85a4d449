"""Statistics of a DRAM run, per channel and in total (typed results, no printing).

Bandwidth is bytes moved on the data bus over the elapsed time from the first arrival to the
last completion, in GB/s (1e9 B/s). Row outcomes are counted per burst (the controller's
request), once, at its first command: a hit if that is its column command (its row was open),
a conflict if a PRE (another row was open), a miss if an ACT (the bank was closed), as
Ramulator 2.1 counts them. Read latency is per burst, in ns. Command counts include ACT2 (the
second half of each activation) and CAS (WCK2CK sync).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from npusim.dram.device import Command
from npusim.dram.energy import EnergyBreakdown, compute_energy
from npusim.dram.latency import LatencyHistogram
from npusim.dram.params import RefreshMode
from npusim.dram.powerdown import OFF as NEVER

if TYPE_CHECKING:
    from npusim.dram.controller import ChannelController
    from npusim.dram.system import DramSystem


@dataclass(frozen=True)
class ChannelStats:
    """One channel's (or, with ``channel == -1``, the whole system's) statistics.

    ``bus_utilization``: fraction of elapsed CK the data bus carried bursts (bursts x nBL);
    ``refresh_cycles``: CK under refresh (nRFCab per REFab, nRFCpb per REFpb of a bank set);
    ``power_down_cycles``: CK powered down from the first arrival to the last completion
    (0 unless ``power_down_after`` is set; :mod:`npusim.dram.powerdown`);
    ``self_refresh_cycles``: CK in self-refresh over the same span (0 unless
    ``self_refresh_after`` is set);
    ``avg_queue_occupancy``: mean number of requests in the read and write queues together;
    ``energy``: pJ by term (see :mod:`npusim.dram.energy`). In the total, bandwidth and
    elapsed time span all channels, occupancy is summed and utilization averaged.
    """

    channel: int
    bytes_read: int
    bytes_written: int
    elapsed_cycles: int
    elapsed_ns: float
    achieved_gbps: float
    peak_gbps: float
    bus_utilization: float
    read_bursts: int
    write_bursts: int
    read_latency_mean_ns: float
    read_latency_p50_ns: float
    read_latency_p95_ns: float
    read_latency_p99_ns: float
    read_latency_max_ns: float
    row_hits: int
    row_misses: int
    row_conflicts: int
    command_counts: dict[str, int]
    refresh_cycles: int
    refresh_ns: float
    power_down_cycles: int
    power_down_ns: float
    self_refresh_cycles: int
    self_refresh_ns: float
    avg_queue_occupancy: float
    energy: EnergyBreakdown

    @property
    def energy_total_pj(self) -> float:
        return self.energy.total_pj


@dataclass(frozen=True)
class DramStats:
    """Per-channel stats, their total, and the bytes the requests asked for."""

    channels: tuple[ChannelStats, ...]
    total: ChannelStats
    bytes_requested: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (energy terms in pJ, with their total)."""
        out = asdict(self)
        for entry in [out["total"], *out["channels"]]:
            entry["energy"]["total_pj"] = sum(entry["energy"].values())
        return out


def _build(
    channel: int,
    counts: list[int],
    outcome: list[int],
    elapsed: int,
    latencies: LatencyHistogram,
    extra: dict[str, Any],
    system: DramSystem,
) -> ChannelStats:
    tck_ns = system.tck_ns
    reads = counts[Command.RD] + counts[Command.RDA]
    writes = counts[Command.WR] + counts[Command.WRA]
    moved = (reads + writes) * system.burst_bytes
    elapsed_ns = elapsed * tck_ns
    lat = latencies.summary_ns(tck_ns)
    peak = system.peak_bytes_per_s / system.channels * (system.channels if channel < 0 else 1)
    return ChannelStats(
        channel=channel,
        bytes_read=reads * system.burst_bytes,
        bytes_written=writes * system.burst_bytes,
        elapsed_cycles=elapsed,
        elapsed_ns=elapsed_ns,
        achieved_gbps=moved / elapsed_ns if elapsed else 0.0,
        peak_gbps=peak / 1e9,
        read_bursts=reads,
        write_bursts=writes,
        read_latency_mean_ns=lat["mean"],
        read_latency_p50_ns=float(lat["p50"]),
        read_latency_p95_ns=float(lat["p95"]),
        read_latency_p99_ns=float(lat["p99"]),
        read_latency_max_ns=lat["max"],
        row_hits=outcome[0],
        row_misses=outcome[1],
        row_conflicts=outcome[2],
        command_counts={c.name: counts[c] for c in Command},
        **extra,
    )


def _low_power_cycles(ctrl: ChannelController) -> dict[str, int]:
    """Cycles in precharge and active power-down and in self-refresh (compute_energy's names)."""
    power = ctrl.power_down
    if power is None:
        return dict.fromkeys(("power_down_precharged_cycles", "power_down_active_cycles",
                              "self_refresh_cycles"), 0)  # fmt: skip
    return {"power_down_precharged_cycles": power.precharged_cycles,
            "power_down_active_cycles": power.active_cycles,
            "self_refresh_cycles": power.self_refresh_cycles}  # fmt: skip


def idle_span_pj(ctrl: ChannelController, system: DramSystem, cycles: int, bank_open: bool,
                  refreshes: int) -> float:  # fmt: skip
    """Background energy of ``cycles`` idle cycles (with a bank open or all closed): at
    standby power, or with power-down the first ``idle_ck`` of them and ``idle_ck + nXP``
    around each of ``refreshes`` refreshes at standby and the rest powered down."""
    power, terms = ctrl.power_down, system.energy
    mw = terms.background_active_mw if bank_open else terms.background_precharged_mw
    if power is None or cycles <= 0:
        return mw * max(cycles, 0) * system.tck_ns
    down = max(0, cycles - power.idle_ck - refreshes * (power.idle_ck + power.n_xp))
    down_mw = terms.power_down_active_mw if bank_open else terms.power_down_precharged_mw
    return (mw * (cycles - down) + down_mw * down) * system.tck_ns


def channel_energy(ctrl: ChannelController, system: DramSystem) -> tuple[EnergyBreakdown, int]:
    """One channel's energy so far and the CK cycles it has been busy (first to last
    command). Cheap: no latency percentiles, so callers may sample it often."""
    dev = ctrl.dev
    first = ctrl.first_cycle or 0
    elapsed = ctrl.last_cycle - first if ctrl.first_cycle is not None else 0
    active = min(dev.active_cycles_until(ctrl.last_cycle), elapsed)
    counts = dev.command_counts
    energy = compute_energy(
        system.energy,
        activates=counts[Command.ACT],
        bits_read=(counts[Command.RD] + counts[Command.RDA]) * system.burst_bytes * 8,
        bits_written=(counts[Command.WR] + counts[Command.WRA]) * system.burst_bytes * 8,
        refreshes_all_bank=counts[Command.REFAB],
        refreshes_per_bank=counts[Command.REFPB],
        precharged_cycles=elapsed - active,
        active_cycles=active,
        tck_ns=system.tck_ns,
        page_bytes=system.page_bytes,
        **_low_power_cycles(ctrl),
    )
    activity = system.io_activity[system.controllers.index(ctrl)]
    if activity is not None:
        # I/O from the trace data's transitions; the flat term is a toggle on half the beats
        energy = replace(energy, io_pj=activity.energy_pj(2 * system.energy.io_pj_per_bit))
    return energy, elapsed


def channel_energy_until(ctrl: ChannelController, system: DramSystem, until_ck: int) -> float:
    """One channel's energy in pJ from cycle 0 to ``until_ck``: its commands so far, its
    background while it was busy, and the time it has been idle, before its first command
    and after its last (precharged standby, or active standby with a bank left open; with
    power-down, standby for the timeout and around each refresh, powered down otherwise: a
    closed form, :func:`idle_span_pj`; with self-refresh, at its power from the timer's
    expiry on), with the refreshes that fall due in that idle tail before self-refresh. The
    controller issues those refreshes when its next request arrives, and they then count as
    commands instead, so the value only grows with ``until_ck`` and differences between two
    cycles add up over a run (the loop's stays start no earlier than this closed form's)."""
    energy, _ = channel_energy(ctrl, system)
    terms, power = system.energy, ctrl.power_down
    lead = ctrl.first_cycle if ctrl.first_cycle is not None else until_ck
    tail_start = ctrl.last_cycle if ctrl.first_cycle is not None else until_ck
    # self-refresh from the timer's expiry: idle since cycle 0 in the lead
    lead_sr = power.sr_idle_ck if power is not None else NEVER
    tail_sr = power.self_refresh_entry(ctrl.dev.last_command) if power is not None else NEVER
    tail_sr = max(tail_sr, tail_start)
    due, interval, refresh_pj = 0, 1, 0.0
    if ctrl.refresh is not RefreshMode.OFF:
        per_bank = ctrl.refresh is RefreshMode.PER_BANK
        interval = system.timing.nREFIpb if per_bank else system.timing.nREFI
        refresh_pj = terms.refresh_pb_pj if per_bank else terms.refresh_ab_pj
        last_due = min(until_ck, tail_sr - 1)  # the later ones are the device's own
        if ctrl.refresh_due <= last_due:
            due = (last_due - ctrl.refresh_due) // interval + 1
    lead = min(lead, until_ck)
    awake = min(lead, lead_sr)
    # the lead's own refreshes are commands already counted: only their wakes matter here
    lead_pj = idle_span_pj(ctrl, system, awake, False, awake // interval if refresh_pj else 0)
    tail_awake = max(min(until_ck, tail_sr) - tail_start, 0)
    tail_pj = idle_span_pj(ctrl, system, tail_awake, ctrl.dev.open_banks > 0, due)
    asleep = max(lead - awake, 0) + max(until_ck - tail_sr, 0)
    sleep_pj = terms.self_refresh_mw * asleep * system.tck_ns
    return energy.total_pj + lead_pj + tail_pj + sleep_pj + due * refresh_pj


def _channel(index: int, ctrl: ChannelController, system: DramSystem) -> ChannelStats:
    energy, elapsed = channel_energy(ctrl, system)
    counts = ctrl.dev.command_counts
    latencies = ctrl.read_latencies
    bursts = sum(counts[c] for c in (Command.RD, Command.RDA, Command.WR, Command.WRA))
    low_power = _low_power_cycles(ctrl)
    power_down = low_power["power_down_precharged_cycles"] + low_power["power_down_active_cycles"]
    self_refresh = low_power["self_refresh_cycles"]
    extra = {
        "bus_utilization": bursts * system.timing.nBL / elapsed if elapsed else 0.0,
        "refresh_cycles": ctrl.refresh_cycles,
        "refresh_ns": ctrl.refresh_cycles * system.tck_ns,
        "power_down_cycles": power_down,
        "power_down_ns": power_down * system.tck_ns,
        "self_refresh_cycles": self_refresh,
        "self_refresh_ns": self_refresh * system.tck_ns,
        "avg_queue_occupancy": ctrl.queue_cycles / elapsed if elapsed else 0.0,
        "energy": energy,
    }
    return _build(index, counts, ctrl.outcome, elapsed, latencies, extra, system)


def collect_stats(system: DramSystem) -> DramStats:
    """Stats of every channel of ``system`` and their total."""
    ctrls = system.controllers
    per = tuple(_channel(i, c, system) for i, c in enumerate(ctrls))
    used = [c for c in ctrls if c.first_cycle is not None]
    elapsed = max(c.last_cycle for c in used) - min(c.first_cycle for c in used) if used else 0
    counts = [sum(c.dev.command_counts[k] for c in ctrls) for k in Command]
    latencies = LatencyHistogram()
    for ctrl in ctrls:
        latencies = latencies.merged(ctrl.read_latencies)
    energy = per[0].energy
    for s in per[1:]:
        energy = energy + s.energy
    extra = {
        "bus_utilization": float(np.mean([s.bus_utilization for s in per])),
        "refresh_cycles": sum(s.refresh_cycles for s in per),
        "refresh_ns": sum(s.refresh_ns for s in per),
        "power_down_cycles": sum(s.power_down_cycles for s in per),
        "power_down_ns": sum(s.power_down_ns for s in per),
        "self_refresh_cycles": sum(s.self_refresh_cycles for s in per),
        "self_refresh_ns": sum(s.self_refresh_ns for s in per),
        "avg_queue_occupancy": sum(s.avg_queue_occupancy for s in per),
        "energy": energy,
    }
    outcome = [sum(c.outcome[k] for c in ctrls) for k in range(3)]
    total = _build(-1, counts, outcome, elapsed, latencies, extra, system)
    return DramStats(channels=per, total=total, bytes_requested=system.bytes_requested)
