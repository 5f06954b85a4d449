"""Fixtures shared by several test modules."""

from __future__ import annotations

import os

import pytest
from dram_loops import DRAM_LOOPS

from npusim.dram.controller import ChannelController
from npusim.dram.kernel import KERNEL_AVAILABLE


@pytest.fixture(params=list(DRAM_LOOPS))
def dram_loop(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test under each implementation of the DRAM controller's loop: the compiled C
    twin, the pure-Python loop, and that loop without its row-hit streaming fast path. They
    make the same decisions (tests/test_dram_speed_equivalence.py), and each must pass the
    whole DRAM unit suite, not only the equivalence tests.

    The compiled run is skipped when the kernel was not built, and under
    ``NPUSIM_PURE_PYTHON=1``, which asks for no compiled code. The Python runs set
    ``NPUSIM_PURE_PYTHON=1`` so that subprocesses (CLI tests) follow too.
    """
    use_kernel, stream = DRAM_LOOPS[request.param]
    if use_kernel:
        if not KERNEL_AVAILABLE:
            pytest.skip("the compiled DRAM loop was not built (no C compiler at install)")
        if os.environ.get("NPUSIM_PURE_PYTHON"):
            pytest.skip("NPUSIM_PURE_PYTHON=1: the pure-Python loops only")
    else:
        monkeypatch.setenv("NPUSIM_PURE_PYTHON", "1")
    monkeypatch.setattr(ChannelController, "use_kernel", use_kernel)
    monkeypatch.setattr(ChannelController, "stream_fast_path", stream)
    return request.param
