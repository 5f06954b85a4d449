"""Bit packing of integer codes into a little-endian byte stream.

Layout: the tensor's elements in C order form one stream of ``bits``-wide fields; field ``i``
occupies stream bits ``[i*bits, (i+1)*bits)``, least significant bit first, and stream bit
``k`` is bit ``k % 8`` of byte ``k // 8``. So two INT4 values share a byte (element 0 in the
low nibble) and eight binary values share a byte. Signed values are stored as two's
complement fields. The last byte is zero-padded; the payload is ``ceil(n * bits / 8)`` bytes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from npusim.errors import QuantizationError


class StorageBytes(NamedTuple):
    """Bytes of a quantized tensor: packed payload, scales + zero points, and their sum."""

    payload_bytes: int
    metadata_bytes: int
    total: int


def packed_size_bytes(elements: int, bits: int) -> int:
    """Payload bytes of ``elements`` fields of ``bits`` bits."""
    return -(-elements * bits // 8)


def pack(values: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """Pack integer ``values`` (any shape) into a 1-D uint8 array.

    Raises :class:`QuantizationError` if a value does not fit ``bits`` (signed or unsigned).
    """
    flat = np.ascontiguousarray(values).reshape(-1)
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if flat.size and (int(flat.min()) < low or int(flat.max()) > high):
        raise QuantizationError(f"values outside the {bits}-bit range [{low}, {high}]")
    # casting to an unsigned type keeps the low bits: the two's complement field
    field_type = np.uint8 if bits <= 8 else np.uint16
    fields = flat.astype(field_type) & field_type((1 << bits) - 1)
    if bits == 8:
        return fields
    if bits == 16:
        return fields.astype("<u2").view(np.uint8)
    if 8 % bits == 0:
        per_byte = 8 // bits
        padded = np.zeros(-(-fields.size // per_byte) * per_byte, dtype=np.uint8)
        padded[: fields.size] = fields
        packed = padded[0::per_byte].copy()
        for slot in range(1, per_byte):
            packed |= padded[slot::per_byte] << np.uint8(slot * bits)
        return packed
    bit_planes = ((fields[:, None] >> np.arange(bits, dtype=np.uint32)) & 1).astype(np.uint8)
    return np.packbits(bit_planes.reshape(-1), bitorder="little")


def unpack(packed: np.ndarray, bits: int, signed: bool, elements: int) -> np.ndarray:
    """Inverse of :func:`pack`: the first ``elements`` fields as int64 (1-D)."""
    data = np.asarray(packed, dtype=np.uint8)
    if data.size != packed_size_bytes(elements, bits):
        raise QuantizationError(
            f"packed payload has {data.size} bytes, expected "
            f"{packed_size_bytes(elements, bits)} for {elements} x {bits} bits"
        )
    if bits == 8:
        fields = data.astype(np.int64)
    elif bits == 16:
        fields = data.view("<u2").astype(np.int64)
    elif 8 % bits == 0:
        shifts = (np.arange(8 // bits, dtype=np.uint8) * bits)[None, :]
        fields = ((data[:, None] >> shifts) & ((1 << bits) - 1)).reshape(-1).astype(np.int64)
    else:
        stream = np.unpackbits(data, bitorder="little")[: elements * bits].reshape(-1, bits)
        fields = stream.astype(np.int64) @ (np.int64(1) << np.arange(bits, dtype=np.int64))
    fields = fields[:elements]
    if signed:
        fields = np.where(fields >= 1 << (bits - 1), fields - (1 << bits), fields)
    return fields
