"""Analytic (roofline) fidelity: a fast lower bound on time, from closed forms only.

Per layer, with ``B`` = peak DRAM bytes per core cycle (``dram_peak / clock``):

* ``memory_cycles = ceil(dram_bytes / B)`` where ``dram_bytes`` is the compulsory traffic,
  packed, metadata included: weights and stored tensors read once, and the activations the
  network's residency (:func:`npusim.engine.residency.plan_network`) cannot keep on chip.
  Scratchpad mode: the allocator's decision exactly (a spilled tensor written once by its
  producer, read once by each reader). Cache mode, bounds no cache can beat within the
  layer: its on-chip inputs arrive from DRAM except for what the SRAM can hold at the layer's
  start (``max(0, sum of them - capacity)`` read), and of an output written into the SRAM
  what exceeds the capacity is written back during the layer (``max(0, output - capacity)``
  spilled). The tiling's re-reads (:mod:`npusim.engine.tiling`), which a cache may or may
  not save, are not counted, so the result stays a bound;
* ``fill = ceil(first load / B)``: compute cannot start before its first operands arrive;
  ``drain = ceil(last store / B)``: the last store follows the last compute
  (:meth:`npusim.engine.plan.LayerPlan.edge_transfers`);
* ``cycles = max(fill + compute_cycles + drain, memory_cycles)``: neither the compute unit
  nor the DRAM can do better, so a cycle-level run can only take longer.

Cache figures in this fidelity are not simulated: ``cache_misses`` counts the SRAM lines
filled from DRAM and ``cache_hits`` the other line-sized operand reads the array makes from
SRAM (its reuse), so ``hit rate = 1 - DRAM-filled lines / operand line reads``.
"""

from __future__ import annotations

import math

from npusim.config import Scenario
from npusim.dram import DramSystem, peak_bandwidth_bytes_per_s
from npusim.engine.assemble import layer_result, peak_bytes_per_cycle, traffic_by_kind
from npusim.engine.energy import (
    area_mm2,
    data_io_energy_pj,
    dram_streaming_energy_pj,
    sram_energy_pj,
    static_energy_pj,
)
from npusim.engine.frame import analytic_idle_dram_pj, with_frame
from npusim.engine.modes import SramMode
from npusim.engine.plan import LayerPlan
from npusim.engine.quality import check_layer_overrides, network_quality
from npusim.engine.residency import LayerResidency, plan_network
from npusim.results import Energy, LayerResult, RunResult
from npusim.workload import Workload

ANALYTIC_NOTE = (
    "analytic fidelity: roofline LOWER BOUND, cycles = max(fill + compute + drain, "
    "compulsory DRAM bytes / peak bandwidth); cache hits/misses are SRAM reuse, not a "
    "simulated cache"
)


