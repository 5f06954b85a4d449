"""Technology nodes: Stillmaker & Baas scaling, SRAM bit cells, and the scenario's energy.node."""

from __future__ import annotations

import itertools

import pytest

from npusim.config import load_scenario
from npusim.errors import ConfigError
from npusim.simulate import simulate
from npusim.technology import NODES, stillmaker_area_factor, stillmaker_energy_factor
from npusim.workload import Linear, Workload

# Stillmaker & Baas 2017, Table 5, energy = a V^2 + b V + c; 45 nm at Horowitz's 0.9 V.
E45 = 1.103 * 0.9**2 - 0.362 * 0.9 + 0.2767
E32 = 0.9559 * 0.9**2 - 0.7823 * 0.9 + 0.471
E20 = 0.373 * 0.9**2 - 0.1582 * 0.9 + 0.04104
E7 = 0.1776 * 0.7**2 - 0.09097 * 0.7 + 0.02447


def test_45nm_is_the_identity() -> None:
    node = NODES["45nm"]
    factors = (node.logic_energy_factor, node.logic_area_factor, node.sram_energy_factor,
               node.sram_area_factor)  # fmt: skip
    assert factors == pytest.approx((1.0, 1.0, 1.0, 1.0))


def test_7nm_from_the_published_polynomials_and_bit_cells() -> None:
    node = NODES["7nm"]
    assert node.logic_energy_factor == pytest.approx(E7 / E45)  # about 0.057
    assert node.logic_area_factor == pytest.approx(0.059)
    assert node.sram_area_factor == pytest.approx(0.027 / 0.346)
    assert node.sram_energy_factor == node.logic_energy_factor


def test_28nm_interpolates_between_32_and_20nm() -> None:
    # 28 nm is a third of the way from 32 nm to 20 nm
    assert stillmaker_energy_factor(28, 0.9) == pytest.approx((E32 + (E20 - E32) / 3) / E45)
    assert stillmaker_area_factor(28) == pytest.approx(0.46 + (0.21 - 0.46) / 3)
    assert NODES["28nm"].sram_area_factor == pytest.approx(0.127 / 0.346)


def test_smaller_nodes_cost_less_and_sram_shrinks_less_than_logic() -> None:
    nodes = list(NODES.values())
    for wide, narrow in itertools.pairwise(nodes):
        assert narrow.logic_energy_factor < wide.logic_energy_factor
        assert narrow.logic_area_factor < wide.logic_area_factor
        assert narrow.sram_area_factor < wide.sram_area_factor
    for name in ("7nm", "5nm"):
        assert NODES[name].sram_area_factor > NODES[name].logic_area_factor
    # 5 nm: beyond the paper, extrapolated from 7 nm and marked as such
    assert NODES["5nm"].logic_energy_factor == pytest.approx(E7 / E45 * (5 / 7) ** 0.5)
    assert "extrapolated" in NODES["5nm"].source


def test_energy_node_scales_logic_and_sram_but_not_dram() -> None:
    layer = Workload("fc", (Linear("fc", in_features=512, out_features=256, tokens=64),))
    runs = {n: simulate(load_scenario(overrides=[f"energy.node={n}"]), layer, "analytic")
            for n in ("45nm", "16nm")}  # fmt: skip
    e45, e16 = (runs[n].totals()["energy_pj"] for n in ("45nm", "16nm"))
    factor = NODES["16nm"].logic_energy_factor
    assert e16["mac"] == pytest.approx(e45["mac"] * factor)
    assert e16["sram"] == pytest.approx(e45["sram"] * factor)
    assert e16["dram"] == pytest.approx(e45["dram"])
    area45, area16 = (runs[n].extra["area_mm2"] for n in ("45nm", "16nm"))
    assert area16["mac_array"] == pytest.approx(area45["mac_array"] * 0.19)
    assert area16["sram"] == pytest.approx(area45["sram"] * 0.070 / 0.346)


def test_unknown_node_is_a_config_error_listing_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"energy\.node.*45nm.*7nm"):
        load_scenario(overrides=["energy.node=3nm"])


def test_mobile_scenario_runs_at_7nm() -> None:
    assert load_scenario("mobile_npu_51gbps_8mib").array.node.node_nm == 7
