"""Export a sweep's store as flat rows: one per point, axes + totals (CSV or JSON).

Columns: ``workload``, ``precision``, ``fidelity``, ``status``, ``error``, one column per axis
(named by its dotted key, value as written in the sweep file), then the run's ``totals`` with
nested figures flattened as in ``layers.csv`` (``energy_pj.total`` -> ``energy_total_pj``),
with a frame rate the ``frame`` block's figures as ``frame_<name>``
(``frame_average_power_mw``, ``frame_idle_energy_dram_pj``), an accuracy sweep's
``accuracy_top1``, ``accuracy_top1_fp32`` and ``accuracy_agreement_with_fp32``, and ``key``
(the point's hash). Failed points have empty totals. Floats have at most
:data:`npusim.results.FLOAT_DIGITS` significant digits. pandas reads both files
(``pandas.read_csv``, ``pandas.read_json(orient="records")``).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from npusim.results import flatten, short_floats, write_file_atomically
from npusim.sweep.store import ResultStore, StoredPoint

LEADING_COLUMNS = ("workload", "precision", "fidelity", "status", "error")
ACCURACY_COLUMNS = ("top1", "top1_fp32", "agreement_with_fp32")
"""Of an accuracy sweep's ``accuracy`` block, exported as ``accuracy_<name>``."""


def flat_row(point: StoredPoint) -> dict[str, Any]:
    """One point as a flat mapping (see the module docstring for the columns)."""
    row: dict[str, Any] = {
        "workload": point.workload, "precision": point.precision or "",
        "fidelity": point.fidelity, "status": point.status, "error": point.error or "",
    }  # fmt: skip
    row.update(point.axes)
    if point.summary is not None:
        row.update(flatten(short_floats(point.summary["totals"])))
        frame = point.summary.get("frame")
        if frame is not None:
            row.update({f"frame_{name}": value
                        for name, value in flatten(short_floats(frame)).items()})  # fmt: skip
        accuracy = point.summary.get("accuracy")
        if accuracy is not None:
            row.update({f"accuracy_{name}": value for name, value in accuracy.items()
                        if name in ACCURACY_COLUMNS})  # fmt: skip
    row["key"] = point.key
    return row


def result_rows(folder: str | Path) -> list[dict[str, Any]]:
    """Every stored point of the sweep folder as a flat row, in sweep order."""
    with ResultStore(folder, create=False) as store:
        return [flat_row(p) for p in store.points()]


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    columns: list[str] = list(LEADING_COLUMNS)
    for row in rows:
        columns += [c for c in row if c not in columns and c != "key"]
    return [*columns, "key"]


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """The CSV text of ``rows`` (header = union of the rows' columns; missing cells empty)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=_columns(rows), lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def export_csv(folder: str | Path, out_file: str | Path) -> int:
    """Write the sweep's rows to ``out_file`` as CSV; returns the number of rows."""
    rows = result_rows(folder)
    _write(Path(out_file), rows_csv(rows))
    return len(rows)


def export_json(folder: str | Path, out_file: str | Path) -> int:
    """Write the sweep's rows to ``out_file`` as a JSON list of objects; returns the count."""
    rows = result_rows(folder)
    _write(Path(out_file), json.dumps(rows, indent=1) + "\n")
    return len(rows)


def _write(path: Path, text: str) -> None:
    write_file_atomically(path, text)
