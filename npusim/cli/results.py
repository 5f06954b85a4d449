"""``npusim results``: export a sweep's stored points as flat rows (CSV or JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from npusim.sweep.export import export_csv, export_json, result_rows, rows_csv


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "results",
        description="Read DIR/results.sqlite and write one row per point: workload, "
        "precision, fidelity, status, error, each axis, then the totals with energy "
        "flattened (energy_total_pj, ...). Without --csv/--json the CSV goes to stdout.",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="sweep output folder")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--csv", type=Path, metavar="FILE", help="write CSV to FILE")
    target.add_argument("--json", type=Path, metavar="FILE", help="write JSON to FILE")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.csv is not None:
        count = export_csv(args.folder, args.csv)
        print(f"wrote {count} rows to {args.csv}")
    elif args.json is not None:
        count = export_json(args.folder, args.json)
        print(f"wrote {count} rows to {args.json}")
    else:
        rows = result_rows(args.folder)
        sys.stdout.write(rows_csv(rows))
    return 0
