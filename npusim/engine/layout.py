"""DRAM placement of tensors and the byte blocks each tile transfer touches.

Each tensor gets its own 4 KiB-aligned address range (a bump allocator over the DRAM's
capacity), once: a layer's output and its consumers' inputs are the same range. A tensor is
viewed as a row-major matrix of ``rows`` rows holding ``total_bytes`` in all (packed payload
plus its share of metadata), so row ``r`` starts at
``floor(r * total_bytes / rows)``. A tile covering rows ``r0:r1`` and a column fraction
``c0:c1`` of ``cols`` becomes one contiguous block when it spans whole rows, else one block
per row: the addresses a DMA engine would issue.

The conv ifmap is addressed in the GEMM view's rows (output pixels): an input tile reads the
band of the stored ifmap that corresponds to its output rows (halo rows are not fetched
twice), so the bytes moved match the stored tensor, as in the tiler's traffic model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npusim.errors import CapacityError

ALIGN_BYTES = 4096


@dataclass(frozen=True)
class TensorPlacement:
    """A tensor in DRAM: base address, size, and its matrix view (rows x cols).

    A view of the same tensor may differ between its producer and its consumers (rows and
    columns of each layer's GEMM view); the bytes are the same range.

    ``tile`` = (tile_rows, tile_cols) selects a tile-major layout: the tensor is stored as
    consecutive tiles (row-major over tiles, each tile row-major inside), so each tile is
    one contiguous block. Compilers lay weights out like this, in the order the array
    consumes them; activations stay row-major, as the previous layer wrote them.
    """

    name: str
    base: int
    total_bytes: int
    rows: int
    cols: int
    tile: tuple[int, int] | None = None
    group_rows: int = 0  # rows per group: tiles never straddle two groups
    kind: int = 0  # the memory path's tensor kind (activation or stored)
    on_chip: bool = False  # scratchpad mode: the allocator keeps the tensor in the SRAM

    def row_offset(self, row: np.ndarray | int) -> np.ndarray:
        return (np.asarray(row, dtype=np.int64) * self.total_bytes) // self.rows

    def blocks(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        """Byte blocks (address, size) of rows ``r0:r1``, columns ``c0:c1``; int64 arrays."""
        if self.tile is not None:
            return self._tile_block(r0, r1, c0, c1)
        if c0 == 0 and c1 == self.cols:
            start, end = self.row_offset(r0), self.row_offset(r1)
            return np.array([self.base + start]), np.array([max(int(end - start), 1)])
        rows = np.arange(r0, r1, dtype=np.int64)
        row_start = self.row_offset(rows)
        row_bytes = self.row_offset(rows + 1) - row_start
        first = row_start + (row_bytes * c0) // self.cols
        last = row_start + (row_bytes * c1) // self.cols
        return self.base + first, np.maximum(last - first, 1)

    def _tile_block(self, r0: int, r1: int, c0: int, c1: int) -> tuple[np.ndarray, np.ndarray]:
        """The one block of a tile in the tile-major layout (``r0``/``c0`` on tile bounds)."""
        tile_rows, _ = self.tile  # type: ignore[misc]
        group_rows = self.group_rows or self.rows
        group_start = r0 // group_rows * group_rows
        band_start = group_start + (r0 - group_start) // tile_rows * tile_rows
        first = band_start * self.cols + c0 * (r1 - r0)  # elements before this tile
        count = (r1 - r0) * (c1 - c0)
        elements = self.rows * self.cols
        start = first * self.total_bytes // elements
        end = (first + count) * self.total_bytes // elements
        return np.array([self.base + start]), np.array([max(end - start, 1)])


class Allocator:
    """Bump allocator of DRAM address ranges; raises CapacityError when memory runs out."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self.next_free = 0

    def place(
        self,
        name: str,
        total_bytes: int,
        rows: int,
        cols: int,
        tile: tuple[int, int] | None = None,
        group_rows: int = 0,
        kind: int = 0,
    ) -> TensorPlacement:
        base = -(-self.next_free // ALIGN_BYTES) * ALIGN_BYTES
        if base + total_bytes > self.capacity_bytes:
            raise CapacityError(
                f"tensor {name!r} ({total_bytes} B) does not fit in DRAM: "
                f"{base} B already placed of {self.capacity_bytes} B"
            )
        self.next_free = base + total_bytes
        return TensorPlacement(name, base, total_bytes, rows, cols, tile, group_rows, kind)
