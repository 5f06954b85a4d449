"""Sweep plots (PNG and SVG): which plots a sweep gets, and writing them.

Every figure comes from stored simulation results through :mod:`npusim.sweep.views`; a plot
whose axis the sweep lacks (hit rate without an ``sram.capacity`` axis) is not drawn, and one
the runs cannot support (no SQNR in this fidelity) says so instead of drawing invented numbers.
Energy and traffic draw one panel per value of the sweep's other axis (or say which value they
show). Legends sit outside the axes. The plots themselves live in :mod:`.precision_plots`,
:mod:`.layer_plots`, :mod:`.accuracy_plots` and :mod:`.frame_plots`, their shared look
(colour-blind-safe palette, markers, hatches) in :mod:`.plot_style`; like html.py, they reach
matplotlib only through :mod:`.figures`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npusim.outdir import remove_stale_temporaries, write_file
from npusim.report.accuracy_plots import has_accuracy, plot_accuracy_energy, plot_accuracy_traffic
from npusim.report.figures import render
from npusim.report.frame_plots import has_frames, plot_frame_energy
from npusim.report.layer_plots import plot_layer_time, plot_roofline
from npusim.report.plot_style import message_figure, styled_pyplot
from npusim.report.precision_plots import (
    plot_bandwidth,
    plot_energy,
    plot_hit_rate,
    plot_sqnr,
    plot_traffic,
)
from npusim.sweep.views import WorkloadView, load_views


@dataclass(frozen=True)
class PlotFile:
    """A written plot: its stem, PNG and SVG paths (relative to the sweep folder), caption."""

    name: str
    workload: str
    png: str
    svg: str
    caption: str


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
    plt = styled_pyplot()
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
                fig = message_figure(plt, view, caption, f"No successful point at {where}.")
            stem = f"{name}-{stem_workload}"
            fig.tight_layout()
            # whole files or none: a killed report leaves no truncated plot
            write_file(out / f"{stem}.png", render(fig, "png", dpi=dpi))
            write_file(out / f"{stem}.svg", render(fig, "svg"))
            plt.close(fig)
            files.append(PlotFile(name, view.workload, f"{plot_dir}/{stem}.png",
                                  f"{plot_dir}/{stem}.svg", caption))  # fmt: skip
    return files
