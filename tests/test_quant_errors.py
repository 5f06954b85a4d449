"""Bad input gives a QuantizationError that names the problem; nothing is silently clamped."""

from __future__ import annotations

import numpy as np
import pytest

from npusim.errors import QuantizationError
from npusim.quant import QuantSpec, RangeObserver, quantize, storage_bytes


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (np.array([1.0, np.nan, np.nan], dtype=np.float32), "2 NaN value"),
        (np.array([1.0, np.inf], dtype=np.float32), "1 Inf value"),
        (np.array([1.0, -np.inf]), "1 Inf value"),
        (np.array([1e300, 1.0]), "beyond the float32 range"),
        (np.zeros((0, 4), dtype=np.float32), r"empty tensor \(shape \(0, 4\)\)"),
        (np.array(["a", "b"]), "not numeric"),
    ],
)
def test_bad_values(x: np.ndarray, message: str) -> None:
    with pytest.raises(QuantizationError, match=message):
        quantize(x, QuantSpec())


@pytest.mark.parametrize("bits", [0, 17, -3])
def test_bits_outside_1_to_16(bits: int) -> None:
    with pytest.raises(QuantizationError, match=f"bits {bits} outside 1..16"):
        QuantSpec(bits=bits)


@pytest.mark.parametrize("percentile", [0.0, -1.0, 100.5])
def test_percentile_outside_0_100(percentile: float) -> None:
    with pytest.raises(QuantizationError, match=r"percentile .* outside \(0, 100\]"):
        QuantSpec(calibration="percentile", percentile=percentile)


def test_axis_out_of_range() -> None:
    spec = QuantSpec(granularity="per_channel", axis=2)
    with pytest.raises(QuantizationError, match=r"axis 2 out of range .* shape \(3, 4\)"):
        quantize(np.ones((3, 4), dtype=np.float32), spec)
    with pytest.raises(QuantizationError, match="axis 2 out of range"):
        storage_bytes((3, 4), spec)


def test_group_size_must_divide_axis() -> None:
    spec = QuantSpec(granularity="per_group", axis=1, group_size=3)
    with pytest.raises(QuantizationError, match="group size 3 does not divide axis 1 of length 4"):
        quantize(np.ones((2, 4), dtype=np.float32), spec)
    with pytest.raises(QuantizationError, match="needs group_size"):
        QuantSpec(granularity="per_group")
    with pytest.raises(QuantizationError, match="only meaningful with per_group"):
        QuantSpec(group_size=4)


def test_unknown_names_list_valid_ones() -> None:
    with pytest.raises(QuantizationError, match="valid: minmax, percentile, entropy, mse"):
        QuantSpec(calibration="kl")
    with pytest.raises(QuantizationError, match="valid: per_tensor, per_channel, per_group"):
        QuantSpec(granularity="per-row")
    assert QuantSpec(granularity="per-channel").granularity.value == "per_channel"


def test_observer_group_count_must_match() -> None:
    observer = RangeObserver(QuantSpec(granularity="per_channel"))
    observer.observe(np.ones((3, 4), dtype=np.float32))
    with pytest.raises(QuantizationError, match="batch has 5 quantization groups"):
        observer.observe(np.ones((5, 4), dtype=np.float32))
    with pytest.raises(QuantizationError, match="observer calibrated 3 groups, tensor has 2"):
        quantize(np.ones((2, 4), dtype=np.float32), observer.spec, observer=observer)
    with pytest.raises(QuantizationError, match="seen no batch"):
        RangeObserver(QuantSpec()).calibrated_range()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fmt": "x"}, "unknown format 'x'; valid: int, binary, fp32"),
        ({"scale_format": "y"}, "unknown scale format 'y'; valid: fp32, fp16, bf16, e8m0"),
        ({"granularity": "z"}, "unknown granularity 'z'; valid: per_tensor, per_channel"),
        ({"calibration": "w"}, "unknown calibration 'w'; valid: minmax, percentile, entropy"),
        ({"bits": True}, "bits must be an integer, got True"),
        ({"bits": 8.0}, "bits must be an integer, got 8.0"),
        ({"group_size": 4}, "group_size is only meaningful with per_group granularity"),
        ({"percentile": 0.0}, "percentile 0.0 outside (0, 100]"),
        ({"percentile": 100.5}, "percentile 100.5 outside (0, 100]"),
    ],
)
def test_each_spec_constraint_pins_its_message(kwargs: dict, message: str) -> None:
    with pytest.raises(QuantizationError) as err:
        QuantSpec(**kwargs)
    assert str(err.value).startswith(message)


def test_the_percentile_range_is_open_at_zero_and_closed_at_100() -> None:
    assert QuantSpec(percentile=0.5).percentile == 0.5
    assert QuantSpec(percentile=100).percentile == 100


def test_error_accumulator_over_batches_equals_a_numpy_model_of_the_whole() -> None:
    """Three batches (one longer than the accumulator's 65,536-element chunk), errors of both
    signs, the largest |error| in the first batch, clipped values in two: MSE, SQNR, max |e|,
    the clipping and rounding split and the clipped fraction equal numpy over all of it."""
    from npusim.quant.metrics import ErrorAccumulator

    rng = np.random.default_rng(23)
    xs = [rng.standard_normal(n) for n in (100, 70_000, 50)]
    hats = [x + rng.uniform(-0.1, 0.1, x.size) for x in xs]
    hats[0][7] = xs[0][7] - 3.0  # the largest |error|, negative, in the first batch
    clips = [np.zeros(x.size, bool) for x in xs]
    clips[0][7] = clips[1][:5] = True
    accumulator = ErrorAccumulator()
    for x, hat, clipped in zip(xs, hats, clips, strict=True):
        accumulator.add(x.astype(np.float32), hat.astype(np.float32), clipped)
    stats = accumulator.stats()
    x = np.concatenate(xs).astype(np.float32).astype(np.float64)
    e = x - np.concatenate(hats).astype(np.float32).astype(np.float64)
    clipped = np.concatenate(clips)
    assert stats.elements == x.size
    assert stats.mse == pytest.approx(np.mean(e**2), rel=1e-9)
    assert stats.sqnr_db == pytest.approx(10 * np.log10(np.sum(x**2) / np.sum(e**2)), rel=1e-9)
    assert stats.max_abs_error == pytest.approx(np.abs(e).max(), rel=1e-12)
    assert stats.clipping_mse == pytest.approx(np.sum(e[clipped] ** 2) / x.size, rel=1e-9)
    assert stats.rounding_mse == pytest.approx(np.sum(e[~clipped] ** 2) / x.size, rel=1e-9)
    assert stats.fraction_clipped == 6 / x.size
    silent = ErrorAccumulator()
    silent.add(np.zeros(4, np.float32), np.ones(4, np.float32), np.zeros(4, bool))
    assert silent.stats().sqnr_db == -np.inf  # no signal, some noise
