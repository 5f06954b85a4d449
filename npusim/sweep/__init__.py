"""Sweeps: many points of one scenario over axes, run in parallel, stored, plotted.

The names below are imported on first use (PEP 562): ``npusim.sweep.spec`` and the store load
without the engine the runner needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from npusim.sweep.export import export_csv, export_json, result_rows
    from npusim.sweep.progress import NoProgress, ProgressBar
    from npusim.sweep.runner import EXECUTORS, SweepOutcome, run_point, run_sweep
    from npusim.sweep.spec import Point, SweepSpec, WorkloadSpec, load_sweep
    from npusim.sweep.store import ResultStore, StoredPoint

_EXPORTS = {
    "export_csv": "export", "export_json": "export", "result_rows": "export",
    "NoProgress": "progress", "ProgressBar": "progress",
    "EXECUTORS": "runner", "SweepOutcome": "runner", "run_point": "runner", "run_sweep": "runner",
    "Point": "spec", "SweepSpec": "spec", "WorkloadSpec": "spec", "load_sweep": "spec",
    "ResultStore": "store", "StoredPoint": "store",
}  # fmt: skip

__all__ = [
    "EXECUTORS",
    "NoProgress",
    "Point",
    "ProgressBar",
    "ResultStore",
    "StoredPoint",
    "SweepOutcome",
    "SweepSpec",
    "WorkloadSpec",
    "export_csv",
    "export_json",
    "load_sweep",
    "result_rows",
    "run_point",
    "run_sweep",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
