"""Block-scaled (NVFP4, MX) quantization and float casts: cases the quantizer's other tests
left open, found by mutation testing (issue 18).

Expected values are worked by hand from the formats' definitions (module doc of
:mod:`npusim.quant.mx`): E2M1 holds 0, 0.5, 1, 1.5, 2, 3, 4, 6; E4M3 has three mantissa bits.
N-D results are checked against a second model: the same rows laid end to end in 1-D, each
padded with zeros to whole blocks (zeros change no block maximum).
"""

from __future__ import annotations

import numpy as np
import pytest

from npusim.errors import QuantizationError
from npusim.quant.layout import Layout
from npusim.quant.mx import (
    block_quantize,
    block_storage_bytes,
    mx_quantize,
    mx_storage_bytes,
    nvfp4_quantize,
    nvfp4_storage_bytes,
)
from npusim.quant.spec import Granularity, QuantSpec
from npusim.quant.tensor import quantize, storage_bytes

G = 2.0**-10  # tensor scale of a tensor whose largest magnitude is 6 x 448 x 2**-10 = 2.625


def three_blocks() -> np.ndarray:
    """Block 0 sets the tensor scale, block 1 has a block scale below 1, block 2 is zero."""
    x = np.zeros(48, dtype=np.float32)
    x[:3] = [2.625, 1.0, -0.7]
    x[16] = 3 * G
    return x


def test_nvfp4_with_a_tensor_scale_other_than_one_by_hand() -> None:
    """g = 2.625 / (6 x 448) = 2**-10. Block 0: s = e4m3(2.625 / 6 / g) = 448, so elements are
    V / (448 g) = V / 0.4375: 6, 2.29 -> 2, -1.6 -> -1.5. Block 1: s = e4m3(3g / 6 / g) = 0.5,
    element 3g / (0.5 g) = 6. Block 2: scale 0, elements 0 (no division by zero)."""
    q = nvfp4_quantize(three_blocks())
    assert q.tensor_scale == G
    assert q.block_scales.tolist() == [448.0, 0.5, 0.0]
    assert q.elements[[0, 1, 2, 16]].tolist() == [6.0, 2.0, -1.5, 6.0]
    expected = np.zeros(48, dtype=np.float32)
    expected[:3] = [6 * 0.4375, 2 * 0.4375, -1.5 * 0.4375]
    expected[16] = 6 * 0.5 * G
    np.testing.assert_array_equal(q.dequantize(), expected)
    assert q.error.fraction_clipped == 0.0
    assert q.error.max_abs_error == 1.0 - 2 * 0.4375
    assert block_quantize(three_blocks(), "nvfp4").dequantize().tolist() == expected.tolist()


def test_nvfp4_of_zeros_and_of_one_value() -> None:
    q = nvfp4_quantize(np.zeros(20, dtype=np.float32))
    assert q.tensor_scale == 1.0 and q.block_scales.tolist() == [0.0, 0.0]
    assert not q.dequantize().any() and q.error.mse == 0.0
    one = nvfp4_quantize(np.float32([3.0]))
    assert one.elements.tolist() == [6.0]
    assert one.dequantize()[0] == pytest.approx(3.0, rel=1e-6)


def padded_rows(x: np.ndarray, block: int) -> np.ndarray:
    """The rows of ``x`` (last axis) each zero-padded to whole blocks, end to end in 1-D."""
    rows = x.reshape(-1, x.shape[-1])
    pad = -x.shape[-1] % block
    return np.pad(rows, [(0, 0), (0, pad)]).reshape(-1)


def unpadded(flat: np.ndarray, shape: tuple[int, ...], block: int) -> np.ndarray:
    width = shape[-1] + (-shape[-1] % block)
    return flat.reshape(-1, width)[:, : shape[-1]].reshape(shape)


@pytest.mark.parametrize("name", ["nvfp4", "mxfp4_e2m1", "mxint8"])
def test_an_n_d_tensor_is_its_rows_quantized_end_to_end(name: str) -> None:
    """Shape (2, 3, 20): blocks run along the last axis and never straddle rows. An outlier
    whose block scale is floored saturates (MXFP4: 60 / 2**3 = 7.5 > 6 + 1; MXINT8: 63.9 /
    2**5 x 64 = 127.8 > 127.5): the clipped fraction counts them over the 120 real elements,
    as the 1-D model's count does over its padded ones. (NVFP4 never clips: its E4M3 block
    scale is within 1/16 of exact, so no element exceeds 6 x 16 / 15 < 7.)"""
    block = 16 if name == "nvfp4" else 32
    x = np.random.default_rng(3).standard_normal((2, 3, 20)).astype(np.float32)
    x[0, 1, 5], x[1, 2, 17] = (63.9, -63.9) if name == "mxint8" else (60.0, -30.0)
    q, flat = block_quantize(x, name), block_quantize(padded_rows(x, block), name)
    assert q.dequantize().shape == (2, 3, 20)
    np.testing.assert_array_equal(q.dequantize(), unpadded(flat.dequantize(), x.shape, block))
    padded_elements = padded_rows(x, block).size
    clipped = round(flat.error.fraction_clipped * padded_elements)
    assert q.error.fraction_clipped * 120 == pytest.approx(clipped)
    if name == "nvfp4":
        assert q.block_scales.shape == (2, 3, 2)
        assert q.block_scales.reshape(-1).tolist() == flat.block_scales.tolist()
    else:
        assert q.scale_exponents.shape == (2, 3, 1)
        assert clipped == 2


