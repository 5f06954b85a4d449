"""Invariants on random traces, checked by an independent replay of the command log.

The checker below re-states the LPDDR5-6400 BG-mode rules from the reference figures
(JESD209-5B via reference lpddr5.md) in its own code: pairwise minimum gaps by scope, the
four-activate window, row state, one command per CK, no overlap of bursts on the data bus,
ACT-2 within nAAD of its ACT-1 and before any column command of the bank, and (WCK sync
mode) a CAS nCAS before every column command issued once WCK stopped.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.dram import DramParams, DramSystem
from npusim.dram.device import Command

pytestmark = pytest.mark.usefixtures("dram_loop")  # every loop: tests/conftest.py

# LPDDR5-6400, 8 Gb, BG mode, BL16 (reference lpddr5.md)
NBL, NBL_L, NCL, NCWL, NRCD, NRP, NRPAB, NRAS, NRC = 2, 4, 17, 9, 15, 15, 17, 34, 49
NWR, NRTP, NPPD, NCCD_S, NCCD_L, NRRD, NFAW, NWTR_S, NWTR_L = 28, 8, 2, 2, 4, 4, 16, 5, 10
NRFCAB, NRFCPB, NREFI, NREFIPB, NPBR2PBR, NPBR2ACT = 168, 96, 3125, 391, 72, 6
RD_TO_WR, WR_TO_RD_S, WR_TO_RD_L = NCL + NBL + 2 - NCWL, NCWL + NBL + NWTR_S, NCWL + NBL_L + NWTR_L
WR_TO_PRE = NCWL + NBL + NWR
NAAD, NCAS, NWCKPST = 8, 1, 1  # reference lpddr5.md nAAD; Ramulator 2.1 preset nCAS, nWCKPST
READS, WRITES = {"RD", "RDA"}, {"WR", "WRA"}
COLUMNS = READS | WRITES
WINDOW_CK = 400
REFRESH_SLACK_CK = 100  # a due refresh waits at most for open rows to close (< 100 CK)


def _bank_gap(p: str, n: str) -> int:
    rules = {
        ("ACT", "ACT"): NRC, ("ACT", "PRE"): NRAS, ("PRE", "ACT"): NRP, ("PRE", "REFPB"): NRP,
        ("RD", "PRE"): NRTP, ("WR", "PRE"): WR_TO_PRE, ("RDA", "ACT"): NRTP + NRP,
        ("RDA", "REFPB"): NRTP + NRP, ("WRA", "ACT"): WR_TO_PRE + NRP,
        ("WRA", "REFPB"): WR_TO_PRE + NRP, ("REFPB", "ACT"): NRFCPB,
    }  # fmt: skip
    if p == "ACT" and n in COLUMNS:
        return NRCD
    return rules.get((p, n), 0)


def _group_gap(p: str, n: str) -> int:
    if (p in READS and n in READS) or (p in WRITES and n in WRITES):
        return NCCD_L
    return WR_TO_RD_L if p in WRITES and n in READS else 0


def _channel_gap(p: str, n: str) -> int:
    if (p in READS and n in READS) or (p in WRITES and n in WRITES):
        return NCCD_S
    if p in READS and n in WRITES:
        return RD_TO_WR
    if p in WRITES and n in READS:
        return WR_TO_RD_S
    rules = {
        ("ACT", "ACT"): NRRD, ("PRE", "PRE"): NPPD, ("PRE", "PREA"): NPPD,
        ("PREA", "PRE"): NPPD, ("PREA", "PREA"): NPPD, ("PREA", "ACT"): NRPAB,
        ("PREA", "REFAB"): NRPAB, ("PREA", "REFPB"): NRPAB, ("PRE", "REFAB"): NRP,
        ("RDA", "REFAB"): NRTP + NRP, ("WRA", "REFAB"): WR_TO_PRE + NRP,
        ("REFAB", "ACT"): NRFCAB, ("REFAB", "REFAB"): NRFCAB, ("REFAB", "REFPB"): NRFCAB,
        ("REFPB", "REFPB"): NPBR2PBR, ("REFPB", "ACT"): NPBR2ACT, ("REFPB", "REFAB"): NRFCPB,
    }  # fmt: skip
    return rules.get((p, n), 0)


def _banks(name: str, bank: int) -> set[int]:
    return {bank % 8, bank % 8 + 8} if name == "REFPB" else {bank}


def check_log(
    log: list[tuple[int, int, int, int]], wck_sync: bool = True, nfaw: int = NFAW
) -> None:
    """Raise AssertionError at the first command that breaks a rule."""
    open_row = [-1] * 16
    acts: list[int] = []
    bursts: list[tuple[int, int]] = []
    act1_at: dict[int, int] = {}  # banks whose ACT-2 is still due: their ACT-1 cycle
    wck_stops = 0
    for i, (t, cmd, bank, row) in enumerate(log):
        name = Command(cmd).name
        assert i == 0 or t > log[i - 1][0], f"two commands in one cycle at {t}"
        if name == "ACT2":
            assert bank in act1_at, f"ACT2 without ACT-1 on bank {bank} at {t}"
            assert t - act1_at.pop(bank) <= NAAD, f"ACT2 later than nAAD at {t}"
            continue
        if name == "CAS":
            nxt = log[i + 1]
            assert nxt[0] == t + NCAS and nxt[2] == bank, f"CAS at {t} not before its column"
            continue
        for b, since in act1_at.items():
            assert t - since <= NAAD, f"ACT2 of bank {b} missing by {t}"
        if name in COLUMNS:
            assert bank not in act1_at, f"{name} before ACT2 on bank {bank} at {t}"
            if wck_sync:
                had_cas = i > 0 and Command(log[i - 1][1]).name == "CAS"
                assert had_cas == (t >= wck_stops), f"{name} at {t}: CAS {had_cas}, WCK {wck_stops}"
            done = t + (NCL if name in READS else NCWL) + NBL + NWCKPST
            wck_stops = max(wck_stops, done)
        for tp, cp, bp, _ in reversed(log[max(0, i - WINDOW_CK) : i]):
            if t - tp >= WINDOW_CK:
                break
            pname = Command(cp).name
            need = _channel_gap(pname, name)
            if _banks(pname, bp) & _banks(name, bank):
                need = max(need, _bank_gap(pname, name))
            if bp % 4 == bank % 4 and pname in COLUMNS and name in COLUMNS:
                need = max(need, _group_gap(pname, name))
            assert t - tp >= need, f"{pname}@{tp} b{bp} -> {name}@{t} b{bank}: gap < {need}"
        if name == "ACT":
            assert open_row[bank] < 0, f"ACT to open bank {bank} at {t}"
            assert not act1_at, f"ACT-1 at {t} while an ACT-2 is pending"
            act1_at[bank] = t
            acts.append(t)
            assert len(acts) < 5 or t - acts[-5] >= nfaw, f"nFAW broken at {t}"
            open_row[bank] = row
        elif name == "PRE":
            assert open_row[bank] >= 0, f"PRE to closed bank {bank} at {t}"
            open_row[bank] = -1
        elif name == "PREA":
            open_row = [-1] * 16
        elif name in COLUMNS:
            assert open_row[bank] == row, f"{name} to bank {bank} row {row} not open at {t}"
            start = t + (NCL if name in READS else NCWL)
            bursts.append((start, start + NBL))
            if name in ("RDA", "WRA"):
                open_row[bank] = -1
        elif name == "REFAB":
            assert all(r < 0 for r in open_row), f"REFab with open banks at {t}"
        elif name == "REFPB":
            assert all(open_row[b] < 0 for b in _banks(name, bank)), f"REFpb open at {t}"
    for name, interval in (("REFAB", NREFI), ("REFPB", NREFIPB)):
        times = [t for t, c, _, _ in log if Command(c).name == name]
        for k, t in enumerate(times, start=1):
            assert t <= k * interval + REFRESH_SLACK_CK, f"{name} {k} late at {t}"
    bursts.sort()
    for (_, end), (start, _) in itertools.pairwise(bursts):
        assert start >= end, f"data bursts overlap at {start}"


requests = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 1023), st.booleans()), min_size=1, max_size=120
)
configs = st.fixed_dictionaries(
    {
        "scheduler": st.sampled_from(["frfcfs", "frfcfs-rowhit", "fcfs"]),
        "queue_release": st.sampled_from(["activation", "column"]),
        "wck_sync": st.sampled_from(["need-sync", "always-on"]),
        "page_policy": st.sampled_from(["open", "closed"]),
        "refresh": st.sampled_from(["all-bank", "per-bank", "off"]),
        "mapping": st.sampled_from(["RoBaCoBgCh", "RoCoBaBgCh", "BgRoBaCoCh"]),
        "bank_hash": st.booleans(),
        "read_queue_depth": st.integers(1, 8),
        "write_queue_depth": st.integers(1, 8),
    }
)


def _run(config: dict, reqs: list, gaps: list[int]) -> tuple[DramSystem, list[np.ndarray]]:
    system = DramSystem(DramParams(**config), log_commands=True)
    addr = np.array([row * (1 << 15) + burst * 32 for row, burst, _ in reqs], dtype=np.uint64)
    writes = np.array([w for _, _, w in reqs], dtype=bool)
    done, t, chunk = [], 0, max(1, len(reqs) // max(1, len(gaps)))
    for k, gap in enumerate(gaps):
        t += gap
        sl = slice(k * chunk, len(reqs) if k == len(gaps) - 1 else (k + 1) * chunk)
        if addr[sl].size:
            done.append(system.serve(addr[sl], writes[sl], t))
            fastest = np.where(writes[sl], NCWL + NBL, NCL + NBL)  # a row hit, served at once
            assert np.all(done[-1] >= t + fastest)
    return system, done


@settings(max_examples=60, deadline=None)
@given(configs, requests, st.lists(st.integers(0, 6000), min_size=1, max_size=4))
def test_random_traces_obey_every_rule(config: dict, reqs: list, gaps: list[int]) -> None:
    system, done = _run(config, reqs, gaps)
    completion = np.concatenate(done)
    stats = system.stats()
    log = system.command_logs[0]
    check_log(log, wck_sync=config["wck_sync"] == "need-sync")
    columns = sum(1 for _, c, _, _ in log if Command(c).name in COLUMNS)
    assert completion.shape == (len(reqs),) and columns == len(reqs)  # each exactly once
    assert stats.total.bytes_read + stats.total.bytes_written == stats.bytes_requested
    assert stats.bytes_requested == 32 * len(reqs)
    assert stats.total.achieved_gbps <= stats.total.peak_gbps
    assert stats.total.row_hits + stats.total.row_misses + stats.total.row_conflicts == len(reqs)
    again, done_again = _run(config, reqs, gaps)
    assert np.array_equal(np.concatenate(done_again), completion)
    assert again.stats() == stats


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(0, (1 << 25) - 1), min_size=1, max_size=200))
def test_refresh_keeps_its_rate_and_multi_channel_conserves_bytes(blocks: list[int]) -> None:
    addrs = np.array(blocks, dtype=np.uint64) * 64  # 64 B requests over 2 x 8 Gb
    system = DramSystem(DramParams(channels=2), log_commands=True)
    system.serve(addrs, False, 0, size_bytes=64)
    system.serve(addrs[:1], False, 20 * NREFI, size_bytes=64)
    stats = system.stats()
    assert stats.bytes_requested == 64 * (len(blocks) + 1)
    assert stats.total.bytes_read == stats.bytes_requested
    for log in system.command_logs:
        check_log(log)
        last = log[-1][0]
        refreshes = sum(1 for _, c, _, _ in log if c == Command.REFAB)
        assert refreshes >= last // NREFI - 1


@pytest.mark.parametrize(
    ("params", "message"),
    [
        # told nRCD is 14, it issues RD one cycle before the reference's nRCD = 15
        ({"timing": {"nRCD": 14}, "wck_sync": "always-on"}, "gap < 15"),
        # told WCK's postamble lasts 40 CK, it skips CAS after a 39-CK idle gap
        ({"timing": {"nWCKPST": 40}}, "CAS False"),
    ],
)
def test_checker_catches_a_controller_that_breaks_a_rule(params: dict, message: str) -> None:
    system = DramSystem(DramParams(**params), log_commands=True)
    # bank 0: a row hit 60 CK after the first read, then bank 1 (group 1) with a ready RD
    system.serve(np.array([0], dtype=np.uint64), False, 0)
    system.serve(np.array([128], dtype=np.uint64), False, 60)
    system.serve(np.array([32, 160], dtype=np.uint64), False, 200)
    with pytest.raises(AssertionError, match=message):
        check_log(system.command_logs[0], wck_sync=params.get("wck_sync") != "always-on")


def _activation_storm(nfaw: int) -> DramSystem:
    """Closed-page reads to rows all over 32 MiB: every request activates, so ACTs queue up
    behind the four-activate window."""
    rng = np.random.default_rng(11)
    addrs = (rng.integers(0, 1 << 20, 400, dtype=np.int64) * 32).astype(np.uint64)
    params = DramParams(page_policy="closed", refresh="off", timing={"nFAW": nfaw})
    system = DramSystem(params, log_commands=True)
    system.serve(addrs, False, 0)
    return system


@settings(max_examples=25, deadline=None)
@given(configs, requests, st.lists(st.integers(0, 6000), min_size=1, max_size=4),
       st.integers(4 * NRRD + 1, 80))  # fmt: skip
def test_a_four_activate_window_wider_than_four_nrrd_holds(
    config: dict, reqs: list, gaps: list[int], nfaw: int
) -> None:
    """With nFAW > 4 x nRRD (no preset has it) the window, not nRRD, spaces the 5th ACT."""
    system, _ = _run({**config, "timing": {"nFAW": nfaw}}, reqs, gaps)
    check_log(system.command_logs[0], wck_sync=config["wck_sync"] == "need-sync", nfaw=nfaw)


def test_the_window_binds_in_an_activation_storm_and_the_checker_sees_one_cycle() -> None:
    log = _activation_storm(40).command_logs[0]
    check_log(log, nfaw=40)
    acts = [t for t, c, _, _ in log if c == Command.ACT]
    # the window is what spaces them: some 5th ACT comes exactly nFAW after the 1st
    assert any(b - a == 40 for a, b in zip(acts, acts[4:], strict=False))
    with pytest.raises(AssertionError, match="nFAW broken"):
        check_log(_activation_storm(39).command_logs[0], nfaw=40)
