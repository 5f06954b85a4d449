"""Run a sweep's points in parallel and commit each result to the store as it finishes.

``load sweep -> validate every point -> skip finished -> run the rest -> store -> report``.
Points run in a :class:`concurrent.futures.ProcessPoolExecutor` (default) or on an existing
Dask distributed cluster; either way only this (the parent) process writes the store, one
commit per finished point, so killing the sweep at any moment loses no finished point.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from enum import Enum
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from npusim.errors import ConfigError, NpusimError, Problem
from npusim.outdir import FolderKind, claim_folder, folder_lock
from npusim.simulate import finite_summary, simulate
from npusim.sweep.progress import NoProgress, ProgressHook
from npusim.sweep.spec import Point, WorkloadSpec, load_sweep, load_workload_spec, point_scenario
from npusim.sweep.store import ResultStore
from npusim.workload import Workload
from npusim.workload.loader import resolve_workload_path


class ExecutorKind(Enum):
    """Where points run: local processes or a Dask distributed cluster."""

    PROCESS = "process"
    DASK = "dask"


EXECUTORS = tuple(e.value for e in ExecutorKind)


@dataclass(frozen=True)
class PointOutcome:
    """What a worker sends back: the summary, or the error text, and the run's wall time."""

    key: str
    summary: dict[str, Any] | None
    error: str | None
    elapsed_s: float


@dataclass(frozen=True)
class SweepOutcome:
    """A finished (or resumed) sweep: counts, failed points and where things were written."""

    out_dir: Path
    total: int
    skipped: int
    ran: int
    failed: tuple[tuple[Point, str], ...] = ()
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        """0 when every point has a result, 1 when some point failed."""
        return 1 if self.failed else 0


def run_point(point: Point) -> PointOutcome:
    """Simulate one point (in a worker); any error becomes the outcome's ``error`` text."""
    start_s = time.perf_counter()
    try:
        scenario, _, _ = point_scenario(point.scenario, point.axes)
        workload = _cached_workload(point.workload)
        result = simulate(scenario, workload, point.fidelity)
        if point.accuracy is not None:
            from npusim.functional import with_accuracy

            result = with_accuracy(result, scenario, workload, point.accuracy)
        summary = finite_summary(result)
    except NpusimError as err:
        return PointOutcome(point.key, None, f"{type(err).__name__}: {err}",
                            time.perf_counter() - start_s)  # fmt: skip
    except Exception as err:  # a bug in one point must not stop the sweep; it is recorded
        return PointOutcome(point.key, None, f"internal error {type(err).__name__}: {err}",
                            time.perf_counter() - start_s)  # fmt: skip
    return PointOutcome(point.key, summary, None, time.perf_counter() - start_s)


