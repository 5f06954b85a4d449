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
