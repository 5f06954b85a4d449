"""Formats, packing, storage bytes, granularity layouts and the precision-name mapping."""

from __future__ import annotations

import numpy as np
import pytest

from npusim.quant import (
    Format,
    Granularity,
    QuantSpec,
    pack,
    quantize,
    spec_for_precision,
    storage_bytes,
    unpack,
)


def test_int4_packs_two_per_byte_low_nibble_first() -> None:
    packed = pack(np.array([1, -2, 7, -8, 3]), 4, signed=True)
    # -2 -> 0xE, -8 -> 0x8 (two's complement nibbles); odd count pads the last high nibble
    assert packed.tolist() == [0xE1, 0x87, 0x03]
    assert unpack(packed, 4, True, 5).tolist() == [1, -2, 7, -8, 3]


def test_binary_packs_eight_per_byte_lsb_first() -> None:
    packed = pack(np.array([1, 0, 0, 0, 0, 0, 0, 1, 1]), 1, signed=False)
    assert packed.tolist() == [0x81, 0x01]


def test_three_bit_fields_cross_byte_boundaries() -> None:
    values = np.array([5, 2, 7, 1, 0, 6, 3, 4, 5])
    packed = pack(values, 3, signed=False)
    assert packed.size == 4  # ceil(9 * 3 / 8)
    # stream bits of 5 (101), 2 (010), 7 (111): byte 0 = 0b11_010_101
    assert packed[0] == 0b11010101
    assert unpack(packed, 3, False, 9).tolist() == values.tolist()


