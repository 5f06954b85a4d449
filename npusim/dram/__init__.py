"""Cycle-level, event-driven LPDDR5 memory system (standard as data, FR-FCFS, refresh, energy).

Public API: :class:`DramParams` and :func:`check_params` (scenario section and its checks),
:class:`DramSystem` (``serve`` for the engine, ``run_trace`` for traces, ``stats``), the name
registries, the standard tables and :class:`DramEnergy`.
"""

from npusim.dram.energy import DramEnergy, EnergyBreakdown, compute_energy
from npusim.dram.params import (
    DEFAULT_MAPPING,
    PAGE_POLICIES,
    QUEUE_RELEASES,
    REFRESH_MODES,
    SCHEDULERS,
    WCK_SYNC_MODES,
    DramParams,
    PagePolicy,
    QueueRelease,
    RefreshMode,
    Scheduler,
    WckSync,
    check_params,
)
from npusim.dram.standard import (
    BANK_ARCHS,
    DENSITIES,
    PRESETS,
    TIMING_NAMES,
    Timing,
    peak_bandwidth_bytes_per_s,
    resolve_timing,
)
from npusim.dram.stats import ChannelStats, DramStats
from npusim.dram.system import DramSystem

__all__ = [
    "BANK_ARCHS",
    "DEFAULT_MAPPING",
    "DENSITIES",
    "PAGE_POLICIES",
    "PRESETS",
    "QUEUE_RELEASES",
    "REFRESH_MODES",
    "SCHEDULERS",
    "TIMING_NAMES",
    "WCK_SYNC_MODES",
    "ChannelStats",
    "DramEnergy",
    "DramParams",
    "DramStats",
    "DramSystem",
    "EnergyBreakdown",
    "PagePolicy",
    "QueueRelease",
    "RefreshMode",
    "Scheduler",
    "Timing",
    "WckSync",
    "check_params",
    "compute_energy",
    "peak_bandwidth_bytes_per_s",
    "resolve_timing",
]
