"""Sweep plots: every plot for every workload, PNG + SVG, units, titles, honest SQNR."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pytest

from npusim.report.plots import PLOTS, write_plots
from npusim.simulate import FIDELITIES
from npusim.sweep import ResultStore, StoredPoint, run_sweep
from npusim.sweep.spec import Point, WorkloadSpec
from npusim.sweep.views import load_views, sqnr_db, tensor_bytes, values_per_s, weight_bits

SWEEP = """
name: plots
scenario: lpddr5_51gbps_4mib
workloads: [resnet50_layers]
axes:
  precision: [fp32, int8, int4]
  sram.capacity: [1 MiB, 2 MiB]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plots")
    (folder / "s.yaml").write_text(SWEEP)
    run_sweep(folder / "s.yaml", folder / "out", jobs=2, report=False)
    write_plots(folder / "out")  # drawn once; the tests read the files
    return folder / "out"


def test_every_plot_is_written_as_png_and_svg(swept: Path) -> None:
    import matplotlib.image

    for name in PLOTS:
        image = matplotlib.image.imread(swept / "plots" / f"{name}-resnet50_layers.png")
        height_px, width_px = image.shape[:2]
        assert 600 <= width_px <= 1200 and height_px >= 250  # README-sized, not huge
        svg = (swept / "plots" / f"{name}-resnet50_layers.svg").read_text()
        # Titles name the scenario and the workload.
        assert "lpddr5_51gbps_4mib" in svg and "resnet50_layers" in svg


@pytest.mark.parametrize(
    ("plot", "units"),
    [
        ("bandwidth", ["(GB/s)", "(billion/s)", "(weight bits)"]),
        (
            "traffic",
            ["(MiB per inference)", "weights", "activations", "outputs", "spills", "metadata"],
        ),
        ("energy", ["(µJ)", "MAC", "SRAM", "DRAM", "static"]),
        ("roofline", ["(MAC/B DRAM)", "(GMAC/s)"]),
        ("hit_rate", ["SRAM capacity (MiB)", "(fraction)"]),
        ("layer_time", ["(µs)", "memory stall"]),
    ],
)
def test_axes_carry_units(swept: Path, plot: str, units: list[str]) -> None:
    svg = (swept / "plots" / f"{plot}-resnet50_layers.svg").read_text()
    for text in units:
        # matplotlib writes SVG text as glyph paths with the string in a comment.
        assert text in svg, f"{plot}: {text!r} missing"


def _copy_store(source: Path, target: Path, edit_layer: Callable[[int, dict], None]) -> None:
    """Copy every stored point (key, axes, order) with ``edit_layer(bits, layer)`` applied."""
    with ResultStore(source) as src, ResultStore(target) as dst:
        dst.set_meta("sweep", src.meta("sweep"))
        for p in src.points():
            summary = json.loads(json.dumps(p.summary))
            bits = weight_bits(summary["precision"]["weights"])
            for layer in summary["layers"]:
                edit_layer(bits, layer)
            point = Point(p.index, p.key, p.scenario, WorkloadSpec(p.workload),
                          tuple(p.axes.items()), (), p.precision, p.fidelity,
                          p.peak_macs_per_s)  # fmt: skip
            dst.record(point, p.sweep, summary, None, 0.0)


def test_sqnr_plot_of_the_real_runs(swept: Path) -> None:
    """Every fidelity runs the quantizer in the loop, so this sweep reports SQNR: FP32 points
    are lossless, the integer points carry the mean of their layers' finite SQNRs (averaged
    here from summary.json), INT8 above INT4, and the plot draws them."""
    svg = (swept / "plots" / "sqnr-resnet50_layers.svg").read_text()
    _, [view] = load_views(swept)
    assert len(view.points) == 6
    weights = {}
    for point in view.points:
        layers = point.summary["layers"]
        if point.precision == "fp32":
            assert sqnr_db(point) == {"weights": math.inf, "activations": math.inf}
            continue
        db = [layer["weight_sqnr_db"] for layer in layers if layer.get("weight_sqnr_db")]
        assert len(db) == len(layers)  # every ResNet-50 layer here has quantized weights
        assert sqnr_db(point)["weights"] == pytest.approx(sum(db) / len(db))
        weights.setdefault(point.precision, set()).add(round(sqnr_db(point)["weights"], 9))
    # SRAM capacity does not change the tensors: one SQNR per precision, INT8 about 24 dB up
    assert len(weights["int8"]) == len(weights["int4"]) == 1
    assert 20 < min(weights["int8"]) - min(weights["int4"]) < 28
    assert "SQNR (dB)" in svg and "not available" not in svg
    assert "lossless (∞ dB), not drawn: fp32" in svg


