"""Views of a sweep's stored points for plots and reports (plain data, no matplotlib).

Plots against bit-width need one value per precision; when the sweep has other axes too, the
*reference slice* fixes each other axis at the first value listed in the sweep file (plots
say which in their title).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npusim.precision import PRECISIONS
from npusim.sweep.spec import PRECISION_AXIS
from npusim.sweep.store import ResultStore, StoredPoint
from npusim.units import Dimension, parse_quantity

#: Per-layer DRAM bytes by tensor kind, as the engine names them (summary.json layer keys);
#: together they are the layer's DRAM reads plus writes.
TENSOR_KINDS = {
    "weights": "weight_read_bytes",
    "activations": "input_read_bytes",
    "outputs": "output_write_bytes",
    "spills": "spill_write_bytes",
    "metadata": "metadata_bytes",
}
SQNR_KEYS = {"weights": "weight_sqnr_db", "activations": "input_sqnr_db"}


@dataclass(frozen=True)
class WorkloadView:
    """The successful points of one workload of a sweep, with the sweep's context."""

    sweep: str
    scenario: str
    workload: str
    fidelity: str
    axes: Mapping[str, Sequence[Any]]
    points: tuple[StoredPoint, ...]

    @property
    def other_axes(self) -> list[str]:
        """The axes other than precision."""
        return [k for k in self.axes if k != PRECISION_AXIS]

    def reference(self, free: Sequence[str] = ()) -> dict[str, Any]:
        """The reference slice: each other axis (except ``free``) at its first listed value."""
        return {k: self.axes[k][0] for k in self.other_axes if k not in free}

    def slice(
        self, free: Sequence[str] = (), only: Mapping[str, Any] | None = None
    ) -> list[StoredPoint]:
        """Points of the reference slice (``only`` fixing some axes to other values), sorted
        by bit-width (widest first)."""
        ref = {**self.reference(free), **(only or {})}
        chosen = [p for p in self.points if all(p.axes.get(k) == v for k, v in ref.items())]
        return sorted(chosen, key=lambda p: precision_order(precision_of(p)))

    def slice_label(self, free: Sequence[str] = ()) -> str:
        """``sram.capacity = 1 MiB`` (empty when the slice fixes nothing)."""
        return ", ".join(f"{k} = {v}" for k, v in self.reference(free).items())

    def precisions(self) -> list[str]:
        """Precisions present, widest first."""
        return sorted({precision_of(p) for p in self.points}, key=precision_order)

    def title(self, what: str) -> str:
        return f"{what}\n{self.scenario} · {self.workload} · {self.fidelity}"


def load_views(folder: str | Path) -> tuple[dict[str, Any], list[WorkloadView]]:
    """The sweep's meta and one view per workload (successful points of the sweep's fidelity)."""
    with ResultStore(folder, create=False) as store:
        meta = store.meta("sweep", {})
        points = [p for p in store.points() if p.ok]
    fidelity = meta.get("fidelity") or (points[0].fidelity if points else "")
    points = [p for p in points if p.fidelity == fidelity]
    workloads = list(dict.fromkeys(meta.get("workloads", []) + [p.workload for p in points]))
    views = []
    for workload in workloads:
        mine = tuple(p for p in points if p.workload == workload)
        if mine:
            scenario = mine[0].summary["scenario"] if mine[0].summary else ""
            views.append(WorkloadView(meta.get("name", Path(folder).name), scenario, workload,
                                      fidelity, meta.get("axes", {}), mine))  # fmt: skip
    return meta, views


def precision_of(point: StoredPoint) -> str:
    """The run's precision label (``int8``, ``w4a8``, ``int8+fc:w4a8``; runs stored before
    labels existed: ``int8`` or ``wint4-aint8``)."""
    assert point.summary is not None
    if point.summary.get("precision_label"):
        return str(point.summary["precision_label"])
    p = point.summary["precision"]
    return (
        p["weights"] if p["weights"] == p["activations"] else f"w{p['weights']}-a{p['activations']}"
    )