def test_pack_rejects_out_of_range_values() -> None:
    from npusim.errors import QuantizationError

    with pytest.raises(QuantizationError, match="4-bit range"):
        pack(np.array([8]), 4, signed=True)


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bits", range(1, 17))
def test_pack_is_the_documented_bit_stream_for_every_width(bits: int, signed: bool) -> None:
    """A second model of the packing module's layout: field i at stream bits [i b, (i + 1) b),
    two's complement, as one Python integer written little-endian; both ends of the range
    round-trip and one past either end is refused, naming the range."""
    from npusim.errors import QuantizationError

    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    rng = np.random.default_rng(bits)
    values = np.array([low, high, *rng.integers(low, high + 1, 11)], dtype=np.int64)
    stream = sum((int(v) % 2**bits) << (i * bits) for i, v in enumerate(values))
    size = -(-values.size * bits // 8)
    packed = pack(values.reshape(1, -1), bits, signed)
    assert packed.dtype == np.uint8 and packed.tobytes() == stream.to_bytes(size, "little")
    unpacked = unpack(packed, bits, signed, values.size)
    assert unpacked.dtype == np.int64 and unpacked.tolist() == values.tolist()
    for outside in (low - 1, high + 1):
        with pytest.raises(QuantizationError, match=rf"{bits}-bit range \[{low}, {high}\]"):
            pack(np.array([0, outside]), bits, signed)
    with pytest.raises(QuantizationError, match=f"has {size + 1} bytes, expected {size} for "
                       f"{values.size} x {bits} bits"):  # fmt: skip
        unpack(np.zeros(size + 1, np.uint8), bits, signed, values.size)


def test_binary_uses_mean_abs_alpha_and_sign() -> None:
    x = np.array([[1.0, -3.0, 0.0, 2.0], [0.5, 0.5, -0.5, -0.5]], dtype=np.float32)
    q = quantize(x, QuantSpec(fmt="binary", granularity="per_channel"))
    np.testing.assert_array_equal(q.scale, [1.5, 0.5])  # mean |x| per row
    assert q.values.tolist() == [[1, -1, 1, 1], [1, 1, -1, -1]]  # sign(0) = +1
    np.testing.assert_array_equal(q.dequantize(), q.values * q.scale[:, None])
    assert q.packed.tolist() == [0b00111101]  # one stream, LSB first: 1,0,1,1 then 1,1,0,0
    assert q.error.fraction_clipped == pytest.approx(2 / 8)  # |x| > alpha: -3 and 2


def test_float_codes_round_trip_and_match_numpy_fp16() -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(1000) * np.exp2(rng.integers(-20, 15, 1000))).astype(np.float32)
    q = quantize(x, QuantSpec(fmt="fp16"))
    np.testing.assert_array_equal(q.values, x.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(q.dequantize(), x.astype(np.float16).astype(np.float32))
    assert q.nbytes == 2000


def test_fp8_e4m3_saturates_and_counts_clipping() -> None:
    q = quantize(np.array([1000.0, -500.0, 1.0, 0.0], dtype=np.float32), QuantSpec(fmt="fp8_e4m3"))
    assert q.dequantize().tolist() == [448.0, -448.0, 1.0, 0.0]
    assert q.values.tolist() == [0x7E, 0xFE, 0x38, 0x00]  # OCP E4M3: 448 = 0 1111 110
    assert q.error.fraction_clipped == 0.5


def test_fp32_is_identity() -> None:
    x = np.array([1.5, -2.25e-30, 3e38], dtype=np.float32)
    q = quantize(x, QuantSpec(fmt="fp32"))
    np.testing.assert_array_equal(q.dequantize(), x)
    assert q.error.mse == 0.0 and q.nbytes == 12


def test_per_group_scales_along_axis() -> None:
    x = np.arange(2 * 8, dtype=np.float32).reshape(2, 8)
    spec = QuantSpec(bits=4, symmetric=True, granularity="per_group", axis=1, group_size=4)
    q = quantize(x, spec)
    assert q.scale.shape == (2, 2)
    # group maxima 3, 7, 11, 15; symmetric S = amax / 7.5
    np.testing.assert_array_equal(q.scale, np.float32([[3, 7], [11, 15]]) / np.float32(7.5))
    assert np.max(np.abs(q.dequantize() - x)) <= q.scale.max() / 2 + 1e-6


def test_per_channel_any_axis() -> None:
    x = np.random.default_rng(0).standard_normal((3, 5, 4)).astype(np.float32)
    q = quantize(x, QuantSpec(granularity="per_channel", axis=-1))
    assert q.scale.shape == (4,)
    for c in range(4):
        alone = quantize(np.ascontiguousarray(x[..., c]), QuantSpec())
        assert q.scale[c] == alone.scale
        np.testing.assert_array_equal(q.values[..., c], alone.values)


@pytest.mark.parametrize(
    ("spec", "payload", "metadata"),
    [
        # 64 x 128 = 8192 elements; FP32 scale = 4 B, G zero points packed: ceil(G * bits / 8)
        (QuantSpec(), 8192, 4 + 1),
        (QuantSpec(bits=4, symmetric=True, granularity="per_channel"), 4096, 64 * 4),
        (QuantSpec(bits=4, granularity="per_group", axis=1, group_size=32), 4096, 256 * 4 + 128),
        (QuantSpec(bits=12, signed=False, granularity="per_channel", axis=1), 12288, 128 * 4 + 192),
        # FP16 scales 2 B, E8M0 scales 1 B (OCP MX v1.0)
        (
            QuantSpec(bits=4, granularity="per_group", axis=1, group_size=32, scale_format="fp16"),
            4096,
            256 * 2 + 128,
        ),
        (
            QuantSpec(
                bits=4,
                symmetric=True,
                granularity="per_group",
                axis=1,
                group_size=32,
                scale_format="e8m0",
            ),
            4096,
            256,
        ),
        (QuantSpec(fmt="binary", granularity="per_channel"), 1024, 64 * 4),
        (QuantSpec(fmt="bf16"), 16384, 0),
    ],
)
def test_storage_bytes_formula(spec: QuantSpec, payload: int, metadata: int) -> None:
    sizes = storage_bytes((64, 128), spec)
    assert (sizes.payload_bytes, sizes.metadata_bytes) == (payload, metadata)
    assert sizes.total == payload + metadata
    x = np.random.default_rng(1).standard_normal((64, 128)).astype(np.float32)
    assert quantize(x, spec).nbytes == sizes.total


@pytest.mark.parametrize(
    ("name", "fmt", "bits", "signed"),
    [
        ("fp32", Format.FP32, 32, True),
        ("fp16", Format.FP16, 16, True),
        ("bf16", Format.BF16, 16, True),
        ("fp8_e4m3", Format.FP8_E4M3, 8, True),
        ("fp8_e5m2", Format.FP8_E5M2, 8, True),
        ("int16", Format.INT, 16, True),
        ("int8", Format.INT, 8, True),
        ("uint8", Format.INT, 8, False),
        ("int4", Format.INT, 4, True),
        ("uint4", Format.INT, 4, False),
        ("int2", Format.INT, 2, True),
        ("binary", Format.BINARY, 1, True),
    ],
)
def test_spec_for_precision(name: str, fmt: Format, bits: int, signed: bool) -> None:
    spec = spec_for_precision(
        name, symmetric=True, granularity="per-channel", axis=1, calibration="mse"
    )
    assert (spec.fmt, spec.bits, spec.signed) == (fmt, bits, signed)
    if fmt is Format.INT:
        assert spec.symmetric and spec.granularity is Granularity.PER_CHANNEL and spec.axis == 1


def test_spec_for_precision_rejects_int32_and_unknown() -> None:
    from npusim.errors import QuantizationError

    with pytest.raises(QuantizationError, match=r"bits 32 outside 1\.\.16"):
        spec_for_precision("int32")
    with pytest.raises(QuantizationError, match="unknown precision 'int3'"):
        spec_for_precision("int3")


def test_scales_are_rounded_to_their_storage_format() -> None:
    from npusim.quant.scales import round_scale
    from npusim.quant.spec import ScaleFormat

    values = np.float32([0.3, 0.25, 0.1, 1e-9])
    # E8M0: the power of two at or above (0.3 -> 0.5, 0.25 stays, 0.1 -> 0.125, 1e-9 -> 2^-29)
    np.testing.assert_array_equal(round_scale(values, ScaleFormat.E8M0),
                                  np.float32([0.5, 0.25, 0.125, 2.0**-29]))  # fmt: skip
    assert round_scale(np.float32([1e-45]), ScaleFormat.E8M0)[0] == np.float32(2.0**-127)
    # FP16: nearest even (numpy's own float16 cast), at least the smallest subnormal 2^-24
    fp16 = round_scale(values, ScaleFormat.FP16)
    np.testing.assert_array_equal(fp16[:3], values[:3].astype(np.float16).astype(np.float32))
    assert fp16[3] == np.float32(2.0**-24)
    # BF16: 0.1 = 0x3DCCCCCD rounds to 0x3DCD = 0.10009765625
    assert round_scale(np.float32([0.1]), ScaleFormat.BF16)[0] == np.float32(0.10009765625)
    assert round_scale(values, ScaleFormat.FP32) is not None
    np.testing.assert_array_equal(round_scale(values, ScaleFormat.FP32), values)


def test_an_e8m0_scale_keeps_the_range_and_costs_resolution() -> None:
    x = np.float32([-3.0, -1.0, 0.0, 0.4, 2.9])
    q = quantize(x, QuantSpec(bits=8, symmetric=True, scale_format="e8m0"))
    # FP32 scale 3 / 127.5 = 0.0235 -> 2^-5; codes rint(x * 32), none clipped
    assert q.scale == np.float32(2.0**-5)
    np.testing.assert_array_equal(q.values, np.int8([-96, -32, 0, 13, 93]))
    assert q.error.fraction_clipped == 0.0
    # affine FP16: the zero point follows the rounded scale
    a = quantize(x, QuantSpec(bits=4, scale_format="fp16"))
    scale = np.float32(np.float16(np.float32(5.9) / np.float32(15)))
    assert a.scale == scale
    assert a.zero_point == -8 - np.rint(np.float32(-3.0) / scale)


def test_scenario_scale_formats_are_the_quantizers() -> None:
    from npusim.config.schema import SCALE_FORMATS
    from npusim.quant.spec import ScaleFormat

    assert tuple(f.value for f in ScaleFormat) == SCALE_FORMATS


@pytest.mark.parametrize(("scale_format", "scale_bytes"), [("fp32", 4), ("bf16", 2), ("e8m0", 1)])
def test_scenario_scale_format_sets_the_weight_metadata(
    scale_format: str, scale_bytes: int
) -> None:
    from npusim.config import load_scenario
    from npusim.engine.plan import plan_layer
    from npusim.workload import Linear

    scenario = load_scenario(precision="int4", overrides=[
        "quantization.symmetric=false", "quantization.granularity=per_group",
        "quantization.group_size=32", f"quantization.scale_format={scale_format}"])  # fmt: skip
    weight = plan_layer(Linear("fc", in_features=768, out_features=768), scenario).weight
    groups = 768 * 768 // 32
    assert weight.payload_bytes == 768 * 768 // 2
    assert weight.metadata_bytes == groups * scale_bytes + groups * 4 // 8  # 4-bit zero points


def test_unknown_scale_format_is_a_config_error() -> None:
    from npusim.config import load_scenario
    from npusim.errors import ConfigError

    with pytest.raises(ConfigError, match=r"quantization\.scale_format.*e8m0"):
        load_scenario(overrides=["quantization.scale_format=fp8"])


@pytest.mark.parametrize(
    ("spec", "label"),
    [  # the docstring's pattern: format, scheme, granularity(axis[, group]), calibration
        (QuantSpec(), "int8 affine per_tensor minmax"),
        (QuantSpec(bits=4, symmetric=True, granularity="per_channel", calibration="entropy"),
         "int4 symmetric per_channel(axis 0) entropy"),
        (QuantSpec(bits=4, signed=False, granularity="per_group", axis=1, group_size=32,
                   calibration="percentile", percentile=99.9),
         "uint4 affine per_group(axis 1, group 32) percentile 99.9"),
        (QuantSpec(bits=12, symmetric=True, calibration="mse"), "int12 symmetric per_tensor mse"),
        (QuantSpec(fmt="binary", granularity="per_channel"), "binary per_channel(axis 0)"),
        (QuantSpec(fmt="fp8_e4m3"), "fp8_e4m3"),
        (QuantSpec(fmt="mxfp4_e2m1", bits=8, granularity="per_channel"), "mxfp4_e2m1"),
    ],
)  # fmt: skip
def test_spec_label_names_every_part(spec: QuantSpec, label: str) -> None:
    from npusim.quant.summary import spec_label

    assert spec_label(spec) == label
