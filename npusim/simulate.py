"""The pipeline: ``load scenario -> build system -> simulate -> results -> report``.

:func:`simulate` is the one entry point sweeps, the CLI and users' scripts call.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npusim.errors import ConfigError, Problem, ResultsError
from npusim.outdir import FolderKind, out_folder, write_run_folder
from npusim.results import RunResult, layers_csv, short_floats, timeline_csv

if TYPE_CHECKING:
    from npusim.config import Scenario
    from npusim.engine.cycle import Progress
    from npusim.workload import Workload


class Fidelity(Enum):
    """How a run is modelled.

    ``cycle``: SimPy simulation of DMA, cache, LPDDR5 controllers and MAC array (default).
    ``analytic``: roofline lower bound from closed forms, for fast large sweeps.
    """

    CYCLE = "cycle"
    ANALYTIC = "analytic"


FIDELITIES = tuple(f.value for f in Fidelity)


def simulate(
    scenario: Scenario,
    workload: Workload,
    fidelity: str = "cycle",
    progress: Progress | None = None,
    measure_quality: bool = True,
) -> RunResult:
    """Run ``workload`` on ``scenario`` at ``fidelity``; raises NpusimError subclasses.

    ``progress(done_layers, total_layers, layer_name, simulated_s)`` is called after each
    layer in cycle fidelity (an opt-in hook; the model itself never prints).
    ``measure_quality=False`` skips the per-layer SQNR of the quantized tensors (a caller
    that runs the same layers many times, such as a generation run; timing, traffic and
    energy do not depend on it).
    """
    try:
        mode = Fidelity(fidelity)
    except ValueError:
        raise ConfigError(Problem("fidelity", f"expected one of {', '.join(FIDELITIES)}, "
                                  f"got {fidelity!r}")) from None  # fmt: skip
    # the engine (and SimPy) load on the first run, not with the CLI
    if mode is Fidelity.ANALYTIC:
        from npusim.engine.analytic import run_analytic

        result = run_analytic(scenario, workload, measure_quality)
    else:
        from npusim.engine.cycle import run_cycle

        result = run_cycle(scenario, workload, progress, measure_quality)
    return with_extra(result, precision_label=scenario.precision.label,
                      workload_params=dict(workload.params))  # fmt: skip


def with_extra(result: RunResult, **keys: Any) -> RunResult:
    """``result`` with top-level ``summary.json`` keys added (``RunResult.extra``)."""
    return dataclasses.replace(result, extra={**result.extra, **keys})


def finite_summary(result: RunResult) -> dict[str, Any]:
    """``result.summary()``, checked to hold only finite numbers (summary.json is strict
    JSON); an overflow (e.g. ``energy.sram_read: 1e300 J`` times the accesses) raises
    :class:`ResultsError` naming the first key that holds one."""
    summary = result.summary()
    where = _first_non_finite(summary, "")
    if where is not None:
        raise ResultsError(f"the run's {where} is not a finite number (an input too large "
                           "for float arithmetic?); no results written")  # fmt: skip
    return summary


def _first_non_finite(value: Any, path: str) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    items: Any = ()
    if isinstance(value, Mapping):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    for key, item in items:
        found = _first_non_finite(item, key)
        if found is not None:
            return found
    return None


def save(result: RunResult, scenario: Scenario, out_dir: Path, plots: bool = True) -> Path:
    """Write the run's files atomically: summary.json, layers.csv, resolved_config.yaml, and
    in cycle fidelity timeline.csv with the DRAM-bandwidth and per-layer plots.

    ``out_dir`` must be new, empty or a run folder npusim wrote (its ``.npusim-output``
    marker); anything else raises :class:`ResultsError` untouched
    (:func:`npusim.outdir.write_run_folder`). Returns the folder's absolute path.
    """
    import json

    import yaml

    out_folder(out_dir, FolderKind.RUN)  # refuse before rendering plots

    resolved = yaml.safe_dump(dict(scenario.resolved), sort_keys=False)
    header = (
        f"# Resolved scenario {scenario.name!r} (from {scenario.source}) with the workload "
        f"{scenario.workload!r}; `npusim run` on this file reproduces the run.\n"
    )
    summary = finite_summary(result)
    files: dict[str, str | bytes] = {
        "summary.json": json.dumps(short_floats(summary), indent=2, allow_nan=False) + "\n",
        "layers.csv": layers_csv(result),
        "resolved_config.yaml": header + resolved,
    }
    timeline = timeline_csv(result)
    if timeline is not None:
        files["timeline.csv"] = timeline
    if plots:
        from npusim.report.run_plots import run_plots

        files.update(run_plots(result))
    return write_run_folder(out_dir, files)
