"""The SoC-side DRAM PHY and controller energy: its own component of a run's energy, per bit
read and written, from the cited table (Kim et al., IEEE TCAS-II 65(12), 2018: an LPDDR4
memory controller's transceiver, 1.83 pJ/bit read, 5.68 pJ/bit written), not scaled by the
logic node."""

from __future__ import annotations

import pytest

from npusim.config import load_scenario
from npusim.errors import ConfigError
from npusim.results import RunResult
from npusim.workload import Linear, Workload

READ_PJ_PER_BIT = 1.83  # Kim et al. 2018, burst read
WRITE_PJ_PER_BIT = 5.68  # burst write

# reads 4096 x 1024 weights + 4096 inputs, writes 1024 outputs: reads and writes differ
GEMV = Workload("gemv", (Linear("gemv", in_features=4096, out_features=1024, tokens=1),))


def _run(fidelity: str, overrides: tuple[str, ...] = ()) -> RunResult:
    from npusim.simulate import simulate

    return simulate(load_scenario(overrides=list(overrides)), GEMV, fidelity,
                    measure_quality=False)  # fmt: skip


@pytest.mark.parametrize("fidelity", ["analytic", "cycle"])
def test_phy_energy_by_hand(fidelity: str) -> None:
    """INT8, analytic: 4096 x 1024 weights (4,194,304 B) + 1024 FP32 per-channel scales
    (4,096 B) + 4,096 B of input + its FP32 scale (4 B) read; 1,024 B of output + 4 B written:
    the PHY costs 8 x (4,202,500 x 1.83 + 1,028 x 5.68) = 8 x (7,690,575 + 5,839.04) =
    61,571,312.32 pJ. The cycle engine's bytes are what
    crossed the bus, whatever their count."""
    run = _run(fidelity)
    layer = run.layers[0]
    if fidelity == "analytic":
        assert (layer.dram_read_bytes, layer.dram_write_bytes) == (4_202_500, 1_028)
    expected = 8 * (layer.dram_read_bytes * READ_PJ_PER_BIT
                    + layer.dram_write_bytes * WRITE_PJ_PER_BIT)  # fmt: skip
    assert layer.energy_pj.phy == pytest.approx(expected, rel=1e-12)
    if fidelity == "analytic":
        assert layer.energy_pj.phy == pytest.approx(61_571_312.32, rel=1e-12)
    totals = run.totals()["energy_pj"]
    assert totals["phy"] == pytest.approx(expected, rel=1e-12)
    parts = ("mac", "sram", "dram", "static", "phy")
    assert set(totals) == {*parts, "total"}
    assert sum(totals[p] for p in parts) == pytest.approx(totals["total"], rel=1e-12)


def test_phy_is_not_the_dram_devices_and_does_not_scale_with_the_node() -> None:
    """Switching the PHY off (0 pJ) leaves every other component as it was, and a 7 nm node
    scales the MACs and the SRAM but not the PHY (nor the DRAM devices)."""
    base = _run("analytic").layers[0].energy_pj
    off = _run("analytic", ("energy.dram_phy_read=0 pJ", "energy.dram_phy_write=0 pJ"))
    off_energy = off.layers[0].energy_pj
    assert off_energy.phy == 0
    for part in ("mac", "sram", "dram", "static"):
        assert getattr(off_energy, part) == getattr(base, part)
    assert off_energy.total == pytest.approx(base.total - base.phy, rel=1e-12)
    at_7nm = _run("analytic", ("energy.node=7nm",)).layers[0].energy_pj
    assert at_7nm.phy == base.phy
    assert at_7nm.dram == base.dram
    assert at_7nm.mac < 0.1 * base.mac


def test_phy_overrides_price_reads_and_writes_apart() -> None:
    run = _run("analytic", ("energy.dram_phy_read=1 pJ", "energy.dram_phy_write=10 pJ"))
    layer = run.layers[0]
    assert layer.energy_pj.phy == pytest.approx(8 * (4_202_500 * 1 + 1_028 * 10))


def test_a_negative_phy_energy_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"energy\.dram_phy_write"):
        load_scenario(overrides=["energy.dram_phy_write=-1 pJ"])
