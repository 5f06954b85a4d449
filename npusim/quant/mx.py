"""Microscaling (MX) formats: blocks of elements sharing one power-of-two scale.

Source: OCP Microscaling Formats (MX) Specification v1.0 (Open Compute Project, 2023). A block
of ``k = 32`` consecutive elements (along the last axis here) stores one shared scale ``X``
in E8M0 (an unbiased power of two, ``2**-127 .. 2**127``, 8 bits) and ``k`` elements ``P_i``
in the element format; the value is ``X * P_i``. Element formats (section 5):

=========== ======= ========== ============ ==============================================
format      element bits       emax_elem    largest element
=========== ======= ========== ============ ==============================================
MXFP8       E4M3    8          8            448
MXFP8       E5M2    8          15           57344
MXFP6       E3M2    6          4            28
MXFP6       E2M3    6          2            7.5
MXFP4       E2M1    4          2            6
MXINT8      INT8    8          0            127 / 64 (two's complement, implicit 2**-6)
=========== ======= ========== ============ ==============================================

Conversion of a block of FP32 values ``V`` (section 6.3):
``shared_exp = floor(log2(max_i |V_i|)) - emax_elem``, ``X = 2**shared_exp``,
``P_i = quantize_to_element_format(V_i / X)`` with round to nearest even and saturation to the
element format's largest magnitude (the spec's clamping; with ``floor`` the block's largest
value can exceed it by up to 2x, and saturates). Details this module fixes where the spec
leaves a choice: a block of zeros gets ``X = 2**-127``; a block holding a NaN or an infinity
gets a NaN scale (E8M0 ``0xFF``) and dequantizes to NaN throughout, as the spec's NaN scale
does (the error statistics cover the finite blocks); ``shared_exp`` is clamped to the E8M0
range; MXINT8 codes are kept in ``[-127, 127]`` (symmetric; the spec lets ``-128`` = -2.0 go
unused).

Storage: elements bit-packed (:mod:`npusim.quant.packing` layout), one E8M0 byte per block;
a last partial block has its own scale.

NVFP4 (:func:`nvfp4_quantize`; NVIDIA, "Introducing NVFP4 for Efficient and Accurate
Low-Precision Inference", technical blog, 2025, and Transformer Engine's NVFP4 recipe): E2M1
elements in 16-element blocks, each block scaled by an E4M3 value, the tensor by one FP32
value. The tensor scale maps the largest block scale onto E4M3's largest value:
``g = amax(tensor) / (6 * 448)``; a block's scale is ``s = e4m3(amax(block) / 6 / g)``
(round to nearest even, saturating); elements ``P_i = e2m1(V_i / (s * g))`` (saturating);
the value is ``P_i * s * g`` (a block whose scale rounds to 0 has ``P_i = 0``). Storage: 4
bits per element, one byte per block, four bytes per tensor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from npusim.errors import QuantizationError
from npusim.quant.floatfmt import FloatFormat, encode, round_to_format
from npusim.quant.metrics import ErrorStats, error_stats
from npusim.quant.packing import StorageBytes, pack, packed_size_bytes

MX_BLOCK = 32
E8M0_MIN_EXPONENT = -127
E8M0_MAX_EXPONENT = 127
E8M0_NAN = 0xFF
MXINT8_FRACTION_BITS = 6


@dataclass(frozen=True)
class MxFormat:
    """One MX format: its element format (``None`` for MXINT8), bits and ``emax_elem``."""

    name: str
    element: FloatFormat | None
    element_bits: int
    emax_elem: int
    block: int = MX_BLOCK

    @property
    def largest_element(self) -> float:
        """Largest element magnitude (MXINT8: 127 / 64)."""
        if self.element is None:
            return 127 / 2**MXINT8_FRACTION_BITS
        return self.element.max_finite


MX_FORMATS: dict[str, MxFormat] = {
    f.name: f
    for f in (
        MxFormat("mxfp8_e4m3", FloatFormat(4, 3, 448.0), 8, 8),
        MxFormat("mxfp8_e5m2", FloatFormat(5, 2, 57344.0), 8, 15),
        MxFormat("mxfp6_e3m2", FloatFormat(3, 2, 28.0), 6, 4),
        MxFormat("mxfp6_e2m3", FloatFormat(2, 3, 7.5), 6, 2),
        MxFormat("mxfp4_e2m1", FloatFormat(2, 1, 6.0), 4, 2),
        MxFormat("mxint8", None, 8, 0),
    )
}
"""The OCP MX v1.0 concrete formats by name."""


@dataclass(frozen=True)
class MxTensor:
    """An MX-quantized tensor: ``elements`` (element values, float64, the input's shape),
    ``scale_exponents`` (int64 per block, shape ``(*leading, blocks)``; ``E8M0_NAN`` marks a
    NaN scale) and the error against the input."""

    fmt: MxFormat
    elements: np.ndarray
    scale_exponents: np.ndarray
    error: ErrorStats

    def dequantize(self) -> np.ndarray:
        """``X * P_i`` as float32, in the input's shape."""
        return _dequantize(self.elements, self.scale_exponents, self.fmt.block)

    def element_codes(self) -> np.ndarray:
        """The elements' bit codes (uint8): float formats sign|exponent|mantissa, MXINT8 two's
        complement of ``P * 64``."""
        if self.fmt.element is None:
            ints = np.rint(self.elements * 2**MXINT8_FRACTION_BITS).astype(np.int64)
            return (ints & 0xFF).astype(np.uint8)
        return encode(np.nan_to_num(self.elements), self.fmt.element).astype(np.uint8)

    @property
    def nbytes(self) -> int:
        """Packed elements plus one E8M0 byte per block (equals :func:`mx_storage_bytes`)."""
        return mx_storage_bytes(self.elements.shape, self.fmt.name).total

    @property
    def packed(self) -> np.ndarray:
        """The element codes bit-packed (:mod:`npusim.quant.packing`), 1-D uint8; the block
        scales are stored apart."""
        return pack(self.element_codes(), self.fmt.element_bits, signed=False)


def _dequantize(elements: np.ndarray, exponents: np.ndarray, block: int) -> np.ndarray:
    nan = exponents == E8M0_NAN
    scales = np.where(nan, np.nan, np.ldexp(1.0, np.where(nan, 0, exponents)))
    per_element = np.repeat(scales, block, axis=-1)[..., : elements.shape[-1]]
    return (elements * per_element).astype(np.float32)


def _format(name: str) -> MxFormat:
    if name not in MX_FORMATS:
        raise QuantizationError(f"unknown MX format {name!r}; valid: {', '.join(MX_FORMATS)}")
    return MX_FORMATS[name]


def mx_storage_bytes(shape: tuple[int, ...], name: str) -> StorageBytes:
    """Bytes of an MX tensor of ``shape`` (blocks along the last axis)."""
    fmt = _format(name)
    if not shape or math.prod(shape) == 0:
        raise QuantizationError(f"empty tensor (shape {shape})")
    payload = packed_size_bytes(math.prod(shape), fmt.element_bits)
    blocks = math.prod(shape[:-1]) * -(-shape[-1] // fmt.block)
    return StorageBytes(payload, blocks, payload + blocks)


def _blocks(x: np.ndarray, block: int) -> np.ndarray:
    """``x`` as ``(*leading, blocks, block)``, the last block zero-padded."""
    pad = -x.shape[-1] % block
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, pad)])
    return padded.reshape(*x.shape[:-1], -1, block)


