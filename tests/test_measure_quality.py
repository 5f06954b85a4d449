"""simulate(measure_quality=False) skips the quantizer's per-layer SQNR and nothing else."""

from __future__ import annotations

import pytest

from npusim.config import load_scenario
from npusim.simulate import simulate
from npusim.workload import load_workload


@pytest.mark.parametrize("fidelity", ["analytic", "cycle"])
def test_skipping_the_sqnr_changes_no_figure_of_time_traffic_or_energy(fidelity: str) -> None:
    scenario, workload = load_scenario(precision="int8"), load_workload("mlp")
    measured = simulate(scenario, workload, fidelity)
    skipped = simulate(scenario, workload, fidelity, measure_quality=False)
    assert skipped.totals() == measured.totals()
    for a, b in zip(measured.layers, skipped.layers, strict=True):
        assert "weight_sqnr_db" in a.extra and "weight_sqnr_db" not in b.extra
        assert (a.cycles, a.energy_pj, a.dram_read_bytes) == (b.cycles, b.energy_pj,
                                                              b.dram_read_bytes)  # fmt: skip


def test_data_priced_io_still_measures_the_bytes_it_needs() -> None:
    scenario = load_scenario(precision="int8", overrides=["dram.io_energy=data"])
    workload = load_workload("mlp")
    skipped = simulate(scenario, workload, "analytic", measure_quality=False)
    assert skipped.totals() == simulate(scenario, workload, "analytic").totals()
    assert "weight_io_toggles_per_bit" in skipped.layers[0].extra
