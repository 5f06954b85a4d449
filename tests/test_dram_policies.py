"""The controller's policies as objects: registries, the scheduler contract, a new policy in
one place (it runs in the Python loop, with the decisions its class makes)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npusim.dram import DramParams, DramSystem
from npusim.dram import controller as controller_module
from npusim.dram.device import Command
from npusim.dram.params import PagePolicy, RefreshMode, Scheduler
from npusim.dram.policies import (
    ROW_POLICIES,
    SCHEDULER_POLICIES,
    FrFcfsRowHit,
    UnknownPolicyError,
    row_policy,
    scheduler_policy,
)
from npusim.dram.refresh import NEVER, REFRESH_POLICIES, refresh_policy
from npusim.dram.standard import resolve_timing

TIMING = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16, {})


def test_an_unknown_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownPolicyError, match=r"unknown scheduler 'fifo'; valid: fcfs, "
                       r"frfcfs, frfcfs-rowhit$"):  # fmt: skip
        scheduler_policy("fifo")
    with pytest.raises(UnknownPolicyError, match=r"valid: closed, open$"):
        row_policy("adaptive")
    with pytest.raises(UnknownPolicyError, match=r"valid: all-bank, off, per-bank$"):
        refresh_policy("same-bank", TIMING, 16)


def test_every_scenario_name_has_a_policy_and_every_policy_a_name() -> None:
    assert set(SCHEDULER_POLICIES) == {s.value for s in Scheduler}
    assert set(ROW_POLICIES) == {p.value for p in PagePolicy}
    assert set(REFRESH_POLICIES) == {r.value for r in RefreshMode}


@pytest.mark.parametrize(
    ("name", "rows", "offers"),
    [  # open row 7; (column position, PRE position), -1 for none, worked from each definition
        ("fcfs", [7, 3, 7], (0, -1)),  # the head hits: its column command only
        ("fcfs", [3, 7, 7], (-1, 0)),  # the head misses: its PRE only, no reordering
        ("frfcfs-rowhit", [3, 5, 7, 7], (2, 0)),  # the oldest hit, and the head's PRE
        ("frfcfs-rowhit", [7, 3], (0, -1)),  # a hitting head protects the row
        ("frfcfs", [7, 7, 3, 5], (0, 2)),  # the oldest request that does not hit may PRE
        ("frfcfs", [3, 4], (-1, 0)),
        ("frfcfs", [7, 7], (0, -1)),
    ],
)
def test_schedulers_offer_what_their_definition_says(name: str, rows: list, offers: tuple) -> None:
    assert scheduler_policy(name).candidates(rows, 7) == offers


@given(
    st.sampled_from(sorted(SCHEDULER_POLICIES)),
    st.lists(st.integers(0, 3), min_size=1, max_size=8),
    st.integers(0, 3),
    st.integers(0, 3),
)
def test_the_scheduler_contract_holds(name: str, rows: list, open_row: int, extra: int) -> None:
    # What the controller's shortcuts rely on (policies.SchedulerPolicy's docstring).
    policy = scheduler_policy(name)
    column, pre = policy.candidates(rows, open_row)
    assert column == -1 or rows[column] == open_row
    assert pre == -1 or rows[pre] != open_row
    if rows[0] == open_row and not policy.precharges_past_a_hit:
        assert pre == -1
    grown = policy.candidates([*rows, extra], open_row)
    assert grown[0] in (column, len(rows)) if column == -1 else grown[0] == column
    assert grown[1] in (pre, len(rows)) if pre == -1 else grown[1] == pre
    if not policy.precharges_past_a_hit:  # an arrival never adds a PRE offer
        assert grown[1] == pre


def test_row_policies_name_their_column_commands() -> None:
    assert [row_policy("open").column_command(w) for w in (False, True)] == [Command.RD, Command.WR]
    assert [row_policy("closed").column_command(w) for w in (False, True)] == [
        Command.RDA,
        Command.WRA,
    ]


def test_refresh_policies_keep_their_own_state() -> None:
    off, all_bank, per_bank = (
        refresh_policy(n, TIMING, 16) for n in ("off", "all-bank", "per-bank")
    )
    assert off.due == NEVER and off.blocked_banks() == ()
    assert (all_bank.due, all_bank.interval, all_bank.blocked_banks()) == (
        TIMING.nREFI, TIMING.nREFI, tuple(range(16)))  # fmt: skip
    assert (per_bank.due, per_bank.command, per_bank.sets) == (TIMING.nREFIpb, Command.REFPB, 8)
    per_bank.bank = 3
    assert per_bank.blocked_banks() == (3, 11)  # the set 3 mod 8 of 16 banks
    assert all_bank.due == TIMING.nREFI  # separate objects, separate state


class OldestHitFirst(FrFcfsRowHit):
    """A scheduler only the Python loop knows: the same offers as ``frfcfs-rowhit`` under
    another name, so its decisions are known."""

    name = "oldest-hit-first"


def test_a_new_scheduler_is_one_class_and_runs_in_the_python_loop(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(3)
    addrs = rng.integers(0, 1 << 22, 600).astype(np.uint64) * 64
    writes = rng.random(600) < 0.3

    def run() -> tuple:
        system = DramSystem(DramParams(), log_commands=True)
        done = system.serve(addrs, writes, 0).tolist()
        return done, system.command_logs, system.controllers[0]

    *reference, _ = run()
    monkeypatch.setattr(controller_module, "scheduler_policy", lambda name: OldestHitFirst())
    *result, ctrl = run()
    assert ctrl.scheduler_policy.name == "oldest-hit-first" and not ctrl.kernel_runs_it
    assert result == reference
