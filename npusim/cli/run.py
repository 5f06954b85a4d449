"""``npusim run``: simulate a workload on a scenario and write the results contract."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from npusim.cli import add_overrides_option
from npusim.config import load_scenario
from npusim.config.resolved import bind_workload, default_out_dir, overrides, workload_reference
from npusim.errors import ConfigError, Problem
from npusim.outdir import FolderKind, out_folder
from npusim.report.table import summary_text
from npusim.results import short_floats
from npusim.simulate import FIDELITIES, save, simulate, with_extra
from npusim.workload import load_workload

if TYPE_CHECKING:
    from npusim.engine.cycle import Progress


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        description="Simulate a workload on a scenario (default: the bundled "
        "lpddr5_51gbps_4mib) and write summary.json, layers.csv and resolved_config.yaml.",
    )
    p.add_argument("scenario", nargs="?", help="scenario YAML file or bundled name")
    p.add_argument("--workload", "-w", help="workload YAML file or bundled name "
                   "(default: the scenario's workload)")  # fmt: skip
    p.add_argument(
        "--param",
        dest="params",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME=INT",
        help="workload parameter, e.g. seq_len=512 or batch=4",
    )
    p.add_argument("--precision", "-p", help="set weights and activations (int8, fp32, ...)")
    p.add_argument("--fidelity", choices=FIDELITIES, default=FIDELITIES[0],
                   help="cycle: SimPy + cycle-level LPDDR5 (default); analytic: roofline "
                   "lower bound")  # fmt: skip
    p.add_argument(
        "--out",
        "-o",
        type=Path,
        help="output folder (default: reports/<scenario>-<workload>-<precision>)",
    )
    add_overrides_option(p, "sram.capacity='2 MiB'")
    p.add_argument("--json", action="store_true", help="print summary.json instead of tables")
    p.add_argument("--quiet", "-q", action="store_true",
                   help="print only the output folder; no progress lines")  # fmt: skip
    p.add_argument("--no-plots", action="store_true", help="skip the per-run plots")
    p.add_argument(
        "--accuracy",
        metavar="DATASET",
        help="also run the network's arithmetic on a labelled dataset (.npz with "
        "inputs, labels; or a bundled one: digits) and report top-1 against FP32",
    )
    p.add_argument("--skip-unsupported", action="store_true",
                   help="ONNX workloads: leave out ops npusim does not model (with a warning) "
                   "instead of stopping")  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, args.overrides, precision=args.precision)
    own_workload = _beside(scenario.workload, scenario.source)
    reference = args.workload or own_workload
    # the scenario's workload_params belong to the scenario's workload, not to another -w
    same = workload_reference(reference) == workload_reference(own_workload)
    own = scenario.workload_params if same else {}
    params = {**own, **_params(args.params)}
    skip = args.skip_unsupported or (same and scenario.workload_skip_unsupported)
    workload = load_workload(reference, params, skip_unsupported=skip)
    scenario = bind_workload(scenario, reference, params, skip)
    out = args.out or default_out_dir(scenario, workload.name)
    out_folder(out, FolderKind.RUN)  # refuse a folder that is not npusim's before running
    if args.accuracy:  # a bad dataset or untrained model fails before the timing run
        from npusim.functional import check_accuracy_inputs

        check_accuracy_inputs(workload, args.accuracy, scenario)
    progress = None if args.quiet or not sys.stderr.isatty() else _progress_printer()
    result = simulate(scenario, workload, args.fidelity, progress)
    result = with_extra(result, workload_source=scenario.workload,
                        overrides=overrides(scenario))  # fmt: skip
    if args.accuracy:
        from npusim.functional import with_accuracy

        result = with_accuracy(result, scenario, workload, args.accuracy)
    out_dir = save(result, scenario, out, plots=not args.no_plots)
    if args.json:
        json.dump(short_floats(result.summary()), sys.stdout, indent=2)
        print()
    elif not args.quiet:
        print(summary_text(result))
        written = sorted(p.name for p in out_dir.iterdir() if not p.name.startswith("."))
        print(f"\nwrote {out_dir}/: {', '.join(written)}")
    else:
        print(out_dir)
    return 0


def _progress_printer() -> Progress:
    """A per-layer line on stderr, shown once a run has taken more than two seconds."""
    started = time.monotonic()

    def report(done: int, total: int, layer: str, simulated_s: float) -> None:
        elapsed = time.monotonic() - started
        if elapsed > 2.0:
            print(f"[{done}/{total}] {layer}: {simulated_s * 1e3:.3f} ms simulated, "
                  f"{elapsed:.1f} s wall", file=sys.stderr)  # fmt: skip

    return report


def _beside(workload: str, scenario_file: str) -> str:
    """A scenario's relative ``workload`` path, read relative to the scenario file (if a file
    is there; else as given: a bundled name or a path relative to the current folder)."""
    candidate = Path(scenario_file).parent / workload
    if not Path(workload).is_absolute() and candidate.is_file():
        return str(candidate)
    return workload


def _params(pairs: list[str]) -> dict[str, int]:
    """``["seq_len=512"]`` -> ``{"seq_len": 512}``; a malformed pair is a ConfigError."""
    params: dict[str, int] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not _INTEGER.fullmatch(value.strip()):
            raise ConfigError(Problem("", f"expected NAME=INTEGER, got {pair[:80]!r}", "--param"))
        params[name.strip()] = int(value)
    return params


# ASCII digits only (``int`` also takes '²'-like digits and '_'); 18 digits fit an int64
_INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
