"""Cycle fidelity: a SimPy simulation of DMA, MAC array and stores over the real memory path.

Per layer two processes run at tile grain (:mod:`npusim.engine.steps`):

* the DMA loader claims one of two operand buffers (double buffering) and issues the step's
  loads through the SRAM (:class:`npusim.engine.system.MemoryPath` in cache mode, which
  times every missed line with the cycle-level LPDDR5 controllers;
  :class:`~npusim.engine.system.ScratchpadPath` in scratchpad mode) without waiting for them:
  a load is in flight while the previous one still is, and the DRAM serves every batch
  issued by the time one is waited for in one run of its controllers, each at its own
  arrival cycle;
* the MAC array waits for a step's loads, computes it for its share of the closed-form
  cycles, frees the operand buffer and issues a finished output tile's store (into the SRAM
  when a later layer reads it, else to DRAM). An output tile needs one of two output
  buffers (the accumulating one and the one draining); writes are posted, so a buffer is
  free once its data is in the DRAM controllers' write queues, and the layer ends when its
  last store is done.

So loads of the next tile overlap compute of the current one and stores drain behind, and a
stall appears exactly where the memory path cannot keep up. SimPy events stand for tiles;
DRAM commands are plain integer arithmetic inside the controllers. Layers run one after
another in the graph's order; each tensor has one DRAM home shared by its producer and its
readers (:mod:`npusim.engine.residency` decides where it lives on chip), and DRAM, SRAM and
refresh state carry over between layers. When a tensor's last reader finishes, its lines are
dropped.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
import simpy

from npusim.config import Scenario
from npusim.engine.assemble import layer_result, traffic_by_kind
from npusim.engine.energy import (
    area_mm2,
    data_io_energy_pj,
    sram_energy_pj,
    static_energy_pj,
)
from npusim.engine.frame import cycle_idle_dram_pj, with_frame
from npusim.engine.modes import SramMode
from npusim.engine.placement import Placer
from npusim.engine.plan import LayerPlan
from npusim.engine.quality import check_layer_overrides, network_quality
from npusim.engine.residency import LayerResidency, NetworkPlan, plan_network
from npusim.engine.steps import Step, step_count
from npusim.engine.system import (
    ACTIVATION,
    WEIGHT,
    MemoryPath,
    PathCounters,
    ScratchpadPath,
    Transfer,
)
from npusim.errors import WorkloadError
from npusim.results import Energy, LayerResult, RunResult
from npusim.workload import Workload

BUFFERS = 2  # double buffering of operand tiles and of output tiles
MAX_TILE_STEPS = 2_000_000
"""Tile steps a cycle-fidelity run may simulate. A bundled workload needs at most 32,534 at
its defaults (a Llama-3.1-8B decode step) and 697,718 for the 8B's 2,048-token prefill; the
engine runs about 1,000 (streaming tiles of hundreds of KiB) to 10,000 small steps per CPU
second, so this stops a runaway shape, with an error that says so, before any work instead
of after hours."""

Progress = Callable[[int, int, str, float], None]


def _simulate_steps(path: MemoryPath | ScratchpadPath, steps: list[Step], start: int) -> int:
    """Run one layer's steps from core cycle ``start``; return the cycle the last store ends.

    Transfers are issued when their buffer is free and waited for only when their data or
    buffer is needed, so several loads and stores are in flight in the DRAM's queues at once.
    """
    env = simpy.Environment(initial_time=start)
    operand_slots = simpy.Container(env, capacity=BUFFERS, init=BUFFERS)
    ready: simpy.Store = simpy.Store(env)
    draining: deque[Transfer] = deque()  # stores whose output buffer may not be free yet
    stores: list[Transfer] = []

    def loader() -> Any:
        for step in steps:
            yield operand_slots.get(1)
            now = int(env.now)
            transfer = path.load(step.loads, now) if step.loads else Transfer(now)
            yield ready.put((step, transfer))

    def wait_until(cycle: int) -> Any:
        if cycle > env.now:
            yield env.timeout(cycle - env.now)

    def array() -> Any:
        for _ in steps:
            step, transfer = yield ready.get()
            yield from wait_until(path.ready(transfer))
            if step.first_k and len(draining) == BUFFERS:  # both output buffers draining
                yield from wait_until(path.freed(draining.popleft()))
            yield env.timeout(step.compute_cycles)
            yield operand_slots.put(1)
            if step.store_addrs is not None:
                store = path.store(step.store_addrs, step.store_sizes, int(env.now),
                                   step.store_on_chip)  # fmt: skip
                draining.append(store)
                stores.append(store)

    env.process(loader())
    env.run(until=env.process(array()))
    return max([int(env.now)] + [path.ready(store) for store in stores])


def _moved_by_kind(c: PathCounters) -> dict[str, int]:
    """The layer's DRAM bytes per tensor kind (they add up to its reads plus writes)."""
    return {"input_read": c.dram_read_bytes_by_kind[ACTIVATION],
            "weight_read": c.dram_read_bytes_by_kind[WEIGHT],
            "output_write": c.output_write_bytes, "spill_write": c.spill_write_bytes}  # fmt: skip


