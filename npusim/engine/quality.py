"""The quantizer in the loop: what each layer's precision costs in signal quality.

Each layer's weights and input activations (seeded synthetic tensors, or the workload's own
files; :func:`npusim.workload.tensors.layer_tensors`) are quantized with the scenario's specs,
the same specs whose data-free :func:`npusim.quant.storage_bytes` sized every transfer, and
the quantizer's error analysis is reported: SQNR (dB) and the fraction of values clipped.
Large tensors are measured on a deterministic sample of :data:`SAMPLE_ELEMENTS` elements
(whole output channels for weights), which the result flags as ``sqnr_sampled``.
"""

from __future__ import annotations

import math
from typing import Any

from npusim.config import Scenario
from npusim.config.fields import suggest
from npusim.engine.plan import activation_spec, weight_spec
from npusim.errors import ConfigError, Problem
from npusim.quant import quantize
from npusim.workload import Layer, Workload
from npusim.workload.tensors import layer_tensors

SAMPLE_ELEMENTS = 1 << 14


def _finite(value: float) -> float | None:
    """SQNR of an exact format is infinite; JSON has no infinity, so it becomes null."""
    return value if math.isfinite(value) else None


def layer_quality(layer: Layer, workload: Workload, scenario: Scenario) -> dict[str, Any]:
    """``weight_sqnr_db``, ``input_sqnr_db`` (null when exact), clipped fractions, sampling,
    and the precisions used. ``scenario`` is the layer's view (:meth:`Scenario.for_layer`)."""
    tensors = layer_tensors(layer, workload, scenario.seed, max_elements=SAMPLE_ELEMENTS)
    out: dict[str, Any] = {"weight_precision": scenario.precision.weights,
                           "activation_precision": scenario.precision.activations,
                           "sqnr_sampled": tensors.sampled}  # fmt: skip
    if tensors.weights is not None:
        error = quantize(tensors.weights, weight_spec(scenario)).error
        out["weight_sqnr_db"] = _finite(error.sqnr_db)
        out["weight_clipped_fraction"] = error.fraction_clipped
    if tensors.inputs.size:
        error = quantize(tensors.inputs, activation_spec(scenario)).error
        out["input_sqnr_db"] = _finite(error.sqnr_db)
        out["input_clipped_fraction"] = error.fraction_clipped
    return out


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
