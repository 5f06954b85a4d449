"""Behaviour of one x16 LPDDR5-6400 channel against figures of reference lpddr5.md.

Copied figures (JESD209-5B via reference lpddr5.md): peak 12.8 GB/s per x16 channel
(6400 MT/s x 2 B); tCK 1.25 ns; nCL 17, nCWL 9, nBL 2, nRCD 15, nRP 15, nRAS 34, nRC 49,
nFAW 16, nRFCab 168 (8 Gb), nREFI 3125 CK.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from npusim.dram import DramParams, DramSystem

pytestmark = pytest.mark.usefixtures("dram_loop")  # every loop: tests/conftest.py

PEAK_GBPS = 12.8
TCK_NS = 1.25
N_CL, N_CWL, N_BL, N_RCD, N_RP, N_RC, N_FAW = 17, 9, 2, 15, 15, 49, 16
N_CCD_L = 4  # BG mode, BL16: 2 x nBL within a bank group
N_CAS = 1  # CAS (WCK2CK sync) to RD/WR, JESD209-5B (Ramulator 2.1's preset: next CK)
N_RFCAB, N_REFI = 168, 3125
BURST_BYTES = 32
STREAM_BURSTS = 40_000
ROW_STRIDE_BYTES = 1 << 15  # default RoBaCoBgCh: 5 burst + 2 Bg + 6 Co + 2 Ba bits below Ro


def _stream_gbps(**params: object) -> float:
    system = DramSystem(DramParams(**params))
    system.serve(np.arange(STREAM_BURSTS, dtype=np.uint64) * BURST_BYTES, False, 0)
    return system.stats().total.achieved_gbps


@pytest.fixture(scope="module")
def stream_gbps() -> float:
    return _stream_gbps()


@pytest.fixture(scope="module")
def random_addresses() -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, (1 << 30) // BURST_BYTES, 20_000).astype(np.uint64) * BURST_BYTES


def test_default_mapping_streams_at_peak_less_refresh(stream_gbps: float) -> None:
    # Bank groups interleave below the columns, so bursts go out every nBL: the bus is busy
    # but for refresh (a hard ceiling: nRFCab of every nREFI; the full share in
    # _refresh_share adds closing and reopening the rows around each REFab)
    assert stream_gbps <= PEAK_GBPS * (1 - N_RFCAB / N_REFI)
    share = _refresh_share(N_RFCAB, 8, 17, N_RCD, N_REFI)
    assert stream_gbps == pytest.approx(PEAK_GBPS * (1 - share), rel=0.002)


def test_one_bank_group_mapping_gets_half_of_peak_less_refresh() -> None:
    # Bg above Ro: a whole quarter of memory in one bank group, bursts nCCD_L = 2 x nBL apart
    share = _refresh_share(N_RFCAB, 8, 17, N_RCD, N_REFI)
    assert _stream_gbps(mapping="BgRoBaCoCh") == pytest.approx(
        N_BL / N_CCD_L * PEAK_GBPS * (1 - share), rel=0.002
    )


def test_row_stride_in_one_bank_approaches_the_nrc_limit() -> None:
    system = DramSystem(DramParams())
    system.serve(np.arange(2000, dtype=np.uint64) * ROW_STRIDE_BYTES, False, 0)
    stats = system.stats().total
    nrc_limit_gbps = BURST_BYTES / (N_RC * TCK_NS)
    assert stats.row_hits == 0
    assert stats.row_misses <= stats.command_counts["REFAB"] + 1  # reopened after a refresh
    assert 0.9 * nrc_limit_gbps <= stats.achieved_gbps <= nrc_limit_gbps


def test_random_reads_land_far_below_streaming(
    stream_gbps: float, random_addresses: np.ndarray
) -> None:
    system = DramSystem(DramParams())
    system.serve(random_addresses, False, 0)
    random_gbps = system.stats().total.achieved_gbps
    faw_limit_gbps = 4 * BURST_BYTES / (N_FAW * TCK_NS)  # every random read needs an ACT
    assert random_gbps <= faw_limit_gbps
    assert random_gbps <= 0.55 * stream_gbps


def test_open_page_wins_streaming_closed_page_wins_or_ties_random(
    stream_gbps: float, random_addresses: np.ndarray
) -> None:
    assert stream_gbps > 2 * _stream_gbps(page_policy="closed")
    results = {}
    for policy in ("open", "closed"):
        system = DramSystem(DramParams(page_policy=policy))
        system.serve(random_addresses, False, 0)
        results[policy] = system.stats().total.achieved_gbps
    assert results["closed"] >= 0.99 * results["open"]


def _refresh_share(n_rfcab: int, n_rtp: int, n_rpab: int, n_rcd: int, n_refi: int) -> float:
    # each REFab stops the stream for nRFCab, plus closing the rows (last RD to PREA: nRTP,
    # PREA to REFab: nRPab) and reopening them (ACT to RD: nRCD)
    return (n_rfcab + n_rtp + n_rpab + n_rcd) / n_refi


def test_refresh_off_raises_streaming_by_about_nrfc_over_nrefi(stream_gbps: float) -> None:
    off = _stream_gbps(refresh="off")
    assert off == pytest.approx(PEAK_GBPS, rel=0.01)
    loss = 1 - stream_gbps / off
    assert loss > N_RFCAB / N_REFI  # 5.4 %
    assert loss == pytest.approx(_refresh_share(N_RFCAB, 8, 17, N_RCD, N_REFI), abs=0.003)


def test_per_bank_refresh_costs_less_than_all_bank(stream_gbps: float) -> None:
    assert _stream_gbps(refresh="per-bank") > stream_gbps


@pytest.mark.parametrize(
    ("first", "second", "is_write", "expected_ck"),
    [
        # after an idle gap WCK has stopped: each access starts its column command with a CAS
        (None, 0, False, N_RCD + N_CAS + N_CL + N_BL),  # closed-bank miss
        (0, 4 * BURST_BYTES, False, N_CAS + N_CL + N_BL),  # row hit (next column, same bank)
        (0, ROW_STRIDE_BYTES, False, N_RP + N_RCD + N_CAS + N_CL + N_BL),  # row conflict
        (0, 4 * BURST_BYTES, True, N_CAS + N_CWL + N_BL),  # write row hit
    ],
)
def test_idle_latency_equals_timing_sums(
    first: int | None, second: int, is_write: bool, expected_ck: int
) -> None:
    system = DramSystem(DramParams())
    if first is not None:
        system.serve(np.array([first], dtype=np.uint64), False, 0)
    arrival = 1000  # long after the first access settled, before the first refresh (3125)
    done = system.serve(np.array([second], dtype=np.uint64), is_write, arrival)
    assert int(done[0]) - arrival == expected_ck


def test_four_channels_reach_four_times_the_bandwidth() -> None:
    system = DramSystem(DramParams(channels=4, refresh="off"))
    system.serve(np.arange(4 * STREAM_BURSTS, dtype=np.uint64) * BURST_BYTES, False, 0)
    total = system.stats().total
    assert total.peak_gbps == pytest.approx(51.2)
    # each channel streams its 40,000 bursts back to back (nBL apart) after the first read's
    # latency from a closed bank (ACT, CAS, RL, burst)
    stream_ck = STREAM_BURSTS * N_BL
    first_read_ck = N_RCD + N_CAS + N_CL + N_BL
    assert total.achieved_gbps == pytest.approx(
        51.2 * stream_ck / (stream_ck + first_read_ck), rel=1e-4
    )


def _mixed(seed: int, n: int = 6000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    addr = rng.integers(0, 4, n) * ROW_STRIDE_BYTES + rng.integers(0, 1024, n) * BURST_BYTES
    return addr.astype(np.uint64), rng.random(n) < 0.3


def test_frfcfs_finds_more_row_hits_than_fcfs() -> None:
    addr, writes = _mixed(1)
    hits, acts = {}, {}
    for scheduler in ("frfcfs", "frfcfs-rowhit", "fcfs"):
        system = DramSystem(DramParams(scheduler=scheduler))
        system.serve(addr, writes, 0)
        hits[scheduler] = system.stats().total.row_hits
        acts[scheduler] = system.stats().total.command_counts["ACT"]
    assert hits["frfcfs-rowhit"] > 1.5 * hits["fcfs"]
    assert hits["frfcfs"] > 1.3 * hits["fcfs"]
    # Regression pins (measured 2091 / 1954 hits, 3810 / 3988 ACTs): protecting open rows
    # from younger requests' PREs keeps more hits and saves activations.
    assert hits["frfcfs-rowhit"] > hits["frfcfs"]
    assert acts["frfcfs-rowhit"] < 0.97 * acts["frfcfs"]


def test_writes_are_drained_in_batches_between_the_watermarks() -> None:
    addr, writes = _mixed(2)
    system = DramSystem(DramParams(), log_commands=True)
    system.serve(addr, writes, 0)
    columns = [c for _, c, _, _ in system.command_logs[0] if c in (3, 4)]  # RD, WR
    switches = sum(1 for a, b in itertools.pairwise(columns) if a != b)
    drains = system.controllers[0].write_drains
    # each drain serves (0.8 - 0.2) x 32 writes or more, except the last
    assert drains <= int(writes.sum()) / ((0.8 - 0.2) * 32) + 1
    # A drain and the read phase after it switch twice; reads activated before a drain (in
    # their active slots) may still issue inside it and add switches. Regression pin:
    # measured 225 switches over 90 drains.
    assert 2 * drains - 1 <= switches <= 2.6 * drains
    assert system.stats().total.bytes_written == 32 * int(writes.sum())


@pytest.mark.parametrize(
    ("params", "peak_gbps", "refresh_ck"),
    [
        # (nRFCab, nRTP, nRPab, nRCD, nREFI): tRFCab 210 / 280 ns, tREFI 3906 ns, tRPab 21 ns,
        # tRCD 18 ns at each preset's tCK (JESD209-5 via reference lpddr5.md; 3200 and 4267
        # rounded as in npusim.dram.standard); BL32 adds 4 CK to nRTP
        ({"preset": "LPDDR5_3200", "bank_arch": "16B"}, 6.4, (84, 5, 9, 8, 1563)),
        ({"preset": "LPDDR5_4267"}, 8.534, (112, 6, 12, 10, 2084)),
        ({"density": "16Gb"}, 12.8, (224, 8, 17, 15, 3125)),
        (
            {"bank_arch": "8B", "burst_length": 32, "mapping": "RoBaCo"},
            12.8,
            (168, 12, 17, 15, 3125),
        ),
    ],
)
def test_other_presets_stream_at_peak_less_refresh(
    params: dict, peak_gbps: float, refresh_ck: tuple[int, int, int, int, int]
) -> None:
    gbps = _stream_gbps(**params)
    assert gbps == pytest.approx(peak_gbps * (1 - _refresh_share(*refresh_ck)), rel=0.005)


# LPDDR5X bins (npusim.dram.standard, from the Synopsys DWC LPDDR5 driver's JESD209-5B/5C
# values): data rate, tCK ps, nRCD, nCL (RL), nBL
LPDDR5X = {
    "LPDDR5X_7500": (7500, 1067, 17, 20, 2),
    "LPDDR5X_8533": (8533, 938, 20, 23, 2),
    "LPDDR5X_9600": (9600, 833, 22, 25, 2),
}


@pytest.mark.parametrize("preset", list(LPDDR5X))
def test_lpddr5x_peak_and_idle_latency_equal_their_timing_sums(preset: str) -> None:
    rate, tck_ps, n_rcd, n_cl, n_bl = LPDDR5X[preset]
    peak_gbps = rate * 2 / 1000  # x16: 2 B per transfer
    gbps = _stream_gbps(preset=preset, refresh="off")
    assert gbps == pytest.approx(peak_gbps, rel=0.003)
    system = DramSystem(DramParams(preset=preset))
    assert system.stats().total.peak_gbps == pytest.approx(peak_gbps)
    done = system.serve(np.array([0], dtype=np.uint64), False, 0)  # closed bank, WCK off
    assert int(done[0]) == n_rcd + N_CAS + n_cl + n_bl
    assert system.tck_ns == pytest.approx(tck_ps / 1000)
