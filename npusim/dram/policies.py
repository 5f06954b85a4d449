"""Scheduler and row (page) policies of the DRAM controller: small objects behind Protocols,
picked by name from registries (the names of :mod:`npusim.dram.params`' enums).

Adding a scheduler is one class here and one registry entry (plus its name in
``params.Scheduler``, the scenario boundary). The Python loop runs any policy that keeps the
contract; the compiled loop implements the names in :data:`layout.KERNEL_SCHEDULERS`, and a
controller with another one runs the Python loop. Refresh policies are in
:mod:`npusim.dram.refresh`.

Stdlib only: the compiled loop's build reads the names, and scenario checks load no NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Protocol, TypeVar

from npusim.dram.device import Command
from npusim.errors import NpusimError


class UnknownPolicyError(NpusimError, ValueError):
    """A policy name that no registry lists; the message lists the valid ones."""


T = TypeVar("T")


def lookup(kind: str, registry: Mapping[str, T], name: str) -> T:
    """``registry[name]``; raises :class:`UnknownPolicyError` naming every valid name."""
    try:
        return registry[name]
    except KeyError:
        valid = ", ".join(sorted(registry))
        raise UnknownPolicyError(f"unknown {kind} {name!r}; valid: {valid}") from None


class SchedulerPolicy(Protocol):
    """Which of one bank's queued requests offer a command while the bank's row is open.

    The controller asks only for a bank with an open row and no request in its active slot
    (a closed bank offers its oldest request's ACT; an active slot offers its column
    command). Among every bank's offers it issues the one that can issue first, ties to the
    oldest request; a policy shapes the outcome only through what each bank offers.

    ``precharges_past_a_hit``: whether :meth:`candidates` may offer a PRE while the oldest
    request hits the open row. The controller relies on it for two shortcuts: the row-hit
    streaming path (only when it is false), and re-asking a bank after an arrival only when
    the bank lacked a column offer (or, when it is true, a PRE offer). So a policy must also
    keep: appending a request to the queue changes the offers only by adding one it lacked.
    """

    name: ClassVar[str]
    precharges_past_a_hit: ClassVar[bool]

    def candidates(self, rows: list[int], open_row: int) -> tuple[int, int]:
        """(queue position of the row hit whose column command the bank offers, queue
        position of the request whose PRE it offers), each -1 for none. ``rows``: the rows of
        the bank's queued requests, oldest first, not empty; ``open_row`` >= 0. At most one
        of the two is the head's (position 0) when the head hits: its column command."""
        ...


class Fcfs:
    """Each bank serves its requests in arrival order: the head's column command when it
    hits, else its PRE (no row-hit reordering)."""

    name: ClassVar[str] = "fcfs"
    precharges_past_a_hit: ClassVar[bool] = False

    def candidates(self, rows: list[int], open_row: int) -> tuple[int, int]:
        return (0, -1) if rows[0] == open_row else (-1, 0)


class FrFcfsRowHit:
    """First ready, first come, never closing a row an older (or as old) queued request hits
    (Ramulator 2.1 ``FRFCFS-RowHit``): the oldest hit's column command; the head's PRE only
    when the head misses."""

    name: ClassVar[str] = "frfcfs-rowhit"
    precharges_past_a_hit: ClassVar[bool] = False

    def candidates(self, rows: list[int], open_row: int) -> tuple[int, int]:
        if rows[0] == open_row:
            return 0, -1
        return (rows.index(open_row) if open_row in rows else -1), 0


class FrFcfs:
    """First ready, first come over every queued request (Ramulator 2.1 ``FRFCFS``): the
    oldest hit's column command and the oldest non-hitting request's PRE, so a younger
    request's PRE may close a row an older one hits when it can issue first."""

    name: ClassVar[str] = "frfcfs"
    precharges_past_a_hit: ClassVar[bool] = True

    def candidates(self, rows: list[int], open_row: int) -> tuple[int, int]:
        if rows[0] != open_row:
            return (rows.index(open_row) if open_row in rows else -1), 0
        if rows.count(open_row) == len(rows):
            return 0, -1
        position = 1
        while rows[position] == open_row:
            position += 1
        return 0, position


SCHEDULER_POLICIES: Mapping[str, SchedulerPolicy] = MappingProxyType(
    {policy.name: policy for policy in (Fcfs(), FrFcfsRowHit(), FrFcfs())}
)


def scheduler_policy(name: str) -> SchedulerPolicy:
    """The registered scheduler called ``name``."""
    return lookup("scheduler", SCHEDULER_POLICIES, name)


class RowPolicy(Protocol):
    """What a column command does to its bank's row. The loop asks once per controller; a
    command that closes the row (RDA, WRA) makes the bank closed at once (auto-precharge),
    and only a policy whose reads keep the row open takes the row-hit streaming path."""

    name: ClassVar[str]

    def column_command(self, is_write: bool) -> Command:
        """The command that serves a read (``is_write`` false) or a write burst."""
        ...


class OpenPage:
    """Keep the row open until a request needs another row (RD / WR)."""

    name: ClassVar[str] = "open"

    def column_command(self, is_write: bool) -> Command:
        return Command.WR if is_write else Command.RD


class ClosedPage:
    """Close the row after every access with auto-precharge (RDA / WRA), the DRAMSim2
    "close page" policy."""

    name: ClassVar[str] = "closed"

    def column_command(self, is_write: bool) -> Command:
        return Command.WRA if is_write else Command.RDA


ROW_POLICIES: Mapping[str, RowPolicy] = MappingProxyType(
    {policy.name: policy for policy in (OpenPage(), ClosedPage())}
)


def row_policy(name: str) -> RowPolicy:
    """The registered row policy called ``name``."""
    return lookup("page policy", ROW_POLICIES, name)