def _round_elements(scaled: np.ndarray, fmt: MxFormat) -> tuple[np.ndarray, np.ndarray]:
    """Element values nearest ``scaled`` (ties to even), saturated; and the saturated mask."""
    if fmt.element is None:
        codes = np.rint(scaled * 2**MXINT8_FRACTION_BITS)
        return np.clip(codes, -127, 127) / 2**MXINT8_FRACTION_BITS, np.abs(codes) > 127
    return round_to_format(scaled, fmt.element)


def mx_quantize(x: np.ndarray, name: str) -> MxTensor:
    """Quantize float ``x`` (any shape, blocks along the last axis) to MX format ``name``
    (section 6.3 of the spec, choices in the module doc). Raises :class:`QuantizationError`
    for an unknown format or an empty tensor."""
    fmt = _format(name)
    values = np.asarray(x, dtype=np.float32)
    if values.ndim == 0 or values.size == 0:
        raise QuantizationError(f"empty tensor (shape {values.shape})")
    blocks = _blocks(values.astype(np.float64), fmt.block)
    special = ~np.isfinite(blocks).all(axis=-1)
    amax = np.abs(np.where(np.isfinite(blocks), blocks, 0.0)).max(axis=-1)
    _, frexp_exponent = np.frexp(amax)  # amax = m * 2**e, 0.5 <= m < 1: floor(log2) = e - 1
    shared = np.where(amax > 0, frexp_exponent - 1 - fmt.emax_elem, E8M0_MIN_EXPONENT)
    shared = np.clip(shared, E8M0_MIN_EXPONENT, E8M0_MAX_EXPONENT)
    scaled = np.where(np.isfinite(blocks), blocks, 0.0) / np.ldexp(1.0, shared)[..., None]
    elements, saturated = _round_elements(scaled, fmt)
    elements = np.where(special[..., None], np.nan, elements)
    n = values.shape[-1]
    elements = elements.reshape(*values.shape[:-1], -1)[..., :n]
    saturated = saturated.reshape(*values.shape[:-1], -1)[..., :n]
    exponents = np.where(special, E8M0_NAN, shared).astype(np.int64)
    x_hat = _dequantize(elements, exponents, fmt.block)
    finite = np.isfinite(values) & np.isfinite(x_hat)
    if not finite.any():  # every block special: the error is undefined
        nan = math.nan
        return MxTensor(fmt, elements, exponents, ErrorStats(0, nan, nan, nan, nan, nan, nan))
    stats = error_stats(values[finite], x_hat[finite], saturated[finite])
    return MxTensor(fmt, elements, exponents, stats)


