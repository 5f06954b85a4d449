"""Self-refresh of an idle channel (issue 16): entry, exit and absorbed refreshes worked by
hand, a property over random gaps (no request lost, the exit latency kept, every refresh due
issued or done by the device), the loops against each other, and the energy term from its
cited currents.

Timing below is LPDDR5-6400 8 Gb (tCK 1.25 ns), figures written out from their sources:
tXSR = tRFCab + 7.5 ns = 210 + 7.5 ns -> 174 CK and tSR = 15 ns -> 12 CK (JEDEC LPDDR4-3200
memspec as carried by DRAMSys: XSR 460 nCK = RFCab 448 + 12 nCK, SR 24 nCK, at 0.625 ns;
LPDDR5 defines tXSR the same way); tRPab 21 ns -> 17 CK; tRFCab 210 ns -> 168 CK; tREFI
3.906 us -> 3125 CK.
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
from npusim.dram.energy import DramEnergy, compute_energy, default_energy
from npusim.dram.stats import channel_energy_until, collect_stats
from npusim.errors import ConfigError
from npusim.trace import Trace

TCK_NS = 1.25
N_XSR = math.ceil((210 + 7.5) / TCK_NS)  # 174
N_SR = math.ceil(15 / TCK_NS)  # 12
N_RPAB = math.ceil(21 / TCK_NS)  # 17
N_RFCAB = math.ceil(210 / TCK_NS)  # 168: 8 Gb tRFCab
N_REFI = 3125
N_XP = math.ceil(7.5 / TCK_NS)  # 6
SR_CK = 800  # a 1 us timeout
SAME_ROW = 4 * 32  # the default mapping rotates bursts over 4 bank groups: burst 4 is bank 0's
COLUMNS = {int(c) for c in (Command.RD, Command.WR, Command.RDA, Command.WRA)}
REFRESHES = {int(Command.REFAB), int(Command.REFPB)}


def run(
    addr: list[int],
    arrival: list[int],
    *,
    sr_ns: float | None,
    pd_ns: float | None = None,
    writes: list[bool] | None = None,
    **kw: object,
) -> tuple[DramSystem, np.ndarray]:
    params = DramParams(self_refresh_after_s=None if sr_ns is None else sr_ns * 1e-9,
                        power_down_after_s=None if pd_ns is None else pd_ns * 1e-9,
                        wck_sync="always-on", **kw)  # fmt: skip
    system = DramSystem(params, log_commands=True)
    n = len(addr)
    trace = Trace(np.array(addr, np.uint64), np.array(writes or [False] * n, bool),
                  np.zeros(n, np.int64), np.array(arrival, np.int64))  # fmt: skip
    return system, system.run_trace(trace)


def times(system: DramSystem, *commands: Command) -> list[int]:
    wanted = {int(c) for c in commands}
    return [t for t, c, _, _ in system.command_logs[0] if c in wanted]


def test_the_timing_comes_from_the_cited_figures() -> None:
    timing = DramSystem(DramParams()).timing
    assert (timing.nXSR, timing.nSR, timing.nRPab, timing.nREFI) == (N_XSR, N_SR, N_RPAB, N_REFI)
    # 16 Gb: tRFCab 280 ns, so tXSR 287.5 ns
    assert DramSystem(DramParams(density="16Gb")).timing.nXSR == math.ceil(287.5 / TCK_NS)


def test_entry_and_exit_by_hand(dram_loop: str) -> None:
    """Two reads of one row 20000 CK apart, refresh off, open page, self-refresh after 1 us:
    800 CK after the first RD the controller closes the open row (PREA), enters self-refresh
    nRPab later, and the second request (now a miss) issues its ACT nXSR after its arrival."""
    plain, _ = run([0, SAME_ROW], [0, 20000], sr_ns=None, refresh="off")
    sleep, _ = run([0, SAME_ROW], [0, 20000], sr_ns=1000, refresh="off")
    assert times(plain, Command.RD)[1] == 20000  # a row hit, at its arrival
    rd = times(sleep, Command.RD)[0]
    prea = [entry for entry in sleep.command_logs[0] if entry[1] == Command.PREA]
    assert prea == [(rd + SR_CK, int(Command.PREA), 0, -1)]  # as the refresh's PREA is logged
    assert times(sleep, Command.ACT)[1] == 20000 + N_XSR
    power = sleep.controllers[0].power_down
    assert power.self_refresh_cycles == 20000 - (rd + SR_CK + N_RPAB)
    assert (power.precharged_cycles, power.active_cycles, power.absorbed_refreshes) == (0, 0, 0)
    stats = collect_stats(sleep).total
    assert stats.self_refresh_cycles == power.self_refresh_cycles
    assert stats.self_refresh_ns == pytest.approx(power.self_refresh_cycles * TCK_NS)
    assert (stats.row_hits, stats.row_misses) == (0, 2)


def test_power_down_then_self_refresh_by_hand(dram_loop: str) -> None:
    """With power-down after 100 ns (80 CK) as well: active power-down from RD + 80 until
    nXP before the PREA, then self-refresh; a request before the self-refresh timer only
    pays nXP."""
    sleep, _ = run([0, SAME_ROW, 2 * SAME_ROW], [0, 20000, 20500], sr_ns=1000, pd_ns=100,
                   refresh="off")  # fmt: skip
    rd = times(sleep, Command.RD)[0]
    power = sleep.controllers[0].power_down
    second_rd = times(sleep, Command.RD)[1]
    # first gap: PD [rd + 80, rd + 800 - nXP); second gap (500 CK < 800): PD from
    # second_rd + 80 to the third arrival, then nXP
    assert power.active_cycles == (SR_CK - N_XP - 80) + (20500 - (second_rd + 80))
    assert power.self_refresh_cycles == 20000 - (rd + SR_CK + N_RPAB)
    assert times(sleep, Command.RD)[2] == 20500 + N_XP  # a row hit after the PD exit


def test_refreshes_in_self_refresh_are_the_device_s_own(dram_loop: str) -> None:
    """Closed page, all-bank refresh every 3125 CK, two reads 20000 CK apart. The timer
    (1 us) expires long before the first refresh: the six due at 3125 ... 18750 are absorbed
    and none is issued; the schedule goes on at 7 x 3125."""
    sleep, _ = run([0, SAME_ROW], [0, 20000], sr_ns=1000, page_policy="closed")
    power = sleep.controllers[0].power_down
    rda = times(sleep, Command.RDA)[0]
    assert times(sleep, Command.REFAB, Command.PREA) == []
    assert power.absorbed_refreshes == 6
    assert sleep.controllers[0].refresh_due == 7 * N_REFI
    assert power.self_refresh_cycles == 20000 - (rda + SR_CK)  # no row open: SRE at the timer
    assert times(sleep, Command.ACT)[1] == 20000 + N_XSR


def test_a_refresh_does_not_restart_the_self_refresh_timer(dram_loop: str) -> None:
    """Timer 5 us (4000 CK): the refresh due at 3125 comes first and is issued, but the timer
    counts from the last request command, so self-refresh starts at RDA + 4000 and absorbs
    the five refreshes due from 6250 to 18750."""
    sleep, _ = run([0, SAME_ROW], [0, 20000], sr_ns=5000, page_policy="closed")
    power = sleep.controllers[0].power_down
    rda = times(sleep, Command.RDA)[0]
    assert times(sleep, Command.REFAB) == [N_REFI]
    assert power.absorbed_refreshes == 5
    assert power.self_refresh_cycles == 20000 - (rda + 4000)


def test_minimum_residency_delays_an_early_arrival() -> None:
    """A request arriving 5 CK after self-refresh entry waits for tSR (12 CK) before the
    exit starts: its first command at entry + nSR + nXSR."""
    entry_probe, _ = run([0], [0], sr_ns=1000, page_policy="closed", refresh="off")
    rda = times(entry_probe, Command.RDA)[0]
    entry = rda + SR_CK
    sleep, _ = run([0, SAME_ROW], [0, entry + 5], sr_ns=1000, page_policy="closed",
                   refresh="off")  # fmt: skip
    assert times(sleep, Command.ACT)[1] == entry + N_SR + N_XSR
    assert sleep.controllers[0].power_down.self_refresh_cycles == N_SR


def test_an_arrival_at_the_timer_s_expiry_finds_self_refresh(dram_loop: str) -> None:
    """The timer expires at its cycle: a first request arriving at cycle 800 (idle since 0)
    and a second arriving exactly 800 CK after the first's RDA both wake a self-refresh
    (nSR, then nXSR), not a power-down; one cycle earlier they pay only nXP."""
    first, _ = run([0], [SR_CK], sr_ns=1000, pd_ns=100, page_policy="closed", refresh="off")
    assert times(first, Command.ACT) == [SR_CK + N_SR + N_XSR]
    rda = times(first, Command.RDA)[0]
    second, _ = run([0, SAME_ROW], [SR_CK, rda + SR_CK], sr_ns=1000, pd_ns=100,
                    page_policy="closed", refresh="off")  # fmt: skip
    assert times(second, Command.ACT)[1] == rda + SR_CK + N_SR + N_XSR
    early, _ = run([0, SAME_ROW], [SR_CK, rda + SR_CK - 1], sr_ns=1000, pd_ns=100,
                   page_policy="closed", refresh="off")  # fmt: skip
    assert times(early, Command.ACT)[1] == rda + SR_CK - 1 + N_XP


def test_a_refresh_due_at_the_exit_is_issued_after_it(dram_loop: str) -> None:
    """A request arriving at 3 x tREFI, after the minimum residency: the refreshes due at
    3125 and 6250 were the device's own; the one due at 9375 (the exit's first cycle) is the
    controller's, issued once the exit allows (nXSR), before the request's ACT."""
    sleep, _ = run([0, SAME_ROW], [0, 3 * N_REFI], sr_ns=1000, page_policy="closed")
    assert sleep.controllers[0].power_down.absorbed_refreshes == 2
    assert times(sleep, Command.REFAB) == [3 * N_REFI + N_XSR]
    assert times(sleep, Command.ACT)[1] == 3 * N_REFI + N_XSR + N_RFCAB


@settings(max_examples=40, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 30000), min_size=1, max_size=10),
    rows=st.lists(st.integers(0, 3), min_size=10, max_size=10),
    writes=st.lists(st.booleans(), min_size=10, max_size=10),
    sr_ck=st.integers(1, 6000),
    pd_ck=st.sampled_from([None, 1, 40, 400]),
    refresh=st.sampled_from(["all-bank", "per-bank", "off"]),
    page=st.sampled_from(["open", "closed"]),
)
def test_no_request_lost_exit_kept_and_every_refresh_accounted(
    gaps, rows, writes, sr_ck, pd_ck, refresh, page
) -> None:
    """Every request completes after it arrives; a request that found the channel idle past
    the self-refresh timer (counted from the last column command) has no command before its
    arrival + nXSR, and no refresh issued while the device refreshed itself; every refresh
    that fell due was issued or absorbed (the schedule's due cycle counts both); residencies
    stay within the elapsed time."""
    arrival = [int(a) for a in np.cumsum(gaps)]
    n = len(arrival)
    addr = [rows[i] * (1 << 20) for i in range(n)]
    system, done = run(addr, arrival, sr_ns=sr_ck * TCK_NS,
                       pd_ns=None if pd_ck is None else pd_ck * TCK_NS, writes=writes[:n],
                       refresh=refresh, page_policy=page)  # fmt: skip
    assert all(int(d) > a for d, a in zip(done, arrival, strict=True))
    log = system.command_logs[0]
    ctrl = system.controllers[0]
    power, timing = ctrl.power_down, system.timing
    for i, a in enumerate(arrival[1:], start=1):
        before = [t for t, c, _, _ in log if t < a and c in COLUMNS]
        if not before or any(int(done[j]) > a for j in range(i)):
            continue  # not idle at a
        entry = max(before) + power.sr_idle_ck
        settle = entry + timing.nRFCab + timing.nRPab  # a refresh due before entry is done
        if a < settle:
            continue
        assert not [t for t, c, _, _ in log if settle <= t < a and c in REFRESHES]
        assert min(t for t, c, _, _ in log if t >= a) >= a + timing.nXSR
    counts = ctrl.dev.command_counts
    if refresh == "all-bank":
        accounted = counts[Command.REFAB] + power.absorbed_refreshes
        assert ctrl.refresh_due == timing.nREFI * (1 + accounted)
    elif refresh == "per-bank":
        accounted = counts[Command.REFPB] + power.absorbed_refreshes
        assert ctrl.refresh_due == timing.nREFIpb * (1 + accounted)
        assert ctrl.refresh_policy.bank == accounted % 8
    total = collect_stats(system).total
    asleep = total.power_down_cycles + total.self_refresh_cycles
    assert 0 <= asleep <= total.elapsed_cycles


def _served(trace: Trace, params: DramParams) -> tuple:
    system = DramSystem(params)
    ctrl = system.controllers[0]
    done = system.run_trace(trace).tolist()
    return done, system.stats().to_dict(), ctrl.power_down.absorbed_refreshes, ctrl.refresh_due


@pytest.mark.parametrize(
    "params",
    [
        DramParams(self_refresh_after_s=1e-6),
        DramParams(self_refresh_after_s=1e-6, power_down_after_s=50e-9, refresh="per-bank"),
        DramParams(self_refresh_after_s=300e-9, power_down_after_s=50e-9, page_policy="closed"),
        DramParams(self_refresh_after_s=20e-9, refresh="per-bank", scheduler="fcfs"),
    ],
    ids=["sr", "pd-sr-per-bank", "pd-sr-closed", "short-timer"],
)
def test_the_loops_agree_on_idle_gaps(params: DramParams) -> None:
    """Gaps from 0 to 40000 CK without a command log (idle refreshes skipped in closed form
    up to the timer): the compiled loop, the Python loop and its general path make the same
    completions, statistics, absorbed refreshes and refresh schedule."""
    trace = idle_gap_trace()
    results = each_dram_loop(lambda: _served(trace, params))
    reference = results.pop("python-general")
    assert reference[1]["total"]["self_refresh_cycles"] > 0 and reference[2] > 0
    for name, result in results.items():
        assert result == reference, name


def test_energy_term_from_the_cited_currents() -> None:
    """IDD6 / IDD2N of the LPDDR4-3200 memspec (VDD2: 0.5 / 27 mA, VDD1: 0.3 / 2.0 mA) on the
    LPDDR5X standby rails (VDD2H 32.5 mA at 1.05 V, VDD1 1.5 mA at 1.8 V); LPDDR6 per
    sub-channel, half a die."""
    expected = 32.5 * 0.5 / 27 * 1.05 + 1.5 * 0.3 / 2.0 * 1.8  # 1.037 mW
    terms = DramEnergy()
    assert terms.self_refresh_mw == pytest.approx(expected, abs=0.005)
    assert default_energy("LPDDR6_10667").self_refresh_mw == pytest.approx(
        terms.self_refresh_mw / 2
    )
    # asymmetric split: 1000 precharged cycles of which 100 powered down and 600 asleep
    energy = compute_energy(terms, activates=0, bits_read=0, bits_written=0,
                            refreshes_all_bank=0, refreshes_per_bank=0, precharged_cycles=1000,
                            active_cycles=10, tck_ns=2.0, power_down_precharged_cycles=100,
                            self_refresh_cycles=600)  # fmt: skip
    by_hand = (37.0 * 300 + 47.0 * 10 + 5.4 * 100 + 1.04 * 600) * 2.0
    assert energy.background_pj == pytest.approx(by_hand)


def test_self_refresh_saves_background_energy_on_a_sparse_trace() -> None:
    """Bursts of 64 reads every 100 us (a sensor frame): self-refresh after 1 us cuts the
    background below power-down's, which is below standby's; each costs time at the wakes."""
    frames = [(k * 80000, (np.arange(64) + 4096 * k) * 32) for k in range(5)]
    addr = np.concatenate([lines for _, lines in frames]).astype(np.uint64)
    arrival = np.concatenate([np.full(64, t) for t, _ in frames]).astype(np.int64)
    trace = Trace(addr, np.zeros(addr.size, bool), np.zeros(addr.size, np.int64), arrival)
    background = {}
    for name, params in {
        "standby": DramParams(),
        "power-down": DramParams(power_down_after_s=100e-9),
        "self-refresh": DramParams(power_down_after_s=100e-9, self_refresh_after_s=1e-6),
    }.items():
        system = DramSystem(params)
        system.run_trace(trace)
        total = collect_stats(system).total
        background[name] = total.energy.background_pj + total.energy.refresh_pj
    assert background["self-refresh"] < 0.2 * background["power-down"]
    assert background["power-down"] < 0.5 * background["standby"]


def test_energy_until_only_grows_across_a_self_refresh() -> None:
    """channel_energy_until over an idle tail (closed form, self-refresh from the timer) is
    at most what the loop counts once the next request has woken the channel."""
    system = DramSystem(DramParams(self_refresh_after_s=1e-6, power_down_after_s=100e-9))
    ctrl = system.controllers[0]
    first = Trace(np.arange(16, dtype=np.uint64) * 32, np.zeros(16, bool), np.zeros(16, np.int64),
                  np.zeros(16, np.int64))  # fmt: skip
    system.run_trace(first)
    samples = [channel_energy_until(ctrl, system, t) for t in (2000, 10000, 39999)]
    assert samples == sorted(samples)
    second = Trace(np.arange(16, dtype=np.uint64) * 32, np.zeros(16, bool),
                   np.zeros(16, np.int64), np.full(16, 40000, np.int64))  # fmt: skip
    system.run_trace(second)
    assert ctrl.power_down.self_refresh_cycles > 0
    assert channel_energy_until(ctrl, system, 39999) >= samples[-1]
    assert channel_energy_until(ctrl, system, 60000) >= channel_energy_until(ctrl, system, 39999)


def test_config_and_cli(tmp_path, capsys: pytest.CaptureFixture) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("dram:\n  self_refresh_after: 10 us\n")
    assert load_scenario(good).dram.self_refresh_after_s == pytest.approx(10e-6)
    bad = tmp_path / "bad.yaml"
    bad.write_text("dram:\n  self_refresh_after: 2 s\n")
    with pytest.raises(ConfigError, match="self_refresh_after"):
        load_scenario(bad)
    trace = tmp_path / "t.trace"
    trace.write_text("0 R 0x0\n40000 R 0x40\n")
    assert main(["dram", str(trace), "--self-refresh-after", "1 us", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["total"]["self_refresh_cycles"] > 0
    assert main(["dram", str(trace), "--self-refresh-after", "1000"]) == 2
    assert "--self-refresh-after" in capsys.readouterr().err
