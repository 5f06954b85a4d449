"""DRAM homes of a network's tensors and the tile steps of each layer over them.

Each graph tensor is placed once, so its producer writes where its readers read (and the
cache sees the same lines); each layer's weights and stored operands get their own range.
"""

from __future__ import annotations

from npusim.engine.layout import Allocator, TensorPlacement
from npusim.engine.modes import SramMode
from npusim.engine.plan import LayerPlan
from npusim.engine.residency import LayerResidency, NetworkPlan, Operand
from npusim.engine.steps import Step, gemm_steps, vector_steps
from npusim.engine.system import ACTIVATION, WEIGHT, MemoryPath, ScratchpadPath


class Placer:
    """DRAM placement of a network: each graph tensor once (its producer writes where its
    readers read), each layer's weights and stored operands once."""

    def __init__(self, dram_capacity_bytes: int, network: NetworkPlan) -> None:
        self.alloc = Allocator(dram_capacity_bytes)
        self.network = network
        self.bases: dict[str, int] = {}
        self.scratchpad = network.mode is SramMode.SCRATCHPAD

    def base(self, tensor: str) -> int:
        if tensor not in self.bases:
            size = self.network.tensor_bytes[tensor]
            self.bases[tensor] = self.alloc.place(tensor, size, 1, 1).base
        return self.bases[tensor]

    def operand(self, name: str, o: Operand, rows: int, cols: int) -> TensorPlacement:
        """A view of operand ``o`` of layer ``name`` (a fresh stored tensor if unnamed)."""
        if o.tensor is None:
            return self.alloc.place(f"{name}.input", o.size_bytes, rows, cols)
        on_chip = o.on_chip and self.scratchpad
        return TensorPlacement(o.tensor, self.base(o.tensor), o.size_bytes, rows, cols,
                               kind=ACTIVATION, on_chip=on_chip)  # fmt: skip

    def steps(self, plan: LayerPlan, residency: LayerResidency) -> list[Step]:
        """Place the layer's tensors and list its steps over them."""
        name, gemm = plan.layer.name, plan.layer.gemm()
        out_rows, out_cols = (gemm.groups * gemm.m, gemm.n) if gemm else (
            max(plan.layer.output_elements, 1), 1)  # fmt: skip
        output = TensorPlacement(name, self.base(name), plan.output.total, out_rows, out_cols,
                                 on_chip=residency.output_on_chip)  # fmt: skip
        if gemm is None:
            operands = tuple(self.operand(name, o, max(o.elements, 1), 1)
                             for o in residency.operands)  # fmt: skip
            return list(vector_steps(plan, operands, output))
        assert plan.tiling is not None
        first, *second = residency.operands
        inputs = self.operand(name, first, gemm.groups * gemm.m, gemm.k)
        if second:
            weights = self.operand(name, second[0], gemm.groups * gemm.n, gemm.k)
        else:
            weights = self.alloc.place(f"{name}.weight", plan.weight.total, gemm.groups * gemm.n,
                                       gemm.k, tile=(plan.tiling.tn, plan.tiling.tk),
                                       group_rows=gemm.n, kind=WEIGHT)  # fmt: skip
        return list(gemm_steps(plan, inputs, weights, output))

    def drop_dead(self, path: MemoryPath | ScratchpadPath, residency: LayerResidency) -> None:
        for tensor in residency.dying:
            if tensor in self.bases:
                path.drop(self.bases[tensor], self.network.tensor_bytes[tensor])
