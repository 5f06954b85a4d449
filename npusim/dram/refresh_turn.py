"""The Python loop's refresh turn: a refresh that falls due before the next command is marked
pending (its banks then blocked), and a pending refresh's next command (PREA/PRE, then REFab or
REFpb) issues when it can go first; an on-time refresh of an idle channel skips the periodic
ones until the next arrival in closed form (:func:`npusim.dram.refresh.skip_idle_refreshes`).
``_kernel.c`` does the same in its ``refresh_turn()``; the policy objects are
:mod:`npusim.dram.refresh`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim.dram.refresh import NEVER, skip_idle_refreshes

if TYPE_CHECKING:
    from npusim.dram.loop import PythonLoop


def refresh_turn(loop: PythonLoop, best_t: int) -> bool:
    """Mark the refresh pending when it falls due before the next command (and before
    any arrival that can enter its queue), or issue its next command when that can go
    first; True when either happened (the decision is over)."""
    refresh, now = loop.refresh, loop.now
    if not loop.ref_pending:
        due, arrival = loop.ref_due, loop.next_arrival
        if due >= NEVER or due > best_t:
            return False
        if now < arrival < best_t and arrival < due and loop.room_for_next():
            return False  # the arrival enters first (the loop's next branch); one that
            # waits for room in its queue holds nothing off
        power = loop.power
        if (power is not None and loop.idle_requests()
                and due >= power.self_refresh_entry(loop.dev.last_command)):  # fmt: skip
            return False  # due in self-refresh: the device's own (counted at the wake)
        refresh.pending = loop.ref_pending = True
        if power is not None:  # an idle channel: the refresh wakes it, whatever arrives now
            power.refresh_wakes = loop.idle_requests()
        loop.blocked = refresh.blocked_banks()
        loop.now = max(now, due)
        return True
    t, cmd, bank = refresh.next_command(loop.dev, loop.pinned, now)
    if loop.act2_bank >= 0 or t >= NEVER or t > best_t:
        return False
    dev, power = loop.dev, loop.power
    until = loop.next_arrival
    if power is not None:
        if power.refresh_wakes or loop.idle_requests():  # it left power-down nXP earlier
            power.wake_for_refresh(dev.last_command, t, dev.open_banks > 0)
            power.refresh_wakes = False
        power.before_refresh(dev.last_command)
    refresh.issue(dev, cmd, bank, t)
    loop.now, loop.all_stale = t + 1, True
    if power is not None:
        power.refresh_last = t
        until = min(until, power.self_refresh_entry(t))  # later ones: self-refresh's
    if t == loop.ref_due and not refresh.pending and loop.idle():
        # a refresh on time, nothing to serve: the next ones are periodic
        issued, first = dev.command_counts[refresh.command], refresh.due
        skipped_to = skip_idle_refreshes(refresh, dev, until)
        loop.now = skipped_to if skipped_to > 0 else loop.now
        if power is not None:
            power.refresh_last = dev.last_command
            skipped = dev.command_counts[refresh.command] - issued
            power.periodic_stays(first, skipped, refresh.interval)
    loop.ref_pending, loop.ref_due = refresh.pending, refresh.due
    loop.blocked = refresh.blocked_banks() if refresh.pending else ()
    return True