def _cached_workload(wspec: WorkloadSpec) -> Workload:
    """The workload, loaded once per worker process (reloaded if its file changed)."""
    path = resolve_workload_path(wspec.name)
    return _load_workload_at(wspec, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _load_workload_at(wspec: WorkloadSpec, mtime_ns: int) -> Workload:
    return load_workload_spec(wspec)


def run_sweep(
    sweep_file: str | Path,
    out_dir: str | Path | None = None,
    jobs: int | None = None,
    fidelity: str | None = None,
    executor: str = ExecutorKind.PROCESS.value,
    scheduler: str | None = None,
    progress: ProgressHook | None = None,
    report: bool = True,
    accuracy: str | None = None,
) -> SweepOutcome:
    """Run every unfinished point of ``sweep_file``; returns the outcome.

    ``out_dir`` defaults to ``reports/<sweep name>``; ``jobs`` (processes) to the number of
    cores; ``executor`` is ``process`` or ``dask`` (then ``scheduler`` is the cluster's
    ``tcp://host:port``). ``accuracy`` (a dataset) adds the functional pass to every point.
    Raises :class:`ConfigError` before running anything if the file or any point is invalid,
    :class:`ResultsError` if ``out_dir`` exists but is not an npusim sweep folder (its
    ``.npusim-output`` marker) or another sweep is writing it (a lock).
    Writes plots and ``index.html`` when ``report`` is true.
    """
    kind = _executor_kind(executor, scheduler)
    spec, points = load_sweep(sweep_file, fidelity, accuracy)
    out = claim_folder(out_dir if out_dir is not None else Path("reports") / spec.name,
                       FolderKind.SWEEP)  # fmt: skip
    progress = progress or NoProgress()
    with folder_lock(out), ResultStore(out) as store:
        _record_meta(store, spec, points)
        finished = store.finished_keys()
        todo = [p for p in points if p.key not in finished]
        progress.start(len(todo), len(points) - len(todo))
        failed: list[tuple[Point, str]] = []
        by_key = {p.key: p for p in todo}
        try:
            for outcome in _execute(kind, todo, jobs, scheduler):
                point = by_key[outcome.key]
                store.record(point, spec.name, outcome.summary, outcome.error, outcome.elapsed_s)
                if outcome.error is not None:
                    failed.append((point, outcome.error))
                progress.advance(outcome.error is not None)
        finally:
            progress.finish()
    report_path = None
    if report:
        from npusim.report.html import write_report

        report_path = write_report(out)
    return SweepOutcome(out, len(points), len(points) - len(todo), len(todo), tuple(failed),
                        report_path)  # fmt: skip


def _executor_kind(executor: str, scheduler: str | None) -> ExecutorKind:
    try:
        kind = ExecutorKind(executor)
    except ValueError:
        raise ConfigError(Problem("--executor", f"expected one of {', '.join(EXECUTORS)}, "
                                  f"got {executor!r}")) from None  # fmt: skip
    if kind is ExecutorKind.DASK and not scheduler:
        raise ConfigError(Problem("--scheduler", "--executor dask needs --scheduler "
                                  "tcp://HOST:PORT of a running Dask scheduler"))  # fmt: skip
    return kind


def _record_meta(store: ResultStore, spec: Any, points: list[Point]) -> None:
    base, _, _ = point_scenario(spec.scenario, ())
    store.set_meta("sweep", {
        "name": spec.name, "description": spec.description, "source": spec.source,
        "scenario": base.name, "fidelity": spec.fidelity, "mode": spec.mode.value,
        "axes": {k: list(v) for k, v in spec.axes}, "points": len(points),
        "workloads": [w.label for w in spec.workloads], "accuracy": spec.accuracy,
    })  # fmt: skip
    store.set_meta("resolved_scenario_yaml", yaml.safe_dump(dict(base.resolved), sort_keys=False))


def _execute(
    kind: ExecutorKind, points: list[Point], jobs: int | None, scheduler: str | None
) -> Iterator[PointOutcome]:
    if not points:
        return iter(())
    if kind is ExecutorKind.DASK:
        from npusim.sweep.dask_executor import run_on_dask

        assert scheduler is not None
        return run_on_dask(points, scheduler)
    jobs = jobs or os.cpu_count() or 1
    if jobs == 1:
        return (run_point(p) for p in points)
    return _run_in_processes(points, min(jobs, len(points)))


def _run_in_processes(points: list[Point], jobs: int) -> Iterator[PointOutcome]:
    # spawn: workers start clean (no copied threads or locks); they watch their parent.
    context = get_context("spawn")
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=_watch_parent,
                               initargs=(os.getpid(),))  # fmt: skip
    try:
        futures: dict[Future[PointOutcome], Point] = {pool.submit(run_point, p): p for p in points}
        for future in as_completed(futures):
            yield _outcome(future, futures[future])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _outcome(future: Future[PointOutcome], point: Point) -> PointOutcome:
    try:
        return future.result()
    except Exception as err:  # the worker process died (BrokenProcessPool) or unpickling
        return PointOutcome(point.key, None, f"worker failed: {type(err).__name__}: {err}", 0.0)


def _watch_parent(parent_pid: int) -> None:
    """Worker initializer: exit when the sweep process dies (e.g. SIGKILL) instead of lingering."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="npusim-parent-watch", daemon=True).start()
