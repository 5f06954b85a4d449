"""Unit strings -> SI numbers (npusim.units)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.units import Dimension, format_bytes, parse_quantity


@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        ("4 MiB", Dimension.BYTES, 4 * 2**20),
        ("512 KiB", Dimension.BYTES, 512 * 1024),
        ("64 B", Dimension.BYTES, 64),
        ("4MB", Dimension.BYTES, 4_000_000),
        ("6400 MT/s", Dimension.DATA_RATE, 6.4e9),
        ("51.2 GB/s", Dimension.BANDWIDTH, 51.2e9),
        ("1 GHz", Dimension.FREQUENCY, 1e9),
        ("800 MHz", Dimension.FREQUENCY, 8e8),
        ("18.75 ns", Dimension.TIME, 18.75e-9),
        ("0.3 pJ", Dimension.ENERGY, 0.3e-12),
        ("50 mW", Dimension.POWER, 0.05),
        ("420 um^2", Dimension.AREA, 420e-12),
        ("1e3 B", Dimension.BYTES, 1000),
    ],
)
def test_unit_strings_parse_to_si(text: str, dimension: Dimension, expected: float) -> None:
    assert parse_quantity(text, dimension) == pytest.approx(expected, rel=1e-12)


def test_byte_counts_are_ints() -> None:
    assert isinstance(parse_quantity("4 MiB", Dimension.BYTES), int)


@pytest.mark.parametrize(
    ("value", "dimension", "message"),
    [
        ("1 GB", Dimension.FREQUENCY, "'1 GB' is a bytes quantity, expected Hz"),
        ("4 MiBs", Dimension.BYTES, "unknown unit 'MiBs'"),
        ("fast", Dimension.FREQUENCY, "expected a number with a Hz unit"),
        ("0.5 B", Dimension.BYTES, "expected a whole number of bytes"),
        (True, Dimension.BYTES, "got a boolean"),
        ([1], Dimension.BYTES, "got list"),
        (math.inf, Dimension.TIME, "finite"),
    ],
)
def test_bad_quantities_say_what_was_expected(value: object, dimension: Dimension,
                                              message: str) -> None:  # fmt: skip
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_quantity(value, dimension)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**40), st.sampled_from(["B", "KiB", "MiB", "GiB"]))
def test_binary_prefixes_are_powers_of_1024(count: int, unit: str) -> None:
    factor = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}[unit]
    assert parse_quantity(f"{count} {unit}", Dimension.BYTES) == count * factor


def test_format_bytes() -> None:
    assert format_bytes(1536) == "1.50 KiB"
    assert format_bytes(12) == "12 B"
