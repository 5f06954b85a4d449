"""Calibration: choosing each quantization group's clipping range ``[lo, hi]``.

Inputs are float32 "rows": one row per quantization group (see :mod:`npusim.quant.layout`).

- min-max: ``[min(x), max(x)]`` (PyTorch ``MinMaxObserver``).
- percentile ``p``: symmetric ``a = P_p(|x|)``, range ``[-a, a]``; affine
  ``[P_(100-p)(x), P_p(x)]``; ``numpy.percentile`` with linear interpolation.
- entropy: TensorRT's KL-divergence calibration (Migacz, "8-bit Inference with TensorRT",
  GTC 2017), as in NVIDIA pytorch-quantization ``_compute_amax_entropy``: a 2048-bin histogram
  of ``|x|`` over ``[0, max|x|]``; for each candidate ``i`` from ``n_levels`` to 2048 bins, the
  reference P is bins ``[0, i)`` with the outlier count added to bin ``i-1``, Q merges bins
  ``[0, i)`` into ``n_levels`` chunks (bin ``j`` in chunk ``floor(j * n_levels / i)``) and
  spreads each chunk's count evenly over its non-empty bins; the threshold is the upper edge
  of bin ``i-1`` for the ``i`` with the smallest ``KL(P || Q)`` (the largest such ``i`` on
  ties). ``n_levels`` is ``2**bits`` for an affine scheme on one-signed data, else
  ``2**(bits-1)``; if it is >= 2048 the threshold is ``max|x|``. The zero bin gets no special
  treatment.
- MSE: search ``[r * lo, r * hi]`` over the min-max range for the ratio ``r`` minimizing the
  reconstruction MSE (PyTorch semantics fake-quantization): ``r`` in 0.01, 0.02, ..., 1.00,
  then steps of 0.001 within +-0.01 of the best. ``r = 1`` (min-max) is a candidate, so the
  result's MSE is never above min-max's.
"""

from __future__ import annotations

import functools

import numpy as np

from npusim.quant.affine import fake_quantize_rows
from npusim.quant.spec import QuantSpec

ENTROPY_BINS = 2048
COARSE_RATIOS = np.arange(1, 101) / 100.0
FINE_STEP = 0.001


