"""Scenario loading: strict YAML, ``extends``, ``--set`` overrides, declared validation.

The names below are imported on first use (PEP 562), so ``npusim.config.schema`` and the
other light submodules load without the unit packages the loader needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim._lazy import lazy_getattr

if TYPE_CHECKING:
    from npusim.config.loader import (
        BUNDLED_SCENARIOS,
        DEFAULT_SCENARIO,
        bundled_scenarios,
        load_scenario,
    )
    from npusim.config.scenario import Scenario

_EXPORTS = {
    "BUNDLED_SCENARIOS": "npusim.config.loader",
    "DEFAULT_SCENARIO": "npusim.config.loader",
    "bundled_scenarios": "npusim.config.loader",
    "load_scenario": "npusim.config.loader",
    "Scenario": "npusim.config.scenario",
}

__all__ = [
    "BUNDLED_SCENARIOS",
    "DEFAULT_SCENARIO",
    "Scenario",
    "bundled_scenarios",
    "load_scenario",
]

__getattr__ = lazy_getattr(__name__, _EXPORTS)
