"""Static (calibrated) quantizers of activation tensors and the quantized weights of a layer.

An activation tensor is stored with one scale and zero point per tensor (the scenario's
activation spec), calibrated once on the calibration split and then fixed, as on the chip:

- integer formats: the quantizer's :class:`~npusim.quant.RangeObserver` (min-max, percentile,
  entropy or MSE over every calibration batch) gives ``[lo, hi]``, and
  :func:`~npusim.quant.affine.qparams` the scale and zero point; codes are
  :func:`~npusim.quant.affine.quantize_rows` of the per-tensor (fused) rounding order, exactly
  what :func:`npusim.quant.quantize` computes for one tensor;
- binary: ``alpha = mean|x|`` over the calibration split (XNOR-Net's scale, fixed), codes
  ``sign(x)`` with ``sign(0) = +1`` as in :func:`npusim.quant.quantize`;
- float formats: no calibration; values are rounded to the format
  (:func:`npusim.quant.floatfmt.round_to_format`, saturating);
- block-scaled formats (OCP MX, NVFP4): no calibration either; each block's scale comes from
  the block when it is stored (:func:`npusim.quant.mx.block_quantize`), blocked along the
  axis the reading or writing layer gives (:mod:`~.blocks`).

Weights are quantized by :func:`npusim.quant.quantize` with the weight spec's format,
granularity (per channel, per tensor or per group) and symmetry on the real ``(groups * n,
k)`` matrix (block-scaled formats: by :func:`~npusim.quant.mx.block_quantize`, blocks along
``k``, the GEMM's reduction axis: the matrix the timing model sizes), always over their
min-max range, as TensorRT and PyTorch's default qconfigs do: a weight's range is known
exactly, and percentile, entropy and MSE are methods for activation distributions (entropy on
9 to 72 weights per channel clips most of them). The scenario's ``quantization.calibration``
therefore chooses activation ranges only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np

from npusim.functional.blocks import BlockAxis, block_fake
from npusim.quant import QuantSpec, RangeObserver, quantize, spec_for_precision
from npusim.quant.affine import qparams, quantize_rows
from npusim.quant.floatfmt import FLOAT_FORMATS, round_to_format
from npusim.quant.mx import block_quantize
from npusim.quant.spec import Calibration, Format, Granularity


def is_integer(spec: QuantSpec) -> bool:
    """True for formats stored as integer codes with a scale (integer and binary)."""
    return spec.fmt in (Format.INT, Format.BINARY)


def precision_name(spec: QuantSpec) -> str:
    """The :data:`npusim.precision.PRECISIONS` name of an integer spec (``int8``, ``uint4``)."""
    return f"{'' if spec.signed else 'u'}int{spec.bits}"


def vector_rounding(precision: str | None) -> Callable[[np.ndarray], np.ndarray]:
    """Rounding of float arrays to the vector unit's format ``precision`` (``fp16``, ``bf16``;
    nearest, ties to even, saturating), returning float64; None or ``fp32``: the identity."""
    if precision is None or precision == "fp32":
        return lambda x: x
    fmt = FLOAT_FORMATS[spec_for_precision(precision).fmt]
    return lambda x: round_to_format(x, fmt)[0]


@dataclass(frozen=True)
class ActivationQuantizer:
    """A calibrated per-tensor quantizer: ``scale`` (float32) and ``zero_point`` (integer);
    float and block-scaled formats have scale 1 and zero point 0 and are not integer."""

    spec: QuantSpec
    scale: np.float32
    zero_point: int

    @property
    def integer(self) -> bool:
        return is_integer(self.spec)

    def codes(self, x: np.ndarray) -> np.ndarray:
        """Integer codes (int64) of float32 ``x`` (integer and binary formats only)."""
        if self.spec.fmt is Format.BINARY:
            return np.where(x >= 0, 1, -1).astype(np.int64)
        rows = x.reshape(1, -1)
        scale = np.array([self.scale], np.float32)
        zero_point = np.array([self.zero_point], np.int64)
        q, _ = quantize_rows(rows, scale, zero_point, self.spec.qmin, self.spec.qmax, True)
        return q.reshape(x.shape)

    def dequantize(self, codes: np.ndarray) -> np.ndarray:
        """``(q - Z) * S`` in float32."""
        return (codes.astype(np.float32) - np.float32(self.zero_point)) * self.scale

    def fake(self, x: np.ndarray, blocks: BlockAxis | None = None) -> np.ndarray:
        """``x`` ``(samples, elements)`` as stored: quantized and read back (float32);
        ``blocks``: where a block-scaled format's blocks lie (None: the flat tensor)."""
        if self.spec.fmt.is_block:
            return block_fake(x, self.spec.fmt.value, blocks)
        if self.integer:
            return self.dequantize(self.codes(x))
        if self.spec.fmt is Format.FP32:
            return x
        rounded, _ = round_to_format(x, FLOAT_FORMATS[self.spec.fmt])
        return rounded.astype(np.float32)


def calibrate_activation(spec: QuantSpec, batches: Iterable[np.ndarray]) -> ActivationQuantizer:
    """An :class:`ActivationQuantizer` for ``spec`` from the tensor's calibration batches
    (float32 arrays of any shape; each is one batch of samples)."""
    if spec.fmt.is_float or spec.fmt.is_block:
        return ActivationQuantizer(spec, np.float32(1), 0)
    if spec.fmt is Format.BINARY:
        total, count = 0.0, 0
        for batch in batches:
            total += float(np.abs(batch).sum(dtype=np.float64))
            count += batch.size
        return ActivationQuantizer(spec, np.float32(total / max(count, 1)), 0)
    observer = RangeObserver(spec)
    for batch in batches:
        observer.observe(batch.reshape(1, -1))
    lo, hi = observer.calibrated_range()
    scale, zero_point = qparams(lo, hi, spec)
    return ActivationQuantizer(spec, np.float32(scale[0]), int(zero_point[0]))


@dataclass(frozen=True)
class QuantizedWeights:
    """A layer's quantized weights: ``codes`` int64 ``(groups * n, k)`` with per-row
    ``scale`` (float32) and ``zero_point`` (int64) when integer and not per group (the
    integer datapath's case), and ``values``, the float32 dequantized matrix, always."""

    spec: QuantSpec
    values: np.ndarray
    codes: np.ndarray | None
    scale: np.ndarray | None
    zero_point: np.ndarray | None


def quantize_weights(weight: np.ndarray, spec: QuantSpec) -> QuantizedWeights:
    """Quantize a ``(rows, k)`` float32 weight matrix with ``spec``, over min-max ranges
    whatever ``spec.calibration`` (module docstring)."""
    if spec.fmt.is_block:
        values = block_quantize(weight, spec.fmt.value).dequantize()
        return QuantizedWeights(spec, values, None, None, None)
    q = quantize(weight, replace(spec, calibration=Calibration.MINMAX))
    values = q.dequantize()
    if not is_integer(spec) or spec.granularity is Granularity.PER_GROUP:
        return QuantizedWeights(spec, values, None, None, None)
    rows = weight.shape[0]
    scale = np.broadcast_to(q.scale, (rows,)).astype(np.float32)
    zero_point = np.broadcast_to(q.zero_point, (rows,)).astype(np.int64)
    return QuantizedWeights(spec, values, q.values.astype(np.int64), scale, zero_point)