def minmax_range(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``(min, max)`` as float32."""
    return rows.min(axis=1), rows.max(axis=1)


def percentile_range(
    rows: np.ndarray, percentile: float, symmetric: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row percentile clipping range (see module docstring)."""
    if symmetric:
        amax = np.percentile(np.abs(rows), percentile, axis=1).astype(np.float32)
        return -amax, amax
    lo, hi = np.percentile(rows, [100.0 - percentile, percentile], axis=1)
    return lo.astype(np.float32), hi.astype(np.float32)


def entropy_levels(spec: QuantSpec, one_signed: bool) -> int:
    """Number of quantization levels Q is merged into (see module docstring)."""
    return 1 << spec.bits if (one_signed and not spec.symmetric) else 1 << (spec.bits - 1)


@functools.lru_cache(maxsize=32)
def _chunk_bounds(levels: int, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate bin counts ``i`` and, per candidate, the first bin of each of the ``levels``
    chunks (plus the end): they depend only on the sizes, so per-channel calls share them."""
    kept = np.arange(levels, n_bins + 1)
    # chunk c holds bins j with floor(j * levels / i) == c: j in [ceil(c i / L), ceil((c+1) i / L))
    bounds = (np.arange(levels + 1)[None, :] * kept[:, None] + levels - 1) // levels
    kept.setflags(write=False)
    bounds.setflags(write=False)
    return kept, bounds


def entropy_threshold_bins(histogram: np.ndarray, levels: int) -> int:
    """Number of leading bins of a ``|x|`` ``histogram`` to keep: the TensorRT KL threshold.

    ``histogram`` is 1-D float64 counts; returns ``i`` in ``[levels, len(histogram)]``.
    Evaluated per chunk with prefix sums instead of per bin: with total count ``T``, kept
    count ``K_i = sum(h[:i])``, chunk sums ``s_c`` over ``n_c`` non-empty bins and
    ``L = log(K_i / T)``, ``T * KL(P || Q) = sum_(j<i) h_j log h_j - sum_c s_c log(s_c / n_c)
    + K_i L``, plus the change of bin ``i-1``'s term when the outlier count is added to it
    (infinite if that bin is empty in Q but not in P).
    """
    n_bins = histogram.size
    total = float(histogram.sum())
    if levels >= n_bins or total == 0:
        return n_bins
    counts = np.asarray(histogram, dtype=np.float64)
    nonzero = counts > 0
    entropy_terms = np.zeros_like(counts)
    np.log(counts, out=entropy_terms, where=nonzero)
    entropy_terms *= counts
    prefix_count = np.concatenate([[0.0], np.cumsum(counts)])
    prefix_nonzero = np.concatenate([[0.0], np.cumsum(nonzero)])
    prefix_entropy = np.concatenate([[0.0], np.cumsum(entropy_terms)])
    kept, bounds = _chunk_bounds(levels, n_bins)
    chunk_sum = np.diff(prefix_count[bounds], axis=1)
    chunk_nonzero = np.diff(prefix_nonzero[bounds], axis=1)
    # s_c log(s_c / n_c) over the non-empty chunks, computed in place (the hot spot)
    filled = chunk_sum > 0
    chunk_terms = np.zeros_like(chunk_sum)
    np.divide(chunk_sum, chunk_nonzero, out=chunk_terms, where=filled)
    np.log(chunk_terms, out=chunk_terms, where=filled)
    chunk_terms *= chunk_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        kept_count = prefix_count[kept]
        log_ratio = np.log(kept_count / total)
        divergence = prefix_entropy[kept] - chunk_terms.sum(axis=1) + kept_count * log_ratio
        last = counts[kept - 1]
        outliers = total - kept_count
        last_q = chunk_sum[:, -1] / chunk_nonzero[:, -1]
        merged = last + outliers

        def term(p: np.ndarray) -> np.ndarray:
            return np.where(p > 0, p * (np.log(p) - np.log(last_q) + log_ratio), 0.0)

        correction = np.where(last > 0, term(merged) - term(last), np.inf)
    divergence += np.where(outliers > 0, correction, 0.0)
    divergence[kept_count == 0] = np.inf  # Q is empty while P is not
    # candidates equal up to float64 rounding of the prefix sums count as ties (largest wins)
    tolerance = 1e-12 * (abs(prefix_entropy[-1]) + total)
    best = np.flatnonzero(divergence <= divergence.min() + tolerance)[-1]
    return int(kept[best])


def _range_mse(
    values: np.ndarray,
    weights: np.ndarray | None,
    spec: QuantSpec,
    lo: np.ndarray,
    hi: np.ndarray,
) -> np.ndarray:
    error = fake_quantize_rows(values, spec, lo, hi).astype(np.float64) - values
    squared = error * error
    if weights is None:
        return squared.mean(axis=1)
    return (squared * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)


def mse_range(
    values: np.ndarray,
    spec: QuantSpec,
    lo: np.ndarray,
    hi: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row clipping range minimizing reconstruction MSE over ratios of ``[lo, hi]``.

    ``values`` are float32 rows; ``weights`` (same shape, optional) are element counts when
    the rows are histogram bin centres. Returns float32 ``(lo, hi)``.
    """
    rows = values.shape[0]
    best_mse = np.full(rows, np.inf)
    best_ratio = np.ones(rows)
    for ratio_grid in (COARSE_RATIOS, None):
        if ratio_grid is None:
            offsets = np.arange(-10, 11) * FINE_STEP
            candidates = [np.clip(best_ratio + off, FINE_STEP, 1.0) for off in offsets]
        else:
            candidates = [np.full(rows, r) for r in ratio_grid]
        for ratio in candidates:
            ratio32 = ratio.astype(np.float32)
            mse = _range_mse(values, weights, spec, lo * ratio32, hi * ratio32)
            better = mse < best_mse
            best_mse = np.where(better, mse, best_mse)
            best_ratio = np.where(better, ratio, best_ratio)
    ratio32 = best_ratio.astype(np.float32)
    return (lo * ratio32).astype(np.float32), (hi * ratio32).astype(np.float32)
