"""Tests prompted by mutation testing of npusim/quant/ outside calibrate, observer and tensor:
affine, floatfmt, layout, metrics, mx, packing, scales, spec and summary.

Expected values come from outside the code under test: hand sums, PyTorch's
quantize_per_tensor / quantize_per_channel rounding orders written out here, the OCP
Microscaling (MX) v1.0 conversion (shared_exp = floor(log2 amax) - emax_elem, round to
nearest even, saturate), NVIDIA's NVFP4 recipe (g = amax / (6 * 448), E4M3 block scales) and
the bit layouts of the packing and float formats' docstrings.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from npusim.errors import QuantizationError
from npusim.quant import QuantSpec, quantize, spec_for_precision, unpack
from npusim.quant.affine import dequantize_rows, fake_quantize_rows, qparams, quantize_rows
from npusim.quant.floatfmt import FLOAT_FORMATS, decode
from npusim.quant.layout import check_values, make_layout
from npusim.quant.metrics import error_stats
from npusim.quant.mx import mx_quantize, nvfp4_quantize
from npusim.quant.scales import round_scale
from npusim.quant.spec import Calibration, Format, Granularity, ScaleFormat
from npusim.quant.summary import (
    block_quantize_along,
    compare_bit_widths,
    compare_block_formats,
    describe,
    describe_block,
)

F32 = np.float32
F32_MAX = float(np.finfo(F32).max)


# --- metrics -----------------------------------------------------------------------------


def test_error_stats_by_hand_with_a_positive_largest_error() -> None:
    """e = x_hat - x = (0.5, 0, -0.25, 0): the largest |e| is positive and the noise is below
    1, so max |e| and the rounding/clipping split are each checked against hand sums."""
    x = np.array([1.0, 2.0, -4.0, 0.5], F32)
    x_hat = np.array([1.5, 2.0, -4.25, 0.5], F32)
    stats = error_stats(x, x_hat, np.array([False, False, True, False]))
    assert stats.elements == 4
    assert stats.max_abs_error == 0.5
    assert stats.mse == (0.25 + 0.0625) / 4
    assert stats.rounding_mse == 0.25 / 4 and stats.clipping_mse == 0.0625 / 4
    assert stats.fraction_clipped == 0.25
    assert stats.sqnr_db == pytest.approx(10 * math.log10(21.25 / 0.3125), rel=1e-12)


# --- spec ----------------------------------------------------------------------------------


def test_spec_for_precision_defaults_and_scheme_arguments() -> None:
    """Without arguments an integer precision gets QuantSpec's own defaults (affine, axis 0,
    min-max); calibration and percentile are passed through."""
    assert spec_for_precision("int8") == QuantSpec(bits=8)
    spec = spec_for_precision(
        "uint4", granularity="per_channel", axis=1, calibration="percentile", percentile=99.5
    )
    assert (spec.bits, spec.signed, spec.axis) == (4, False, 1)
    assert spec.calibration is Calibration.PERCENTILE and spec.percentile == 99.5


def test_unknown_precision_lists_the_names() -> None:
    with pytest.raises(QuantizationError) as info:
        spec_for_precision("int7")
    assert str(info.value).endswith(
        "valid: fp32, fp16, bf16, fp8_e4m3, fp8_e5m2, int32, int16, int8, uint8, int4, uint4, "
        "int2, binary, mxint8, mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4_e2m1, nvfp4"
    )


# --- packing ---------------------------------------------------------------------------------


def test_unpack_takes_bytes_as_a_plain_list() -> None:
    """Bytes read from anywhere (a list of ints) are bytes: 0x34, 0x12 is 0x1234 little
    endian; 5, 3, 7 in 3-bit fields are stream bits 101 110 111 (LSB first): bytes 0xDD, 0x01."""
    assert unpack([0x34, 0x12], 16, False, 1).tolist() == [0x1234]
    assert unpack([0xDD, 0x01], 3, False, 3).tolist() == [5, 3, 7]
    assert unpack([0xDD, 0x01], 3, True, 3).tolist() == [-3, 3, -1]
    assert unpack([0x5A], 4, False, 2).tolist() == [0xA, 0x5]


# --- layout --------------------------------------------------------------------------------------


def test_integer_input_is_numeric() -> None:
    values = check_values(np.array([[1, -2], [3, 40000]], dtype=np.int32))
    assert values.dtype == F32 and values.tolist() == [[1.0, -2.0], [3.0, 40000.0]]


def test_a_float64_beyond_float32_is_refused_without_a_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(QuantizationError, match="1 Inf value"):
            check_values(np.array([1.0, 1e39]))


def test_empty_layout_message() -> None:
    with pytest.raises(QuantizationError, match=r"^empty tensor \(shape \(2, 0\)\)$"):
        make_layout((2, 0), QuantSpec())


def test_per_channel_axis_minus_ndim_is_the_first_axis() -> None:
    """Channels along axis -2 of a 2-D tensor are its rows: affine int8 scales (hi - lo) / 255
    with the range widened to 0, in float32."""
    x = np.array([[-1.0, 2.0, 0.5], [3.0, -6.0, 1.0]], F32)
    quantized = quantize(x, QuantSpec(granularity="per_channel", axis=-2))
    assert quantized.scale.tolist() == [F32(F32(3.0) / F32(255)), F32(F32(9.0) / F32(255))]


def test_per_tensor_layout_and_scale_shape() -> None:
    quantized = quantize(np.arange(12, dtype=F32).reshape(3, 4), QuantSpec())
    assert quantized.scale.shape == () and quantized.zero_point.shape == ()
    assert (quantized.layout.rows, quantized.layout.row_length) == (1, 12)


def test_per_group_along_the_first_of_three_axes_by_hand() -> None:
    """Groups of 2 along axis 0 of a (4, 2, 3) tensor: scale[g, i, j] is the signed symmetric
    scale max |x[2g:2g+2, i, j]| / 127.5, and dequantize() is the per-channel rounding order
    fl32(rint(fl32(x * fl32(1 / S))) * S) with the scales in that place."""
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((4, 2, 3)) * rng.uniform(0.1, 10, (4, 2, 3))).astype(F32)
    spec = QuantSpec(symmetric=True, granularity="per_group", group_size=2, axis=0)
    quantized = quantize(x, spec)
    assert quantized.layout.granularity is Granularity.PER_GROUP
    amax = np.abs(x).reshape(2, 2, 2, 3).max(axis=1)
    expected_scale = (amax / F32(127.5)).astype(F32)
    np.testing.assert_array_equal(quantized.scale, expected_scale)
    per_element = np.repeat(expected_scale, 2, axis=0)
    codes = np.clip(np.rint((x * (F32(1) / per_element)).astype(F32)), -128, 127)
    np.testing.assert_array_equal(quantized.values, codes)
    np.testing.assert_array_equal(quantized.dequantize(), (codes * per_element).astype(F32))


# --- affine --------------------------------------------------------------------------------------


def test_qparams_take_ranges_as_float32() -> None:
    """PyTorch's observers hold min/max in float32: a float64 range is rounded to float32
    first and the scale is a float32 quotient; the zero point is int64."""
    rng = np.random.default_rng(11)
    lo = -rng.uniform(0.1, 50, 64)
    hi = rng.uniform(0.1, 50, 64)
    lo32, hi32 = lo.astype(F32), hi.astype(F32)
    scale, zero_point = qparams(lo, hi, QuantSpec())
    expected = ((hi32 - lo32) / F32(255)).astype(F32)
    assert scale.dtype == F32 and zero_point.dtype == np.int64
    np.testing.assert_array_equal(scale, expected)
    np.testing.assert_array_equal(zero_point, -128 - np.rint(lo32 / expected))
    symmetric, _ = qparams(lo, hi, QuantSpec(symmetric=True))
    np.testing.assert_array_equal(symmetric, np.maximum(-lo32, hi32) / F32(127.5))


def test_a_scale_rounded_down_clamps_the_zero_point() -> None:
    """uint8 affine on [-255.986, 0]: S = fl32(255.986 / 255) = 1.00387 rounds to bf16 1.0
    (the midpoint to 1.0078125 is 1.00390625), so round(min / S) = -256 and PyTorch's
    Z = clamp(0 + 256, 0, 255) = 255."""
    lo = F32(-255 * (1 + 0.99 * 2.0**-8))
    quantized = quantize(np.array([lo, 0.0], F32), QuantSpec(signed=False, scale_format="bf16"))
    assert float(quantized.scale) == 1.0
    assert int(quantized.zero_point) == 255


@pytest.mark.parametrize("fused", [True, False])
def test_clipped_means_beyond_half_a_step_outside_the_codes(fused: bool) -> None:
    """S = 1, Z = 0, int8: -128.5 and 127.5 round (half to even, then clamp) with half a step
    of error, like rounding: not clipped; -128.625 and 127.625 are."""
    rows = np.array([[-128.5, 127.5, -128.625, 127.625, 3.25]], F32)
    one, zero = np.ones(1, F32), np.zeros(1, np.int64)
    q, clipped = quantize_rows(rows, one, zero, -128, 127, fused)
    assert q.dtype == np.int64
    assert q.tolist() == [[-128, 127, -128, 127, 3]]
    assert clipped.tolist() == [[False, False, True, True, False]]
    narrow, _ = quantize_rows(rows, one, zero, -128, 127, fused, np.int8)
    assert narrow.dtype == np.int8


def test_fused_quantize_covers_every_column_past_its_chunks() -> None:
    """A row longer than two 2**18-column chunks: integers x with S = 1 and Z = 3 quantize to
    clamp(x + 3, -128, 127), the last columns included."""
    columns = (1 << 19) + 5
    x = (np.arange(columns) % 300 - 150).astype(F32)[None, :]
    q, _ = quantize_rows(x, np.ones(1, F32), np.full(1, 3), -128, 127, fused=True)
    np.testing.assert_array_equal(q[0], np.clip(x[0] + 3, -128, 127))


def test_dequantize_saturates_at_the_float32_limits_both_ways() -> None:
    """(q - Z) * S with S = 2**122: -128 S = -2**129 and 127 S = 1.98 * 2**128 overflow
    float32 and saturate to -/+ its largest value, silently; 1 * S = 2**122 stays."""
    q = np.array([[-128, 127, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = dequantize_rows(q, np.array([F32(2.0**122)]), np.zeros(1, np.int64))
    assert values.tolist() == [[-F32_MAX, F32_MAX, 2.0**122]]


def test_a_tensor_at_the_float32_limits_dequantizes_finite() -> None:
    """The docstring's case: symmetric int8, S = fl32(max / 127.5); -max quantizes to -128 and
    -128 S overflows: it saturates to -max. 127 S stays below max."""
    x = np.array([-F32_MAX, 0.0, F32_MAX], F32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quantized = quantize(x, QuantSpec(symmetric=True))
        x_hat = quantized.dequantize()
    scale = F32(F32(F32_MAX) / F32(127.5))
    assert quantized.values.tolist() == [-128, 0, 127]
    assert x_hat.tolist() == [-F32_MAX, 0.0, float(F32(127) * scale)]


def _near_ties(scale: F32, zero_point: int) -> np.ndarray:
    """x with x / S within a few ulps of a half-integer code, both sides, for every code."""
    inverse = F32(F32(1) / scale)
    centres = ((np.arange(-128, 127) + 0.5 - zero_point) / np.float64(inverse)).astype(F32)
    up = down = centres
    steps = [centres]
    for _ in range(3):
        up, down = np.nextafter(up, F32(np.inf)), np.nextafter(down, F32(-np.inf))
        steps += [up, down]
    return np.concatenate(steps)


def test_fake_quantize_uses_each_granularitys_rounding_order() -> None:
    """lo = -10, hi = 15.5: S = fl32(25.5 / 255) = fl32(0.1), Z = -128 - round(-10 / S) = -28.
    Per tensor rounds once, rint(fl32(x * (1/S) + Z)) (FBGEMM's FMA); per channel rounds the
    product first, rint(fl32(fl32(x * (1/S)) + Z)) (ATen's quantize_val). Near ties tell them
    apart; both are written out here."""
    lo, hi = np.array([-10.0], F32), np.array([15.5], F32)
    scale, zero_point = F32(F32(25.5) / F32(255)), -28
    inverse = F32(F32(1) / scale)
    x = _near_ties(scale, zero_point)
    fused = np.rint((x.astype(np.float64) * np.float64(inverse) + zero_point).astype(F32))
    separate = np.rint((x * inverse).astype(F32) + F32(zero_point))
    expected = {
        "per_tensor": ((np.clip(fused, -128, 127) - zero_point) * scale).astype(F32),
        "per_channel": ((np.clip(separate, -128, 127) - zero_point) * scale).astype(F32),
    }
    assert (expected["per_tensor"] != expected["per_channel"]).sum() > 10
    for granularity, values in expected.items():
        spec = QuantSpec(granularity=granularity)
        np.testing.assert_array_equal(fake_quantize_rows(x[None, :], spec, lo, hi)[0], values)


# --- scales and float formats -------------------------------------------------------------------


def test_rounded_scales_are_float32_and_e8m0_stops_at_2_to_the_127() -> None:
    """Any input (a list of floats here) comes back float32; E8M0 spans 2**-127 .. 2**127 (MX
    v1.0 section 5.4), so 1.5 * 2**127 rounds up to at most 2**127; 0.1 in fp16 is
    0x2E66 = 1638 / 16384."""
    fp32 = round_scale([0.1], ScaleFormat.FP32)
    assert fp32.dtype == F32 and fp32.tolist() == [F32(0.1)]
    e8m0 = round_scale(np.array([1.5 * 2.0**127], F32), ScaleFormat.E8M0)
    assert e8m0.dtype == F32 and e8m0.tolist() == [2.0**127]
    fp16 = round_scale(np.array([0.1], F32), ScaleFormat.FP16)
    assert fp16.dtype == F32 and fp16.tolist() == [1638 / 16384]


def test_decode_returns_float32() -> None:
    """FP16 0x3C00 = 1.0, 0xC000 = -2.0, 0x0001 = 2**-24 (smallest subnormal)."""
    values = decode(np.array([0x3C00, 0xC000, 0x0001], np.uint16), FLOAT_FORMATS[Format.FP16])
    assert values.dtype == F32 and values.tolist() == [1.0, -2.0, 2.0**-24]


# --- MX and NVFP4 -------------------------------------------------------------------------------


def test_unknown_mx_format_lists_the_names() -> None:
    with pytest.raises(QuantizationError) as info:
        mx_quantize(np.ones(4, F32), "mxfp5")
    assert str(info.value).endswith(
        "valid: mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4_e2m1, mxint8"
    )


def test_mxint8_saturates_at_minus_127_and_keeps_127() -> None:
    """amax 1.99609375: X = 2**floor(log2 amax) = 1 (emax 0). -1.99609375 * 64 = -127.75
    rounds to -128, kept in [-127, 127] (saturated); 127/64 is code 127 exactly (not)."""
    quantized = mx_quantize(np.array([1.0, -1.99609375, 127 / 64], F32), "mxint8")
    assert quantized.scale_exponents.tolist() == [0]
    assert quantized.elements.tolist() == [1.0, -127 / 64, 127 / 64]
    assert quantized.error.fraction_clipped == 1 / 3
    codes = quantized.element_codes()
    assert codes.dtype == np.uint8 and codes.tolist() == [64, 256 - 127, 127]
    assert quantized.dequantize().dtype == F32


def test_mx_float_element_codes_are_uint8() -> None:
    """E2M1 codes (sign | 2-bit exponent | 1-bit mantissa, bias 1): amax 6 gives X = 1;
    6 = 0b0111, -0.5 (subnormal) = 0b1001, 3 = 0b0101."""
    codes = mx_quantize(np.array([6.0, -0.5, 3.0], F32), "mxfp4_e2m1").element_codes()
    assert codes.dtype == np.uint8 and codes.tolist() == [0b0111, 0b1001, 0b0101]


def test_nvfp4_saturation_in_the_second_row_is_counted() -> None:
    """Two rows of 20 (a 16-element block and a padded 4-element one each). Row 0's 2688 sets
    g = 2688 / (6 * 448) = 1 and its block scale 448. Row 1's 0.0164 gives 0.0164 / 6 =
    1.40 * 2**-9: the E4M3 subnormal 2**-9 (quantum 2**-9); 0.0164 * 512 = 8.40 rounds to
    E2M1 8, past 6: saturated to 6."""
    x = np.zeros((2, 20), F32)
    x[0, 0], x[1, 2] = 2688.0, 0.0164
    quantized = nvfp4_quantize(x)
    assert quantized.tensor_scale == 1.0
    assert quantized.block_scales.tolist() == [[448.0, 0.0], [2.0**-9, 0.0]]
    assert quantized.elements[1, 2] == 6.0 and quantized.elements[0, 0] == 6.0
    assert quantized.error.fraction_clipped == 1 / 40
    error = float(F32(6 * 2.0**-9)) - float(F32(0.0164))
    assert quantized.error.mse == pytest.approx(error**2 / 40, rel=1e-12)
    assert quantized.dequantize().dtype == F32


def test_nvfp4_error_is_the_error_of_its_float32_dequantization() -> None:
    rng = np.random.default_rng(17)
    x = (rng.standard_normal((4, 48)) * rng.uniform(0.5, 3, (4, 1))).astype(F32)
    quantized = nvfp4_quantize(x)
    error = quantized.dequantize().astype(np.float64) - x.astype(np.float64)
    assert quantized.error.max_abs_error == np.abs(error).max()
    assert quantized.error.mse == pytest.approx(np.mean(error**2), rel=1e-12)


def test_nvfp4_is_scale_equivariant_even_for_underflowing_blocks() -> None:
    """Scaling a tensor by 2**12 scales g by 2**12 and changes nothing else: block scales,
    elements and the clipped count are the same. Block 1's amax 0.005 is 0.005 / 6 / g =
    8.3e-4 < 2**-10 of g, so its E4M3 scale is 0 and its elements reconstruct to 0 either way
    (P * 0 * g): they must not depend on the tensor's magnitude."""
    x = np.zeros(32, F32)
    x[0], x[16:20] = 2688.0, [0.005, -0.004, 0.003, 0.0]
    small, large = nvfp4_quantize(x), nvfp4_quantize(x * F32(4096))
    assert small.block_scales.tolist() == large.block_scales.tolist() == [448.0, 0.0]
    assert (small.tensor_scale, large.tensor_scale) == (1.0, 4096.0)
    np.testing.assert_array_equal(small.elements, large.elements)
    assert small.error.fraction_clipped == large.error.fraction_clipped == 0.0
    assert large.error.mse == small.error.mse * 2.0**24
    np.testing.assert_array_equal(large.dequantize()[16:20], 0.0)


# --- summary: describe and the bit-width comparison ---------------------------------------------


def test_describe_reports_spec_groups_and_ratio_by_hand() -> None:
    """48 float32 elements (192 B) in affine int8 per tensor: 48 B of codes, a 4-byte scale and
    a 1-byte zero point; fp16 has no scale (0 groups); per channel of 4: 4 groups."""
    x = np.random.default_rng(2).standard_normal((4, 12)).astype(F32)
    info = describe(quantize(x, QuantSpec()), 192)
    assert info["spec"]["bits"] == 8 and info["spec"]["axis"] == 0
    assert info["spec"]["fmt"] == "int" and info["spec"]["group_size"] is None
    assert (info["payload_bytes"], info["metadata_bytes"], info["total_bytes"]) == (48, 5, 53)
    assert info["compression_ratio"] == 192 / 53 and info["groups"] == 1
    assert describe(quantize(x, QuantSpec(fmt="fp16")), 192)["groups"] == 0
    per_channel = describe(quantize(x, QuantSpec(granularity="per_channel")), 192)
    assert per_channel["groups"] == 4


def test_compare_bit_widths_counts_the_inputs_own_bytes() -> None:
    x = np.random.default_rng(4).standard_normal(48)
    assert {row["original_bytes"] for row in compare_bit_widths(x, QuantSpec())} == {384}
    rows = compare_bit_widths(x.astype(F32), QuantSpec(), (8,))
    assert rows[0]["original_bytes"] == 192 and rows[0]["bits"] == 8


# --- summary: block-scaled tensors --------------------------------------------------------------


def _mx_hand_tensor() -> np.ndarray:
    """(2, 40) in MXFP4, every value exact: blocks amax 12 (X = 2**(3 - 2) = 2), 0.75
    (X = 2**-3), a NaN block (NaN scale) and 48 (X = 2**3)."""
    x = np.zeros((2, 40), F32)
    x[0, :4] = [12.0, -2.0, 3.0, 1.0]
    x[0, 32:36] = [0.75, -0.25, 0.5, 0.0]
    x[1, :3] = [np.nan, 1.0, 2.0]
    x[1, 32:35] = [48.0, -16.0, 8.0]
    return x


def test_describe_block_of_an_mx_tensor_by_hand() -> None:
    quantized = mx_quantize(_mx_hand_tensor(), "mxfp4_e2m1")
    info = describe_block(quantized, 320)
    assert info["format"] == "mxfp4_e2m1"
    assert info["spec"] == {"fmt": "mxfp4_e2m1", "bits": 4, "axis": 1}
    assert info["block"] == {"size": 32, "axis": 1, "element": "E2M1", "scale_format": "e8m0",
                             "nan_blocks": 1}  # fmt: skip
    assert (info["groups"], info["scale_min"], info["scale_max"]) == (4, 2.0**-3, 8.0)
    # 80 x 4 bits = 40 B, four E8M0 bytes
    assert (info["payload_bytes"], info["metadata_bytes"], info["total_bytes"]) == (40, 4, 44)
    assert info["original_bytes"] == 320 and info["compression_ratio"] == 320 / 44
    # the 48 finite-block elements are exact: no error, SQNR +inf reported as None
    assert info["error"] == {"elements": 48, "mse": 0.0, "sqnr_db": None, "max_abs_error": 0.0,
                             "rounding_mse": 0.0, "clipping_mse": 0.0,
                             "fraction_clipped": 0.0}  # fmt: skip


def test_describe_block_of_only_nan_blocks_has_no_scale_range() -> None:
    info = describe_block(mx_quantize(np.full(3, np.nan, F32), "mxint8"), 12)
    assert (info["groups"], info["scale_min"], info["scale_max"]) == (1, None, None)
    assert info["block"]["nan_blocks"] == 1 and info["block"]["element"] == "INT8"
    assert info["error"]["elements"] == 0 and info["error"]["mse"] is None


def test_describe_block_of_nvfp4_by_hand() -> None:
    """amax 5376: g = 5376 / 2688 = 2. Block 0 scale 448 (real 896); block 1 (4 elements, amax
    3): 3 / 6 / 2 = 0.25, exact in E4M3 (real 0.5). 20 x 4 bits = 10 B; 2 scale bytes and
    4 for g."""
    x = np.zeros((1, 20), F32)
    x[0, 0], x[0, 16:18] = 5376.0, [3.0, -1.0]
    info = describe_block(nvfp4_quantize(x), 80)
    assert info["format"] == "nvfp4" and info["spec"] == {"fmt": "nvfp4", "bits": 4, "axis": 1}
    assert info["block"] == {"size": 16, "axis": 1, "element": "E2M1",
                             "scale_format": "e4m3 per block x fp32 per tensor",
                             "nan_blocks": 0, "tensor_scale": 2.0}  # fmt: skip
    assert (info["groups"], info["scale_min"], info["scale_max"]) == (2, 0.5, 896.0)
    assert (info["payload_bytes"], info["metadata_bytes"], info["total_bytes"]) == (10, 6, 16)
    assert info["compression_ratio"] == 5.0


def test_block_quantize_along_an_axis() -> None:
    """Blocks along axis 0 of a (40, 2) tensor are the (2, 40) tensor's rows; axis -2 is axis 0
    and is reported as 0; axes outside the tensor and a 0-d value are refused."""
    x = _mx_hand_tensor()
    along = block_quantize_along(np.ascontiguousarray(x.T), "mxfp4_e2m1", -2)
    direct = mx_quantize(x, "mxfp4_e2m1")
    np.testing.assert_array_equal(along.elements, direct.elements)
    assert along.scale_exponents.tolist() == [[1, -3], [255, 3]]
    assert describe_block(along, 320, -2)["block"]["axis"] == 0
    assert describe_block(along, 320, 0)["spec"]["axis"] == 0
    for axis in (2, -3):
        with pytest.raises(QuantizationError, match=f"^axis {axis} outside a 2-D tensor$"):
            block_quantize_along(x, "nvfp4", axis)
    with pytest.raises(QuantizationError, match=r"^empty tensor \(shape \(\)\)$"):
        block_quantize_along(np.float32(1.0), "mxint8")


def test_block_quantize_along_the_first_of_three_axes() -> None:
    """x[k, i, j] = (40 - k) * 2**(3i + j), blocks along axis 0: MXINT8 (emax 0) block 0 has
    amax 40 * 2**(3i + j), X = 2**(5 + 3i + j); block 1 (k = 32..39) amax 8 * 2**(3i + j),
    X = 2**(3 + 3i + j). Scales have shape (2, 3, 2): the other axes, then the blocks."""
    column = np.arange(40, 0, -1, dtype=F32)
    power = 2.0 ** (3 * np.arange(2)[:, None] + np.arange(3)[None, :])
    x = (column[:, None, None] * power[None]).astype(F32)
    quantized = block_quantize_along(x, "mxint8", 0)
    shift = 3 * np.arange(2)[:, None] + np.arange(3)[None, :]
    expected = np.stack([5 + shift, 3 + shift], axis=-1)
    np.testing.assert_array_equal(quantized.scale_exponents, expected)
    assert quantized.elements.shape == (2, 3, 40)


def test_compare_block_formats_rows_by_hand() -> None:
    """(2, 40) finite values: every format in Format order with its element width and storage:
    80 elements packed plus 4 E8M0 bytes (MX) or 6 E4M3 bytes and 4 for g (NVFP4)."""
    x = np.random.default_rng(9).standard_normal((2, 40)).astype(F32)
    rows, skipped = compare_block_formats(x)
    assert skipped == {}
    names = ["mxint8", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4_e2m1",
             "nvfp4"]  # fmt: skip
    assert [row["format"] for row in rows] == names
    assert [row["bits"] for row in rows] == [8, 8, 8, 6, 6, 4, 4]
    assert [row["block"]["element"] for row in rows] == [
        "INT8", "E4M3", "E5M2", "E3M2", "E2M3", "E2M1", "E2M1"]  # fmt: skip
    assert [row["total_bytes"] for row in rows] == [84, 84, 84, 64, 64, 44, 50]
    assert {row["original_bytes"] for row in rows} == {320}
    along_first, _ = compare_block_formats(np.ascontiguousarray(x.T), axis=0)
    assert {(row["block"]["axis"], row["spec"]["axis"]) for row in along_first} == {(0, 0)}
    assert [row["total_bytes"] for row in along_first] == [84, 84, 84, 64, 64, 44, 50]


def test_compare_block_formats_skips_only_nvfp4_for_non_finite_input() -> None:
    x = _mx_hand_tensor()
    rows, skipped = compare_block_formats(x)
    assert [row["format"] for row in rows][-1] == "mxfp4_e2m1" and len(rows) == 6
    assert skipped == {"nvfp4": "NVFP4 needs finite values (its scales have no NaN code)"}
    with pytest.raises(QuantizationError, match=r"^axis 5 outside a 2-D tensor$"):
        compare_block_formats(x, axis=5)  # a NaN does not excuse another refusal
