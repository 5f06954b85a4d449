"""Float32 arithmetic of each layer kind, vectorized over a batch of samples.

Every activation tensor is a float32 array ``(samples, elements)``: one network instance per
sample, each layer's shape read from its fields (``batch`` included, so a sample is one
instance of the workload as written). Layouts per sample: conv/pool tensors ``(batch, C, H,
W)`` (NCHW, PyTorch and ONNX), linear tensors ``(tokens, features)``, matmul operands
``(batch, m, k)`` and ``(batch, k, n)``, softmax ``(rows, length)``, layernorm ``(tokens,
features)``; a reshape is the identity on this flat view and a concat joins its operands'
flat views in order (for NCHW tensors of batch 1, a channel concat).

A GEMM layer is a batched product ``lhs (G, M, K) @ rhs (G, K, N) -> (G, M, N)``
(:func:`gemm_lhs`, :func:`weight_rhs`, :func:`matmul_rhs`, :func:`gemm_output`), the view the
quantized datapath computes in integers. Convolutions are lowered by im2col with ``K`` in
PyTorch's weight order ``(in / groups, kh, kw)``; zero padding. Pooling pads with -inf (max)
or excludes padded cells from the average (ONNX ``count_include_pad = 0``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from npusim.functional.params import FunctionalError
from npusim.workload import (
    Activation,
    ActivationFunction,
    Concat,
    Conv2d,
    Elementwise,
    ElementwiseOp,
    Layer,
    LayerNorm,
    Linear,
    Matmul,
    Pool2d,
    PoolMode,
    Reshape,
    Softmax,
)

LAYERNORM_EPS = 1e-5  # PyTorch LayerNorm's default
# Abramowitz & Stegun 7.1.26: erf(x) = 1 - (a1 t + ... + a5 t^5) exp(-x^2), t = 1 / (1 + p x),
# |error| <= 1.5e-7 (numpy has no erf and scipy is not a dependency).
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def _pads(layer: Conv2d | Pool2d) -> tuple[int, int, int, int]:
    return layer.pads if layer.pads else (layer.padding,) * 4


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: int, dilation: int) -> np.ndarray:
    """``(B, C, out_h, out_w, kh, kw)`` strided view of the padded ``(B, C, H, W)`` ``x``."""
    kh, kw = kernel
    span = (dilation * (kh - 1) + 1, dilation * (kw - 1) + 1)
    view = np.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))
    return view[:, :, ::stride, ::stride, ::dilation, ::dilation]


def _as_images(x: np.ndarray, batch: int, channels: int, h: int, w: int) -> np.ndarray:
    return x.reshape(x.shape[0] * batch, channels, h, w)


def gemm_lhs(layer: Layer, x: np.ndarray) -> np.ndarray:
    """The left operand ``(G, M, K)`` of a GEMM layer from its (first) input ``x``."""
    samples = x.shape[0]
    if isinstance(layer, Linear):
        return x.reshape(1, samples * layer.tokens, layer.in_features)
    if isinstance(layer, Matmul):
        return x.reshape(samples * layer.batch, layer.m, layer.k)
    if isinstance(layer, Conv2d):
        images = _as_images(x, layer.batch, layer.in_channels, layer.in_h, layer.in_w)
        top, left, bottom, right = _pads(layer)
        padded = np.pad(images, ((0, 0), (0, 0), (top, bottom), (left, right)))
        cols = _windows(padded, (layer.kernel_h, layer.kernel_w), layer.stride, layer.dilation)
        b, _, oh, ow, kh, kw = cols.shape
        per_group = layer.in_channels // layer.groups
        cols = cols.reshape(b, layer.groups, per_group, oh, ow, kh, kw)
        cols = cols.transpose(1, 0, 3, 4, 2, 5, 6)
        return cols.reshape(layer.groups, b * oh * ow, per_group * kh * kw)
    raise FunctionalError(f"layer {layer.name!r} ({layer.kind}) is not a GEMM layer")


def weight_rhs(layer: Layer, weight: np.ndarray) -> np.ndarray:
    """The right operand ``(G, K, N)`` from ``(groups * n, k)`` weights (or their codes)."""
    gemm = layer.gemm()
    return weight.reshape(gemm.groups, gemm.n, gemm.k).transpose(0, 2, 1)


def matmul_rhs(layer: Matmul, x: np.ndarray) -> np.ndarray:
    """A matmul's second operand ``(samples * batch, k, n)``."""
    return x.reshape(x.shape[0] * layer.batch, layer.k, layer.n)


