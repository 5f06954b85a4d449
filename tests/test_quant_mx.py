"""OCP MX v1.0 formats: hand-worked blocks (shared-exponent choice, rounding, saturation,
special values), storage and error ordering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from npusim.errors import QuantizationError
from npusim.quant.mx import E8M0_NAN, MX_FORMATS, mx_quantize, mx_storage_bytes


def _block(*head: float, size: int = 32) -> np.ndarray:
    v = np.zeros(size, np.float32)
    v[: len(head)] = head
    return v


def test_mxfp4_block_by_hand() -> None:
    # max |V| = 12: floor(log2 12) = 3, emax(E2M1) = 2, so X = 2^1; V / X = 0.5, -0.375,
    # 1.5, 6, 0.05; E2M1 holds 0, 0.5, 1, 1.5, 2, 3, 4, 6: -0.375 -> -0.5, 0.05 -> 0
    q = mx_quantize(_block(1.0, -0.75, 3.0, 12.0, 0.1), "mxfp4_e2m1")
    assert q.scale_exponents.tolist() == [1]
    np.testing.assert_array_equal(q.elements[:5], [0.5, -0.5, 1.5, 6.0, 0.0])
    np.testing.assert_array_equal(q.dequantize()[:5], np.float32([1.0, -1.0, 3.0, 12.0, 0.0]))
    # codes sign|exponent|mantissa: 0.5 = 0 00 1, -0.5 = 1 00 1, 1.5 = 0 01 1, 6 = 0 11 1
    assert q.element_codes()[:4].tolist() == [0b0001, 0b1001, 0b0011, 0b0111]


def test_mxfp8_floor_choice_saturates_the_block_maximum() -> None:
    # max 500: floor(log2 500) = 8 = emax(E4M3), X = 1; 500 > 448 saturates; 1.3 -> 1.25
    q = mx_quantize(_block(500.0, 1.3), "mxfp8_e4m3")
    assert q.scale_exponents.tolist() == [0]
    np.testing.assert_array_equal(q.dequantize()[:2], np.float32([448.0, 1.25]))
    assert q.error.fraction_clipped == pytest.approx(1 / 32)


def test_mxint8_block_by_hand() -> None:
    # max 3.99: floor(log2) = 1, emax 0, X = 2; codes rint(V / 2 * 64): 96, 0, 127.7 -> 127
    # (kept symmetric), -80
    q = mx_quantize(np.float32([3.0, 0.01, 3.99, -2.5]), "mxint8")
    assert q.scale_exponents.tolist() == [1]
    np.testing.assert_array_equal(q.dequantize(), np.float32([3.0, 0.0, 127 / 32, -2.5]))
    assert q.element_codes().tolist() == [96, 0, 127, 256 - 80]


def test_blocks_are_32_along_the_last_axis_with_their_own_scales() -> None:
    x = np.concatenate([_block(1.0), _block(64.0, size=8)])  # 40 elements: 32 + 8
    q = mx_quantize(x, "mxfp6_e3m2")  # emax(E3M2) = 4: X = 2^-4 and 2^2
    assert q.scale_exponents.tolist() == [-4, 2]
    np.testing.assert_array_equal(q.dequantize(), x)
    assert mx_storage_bytes((3, 40), "mxfp6_e3m2") == (3 * 40 * 6 // 8, 3 * 2, 90 + 6)
    assert mx_quantize(np.ones((3, 40), np.float32), "mxfp6_e3m2").nbytes == 96


def test_zero_and_special_blocks() -> None:
    assert mx_quantize(np.zeros(32, np.float32), "mxfp8_e5m2").scale_exponents.tolist() == [-127]
    x = np.ones(64, np.float32)
    x[3], x[40] = np.nan, np.inf
    q = mx_quantize(x, "mxfp6_e2m3")
    assert q.scale_exponents.tolist() == [E8M0_NAN, E8M0_NAN]
    assert np.isnan(q.dequantize()).all()
    # the shared exponent stays in E8M0's range
    tiny = mx_quantize(np.full(32, 1e-38, np.float32), "mxfp8_e5m2")
    assert tiny.scale_exponents.tolist() == [-127]
    # every block special: no element to measure, every error metric undefined
    error = q.error
    assert error.elements == 0
    assert all(math.isnan(v) for k, v in error.as_dict().items() if k != "elements")


def test_error_counts_only_the_finite_blocks() -> None:
    """One special block (a NaN among ones) and one ordinary block: the error is the ordinary
    block's alone, the same as quantizing it by itself."""
    rng = np.random.default_rng(3)
    ordinary = rng.standard_normal(32).astype(np.float32)
    special = np.ones(32, np.float32)
    special[5] = np.nan
    both = mx_quantize(np.concatenate([special, ordinary]), "mxfp6_e2m3")
    alone = mx_quantize(ordinary, "mxfp6_e2m3")
    assert both.error.elements == 32
    assert both.error.as_dict() == pytest.approx(alone.error.as_dict())
    assert both.error.mse > 0


