"""LPDDR5 energy per command, per bit and per unit of time (one x16 die = one channel).

Every default below is per die, and npusim puts one x16 die on each channel, so they are also
per channel. Sources: the anchors of ``reference/lpddr5.md`` ("Energy" section), which derive
them from the Micron LPDDR5X Y52P datasheet maxima (16 Gb die, 7500 MT/s) with the usual
JEDEC/Micron method, core energy = V x delta-I x time:

* ``act_pre_pj = 1100``: "about 1.1 nJ per activate-precharge pair of a 2 KiB row"
  (VDD2H 1.05 V x (IDD0 - IDD3N-ish baseline) over tRC). Rows of another size (the 4 KiB page
  of 8B mode) scale with the page: an activation senses the whole page.
* ``read_pj_per_bit = 3.3``: "read about 3.3 pJ/bit in the core" (IDD4R - IDD3N at VDD2H).
* ``write_pj_per_bit = 2.2``: "write about 2.2 pJ/bit" (IDD4W - IDD3N at VDD2H).
* ``io_pj_per_bit = 0.5``: "plus about 0.5 pJ/bit I/O" (VDDQ 0.5 V x about 112 mA read
  current); npusim charges it on every bit that crosses the bus, read or written.
* ``refresh_ab_pj = 36000``: "about 36 nJ per all-bank refresh" (IDD5 - IDD2N at VDD2H over
  tRFCab).
* ``refresh_pb_pj = 4500``: one eighth of an all-bank refresh, because eight per-bank refresh
  commands (tREFIpb = tREFI / 8, reference timing table) refresh what one REFab does.
* ``background_precharged_mw = 37`` and ``background_active_mw = 47``: "background about
  37 mW precharged, 47 mW with a bank open (per die)" (IDD2N / IDD3N at VDD1 + VDD2H).

* ``power_down_precharged_mw = 5.4`` and ``power_down_active_mw = 15.3``: power-down
  (:mod:`npusim.dram.powerdown`) with all banks closed / a bank open. No LPDDR5 IDD2P / IDD3P
  is public first-hand, so each rail's standby current above is scaled by the power-down to
  standby ratio of the JEDEC LPDDR4-3200 x16 8 Gb memspec (DRAMSys
  ``JEDEC_8Gb_LPDDR4-3200_16bit.json``, mA): IDD2P2 / IDD2N2 = 3 / 27 and IDD2P1 / IDD2N1 =
  1.2 / 2.0; IDD3P2 / IDD3N2 = 9 / 30 and IDD3P1 / IDD3N1 = 1.2 / 2.25. Precharged:
  32.5 x 3/27 mA x 1.05 V + 1.5 x 1.2/2.0 mA x 1.8 V = 3.79 + 1.62 = 5.4 mW; active:
  40 x 9/30 x 1.05 + 2.8 x 1.2/2.25 x 1.8 = 12.6 + 2.69 = 15.3 mW. (The same rails give the
  standby figures: 32.5 x 1.05 + 1.5 x 1.8 = 36.8 mW, 40 x 1.05 + 2.8 x 1.8 = 47.0 mW.)
* ``self_refresh_mw = 1.04``: self-refresh (IDD6, which includes the device's own refreshes),
  the precharged standby rails scaled by the same memspec's IDD6 / IDD2N ratios, IDD62 / IDD2N2
  = 0.5 / 27 and IDD61 / IDD2N1 = 0.3 / 2.0: 32.5 x 0.5/27 x 1.05 + 1.5 x 0.3/2.0 x 1.8 =
  0.63 + 0.41 = 1.04 mW.

LPDDR6 (:func:`default_energy` of an LPDDR6 preset): no LPDDR6 IDD figures are public (the
DRAMPower LPDDR6 memspec is a unit-test fixture, not a device), so its terms are the LPDDR5X
ones above, scaled where the organization differs, per x12 sub-channel (one npusim channel):

* ``io_pj_per_bit`` x 36 / 32: a BL24 burst drives 36 B on the wires for 32 B of payload
  (metadata), and npusim counts payload bits.
* ``background_*_mw``, ``power_down_*_mw`` and ``self_refresh_mw`` / 2: the LPDDR5X figures
  are per die, and an LPDDR6 die has two sub-channels (the die's standby current split evenly
  over them).
* core read / write per bit, activate-precharge per 2 KiB page and refresh per command as
  LPDDR5X: the same cells and page size per sub-channel as an x16 LPDDR5X channel.

Every term can be overridden per scenario (``dram.energy``) like LPDDR5's.

Units: pJ = mW x ns, so background energy is ``mW x cycles x tCK_ns``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType

from npusim.dram.standard import STANDARDS, standard_of

REFERENCE_PAGE_BYTES = 2048
"""Row size the ``act_pre_pj`` anchor is quoted for (2 KiB, reference lpddr5.md)."""


@dataclass(frozen=True)
class DramEnergy:
    """Energy terms of one LPDDR5 die (= one channel); defaults derived in the module docstring."""

    act_pre_pj: float = 1100.0
    read_pj_per_bit: float = 3.3
    write_pj_per_bit: float = 2.2
    io_pj_per_bit: float = 0.5
    refresh_ab_pj: float = 36000.0
    refresh_pb_pj: float = 4500.0
    background_precharged_mw: float = 37.0
    background_active_mw: float = 47.0
    power_down_precharged_mw: float = 5.4
    power_down_active_mw: float = 15.3
    self_refresh_mw: float = 1.04

    def with_overrides(self, overrides: Mapping[str, float]) -> DramEnergy:
        """Copy with some terms replaced; names must be fields (checked by ``check_params``)."""
        return replace(self, **{k: float(v) for k, v in overrides.items()})


ENERGY_TERMS: tuple[str, ...] = tuple(f.name for f in fields(DramEnergy))

LPDDR6_SUBCHANNELS_PER_DIE = 2
"""x12 sub-channels of an LPDDR6 die (JESD209-6; npusim.dram.standard)."""


def _lpddr6_energy() -> DramEnergy:
    lpddr5x = DramEnergy()
    lpddr6 = STANDARDS["LPDDR6"]
    wire_per_payload = lpddr6.bus_bytes_per_burst / lpddr6.payload_bytes_per_burst
    return replace(
        lpddr5x,
        io_pj_per_bit=lpddr5x.io_pj_per_bit * wire_per_payload,
        background_precharged_mw=lpddr5x.background_precharged_mw / LPDDR6_SUBCHANNELS_PER_DIE,
        background_active_mw=lpddr5x.background_active_mw / LPDDR6_SUBCHANNELS_PER_DIE,
        power_down_precharged_mw=lpddr5x.power_down_precharged_mw / LPDDR6_SUBCHANNELS_PER_DIE,
        power_down_active_mw=lpddr5x.power_down_active_mw / LPDDR6_SUBCHANNELS_PER_DIE,
        self_refresh_mw=lpddr5x.self_refresh_mw / LPDDR6_SUBCHANNELS_PER_DIE,
    )


STANDARD_ENERGY: Mapping[str, DramEnergy] = MappingProxyType(
    {"LPDDR5": DramEnergy(), "LPDDR6": _lpddr6_energy()}
)
"""Default energy terms of one channel by standard (module docstring for their derivation)."""


def default_energy(preset: str) -> DramEnergy:
    """Default energy terms of one channel of ``preset``'s standard, before overrides."""
    return STANDARD_ENERGY[standard_of(preset).name]


