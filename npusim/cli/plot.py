"""``npusim plot``: draw a sweep folder's plots (PNG + SVG) and its index.html again."""

from __future__ import annotations

import argparse
from pathlib import Path

from npusim.report.html import write_report


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plot",
        description="Read DIR/results.sqlite, write DIR/plots/*.png and *.svg and "
        "DIR/index.html (static: opens in any browser without a server or network).",
    )
    p.add_argument("folder", type=Path, metavar="DIR", help="sweep output folder")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path = write_report(args.folder)
    print(f"wrote {path} and {args.folder / 'plots'}/")
    return 0
