"""Functional datapath of the MAC array: real outputs for one GEMM tile, bit-exact by contract.

* :func:`int_gemm`: integer operands (INT8 by default) x integer -> INT32 accumulation, in the
  K order of a PE (bias first, then ``k = 0 .. K-1``), with overflow of any partial sum checked
  (raise) or two's-complement wrap-around.
* :func:`requantize`: accumulator -> output integer: ``clamp(rint(acc * scale) + zero_point)``,
  with the scale multiply done once in float64 and round half to even (``numpy.rint``, the
  PyTorch/ONNX ``QuantizeLinear`` rounding), then saturation to the output range.
* :func:`float_gemm`: FP32 or FP16 operands, FP32 or FP16 accumulation, sequential in K, each
  product and each add rounded to the accumulator format (no fused multiply-add), so results
  depend only on IEEE-754 single operations and match a scalar loop bit for bit.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from npusim.errors import NpusimError, QuantizationError
from npusim.precision import PRECISIONS, Kind


class AccumulatorOverflowError(NpusimError):
    """A partial sum left the accumulator's range under the ``error`` overflow policy."""


class OverflowPolicy(str, Enum):
    """What an integer accumulator does when a partial sum leaves its range."""

    ERROR = "error"
    WRAP = "wrap"


def int_range(precision: str) -> tuple[int, int]:
    """``(min, max)`` representable integer of an integer precision (e.g. int8 -> -128, 127)."""
    spec = PRECISIONS.get(precision)
    if spec is None or spec.kind is not Kind.INT:
        ints = ", ".join(p for p, s in PRECISIONS.items() if s.kind is Kind.INT)
        raise QuantizationError(f"not an integer precision: {precision!r}; valid: {ints}")
    if spec.signed:
        return -(1 << (spec.bits - 1)), (1 << (spec.bits - 1)) - 1
    return 0, (1 << spec.bits) - 1


def _check_int_operand(name: str, x: np.ndarray, precision: str) -> np.ndarray:
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
        raise QuantizationError(f"{name} must be a 2-D integer array, got {x.dtype} {x.shape}")
    low, high = int_range(precision)
    if x.size and (int(x.min()) < low or int(x.max()) > high):
        raise QuantizationError(f"{name} has values outside {precision} range [{low}, {high}]")
    return x.astype(np.int64)


