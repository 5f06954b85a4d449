"""``npusim list``: bundled scenarios, workloads and sweeps."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "list",
        description="List the scenarios in hw_configs/, the workloads in workloads/ and the "
        "sweeps in sweeps/, one line each. --details adds each scenario's whole configuration; "
        "--workload NAME adds that workload's layers and tensors (producer, consumers, "
        "lifetime).",
    )
    p.add_argument("--details", action="store_true",
                   help="also print each scenario's whole configuration and each workload's "
                   "layer, weight and MAC counts")  # fmt: skip
    p.add_argument("--workload", "-w", dest="workloads", action="append", default=[],
                   metavar="NAME", help="print this workload's layers and tensors (a bundled "
                   "name or a file; repeatable)")  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from npusim.config import bundled_scenarios, load_scenario
    from npusim.config.yamlio import read_yaml
    from npusim.report.catalogue import catalogue_text
    from npusim.sweep.spec import bundled_sweeps, resolve_sweep_path
    from npusim.workload import bundled_workloads, load_workload
    from npusim.workload.loader import workload_header

    scenarios = [load_scenario(name) for name in bundled_scenarios()]
    # the summary reads each workload's header only; --details loads the layers for counts
    workloads = [load_workload(name) if args.details else workload_header(name)
                 for name in bundled_workloads()]  # fmt: skip
    sweeps = [{"name": name, "raw": read_yaml(resolve_sweep_path(name)) or {}}
              for name in bundled_sweeps()]  # fmt: skip
    chosen = [load_workload(name) for name in args.workloads]
    print(catalogue_text(scenarios, workloads, sweeps, details=args.details, layers_of=chosen))
    return 0
