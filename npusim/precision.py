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


@dataclass(frozen=True)
class Precision:
    """A storage/compute format.

    ``bits`` is the storage width of one element; sub-byte formats are bit-packed, so a tensor
    of ``n`` elements occupies ``ceil(n * bits / 8)`` bytes of payload (plus quantization
    metadata, which the quantizer accounts for separately).
    """

    name: str
    bits: int
    kind: Kind
    signed: bool = True
    exponent_bits: int = 0
    mantissa_bits: int = 0

    @property
    def is_float(self) -> bool:
        return self.kind is Kind.FLOAT

    def payload_bytes(self, elements: int) -> int:
        """Bit-packed payload size of ``elements`` values, in whole bytes."""
        return -(-elements * self.bits // 8)


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
    )
}