def test_sqnr_plot_without_sqnr_says_so(swept: Path, tmp_path: Path) -> None:
    def drop(bits: int, layer: dict) -> None:
        layer.pop("weight_sqnr_db", None)
        layer.pop("input_sqnr_db", None)

    _copy_store(swept, tmp_path, drop)
    [sqnr] = write_plots(tmp_path, ["sqnr"])
    svg = (tmp_path / sqnr.svg).read_text()
    assert "SQNR is not available for fidelity" in svg and "SQNR (dB)" not in svg


def test_sqnr_plot_uses_per_layer_sqnr_when_present(swept: Path, tmp_path: Path) -> None:
    # Test data, not simulation output: each layer gets 6.02 dB per bit (the uniform-quantizer
    # rule of thumb); null (exact) for FP32, as summary.json writes an infinite SQNR.
    def fake(bits: int, layer: dict) -> None:
        layer["weight_sqnr_db"] = None if bits == 32 else 6.02 * bits
        layer["input_sqnr_db"] = None if bits == 32 else 6.02 * bits - 1

    _copy_store(swept, tmp_path, fake)
    [sqnr] = write_plots(tmp_path, ["sqnr"])
    svg = (tmp_path / sqnr.svg).read_text()
    assert "not available" not in svg and "SQNR (dB)" in svg
    assert "lossless (∞ dB), not drawn: fp32" in svg


def test_sqnr_mean_ignores_lossless_layers() -> None:
    layers = [{"weight_sqnr_db": 30.0}, {"weight_sqnr_db": math.inf}, {"weight_sqnr_db": 20.0}]
    point = StoredPoint("k", 0, "s", "sc", "w", "int8", "analytic", {}, "ok",
                        {"layers": layers}, None, None, None)  # fmt: skip
    assert sqnr_db(point) == {"weights": 25.0}
    # null in summary.json: an exact format (infinite SQNR); a missing key: not reported.
    layers = [{"input_sqnr_db": None}, {"input_sqnr_db": math.inf}, {"name": "softmax"}]
    lossless = StoredPoint("k", 0, "s", "sc", "w", "fp32", "analytic", {}, "ok",
                           {"layers": layers}, None, None, None)  # fmt: skip
    assert sqnr_db(lossless) == {"activations": math.inf}
    nothing = StoredPoint("k", 0, "s", "sc", "w", "fp32", "analytic", {}, "ok",
                          {"layers": [{"name": "fc"}]}, None, None, None)  # fmt: skip
    assert sqnr_db(nothing) is None


def test_values_per_second_is_the_primers_figure() -> None:
    # 51.2 GB/s moves 12.8 billion FP32 values/s and 51.2 billion INT8 values/s.
    assert values_per_s(51.2e9, "fp32") == pytest.approx(12.8e9)
    assert values_per_s(51.2e9, "int8") == pytest.approx(51.2e9)
    assert weight_bits("wint4-aint8") == 4 and weight_bits("binary") == 1
    # the run's own labels: W4A8, unsigned, mixed float, and a per-layer override after "+"
    assert [weight_bits(x) for x in ("w4a8", "wu4au8", "wfp16-aint8", "int8+fc:w4a8")] == [
        4, 4, 16, 8]  # fmt: skip


