"""Power-down of an idle channel (issue 16): exit timing and residency worked by hand, the
closed form against the loop, the energy terms from their cited currents, and the config.

Timing below is LPDDR5-6400 (tCK 1.25 ns): tXP = tCKE = 7.5 ns (JEDEC LPDDR4-3200 x16 8 Gb
memspec, ``XP`` = ``CKE`` = 12 nCK at 0.625 ns, npusim.dram.powerdown) round up to 6 CK.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from dram_loops import each_dram_loop, idle_gap_trace
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.cli import main
from npusim.config import load_scenario
from npusim.dram import DramParams, DramSystem
from npusim.dram.device import Command
from npusim.dram.energy import DramEnergy, default_energy
from npusim.dram.params import check_params
from npusim.dram.powerdown import PowerDown
from npusim.dram.stats import collect_stats
from npusim.errors import ConfigError
from npusim.trace import Trace

TCK_NS = 1.25
N_XP = math.ceil(7.5 / TCK_NS)  # 6
N_CKE = math.ceil(7.5 / TCK_NS)  # 6
SAME_ROW = 4 * 32  # the default mapping rotates bursts over 4 bank groups: burst 4 is bank 0's


def run(addr: list[int], arrival: list[int], *, after_ns: float | None, **kw: object):
    params = DramParams(power_down_after_s=None if after_ns is None else after_ns * 1e-9,
                        wck_sync="always-on", **kw)  # fmt: skip
    system = DramSystem(params, log_commands=True)
    n = len(addr)
    trace = Trace(np.array(addr, np.uint64), np.zeros(n, bool), np.zeros(n, np.int64),
                  np.array(arrival, np.int64))  # fmt: skip
    done = system.run_trace(trace)
    return system, done


def columns(system: DramSystem) -> list[int]:
    return [t for t, c, _, _ in system.command_logs[0] if c == int(Command.RD)]


def test_exit_timing_by_hand(dram_loop: str) -> None:
    """Two reads of one row 2000 CK apart, refresh off: the second is a row hit. Without
    power-down its RD issues at its arrival; with a 100 ns (80 CK) timeout the channel powered
    down 80 CK after the first RD and the second RD waits nXP = 6 CK."""
    plain, _ = run([0, SAME_ROW], [0, 2000], after_ns=None, refresh="off")
    down, _ = run([0, SAME_ROW], [0, 2000], after_ns=100, refresh="off")
    assert columns(plain)[1] == 2000
    assert columns(down)[1] == 2000 + N_XP
    first_rd = columns(down)[0]
    power = down.controllers[0].power_down
    assert power is not None and power.idle_ck == 80
    # a row stayed open: active power-down from first RD + 80 to the arrival
    assert power.active_cycles == 2000 - (first_rd + 80)
    assert power.precharged_cycles == 0


def test_minimum_residency_by_hand(dram_loop: str) -> None:
    """A request 1 CK after entry: the exit may start only nCKE after entry."""
    probe, _ = run([0], [0], after_ns=None, refresh="off")
    first_rd = columns(probe)[0]
    entry = first_rd + 80
    down, _ = run([0, SAME_ROW], [0, entry + 1], after_ns=100, refresh="off")
    assert columns(down)[1] == entry + N_CKE + N_XP
    assert down.controllers[0].power_down.active_cycles == N_CKE


def test_a_gap_shorter_than_the_timeout_costs_nothing(dram_loop: str) -> None:
    _, done_plain = run([0, SAME_ROW], [0, 60], after_ns=None, refresh="off")
    down, done_down = run([0, SAME_ROW], [0, 60], after_ns=100, refresh="off")
    assert list(done_plain) == list(done_down)
    assert down.controllers[0].power_down.active_cycles == 0


def test_a_refresh_due_as_a_request_arrives_ends_the_stay(dram_loop: str) -> None:
    """The first REFab falls due at tREFI = 3.90625 us = 3125 CK on a channel powered down
    (a row open) since 80 CK after its first read, and a second read arrives on that very
    cycle. The controller wakes the channel for the refresh nXP before it, so its PREA keeps
    cycle 3125 and the read waits behind the refresh; the stay lasts until that exit. (The
    read's arrival used to leave the refresh's wake uncounted: 0 cycles of power-down.)"""
    down, _ = run([0, 1 << 20], [0, 3125], after_ns=100)
    prea = [t for t, c, _, _ in down.command_logs[0] if c == int(Command.PREA)]
    assert prea[0] == 3125
    first_rd = columns(down)[0]
    power = down.controllers[0].power_down
    assert power.active_cycles == 3125 - N_XP - (first_rd + 80)
    assert power.precharged_cycles == 0


def test_refreshes_keep_their_cycles_and_closed_form_equals_the_loop(dram_loop: str) -> None:
    """An idle gap of 20 refresh intervals: refresh commands issue at the same cycles with
    and without power-down (the controller leaves power-down nXP ahead), and the residency
    counted by the closed form (no command log) equals the loop's count command by command
    (the log turns the closed form off)."""
    gap = 20 * 3124 + 500  # nREFI of LPDDR5-6400 8 Gb is 3124 CK (3906 ns)
    addr, arrival = [0, SAME_ROW, 1 << 20], [0, gap, gap + 10]

    def refs(system: DramSystem) -> list[int]:
        return [t for t, c, _, _ in system.command_logs[0] if c == int(Command.REFAB)]

    plain, _ = run(addr, arrival, after_ns=None)
    down, _ = run(addr, arrival, after_ns=100)
    assert refs(plain) == refs(down) and len(refs(down)) >= 20
    logged = down.controllers[0].power_down
    params = DramParams(power_down_after_s=100e-9, wck_sync="always-on")
    fast = DramSystem(params)  # no log: idle refreshes skipped in closed form
    fast.run_trace(Trace(np.array(addr, np.uint64), np.zeros(3, bool), np.zeros(3, np.int64),
                         np.array(arrival, np.int64)))  # fmt: skip
    closed = fast.controllers[0].power_down
    assert (closed.precharged_cycles, closed.active_cycles) == (
        logged.precharged_cycles,
        logged.active_cycles,
    )
    # by hand: every stay between two idle refreshes is nREFI - 80 - nXP
    assert logged.precharged_cycles >= 18 * (3124 - 80 - N_XP)


def test_energy_terms_from_their_cited_currents() -> None:
    """Micron LPDDR5X Y52P standby currents (reference lpddr5.md) scaled per rail by the
    JEDEC LPDDR4-3200 memspec's power-down / standby ratios (DRAMSys
    JEDEC_8Gb_LPDDR4-3200_16bit.json), V x I."""
    vdd2h, vdd1 = 1.05, 1.8
    precharged = 32.5 * 3.0 / 27.0 * vdd2h + 1.5 * 1.2 / 2.0 * vdd1
    active = 40.0 * 9.0 / 30.0 * vdd2h + 2.8 * 1.2 / 2.25 * vdd1
    terms = DramEnergy()
    assert terms.power_down_precharged_mw == pytest.approx(precharged, abs=0.05)
    assert terms.power_down_active_mw == pytest.approx(active, abs=0.05)
    lpddr6 = default_energy("LPDDR6_10667")
    assert lpddr6.power_down_active_mw == pytest.approx(terms.power_down_active_mw / 2)


def test_background_energy_by_hand(dram_loop: str) -> None:
    """The run of test_exit_timing_by_hand: powering down replaces active standby by active
    power-down for exactly the residency, so the background differs by
    (47 - 15.3) mW x residency x tCK, less the 6 CK the run got longer at standby."""
    plain, _ = run([0, SAME_ROW], [0, 2000], after_ns=None, refresh="off")
    down, _ = run([0, SAME_ROW], [0, 2000], after_ns=100, refresh="off")
    e_plain = collect_stats(plain).total
    e_down = collect_stats(down).total
    residency = down.controllers[0].power_down.active_cycles
    assert e_down.power_down_cycles == residency
    assert e_down.power_down_ns == pytest.approx(residency * TCK_NS)
    longer = e_down.elapsed_cycles - e_plain.elapsed_cycles
    assert longer == N_XP
    expected = e_plain.energy.background_pj + (-(47.0 - 15.3) * residency + 47.0 * longer) * TCK_NS
    assert e_down.energy.background_pj == pytest.approx(expected)


@pytest.mark.parametrize("after_ns", [1.25, 2.5, 50.0])
def test_the_loops_agree_on_a_stream_with_short_gaps(after_ns: float) -> None:
    """Sequential reads arriving a few CK apart: with a timeout of one CK a read reaching an
    empty queue finds the channel powered down, which the row-hit streaming path must leave
    to the general loop (found by this test: it queued such reads without the exit)."""
    rng = np.random.default_rng(0)
    n = 3000
    trace = Trace(
        addr=(np.arange(n) * 32).astype(np.uint64),
        is_write=np.zeros(n, bool),
        size_bytes=np.zeros(n, np.int64),
        arrival_cycle=np.cumsum(rng.choice([0, 1, 2, 3, 40], n, p=[0.3, 0.3, 0.2, 0.1, 0.1])),
    )
    results = each_dram_loop(lambda: _served(trace, DramParams(power_down_after_s=after_ns * 1e-9)))
    reference = results.pop("python-general")
    assert reference[1]["total"]["power_down_cycles"] > 0
    for name, result in results.items():
        assert result == reference, name


def _served(trace: Trace, params: DramParams) -> tuple:
    system = DramSystem(params)
    return system.run_trace(trace).tolist(), system.stats().to_dict()


def test_the_loops_agree_on_idle_gaps_without_a_log() -> None:
    """Idle gaps longer than nREFI with no command log (so idle refreshes are skipped in
    closed form): the compiled loop, the Python loop and its general path count the same
    completions, statistics and power-down residency."""
    trace = idle_gap_trace()
    params = DramParams(power_down_after_s=50e-9, refresh="per-bank")
    results = each_dram_loop(lambda: _served(trace, params))
    reference = results.pop("python-general")
    assert reference[1]["total"]["power_down_cycles"] > 0
    for name, result in results.items():
        assert result == reference, name


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 6000), min_size=1, max_size=12),
    rows=st.lists(st.integers(0, 3), min_size=12, max_size=12),
    after_ck=st.integers(1, 400),
)
def test_never_loses_a_request_and_never_violates_the_exit(gaps, rows, after_ck) -> None:
    """One request per gap (a single bank, rows drawn): every request completes, and a
    request that found the channel idle for at least the timeout has no command before its
    arrival + nXP (exit latency), while residency stays within the elapsed time."""
    arrival = list(np.cumsum(gaps))
    addr = [rows[i] * (1 << 20) for i in range(len(arrival))]
    system, done = run(addr, arrival, after_ns=after_ck * TCK_NS)
    assert len(done) == len(arrival) and all(int(d) > a for d, a in zip(done, arrival, strict=True))
    log = system.command_logs[0]
    power = system.controllers[0].power_down
    idle = power.idle_ck
    refresh = {int(Command.REFAB), int(Command.REFPB), int(Command.PREA)}
    for i, a in enumerate(arrival[1:], start=1):
        before = [t for t, c, _, _ in log if t < a]
        after = [t for t, c, _, _ in log if t >= a and c not in refresh]
        served = all(int(done[j]) <= a for j in range(i))  # nothing queued or held at a
        if not (served and before and after and a >= max(before) + idle):
            continue
        # a refresh due soon after a was foreseen: the channel left power-down for it
        if not any(a - N_XP <= t <= min(after) and c in refresh for t, c, _, _ in log):
            assert min(after) >= a + N_XP
    total = collect_stats(system).total
    assert 0 <= total.power_down_cycles <= total.elapsed_cycles


def test_policy_refuses_a_zero_timeout_or_negative_latencies() -> None:
    for bad in ((0, 6, 6), (1, -1, 6), (1, 6, -1), (1, 6, 6, 0), (1, 6, 6, 9, -1, 1),
                (1, 6, 6, 9, 1, -1)):  # fmt: skip
        with pytest.raises(ValueError, match="idle_ck >= 1"):
            PowerDown(*bad)


def test_the_policy_s_arithmetic_by_hand() -> None:
    """PowerDown alone, timeout 10, nXP 3, nCKE 4 (cycles)."""
    down = PowerDown(10, 3, 4)
    assert down.wake_for_request(100, 105, False) == 105  # before entry at 110: no exit
    assert down.wake_for_request(100, 111, True) == 114 + 3  # exit waits entry + nCKE
    assert down.wake_for_request(100, 200, False) == 203
    assert (down.active_cycles, down.precharged_cycles) == (4, 90)
    assert down.wake_for_request(-1, 50, False) == 53  # idle since cycle 0: entry at 10
    # a refresh foreseen: the stay ends nXP before it, and is kept only if at least nCKE
    assert down.foreseen_stay(100, 100 + 10 + 3 + 4) == 4
    assert down.foreseen_stay(100, 100 + 10 + 3 + 3) == 0
    assert PowerDown(10, 3, 0).foreseen_stay(100, 114) == 1  # nCKE 0: one cycle is a stay


def test_counting_starts_at_the_first_arrival() -> None:
    """The lead before count_from is priced apart: a stay is clipped to start there, and
    closed-form stays that start before it are dropped (timeout 10, nXP 2, interval 100: each
    stay is 100 - 2 - 10 = 88 cycles)."""
    down = PowerDown(10, 2, 2)
    down.count_from = 50
    down.wake_for_refresh(0, 100, False)  # stay [10, 98), counted from 50
    assert down.precharged_cycles == 48
    down.wake_for_refresh(0, 100, True)
    assert down.active_cycles == 48
    periodic = PowerDown(10, 2, 2)
    periodic.count_from = 205
    # five refreshes at 200, 300, ...: stays start at 110, 210, 310, 410, 510; the first is
    # dropped (it starts before 205)
    periodic.periodic_stays(200, 5, 100)
    assert periodic.precharged_cycles == 4 * 88
    assert isinstance(periodic.precharged_cycles, int)


def test_config_loads_units_and_refuses_bad_values(tmp_path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("dram:\n  power_down_after: 100 ns\n  timing: {nXP: 10}\n")
    scenario = load_scenario(good)
    assert scenario.dram.power_down_after_s == pytest.approx(100e-9)
    system = DramSystem(scenario.dram)
    assert system.timing.nXP == 10 and system.controllers[0].power_down.n_xp == 10
    for bad, expected in (("100", "add a unit"), ("-5 ns", "> 0"), ("0 ns", "> 0"),
                          ("2 s", "<= 1")):  # fmt: skip
        path = tmp_path / "bad.yaml"
        path.write_text(f"dram:\n  power_down_after: {bad}\n")
        with pytest.raises(ConfigError, match="power_down_after") as err:
            load_scenario(path)
        assert expected in str(err.value)
    assert check_params(DramParams(power_down_after_s=float("nan")))
    assert not check_params(DramParams(power_down_after_s=None))


@pytest.mark.parametrize("after_ns", [None, 100])
def test_idle_lead_and_tail_by_hand(after_ns: float | None, dram_loop: str) -> None:
    """One read arriving at 5000 CK, refresh off, energy up to 20000 CK after it completes.
    The lead (all banks closed) and the tail (its row left open) are idle: at standby power
    without power-down; with it, the first 80 CK of each at standby and the rest powered down
    (precharged 5.4 mW before, active 15.3 mW after)."""
    system, done = run([0], [5000], after_ns=after_ns, refresh="off")
    tail = 20000
    until = int(done[0]) + tail
    busy = collect_stats(system).total.energy.total_pj
    if after_ns is None:
        idle_pj = (37.0 * 5000 + 47.0 * tail) * TCK_NS
    else:
        idle_pj = (37.0 * 80 + 5.4 * (5000 - 80) + 47.0 * 80 + 15.3 * (tail - 80)) * TCK_NS
    assert system.energy_until(until) == pytest.approx(busy + idle_pj)


def test_the_trace_runner_takes_a_timeout(tmp_path, capsys: pytest.CaptureFixture) -> None:
    """`npusim dram --power-down-after`: the exit by hand on a timed trace (the second read
    2000 CK after the first, same row: its RD waits nXP), and bad values exit 2 in one line."""
    trace = tmp_path / "t.trace"
    trace.write_text(f"0 R 0x0\n2000 R {SAME_ROW}\n")
    args = ["dram", str(trace), "--json", "--refresh", "off", "--wck-sync", "always-on"]
    assert main(args) == 0
    plain = json.loads(capsys.readouterr().out)["total"]
    assert main([*args, "--power-down-after", "100 ns"]) == 0
    down = json.loads(capsys.readouterr().out)["total"]
    assert plain["power_down_cycles"] == 0 and down["power_down_cycles"] > 1800
    assert down["elapsed_cycles"] == plain["elapsed_cycles"] + N_XP
    assert down["read_latency_max_ns"] == pytest.approx(plain["read_latency_max_ns"])
    assert down["read_latency_mean_ns"] == pytest.approx(
        plain["read_latency_mean_ns"] + N_XP * TCK_NS / 2
    )
    for bad, says in (("100", "add a unit"), ("2 s", "(0, 1 s]"), ("4 KiB", "bytes")):
        assert main(["dram", str(trace), "--power-down-after", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert "--power-down-after" in err and says in err and "\n" not in err


def test_a_run_reports_its_power_down(tmp_path, capsys: pytest.CaptureFixture) -> None:
    """`npusim run` end to end: summary.json's dram block carries power_down_ns (schema 5 on),
    zero unless the scenario sets a timeout; with one the DRAM spends less energy and no
    other component changes except static power over the (not shorter) run."""
    runs = {}
    for name, extra in (("plain", []), ("down", ["--set", "dram.power_down_after=100 ns"])):
        args = ["run", "-w", "mlp", "--json", "--no-plots", "--out", str(tmp_path / name)]
        assert main(args + extra) == 0
        runs[name] = json.loads(capsys.readouterr().out)
    plain, down = runs["plain"], runs["down"]
    assert plain["schema_version"] == down["schema_version"] == 7
    assert plain["dram"]["power_down_ns"] == 0 < down["dram"]["power_down_ns"]
    assert down["dram"]["power_down_ns"] < down["totals"]["time_s"] * 1e9 * 4  # 4 channels
    assert down["totals"]["energy_pj"]["dram"] < plain["totals"]["energy_pj"]["dram"]
    assert down["totals"]["time_s"] >= plain["totals"]["time_s"]
    for part in ("mac", "sram", "phy"):
        assert down["totals"]["energy_pj"][part] == plain["totals"]["energy_pj"][part]


def _residency_from_log(log: list, arrivals: list[int], power: PowerDown) -> int:
    """An independent count of power-down cycles from a command log, for requests spaced far
    enough apart to be served alone: before each command, the channel powered down idle_ck
    after the previous one; a refresh command (REFAB, REFPB, and the PREA or PRE no arrival
    asked for) was foreseen, so the stay ended
    nXP before it (none if shorter than nCKE); a request's first command after an arrival
    that found the channel idle ended the stay at max(arrival, entry + nCKE). Counted from
    the first arrival on (the lead is priced apart)."""
    refresh = {int(Command.REFAB), int(Command.REFPB), int(Command.PREA)}
    count_from, total, previous = arrivals[0], 0, None
    waiting = sorted(arrivals)
    for t, command, _, _ in log:
        woke_at = None
        while waiting and waiting[0] <= t:
            woke_at = waiting.pop(0)
        if previous is not None:
            entry = previous + power.idle_ck
            if command in refresh or (command == int(Command.PRE) and woke_at is None):
                end = t - power.n_xp if t - power.n_xp - entry >= max(power.n_cke, 1) else entry
            elif woke_at is not None and woke_at >= previous and woke_at >= entry:
                end = max(woke_at, entry + power.n_cke)
            else:
                end = entry
            total += max(0, end - max(entry, count_from))
        previous = t
    return total


@pytest.mark.parametrize("first_arrival", [0, 50_000])
@pytest.mark.parametrize("refresh", ["all-bank", "per-bank"])
def test_residency_equals_a_count_from_the_command_log(
    first_arrival: int, refresh: str, dram_loop: str
) -> None:
    """Requests 7,000-60,000 CK apart (refreshes in most gaps), the first one late or not:
    the residency the loop counts (command log on) equals the count from its log, and the
    closed form's (no log, idle refreshes skipped) equals it too."""
    gaps = [first_arrival, 7000, 60_000, 9000, 33_000, 12_000]
    arrivals = list(np.cumsum(gaps))
    addr = [(i % 3) * (1 << 20) for i in range(len(arrivals))]  # rows 0, 1, 2 of bank 0
    params = DramParams(power_down_after_s=100e-9, refresh=refresh)
    trace = Trace(np.array(addr, np.uint64), np.zeros(len(addr), bool),
                  np.zeros(len(addr), np.int64), np.array(arrivals, np.int64))  # fmt: skip
    logged = DramSystem(params, log_commands=True)
    logged.run_trace(trace)
    power = logged.controllers[0].power_down
    counted = power.precharged_cycles + power.active_cycles
    assert counted == _residency_from_log(logged.command_logs[0], arrivals, power) > 0
    fast = DramSystem(params)
    fast.run_trace(trace)
    closed = fast.controllers[0].power_down
    assert (closed.precharged_cycles, closed.active_cycles) == (
        power.precharged_cycles,
        power.active_cycles,
    )