NVFP4_BLOCK = 16
_E2M1 = FloatFormat(2, 1, 6.0)
_E4M3 = FloatFormat(4, 3, 448.0)


@dataclass(frozen=True)
class Nvfp4Tensor:
    """An NVFP4 tensor: E2M1 ``elements`` (float64, the input's shape), E4M3 ``block_scales``
    (float64, ``(*leading, blocks)``), the FP32 ``tensor_scale`` and the error."""

    elements: np.ndarray
    block_scales: np.ndarray
    tensor_scale: float
    error: ErrorStats

    def dequantize(self) -> np.ndarray:
        """``P_i * s * g`` as float32, in the input's shape."""
        per_element = np.repeat(self.block_scales, NVFP4_BLOCK, axis=-1)
        per_element = per_element[..., : self.elements.shape[-1]]
        return (self.elements * per_element * self.tensor_scale).astype(np.float32)

    @property
    def nbytes(self) -> int:
        """Packed elements, one byte per block scale and the FP32 tensor scale (equals
        :func:`nvfp4_storage_bytes`)."""
        return int(packed_size_bytes(self.elements.size, 4) + self.block_scales.size + 4)

    @property
    def packed(self) -> np.ndarray:
        """The E2M1 element codes bit-packed, 1-D uint8 (scales stored apart)."""
        return pack(encode(self.elements, _E2M1).astype(np.uint8), 4, signed=False)


NVFP4_TENSOR_SCALE_BYTES = 4


def nvfp4_storage_bytes(shape: tuple[int, ...]) -> StorageBytes:
    """Bytes of an NVFP4 tensor of ``shape`` (blocks of 16 along the last axis): 4-bit
    elements, one E4M3 byte per block and the FP32 tensor scale."""
    if not shape or math.prod(shape) == 0:
        raise QuantizationError(f"empty tensor (shape {shape})")
    payload = packed_size_bytes(math.prod(shape), 4)
    metadata = math.prod(shape[:-1]) * -(-shape[-1] // NVFP4_BLOCK) + NVFP4_TENSOR_SCALE_BYTES
    return StorageBytes(payload, metadata, payload + metadata)


def block_storage_bytes(shape: tuple[int, ...], name: str) -> StorageBytes:
    """Bytes of a block-scaled tensor: ``nvfp4`` or an MX format of :data:`MX_FORMATS`."""
    return nvfp4_storage_bytes(shape) if name == "nvfp4" else mx_storage_bytes(shape, name)


def block_quantize(x: np.ndarray, name: str) -> MxTensor | Nvfp4Tensor:
    """Quantize ``x`` to ``nvfp4`` or an MX format (both have ``error``, ``nbytes``,
    ``packed`` and ``dequantize()``)."""
    return nvfp4_quantize(x) if name == "nvfp4" else mx_quantize(x, name)


def nvfp4_quantize(x: np.ndarray) -> Nvfp4Tensor:
    """Quantize finite float ``x`` (blocks of 16 along the last axis) to NVFP4 (module doc).
    Raises :class:`QuantizationError` for an empty tensor or a non-finite value."""
    values = np.asarray(x, dtype=np.float32)
    if values.ndim == 0 or values.size == 0:
        raise QuantizationError(f"empty tensor (shape {values.shape})")
    if not np.isfinite(values).all():
        raise QuantizationError("NVFP4 needs finite values (its scales have no NaN code)")
    blocks = _blocks(values.astype(np.float64), NVFP4_BLOCK)
    amax = float(np.abs(values).max())
    g = float(np.float32(amax / (_E2M1.max_finite * _E4M3.max_finite))) if amax else 1.0
    scales, _ = round_to_format(np.abs(blocks).max(axis=-1) / _E2M1.max_finite / g, _E4M3)
    # a block whose scale underflows to 0 reconstructs to 0: its elements are 0 too (not
    # e2m1(V), which would depend on the tensor's magnitude), none saturated
    divisor = np.where(scales > 0, scales * g, np.inf)[..., None]
    elements, saturated = round_to_format(blocks / divisor, _E2M1)
    n = values.shape[-1]
    elements = elements.reshape(*values.shape[:-1], -1)[..., :n]
    saturated = saturated.reshape(*values.shape[:-1], -1)[..., :n]
    per_element = np.repeat(scales, NVFP4_BLOCK, axis=-1)[..., :n]
    x_hat = (elements * per_element * g).astype(np.float32)
    return Nvfp4Tensor(elements, scales, g, error_stats(values, x_hat, saturated))
