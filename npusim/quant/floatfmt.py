"""Round-to-nearest-even casts to small float formats and their bit codes.

Formats (exponent bits E, mantissa bits M, bias 2**(E-1)-1, subnormals supported):

- FP16: IEEE 754 binary16, E5M10, max 65504.
- BF16: bfloat16, E8M7, max (2 - 2**-7) * 2**127.
- FP8 E4M3: OCP 8-bit FP spec v1.0 "E4M3FN" (no infinities, exponent field 15 usable
  except mantissa 111 = NaN), max 448.
- FP8 E5M2: OCP 8-bit FP spec v1.0 (IEEE-like), max 57344.
- FP32: identity.

Deliberate difference from an IEEE cast: magnitudes that would round above the largest finite
value saturate to it (the "satfinite" conversion of NVIDIA's FP8 instructions) instead of
becoming Inf/NaN; they are reported as clipped by the error analysis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npusim.quant.spec import Format


@dataclass(frozen=True)
class FloatFormat:
    """Bit layout of a small float format."""

    exponent_bits: int
    mantissa_bits: int
    max_finite: float

    @property
    def bias(self) -> int:
        return (1 << (self.exponent_bits - 1)) - 1

    @property
    def min_normal_exponent(self) -> int:
        return 1 - self.bias

    @property
    def width_bits(self) -> int:
        return 1 + self.exponent_bits + self.mantissa_bits


FLOAT_FORMATS: dict[Format, FloatFormat] = {
    Format.FP16: FloatFormat(5, 10, 65504.0),
    Format.BF16: FloatFormat(8, 7, (2.0 - 2.0**-7) * 2.0**127),
    Format.FP8_E4M3: FloatFormat(4, 3, 448.0),
    Format.FP8_E5M2: FloatFormat(5, 2, 57344.0),
}

_CODE_DTYPES = {4: np.uint8, 6: np.uint8, 8: np.uint8, 16: np.uint16, 32: np.uint32}


def round_to_format(x: np.ndarray, fmt: FloatFormat) -> tuple[np.ndarray, np.ndarray]:
    """Round float32 ``x`` to the nearest value of ``fmt`` (ties to even mantissa).

    Returns ``(values, saturated)``: float64 values exactly representable in ``fmt``, and a
    bool mask of elements whose rounded magnitude exceeded ``fmt.max_finite`` (set to it).
    """
    magnitude = np.abs(x.astype(np.float64))
    _, frexp_exponent = np.frexp(magnitude)
    exponent = np.maximum(frexp_exponent - 1, fmt.min_normal_exponent)
    quantum = np.ldexp(1.0, exponent - fmt.mantissa_bits)
    rounded = np.rint(magnitude / quantum) * quantum
    saturated = rounded > fmt.max_finite
    rounded = np.minimum(rounded, fmt.max_finite)
    return np.copysign(rounded, x), saturated


def encode(values: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Bit codes (sign | exponent | mantissa) of values already representable in ``fmt``."""
    magnitude = np.abs(values)
    _, frexp_exponent = np.frexp(magnitude)
    exponent = np.maximum(frexp_exponent - 1, fmt.min_normal_exponent)
    normal = magnitude >= 2.0**fmt.min_normal_exponent
    exponent_field = np.where(normal, exponent + fmt.bias, 0).astype(np.int64)
    scaled = np.ldexp(magnitude, fmt.mantissa_bits - exponent).astype(np.int64)
    mantissa_field = np.where(normal, scaled - (1 << fmt.mantissa_bits), scaled)
    sign = np.signbit(values).astype(np.int64)
    code = (
        (sign << (fmt.exponent_bits + fmt.mantissa_bits))
        | (exponent_field << fmt.mantissa_bits)
        | mantissa_field
    )
    return code.astype(_CODE_DTYPES[fmt.width_bits])


def decode(codes: np.ndarray, fmt: FloatFormat) -> np.ndarray:
    """Float32 values of bit codes produced by :func:`encode`."""
    code = codes.astype(np.int64)
    mantissa_field = code & ((1 << fmt.mantissa_bits) - 1)
    exponent_field = (code >> fmt.mantissa_bits) & ((1 << fmt.exponent_bits) - 1)
    sign = (code >> (fmt.exponent_bits + fmt.mantissa_bits)) & 1
    normal = exponent_field > 0
    significand = np.where(normal, mantissa_field + (1 << fmt.mantissa_bits), mantissa_field)
    exponent = np.where(normal, exponent_field - fmt.bias, fmt.min_normal_exponent)
    magnitude = np.ldexp(significand.astype(np.float64), exponent - fmt.mantissa_bits)
    return np.where(sign == 1, -magnitude, magnitude).astype(np.float32)
