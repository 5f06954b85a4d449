"""``Device.issue_run`` (a run of column commands recorded at once, as the row-hit streaming
path does) leaves the device exactly as :meth:`Device.issue` on each command in turn: the
reference here is that plain sequence of calls. ``repeat_latency`` is checked against the
JEDEC figures written out by hand.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.dram.device import Command, Device
from npusim.dram.standard import resolve_timing

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
