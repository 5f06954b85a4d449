"""Where activation tensors live: the SRAM modes and the residency decision of a network.

Both fidelities plan a network through :func:`plan_network`, so they make the same decision:

* ``cache`` mode: every tensor a later layer reads is written into the cache
  (write-allocate); whether it is still there when read is the cache's business (LRU against
  the weights streaming through), measured in cycle fidelity and bounded in analytic
  fidelity (at most the SRAM's capacity of it can be on chip). A tensor nobody reads again
  (a network output) goes straight to DRAM; a tensor whose last reader has finished is
  dropped without write-back.
* ``scratchpad`` mode: the compile-time allocator (:mod:`npusim.engine.allocator`) first
  reserves each layer's smallest tile buffers, then places the tensors that are produced and
  read on chip by their lifetimes; what does not fit is spilled (written to DRAM by its
  producer, read back by its readers). Every layer is then tiled in the SRAM that the resident
  tensors alive during it leave free, so its buffers and those tensors always fit together.
  The network input and outputs live in DRAM.
"""

from __future__ import annotations

from dataclasses import dataclass

from npusim.config import Scenario
from npusim.engine.allocator import Arena, Block, plan_arena
from npusim.engine.modes import SRAM_MODES, SramMode
from npusim.engine.plan import (
    LayerPlan,
    activation_bytes,
    plan_layer,
    smallest_footprint,
    with_sram_capacity,
)
from npusim.errors import CapacityError
from npusim.workload import Concat, Layer, Reshape, Workload
from npusim.workload.graph import Graph, operand_elements


@dataclass(frozen=True)
class Operand:
    """One activation operand of a layer: the graph tensor it reads (None: a stored tensor of
    the layer's own, in DRAM), its elements, its bytes in this layer's view, and whether it
    comes from on chip (cache mode: produced by a layer, so the cache may hold it;
    scratchpad mode: the allocator keeps it in the SRAM)."""

    tensor: str | None
    elements: int
    size_bytes: int
    on_chip: bool


@dataclass(frozen=True)
class LayerResidency:
    """What a layer reads and writes where. ``operands`` are its activation operands (a
    GEMM's input, and a matmul's second operand when it is a produced tensor); ``output_on_chip``
    says its output stays in the SRAM; ``dying`` lists the tensors whose last reader it is."""

    operands: tuple[Operand, ...]
    output_on_chip: bool
    dying: tuple[str, ...]


@dataclass(frozen=True)
class NetworkPlan:
    """Every layer's plan and residency, the DRAM bytes of each graph tensor (the largest
    view of it), and in scratchpad mode the allocator's arena and the planned SRAM occupancy
    per layer (resident tensors alive then plus the layer's tile buffers)."""

    mode: SramMode
    capacity_bytes: int
    plans: tuple[LayerPlan, ...]
    layers: tuple[LayerResidency, ...]
    tensor_bytes: dict[str, int]
    arena: Arena | None = None
    occupancy_bytes: tuple[int, ...] = ()

    def summary(self) -> dict[str, object]:
        """The ``sram`` block of a run's summary: mode, and the allocator's figures."""
        out: dict[str, object] = {"mode": self.mode.value, "capacity_bytes": self.capacity_bytes}
        if self.arena is not None:
            out.update(peak_bytes=max(self.occupancy_bytes, default=0),
                       tensor_arena_bytes=self.arena.arena_bytes,
                       resident_tensors=sum(not n.endswith(BUFFERS_SUFFIX)
                                                    for n in self.arena.offsets),
                       spilled_tensors=list(self.arena.spilled))  # fmt: skip
        return out


BUFFERS_SUFFIX = "#buffers"  # allocator blocks of tile buffers ('#' is not in layer names)


