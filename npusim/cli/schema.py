"""``npusim schema``: the scenario format as JSON Schema, for editor completion."""

from __future__ import annotations

import argparse
import json

from npusim.config.jsonschema import scenario_json_schema


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "schema",
        help="print the scenario format as JSON Schema",
        description="Print the JSON Schema (draft 2020-12) of scenario files; point your "
        "editor's YAML language server at it for completion and checking.",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(scenario_json_schema(), indent=2))
    return 0
