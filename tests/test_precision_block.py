"""Block-scaled precisions (OCP MX v1.0, NVFP4) as scenario precisions (issue 14): bytes per
element, DRAM bytes of a run, MAC energy and the reported quantization error.

Expected numbers are worked by hand from the formats' definitions: MX stores ``b``-bit
elements and one 8-bit E8M0 scale per 32 elements; NVFP4 stores 4-bit elements, one 8-bit E4M3
scale per 16 elements and one FP32 scale per tensor.
"""

from __future__ import annotations

import numpy as np
import pytest

from npusim.config import load_scenario
from npusim.errors import ConfigError, QuantizationError
from npusim.precision import PRECISIONS
from npusim.quant import quantize, spec_for_precision, storage_bytes
from npusim.workload import Linear, Workload

# name: (element bits, elements per scale, scale bytes, bytes per tensor)
BLOCK_FORMATS = {
    "mxint8": (8, 32, 1, 0),
    "mxfp8_e4m3": (8, 32, 1, 0),
    "mxfp8_e5m2": (8, 32, 1, 0),
    "mxfp6_e3m2": (6, 32, 1, 0),
    "mxfp6_e2m3": (6, 32, 1, 0),
    "mxfp4_e2m1": (4, 32, 1, 0),
    "nvfp4": (4, 16, 1, 4),
}
BITS_PER_ELEMENT = {"mxint8": 8.25, "mxfp8_e4m3": 8.25, "mxfp8_e5m2": 8.25, "mxfp6_e3m2": 6.25,
                    "mxfp6_e2m3": 6.25, "mxfp4_e2m1": 4.25, "nvfp4": 4.5}  # fmt: skip
"""4 + 8 / 32 = 4.25 (MXFP4), 4 + 8 / 16 = 4.5 (NVFP4, without its one FP32 per tensor)..."""


def _hand_bytes(name: str, rows: int, cols: int) -> int:
    bits, block, scale_bytes, per_tensor = BLOCK_FORMATS[name]
    return rows * cols * bits // 8 + rows * -(-cols // block) * scale_bytes + per_tensor


def test_every_block_precision_is_listed() -> None:
    assert {n for n, p in PRECISIONS.items() if p.is_block} == set(BLOCK_FORMATS)


@pytest.mark.parametrize("name", BLOCK_FORMATS)
def test_bits_per_element_by_hand(name: str) -> None:
    assert PRECISIONS[name].bits_per_element == BITS_PER_ELEMENT[name]
    # 4 rows of 64: whole blocks, so the stored bits per element are exactly the format's
    # (plus NVFP4's 32-bit tensor scale over 256 elements)
    stored = storage_bytes((4, 64), spec_for_precision(name))
    assert stored.total == _hand_bytes(name, 4, 64)
    tensor_bits = 32 if name == "nvfp4" else 0
    assert stored.total * 8 == BITS_PER_ELEMENT[name] * 256 + tensor_bits


@pytest.mark.parametrize("name", BLOCK_FORMATS)
def test_a_partial_last_block_has_its_own_scale(name: str) -> None:
    stored = storage_bytes((3, 40), spec_for_precision(name))
    assert stored.total == _hand_bytes(name, 3, 40)  # 40 = 32 + 8 (MX) or 16 + 16 + 8
    assert stored.metadata_bytes == _hand_bytes(name, 3, 40) - 3 * 40 * BLOCK_FORMATS[name][0] // 8


def test_the_plain_quantizer_refuses_block_formats_with_one_line() -> None:
    with pytest.raises(QuantizationError, match=r"mxfp4_e2m1 is block-scaled: .*block_quantize"):
        quantize(np.ones((2, 32), np.float32), spec_for_precision("mxfp4_e2m1"))


GEMV = Workload("gemv", (Linear("gemv", in_features=4096, out_features=1024, tokens=1),))


