"""Read-latency statistics from a histogram equal numpy's over the raw values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.dram.latency import DENSE_LIMIT_CK, LatencyHistogram

latencies = st.lists(
    st.one_of(st.integers(0, 300), st.integers(DENSE_LIMIT_CK - 2, DENSE_LIMIT_CK + 5)),
    min_size=1,
    max_size=400,
)


@settings(max_examples=100, deadline=None)
@given(st.lists(latencies, min_size=1, max_size=4), st.sampled_from([0.625, 1.25, 0.9375]))
def test_histogram_statistics_equal_numpys_on_the_raw_values(
    batches: list[list[int]], tck_ns: float
) -> None:
    halves = LatencyHistogram(), LatencyHistogram()
    for index, batch in enumerate(batches):
        halves[index % 2].add(np.array(batch, dtype=np.int64))
    got = halves[0].merged(halves[1]).summary_ns(tck_ns)
    ns = np.concatenate([np.array(b, dtype=np.float64) for b in batches]) * tck_ns
    p50, p95, p99 = np.percentile(ns, [50, 95, 99])
    expected = {"mean": ns.mean(), "p50": p50, "p95": p95, "p99": p99, "max": ns.max()}
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_an_empty_histogram_reports_zeros() -> None:
    assert set(LatencyHistogram().summary_ns(1.25).values()) == {0.0}
