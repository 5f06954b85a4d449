"""A workload once per frame (issue 16: "an idle channel burns its full active-standby power
between layers"; the phone's frame rate is where that idle time is): the closed-form idle
DRAM energy against the controller idling for real, the frame block's arithmetic by hand, and
the ordering a phone architect relies on (power-down and self-refresh only ever save).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.config import load_scenario
from npusim.dram import DramParams, DramSystem, idle_energy_pj
from npusim.engine.frame import frame_summary, idle_dram_ck
from npusim.errors import ConfigError
from npusim.simulate import simulate
from npusim.workload import load_workload

PD_SR = [(None, None), (100e-9, None), (None, 10e-6), (100e-9, 10e-6)]


def _last_ck(system: DramSystem) -> int:
    return max(ctrl.last_cycle for ctrl in system.controllers)


@pytest.mark.parametrize("refresh", ["all-bank", "per-bank", "off"])
@pytest.mark.parametrize(("pd_s", "sr_s"), PD_SR)
def test_closed_form_idle_is_the_controller_idling(
    dram_loop: str, refresh: str, pd_s: float | None, sr_s: float | None
) -> None:
    """Reference: the controller itself, serving a read, idling ~1.25 ms (refreshes issued,
    power-down and self-refresh stays counted by the loop) and serving a second read; minus
    two lone reads, that is the idle. The differences allowed: the second read's wait at
    standby power (a power-down or self-refresh exit, or a refresh in progress), which the
    closed form leaves to the next frame, and the refresh phase (the closed form starts a
    refresh interval with the idle): one refresh and its standby window around it."""
    params = DramParams(refresh=refresh, page_policy="closed", power_down_after_s=pd_s,
                        self_refresh_after_s=sr_s)  # fmt: skip
    addr = np.zeros(1, dtype=np.uint64)
    lone = DramSystem(params)
    lone.serve(addr, False, 0)
    lone_end = _last_ck(lone)
    lone_pj = lone.energy_until(lone_end)
    gap_ck = 1_000_003  # not a multiple of any refresh interval
    pair = DramSystem(params)
    pair.serve(addr, False, 0)
    pair.serve(addr, False, lone_end + gap_ck)
    waited_ck = _last_ck(pair) - (lone_end + gap_ck) - lone_end
    simulated_pj = pair.energy_until(_last_ck(pair)) - 2 * lone_pj
    closed_pj = idle_energy_pj(lone, gap_ck)
    assert 0 <= waited_ck <= pair.timing.nXSR + pair.timing.nRFCab
    standby_mw = pair.energy.background_active_mw
    # the timers run from the last command, the idle from the read's data end
    timer_lead_ck = lone_end - lone.controllers[0].dev.last_command
    assert 0 <= timer_lead_ck <= pair.timing.nCL + pair.timing.nBL + pair.timing.nRP
    wait_pj = (waited_ck + timer_lead_ck) * pair.tck_ns * standby_mw
    phase_pj = 0.0
    if refresh != "off":
        power = pair.controllers[0].power_down
        window_ck = power.idle_ck + power.n_xp if pd_s is not None else 0
        refresh_pj = (
            pair.energy.refresh_ab_pj if refresh == "all-bank" else pair.energy.refresh_pb_pj
        )
        phase_pj = refresh_pj + window_ck * pair.tck_ns * standby_mw
    assert abs(simulated_pj - closed_pj) <= wait_pj + phase_pj + 1.0
    assert closed_pj > 0.1 * simulated_pj  # the bound above is not vacuous: idle dominates


@pytest.mark.parametrize("row_open", [False, True])
def test_idle_energy_by_hand(row_open: bool) -> None:
    """Power-down after 100 ns and self-refresh after 10 us on one LPDDR5-6400 channel
    (tCK 1.25 ns, nREFI 3125 CK, nXP 6 CK; JESD209-5 via the reference's lpddr5.md, nXP from
    tXP 7.5 ns): standby for the power-down timeout and around each refresh before the
    self-refresh timer, power-down in between (active standby and power-down with a row
    open), self-refresh after."""
    system = DramSystem(DramParams(power_down_after_s=100e-9, self_refresh_after_s=10e-6))
    terms, tck = system.energy, 1.25
    pd_ck, sr_ck, nrefi, nxp = 80, 8000, 3125, 6  # 100 ns and 10 us at 1.25 ns
    idle_ck = 1_000_000
    refreshes = sr_ck // nrefi  # 2, before the self-refresh timer
    standby_ck = pd_ck + refreshes * (pd_ck + nxp)
    standby_mw = terms.background_active_mw if row_open else terms.background_precharged_mw
    down_mw = terms.power_down_active_mw if row_open else terms.power_down_precharged_mw
    expected = (
        standby_ck * tck * standby_mw
        + (sr_ck - standby_ck) * tck * down_mw
        + refreshes * terms.refresh_ab_pj
        + (idle_ck - sr_ck) * tck * terms.self_refresh_mw
    )
    assert idle_energy_pj(system, idle_ck, row_open) == pytest.approx(expected, rel=1e-12)
    assert idle_energy_pj(system, 0) == 0.0
    assert idle_energy_pj(system, -5) == 0.0


@pytest.mark.parametrize("refresh", ["all-bank", "per-bank"])
def test_power_down_and_self_refresh_only_save(refresh: str) -> None:
    """Standby >= power-down >= power-down + self-refresh, for any idle length, and the idle
    energy grows with its length."""
    policies = [DramSystem(DramParams(refresh=refresh, power_down_after_s=pd,
                                      self_refresh_after_s=sr))
                for pd, sr in [(None, None), (100e-9, None), (100e-9, 10e-6)]]  # fmt: skip
    previous = [0.0] * 3
    for idle_ck in (1, 79, 81, 3124, 3126, 7999, 8001, 10**6, 10**9):
        energies = [idle_energy_pj(system, idle_ck) for system in policies]
        assert energies[0] >= energies[1] >= energies[2] > 0
        assert all(e >= p for e, p in zip(energies, previous, strict=True))
        previous = energies


@settings(max_examples=60, deadline=None)
@given(
    rate_hz=st.floats(1e-3, 1e6),
    busy_s=st.floats(1e-7, 10.0),
    run_pj=st.floats(0.0, 1e15),
    idle_dram_pj=st.floats(0.0, 1e15),
)
def test_frame_block_adds_up(rate_hz: float, busy_s: float, run_pj: float,
                             idle_dram_pj: float) -> None:  # fmt: skip
    scenario = load_scenario(None, [f"frame_rate={rate_hz!r} Hz", "energy.static_power=2 mW"])
    frame = frame_summary(scenario, busy_s, run_pj, idle_dram_pj)
    period = 1 / rate_hz
    sustained = busy_s <= period
    assert frame["sustained"] is sustained
    assert frame["idle_s"] == (period - busy_s if sustained else 0.0)
    leak_w = scenario.energy.sram.leakage_power_w(scenario.sram.capacity_bytes)
    static = (leak_w + 2e-3) * frame["idle_s"] * 1e12
    assert frame["idle_energy_pj"]["static"] == pytest.approx(static, rel=1e-12, abs=1e-9)
    idle = frame["idle_energy_pj"]
    assert idle["total"] == idle["dram"] + idle["static"]
    assert frame["energy_per_frame_pj"] == pytest.approx(run_pj + idle["total"], rel=1e-12)
    rate = rate_hz if sustained else 1 / busy_s
    assert frame["achieved_rate_hz"] == pytest.approx(rate, rel=1e-12)
    watts = frame["energy_per_frame_pj"] * 1e-12 * rate
    assert frame["average_power_mw"] == pytest.approx(watts * 1e3, rel=1e-12, abs=1e-300)


def test_frame_summary_needs_a_rate() -> None:
    with pytest.raises(ValueError, match="frame_rate_hz"):
        frame_summary(load_scenario(None), 1e-3, 1.0, 1.0)
    assert idle_dram_ck(load_scenario(None), 1e-3, 1e9) == 0  # no rate: nothing idles


def test_frame_edges() -> None:
    """A run that exactly fills the period is sustained with no idle; a run of no time (no
    layer) runs at the frame rate with the whole period idle."""
    scenario = load_scenario(None, ["frame_rate=50 Hz"])
    full = frame_summary(scenario, 0.02, 10.0, 0.0)
    assert full["sustained"] is True and full["idle_s"] == 0.0
    assert full["achieved_rate_hz"] == 50.0
    assert idle_dram_ck(scenario, 0.02, 1e9) == 0
    assert idle_dram_ck(scenario, 0.03, 1e9) == 0  # back to back: never negative
    assert idle_dram_ck(scenario, 0.01, 1e9) == 10_000_000
    empty = frame_summary(scenario, 0.0, 0.0, 5.0)
    assert empty["achieved_rate_hz"] == 50.0 and empty["idle_s"] == 0.02
    assert empty["average_power_mw"] == pytest.approx(empty["energy_per_frame_pj"] * 50 * 1e-9)


def _mlp_run(fidelity: str, *overrides: str, precision: str | None = None) -> dict:
    scenario = load_scenario("mobile_npu_lpddr5x", list(overrides), precision=precision)
    return simulate(scenario, load_workload("mlp"), fidelity).summary()


@pytest.mark.parametrize("fidelity", ["cycle", "analytic"])
def test_frame_in_both_fidelities(fidelity: str) -> None:
    """The run's own figures do not change with a frame rate; the frame adds the idle time at
    the scenario's idle policy (the bundled phone powers down after 100 ns and self-refreshes
    after 10 us), whose DRAM share is the closed form's over the idle CK."""
    plain = _mlp_run(fidelity)
    framed = _mlp_run(fidelity, "frame_rate=60 Hz")
    assert "frame" not in plain
    assert framed["totals"] == plain["totals"]
    frame, totals = framed["frame"], framed["totals"]
    assert frame["busy_s"] == pytest.approx(totals["time_s"], rel=1e-12)
    assert frame["busy_s"] + frame["idle_s"] == pytest.approx(1 / 60, rel=1e-12)
    system = DramSystem(load_scenario("mobile_npu_lpddr5x").dram)
    idle_ck = round(frame["idle_s"] * system.ck_hz)
    closed = idle_energy_pj(system, idle_ck, row_open=True)  # the phone's rows stay open
    # cycle fidelity starts from the controllers' state (the next refresh's phase, timers
    # that started at each channel's last command): measured 0.04 % from the closed form
    tolerance = 2e-3 if fidelity == "cycle" else 1e-12
    assert frame["idle_energy_pj"]["dram"] == pytest.approx(closed, rel=tolerance)
    assert closed > idle_energy_pj(system, idle_ck)  # open rows: active power-down
    # the SRAM leaks at the run's static power for the whole idle time
    static_pj_per_s = totals["energy_pj"]["static"] / totals["time_s"]
    expected_pj = static_pj_per_s * frame["idle_s"]
    assert frame["idle_energy_pj"]["static"] == pytest.approx(expected_pj, rel=1e-9)


