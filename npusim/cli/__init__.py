"""Command-line interface: parses arguments and calls the API; holds no model logic.

Each subcommand is a module of this package with ``add_parser(subparsers)``, which registers
the command and sets ``handler`` to a ``run(args) -> int`` function. Any
:class:`npusim.errors.NpusimError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from npusim import __version__
from npusim.errors import ConfigError, NpusimError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="npusim",
        description="Cycle-level NPU and memory-system simulator with an integrated quantizer.",
    )
    parser.add_argument("--version", action="version", version=f"npusim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        add_parser = getattr(module, "add_parser", None)
        if add_parser is not None:
            add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``npusim`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except ConfigError as err:
        print(f"npusim: error: {err.one_line()}", file=sys.stderr)
        return 2
    except NpusimError as err:
        print(f"npusim: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("npusim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`npusim list | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
