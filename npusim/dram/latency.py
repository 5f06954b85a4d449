"""Read latencies kept as a histogram of whole cycles: exact statistics in bounded memory.

A run of tens of millions of bursts used to keep every latency and sort them all for the
percentiles (seconds and gigabytes on an LLM decode step). Latencies are whole CK cycles, so
a count per cycle value gives the same mean, maximum and percentiles (numpy's default linear
interpolation between order statistics) exactly. Values of :data:`DENSE_LIMIT_CK` cycles or
more, which only pathological queues reach, are kept as raw values beside the counts.
"""

from __future__ import annotations

import numpy as np

DENSE_LIMIT_CK = 1 << 16
"""Latencies below this many CK are counted per value (a 512 KiB array at most)."""


class LatencyHistogram:
    """Counts of read latencies in CK; :meth:`add` them, then ask for statistics."""

    def __init__(self) -> None:
        self.counts = np.zeros(0, dtype=np.int64)
        self.sparse: list[np.ndarray] = []  # latencies >= DENSE_LIMIT_CK, as they came

    def add(self, latencies: np.ndarray) -> None:
        """Count a batch of non-negative integer latencies (CK)."""
        if latencies.size == 0:
            return
        dense = latencies[latencies < DENSE_LIMIT_CK]
        if dense.size < latencies.size:
            self.sparse.append(latencies[latencies >= DENSE_LIMIT_CK].astype(np.int64))
        if dense.size:
            binned = np.bincount(dense)
            if binned.size > self.counts.size:
                binned[: self.counts.size] += self.counts
                self.counts = binned
            else:
                self.counts[: binned.size] += binned

    def merged(self, other: LatencyHistogram) -> LatencyHistogram:
        """A histogram of both (for totals over channels)."""
        out = LatencyHistogram()
        size = max(self.counts.size, other.counts.size)
        out.counts = np.zeros(size, dtype=np.int64)
        out.counts[: self.counts.size] += self.counts
        out.counts[: other.counts.size] += other.counts
        out.sparse = self.sparse + other.sparse
        return out

    def _values(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct latencies in increasing order and how often each occurred."""
        values = np.flatnonzero(self.counts)
        weights = self.counts[values]
        if self.sparse:
            extra, extra_counts = np.unique(np.concatenate(self.sparse), return_counts=True)
            values = np.concatenate([values, extra])
            weights = np.concatenate([weights, extra_counts])
        return values, weights

    def summary_ns(self, tck_ns: float) -> dict[str, float]:
        """Mean, p50, p95, p99 and max in ns; all 0.0 when nothing was counted."""
        values, weights = self._values()
        n = int(weights.sum())
        if n == 0:
            return {k: 0.0 for k in ("mean", "p50", "p95", "p99", "max")}
        ends = np.cumsum(weights)  # order statistics 0..ends[i]-1 hold values <= values[i]

        def order_stat(k: np.ndarray) -> np.ndarray:
            return values[np.searchsorted(ends, k, side="right")]

        # numpy's "linear" method: position h = (n - 1) p, between order statistics
        position = (n - 1) * np.array([0.50, 0.95, 0.99])
        low = np.floor(position).astype(np.int64)
        below, above = order_stat(low), order_stat(np.minimum(low + 1, n - 1))
        cycles = below + (position - low) * (above - below)
        mean = float((values * weights).sum()) / n
        p50, p95, p99 = (float(c) * tck_ns for c in cycles)
        return {"mean": mean * tck_ns, "p50": p50, "p95": p95, "p99": p99,
                "max": float(values[-1]) * tck_ns}  # fmt: skip
