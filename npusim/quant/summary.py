"""Plain-data summaries of quantized tensors and the bit-width comparison behind
``npusim quantize --compare``."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

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
        "error": {
            name: (value if math.isfinite(value) else None)
            for name, value in quantized.error.as_dict().items()
        },
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
