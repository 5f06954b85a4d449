"""Turn a plan plus measured (or bounded) time and traffic into a :class:`LayerResult`.

Both fidelities report through this one function, so a figure means the same thing in both:
``memory_cycles`` is the DRAM bytes the layer moved at peak bandwidth, ``bound`` names the
larger of compute and memory demand, ``stall_cycles`` is the time the compute unit waited.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from npusim.config import Scenario
from npusim.dram import peak_bandwidth_bytes_per_s
from npusim.engine.energy import dram_phy_energy_pj
from npusim.engine.plan import LayerPlan
from npusim.results import Energy, LayerResult


def peak_bytes_per_cycle(scenario: Scenario) -> float:
    """Peak DRAM bytes per core cycle (data rate x 2 B x channels / core clock)."""
    peak = peak_bandwidth_bytes_per_s(scenario.dram.preset, scenario.dram.channels)
    return peak / scenario.clock_hz


def layer_result(
    plan: LayerPlan,
    scenario: Scenario,
    *,
    cycles: int,
    read_bytes: int,
    write_bytes: int,
    hits: int,
    misses: int,
    energy: Energy,
    extra: Mapping[str, Any],
) -> LayerResult:
    """The contract's per-layer figures (see the module docstring for the definitions);
    ``energy`` gains the SoC-side DRAM PHY's share of the bytes moved."""
    energy = replace(energy, phy=dram_phy_energy_pj(scenario, read_bytes, write_bytes))
    time_s = cycles / scenario.clock_hz
    memory = math.ceil((read_bytes + write_bytes) / peak_bytes_per_cycle(scenario))
    layer, timing = plan.layer, plan.timing
    gemm = layer.gemm()
    m, k, n, groups = (gemm.m, gemm.k, gemm.n, gemm.groups) if gemm else (0, 0, 0, 1)
    macs = gemm.macs if gemm else 0
    return LayerResult(
        name=layer.name, type=layer.kind, m=m, k=k, n=n, groups=groups, macs=macs,
        cycles=cycles, time_s=time_s, compute_cycles=plan.compute_cycles,
        memory_cycles=memory, stall_cycles=max(cycles - plan.compute_cycles, 0),
        bound="memory" if memory > plan.compute_cycles else "compute",
        folds=timing.folds if timing else 0,
        mapping_efficiency=timing.mapping_efficiency if timing else 0.0,
        mac_utilization=macs / (cycles * plan.peak_macs_per_cycle) if cycles else 0.0,
        peak_macs_per_cycle=plan.peak_macs_per_cycle,
        dram_read_bytes=read_bytes, dram_write_bytes=write_bytes,
        dram_bandwidth_gbps=(read_bytes + write_bytes) / time_s / 1e9 if cycles else 0.0,
        cache_hits=hits, cache_misses=misses,
        cache_hit_rate=hits / (hits + misses) if hits + misses else 0.0,
        energy_pj=energy,
        extra={"mac_precision": plan.mac_precision, "vector_ops": plan.vector_ops,
               "array_energy_pj": dict(plan.op_energy_parts_pj),
               **_tiling_extra(plan), **extra},
    )  # fmt: skip


def _tiling_extra(plan: LayerPlan) -> dict[str, Any]:
    t = plan.tiling
    if t is None:
        return {"tile": f"{plan.chunk_elements} elements"}
    return {"tile": f"{t.tm}x{t.tk}x{t.tn} {t.order}", "input_reuse": t.input_reuse,
            "weight_reuse": t.weight_reuse}  # fmt: skip


def traffic_by_kind(plan: LayerPlan, moved: Mapping[str, int]) -> dict[str, int]:
    """``<kind>_bytes`` payload per tensor kind and ``metadata_bytes``, from the DRAM bytes
    ``moved`` per kind (``input_read``, ``weight_read``, ``output_write``, ``spill_write``).
    Quantization metadata travels with its tensor, in proportion to the bytes moved; the
    figures add up to the bytes moved exactly."""
    tensors = {"input_read": plan.input, "weight_read": plan.weight,
               "output_write": plan.output, "spill_write": plan.output}  # fmt: skip
    out, metadata = {}, 0
    for kind, tensor in tensors.items():
        share = round(moved[kind] * tensor.metadata_bytes / tensor.total) if tensor.total else 0
        out[f"{kind}_bytes"] = moved[kind] - share
        metadata += share
    return {**out, "metadata_bytes": metadata}
