"""Plain-data summaries of quantized tensors and the bit-width comparison behind
``npusim quantize --compare``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from npusim.errors import QuantizationError
from npusim.quant.mx import (
    E8M0_NAN,
    NVFP4_BLOCK,
    MxTensor,
    Nvfp4Tensor,
    block_quantize,
    block_storage_bytes,
)
from npusim.quant.spec import Format, QuantSpec
from npusim.quant.tensor import QuantizedTensor, quantize

COMPARE_BIT_WIDTHS = (32, 16, 8, 4, 2, 1)


def spec_label(spec: QuantSpec) -> str:
    """Short human name, e.g. ``int4 symmetric per_channel(axis 0) entropy``."""
    if spec.fmt.is_float or spec.fmt.is_block:
        return spec.fmt.value
    if spec.fmt is Format.BINARY:
        head = "binary"
    else:
        head = f"{'int' if spec.signed else 'uint'}{spec.bits} "
        head += "symmetric" if spec.symmetric else "affine"
    where = spec.granularity.value
    if spec.granularity.value != "per_tensor":
        where += f"(axis {spec.axis}"
        where += f", group {spec.group_size})" if spec.group_size else ")"
    calibration = "" if spec.fmt is Format.BINARY else " " + spec.calibration.value
    if spec.calibration.value == "percentile" and spec.fmt is Format.INT:
        calibration += f" {spec.percentile:g}"
    return f"{head} {where}{calibration}"


def describe(quantized: QuantizedTensor, original_bytes: int) -> dict[str, object]:
    """JSON-ready summary: spec, scale/zero-point ranges, bytes before/after, error metrics.

    ``original_bytes`` is the input's stored size (e.g. 4 bytes per float32 element). An
    infinite SQNR (no error at all) becomes ``None`` so the result is strict JSON.
    """
    spec = quantized.spec
    scale = np.asarray(quantized.scale, dtype=np.float64)
    zero_point = np.asarray(quantized.zero_point)
    return {
        "format": spec_label(spec),
        "spec": {k: getattr(v, "value", v) for k, v in dataclasses.asdict(spec).items()},
        "groups": int(scale.size) if spec.has_scale else 0,
        "scale_min": float(scale.min()),
        "scale_max": float(scale.max()),
        "zero_point_min": int(zero_point.min()),
        "zero_point_max": int(zero_point.max()),
        "original_bytes": int(original_bytes),
        "payload_bytes": int(quantized.packed.size),
        "metadata_bytes": int(quantized.metadata_bytes),
        "total_bytes": int(quantized.nbytes),
        "compression_ratio": original_bytes / quantized.nbytes,
        "error": _finite_or_none(quantized.error.as_dict()),
    }


def spec_for_bit_width(bits: int, base: QuantSpec) -> QuantSpec:
    """The comparison row's spec: 32 is the FP32 identity, 1 is binary (sign and alpha with
    ``base``'s granularity), 2..16 are integers with ``base``'s scheme and calibration."""
    if bits == 32:
        return QuantSpec(fmt=Format.FP32)
    fmt = Format.BINARY if bits == 1 else Format.INT
    return dataclasses.replace(base, bits=bits, fmt=fmt)


def compare_bit_widths(
    x: np.ndarray, base: QuantSpec, bit_widths: tuple[int, ...] = COMPARE_BIT_WIDTHS
) -> list[dict[str, object]]:
    """:func:`describe` of ``x`` quantized at each bit width (see :func:`spec_for_bit_width`);
    the original size is ``x.nbytes`` (its own dtype)."""
    original_bytes = int(np.asarray(x).nbytes)
    rows = []
    for bits in bit_widths:
        quantized = quantize(x, spec_for_bit_width(bits, base))
        rows.append({"bits": bits, **describe(quantized, original_bytes)})
    return rows


BLOCK_FORMATS = tuple(f for f in Format if f.is_block)
"""The block-scaled formats in :class:`Format` order (MXINT8 ... MXFP4, NVFP4)."""


def block_quantize_along(x: np.ndarray, name: str, axis: int = -1) -> MxTensor | Nvfp4Tensor:
    """:func:`~npusim.quant.mx.block_quantize` of ``x`` with its blocks along ``axis`` (the
    quantizer blocks the last axis; ``axis`` is moved there first, so the block scales'
    shape is ``x``'s with ``axis`` last and counted in blocks). Raises
    :class:`QuantizationError` for an axis ``x`` does not have."""
    values = np.asarray(x)
    if values.ndim == 0:
        return block_quantize(values, name)  # refuses it: a block needs an axis
    if not -values.ndim <= axis < values.ndim:
        raise QuantizationError(f"axis {axis} outside a {values.ndim}-D tensor")
    return block_quantize(np.moveaxis(values, axis, -1), name)


def _block_scales(quantized: MxTensor | Nvfp4Tensor) -> tuple[np.ndarray, str, str]:
    """Each block's real scale (float64; NaN for an MX NaN scale), the element format's name
    and how the scales are stored."""
    if isinstance(quantized, Nvfp4Tensor):
        scales = quantized.block_scales * quantized.tensor_scale
        return scales.astype(np.float64), "E2M1", "e4m3 per block x fp32 per tensor"
    exponents = quantized.scale_exponents
    nan = exponents == E8M0_NAN
    scales = np.where(nan, np.nan, np.ldexp(1.0, np.where(nan, 0, exponents)))
    element = quantized.fmt.element
    label = "INT8" if element is None else f"E{element.exponent_bits}M{element.mantissa_bits}"
    return scales, label, "e8m0"


def describe_block(
    quantized: MxTensor | Nvfp4Tensor, original_bytes: int, axis: int = -1
) -> dict[str, object]:
    """:func:`describe`'s summary of a block-scaled tensor (:func:`block_quantize_along`
    with ``axis``): ``groups`` counts the block scales, ``scale_min``/``scale_max`` are the
    finite blocks' real scales (``2**e`` for MX, ``s * g`` for NVFP4; ``None`` if none is
    finite), ``block`` says how the tensor is blocked, ``nan_blocks`` counts MX blocks
    holding a NaN or an infinity (NaN scale); there are no zero points."""
    axis %= quantized.elements.ndim  # -1 and ndim - 1 name one axis: report it from the front
    scales, element, scale_format = _block_scales(quantized)
    finite = scales[np.isfinite(scales)]
    name = "nvfp4" if isinstance(quantized, Nvfp4Tensor) else quantized.fmt.name
    block = NVFP4_BLOCK if isinstance(quantized, Nvfp4Tensor) else quantized.fmt.block
    bits = 4 if isinstance(quantized, Nvfp4Tensor) else quantized.fmt.element_bits
    storage = block_storage_bytes(quantized.elements.shape, name)
    layout: dict[str, object] = {"size": block, "axis": axis, "element": element,
                                 "scale_format": scale_format,
                                 "nan_blocks": int(scales.size - finite.size)}  # fmt: skip
    if isinstance(quantized, Nvfp4Tensor):
        layout["tensor_scale"] = quantized.tensor_scale
    return {
        "format": name,
        "spec": {"fmt": name, "bits": bits, "axis": axis},
        "block": layout,
        "groups": int(scales.size),
        "scale_min": float(finite.min()) if finite.size else None,
        "scale_max": float(finite.max()) if finite.size else None,
        "original_bytes": int(original_bytes),
        "payload_bytes": int(storage.payload_bytes),
        "metadata_bytes": int(storage.metadata_bytes),
        "total_bytes": int(quantized.nbytes),
        "compression_ratio": original_bytes / quantized.nbytes,
        "error": _finite_or_none(quantized.error.as_dict()),
    }


def _finite_or_none(values: dict[str, float]) -> dict[str, float | None]:
    return {name: (v if math.isfinite(v) else None) for name, v in values.items()}


def compare_block_formats(
    x: np.ndarray, axis: int = -1
) -> tuple[list[dict[str, object]], dict[str, str]]:
    """:func:`describe_block` of ``x`` in every block-scaled format (``bits``: the element
    width), blocks along ``axis``; the original size is ``x.nbytes``. Also returns the
    formats that cannot hold ``x`` with the reason (NVFP4 has no NaN code: a NaN or an
    infinity in ``x``)."""
    original_bytes = int(np.asarray(x).nbytes)
    rows, skipped = [], {}
    for fmt in BLOCK_FORMATS:
        try:
            quantized = block_quantize_along(x, fmt.value, axis)
        except QuantizationError as err:
            if fmt is not Format.NVFP4 or np.isfinite(x).all():
                raise
            skipped[fmt.value] = str(err)
            continue
        info = describe_block(quantized, original_bytes, axis)
        rows.append({"bits": info["spec"]["bits"], **info})  # type: ignore[index]
    return rows, skipped
