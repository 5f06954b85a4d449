"""Sweeps: many points of one scenario over axes, run in parallel, stored, plotted."""

from npusim.sweep.export import export_csv, export_json, result_rows
from npusim.sweep.progress import NoProgress, ProgressBar
from npusim.sweep.runner import EXECUTORS, SweepOutcome, run_point, run_sweep
from npusim.sweep.spec import Point, SweepSpec, WorkloadSpec, load_sweep
from npusim.sweep.store import ResultStore, StoredPoint

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
