"""Command-line interface: parses arguments and calls the API; holds no model logic.

Each subcommand is a module of this package with ``add_parser(subparsers)``, which registers
the command and sets ``handler`` to a ``run(args) -> int`` function. Only the chosen
command's module is imported (``npusim --help`` lists :data:`COMMANDS` without importing
any), so start-up does not pay for SimPy, matplotlib or the engine. Any
:class:`npusim.errors.NpusimError` becomes one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import stat
import sys
from collections.abc import Sequence

from npusim import __version__
from npusim.errors import ConfigError, NpusimError, Problem

# command -> (module of this package, the one line ``npusim --help`` shows)
COMMANDS = {
    "run": ("run", "simulate a workload on a hardware scenario"),
    "generate": ("generate", "LLM generation: prefill, decode N tokens; TTFT, tokens/s, J/token"),
    "sweep": ("sweep", "run a sweep of a scenario over axes (precision, any key) in parallel"),
    "search": ("search", "find per-layer bit-widths minimizing cost within an accuracy budget"),
    "results": ("results", "export a sweep's results: one flat row per point (axes + totals)"),
    "plot": ("plot", "plot a sweep's results and write its HTML report"),
    "list": ("listing", "list bundled scenarios, workloads and sweeps"),
    "validate": ("validate", "check scenario, workload or sweep files without running them"),
    "schema": ("schema", "print a file format as JSON Schema (scenario, workload or sweep)"),
    "quantize": ("quantize", "quantize a .npy tensor and report bytes and error"),
    "dram": ("dram", "run a memory trace through the cycle-level LPDDR5 model"),
    "cache": ("cache", "run a LD/ST trace through the set-associative SRAM cache"),
    "array": ("array", "time GEMMs on the MAC array: cycles, folds, utilization, energy"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``npusim`` parser; only ``command``'s own options are built (and its module
    imported); every other command is listed by name and help line."""
    parser = argparse.ArgumentParser(
        prog="npusim",
        description="Cycle-level NPU and memory-system simulator with an integrated quantizer.",
    )
    parser.add_argument("--version", action="version", version=f"npusim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_line) in COMMANDS.items():
        if name == command:
            module = importlib.import_module(f"{__name__}.{module_name}")
            module.add_parser(subparsers)  # its help line shows only in the listing
        else:
            subparsers.add_parser(name, help=help_line)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first non-option word), if any."""
    return next((word for word in argv if not word.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``npusim`` console script; returns the process exit code."""
    console = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser(_command(argv))
        args = parser.parse_args(argv)
        if getattr(args, "handler", None) is None:
            parser.print_help()
            return 2
        return int(args.handler(args))
    except ConfigError as err:
        print(f"npusim: error: {one_line(err.one_line())}", file=sys.stderr)
        return 2
    except NpusimError as err:
        print(f"npusim: error: {one_line(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("npusim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`npusim list | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as err:  # a path the system refuses (name too long, no permission, ...)
        print(f"npusim: error: {one_line(os_error_text(err))}", file=sys.stderr)
        return 2
    finally:
        if console:
            # the outcome is decided (results written or not): an interrupt during the
            # interpreter's shutdown must not turn it into a silent death by SIGINT (-2)
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def add_overrides_option(parser: argparse.ArgumentParser, example: str) -> None:
    """``--set KEY=VALUE ...`` (repeatable) into ``args.overrides``, as every command that
    loads a scenario takes it; ``example`` shows one in the help."""
    parser.add_argument("--set", dest="overrides", action="extend", nargs="+", default=[],
                        metavar="KEY=VALUE",
                        help=f"override a scenario key, e.g. {example}")  # fmt: skip


def regular_file(path: str, what: str) -> str:
    """``path``, unless it names a FIFO, a device (``/dev/zero``) or a folder, which could
    block a reader or never end: then a :class:`ConfigError` at ``what``. A missing path is
    returned as is (its reader names the problem)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:  # missing or unreadable: the reader says so in its own words
        return path
    if not stat.S_ISREG(mode):
        raise ConfigError(Problem("", f"{path}: not a regular file", what))
    return path


def os_error_text(err: OSError) -> str:
    """``PATH: REASON`` (a long path shortened) for an error the system raised on a path."""
    reason = err.strerror or str(err)
    if err.filename is None:
        return reason
    name = str(err.filename)
    return f"{name[:80]}{'...' if len(name) > 80 else ''}: {reason}"


def one_line(text: str) -> str:
    """``text`` as one line: line breaks and other control characters shown escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
