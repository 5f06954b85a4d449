"""LPDDR5, LPDDR5X and LPDDR6 organization and timing as declared data.

``STANDARDS`` says what each standard's channel is (data lines, bus bits per payload bit,
burst lengths, bank architectures, densities with their refresh timings, refresh modes); the
speed bins of ``PRESETS`` name their standard. Tables read by one mechanism
(:func:`resolve_timing`):

* ``PRESETS``: speed bins, the core timings in CK cycles for BG mode with BL16 and WCK:CK 4:1.
  ``LPDDR5_6400`` is the reference page's table verbatim (JESD209-5B as carried by Ramulator
  2.1). ``LPDDR5_4267`` and ``LPDDR5_3200`` are derived from the speed-independent JESD209-5A
  values in ns and the per-bin tCK / RL / WL of the Synopsys DWC LPDDR5 controller driver
  (``lpddr5_set_default_timing``: tCK 1875 / 2500 ps, x16 RL 12 / 9 without DBI, WL set A
  6 / 5; tRCD = tRPpb 18 ns, tRPab 21 ns, tRAS 42 ns, tWR 34 ns, tRRD max(5 ns, 2 nCK),
  tFAW 20 ns, tWTR_S max(6.25 ns, 4 nCK), tWTR_L max(12 ns, 4 nCK), tRBTP max(7.5 ns, 2 nCK)
  - 2 nCK, tPBR2ACT 7.5 ns, tREFI 3906 ns, tREFIpb 488 ns), rounded to CK with
  :func:`ck_from_ns`. The same rule reproduces every ns-based entry of the 6400 table, and
  nRTP = nBL_L + tRBTP reproduces its 8.
* ``LPDDR5X_7500``, ``LPDDR5X_8533``, ``LPDDR5X_9600`` (tCK 1067 / 938 / 833 ps): the same rule
  over the LPDDR5X values of the Synopsys DWC LPDDR5 driver (JESD209-5B/5C, x16, WCK:CK 4:1,
  DVFSC off): RL 20 / 23 / 25 and WL (set A) 11 / 12 / 14 nCK (JESD209-5B Tables 200-201 as
  the driver cites them), tRRD max(3.75 ns, 2 nCK) (3.33 ns at 9600), tFAW 15 ns (13.32 ns at
  9600), the other ns values as for LPDDR5 (tRCD = tRPpb 18, tRPab 21, tRAS 42, tWR 34, tWTR_S
  6.25, tWTR_L 12 ns, ...); nRC = nRAS + nRP. The rule reproduces ``LPDDR5_6400`` exactly from
  the LPDDR5 values. No public RL/WL for 10667 MT/s was found, so there is no preset for it.
  LPDDR5X has no 8B mode (the driver: "8B mode not supported in lpddr5x"), so 8B stops at 6400.
* ``DENSITIES``: 8 Gb and 16 Gb x16 dies, their rows per bank and refresh timings in ns
  (reference: tRFCab / tRFCpb 210 / 120 ns for 8 Gb, 280 / 140 ns for 16 Gb; tPBR2PBR 90 ns
  for 8 Gb, also used for 16 Gb, where the reference gives no value).
* ``BANK_ARCHS``: BG (4 bank groups x 4 banks, 2 KiB page, BL16/BL32), 16B (16 banks, 2 KiB
  page, BL16/BL32, only up to 3200 MT/s) and 8B (8 banks, 4 KiB page, BL32 only) (Micron MT62F
  datasheet; JESD209-5B). Without bank groups the "_L" timings equal the "_S" ones; 8B mode
  uses tRRD 10 ns and tFAW 40 ns (Synopsys driver, "8Bank mode").

Command-protocol timings, the same in every bin (CK): ``nAAD`` 8, the longest ACT-1 to ACT-2
gap (reference lpddr5.md; JESD209-5B specifies tAAD in nCK); ``nCAS`` 1, CAS (WCK2CK sync) to
its RD/WR, which takes the next CK (JESD209-5B; Ramulator 2.1's preset writes it as
``nCAS: 0`` "next cycle"); ``nWCKPST`` 1, the WCK postamble after a burst (tWCKPST 2.5 tWCK,
under one CK at WCK:CK 4:1; Ramulator 2.1's LPDDR5-6400 preset: 1).

One x16 channel is one die; a BL16 burst moves 32 B, BL32 64 B.

LPDDR6 (JESD209-6, the figures as carried by Ramulator 2.1, CMU-SAFARI/ramulator2 commit
c5b1c3a, ``python/ramulator/dram/lpddr6.py``): a die has two x12 sub-channels, each with its
own four CA signals (JEDEC's JESD209-6 announcement, July 2025: "Each sub-channel includes 4
command/address (CA) signals"), so npusim models each sub-channel as one channel with its own
controller. A BL24 burst is 24 beats x 12 DQ = 36 B on the bus carrying a 32 B payload (the
rest is metadata: data mask, DBI, link ECC); npusim counts the 32 B, as it counts requested
bytes, and the bus time of BL24. Commands start only on even CK and take two CK (Ramulator
2.1: ``command_cycles`` 2; Synopsys' LPDDR6 overview: "commands can only be started on even
cycles"), so an LPDDR6 preset's cycle is the command slot of two CK (750 ps at 10667 MT/s,
tCK 375 ps): a constraint of n CK between two commands is exactly ceil(n / 2) slots, and
BL24 is 24 beats / 8 per slot = 3 slots. ``LPDDR6_10667`` converts Ramulator 2.1's
``LPDDR6_10667_BL24`` (in CK, ``_LPDDR6_10667_CK``) this way; see that table for each value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from npusim.dram.powerdown import (
    POWER_DOWN_EXIT_NS,
    POWER_DOWN_MIN_NS,
    SELF_REFRESH_EXIT_EXTRA_NS,
    SELF_REFRESH_MIN_NS,
)
from npusim.dram.timing import Timing, ck_from_ns


@dataclass(frozen=True)
class SpeedBin:
    """One data rate: the controller's cycle ``tck_ps`` and the core timings (BG mode, the
    shortest burst) in those cycles: CK for LPDDR5/5X, the two-CK command slot for LPDDR6."""

    name: str
    data_rate_mts: int
    tck_ps: int
    timing_ck: Mapping[str, int]
    source: str
    standard: str = "LPDDR5"
    ck_per_cycle: int = 1


@dataclass(frozen=True)
class Density:
    """One channel's density (an x16 die, or an LPDDR6 x12 sub-channel's payload): capacity,
    rows per bank (2 KiB page) and refresh timings in ns; ``None`` where the standard has no
    per-bank refresh that npusim models."""

    name: str
    capacity_bytes: int
    rows_per_bank: int
    tRFCab_ns: float
    tRFCpb_ns: float | None
    tPBR2PBR_ns: float | None


@dataclass(frozen=True)
class BankArch:
    """One bank architecture: bank groups, banks per group, page size, legal burst lengths."""

    name: str
    bank_groups: int
    banks_per_group: int
    page_bytes: int
    burst_lengths: tuple[int, ...]
    max_data_rate_mts: int
    tRRD_ns: float | None = None
    tFAW_ns: float | None = None

    @property
    def banks(self) -> int:
        return self.bank_groups * self.banks_per_group


@dataclass(frozen=True)
class Standard:
    """One DRAM standard's channel: ``dq_bits`` data lines; ``bus_bytes_per_burst`` and
    ``payload_bytes_per_burst`` of its shortest burst (LPDDR5 BL16: 32 and 32; LPDDR6 BL24:
    36 and 32, the rest metadata); the bank architectures (with their burst lengths),
    densities (with their refresh timings) and refresh modes it offers."""

    name: str
    dq_bits: int
    bus_bytes_per_burst: int
    payload_bytes_per_burst: int
    bank_archs: Mapping[str, BankArch]
    densities: Mapping[str, Density]
    refresh_modes: tuple[str, ...]
    source: str

    @property
    def payload_fraction(self) -> float:
        """Payload bits per bit on the data bus (LPDDR6: 32 / 36)."""
        return self.payload_bytes_per_burst / self.bus_bytes_per_burst


def _ck(**values: int) -> Mapping[str, int]:
    return MappingProxyType(values)


_LPDDR6_10667_CK: Mapping[str, int] = MappingProxyType(
    {
        # Ramulator 2.1 LPDDR6_10667_BL24 (JESD209-6 tables as it cites them), tCK 375 ps
        "nBL": 6,  # BL/n_min of BL24 (Tables 381-382): 24 beats, 4 per CK
        "nBL_L": 12,  # BL/n_max of BL24: same-bank-group write -> read uses it
        "nCL": 56,  # nRL
        "nCWL": 26,  # nWL
        "nRCD": 48,  # nRCDr
        "nRCD_W": 22,  # nRCDw: a write's ACT -> WR
        "nRTW_L": 47,  # nRTW_L: same-bank-group RD -> WR, nRL + nBL_max + common (Table 389)
        "nRP": 107,  # nACU 59 (tACU 22 ns, Tables 414-415) + ceil(18 ns / tCK)
        "nRPab": 115,  # nACU + ceil(21 ns / tCK)
        "nRAS": 54,  # max(ceil(20 ns / tCK), 4)
        "nRC": 169,  # nRAS + nRPab
        "nWR": 38,  # nWTP 32 + nBL_max 12 - nBL_min 6: WR -> PRE is nWL + nBL_max + nWTP
        "nRTP": 14,
        "nPPD": 4,
        "nCCD_S": 6,  # nCCDS = nCCDS_WR
        "nCCD_L": 10,  # nCCDL = nCCDL_WR
        "nRRD": 10,
        "nFAW": 40,
        "nWTR_S": 17,
        "nWTR_L": 32,
        "nREFI": 10416,  # ceil(tREFI 3906 ns / tCK) (Table 302)
        "nRTW_gap": 5,  # nRTW_S 41 (Table 390, ODT on) - (nRL + nBL_min - nWL)
        "nAAD": 8,
        "nCAS": 2,
        "nWCKPST": 3,
    }
)
"""LPDDR6-10667 in CK of 375 ps, as Ramulator 2.1 carries it (CMU-SAFARI/ramulator2 c5b1c3a,
``python/ramulator/dram/lpddr6.py``: the preset and ``resolve_secondary_timings``)."""

LPDDR6_CK_PER_CYCLE = 2
"""CK per LPDDR6 command slot, npusim's LPDDR6 cycle (module docstring)."""


