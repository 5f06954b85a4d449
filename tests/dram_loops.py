"""The DRAM controller loops the tests compare, and a helper that runs a function under each
(a plain module beside the tests, imported by name: pytest puts this folder on the path)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pytest

from npusim.dram.controller import ChannelController
from npusim.dram.kernel import KERNEL_AVAILABLE
from npusim.trace import Trace

DRAM_LOOPS = {  # name: (use_kernel, stream_fast_path)
    "compiled": (True, True),
    "python": (False, True),
    "python-general": (False, False),
}
"""The compiled C twin, the pure-Python loop, and that loop without its streaming path."""

T = TypeVar("T")


def each_dram_loop(run: Callable[[], T]) -> dict[str, T]:
    """``run()``'s result under each loop available, by :data:`DRAM_LOOPS` name: the compiled
    one is left out when it was not built or ``NPUSIM_PURE_PYTHON=1`` asks for no compiled
    code. The loops make the same decisions, so callers compare the results."""
    results = {}
    for name, (use_kernel, stream) in DRAM_LOOPS.items():
        if use_kernel and (not KERNEL_AVAILABLE or os.environ.get("NPUSIM_PURE_PYTHON")):
            continue
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ChannelController, "use_kernel", use_kernel)
            patch.setattr(ChannelController, "stream_fast_path", stream)
            results[name] = run()
    return results


def idle_gap_trace(n: int = 2000, seed: int = 7) -> Trace:
    """Random 32 B requests, 30 % writes, arriving 0, 3, 200 or 40000 CK apart (one gap in
    20 is longer than nREFI): the loops' idle paths (refresh skipping, power-down,
    self-refresh) all get exercised."""
    rng = np.random.default_rng(seed)
    return Trace(
        addr=rng.integers(0, 1 << 24, n).astype(np.uint64) * 32,
        is_write=rng.random(n) < 0.3,
        size_bytes=np.zeros(n, np.int64),
        arrival_cycle=np.cumsum(rng.choice([0, 3, 200, 40000], n, p=[0.5, 0.3, 0.15, 0.05])),
    )