def _residency_extra(c: PathCounters) -> dict[str, Any]:
    """Activation bytes served on chip and from DRAM, and hit rates per tensor kind."""
    asked, fetched = c.dma_read_bytes_by_kind[ACTIVATION], c.dram_read_bytes_by_kind[ACTIVATION]

    def rate(kind: int) -> float | None:
        total = c.hits_by_kind[kind] + c.misses_by_kind[kind]
        return c.hits_by_kind[kind] / total if total else None

    return {"activation_read_bytes": asked,
            "activation_onchip_bytes": max(asked - fetched, 0),
            "activation_hit_rate": rate(ACTIVATION), "weight_hit_rate": rate(WEIGHT),
            "onchip_store_bytes": c.sram_store_bytes,
            "dropped_dirty_bytes": c.dropped_dirty_bytes}  # fmt: skip


def cycle_layer(plan: LayerPlan, residency: LayerResidency, scenario: Scenario,
                path: MemoryPath | ScratchpadPath, placer: Placer, start: int,
                quality: dict[str, Any]) -> tuple[LayerResult, int]:  # fmt: skip
    """Simulate one layer from core cycle ``start``; return its result and its end cycle."""
    before = copy.deepcopy(path.counters)
    # E(t) counts the commands issued so far, so the start value is taken before the layer
    dram_start_pj = path.dram.energy_until(path.to_ck(start))
    steps = placer.steps(plan, residency)
    end = _simulate_steps(path, steps, start)
    path.settle()
    placer.drop_dead(path, residency)
    c = path.counters.minus(before)
    cycles = end - start
    time_s = cycles / scenario.clock_hz
    operand_reads, operand_writes = plan.sram_operand_bytes
    energy = Energy(
        mac=plan.op_energy_pj,
        # SRAM reads: operands, and lines leaving for DRAM; writes: results and DRAM fills
        sram=sram_energy_pj(scenario, operand_reads + c.dram_write_bytes,
                            operand_writes + c.sram_fill_bytes),
        # DRAM energy of the layer's interval: commands, busy and idle background, refresh;
        # I/O from the data's toggles when asked
        dram=path.dram.energy_until(path.to_ck(end)) - dram_start_pj
        + data_io_energy_pj(scenario, _moved_by_kind(c), quality),
        static=static_energy_pj(scenario, time_s),
    )  # fmt: skip
    extra = {"dma_read_bytes": sum(c.dma_read_bytes_by_kind), "dma_write_bytes": c.dma_write_bytes,
             "tile_steps": len(steps), **traffic_by_kind(plan, _moved_by_kind(c)),
             **_residency_extra(c), **quality}  # fmt: skip
    result = layer_result(
        plan, scenario, cycles=cycles, read_bytes=c.dram_read_bytes,
        write_bytes=c.dram_write_bytes, hits=c.hits, misses=c.misses, energy=energy,
        extra=extra,
    )  # fmt: skip
    return result, end


