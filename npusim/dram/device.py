"""Timing constraints as data, and one channel's device state that enforces them.

``TIMING_CONSTRAINTS`` lists, for a command issued at cycle t, the earliest cycle
``t + latency`` of each following command in the same bank, the same bank group or anywhere in
the channel (JESD209-5B via reference lpddr5.md, Ramulator 2's LPDDR5 constraint list). The
four-activate window (at most 4 ACTs in any nFAW cycles) is the one rule that is not a pair,
and one command per CK on the command bus is the other. A channel has one rank.

LPDDR5's command set as JESD209-5B defines it: activation takes two commands, ACT-1 (``ACT``
here: row timings such as nRCD, nRAS and nRC count from it, as in Ramulator 2.1's LPDDR5) and
ACT-2 (``ACT2``), at least one CK and at most ``nAAD`` CK after it; a column command whose
WCK is not running is preceded by ``CAS`` (WCK2CK synchronisation), ``nCAS`` CK before it.
Each of them occupies the command bus for one CK.

:class:`Device` compiles the table once into per-command, per-bank updates of plain Python
lists (``bank_ready[cmd][bank]``, ``group_ready[cmd][group]``, ``channel_ready[cmd]``) that
the controller's loop reads directly; every command, the loop's included, goes through
:meth:`Device.issue`, or :meth:`Device.issue_run` for a run of reads the row-hit streaming
path recorded. ``earliest`` / ``latest`` / ``can_issue`` are the checked API the conformance
tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Protocol

from npusim.dram.timing import Timing


class Command(IntEnum):
    """DRAM commands; RDA/WRA are the auto-precharge variants, PREA precharges all banks,
    ACT is ACT-1 and ACT2 its second half, CAS the WCK2CK-sync command before a column one."""

    ACT = 0
    PRE = 1
    PREA = 2
    RD = 3
    WR = 4
    RDA = 5
    WRA = 6
    REFAB = 7
    REFPB = 8
    ACT2 = 9
    CAS = 10


_ACT = int(Command.ACT)
# What a command does to the row state (Device.issue): nothing, open its bank's row, close
# it, close every bank; and REFpb, whose bank updates go to its bank set.
_KEEPS, _OPENS, _CLOSES, _CLOSES_ALL, _REFRESH_SET = range(5)  # _KEEPS is 0: issue() tests `not`
ROW_EFFECT = {
    Command.ACT: _OPENS,
    Command.PRE: _CLOSES,
    Command.RDA: _CLOSES,
    Command.WRA: _CLOSES,
    Command.PREA: _CLOSES_ALL,
    Command.REFPB: _REFRESH_SET,
}
COLUMN_COMMANDS = (Command.RD, Command.WR, Command.RDA, Command.WRA)
READY_SLOT = (0, 1, 2, 3, 4, 3, 4, 7, 8, 9, 10)
"""Readiness slot of each command: RDA shares RD's and WRA shares WR's, because every
constraint on a following RD also holds for RDA (and WR / WRA) in ``TIMING_CONSTRAINTS``."""


@dataclass(frozen=True)
class Constraint:
    """``following`` may issue no earlier than ``latency`` CK after ``preceding``, in ``scope``.

    ``latency`` is a sum of ``Timing`` attribute names and integers (``"wr_to_pre + nRP"``).
    """

    preceding: tuple[str, ...]
    following: tuple[str, ...]
    scope: str
    latency: str


_COL_RD = ("RD", "RDA")
_COL_WR = ("WR", "WRA")
_COL = _COL_RD + _COL_WR

TIMING_CONSTRAINTS: tuple[Constraint, ...] = (
    # same bank
    Constraint(("ACT",), ("ACT",), "bank", "nRC"),
    Constraint(("ACT",), _COL_RD, "bank", "nRCD"),
    Constraint(("ACT",), _COL_WR, "bank", "rcd_write"),
    Constraint(("ACT",), ("PRE",), "bank", "nRAS"),
    Constraint(("PRE",), ("ACT", "REFPB"), "bank", "nRP"),
    Constraint(("RD",), ("PRE",), "bank", "nRTP"),
    Constraint(("WR",), ("PRE",), "bank", "wr_to_pre"),
    Constraint(("RDA",), ("ACT", "REFPB"), "bank", "nRTP + nRP"),
    Constraint(("WRA",), ("ACT", "REFPB"), "bank", "wr_to_pre + nRP"),
    Constraint(("REFPB",), ("ACT",), "bank", "nRFCpb"),
    Constraint(("ACT",), ("ACT2",), "bank", "1"),  # the next CK at the earliest (command bus)
    Constraint(("CAS",), _COL, "bank", "nCAS"),
    # same bank group
    Constraint(_COL_RD, _COL_RD, "group", "nCCD_L"),
    Constraint(_COL_WR, _COL_WR, "group", "nCCD_L"),
    Constraint(_COL_WR, _COL_RD, "group", "wr_to_rd_l"),
    Constraint(_COL_RD, _COL_WR, "group", "rd_to_wr_l"),
    # anywhere in the channel
    Constraint(_COL_RD, _COL_RD, "channel", "nCCD_S"),
    Constraint(_COL_WR, _COL_WR, "channel", "nCCD_S"),
    Constraint(_COL_RD, _COL_WR, "channel", "rd_to_wr"),
    Constraint(_COL_WR, _COL_RD, "channel", "wr_to_rd_s"),
    Constraint(("ACT",), ("ACT",), "channel", "nRRD"),
    Constraint(("PRE", "PREA"), ("PRE", "PREA"), "channel", "nPPD"),
    Constraint(("PREA",), ("ACT", "REFAB", "REFPB"), "channel", "nRPab"),
    Constraint(("PRE",), ("REFAB",), "channel", "nRP"),
    Constraint(("RDA",), ("REFAB",), "channel", "nRTP + nRP"),
    Constraint(("WRA",), ("REFAB",), "channel", "wr_to_pre + nRP"),
    Constraint(("REFAB",), ("ACT", "REFAB", "REFPB"), "channel", "nRFCab"),
    Constraint(("REFPB",), ("REFPB",), "channel", "nPBR2PBR"),
    Constraint(("REFPB",), ("ACT",), "channel", "nPBR2ACT"),
    Constraint(("REFPB",), ("REFAB",), "channel", "nRFCpb"),
)


def constraint_latency(constraint: Constraint, timing: Timing) -> int:
    """CK cycles of ``constraint.latency`` under ``timing``."""
    terms = [term.strip() for term in constraint.latency.split("+")]
    return sum(int(term) if term.isdigit() else int(getattr(timing, term)) for term in terms)


Updates = list[list[tuple[int, int]]]


def _compile(timing: Timing) -> dict[str, Updates]:
    """Per scope and preceding command: the (following command, latency) pairs, max-merged."""
    tables: dict[str, list[dict[int, int]]] = {
        scope: [{} for _ in Command] for scope in ("bank", "group", "channel")
    }
    for constraint in TIMING_CONSTRAINTS:
        latency = constraint_latency(constraint, timing)
        for prev in constraint.preceding:
            table = tables[constraint.scope][Command[prev]]
            for following in constraint.following:
                nxt = READY_SLOT[Command[following]]
                table[nxt] = max(table.get(nxt, 0), latency)
    return {scope: [sorted(d.items()) for d in per_cmd] for scope, per_cmd in tables.items()}


class TableHolder(Protocol):
    """Holds a newer copy of a device's timing tables (the compiled loop's arrays)."""

    def store_tables(self) -> None:
        """Copy them back into the device's lists, in place."""
        ...


