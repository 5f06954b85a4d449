"""When the loops mark a due refresh pending (npusim.dram.refresh_turn, ``_kernel.c``'s
``ref_pending`` branch): a request that finds its queue full, at the decision or before the
due cycle, does not hold it off; the wake of a powered-down channel for a refresh is counted
at its first command only. Runs under each loop (the ``dram_loop`` fixture,
tests/conftest.py)."""

from __future__ import annotations

import numpy as np

from npusim.dram import DramParams, DramSystem
from npusim.dram.device import Command
from npusim.trace import Trace

ROW_BIT = 10  # one channel, RoBaCoBgCh: bank group bits 0-1, column 2-7, bank 8-9, row 10 on


def _three_reads_on_bank_0(third_arrival: int) -> tuple[DramSystem, list[tuple[int, Command]]]:
    """Read queue of one, a request leaving it at its column command, all-bank refresh due
    at nREFI = 3125. Bank 0: r0 (row 1) arrives at 3082 and is served (ACT at 3082, RD after
    nRCD); r1 (row 4) enters after that RD and its PRE goes at 3082 + nRAS = 3116; r2 (row 4)
    arrives at ``third_arrival`` into the full queue. The system and its (cycle, command)
    log."""
    bursts = np.array([1 << ROW_BIT, 4 << ROW_BIT, (4 << ROW_BIT) | (1 << 2)], dtype=np.uint64)
    system = DramSystem(DramParams(read_queue_depth=1, queue_release="column"),
                        log_commands=True)  # fmt: skip
    system.run_trace(Trace(bursts * 32, np.zeros(3, bool), np.zeros(3, np.int64),
                           np.array([3082, 3090, third_arrival])))  # fmt: skip
    return system, [(t, Command(c)) for t, c, _, _ in system.command_logs[0]]


def _refresh_goes_before_r1s_act(system: DramSystem, log: list[tuple[int, Command]]) -> None:
    """r1's ACT could go at 3116 + nRP = 3131, after the refresh fell due: the refresh goes
    first (REFab at 3131, every bank being closed) and the ACT follows nRFCab later."""
    timing = system.timing
    pre = 3082 + timing.nRAS
    assert pre == 3116 < timing.nREFI < pre + timing.nRP
    after_r0 = log[log.index((pre, Command.PRE)) :]
    assert after_r0[:3] == [
        (pre, Command.PRE),
        (pre + timing.nRP, Command.REFAB),
        (pre + timing.nRP + timing.nRFCab, Command.ACT),
    ]


def test_a_request_blocked_at_the_decision_does_not_hold_off_a_due_refresh(
    dram_loop: str,
) -> None:
    """r2 arrives at 3117, the cycle of the next decision, and finds the queue full. A
    blocked arrival *at* the decision's cycle must not count as one "before the refresh
    falls due" (``now < arrival``, not ``now <= arrival``): that would issue r1's ACT at
    3131 and the REFab after it."""
    system, log = _three_reads_on_bank_0(3117)
    assert 3082 + system.timing.nRAS + 1 == 3117  # the decision after r1's PRE
    assert system.controllers[0].refresh_due == 2 * system.timing.nREFI  # the first issued
    _refresh_goes_before_r1s_act(system, log)


def test_a_request_waiting_for_room_does_not_hold_off_a_due_refresh(dram_loop: str) -> None:
    """r2 arrives at 3120: after the decision's cycle (3117) and before the refresh falls
    due (3125), but into a full queue. An arrival before the due cycle holds the refresh off
    only when it can enter (the loop then takes it first); r2 cannot until r1's column
    command, so the refresh still goes before r1's ACT."""
    system, log = _three_reads_on_bank_0(3120)
    assert 3116 + 1 < 3120 < system.timing.nREFI
    _refresh_goes_before_r1s_act(system, log)


def test_the_wake_for_a_refresh_counts_once_when_a_request_arrives_at_the_due_cycle(
    dram_loop: str,
) -> None:
    """Power-down after 5 ns (4 CK): bank 0 is read at 15 (ACT at 0) and the channel powers
    down, its row open, at 15 + 4. The REFab falls due at nREFI = 3125 on the very cycle a
    second read arrives: the controller wakes the channel nXP = 6 CK before the PREA at 3125
    (the stay it counts: 3125 - 6 - 19 CK, active) and the REFab follows nRPab = 17 CK later
    on an awake channel. The wake belongs to the refresh's first command only: counted again
    at the REFab it would add a precharged stay of 3142 - 6 - (3125 + 4) = 7 CK (at least
    nCKE), though no command gap there was idle."""
    params = DramParams(power_down_after_s=5e-9, wck_sync="always-on")
    system = DramSystem(params, log_commands=True)
    system.run_trace(Trace(np.array([0, 1 << 20], np.uint64), np.zeros(2, bool),
                           np.zeros(2, np.int64), np.array([0, system.timing.nREFI])))  # fmt: skip
    timing, power = system.timing, system.controllers[0].power_down
    assert power is not None and (power.idle_ck, power.n_xp, timing.nRPab) == (4, 6, 17)
    log = [(t, Command(c)) for t, c, _, _ in system.command_logs[0]]
    assert log[2:5] == [(15, Command.RD), (3125, Command.PREA), (3142, Command.REFAB)]
    assert power.active_cycles == 3125 - 6 - (15 + 4)
    assert power.precharged_cycles == 0
