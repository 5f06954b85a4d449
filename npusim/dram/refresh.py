"""Refresh policies of the DRAM controller, picked by name (``params.RefreshMode``'s values).

A refresh has priority once due: the controller marks it pending when it falls due before
the next command, holds the banks it needs (:meth:`RefreshPolicy.blocked_banks`; their active
slots are served first), and issues :meth:`RefreshPolicy.next_command` (precharges, then the
refresh) when it can go first. All-bank precharges all banks (PREA) and issues REFab every
nREFI; per-bank precharges and refreshes one bank set every nREFIpb while the other banks keep
working. Adding a policy is one class and one :data:`REFRESH_POLICIES` entry (plus its name in
``params.RefreshMode``); the compiled loop implements the names in
:data:`layout.KERNEL_REFRESH_POLICIES`, and a controller with another one runs the Python loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar, Protocol

from npusim.dram.device import Command, Device
from npusim.dram.policies import lookup
from npusim.dram.timing import Timing

NEVER = 1 << 62
"""A cycle no run reaches: "not due" and "cannot issue"."""


class RefreshPolicy(Protocol):
    """Periodic refresh of one channel, and its state.

    State (read by the controller and stats, carried through the compiled loop): ``due``,
    the cycle the next refresh falls due (:data:`NEVER` without refresh); ``pending``,
    whether it is due and not issued yet; ``bank``, the bank set the next refresh is for;
    ``cycles``, CK spent refreshing so far. Data: ``command`` (REFAB or REFPB), ``interval``
    (CK from one refresh to the next), ``refresh_ck`` (CK one refresh takes), ``sets``
    (bank sets refreshed in turn: 1 for all-bank).
    """

    name: ClassVar[str]
    command: Command
    interval: int
    refresh_ck: int
    sets: int
    due: int
    pending: bool
    bank: int
    cycles: int

    def blocked_banks(self) -> tuple[int, ...]:
        """Banks no request command may touch while the refresh is pending (active slots
        excepted)."""
        ...

    def next_command(self, dev: Device, pinned: list[int], now: int) -> tuple[int, int, int]:
        """(cycle, command, bank) of the pending refresh's next command: a precharge of a
        bank it needs, or the refresh, at ``now`` or later; cycle :data:`NEVER` while a bank
        it must precharge holds an active slot (``pinned[bank] >= 0``)."""
        ...

    def issue(self, dev: Device, cmd: int, bank: int, t: int) -> None:
        """Issue ``next_command``'s ``cmd`` at ``t`` on ``dev``; a refresh ends the pending
        state and moves ``due``, ``bank`` and ``cycles`` on."""
        ...


class NoRefresh:
    """No refresh (experiments): never due."""

    name: ClassVar[str] = "off"

    def __init__(self, timing: Timing, banks: int) -> None:
        self.command, self.sets = Command.REFAB, 1
        self.interval, self.refresh_ck = timing.nREFI, timing.nRFCab
        self.due, self.pending, self.bank, self.cycles = NEVER, False, 0, 0

    def blocked_banks(self) -> tuple[int, ...]:
        return ()

    def next_command(self, dev: Device, pinned: list[int], now: int) -> tuple[int, int, int]:
        return NEVER, 0, 0

    def issue(self, dev: Device, cmd: int, bank: int, t: int) -> None:
        raise RuntimeError("no refresh to issue")


class AllBankRefresh(NoRefresh):
    """REFab every nREFI after precharging every bank (PREA)."""

    name: ClassVar[str] = "all-bank"

    def __init__(self, timing: Timing, banks: int) -> None:
        super().__init__(timing, banks)
        self.due = self.interval
        self.every_bank = tuple(range(banks))

    def blocked_banks(self) -> tuple[int, ...]:
        return self.every_bank

    def next_command(self, dev: Device, pinned: list[int], now: int) -> tuple[int, int, int]:
        if max(pinned) >= 0:
            return NEVER, 0, 0
        cmd = Command.PREA if dev.open_banks else Command.REFAB
        return max(now, dev.earliest(cmd)), int(cmd), 0

    def issue(self, dev: Device, cmd: int, bank: int, t: int) -> None:
        dev.issue(cmd, bank, -1, t)
        if cmd == self.command:
            self.due += self.interval
            self.cycles += self.refresh_ck
            self.bank = (bank + 1) % self.sets
            self.pending = False


class PerBankRefresh(AllBankRefresh):
    """REFpb every nREFIpb, to the bank sets in turn, after precharging that set's banks."""

    name: ClassVar[str] = "per-bank"

    def __init__(self, timing: Timing, banks: int) -> None:
        super().__init__(timing, banks)
        self.command, self.sets = Command.REFPB, Device.REFPB_SETS
        self.interval, self.refresh_ck = timing.nREFIpb, timing.nRFCpb
        self.due = self.interval
        self.bank_sets = [tuple(range(s, banks, self.sets)) for s in range(self.sets)]

    def blocked_banks(self) -> tuple[int, ...]:
        return self.bank_sets[self.bank]

    def next_command(self, dev: Device, pinned: list[int], now: int) -> tuple[int, int, int]:
        banks = self.bank_sets[self.bank]
        if any(pinned[b] >= 0 for b in banks):
            return NEVER, 0, 0
        for b in banks:
            if dev.open_row[b] >= 0:
                return max(now, dev.earliest(Command.PRE, b)), int(Command.PRE), b
        return max(now, dev.earliest(Command.REFPB, self.bank)), int(Command.REFPB), self.bank


REFRESH_POLICIES: Mapping[str, Callable[[Timing, int], RefreshPolicy]] = MappingProxyType(
    {policy.name: policy for policy in (NoRefresh, AllBankRefresh, PerBankRefresh)}
)
"""Refresh policy classes by name, each built from the channel's timing and bank count."""


def refresh_policy(name: str, timing: Timing, banks: int) -> RefreshPolicy:
    """A new refresh policy (with its own state) called ``name`` for one channel."""
    return lookup("refresh policy", REFRESH_POLICIES, name)(timing, banks)


def skip_idle_refreshes(refresh: RefreshPolicy, dev: Device, until: int) -> int:
    """The channel idles (nothing queued or held, every bank closed) until ``until`` with its
    last refresh issued on time: the refreshes falling due before then are periodic, so all
    but the last are issued in closed form (counts, refresh time, the rotating bank set), the
    last of each bank set for real (their timing effects are the only ones that can still
    matter), leaving the final one, which the loop orders against the arrival, to the loop.
    Returns the cycle after the last one issued here, or -1 when there is nothing to skip.
    Without it an idle gap of 2^48 cycles costs ~10^11 loop turns. Off while commands are
    logged (the log lists every command)."""
    if until >= NEVER or dev.log is not None:
        return -1
    skip = (until - refresh.due) // refresh.interval
    if skip < 1:
        return -1
    counted = skip - min(skip, refresh.sets)
    dev.command_counts[refresh.command] += counted
    refresh.cycles += counted * refresh.refresh_ck
    refresh.due += counted * refresh.interval
    refresh.bank = (refresh.bank + counted) % refresh.sets
    t = -1
    for _ in range(skip - counted):
        t = refresh.due
        refresh.issue(dev, int(refresh.command), refresh.bank, t)
    return t + 1