class Device:
    """Row state and timing bookkeeping of one channel (one x16 die, one rank).

    Banks are flat indices ``0 .. banks - 1`` with bank group ``bank % bank_groups``. A REFpb
    addressed to bank b refreshes the set ``b mod 8, b mod 8 + 8`` (a pair with 16 banks, one
    bank with 8), so ``REFPB_SETS`` = 8 commands per nREFI refresh every bank, which is why
    tREFIpb = tREFI / 8 in the reference table.
    """

    REFPB_SETS = 8

    def __init__(self, timing: Timing, banks: int, bank_groups: int, log: bool = False) -> None:
        self.timing = timing
        self.banks = banks
        self.bank_groups = bank_groups
        self.group_of = [b % bank_groups for b in range(banks)]
        self.group_members = [list(range(g, banks, bank_groups)) for g in range(bank_groups)]
        updates = _compile(timing)
        self.update_slots = (updates["bank"], updates["group"], updates["channel"])
        """Per scope (bank, group, channel) and command: its (ready slot, latency) pairs."""
        self.bank_ready = [[0] * banks for _ in Command]
        self.group_ready = [[0] * bank_groups for _ in Command]
        self.channel_ready = [0] * len(Command)
        self.refreshed_sets = [tuple(self.refreshed_banks(b)) for b in range(banks)]
        self.updates = [[self._updates_of(updates, c, b) for b in range(banks)] for c in Command]
        """Per command and bank: the (ready list, index, latency) updates issue() applies."""
        self.row_effects = [ROW_EFFECT.get(c, _KEEPS) for c in Command]
        self.repeat_latency = [
            tuple(dict(per_cmd[c]).get(READY_SLOT[c], 0) for per_cmd in self.update_slots)
            for c in Command
        ]
        """Per command: CK to the next command of its ready slot in the same bank, group and
        channel; 0 where the table has none (a bound at the command's own cycle binds
        nothing: the command bus takes the next command a CK later)."""
        self.faw = [-(10**9)] * 4
        self.nfaw = timing.nFAW
        self.faw_index = 0
        self.open_row = [-1] * banks
        # cycle of each bank's last ACT-1 (for ACT-2's nAAD) in commands issued from Python; the
        # compiled loop does not keep it: a run ends with its ACT-2s issued, and a paused part
        # carries its pending ACT-2's deadline on the controller, so no caller asks for an
        # ACT-2 window across runs
        self.act_at = [-(10**9)] * banks
        self.open_banks = 0
        self.active_since = 0
        self.active_cycles = 0
        self.command_counts = [0] * len(Command)
        self.last_command = -1  # cycle of the last command issued, -1 before the first
        self.tables_in: TableHolder | None = None
        """What holds a newer copy of ``bank_ready``, ``group_ready``, ``channel_ready``,
        ``faw`` and ``open_row`` than these lists (the compiled loop, between its runs);
        :meth:`sync_tables` brings them back."""
        self.log: list[tuple[int, int, int, int]] | None = [] if log else None

    def _updates_of(
        self, updates: dict[str, Updates], cmd: Command, bank: int
    ) -> tuple[tuple[list[int], int, int], ...]:
        """``cmd`` on ``bank``'s updates from the compiled table, every scope in one tuple (a
        REFpb's bank updates go to its bank set): one loop in :meth:`issue`."""
        banks = self.refreshed_sets[bank] if ROW_EFFECT.get(cmd) == _REFRESH_SET else (bank,)
        group = self.group_of[bank]
        return (
            *((self.bank_ready[slot], b, lat) for b in banks for slot, lat in updates["bank"][cmd]),
            *((self.group_ready[slot], group, lat) for slot, lat in updates["group"][cmd]),
            *((self.channel_ready, slot, lat) for slot, lat in updates["channel"][cmd]),
        )

    def sync_tables(self) -> None:
        """Bring the timing tables and open rows up to date from ``tables_in``; every method
        here that reads or writes them does, and so must code that reads the lists."""
        holder = self.tables_in
        if holder is not None:
            self.tables_in = None
            holder.store_tables()

    def refreshed_banks(self, bank: int) -> list[int]:
        """Banks refreshed by a REFpb addressed to ``bank`` (the set ``bank mod 8``)."""
        return list(range(bank % self.REFPB_SETS, self.banks, self.REFPB_SETS))

    def earliest(self, cmd: Command, bank: int = 0) -> int:
        """Earliest cycle the timing allows ``cmd`` on ``bank`` (state legality not checked)."""
        self.sync_tables()
        slot = READY_SLOT[cmd]
        t = self.channel_ready[slot]
        if cmd == Command.PREA:
            for b in range(self.banks):
                if self.open_row[b] >= 0:
                    t = max(t, self.bank_ready[Command.PRE][b])
            return t
        if cmd == Command.REFAB:
            return t
        banks = self.refreshed_banks(bank) if cmd == Command.REFPB else [bank]
        for b in banks:
            t = max(t, self.bank_ready[slot][b])
        t = max(t, self.group_ready[slot][self.group_of[bank]])
        if cmd == Command.ACT:
            t = max(t, self.faw[self.faw_index] + self.timing.nFAW)
        return t

    def latest(self, cmd: Command, bank: int = 0) -> int:
        """Latest cycle ``cmd`` may issue on ``bank``: ACT-2 within nAAD of its ACT-1; no
        limit (``2**62``) for the other commands."""
        if cmd == Command.ACT2:
            return self.act_at[bank] + self.timing.nAAD
        return 1 << 62

    def legal(self, cmd: Command, bank: int = 0, row: int = 0) -> bool:
        """Whether the row state allows ``cmd`` (ACT to a closed bank, RD to the open row, ...)."""
        self.sync_tables()
        if cmd == Command.ACT:
            return self.open_row[bank] < 0
        if cmd in (Command.PRE, Command.ACT2, Command.CAS):
            return self.open_row[bank] >= 0
        if cmd in COLUMN_COMMANDS:
            return self.open_row[bank] == row
        if cmd == Command.REFAB:
            return self.open_banks == 0
        if cmd == Command.REFPB:
            return all(self.open_row[b] < 0 for b in self.refreshed_banks(bank))
        return True

    def can_issue(self, cmd: Command, bank: int, row: int, t: int) -> bool:
        """Whether ``cmd`` may issue at cycle ``t``: legal in the row state and on time."""
        return self.legal(cmd, bank, row) and self.earliest(cmd, bank) <= t <= self.latest(
            cmd, bank
        )

    def issue(self, cmd: int, bank: int, row: int, t: int) -> None:
        """Record ``cmd`` at cycle ``t`` (the caller guarantees ``can_issue``): its timing
        updates, its count and log entry, and the row state it changes.

        Called once per command (millions per run): plain ints and lists only, one loop over
        the command's updates on its bank.
        """
        if self.tables_in is not None:
            self.sync_tables()
        for ready, index, latency in self.updates[cmd][bank]:
            at = t + latency
            if ready[index] < at:
                ready[index] = at
        self.command_counts[cmd] += 1
        self.last_command = t
        if self.log is not None:
            self.log.append((t, int(cmd), bank, row))
        effect = self.row_effects[cmd]
        if not effect:  # _KEEPS: column commands without auto-precharge, ACT-2, CAS, REFab
            return
        if effect == _OPENS:  # ACT-1: the bank's ACT-2 window and the four-activate one
            self.act_at[bank] = t
            faw, index = self.faw, self.faw_index
            faw[index] = t
            self.faw_index = index = (index + 1) & 3
            # The four-activate window only moves at an ACT (the oldest of the last four
            # plus nFAW): folded into the channel's ACT bound, it is one read for the loop.
            ready = self.channel_ready
            if ready[_ACT] < faw[index] + self.nfaw:
                ready[_ACT] = faw[index] + self.nfaw
            self.open_row[bank] = row
            if self.open_banks == 0:
                self.active_since = t
            self.open_banks += 1
        elif effect == _CLOSES:
            self.open_row[bank] = -1
            if self.open_banks == 1:
                self.active_cycles += t - self.active_since
            self.open_banks -= 1
        elif effect == _CLOSES_ALL and self.open_banks:
            self.open_row[:] = [-1] * self.banks
            self.active_cycles += t - self.active_since
            self.open_banks = 0

    def issue_run(self, cmd: int, issued: list[tuple[int, int, int]]) -> None:
        """Record commands ``cmd`` issued as ``issued`` (cycle, bank, row), cycles
        increasing: the same counts, log and timing tables as :meth:`issue` on each in turn,
        for a command that keeps the row state (RD, WR).

        Every update is a max of ``t + latency`` with a latency that depends on the command
        and the scope, not on the cycle, so each entry ends at its latest command's value:
        each bank's last command brings every table up to date (its group's and the
        channel's entries included, as the last of the run is some bank's last).
        """
        if self.row_effects[cmd]:
            raise ValueError(f"issue_run takes commands that keep the row state, not {cmd}")
        if not issued:
            return
        if self.tables_in is not None:
            self.sync_tables()
        last_at = {bank: t for t, bank, _ in issued}
        updates = self.updates[cmd]
        for bank, t in last_at.items():
            for ready, index, latency in updates[bank]:
                at = t + latency
                if ready[index] < at:
                    ready[index] = at
        self.command_counts[cmd] += len(issued)
        self.last_command = issued[-1][0]
        if self.log is not None:
            code = int(cmd)
            self.log.extend((t, code, bank, row) for t, bank, row in issued)

    def active_cycles_until(self, t: int) -> int:
        """CK cycles with at least one bank open, up to cycle ``t``."""
        extra = t - self.active_since if self.open_banks and t > self.active_since else 0
        return self.active_cycles + extra
