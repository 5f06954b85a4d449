"""Number formats a tensor can be stored and computed in, as one declared table.

The table is shared data, not a unit: the quantizer maps a precision name to a
:class:`npusim.quant.QuantSpec`, the MAC array looks up its throughput and energy per
precision, and the memory system only needs :attr:`Precision.bits` to size transfers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    """How the bits of a value are interpreted."""

    FLOAT = "float"
    INT = "int"
    BINARY = "binary"
    BLOCK = "block"
    """Block-scaled (microscaling): elements of a small format share one scale per block."""


@dataclass(frozen=True)
class Precision:
    """A storage/compute format.

    ``bits`` is the storage width of one element; sub-byte formats are bit-packed, so a tensor
    of ``n`` elements occupies ``ceil(n * bits / 8)`` bytes of payload (plus quantization
    metadata, which the quantizer accounts for separately). A block-scaled format
    (:attr:`Kind.BLOCK`) stores ``bits`` per element plus one ``scale_bits`` scale per
    ``block`` elements; its elements have ``exponent_bits`` and ``mantissa_bits`` (both 0:
    MXINT8's two's-complement integers).
    """

    name: str
    bits: int
    kind: Kind
    signed: bool = True
    exponent_bits: int = 0
    mantissa_bits: int = 0
    block: int = 0
    scale_bits: int = 0

    @property
    def is_float(self) -> bool:
        """True when the MAC computes in floating point: float formats and block-scaled ones
        (a block's scaled sum is accumulated in FP32)."""
        return self.kind in (Kind.FLOAT, Kind.BLOCK)

    @property
    def is_block(self) -> bool:
        """True for block-scaled (microscaling) formats."""
        return self.kind is Kind.BLOCK

    @property
    def bits_per_element(self) -> float:
        """Stored bits per element with the block scales: ``bits + scale_bits / block``
        (MXFP4: 4 + 8 / 32 = 4.25); ``bits`` for other formats."""
        return self.bits + self.scale_bits / self.block if self.block else float(self.bits)

    def payload_bytes(self, elements: int) -> int:
        """Bit-packed payload size of ``elements`` values, in whole bytes."""
        return -(-elements * self.bits // 8)


def _block(
    name: str, bits: int, exponent_bits: int, mantissa_bits: int, block: int = 32
) -> Precision:
    """A block-scaled format with an 8-bit scale per ``block`` elements."""
    return Precision(name, bits, Kind.BLOCK, exponent_bits=exponent_bits,
                     mantissa_bits=mantissa_bits, block=block, scale_bits=8)  # fmt: skip


PRECISIONS: dict[str, Precision] = {
    p.name: p
    for p in (
        Precision("fp32", 32, Kind.FLOAT, exponent_bits=8, mantissa_bits=23),
        Precision("fp16", 16, Kind.FLOAT, exponent_bits=5, mantissa_bits=10),
        Precision("bf16", 16, Kind.FLOAT, exponent_bits=8, mantissa_bits=7),
        Precision("fp8_e4m3", 8, Kind.FLOAT, exponent_bits=4, mantissa_bits=3),
        Precision("fp8_e5m2", 8, Kind.FLOAT, exponent_bits=5, mantissa_bits=2),
        Precision("int32", 32, Kind.INT),
        Precision("int16", 16, Kind.INT),
        Precision("int8", 8, Kind.INT),
        Precision("uint8", 8, Kind.INT, signed=False),
        Precision("int4", 4, Kind.INT),
        Precision("uint4", 4, Kind.INT, signed=False),
        Precision("int2", 2, Kind.INT),
        Precision("binary", 1, Kind.BINARY),
        # OCP Microscaling Formats (MX) Specification v1.0, section 5: 32-element blocks,
        # one E8M0 scale each (npusim.quant.mx has the element formats).
        _block("mxint8", 8, 0, 0),
        _block("mxfp8_e4m3", 8, 4, 3),
        _block("mxfp8_e5m2", 8, 5, 2),
        _block("mxfp6_e3m2", 6, 3, 2),
        _block("mxfp6_e2m3", 6, 2, 3),
        _block("mxfp4_e2m1", 4, 2, 1),
        # NVIDIA NVFP4: E2M1 in 16-element blocks with an E4M3 scale each (plus one FP32
        # scale per tensor, which the quantizer's storage_bytes counts).
        _block("nvfp4", 4, 2, 1, block=16),
    )
}  # fmt: skip
