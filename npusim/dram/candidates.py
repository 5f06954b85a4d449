"""Each bank's candidate commands, recomputed from its state for the Python loop
(:mod:`npusim.dram.loop`, whose docstring describes the cache they fill: ``ca_*`` a bank's
column command, ``cb_*`` its row command, ``first`` and ``first_no_act`` the scan's lower
bounds). One recompute function per mode, built once per run: it keeps the run's lists in its
closure, so a call loads no attribute (the loop calls it at most once a decision, for a bank
or two).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from npusim.dram.device import Command
from npusim.dram.refresh import NEVER

if TYPE_CHECKING:
    from npusim.dram.loop import PythonLoop

NONE = -1  # no candidate command
ACT, PRE, RD, WR = (int(c) for c in (Command.ACT, Command.PRE, Command.RD, Command.WR))


def candidate_recompute(loop: PythonLoop, write_mode: bool) -> Callable[[list[int]], None]:
    """The function that computes, in ``loop``'s write mode (or read mode), each of a list of
    banks' candidates from its state: the active slot's column command; a closed bank's oldest
    request's ACT; an open bank's per the scheduler policy. It holds the lists it reads (whose
    identity a run keeps) in its closure: it runs at most decisions, for a bank or two."""
    pinned, write_of, open_row, group_of = loop.pinned, loop.write_of, loop.open_row, loop.group_of
    ca_slot, ca_bound, ca_tie, ca_pos = loop.ca_slot, loop.ca_bound, loop.ca_tie, loop.ca_pos
    cb_slot, cb_bound, cb_tie = loop.cb_slot, loop.cb_bound, loop.cb_tie
    first, first_no_act = loop.first, loop.first_no_act
    rd_b, rd_g, wr_b, wr_g = loop.rd_b, loop.rd_g, loop.wr_b, loop.wr_g
    act_b, pre_b, candidates, n = loop.act_b, loop.pre_b, loop.candidates, loop.n
    if write_mode:
        queues, rows, col_b, col_g, col_cmd = loop.wq, loop.wq_rows, wr_b, wr_g, WR
    else:
        queues, rows, col_b, col_g, col_cmd = loop.rq, loop.rq_rows, rd_b, rd_g, RD

    def recompute(banks: list[int]) -> None:
        for b in banks:
            p = pinned[b]
            if p >= 0:  # the active slot's column command, nothing else
                if write_of[p]:
                    tc, tg, ca_slot[b] = wr_b[b], wr_g[group_of[b]], WR
                else:
                    tc, tg, ca_slot[b] = rd_b[b], rd_g[group_of[b]], RD
                ca_bound[b] = first[b] = first_no_act[b] = tc if tc > tg else tg
                ca_tie[b], ca_pos[b], cb_slot[b] = p, 0, NONE
                continue
            q = queues[b]
            if not q:
                ca_slot[b] = cb_slot[b] = NONE
                first[b] = first_no_act[b] = NEVER
                continue
            orow = open_row[b]
            if orow < 0:
                ca_slot[b], first_no_act[b] = NONE, NEVER
                cb_slot[b], cb_bound[b], cb_tie[b] = ACT, act_b[b], n + q[0]
                first[b] = cb_bound[b]
                continue
            pos, pre = candidates(rows[b], orow)
            low = NEVER
            if pre >= 0:
                cb_slot[b], cb_bound[b], cb_tie[b] = PRE, pre_b[b], n + q[pre]
                low = cb_bound[b]
            else:
                cb_slot[b] = NONE
            if pos >= 0:
                tc, tg = col_b[b], col_g[group_of[b]]
                if tg > tc:
                    tc = tg
                ca_slot[b], ca_bound[b] = col_cmd, tc
                ca_tie[b], ca_pos[b] = n + q[pos], pos
                if tc < low:
                    low = tc
            else:
                ca_slot[b] = NONE
            first[b] = first_no_act[b] = low

    return recompute
