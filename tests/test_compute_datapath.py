"""Functional datapath: INT8 GEMM + requantization and FP32/FP16 GEMM, bit-exact vs references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.compute.datapath import (
    AccumulatorOverflowError,
    OverflowPolicy,
    float_gemm,
    int_gemm,
    int_range,
    requantize,
)
from npusim.errors import QuantizationError

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
ONE_INT8 = np.ones((1, 1), np.int8)
ONE_FP32 = np.ones((1, 1), np.float32)


def reference_int_gemm(a: np.ndarray, b: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """Python-integer triple loop: bias first, then k in order."""
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=np.int64)
    for i in range(m):
        for j in range(n):
            total = 0 if bias is None else int(bias[j])
            for kk in range(k):
                total += int(a[i, kk]) * int(b[kk, j])
                assert INT32_MIN <= total <= INT32_MAX
            out[i, j] = total
    return out


def reference_requantize(acc: np.ndarray, scale: np.ndarray, zp: int, low: int, high: int) -> list:
    # Python round() is round half to even; one float64 multiply, then saturate.
    rows, cols = acc.shape
    out = [[0] * cols for _ in range(rows)]
    for i in range(rows):
        for j in range(cols):
            out[i][j] = min(high, max(low, round(float(acc[i, j]) * float(scale[j])) + zp))
    return out


def test_int8_gemm_and_requantize_bit_exact_on_random_data() -> None:
    rng = np.random.default_rng(6)
    for m, k, n in [(1, 1, 1), (7, 33, 5), (16, 64, 9), (3, 300, 4)]:
        a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
        b = rng.integers(-128, 128, size=(k, n), dtype=np.int8)
        bias = rng.integers(-(2**20), 2**20, size=n, dtype=np.int32)
        acc = int_gemm(a, b, bias=bias)
        assert acc.dtype == np.int32
        np.testing.assert_array_equal(acc, reference_int_gemm(a, b, bias))
        scale = rng.uniform(1e-5, 2e-3, size=n)
        zp = int(rng.integers(-10, 10))
        out = requantize(acc, scale, zp, "int8")
        assert out.dtype == np.int8
        assert out.tolist() == reference_requantize(acc, scale, zp, -128, 127)


def test_requantize_rounds_half_to_even_and_saturates() -> None:
    acc = np.array([[1, 3, 5, -1, -3, -5]], dtype=np.int32)
    assert requantize(acc, 0.5).tolist() == [[0, 2, 2, 0, -2, -2]]
    big = np.array([[10_000, -10_000, 255, -257]], dtype=np.int32)
    assert requantize(big, 1.0).tolist() == [[127, -128, 127, -128]]
    assert requantize(big, 1.0, 3, "uint8").tolist() == [[255, 0, 255, 0]]
    assert requantize(big, 0.01, 0, "int4").tolist() == [[7, -8, 3, -3]]
    per_channel = requantize(np.array([[100, 100]], dtype=np.int32), np.array([0.1, 2.0]))
    assert per_channel.tolist() == [[10, 127]]


def test_overflow_is_detected_on_the_exact_boundary() -> None:
    # (-128) * (-128) = 2**14; 2**17 of them reach 2**31, one past INT32_MAX.
    k = 2**17
    a = np.full((1, k), -128, dtype=np.int8)
    b = np.full((k, 1), -128, dtype=np.int8)
    assert int_gemm(a[:, :-1], b[:-1, :])[0, 0] == 2**31 - 2**14
    with pytest.raises(AccumulatorOverflowError, match=r"after k = 131071: partial sum 2147483648"):
        int_gemm(a, b)
    assert int_gemm(a, b, overflow=OverflowPolicy.WRAP)[0, 0] == INT32_MIN


def test_intermediate_overflow_caught_even_when_final_sum_fits() -> None:
    # 140,000 x 127*127 climbs past INT32_MAX, then 140,000 x -127*127 returns to 0.
    half = 140_000
    a = np.concatenate([np.full(half, 127), np.full(half, -127)]).astype(np.int8)[None, :]
    b = np.full((2 * half, 1), 127, dtype=np.int8)
    first_bad = INT32_MAX // (127 * 127)  # the partial sum after k = first_bad overflows
    with pytest.raises(AccumulatorOverflowError, match=f"after k = {first_bad}:"):
        int_gemm(a, b)
    assert int_gemm(a, b, overflow="wrap")[0, 0] == 0  # wrap-around is exact modulo 2**32


def test_other_integer_precisions_and_ranges() -> None:
    assert int_range("int4") == (-8, 7) and int_range("uint8") == (0, 255)
    a = np.array([[7, -8]], dtype=np.int8)
    b = np.array([[-8], [-8]], dtype=np.int8)
    assert int_gemm(a, b, precision="int4")[0, 0] == 7 * -8 + 64
    with pytest.raises(QuantizationError, match="outside int4 range"):
        int_gemm(np.array([[8]], dtype=np.int8), np.array([[1]], dtype=np.int8), "int4")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: int_gemm(np.ones((2, 3), np.float32), np.ones((3, 2), np.int8)), "integer array"),
        (lambda: int_gemm(np.ones((2, 3), np.int8), np.ones((4, 2), np.int8)), "shape mismatch"),
        (lambda: int_gemm(np.ones((2, 2), np.int16) * 300, np.ones((2, 2), np.int8)), "range"),
        (lambda: int_gemm(np.ones((1, 1), np.int8), ONE_INT8, "fp8_e4m3"), "not an integer"),
        (lambda: requantize(np.ones((1, 1), np.int32), 0.0), "scale must be positive"),
        (lambda: requantize(np.ones((1, 1), np.int32), 1.0, 200), "zero point"),
        (lambda: requantize(np.ones((1, 1)), 1.0), "acc must be integers"),
        (lambda: float_gemm(np.ones((2, 2)), np.ones((2, 2))), "float32"),
        (lambda: float_gemm(ONE_FP32, ONE_FP32, "bf16"), "not supported"),
    ],
)  # fmt: skip
def test_bad_datapath_input(call, message: str) -> None:
    with pytest.raises(QuantizationError, match=message):
        call()


def reference_float_gemm(a: np.ndarray, b: np.ndarray, acc_type: type) -> np.ndarray:
    """Scalar loop: acc = acc + a*b, each op in numpy scalars of the accumulator type."""
    out = np.zeros((a.shape[0], b.shape[1]), dtype=acc_type)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            total = acc_type(0)
            for kk in range(a.shape[1]):
                total = acc_type(total + acc_type(acc_type(a[i, kk]) * acc_type(b[kk, j])))
            out[i, j] = total
    return out


@pytest.mark.parametrize(
    ("precision", "accumulator", "op_type", "acc_type"),
    [
        ("fp32", "fp32", np.float32, np.float32),
        ("fp16", "fp32", np.float16, np.float32),
        ("fp16", "fp16", np.float16, np.float16),
    ],
)
def test_float_gemm_bit_exact(
    precision: str, accumulator: str, op_type: type, acc_type: type
) -> None:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((6, 40)).astype(op_type)
    b = rng.standard_normal((40, 5)).astype(op_type)
    out = float_gemm(a, b, precision, accumulator)
    assert out.dtype == acc_type
    ref = reference_float_gemm(a, b, acc_type)
    assert out.tobytes() == ref.tobytes()
    # Close to the float64 product; FP16 accumulation loses most.
    exact = a.astype(np.float64) @ b.astype(np.float64)
    assert np.max(np.abs(out - exact)) < (0.1 if accumulator == "fp16" else 1e-4)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(INT32_MIN, INT32_MAX), min_size=1, max_size=20),
    st.floats(1e-9, 1.0),
    st.integers(-128, 127),
)
def test_requantize_error_at_most_half_a_step_inside_range(
    values: list[int], scale: float, zp: int
) -> None:
    acc = np.array([values], dtype=np.int32)
    out = requantize(acc, scale, zp).astype(np.int64)
    ideal = acc.astype(np.float64) * scale + zp
    inside = (ideal >= -128) & (ideal <= 127)
    assert np.all(np.abs(out - ideal)[inside] <= 0.5)
    assert np.all(out[ideal > 127] == 127) and np.all(out[ideal < -128] == -128)
