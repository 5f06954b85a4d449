"""Analytic (roofline) fidelity: a fast lower bound on time, from closed forms only.

Per layer, with ``B`` = peak DRAM bytes per core cycle (``dram_peak / clock``):

* ``memory_cycles = ceil(dram_bytes / B)`` where ``dram_bytes`` is the compulsory traffic:
  every tensor read or written once, packed, metadata included. No execution moves less (a
  layer's tensors are new to the SRAM), so this is the only traffic that keeps the result a
  bound; the tiling's re-reads (:mod:`npusim.engine.tiling`), which a cache may or may not
  save, are reported beside it as ``tiled_dram_read_bytes``;
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
from npusim.dram import peak_bandwidth_bytes_per_s
from npusim.engine.assemble import layer_result, peak_bytes_per_cycle
from npusim.engine.energy import (
    area_mm2,
    dram_streaming_energy_pj,
    sram_energy_pj,
    static_energy_pj,
)
from npusim.engine.plan import LayerPlan, plan_layer
from npusim.engine.quality import check_layer_overrides, layer_quality
from npusim.results import Energy, LayerResult, RunResult
from npusim.workload import Workload

ANALYTIC_NOTE = (
    "analytic fidelity: roofline LOWER BOUND, cycles = max(fill + compute + drain, "
    "compulsory DRAM bytes / peak bandwidth); cache hits/misses are SRAM reuse, not a "
    "simulated cache"
)


def analytic_layer(
    plan: LayerPlan, scenario: Scenario, quality: dict[str, object] | None = None
) -> LayerResult:
    """One layer's lower-bound result (see the module docstring for every formula)."""
    bytes_per_cycle = peak_bytes_per_cycle(scenario)
    read, write = plan.compulsory_read_bytes, plan.output.total
    first, last = plan.edge_transfers()
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
        dram=dram_streaming_energy_pj(scenario, read, write, time_s),
        static=static_energy_pj(scenario, time_s),
    )
    return layer_result(
        plan, scenario, cycles=cycles, read_bytes=read, write_bytes=write, hits=hits,
        misses=misses, energy=energy, extra={**_traffic_extra(plan), **(quality or {})},
    )  # fmt: skip


def _traffic_extra(plan: LayerPlan) -> dict[str, int]:
    """DRAM traffic by tensor kind (payload) and the quantization metadata it carries."""
    in_reuse = plan.tiling.input_reuse if plan.tiling else 1
    w_reuse = plan.tiling.weight_reuse if plan.tiling else 1
    return {
        "weight_read_bytes": plan.weight.payload_bytes * w_reuse,
        "input_read_bytes": plan.input.payload_bytes * in_reuse,
        "output_write_bytes": plan.output.payload_bytes,
        "metadata_bytes": plan.input.metadata_bytes * in_reuse
        + plan.weight.metadata_bytes * w_reuse
        + plan.output.metadata_bytes,
    }


def run_analytic(scenario: Scenario, workload: Workload) -> RunResult:
    """Run every layer of ``workload`` on ``scenario`` in analytic fidelity."""
    check_layer_overrides(scenario, workload)
    layers = tuple(
        analytic_layer(plan_layer(layer, view), view, layer_quality(layer, workload, view))
        for layer in workload.layers
        for view in [scenario.for_layer(layer.name)]
    )
    return RunResult(
        scenario=scenario.name,
        workload=workload.name,
        fidelity="analytic",
        precision=scenario.precision.as_dict(),
        dram_peak_gbps=peak_bandwidth_bytes_per_s(scenario.dram.preset, scenario.dram.channels)
        / 1e9,
        layers=layers,
        notes=(ANALYTIC_NOTE,),
        extra={"area_mm2": area_mm2(scenario)},
    )
