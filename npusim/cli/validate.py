"""``npusim validate``: check scenario files without running anything."""

from __future__ import annotations

import argparse
import sys

from npusim.config import load_scenario
from npusim.errors import ConfigError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        help="check scenario files (exit 0 if all are valid, 2 otherwise)",
        description="Load and validate each scenario; print every problem with file, line "
        "and key path.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="scenario YAML files or names")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        try:
            scenario = load_scenario(name)
        except ConfigError as err:
            failed += 1
            for problem in err.problems:
                print(f"error: {problem}", file=sys.stderr)
            continue
        print(f"ok: {scenario.source} ({scenario.name})")
    return 2 if failed else 0
