"""On-chip SRAM cache: set-associative model, replacement policies, MSHRs, energy and area.

Build with :class:`CacheParams` (validated by :func:`check_params`), access with
:meth:`SetAssociativeCache.access_block`, time with :class:`TimedCache`, cost with
:class:`SramEnergyModel`.

The names below are imported on first use (PEP 562), so validating a scenario loads the
parameter modules without NumPy or the simulation code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim._lazy import lazy_getattr

if TYPE_CHECKING:
    from npusim.cache.energy import (
        SramEnergyModel,
        area_mm2,
        check_energy_model,
        leakage_power_w,
        read_energy_pj,
        write_energy_pj,
    )
    from npusim.cache.model import (
        SetAssociativeCache,
    )
    from npusim.cache.params import (
        REPLACEMENT_NAMES,
        WRITE_POLICY_NAMES,
        CacheParams,
        Replacement,
        WritePolicy,
        check_params,
    )
    from npusim.cache.policies import (
        POLICIES,
        ReplacementPolicy,
    )
    from npusim.cache.runner import (
        TraceRun,
        run_trace,
    )
    from npusim.cache.stats import (
        BlockOutcome,
        CacheStats,
        dynamic_energy_pj,
    )
    from npusim.cache.timed import (
        FixedLatencyMemory,
        NextLevel,
        TimedCache,
        TimedResult,
    )

_EXPORTS = {
    "POLICIES": "npusim.cache.policies",
    "REPLACEMENT_NAMES": "npusim.cache.params",
    "WRITE_POLICY_NAMES": "npusim.cache.params",
    "BlockOutcome": "npusim.cache.stats",
    "CacheParams": "npusim.cache.params",
    "CacheStats": "npusim.cache.stats",
    "FixedLatencyMemory": "npusim.cache.timed",
    "NextLevel": "npusim.cache.timed",
    "Replacement": "npusim.cache.params",
    "ReplacementPolicy": "npusim.cache.policies",
    "SetAssociativeCache": "npusim.cache.model",
    "SramEnergyModel": "npusim.cache.energy",
    "TimedCache": "npusim.cache.timed",
    "TimedResult": "npusim.cache.timed",
    "TraceRun": "npusim.cache.runner",
    "WritePolicy": "npusim.cache.params",
    "area_mm2": "npusim.cache.energy",
    "check_energy_model": "npusim.cache.energy",
    "check_params": "npusim.cache.params",
    "dynamic_energy_pj": "npusim.cache.stats",
    "leakage_power_w": "npusim.cache.energy",
    "read_energy_pj": "npusim.cache.energy",
    "run_trace": "npusim.cache.runner",
    "write_energy_pj": "npusim.cache.energy",
}

__all__ = [
    "POLICIES",
    "REPLACEMENT_NAMES",
    "WRITE_POLICY_NAMES",
    "BlockOutcome",
    "CacheParams",
    "CacheStats",
    "FixedLatencyMemory",
    "NextLevel",
    "Replacement",
    "ReplacementPolicy",
    "SetAssociativeCache",
    "SramEnergyModel",
    "TimedCache",
    "TimedResult",
    "TraceRun",
    "WritePolicy",
    "area_mm2",
    "check_energy_model",
    "check_params",
    "dynamic_energy_pj",
    "leakage_power_w",
    "read_energy_pj",
    "run_trace",
    "write_energy_pj",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