@pytest.mark.parametrize("fidelity", ["cycle", "analytic"])
def test_a_frame_rate_dilutes_the_run_saving(fidelity: str) -> None:
    """At a fixed frame rate the time a faster (INT8) run saves is spent idle, at idle power:
    the per-frame saving is the run's minus that idle energy, so the FP32/INT8 energy ratio
    per frame is below the run's. In the closed form (analytic), once both runs' channels are
    in self-refresh the idle energy grows at exactly the self-refresh power of the 4 channels
    plus the static power (SRAM leakage); in cycle fidelity each channel starts its idle from
    its own state (timers already running on a channel idle before the end)."""
    fp32 = _mlp_run(fidelity, "frame_rate=30 Hz", precision="fp32")
    int8 = _mlp_run(fidelity, "frame_rate=30 Hz")
    run = [r["totals"]["energy_pj"]["total"] for r in (fp32, int8)]
    frame = [r["frame"]["energy_per_frame_pj"] for r in (fp32, int8)]
    idle = [r["frame"]["idle_energy_pj"]["total"] for r in (fp32, int8)]
    assert run[0] > run[1] and idle[1] > idle[0]
    assert frame[0] - frame[1] == pytest.approx((run[0] - run[1]) - (idle[1] - idle[0]))
    assert frame[0] / frame[1] < run[0] / run[1]
    if fidelity == "analytic":
        scenario = load_scenario("mobile_npu_lpddr5x")
        sleep_mw = DramSystem(scenario.dram).energy.self_refresh_mw * scenario.dram.channels
        static_mw = int8["totals"]["energy_pj"]["static"] / int8["totals"]["time_s"] * 1e-9
        extra_idle_ns = (int8["frame"]["idle_s"] - fp32["frame"]["idle_s"]) * 1e9
        expected = (sleep_mw + static_mw) * extra_idle_ns  # mW x ns = pJ
        # the idle CK are rounded once per run: one CK of self-refresh each
        assert idle[1] - idle[0] == pytest.approx(expected, abs=2 * sleep_mw * 1.0)