def gemm_output(layer: Layer, out: np.ndarray, samples: int) -> np.ndarray:
    """``(G, M, N)`` GEMM results as the layer's flat ``(samples, elements)`` output."""
    if isinstance(layer, Conv2d):
        g, rows, n = out.shape
        b = rows // (layer.out_h * layer.out_w)
        images = out.reshape(g, b, layer.out_h, layer.out_w, n).transpose(1, 0, 4, 2, 3)
        return images.reshape(samples, -1)
    return out.reshape(samples, -1)


def gemm_operands(
    layer: Layer, operands: Sequence[np.ndarray], weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(lhs, rhs)`` of a GEMM layer (weights for conv/linear, the second operand for a
    matmul)."""
    lhs = gemm_lhs(layer, operands[0])
    if isinstance(layer, Matmul):
        return lhs, matmul_rhs(layer, operands[1])
    return lhs, weight_rhs(layer, weight)


def fused(layer: Layer, y: np.ndarray, function: ActivationFunction | None) -> np.ndarray:
    """``y`` through the layer's fused activation ``function`` (ReLU or ReLU6, from
    :func:`~.params.fused_activations`); FunctionalError if the layer is marked ``relu``
    and ``function`` is None (the workload format does not say which of the two it is)."""
    if not getattr(layer, "relu", False):
        return y
    if function is None:
        raise FunctionalError(f"layer {layer.name!r}: relu: true without its function")
    high = np.float32(6) if function is ActivationFunction.RELU6 else None
    return np.clip(y, np.float32(0), high)


def fp16_accumulated(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``lhs @ rhs`` per group with an FP16 accumulator: operands converted to FP16 (exact for
    values already rounded to FP8 or FP16), each product and each add rounded to FP16 in K
    order (:func:`npusim.compute.datapath.float_gemm`); returned as float32."""
    from npusim.compute.datapath import float_gemm

    halves = [float_gemm(a.astype(np.float16), b.astype(np.float16), "fp16", "fp16")
              for a, b in zip(lhs, rhs, strict=True)]  # fmt: skip
    return np.stack(halves).astype(np.float32)


def gemm_fp32(
    layer: Layer,
    operands: Sequence[np.ndarray],
    weight: np.ndarray | None,
    bias: np.ndarray | None,
    activation: ActivationFunction | None,
    matmul: Callable[[np.ndarray, np.ndarray], np.ndarray] = np.matmul,
) -> np.ndarray:
    """A conv/linear/matmul layer in float32 (bias added, the fused ``activation`` applied,
    :func:`fused`); ``matmul`` is the product of ``(G, M, K)`` by ``(G, K, N)`` (default:
    numpy's, FP32 accumulation)."""
    lhs, rhs = gemm_operands(layer, operands, weight)
    out = matmul(lhs, rhs)
    if bias is not None:
        out += bias.reshape(out.shape[0], 1, -1)
    return fused(layer, gemm_output(layer, out, operands[0].shape[0]), activation)


def erf(x: np.ndarray) -> np.ndarray:
    """Error function, |error| <= 1.5e-7 (Abramowitz & Stegun 7.1.26)."""
    sign = np.sign(x)
    a = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + _ERF_P * a)
    poly = t * (_ERF_A[0] + t * (_ERF_A[1] + t * (_ERF_A[2] + t * (_ERF_A[3] + t * _ERF_A[4]))))
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


_FUNCTIONS = {
    ActivationFunction.RELU: lambda x: np.maximum(x, np.float32(0)),
    ActivationFunction.RELU6: lambda x: np.clip(x, np.float32(0), np.float32(6)),
    ActivationFunction.GELU: lambda x: x * np.float32(0.5) * (1 + erf(x / np.float32(2**0.5))),
    ActivationFunction.SILU: lambda x: x * _sigmoid(x),
    ActivationFunction.SIGMOID: _sigmoid,
    ActivationFunction.TANH: np.tanh,
    ActivationFunction.HARDSWISH: lambda x: x * np.clip(x + 3, 0, 6) / np.float32(6),
    ActivationFunction.ERF: erf,
}


