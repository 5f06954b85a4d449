"""Checks of a sweep file's shape that keep hostile files cheap: bounded point counts, safe
folder names, plain axis values, and error messages that never print a nested structure."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from npusim.config.fields import name_problem

Report = Callable[..., None]  # problem(key, message[, line_key])

SCALARS = (str, int, float, bool, type(None))  # what an axis value or a parameter can be
MAX_POINTS = 10_000  # every point is validated before any runs: about 1 ms each
MAX_NAME_CHARS = 100  # the name is the default output folder reports/<name>


def shown(value: Any) -> str:
    """``value`` for an error message: a plain value's repr (cut), else what it is; never the
    repr of a nested structure (a YAML alias bomb would print for ever)."""
    if isinstance(value, SCALARS):
        text = repr(value)
        return text if len(text) <= 60 else text[:57] + "..."
    return "a mapping" if isinstance(value, Mapping) else f"a {type(value).__name__}"


def check_size(
    axes: tuple[tuple[str, tuple[Any, ...]], ...], zip_mode: bool, workloads: int, problem: Report
) -> None:
    """A problem at ``axes`` if the sweep has more than :data:`MAX_POINTS` points (counted
    from the axes' lengths, before any point is built)."""
    lengths = [len(values) for _, values in axes]
    per_workload = min(lengths, default=1) if zip_mode else math.prod(lengths)
    total = per_workload * max(workloads, 1)
    if total > MAX_POINTS:
        shape = " x ".join(str(n) for n in [*lengths, workloads])
        problem("axes", f"{shape} (axes x workloads) = {total:,} points; at most "
                f"{MAX_POINTS:,} per sweep: split it or use mode: zip")  # fmt: skip


def sweep_name(raw: Any, path: Path, problem: Report) -> str:
    """The sweep's ``name`` (a safe folder name: it is the default ``reports/<name>``), or
    the file's stem made safe; an unsafe explicit name is a problem at key ``name``."""
    if raw is None:
        stem = "".join(c if c.isalnum() or c in "_+-" else "_" for c in path.stem)
        return stem[:MAX_NAME_CHARS] or "sweep"
    why = name_problem(raw)
    if why is None and len(raw) > MAX_NAME_CHARS:
        why = f"expected at most {MAX_NAME_CHARS} characters, got {len(raw)}"
    if why is not None:
        problem("name", why)
    return str(raw)
