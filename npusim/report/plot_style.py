"""The sweep plots' shared look: palette, markers, hatches, pyplot settings and tick labels.

Colours are the Okabe-Ito colour-blind-safe palette (Okabe & Ito, "Color Universal Design",
2008); markers and hatches double the colour cues. Every sweep plot module (:mod:`.plots`,
:mod:`.precision_plots`, :mod:`.layer_plots`, :mod:`.frame_plots`, :mod:`.accuracy_plots`)
draws with these, so one change here restyles them all.
"""

from __future__ import annotations

from typing import Any

from npusim.report.figures import pyplot
from npusim.sweep.views import WorkloadView, weight_bits

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#000000",
             "#F0E442")  # fmt: skip
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
HATCHES = ("", "//", "..", "xx")
PJ_PER_UJ = 1e6
BYTES_PER_MIB = 2**20


def styled_pyplot() -> Any:
    """``matplotlib.pyplot`` (:func:`npusim.report.figures.pyplot`) with the sweep plots' font
    sizes and light grid."""
    plt = pyplot()
    plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.grid": True,
                         "grid.alpha": 0.3})  # fmt: skip
    return plt


def colours(labels: list[str]) -> dict[str, str]:
    """One palette colour per label, in order (the palette repeats after eight)."""
    return {label: OKABE_ITO[i % len(OKABE_ITO)] for i, label in enumerate(labels)}


def x_labels(labels: list[str]) -> list[str]:
    """Tick labels for precisions: the name and, beneath it, its weight bits."""
    return [f"{label}\n({weight_bits(label)} b)" for label in labels]


def message_figure(plt: Any, view: WorkloadView, what: str, text: str) -> Any:
    """A figure that says ``text`` instead of drawing a plot the runs cannot support."""
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", wrap=True, fontsize=11)
    ax.set_title(view.title(what))
    return fig
