"""Per-layer plan shared by both fidelities: tensor sizes, tiling, compute time, energy.

Everything here is a closed form of the scenario and the layer: the packed byte size of each
tensor at its precision (metadata included, from the quantizer's data-free
:func:`npusim.quant.storage_bytes`), the tiling that fits the SRAM
(:mod:`npusim.engine.tiling`) and the MAC array's cycles and operand traffic
(:func:`npusim.compute.layer_timing`). Vector-unit layers (pooling, element-wise, softmax,
norms, concat) stream their input in chunks through the vector unit instead. The analytic
model turns a plan into a roofline bound; the cycle engine turns it into DRAM and cache
transactions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from npusim.compute import ArrayLayerStats, layer_timing, mac_energy_pj
from npusim.compute.energy import block_quantize_cost, dequantize_cost, requantize_cost
from npusim.config import Scenario
from npusim.engine.energy import accumulator_energy_pj
from npusim.engine.tiling import OperandBits, Tiling, choose_tiling, smallest_footprint_bytes
from npusim.errors import CapacityError, ConfigError, Problem, QuantizationError
from npusim.precision import PRECISIONS, Kind
from npusim.quant import QuantSpec, StorageBytes, spec_for_precision, storage_bytes
from npusim.workload import Gemm, Layer
from npusim.workload.graph import operand_elements

NO_BYTES = StorageBytes(0, 0, 0)
VECTOR_CHUNK_BYTES = 64 * 1024  # input bytes per vector step: small fill, many overlaps


@dataclass(frozen=True)
class LayerPlan:
    """What a layer moves and computes. Byte sizes are DRAM bytes (packed + metadata).

    GEMM layers carry ``timing`` and ``tiling``; vector-unit layers carry ``vector_ops`` and
    ``chunk_elements`` (input elements per streamed chunk) and have ``weight == NO_BYTES``.
    ``group_bundle`` whole groups move per step when a grouped layer's groups are small.
    ``op_energy_pj`` is the MAC array's energy (its MACs, its PE registers, the partial sums
    it keeps in its accumulator buffer (:func:`npusim.engine.energy.accumulator_energy_pj`),
    the requantization of integer outputs and the dequantization of integer weights feeding
    float MACs), or the vector unit's (each vector op costed as one MAC at
    ``vector.precision``, the activations' format unless set: an ALU operation of that width).
    ``op_energy_parts_pj`` splits it by those parts (they add up to ``op_energy_pj``).
    """

    layer: Layer
    input: StorageBytes
    weight: StorageBytes
    output: StorageBytes
    mac_precision: str
    compute_cycles: int
    op_energy_pj: float
    peak_macs_per_cycle: float
    timing: ArrayLayerStats | None = None
    tiling: Tiling | None = None
    bits: OperandBits | None = None
    vector_ops: int = 0
    chunk_elements: int = 0
    group_bundle: int = 1
    op_energy_parts_pj: Mapping[str, float] = field(default_factory=dict)

    @property
    def sram_operand_bytes(self) -> tuple[int, int]:
        """(read, write) bytes between the SRAM and the array or vector unit."""
        if self.timing is None:
            return self.input.total, self.output.total
        # Operands are read at their stored width (W4A8: 4-bit weights feed INT8 MACs);
        # outputs, and partial sums the accumulator buffer cannot hold, at the array's widths.
        t, bits = self.timing, self.bits
        assert bits is not None
        operands = _packed_bytes(t.input_reads, bits.input) + _packed_bytes(
            t.weight_reads, bits.weight
        )
        return operands + t.sram_output_read_bytes, t.sram_output_write_bytes

    @property
    def footprint_bytes(self) -> int:
        """SRAM bytes the layer's tile (or chunk) buffers take while it runs."""
        if self.tiling is None:
            per_input = _bytes_per_input(self.input, self.output, self.layer)
            return math.ceil(2 * self.chunk_elements * per_input)
        return self.tiling.footprint_bytes * self.group_bundle

    def edge_transfers(
        self, input_on_chip: bool = False, output_on_chip: bool = False
    ) -> tuple[int, int]:
        """DRAM bytes of the first load and of the last store: the fill and drain that no
        double buffering can hide. A tile's bytes are its share of each stored tensor (a
        conv input tile is its band of the stored ifmap, not its im2col expansion). An
        input (output) that may stay on chip moves nothing to or from DRAM (a lower bound)."""
        if self.tiling is None:
            n_in = self.layer.input_elements
            last_out = 0 if output_on_chip else self.output.total
            if n_in == 0:
                return 0, last_out
            first = 0 if input_on_chip else min(self.chunk_elements, n_in)
            last = _last_extent(n_in, self.chunk_elements)
            return self.input.total * first // n_in, last_out * last // n_in
        gemm, t, bundle = self.layer.gemm(), self.tiling, self.group_bundle
        first_input = 0 if input_on_chip else self.input.total * bundle * t.tm * t.tk // (
            gemm.groups * gemm.m * gemm.k)  # fmt: skip
        second_on_chip = input_on_chip and not gemm.has_weights
        first_weight = 0 if second_on_chip else self.weight.total * bundle * t.tk * t.tn // (
            gemm.groups * gemm.k * gemm.n)  # fmt: skip
        if output_on_chip:
            return first_input + first_weight, 0
        last_m, last_n = _last_extent(gemm.m, t.tm), _last_extent(gemm.n, t.tn)
        last_bundle = _last_extent(gemm.groups, bundle)
        return first_input + first_weight, (self.output.total * last_bundle * last_m * last_n
                                            // (gemm.groups * gemm.m * gemm.n))  # fmt: skip


def _last_extent(size: int, tile: int) -> int:
    """Length of the last of the ``tile``-sized pieces ``size`` is cut into (1..tile)."""
    return size - (size - 1) // tile * tile


def _packed_bytes(elements: int, bits: float) -> int:
    return -(-elements * int(bits) // 8)


def activation_spec(scenario: Scenario) -> QuantSpec:
    """Activations: one scale (and zero point) per tensor, calibrated as the scenario says."""
    q = scenario.quantization
    return spec_for_precision(scenario.precision.activations, symmetric=q.symmetric,
                              granularity="per_tensor", calibration=q.calibration,
                              percentile=q.percentile, scale_format=q.scale_format)  # fmt: skip


def kv_spec(scenario: Scenario) -> QuantSpec:
    """A KV cache at ``precision.kv_cache``: one scale (and zero point) per tensor, or per
    ``quantization.kv_group_size`` consecutive values (per-token scales of each head when it
    is the head dimension: a K or V row is one head's values of one token)."""
    q = scenario.quantization
    group = q.kv_group_size
    return spec_for_precision(scenario.precision.kv, symmetric=q.symmetric,
                              granularity="per_group" if group else "per_tensor",
                              group_size=group, calibration=q.calibration,
                              percentile=q.percentile, scale_format=q.scale_format)  # fmt: skip


def weight_spec(scenario: Scenario) -> QuantSpec:
    """Weights as a ``rows x k`` matrix (one row per output channel, over all groups):
    per-channel scales along axis 0 (output channels), per-group scales along ``k``."""
    q = scenario.quantization
    axis = 1 if q.granularity == "per_group" else 0
    return spec_for_precision(scenario.precision.weights, symmetric=q.symmetric,
                              granularity=q.granularity, axis=axis, group_size=q.group_size,
                              calibration=q.calibration, percentile=q.percentile,
                              scale_format=q.scale_format)  # fmt: skip


def _sum_bytes(parts: list[StorageBytes]) -> StorageBytes:
    if not parts:
        return NO_BYTES
    return StorageBytes(*(sum(column) for column in zip(*parts, strict=True)))


def activation_bytes(elements: int, scenario: Scenario) -> int:
    """DRAM bytes of an activation tensor of ``elements`` (payload + metadata)."""
    return _activation_bytes(elements, scenario).total


def _activation_bytes(elements: int, scenario: Scenario) -> StorageBytes:
    return storage_bytes((elements,), activation_spec(scenario)) if elements else NO_BYTES


def _kv_bytes(elements: int, scenario: Scenario) -> StorageBytes:
    """KV-cache values at ``precision.kv_cache``; a ``quantization.kv_group_size`` that does
    not divide them is refused naming that key (the quantizer alone names only an axis)."""
    try:
        return storage_bytes((elements,), kv_spec(scenario))
    except QuantizationError:
        group = scenario.quantization.kv_group_size
        message = (f"expected a divisor of every KV cache's size, found {group}, which does not "
                   f"divide {elements} values; the head dimension (64 for the bundled Llama "
                   "models) gives one scale per token and head")  # fmt: skip
        raise ConfigError(Problem("quantization.kv_group_size", message)) from None


def _output_bytes(elements: int, scenario: Scenario, kv_append: bool) -> StorageBytes:
    """A layer's output: an activation, or KV-cache rows at ``precision.kv_cache``."""
    if kv_append and elements:
        return _kv_bytes(elements, scenario)
    return _activation_bytes(elements, scenario)


def _weight_bytes(rows: int, k: int, scenario: Scenario) -> StorageBytes:
    return storage_bytes((rows, k), weight_spec(scenario))


def _peak_macs_per_cycle(scenario: Scenario, precision: str) -> float:
    rate = float(scenario.array.macs_per_pe_per_cycle[precision])
    return scenario.array.rows * scenario.array.cols * rate


def plan_layer(
    layer: Layer, scenario: Scenario, stored_second_operand: bool = False, kv_append: bool = False
) -> LayerPlan:
    """Size, tile and time one layer on the scenario's hardware.

    ``stored_second_operand``: a matmul whose second operand no layer produces (a KV cache
    in DRAM) stores and reads it at ``precision.kv_cache`` and computes activations x KV.
    ``kv_append``: the layer's output is a KV cache's new rows
    (:meth:`~npusim.workload.graph.Graph.kv_appends`), stored at ``precision.kv_cache``.
    """
    if layer.gemm() is None:
        return _plan_vector(layer, scenario, kv_append)
    gemm = layer.gemm()
    precision = scenario.precision
    act_bits = PRECISIONS[precision.activations].bits
    if gemm.has_weights:
        mac, second_bits = precision.mac, PRECISIONS[precision.weights].bits
        inputs = _activation_bytes(layer.input_elements, scenario)
        weights = _weight_bytes(gemm.groups * gemm.n, gemm.k, scenario)
    else:  # activation x activation: the second operand takes the weights' place
        kv = stored_second_operand
        mac = precision.kv_mac if kv else precision.activations
        second_bits = PRECISIONS[precision.kv].bits if kv else act_bits
        inputs = _activation_bytes(gemm.groups * gemm.m * gemm.k, scenario)
        second = gemm.groups * gemm.k * gemm.n
        weights = _kv_bytes(second, scenario) if kv else _activation_bytes(second, scenario)
    timing = layer_timing(gemm, scenario.array, mac)
    outputs = _output_bytes(gemm.output_elements, scenario, kv_append)
    bits = OperandBits(
        input=act_bits,
        weight=second_bits,
        output=PRECISIONS[precision.kv].bits if kv_append else act_bits,
        accumulator=PRECISIONS[precision.accumulator].bits,
    )
    sizes = (inputs.total, weights.total, outputs.total)
    capacity = scenario.sram.capacity_bytes
    tiling, bundle = _whole_groups(layer.name, gemm, bits, sizes, capacity)
    if tiling is None:
        tiling = choose_tiling(
            layer.name, gemm.m, gemm.k, gemm.n, bits, sizes, capacity,
            min_tile=max(scenario.array.rows, scenario.array.cols),
        )  # fmt: skip
    parts = {"macs": timing.mac_energy_pj, "pe_registers": timing.register_energy_pj,
             "accumulator": accumulator_energy_pj(scenario, timing),
             "requantize": _requantize_pj(gemm.output_elements, mac, scenario),
             "dequantize": _dequantize_pj(timing, gemm.has_weights, scenario)}  # fmt: skip
    return LayerPlan(
        layer, inputs, weights, outputs, mac, timing.compute_cycles, sum(parts.values()),
        _peak_macs_per_cycle(scenario, mac), timing=timing, tiling=tiling, bits=bits,
        group_bundle=bundle, op_energy_parts_pj=parts,
    )  # fmt: skip


def _requantize_pj(outputs: int, mac: str, scenario: Scenario) -> float:
    """Integer accumulators stored as integer activations are requantized at the array's
    edge, one :func:`npusim.compute.energy.requantize_cost` per output element; outputs stored
    block-scaled cost one :func:`npusim.compute.energy.block_quantize_cost` each."""
    stored = PRECISIONS[scenario.precision.activations]
    if stored.is_block:  # FP32 sums to a block-scaled format
        return outputs * block_quantize_cost(stored.name, scenario.array.node).energy_pj
    if PRECISIONS[mac].is_float or stored.kind is not Kind.INT:
        return 0.0
    return outputs * requantize_cost(scenario.array.node).energy_pj


def _dequantize_pj(timing: ArrayLayerStats, has_weights: bool, scenario: Scenario) -> float:
    """Integer weights feeding float MACs (W4A16) are dequantized as the array reads them,
    one :func:`npusim.compute.energy.dequantize_cost` per weight element read."""
    weights = PRECISIONS[scenario.precision.weights]
    if not has_weights or not PRECISIONS[timing.precision].is_float or weights.kind is not Kind.INT:
        return 0.0
    zero_point_bits = 0 if scenario.quantization.symmetric else weights.bits
    cost = dequantize_cost(timing.precision, zero_point_bits, scenario.array.node)
    return timing.weight_reads * cost.energy_pj


MIN_GROUP_STEPS = 8  # bundles small enough that loads and compute still overlap


def _whole_groups(
    name: str, gemm: Gemm, bits: OperandBits, sizes: tuple[int, int, int], capacity: int
) -> tuple[Tiling | None, int]:
    """For a grouped layer whose groups each fit whole (double-buffered), one tile per group
    and as many groups per step as fit, keeping at least :data:`MIN_GROUP_STEPS` steps;
    otherwise ``(None, 1)`` and the ordinary per-group tiling."""
    if gemm.groups == 1:
        return None, 1
    whole = max(gemm.m, gemm.n, gemm.k)
    try:
        tiling = choose_tiling(name, gemm.m, gemm.k, gemm.n, bits, sizes, capacity,
                               min_tile=whole)  # fmt: skip
    except CapacityError:
        return None, 1
    fit = capacity // tiling.footprint_bytes
    return tiling, max(1, min(fit, gemm.groups // MIN_GROUP_STEPS))


def _plan_vector(layer: Layer, scenario: Scenario, kv_append: bool = False) -> LayerPlan:
    """A vector-unit layer: ``ceil(ops / lanes)`` cycles, input streamed in chunks that fit
    the SRAM double-buffered together with their outputs (``kv_append``: as
    :func:`plan_layer`)."""
    inputs = _sum_bytes([_activation_bytes(e, scenario) for e in operand_elements(layer)
                         if layer.input_elements])  # fmt: skip
    outputs = _output_bytes(layer.output_elements, scenario, kv_append)
    bytes_per_input = _bytes_per_input(inputs, outputs, layer)
    fit = int(scenario.sram.capacity_bytes / (2 * max(bytes_per_input, 1e-9)))
    per_chunk = VECTOR_CHUNK_BYTES * layer.input_elements // max(inputs.total, 1)
    chunk = max(1, min(layer.input_elements, fit, max(per_chunk, 1)))
    ops = layer.vector_ops
    op_precision = scenario.vector.precision or scenario.precision.activations
    op_pj = mac_energy_pj(op_precision, scenario.array.mac_energy_pj, node=scenario.array.node)
    return LayerPlan(
        layer, inputs, NO_BYTES, outputs, scenario.precision.mac,
        compute_cycles=-(-ops // scenario.vector.lanes),
        op_energy_pj=ops * op_pj,
        peak_macs_per_cycle=_peak_macs_per_cycle(scenario, scenario.precision.mac),
        vector_ops=ops, chunk_elements=chunk, op_energy_parts_pj={"vector_ops": ops * op_pj},
    )  # fmt: skip


def _bytes_per_input(inputs: StorageBytes, outputs: StorageBytes, layer: Layer) -> float:
    """SRAM bytes a vector layer holds per input element: it and its share of the output."""
    return (inputs.total + outputs.total) / max(layer.input_elements, 1)


def smallest_footprint(plan: LayerPlan, scenario: Scenario) -> int:
    """SRAM bytes of the smallest tile buffers the layer of ``plan`` can run with (a vector
    layer: one vector of lanes), at the plan's operand widths: what the scratchpad allocator
    reserves before placing tensors."""
    if plan.tiling is None:
        elements = min(max(plan.layer.input_elements, 1), scenario.vector.lanes)
        return math.ceil(2 * elements * _bytes_per_input(plan.input, plan.output, plan.layer))
    gemm = plan.layer.gemm()
    assert plan.bits is not None
    side = max(scenario.array.rows, scenario.array.cols)
    return smallest_footprint_bytes(gemm.m, gemm.k, gemm.n, plan.bits, side)


def with_sram_capacity(scenario: Scenario, capacity_bytes: int) -> Scenario:
    """``scenario`` with a tiler that may use only ``capacity_bytes`` of the SRAM."""
    return replace(scenario, sram=replace(scenario.sram, capacity_bytes=capacity_bytes))
