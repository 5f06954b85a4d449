"""Sweep plots per layer of the reference slice: the roofline and the time breakdown.

One colour per precision; long networks are shown per layer *kind* in the time breakdown.
"""

from __future__ import annotations

import re
from typing import Any

from npusim.report.plot_style import MARKERS, OKABE_ITO, colours
from npusim.sweep.views import WorkloadView, layer_times_s, precision_of

MAX_LAYERS_SHOWN = 12


def plot_roofline(plt: Any, view: WorkloadView) -> Any:
    """Roofline: each layer at (MACs per DRAM byte, achieved GMAC/s), one colour per precision.

    Roofs: the DRAM peak (GB/s x intensity) and each precision's compute peak (rows x cols x
    MACs/PE/cycle x clock, stored with the point). Filled marker = compute-bound layer. Layers
    without MACs (vector work: softmax, layernorm, element-wise) have no place on it.
    """
    points = view.slice()
    labels = [precision_of(p) for p in points]
    colour_of = colours(labels)
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
        c, m = colour_of[label], MARKERS[i % len(MARKERS)]
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