def test_a_frame_rate_faster_than_the_run_is_back_to_back() -> None:
    summary = _mlp_run("analytic", "frame_rate=1 MHz")
    frame, totals = summary["frame"], summary["totals"]
    assert frame["sustained"] is False
    assert frame["idle_s"] == 0.0 and frame["idle_energy_pj"]["total"] == 0.0
    assert frame["achieved_rate_hz"] == pytest.approx(1 / totals["time_s"], rel=1e-12)
    power_w = totals["energy_pj"]["total"] * 1e-12 / totals["time_s"]
    assert frame["average_power_mw"] == pytest.approx(power_w * 1e3, rel=1e-9)


@pytest.mark.parametrize(
    ("value", "message"),
    [("30", "bare number"), ("30 s", "expected Hz"), ("0 Hz", ">= 0.001"),
     ("2 MHz", r"<= 1e\+06"), ("nan Hz", "frame_rate")],
)  # fmt: skip
def test_bad_frame_rates_are_refused_at_load(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_scenario(None, [f"frame_rate={value}"])


def test_cli_run_reports_the_frame(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from npusim.cli import main

    out = tmp_path / "run"
    code = main(["run", "mobile_npu_lpddr5x", "-w", "mlp", "--fidelity", "analytic",
                 "--set", "frame_rate=30 Hz", "--no-plots", "-o", str(out)])  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    assert "frame            30 Hz, busy" in text and "mW average" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == 7
    assert math.isclose(summary["frame"]["period_s"], 1 / 30, rel_tol=1e-9)
    resolved = (out / "resolved_config.yaml").read_text()
    assert "frame_rate: 30.0 Hz" in resolved  # a rerun of resolved_config.yaml keeps it


def test_sweep_exports_carry_the_frame() -> None:
    from npusim.sweep.export import flat_row
    from npusim.sweep.store import StoredPoint

    summary = _mlp_run("analytic", "frame_rate=30 Hz")
    point = StoredPoint(key="k", index=0, sweep="s", scenario="mobile_npu_lpddr5x",
                        workload="mlp", precision="int8", fidelity="analytic",
                        axes={"frame_rate": "30 Hz"}, status="ok", summary=summary,
                        error=None, peak_macs_per_s=None, elapsed_s=None)  # fmt: skip
    row = flat_row(point)
    frame = summary["frame"]
    assert row["frame_average_power_mw"] == pytest.approx(frame["average_power_mw"], rel=1e-11)
    assert row["frame_idle_energy_dram_pj"] == pytest.approx(
        frame["idle_energy_pj"]["dram"], rel=1e-11
    )
    assert row["frame_sustained"] is True
    assert row["energy_total_pj"] == pytest.approx(summary["totals"]["energy_pj"]["total"])


FRAME_SWEEP = """
name: frames
scenario: mobile_npu_lpddr5x
workloads: [mlp]
fidelity: analytic
mode: zip
axes:
  precision: [fp32, int8, fp32, int8]
  frame_rate: [30 Hz, 30 Hz, 30 Hz, 30 Hz]
  dram.power_down_after: [null, null, 100 ns, 100 ns]
  dram.self_refresh_after: [null, null, 10 us, 10 us]
"""


def test_a_frame_sweep_plots_energy_per_frame(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The frame plot is drawn for a sweep of frame rates (one panel per idle policy: the
    zip's repeated frame rate does not split it), not for one without, and its bars are the
    stored figures: the inference and the idle energy, with the average power on top."""
    from npusim.report.frame_plots import _panels, _segments
    from npusim.report.plots import write_plots
    from npusim.sweep import run_sweep
    from npusim.sweep.views import load_views

    (tmp_path / "s.yaml").write_text(FRAME_SWEEP)
    run_sweep(tmp_path / "s.yaml", tmp_path / "out", jobs=1, report=False)
    files = write_plots(tmp_path / "out", names=["frame_energy", "energy"])
    assert [f.name for f in files] == ["energy", "frame_energy"]
    svg = (tmp_path / "out" / "plots" / "frame_energy-mlp.svg").read_text()
    for text in ("energy per frame (µJ)", "idle DRAM", "idle static", " mW"):
        assert text in svg
    _, (view,) = load_views(tmp_path / "out")
    panels = _panels(view)
    assert [label.count("=") for label, _ in panels] == [2, 2]  # the two DRAM axes only
    for _, points in panels:
        for point in points:
            frame = point.summary["frame"]
            assert sum(_segments(point)) * 1e6 == pytest.approx(frame["energy_per_frame_pj"])
    plain = FRAME_SWEEP.replace("frame_rate: [30 Hz, 30 Hz, 30 Hz, 30 Hz]", "seed: [0, 0, 0, 0]")
    (tmp_path / "p.yaml").write_text(plain)
    run_sweep(tmp_path / "p.yaml", tmp_path / "plain", jobs=1, report=False)
    assert [f.name for f in write_plots(tmp_path / "plain", names=["frame_energy"])] == []


def test_generate_refuses_a_frame_rate(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`npusim generate` reports tokens/s, not frames: a frame rate is refused in one line
    naming where it came from, before any simulation, rather than silently ignored."""
    from npusim.cli import main

    args = ["generate", "mobile_npu_51gbps_8mib", "--prefill", "4", "--tokens", "1",
            "--fidelity", "analytic", "-q", "-o", str(tmp_path / "g.json")]  # fmt: skip
    assert main([*args, "--set", "frame_rate=30 Hz"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("npusim: error: --set: frame_rate: applies to npusim run")
    assert "\n" not in err and not (tmp_path / "g.json").exists()
    scenario = tmp_path / "phone.yaml"
    scenario.write_text("extends: mobile_npu_51gbps_8mib\nframe_rate: 60 Hz\n")
    assert main([*args[:1], str(scenario), *args[2:]]) == 2
    assert f"{scenario}: frame_rate:" in capsys.readouterr().err
    assert main([*args, "--set", "frame_rate=null"]) == 0
