"""Whole-network functional execution over a workload's dataflow graph.

:func:`execute` walks the layers in execution order, feeding each the tensors its graph edges
name (:attr:`npusim.workload.graph.Graph.reads`; a reshape is a view of its source), and
returns every tensor it produced. What a layer computes is the ``run_layer`` strategy:

- :func:`fp32_runner`: the float32 reference network (:mod:`~.ops`);
- :class:`QuantizedNetwork`: the chip's datapath. Each layer reads its operands as stored at
  its activation precision (one calibrated scale per tensor, :mod:`~.quantizers`), so the
  error of every earlier layer reaches it. A conv/linear/matmul whose weights and activations
  are both integer (or binary) formats, with per-tensor or per-channel weight scales, runs
  the integer datapath (:mod:`~.intgemm`: integer codes, INT32 accumulation, requantization
  to the output's codes). Any other GEMM (a float format on either side, per-group weight
  scales) multiplies the operands as stored (rounded to their formats, or dequantized) with
  the layer's accumulator (FP32, or FP16: every product and add rounded, in K order; FP8's
  default) and rounds the result to the activation format. Vector
  layers compute on their stored operands at the vector unit's precision (the scenario's
  ``vector.precision``: FP16 or BF16 rounds the operands, the result and softmax's and
  layernorm's intermediate steps, :func:`~.ops.vector_op`; unset or FP32: float32) and store
  the result at the activation precision with its own calibrated scale.

Scales are calibrated on the float32 network's tensors over the calibration inputs (static
post-training quantization, as TensorRT and ONNX Runtime calibrate), never on test data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from npusim.functional import ops
from npusim.functional.blocks import operand_axes, output_axis
from npusim.functional.intgemm import accumulate, bias_codes, requantize_output
from npusim.functional.params import FunctionalError, LayerParams, fused_activations
from npusim.functional.quantizers import (
    ActivationQuantizer,
    QuantizedWeights,
    calibrate_activation,
    quantize_weights,
    vector_rounding,
)
from npusim.precision import PRECISIONS, Kind
from npusim.quant import QuantSpec
from npusim.workload import (
    ActivationFunction,
    Conv2d,
    Layer,
    LayerNorm,
    Linear,
    Matmul,
    Pool2d,
    Reshape,
    Softmax,
    Workload,
)
from npusim.workload.graph import NETWORK_INPUT, operand_elements

LayerFn = Callable[[Layer, Sequence[np.ndarray]], np.ndarray]
BATCH_SAMPLES = 512  # samples per functional batch: bounds the im2col temporaries


def compute_layers(workload: Workload) -> list[Layer]:
    """The layers that compute (every layer but reshapes, which are views)."""
    return [layer for layer in workload.layers if not isinstance(layer, Reshape)]


def output_tensor(workload: Workload) -> str:
    """The network's output: the tensor of its last layer (through reshape views)."""
    return workload.graph.stored(workload.layers[-1].name)


def input_elements(workload: Workload) -> int:
    """Elements of one sample of the network input; FunctionalError if no layer reads it."""
    info = workload.graph.tensors.get(NETWORK_INPUT)
    if info is None:
        raise FunctionalError(f"workload {workload.name!r} reads no network input ('input')")
    return info.elements


def input_shape(workload: Workload) -> tuple[int, ...]:
    """One sample's network input in the layout of the first layer that reads it (NCHW
    ``(batch, C, H, W)`` for a conv or pool, ``(tokens, features)`` for a linear or
    layernorm, ``(batch, m, k)`` for a matmul, ``(rows, length)`` for a softmax; flat
    otherwise)."""
    elements = input_elements(workload)
    first = workload.graph.tensors[NETWORK_INPUT].consumers[0]
    layer = next(layer for layer in workload.layers if layer.name == first)
    if isinstance(layer, Conv2d):
        shape = (layer.batch, layer.in_channels, layer.in_h, layer.in_w)
    elif isinstance(layer, Pool2d):
        shape = (layer.batch, layer.channels, layer.in_h, layer.in_w)
    elif isinstance(layer, Linear):
        shape = (layer.tokens, layer.in_features)
    elif isinstance(layer, Matmul):
        shape = (layer.batch, layer.m, layer.k)
    elif isinstance(layer, Softmax):
        shape = (layer.rows, layer.length)
    elif isinstance(layer, LayerNorm):
        shape = (layer.tokens, layer.features)
    else:
        shape = (elements,)
    return shape if math.prod(shape) == elements else (elements,)