@pytest.mark.parametrize("fidelity", ["analytic", "cycle"])
@pytest.mark.parametrize("name", ["mxint8", "mxfp6_e3m2", "mxfp4_e2m1", "nvfp4"])
def test_dram_bytes_of_a_gemv_follow_the_format(name: str, fidelity: str) -> None:
    """A 1 x 4096 x 1024 GEMV whose 4 MiB-or-less weights stream once: DRAM reads are the
    weights (1024 rows of 4096) and the input (one row of 4096), DRAM writes the output (one
    row of 1024), each with its scales."""
    from npusim.simulate import simulate

    run = simulate(load_scenario(precision=name), GEMV, fidelity, measure_quality=False)
    layer = run.layers[0]
    reads = _hand_bytes(name, 1024, 4096) + _hand_bytes(name, 1, 4096)
    if fidelity == "analytic":
        assert layer.dram_read_bytes == reads
        assert layer.dram_write_bytes == _hand_bytes(name, 1, 1024)
    else:  # what the DMA asks for (the DRAM then moves whole bursts)
        assert layer.extra["dma_read_bytes"] == reads
        assert layer.extra["dma_write_bytes"] == _hand_bytes(name, 1, 1024)


def test_dram_bytes_scale_with_bits_per_element() -> None:
    """Across formats, the GEMV's DRAM reads are in the ratio of their bits per element (the
    per-tensor parts, NVFP4's 8 bytes of tensor scales, aside)."""
    from npusim.simulate import simulate

    reads = {name: simulate(load_scenario(precision=name), GEMV, "analytic",
                            measure_quality=False).layers[0].dram_read_bytes
             for name in ("mxint8", "mxfp6_e2m3", "mxfp4_e2m1", "nvfp4")}  # fmt: skip
    elements = 1024 * 4096 + 4096
    for name, moved in reads.items():
        per_tensor = 8 if name == "nvfp4" else 0
        assert (moved - per_tensor) * 8 == BITS_PER_ELEMENT[name] * elements


@pytest.mark.parametrize("name", ["mxint8", "mxfp8_e4m3", "mxfp4_e2m1", "nvfp4"])
def test_energy_is_additive_and_macs_are_priced_per_format(name: str) -> None:
    """The MAC array's energy is the MACs at the block MAC's cost, the PE registers and one
    block conversion per output; the run's total is the sum of its components and layers."""
    from npusim.compute.energy import block_quantize_cost, mac_cost
    from npusim.simulate import simulate

    mlp = Workload("two", (Linear("fc1", in_features=256, out_features=96, tokens=8),
                           Linear("fc2", in_features=96, out_features=64, tokens=8)))  # fmt: skip
    run = simulate(load_scenario(precision=name), mlp, "analytic")
    for layer in run.layers:
        parts = layer.extra["array_energy_pj"]
        assert parts["macs"] == pytest.approx(layer.macs * mac_cost(name, "fp32").energy_pj)
        outputs = layer.m * layer.n
        assert parts["requantize"] == pytest.approx(outputs * block_quantize_cost(name).energy_pj)
        assert parts["dequantize"] == 0
        assert sum(parts.values()) == pytest.approx(layer.energy_pj.mac, rel=1e-12)
    totals = run.totals()["energy_pj"]
    components = {k: v for k, v in totals.items() if k != "total"}
    assert sum(components.values()) == pytest.approx(totals["total"], rel=1e-12)
    for key, value in components.items():
        assert value == pytest.approx(sum(lay.energy_pj.as_dict()[key] for lay in run.layers))


def test_block_mac_costs_follow_the_element_width() -> None:
    """Narrower elements cost less per MAC; NVFP4 pays for its E4M3 scale multiply (0.25 pJ)
    over MXFP4's E8M0 exponent add (0.22 pJ); all accumulate in FP32."""
    from npusim.compute.energy import DEFAULT_ACCUMULATOR, mac_cost

    pj = {name: mac_cost(name).energy_pj for name in BLOCK_FORMATS}
    assert pj["mxfp4_e2m1"] < pj["nvfp4"] < pj["mxint8"] < pj["mxfp8_e4m3"]
    assert pj["mxfp6_e2m3"] < pj["mxfp8_e4m3"]
    assert all(DEFAULT_ACCUMULATOR[name] == "fp32" for name in BLOCK_FORMATS)


