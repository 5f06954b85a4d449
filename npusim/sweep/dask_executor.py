"""Run sweep points on an existing Dask distributed cluster (optional extra ``npusim[cluster]``).

The workers need npusim installed (same version: the point keys include it). Results stream
back to the sweep process, which alone writes the store.
"""

from __future__ import annotations

from collections.abc import Iterator

from npusim.errors import NpusimError
from npusim.sweep.runner import PointOutcome, run_point
from npusim.sweep.spec import Point


def run_on_dask(points: list[Point], scheduler: str) -> Iterator[PointOutcome]:
    """Submit every point to the scheduler at ``scheduler``; yield outcomes as they finish.

    Raises :class:`NpusimError` if ``distributed`` is not installed or the scheduler cannot be
    reached within Dask's ``distributed.comm.timeouts.connect`` (default 30 s). A point whose
    worker is lost is reported as failed, not raised.
    """
    try:
        from distributed import Client, as_completed
    except ImportError:
        hint = "pip install 'npusim[cluster]' (dask, distributed)"
        raise NpusimError(f"--executor dask needs the optional extra: {hint}") from None
    try:
        client = Client(scheduler)  # connect timeout: dask config distributed.comm.timeouts
    except OSError as err:
        raise NpusimError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
    try:
        futures = {client.submit(run_point, p, pure=False): p for p in points}
        for future in as_completed(futures):
            point = futures[future]
            try:
                yield future.result()
            except Exception as err:  # KilledWorker, lost connection: record, go on
                yield PointOutcome(point.key, None, f"dask: {type(err).__name__}: {err}", 0.0)
    finally:
        client.close()