def run_cycle(
    scenario: Scenario,
    workload: Workload,
    progress: Progress | None = None,
    measure_quality: bool = True,
) -> RunResult:
    """Simulate ``workload`` on ``scenario`` layer by layer (see the module docstring);
    ``measure_quality=False`` skips the quantizer's SQNR per layer (timing is the same)."""
    check_layer_overrides(scenario, workload)
    network = plan_network(workload, scenario)
    _check_work(workload, network)
    scratchpad = network.mode is SramMode.SCRATCHPAD
    path = ScratchpadPath(scenario) if scratchpad else MemoryPath(scenario)
    placer = Placer(path.dram.capacity_bytes, network)
    layers, occupancy = [], []
    layer_of_transfer: list[str] = []
    now = 0
    qualities = network_quality(workload, scenario, measure_quality)
    for index, layer in enumerate(workload.layers):
        view, quality = scenario.for_layer(layer.name), qualities[index]
        plan, residency = network.plans[index], network.layers[index]
        result, now = cycle_layer(plan, residency, view, path, placer, now, quality)
        layers.append(result)
        occupancy.append(_occupancy(path, placer, network, index, now))
        layer_of_transfer += [layer.name] * (len(path.log.start) - len(layer_of_transfer))
        if progress is not None:
            progress(index + 1, len(workload.layers), layer.name, now / scenario.clock_hz)
    dram = path.dram.stats()
    result = RunResult(
        scenario=scenario.name, workload=workload.name, fidelity="cycle",
        precision=scenario.precision.as_dict(),
        dram_peak_gbps=path.dram.peak_bytes_per_s / 1e9,
        layers=tuple(layers),
        extra={"area_mm2": area_mm2(scenario), "sram": network.summary(),
               "dram": _dram_summary(dram)},
        timeline=_timeline(path, scenario.clock_hz, layer_of_transfer),
        occupancy=_occupancy_columns(occupancy, scenario.clock_hz),
    )  # fmt: skip
    if scenario.frame_rate_hz is None:
        return result
    busy_s = result.totals()["time_s"]  # the frame block's busy time, from the same sum
    return with_frame(result, scenario, cycle_idle_dram_pj(scenario, path.dram,
                                                           path.to_ck(now), busy_s))  # fmt: skip


def _check_work(workload: Workload, network: NetworkPlan) -> None:
    """Refuse a run over :data:`MAX_TILE_STEPS` before simulating any of it."""
    counts = [step_count(plan) for plan in network.plans]
    total = sum(counts)
    if total > MAX_TILE_STEPS:
        largest = max(range(len(counts)), key=counts.__getitem__)
        raise WorkloadError(
            f"{workload.name}: cycle fidelity would simulate {total:,} tile steps (layer "
            f"{workload.layers[largest].name!r} alone {counts[largest]:,}), over the "
            f"{MAX_TILE_STEPS:,} a run is bounded to; use --fidelity analytic for this "
            f"workload, or a larger SRAM (larger tiles)"
        )


def _occupancy(path: MemoryPath | ScratchpadPath, placer: Placer, network: NetworkPlan,
               index: int, now: int) -> tuple[int, int, int]:  # fmt: skip
    """(end cycle, activation bytes, other bytes) held in the SRAM when layer ``index`` ends:
    measured from the cache's tags, or the allocator's plan in scratchpad mode."""
    if isinstance(path, ScratchpadPath):
        total = network.occupancy_bytes[index]
        plan = network.plans[index]
        return now, total - plan.footprint_bytes, plan.footprint_bytes
    lines = path.resident_lines()
    regions = sorted((base, base + network.tensor_bytes[t]) for t, base in placer.bases.items())
    starts, ends = (np.array(column, dtype=np.int64) for column in zip(*regions, strict=True))
    slot = np.searchsorted(starts, lines, side="right") - 1
    activation = (slot >= 0) & (lines < ends[np.maximum(slot, 0)])
    count = int(np.count_nonzero(activation))
    return now, count * path.line_bytes, (lines.shape[0] - count) * path.line_bytes


def _occupancy_columns(rows: list[tuple[int, int, int]], clock_hz: float) -> dict[str, list]:
    return {"end_s": [r[0] / clock_hz for r in rows],
            "activation_bytes": [r[1] for r in rows],
            "other_bytes": [r[2] for r in rows]}  # fmt: skip


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
        "refresh_ns": total.refresh_ns, "power_down_ns": total.power_down_ns,
        "self_refresh_ns": total.self_refresh_ns,
        "command_counts": dict(total.command_counts),
    }  # fmt: skip
