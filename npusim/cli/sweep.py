"""``npusim sweep``: run a sweep file's points in parallel, resumably, then plot and report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from npusim.simulate import FIDELITIES
from npusim.sweep import EXECUTORS, NoProgress, ProgressBar, run_sweep


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sweep",
        description="Run every point of SWEEP.yaml (base scenario x workloads x axes), store "
        "each result in DIR/results.sqlite as it finishes, skip points already finished, "
        "then write plots and DIR/index.html. Exit code 0 when every point has a result, "
        "1 when some point failed (its error is stored), 2 for invalid input.",
    )
    p.add_argument("sweep_file", metavar="SWEEP", help="sweep file, or a bundled sweep's name "
                   "(npusim list shows them)")  # fmt: skip
    p.add_argument("--jobs", "-j", type=int, help="parallel processes (default: all cores)")
    p.add_argument("--fidelity", choices=FIDELITIES, help="override the sweep file's fidelity")
    p.add_argument("--out", "-o", type=Path, help="output folder (default: reports/<sweep>)")
    p.add_argument("--executor", choices=EXECUTORS, default=EXECUTORS[0],
                   help="where points run: local processes or a Dask cluster")  # fmt: skip
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                   help="the Dask scheduler address (with --executor dask)")  # fmt: skip
    p.add_argument("--no-report", action="store_true", help="skip plots and index.html")
    p.add_argument("--accuracy", metavar="DATASET", help="also measure each point's top-1 on a "
                   "labelled dataset (as npusim run --accuracy; overrides the sweep file's "
                   "accuracy key)")  # fmt: skip
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        from npusim.errors import ConfigError

        raise ConfigError(f"--jobs must be >= 1, got {args.jobs}")
    progress = NoProgress() if args.quiet else ProgressBar(sys.stderr)
    outcome = run_sweep(args.sweep_file, args.out, jobs=args.jobs, fidelity=args.fidelity,
                        executor=args.executor, scheduler=args.scheduler, progress=progress,
                        report=not args.no_report, accuracy=args.accuracy)  # fmt: skip
    for point, error in outcome.failed:
        label = ", ".join(f"{k}={v}" for k, v in point.axes)
        print(f"failed: {point.workload.label} [{label}]: {error}", file=sys.stderr)
    print(f"{outcome.total} points: {outcome.skipped} already finished, {outcome.ran} run, "
          f"{len(outcome.failed)} failed; results in {outcome.out_dir}")  # fmt: skip
    if outcome.report is not None:
        print(f"report: {outcome.report}")
    return outcome.exit_code
