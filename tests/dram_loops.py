"""The DRAM controller loops the tests compare, and a helper that runs a function under each
(a plain module beside the tests, imported by name: pytest puts this folder on the path)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import pytest

from npusim.dram.controller import ChannelController
from npusim.dram.kernel import KERNEL_AVAILABLE

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