@pytest.mark.parametrize("name", ["nvfp4", "mxfp8_e4m3"])
def test_float64_input_is_taken_as_float32_first(name: str) -> None:
    """The formats quantize FP32 values: a float64 tensor gives exactly the result, error
    statistics included, of its float32 copy."""
    x64 = np.random.default_rng(5).standard_normal(100) * 3.0
    a, b = block_quantize(x64, name), block_quantize(x64.astype(np.float32), name)
    assert a.error == b.error
    np.testing.assert_array_equal(a.dequantize(), b.dequantize())


def test_a_special_block_holds_nan_elements() -> None:
    x = np.ones(64, dtype=np.float32)
    x[40] = np.inf
    q = mx_quantize(x, "mxfp8_e4m3")
    assert np.isnan(q.elements[32:]).all() and not np.isnan(q.elements[:32]).any()


def test_block_refusals_name_their_reason() -> None:
    with pytest.raises(QuantizationError, match=r"^empty tensor \(shape \(0,\)\)$"):
        nvfp4_quantize(np.zeros(0, dtype=np.float32))
    with pytest.raises(QuantizationError, match=r"^empty tensor \(shape \(\)\)$"):
        nvfp4_quantize(np.float32(1.0))
    message = r"^NVFP4 needs finite values \(its scales have no NaN code\)$"
    with pytest.raises(QuantizationError, match=message):
        nvfp4_quantize(np.float32([1.0, np.inf]))
    for shape in ((), (3, 0)):
        with pytest.raises(QuantizationError, match=r"^empty tensor \(shape "):
            mx_storage_bytes(shape, "mxint8")
        with pytest.raises(QuantizationError, match=r"^empty tensor \(shape "):
            nvfp4_storage_bytes(shape)
        with pytest.raises(QuantizationError, match=r"^empty tensor \(shape "):
            storage_bytes(shape, QuantSpec(fmt="nvfp4", bits=4))


def test_block_storage_bytes_by_hand() -> None:
    """(3, 40) in NVFP4: 120 x 4 bits = 60 B, 3 x ceil(40 / 16) = 9 block scales and a 4-byte
    tensor scale. (2, 3, 40) in MXFP4: 240 x 4 bits = 120 B and 6 x ceil(40 / 32) = 12 E8M0
    scales. One MXINT8 element: one byte and its block's scale."""
    assert tuple(nvfp4_storage_bytes((3, 40))) == (60, 13, 73)
    assert tuple(block_storage_bytes((3, 40), "nvfp4")) == (60, 13, 73)
    assert tuple(mx_storage_bytes((2, 3, 40), "mxfp4_e2m1")) == (120, 12, 132)
    assert tuple(block_storage_bytes((2, 3, 40), "mxfp4_e2m1")) == (120, 12, 132)
    assert tuple(mx_storage_bytes((1,), "mxint8")) == (1, 1, 2)
    spec = QuantSpec(fmt="nvfp4", bits=4)
    assert tuple(storage_bytes((2, 3, 40), spec)) == (120, 6 * 3 + 4, 142)
    assert nvfp4_quantize(np.ones((2, 3, 40), np.float32)).nbytes == 142


@pytest.mark.parametrize(("fmt", "bits"), [("fp16", 16), ("fp32", 32)])
def test_a_float_cast_has_unit_scale_zero_offset_and_one_group(fmt: str, bits: int) -> None:
    x = np.float32([[1.0, 2.0, 3.0], [4.0, 5.0, 6.1]])
    q = quantize(x, QuantSpec(fmt=fmt, bits=bits))
    assert (q.scale.dtype, q.scale.shape, float(q.scale)) == (np.float32, (), 1.0)
    assert (q.zero_point.dtype, q.zero_point.shape, int(q.zero_point)) == (np.int64, (), 0)
    assert q.layout == Layout((2, 3), Granularity.PER_TENSOR, 0, 1, 1, 6)
    assert q.metadata_bytes == 0 and q.nbytes == 6 * bits // 8
    payload = 6 * bits // 8
    assert tuple(storage_bytes((2, 3), QuantSpec(fmt=fmt, bits=bits))) == (payload, 0, payload)


def test_binarized_rows_by_hand() -> None:
    """XNOR-Net per channel: alpha = mean |x| per row (1.5 and 0.75), x_hat = alpha sign(x)
    with sign(0) = +1. Squared errors 0.25 + 2.25 + 2.25 + 0.25 and 3 x 0.0625 + 0.5625: MSE
    5.75 / 8; |x| > alpha for -3, 2 and -1.5: 3 of 8 clipped; signal power 17 / 8."""
    x = np.float32([[1.0, -3.0, 0.0, 2.0], [0.5, 0.5, -0.5, -1.5]])
    spec = QuantSpec(fmt="binary", bits=1, granularity="per_channel", axis=0)
    q = quantize(x, spec)
    assert (q.values.dtype, q.values.tolist()) == (np.int8, [[1, -1, 1, 1], [1, 1, -1, -1]])
    assert (q.scale.dtype, q.scale.tolist()) == (np.float32, [1.5, 0.75])
    assert (q.zero_point.dtype, q.zero_point.tolist()) == (np.int64, [0, 0])
    expected = np.float32([[1.5, -1.5, 1.5, 1.5], [0.75, 0.75, -0.75, -0.75]])
    np.testing.assert_array_equal(q.dequantize(), expected)
    assert q.error.mse == 5.75 / 8
    assert q.error.fraction_clipped == 3 / 8
    assert q.error.sqnr_db == pytest.approx(10 * np.log10((17 / 8) / (5.75 / 8)), rel=1e-12)