def _slots(values_ck: Mapping[str, int]) -> Mapping[str, int]:
    """CK counts to command slots: ceil(n / 2), exact between commands on even CK."""
    return MappingProxyType({k: -(-v // LPDDR6_CK_PER_CYCLE) for k, v in values_ck.items()})


_LPDDR5X_SOURCE = (
    "JESD209-5B/5C LPDDR5X values in ns and x16 RL/WL (no DBI, no link ECC, WL set A) per bin "
    "from the Synopsys DWC LPDDR5 driver, rounded with ck_from_ns (see the module docstring)"
)

PRESETS: Mapping[str, SpeedBin] = MappingProxyType(
    {
        "LPDDR5_6400": SpeedBin(
            "LPDDR5_6400", 6400, 1250,
            _ck(nBL=2, nBL_L=4, nCL=17, nCWL=9, nRCD=15, nRP=15, nRPab=17, nRAS=34, nRC=49,
                nWR=28, nRTP=8, nPPD=2, nCCD_S=2, nCCD_L=4, nRRD=4, nFAW=16, nWTR_S=5,
                nWTR_L=10, nREFI=3125, nREFIpb=391, nPBR2ACT=6, nAAD=8, nCAS=1, nWCKPST=1),
            "JESD209-5B tables as carried by Ramulator 2.1 (reference lpddr5.md)",
        ),
        "LPDDR5_4267": SpeedBin(
            "LPDDR5_4267", 4267, 1875,
            _ck(nBL=2, nBL_L=4, nCL=12, nCWL=6, nRCD=10, nRP=10, nRPab=12, nRAS=23, nRC=33,
                nWR=19, nRTP=6, nPPD=2, nCCD_S=2, nCCD_L=4, nRRD=3, nFAW=11, nWTR_S=4,
                nWTR_L=7, nREFI=2084, nREFIpb=261, nPBR2ACT=4, nAAD=8, nCAS=1, nWCKPST=1),
            "JESD209-5A ns values and RL/WL per bin from the Synopsys DWC LPDDR5 driver",
        ),
        "LPDDR5_3200": SpeedBin(
            "LPDDR5_3200", 3200, 2500,
            _ck(nBL=2, nBL_L=4, nCL=9, nCWL=5, nRCD=8, nRP=8, nRPab=9, nRAS=17, nRC=25,
                nWR=14, nRTP=5, nPPD=2, nCCD_S=2, nCCD_L=4, nRRD=2, nFAW=8, nWTR_S=4,
                nWTR_L=5, nREFI=1563, nREFIpb=196, nPBR2ACT=3, nAAD=8, nCAS=1, nWCKPST=1),
            "JESD209-5A ns values and RL/WL per bin from the Synopsys DWC LPDDR5 driver",
        ),
        "LPDDR5X_7500": SpeedBin(
            "LPDDR5X_7500", 7500, 1067,
            _ck(nBL=2, nBL_L=4, nCL=20, nCWL=11, nRCD=17, nRP=17, nRPab=20, nRAS=40, nRC=57,
                nWR=32, nRTP=10, nPPD=2, nCCD_S=2, nCCD_L=4, nRRD=4, nFAW=15, nWTR_S=6,
                nWTR_L=12, nREFI=3661, nREFIpb=458, nPBR2ACT=8, nAAD=8, nCAS=1, nWCKPST=1),
            _LPDDR5X_SOURCE,
        ),
        "LPDDR5X_8533": SpeedBin(
            "LPDDR5X_8533", 8533, 938,
            _ck(nBL=2, nBL_L=4, nCL=23, nCWL=12, nRCD=20, nRP=20, nRPab=23, nRAS=45, nRC=65,
                nWR=37, nRTP=10, nPPD=2, nCCD_S=2, nCCD_L=4, nRRD=4, nFAW=16, nWTR_S=7,
                nWTR_L=13, nREFI=4165, nREFIpb=521, nPBR2ACT=8, nAAD=8, nCAS=1, nWCKPST=1),
            _LPDDR5X_SOURCE,
        ),
        "LPDDR5X_9600": SpeedBin(
            "LPDDR5X_9600", 9600, 833,
            _ck(nBL=2, nBL_L=4, nCL=25, nCWL=14, nRCD=22, nRP=22, nRPab=26, nRAS=51, nRC=73,
                nWR=41, nRTP=11, nPPD=2, nCCD_S=2, nCCD_L=4, nRRD=4, nFAW=16, nWTR_S=8,
                nWTR_L=15, nREFI=4690, nREFIpb=586, nPBR2ACT=9, nAAD=8, nCAS=1, nWCKPST=1),
            _LPDDR5X_SOURCE,
        ),
        "LPDDR6_10667": SpeedBin(
            "LPDDR6_10667", 10667, 375 * LPDDR6_CK_PER_CYCLE, _slots(_LPDDR6_10667_CK),
            "JESD209-6 as carried by Ramulator 2.1's LPDDR6_10667_BL24 (tCK 375 ps), in "
            "command slots of two CK",
            standard="LPDDR6", ck_per_cycle=LPDDR6_CK_PER_CYCLE,
        ),
    }
)  # fmt: skip


DENSITIES: Mapping[str, Density] = MappingProxyType(
    {
        "8Gb": Density("8Gb", 2**30, 2**15, 210.0, 120.0, 90.0),
        "16Gb": Density("16Gb", 2**31, 2**16, 280.0, 140.0, 90.0),
    }
)
"""Densities by name, with LPDDR5's refresh timings; each standard's own are in STANDARDS."""

_LPDDR6_DENSITIES: Mapping[str, Density] = MappingProxyType(
    {
        # per x12 sub-channel; JESD209-6 Table 302 (as Ramulator 2.1 carries it) gives tRFCab
        # per two sub-channels: 210 / 280 / 380 ns for 8 / 16 / 32 Gb. 16Gb is Ramulator
        # 2.1's LPDDR6_16Gb_x12 (4 x 4 banks, 2^16 rows of 2^10 16-bit payload columns);
        # 8Gb halves the rows, as LPDDR5's 8 Gb die does.
        "8Gb": Density("8Gb", 2**30, 2**15, 280.0, None, None),
        "16Gb": Density("16Gb", 2**31, 2**16, 380.0, None, None),
    }
)

BANK_ARCHS: Mapping[str, BankArch] = MappingProxyType(
    {
        "BG": BankArch("BG", 4, 4, 2048, (16, 32), 9600),
        "16B": BankArch("16B", 1, 16, 2048, (16, 32), 3200),
        "8B": BankArch("8B", 1, 8, 4096, (32,), 6400, tRRD_ns=10.0, tFAW_ns=40.0),
    }
)
"""Bank architectures by name, as LPDDR5 defines them; each standard's own are in STANDARDS."""

STANDARDS: Mapping[str, Standard] = MappingProxyType(
    {
        "LPDDR5": Standard(
            "LPDDR5", 16, 32, 32, BANK_ARCHS, DENSITIES, ("all-bank", "per-bank", "off"),
            "JESD209-5B/5C (LPDDR5 and LPDDR5X), reference lpddr5.md",
        ),
        "LPDDR6": Standard(
            "LPDDR6", 12, 36, 32,
            # BL24 only: BL48 is not two BL24s (Ramulator 2.1: 2 x 6 CK on the data bus but
            # BL/n_min of BL48 = 18 CK in WR -> RD, BL/n_max 24), beyond the BL32 rule below.
            MappingProxyType({"BG": BankArch("BG", 4, 4, 2048, (24,), 10667)}),
            _LPDDR6_DENSITIES,
            # REFab only: JESD209-6 refreshes bank pairs with REFdb, whose timing Ramulator
            # 2.1 does not carry.
            ("all-bank", "off"),
            "JESD209-6 as carried by Ramulator 2.1 (module docstring)",
        ),
    }
)  # fmt: skip
"""Standards by name (the scenario's ``dram.standard``); each preset names its own."""

BURST_PAYLOAD_BYTES: Mapping[int, int] = MappingProxyType({16: 32, 32: 64, 24: 32})
"""Payload bytes of one burst by burst length: x16 BL16 32 B, BL32 64 B; x12 BL24 32 B of the
36 B it moves (JESD209-6)."""


def standard_of(preset: str) -> Standard:
    """The standard a speed bin belongs to."""
    return STANDARDS[PRESETS[preset].standard]


def burst_bytes(burst_length: int) -> int:
    """Payload bytes of one burst (BL16: 32 B, BL32: 64 B, LPDDR6 BL24: 32 B)."""
    return BURST_PAYLOAD_BYTES[burst_length]


def peak_bandwidth_bytes_per_s(preset: str, channels: int = 1) -> float:
    """Peak payload bandwidth: data rate x DQ lines / 8 x payload fraction x channels
    (12.8e9 B/s per LPDDR5-6400 channel; 10667e6 x 1.5 B x 32/36 = 14.2e9 per LPDDR6-10667
    sub-channel)."""
    standard = standard_of(preset)
    per_transfer = standard.dq_bits / 8 * standard.payload_fraction
    return PRESETS[preset].data_rate_mts * 1e6 * per_transfer * channels


def peak_bus_bandwidth_bytes_per_s(preset: str, channels: int = 1) -> float:
    """Peak data-bus bandwidth, metadata included: data rate x DQ lines / 8 x channels
    (16.0e9 B/s per LPDDR6-10667 sub-channel; equal to the payload peak for LPDDR5)."""
    return PRESETS[preset].data_rate_mts * 1e6 * standard_of(preset).dq_bits / 8 * channels


def rows_per_bank(density: str, bank_arch: str) -> int:
    """Rows per bank: channel capacity / (banks x page) (8 Gb, BG: 2^15; 16 Gb: 2^16).

    The names mean the same capacity, banks and page in every standard (a test keeps
    ``STANDARDS`` equal to ``DENSITIES`` and ``BANK_ARCHS`` there)."""
    arch = BANK_ARCHS[bank_arch]
    return DENSITIES[density].capacity_bytes // (arch.banks * arch.page_bytes)


def cycles_from_ns(t_ns: float, speed: SpeedBin) -> int:
    """A time in the preset's cycles: :func:`ck_from_ns` in CK, then CK to cycles rounded up
    (LPDDR6: ceil(CK / 2) command slots)."""
    ck = ck_from_ns(t_ns, speed.tck_ps // speed.ck_per_cycle)
    return -(-ck // speed.ck_per_cycle)


def resolve_timing(
    preset: str,
    density: str,
    bank_arch: str,
    burst_length: int,
    overrides: Mapping[str, int] | None = None,
) -> Timing:
    """Timing of one channel for a valid combination (see ``check_params``), then overrides.

    BL32 doubles the burst on the bus (nBL, nBL_L, nCCD_L, and nCCD_S becomes at least nBL)
    and adds BL/n to nRTP; bank architectures without bank groups use the "_S" values for
    "_L"; the standard's densities give the refresh timings (where it has no per-bank
    refresh, the per-bank fields take the all-bank values: ``check_params`` refuses
    ``refresh: per-bank`` there). Names of ``overrides`` must be ``TIMING_NAMES``.
    """
    speed = PRESETS[preset]
    standard = STANDARDS[speed.standard]
    dens = standard.densities[density]
    arch = standard.bank_archs[bank_arch]
    values = dict(speed.timing_ck)
    values["nRFCab"] = cycles_from_ns(dens.tRFCab_ns, speed)
    if dens.tRFCpb_ns is None or dens.tPBR2PBR_ns is None:
        values["nRFCpb"] = values["nPBR2PBR"] = values["nPBR2ACT"] = values["nRFCab"]
        values["nREFIpb"] = values["nREFI"]
    else:
        values["nRFCpb"] = cycles_from_ns(dens.tRFCpb_ns, speed)
        values["nPBR2PBR"] = cycles_from_ns(dens.tPBR2PBR_ns, speed)
    if arch.tRRD_ns is not None:
        values["nRRD"] = max(cycles_from_ns(arch.tRRD_ns, speed), 2)
    if arch.tFAW_ns is not None:
        values["nFAW"] = cycles_from_ns(arch.tFAW_ns, speed)
    values["nXP"] = cycles_from_ns(POWER_DOWN_EXIT_NS, speed)
    values["nCKE"] = cycles_from_ns(POWER_DOWN_MIN_NS, speed)
    values["nXSR"] = cycles_from_ns(dens.tRFCab_ns + SELF_REFRESH_EXIT_EXTRA_NS, speed)
    values["nSR"] = cycles_from_ns(SELF_REFRESH_MIN_NS, speed)
    if burst_length == 32:
        values["nRTP"] += values["nBL_L"]
        values["nBL"] *= 2
        values["nBL_L"] *= 2
        values["nCCD_L"] *= 2
        values["nCCD_S"] = max(values["nCCD_S"], values["nBL"])
    if arch.bank_groups == 1:
        values["nBL_L"] = values["nBL"]
        values["nCCD_L"] = values["nCCD_S"]
        values["nWTR_L"] = values["nWTR_S"]
    timing = Timing(**values)
    if overrides:
        timing = replace(timing, **{k: int(v) for k, v in overrides.items()})
    return timing
