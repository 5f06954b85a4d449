"""A workload run once per frame: the inference, then idle until the next frame starts.

A phone NPU runs its network once per camera or display frame (30 or 60 Hz), so what the
battery sees is the energy of one frame period, not of one inference: the run's energy plus
the idle time to the next frame, during which the DRAM stays in standby or, with
``dram.power_down_after`` / ``dram.self_refresh_after``, powers down or self-refreshes, and the
SRAM leaks. That idle energy is where a faster (quantized) inference pays a second time: the
sooner the frame's work ends, the longer the DRAM sleeps.

Priced in the idle time: DRAM background and refresh (cycle fidelity: from the controllers'
state at the run's end, :meth:`npusim.dram.DramSystem.energy_until`; analytic: the closed form
of :func:`npusim.dram.idle_energy_pj`) and the static power (SRAM leakage plus
``energy.static_power``: the NPU is not power-gated between frames). MAC, SRAM and PHY
energies are per operation and zero while idle. Not priced: the next frame's wake-up (one
power-down or self-refresh exit, tXP or tXSR, under 0.4 us on every bundled preset), which
delays that frame's first DRAM access by that much.

When the inference takes longer than the frame period, frames run back to back: nothing idles
and the achieved rate is one frame per inference.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from npusim.config import Scenario
from npusim.dram import DramSystem, idle_energy_pj
from npusim.engine.energy import static_energy_pj
from npusim.results import RunResult


def idle_dram_ck(scenario: Scenario, busy_s: float, ck_hz: float) -> int:
    """DRAM CK cycles from the run's end (``busy_s`` in) to the next frame's start; 0 when the
    run fills the frame period or no frame rate is set."""
    rate_hz = scenario.frame_rate_hz
    if rate_hz is None:
        return 0
    return max(round((1.0 / rate_hz - busy_s) * ck_hz), 0)


def frame_summary(
    scenario: Scenario, busy_s: float, run_energy_pj: float, idle_dram_pj: float
) -> dict[str, Any]:
    """``summary.json``'s ``frame`` block: the frame period, the busy and idle time in it, the
    idle energy by part, the energy per frame (run plus idle) and the average power over a
    frame period at the achieved rate. ``busy_s``: one inference's time; ``run_energy_pj``:
    its total energy; ``idle_dram_pj``: the DRAM's energy over the idle time."""
    rate_hz = scenario.frame_rate_hz
    if rate_hz is None:
        raise ValueError("frame_summary needs a scenario with frame_rate_hz set")
    period_s = 1.0 / rate_hz
    idle_s = max(period_s - busy_s, 0.0)
    static_pj = static_energy_pj(scenario, idle_s)
    idle_pj = idle_dram_pj + static_pj
    per_frame_pj = run_energy_pj + idle_pj
    achieved_hz = min(rate_hz, 1.0 / busy_s) if busy_s > 0 else rate_hz
    return {
        "rate_hz": rate_hz,
        "period_s": period_s,
        "busy_s": busy_s,
        "idle_s": idle_s,
        "sustained": busy_s <= period_s,
        "achieved_rate_hz": achieved_hz,
        "idle_energy_pj": {"dram": idle_dram_pj, "static": static_pj, "total": idle_pj},
        "energy_per_frame_pj": per_frame_pj,
        # pJ x Hz = pW; 1e-9 of it in mW
        "average_power_mw": per_frame_pj * achieved_hz * 1e-9,
    }


def cycle_idle_dram_pj(scenario: Scenario, dram: DramSystem, end_ck: int, busy_s: float) -> float:
    """The DRAM's energy from the run's end (CK ``end_ck``, ``busy_s`` in) to the next frame,
    from the controllers' state (open banks, the next refresh's phase, the timers)."""
    idle_ck = idle_dram_ck(scenario, busy_s, dram.ck_hz)
    return dram.energy_until(end_ck + idle_ck) - dram.energy_until(end_ck)


def analytic_idle_dram_pj(scenario: Scenario, dram: DramSystem, busy_s: float) -> float:
    """The DRAM's energy from the run's end to the next frame in closed form
    (:func:`npusim.dram.idle_energy_pj` on ``dram``, the scenario's DRAM), with the last rows
    left open under the open-page policy."""
    idle_ck = idle_dram_ck(scenario, busy_s, dram.ck_hz)
    return idle_energy_pj(dram, idle_ck, row_open=scenario.dram.leaves_rows_open)


def with_frame(result: RunResult, scenario: Scenario, idle_dram_pj: float) -> RunResult:
    """``result`` with its ``frame`` block (:func:`frame_summary`; the scenario sets a frame
    rate, else ``ValueError``)."""
    totals = result.totals()
    frame = frame_summary(scenario, totals["time_s"], totals["energy_pj"]["total"], idle_dram_pj)
    return replace(result, extra={**result.extra, "frame": frame})
