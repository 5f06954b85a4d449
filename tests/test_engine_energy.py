"""The engine's SRAM energy: port-width accesses, each to one bank, at the scenario's node."""

from __future__ import annotations

import math

import pytest

from npusim.config import load_scenario
from npusim.engine.energy import sram_energy_pj

KIB = 1024


def _bank_access_pj(bank_bytes: int, access_bits: int) -> float:
    """64-bit read from Horowitz's log-log table (32 KB 20 pJ, 1 MB 100 pJ), widened by the
    CACTI 64 KB point (51.9 pJ per 256-bit read): an independent re-derivation."""
    per_64bit = 20.0 * (bank_bytes / (32 * KIB)) ** (math.log(5) / math.log(32))
    at_64kib = 20.0 * 2 ** (math.log(5) / math.log(32))
    alpha = math.log(51.9 / at_64kib) / math.log(4)
    return per_64bit * (access_bits / 64) ** alpha


def test_default_scenario_reads_a_256kib_bank_through_a_64_byte_port() -> None:
    scenario = load_scenario()  # 4 MiB, 16 banks, 64 B port
    read = _bank_access_pj(256 * KIB, 512)
    assert sram_energy_pj(scenario, 64 * 3, 0) == pytest.approx(3 * read)
    assert sram_energy_pj(scenario, 65, 0) == pytest.approx(2 * read)  # a partial access
    assert sram_energy_pj(scenario, 0, 64) == pytest.approx(read * 66.3 / 51.9)


def test_more_banks_cost_less_per_access() -> None:
    few = load_scenario(overrides=["sram.banks=4"])
    many = load_scenario(overrides=["sram.banks=64"])
    assert sram_energy_pj(few, 64, 0) == pytest.approx(_bank_access_pj(1024 * KIB, 512))
    assert sram_energy_pj(many, 64, 0) == pytest.approx(_bank_access_pj(64 * KIB, 512))


def test_vector_ops_cost_one_mac_at_the_vector_precision() -> None:
    from npusim.engine.plan import plan_layer
    from npusim.workload import load_workload

    layer = next(
        lay for lay in load_workload("gpt2_decode").layers if lay.gemm() is None and lay.vector_ops
    )
    default = plan_layer(layer, load_scenario())  # INT8 activations: an INT8 MAC, 0.3 pJ
    assert default.op_energy_pj == pytest.approx(layer.vector_ops * 0.3)
    fp16 = plan_layer(layer, load_scenario(overrides=["vector.precision=fp16"]))
    assert fp16.op_energy_pj == pytest.approx(layer.vector_ops * (1.1 + 0.9))  # Horowitz


def test_only_integer_outputs_are_requantized() -> None:
    from npusim.engine.plan import plan_layer
    from npusim.workload import Linear

    fc = Linear("fc", in_features=64, out_features=48, tokens=5)
    int8 = plan_layer(fc, load_scenario(precision="int8"))
    w4a16 = load_scenario(overrides=["precision.weights=int4", "precision.activations=fp16",
                                     "precision.accumulator=fp32"])  # fmt: skip
    mixed = plan_layer(fc, w4a16)  # an FP16 MAC with float outputs: nothing to requantize
    t8, tm = int8.timing, mixed.timing
    assert t8 is not None and tm is not None
    assert int8.op_energy_pj - t8.mac_energy_pj - t8.register_energy_pj == pytest.approx(
        5 * 48 * (0.2 * 16 + 0.1)
    )
    dequantize = tm.weight_reads * 1.1  # its INT4 weights, one FP16 multiply per read
    assert mixed.op_energy_pj == pytest.approx(
        tm.mac_energy_pj + tm.register_energy_pj + dequantize
    )


def test_vector_precision_must_be_a_float_format() -> None:
    from npusim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"vector\.precision.*fp32"):
        load_scenario(overrides=["vector.precision=int8"])


def test_integer_weights_feeding_float_macs_are_dequantized_per_read() -> None:
    from npusim.engine.plan import plan_layer
    from npusim.workload import Linear

    fc = Linear("fc", in_features=64, out_features=48, tokens=5)
    overrides = ["precision.weights=int4", "precision.activations=fp16",
                 "precision.accumulator=fp32"]  # fmt: skip
    symmetric = plan_layer(fc, load_scenario(overrides=overrides))
    affine = plan_layer(fc, load_scenario(overrides=[*overrides, "quantization.symmetric=false"]))
    t = symmetric.timing
    assert t is not None
    # (q - Z) * S per weight read: one FP16 multiply (Horowitz 1.1 pJ), + a 4-bit subtract
    # (0.03 * 4 / 8 pJ) when the zero point is stored
    base = t.mac_energy_pj + t.register_energy_pj
    assert symmetric.op_energy_pj - base == pytest.approx(t.weight_reads * 1.1)
    assert affine.op_energy_pj - base == pytest.approx(t.weight_reads * (1.1 + 0.015))
    # same-format operands dequantize nothing
    fp16 = plan_layer(fc, load_scenario(precision="fp16"))
    assert fp16.timing is not None
    assert fp16.op_energy_pj == pytest.approx(
        fp16.timing.mac_energy_pj + fp16.timing.register_energy_pj
    )


@pytest.mark.parametrize("fidelity", ["analytic", "cycle"])
def test_the_array_energy_split_adds_up_per_layer_and_in_total(fidelity: str) -> None:
    """`array_energy_pj` splits each layer's MAC-array energy into its parts (MACs, PE
    registers, accumulator buffer, requantize, dequantize; vector ops for the vector unit)
    and the parts add up to `energy_pj.mac`, layer by layer and in the run's totals."""
    from npusim.simulate import simulate
    from npusim.workload import load_workload

    run = simulate(load_scenario(precision="int8"), load_workload("mlp"), fidelity)
    for layer in run.layers:
        parts = layer.extra["array_energy_pj"]
        assert parts and all(value >= 0 for value in parts.values())
        assert sum(parts.values()) == pytest.approx(layer.energy_pj.mac, rel=1e-12)
    totals = run.totals()
    assert sum(totals["array_energy_pj"].values()) == pytest.approx(
        totals["energy_pj"]["mac"], rel=1e-12
    )
    assert totals["array_energy_pj"]["requantize"] > 0  # INT8 outputs are requantized
