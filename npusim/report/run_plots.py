"""Plots of one run: DRAM bandwidth over simulated time and per-layer breakdowns.

Matplotlib is imported inside the functions (Agg backend, no display needed), so importing
npusim never pays for it. Colours are the Okabe-Ito colour-blind-safe palette.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from npusim.report.figures import pyplot, render
from npusim.results import ENERGY_PARTS, RunResult

OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
             "#000000")  # fmt: skip
BINS = 400
MAX_LAYERS_SHOWN = 24  # per-layer breakdown: the longest layers, the rest summed as "other"
MAX_LAYER_NAMES = 16  # bandwidth plot: names on the longest layer spans


def _pyplot() -> Any:
    return pyplot()


def bandwidth_series(result: RunResult, bins: int = BINS) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray]:  # fmt: skip
    """(bin centres in s, read GB/s, write GB/s): each transfer's bytes spread evenly over its
    [start, end] interval, then averaged per bin, so the curve integrates to the bytes moved."""
    total_s = sum(layer.time_s for layer in result.layers)
    edges = np.linspace(0.0, total_s, bins + 1)
    timeline = result.timeline or {}
    start = np.asarray(timeline.get("start_s", []), dtype=float)
    end = np.maximum(np.asarray(timeline.get("end_s", []), dtype=float), start + 1e-15)
    series = []
    for column in ("read_bytes", "write_bytes"):
        amount = np.asarray(timeline.get(column, []), dtype=float)
        delivered = np.zeros(bins + 1)
        for chunk in range(0, start.shape[0], 4096):
            s, e, a = (
                start[chunk : chunk + 4096],
                end[chunk : chunk + 4096],
                amount[chunk : chunk + 4096],
            )
            share = np.clip((edges[None, :] - s[:, None]) / (e - s)[:, None], 0.0, 1.0)
            delivered += (share * a[:, None]).sum(axis=0)
        series.append(np.diff(delivered) / np.diff(edges) / 1e9)
    return (edges[:-1] + edges[1:]) / 2, series[0], series[1]


def plot_bandwidth_over_time(result: RunResult, stem: str) -> dict[str, bytes]:
    """DRAM read and write bandwidth vs time, layer boundaries marked, peak as a line."""
    plt = _pyplot()
    centres, read, write = bandwidth_series(result)
    fig, ax = plt.subplots(figsize=(9, 4), dpi=110)
    ax.plot(centres * 1e6, read, color=OKABE_ITO[4], label="read")
    ax.plot(centres * 1e6, write, color=OKABE_ITO[5], label="write")
    ax.axhline(result.dram_peak_gbps, color=OKABE_ITO[7], linestyle="--",
               label=f"peak {result.dram_peak_gbps:.1f} GB/s")  # fmt: skip
    starts = np.cumsum([0.0] + [layer.time_s for layer in result.layers]) * 1e6
    for boundary in starts[1:-1]:
        ax.axvline(boundary, color="0.8", linewidth=0.6, zorder=0)
    longest = sorted(range(len(result.layers)), key=lambda i: -result.layers[i].time_s)
    for i in longest[:MAX_LAYER_NAMES]:
        ax.text((starts[i] + starts[i + 1]) / 2, result.dram_peak_gbps * 1.57,
                result.layers[i].name, rotation=90, ha="center", va="top", fontsize=6,
                color="0.35", clip_on=True)  # fmt: skip
    named = "" if len(result.layers) <= MAX_LAYER_NAMES else f", {MAX_LAYER_NAMES} longest named"
    ax.set_xlabel("simulated time (µs)")
    ax.set_ylabel("DRAM bandwidth (GB/s)")
    ax.set_ylim(0, result.dram_peak_gbps * 1.6)  # headroom for the layer names
    ax.set_title(f"DRAM bandwidth over time: {result.scenario}, {result.workload}, "
                 f"{_label(result)} (grey: layer boundaries{named})")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return _render(fig, stem)


def _label(result: RunResult) -> str:
    return str(result.extra.get("precision_label") or result.precision["weights"])


def breakdown_groups(result: RunResult) -> list[tuple[str, list[int]]]:
    """Bars of the per-layer breakdown: each of the :data:`MAX_LAYERS_SHOWN` longest layers
    in execution order, then ``other (N layers)`` summing the rest (if any)."""
    order = sorted(range(len(result.layers)), key=lambda i: -result.layers[i].time_s)
    shown = sorted(order[:MAX_LAYERS_SHOWN])
    groups = [(result.layers[i].name, [i]) for i in shown]
    rest = sorted(order[MAX_LAYERS_SHOWN:])
    if rest:
        groups.append((f"other ({len(rest)} layers)", rest))
    return groups


def plot_layer_breakdown(result: RunResult, stem: str) -> dict[str, bytes]:
    """Per layer: time split into compute and stall, and energy by component."""
    plt = _pyplot()
    groups = breakdown_groups(result)
    layers = result.layers
    x = np.arange(len(groups))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(8, 0.25 * len(groups) + 4), 7), dpi=110,
                                      sharex=True)  # fmt: skip

    def summed(value: Any) -> np.ndarray:
        return np.array([sum(value(layers[i]) for i in members) for _, members in groups])

    compute_us = summed(lambda la: min(la.compute_cycles, la.cycles) / la.cycles * la.time_s
                        if la.cycles else 0.0) * 1e6  # fmt: skip
    total_us = summed(lambda la: la.time_s) * 1e6
    top.bar(x, compute_us, color=OKABE_ITO[2], label="compute")
    top.bar(x, total_us - compute_us, bottom=compute_us, color=OKABE_ITO[0],
            label="stall (waiting for memory)")  # fmt: skip
    top.set_ylabel("time (µs)")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    shown = "" if len(groups) == len(layers) else f" ({MAX_LAYERS_SHOWN} longest layers)"
    top.set_title(f"Per-layer time and energy{shown}: {result.scenario}, {result.workload}, "
                  f"{_label(result)}")  # fmt: skip
    bottom_acc = np.zeros(len(groups))
    for color, part in zip(OKABE_ITO[3:8], ENERGY_PARTS, strict=True):
        values = summed(lambda la, part=part: getattr(la.energy_pj, part)) * 1e-6
        bottom.bar(x, values, bottom=bottom_acc, color=color, label=part.upper())
        bottom_acc += values
    bottom.set_ylabel("energy (µJ)")
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    bottom.set_xticks(x, [name for name, _ in groups], rotation=90, fontsize=7)
    fig.tight_layout()
    return _render(fig, stem)


def _render(fig: Any, stem: str) -> dict[str, bytes]:
    """``{stem.png: ..., stem.svg: ...}`` rendered in memory (written atomically by the caller)."""
    files = {f"{stem}.{suffix}": render(fig, suffix) for suffix in ("png", "svg")}
    _pyplot().close(fig)
    return files


def run_plots(result: RunResult) -> dict[str, bytes]:
    """The plots written next to a cycle-fidelity run's summary."""
    if not result.timeline:
        return {}
    from npusim.report.residency_plots import plot_sram_occupancy

    return {**plot_bandwidth_over_time(result, "dram_bandwidth"),
            **plot_sram_occupancy(result, "sram_occupancy"),
            **plot_layer_breakdown(result, "layer_breakdown")}  # fmt: skip
