"""SRAM energy, leakage and area tables: the cited points, the interpolation, overrides."""

from __future__ import annotations

import math

import pytest

from npusim.cache.energy import (
    SramEnergyModel,
    area_mm2,
    check_energy_model,
    leakage_power_w,
    read_energy_pj,
    write_energy_pj,
)

KIB = 1024
MIB = 1024 * KIB

# Horowitz, ISSCC 2014, via reference energy-45nm.md: 64-bit SRAM reads at 45 nm.
HOROWITZ_64BIT_READ_PJ = [(8 * KIB, 10.0), (32 * KIB, 20.0), (1 * MIB, 100.0)]
# CACTI 45 nm via reference energy-45nm.md: 64 KB SRAM, 256-bit access.
CACTI_64KB_READ_PJ, CACTI_64KB_WRITE_PJ = 51.9, 66.3


@pytest.mark.parametrize(("capacity", "energy"), HOROWITZ_64BIT_READ_PJ)
def test_reproduces_horowitz_points(capacity, energy):
    assert read_energy_pj(capacity, 8) == pytest.approx(energy, rel=1e-12)


def test_reproduces_cacti_64kb_point():
    assert read_energy_pj(64 * KIB, 32) == pytest.approx(CACTI_64KB_READ_PJ, rel=1e-12)
    assert write_energy_pj(64 * KIB, 32) == pytest.approx(CACTI_64KB_WRITE_PJ, rel=1e-12)


def test_interpolation_is_log_log_between_points():
    # Halfway in log(capacity) between 8 KiB and 32 KiB is the geometric mean of 10 and 20.
    assert read_energy_pj(16 * KIB, 8) == pytest.approx(math.sqrt(10.0 * 20.0))
    # Extrapolation keeps the end segment's slope: 1 MiB -> 4 MiB is two halvings of 32x.
    slope = math.log(100 / 20) / math.log(32)
    assert read_energy_pj(4 * MIB, 8) == pytest.approx(100 * 4**slope)


def test_energy_grows_with_capacity_and_width_and_writes_cost_more():
    capacities = [1 * KIB, 8 * KIB, 64 * KIB, 1 * MIB, 4 * MIB, 64 * MIB]
    reads = [read_energy_pj(c, 64) for c in capacities]
    assert reads == sorted(reads)
    widths = [8, 16, 32, 64, 128]
    assert [read_energy_pj(MIB, w) for w in widths] == sorted(
        read_energy_pj(MIB, w) for w in widths
    )
    # Wider accesses are cheaper per byte (shared decode), narrower than 64 bit cost 64 bit.
    assert read_energy_pj(MIB, 64) / 64 < read_energy_pj(MIB, 8) / 8
    assert read_energy_pj(MIB, 1) == read_energy_pj(MIB, 8)
    assert write_energy_pj(MIB, 64) > read_energy_pj(MIB, 64)


def test_leakage_and_area_scale_with_capacity():
    # ~1 nW per 6T cell (Sci. Rep. 7, 12347, Table 2): 8192 bits per KiB.
    assert leakage_power_w(KIB) == pytest.approx(8192e-9)
    assert leakage_power_w(4 * MIB) == pytest.approx(4 * 1024 * 8192e-9)
    # Intel 45 nm SRAM test chip: 153 Mbit in 119 mm^2.
    assert area_mm2(MIB) == pytest.approx(119 / (153e6 / 2**23))
    assert area_mm2(4 * MIB) == pytest.approx(4 * area_mm2(MIB))


