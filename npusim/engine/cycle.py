"""Cycle fidelity: a SimPy simulation of DMA, MAC array and stores over the real memory path.

Per layer three processes run at tile grain (:mod:`npusim.engine.steps`):

* the DMA loader claims one of two operand buffers (double buffering), loads the step's
  tiles through the SRAM cache into LPDDR5 (:class:`npusim.engine.system.MemoryPath`, which
  times every missed line with the cycle-level controllers) and hands the step to the array;
* the MAC array computes each step for its share of the closed-form cycles, frees the operand
  buffer, and passes a finished output tile to the store queue; an output tile needs one of
  two output buffers (the accumulating one and the one draining);
* the store process streams finished output tiles to DRAM and frees their buffers.

So loads of the next tile overlap compute of the current one and stores drain behind, and a
stall appears exactly where the memory path cannot keep up. SimPy events stand for tiles;
DRAM commands are plain integer arithmetic inside the controllers. Layers run one after
another; DRAM, cache and refresh state carry over between them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import simpy

from npusim.config import Scenario
from npusim.engine.assemble import layer_result
from npusim.engine.energy import area_mm2, sram_energy_pj, static_energy_pj
from npusim.engine.layout import Allocator
from npusim.engine.plan import LayerPlan, plan_layer
from npusim.engine.quality import check_layer_overrides, layer_quality
from npusim.engine.steps import Step, gemm_steps, vector_steps
from npusim.engine.system import MemoryPath, PathCounters
from npusim.results import Energy, LayerResult, RunResult
from npusim.workload import Workload

BUFFERS = 2  # double buffering of operand tiles and of output tiles

Progress = Callable[[int, int, str, float], None]


def _simulate_steps(path: MemoryPath, steps: list[Step], start: int) -> int:
    """Run one layer's steps from core cycle ``start``; return the cycle the last store ends."""
    env = simpy.Environment(initial_time=start)
    operand_slots = simpy.Container(env, capacity=BUFFERS, init=BUFFERS)
    output_slots = simpy.Container(env, capacity=BUFFERS, init=BUFFERS)
    ready: simpy.Store = simpy.Store(env)
    finished: simpy.Store = simpy.Store(env)
    stores = sum(step.store_addrs is not None for step in steps)

    def loader() -> Any:
        for step in steps:
            yield operand_slots.get(1)
            if step.loads:
                done = path.load(step.loads, int(env.now))
                yield env.timeout(done - env.now)
            yield ready.put(step)

    def array() -> Any:
        for _ in steps:
            step = yield ready.get()
            if step.first_k:
                yield output_slots.get(1)
            yield env.timeout(step.compute_cycles)
            yield operand_slots.put(1)
            if step.store_addrs is not None:
                yield finished.put(step)

    def storer() -> Any:
        for _ in range(stores):
            step = yield finished.get()
            done = path.store(step.store_addrs, step.store_sizes, int(env.now))
            yield env.timeout(done - env.now)
            yield output_slots.put(1)

    processes = [env.process(p()) for p in (loader, array, storer)]
    env.run(until=simpy.AllOf(env, processes))
    return int(env.now)


def _placements(plan: LayerPlan, alloc: Allocator) -> list[Step]:
    """Place the layer's tensors in DRAM and list its steps over them."""
    name, gemm = plan.layer.name, plan.layer.gemm()
    if gemm is None:
        inputs = alloc.place(
            f"{name}.input", plan.input.total, max(plan.layer.input_elements, 1), 1
        )
        outputs = alloc.place(f"{name}.output", plan.output.total,
                              max(plan.layer.output_elements, 1), 1)  # fmt: skip
        return list(vector_steps(plan, inputs, outputs))
    assert plan.tiling is not None
    return list(gemm_steps(
        plan,
        alloc.place(f"{name}.input", plan.input.total, gemm.groups * gemm.m, gemm.k),
        alloc.place(f"{name}.weight", plan.weight.total, gemm.groups * gemm.n, gemm.k,
                    tile=(plan.tiling.tn, plan.tiling.tk), group_rows=gemm.n),
        alloc.place(f"{name}.output", plan.output.total, gemm.groups * gemm.m, gemm.n),
    ))  # fmt: skip


def _diff(after: PathCounters, before: PathCounters) -> PathCounters:
    def minus(a: Any, b: Any) -> Any:
        return [x - y for x, y in zip(a, b, strict=True)] if isinstance(a, list) else a - b

    return PathCounters(*(minus(getattr(after, f), getattr(before, f))
                          for f in after.__dataclass_fields__))  # fmt: skip