def plan_network(workload: Workload, scenario: Scenario) -> NetworkPlan:
    """Plan every layer and decide where each activation tensor lives (see the module)."""
    mode = SRAM_MODES[scenario.sram_mode]
    graph = workload.graph
    views = [scenario.for_layer(layer.name) for layer in workload.layers]
    appends = graph.kv_appends()
    plans = [plan_layer(layer, view, graph.reads_stored_operand(layer), layer.name in appends)
             for layer, view in zip(workload.layers, views, strict=True)]  # fmt: skip
    operands = [
        _operands(layer, plan, view, graph)
        for layer, plan, view in zip(workload.layers, plans, views, strict=True)
    ]
    sizes = _tensor_bytes(workload, plans, operands)
    dying = graph.last_readers()
    arena, occupancy = None, ()
    if mode is SramMode.CACHE:
        resident = {name for name, t in graph.tensors.items() if t.consumers and t.producer}
    else:
        arena, resident, plans, occupancy = _scratchpad(workload, scenario, views, plans, sizes)
    layers = tuple(
        LayerResidency(
            tuple(Operand(o.tensor, o.elements, o.size_bytes, o.tensor in resident) for o in ops),
            output_on_chip=layer.name in resident,
            dying=tuple(dying.get(layer.name, ())),
        )
        for layer, ops in zip(workload.layers, operands, strict=True)
    )  # fmt: skip
    capacity = scenario.sram.capacity_bytes
    return NetworkPlan(mode, capacity, tuple(plans), layers, sizes, arena, occupancy)


def _operands(layer: Layer, plan: LayerPlan, scenario: Scenario, graph: Graph) -> list[Operand]:
    """The activation operands ``layer`` reads, each with its view's bytes (on_chip unset)."""
    reads = graph.reads.get(layer.name, ())
    if isinstance(layer, Reshape):
        return []
    if isinstance(layer, Concat) and reads:
        return [Operand(t, graph.tensors[t].elements,
                        activation_bytes(graph.tensors[t].elements, scenario), False)
                for t in reads]  # fmt: skip
    elements = operand_elements(layer)
    gemm = layer.gemm()
    if gemm is not None:
        # The plan sized a GEMM's operands: the input, and a matmul's second operand.
        count = 2 if len(elements) == 2 and len(reads) == 2 else 1
        sizes = (plan.input.total, plan.weight.total)[:count]
    else:
        count = len(elements)
        sizes = tuple(activation_bytes(e, scenario) for e in elements)
    return [Operand(reads[j] if j < len(reads) else None, elements[j], sizes[j], False)
            for j in range(count)]  # fmt: skip


def _tensor_bytes(
    workload: Workload, plans: list[LayerPlan], operands: list[list[Operand]]
) -> dict[str, int]:
    """Each graph tensor's DRAM bytes: the largest of its producer's and readers' views
    (per-layer precision overrides can make them differ)."""
    sizes: dict[str, int] = {}
    for layer, plan in zip(workload.layers, plans, strict=True):
        if layer.name in workload.graph.tensors:
            sizes[layer.name] = plan.output.total
    for ops in operands:
        for o in ops:
            if o.tensor is not None:
                sizes[o.tensor] = max(sizes.get(o.tensor, 0), o.size_bytes)
    return sizes


def _scratchpad(
    workload: Workload, scenario: Scenario, views: list[Scenario], plans: list[LayerPlan],
    sizes: dict[str, int],
) -> tuple[Arena, set[str], list[LayerPlan], tuple[int, ...]]:  # fmt: skip
    """Place tensors around each layer's smallest tile buffers, then re-tile every layer in
    the SRAM its live resident tensors leave it. Network inputs and outputs stay in DRAM."""
    graph = workload.graph
    capacity = scenario.sram.capacity_bytes
    buffers = [
        Block(f"{plan.layer.name}{BUFFERS_SUFFIX}", smallest_footprint(plan, view), i, i)
        for i, (plan, view) in enumerate(zip(plans, views, strict=True))
    ]
    tensors = [Block(name, sizes[name], t.first_use, t.last_use)
               for name, t in graph.tensors.items() if t.producer and t.consumers]  # fmt: skip
    too_big = [b.name for b in buffers if b.size_bytes > capacity]
    if too_big:
        raise CapacityError(f"layer {too_big[0].split('#')[0]!r}: its smallest tile buffers "
                            f"do not fit the {capacity} B scratchpad")  # fmt: skip
    arena = plan_arena(tensors, capacity, fixed=buffers)
    resident = set(arena.offsets) - {b.name for b in buffers}
    replanned, occupancy, appends = [], [], graph.kv_appends()
    for i, (layer, view, plan) in enumerate(zip(workload.layers, views, plans, strict=True)):
        live = arena.live_bytes(tensors, i)  # placed tensors only: the residents
        if live:
            plan = plan_layer(layer, with_sram_capacity(view, capacity - live),
                              graph.reads_stored_operand(layer),
                              layer.name in appends)  # fmt: skip
        replanned.append(plan)
        occupancy.append(live + plan.footprint_bytes)
    return arena, resident, replanned, tuple(occupancy)
