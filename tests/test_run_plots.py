"""Per-run plots read at a glance: bounded size, named layers, legends off the data (issue 15).

The runs here are test data (made-up layers and transfers), not simulation output: the plots'
layout is under test, not the engine.
"""

from __future__ import annotations

import io

import pytest

from npusim.report.run_plots import (
    MAX_LAYERS_SHOWN,
    breakdown_groups,
    plot_bandwidth_over_time,
    plot_layer_breakdown,
)
from npusim.results import Energy, LayerResult, RunResult


def fake_run(layers: int) -> RunResult:
    def layer(i: int) -> LayerResult:
        cycles = 1000 + 37 * ((i * 7919) % 101)  # distinct lengths, not in execution order
        return LayerResult(
            name=f"block{i}_conv", type="conv2d", m=8, k=8, n=8, groups=1, macs=512,
            cycles=cycles, time_s=cycles * 1e-9, compute_cycles=cycles // 2,
            memory_cycles=cycles, stall_cycles=cycles // 2, bound="memory", folds=1,
            mapping_efficiency=1.0, mac_utilization=0.5, peak_macs_per_cycle=1.0,
            dram_read_bytes=4096, dram_write_bytes=512, dram_bandwidth_gbps=1.0, cache_hits=1,
            cache_misses=1, cache_hit_rate=0.5, energy_pj=Energy(1.0, 2.0, 3.0, 4.0),
        )  # fmt: skip

    result_layers = tuple(layer(i) for i in range(layers))
    starts = [sum(la.time_s for la in result_layers[:i]) for i in range(layers)]
    timeline = {"start_s": starts, "end_s": [s + la.time_s for s, la in
                                              zip(starts, result_layers, strict=True)],
                "read_bytes": [4096] * layers, "write_bytes": [512] * layers,
                "layer": [la.name for la in result_layers]}  # fmt: skip
    return RunResult("scn", "net", "cycle", {"weights": "int8", "activations": "int8",
                     "accumulator": "int32"}, 51.2, result_layers, timeline=timeline)  # fmt: skip


def png_size(png: bytes) -> tuple[int, int]:
    import matplotlib.image

    height, width = matplotlib.image.imread(io.BytesIO(png)).shape[:2]
    return width, height


def test_breakdown_of_a_large_network_shows_the_longest_layers_and_sums_the_rest() -> None:
    run = fake_run(150)
    groups = breakdown_groups(run)
    assert len(groups) == MAX_LAYERS_SHOWN + 1
    assert groups[-1][0] == f"other ({150 - MAX_LAYERS_SHOWN} layers)"
    shown = [members[0] for _, members in groups[:-1]]
    assert shown == sorted(shown)  # execution order
    longest = sorted(range(150), key=lambda i: -run.layers[i].time_s)[:MAX_LAYERS_SHOWN]
    assert set(shown) == set(longest)
    assert sum(len(m) for _, m in groups) == 150  # every layer counted once
    width, height = png_size(plot_layer_breakdown(run, "b")["b.png"])
    assert width <= 1400 and height <= 900, (width, height)


def test_small_networks_keep_every_layer() -> None:
    run = fake_run(5)
    assert [name for name, _ in breakdown_groups(run)] == [la.name for la in run.layers]


@pytest.mark.parametrize("layers", [6, 60])
def test_bandwidth_plot_names_layers(layers: int) -> None:
    run = fake_run(layers)
    svg = plot_bandwidth_over_time(run, "bw")["bw.svg"].decode()
    longest = max(run.layers, key=lambda la: la.time_s)
    assert longest.name in svg
    if layers > 16:
        assert "16 longest named" in svg
    width, _ = png_size(plot_bandwidth_over_time(run, "bw")["bw.png"])
    assert width <= 1300
