"""Per-layer precision/quantization, vector-unit layers and the quantizer in the loop."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main
from npusim.config import load_scenario
from npusim.errors import CapacityError, ConfigError
from npusim.simulate import simulate
from npusim.workload import Linear, Workload, load_workload

FC = Workload("fc", (Linear("a", in_features=1024, out_features=1024),
                     Linear("b", in_features=1024, out_features=1024)))  # fmt: skip


def test_a_layer_override_changes_only_that_layer() -> None:
    scenario = load_scenario(overrides=["precision.layers.b.weights=int4"])
    run = simulate(scenario, FC, "analytic")
    a, b = run.layers
    assert a.extra["weight_precision"] == "int8" and b.extra["weight_precision"] == "int4"
    assert b.extra["weight_read_bytes"] * 2 == a.extra["weight_read_bytes"]
    assert run.precision["weights"] == "int8"


def test_a_float_layer_gets_a_float_accumulator() -> None:
    scenario = load_scenario(overrides=["precision.layers.a={weights: fp16, activations: fp16}"])
    view = scenario.for_layer("a")
    assert view.precision.accumulator == "fp32" and view.precision.mac == "fp16"
    assert scenario.for_layer("b") is scenario


def test_per_layer_quantization_reaches_the_quantizer() -> None:
    base = load_scenario(precision="int4")
    grouped = load_scenario(precision="int4", overrides=[
        "quantization.layers.a={granularity: per_group, group_size: 64}"])  # fmt: skip
    a_base = simulate(base, FC, "analytic").layers[0]
    a_grouped = simulate(grouped, FC, "analytic").layers[0]
    # 16 groups per output channel instead of one scale: 16x the scale metadata
    assert a_grouped.extra["metadata_bytes"] > a_base.extra["metadata_bytes"]
    assert a_grouped.extra["weight_sqnr_db"] > a_base.extra["weight_sqnr_db"]


def test_unknown_layer_in_an_override_is_a_config_error() -> None:
    scenario = load_scenario(overrides=["precision.layers.bb.weights=int4"])
    with pytest.raises(ConfigError, match="no layer 'bb' in workload 'fc' \\(did you mean 'b'"):
        simulate(scenario, FC, "analytic")


@pytest.mark.parametrize("precision", ["fp32", "int8", "int4", "binary"])
def test_sqnr_is_reported_and_grows_with_bits(precision: str) -> None:
    layer = simulate(load_scenario(precision=precision), FC, "analytic").layers[0]
    if precision == "fp32":
        assert layer.extra["weight_sqnr_db"] is None  # exact: no quantization noise
    else:
        assert math.isfinite(layer.extra["weight_sqnr_db"])
    json.dumps(layer.as_dict(), allow_nan=False)


def test_sqnr_orders_precisions() -> None:
    sqnr = {p: simulate(load_scenario(precision=p), FC, "analytic").layers[0].extra[
        "weight_sqnr_db"] for p in ("int8", "int4", "int2")}  # fmt: skip
    assert sqnr["int8"] > sqnr["int4"] > sqnr["int2"]


def test_vector_layers_run_in_both_fidelities_and_cycle_is_never_faster() -> None:
    workload = load_workload("bert_base", params={"seq_len": 16})
    scenario = load_scenario()
    first_block = Workload("bert_block", workload.layers[:12])
    kinds = {layer.kind for layer in first_block.layers}
    assert {"linear", "matmul", "softmax", "layernorm"} & kinds >= {"softmax", "matmul"}
    analytic = simulate(scenario, first_block, "analytic")
    cycle = simulate(scenario, first_block, "cycle")
    for a, c in zip(analytic.layers, cycle.layers, strict=True):
        assert c.cycles >= a.cycles, c.name
        if a.macs == 0:
            assert a.extra["vector_ops"] > 0 or a.dram_read_bytes == 0
    totals = cycle.totals()
    assert totals["dram_bandwidth_gbps"] <= totals["dram_peak_gbps"]
    assert 0 < totals["mac_utilization"] <= 1


def test_scalesim_topology_runs_as_a_workload(tmp_path: Path) -> None:
    topology = tmp_path / "net.csv"
    header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
    topology.write_text(header + "Num Filter, Strides,\nconv, 16, 16, 3, 3, 8, 16, 1,\n")
    workload = load_workload(topology)
    assert workload.name == "net" and workload.layers[0].kind == "conv2d"
    assert simulate(load_scenario(), workload, "analytic").layers[0].macs > 0


def test_a_tile_that_cannot_fit_the_sram_names_the_layer_and_sizes(tmp_path: Path) -> None:
    scenario = load_scenario(overrides=["sram.capacity=1 KiB", "sram.ways=1"])
    with pytest.raises(CapacityError, match="layer 'a': no tile fits the 1024 B SRAM"):
        simulate(scenario, FC, "cycle")
    out = tmp_path / "o"
    code = main(["run", "-w", "mlp", "--set", "sram.capacity=1 KiB", "sram.ways=1",
                 "--out", str(out)])  # fmt: skip
    assert code == 2 and not out.exists()


def test_tile_major_weights_cover_every_byte_exactly_once() -> None:
    """Grouped layer whose groups do not divide into whole tiles: no tile straddles groups."""
    from npusim.engine.placement import Placer
    from npusim.engine.residency import plan_network
    from npusim.engine.system import WEIGHT
    from npusim.workload import Conv2d

    scenario = load_scenario(overrides=["sram.capacity=128 KiB"])
    layer = Conv2d("g", in_h=28, in_w=28, in_channels=400, out_channels=400, kernel_h=3,
                   kernel_w=3, padding=1, groups=2)  # fmt: skip
    network = plan_network(Workload("w", (layer,)), scenario)
    plan = network.plans[0]
    assert plan.layer.gemm().n % plan.tiling.tn != 0  # the case that used to overlap
    steps = Placer(1 << 34, network).steps(plan, network.layers[0])
    blocks = {(int(a), int(z)) for step in steps for part in step.loads if part.kind == WEIGHT
              for a, z in zip(part.addrs, part.sizes, strict=True)}  # fmt: skip
    base = min(a for a, _ in blocks)
    coverage = np.zeros(plan.weight.total, np.int32)
    for address, size in blocks:
        coverage[address - base : address - base + size] += 1
    assert (coverage == 1).all()
