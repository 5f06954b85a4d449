"""``npusim list``: bundled scenarios and workloads."""

from __future__ import annotations

import argparse

from npusim.config import bundled_scenarios, load_scenario
from npusim.report.table import catalogue_text
from npusim.workload import bundled_workloads, load_workload


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "list",
        description="List the scenarios in hw_configs/ and the workloads in workloads/.",
    )
    p.add_argument("--details", action="store_true",
                   help="also print each workload's layers, parameters and MACs")  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    scenarios = [load_scenario(name) for name in bundled_scenarios()]
    workloads = [load_workload(name) for name in bundled_workloads()]
    print(catalogue_text(scenarios, workloads, details=args.details))
    return 0
