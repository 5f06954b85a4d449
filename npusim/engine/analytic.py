"""Analytic (roofline) fidelity: a fast lower bound on time, from closed forms only.

Per layer, with ``B`` = peak DRAM bytes per core cycle (``dram_peak / clock``):

* ``memory_cycles = ceil(dram_bytes / B)`` where ``dram_bytes`` is the tiling's traffic
  (:mod:`npusim.engine.tiling`): every re-read counted, metadata included;
* ``fill = ceil(first input + weight tile / B)``: compute cannot start before its first
  operands arrive; ``drain = ceil(last output tile / B)``: the last store follows the last
  compute;
* ``cycles = max(fill + compute_cycles + drain, memory_cycles)``: neither the array nor the
  DRAM can do better, so a cycle-level run can only take longer.

Cache figures in this fidelity are not simulated: ``cache_misses`` counts the SRAM lines
filled from DRAM and ``cache_hits`` the other line-sized operand reads the array makes from
SRAM (its reuse), so ``hit rate = 1 - DRAM-filled lines / operand line reads``.
"""

from __future__ import annotations

import math

from npusim.config import Scenario
from npusim.dram.standard import peak_bandwidth_bytes_per_s
from npusim.engine.energy import dram_streaming_energy_pj, sram_energy_pj, static_energy_pj
from npusim.engine.plan import LayerPlan, plan_layer
from npusim.results import Energy, LayerResult, RunResult
from npusim.workload import Workload

ANALYTIC_NOTE = (
    "analytic fidelity: roofline LOWER BOUND, cycles = max(fill + compute + drain, "
    "DRAM bytes / peak bandwidth); cache hits/misses are SRAM reuse, not a simulated cache"
)


def _tile_bytes(plan: LayerPlan) -> tuple[int, int]:
    """Bytes of the first input + weight tiles and of the last (possibly partial) output tile.

    Each is the tensor's stored bytes (metadata included) times the tile's share of the
    tensor, the same blocks the cycle engine's DMA moves (a conv input tile is its band of
    the stored ifmap, not its im2col expansion).
    """
    gemm, t = plan.layer.gemm(), plan.tiling
    first = (plan.input.total * t.tm * t.tk // (gemm.groups * gemm.m * gemm.k)
             + plan.weight.total * t.tk * t.tn // (gemm.groups * gemm.k * gemm.n))  # fmt: skip
    last_m, last_n = gemm.m - (gemm.m - 1) // t.tm * t.tm, gemm.n - (gemm.n - 1) // t.tn * t.tn
    last = plan.output.total * last_m * last_n // (gemm.groups * gemm.m * gemm.n)
    return first, last


def analytic_layer(plan: LayerPlan, scenario: Scenario) -> LayerResult:
    """One layer's lower-bound result (see the module docstring for every formula)."""
    peak = peak_bandwidth_bytes_per_s(scenario.dram.preset, scenario.dram.channels)
    bytes_per_cycle = peak / scenario.clock_hz
    timing, tiling = plan.timing, plan.tiling
    read, write = tiling.dram_read_bytes, tiling.dram_write_bytes
    first, last = _tile_bytes(plan)
    fill = math.ceil(first / bytes_per_cycle)
    drain = math.ceil(last / bytes_per_cycle)
    memory = math.ceil((read + write) / bytes_per_cycle)
    busy = fill + timing.compute_cycles + drain
    cycles = max(busy, memory)
    time_s = cycles / scenario.clock_hz
    line = scenario.sram.line_bytes
    operand_reads = timing.input_read_bytes + timing.weight_read_bytes + timing.output_read_bytes
    misses = -(-read // line)
    hits = max(-(-operand_reads // line) - misses, 0)
    sram_reads = operand_reads + write  # operands to the array, outputs to the DMA
    sram_writes = timing.output_write_bytes + read  # results from the array, fills from DRAM
    energy = Energy(
        mac=timing.mac_energy_pj,
        sram=sram_energy_pj(scenario, sram_reads, sram_writes),
        dram=dram_streaming_energy_pj(scenario, read, write, time_s),
        static=static_energy_pj(scenario, time_s),
    )
    gemm = plan.layer.gemm()
    return LayerResult(
        name=plan.layer.name, type=plan.layer.kind, m=gemm.m, k=gemm.k, n=gemm.n,
        groups=gemm.groups, macs=gemm.macs, cycles=cycles, time_s=time_s,
        compute_cycles=timing.compute_cycles, memory_cycles=memory,
        stall_cycles=cycles - timing.compute_cycles,
        bound="memory" if memory > busy else "compute",
        folds=timing.folds, mapping_efficiency=timing.mapping_efficiency,
        mac_utilization=gemm.macs / (cycles * _peak_macs_per_cycle(plan, scenario)),
        dram_read_bytes=read, dram_write_bytes=write,
        dram_bandwidth_gbps=(read + write) / time_s / 1e9,
        cache_hits=hits, cache_misses=misses,
        cache_hit_rate=hits / (hits + misses) if hits + misses else 0.0,
        energy_pj=energy,
        extra=_traffic_extra(plan),
    )  # fmt: skip


def _peak_macs_per_cycle(plan: LayerPlan, scenario: Scenario) -> float:
    """MACs the whole array completes per cycle at the layer's MAC precision."""
    rate = scenario.array.macs_per_pe_per_cycle[plan.mac_precision]
    return scenario.array.rows * scenario.array.cols * float(rate)


def _traffic_extra(plan: LayerPlan) -> dict[str, object]:
    """DRAM traffic by tensor kind and the chosen tiling (for plots and debugging)."""
    t = plan.tiling
    meta_in = plan.input.metadata_bytes * t.input_reuse
    meta_w = plan.weight.metadata_bytes * t.weight_reuse
    return {
        "weight_read_bytes": t.weight_read_bytes - meta_w,
        "input_read_bytes": t.input_read_bytes - meta_in,
        "output_write_bytes": t.output_write_bytes - plan.output.metadata_bytes,
        "metadata_bytes": meta_in + meta_w + plan.output.metadata_bytes,
        "tile": f"{t.tm}x{t.tk}x{t.tn} {t.order}",
        "mac_precision": plan.mac_precision,
    }


def run_analytic(scenario: Scenario, workload: Workload) -> RunResult:
    """Run every layer of ``workload`` on ``scenario`` in analytic fidelity."""
    layers = tuple(analytic_layer(plan_layer(layer, scenario), scenario)
                   for layer in workload.layers)  # fmt: skip
    return RunResult(
        scenario=scenario.name,
        workload=workload.name,
        fidelity="analytic",
        precision=scenario.precision.as_dict(),
        dram_peak_gbps=peak_bandwidth_bytes_per_s(scenario.dram.preset, scenario.dram.channels)
        / 1e9,
        pe_count=scenario.array.rows * scenario.array.cols,
        layers=layers,
        notes=(ANALYTIC_NOTE,),
    )
