"""Deterministic synthetic tensors (or the workload's own files) for a layer.

Weights (layers with stored weights) are ``(groups * n, k)`` float32, one row per output
channel. Each channel ``c`` has its own scale ``s_c = sqrt(2 / k) * exp(spread * z_c)``,
``z_c ~ N(0, 1)`` (He et al. 2015 fan-in scale; the absolute scale does not change any SQNR),
and its values are ``s_c`` times a unit-variance Gaussian or Laplacian. Banner et al. (NeurIPS
2019, "Post training 4-bit quantization", Sec. 3) fit trained CNN tensors with Gaussian and
Laplace laws; the Laplacian is the heavier-tailed case. Per-channel ranges of trained layers
differ widely (Nagel et al., ICCV 2019 "Data-free quantization", Fig. 2: up to ~100x across
depthwise channels), which is what per-channel quantization is for; ``spread = 0.5`` gives a
95 % channel-scale range of ``exp(4 * 0.5) ~ 7x``, a moderate choice, not a measurement. A few
outliers: about ``outlier_rate = 0.1 %`` of weights are replaced by ``+-U(6, 12) * s_c``,
values a Gaussian essentially never reaches (``P(|z| > 6) ~ 2e-9``), which stretch a
max-calibrated range as the outliers of trained weights do (Nagel et al. 2021, "A white paper
on neural network quantization", Sec. 2.2 and 3.1).

A workload imported with real weights (``Workload.weight_arrays``, an ONNX model's) gives
each weighted layer its own ``(groups * n, k)`` array instead of synthetic weights; inputs are
still synthetic.

Inputs are flat float32 of ``layer.input_elements``: a unit-variance Gaussian or Laplacian
pre-activation passed through the function that produced them, found by walking back from the
layer over pooling/reshape/concat (which keep the distribution): a fused or stand-alone ReLU
gives the half-rectified (ReLU-like) case, GELU/SiLU/sigmoid/tanh their own shapes, a softmax
gives probability rows of its ``length``; the network input, linear outputs and affine
(BatchNorm) outputs stay signed, and an LRN keeps its input's distribution. The walk follows
the workload's graph edges, so a branch (a ResNet projection) sees its real source's
distribution. A matmul's second operand (K or V) is always signed.

Seeds: layer ``i`` draws from ``SeedSequence([seed, i])`` (weights and inputs from two spawned
children), so a layer's tensors do not depend on which other layers were generated.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from npusim.workload.layers import (
    Activation,
    ActivationFunction,
    Concat,
    Layer,
    Matmul,
    Pool2d,
    Reshape,
    Softmax,
)
from npusim.workload.loader import Workload
from npusim.workload.tensorfile import load_inputs, load_weights, sample_flat, sample_rows


class Distribution(str, Enum):
    GAUSSIAN = "gaussian"
    LAPLACIAN = "laplacian"


@dataclass(frozen=True)
class TensorOptions:
    """Synthetic tensor distributions (see the module docstring for the reasons)."""

    weights: Distribution = Distribution.GAUSSIAN
    activations: Distribution = Distribution.LAPLACIAN
    channel_spread: float = 0.5
    outlier_rate: float = 1e-3
    outlier_sigmas: tuple[float, float] = (6.0, 12.0)


@dataclass(frozen=True)
class LayerTensors:
    """A layer's weights ``(rows, k)`` (None without stored weights) and flat inputs.

    ``sampled`` is True when ``max_elements`` cut either tensor down to a sample.
    """

    weights: np.ndarray | None
    inputs: np.ndarray
    sampled: bool = False


def layer_tensors(
    layer: Layer,
    workload: Workload,
    seed: int,
    max_elements: int | None = None,
    options: TensorOptions = TensorOptions(),  # frozen, so a shared default is safe
) -> LayerTensors:
    """Tensors of ``layer`` (a layer of ``workload``), from its tensor file or synthetic.

    ``max_elements`` bounds each returned tensor: weights keep ``max_elements // k`` evenly
    spaced whole channels (rows; one row cut to ``max_elements`` columns if ``k`` exceeds
    it), inputs ``max_elements`` values. Synthetic samples are fresh draws from the same
    distribution with the same per-channel scales (not the same values as the full tensor);
    file samples are the selected rows / an evenly strided subset of the file's arrays.
    Raises ``ValueError`` if ``layer`` is not in ``workload`` or ``max_elements < 1``, and
    :class:`~.tensorfile.TensorFileError` for bad files.
    """
    index = _index(layer, workload)
    limit = max_elements
    if limit is not None and limit < 1:
        raise ValueError(f"max_elements must be >= 1, got {max_elements}")
    gemm = layer.gemm()
    shape = (gemm.groups * gemm.n, gemm.k) if gemm is not None and gemm.has_weights else None
    if workload.tensors is not None:
        return _from_file(layer, workload, shape, limit)
    weight_seq, input_seq = np.random.SeedSequence([seed, index]).spawn(2)
    weights, cut_w = None, False
    if shape is not None and layer.name in workload.weight_arrays:
        weights = _real_weights(workload.weight_arrays[layer.name], layer.name, shape, limit)
        cut_w = weights.size < shape[0] * shape[1]
    elif shape is not None:
        rows, k = shape
        kept, cols = sample_rows(rows, k, limit) if limit else (np.arange(rows), k)
        weights = synthetic_weights(np.random.default_rng(weight_seq), rows, k, kept, cols, options)
        cut_w = weights.size < rows * k
    count = min(layer.input_elements, limit) if limit else layer.input_elements
    inputs = _synthetic_inputs(np.random.default_rng(input_seq), layer, workload, index, count,
                               options)  # fmt: skip
    return LayerTensors(weights, inputs, cut_w or count < layer.input_elements)


def _real_weights(
    array: np.ndarray, name: str, shape: tuple[int, int], limit: int | None
) -> np.ndarray:
    """``array`` as ``(rows, k)`` float32 (evenly spaced whole rows within ``limit``)."""
    if array.shape != shape:
        raise ValueError(f"weight_arrays[{name!r}] has shape {array.shape}, expected {shape}")
    if limit is None:
        return np.asarray(array, dtype=np.float32)
    kept, cols = sample_rows(*shape, limit)
    return np.asarray(array[kept, :cols], dtype=np.float32)


def _index(layer: Layer, workload: Workload) -> int:
    index = workload.layer_index.get(layer.name)
    if index is not None:
        candidate = workload.layers[index]
        if candidate is layer or candidate == layer:
            return index
    raise ValueError(f"layer {layer.name!r} is not a layer of workload {workload.name!r}")


def _from_file(
    layer: Layer, workload: Workload, shape: tuple[int, int] | None, limit: int | None
) -> LayerTensors:
    source = workload.tensors
    assert source is not None
    weights = load_weights(source, layer.name, *shape) if shape is not None else None
    inputs = (load_inputs(source, layer.name, layer.input_elements) if layer.input_elements
              else np.zeros(0, np.float32))  # fmt: skip
    if limit is None:
        return LayerTensors(weights, inputs)
    full = (0 if weights is None else weights.size) + inputs.size
    if weights is not None:
        kept, cols = sample_rows(weights.shape[0], weights.shape[1], limit)
        weights = weights[kept, :cols]
    inputs = sample_flat(inputs, limit)
    return LayerTensors(weights, inputs, (0 if weights is None else weights.size) + inputs.size
                        < full)  # fmt: skip


def unit(rng: np.random.Generator, size: int | tuple[int, ...], law: Distribution) -> np.ndarray:
    """Zero-mean, unit-variance float32 draws (Laplace scale ``1 / sqrt 2``)."""
    if law is Distribution.GAUSSIAN:
        return rng.standard_normal(size, dtype=np.float32)
    magnitude = rng.standard_exponential(size, dtype=np.float32) * np.float32(np.sqrt(0.5))
    return np.where(rng.integers(0, 2, size, dtype=np.int8) == 1, magnitude, -magnitude)


def synthetic_weights(
    rng: np.random.Generator,
    rows: int,
    k: int,
    kept: np.ndarray,
    cols: int,
    options: TensorOptions,
) -> np.ndarray:
    """Rows ``kept`` (first ``cols`` columns) of a ``rows x k`` per-channel weight matrix."""
    scales = np.sqrt(2.0 / k) * np.exp(options.channel_spread * rng.standard_normal(rows))
    chosen = scales[kept].astype(np.float32)
    weights = unit(rng, (kept.size, cols), options.weights) * chosen[:, None]
    count = rng.binomial(weights.size, options.outlier_rate)
    at = rng.integers(0, weights.size, count)
    low, high = options.outlier_sigmas
    signs = np.where(rng.integers(0, 2, count) == 1, 1.0, -1.0)
    flat = weights.reshape(-1)
    flat[at] = (signs * rng.uniform(low, high, count) * chosen[at // cols]).astype(np.float32)
    return weights


def _synthetic_inputs(
    rng: np.random.Generator,
    layer: Layer,
    workload: Workload,
    index: int,
    count: int,
    options: TensorOptions,
) -> np.ndarray:
    if isinstance(layer, Matmul):
        first = layer.batch * layer.m * layer.k
        head = round(count * first / layer.input_elements)
        return np.concatenate([
            _produced(rng, workload, index, head, options),
            unit(rng, count - head, options.activations),
        ])  # fmt: skip
    return _produced(rng, workload, index, count, options)


def _produced(
    rng: np.random.Generator, workload: Workload, index: int, count: int, options: TensorOptions
) -> np.ndarray:
    """``count`` values as produced by the layer feeding layer ``index``."""
    producer = _producer(workload, index)
    if isinstance(producer, Softmax):
        rows = -(-count // producer.length)
        logits = unit(rng, (rows, producer.length), Distribution.GAUSSIAN)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (probs / probs.sum(axis=1, keepdims=True)).reshape(-1)[:count]
    x = unit(rng, count, options.activations)
    function = producer.function if isinstance(producer, Activation) else None
    if function is None and getattr(producer, "relu", False):
        function = ActivationFunction.RELU
    return apply_activation(x, function)


def _producer(workload: Workload, index: int) -> Layer | None:
    """The layer whose output layer ``index`` reads first, followed back through pooling,
    reshape, concat and LRN, which keep the distribution (None: the network input or a
    stored tensor). The graph's edges decide, so a residual branch sees its real source."""
    graph = workload.graph
    reads = graph.reads.get(workload.layers[index].name, ())
    while reads and reads[0] in graph.kinds:
        source = graph.kinds[reads[0]]
        lrn = isinstance(source, Activation) and source.function is ActivationFunction.LRN
        if not (lrn or isinstance(source, (Pool2d, Reshape, Concat))):
            return source
        reads = graph.reads.get(source.name, ())
    return None