class NonFiniteTensor(FunctionalError):
    """A layer's output holds Inf or NaN: float32 overflow of the inputs' magnitudes."""


def operand_names(workload: Workload, layer: Layer) -> tuple[str, ...]:
    """The tensors ``layer`` reads; FunctionalError for a stored operand (a KV cache), whose
    values the workload does not carry."""
    reads = workload.graph.reads[layer.name]
    if len(reads) < len(operand_elements(layer)):
        raise FunctionalError(
            f"layer {layer.name!r} reads a stored tensor no layer produces; functional "
            "execution needs every operand computed from the network input"
        )
    return reads


def execute(workload: Workload, inputs: np.ndarray, run_layer: LayerFn) -> dict[str, np.ndarray]:
    """Every tensor of the network on ``inputs`` (float32 ``(samples, input elements)``), by
    tensor name (``input`` and each computing layer's name). Raises :class:`NonFiniteTensor`
    naming the first layer whose output overflows float32 (numpy's overflow warnings are
    silenced: this check replaces them)."""
    tensors = {NETWORK_INPUT: inputs}
    for layer in compute_layers(workload):
        operands = [tensors[name] for name in operand_names(workload, layer)]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            out = run_layer(layer, operands)
        bad = out.size - int(np.count_nonzero(np.isfinite(out)))
        if bad:
            largest = float(np.abs(inputs).max(initial=0.0))
            raise NonFiniteTensor(
                f"layer {layer.name!r} overflows float32 ({bad} Inf/NaN outputs; the largest "
                f"input magnitude is {largest:.3g}): scale the inputs down"
            )
        tensors[layer.name] = out
    return tensors


def batches(inputs: np.ndarray, size: int = BATCH_SAMPLES) -> Iterator[np.ndarray]:
    """``inputs`` in consecutive chunks of at most ``size`` samples."""
    for start in range(0, inputs.shape[0], size):
        yield inputs[start : start + size]


def fp32_runner(
    params: Mapping[str, LayerParams], activations: Mapping[str, ActivationFunction]
) -> LayerFn:
    """The float32 reference network; ``activations``: the fused activation of every layer
    marked ``relu`` (:func:`~.params.fused_activations`)."""

    def run(layer: Layer, operands: Sequence[np.ndarray]) -> np.ndarray:
        activation = activations.get(layer.name)
        if layer.gemm() is None:
            return ops.vector_op(layer, operands, activation)
        p = params.get(layer.name)
        return ops.gemm_fp32(layer, operands, p and p.weight, p and p.bias, activation)

    return run


@dataclass(frozen=True)
class LayerSpecs:
    """How a layer stores and computes: weight and activation specs, accumulator precision,
    and ``vector``: the vector unit's float format for a vector layer (``fp16``, ``bf16``;
    None or ``fp32``: float32, the scenario's ``vector.precision`` unset)."""

    weights: QuantSpec
    activations: QuantSpec
    accumulator: str = "int32"
    vector: str | None = None