def test_hit_rate_plot_is_left_out_without_a_capacity_axis(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "scenario: lpddr5_51gbps_4mib\nworkloads: [gemv_4096]\naxes: {precision: [int8]}\n"
    )
    run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, report=False)
    assert write_plots(tmp_path / "o", ["hit_rate", "energy"])[0].name == "energy"
    assert not (tmp_path / "o" / "plots" / "hit_rate-gemv_4096.png").exists()


@pytest.mark.parametrize("plot", ["energy", "traffic"])
def test_energy_and_traffic_show_every_value_of_the_other_axis(swept: Path, plot: str) -> None:
    svg = (swept / "plots" / f"{plot}-resnet50_layers.svg").read_text()
    assert "sram.capacity = 1 MiB" in svg and "sram.capacity = 2 MiB" in svg


@pytest.mark.parametrize("plot", ["bandwidth", "roofline", "energy", "hit_rate"])
def test_legends_do_not_cover_the_data(swept: Path, plot: str) -> None:
    from npusim.report.plot_style import styled_pyplot

    plt = styled_pyplot()
    _, [view] = load_views(swept)
    fig = PLOTS[plot][0](plt, view)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box, frame = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
        inside = box.x0 < frame.x1 and box.x1 > frame.x0 and box.y0 < frame.y1
        # a legend inside the axes sits in the bandwidth plot's empty lower-left corner only
        assert not inside or (plot == "bandwidth" and box.y1 < frame.y0 + 0.3 * frame.height)
    plt.close(fig)


def test_plots_when_the_reference_slice_failed(tmp_path: Path) -> None:
    # 16 KiB holds no tile of ResNet-50's conv1 (it needs 36864 B): the first value fails.
    (tmp_path / "s.yaml").write_text(
        "scenario: lpddr5_51gbps_4mib\nworkloads: [resnet50_layers]\n"
        "axes: {sram.capacity: [16 KiB, 64 KiB]}\n"
    )
    outcome = run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, report=False)
    assert outcome.exit_code == 1
    files = {f.name: f for f in write_plots(tmp_path / "o", ["energy", "hit_rate"])}
    energy = (tmp_path / "o" / files["energy"].svg).read_text()
    assert "No successful point at sram.capacity = 16 KiB" in energy
    assert "No successful" not in (tmp_path / "o" / files["hit_rate"].svg).read_text()


@pytest.mark.skipif("cycle" not in FIDELITIES, reason="this npusim has no cycle fidelity")
def test_cycle_fidelity_sweep_and_honest_plots(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "scenario: lpddr5_51gbps_4mib\nworkloads: [mlp]\naxes: {precision: [int8]}\n"
    )
    cycle = run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, fidelity="cycle", report=False)
    analytic = run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, report=False)
    assert (cycle.ran, analytic.ran, analytic.skipped) == (1, 1, 0)  # fidelity is in the key
    with ResultStore(tmp_path / "o") as store:
        assert sorted(p.fidelity for p in store.points()) == ["analytic", "cycle"]
    # The plots follow the sweep's last fidelity (analytic here) and say which it is.
    [traffic] = write_plots(tmp_path / "o", ["traffic"])
    assert "mlp · analytic" in (tmp_path / "o" / traffic.svg).read_text()
    run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, fidelity="cycle", report=False)
    [traffic] = write_plots(tmp_path / "o", ["traffic"])
    svg = (tmp_path / "o" / traffic.svg).read_text()
    assert "mlp · cycle" in svg
    _, [view] = load_views(tmp_path / "o")
    if tensor_bytes(view.points[0]) is None:  # the engine reports no per-kind split
        assert "cycle reports no per-kind split" in svg


def test_traffic_kinds_add_up_to_the_dram_bytes(swept: Path) -> None:
    """The traffic plot's stacks are the whole DRAM traffic: kinds (spills included) sum to
    reads plus writes for every point."""
    _, views = load_views(swept)
    for view in views:
        for point in view.points:
            totals = point.summary["totals"]
            kinds = tensor_bytes(point)
            assert kinds is not None and "spills" in kinds
            assert sum(kinds.values()) == totals["dram_read_bytes"] + totals["dram_write_bytes"]