def apply_activation(x: np.ndarray, function: ActivationFunction | None) -> np.ndarray:
    """``function`` applied to float32 ``x`` (None: identity). GELU uses the tanh form of
    Hendrycks & Gimpel (2016), within 1e-3 of the exact erf form."""
    if function in (None, ActivationFunction.SCALE, ActivationFunction.AFFINE,
                    ActivationFunction.LRN):  # fmt: skip
        return x
    if function is ActivationFunction.RELU:
        return np.maximum(x, np.float32(0))
    if function is ActivationFunction.RELU6:
        return np.clip(x, np.float32(0), np.float32(6))
    if function is ActivationFunction.GELU:
        inner = np.float32(np.sqrt(2 / np.pi)) * (x + np.float32(0.044715) * x**3)
        return np.float32(0.5) * x * (np.float32(1) + np.tanh(inner))
    if function is ActivationFunction.SILU:
        return x / (np.float32(1) + np.exp(-x))
    if function is ActivationFunction.SIGMOID:
        return np.float32(1) / (np.float32(1) + np.exp(-x))
    if function is ActivationFunction.HARDSWISH:
        return x * np.clip(x + np.float32(3), np.float32(0), np.float32(6)) / np.float32(6)
    if function is ActivationFunction.ERF:
        return erf(x)
    return np.tanh(x)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of ``x`` as float32, within 1.5e-7 before rounding (Abramowitz &
    Stegun 7.1.26, evaluated in float64)."""
    x = np.asarray(x, np.float64)
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return (np.sign(x) * (1.0 - poly * np.exp(-x * x))).astype(np.float32)
