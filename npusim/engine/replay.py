"""A run's DRAM request stream replayed back to back, to measure what the DMA costs.

:func:`engine_vs_trace` runs a workload in cycle fidelity while recording every DRAM request
the engine issues, in issue order, then runs the same requests through a fresh DRAM system
with its queues kept full (``npusim dram``'s untimed trace mode). The trace time is what the
memory system needs for that stream with nothing in the way; engine time over trace time is
what the DMA, the buffers and the compute dependencies add. Used by
``benchmarks/bench_dma.py`` and the overlapped-DMA tests.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from npusim.config import Scenario
from npusim.dram import DramSystem
from npusim.dram.system import Submitted
from npusim.engine.cycle import run_cycle
from npusim.trace import Trace
from npusim.workload import Workload


class StreamComparison(NamedTuple):
    """Simulated seconds of the engine's run and of its DRAM stream as a trace, and the
    stream's bytes."""

    engine_s: float
    trace_s: float
    dram_bytes: int


def engine_vs_trace(scenario: Scenario, workload: Workload) -> StreamComparison:
    """Run ``workload`` (cycle fidelity) and its own DRAM request stream as a trace.

    Records by wrapping :meth:`DramSystem.submit` for the duration of the run (restored on
    return or error), so the engine itself runs unchanged.
    """
    stream: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    real_submit = DramSystem.submit

    def submit(
        self: DramSystem, addr: Any, is_write: Any, arrival_ck: int, size: Any = 0
    ) -> Submitted:
        addr = np.atleast_1d(np.asarray(addr, dtype=np.uint64))
        stream.append((addr, np.broadcast_to(np.asarray(is_write, bool), addr.shape),
                       np.broadcast_to(np.asarray(size, np.int64), addr.shape)))  # fmt: skip
        return real_submit(self, addr, is_write, arrival_ck, size)

    DramSystem.submit = submit  # type: ignore[method-assign]
    try:
        engine_s = run_cycle(scenario, workload).totals()["time_s"]
    finally:
        DramSystem.submit = real_submit  # type: ignore[method-assign]
    if not stream:
        return StreamComparison(engine_s, 0.0, 0)
    addr, writes, sizes = (np.concatenate(column) for column in zip(*stream, strict=True))
    system = DramSystem(scenario.dram)
    done = system.run_trace(Trace(addr, writes, sizes, None))
    return StreamComparison(engine_s, int(done.max()) / system.ck_hz, int(sizes.sum()))