def _traffic_by_kind(plan: LayerPlan, c: PathCounters) -> dict[str, int]:
    """DRAM bytes by tensor kind, the analytic model's keys: payload per kind plus the
    quantization metadata, which is stored with its tensor and so travels in proportion."""
    kinds = {}
    metadata = 0.0
    for name, tensor, moved in (
        ("input_read_bytes", plan.input, c.dram_read_bytes_by_part[0]),
        ("weight_read_bytes", plan.weight, c.dram_read_bytes_by_part[1]),
        ("output_write_bytes", plan.output, c.dma_write_bytes),
    ):
        share = tensor.metadata_bytes / tensor.total if tensor.total else 0.0
        metadata += moved * share
        kinds[name] = moved - round(moved * share)
    return {**kinds, "metadata_bytes": round(metadata)}  # fmt: skip


def cycle_layer(plan: LayerPlan, scenario: Scenario, path: MemoryPath, alloc: Allocator,
                start: int, quality: dict[str, Any]) -> tuple[LayerResult, int]:  # fmt: skip
    """Simulate one layer from core cycle ``start``; return its result and its end cycle."""
    before = copy.deepcopy(path.counters)
    # E(t) counts the commands issued so far, so the start value is taken before the layer
    dram_start_pj = path.dram.energy_until(path.to_ck(start))
    steps = _placements(plan, alloc)
    end = _simulate_steps(path, steps, start)
    c = _diff(path.counters, before)
    cycles = end - start
    time_s = cycles / scenario.clock_hz
    operand_reads, operand_writes = plan.sram_operand_bytes
    energy = Energy(
        mac=plan.op_energy_pj,
        sram=sram_energy_pj(scenario, operand_reads + c.dma_write_bytes,
                            operand_writes + c.sram_fill_bytes),
        # DRAM energy of the layer's interval: commands, busy and idle background, refresh
        dram=path.dram.energy_until(path.to_ck(end)) - dram_start_pj,
        static=static_energy_pj(scenario, time_s),
    )  # fmt: skip
    extra = {"dma_read_bytes": c.dma_read_bytes, "dma_write_bytes": c.dma_write_bytes,
             "tile_steps": len(steps), **_traffic_by_kind(plan, c), **quality}  # fmt: skip
    result = layer_result(
        plan, scenario, cycles=cycles, read_bytes=c.dram_read_bytes,
        write_bytes=c.dram_write_bytes, hits=c.hits, misses=c.misses, energy=energy,
        extra=extra,
    )  # fmt: skip
    return result, end


def run_cycle(
    scenario: Scenario, workload: Workload, progress: Progress | None = None
) -> RunResult:
    """Simulate ``workload`` on ``scenario`` layer by layer (see the module docstring)."""
    check_layer_overrides(scenario, workload)
    path = MemoryPath(scenario)
    alloc = Allocator(path.dram.capacity_bytes)
    layers = []
    layer_of_transfer: list[str] = []
    now = 0
    for index, layer in enumerate(workload.layers):
        view = scenario.for_layer(layer.name)
        quality = layer_quality(layer, workload, view)
        result, now = cycle_layer(plan_layer(layer, view), view, path, alloc, now, quality)
        layers.append(result)
        layer_of_transfer += [layer.name] * (len(path.log.start) - len(layer_of_transfer))
        if progress is not None:
            progress(index + 1, len(workload.layers), layer.name, now / scenario.clock_hz)
    dram = path.dram.stats()
    return RunResult(
        scenario=scenario.name, workload=workload.name, fidelity="cycle",
        precision=scenario.precision.as_dict(),
        dram_peak_gbps=path.dram.peak_bytes_per_s / 1e9,
        layers=tuple(layers),
        extra={"area_mm2": area_mm2(scenario), "dram": _dram_summary(dram)},
        timeline=_timeline(path, scenario.clock_hz, layer_of_transfer),
    )  # fmt: skip


def _timeline(path: MemoryPath, clock_hz: float, layers: list[str]) -> dict[str, list[Any]]:
    log = path.log
    return {
        "start_s": [t / clock_hz for t in log.start],
        "end_s": [t / clock_hz for t in log.end],
        "read_bytes": log.read_bytes,
        "write_bytes": log.write_bytes,
        "layer": layers,
    }


def _dram_summary(stats: Any) -> dict[str, Any]:
    total = stats.total
    return {
        "read_latency_ns": {"mean": total.read_latency_mean_ns, "p50": total.read_latency_p50_ns,
                            "p95": total.read_latency_p95_ns, "p99": total.read_latency_p99_ns,
                            "max": total.read_latency_max_ns},
        "row_hits": total.row_hits, "row_misses": total.row_misses,
        "row_conflicts": total.row_conflicts, "bus_utilization": total.bus_utilization,
        "refresh_ns": total.refresh_ns, "command_counts": dict(total.command_counts),
    }  # fmt: skip
