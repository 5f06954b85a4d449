"""LPDDR6-10667 (JESD209-6 as carried by Ramulator 2.1): table, peak, latency, conformance.

Expected numbers are typed here from Ramulator 2.1's ``LPDDR6_10667_BL24`` preset and the
formulas of its ``resolve_secondary_timings`` (CMU-SAFARI/ramulator2 c5b1c3a,
``python/ramulator/dram/lpddr6.py``), in CK of 375 ps, and halved by hand into npusim's
LPDDR6 cycle, the command slot of two CK (750 ps): commands start on even CK only, so n CK
between two commands are ceil(n / 2) slots.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main
from npusim.config import load_scenario
from npusim.dram import DramParams, DramSystem, check_params
from npusim.dram.controller import ChannelController
from npusim.dram.device import TIMING_CONSTRAINTS, Command, Device, constraint_latency
from npusim.dram.energy import DramEnergy, default_energy
from npusim.dram.kernel import KERNEL_AVAILABLE
from npusim.dram.standard import (
    BANK_ARCHS,
    DENSITIES,
    PRESETS,
    STANDARDS,
    peak_bandwidth_bytes_per_s,
    peak_bus_bandwidth_bytes_per_s,
    resolve_timing,
)

PRESET = "LPDDR6_10667"
TCK_PS = 375  # Ramulator 2.1: tCK_ps
SLOT_NS = 2 * TCK_PS / 1000
RATE_MTS = 10667
# Ramulator 2.1 LPDDR6_10667_BL24, CK
N_BL_MIN, N_BL_MAX, N_RL, N_WL, N_RCDR, N_RCDW = 6, 12, 56, 26, 48, 22
N_WTP, N_RTP, N_PPD, N_CCDS, N_CCDL, N_RRD, N_FAW = 32, 14, 4, 6, 10, 10, 40
N_WTRS, N_WTRL, N_CAS, N_AAD = 17, 32, 2, 8
N_ACU = math.ceil(22_000 / TCK_PS)  # tACU 22 ns
N_RAS = max(math.ceil(20_000 / TCK_PS), 4)
N_RP = N_ACU + max(math.ceil(18_000 / TCK_PS), 4)
N_RPAB = N_ACU + max(math.ceil(21_000 / TCK_PS), 4)
N_RC = N_RAS + N_RPAB
N_RTW_S = N_RL + N_BL_MIN + (5 + 0 - 27 - 0 + 1)  # nWCK2DQO + nRPST - nODTLon - nODTon_min + 1
N_RTW_L = N_RL + N_BL_MAX + (5 + 0 - 27 - 0 + 1)  # same bank group: BL/n_max (Table 389)
N_RFC = {"8Gb": math.ceil(280_000 / TCK_PS), "16Gb": math.ceil(380_000 / TCK_PS)}
N_REFI = math.ceil(3_906_000 / TCK_PS)


def slots(ck: int) -> int:
    return -(-ck // 2)


# Every latency of npusim's constraint table, as Ramulator 2.1 writes it for LPDDR6 (CK)
RAMULATOR_CK = {
    "nRC": N_RC,
    "nRCD": N_RCDR,
    "rcd_write": N_RCDW,
    "nRAS": N_RAS,
    "nRP": N_RP,
    "nRTP": N_RTP,
    "wr_to_pre": N_WL + N_BL_MAX + N_WTP,
    "nRTP + nRP": N_RTP + N_RP,
    "wr_to_pre + nRP": N_WL + N_BL_MAX + N_WTP + N_RP,
    "1": 2,  # ACT-1 -> ACT-2: the next command slot
    "nCAS": N_CAS,
    "nCCD_L": N_CCDL,
    "wr_to_rd_l": N_WL + N_BL_MAX + N_WTRL,
    "nCCD_S": N_CCDS,
    "rd_to_wr": N_RTW_S,
    "rd_to_wr_l": N_RTW_L,
    "wr_to_rd_s": N_WL + N_BL_MIN + N_WTRS,
    "nRRD": N_RRD,
    "nPPD": N_PPD,
    "nRPab": N_RPAB,
    "nRFCab": N_RFC["16Gb"],
}
PER_BANK_REFRESH = {"nRFCpb", "nPBR2PBR", "nPBR2ACT"}  # LPDDR6 refuses refresh: per-bank


def params(**kw: object) -> DramParams:
    base: dict[str, object] = {"preset": PRESET, "burst_length": 24, "density": "16Gb"}
    return DramParams(**(base | kw))


TIMING = resolve_timing(PRESET, "16Gb", "BG", 24)


def test_ramulator_figures_typed_here_are_its_resolved_ones() -> None:
    # Ramulator 2.1's own test (tests/controller_scheduling/test_lpddr6_bl24.py) pins these
    assert (N_RTW_S, N_RTW_L, N_RFC["16Gb"]) == (41, 47, 1014)
    assert (N_ACU, N_RAS, N_RP, N_RPAB, N_RC) == (59, 54, 107, 115, 169)


@pytest.mark.parametrize("latency", sorted({c.latency for c in TIMING_CONSTRAINTS}))
def test_every_constraint_is_its_ck_latency_in_command_slots(latency: str) -> None:
    constraint = next(c for c in TIMING_CONSTRAINTS if c.latency == latency)
    if latency in PER_BANK_REFRESH:
        assert constraint_latency(constraint, TIMING) == TIMING.nRFCab  # unused, never short
        return
    assert constraint_latency(constraint, TIMING) == slots(RAMULATOR_CK[latency])


def test_data_and_refresh_timings() -> None:
    assert TIMING.nCL + TIMING.nBL == (N_RL + N_BL_MIN) // 2  # read data end: exact, 31
    assert TIMING.nCWL + TIMING.nBL == (N_WL + N_BL_MIN) // 2
    assert TIMING.nAAD == N_AAD // 2
    assert (TIMING.nREFI, TIMING.nRFCab) == (slots(N_REFI), slots(N_RFC["16Gb"]))
    assert resolve_timing(PRESET, "8Gb", "BG", 24).nRFCab == slots(N_RFC["8Gb"])
    assert TIMING.nFAW == N_FAW // 2 and TIMING.nBL_L == N_BL_MAX // 2
    assert PRESETS[PRESET].tck_ps == 2 * TCK_PS


def test_organization_matches_the_registries_the_system_reads() -> None:
    # DramSystem and the engine read BANK_ARCHS / DENSITIES by name: LPDDR6's must agree
    lpddr6 = STANDARDS["LPDDR6"]
    for name, arch in lpddr6.bank_archs.items():
        flat = BANK_ARCHS[name]
        assert (arch.bank_groups, arch.banks_per_group, arch.page_bytes) == (
            flat.bank_groups, flat.banks_per_group, flat.page_bytes)  # fmt: skip
    for name, dens in lpddr6.densities.items():
        assert (dens.capacity_bytes, dens.rows_per_bank) == (
            DENSITIES[name].capacity_bytes, DENSITIES[name].rows_per_bank)  # fmt: skip
    # Ramulator 2.1 LPDDR6_16Gb_x12: 4 x 4 banks, 2^16 rows, 2^10 columns of 16 payload bits
    assert lpddr6.densities["16Gb"].capacity_bytes * 8 == 16 * 2**16 * 2**10 * 16


def test_peak_bandwidth_is_the_bursts_timing_sum() -> None:
    payload = RATE_MTS * 1e6 * 12 / 8 * 32 / 36  # 14.22 GB/s per sub-channel
    assert peak_bandwidth_bytes_per_s(PRESET, 8) == pytest.approx(8 * payload, rel=1e-12)
    assert peak_bus_bandwidth_bytes_per_s(PRESET) == pytest.approx(RATE_MTS * 1.5e6, rel=1e-12)
    # one 32 B payload per nBL_min = 6 CK: 32 B / 2.25 ns; 10667 is the nominal rate of
    # 4 beats per 375 ps (10666.7 MT/s), hence 3e-5 apart
    by_timing = 32 / (N_BL_MIN * TCK_PS * 1e-12)
    assert 32 / (TIMING.nBL * SLOT_NS * 1e-9) == pytest.approx(by_timing, rel=1e-12)
    assert payload == pytest.approx(by_timing, rel=4e-5)
    system = DramSystem(params(channels=8))
    assert system.peak_bytes_per_s == pytest.approx(8 * payload, rel=1e-12)
    assert system.burst_bytes == 32


STREAM_BURSTS = 40_000


def _stream(**kw: object) -> tuple[DramSystem, int]:
    system = DramSystem(params(**kw))
    done = system.serve(np.arange(STREAM_BURSTS, dtype=np.uint64) * 32, False, 0)
    return system, int(done.max())


@pytest.mark.usefixtures("dram_loop")
def test_streaming_reaches_peak_less_refresh() -> None:
    by_timing_gbps = 32 / (N_BL_MIN * TCK_PS * 1e-3)
    system, _ = _stream(refresh="off")
    off = system.stats().total.achieved_gbps
    # 40k bursts: the first access's latency is 56 of 120k slots (5e-4)
    assert off == pytest.approx(by_timing_gbps, rel=1e-3)
    assert off <= by_timing_gbps
    system, elapsed = _stream(refresh="all-bank")
    refreshes = system.stats().total.command_counts["REFAB"]
    assert refreshes == elapsed // slots(N_REFI)
    # each REFab stops the stream for nRFCab, the last RD to PREA (nRTP), PREA (nRPab) and
    # the reopening ACT (nRCD): 596 slots, 11.4 % of nREFI
    blocked = slots(N_RFC["16Gb"]) + slots(N_RTP) + slots(N_RPAB) + slots(N_RCDR)
    first = slots(N_RCDR + N_CAS + N_RL + N_BL_MIN)
    expected = STREAM_BURSTS * slots(N_BL_MIN) + refreshes * blocked + first
    assert elapsed == pytest.approx(expected, rel=3e-4)


@pytest.mark.usefixtures("dram_loop")
@pytest.mark.parametrize(
    ("first", "second", "is_write", "expected_ck"),
    [
        (None, 0, False, N_RCDR + N_CAS + N_RL + N_BL_MIN),  # closed bank: 112 CK, 42 ns
        (0, 4 * 32, False, N_CAS + N_RL + N_BL_MIN),  # row hit
        (0, 1 << 15, False, N_RP + 1 + N_RCDR + N_CAS + N_RL + N_BL_MIN),  # conflict
        (0, 4 * 32, True, N_CAS + N_WL + N_BL_MIN),  # write row hit
        (None, 0, True, N_RCDW + N_CAS + N_WL + N_BL_MIN),  # write to a closed bank: tRCDw
    ],
)
def test_idle_latency_equals_timing_sums(
    first: int | None, second: int, is_write: bool, expected_ck: int
) -> None:
    # (the conflict's PRE ends on an odd CK, 107: the ACT waits for the next even one)
    system = DramSystem(params())
    if first is not None:
        system.serve(np.array([first], dtype=np.uint64), False, 0)
    arrival = 1000  # slots: after the first access, before the first refresh (5208)
    done = system.serve(np.array([second], dtype=np.uint64), is_write, arrival)
    assert int(done[0]) - arrival == expected_ck // 2
    if first is None:  # closed bank: 42 ns for a read, 21 ns for a write (tRCDw)
        assert (int(done[0]) - arrival) * SLOT_NS == pytest.approx(21.0 if is_write else 42.0)


@pytest.mark.usefixtures("dram_loop")
def test_a_trace_runs_through_npusim_dram(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    trace = tmp_path / "stream.trace"
    trace.write_text("".join(f"LD {hex(32 * i)}\n" for i in range(2000)))
    args = ["dram", str(trace), "--preset", PRESET, "--burst-length", "24", "--density", "16Gb",
            "--refresh", "off", "--json"]  # fmt: skip
    assert main(args) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["peak_gbps"] == pytest.approx(RATE_MTS * 1.5 * 32 / 36 / 1000)
    assert total["bytes_read"] == 2000 * 32
    # the first read ends at the closed-bank latency, each next one nBL_min later; bank-group
    # interleaving hides every activation
    last_end = slots(N_RCDR + N_CAS + N_RL + N_BL_MIN) + 1999 * slots(N_BL_MIN)
    assert total["elapsed_cycles"] - last_end in (0, 1)
    assert total["elapsed_ns"] == pytest.approx(total["elapsed_cycles"] * SLOT_NS)
    assert total["achieved_gbps"] == pytest.approx(2000 * 32 / total["elapsed_ns"])


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"page_policy": "closed", "wck_sync": "always-on"},
        {"scheduler": "frfcfs", "queue_release": "column"},
    ],
)
def test_every_loop_makes_the_same_decisions(config: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # LPDDR6's odd slot counts (nBL 3, nCCD_L 5, nRP 54) through the compiled loop, the
    # Python one and the Python one without its streaming path: mixed, random and strided
    rng = np.random.default_rng(6)
    batches = [
        (rng.integers(0, 1 << 22, 500).astype(np.uint64) * 64, rng.random(500) < 0.4, 0),
        (np.arange(800, dtype=np.uint64) * 32, np.zeros(800, dtype=bool), 3000),
        (np.arange(300, dtype=np.uint64) * 2048, rng.random(300) < 0.5, 9000),
    ]
    loops = [(False, False), (False, True)] + ([(True, True)] if KERNEL_AVAILABLE else [])
    results = []
    for use_kernel, stream in loops:
        monkeypatch.setattr(ChannelController, "use_kernel", use_kernel)
        monkeypatch.setattr(ChannelController, "stream_fast_path", stream)
        system = DramSystem(params(channels=2, **config))
        done = [system.serve(addr, writes, t).tolist() for addr, writes, t in batches]
        results.append((done, system.stats().total.command_counts))
    assert all(result == results[0] for result in results[1:])


# --- conformance, generated from the constraint table as for LPDDR5 ------------------------

CONF_TIMING = resolve_timing(PRESET, "16Gb", "BG", 24, {"nFAW": 24})  # 4 x nRRD is 20
T0 = 4000
TARGET_BANK = {"bank": 0, "group": 4, "channel": 1}
STATE_FORBIDDEN = {("PREA", "PRE")}


def _cases() -> list[tuple[str, str, str, str]]:
    return [
        (prev, nxt, c.scope, c.latency)
        for c in TIMING_CONSTRAINTS
        for prev in c.preceding
        for nxt in c.following
        if (prev, nxt) not in STATE_FORBIDDEN
    ]


def _open(dev: Device, bank: int, t: int) -> int:
    t = max(t, dev.earliest(Command.ACT, bank))
    dev.issue(Command.ACT, bank, 0, t)
    return t + 1


@pytest.mark.parametrize(("prev", "nxt", "scope", "latency"), _cases())
def test_constraint_refuses_one_cycle_early_and_accepts_on_time(
    prev: str, nxt: str, scope: str, latency: str
) -> None:
    p, n = Command[prev], Command[nxt]
    target = TARGET_BANK[scope]
    dev = Device(CONF_TIMING, banks=16, bank_groups=4)
    t = 0
    if p in (Command.PRE, Command.PREA, Command.CAS, Command.RD, Command.WR, Command.RDA,
             Command.WRA):  # fmt: skip
        t = _open(dev, 0, t)
    if n in (Command.PRE, Command.RD, Command.WR, Command.RDA, Command.WRA) and target != 0:
        t = _open(dev, target, t)
    dev.issue(p, 0, 0, max(T0, dev.earliest(p, 0)))
    if n == Command.ACT and dev.open_row[target] >= 0:
        dev.issue(Command.PRE, target, 0, dev.earliest(Command.PRE, target))
    constraint = next(c for c in TIMING_CONSTRAINTS if c.latency == latency)
    due = T0 + constraint_latency(constraint, CONF_TIMING)
    assert dev.legal(n, target, 0)
    assert not dev.can_issue(n, target, 0, due - 1)
    assert dev.can_issue(n, target, 0, due)


# --- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ({"burst_length": 16}, "burst_length",
         "expected one of 24 for bank_arch BG of LPDDR6 (preset LPDDR6_10667), found 16"),
        ({"bank_arch": "8B"}, "bank_arch",
         "expected one of BG for LPDDR6 (preset LPDDR6_10667), found 8B"),
        ({"refresh": "per-bank"}, "refresh",
         "expected one of all-bank, off for LPDDR6 (preset LPDDR6_10667), found per-bank"),
        ({"io_energy": "data"}, "io_energy",
         "expected flat for LPDDR6 (preset LPDDR6_10667): data-driven I/O energy models 16 DQ "
         "lines, LPDDR6 has 12"),
    ],
)  # fmt: skip
def test_what_lpddr6_does_not_offer_is_refused(change: dict, key: str, message: str) -> None:
    assert check_params(params(**change)) == [(key, message)]


def test_lpddr5_refuses_bl24() -> None:
    problems = check_params(DramParams(burst_length=24))
    assert problems == [("burst_length", "expected one of 16, 32 for bank_arch BG of LPDDR5 "
                                         "(preset LPDDR5_6400), found 24")]  # fmt: skip


def test_the_phone_scenarios_load_to_their_peaks() -> None:
    hw = Path(__file__).resolve().parents[1] / "hw_configs"
    lpddr6 = load_scenario(hw / "mobile_npu_lpddr6.yaml").dram
    assert (lpddr6.preset, lpddr6.burst_length, lpddr6.channels) == (PRESET, 24, 8)
    assert peak_bandwidth_bytes_per_s(lpddr6.preset, lpddr6.channels) == pytest.approx(
        8 * RATE_MTS * 1e6 * 1.5 * 32 / 36)  # fmt: skip
    lpddr5x = load_scenario(hw / "mobile_npu_lpddr5x.yaml").dram
    assert (lpddr5x.preset, lpddr5x.channels) == ("LPDDR5X_8533", 4)
    assert peak_bandwidth_bytes_per_s(lpddr5x.preset, 4) == pytest.approx(4 * 8533e6 * 2)


# --- energy -------------------------------------------------------------------------------


def test_energy_is_lpddr5x_scaled_as_documented_and_overridable() -> None:
    lpddr5x = DramEnergy()
    terms = default_energy(PRESET)
    assert terms.io_pj_per_bit == pytest.approx(0.5 * 36 / 32)  # wire bits per payload bit
    assert terms.background_precharged_mw == pytest.approx(37 / 2)  # a die, two sub-channels
    assert terms.background_active_mw == pytest.approx(47 / 2)
    same = ("act_pre_pj", "read_pj_per_bit", "write_pj_per_bit", "refresh_ab_pj")
    assert all(getattr(terms, t) == getattr(lpddr5x, t) for t in same)
    assert default_energy("LPDDR5X_8533") == lpddr5x
    assert DramSystem(params()).energy == terms
    assert DramSystem(params(energy={"io_pj_per_bit": 0.4})).energy.io_pj_per_bit == 0.4


@pytest.mark.usefixtures("dram_loop")
def test_one_closed_bank_read_costs_its_hand_sum() -> None:
    system = DramSystem(params(refresh="off"))
    done = int(system.serve(np.array([0], dtype=np.uint64), False, 0)[0])
    energy = system.stats().total.energy
    assert energy.act_pre_pj == pytest.approx(1100.0)
    assert energy.read_pj == pytest.approx(3.3 * 256)
    assert energy.io_pj == pytest.approx(0.5625 * 256)
    # bank open from the ACT (cycle 0) to the end: active background over ``done`` slots
    assert energy.background_pj == pytest.approx(23.5 * done * SLOT_NS)


def test_the_trace_runner_takes_the_preset_s_burst_and_names_its_cycle(
    tmp_path, capsys: pytest.CaptureFixture
) -> None:
    """`npusim dram --preset LPDDR6_10667` without --burst-length runs BL24 (the only LPDDR6
    burst) and counts time in two-CK command slots; LPDDR5 keeps BL16 and CK."""
    trace = tmp_path / "t.trace"
    trace.write_text("LD 0x0\nLD 0x80\n")
    assert main(["dram", str(trace), "--preset", "LPDDR6_10667", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["burst_length"] == 24
    assert main(["dram", str(trace), "--preset", "LPDDR6_10667"]) == 0
    elapsed = next(line for line in capsys.readouterr().out.splitlines() if "elapsed" in line)
    slots, ns = int(elapsed.split()[1]), float(elapsed.split("=")[1].split()[0])
    assert "slots (2 CK)" in elapsed and ns == pytest.approx(slots * 0.75, abs=0.05)  # 2 x 375 ps
    assert main(["dram", str(trace), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["burst_length"] == 16
    assert main(["dram", str(trace)]) == 0
    assert " CK = " in capsys.readouterr().out


def test_a_write_s_own_trcd_and_the_same_group_read_to_write() -> None:
    """By hand on one sub-channel (bank b is in group b % 4): after a RD on bank 0, a WR on
    bank 4 (same group) waits tRTW_L = 47 CK, on bank 1 tRTW_S = 41 CK; after an ACT, WR
    waits tRCDw = 22 CK and RD tRCDr = 48 CK (in slots, rounded up)."""
    dev = Device(TIMING, banks=16, bank_groups=4)
    dev.issue(int(Command.RD), 0, 0, 100)
    assert dev.earliest(Command.WR, 4) == 100 + slots(N_RTW_L) == 124
    assert dev.earliest(Command.WR, 1) == 100 + slots(N_RTW_S) == 121
    dev.issue(int(Command.ACT), 2, 7, 300)
    assert dev.earliest(Command.WR, 2) == 300 + slots(N_RCDW) == 311
    assert dev.earliest(Command.RD, 2) == 300 + slots(N_RCDR) == 324