def test_scenario_overrides_replace_defaults():
    model = SramEnergyModel(
        read_pj_per_access=5.0, write_pj_per_access=7.0, leakage_w_per_kib=1e-6,
        area_mm2_per_mib=2.0,
    )  # fmt: skip
    assert model.read_energy_pj(MIB, 64) == 5.0
    assert model.write_energy_pj(4 * MIB, 8) == 7.0
    assert model.leakage_power_w(2 * KIB) == pytest.approx(2e-6)
    assert model.area_mm2(MIB // 2) == pytest.approx(1.0)
    assert SramEnergyModel(read_pj_per_access=5.0).write_energy_pj(MIB, 64) == pytest.approx(
        write_energy_pj(MIB, 64)
    )


def test_bad_overrides_and_arguments_are_reported():
    problems = check_energy_model(
        SramEnergyModel(read_pj_per_access=-1.0, area_mm2_per_mib=0.0, leakage_w_per_kib=math.nan)
    )
    assert [path for path, _ in problems] == [
        "energy.read_pj_per_access",
        "energy.leakage_w_per_kib",
        "energy.area_mm2_per_mib",
    ]
    assert check_energy_model(SramEnergyModel()) == []
    with pytest.raises(ValueError, match="capacity must be positive"):
        read_energy_pj(0, 8)
    with pytest.raises(ValueError, match="access width must be positive"):
        read_energy_pj(MIB, 0)


def test_an_access_touches_one_bank():
    # 4 MiB in 16 banks: a 256 KiB bank, between Horowitz's 32 KB (20 pJ) and 1 MB (100 pJ)
    # points in log-log: 20 * 8 ** (ln 5 / ln 32) pJ per 64-bit read.
    bank_64bit = 20.0 * 8 ** (math.log(5) / math.log(32))
    assert read_energy_pj(4 * MIB, 8, 16) == pytest.approx(bank_64bit)
    assert read_energy_pj(4 * MIB, 8, 16) == pytest.approx(read_energy_pj(256 * KIB, 8))
    assert write_energy_pj(4 * MIB, 8, 16) == pytest.approx(bank_64bit * 66.3 / 51.9)
    # leakage and area are the whole array's whatever the banking
    model = SramEnergyModel()
    assert model.leakage_power_w(4 * MIB) == pytest.approx(leakage_power_w(4 * MIB))
    with pytest.raises(ValueError, match="banks"):
        read_energy_pj(4 * MIB, 8, 0)


def test_node_factors_scale_defaults_but_not_overrides():
    node = SramEnergyModel(energy_factor=0.5, area_factor=0.25)
    assert node.read_energy_pj(64 * KIB, 32) == pytest.approx(CACTI_64KB_READ_PJ / 2)
    assert node.write_energy_pj(64 * KIB, 32) == pytest.approx(CACTI_64KB_WRITE_PJ / 2)
    assert node.leakage_power_w(MIB) == pytest.approx(leakage_power_w(MIB) / 2)
    assert node.area_mm2(MIB) == pytest.approx(area_mm2(MIB) / 4)
    fixed = SramEnergyModel(read_pj_per_access=3.0, area_mm2_per_mib=1.0, energy_factor=0.5,
                            area_factor=0.25)  # fmt: skip
    assert fixed.read_energy_pj(64 * KIB, 32, 4) == 3.0
    assert fixed.area_mm2(MIB) == 1.0


def test_the_trace_runner_prices_an_access_at_its_bank() -> None:
    """`npusim cache` prices each line access at one bank, as the engine does: a 16-bank
    4 MiB cache's energy is its events times the 256 KiB bank's per-access energies."""
    import numpy as np

    from npusim.cache import CacheParams
    from npusim.cache.runner import run_trace
    from npusim.trace import Trace

    params = CacheParams(capacity_bytes=4 << 20, line_bytes=64, ways=16, banks=16)
    addrs = (np.arange(5000, dtype=np.uint64) * 64) % (8 << 20)
    writes = np.arange(5000) % 3 == 0
    run = run_trace(Trace(addrs, writes, np.zeros(5000, dtype=np.int64), None), params)
    s = run.stats
    reads, written = s.read_accesses + s.dirty_writebacks, s.write_accesses + s.fills
    bank = (4 << 20) / 16
    expected = reads * read_energy_pj(bank, 64) + written * write_energy_pj(bank, 64)
    assert run.dynamic_energy_pj == pytest.approx(expected, rel=1e-12)