def _stored(
    layer: Layer, inputs: Sequence[ActivationQuantizer], operands: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """``layer``'s operands as it reads them: each quantized by its quantizer and read back,
    a block-scaled one in the blocks ``layer`` reads it in (:mod:`~.blocks`)."""
    blocks = operand_axes(layer, len(operands))
    return [q.fake(x, where) for q, x, where in zip(inputs, operands, blocks, strict=True)]


class QuantizedNetwork:
    """The network through the quantized datapath (module docstring), calibrated on
    ``calibration`` inputs (float32 ``(samples, input elements)``)."""

    def __init__(
        self,
        workload: Workload,
        params: Mapping[str, LayerParams],
        specs: Mapping[str, LayerSpecs],
        calibration: np.ndarray,
    ) -> None:
        self.workload = workload
        self.params = params
        self.specs = specs
        self.activations = fused_activations(workload)
        self.weights: dict[str, QuantizedWeights] = {
            name: quantize_weights(p.weight, specs[name].weights) for name, p in params.items()
        }
        self.quantizers = self._calibrate(calibration)

    def _needed(self) -> dict[tuple[str, QuantSpec], None]:
        keys: dict[tuple[str, QuantSpec], None] = {}
        for layer in compute_layers(self.workload):
            spec = self.specs[layer.name].activations
            for name in (*operand_names(self.workload, layer), layer.name):
                keys[(name, spec)] = None
        return keys

    def _calibrate(
        self, calibration: np.ndarray
    ) -> dict[tuple[str, QuantSpec], ActivationQuantizer]:
        needed = self._needed()
        seen: dict[str, list[np.ndarray]] = {name: [] for name, _ in needed}
        reference = fp32_runner(self.params, self.activations)
        for chunk in batches(calibration):
            for name, values in execute(self.workload, chunk, reference).items():
                if name in seen:
                    seen[name].append(values)
        return {(name, spec): calibrate_activation(spec, seen[name]) for name, spec in needed}

    def quantizer(self, tensor: str, layer: Layer) -> ActivationQuantizer:
        return self.quantizers[(tensor, self.specs[layer.name].activations)]

    def run_layer(self, layer: Layer, operands: Sequence[np.ndarray]) -> np.ndarray:
        """One layer on operands as stored by their producers; returns its output as stored
        (float32, dequantized)."""
        reads = operand_names(self.workload, layer)
        inputs = [self.quantizer(name, layer) for name in reads]
        output = self.quantizer(layer.name, layer)
        if layer.gemm() is None:
            stored = _stored(layer, inputs, operands)
            rounding = vector_rounding(self.specs[layer.name].vector)
            activation = self.activations.get(layer.name)
            y = ops.vector_op(layer, stored, activation, rounding)
            return output.fake(y, output_axis(layer))
        weights = self.weights.get(layer.name)
        integer = all(q.integer for q in inputs) and (weights is None or weights.codes is not None)
        if integer:
            return self._integer_gemm(layer, operands, inputs, output, weights)
        stored = _stored(layer, inputs, operands)
        p = self.params.get(layer.name)
        fp16 = self.specs[layer.name].accumulator == "fp16"
        matmul = ops.fp16_accumulated if fp16 else np.matmul
        y = ops.gemm_fp32(layer, stored, weights and weights.values, p and p.bias,
                          self.activations.get(layer.name), matmul)  # fmt: skip
        return output.fake(y, output_axis(layer))

    def _integer_gemm(
        self,
        layer: Layer,
        operands: Sequence[np.ndarray],
        inputs: Sequence[ActivationQuantizer],
        output: ActivationQuantizer,
        weights: QuantizedWeights | None,
    ) -> np.ndarray:
        centred = [q.codes(x) - q.zero_point for q, x in zip(inputs, operands, strict=True)]
        lhs = ops.gemm_lhs(layer, centred[0])
        groups = lhs.shape[0]
        if isinstance(layer, Matmul):
            rhs = ops.matmul_rhs(layer, centred[1])
            acc_scale = np.full(
                (1, 1, 1), np.float64(inputs[0].scale) * np.float64(inputs[1].scale)
            )
            bias = np.zeros((1, 1, 1), np.int64)
        else:
            rhs = ops.weight_rhs(layer, weights.codes - weights.zero_point[:, None])
            per_row = np.float64(inputs[0].scale) * weights.scale.astype(np.float64)
            acc_scale = per_row.reshape(groups, 1, -1)
            real_bias = self.params[layer.name].bias.reshape(groups, 1, -1)
            bias = bias_codes(real_bias, acc_scale, self._accumulator(layer))
        acc = accumulate(lhs, rhs, bias, self._accumulator(layer))
        activation = self.activations.get(layer.name) if getattr(layer, "relu", False) else None
        codes = requantize_output(acc, acc_scale, output, activation)
        return ops.gemm_output(layer, output.dequantize(codes), operands[0].shape[0])

    def _accumulator(self, layer: Layer) -> str:
        name = self.specs[layer.name].accumulator
        info = PRECISIONS.get(name)
        return name if info is not None and info.kind is Kind.INT else "int32"