def weight_bits(label: str) -> int:
    """Bits of the weights of a precision label (``w4a8``, ``wint4-aint8``, ``wfp16-aint8``,
    ``int8+fc:w4a8`` -> 4, 4, 16, 8: the whole network's weights, before any ``+``)."""
    base = label.split("+")[0]
    if base in PRECISIONS:
        return PRECISIONS[base].bits
    if base.startswith("w") and "-a" in base:
        return PRECISIONS[base[1:].split("-a")[0]].bits
    short = re.fullmatch(r"w(u?)(\d+)a(u?)(\d+)", base)
    if short is None:
        raise ValueError(f"not a precision label: {label!r}")
    return PRECISIONS[f"{'uint' if short.group(1) else 'int'}{short.group(2)}"].bits


def precision_order(label: str) -> tuple[int, str]:
    """Sort key: widest weights first, then by name."""
    return (-weight_bits(label), label)


def values_per_s(bytes_per_s: float, label: str) -> float:
    """Values moved per second by ``bytes_per_s`` at the label's weight width: B/s x 8 / bits.

    At 51.2 GB/s that is 12.8 billion FP32 values/s and 51.2 billion INT8 values/s.
    """
    return bytes_per_s * 8 / weight_bits(label)


def tensor_bytes(point: StoredPoint) -> dict[str, int] | None:
    """DRAM bytes by tensor kind, summed over layers; None if the run reports no such split."""
    assert point.summary is not None
    layers = point.summary["layers"]
    if not any(key in layer for layer in layers for key in TENSOR_KINDS.values()):
        return None
    return {kind: sum(int(layer.get(key, 0)) for layer in layers)
            for kind, key in TENSOR_KINDS.items()}  # fmt: skip


def read_write_bytes(point: StoredPoint) -> dict[str, int]:
    """Total DRAM bytes read and written (every fidelity reports these)."""
    assert point.summary is not None
    totals = point.summary["totals"]
    return {"reads": totals["dram_read_bytes"], "writes": totals["dram_write_bytes"]}


def capacity_bytes(value: Any) -> float:
    """An ``sram.capacity`` axis value (``"2 MiB"`` or a number of bytes) in bytes."""
    return float(parse_quantity(value, Dimension.BYTES))


def sqnr_db(point: StoredPoint) -> dict[str, float] | None:
    """Mean over layers of the per-layer SQNR in dB, by operand; None if the run reports none.

    A layer's SQNR of ``null`` means exact (an infinite SQNR, e.g. FP32 operands); such layers
    are left out of the mean, and a point whose layers are all exact reports ``inf``. Layers
    without the key (no weights, e.g. softmax) do not count.
    """
    assert point.summary is not None
    layers = point.summary["layers"]
    out = {}
    for operand, key in SQNR_KEYS.items():
        values = [math.inf if layer[key] is None else float(layer[key])
                  for layer in layers if key in layer]  # fmt: skip
        if not values:
            continue
        finite = [v for v in values if math.isfinite(v)]
        out[operand] = sum(finite) / len(finite) if finite else math.inf
    return out or None


def layer_times_s(point: StoredPoint) -> dict[str, tuple[float, float]]:
    """Per layer: (compute time, memory-stall time) in seconds.

    The layer's ``compute_cycles`` and ``stall_cycles`` (which add up to its ``cycles`` in the
    engines' results) converted at the layer's own seconds per cycle (``time_s / cycles``).
    """
    assert point.summary is not None
    times = {}
    for layer in point.summary["layers"]:
        period_s = layer["time_s"] / layer["cycles"] if layer["cycles"] else 0.0
        times[layer["name"]] = (layer["compute_cycles"] * period_s,
                                layer["stall_cycles"] * period_s)  # fmt: skip
    return times


def accuracy_block(point: StoredPoint) -> dict[str, Any] | None:
    """The point's ``accuracy`` block (an accuracy sweep's), or None."""
    assert point.summary is not None
    block = point.summary.get("accuracy")
    return dict(block) if isinstance(block, Mapping) else None


def pareto_front(costs: Sequence[float], accuracies: Sequence[float]) -> list[int]:
    """Indices of the points no other point beats: none has lower-or-equal cost and
    higher-or-equal accuracy with one of them strictly better. Sorted by cost (then by
    accuracy, best first); of exact duplicates the first listed is kept."""
    order = sorted(range(len(costs)), key=lambda i: (costs[i], -accuracies[i], i))
    front: list[int] = []
    for i in order:
        if not front or accuracies[i] > accuracies[front[-1]]:
            front.append(i)
    return front