def pool2d(layer: Pool2d, x: np.ndarray) -> np.ndarray:
    images = _as_images(x, layer.batch, layer.channels, layer.in_h, layer.in_w)
    if layer.global_pool:
        reduce = np.max if layer.mode is PoolMode.MAX else np.mean
        return reduce(images, axis=(2, 3)).reshape(x.shape[0], -1).astype(np.float32)
    top, left, bottom, right = _pads(layer)
    widths = ((0, 0), (0, 0), (top, bottom), (left, right))
    kernel = (layer.kernel_h, layer.kernel_w)
    if layer.mode is PoolMode.MAX:
        padded = np.pad(images, widths, constant_values=-np.inf)
        out = _windows(padded, kernel, layer.stride, 1).max(axis=(4, 5))
    else:
        sums = _windows(np.pad(images, widths), kernel, layer.stride, 1).sum(axis=(4, 5))
        ones = np.pad(np.ones((1, 1, layer.in_h, layer.in_w), np.float32), widths)
        counts = _windows(ones, kernel, layer.stride, 1).sum(axis=(4, 5))
        out = sums / counts
    return out.reshape(x.shape[0], -1).astype(np.float32)


Rounding = Callable[[np.ndarray], np.ndarray]


def _exact(x: np.ndarray) -> np.ndarray:
    return x


def softmax(x: np.ndarray, length: int, rounded: Rounding = _exact) -> np.ndarray:
    """Row softmax of ``x`` over rows of ``length``, in float64 with every step's result passed
    through ``rounded`` (the vector unit's format): ``d = r(x - max)``, ``e = r(exp(d))``,
    ``s = r(sum e)`` (the sum formed exactly, rounded once), ``r(e / s)``."""
    rows = rounded(x.reshape(-1, length).astype(np.float64))
    e = rounded(np.exp(rounded(rows - rows.max(axis=1, keepdims=True))))
    return rounded(e / rounded(e.sum(axis=1, keepdims=True))).reshape(x.shape)


def layernorm(x: np.ndarray, features: int, rounded: Rounding = _exact) -> np.ndarray:
    """Layer normalization over rows of ``features`` (no affine parameters), in float64 with
    every step rounded: ``mu = r(mean x)``, ``c = r(x - mu)``, ``v = r(mean c^2)``,
    ``inv = r(1 / sqrt(v + eps))``, ``r(c * inv)`` (means formed exactly, rounded once)."""
    rows = rounded(x.reshape(-1, features).astype(np.float64))
    centred = rounded(rows - rounded(rows.mean(axis=1, keepdims=True)))
    variance = rounded((centred * centred).mean(axis=1, keepdims=True))
    inverse = rounded(1.0 / np.sqrt(variance + LAYERNORM_EPS))
    return rounded(centred * inverse).reshape(x.shape)


def vector_op(
    layer: Layer,
    operands: Sequence[np.ndarray],
    activation: ActivationFunction | None,
    rounded: Rounding = _exact,
) -> np.ndarray:
    """A vector-unit layer on its flat ``(samples, elements)`` operands, returned as float32.

    ``rounded`` is the vector unit's number format (default: none, float32 results): the
    operands and the result are passed through it, and so are softmax's and layernorm's
    intermediate steps (:func:`softmax`, :func:`layernorm`); pooling, activations,
    element-wise ops and concat round only their operands and result."""
    operands = [rounded(x) for x in operands]
    if isinstance(layer, Softmax):
        return softmax(operands[0], layer.length, rounded).astype(np.float32)
    if isinstance(layer, LayerNorm):
        return layernorm(operands[0], layer.features, rounded).astype(np.float32)
    return rounded(_elementwise_op(layer, operands, activation)).astype(np.float32)


def _elementwise_op(
    layer: Layer, operands: Sequence[np.ndarray], activation: ActivationFunction | None
) -> np.ndarray:
    x = operands[0].astype(np.float32)
    if isinstance(layer, Pool2d):
        return pool2d(layer, x)
    if isinstance(layer, Elementwise):
        other = operands[1].astype(np.float32)
        y = x + other if layer.op is ElementwiseOp.ADD else x * other
        return fused(layer, y, activation)
    if isinstance(layer, Activation):
        function = _FUNCTIONS.get(layer.function)
        if function is None:
            raise FunctionalError(
                f"layer {layer.name!r}: activation {layer.function.value!r} needs constants "
                "the workload does not carry; it cannot run functionally"
            )
        return function(x).astype(np.float32)
    if isinstance(layer, Reshape):
        return x
    if isinstance(layer, Concat):
        return np.concatenate([o.astype(np.float32) for o in operands], axis=1)
    raise FunctionalError(f"layer {layer.name!r}: no functional model for {layer.kind!r}")
