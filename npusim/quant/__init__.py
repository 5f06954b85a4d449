"""Integrated quantizer: integer (1-16 bit, affine/symmetric), binary and float formats.

``quantize(x, spec)`` calibrates, quantizes, bit-packs and measures the error of a tensor;
``storage_bytes(shape, spec)`` gives the same byte count without data. Integer min-max
semantics match PyTorch's observers bit for bit (see :mod:`npusim.quant.affine`).

Deliberate differences from PyTorch (torch 2.13 ``torch.ao.quantization``):

- Any width 1..16 and per-group scales use the same formulas as PyTorch's 8-bit per-tensor /
  per-channel observers (per-group rounds in the per-channel order); no ``reduce_range``, no
  moving-average observers.
- Symmetric unsigned zero point is ``2**(bits-1)`` (PyTorch: 128 for default ``quint8``,
  ``(qmin + qmax) // 2`` = 127 for a customized 0..255 range).
- Float casts saturate at the largest finite value (PyTorch's ``.to(float8_e4m3fn)`` gives NaN,
  ``.to(float16)`` Inf) and count those elements as clipped.
- Percentile, entropy and MSE calibration are not PyTorch observers; the entropy method follows
  TensorRT / NVIDIA pytorch-quantization without its ``bins[0] = bins[1]`` zero-bin tweak (see
  :mod:`npusim.quant.calibrate`). The running observer keeps a doubling histogram for them
  (:mod:`npusim.quant.observer`).
"""

from __future__ import annotations

from npusim.quant.metrics import ErrorStats
from npusim.quant.observer import RangeObserver
from npusim.quant.packing import pack, unpack
from npusim.quant.spec import Calibration, Format, Granularity, QuantSpec, spec_for_precision
from npusim.quant.tensor import QuantizedTensor, StorageBytes, quantize, storage_bytes

__all__ = [
    "Calibration",
    "ErrorStats",
    "Format",
    "Granularity",
    "QuantSpec",
    "QuantizedTensor",
    "RangeObserver",
    "StorageBytes",
    "pack",
    "quantize",
    "spec_for_precision",
    "storage_bytes",
    "unpack",
]
