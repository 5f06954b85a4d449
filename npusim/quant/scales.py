"""Scales rounded to the format they are stored in (``QuantSpec.scale_format``).

A scale stored narrower than FP32 is the scale the hardware uses, so the quantizer rounds it
before computing zero points and codes (the reconstruction error then includes the scale's
own rounding):

* ``fp32``: unchanged (ONNX ``QuantizeLinear`` / TFLite float32 scales).
* ``fp16``, ``bf16``: round to nearest even (:func:`npusim.quant.floatfmt.round_to_format`),
  at least the format's smallest positive value (a zero scale cannot divide).
* ``e8m0``: an unsigned power of two, 8-bit exponent with bias 127 (OCP Microscaling
  Formats (MX) Specification v1.0, section 5.4: ``2**-127 .. 2**127``), rounded *up* to the
  power of two at or above the computed scale, so the calibrated range still fits and only
  resolution is lost (at most 1 bit).
"""

from __future__ import annotations

import numpy as np

from npusim.quant.floatfmt import FLOAT_FORMATS, round_to_format
from npusim.quant.spec import Format, ScaleFormat

E8M0_MIN_EXPONENT = -127
E8M0_MAX_EXPONENT = 127


def round_scale(scale: np.ndarray, scale_format: ScaleFormat) -> np.ndarray:
    """``scale`` (positive float32) as stored in ``scale_format``, as float32."""
    scale = np.asarray(scale, dtype=np.float32)
    if scale_format is ScaleFormat.FP32:
        return scale
    if scale_format is ScaleFormat.E8M0:
        exponent = np.ceil(np.log2(scale.astype(np.float64)))
        exponent = np.clip(exponent, E8M0_MIN_EXPONENT, E8M0_MAX_EXPONENT)
        return np.ldexp(1.0, exponent.astype(np.int64)).astype(np.float32)
    fmt = FLOAT_FORMATS[Format(scale_format.value)]
    smallest = 2.0 ** (fmt.min_normal_exponent - fmt.mantissa_bits)
    rounded, _ = round_to_format(scale, fmt)
    return np.maximum(rounded, smallest).astype(np.float32)