def test_the_run_reports_the_block_formats_quantization_error() -> None:
    """The layer's weight SQNR is the block quantizer's on the same sampled tensor."""
    from npusim.engine.quality import layer_quality
    from npusim.quant.mx import block_quantize
    from npusim.workload.tensors import layer_tensors

    layer = GEMV.layers[0]
    for name in ("mxfp4_e2m1", "nvfp4", "mxint8"):
        scenario = load_scenario(precision=name)
        quality = layer_quality(layer, GEMV, scenario)
        tensors = layer_tensors(layer, GEMV, scenario.seed, max_elements=1 << 14)
        expected = block_quantize(tensors.weights, name).error
        assert quality["weight_sqnr_db"] == pytest.approx(expected.sqnr_db)
        assert quality["weight_clipped_fraction"] == expected.fraction_clipped
    mx4 = layer_quality(layer, GEMV, load_scenario(precision="mxfp4_e2m1"))["weight_sqnr_db"]
    mx8 = layer_quality(layer, GEMV, load_scenario(precision="mxint8"))["weight_sqnr_db"]
    assert mx8 > mx4 + 20  # four more significand bits: about 6 dB each


def test_a_scenario_can_mix_block_formats_with_their_accumulator() -> None:
    scenario = load_scenario(overrides=["precision.weights=mxfp4_e2m1",
                                        "precision.activations=mxint8",
                                        "precision.accumulator=fp32"])  # fmt: skip
    assert scenario.precision.mac == "mxint8"  # the wider operand decides
    with pytest.raises(ConfigError, match="accumulator 'int32' does not match 'mxint8'"):
        load_scenario(overrides=["precision.weights=mxint8", "precision.activations=mxint8"])


def test_the_bundled_microscaling_sweep_runs_every_precision() -> None:
    """sweeps/microscaling.yaml's eight precisions all load and run (analytic, one small
    layer here to keep the test quick)."""
    from pathlib import Path

    import yaml

    from npusim.simulate import simulate

    sweep = Path(__file__).resolve().parents[1] / "sweeps" / "microscaling.yaml"
    precisions = yaml.safe_load(sweep.read_text())["axes"]["precision"]
    assert precisions == ["fp32", "int8", "mxint8", "mxfp8_e4m3", "mxfp6_e2m3", "mxfp4_e2m1",
                          "nvfp4", "int4"]  # fmt: skip
    small = Workload("fc", (Linear("fc", in_features=128, out_features=64, tokens=4),))
    reads = {p: simulate(load_scenario(precision=p), small, "analytic").totals()["dram_read_bytes"]
             for p in precisions}  # fmt: skip
    assert reads["fp32"] > reads["mxint8"] > reads["int8"] > reads["mxfp6_e2m3"]
    assert reads["mxfp6_e2m3"] > reads["nvfp4"] > reads["mxfp4_e2m1"] > reads["int4"]


def test_the_scenario_default_rates_are_the_arrays() -> None:
    from npusim.compute.params import BLOCK_MACS_PER_PE_PER_CYCLE
    from npusim.config.schema import ARRAY

    defaults = ARRAY["macs_per_pe_per_cycle"].default
    assert {n: defaults[n] for n in BLOCK_FORMATS} == dict(BLOCK_MACS_PER_PE_PER_CYCLE)


def test_the_precision_table_agrees_with_the_quantizers_formats() -> None:
    """precision.py's element widths and fields are the quantizer's (npusim.quant.mx), and
    every block precision is a QuantSpec format."""
    from npusim.quant.mx import MX_BLOCK, MX_FORMATS, NVFP4_BLOCK
    from npusim.quant.spec import Format

    for name, fmt in MX_FORMATS.items():
        p = PRECISIONS[name]
        assert (p.bits, p.block, p.scale_bits) == (fmt.element_bits, MX_BLOCK, 8)
        element = fmt.element
        fields = (0, 0) if element is None else (element.exponent_bits, element.mantissa_bits)
        assert (p.exponent_bits, p.mantissa_bits) == fields
    assert (PRECISIONS["nvfp4"].block, PRECISIONS["nvfp4"].bits) == (NVFP4_BLOCK, 4)
    assert all(Format(name).is_block for name in BLOCK_FORMATS)
