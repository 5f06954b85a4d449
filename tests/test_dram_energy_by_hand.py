"""DRAM energy of a tiny asymmetric run, worked out by hand from its command log.

Asymmetric on purpose (issue 18): one write and three reads (so swapping the read and write
per-bit terms, or charging I/O on reads only, changes the total), and a long idle gap with
every bank closed next to short open intervals (so swapping the precharged and active
background powers changes it too). Terms from the Micron LPDDR5X-derived anchors
(reference lpddr5.md, "Energy"), restated here: ACT-PRE pair 1100 pJ per 2 KiB row, read
3.3 pJ/bit, write 2.2 pJ/bit, I/O 0.5 pJ/bit each way, background 37 mW precharged and
47 mW with a bank open.
"""

from __future__ import annotations

import numpy as np
import pytest

from npusim.dram import DramParams, DramSystem
from npusim.dram.device import Command

pytestmark = pytest.mark.usefixtures("dram_loop")  # every loop: tests/conftest.py

ACT_PRE_PJ, READ_PJ_PER_BIT, WRITE_PJ_PER_BIT, IO_PJ_PER_BIT = 1100.0, 3.3, 2.2, 0.5
PRECHARGED_MW, ACTIVE_MW = 37.0, 47.0
BURST_BITS = 32 * 8


def test_energy_of_one_write_and_three_reads_by_hand() -> None:
    system = DramSystem(DramParams(page_policy="closed", refresh="off"), log_commands=True)
    system.serve(np.array([0], dtype=np.uint64), True, 0)  # a write to bank 0
    # three reads to three other rows long after it: the channel idles, all banks closed
    system.serve(np.array([1 << 15, 2 << 15, 3 << 15], dtype=np.uint64), False, 2000)
    log = system.command_logs[0]
    acts = [t for t, c, _, _ in log if c == Command.ACT]
    columns = [(t, c) for t, c, _, _ in log if c in (Command.RDA, Command.WRA)]
    assert len(acts) == 4 and sorted(c for _, c in columns).count(Command.RDA) == 3
    # closed page: a bank is open from its ACT to its auto-precharging column command;
    # the open intervals of the three reads may overlap, so take their union
    opened = sorted(zip(acts, sorted(t for t, _ in columns), strict=True))
    active, reach = 0, -1
    for start, end in opened:
        active += max(0, end - max(start, reach))
        reach = max(reach, end)
    channel = system.stats().channels[0]
    # the busy span runs from the first arrival (cycle 0) to the last data beat
    elapsed = system.controllers[0].last_cycle
    assert channel.elapsed_cycles == elapsed
    tck = system.tck_ns
    expected = (
        4 * ACT_PRE_PJ
        + 3 * BURST_BITS * READ_PJ_PER_BIT
        + 1 * BURST_BITS * WRITE_PJ_PER_BIT
        + 4 * BURST_BITS * IO_PJ_PER_BIT
        + PRECHARGED_MW * (elapsed - active) * tck
        + ACTIVE_MW * active * tck
    )
    assert elapsed - active > 10 * active  # the asymmetry the test relies on
    assert channel.energy.total_pj == pytest.approx(expected, rel=1e-12)
