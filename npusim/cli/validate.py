"""``npusim validate``: check scenario, workload and sweep files without running anything."""

from __future__ import annotations

import argparse
import sys

from npusim.cli import one_line, os_error_text
from npusim.config.kinds import KINDS, FileKind, check_file, detect_kind
from npusim.errors import ConfigError, NpusimError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "validate",
        description="Load and validate each file as what it is: a workload (it has 'layers', "
        "or is a .csv/.onnx file), a sweep (it has 'scenario', 'workloads' or 'axes') or a "
        "scenario (anything else); print every problem with file, line and key path.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="files or bundled names")
    p.add_argument("--kind", choices=KINDS, help="check every file as this kind "
                   "(default: detected per file)")  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        if not _check(name, args.kind):
            failed += 1
    return 2 if failed else 0


def _check(name: str, forced: str | None) -> bool:
    """Check one file; print ``ok: ...`` or its problems and ``invalid: ...``."""
    kind = None
    try:
        kind = FileKind(forced, "--kind") if forced else detect_kind(name)
        what = check_file(name, kind.kind)
    except (ConfigError, NpusimError, OSError) as err:
        problems: list[object] = [os_error_text(err)] if isinstance(err, OSError) else [err]
        if isinstance(err, ConfigError):
            problems = list(err.problems)
        for problem in problems:
            print(f"error: {one_line(str(problem))}", file=sys.stderr)
        taken = f" (read as a {kind.kind}: {kind.reason})" if kind else ""
        print(f"invalid: {one_line(name)}{taken}", file=sys.stderr)
        return False
    print(f"ok: {name}: {what} ({kind.reason})")
    return True
