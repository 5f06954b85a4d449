"""Accuracy sweep plots: top-1 against energy per inference and against DRAM traffic.

Every successful point of the workload is one marker (colour and shape by precision; the
other axes' values in its label), the Pareto front (no other point is both cheaper and more
accurate, :func:`npusim.sweep.views.pareto_front`) is joined by a line, and the FP32
network's top-1 is a dashed reference line with the primer's budget (1 point below it)
dotted beneath. Drawn only for sweeps run with ``--accuracy``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from npusim.functional.accuracy import BUDGET_POINTS_DEFAULT
from npusim.report.plot_style import MARKERS, OKABE_ITO, PJ_PER_UJ
from npusim.sweep.views import WorkloadView, accuracy_block, pareto_front, precision_of

BYTES_PER_KIB = 1024


def has_accuracy(view: WorkloadView) -> bool:
    return any(accuracy_block(p) is not None for p in view.points)


def _labels(view: WorkloadView, points: list[Any], xs: list[float], ys: list[float]) -> list[str]:
    """One label per marker: the precision and the other varied axes' values; points of one
    precision at the same place (a float format ignores the calibration) share one label,
    given to the first of them."""
    varied = [k for k in view.other_axes if len(view.axes[k]) > 1]
    groups: dict[tuple[str, float, float], list[int]] = {}
    for i, point in enumerate(points):
        groups.setdefault((precision_of(point), xs[i], ys[i]), []).append(i)
    labels = [""] * len(points)
    for (precision, _, _), members in groups.items():
        values = ["/".join(dict.fromkeys(str(points[i].axes.get(k)) for i in members))
                  for k in varied]  # fmt: skip
        labels[members[0]] = " ".join([precision, *values]) if len(members) == 1 else precision
    return labels


def _accuracy_vs(plt: Any, view: WorkloadView, what: str, xlabel: str,
                 cost: Callable[[Any], float]) -> Any:  # fmt: skip
    points = [p for p in view.points if accuracy_block(p) is not None]
    xs = [cost(p) for p in points]
    ys = [100.0 * accuracy_block(p)["top1"] for p in points]
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    precisions = view.precisions()
    labels = _labels(view, points, xs, ys)
    for x, y, point, label in zip(xs, ys, points, labels, strict=True):
        k = precisions.index(precision_of(point)) % len(OKABE_ITO)
        ax.plot([x], [y], marker=MARKERS[k], color=OKABE_ITO[k], linestyle="none")
        if label:
            ax.annotate(label, (x, y), textcoords="offset points", xytext=(5, 3), fontsize=7)
    front = pareto_front(xs, ys)
    ax.plot([xs[i] for i in front], [ys[i] for i in front], color="#555555", linewidth=1,
            zorder=0, label="Pareto front")  # fmt: skip
    reference = 100.0 * accuracy_block(points[0])["top1_fp32"]
    ax.axhline(reference, color="#000000", linestyle="--", linewidth=1,
               label=f"FP32 network: {reference:.1f} %")  # fmt: skip
    ax.axhline(reference - BUDGET_POINTS_DEFAULT, color="#000000", linestyle=":", linewidth=1,
               label=f"FP32 - {BUDGET_POINTS_DEFAULT:g} point")  # fmt: skip
    ax.set(xlabel=xlabel, ylabel="top-1 (%)")
    ax.margins(x=0.12, y=0.08)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(view.title(what))
    return fig


def plot_accuracy_energy(plt: Any, view: WorkloadView) -> Any:
    """Top-1 (%) vs energy per inference (µJ), Pareto front and FP32 reference."""

    def energy_uj(point: Any) -> float:
        return point.summary["totals"]["energy_pj"]["total"] / PJ_PER_UJ

    return _accuracy_vs(plt, view, "Accuracy vs energy per inference",
                        "energy per inference (µJ)", energy_uj)  # fmt: skip


def plot_accuracy_traffic(plt: Any, view: WorkloadView) -> Any:
    """Top-1 (%) vs DRAM traffic per inference (KiB read + written)."""

    def traffic_kib(point: Any) -> float:
        totals = point.summary["totals"]
        return (totals["dram_read_bytes"] + totals["dram_write_bytes"]) / BYTES_PER_KIB

    return _accuracy_vs(plt, view, "Accuracy vs DRAM traffic per inference",
                        "DRAM traffic per inference (KiB, read + write)", traffic_kib)  # fmt: skip