def analytic_layer(
    plan: LayerPlan,
    scenario: Scenario,
    quality: dict[str, object],
    residency: LayerResidency,
    sram_mode: SramMode,
    idle_dram: DramSystem | None = None,
) -> LayerResult:
    """One layer's lower-bound result (see the module docstring for every formula);
    ``idle_dram``: the scenario's DRAM when it powers down
    (:func:`npusim.engine.energy.dram_streaming_energy_pj`)."""
    bytes_per_cycle = peak_bytes_per_cycle(scenario)
    traffic = _traffic(plan, scenario, residency, sram_mode)
    read = traffic["input_read"] + traffic["weight_read"]
    write = traffic["output_write"] + traffic["spill_write"]
    on_chip = any(o.on_chip for o in residency.operands)
    first, last = plan.edge_transfers(input_on_chip=on_chip,
                                      output_on_chip=residency.output_on_chip)  # fmt: skip
    busy = (math.ceil(first / bytes_per_cycle) + plan.compute_cycles
            + math.ceil(last / bytes_per_cycle))  # fmt: skip
    cycles = max(busy, math.ceil((read + write) / bytes_per_cycle))
    time_s = cycles / scenario.clock_hz
    line = scenario.sram.line_bytes
    operand_reads, operand_writes = plan.sram_operand_bytes
    misses = -(-read // line)
    hits = max(-(-operand_reads // line) - misses, 0)
    energy = Energy(
        mac=plan.op_energy_pj,
        # operands to the compute unit and outputs to the DMA; results back and DRAM fills
        sram=sram_energy_pj(scenario, operand_reads + write, operand_writes + read),
        dram=dram_streaming_energy_pj(scenario, read, write, time_s, idle_dram)
        + data_io_energy_pj(scenario, traffic, quality),
        static=static_energy_pj(scenario, time_s),
    )
    return layer_result(
        plan, scenario, cycles=cycles, read_bytes=read, write_bytes=write, hits=hits,
        misses=misses, energy=energy,
        extra={**traffic_by_kind(plan, traffic), **quality},
    )  # fmt: skip


def _traffic(
    plan: LayerPlan, scenario: Scenario, residency: LayerResidency, mode: SramMode
) -> dict[str, int]:
    """Compulsory DRAM bytes by kind (see the module docstring)."""
    weight = plan.weight.total
    if len(residency.operands) == 2 and plan.layer.gemm() is not None:
        weight = 0  # a matmul's produced second operand: an operand, counted below
    stored = sum(o.size_bytes for o in residency.operands if not o.on_chip)
    on_chip = sum(o.size_bytes for o in residency.operands if o.on_chip)
    if mode is SramMode.SCRATCHPAD:  # the allocator's decision, exactly
        output = 0 if residency.output_on_chip else plan.output.total
        return {"input_read": stored, "weight_read": weight, "output_write": output,
                "spill_write": 0}  # fmt: skip
    capacity = scenario.sram.capacity_bytes
    if not residency.output_on_chip:
        output, spill = plan.output.total, 0
    else:  # all of it is written into the SRAM during the layer; what exceeds it spills
        output, spill = 0, max(plan.output.total - capacity, 0)
    return {
        "input_read": stored + max(on_chip - capacity, 0),
        "weight_read": weight,
        "output_write": output,
        "spill_write": spill,
    }


def run_analytic(scenario: Scenario, workload: Workload, measure_quality: bool = True) -> RunResult:
    """Run every layer of ``workload`` on ``scenario`` in analytic fidelity;
    ``measure_quality=False`` skips the quantizer's SQNR per layer."""
    check_layer_overrides(scenario, workload)
    network = plan_network(workload, scenario)
    layers = []
    qualities = network_quality(workload, scenario, measure_quality)
    # the DRAM's idle policy and timing, for idle time in layers and between frames
    needs_dram = scenario.dram.powers_down or scenario.frame_rate_hz is not None
    dram = DramSystem(scenario.dram) if needs_dram else None
    idle_dram = dram if scenario.dram.powers_down else None
    for layer, plan, residency, quality in zip(
        workload.layers, network.plans, network.layers, qualities, strict=True
    ):
        view = scenario.for_layer(layer.name)
        layers.append(analytic_layer(plan, view, quality, residency, network.mode, idle_dram))
    result = RunResult(
        scenario=scenario.name,
        workload=workload.name,
        fidelity="analytic",
        precision=scenario.precision.as_dict(),
        dram_peak_gbps=peak_bandwidth_bytes_per_s(scenario.dram.preset, scenario.dram.channels)
        / 1e9,
        layers=tuple(layers),
        notes=(ANALYTIC_NOTE,),
        extra={"area_mm2": area_mm2(scenario), "sram": network.summary()},
    )
    if scenario.frame_rate_hz is None or dram is None:  # dram: built for any frame rate
        return result
    busy_s = result.totals()["time_s"]
    return with_frame(result, scenario, analytic_idle_dram_pj(scenario, dram, busy_s))
