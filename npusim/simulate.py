"""The pipeline: ``load scenario -> build system -> simulate -> results -> report``.

:func:`simulate` is the one entry point sweeps, the CLI and users' scripts call.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import yaml

from npusim.config import Scenario
from npusim.engine.analytic import run_analytic
from npusim.engine.cycle import Progress, run_cycle
from npusim.errors import ConfigError, Problem
from npusim.results import RunResult, write_run
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
    if mode is Fidelity.ANALYTIC:
        return run_analytic(scenario, workload)
    return run_cycle(scenario, workload, progress)


def precision_label(scenario: Scenario) -> str:
    """``int8`` when weights and activations agree, else ``w4a8``-style."""
    p = scenario.precision
    return p.weights if p.weights == p.activations else f"w{p.weights}-a{p.activations}"


def default_out_dir(
    scenario: Scenario, workload: Workload, suffix: str = "", root: Path = Path("reports")
) -> Path:
    """``reports/<scenario>-<workload><suffix>-<precision>`` (suffix: workload parameters)."""
    return root / f"{scenario.name}-{workload.name}{suffix}-{precision_label(scenario)}"


def save(result: RunResult, scenario: Scenario, out_dir: Path, plots: bool = True) -> Path:
    """Write the run's files atomically: summary.json, layers.csv, resolved_config.yaml, and
    in cycle fidelity timeline.csv with the DRAM-bandwidth and per-layer plots."""
    resolved = yaml.safe_dump(dict(scenario.resolved), sort_keys=False)
    header = f"# Resolved scenario {scenario.name!r} (from {scenario.source}); loads as is.\n"
    files: dict[str, str | bytes] = {"resolved_config.yaml": header + resolved}
    if plots:
        from npusim.report.run_plots import run_plots

        files.update(run_plots(result))
    return write_run(result, out_dir, files)
