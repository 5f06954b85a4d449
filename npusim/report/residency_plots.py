"""SRAM occupancy over simulated time, beside the run's DRAM-bandwidth plot.

Per layer end: the bytes of activation tensors held in the SRAM and of everything else (weight
lines in cache mode; the layer's tile buffers in scratchpad mode), against the capacity.
"""

from __future__ import annotations

import numpy as np

from npusim.report.run_plots import OKABE_ITO, _label, _pyplot, _render
from npusim.results import RunResult


def plot_sram_occupancy(result: RunResult, stem: str) -> dict[str, bytes]:
    """Stacked steps of activation and other bytes in the SRAM at each layer's end."""
    occupancy = result.occupancy or {}
    ends = np.asarray(occupancy.get("end_s", []), dtype=float) * 1e6
    if ends.size == 0:
        return {}
    activation = np.asarray(occupancy["activation_bytes"], dtype=float) / 2**20
    other = np.asarray(occupancy["other_bytes"], dtype=float) / 2**20
    starts = np.concatenate([[0.0], ends[:-1]])
    sram = result.extra.get("sram") or {}
    mode = sram.get("mode", "cache")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=110)
    ax.stairs(activation, np.concatenate([starts[:1], ends]), fill=True, color=OKABE_ITO[1],
              label="activations")  # fmt: skip
    ax.stairs(activation + other, np.concatenate([starts[:1], ends]), baseline=activation,
              fill=True, color=OKABE_ITO[0],
              label="weights" if mode == "cache" else "tile buffers")  # fmt: skip
    capacity = sram.get("capacity_bytes")
    if capacity:
        ax.axhline(capacity / 2**20, color=OKABE_ITO[7], linestyle="--",
                   label=f"capacity {capacity / 2**20:g} MiB")  # fmt: skip
    ax.set_xlabel("simulated time (µs)")
    ax.set_ylabel("SRAM held (MiB)")
    ax.set_title(f"SRAM occupancy at each layer's end ({mode} mode): {result.scenario}, "
                 f"{result.workload}, {_label(result)}")  # fmt: skip
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    return _render(fig, stem)
