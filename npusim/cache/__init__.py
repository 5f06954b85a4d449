"""On-chip SRAM cache: set-associative model, replacement policies, MSHRs, energy and area.

Build with :class:`CacheParams` (validated by :func:`check_params`), access with
:meth:`SetAssociativeCache.access_block`, time with :class:`TimedCache`, cost with
:class:`SramEnergyModel`.
"""

from npusim.cache.energy import (
    SramEnergyModel,
    area_mm2,
    check_energy_model,
    leakage_power_w,
    read_energy_pj,
    write_energy_pj,
)
from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import (
    REPLACEMENT_NAMES,
    WRITE_POLICY_NAMES,
    CacheParams,
    Replacement,
    WritePolicy,
    check_params,
)
from npusim.cache.policies import POLICIES, ReplacementPolicy
from npusim.cache.runner import TraceRun, run_trace
from npusim.cache.stats import BlockOutcome, CacheStats, dynamic_energy_pj
from npusim.cache.timed import FixedLatencyMemory, NextLevel, TimedCache, TimedResult

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
