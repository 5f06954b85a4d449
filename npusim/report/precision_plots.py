"""Sweep plots that compare precisions: bandwidth, traffic, energy, hit rate and SQNR.

Each draws one value per precision (x: the precision and its weight bits) from the stored
points; energy and traffic draw one panel per value of the sweep's other axis
(:func:`npusim.report.plot_groups.facets`), bandwidth one line per combination of the other
axes' values (:func:`npusim.report.plot_groups.group_by_other_axes`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from npusim.report.plot_groups import facets, group_by_other_axes
from npusim.report.plot_style import (
    BYTES_PER_MIB,
    HATCHES,
    MARKERS,
    OKABE_ITO,
    PJ_PER_UJ,
    message_figure,
    x_labels,
)
from npusim.results import ENERGY_PARTS
from npusim.sweep.views import (
    WorkloadView,
    capacity_bytes,
    precision_of,
    read_write_bytes,
    sqnr_db,
    tensor_bytes,
    values_per_s,
)

MAX_LINES = 6
"""Bandwidth plot: lines (combinations of the other axes) before it shows the reference slice."""


def plot_bandwidth(plt: Any, view: WorkloadView) -> Any:
    """Effective DRAM bandwidth (GB/s) and values moved per second vs bit-width."""
    fig, (ax_bw, ax_vals) = plt.subplots(1, 2, figsize=(10, 4.2))
    labels = view.precisions()
    x = list(range(len(labels)))
    lines = group_by_other_axes(view, MAX_LINES, unnamed=view.workload)
    for i, (name, points) in enumerate(lines):
        by_label = {precision_of(p): p.summary["totals"] for p in points}
        ys = [by_label[lb]["dram_bandwidth_gbps"] if lb in by_label else float("nan")
              for lb in labels]  # fmt: skip
        style = {"color": OKABE_ITO[i % 8], "marker": MARKERS[i % 8], "label": name}
        ax_bw.plot(x, ys, **style)
        ax_vals.plot(x, [values_per_s(y * 1e9, lb) / 1e9 for y, lb in zip(ys, labels,
                     strict=True)], **style)  # fmt: skip
    peak_gbps = view.points[0].summary["totals"]["dram_peak_gbps"]
    ax_bw.axhline(peak_gbps, color="0.3", ls="--", label=f"peak {peak_gbps:g} GB/s")
    ax_vals.plot(x, [values_per_s(peak_gbps * 1e9, lb) / 1e9 for lb in labels], color="0.3",
                 ls="--", label="at peak bandwidth")  # fmt: skip
    ax_bw.set(ylabel="effective DRAM bandwidth (GB/s)", ylim=(0, peak_gbps * 1.1),
              title="DRAM bandwidth achieved")  # fmt: skip
    ax_vals.set(ylabel="values moved (billion/s)", yscale="log",
                title="values per second = B/s × 8 / bits")  # fmt: skip
    for ax in (ax_bw, ax_vals):
        ax.set_xticks(x, x_labels(labels))
        ax.set_xlabel("precision (weight bits)")
    ax_vals.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax_bw.legend(handles=ax_bw.get_lines()[-1:], fontsize=8, loc="lower left")
    fig.suptitle(view.title("Bandwidth vs bit-width"))
    return fig


def _stacked(
    plt: Any, view: WorkloadView, what: str, ylabel: str,
    parts: Callable[[Any], dict[str, float] | None],
) -> Any:  # fmt: skip
    """Stacked bars per precision of ``parts(point)`` (name -> value), one panel per facet."""
    panels = [(label, points) for label, points in facets(view) if points]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(9.0, 3.0 + 3.0 * len(panels)), 4.4),
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, (label, points) in zip(axes[0], panels, strict=True):
        labels = [precision_of(p) for p in points]
        stacks = [parts(p) or {} for p in points]
        bottom = [0.0] * len(points)
        for i, kind in enumerate(dict.fromkeys(k for st in stacks for k in st)):
            values = [st.get(kind, 0.0) for st in stacks]
            ax.bar(range(len(points)), values, bottom=bottom, color=OKABE_ITO[i % 8],
                   hatch=HATCHES[i % len(HATCHES)], edgecolor="white", label=kind)  # fmt: skip
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(range(len(points)), x_labels(labels), rotation=90, fontsize=8)
        ax.set(xlabel="precision (weight bits)", title=label)
    axes[0][0].set_ylabel(ylabel)
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(view.title(what))
    return fig


def plot_traffic(plt: Any, view: WorkloadView) -> Any:
    """DRAM traffic (MiB) per tensor kind, stacked, vs bit-width; one panel per value of the
    other axis. A fidelity that reports no per-kind split shows DRAM reads and writes, and
    says so."""
    split = all(tensor_bytes(p) is not None for p in view.points)
    what = ("DRAM traffic by tensor kind" if split
            else f"DRAM reads/writes ({view.fidelity} reports no per-kind split)")  # fmt: skip

    def parts(point: Any) -> dict[str, float]:
        by_kind = tensor_bytes(point) if split else read_write_bytes(point)
        return {k: v / BYTES_PER_MIB for k, v in (by_kind or {}).items()}

    return _stacked(plt, view, what, "DRAM traffic (MiB per inference)", parts)


def plot_energy(plt: Any, view: WorkloadView) -> Any:
    """Energy per inference (µJ) by component, stacked per precision; one panel per value of
    the other axis."""

    def parts(point: Any) -> dict[str, float]:
        energy = point.summary["totals"]["energy_pj"]
        # points stored before schema 4 have no PHY part
        return {(part.upper() if part != "static" else part): energy.get(part, 0.0) / PJ_PER_UJ
                for part in ENERGY_PARTS}  # fmt: skip

    return _stacked(plt, view, "Energy breakdown", "energy per inference (µJ)", parts)


def plot_hit_rate(plt: Any, view: WorkloadView) -> Any:
    """Cache hit rate vs SRAM capacity (MiB, log2), one line per precision."""
    what = "Cache hit rate vs SRAM capacity"
    points = view.slice(free=("sram.capacity",))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, label in enumerate(view.precisions()):
        mine = sorted((capacity_bytes(p.axes["sram.capacity"]) / BYTES_PER_MIB,
                       p.summary["totals"]["cache_hit_rate"])
                      for p in points if precision_of(p) == label)  # fmt: skip
        if mine:
            ax.plot(*zip(*mine, strict=True), marker=MARKERS[i % 8], color=OKABE_ITO[i % 8],
                    label=label)  # fmt: skip
    ax.set_xscale("log", base=2)
    capacities = sorted({capacity_bytes(v) / BYTES_PER_MIB for v in view.axes["sram.capacity"]})
    ax.set_xticks(capacities, [f"{c:g}" for c in capacities])
    ax.minorticks_off()
    ax.set(xlabel="SRAM capacity (MiB)", ylabel="cache hit rate (fraction)", ylim=(0, 1.02))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    label = view.slice_label(free=("sram.capacity",))
    ax.set_title(view.title(f"{what}  {label}".rstrip()))
    return fig


def plot_sqnr(plt: Any, view: WorkloadView) -> Any:
    """Mean per-layer SQNR (dB) vs energy per inference (µJ), one marker per precision."""
    what = "SQNR vs energy per inference"
    points = view.slice()
    rows = [(p, sqnr_db(p)) for p in points]
    if not any(s for _, s in rows):
        text = (
            f"SQNR is not available for fidelity '{view.fidelity}':\n"
            "the runs report no per-layer weight_sqnr_db / input_sqnr_db."
        )
        return message_figure(plt, view, what, text)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    lossless = []
    labelled: set[str] = set()
    for i, (operand, marker) in enumerate((("weights", "o"), ("activations", "s"))):
        pts = [(p.summary["totals"]["energy_pj"]["total"] / PJ_PER_UJ, s[operand], precision_of(p))
               for p, s in rows if s and operand in s]  # fmt: skip
        finite = [t for t in pts if t[1] != float("inf")]
        lossless += [t[2] for t in pts if t[1] == float("inf")]
        if finite:
            ax.plot([t[0] for t in finite], [t[1] for t in finite], marker=marker,
                    color=OKABE_ITO[i], label=f"{operand} (mean over layers)")  # fmt: skip
            for j, (x, y, label) in enumerate(finite):
                if label not in labelled:  # one label per precision
                    labelled.add(label)
                    offset = (6, 6) if j % 2 == 0 else (6, -14)
                    ax.annotate(label, (x, y), textcoords="offset points", xytext=offset,
                                fontsize=8)  # fmt: skip
    if lossless:
        ax.text(0.98, 0.03, f"lossless (∞ dB), not drawn: {', '.join(sorted(set(lossless)))}",
                transform=ax.transAxes, fontsize=8, ha="right")  # fmt: skip
    ax.margins(x=0.1, y=0.12)
    ax.set(xlabel="energy per inference (µJ)", ylabel="SQNR (dB)")
    ax.legend(fontsize=8)
    ax.set_title(view.title(f"{what}  {view.slice_label()}"))
    return fig
