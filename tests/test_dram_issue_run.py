"""``Device.issue_run`` (a run of column commands recorded at once, as the row-hit streaming
path does) leaves the device exactly as :meth:`Device.issue` on each command in turn: the
reference here is that plain sequence of calls. ``repeat_latency`` is checked against the
JEDEC figures written out by hand, and the streaming path that uses both against the general
loop under a table with a bank rule between reads (none of the JEDEC tables has one).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.dram import DramParams, DramSystem, device
from npusim.dram.controller import ChannelController
from npusim.dram.device import Command, Constraint, Device
from npusim.dram.standard import resolve_timing
from npusim.trace import Trace

# LPDDR5-6400, BG mode, 16 banks (JESD209-5B via Ramulator 2.1's LPDDR5 preset): nCCD_L = 4
# and nCCD_S = 2 CK between reads; no same-bank read-to-read rule beyond the group's.
TIMING = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16, {})


def _open_device(log: bool) -> Device:
    dev = Device(TIMING, banks=16, bank_groups=4, log=log)
    for bank in range(16):  # every bank open at row bank, ACTs spaced as far as nFAW asks
        dev.issue(Command.ACT, bank, bank, bank * TIMING.nFAW)
    return dev


def _state(dev: Device) -> tuple[object, ...]:
    return (
        dev.bank_ready,
        dev.group_ready,
        dev.channel_ready,
        dev.command_counts,
        dev.last_command,
        dev.log,
        dev.open_row,
        dev.open_banks,
    )


runs = st.lists(
    st.tuples(st.integers(0, 15), st.integers(1, 40)), min_size=0, max_size=60
)  # (bank, CK after the previous command)


@settings(max_examples=200, deadline=None)
@given(runs=runs, cmd=st.sampled_from([Command.RD, Command.WR]), log=st.booleans())
def test_issue_run_equals_issue_in_turn(
    runs: list[tuple[int, int]], cmd: Command, log: bool
) -> None:
    one_by_one, at_once = _open_device(log), _open_device(log)
    t = 16 * TIMING.nFAW + TIMING.nRCD
    issued = []
    for bank, gap in runs:
        t += gap
        issued.append((t, bank, bank))
        one_by_one.issue(int(cmd), bank, bank, t)
    at_once.issue_run(int(cmd), issued)
    assert _state(at_once) == _state(one_by_one)


class _NewerTables:
    """Stands in for the compiled loop's arrays (``KernelRun``) after a run: newer than the
    device's lists until ``store_tables`` copies them back."""

    def __init__(self, dev: Device) -> None:
        self.dev = dev

    def store_tables(self) -> None:
        self.dev.channel_ready[:] = [10**6] * len(self.dev.channel_ready)
        for ready in self.dev.group_ready:
            ready[:] = [10**6 + 1] * len(ready)


def test_issue_run_first_takes_the_tables_the_compiled_loop_holds() -> None:
    """As ``issue`` does, ``issue_run`` brings the tables up to date from ``tables_in`` before
    its updates (which would otherwise land on the stale lists, the newer arrays left to
    overwrite them later)."""
    one_by_one, at_once = _open_device(True), _open_device(True)
    for dev in (one_by_one, at_once):
        dev.tables_in = _NewerTables(dev)
    t = 16 * TIMING.nFAW + TIMING.nRCD
    issued = [(t, 0, 0), (t + 4, 5, 5)]
    for at, bank, row in issued:
        one_by_one.issue(int(Command.RD), bank, row, at)
    at_once.issue_run(int(Command.RD), issued)
    assert at_once.tables_in is None
    assert at_once.channel_ready[int(Command.RD)] == 10**6
    assert _state(at_once) == _state(one_by_one)


@pytest.mark.parametrize("cmd", [Command.ACT, Command.PRE, Command.RDA, Command.PREA])
def test_issue_run_refuses_a_command_that_changes_the_row_state(cmd: Command) -> None:
    with pytest.raises(ValueError, match="keep the row state"):
        _open_device(False).issue_run(int(cmd), [(10_000, 0, 0)])


def test_repeat_latency_is_the_jedec_read_to_read_spacing() -> None:
    dev = Device(TIMING, banks=16, bank_groups=4)
    assert dev.repeat_latency[Command.RD] == (0, 4, 2)  # no bank rule, nCCD_L, nCCD_S
    assert dev.repeat_latency[Command.WR] == (0, 4, 2)
    assert dev.repeat_latency[Command.RDA] == (0, 4, 2)  # RDA shares RD's ready slot
    # ACT after ACT: nRC in the bank (49 CK), none in the group, nRRD (4 CK) in the channel
    assert dev.repeat_latency[Command.ACT] == (TIMING.nRC, 0, TIMING.nRRD) == (49, 0, 4)


def _python_loop_log(stream: bool, trace: Trace) -> list[tuple[int, int, int, int]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ChannelController, "use_kernel", False)
        patch.setattr(ChannelController, "stream_fast_path", stream)
        system = DramSystem(DramParams(refresh="off"), log_commands=True)
        system.run_trace(trace)
    return system.command_logs[0]


def test_streaming_honours_a_bank_rule_between_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """The JEDEC tables bound RD after RD by group and channel only (``repeat_latency``'s
    bank entry is 0, so the streaming path raises no bank bound), but the path is written for
    a table with a bank rule too: given one (nCCD_L + 3 = 7 CK in the bank, over nCCD_L = 4
    in the group), the Python loop's streaming path issues the same commands as its general
    loop, which reads every bound from ``Device.issue``. Row hits on bank 0 (bursts 4 apart:
    the bank group bits come first) with a few on bank 4 between them."""
    rule = Constraint(("RD", "RDA"), ("RD", "RDA"), "bank", "nCCD_L + 3")
    monkeypatch.setattr(device, "TIMING_CONSTRAINTS", (*device.TIMING_CONSTRAINTS, rule))
    assert Device(TIMING, banks=16, bank_groups=4).repeat_latency[Command.RD] == (7, 4, 2)
    bursts = np.array([4 * (i % 64) for i in range(40)] + [(1 << 8) | 4 * i for i in range(4)])
    order = np.argsort(np.r_[np.arange(40) * 2, np.arange(4) * 20 + 1], kind="stable")
    trace = Trace((bursts[order] * 32).astype(np.uint64), np.zeros(44, bool),
                  np.zeros(44, np.int64), np.arange(44, dtype=np.int64))  # fmt: skip
    streamed, general = _python_loop_log(True, trace), _python_loop_log(False, trace)
    reads = [t for t, c, b, _ in general if c == Command.RD and b == 0]
    assert min(b - a for a, b in itertools.pairwise(reads)) == 7  # the rule binds
    assert streamed == general
