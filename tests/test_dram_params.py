"""Standard tables, parameter checks and energy against reference lpddr5.md figures."""

from __future__ import annotations

import pytest

from npusim.dram import DramEnergy, DramParams, DramSystem, check_params, compute_energy
from npusim.dram.standard import (
    BANK_ARCHS,
    PRESETS,
    ck_from_ns,
    peak_bandwidth_bytes_per_s,
    resolve_timing,
    rows_per_bank,
)
from npusim.errors import ConfigError

pytestmark = pytest.mark.usefixtures("dram_loop")  # every loop: tests/conftest.py

# LPDDR5-6400 BG-mode table, JESD209-5B via reference lpddr5.md (CK at 800 MHz)
REFERENCE_6400_CK = {
    "nBL": 2, "nCL": 17, "nCWL": 9, "nRCD": 15, "nRP": 15, "nRPab": 17, "nRAS": 34,
    "nRC": 49, "nWR": 28, "nRTP": 8, "nPPD": 2, "nCCD_S": 2, "nCCD_L": 4, "nRRD": 4,
    "nFAW": 16, "nWTR_S": 5, "nWTR_L": 10, "nRFCab": 168, "nRFCpb": 96, "nREFI": 3125,
    "nREFIpb": 391, "nPBR2PBR": 72, "nPBR2ACT": 6,
}  # fmt: skip
# the same table's ns column for the entries defined in ns (JESD209-5)
REFERENCE_6400_NS = {
    "nRCD": 18.0, "nRPab": 21.0, "nRAS": 42.0, "nWR": 34.0, "nWTR_L": 12.0, "nRFCab": 210.0,
    "nRFCpb": 120.0, "nPBR2PBR": 90.0, "nPBR2ACT": 7.5, "nREFI": 3906.0, "nREFIpb": 488.0,
    "nFAW": 20.0, "nRRD": 5.0,
}  # fmt: skip


def test_lpddr5_6400_matches_the_reference_table() -> None:
    timing = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16)
    for name, value in REFERENCE_6400_CK.items():
        assert getattr(timing, name) == value, name
    # derived turnarounds of the reference: 12, 16, 23, 39 CK
    assert (timing.rd_to_wr, timing.wr_to_rd_s, timing.wr_to_rd_l, timing.wr_to_pre) == (
        12, 16, 23, 39,
    )  # fmt: skip


def test_rounding_rule_reproduces_the_ns_column() -> None:
    for name, t_ns in REFERENCE_6400_NS.items():
        assert ck_from_ns(t_ns, 1250) == REFERENCE_6400_CK[name], name


def test_16gb_refresh_and_rows() -> None:
    timing = resolve_timing("LPDDR5_6400", "16Gb", "BG", 16)
    assert (timing.nRFCab, timing.nRFCpb) == (224, 112)  # 280 / 140 ns at 1.25 ns
    assert rows_per_bank("8Gb", "BG") == 2**15 and rows_per_bank("16Gb", "BG") == 2**16


def test_organization_and_peak() -> None:
    assert peak_bandwidth_bytes_per_s("LPDDR5_6400") == 12.8e9
    assert peak_bandwidth_bytes_per_s("LPDDR5_6400", 4) == 51.2e9
    assert BANK_ARCHS["BG"].banks == 16 and BANK_ARCHS["8B"].page_bytes == 4096
    assert BANK_ARCHS["8B"].burst_lengths == (32,)
    assert {p.data_rate_mts for p in PRESETS.values()} >= {6400, 4267}
    system = DramSystem(DramParams(channels=4))
    assert system.capacity_bytes == 4 * 2**30 and system.tck_ns == 1.25


def test_bl32_and_no_bank_group_modes() -> None:
    bl32 = resolve_timing("LPDDR5_6400", "8Gb", "BG", 32)
    assert (bl32.nBL, bl32.nCCD_S, bl32.nCCD_L) == (4, 4, 8)
    eight = resolve_timing("LPDDR5_6400", "8Gb", "8B", 32)
    assert eight.nCCD_L == eight.nCCD_S and (eight.nRRD, eight.nFAW) == (8, 32)
    assert (
        DramSystem(DramParams(bank_arch="8B", burst_length=32, mapping="RoBaCo")).burst_bytes == 64
    )