def test_element_width_orders_the_error() -> None:
    x = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    sqnr = {name: mx_quantize(x, name).error.sqnr_db for name in MX_FORMATS}
    assert sqnr["mxfp4_e2m1"] < sqnr["mxfp6_e3m2"] < sqnr["mxfp8_e4m3"] < sqnr["mxint8"]
    assert sqnr["mxfp6_e3m2"] < sqnr["mxfp6_e2m3"]  # more mantissa, same bits
    # E5M2 and E3M2 share a 2-bit mantissa: the same error inside the block's range
    assert sqnr["mxfp8_e5m2"] == pytest.approx(sqnr["mxfp6_e3m2"], abs=0.5)


def test_unknown_format_and_empty_tensor() -> None:
    with pytest.raises(QuantizationError, match="unknown MX format 'mxfp5'"):
        mx_quantize(np.ones(4, np.float32), "mxfp5")
    with pytest.raises(QuantizationError, match="empty"):
        mx_quantize(np.ones(0, np.float32), "mxint8")


def test_nvfp4_blocks_by_hand() -> None:
    from npusim.quant.mx import nvfp4_quantize

    # amax 2688 = 6 * 448: tensor scale g = 1. Block 0: scale e4m3(2688 / 6) = 448; 1/448 -> 0,
    # -300/448 = -0.67 -> -0.5 (E2M1 0.5 is nearer than 1), 0.4/448 -> 0.
    # Block 1: scale e4m3(10 / 6 = 1.667) = 1.625 (steps of 0.125); 10/1.625 = 6.15 rounds to
    # 6 (9.75: within half of E2M1's step of 2, so not clipped), 3/1.625 = 1.85 -> 2 (3.25).
    x = _block(2688.0, 1.0, -300.0, 0.4)
    x[16:18] = [10.0, 3.0]
    q = nvfp4_quantize(x)
    assert q.tensor_scale == 1.0
    assert q.block_scales.tolist() == [448.0, 1.625]
    np.testing.assert_array_equal(q.dequantize()[[0, 1, 2, 3, 16, 17]],
                                  np.float32([2688, 0, -224, 0, 9.75, 3.25]))  # fmt: skip
    assert q.error.fraction_clipped == 0.0
    assert q.nbytes == 32 // 2 + 2 + 4


def test_nvfp4_beats_mxfp4_on_gaussian_data_and_refuses_specials() -> None:
    from npusim.quant.mx import nvfp4_quantize

    x = np.random.default_rng(0).standard_normal((64, 256)).astype(np.float32)
    # finer blocks (16 vs 32) and a scale with a mantissa (E4M3 vs a power of two)
    assert nvfp4_quantize(x).error.sqnr_db > mx_quantize(x, "mxfp4_e2m1").error.sqnr_db + 1
    with pytest.raises(QuantizationError, match="finite"):
        nvfp4_quantize(np.float32([1.0, np.nan]))
