"""Analytic fidelity with DRAM power-down and self-refresh: a layer's DRAM is busy for its
bytes at the peak rate and idles, in one span per channel, for the rest of the layer, at the
scenario's idle policy (:func:`npusim.engine.energy.dram_streaming_energy_pj`). Before, the
analytic run priced every cycle at active standby whatever the policy, so a power-down sweep
at analytic fidelity did not move.
"""

from __future__ import annotations

import math

import pytest

from npusim.config import Scenario, load_scenario
from npusim.dram import DramSystem
from npusim.engine.energy import dram_streaming_energy_pj
from npusim.simulate import simulate
from npusim.workload import load_workload

# LPDDR5-6400 (the default scenario's memory; JESD209-5 via the reference's lpddr5.md): tCK
# 1.25 ns, 4 channels of 12.8 GB/s, i.e. 64 bytes per CK in all. The standby, power-down and
# self-refresh powers are the unit's table's (npusim/dram/energy.py), read by name.
TCK_NS = 1.25
BYTES_PER_CK = 4 * 12.8e9 * TCK_NS * 1e-9


def _scenario(*overrides: str) -> Scenario:
    return load_scenario("lpddr5_51gbps_4mib", ["dram.refresh=off", *overrides])


def test_power_down_by_hand() -> None:
    """Refresh off, power-down after 100 ns (80 CK), no self-refresh. 640 KiB keep the
    channels busy for 10,240 CK at the peak rate: a 10 us layer (8,000 CK) has no idle time,
    a 100 us one (80,000 CK) idles for 69,760 CK, in standby for the timeout, then in active
    power-down (the open-page policy leaves a row open)."""
    plain = _scenario()
    down = _scenario("dram.power_down_after=100 ns")
    assert down.dram.powers_down and not plain.dram.powers_down
    system = DramSystem(down.dram)
    terms = system.energy
    read, write, time_s = 600 * 1024, 40 * 1024, 10e-6
    busy_ck = math.ceil((read + write) / BYTES_PER_CK)
    assert (int(time_s * 1e9 / TCK_NS), busy_ck) == (8000, 10240)
    # the transfer fills the layer: power-down changes nothing
    assert dram_streaming_energy_pj(down, read, write, time_s, system) == pytest.approx(
        dram_streaming_energy_pj(plain, read, write, time_s), rel=1e-12
    )
    time_s = 100e-6  # 80,000 CK, 69,760 of them idle
    idle_ck = int(time_s * 1e9 / TCK_NS) - busy_ck
    saving_pj = 4 * (idle_ck - 80) * TCK_NS * (terms.background_active_mw
                                              - terms.power_down_active_mw)  # fmt: skip
    assert dram_streaming_energy_pj(down, read, write, time_s, system) == pytest.approx(
        dram_streaming_energy_pj(plain, read, write, time_s) - saving_pj, rel=1e-12
    )


def test_self_refresh_by_hand() -> None:
    """Power-down after 100 ns and self-refresh after 10 us (8,000 CK): an idle span of
    69,760 CK spends 80 in standby, 7,920 powered down and the rest in self-refresh."""
    plain = _scenario()
    sleepy = _scenario("dram.power_down_after=100 ns", "dram.self_refresh_after=10 us")
    system = DramSystem(sleepy.dram)
    terms = system.energy
    read, time_s = 640 * 1024, 100e-6
    idle_ck = 80_000 - 10_240
    active_mw = terms.background_active_mw
    saving_pj = (
        4
        * TCK_NS
        * (
            (8000 - 80) * (active_mw - terms.power_down_active_mw)
            + (idle_ck - 8000) * (active_mw - terms.self_refresh_mw)
        )
    )
    assert dram_streaming_energy_pj(sleepy, read, 0, time_s, system) == pytest.approx(
        dram_streaming_energy_pj(plain, read, 0, time_s) - saving_pj, rel=1e-12
    )


@pytest.mark.parametrize("workload", ["mobilenet_v2", "mlp"])
def test_analytic_stays_below_cycle_with_power_down(workload: str) -> None:
    """The phone scenario powers down after 100 ns and self-refreshes after 10 us. The
    analytic DRAM energy now falls with the policy, as the cycle-level one does, and stays
    below it (one idle span per layer is the most power-down a layer allows, and the
    analytic time is a lower bound)."""
    wl = load_workload(workload)
    energies = {}
    standby = ["dram.power_down_after=null", "dram.self_refresh_after=null"]
    for policy in ("standby", "phone"):
        scenario = load_scenario("mobile_npu_lpddr5x", [] if policy == "phone" else standby)
        for fidelity in ("analytic", "cycle"):
            totals = simulate(scenario, wl, fidelity).summary()["totals"]
            energies[policy, fidelity] = totals["energy_pj"]["dram"]
    assert energies["phone", "analytic"] < energies["standby", "analytic"]
    assert energies["phone", "cycle"] < energies["standby", "cycle"]
    assert energies["phone", "analytic"] <= energies["phone", "cycle"]
