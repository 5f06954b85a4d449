"""Plots are reproducible files: the same results give byte-identical PNG and SVG files
(no random SVG ids, no date), so reruns and job counts leave reports unchanged (issue 18)."""

from __future__ import annotations

from pathlib import Path

import pytest

from npusim.config import load_scenario
from npusim.report.plots import write_plots
from npusim.report.run_plots import run_plots
from npusim.simulate import simulate
from npusim.sweep import run_sweep
from npusim.workload import load_workload

SWEEP = """
name: det
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes:
  precision: [int8, int4]
"""


def test_run_plots_are_byte_identical_when_drawn_twice() -> None:
    result = simulate(load_scenario(), load_workload("mlp"), "cycle")
    first, second = run_plots(result), run_plots(result)
    assert sorted(first) == ["dram_bandwidth.png", "dram_bandwidth.svg", "layer_breakdown.png",
                             "layer_breakdown.svg", "sram_occupancy.png",
                             "sram_occupancy.svg"]  # fmt: skip
    for name, content in first.items():
        assert second[name] == content, name
        if name.endswith(".svg"):
            assert b"<dc:date>" not in content


def test_sweep_plots_are_byte_identical_when_drawn_twice(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP)
    run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, report=False)
    files = write_plots(tmp_path / "o", ["energy", "traffic"])
    first = {p: (tmp_path / "o" / p).read_bytes() for f in files for p in (f.png, f.svg)}
    write_plots(tmp_path / "o", ["energy", "traffic"])
    assert len(first) == 4
    for path, content in first.items():
        assert (tmp_path / "o" / path).read_bytes() == content, path
        if path.endswith(".svg"):
            assert b"<dc:date>" not in content


@pytest.mark.parametrize("suffix", ["svg", "png"])
def test_a_figure_renders_to_the_same_bytes(suffix: str) -> None:
    from npusim.report.figures import pyplot, render

    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [2, 0, 1])
    ax.set_title("clipped")
    try:
        assert render(fig, suffix) == render(fig, suffix)
    finally:
        plt.close(fig)
