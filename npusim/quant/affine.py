"""Scale/zero-point computation and integer (fake-)quantization, PyTorch semantics.

All arithmetic is float32, as in PyTorch's CPU kernels:

- ``torch.ao.quantization.observer.UniformQuantizationObserverBase._calculate_qparams``: the
  range is widened to include 0; affine ``S = (max - min) / (qmax - qmin)``, symmetric
  ``S = max(|min|, max) / ((qmax - qmin) / 2)``; ``S`` is floored at float32 eps
  (``torch.finfo(torch.float32).eps`` = 2**-23); affine ``Z = clamp(qmin - round(min / S),
  qmin, qmax)``; symmetric ``Z = 0`` (signed) or ``2**(bits-1)`` (unsigned).
- quantize, per tensor: FBGEMM's ``Quantize`` (AVX2 path: ``fmadd(x, 1.0f / S, Z)``, one
  rounding to float32, then round-to-nearest-even and clamp), i.e.
  ``q = clamp(nearbyint(fl32(Z + x * (1.0f / S))), qmin, qmax)``; emulated exactly here by
  forming ``x * (1/S)`` in float64 (a 24 x 24-bit product is exact) before adding ``Z``.
- quantize, per channel (and per group here): ATen's ``quantize_val`` loop, where the product
  and the sum are each rounded to float32: ``q = clamp(nearbyint(fl32(fl32(x * (1.0f / S)) +
  Z)), qmin, qmax)``.
  The two orders differ only for ``x / S`` within a few ulps of a tie; both were pinned
  against torch 2.13 on near-tie vectors (``fixed/*`` cases of the golden file).
- dequantize: ``x_hat = (q - Z) * S`` in float32.

These match torch 2.13 bit for bit on the golden vectors in ``tests/data/quant_golden.npz``.
"""

from __future__ import annotations

import numpy as np

from npusim.quant.scales import round_scale
from npusim.quant.spec import Granularity, QuantSpec

FLOAT32_EPS = np.float32(np.finfo(np.float32).eps)


def qparams(lo: np.ndarray, hi: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, np.ndarray]:
    """Scale (float32) and zero point (int64) for each calibrated range ``[lo, hi]``.

    ``lo`` and ``hi`` are 1-D arrays, one entry per quantization group; ``lo <= hi`` is not
    required to include 0 (it is widened to). A zero-width range gives ``S = eps``. The scale
    is rounded to ``spec.scale_format`` (:mod:`npusim.quant.scales`) before the zero point is
    computed from it; FP32 (the default) leaves PyTorch's value unchanged.
    """
    lo_neg = np.minimum(np.asarray(lo, dtype=np.float32), np.float32(0))
    hi_pos = np.maximum(np.asarray(hi, dtype=np.float32), np.float32(0))
    span = np.float32(spec.qmax - spec.qmin)
    if spec.symmetric:
        amax = np.maximum(-lo_neg, hi_pos)
        scale = np.maximum(amax / (span / np.float32(2)), FLOAT32_EPS)
        zero_point = np.full(scale.shape, spec.symmetric_zero_point, dtype=np.int64)
        return round_scale(scale, spec.scale_format), zero_point  # type: ignore[arg-type]
    scale = np.maximum((hi_pos - lo_neg) / span, FLOAT32_EPS).astype(np.float32)
    scale = round_scale(scale, spec.scale_format)  # type: ignore[arg-type]
    zero_point = spec.qmin - np.rint(lo_neg / scale).astype(np.int64)
    return scale, np.clip(zero_point, spec.qmin, spec.qmax)


FUSED_CHUNK_COLUMNS = 1 << 18


def quantize_rows(
    rows: np.ndarray,
    scale: np.ndarray,
    zero_point: np.ndarray,
    qmin: int,
    qmax: int,
    fused: bool,
    out_dtype: type = np.int64,
) -> tuple[np.ndarray, np.ndarray]:
    """Quantize float32 ``rows`` (groups x elements) with one (S, Z) per row.

    ``fused`` selects the per-tensor (FMA) rounding order, else the per-channel one (module
    docstring). Returns ``(q, clipped)``: codes in ``[qmin, qmax]`` as ``out_dtype`` (which must
    hold that range) and a bool mask of elements whose unclamped code fell outside it.
    """
    inverse_scale = (np.float32(1) / scale).astype(np.float32)[:, None]
    offset = zero_point.astype(np.float32)[:, None]
    if fused:
        unclamped = np.empty(rows.shape, dtype=np.float32)
        inverse64 = inverse_scale.astype(np.float64)
        for start in range(0, rows.shape[1], FUSED_CHUNK_COLUMNS):
            part = slice(start, start + FUSED_CHUNK_COLUMNS)
            unclamped[:, part] = rows[:, part].astype(np.float64) * inverse64 + offset
    else:
        unclamped = rows * inverse_scale
        unclamped += offset
    # Clipped: outside the codes by more than rounding's half step, so the clamp, not the
    # rounding, sets its error (min-max's own extreme at +127.5 rounds to 128 and is clamped
    # to 127 with half a step of error, like any rounding: not clipped).
    clipped = (unclamped < qmin - 0.5) | (unclamped > qmax + 0.5)
    np.rint(unclamped, out=unclamped)
    np.clip(unclamped, qmin, qmax, out=unclamped)
    return unclamped.astype(out_dtype), clipped


FLOAT32_MAX = float(np.finfo(np.float32).max)
MAX_CODE_SPAN = float(1 << 16)  # |q - Z| of codes of at most 16 bits


def dequantize_rows(q: np.ndarray, scale: np.ndarray, zero_point: np.ndarray) -> np.ndarray:
    """``(q - Z) * S`` in float32, one (S, Z) per row of ``q``. Values beyond float32's range
    (a tensor at its limits: -3.4e38 is code -128 of scale 3.4e38 / 127.5) saturate to its
    largest finite value rather than becoming infinite."""
    centered = q.astype(np.float32) - zero_point.astype(np.float32)[:, None]
    scales = scale.astype(np.float32)[:, None]
    if not scales.size or float(np.abs(scales).max()) * MAX_CODE_SPAN <= FLOAT32_MAX:
        return centered * scales
    with np.errstate(over="ignore"):
        values = centered * scales
    return np.clip(values, -FLOAT32_MAX, FLOAT32_MAX, out=values)


def fake_quantize_rows(rows: np.ndarray, spec: QuantSpec, lo: np.ndarray, hi: np.ndarray):
    """Dequantized rows for the ranges ``[lo, hi]`` (used by the calibration searches)."""
    scale, zero_point = qparams(lo, hi, spec)
    fused = spec.granularity is Granularity.PER_TENSOR
    q, _ = quantize_rows(rows, scale, zero_point, spec.qmin, spec.qmax, fused)
    return dequantize_rows(q, scale, zero_point)
