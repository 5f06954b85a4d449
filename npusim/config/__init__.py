"""Scenario loading: strict YAML, ``extends``, ``--set`` overrides, declared validation."""

from npusim.config.loader import (
    BUNDLED_SCENARIOS,
    DEFAULT_SCENARIO,
    bundled_scenarios,
    load_scenario,
)
from npusim.config.scenario import Scenario

__all__ = [
    "BUNDLED_SCENARIOS",
    "DEFAULT_SCENARIO",
    "Scenario",
    "bundled_scenarios",
    "load_scenario",
]
