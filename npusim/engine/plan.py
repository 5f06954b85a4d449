"""Per-layer plan shared by both fidelities: tensor sizes, tiling and array timing.

Everything here is a closed form of the scenario and the layer: the packed byte size of each
tensor at its precision (metadata included, from the quantizer), the tiling that fits the SRAM
(:mod:`npusim.engine.tiling`) and the MAC array's cycles and operand traffic
(:func:`npusim.compute.layer_timing`). The analytic model turns a plan into a roofline bound;
the cycle engine turns it into DRAM and cache transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

from npusim.compute import ArrayLayerStats, layer_timing
from npusim.config import Scenario
from npusim.engine.tiling import OperandBits, Tiling, choose_tiling
from npusim.precision import PRECISIONS
from npusim.quant import StorageBytes, spec_for_precision, storage_bytes
from npusim.workload import Layer


@dataclass(frozen=True)
class LayerPlan:
    """What a layer moves and computes. Byte sizes are DRAM bytes (packed + metadata)."""

    layer: Layer
    timing: ArrayLayerStats
    tiling: Tiling
    input: StorageBytes
    weight: StorageBytes
    output: StorageBytes
    mac_precision: str

    @property
    def metadata_bytes(self) -> int:
        return self.input.metadata_bytes + self.weight.metadata_bytes + self.output.metadata_bytes


def _activation_bytes(elements: int, scenario: Scenario) -> StorageBytes:
    """Activations: one scale (and zero point) per tensor, calibrated as the scenario says."""
    q = scenario.quantization
    spec = spec_for_precision(scenario.precision.activations, symmetric=q.symmetric,
                              granularity="per_tensor", calibration=q.calibration,
                              percentile=q.percentile)  # fmt: skip
    return storage_bytes((elements,), spec)


def _weight_bytes(rows: int, k: int, scenario: Scenario) -> StorageBytes:
    """Weights as a ``rows x k`` matrix (one row per output channel, over all groups).

    Per-channel scales run along axis 0 (output channels), per-group scales along ``k``.
    """
    q = scenario.quantization
    axis = 1 if q.granularity == "per_group" else 0
    spec = spec_for_precision(scenario.precision.weights, symmetric=q.symmetric,
                              granularity=q.granularity, axis=axis, group_size=q.group_size,
                              calibration=q.calibration, percentile=q.percentile)  # fmt: skip
    return storage_bytes((rows, k), spec)


def plan_layer(layer: Layer, scenario: Scenario) -> LayerPlan:
    """Size, tile and time one layer on the scenario's hardware."""
    gemm = layer.gemm()
    precision = scenario.precision
    mac = precision.mac
    timing = layer_timing(gemm, scenario.array, mac)
    inputs = _activation_bytes(layer.input_elements, scenario)
    if gemm.has_weights:
        weights = _weight_bytes(gemm.groups * gemm.n, gemm.k, scenario)
    else:  # the second operand of an activation x activation matmul
        weights = _activation_bytes(gemm.groups * gemm.k * gemm.n, scenario)
    outputs = _activation_bytes(gemm.output_elements, scenario)
    w_bits = PRECISIONS[precision.weights if gemm.has_weights else precision.activations].bits
    bits = OperandBits(
        input=PRECISIONS[precision.activations].bits,
        weight=w_bits,
        output=PRECISIONS[precision.activations].bits,
        accumulator=PRECISIONS[precision.accumulator].bits,
    )
    tiling = choose_tiling(
        layer.name, gemm.m, gemm.k, gemm.n, bits,
        (inputs.total, weights.total, outputs.total), scenario.sram.capacity_bytes,
        min_tile=max(scenario.array.rows, scenario.array.cols),
    )  # fmt: skip
    return LayerPlan(layer, timing, tiling, inputs, weights, outputs, mac)
