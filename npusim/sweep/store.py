"""The results store: one SQLite file per sweep folder, one row per point.

A row is keyed by the point's hash (:func:`npusim.sweep.spec.point_key`) and holds the point's
axes, workload, precision, fidelity and either its ``summary.json`` object (status ``ok``) or
its error (status ``failed``). Only the parent process writes; each finished point is
committed on its own, in WAL mode, so a sweep killed at any moment keeps every point that
finished and a rerun skips them.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npusim import __version__
from npusim.errors import NpusimError, ResultsError

STORE_NAME = "results.sqlite"
STATUS_OK = "ok"
STATUS_FAILED = "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    key TEXT PRIMARY KEY,
    idx INTEGER NOT NULL,
    sweep TEXT NOT NULL,
    scenario TEXT NOT NULL,
    workload TEXT NOT NULL,
    precision TEXT,
    fidelity TEXT NOT NULL,
    axes_json TEXT NOT NULL,
    status TEXT NOT NULL,
    summary_json TEXT,
    error TEXT,
    peak_macs_per_s REAL,
    elapsed_s REAL,
    npusim_version TEXT NOT NULL,
    finished_unix_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class StoredPoint:
    """A row of the store. ``summary`` is None for a failed point, ``error`` for a good one."""

    key: str
    index: int
    sweep: str
    scenario: str
    workload: str
    precision: str | None
    fidelity: str
    axes: dict[str, Any]
    status: str
    summary: dict[str, Any] | None
    error: str | None
    peak_macs_per_s: float | None
    elapsed_s: float | None

    @property
    def ok(self) -> bool:
        return self.status == STATUS_OK


class ResultStore:
    """The SQLite store of a sweep folder; use as a context manager."""

    def __init__(self, folder: str | Path, create: bool = True) -> None:
        self.path = Path(folder) / STORE_NAME
        if not create and not self.path.exists():
            raise NpusimError(f"{folder}: no sweep results here (no {STORE_NAME})")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit; every write below is its own transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.execute("SELECT count(*) FROM points").fetchone()
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise ResultsError(
                f"{self.path}: not a readable npusim results store ({err})"
            ) from None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def set_meta(self, name: str, value: Any) -> None:
        """Store a JSON-able value under ``name`` (sweep spec, resolved base scenario)."""
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, json.dumps(value)))

    def meta(self, name: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return default if row is None else json.loads(row[0])

    def finished_keys(self) -> set[str]:
        """Keys of points that succeeded (a rerun skips them; failed points run again)."""
        rows = self._db.execute("SELECT key FROM points WHERE status = ?", (STATUS_OK,))
        return {key for (key,) in rows}

    def record(
        self,
        point: Any,
        sweep: str,
        summary: dict[str, Any] | None,
        error: str | None,
        elapsed_s: float,
    ) -> None:
        """Commit one finished point (``summary`` on success, ``error`` on failure)."""
        status = STATUS_OK if error is None else STATUS_FAILED
        self._db.execute(
            "INSERT OR REPLACE INTO points VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                point.key, point.index, sweep, point.scenario, point.workload.label,
                point.precision, point.fidelity, json.dumps(point.axes_dict), status,
                None if summary is None else json.dumps(summary), error,
                point.peak_macs_per_s, elapsed_s, __version__, time.time(),
            ),
        )  # fmt: skip

    def points(self) -> list[StoredPoint]:
        """Every stored point, in sweep order."""
        return list(self._iter_points())

    def _iter_points(self) -> Iterator[StoredPoint]:
        query = (
            "SELECT key, idx, sweep, scenario, workload, precision, fidelity, axes_json, status,"
            " summary_json, error, peak_macs_per_s, elapsed_s FROM points ORDER BY idx, key"
        )
        for row in self._db.execute(query):
            key, idx, sweep, scenario, workload, precision, fidelity, axes, status = row[:9]
            summary, error, peak, elapsed = row[9:]
            yield StoredPoint(
                key=key, index=idx, sweep=sweep, scenario=scenario, workload=workload,
                precision=precision, fidelity=fidelity, axes=json.loads(axes), status=status,
                summary=None if summary is None else json.loads(summary), error=error,
                peak_macs_per_s=peak, elapsed_s=elapsed,
            )  # fmt: skip
