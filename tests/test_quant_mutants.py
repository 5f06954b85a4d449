"""Tests prompted by mutation testing of npusim/quant/ (calibrate.py, observer.py, tensor.py).

Every expected value comes from a model written here, not from the code under test: the
TensorRT KL definition evaluated candidate by candidate, PyTorch's symmetric fake
quantization with the MSE ratio search as calibrate's docstring states it, the observer's bin
formula from its module docstring, or a hand calculation.
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pytest

from npusim.errors import QuantizationError
from npusim.quant import QuantSpec, RangeObserver, quantize, storage_bytes
from npusim.quant.calibrate import entropy_threshold_bins, mse_range, percentile_range
from npusim.quant.tensor import metadata_bytes

F32 = np.float32
BINS = 2048  # half of the observer's signed histogram; the |x| histogram's length


# --- models written from the docstrings -------------------------------------------------


def _kl_threshold_by_definition(histogram: np.ndarray, levels: int) -> int:
    """calibrate's docstring, literally: for each candidate i, P = bins [0, i) with the outlier
    count added to bin i-1; Q spreads each of the ``levels`` chunks (bin j in chunk
    floor(j * levels / i)) evenly over its non-empty bins; both normalized; KL(P || Q) in
    float64; the largest i of the smallest KL (ties within 1e-9)."""
    counts = np.asarray(histogram, dtype=np.float64)
    if levels >= counts.size:
        return counts.size
    divergence = {}
    for i in range(levels, counts.size + 1):
        p = counts[:i].copy()
        p[-1] += counts[i:].sum()
        chunk = np.arange(i) * levels // i
        q = np.zeros(i)
        for c in range(levels):
            filled = np.flatnonzero((chunk == c) & (counts[:i] > 0))
            if filled.size:
                q[filled] = counts[:i][chunk == c].sum() / filled.size
        support = p > 0
        if q.sum() == 0 or np.any(q[support] == 0):
            divergence[i] = math.inf
            continue
        p, q = p / p.sum(), q / q.sum()
        divergence[i] = float(np.sum(p[support] * np.log(p[support] / q[support])))
    smallest = min(divergence.values())
    return max(i for i, kl in divergence.items() if kl <= smallest + 1e-9)


def _fake_quantize_symmetric(x: np.ndarray, lo: F32, hi: F32, bits: int) -> np.ndarray:
    """PyTorch's signed symmetric scheme on float32 ``x``: S = max(|lo|, hi) / ((2^b - 1) / 2)
    floored at eps, q = clamp(round-half-even(fl32(x * fl32(1 / S))), -2^(b-1), 2^(b-1) - 1),
    x_hat = fl32(q * S)."""
    amax = max(-min(lo, F32(0)), max(hi, F32(0)))
    scale = max(F32(amax / F32((2**bits - 1) / 2)), F32(2.0**-23))
    product = (x * (F32(1) / scale)).astype(F32)
    q = np.clip(np.rint(product), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return (q.astype(F32) * scale).astype(F32)


def _mse_search(x: np.ndarray, bits: int, lo: F32, hi: F32) -> tuple[F32, F32]:
    """calibrate's docstring: ranges [fl32(r lo), fl32(r hi)] (float32 arithmetic, as PyTorch
    scales a float32 min/max), r = 0.01 .. 1.00, then r_best + k * 0.001 for k = -10..10
    clipped to [0.001, 1]; the first of equal MSEs wins."""

    def mse(ratio: float) -> float:
        r32 = F32(ratio)
        x_hat = _fake_quantize_symmetric(x, F32(lo * r32), F32(hi * r32), bits)
        error = x_hat.astype(np.float64) - x
        return float(np.mean(error * error))

    best, best_mse = 1.0, math.inf
    for k in range(1, 101):
        if (m := mse(k / 100.0)) < best_mse:
            best, best_mse = k / 100.0, m
    coarse = best
    for k in range(-10, 11):
        ratio = min(max(coarse + k * 0.001, 0.001), 1.0)
        if (m := mse(ratio)) < best_mse:
            best, best_mse = ratio, m
    return F32(lo * F32(best)), F32(hi * F32(best))


def _observer_bins(values: np.ndarray, radius: float) -> np.ndarray:
    """Observer module docstring: 2 * 2048 equal bins over [-R, R]; R itself in the last."""
    index = np.floor((values.astype(np.float64) / radius + 1.0) * BINS).astype(np.int64)
    return np.bincount(np.minimum(index, 2 * BINS - 1), minlength=2 * BINS)


# --- calibrate.percentile_range -----------------------------------------------------------


def test_symmetric_percentile_range_is_minus_and_plus_the_abs_percentile() -> None:
    rows = np.array([[-8.0, -1.0, 0.0, 2.0, 4.0]], dtype=F32)
    # |x| sorted 0, 1, 2, 4, 8; numpy's linear interpolation at 75 % sits on index 3 -> 4
    lo, hi = percentile_range(rows, 75.0, symmetric=True)
    assert (lo[0], hi[0]) == (-4.0, 4.0)


# --- calibrate.entropy_threshold_bins -------------------------------------------------------


def _small_histograms() -> list[tuple[np.ndarray, int]]:
    """Sparse low counts (bins of 1 and empty bins matter), decaying tails, a lone last bin."""
    rng = np.random.default_rng(0)
    cases = []
    for k in range(40):
        n = int(rng.integers(12, 60))
        decay = np.exp(-np.arange(n) / 8)
        if k % 4 == 0:
            counts = rng.integers(0, 4, n).astype(float)
        elif k % 4 == 1:
            counts = np.floor(rng.exponential(5, n) * decay)
        elif k % 4 == 2:
            counts = rng.integers(0, 3, n) * (rng.random(n) < 0.5).astype(float)
        else:
            counts = np.floor(rng.exponential(50, n) * np.exp(-np.arange(n) / 10))
            counts[-1] = 1
        if counts.sum() == 0:
            counts[0] = 1
        cases.append((counts, (2, 4, 8)[k % 3]))
    return cases


def test_entropy_threshold_equals_the_kl_definition_on_small_histograms() -> None:
    for counts, levels in _small_histograms():
        expected = _kl_threshold_by_definition(counts, levels)
        assert entropy_threshold_bins(counts, levels) == expected, (counts, levels)


def test_entropy_threshold_ignores_the_histograms_scale() -> None:
    """KL compares normalized P and Q, so a histogram of fractions (total 1, every count
    below 1) has the threshold of its counts: 1024 counts scaled by 2^-10, exactly."""
    rng = np.random.default_rng(3)
    counts = np.floor(rng.exponential(30, 40) * np.exp(-np.arange(40) / 9))
    counts[0] += 1024 - counts.sum()
    assert counts.sum() == 1024 and counts[0] > 0
    expected = _kl_threshold_by_definition(counts, 4)
    assert entropy_threshold_bins(counts / 1024, 4) == expected
    assert entropy_threshold_bins(counts, 4) == expected


def test_entropy_threshold_ties_keep_the_most_bins_despite_rounding() -> None:
    """Bins 1..299 hold 3 each: every candidate i >= 300 has KL exactly 0 (each chunk's
    non-empty bins hold equal counts, so Q = P), every smaller one a positive KL (its last bin
    takes the outliers). The largest tie, 2048, wins although the prefix sums of 3 log 3
    round differently from the chunk sums."""
    counts = np.zeros(BINS)
    counts[1:300] = 3.0
    assert entropy_threshold_bins(counts, 8) == BINS
    counts[0] = 3.0
    assert entropy_threshold_bins(counts, 8) == BINS


def test_entropy_threshold_with_more_levels_than_bins_keeps_all() -> None:
    counts = np.arange(16, dtype=np.float64)
    assert entropy_threshold_bins(counts, 32) == 16  # docstring: levels >= bins -> max|x|


def test_entropy_threshold_warns_about_nothing() -> None:
    """Empty leading bins (log 0 of the kept count) and empty chunks (0 / 0) are expected
    inputs; they must not reach the user as RuntimeWarnings."""
    counts = np.zeros(BINS)
    counts[20:300] = 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert entropy_threshold_bins(counts, 8) == BINS
        for small, levels in _small_histograms()[:8]:
            entropy_threshold_bins(small, levels)


# --- calibrate.mse_range ----------------------------------------------------------------------


def _mse_cases() -> list[tuple[np.ndarray, int]]:
    cases = []
    for seed in range(6):
        x = np.random.default_rng(seed).laplace(size=300) * (1 + seed)
        cases.append((x.astype(F32), 3 + seed % 3))
    integers = np.arange(-127, 128, dtype=F32)  # optimum r = 0.994: a fine step below 1
    cases.append((integers, 8))
    # -60..60 plus one outlier: the fine search's best lies 0.01 below (A = 96.52, 7 bits)
    # and 0.01 above (A = 62.59, 6 bits) the coarse best, not 0.011
    cases.append((np.append(np.arange(-60, 61, dtype=F32), F32(96.52)), 7))
    cases.append((np.append(np.arange(-60, 61, dtype=F32), F32(62.59)), 6))
    return cases


@pytest.mark.parametrize("case", range(9))
def test_mse_range_equals_the_documented_search(case: int) -> None:
    x, bits = _mse_cases()[case]
    spec = QuantSpec(bits=bits, symmetric=True, calibration="mse")
    lo, hi = mse_range(x[None, :], spec, x.min(keepdims=True), x.max(keepdims=True))
    assert lo.dtype == F32 and hi.dtype == F32  # docstring: float32 (lo, hi)
    assert (lo[0], hi[0]) == _mse_search(x, bits, x.min(), x.max())


def test_mse_range_searches_each_row_on_its_own() -> None:
    rows = np.stack([_mse_cases()[0][0], 9 * _mse_cases()[1][0]])
    spec = QuantSpec(bits=3, symmetric=True, calibration="mse", granularity="per_channel")
    lo, hi = mse_range(rows, spec, rows.min(axis=1), rows.max(axis=1))
    for row in range(2):
        x = rows[row]
        assert (lo[row], hi[row]) == _mse_search(x, 3, x.min(), x.max()), row


# --- observer: the histogram ------------------------------------------------------------------


def test_observer_histogram_bins_each_row_over_its_own_radius() -> None:
    """Row 0 has R = 0.75 (below 1) with both -R and +R present (first and last bin), row 1
    R = 3; the histogram is the docstring's floor((x / R + 1) * 2048), R in bin 4095."""
    rng = np.random.default_rng(21)
    x = np.stack([rng.uniform(-0.7, 0.7, 500), rng.uniform(-2.9, 2.9, 500)]).astype(F32)
    x[0, :2] = (-0.75, 0.75)
    x[1, :2] = (3.0, -1.0)
    observer = RangeObserver(QuantSpec(calibration="entropy", granularity="per_channel"))
    observer.observe(x)
    np.testing.assert_array_equal(observer.radius, [0.75, 3.0])
    for row, radius in enumerate((0.75, 3.0)):
        np.testing.assert_array_equal(observer.histogram[row], _observer_bins(x[row], radius))
    assert observer.histogram[0, 0] == 1 and observer.histogram[0, -1] == 1