@dataclass(frozen=True)
class EnergyBreakdown:
    """Energy of one channel (or a sum of channels) by term, in pJ."""

    act_pre_pj: float
    read_pj: float
    write_pj: float
    io_pj: float
    refresh_pj: float
    background_pj: float

    @property
    def total_pj(self) -> float:
        return (
            self.act_pre_pj
            + self.read_pj
            + self.write_pj
            + self.io_pj
            + self.refresh_pj
            + self.background_pj
        )

    def __add__(self, other: EnergyBreakdown) -> EnergyBreakdown:
        return EnergyBreakdown(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(self))
        )


def compute_energy(
    energy: DramEnergy,
    *,
    activates: int,
    bits_read: int,
    bits_written: int,
    refreshes_all_bank: float,
    refreshes_per_bank: float,
    precharged_cycles: int,
    active_cycles: int,
    tck_ns: float,
    page_bytes: int = REFERENCE_PAGE_BYTES,
    power_down_precharged_cycles: int = 0,
    power_down_active_cycles: int = 0,
    self_refresh_cycles: int = 0,
) -> EnergyBreakdown:
    """Energy of one channel from its command counts and time split.

    ``activates`` counts ACT commands (each pays one activate-precharge pair, scaled by
    ``page_bytes / 2048``); ``refreshes_*`` REFab / REFpb commands (the analytic model's
    expected count at the nominal rate is a fraction); ``precharged_cycles`` /
    ``active_cycles`` are CK cycles with all banks closed / at least one bank open, of which
    ``power_down_*_cycles`` were spent powered down and ``self_refresh_cycles`` (all banks
    closed) in self-refresh (priced at those terms instead); ``tck_ns`` converts cycles to ns
    (mW x ns = pJ).
    """
    standby_precharged = precharged_cycles - power_down_precharged_cycles - self_refresh_cycles
    background_pj = (
        energy.background_precharged_mw * standby_precharged
        + energy.background_active_mw * (active_cycles - power_down_active_cycles)
        + energy.power_down_precharged_mw * power_down_precharged_cycles
        + energy.power_down_active_mw * power_down_active_cycles
        + energy.self_refresh_mw * self_refresh_cycles
    ) * tck_ns
    return EnergyBreakdown(
        act_pre_pj=energy.act_pre_pj * activates * page_bytes / REFERENCE_PAGE_BYTES,
        read_pj=energy.read_pj_per_bit * bits_read,
        write_pj=energy.write_pj_per_bit * bits_written,
        io_pj=energy.io_pj_per_bit * (bits_read + bits_written),
        refresh_pj=energy.refresh_ab_pj * refreshes_all_bank
        + energy.refresh_pb_pj * refreshes_per_bank,
        background_pj=background_pj,
    )
