"""Compile-time SRAM allocator for scratchpad mode: lifetime-based, greedy by size.

Blocks (activation tensors, and each layer's tile buffers) have a size and a lifetime
``[first, last]`` in execution positions; two blocks may share addresses only if their
lifetimes do not overlap. This is the offset planner of TensorFlow Lite's arena
(``GreedyBySize``; Pisarchyk & Lee, "Efficient Memory Management for Deep Neural Net
Inference", 2020): blocks are taken largest first, and each goes into the smallest gap, among
the blocks already placed that are alive at the same time, that holds it (best fit; ties to
the lowest offset). A block that fits in no gap below the capacity is spilled: it lives in
DRAM. ``fixed`` blocks (the tile buffers, which a layer cannot run without) are placed before
any tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """``size_bytes`` alive from execution position ``first`` to ``last`` (inclusive)."""

    name: str
    size_bytes: int
    first: int
    last: int


@dataclass(frozen=True)
class Arena:
    """Where each placed block starts (``offsets``), which blocks did not fit (``spilled``),
    the largest number of bytes placed and alive at one position (``peak_bytes``), and the
    highest address used (``arena_bytes``)."""

    offsets: dict[str, int]
    spilled: tuple[str, ...]
    peak_bytes: int
    arena_bytes: int

    def live_bytes(self, blocks: Sequence[Block], position: int) -> int:
        """Placed bytes of ``blocks`` alive at ``position``."""
        return sum(b.size_bytes for b in blocks
                   if b.name in self.offsets and b.first <= position <= b.last)  # fmt: skip


def plan_arena(blocks: Sequence[Block], capacity_bytes: int, fixed: Sequence[Block] = ()) -> Arena:
    """Place ``fixed`` then ``blocks`` (largest first) in ``capacity_bytes``; see the module."""
    placed: list[tuple[int, Block]] = []
    offsets: dict[str, int] = {}
    spilled: list[str] = []
    ordered = list(fixed) + sorted(blocks, key=lambda b: (-b.size_bytes, b.first, b.name))
    for block in ordered:
        offset = _best_gap(block, placed, capacity_bytes)
        if offset is None:
            spilled.append(block.name)
            continue
        placed.append((offset, block))
        offsets[block.name] = offset
    positions = {p for _, b in placed for p in (b.first, b.last)}
    peak = max((sum(b.size_bytes for _, b in placed if b.first <= p <= b.last)
                for p in positions), default=0)  # fmt: skip
    top = max((offset + b.size_bytes for offset, b in placed), default=0)
    return Arena(offsets, tuple(spilled), peak, top)


def _best_gap(block: Block, placed: list[tuple[int, Block]], capacity: int) -> int | None:
    """Offset of the smallest free gap holding ``block`` among the overlapping placed ones."""
    busy = sorted((offset, offset + b.size_bytes) for offset, b in placed
                  if b.first <= block.last and block.first <= b.last)  # fmt: skip
    best: tuple[int, int] | None = None  # (gap size, offset)
    cursor = 0
    for start, end in [*busy, (capacity, capacity)]:
        gap = start - cursor
        if gap >= block.size_bytes and (best is None or gap < best[0]):
            best = (gap, cursor)
        cursor = max(cursor, end)
    return None if best is None else best[1]
