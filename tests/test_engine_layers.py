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


def _sqnr_db(x: np.ndarray, x_hat: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(x**2) / np.sum((x - x_hat) ** 2)))


def _symmetric_minmax(x: np.ndarray, bits: int, axis: int | None) -> np.ndarray:
    """PyTorch's symmetric min-max fake quantization, written out: S = max|x| / ((qmax - qmin)
    / 2) per ``axis`` row (FP32 scale), q = clamp(round-half-even(x / S), qmin, qmax)."""
    qmin, qmax = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    peak = np.abs(x).max(axis=axis, keepdims=True)
    scale = (peak / ((qmax - qmin) / 2)).astype(np.float32).astype(np.float64)
    return scale * np.clip(np.rint(x / scale), qmin, qmax)


def _binary(x: np.ndarray, axis: int | None) -> np.ndarray:
    """XNOR-Net (Rastegari et al. 2016): sign(x) times alpha = mean|x| per ``axis`` row."""
    return np.where(x >= 0, 1.0, -1.0) * np.abs(x).mean(axis=axis, keepdims=True)


@pytest.mark.parametrize("precision", ["fp32", "int8", "int4", "int2", "binary"])
def test_reported_sqnr_is_a_second_models_on_the_same_tensors(precision: str) -> None:
    """The reported weight and input SQNR equal a plain numpy model of the default scheme
    (weights symmetric per output channel, activations symmetric per tensor, min-max, FP32
    scales) on the layer's own sampled tensors; FP32 is exact (null, JSON-safe)."""
    from npusim.engine.quality import SAMPLE_ELEMENTS
    from npusim.workload.tensors import layer_tensors

    scenario = load_scenario(precision=precision)
    layer = simulate(scenario, FC, "analytic").layers[0]
    json.dumps(layer.as_dict(), allow_nan=False)
    if precision == "fp32":
        assert layer.extra["weight_sqnr_db"] is None and layer.extra["input_sqnr_db"] is None
        return
    tensors = layer_tensors(FC.layers[0], FC, scenario.seed, max_elements=SAMPLE_ELEMENTS)
    w, x = tensors.weights.astype(np.float64), tensors.inputs.astype(np.float64)
    assert w.shape == (16, 1024)  # 16 whole output channels of 1024 weights each
    if precision == "binary":
        w_hat, x_hat = _binary(w, axis=1), _binary(x, axis=None)
    else:
        bits = int(precision.removeprefix("int"))
        w_hat, x_hat = _symmetric_minmax(w, bits, axis=1), _symmetric_minmax(x, bits, axis=None)
    assert layer.extra["weight_sqnr_db"] == pytest.approx(_sqnr_db(w, w_hat), rel=1e-6)
    assert layer.extra["input_sqnr_db"] == pytest.approx(_sqnr_db(x, x_hat), rel=1e-6)


def test_sqnr_grows_by_the_step_ratio_from_int4_to_int8() -> None:
    """Uniform noise S^2 / 12 with the same clipping range: INT8's step is (2^4 - 1) / (2^8 - 1)
    of INT4's, so its SQNR is 20 log10(255 / 15) = 24.6 dB higher (within 1 dB: at 4 bits the
    noise is not quite uniform)."""
    sqnr = {p: simulate(load_scenario(precision=p), FC, "analytic").layers[0].extra
            for p in ("int8", "int4")}  # fmt: skip
    gain = 20 * math.log10(255 / 15)
    for tensor in ("weight", "input"):
        difference = sqnr["int8"][f"{tensor}_sqnr_db"] - sqnr["int4"][f"{tensor}_sqnr_db"]
        assert difference == pytest.approx(gain, abs=1.0), tensor


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
