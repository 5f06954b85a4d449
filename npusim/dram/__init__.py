"""Cycle-level, event-driven LPDDR5 memory system (standard as data, FR-FCFS, refresh, energy).

Public API: :class:`DramParams` and :func:`check_params` (scenario section and its checks),
:class:`DramSystem` (``serve`` for the engine, ``run_trace`` for traces, ``stats``),
:func:`idle_energy_pj` (idle channels in closed form), the name
registries, the standard tables and :class:`DramEnergy`.

The names below are imported on first use (PEP 562), so validating a scenario loads the
parameter modules without NumPy or the simulation code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim._lazy import lazy_getattr

if TYPE_CHECKING:
    from npusim.dram.energy import (
        DramEnergy,
        EnergyBreakdown,
        compute_energy,
    )
    from npusim.dram.idle import idle_energy_pj
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
        peak_bandwidth_bytes_per_s,
        resolve_timing,
    )
    from npusim.dram.stats import (
        ChannelStats,
        DramStats,
    )
    from npusim.dram.system import (
        DramSystem,
    )
    from npusim.dram.timing import TIMING_NAMES, Timing

_EXPORTS = {
    "BANK_ARCHS": "npusim.dram.standard",
    "DEFAULT_MAPPING": "npusim.dram.params",
    "DENSITIES": "npusim.dram.standard",
    "PAGE_POLICIES": "npusim.dram.params",
    "PRESETS": "npusim.dram.standard",
    "QUEUE_RELEASES": "npusim.dram.params",
    "REFRESH_MODES": "npusim.dram.params",
    "SCHEDULERS": "npusim.dram.params",
    "TIMING_NAMES": "npusim.dram.timing",
    "WCK_SYNC_MODES": "npusim.dram.params",
    "ChannelStats": "npusim.dram.stats",
    "DramEnergy": "npusim.dram.energy",
    "DramParams": "npusim.dram.params",
    "DramStats": "npusim.dram.stats",
    "DramSystem": "npusim.dram.system",
    "EnergyBreakdown": "npusim.dram.energy",
    "PagePolicy": "npusim.dram.params",
    "QueueRelease": "npusim.dram.params",
    "RefreshMode": "npusim.dram.params",
    "Scheduler": "npusim.dram.params",
    "Timing": "npusim.dram.timing",
    "WckSync": "npusim.dram.params",
    "check_params": "npusim.dram.params",
    "compute_energy": "npusim.dram.energy",
    "idle_energy_pj": "npusim.dram.idle",
    "peak_bandwidth_bytes_per_s": "npusim.dram.standard",
    "resolve_timing": "npusim.dram.standard",
}

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
    "idle_energy_pj",
    "peak_bandwidth_bytes_per_s",
    "resolve_timing",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
