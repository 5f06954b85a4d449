"""Choose GEMM tiles that fit the SRAM with double buffering, minimizing DRAM traffic.

A layer's GEMM (``M x K`` inputs by ``K x N`` weights, per group) is cut into tiles
``tm x tk`` (inputs), ``tk x tn`` (weights) and ``tm x tn`` (outputs). The reduction loop
``k`` is innermost, so an output tile stays in SRAM at accumulator width until it is complete
and no partial sum goes to DRAM. Two loop orders are searched:

* ``m_outer`` (for m: for n: for k): an input row panel is reused across all ``n`` tiles
  when ``tk == K``; weights are re-read once per ``m`` tile unless all of them are resident.
* ``n_outer`` (for n: for m: for k): the mirror image.

Footprint (bytes) of a candidate = ``2 * (input tile + weight tile)`` (double buffered: the
next tiles load while the current ones compute) ``+ tm * tn * (accumulator + output bytes)``
(the accumulating tile and the one draining to DRAM). Candidates are ``tm, tn, tk`` in
``{dim} U {powers of two < dim}``, no smaller than the array's side (a tile narrower than the
array would leave PEs idle that the array's cycle formulas count as busy). The smallest DRAM
traffic wins; among equals, the smallest first-load plus last-store bytes (the fill and drain
that cannot overlap compute), then the fewest tiles.
This is the classic loop-tiling reuse analysis (cf. Timeloop's and ZigZag's temporal-reuse
model, restricted to these two orders), evaluated in closed form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npusim.errors import CapacityError


@dataclass(frozen=True)
class OperandBits:
    """Storage width in bits of each operand (sub-byte formats are packed)."""

    input: float
    weight: float
    output: float
    accumulator: float


@dataclass(frozen=True)
class Tiling:
    """The chosen tiling of one layer and the DRAM traffic it implies.

    ``input_reuse`` and ``weight_reuse`` are how many times each whole tensor is read from
    DRAM (1 = once). Traffic figures are totals over all groups, in bytes.
    """

    tm: int
    tn: int
    tk: int
    order: str
    tiles: int
    footprint_bytes: int
    input_reuse: int
    weight_reuse: int
    input_read_bytes: int
    weight_read_bytes: int
    output_write_bytes: int

    @property
    def dram_read_bytes(self) -> int:
        return self.input_read_bytes + self.weight_read_bytes

    @property
    def dram_write_bytes(self) -> int:
        return self.output_write_bytes


def _candidates(dim: int, smallest: int) -> np.ndarray:
    floor = min(dim, smallest)
    powers = [1 << i for i in range(dim.bit_length()) if floor <= (1 << i) < dim]
    return np.array([*powers, dim], dtype=np.int64)


def footprint_bytes(tm: int, tn: int, tk: int, bits: OperandBits) -> int:
    """SRAM bytes of a ``tm x tk x tn`` tiling: double-buffered operand tiles plus the
    accumulating output tile and the one draining (see the module docstring)."""
    in_tile = -(-tm * tk * int(bits.input) // 8)
    w_tile = -(-tk * tn * int(bits.weight) // 8)
    return 2 * (in_tile + w_tile) + -(-tm * tn * int(bits.accumulator + bits.output) // 8)


def smallest_footprint_bytes(m: int, k: int, n: int, bits: OperandBits, min_tile: int) -> int:
    """The footprint of the smallest tiling :func:`choose_tiling` considers."""
    return footprint_bytes(min(m, min_tile), min(n, min_tile), min(k, min_tile), bits)


def choose_tiling(
    layer: str,
    m: int,
    k: int,
    n: int,
    bits: OperandBits,
    tensor_bytes: tuple[int, int, int],
    capacity_bytes: int,
    min_tile: int = 1,
) -> Tiling:
    """Best tiling of one group's ``m x k x n`` GEMM for an SRAM of ``capacity_bytes``.

    ``tensor_bytes`` = (input, weight, output) bytes in DRAM over all groups, metadata
    included; each is read (written) once per reuse factor. ``min_tile`` is the smallest tile
    side considered (the array's side; dimensions smaller than it are taken whole). Raises
    :class:`CapacityError` naming the layer and sizes when even the smallest tile does not
    fit.
    """
    tm, tn, tk = np.meshgrid(
        _candidates(m, min_tile),
        _candidates(n, min_tile),
        _candidates(k, min_tile),
        indexing="ij",
    )
    tm, tn, tk = tm.ravel(), tn.ravel(), tk.ravel()
    in_tile = np.ceil(tm * tk * bits.input / 8)
    w_tile = np.ceil(tk * tn * bits.weight / 8)
    out_tile = np.ceil(tm * tn * (bits.accumulator + bits.output) / 8)
    footprint = 2 * (in_tile + w_tile) + out_tile
    fits = footprint <= capacity_bytes
    if not fits.any():
        raise CapacityError(
            f"layer {layer!r}: no tile fits the {capacity_bytes} B SRAM: the smallest tile "
            f"needs {int(footprint.min())} B (GEMM {m}x{k}x{n})"
        )
    full_k = tk == k
    m_tiles = -(-m // tm)
    n_tiles = -(-n // tn)
    reuse = {
        "m_outer": (np.where(full_k, 1, n_tiles), np.where(full_k & (tn == n), 1, m_tiles)),
        "n_outer": (np.where(full_k & (tm == m), 1, n_tiles), np.where(full_k, 1, m_tiles)),
    }
    in_bytes, w_bytes, out_bytes = tensor_bytes
    tiles = m_tiles * n_tiles * -(-k // tk)
    exposed = in_tile + w_tile + np.ceil(tm * tn * bits.output / 8)
    best: tuple[float, float, int, str, int] | None = None
    for order, (in_reuse, w_reuse) in reuse.items():
        traffic = np.where(fits, in_reuse * in_bytes + w_reuse * w_bytes, np.inf)
        key = np.lexsort((tiles, exposed, traffic))[0]
        candidate = (float(traffic[key]), float(exposed[key]), int(tiles[key]), order, int(key))
        if best is None or candidate[:3] < best[:3]:
            best = candidate
    assert best is not None
    order, i = best[3], best[4]
    in_reuse, w_reuse = (int(r[i]) for r in reuse[order])
    return Tiling(
        tm=int(tm[i]), tn=int(tn[i]), tk=int(tk[i]), order=order, tiles=int(tiles[i]),
        footprint_bytes=int(footprint[i]), input_reuse=in_reuse, weight_reuse=w_reuse,
        input_read_bytes=in_reuse * in_bytes, weight_read_bytes=w_reuse * w_bytes,
        output_write_bytes=out_bytes,
    )  # fmt: skip
