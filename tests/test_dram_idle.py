"""Idle gaps are jumped over, refreshes included, in closed form (issue 18: a timed trace
with an idle gap of 2^48 cycles used to run for hours).

The reference is the controller itself with commands logged, which issues every refresh
one by one; the closed form must make the same decisions and counts, in both loops.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.dram import DramParams, DramSystem
from npusim.dram.controller import ChannelController
from npusim.dram.kernel import KERNEL_AVAILABLE
from npusim.trace import Trace

NREFI, NREFIPB = 3125, 391  # LPDDR5-6400 (reference lpddr5.md), the default preset

LOOPS = [False, True] if KERNEL_AVAILABLE else [False]


def _run(trace: Trace, refresh: str, kernel: bool, log: bool) -> tuple:
    saved = ChannelController.use_kernel
    ChannelController.use_kernel = kernel
    try:
        system = DramSystem(DramParams(refresh=refresh), log_commands=log)
        done = system.run_trace(trace)
    finally:
        ChannelController.use_kernel = saved
    total = system.stats().total
    return done.tolist(), total.command_counts, total.energy, total.refresh_cycles


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, (1 << 20) - 1), st.booleans(), st.integers(0, 40_000)),
             min_size=1, max_size=60),
    st.sampled_from(["all-bank", "per-bank"]),
)  # fmt: skip
def test_skipping_idle_refreshes_changes_no_decision(requests: list, refresh: str) -> None:
    addr = np.array([a * 32 for a, _, _ in requests], dtype=np.uint64)
    writes = np.array([w for _, w, _ in requests], dtype=bool)
    arrival = np.cumsum([g for _, _, g in requests]).astype(np.int64)
    trace = Trace(addr, writes, np.zeros(len(requests), dtype=np.int64), arrival)
    reference = _run(trace, refresh, kernel=False, log=True)  # every refresh issued
    for kernel in LOOPS:
        assert _run(trace, refresh, kernel, log=False) == reference


@pytest.mark.parametrize("kernel", LOOPS)
@pytest.mark.parametrize(
    ("refresh", "interval", "name"), [("all-bank", NREFI, "REFAB"), ("per-bank", NREFIPB, "REFPB")]
)
def test_an_idle_gap_of_2_to_the_47_cycles_is_one_step(
    kernel: bool, refresh: str, interval: int, name: str
) -> None:
    gap = 1 << 47
    trace = Trace(np.array([0, 64], dtype=np.uint64), np.zeros(2, dtype=bool),
                  np.zeros(2, dtype=np.int64), np.array([0, gap], dtype=np.int64))  # fmt: skip
    done, counts, _, _ = _run(trace, refresh, kernel, log=False)
    # every refresh due (at interval, 2 x interval, ...) up to the second arrival was issued
    assert counts[name] == gap // interval
    assert done[1] > gap