def _first_overflow(a: np.ndarray, b: np.ndarray, start: np.ndarray, low: int, high: int) -> str:
    """Exact check of every partial sum in K order, in chunks of K; '' if none leaves range."""
    m, k_total = a.shape
    n = b.shape[1]
    chunk = max(1, (1 << 22) // max(1, m * n))
    running = start.copy()
    for k0 in range(0, k_total, chunk):
        products = a[:, k0 : k0 + chunk, None] * b[None, k0 : k0 + chunk, :]
        partial = running[:, None, :] + np.cumsum(products, axis=1)
        bad = np.argwhere((partial < low) | (partial > high))
        if bad.size:
            i, k, j = min(bad.tolist(), key=lambda ikj: (ikj[1], ikj[0], ikj[2]))
            return f"output ({i}, {j}) after k = {k0 + k}: partial sum {partial[i, k, j]}"
        running = partial[:, -1, :]
    return ""


def int_gemm(
    a: np.ndarray,
    b: np.ndarray,
    precision: str = "int8",
    accumulator: str = "int32",
    bias: np.ndarray | None = None,
    overflow: OverflowPolicy | str = OverflowPolicy.ERROR,
) -> np.ndarray:
    """Integer GEMM tile ``bias + a @ b`` with a checked ``accumulator``-wide accumulator.

    ``a``: ``(M, K)``, ``b``: ``(K, N)`` integer arrays whose values lie in ``precision``'s
    range; ``bias``: ``(N,)`` integers in the accumulator's range, added first. Returns
    ``(M, N)`` int64 values in the accumulator's range (dtype int32 for an int32 accumulator).
    Raises :class:`QuantizationError` for bad shapes, dtypes or out-of-range operands and
    :class:`AccumulatorOverflowError` when any partial sum overflows under ``ERROR``; under
    ``WRAP`` the result is the exact sum modulo ``2**bits`` (two's complement), which is what a
    wrapping accumulator produces whatever the order.
    """
    a64 = _check_int_operand("a", np.asarray(a), precision)
    b64 = _check_int_operand("b", np.asarray(b), precision)
    if a64.shape[1] != b64.shape[0]:
        raise QuantizationError(f"shape mismatch: a {a64.shape} @ b {b64.shape}")
    low, high = int_range(accumulator)
    m, n = a64.shape[0], b64.shape[1]
    start = np.zeros((m, n), dtype=np.int64)
    if bias is not None:
        bias64 = np.asarray(bias)
        if bias64.shape != (n,) or not np.issubdtype(bias64.dtype, np.integer):
            raise QuantizationError(f"bias must be ({n},) integers, got {bias64.shape}")
        if bias64.size and (int(bias64.min()) < low or int(bias64.max()) > high):
            raise QuantizationError(f"bias outside {accumulator} range")
        start += bias64.astype(np.int64)
    exact = start + a64 @ b64
    if OverflowPolicy(overflow) is OverflowPolicy.WRAP:
        span = high - low + 1
        exact = (exact - low) % span + low
    else:
        bound = np.abs(start) + np.abs(a64) @ np.abs(b64)
        if bound.size and int(bound.max()) > min(high, -low):
            where = _first_overflow(a64, b64, start, low, high)
            if where:
                raise AccumulatorOverflowError(f"{accumulator} accumulator overflow at {where}")
    dtype = np.int32 if accumulator == "int32" else np.int64
    return exact.astype(dtype)


def _int_dtype(precision: str) -> type[np.integer]:
    spec = PRECISIONS[precision]
    if spec.bits <= 8:
        return np.int8 if spec.signed else np.uint8
    if spec.bits <= 16:
        return np.int16 if spec.signed else np.uint16
    return np.int32 if spec.signed else np.uint32


def requantize(
    acc: np.ndarray,
    scale: float | np.ndarray,
    zero_point: int | np.ndarray = 0,
    out_precision: str = "int8",
) -> np.ndarray:
    """``clamp(rint(acc * scale) + zero_point, qmin, qmax)`` of ``out_precision``.

    ``acc``: ``(M, N)`` integers; ``scale``: positive finite scalar or ``(N,)`` per output
    channel; ``zero_point``: integer scalar or ``(N,)`` inside the output range. The product is
    one float64 multiply, rounded half to even; sub-byte outputs are returned unpacked in int8 or
    uint8. Raises :class:`QuantizationError` for bad scale, zero point or precision.
    """
    qmin, qmax = int_range(out_precision)
    acc_arr = np.asarray(acc)
    if not np.issubdtype(acc_arr.dtype, np.integer):
        raise QuantizationError(f"acc must be integers, got {acc_arr.dtype}")
    scale_arr = np.asarray(scale, dtype=np.float64)
    if not (np.all(np.isfinite(scale_arr)) and np.all(scale_arr > 0)):
        raise QuantizationError("scale must be positive and finite")
    zp = np.asarray(zero_point)
    if not np.issubdtype(zp.dtype, np.integer) or np.any((zp < qmin) | (zp > qmax)):
        raise QuantizationError(f"zero point must be integers in [{qmin}, {qmax}]")
    scaled = np.rint(acc_arr.astype(np.float64) * scale_arr) + zp.astype(np.float64)
    return np.clip(scaled, qmin, qmax).astype(_int_dtype(out_precision))


_FLOAT_DTYPES = {"fp32": np.float32, "fp16": np.float16}


def float_gemm(
    a: np.ndarray, b: np.ndarray, precision: str = "fp32", accumulator: str = "fp32"
) -> np.ndarray:
    """Float GEMM tile in K order: ``acc = acc + a[:, k] * b[k, :]``, each op rounded.

    ``a``: ``(M, K)``, ``b``: ``(K, N)`` with dtype float32 (``fp32``) or float16 (``fp16``);
    ``accumulator`` ``fp32`` or ``fp16``. Operands are converted to the accumulator format
    (exact when widening), the product is rounded to it, then added to the running sum. Returns
    ``(M, N)`` in the accumulator dtype. Raises :class:`QuantizationError` on bad input.
    """
    for name, value in (("precision", precision), ("accumulator", accumulator)):
        if value not in _FLOAT_DTYPES:
            raise QuantizationError(f"{name} {value!r} not supported; valid: fp32, fp16")
    op_dtype, acc_dtype = _FLOAT_DTYPES[precision], _FLOAT_DTYPES[accumulator]
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    for name, x in (("a", a_arr), ("b", b_arr)):
        if x.ndim != 2 or x.dtype != op_dtype:
            raise QuantizationError(f"{name} must be 2-D {np.dtype(op_dtype)}, got {x.dtype}")
    if a_arr.shape[1] != b_arr.shape[0]:
        raise QuantizationError(f"shape mismatch: a {a_arr.shape} @ b {b_arr.shape}")
    a_acc, b_acc = a_arr.astype(acc_dtype), b_arr.astype(acc_dtype)
    out = np.zeros((a_arr.shape[0], b_arr.shape[1]), dtype=acc_dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(a_arr.shape[1]):
            out = out + np.multiply.outer(a_acc[:, k], b_acc[k, :])
    return out
