"""Energy of SRAM traffic, DRAM traffic and static power, from the units' tables.

The tables are the units' (SRAM by capacity: :mod:`npusim.cache.energy`; LPDDR5 terms:
:mod:`npusim.dram.energy`); this module only applies them to the counts a run produced. The
one table kept here, :data:`DRAM_PHY`, is the SoC side of the DRAM interface, which belongs
to no unit (the DRAM unit models the devices, the SoC's PHY and controller sit between it
and the SRAM).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from npusim.cache import SramEnergyModel
from npusim.compute import ArrayLayerStats, array_area_mm2
from npusim.config import Scenario
from npusim.dram import DramSystem, idle_energy_pj
from npusim.dram.energy import compute_energy, default_energy
from npusim.dram.params import REFRESH_MODES, RefreshMode
from npusim.dram.standard import BANK_ARCHS, PRESETS, peak_bandwidth_bytes_per_s, resolve_timing
from npusim.precision import PRECISIONS


def sram_energy_pj(scenario: Scenario, read_bytes: int, write_bytes: int) -> float:
    """Energy of moving ``read_bytes`` out of and ``write_bytes`` into the SRAM.

    The SRAM is accessed a port width (``sram.port_width``) at a time, so bytes become
    ``ceil(bytes / port_bytes)`` accesses, each touching one bank: the per-access energy for
    that width and one bank's capacity (``capacity / banks``, :mod:`npusim.cache.energy`).
    """
    sram = scenario.sram
    model = scenario.energy.sram
    port, banks = sram.port_bytes, sram.banks
    reads = -(-int(read_bytes) // port)
    writes = -(-int(write_bytes) // port)
    return (reads * model.read_energy_pj(sram.capacity_bytes, port, banks)
            + writes * model.write_energy_pj(sram.capacity_bytes, port, banks))  # fmt: skip


def accumulator_energy_pj(scenario: Scenario, timing: ArrayLayerStats) -> float:
    """Energy of the partial sums a layer keeps in the array's accumulator buffer.

    The buffer is an SRAM of ``array.accumulator_bytes`` (:mod:`npusim.cache.energy`'s table
    at the scenario's node) written and read one array row of partial sums at a time
    (``cols`` entries at the accumulator width), so each element costs a ``1 / cols`` share
    of such an access: ``accumulator_writes`` writes and ``accumulator_reads`` reads.
    """
    if not timing.psums_in_accumulator:
        return 0.0
    array = scenario.array
    model = SramEnergyModel(energy_factor=scenario.energy.sram.energy_factor)
    capacity = array.accumulator_capacity_bytes
    row_bytes = -(-array.cols * PRECISIONS[array.accumulator_for(timing.precision)].bits // 8)
    per_row = (timing.accumulator_writes * model.write_energy_pj(capacity, row_bytes)
               + timing.accumulator_reads * model.read_energy_pj(capacity, row_bytes))  # fmt: skip
    return per_row / array.cols


@dataclass(frozen=True)
class PhyEnergy:
    """Energy per data bit of the SoC-side DRAM interface (the PHY's transceivers), read and
    written, in pJ, with its source."""

    read_pj_per_bit: float
    write_pj_per_bit: float
    source: str


DRAM_PHY = PhyEnergy(
    read_pj_per_bit=1.83,
    write_pj_per_bit=5.68,
    source="Kim, Chae, Choi, Hong, Ko, Jeong and Kim, 'A 4266 Mb/s/pin LPDDR4 Interface With "
    "an Asynchronous Feedback CTLE and an Adaptive 3-Step Eye Detection Algorithm for Memory "
    "Controller', IEEE TCAS-II 65(12):1894, Dec. 2018: a memory controller's transceiver in "
    "65 nm CMOS measured with commodity LPDDR4, 1.83 pJ/bit in burst read, 5.68 in burst write",
)
"""The default SoC-side DRAM PHY (transceiver) energy: a measured LPDDR4 controller-side
transceiver (source above). Writing costs the SoC more than reading because the SoC drives
the channel. It is not scaled by ``energy.node``: the source gives one 65 nm chip and no
scaling rule, and I/O energy is set by the channel, its termination and VDDQ more than by the
logic node. For LPDDR5 (VDDQ 0.5 V against LPDDR4's 1.1 V) it is likely an upper estimate;
``energy.dram_phy_read`` and ``energy.dram_phy_write`` override it."""


def dram_phy_energy_pj(scenario: Scenario, read_bytes: int, write_bytes: int) -> float:
    """Energy of the SoC's DRAM PHY transceivers for ``read_bytes`` read from and
    ``write_bytes`` written to DRAM: ``8 x (read_bytes x read + write_bytes x write)`` pJ per
    bit (:data:`DRAM_PHY`, or the scenario's ``energy.dram_phy_read`` / ``dram_phy_write``)."""
    energy = scenario.energy
    read = energy.dram_phy_read_pj_per_bit
    write = energy.dram_phy_write_pj_per_bit
    read = DRAM_PHY.read_pj_per_bit if read is None else read
    write = DRAM_PHY.write_pj_per_bit if write is None else write
    return 8 * (int(read_bytes) * read + int(write_bytes) * write)


def static_energy_pj(scenario: Scenario, time_s: float) -> float:
    """SRAM leakage plus the scenario's other static power over ``time_s`` seconds."""
    power_w = scenario.energy.sram.leakage_power_w(scenario.sram.capacity_bytes)
    return (power_w + scenario.energy.static_power_w) * time_s * 1e12


def dram_streaming_energy_pj(
    scenario: Scenario,
    read_bytes: int,
    write_bytes: int,
    time_s: float,
    idle_dram: DramSystem | None = None,
) -> float:
    """DRAM energy of a perfectly streamed transfer: the analytic model's estimate.

    Every DRAM row is opened once (``bytes / page`` activate-precharge pairs), a bank is open
    for the whole time on every channel (active-standby background), and refresh runs at its
    nominal rate (``time / nREFI`` refreshes per channel, a fraction, so that a network's
    layers, most shorter than nREFI, add up to its run's; ``nREFIpb`` for per-bank refresh,
    none when off), with the scenario's timing and energy overrides. Per-term formulas are
    :func:`npusim.dram.energy.compute_energy`'s.

    ``idle_dram``: the scenario's DRAM, given when it powers down
    (``DramParams.powers_down``). Then only the time the transfer keeps the data bus busy at
    the peak rate is priced so, and the rest of ``time_s`` is one idle span per channel in
    closed form (:func:`npusim.dram.idle_energy_pj`; a row left open under the open-page
    policy). One
    span is the most power-down that idle time allows (a cycle-level run idles in several
    gaps, each spending the timeout in standby, and exits cost time), so the idle is priced
    at or below what a cycle-level run of the same time pays for it.
    """
    dram = scenario.dram
    timing = resolve_timing(dram.preset, dram.density, dram.bank_arch, dram.burst_length,
                            dram.timing)  # fmt: skip
    terms = default_energy(dram.preset).with_overrides(dram.energy)
    tck_ns = PRESETS[dram.preset].tck_ps / 1000
    page = BANK_ARCHS[dram.bank_arch].page_bytes
    cycles = int(time_s * 1e9 / tck_ns)
    idle_pj = 0.0
    if idle_dram is not None:
        peak_bytes_per_ck = peak_bandwidth_bytes_per_s(dram.preset, dram.channels) * tck_ns / 1e9
        busy_ck = min(cycles, math.ceil((int(read_bytes) + int(write_bytes)) / peak_bytes_per_ck))
        idle_pj = idle_energy_pj(idle_dram, cycles - busy_ck, row_open=dram.leaves_rows_open)
        cycles = busy_ck
    mode = REFRESH_MODES[dram.refresh]
    interval = timing.nREFIpb if mode is RefreshMode.PER_BANK else timing.nREFI
    refreshes = 0.0 if mode is RefreshMode.OFF else cycles / interval
    per_channel = compute_energy(
        terms, activates=0, bits_read=0, bits_written=0,
        refreshes_all_bank=refreshes if mode is RefreshMode.ALL_BANK else 0,
        refreshes_per_bank=refreshes if mode is RefreshMode.PER_BANK else 0,
        precharged_cycles=0, active_cycles=cycles, tck_ns=tck_ns, page_bytes=page,
    )  # fmt: skip
    traffic = compute_energy(
        terms, activates=-(-(int(read_bytes) + int(write_bytes)) // page),
        bits_read=8 * int(read_bytes), bits_written=8 * int(write_bytes),
        refreshes_all_bank=0, refreshes_per_bank=0, precharged_cycles=0, active_cycles=0,
        tck_ns=tck_ns, page_bytes=page,
    )  # fmt: skip
    return traffic.total_pj + dram.channels * per_channel.total_pj + idle_pj


def area_mm2(scenario: Scenario) -> dict[str, float]:
    """Silicon area of the MAC array (at the scenario's MAC precision, from the MAC table) and
    of the SRAM (per-MiB figure), at the scenario's ``energy.node``, in mm^2; DRAM is off
    chip."""
    mac = array_area_mm2(scenario.array, scenario.precision.mac)
    sram = scenario.energy.sram.area_mm2(scenario.sram.capacity_bytes)
    return {"mac_array": mac, "sram": sram, "total": mac + sram}


IO_RATE_KEYS = {"input_read": "input_io_toggles_per_bit",
                "weight_read": "weight_io_toggles_per_bit",
                "output_write": "output_io_toggles_per_bit",
                "spill_write": "output_io_toggles_per_bit"}  # fmt: skip
"""Which measured toggle rate (:mod:`npusim.engine.quality`) prices each kind of DRAM bytes."""


def data_io_energy_pj(
    scenario: Scenario, moved_bytes: Mapping[str, int], quality: Mapping[str, Any]
) -> float:
    """What ``dram.io_energy: data`` adds to the DRAM's flat I/O energy (0 when ``flat``).

    The flat term prices every bit at ``io_pj_per_bit``, which holds for random data: a DQ
    line toggles on half the beats (:mod:`npusim.dram.io_bits`, whose toggle energy is
    calibrated on it). Bytes of a kind whose toggles per bit ``r`` were measured cost
    ``io_pj_per_bit x 2r`` per bit instead, so this returns, summed over the kinds,
    ``8 x bytes x io_pj_per_bit x (2r - 1)``; kinds with no measured tensor (a KV cache or
    a second activation operand read as the 'weight') stay at the flat price.
    """
    if scenario.dram.io_energy != "data":
        return 0.0
    terms = default_energy(scenario.dram.preset).with_overrides(scenario.dram.energy)
    per_bit = terms.io_pj_per_bit
    total = 0.0
    for kind, moved in moved_bytes.items():
        rate = quality.get(IO_RATE_KEYS.get(kind, ""))
        if rate is not None and moved:
            total += 8 * moved * per_bit * (2 * rate - 1)
    return total
