"""``quantize(x, spec) -> QuantizedTensor`` and the data-free ``storage_bytes``.

Stored size = bit-packed payload (:mod:`npusim.quant.packing`) + metadata, because scales and
zero points cross the DRAM bus too. Metadata widths, per quantization group:

- scale (integer and binary formats): ``spec.scale_format`` bytes, FP32 (4, the default:
  ONNX ``QuantizeLinear`` and TFLite store float32 scales, PyTorch computes them in float32),
  FP16 or BF16 (2), or E8M0 (1, the OCP MX shared-scale format); the quantizer uses the
  stored (rounded) scale (:mod:`npusim.quant.scales`).
- zero points (affine integer schemes only): packed at the payload's bit width, the tensor's
  ``G`` zero points taking ``ceil(G * bits / 8)`` bytes (a zero point lies in the code range,
  so ``bits`` hold it; INT4 groups store 4-bit zero points, as GPTQ/AWQ kernels pack them).
  Symmetric schemes store none: their zero point is fixed by the format, as in hardware that
  implements symmetric weights to drop the zero-point correction.
- float casts (fp32/fp16/bf16/fp8): no metadata; granularity, calibration and bits are not
  used (bits is the format width).
- block-scaled formats (MX, NVFP4): the format's own scales, one per block along the last
  axis (:func:`npusim.quant.mx.block_storage_bytes`: MXFP4 4 + 8 / 32 = 4.25 bits per
  element); :func:`quantize` refuses them, :func:`npusim.quant.mx.block_quantize` quantizes
  them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from npusim.errors import QuantizationError
from npusim.quant import calibrate, floatfmt, packing
from npusim.quant.affine import dequantize_rows, qparams, quantize_rows
from npusim.quant.layout import Layout, check_values, make_layout, to_rows
from npusim.quant.metrics import ErrorAccumulator, ErrorStats, error_stats
from npusim.quant.mx import block_storage_bytes
from npusim.quant.observer import RangeObserver
from npusim.quant.packing import StorageBytes
from npusim.quant.scales import round_scale
from npusim.quant.spec import Calibration, Format, Granularity, QuantSpec

BLOCK_ELEMENTS = 1 << 16


def metadata_bytes(groups: int, spec: QuantSpec) -> int:
    """Bytes of ``groups`` scales and (affine) zero points, zero points bit-packed."""
    scales = groups * spec.scale_format.bytes if spec.has_scale else 0  # type: ignore[union-attr]
    zero_points = packing.packed_size_bytes(groups, spec.bits) if spec.stores_zero_point else 0
    return scales + zero_points


def storage_bytes(shape: tuple[int, ...], spec: QuantSpec) -> StorageBytes:
    """Size of ``quantize(x, spec)`` for any ``x`` of ``shape``, without data.

    Equals ``quantize(x, spec).nbytes``. Raises :class:`QuantizationError` for an empty shape,
    an axis out of range or a group size that does not divide the axis.
    """
    shape = tuple(int(d) for d in shape)
    elements = math.prod(shape)
    if elements == 0:
        raise QuantizationError(f"empty tensor (shape {shape})")
    if spec.fmt.is_block:
        return block_storage_bytes(shape, spec.fmt.value)
    payload = packing.packed_size_bytes(elements, spec.bits)
    groups = 0 if spec.fmt.is_float else make_layout(shape, spec).rows
    metadata = metadata_bytes(groups, spec)
    return StorageBytes(payload, metadata, payload + metadata)


@dataclass(frozen=True)
class QuantizedTensor:
    """A quantized tensor.

    ``values``: unpacked integer codes in the input's shape (integer formats: int8/uint8/
    int16/uint16 in ``[qmin, qmax]``; binary: int8 in {-1, +1}; float formats: the bit codes
    as uint8/uint16/uint32). ``scale`` (float32) and ``zero_point`` (int64) have the
    granularity's parameter shape (``()`` per tensor; float formats: scale 1, zero point 0).
    ``error``: :class:`npusim.quant.metrics.ErrorStats` against the input.
    """

    values: np.ndarray
    scale: np.ndarray
    zero_point: np.ndarray
    spec: QuantSpec
    layout: Layout
    error: ErrorStats

    def dequantize(self) -> np.ndarray:
        """Float32 reconstruction ``x_hat`` in the input's shape."""
        fmt = self.spec.fmt
        if fmt is Format.FP32:
            return self.values.view(np.float32).copy()
        if fmt.is_float:
            return floatfmt.decode(self.values, floatfmt.FLOAT_FORMATS[fmt])
        rows = self.layout.to_rows(self.values)
        scale = self.layout.params_to_rows(self.scale)
        zero_point = self.layout.params_to_rows(self.zero_point)
        return self.layout.from_rows(dequantize_rows(rows, scale, zero_point))

    @cached_property
    def packed(self) -> np.ndarray:
        """The payload as a 1-D uint8 array (layout in :mod:`npusim.quant.packing`)."""
        if self.spec.fmt is Format.BINARY:
            return packing.pack((self.values + 1) // 2, 1, signed=False)
        if self.spec.fmt.is_float:
            return (
                np.ascontiguousarray(self.values).astype(f"<u{self.values.itemsize}").view(np.uint8)
            )
        return packing.pack(self.values, self.spec.bits, self.spec.signed)

    @property
    def metadata_bytes(self) -> int:
        """Bytes of the stored scales and zero points."""
        return metadata_bytes(self.scale.size, self.spec) if self.spec.has_scale else 0

    @property
    def nbytes(self) -> int:
        """Packed payload plus metadata, in bytes (equals :func:`storage_bytes`)."""
        return int(self.packed.size) + self.metadata_bytes


def _int_dtype(spec: QuantSpec) -> np.dtype:
    if spec.bits <= 8:
        return np.dtype(np.int8 if spec.signed else np.uint8)
    return np.dtype(np.int16 if spec.signed else np.uint16)


def _calibrated_range(
    rows: np.ndarray, layout: Layout, spec: QuantSpec, observer: RangeObserver | None
) -> tuple[np.ndarray, np.ndarray]:
    if observer is not None:
        if observer.layout is not None and observer.layout.rows != layout.rows:
            raise QuantizationError(
                f"observer calibrated {observer.layout.rows} groups, tensor has {layout.rows}"
            )
        return observer.calibrated_range()
    calibration = spec.calibration
    if calibration is Calibration.PERCENTILE:
        return calibrate.percentile_range(rows, spec.percentile, spec.symmetric)
    if calibration is Calibration.ENTROPY:
        one_batch = RangeObserver(spec)
        one_batch.observe(layout.from_rows(rows))
        return one_batch.calibrated_range()
    lo, hi = calibrate.minmax_range(rows)
    if calibration is Calibration.MSE:
        return calibrate.mse_range(rows, spec, lo, hi)
    return lo, hi


def _float_cast(values: np.ndarray, spec: QuantSpec) -> QuantizedTensor:
    layout = Layout(values.shape, spec.granularity, 0, 1, 1, values.size)
    one, zero = np.ones((), np.float32), np.zeros((), np.int64)
    if spec.fmt is Format.FP32:
        clipped = np.zeros(values.shape, dtype=bool)
        stats = error_stats(values, values, clipped)
        return QuantizedTensor(values.view(np.uint32).copy(), one, zero, spec, layout, stats)
    fmt = floatfmt.FLOAT_FORMATS[spec.fmt]
    rounded, saturated = floatfmt.round_to_format(values, fmt)
    stats = error_stats(values, rounded.astype(np.float32), saturated)
    return QuantizedTensor(floatfmt.encode(rounded, fmt), one, zero, spec, layout, stats)


def _binarize(rows: np.ndarray, layout: Layout, spec: QuantSpec) -> QuantizedTensor:
    """BinaryConnect/XNOR-Net: ``x_hat = alpha * sign(x)`` with ``alpha = mean|x|`` per group
    (Rastegari et al., XNOR-Net, ECCV 2016, eq. 4); ``sign(0) = +1``."""
    alpha = np.abs(rows).mean(axis=1, dtype=np.float64).astype(np.float32)
    alpha = round_scale(alpha, spec.scale_format)  # type: ignore[arg-type]
    signs = np.where(rows >= 0, 1, -1).astype(np.int8)
    x_hat = signs.astype(np.float32) * alpha[:, None]
    stats = error_stats(rows, x_hat, np.abs(rows) > alpha[:, None])
    zero = np.zeros(alpha.shape, dtype=np.int64)
    return QuantizedTensor(
        layout.from_rows(signs),
        layout.params_from_rows(alpha),
        layout.params_from_rows(zero),
        spec,
        layout,
        stats,
    )


def quantize(
    x: np.ndarray, spec: QuantSpec, *, observer: RangeObserver | None = None
) -> QuantizedTensor:
    """Quantize ``x`` (any shape, numeric dtype; computed in float32) as ``spec`` says.

    With ``observer``, its calibrated range (from earlier batches) is used instead of
    calibrating on ``x`` (static quantization; integer formats only: binary recomputes alpha
    from ``x`` and float casts need no range). Raises :class:`QuantizationError` for an empty
    tensor, NaN/Inf, an axis out of range or a group size that does not divide the axis, and
    for a block-scaled format (quantized by :func:`npusim.quant.mx.block_quantize`).
    """
    if spec.fmt.is_block:
        raise QuantizationError(
            f"{spec.fmt.value} is block-scaled: npusim.quant.mx.block_quantize quantizes it "
            "(its scales are per block, not a QuantSpec's)"
        )
    values = check_values(x)
    if spec.fmt.is_float:
        return _float_cast(values, spec)
    rows, layout = to_rows(values, spec)
    if spec.fmt is Format.BINARY:
        return _binarize(rows, layout, spec)
    lo, hi = _calibrated_range(rows, layout, spec, observer)
    with np.errstate(over="ignore"):  # an overflowing range is reported just below
        scale, zero_point = qparams(lo, hi, spec)
    if not np.isfinite(scale).all():
        raise QuantizationError(
            "the tensor's range overflows a float32 scale (values near the float32 limit); "
            "rescale the tensor"
        )
    codes = np.empty(rows.shape, dtype=_int_dtype(spec))
    accumulator = ErrorAccumulator()
    fused = spec.granularity is Granularity.PER_TENSOR
    for row_part, column_part in _blocks(rows.shape):
        block = rows[row_part, column_part]
        block_scale, block_zero_point = scale[row_part], zero_point[row_part]
        q, clipped = quantize_rows(
            block, block_scale, block_zero_point, spec.qmin, spec.qmax, fused, codes.dtype
        )
        codes[row_part, column_part] = q
        accumulator.add(block, dequantize_rows(q, block_scale, block_zero_point), clipped)
    return QuantizedTensor(
        layout.from_rows(codes),
        layout.params_from_rows(scale),
        layout.params_from_rows(zero_point),
        spec,
        layout,
        accumulator.stats(),
    )


def _blocks(shape: tuple[int, int]) -> Iterator[tuple[slice, slice]]:
    """Cache-sized ``(rows, columns)`` blocks of a rows array, in order (speed only: the
    temporaries of quantize, dequantize and the error sums stay in cache)."""
    rows, row_length = shape
    if row_length >= BLOCK_ELEMENTS:
        for row in range(rows):
            for start in range(0, row_length, BLOCK_ELEMENTS):
                yield slice(row, row + 1), slice(start, start + BLOCK_ELEMENTS)
        return
    rows_per_block = BLOCK_ELEMENTS // row_length
    for start in range(0, rows, rows_per_block):
        yield slice(start, start + rows_per_block), slice(None)
