"""The integer datapath of a GEMM layer: integer codes in, INT32 accumulation, requantized out.

For input codes ``q_x`` (one scale ``S_x``, zero point ``Z_x``) and weight codes ``q_w`` (per
output channel ``S_w[c]``, ``Z_w[c]``), the integer GEMM of Jacob et al. (CVPR 2018,
"Quantization and training of neural networks for efficient integer-arithmetic-only
inference", Eq. 7) with ONNX ``QLinearConv`` / ``QLinearMatMul``'s requantization: a real
(float) multiplier and round half to even, as ONNX Runtime's reference kernels compute it. It
is not TFLite's, which multiplies by a 32-bit fixed-point multiplier and shifts, rounding half
away from zero; the two can differ by one code on ties and in the multiplier's last bits.

- ``acc[c] = b_q[c] + sum_k (q_x[k] - Z_x) * (q_w[k, c] - Z_w[c])``, exact integers that must
  lie in the accumulator's range (:class:`~npusim.compute.datapath.AccumulatorOverflowError`
  otherwise); the bias is stored as INT32 codes of scale ``S_x * S_w[c]``:
  ``b_q = rint(b / (S_x * S_w[c]))``, which must lie in the same range (the same error
  otherwise: a bias code that does not fit is an overflow too, not silently saturated);
- integer outputs: :func:`npusim.compute.datapath.requantize` (``clamp(rint(acc * M[c]) +
  Z_y)``, ``M[c] = S_x * S_w[c] / S_y`` in float64, round half to even), a fused ReLU clamping
  the codes at ``Z_y`` from below (the code of 0), a fused ReLU6 also at the code of 6 from
  above;
- binary outputs (no integer requantizer): ``sign(acc * S_x * S_w[c])`` after the ReLU.

The sums are formed by a float64 matrix product of the integer operands, which is exact while
every partial sum stays below ``2**53`` (checked: ``K * max|a| * max|b| < 2**53``), so numpy's
BLAS does the work; the result is the same integer any summation order gives.
"""

from __future__ import annotations

import numpy as np

from npusim.compute.datapath import AccumulatorOverflowError, int_range, requantize
from npusim.errors import QuantizationError
from npusim.functional.quantizers import ActivationQuantizer, precision_name
from npusim.quant.spec import Format
from npusim.workload import ActivationFunction

EXACT_FLOAT64 = 2.0**53


def accumulate(
    lhs: np.ndarray, rhs: np.ndarray, bias_codes: np.ndarray, accumulator: str = "int32"
) -> np.ndarray:
    """``bias_codes + lhs @ rhs`` as exact int64, checked against ``accumulator``'s range.

    ``lhs``: ``(G, M, K)`` and ``rhs``: ``(G, K, N)`` integers with zero points already
    subtracted; ``bias_codes``: integers broadcastable to ``(G, 1, N)``. Raises
    :class:`AccumulatorOverflowError` when a final sum leaves the range (a two's-complement
    accumulator gets every in-range final sum right whatever its partial sums do).
    """
    k = lhs.shape[-1]
    bound = k * float(np.abs(lhs).max(initial=0)) * float(np.abs(rhs).max(initial=0))
    if bound >= EXACT_FLOAT64:
        raise QuantizationError(f"GEMM of depth {k} too wide for exact float64 accumulation")
    acc = np.rint(np.matmul(lhs.astype(np.float64), rhs.astype(np.float64))).astype(np.int64)
    acc += bias_codes
    low, high = int_range(accumulator)
    if acc.size and (int(acc.min()) < low or int(acc.max()) > high):
        worst = int(acc.max()) if int(acc.max()) > high else int(acc.min())
        raise AccumulatorOverflowError(f"{accumulator} accumulator overflow: sum {worst}")
    return acc


def bias_codes(bias: np.ndarray, acc_scale: np.ndarray, accumulator: str = "int32") -> np.ndarray:
    """``rint(bias / acc_scale)`` as int64; raises :class:`AccumulatorOverflowError` when a
    code leaves the accumulator's range (as an accumulated sum that leaves it does)."""
    low, high = int_range(accumulator)
    codes = np.rint(bias.astype(np.float64) / acc_scale.astype(np.float64))
    outside = (codes < low) | (codes > high)
    if outside.any():
        worst = float(codes[outside].flat[0])
        raise AccumulatorOverflowError(
            f"{accumulator} accumulator overflow: bias code {worst:.0f} (bias / (S_x * S_w))"
        )
    return codes.astype(np.int64)


def requantize_output(
    acc: np.ndarray,
    acc_scale: np.ndarray,
    out: ActivationQuantizer,
    activation: ActivationFunction | None,
) -> np.ndarray:
    """Output codes (int64) of accumulators ``acc`` of scale ``acc_scale`` (broadcastable,
    float64 ``S_x * S_w``) in the integer or binary format of ``out`` (module docstring);
    ``activation``: the fused ReLU (codes clamped at ``Z_y``, the code of 0, from below) or
    ReLU6 (also at the code of 6 from above), or None."""
    if out.spec.fmt is Format.BINARY:
        real = acc * acc_scale
        if activation is not None:  # both clamp at 0 first; sign() of [0, 6] is +1
            real = np.maximum(real, 0.0)
        return np.where(real >= 0, 1, -1).astype(np.int64)
    multiplier = acc_scale / np.float64(out.scale)
    zero_point = np.int64(out.zero_point)
    codes = requantize(acc, multiplier, zero_point, precision_name(out.spec)).astype(np.int64)
    if activation is None:
        return codes
    six = int(out.codes(np.array([6.0], np.float32))[0])
    return np.clip(codes, zero_point, six if activation is ActivationFunction.RELU6 else None)
