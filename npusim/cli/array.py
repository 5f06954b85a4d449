"""``npusim array``: time GEMMs or a SCALE-Sim topology on the MAC array (closed forms)."""

from __future__ import annotations

import argparse
import json
import sys

from npusim.cli import regular_file
from npusim.compute.params import DEFAULT_MACS_PER_PE_PER_CYCLE, ArrayParams
from npusim.compute.run import run_layers
from npusim.config.schema import ARRAY
from npusim.report.unit_text import array_table
from npusim.workload.layers import Gemm
from npusim.workload.scalesim import load_topology


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "array",
        description=(
            "Time GEMMs on a rows x cols systolic array with the SCALE-Sim formulas "
            "(cycles printed as occupied cycles; SCALE-Sim prints one less). The defaults are "
            "the scenario format's array defaults (32 x 32, weight stationary), not the "
            "default scenario's 64 x 64 output-stationary array: add --rows 64 --cols 64 "
            "--dataflow os for that one."
        ),
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--gemm",
        nargs=3,
        type=int,
        metavar=("M", "K", "N"),
        help="one GEMM: (M x K) inputs times (K x N) weights",
    )
    source.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    p.add_argument(
        "--form",
        default="auto",
        choices=("auto", "conv", "gemm"),
        help="topology CSV form (default: %(default)s, from the header)",
    )
    p.add_argument(
        "--rows", type=int, default=ARRAY["rows"].default, help="PE rows (default: %(default)s)"
    )
    p.add_argument(
        "--cols", type=int, default=ARRAY["cols"].default, help="PE columns (default: %(default)s)"
    )
    p.add_argument(
        "--dataflow",
        default=ARRAY["dataflow"].default,
        help="os, ws or is: output, weight or input stationary (default: %(default)s)",
    )
    p.add_argument(
        "--precision",
        default="int8",
        help="operand precision, e.g. int8, int4, fp16, fp32 (default: %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    params = ArrayParams(
        rows=args.rows,
        cols=args.cols,
        dataflow=args.dataflow,
        macs_per_pe_per_cycle=DEFAULT_MACS_PER_PE_PER_CYCLE,
    )
    if args.topology:
        layers: list = load_topology(regular_file(args.topology, "--topology"), args.form)
    else:
        m, k, n = args.gemm
        layers = [("gemm", Gemm(m=m, k=k, n=n))]
    result = run_layers(layers, params, args.precision)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(array_table(result))
    return 0