def test_observer_histogram_regrouped_equals_binning_at_the_final_radius() -> None:
    """First batch R = 1 (reached at -1, all positives below 1), second batch max 3: R doubles
    twice to 4 and merged pairs of bins equal binning every value at R = 4 directly."""
    rng = np.random.default_rng(22)
    first = np.append(rng.uniform(-0.99, 0.99, 700), -1.0).astype(F32)
    second = rng.uniform(-3.0, 3.0, 900).astype(F32)
    observer = RangeObserver(QuantSpec(calibration="percentile"))
    observer.observe(first)
    observer.observe(second)
    assert observer.radius[0] == 4.0
    expected = _observer_bins(np.concatenate([first, second]), 4.0)
    np.testing.assert_array_equal(observer.histogram[0], expected)


def test_observer_row_of_zeros_takes_its_radius_from_the_first_non_zero_batch() -> None:
    """Channel 0 is all zeros in the first batch (a dead channel): R stays unset and its zeros
    land in bin 2048, the bin of 0 at any radius; the second batch sets R = 2."""
    first = np.zeros((2, 50), dtype=F32)
    first[1] = np.linspace(-1.0, 1.0, 50)
    second = np.stack([np.linspace(-2.0, 1.5, 50), np.linspace(-0.5, 0.5, 50)]).astype(F32)
    observer = RangeObserver(QuantSpec(calibration="entropy", granularity="per_channel"))
    observer.observe(first)
    observer.observe(second)
    np.testing.assert_array_equal(observer.radius, [2.0, 1.0])
    expected = _observer_bins(np.concatenate([first[0], second[0]]), 2.0)
    np.testing.assert_array_equal(observer.histogram[0], expected)
    assert observer.histogram[0, BINS] >= 50


