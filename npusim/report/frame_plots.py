"""Frame sweep plot: energy per frame period, the inference and the idle time after it.

Drawn only for sweeps whose points ran with a scenario ``frame_rate`` (their ``summary.json``
has a ``frame`` block, :mod:`npusim.engine.frame`). One panel per combination of the other
axes' values (the DRAM idle policy, the frame rate; at most :data:`MAX_PANELS`, else the
reference slice alone), a stacked bar per precision: the inference's energy, the idle DRAM and
the idle static energy; above each bar the average power over the frame period.
"""

from __future__ import annotations

from typing import Any

from npusim.report.plot_groups import Group, group_by_other_axes
from npusim.report.plot_style import HATCHES, OKABE_ITO, PJ_PER_UJ, x_labels
from npusim.sweep.store import StoredPoint
from npusim.sweep.views import WorkloadView, precision_of

MAX_PANELS = 4
PARTS = (("inference", None), ("idle DRAM", "dram"), ("idle static", "static"))
"""Bar segments: name, and the key of ``frame.idle_energy_pj`` (None: the run's total)."""


def _has_frame(point: StoredPoint) -> bool:
    return point.summary is not None and "frame" in point.summary


def has_frames(view: WorkloadView) -> bool:
    return any(_has_frame(p) for p in view.points)


def _panels(view: WorkloadView) -> list[Group]:
    """The points with a frame block grouped by the values of the other axes that vary, one
    line per axis in the panel's title, in sweep order."""
    return group_by_other_axes(
        view,
        MAX_PANELS,
        include=_has_frame,
        separator="\n",
        equals=" = ",
        varied_only=True,
        fallback_format="only {} shown",
    )


def _segments(point: Any) -> list[float]:
    frame = point.summary["frame"]
    run = point.summary["totals"]["energy_pj"]["total"]
    idle = frame["idle_energy_pj"]
    return [(run if key is None else idle[key]) / PJ_PER_UJ for _, key in PARTS]


def plot_frame_energy(plt: Any, view: WorkloadView) -> Any:
    """Energy per frame (µJ), stacked: inference, idle DRAM, idle static; one panel per
    combination of the other axes; each bar labelled with its average power (mW)."""
    panels = [(label, points) for label, points in _panels(view) if points]
    fig, axes = plt.subplots(1, len(panels), figsize=(min(10.0, 3.2 + 3.2 * len(panels)), 4.6),
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, (label, points) in zip(axes[0], panels, strict=True):
        stacks = [_segments(p) for p in points]
        bottom = [0.0] * len(points)
        for i, (name, _) in enumerate(PARTS):
            values = [stack[i] for stack in stacks]
            ax.bar(range(len(points)), values, bottom=bottom, color=OKABE_ITO[i],
                   hatch=HATCHES[i % len(HATCHES)], edgecolor="white", label=name)  # fmt: skip
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        for x, (top, point) in enumerate(zip(bottom, points, strict=True)):
            power = point.summary["frame"]["average_power_mw"]
            ax.annotate(f"{power:.3g} mW", (x, top), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(points)), x_labels([precision_of(p) for p in points]),
                      rotation=90, fontsize=8)  # fmt: skip
        ax.set(xlabel="precision (weight bits)", title=label)
        ax.margins(y=0.12)  # room for the power labels
    axes[0][0].set_ylabel("energy per frame (µJ)")
    axes[0][-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle(view.title("Energy per frame: the inference and the idle time after it"))
    return fig
