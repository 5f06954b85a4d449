"""Running calibration over several batches.

:class:`RangeObserver` keeps, per quantization group (row), the running min and max (exactly
PyTorch's ``MinMaxObserver`` / ``PerChannelMinMaxObserver`` without averaging) and, for the
histogram calibrations, a signed histogram of ``2 * 2048`` equal bins over ``[-R, R]``:

- The first batch with a non-zero value sets ``R = max|x|`` of the row. When a later batch
  exceeds ``R``, ``R`` doubles (as often as needed) and adjacent bin pairs merge, which is
  exact: no count moves across a value it was not already beyond.
- Entropy calibration folds the histogram to ``|x|`` (2048 bins over ``[0, R]``) and applies
  :func:`npusim.quant.calibrate.entropy_threshold_bins`; ``quantize`` with
  ``calibration="entropy"`` is this observer fed one batch.
- Percentile over batches reads the cumulative histogram: the bin edge where the cumulative
  count first reaches ``p %`` (upper edge) or ``(100 - p) %`` (lower edge) of the total.
- MSE over batches runs the ratio search on the bin centres weighted by counts.

One-shot ``quantize`` with ``percentile`` or ``mse`` uses the exact data instead, so its ranges
can differ from this observer's by up to one bin width ``R / 2048``.
"""

from __future__ import annotations

import numpy as np

from npusim.errors import QuantizationError
from npusim.quant import calibrate
from npusim.quant.layout import Layout, check_values, to_rows
from npusim.quant.spec import Calibration, Format, QuantSpec

HALF_BINS = calibrate.ENTROPY_BINS


class RangeObserver:
    """Accumulates calibration statistics of ``spec`` over batches (:meth:`observe`)."""

    def __init__(self, spec: QuantSpec) -> None:
        self.spec = spec
        self.layout: Layout | None = None
        self.row_min: np.ndarray | None = None
        self.row_max: np.ndarray | None = None
        self.radius: np.ndarray | None = None
        self.histogram: np.ndarray | None = None
        self._wants_histogram = spec.fmt is Format.INT and spec.calibration is not (
            Calibration.MINMAX
        )

    def observe(self, batch: np.ndarray) -> None:
        """Add one batch. Raises :class:`QuantizationError` on bad values or a group count
        that differs from earlier batches."""
        rows, layout = to_rows(check_values(batch), self.spec)
        if self.layout is None:
            self.layout = layout
            self.row_min, self.row_max = calibrate.minmax_range(rows)
        else:
            if layout.rows != self.layout.rows:
                raise QuantizationError(
                    f"batch has {layout.rows} quantization groups, earlier batches had "
                    f"{self.layout.rows}"
                )
            self.row_min = np.minimum(self.row_min, rows.min(axis=1))
            self.row_max = np.maximum(self.row_max, rows.max(axis=1))
        if self._wants_histogram:
            self._add_to_histogram(rows)

    def _add_to_histogram(self, rows: np.ndarray) -> None:
        amax = np.abs(rows).max(axis=1).astype(np.float64)
        if self.histogram is None:
            self.radius = np.zeros(rows.shape[0])
            self.histogram = np.zeros((rows.shape[0], 2 * HALF_BINS))
        empty = self.radius == 0
        self.radius[empty] = amax[empty]
        while True:
            grow = amax > self.radius
            if not grow.any():
                break
            regrouped = np.zeros((int(grow.sum()), 2 * HALF_BINS))
            pairs = self.histogram[grow].reshape(-1, HALF_BINS, 2).sum(axis=2)
            regrouped[:, HALF_BINS // 2 : HALF_BINS // 2 + HALF_BINS] = pairs
            self.histogram[grow] = regrouped
            self.radius[grow] *= 2.0
        radius = np.where(self.radius > 0, self.radius, 1.0)[:, None]
        index = np.floor((rows / radius + 1.0) * HALF_BINS).astype(np.int64)
        np.clip(index, 0, 2 * HALF_BINS - 1, out=index)
        flat = index + (np.arange(rows.shape[0]) * 2 * HALF_BINS)[:, None]
        counts = np.bincount(flat.ravel(), minlength=self.histogram.size)
        self.histogram += counts.reshape(self.histogram.shape)

    def calibrated_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-group clipping range ``(lo, hi)`` (float32, one entry per row)."""
        if self.row_min is None:
            raise QuantizationError("observer has seen no batch")
        calibration = self.spec.calibration
        if not self._wants_histogram or calibration is Calibration.MINMAX:
            return self.row_min.astype(np.float32), self.row_max.astype(np.float32)
        if calibration is Calibration.ENTROPY:
            return self._entropy_range()
        if calibration is Calibration.PERCENTILE:
            return self._percentile_range()
        return self._mse_range()

    def _bin_width(self) -> np.ndarray:
        return self.radius / HALF_BINS

    def _entropy_range(self) -> tuple[np.ndarray, np.ndarray]:
        folded = self.histogram[:, HALF_BINS:] + self.histogram[:, HALF_BINS - 1 :: -1]
        one_signed = (self.row_min >= 0) | (self.row_max <= 0)
        amax = np.empty(folded.shape[0])
        for row, counts in enumerate(folded):
            levels = calibrate.entropy_levels(self.spec, bool(one_signed[row]))
            amax[row] = calibrate.entropy_threshold_bins(counts, levels)
        amax = (amax * self._bin_width()).astype(np.float32)
        if self.spec.symmetric:
            return -amax, amax
        return np.maximum(self.row_min, -amax), np.minimum(self.row_max, amax)

    def _percentile_range(self) -> tuple[np.ndarray, np.ndarray]:
        fraction = self.spec.percentile / 100.0
        width = self._bin_width()[:, None]
        if self.spec.symmetric:
            folded = self.histogram[:, HALF_BINS:] + self.histogram[:, HALF_BINS - 1 :: -1]
            amax = (_first_reaching(folded, fraction) + 1) * width[:, 0]
            amax = np.minimum(amax, np.maximum(-self.row_min, self.row_max)).astype(np.float32)
            return -amax, amax
        left_edges = -self.radius[:, None] + np.arange(2 * HALF_BINS) * width
        lo_bin = _first_reaching(self.histogram, 1.0 - fraction)
        hi_bin = _first_reaching(self.histogram, fraction)
        rows = np.arange(self.histogram.shape[0])
        lo = np.maximum(left_edges[rows, lo_bin], self.row_min)
        hi = np.minimum(left_edges[rows, hi_bin] + width[:, 0], self.row_max)
        return lo.astype(np.float32), hi.astype(np.float32)

    def _mse_range(self) -> tuple[np.ndarray, np.ndarray]:
        width = self._bin_width()[:, None]
        centres = -self.radius[:, None] + (np.arange(2 * HALF_BINS) + 0.5) * width
        return calibrate.mse_range(
            centres.astype(np.float32),
            self.spec,
            self.row_min.astype(np.float32),
            self.row_max.astype(np.float32),
            weights=self.histogram,
        )


def _first_reaching(histogram: np.ndarray, fraction: float) -> np.ndarray:
    """Per row, the first bin whose cumulative count reaches ``fraction`` of the total."""
    cumulative = np.cumsum(histogram, axis=1)
    target = cumulative[:, -1:] * fraction
    return np.argmax(cumulative >= target, axis=1)
