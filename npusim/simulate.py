"""The pipeline: ``load scenario -> build system -> simulate -> results -> report``.

:func:`simulate` is the one entry point sweeps, the CLI and users' scripts call.
"""

from __future__ import annotations

import dataclasses
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npusim.errors import ConfigError, Problem
from npusim.results import RunResult, write_run

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
) -> RunResult:
    """Run ``workload`` on ``scenario`` at ``fidelity``; raises NpusimError subclasses.

    ``progress(done_layers, total_layers, layer_name, simulated_s)`` is called after each
    layer in cycle fidelity (an opt-in hook; the model itself never prints).
    """
    try:
        mode = Fidelity(fidelity)
    except ValueError:
        raise ConfigError(Problem("fidelity", f"expected one of {', '.join(FIDELITIES)}, "
                                  f"got {fidelity!r}")) from None  # fmt: skip
    # the engine (and SimPy) load on the first run, not with the CLI
    if mode is Fidelity.ANALYTIC:
        from npusim.engine.analytic import run_analytic

        result = run_analytic(scenario, workload)
    else:
        from npusim.engine.cycle import run_cycle

        result = run_cycle(scenario, workload, progress)
    return with_extra(result, precision_label=scenario.precision.label,
                      workload_params=dict(workload.params))  # fmt: skip


def with_extra(result: RunResult, **keys: Any) -> RunResult:
    """``result`` with top-level ``summary.json`` keys added (``RunResult.extra``)."""
    return dataclasses.replace(result, extra={**result.extra, **keys})


def save(result: RunResult, scenario: Scenario, out_dir: Path, plots: bool = True) -> Path:
    """Write the run's files atomically: summary.json, layers.csv, resolved_config.yaml, and
    in cycle fidelity timeline.csv with the DRAM-bandwidth and per-layer plots."""
    import yaml

    resolved = yaml.safe_dump(dict(scenario.resolved), sort_keys=False)
    header = (
        f"# Resolved scenario {scenario.name!r} (from {scenario.source}) with the workload "
        f"{scenario.workload!r}; `npusim run` on this file reproduces the run.\n"
    )
    files: dict[str, str | bytes] = {"resolved_config.yaml": header + resolved}
    if plots:
        from npusim.report.run_plots import run_plots

        files.update(run_plots(result))
    return write_run(result, out_dir, files)