@pytest.mark.parametrize(
    ("params", "path", "message"),
    [
        (DramParams(preset="LPDDR5_640"), "preset", "did you mean 'LPDDR5_6400'"),
        (DramParams(density="12Gb"), "density", "valid: 8Gb, 16Gb"),
        (DramParams(scheduler="fifo"), "scheduler", "valid: frfcfs, frfcfs-rowhit, fcfs"),
        (DramParams(refresh="none"), "refresh", "valid: all-bank, per-bank, off"),
        (DramParams(mapping="RoBaCo"), "mapping", "Bg missing"),
        (DramParams(mapping="RoRoBaCoBg"), "mapping", "Ro repeated"),
        (DramParams(mapping="RoBaCoBgXx"), "mapping", "unknown field(s) Xx"),
        (DramParams(channels=3), "channels", "power of two"),
        # a million channels used to hang `npusim dram` building controllers (issue 18)
        (DramParams(channels=1 << 20), "channels", "expected an integer in [1, 64]"),
        (DramParams(burst_length=8), "burst_length", "expected one of 16, 32"),
        (DramParams(timing={"nRAS": 40}), "timing.nRAS", "nRC >= nRAS + nRP, found 49 vs 55"),
        (DramParams(timing={"nRCDD": 3}), "timing.nRCDD", "did you mean 'nRCD'"),
        (DramParams(timing={"nRCD": 0}), "timing.nRCD", "positive CK count"),
        (DramParams(energy={"act_pj": 1.0}), "energy.act_pj", "did you mean 'act_pre_pj'"),
        (DramParams(write_low_watermark=0.9), "write_low_watermark", "below"),
        # a refresh interval with no room for ACT + RD after the refresh livelocks the
        # controller (LPDDR5-4267: nRFCab 112 + nRPab 12 + nRCD 10 + WR->PRE 27 = 161)
        (
            DramParams(preset="LPDDR5_4267", timing={"nREFI": 150}),
            "timing.nREFI",
            "expected nREFI > nRFCab + nRPab + nRCD + nCWL + nBL + nWR, found 150 vs 161",
        ),
        (DramParams(timing={"nWR": 3000}), "timing.nWR", "nREFI > nRFCab"),
        (DramParams(timing={"nWR": 2**63 - 40}), "timing.nWR", "at most 2147483647"),
        (DramParams(read_queue_depth=2**60), "read_queue_depth", "in [1, 4096]"),
        (DramParams(write_queue_depth=0), "write_queue_depth", "in [1, 4096]"),
    ],
)
def test_check_params_names_the_key_and_the_problem(
    params: DramParams, path: str, message: str
) -> None:
    problems = dict(check_params(params))
    assert path in problems
    assert message in problems[path]


def test_defaults_are_valid_and_bad_params_raise_config_error() -> None:
    assert check_params(DramParams()) == []
    with pytest.raises(ConfigError) as err:
        DramSystem(DramParams(preset="x", mapping="RoRo"))
    assert {p.path for p in err.value.problems} == {"dram.preset", "dram.mapping"}


def test_energy_terms_add_up() -> None:
    # reference anchors: 1.1 nJ per ACT/PRE pair, 3.3 + 0.5 pJ/bit read, 36 nJ per REFab,
    # 37 / 47 mW background; mW x ns = pJ
    e = compute_energy(
        DramEnergy(), activates=2, bits_read=256, bits_written=0, refreshes_all_bank=1,
        refreshes_per_bank=0, precharged_cycles=800, active_cycles=800, tck_ns=1.25,
    )  # fmt: skip
    assert e.act_pre_pj == pytest.approx(2200)
    assert e.read_pj + e.io_pj == pytest.approx(256 * 3.8)
    assert e.refresh_pj == pytest.approx(36000)
    assert e.background_pj == pytest.approx((37 + 47) * 1000)
    assert DramEnergy().with_overrides({"act_pre_pj": 900}).act_pre_pj == 900


def test_random_reads_pay_for_activations_streaming_does_not() -> None:
    import numpy as np

    stream = DramSystem(DramParams(refresh="off"))
    stream.serve(np.arange(4096, dtype=np.uint64) * 32, False, 0)
    rng = np.random.default_rng(3)
    rand = DramSystem(DramParams(refresh="off"))
    rand.serve(rng.integers(0, 2**25, 4096).astype(np.uint64) * 32, False, 0)
    s, r = stream.stats().total.energy, rand.stats().total.energy
    assert r.act_pre_pj > 50 * s.act_pre_pj
    assert r.read_pj == pytest.approx(s.read_pj)
