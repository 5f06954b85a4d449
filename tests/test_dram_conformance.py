"""Conformance generated from the timing table: each constraint refuses one cycle early.

For every (preceding, following, scope) entry of ``TIMING_CONSTRAINTS`` a fresh device opens
the banks the two commands need, issues the preceding command at cycle T0 and checks that the
following one is refused at T0 + latency - 1 and accepted at T0 + latency on a bank in the
constraint's scope. Figures are LPDDR5-6400 BG mode (JESD209-5B via reference lpddr5.md).
"""

from __future__ import annotations

import pytest

from npusim.dram.device import (
    COLUMN_COMMANDS,
    TIMING_CONSTRAINTS,
    Command,
    Device,
    constraint_latency,
)
from npusim.dram.standard import resolve_timing

# nRC and nFAW raised so they are not equal to the sums they would otherwise tie with
# (nRC = nRAS + nRP = 49, nFAW = 4 x nRRD = 16 in the reference table).
TIMING = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16, {"nRC": 60, "nFAW": 20})
T0 = 2000
PREV_BANK = 0
TARGET_BANK = {"bank": 0, "group": 4, "channel": 1}  # flat bank 4 is group 0, bank 1 group 1


# PREA closes every bank, so a PRE can never follow it directly (pinned by a test below)
STATE_FORBIDDEN = {("PREA", "PRE")}


def _cases(include_forbidden: bool = False) -> list[tuple[str, str, str, str]]:
    cases = []
    for c in TIMING_CONSTRAINTS:
        for prev in c.preceding:
            for nxt in c.following:
                if include_forbidden or (prev, nxt) not in STATE_FORBIDDEN:
                    cases.append((prev, nxt, c.scope, c.latency))
    return cases


def _open(dev: Device, bank: int, t: int) -> int:
    t = max(t, dev.earliest(Command.ACT, bank))
    dev.issue(Command.ACT, bank, 0, t)
    return t + 1


def _prepare(prev: Command, nxt: Command, target: int) -> Device:
    dev = Device(TIMING, banks=16, bank_groups=4)
    t = 0
    if prev in (Command.PRE, Command.PREA, Command.CAS, *COLUMN_COMMANDS):
        t = _open(dev, PREV_BANK, t)
    if (nxt == Command.PRE or nxt in COLUMN_COMMANDS) and target != PREV_BANK:
        t = _open(dev, target, t)
    dev.issue(prev, PREV_BANK, 0, max(T0, dev.earliest(prev, PREV_BANK)))
    return dev


@pytest.mark.parametrize(("prev", "nxt", "scope", "latency"), _cases())
def test_constraint_refuses_early_and_accepts_on_time(
    prev: str, nxt: str, scope: str, latency: str
) -> None:
    p, n = Command[prev], Command[nxt]
    target = TARGET_BANK[scope]
    dev = _prepare(p, n, target)
    if n == Command.ACT and dev.open_row[target] >= 0:
        # the bank is open after the preceding ACT: close it as early as possible first
        dev.issue(Command.PRE, target, 0, dev.earliest(Command.PRE, target))
    lat = sum(
        int(t) if t.strip().isdigit() else getattr(TIMING, t.strip()) for t in latency.split("+")
    )
    assert dev.legal(n, target, 0)
    due = T0 + lat
    assert not dev.can_issue(n, target, 0, due - 1)
    assert dev.can_issue(n, target, 0, due)
    assert dev.earliest(n, target) == due


def test_untestable_pairs_are_only_those_a_state_rule_forbids() -> None:
    skipped = []
    for prev, nxt, scope, _ in _cases(include_forbidden=True):
        p, n = Command[prev], Command[nxt]
        target = TARGET_BANK[scope]
        dev = _prepare(p, n, target)
        if n == Command.ACT and dev.open_row[target] >= 0:
            dev.issue(Command.PRE, target, 0, dev.earliest(Command.PRE, target))
        if not dev.legal(n, target, 0):
            skipped.append((prev, nxt))
    assert set(skipped) == STATE_FORBIDDEN


def test_four_activate_window() -> None:
    dev = Device(TIMING, banks=16, bank_groups=4)
    for i, bank in enumerate((0, 1, 2, 3)):
        dev.issue(Command.ACT, bank, 0, i * TIMING.nRRD)
    # fifth ACT: nRRD after the fourth would be 16, nFAW after the first is 20
    assert not dev.can_issue(Command.ACT, 4, 0, TIMING.nFAW - 1)
    assert dev.can_issue(Command.ACT, 4, 0, TIMING.nFAW)


def test_state_rules() -> None:
    dev = Device(TIMING, banks=16, bank_groups=4)
    assert not dev.legal(Command.RD, 0, 5)  # closed bank
    dev.issue(Command.ACT, 0, 5, 0)
    assert not dev.legal(Command.ACT, 0, 6)  # already open
    assert not dev.legal(Command.RD, 0, 6)  # wrong row
    assert not dev.legal(Command.REFAB)  # a bank is open
    assert not dev.legal(Command.REFPB, 8)  # bank 0 is refreshed with bank 8
    assert dev.refreshed_banks(0) == [0, 8]


def test_act2_follows_act1_within_naad() -> None:
    # JESD209-5B: ACT-2 at least one CK (the command bus) and at most tAAD = 8 nCK after ACT-1
    # (reference lpddr5.md: nAAD 8); the table's ACT -> ACT2 "1" gives the lower end.
    dev = Device(TIMING, banks=16, bank_groups=4)
    dev.issue(Command.ACT, 3, 7, T0)
    assert not dev.can_issue(Command.ACT2, 3, 7, T0)
    assert dev.can_issue(Command.ACT2, 3, 7, T0 + 1)
    assert TIMING.nAAD == 8
    assert dev.can_issue(Command.ACT2, 3, 7, T0 + 8)
    assert not dev.can_issue(Command.ACT2, 3, 7, T0 + 8 + 1)
    assert not dev.can_issue(Command.ACT2, 4, 7, T0 + 1)  # bank 4 was not activated


def test_new_commands_are_in_the_generated_cases() -> None:
    cases = {(p, n): lat for p, n, _, lat in _cases()}
    assert cases[("ACT", "ACT2")] == "1"
    assert all(cases[("CAS", c)] == "nCAS" for c in ("RD", "RDA", "WR", "WRA"))
    cas = next(c for c in TIMING_CONSTRAINTS if c.preceding == ("CAS",))
    assert constraint_latency(cas, TIMING) == 1  # the column command takes the next CK
