"""The quantizer in the loop: what each layer's precision costs in signal quality.

Each layer's weights and input activations (seeded synthetic tensors, or the workload's own
files; :func:`npusim.workload.tensors.layer_tensors`) are quantized with the scenario's specs,
the same specs whose data-free :func:`npusim.quant.storage_bytes` sized every transfer, and
the quantizer's error analysis is reported: SQNR (dB) and the fraction of values clipped
(block-scaled formats: :func:`npusim.quant.mx.block_quantize`, blocks along the last axis, a
weight's reduction axis).
Large tensors are measured on a deterministic sample of :data:`SAMPLE_ELEMENTS` elements
(whole output channels for weights), which the result flags as ``sqnr_sampled``.

With ``dram.io_energy: data`` the same quantized samples, as the bytes they are stored as,
give each tensor's DQ toggles per data bit on the bus (:mod:`npusim.dram.io_bits`, with
DBI-DC when ``dram.dbi``): ``weight_io_toggles_per_bit`` and ``input_io_toggles_per_bit``
(the energy is priced from these), and the high levels per bit (``*_io_ones_per_bit``,
what DBI-DC bounds: reported, not priced);
a layer's output is priced at its first consumer's input rate (the same tensor, sampled
where it is read), or its own input rate when nothing on the graph reads it.
"""

from __future__ import annotations

import math
from typing import Any

from npusim.config import Scenario
from npusim.config.fields import suggest
from npusim.dram.io_bits import io_activity
from npusim.engine.plan import activation_spec, weight_spec
from npusim.errors import ConfigError, Problem
from npusim.quant import quantize
from npusim.quant.mx import block_quantize
from npusim.workload import Layer, Workload
from npusim.workload.tensors import layer_tensors

SAMPLE_ELEMENTS = 1 << 14


def _finite(value: float) -> float | None:
    """SQNR of an exact format is infinite; JSON has no infinity, so it becomes null."""
    return value if math.isfinite(value) else None


def layer_quality(
    layer: Layer, workload: Workload, scenario: Scenario, measure: bool = True
) -> dict[str, Any]:
    """``weight_sqnr_db``, ``input_sqnr_db`` (null when exact), clipped fractions, sampling,
    and the precisions used. ``scenario`` is the layer's view (:meth:`Scenario.for_layer`).
    ``measure=False`` leaves the tensors alone (only the precisions are reported) unless the
    DRAM's I/O energy needs their bytes."""
    out: dict[str, Any] = {"weight_precision": scenario.precision.weights,
                           "activation_precision": scenario.precision.activations}  # fmt: skip
    data_io = scenario.dram.io_energy == "data"
    if not measure and not data_io:
        return out
    tensors = layer_tensors(layer, workload, scenario.seed, max_elements=SAMPLE_ELEMENTS)
    out["sqnr_sampled"] = tensors.sampled
    for name, values, spec in (("weight", tensors.weights, weight_spec(scenario)),
                               ("input", tensors.inputs, activation_spec(scenario))):  # fmt: skip
        if values is None or not values.size:
            continue
        quantized = (block_quantize(values, spec.fmt.value) if spec.fmt.is_block
                     else quantize(values, spec))  # fmt: skip
        out[f"{name}_sqnr_db"] = _finite(quantized.error.sqnr_db)
        out[f"{name}_clipped_fraction"] = quantized.error.fraction_clipped
        if data_io:
            packed = quantized.packed
            packed = packed[: packed.size - packed.size % 2]  # whole beats of the x16 bus
            activity = io_activity(packed, dbi=scenario.dram.dbi)
            out[f"{name}_io_toggles_per_bit"] = activity.toggles_per_bit
            out[f"{name}_io_ones_per_bit"] = activity.ones / activity.bits if activity.bits else 0.0
    return out


def network_quality(
    workload: Workload, scenario: Scenario, measure: bool = True
) -> list[dict[str, Any]]:
    """:func:`layer_quality` of every layer (each at its own scenario view), in order; with
    ``dram.io_energy: data`` also ``output_io_toggles_per_bit`` (module docstring)."""
    qualities = [layer_quality(layer, workload, scenario.for_layer(layer.name), measure)
                 for layer in workload.layers]  # fmt: skip
    if scenario.dram.io_energy != "data":
        return qualities
    index = workload.layer_index
    for layer, quality in zip(workload.layers, qualities, strict=True):
        info = workload.graph.tensors.get(layer.name)
        readers = info.consumers if info is not None else ()
        source = qualities[index[readers[0]]] if readers else quality
        rate = source.get("input_io_toggles_per_bit", quality.get("input_io_toggles_per_bit"))
        if rate is not None:
            quality["output_io_toggles_per_bit"] = rate
    return qualities


def check_layer_overrides(scenario: Scenario, workload: Workload) -> None:
    """Per-layer precision/quantization overrides must name layers of the workload."""
    names = [layer.name for layer in workload.layers]
    problems = [
        Problem(f"{section}.layers.{name}",
                f"no layer {name!r} in workload {workload.name!r}{suggest(name, names)}",
                scenario.source)
        for section, overrides in (("precision", scenario.precision.layers),
                                   ("quantization", scenario.quantization.layers))
        for name in overrides if name not in names
    ]  # fmt: skip
    if problems:
        raise ConfigError(problems)
