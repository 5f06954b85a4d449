"""Sweep plots (PNG and SVG) with matplotlib: the only module besides html.py that imports it.

Every figure comes from stored simulation results through :mod:`npusim.sweep.views`; a plot
whose axis the sweep lacks (hit rate without an ``sram.capacity`` axis) is not drawn, and one
the runs cannot support (no SQNR in this fidelity) says so instead of drawing invented numbers.
Energy and traffic draw one panel per value of the sweep's other axis (or say which value they
show). Legends sit outside the axes. Colours are the Okabe-Ito colour-blind-safe palette
(Okabe & Ito, "Color Universal Design", 2008); markers and hatches double the colour cues.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npusim.outdir import remove_stale_temporaries, write_file
from npusim.report.accuracy_plots import has_accuracy, plot_accuracy_energy, plot_accuracy_traffic
from npusim.report.figures import pyplot, render
from npusim.report.frame_plots import has_frames, plot_frame_energy
from npusim.results import ENERGY_PARTS
from npusim.sweep.views import (
    WorkloadView,
    capacity_bytes,
    layer_times_s,
    load_views,
    precision_of,
    read_write_bytes,
    sqnr_db,
    tensor_bytes,
    values_per_s,
    weight_bits,
)

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000",
             "#F0E442")  # fmt: skip
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "//", "..", "xx")
PJ_PER_UJ = 1e6
BYTES_PER_MIB = 2**20
MAX_LAYERS_SHOWN = 12


def _pyplot() -> Any:
    plt = pyplot()
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.grid": True,
                         "grid.alpha": 0.3})  # fmt: skip
    return plt


@dataclass(frozen=True)
class PlotFile:
    """A written plot: its stem, PNG and SVG paths (relative to the sweep folder), caption."""

    name: str
    workload: str
    png: str
    svg: str
    caption: str


def _colours(labels: list[str]) -> dict[str, str]:
    return {label: OKABE_ITO[i % len(OKABE_ITO)] for i, label in enumerate(labels)}


def x_labels(labels: list[str]) -> list[str]:
    return [f"{label}\n({weight_bits(label)} b)" for label in labels]


def _message(plt: Any, view: WorkloadView, what: str, text: str) -> Any:
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11)
    ax.set_title(view.title(what))
    return fig


def plot_bandwidth(plt: Any, view: WorkloadView) -> Any:
    """Effective DRAM bandwidth (GB/s) and values moved per second vs bit-width."""
    fig, (ax_bw, ax_vals) = plt.subplots(1, 2, figsize=(10, 4.2))
    labels = view.precisions()
    x = list(range(len(labels)))
    combos = _combos(view)
    for i, (name, points) in enumerate(combos.items()):
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


def _combos(view: WorkloadView) -> dict[str, list[Any]]:
    """Points grouped by the values of the non-precision axes (one line each, at most 6)."""
    groups: dict[str, list[Any]] = {}
    others = view.other_axes
    for p in view.points:
        name = ", ".join(f"{k}={p.axes.get(k)}" for k in others) or view.workload
        groups.setdefault(name, []).append(p)
    if len(groups) > 6:
        return {view.slice_label() or view.workload: view.slice()}
    return groups


MAX_FACETS = 4


def _facets(view: WorkloadView) -> list[tuple[str, list[Any]]]:
    """One panel per value of the sweep's single other axis (up to :data:`MAX_FACETS`), else
    the reference slice alone, its title saying which values it fixes."""
    others = view.other_axes
    if len(others) == 1 and len(view.axes[others[0]]) <= MAX_FACETS:
        axis = others[0]
        return [(f"{axis} = {value}", view.slice(free=(axis,), only={axis: value}))
                for value in view.axes[axis]]  # fmt: skip
    label = view.slice_label()
    return [(f"only {label} shown" if label else "", view.slice())]


def _stacked(
    plt: Any, view: WorkloadView, what: str, ylabel: str,
    parts: Callable[[Any], dict[str, float] | None],
) -> Any:  # fmt: skip
    """Stacked bars per precision of ``parts(point)`` (name -> value), one panel per facet."""
    facets = [(label, points) for label, points in _facets(view) if points]
    fig, axes = plt.subplots(1, len(facets), figsize=(min(9.0, 3.0 + 3.0 * len(facets)), 4.4),
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, (label, points) in zip(axes[0], facets, strict=True):
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


def plot_roofline(plt: Any, view: WorkloadView) -> Any:
    """Roofline: each layer at (MACs per DRAM byte, achieved GMAC/s), one colour per precision.

    Roofs: the DRAM peak (GB/s x intensity) and each precision's compute peak (rows x cols x
    MACs/PE/cycle x clock, stored with the point). Filled marker = compute-bound layer. Layers
    without MACs (vector work: softmax, layernorm, element-wise) have no place on it.
    """
    points = view.slice()
    labels = [precision_of(p) for p in points]
    colours = _colours(labels)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    peak_bps = points[0].summary["totals"]["dram_peak_gbps"] * 1e9
    intensities = []
    for i, (p, label) in enumerate(zip(points, labels, strict=True)):
        xs, ys, filled = [], [], []
        for layer in p.summary["layers"]:
            moved = layer["dram_read_bytes"] + layer["dram_write_bytes"]
            if moved and layer["macs"] and layer["time_s"] > 0:
                xs.append(layer["macs"] / moved)
                ys.append(layer["macs"] / layer["time_s"] / 1e9)
                filled.append(layer["bound"] == "compute")
        intensities += xs
        c, m = colours[label], MARKERS[i % len(MARKERS)]
        for fill in (True, False):
            sel = [(x, y) for x, y, f in zip(xs, ys, filled, strict=True) if f is fill]
            if sel:
                ax.scatter(*zip(*sel, strict=True), marker=m, s=36, zorder=3, edgecolors=c,
                           facecolors=c if fill else "none",
                           label=label if fill or not any(filled) else None)  # fmt: skip
        if p.peak_macs_per_s:
            ax.axhline(p.peak_macs_per_s / 1e9, color=c, lw=0.8, ls=":")
    lo, hi = min(intensities) / 2, max(intensities) * 2
    ax.plot([lo, hi], [peak_bps * lo / 1e9, peak_bps * hi / 1e9], color="0.3", ls="--",
            label=f"DRAM roof {peak_bps / 1e9:g} GB/s")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), xlabel="arithmetic intensity (MAC/B DRAM)",
           ylabel="achieved performance (GMAC/s)")  # fmt: skip
    ax.legend(fontsize=8, title="filled: compute-bound\nhollow: memory-bound\ndotted: compute roof",
              title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))  # fmt: skip
    ax.set_title(view.title(f"Roofline per layer  {view.slice_label()}"))
    return fig


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
        return _message(plt, view, what, text)
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


def plot_layer_time(plt: Any, view: WorkloadView) -> Any:
    """Time per layer (µs): compute (solid) and memory stall (hatched), one bar per precision.

    Networks with more than :data:`MAX_LAYERS_SHOWN` layers are shown per layer *kind*: layers
    whose names differ only in digits are summed (``h0_qkv`` ... ``h11_qkv`` -> ``h#_qkv``).
    """
    points = view.slice()
    labels = [precision_of(p) for p in points]
    groups = _layer_groups(list(layer_times_s(points[0])))
    times = [_grouped(layer_times_s(p), groups) for p in points]
    names = list(groups)
    rows_in = 0.2 * len(names) * max(2, len(points)) / 2
    fig, ax = plt.subplots(figsize=(8, min(9.0, 1.4 + rows_in)))
    height = 0.8 / len(points)
    for i, (label, group_times) in enumerate(zip(labels, times, strict=True)):
        ys = [j + i * height for j in range(len(names))]
        compute = [group_times[n][0] * 1e6 for n in names]
        ax.barh(ys, compute, height, color=OKABE_ITO[i % 8], label=label)
        ax.barh(ys, [group_times[n][1] * 1e6 for n in names], height, left=compute,
                color="white", edgecolor=OKABE_ITO[i % 8], hatch="////")  # fmt: skip
    ax.set_yticks([j + 0.4 - height / 2 for j in range(len(names))], names)
    ax.invert_yaxis()
    per = "layer" if all(len(v) == 1 for v in groups.values()) else "layer kind (summed)"
    ax.set_xlabel(f"time per {per} (µs): solid = compute, hatched = memory stall")
    ax.legend(fontsize=8, ncol=min(6, len(labels)), loc="lower right")
    ax.set_title(view.title(f"Per-layer time breakdown  {view.slice_label()}"))
    return fig


def _layer_groups(names: list[str]) -> dict[str, list[str]]:
    """Each layer alone, or (for long networks) layers grouped by name with digits as ``#``."""
    if len(names) <= MAX_LAYERS_SHOWN:
        return {n: [n] for n in names}
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(re.sub(r"\d+", "#", name), []).append(name)
    return {f"{k} (×{len(v)})" if len(v) > 1 else k: v for k, v in groups.items()}


def _grouped(
    times: dict[str, tuple[float, float]], groups: dict[str, list[str]]
) -> dict[str, tuple[float, float]]:
    return {g: (sum(times[n][0] for n in members), sum(times[n][1] for n in members))
            for g, members in groups.items()}  # fmt: skip


# A plot drawn only when the sweep has this axis (else it is left out, not drawn flat).
NEEDS_AXIS = {"hit_rate": "sram.capacity"}

PLOTS: dict[str, tuple[Callable[[Any, WorkloadView], Any], str]] = {
    "bandwidth": (plot_bandwidth, "Effective DRAM bandwidth and values moved per second"),
    "traffic": (plot_traffic, "DRAM traffic per tensor kind"),
    "energy": (plot_energy, "Energy breakdown per precision"),
    "roofline": (plot_roofline, "Roofline: layers per precision"),
    "hit_rate": (plot_hit_rate, "Cache hit rate vs SRAM capacity"),
    "sqnr": (plot_sqnr, "SQNR vs energy per inference"),
    "layer_time": (plot_layer_time, "Per-layer time: compute vs memory stall"),
}
# Drawn (after PLOTS) only for a workload whose points carry their figures: sweeps run with
# --accuracy, and sweeps of scenarios with a frame_rate.
EXTRA_PLOTS: dict[str, tuple[Callable[[Any, WorkloadView], Any], str, Callable[..., bool]]] = {
    "accuracy_energy": (plot_accuracy_energy, "Top-1 accuracy vs energy per inference",
                        has_accuracy),
    "accuracy_traffic": (plot_accuracy_traffic, "Top-1 accuracy vs DRAM traffic", has_accuracy),
    "frame_energy": (plot_frame_energy, "Energy per frame: the inference and the idle time to "
                     "the next frame", has_frames),
}  # fmt: skip


def write_plots(
    folder: str | Path,
    names: Sequence[str] | None = None,
    plot_dir: str = "plots",
    dpi: int = 100,
) -> list[PlotFile]:
    """Draw the plots ``names`` (default: all of :data:`PLOTS`, and those of
    :data:`EXTRA_PLOTS` whose figures the points carry) for every workload of the sweep in
    ``folder``, PNG + SVG each, to ``folder/plot_dir/<plot>-<workload>.{png,svg}``.

    Returns the files in order. Raises :class:`NpusimError` if ``folder`` holds no sweep.
    """
    plt = _pyplot()
    folder = Path(folder)
    out = folder / plot_dir
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    _, views = load_views(folder)
    files = []
    for view in views:
        stem_workload = "".join(c if c.isalnum() or c in "-_" else "_" for c in view.workload)
        extra = {name: entry[:2] for name, entry in EXTRA_PLOTS.items() if entry[2](view)}
        for name, (draw, caption) in {**PLOTS, **extra}.items():
            if names is not None and name not in names:
                continue
            needed = NEEDS_AXIS.get(name)
            if needed is not None and needed not in view.axes:
                continue
            free = ("sram.capacity",) if name == "hit_rate" else ()
            if view.slice(free):
                fig = draw(plt, view)
            else:
                where = view.slice_label(free)
                fig = _message(plt, view, caption, f"No successful point at {where}.")
            stem = f"{name}-{stem_workload}"
            fig.tight_layout()
            # whole files or none: a killed report leaves no truncated plot
            write_file(out / f"{stem}.png", render(fig, "png", dpi=dpi))
            write_file(out / f"{stem}.svg", render(fig, "svg"))
            plt.close(fig)
            files.append(PlotFile(name, view.workload, f"{plot_dir}/{stem}.png",
                                  f"{plot_dir}/{stem}.svg", caption))  # fmt: skip
    return files
