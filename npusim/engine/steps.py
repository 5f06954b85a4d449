"""A layer's loop nest as DMA/compute steps, at tile grain.

One step = load the operand tiles of one ``(m, n, k)`` tile that its buffers do not already
hold (through the cache: a tile the cache still holds costs no DRAM traffic), compute it,
and, after the last ``k`` step of an output tile, store that tile. The loop order is the
tiler's (``m_outer``: m, n, k; ``n_outer``: n, m, k), repeated per group. A step's compute
cycles are the layer's closed-form array cycles shared out in proportion to the step's MACs
(cumulative rounding keeps the sum exact), so the array model stays the single source of
compute time. Grouped layers whose groups are small (depthwise convolutions) move
``plan.group_bundle`` whole groups per step.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from npusim.engine.layout import TensorPlacement
from npusim.engine.plan import LayerPlan
from npusim.engine.system import LoadPart


@dataclass(frozen=True)
class Step:
    """Blocks to load, cycles to compute, and (on an output tile's last step) blocks to store.

    ``loads`` holds one part per tensor: the input(s), then the weights (or second operand)
    when there are any. ``first_k`` marks the first step of an output tile (it claims an
    output buffer); ``store_on_chip`` says the stored tile stays in the SRAM.
    """

    loads: tuple[LoadPart, ...]
    compute_cycles: int
    store_addrs: np.ndarray | None
    store_sizes: np.ndarray | None
    first_k: bool
    store_on_chip: bool = False


def step_count(plan: LayerPlan) -> int:
    """Steps :func:`gemm_steps` or :func:`vector_steps` yields for ``plan``, without making
    them (a closed form of their loops)."""
    gemm = plan.layer.gemm()
    if gemm is None or plan.tiling is None:
        return -(-max(plan.layer.input_elements, 1) // max(plan.chunk_elements, 1))
    t = plan.tiling
    bundles = -(-gemm.groups // plan.group_bundle)
    return bundles * -(-gemm.m // t.tm) * -(-gemm.n // t.tn) * -(-gemm.k // t.tk)


def _part(tensor: TensorPlacement, r0: int, r1: int, c0: int, c1: int) -> LoadPart:
    addrs, sizes = tensor.blocks(r0, r1, c0, c1)
    return LoadPart(addrs, sizes, tensor.kind, tensor.on_chip)


def _ranges(size: int, tile: int) -> list[tuple[int, int]]:
    return [(start, min(start + tile, size)) for start in range(0, size, tile)]


class _Shares:
    """Hands out ``total_cycles`` in proportion to weights given one at a time; cumulative
    rounding makes the shares sum to ``total_cycles`` exactly once all weight is given."""

    def __init__(self, total_cycles: int, total_weight: int) -> None:
        self.total_cycles, self.total_weight = total_cycles, total_weight
        self.done_weight = self.done_cycles = 0

    def take(self, weight: int) -> int:
        self.done_weight += weight
        if not self.total_weight:
            return 0
        cycles = self.total_cycles * self.done_weight // self.total_weight - self.done_cycles
        self.done_cycles += cycles
        return cycles


def vector_steps(
    plan: LayerPlan, operands: tuple[TensorPlacement, ...], outputs: TensorPlacement
) -> Iterator[Step]:
    """A vector layer: load a chunk of each operand, process it, store its share of the
    output. Chunks cut the layer's input elements; each operand (rows = its elements) gives
    the same fraction of itself."""
    n_in, n_out = plan.layer.input_elements, plan.layer.output_elements
    shares = _Shares(plan.compute_cycles, max(n_in, 1))
    for e0, e1 in _ranges(max(n_in, 1), plan.chunk_elements):
        cycles = shares.take(e1 - e0)
        loads = tuple(
            _part(t, e0 * t.rows // n_in, e1 * t.rows // n_in, 0, 1)
            for t in operands
            if n_in and e1 * t.rows // n_in > e0 * t.rows // n_in
        )
        o0, o1 = e0 * n_out // max(n_in, 1), e1 * n_out // max(n_in, 1)
        store = outputs.blocks(o0, o1, 0, 1) if o1 > o0 else None
        yield Step(loads, cycles, None if store is None else store[0],
                   None if store is None else store[1], first_k=True,
                   store_on_chip=outputs.on_chip)  # fmt: skip


def gemm_steps(
    plan: LayerPlan,
    inputs: TensorPlacement,
    weights: TensorPlacement,
    outputs: TensorPlacement,
) -> Iterator[Step]:
    """The steps of a GEMM layer (see the module docstring)."""
    gemm = plan.layer.gemm()
    assert gemm is not None
    t = plan.tiling
    m_ranges, n_ranges, k_ranges = (
        _ranges(gemm.m, t.tm),
        _ranges(gemm.n, t.tn),
        _ranges(gemm.k, t.tk),
    )
    shares = _Shares(plan.timing.compute_cycles, gemm.macs)
    outer, inner = (m_ranges, n_ranges) if t.order == "m_outer" else (n_ranges, m_ranges)
    m, n = gemm.m, gemm.n
    held: list[tuple[int, int, int] | None] = [None, None]  # tile in the buffer, per operand
    for g0, g1 in _ranges(gemm.groups, plan.group_bundle):
        # A bundle of several groups only occurs with whole-group tiles, so the rows of
        # groups g0..g1-1 are one contiguous run in each tensor.
        for a in outer:
            for b in inner:
                (m0, m1), (n0, n1) = (a, b) if t.order == "m_outer" else (b, a)
                for index, (k0, k1) in enumerate(k_ranges):
                    # An operand tile still held from the previous step is not loaded again
                    # (the tiler's reuse: a K-deep input tile across the inner n loop).
                    loads = []
                    for slot, tensor, r0, r1 in (
                        (0, inputs, g0 * m + m0, (g1 - 1) * m + m1),
                        (1, weights, g0 * n + n0, (g1 - 1) * n + n1),
                    ):
                        if held[slot] != (r0, r1, k0):
                            held[slot] = (r0, r1, k0)
                            loads.append(_part(tensor, r0, r1, k0, k1))
                    cycles = shares.take((g1 - g0) * (m1 - m0) * (n1 - n0) * (k1 - k0))
                    last = index == len(k_ranges) - 1
                    out = outputs.blocks(g0 * m + m0, (g1 - 1) * m + m1, n0, n1) if last else None
                    yield Step(
                        tuple(loads), cycles, None if out is None else out[0],
                        None if out is None else out[1], first_k=index == 0,
                        store_on_chip=outputs.on_chip,
                    )  # fmt: skip
