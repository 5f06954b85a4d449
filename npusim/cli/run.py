"""``npusim run``: simulate a workload on a scenario and write the results contract."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from npusim.config import load_scenario
from npusim.report.table import summary_text
from npusim.simulate import FIDELITIES, default_out_dir, save, simulate
from npusim.workload import load_workload


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="simulate a workload on a hardware scenario",
        description="Simulate a workload on a scenario (default: the bundled "
        "lpddr5_51gbps_4mib) and write summary.json, layers.csv and resolved_config.yaml.",
    )
    p.add_argument("scenario", nargs="?", help="scenario YAML file or bundled name")
    p.add_argument("--workload", "-w", help="workload YAML file or bundled name "
                   "(default: the scenario's workload)")  # fmt: skip
    p.add_argument("--precision", "-p", help="set weights and activations (int8, fp32, ...)")
    p.add_argument("--fidelity", choices=FIDELITIES, default=FIDELITIES[0])
    p.add_argument(
        "--out",
        "-o",
        type=Path,
        help="output folder (default: reports/<scenario>-<workload>-<precision>)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. sram.capacity='2 MiB'",
    )
    p.add_argument("--json", action="store_true", help="print summary.json instead of tables")
    p.add_argument("--quiet", "-q", action="store_true", help="print only the output folder")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario, args.overrides, precision=args.precision)
    workload = load_workload(args.workload or scenario.workload)
    result = simulate(scenario, workload, args.fidelity)
    out_dir = save(result, scenario, args.out or default_out_dir(scenario, workload))
    if args.json:
        json.dump(result.summary(), sys.stdout, indent=2)
        print()
    elif not args.quiet:
        print(summary_text(result))
        print(f"\nwrote {out_dir}/summary.json, layers.csv, resolved_config.yaml")
    else:
        print(out_dir)
    return 0
