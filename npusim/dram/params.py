"""Scenario parameters of the DRAM section, their registries of names, and their checks.

``DramParams`` mirrors the ``dram:`` section of a scenario key for key; ``check_params`` lists
every problem at once as ``(key path, message)`` so the scenario loader can report them all
with file and line. Policy names become enums once, when a ``DramSystem`` is built.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from npusim.dram.energy import ENERGY_TERMS
from npusim.dram.mapping import MAPPING_FIELDS, mapping_problems
from npusim.dram.standard import (
    BANK_ARCHS,
    DENSITIES,
    PRESETS,
    resolve_timing,
    standard_of,
)
from npusim.dram.timing import TIMING_NAMES


class Scheduler(Enum):
    """Request scheduler; each picks, among the commands the queued requests need next, the
    one that can issue first (first ready), ties to the oldest request (first come):

    * ``frfcfs``: exactly that, over every request of the queue (Ramulator 2.1 ``FRFCFS``):
      a younger request's PRE may close a row an older queued request still hits, when that
      PRE can issue before the older request's column command.
    * ``frfcfs-rowhit`` (the default): the same, except that a bank's row is never closed
      while an older (or as old) queued request hits it (Ramulator 2.1 ``FRFCFS-RowHit``,
      what its own LPDDR5 tests run). It never activates a row twice for requests that were
      queued together, so streams and mixes pay fewer ACTs; it is the default for that.
    * ``fcfs``: each bank serves its requests in arrival order (no row-hit reordering).

    Requests whose row was activated for them (the controller's active slots) go before all
    others at equal cycles, in any read/write mode, and their bank is not precharged.
    """

    FRFCFS = "frfcfs"
    FRFCFS_ROWHIT = "frfcfs-rowhit"
    FCFS = "fcfs"


class QueueRelease(Enum):
    """When a request leaves its read or write queue (and its slot takes the next arrival):
    at its row's activation, moving to a per-bank active slot until its column command
    (``activation``, the default: Ramulator 2.1's active buffer; the queue then holds only
    requests waiting for a row command), or at its column command (``column``)."""

    ACTIVATION = "activation"
    COLUMN = "column"


class WckSync(Enum):
    """WCK2CK synchronisation (JESD209-5B): ``need-sync`` (the default, as in Ramulator 2.1)
    issues a CAS before a column command once WCK has stopped, i.e. when the command is at
    or after the end of the last burst plus nWCKPST; ``always-on`` keeps WCK running (no
    CAS, at the cost of WCK power, which this model does not count)."""

    NEED_SYNC = "need-sync"
    ALWAYS_ON = "always-on"


class PagePolicy(Enum):
    """Row policy: keep rows open until a conflict, or close with auto-precharge."""

    OPEN = "open"
    CLOSED = "closed"


class RefreshMode(Enum):
    """All-bank REFab every nREFI, per-bank REFpb every nREFIpb, or no refresh (experiments)."""

    ALL_BANK = "all-bank"
    PER_BANK = "per-bank"
    OFF = "off"


SCHEDULERS: Mapping[str, Scheduler] = MappingProxyType({s.value: s for s in Scheduler})
PAGE_POLICIES: Mapping[str, PagePolicy] = MappingProxyType({p.value: p for p in PagePolicy})
REFRESH_MODES: Mapping[str, RefreshMode] = MappingProxyType({r.value: r for r in RefreshMode})
QUEUE_RELEASES: Mapping[str, QueueRelease] = MappingProxyType({r.value: r for r in QueueRelease})
WCK_SYNC_MODES: Mapping[str, WckSync] = MappingProxyType({w.value: w for w in WckSync})
IO_ENERGY_MODES: Mapping[str, str] = MappingProxyType({
    "flat": "io_pj_per_bit on every bit moved (random data's toggle rate)",
    "data": "from the toggles of the quantized tensors' own bytes (npusim run)",
})  # fmt: skip

IO_BITS_DQ_LINES = 16
"""DQ lines of the channel ``io_energy: data`` models (:mod:`npusim.dram.io_bits`: x16, two
byte lanes); another width is refused rather than priced as x16."""

MAX_POWER_DOWN_AFTER_S = 1.0
"""Longest idle timeout before power-down or self-refresh (a bound, so the cycle count stays
small)."""

MAX_CHANNELS = 64
"""Channels a system may have (the scenario schema's limit too): each is a controller object,
so a million of them is a hang, not a memory system."""

DEFAULT_MAPPING = "RoBaCoBgCh"
"""Default bit order, MSB to LSB: channel bits lowest, then bank group, so consecutive bursts
rotate over the channels and then the four bank groups (nCCD_S apart instead of nCCD_L), and a
row of each bank is read to its end before the bank changes."""


@dataclass(frozen=True)
class DramParams:
    """The ``dram:`` scenario section; SI units, timing overrides in CK cycles.

    Write-drain watermarks are fractions of the write queue; the defaults 0.8 / 0.2 are
    Ramulator 2's ``wr_high_watermark`` / ``wr_low_watermark``. ``dbi`` turns on DBI-DC and
    ``io_energy`` picks how I/O energy is priced (:data:`IO_ENERGY_MODES`); neither changes
    timing, and only the engine, which knows the data, prices ``data``.
    """

    preset: str = "LPDDR5_6400"
    density: str = "8Gb"
    bank_arch: str = "BG"
    burst_length: int = 16
    channels: int = 1
    mapping: str = DEFAULT_MAPPING
    bank_hash: bool = False
    scheduler: str = "frfcfs-rowhit"
    page_policy: str = "open"
    refresh: str = "all-bank"
    queue_release: str = "activation"
    wck_sync: str = "need-sync"
    dbi: bool = False
    io_energy: str = "flat"
    read_queue_depth: int = 32
    write_queue_depth: int = 32
    write_high_watermark: float = 0.8
    write_low_watermark: float = 0.2
    power_down_after_s: float | None = None
    self_refresh_after_s: float | None = None
    timing: Mapping[str, int] = field(default_factory=dict)
    energy: Mapping[str, float] = field(default_factory=dict)

    @property
    def powers_down(self) -> bool:
        """Whether an idle channel powers down or self-refreshes (either timeout set)."""
        return self.power_down_after_s is not None or self.self_refresh_after_s is not None

    @property
    def leaves_rows_open(self) -> bool:
        """Whether the page policy leaves a channel's last row open when it falls idle."""
        return PAGE_POLICIES.get(self.page_policy) is PagePolicy.OPEN


def _unknown(kind: str, name: object, valid: list[str] | tuple[str, ...]) -> str:
    valid = list(valid)
    close = difflib.get_close_matches(str(name), valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}; valid: {', '.join(valid)}{hint}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name_problems(params: DramParams) -> list[tuple[str, str]]:
    problems = []
    registries: list[tuple[str, str, Mapping[str, object]]] = [
        ("preset", "preset", PRESETS),
        ("density", "density", DENSITIES),
        ("bank_arch", "bank architecture", BANK_ARCHS),
        ("scheduler", "scheduler", SCHEDULERS),
        ("page_policy", "page policy", PAGE_POLICIES),
        ("refresh", "refresh mode", REFRESH_MODES),
        ("queue_release", "queue release", QUEUE_RELEASES),
        ("wck_sync", "WCK sync mode", WCK_SYNC_MODES),
        ("io_energy", "I/O energy mode", IO_ENERGY_MODES),
    ]
    for key, kind, registry in registries:
        value = getattr(params, key)
        if value not in registry:
            problems.append((key, _unknown(kind, value, list(registry))))
    return problems


def _shape_problems(params: DramParams) -> list[tuple[str, str]]:
    problems = []
    value = params.channels
    if not _is_int(value) or not 1 <= value <= MAX_CHANNELS:
        problems.append(("channels", f"expected an integer in [1, {MAX_CHANNELS}], found "
                                     f"{value!r}"))  # fmt: skip
    for key in ("read_queue_depth", "write_queue_depth"):
        value = getattr(params, key)
        if not _is_int(value) or not 1 <= value <= MAX_QUEUE_DEPTH:
            problems.append(
                (key, f"expected an integer in [1, {MAX_QUEUE_DEPTH}], found {value!r}")
            )
    ch = params.channels
    if _is_int(ch) and ch >= 1 and ch & (ch - 1):
        problems.append(("channels", f"expected a power of two (address bits), found {ch}"))
    high, low = params.write_high_watermark, params.write_low_watermark
    if not (isinstance(high, (int, float)) and 0 < high <= 1):
        problems.append(("write_high_watermark", f"expected a fraction in (0, 1], found {high!r}"))
    if not (isinstance(low, (int, float)) and 0 <= low < 1):
        problems.append(("write_low_watermark", f"expected a fraction in [0, 1), found {low!r}"))
    elif isinstance(high, (int, float)) and low >= high:
        problems.append(
            ("write_low_watermark", f"expected below write_high_watermark {high}, found {low}")
        )
    for key in ("power_down_after", "self_refresh_after"):
        after = getattr(params, f"{key}_s")
        if after is not None and not (
            isinstance(after, (int, float))
            and not isinstance(after, bool)
            and 0 < after <= MAX_POWER_DOWN_AFTER_S
        ):
            problems.append((key, f"expected null or a time in (0, 1 s], found {after!r}"))
    if not isinstance(params.bank_hash, bool):
        problems.append(("bank_hash", f"expected true or false, found {params.bank_hash!r}"))
    return problems


def _arch_problems(params: DramParams) -> list[tuple[str, str]]:
    """What the preset's standard does not offer: the bank architecture, the burst length
    for it, the data rate for it, the density, the refresh mode, data-driven I/O energy."""
    if params.bank_arch not in BANK_ARCHS or params.preset not in PRESETS:
        return []
    standard = standard_of(params.preset)
    of_std = f"{standard.name} (preset {params.preset})"
    if params.bank_arch not in standard.bank_archs:
        offered = ", ".join(standard.bank_archs)
        return [("bank_arch", f"expected one of {offered} for {of_std}, found {params.bank_arch}")]
    arch = standard.bank_archs[params.bank_arch]
    problems = []
    if params.burst_length not in arch.burst_lengths:
        legal = ", ".join(str(b) for b in arch.burst_lengths)
        problems.append(
            (
                "burst_length",
                f"expected one of {legal} for bank_arch {arch.name} of {of_std}, "
                f"found {params.burst_length!r}",
            )
        )
    rate = PRESETS[params.preset].data_rate_mts
    if rate > arch.max_data_rate_mts:
        problems.append(
            (
                "bank_arch",
                f"{arch.name} mode runs up to {arch.max_data_rate_mts} MT/s, "
                f"found preset {params.preset} at {rate} MT/s; use BG or 8B",
            )
        )
    if params.density in DENSITIES and params.density not in standard.densities:
        offered = ", ".join(standard.densities)
        problems.append(("density", f"expected one of {offered} for {of_std}, "
                                    f"found {params.density}"))  # fmt: skip
    if params.refresh in REFRESH_MODES and params.refresh not in standard.refresh_modes:
        offered = ", ".join(standard.refresh_modes)
        problems.append(("refresh", f"expected one of {offered} for {of_std}, "
                                    f"found {params.refresh}"))  # fmt: skip
    if params.io_energy == "data" and standard.dq_bits != IO_BITS_DQ_LINES:
        problems.append(("io_energy", f"expected flat for {of_std}: data-driven I/O energy "
                                      f"models {IO_BITS_DQ_LINES} DQ lines, {standard.name} has "
                                      f"{standard.dq_bits}"))  # fmt: skip
    return problems


MAX_QUEUE_DEPTH = 4096
"""Queue entries per channel (the scenario schema's bound too): far beyond any controller's."""

MAX_TIMING_CK = 2**31 - 1
"""Largest timing override: keeps every cycle sum far from 64-bit overflow."""

_PHYSICS: tuple[tuple[str, str, str], ...] = (
    ("nRC", ">=", "nRAS + nRP"),
    ("nRAS", ">=", "nRCD"),
    ("nRPab", ">=", "nRP"),
    ("nCCD_S", ">=", "nBL"),
    ("nCCD_L", ">=", "nCCD_S"),
    ("nBL_L", ">=", "nBL"),
    ("nWTR_L", ">=", "nWTR_S"),
    ("nFAW", ">=", "nRRD"),
    ("nRFCab", ">=", "nRFCpb"),
    ("nREFI", ">", "nRFCab + nRPab + nRCD + nCWL + nBL + nWR"),  # WR->PRE; usually the larger
    ("nREFI", ">", "nRFCab + nRPab + nRCD + nRAS"),
    ("nREFIpb", ">", "nRFCpb"),
    ("nCL + nBL + nRTW_gap", ">", "nCWL"),
    ("nAAD", ">=", "1"),
)
"""Relations the timing must keep after overrides (JESD209-5: tRC = tRAS + tRP; a burst may not
overlap the previous one on the data bus, so nCCD_S >= nBL; "_L" (same bank group) is never
shorter than "_S"; RD -> WR is positive: nCL + nBL + nRTW_gap > nCWL). A refresh interval must
also leave room, after a late refresh (precharging all banks waits for nRAS or write recovery,
then nRPab) and nRFCab, for an ACT and its column command: with less, a refresh falls due
between every ACT and its RD/WR and the controller can livelock (measured on LPDDR5-4267, 3000
random reads: stuck at nREFI 119 to 130 and at 150; the bound is 161, and no run above it got
stuck). A per-bank refresh blocks only its bank set, so nREFIpb only has to exceed nRFCpb."""

_BASE_REGISTRIES = (("preset", PRESETS), ("density", DENSITIES), ("bank_arch", BANK_ARCHS))


def eval_sum(expression: str, env: Mapping[str, int]) -> int:
    """Value of a sum like ``"nRAS + nRP"`` or ``"nCL + nBL + 2"`` (names or integers)."""
    terms = [term.strip() for term in expression.split("+")]
    return sum(int(term) if term.isdigit() else env[term] for term in terms)


def _timing_problems(params: DramParams) -> list[tuple[str, str]]:
    if not isinstance(params.timing, Mapping):
        return [
            ("timing", f"expected a mapping of timing names to CK counts, found {params.timing!r}")
        ]
    problems = []
    good: dict[str, int] = {}
    for name, value in params.timing.items():
        if name not in TIMING_NAMES:
            problems.append((f"timing.{name}", _unknown("timing parameter", name, TIMING_NAMES)))
        elif not _is_int(value) or not 1 <= value <= MAX_TIMING_CK:
            problems.append(
                (
                    f"timing.{name}",
                    f"expected a positive CK count of at most {MAX_TIMING_CK}, found {value!r}",
                )
            )
        else:
            good[name] = value
    if any(getattr(params, k) not in reg for k, reg in _BASE_REGISTRIES) or _arch_problems(params):
        return problems
    t = resolve_timing(params.preset, params.density, params.bank_arch, params.burst_length, good)
    env = {name: getattr(t, name) for name in TIMING_NAMES}
    blamed_keys: set[str] = set()
    for lhs, op, rhs in _PHYSICS:
        left, right = eval_sum(lhs, env), eval_sum(rhs, env)
        if left > right or (op == ">=" and left == right):
            continue
        names = [term.strip() for term in f"{lhs} + {rhs}".split("+")]
        blamed = next((n for n in names if n in good), names[0])
        if blamed not in blamed_keys:  # one relation per key is enough to fix it
            blamed_keys.add(blamed)
            message = f"expected {lhs} {op} {rhs}, found {left} vs {right}"
            problems.append((f"timing.{blamed}", message))
    return problems


def _energy_problems(params: DramParams) -> list[tuple[str, str]]:
    if not isinstance(params.energy, Mapping):
        return [
            ("energy", f"expected a mapping of energy terms to numbers, found {params.energy!r}")
        ]
    problems = []
    for name, value in params.energy.items():
        if name not in ENERGY_TERMS:
            problems.append((f"energy.{name}", _unknown("energy term", name, list(ENERGY_TERMS))))
        elif (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            problems.append((f"energy.{name}", f"expected a finite number >= 0, found {value!r}"))
    return problems


def check_params(params: DramParams) -> list[tuple[str, str]]:
    """Every problem of ``params`` as ``(key path within the dram section, message)``.

    Covers unknown names (with the valid ones and the closest match), shapes of numbers,
    burst length and data rate legal for the bank architecture, the mapping string (see
    :func:`npusim.dram.mapping.mapping_problems` for its rule), and the physics of the timing
    after overrides (nRC >= nRAS + nRP and the others of ``_PHYSICS``). Empty when valid.
    """
    problems = _name_problems(params) + _shape_problems(params) + _arch_problems(params)
    if params.bank_arch in BANK_ARCHS and _is_int(params.channels) and params.channels >= 1:
        arch = BANK_ARCHS[params.bank_arch]
        for message in mapping_problems(params.mapping, arch.bank_groups, params.channels):
            problems.append(("mapping", message))
    elif not isinstance(params.mapping, str):
        problems.append(("mapping", f"expected a string over {' '.join(MAPPING_FIELDS)}"))
    return problems + _timing_problems(params) + _energy_problems(params)