# --- observer: calibrated ranges ----------------------------------------------------------------


def _range(spec: QuantSpec, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    observer = RangeObserver(spec)
    observer.observe(x)
    lo, hi = observer.calibrated_range()
    assert lo.dtype == F32 and hi.dtype == F32  # docstring: float32, one entry per row
    return lo, hi


def test_observer_entropy_range_of_negated_data_is_mirrored() -> None:
    """-relu(x) (max exactly 0) is one-signed like relu(x): the same 2^bits levels, so the
    mirrored range; the |x| histogram folds identically for x and -x."""
    relu = np.maximum(np.random.default_rng(23).laplace(size=6000), 0).astype(F32)
    spec = QuantSpec(bits=4, calibration="entropy")
    lo, hi = _range(spec, relu)
    neg_lo, neg_hi = _range(spec, -relu)
    assert (neg_lo[0], neg_hi[0]) == (-hi[0], -lo[0])
    assert lo[0] == 0.0 < hi[0] < relu.max()


@pytest.mark.parametrize("calibration", ["entropy", "percentile", "mse", "minmax"])
def test_observer_ranges_scale_with_the_data_by_powers_of_two(calibration: str) -> None:
    """Scaling by 2^-6 (max|x| from 10 to 0.16) scales R and every bin edge exactly and keeps
    every bin index, so each range scales exactly; signed data stays 2^(bits-1) levels."""
    x = (2 * np.random.default_rng(24).laplace(size=6000) + 0.5).astype(F32)
    x *= F32(10) / np.abs(x).max()
    spec = QuantSpec(bits=4, calibration=calibration, percentile=99.0)
    lo, hi = _range(spec, x)
    small_lo, small_hi = _range(spec, x * F32(2.0**-6))
    assert (small_lo[0], small_hi[0]) == (lo[0] * F32(2.0**-6), hi[0] * F32(2.0**-6))
    assert lo[0] < 0 < hi[0]


@pytest.mark.parametrize("bits", [12, 13])
def test_observer_entropy_with_2048_levels_or_more_keeps_max_abs(bits: int) -> None:
    x = np.random.default_rng(25).laplace(size=3000).astype(F32)
    lo, hi = _range(QuantSpec(bits=bits, symmetric=True, calibration="entropy"), x)
    amax = np.abs(x).max()
    assert (lo[0], hi[0]) == (-amax, amax)


def test_observer_percentile_100_is_min_max() -> None:
    x = np.random.default_rng(26).laplace(size=3000).astype(F32)
    x[7] = -2 * np.abs(x).max()  # |min| > max
    lo, hi = _range(QuantSpec(symmetric=True, calibration="percentile", percentile=100), x)
    assert (lo[0], hi[0]) == (x[7], -x[7])
    lo, hi = _range(QuantSpec(calibration="percentile", percentile=100), x)
    assert (lo[0], hi[0]) == (x.min(), x.max())


def test_observer_percentile_takes_the_bin_where_the_count_first_reaches_p() -> None:
    """x = -3, -1, 1, 2 (R = 3, w = 3 / 2048), p = 75: 3 of 4 values are reached exactly at the
    bin of 1, floor((1 / 3 + 1) * 2048) = 2730, whose upper edge is -3 + 2731 w; 1 of 4 at
    the bin of -3, bin 0, whose lower edge -3 is the minimum."""
    x = np.array([-3.0, -1.0, 1.0, 2.0], dtype=F32)
    lo, hi = _range(QuantSpec(calibration="percentile", percentile=75), x)
    assert lo[0] == -3.0
    assert hi[0] == F32(-3 + 2731 * 3 / 2048)


@pytest.mark.parametrize("seed", [27, 28])
def test_observer_mse_searches_bin_centres_weighted_by_counts(seed: int) -> None:
    """Per channel: the documented search run on each value replaced by its bin centre
    -R + (b + 1/2) w (the weighted histogram written out), within the rows' min-max ranges.
    Few distinct values and 3 bits make the result move when the centres move (seed 27 by
    one bin down, seed 28 by one bin up)."""
    rng = np.random.default_rng(seed)
    x = np.stack([rng.choice([-1.3, -0.2, 0.1, 0.45, 2.0], 40), 7 * rng.laplace(size=40)])
    x = x.astype(F32)
    spec = QuantSpec(bits=3, symmetric=True, calibration="mse", granularity="per_channel")
    lo, hi = _range(spec, x)
    for row in range(2):
        radius = float(np.abs(x[row]).max())
        index = np.minimum(np.floor((x[row] / radius + 1.0) * BINS), 2 * BINS - 1)
        centres = (-radius + (index + 0.5) * radius / BINS).astype(F32)
        expected = _mse_search(centres, 3, x[row].min(), x[row].max())
        assert (lo[row], hi[row]) == expected, row


def test_observer_of_a_binary_spec_reports_min_max() -> None:
    """Binary formats do not use the calibration (QuantSpec docstring): no histogram."""
    x = np.random.default_rng(28).laplace(size=500).astype(F32)
    spec = QuantSpec(fmt="binary", calibration="percentile", percentile=50)
    observer = RangeObserver(spec)
    observer.observe(x)
    assert observer.histogram is None
    assert observer.calibrated_range() == (x.min(), x.max())


def test_observer_without_a_batch_says_so() -> None:
    with pytest.raises(QuantizationError, match=r"^observer has seen no batch$"):
        RangeObserver(QuantSpec(calibration="mse")).calibrated_range()


# --- tensor.py ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bits", "signed", "dtype"),
    [(7, True, np.int8), (8, True, np.int8), (8, False, np.uint8), (9, True, np.int16),
     (16, True, np.int16), (16, False, np.uint16)],
)  # fmt: skip
def test_codes_use_the_smallest_documented_integer_dtype(bits: int, signed: bool, dtype) -> None:
    x = np.linspace(-1.0, 1.0, 33, dtype=F32)
    q = quantize(x, QuantSpec(bits=bits, signed=signed, symmetric=True))
    assert q.values.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    ("shape", "granularity"),
    [((2, 70_000), "per_channel"), ((150_000,), "per_tensor"), ((300, 1000), "per_channel")],
)
def test_error_stats_count_every_element_once_across_blocks(shape, granularity) -> None:
    """Long rows (cut into 65,536-element blocks) and many short rows (65 per block): the
    stats equal the module definitions evaluated on the whole tensor in float64."""
    x = np.random.default_rng(29).standard_normal(shape).astype(F32)
    q = quantize(x, QuantSpec(bits=4, granularity=granularity, calibration="percentile",
                              percentile=99.0))  # fmt: skip
    error = q.dequantize().astype(np.float64) - x
    scale = np.asarray(q.scale, dtype=np.float64).reshape(-1, *[1] * (x.ndim - 1))
    zero_point = np.asarray(q.zero_point).reshape(scale.shape)
    unclamped = np.rint(x / scale) + zero_point  # clipped: the clamp moved the code
    clipped = (unclamped < q.spec.qmin) | (unclamped > q.spec.qmax)
    stats = q.error
    assert stats.elements == x.size
    assert stats.mse == pytest.approx(np.mean(error**2), rel=1e-9)
    assert stats.clipping_mse == pytest.approx(np.sum(error[clipped] ** 2) / x.size, rel=1e-6)
    assert stats.fraction_clipped == pytest.approx(clipped.mean(), abs=2 / x.size)
    assert 0.001 < stats.fraction_clipped < 0.05


