"""Time a list of layers on one array: per-layer :class:`ArrayLayerStats` plus totals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from npusim.compute.array import ArrayLayerStats, MacArray
from npusim.compute.params import ArrayParams

if TYPE_CHECKING:  # runtime import would cycle: workload -> config -> compute
    from npusim.workload.layers import Gemm, Layer

_SUMMED = (
    "macs",
    "folds",
    "compute_cycles",
    "input_reads",
    "weight_reads",
    "output_writes",
    "output_reads",
    "input_read_bytes",
    "weight_read_bytes",
    "output_write_bytes",
    "output_read_bytes",
    "sram_output_write_bytes",
    "sram_output_read_bytes",
    "accumulator_writes",
    "accumulator_reads",
    "mac_energy_pj",
    "register_energy_pj",
)


@dataclass(frozen=True)
class ArrayRun:
    """Stats of named layers on one array at one precision.

    ``totals`` sums the additive fields of every layer (``_SUMMED``) and gives
    ``mac_utilization = total MACs / (total cycles * R * C * r)``; ``area_mm2`` is
    :meth:`MacArray.area_mm2` at the run's precision.
    """

    params: ArrayParams
    precision: str
    area_mm2: float
    layers: tuple[tuple[str, ArrayLayerStats], ...]
    totals: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        p = self.params
        return {
            "array": {
                "rows": p.rows,
                "cols": p.cols,
                "dataflow": getattr(p.dataflow, "value", p.dataflow),
                "fold_overlap": p.fold_overlap,
                "pack_groups": p.pack_groups,
                "precision": self.precision,
                "macs_per_pe_per_cycle": p.macs_per_pe_per_cycle[self.precision],
                "accumulator": p.accumulator_for(self.precision),
                "area_mm2": self.area_mm2,
            },
            "layers": [{"name": name, **asdict(stats)} for name, stats in self.layers],
            "totals": dict(self.totals),
        }


def run_layers(
    layers: Iterable[Layer | tuple[str, Gemm]], params: ArrayParams, precision: str
) -> ArrayRun:
    """Time every layer (a workload layer, or ``(name, Gemm)``) on ``params`` at ``precision``.

    Raises :class:`ConfigError` for bad params or an unsupported precision and
    :class:`WorkloadError` for a bad GEMM.
    """
    array = MacArray(params)
    rate = float(array.rate(precision))
    named: list[tuple[str, ArrayLayerStats]] = []
    for layer in layers:
        name, gemm = layer if isinstance(layer, tuple) else (layer.name, layer.gemm())
        named.append((name, array.layer_timing(gemm, precision)))
    totals: dict[str, float] = {key: sum(getattr(s, key) for _, s in named) for key in _SUMMED}
    peak = totals["compute_cycles"] * array.params.rows * array.params.cols * rate
    totals["mac_utilization"] = totals["macs"] / peak if peak else 0.0
    return ArrayRun(array.params, precision, array.area_mm2(precision), tuple(named), totals)
