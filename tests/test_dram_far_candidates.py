"""Commands that can issue only 2^31 CK or more after the decision keep their exact order.

The compiled loop picks each decision's winner by packing a candidate's cycle, relative to an
epoch (a cycle no later than the decision's), with its tie into one integer; a candidate 2^31
CK or more after the epoch does not fit, and the loop compares such candidates in full
instead; once the decisions are 2^30 CK past the epoch, the epoch moves to the decision's
cycle and every key is packed again. Normal timing never gets there, so the bank bounds are
planted here: every bank's ACT bound lies 2^40 CK ahead, a different distance for each, in
no bank order. The ACTs must go out at exactly those bounds, least first (the bounds are 10
CK apart, more than nRRD = 4 CK, and four ACTs fill no nFAW window for a fifth), under each
loop alike: the first in full, the others by keys of the moved epoch.
"""

from __future__ import annotations

import numpy as np
from dram_loops import each_dram_loop

from npusim.dram import DramParams, DramSystem
from npusim.dram.device import Command

FAR_CK = 1 << 40
ACT = int(Command.ACT)
ACT_BOUNDS = {0: FAR_CK + 30, 1: FAR_CK + 20, 2: FAR_CK + 10, 3: FAR_CK + 40}
"""Bank: the cycle its ACT may issue from (banks 0-3: one per bank group in BG mode)."""


def _serve_with_far_bounds() -> tuple[list[int], list[tuple[int, int, int, int]]]:
    system = DramSystem(DramParams(refresh="off"), log_commands=True)
    ready = system.controllers[0].dev.bank_ready[ACT]
    for bank, cycle in ACT_BOUNDS.items():
        ready[bank] = cycle
    addrs = np.array([bank * 32 for bank in ACT_BOUNDS], dtype=np.uint64)  # 32 B: next bank
    done = system.serve(addrs, False, 0)
    return done.tolist(), system.command_logs[0]


def test_far_activations_issue_at_their_bounds_least_first() -> None:
    results = each_dram_loop(_serve_with_far_bounds)
    done, log = results["python-general"]
    acts = [(cycle, bank) for cycle, cmd, bank, _ in log if cmd == ACT]
    assert acts == sorted((cycle, bank) for bank, cycle in ACT_BOUNDS.items())
    assert all(t > FAR_CK for t in done)
    for name, result in results.items():
        assert result == (done, log), name