def test_binary_alpha_is_the_exact_mean_magnitude() -> None:
    """XNOR-Net's alpha = mean|x|: the exact sum (math.fsum) over N, rounded once to float32,
    on 10,001 values where a mean accumulated in float32 lands an ulp off."""
    x = np.random.default_rng(0).standard_normal(10_001).astype(F32)
    alpha = F32(math.fsum(np.abs(x).astype(np.float64)) / x.size)
    assert np.abs(x)[None, :].mean(axis=1, dtype=F32)[0] != alpha  # the data tell them apart
    assert quantize(x, QuantSpec(fmt="binary")).scale == alpha


def test_float_cast_size_ignores_the_granularity() -> None:
    """Float casts do not use granularity (QuantSpec docstring), so a group size that does not
    divide the axis is no error; 10 FP16 values are 20 bytes, no metadata."""
    spec = QuantSpec(fmt="fp16", granularity="per_group", group_size=3)
    size = storage_bytes((10,), spec)
    assert size == (20, 0, 20)  # payload, metadata, total
    assert quantize(np.arange(10, dtype=F32), spec).nbytes == 20
    assert metadata_bytes(4, QuantSpec(fmt="bf16")) == 0


def test_block_scaled_format_refused_with_its_message() -> None:
    message = (
        "mxfp4_e2m1 is block-scaled: npusim.quant.mx.block_quantize quantizes it "
        "(its scales are per block, not a QuantSpec's)"
    )
    with pytest.raises(QuantizationError, match=f"^{re.escape(message)}$"):
        quantize(np.ones(32, dtype=F32), QuantSpec(fmt="mxfp4_e2m1"))


def test_overflowing_scale_is_one_error_and_no_warning() -> None:
    message = (
        "the tensor's range overflows a float32 scale (values near the float32 limit); "
        "rescale the tensor"
    )
    x = np.array([-3.0e38, 3.0e38], dtype=F32)  # span 6e38 > float32 max 3.4e38
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(QuantizationError, match=f"^{re.escape(message)}$"):
            quantize(x, QuantSpec())
