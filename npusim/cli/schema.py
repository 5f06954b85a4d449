"""``npusim schema``: the scenario, workload or sweep format as JSON Schema."""

from __future__ import annotations

import argparse
import json

KINDS = ("scenario", "workload", "sweep")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "schema",
        description="Print the JSON Schema (draft 2020-12) of scenario, workload or sweep "
        "files; point your editor's YAML language server at it for completion and checking.",
    )
    p.add_argument("--kind", choices=KINDS, default=KINDS[0],
                   help="which file format (default: scenario)")  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from npusim.config.jsonschema import SCHEMAS

    print(json.dumps(SCHEMAS[args.kind](), indent=2))
    return 0
