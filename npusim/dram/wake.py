"""Waking an idle channel in the Python loop: the first request to reach it after a power-down
or self-refresh timeout pays the exit (:mod:`npusim.dram.powerdown` has the policy and its
sources; ``_kernel.c``'s ``pd_wake_for_request`` / ``sr_wake`` mirror these functions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim.dram.device import Command

if TYPE_CHECKING:
    from npusim.dram.loop import PythonLoop

PREA = int(Command.PREA)


def wake(loop: PythonLoop, now: int) -> None:
    """A request enters ``loop``'s idle channel at ``now``: if it had powered down or entered
    self-refresh, no command before its exit (every channel-wide bound raised to it)."""
    dev, power = loop.dev, loop.power
    assert power is not None
    entry = power.self_refresh_entry(dev.last_command)
    if now >= entry:
        ready = self_refresh(loop, entry, now)
    else:
        ready = power.wake_for_request(dev.last_command, now, dev.open_banks > 0)
    if ready > now:
        ch = loop.ch
        for slot, bound in enumerate(ch):
            if bound < ready:
                ch[slot] = ready


def self_refresh(loop: PythonLoop, entry: int, now: int) -> int:
    """The channel entered self-refresh when its timer expired at ``entry`` and a request
    wakes it at ``now``: power-down until then, a PREA if a row is open, the stay, the
    refreshes it absorbed; returns the first cycle a command may issue."""
    dev, power, refresh = loop.dev, loop.power, loop.refresh
    assert power is not None
    if dev.open_banks:
        at = max(entry, dev.earliest(Command.PREA))
        power.wake_for_refresh(dev.last_command, at, True)
        power.before_refresh(dev.last_command)
        dev.issue(PREA, 0, -1, at)
        power.refresh_last = at  # no queued request had a candidate to invalidate
    start = max(entry, dev.earliest(Command.REFAB))  # SRE: REFab's prerequisites
    power.wake_for_refresh(dev.last_command, start, False)
    exit_start = power.self_refresh(start, now)
    if refresh.due < exit_start:  # the device refreshed itself: the schedule goes on
        absorbed = -(-(exit_start - refresh.due) // refresh.interval)
        refresh.due += absorbed * refresh.interval
        refresh.bank = (refresh.bank + absorbed) % refresh.sets
        power.absorbed_refreshes += absorbed
        loop.ref_due = refresh.due
    return exit_start + power.n_xsr
