"""Serving a request's commands in the Python loop: the column command that completes it, the
row commands (PRE, ACT-1) that prepare its bank, and the bookkeeping each one implies (queue
slots, active slots, row outcomes, WCK, the cached candidates that moved). Every command goes
through :meth:`Device.issue`, which applies its timing and row-state effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim.dram.device import Command

if TYPE_CHECKING:
    from npusim.dram.loop import PythonLoop

HIT, MISS, CONFLICT = 0, 1, 2
ACT, PRE, CAS = int(Command.ACT), int(Command.PRE), int(Command.CAS)


def issue_column(loop: PythonLoop, b: int, t: int, tie: int) -> None:
    """Serve request ``tie`` (or ``tie - n``) with its column command on bank ``b`` at
    ``t`` (after a CAS when WCK has stopped)."""
    n = loop.n
    req = tie if tie < n else tie - n
    is_write, row = loop.write_of[req], loop.row_of[req]
    if loop.need_sync and t >= loop.wck_expiry:
        loop.dev.issue(CAS, b, row, t)  # WCK2CK sync, the column command follows
        t += loop.n_cas
    pos = loop.ca_pos[b]
    if is_write:
        q, rows, heads, owners = loop.wq[b], loop.wq_rows[b], loop.wq_head, loop.wactive
    else:
        q, rows, heads, owners = loop.rq[b], loop.rq_rows[b], loop.rq_head, loop.ractive
    del q[pos]
    del rows[pos]
    if not q:
        owners.remove(b)
        heads[b] = -2
    elif pos == 0:
        heads[b] = rows[0]
    released = False
    if loop.pinned[b] == req:
        loop.pinned[b] = -1
        released = loop.release_at_act  # left its queue at its ACT
        if is_write:
            loop.pinned_writes -= 1
        else:
            loop.pinned_reads -= 1
    if not released:
        leave_queue(loop, req, is_write, t)
    if is_write:
        loop.done[req], cmd, wck = t + loop.write_done, loop.write_cmd, t + loop.wck_write
    else:
        loop.done[req], cmd, wck = t + loop.read_done, loop.read_cmd, t + loop.wck_read
    if wck > loop.wck_expiry:
        loop.wck_expiry = wck
    loop.finished += 1
    if not loop.classified[req]:
        loop.classified[req] = True
        loop.ctrl.outcome[HIT] += 1
    loop.dev.issue(cmd, b, row, t)
    loop.now = t + 1
    # The bank's candidates are stale, and every column candidate of its group moved
    # with the group's bound (max(bank bound, group bound)): raised in place.
    loop.stale.append(b)
    g = loop.group_of[b]
    ca_slot, ca_bound, group_ready = loop.ca_slot, loop.ca_bound, loop.group_ready
    for m in loop.group_members[g]:
        slot = ca_slot[m]
        if slot >= 0 and ca_bound[m] < group_ready[slot][g]:
            ca_bound[m] = group_ready[slot][g]


def leave_queue(loop: PythonLoop, req: int, is_write: bool, t: int) -> None:
    """Request ``req`` leaves its read or write queue at ``t``: its slot takes the next
    arrival."""
    if is_write:
        loop.wcount -= 1
    else:
        loop.rcount -= 1
    loop.queue_cycles += t - loop.enqueued[req]
    loop.front_blocked = False


def issue_row(loop: PythonLoop, b: int, t: int, req: int) -> None:
    """Issue bank ``b``'s row command (PRE, or ACT-1 that gives ``req`` the bank's active
    slot) at ``t``; a request's first command decides its row outcome."""
    cmd = loop.cb_slot[b]
    if not loop.classified[req]:
        loop.classified[req] = True
        loop.ctrl.outcome[MISS if cmd == ACT else CONFLICT] += 1
    row = loop.row_of[req]
    loop.dev.issue(cmd, b, row, t)
    loop.stale.append(b)
    loop.now = t + 1
    if cmd == PRE:
        return
    loop.pinned[b] = req  # the request takes the bank's active slot
    is_write = loop.write_of[req]
    if is_write:
        loop.pinned_writes += 1
    else:
        loop.pinned_reads += 1
    if loop.release_at_act:
        leave_queue(loop, req, is_write, t)
    loop.act2_bank, loop.act2_deadline, loop.act2_row = b, t + loop.n_aad, row
