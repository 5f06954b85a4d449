"""Print the README's accuracy tables: top-1 of the shipped digits models beside cost.

    python tools/accuracy_tables.py [precision|calibration|plot]   # default: all three

``precision``: per precision, the digits CNN and MLP top-1 (functional pass on the shipped
500-image test split, scales calibrated on its 200 calibration images) next to the cycle
fidelity run's time, DRAM traffic and energy per inference on the default scenario.
``calibration``: INT8/INT4/INT2 top-1 for min-max, percentile, entropy and MSE calibration with
per-tensor and per-channel weight scales. ``plot``: an accuracy sweep of the CNN (precision x
calibration, cycle fidelity) whose top-1-vs-energy plot becomes
``reports/examples/accuracy_energy-digits_cnn.png``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from npusim.config import load_scenario
from npusim.functional import scenario_accuracy
from npusim.simulate import simulate
from npusim.workload import load_workload

PRECISIONS = ("fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int8", "int4", "int2", "binary")
CALIBRATIONS = ("minmax", "percentile", "entropy", "mse")
MODELS = ("digits_cnn", "digits_mlp")
ROOT = Path(__file__).resolve().parent.parent
SWEEP = """\
name: digits_accuracy
scenario: lpddr5_51gbps_4mib
workloads: [digits_cnn]
fidelity: cycle
axes:
  precision: [fp32, fp16, fp8_e4m3, int8, int4, int2]
  quantization.calibration: [minmax, mse]
"""


def top1(precision: str, model: str, *sets: str) -> float:
    scenario = load_scenario(None, list(sets), precision=precision)
    result, _ = scenario_accuracy(scenario, load_workload(model), "digits")
    return result.top1


def precision_table() -> None:
    print("| precision | CNN top-1 % | MLP top-1 % | CNN time (µs) | CNN DRAM read (KiB) | "
          "CNN energy (nJ) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for precision in PRECISIONS:
        scenario = load_scenario(None, [], precision=precision)
        totals = simulate(scenario, load_workload("digits_cnn"), "cycle").totals()
        accuracies = [100 * top1(precision, model) for model in MODELS]
        print(f"| {precision.upper().replace('_', ' ')} | {accuracies[0]:.1f} | "
              f"{accuracies[1]:.1f} | {totals['time_s'] * 1e6:.2f} | "
              f"{totals['dram_read_bytes'] / 1024:.2f} | "
              f"{totals['energy_pj']['total'] / 1e3:.1f} |")  # fmt: skip


def calibration_table() -> None:
    header = " | ".join(f"{c} {g}" for c in CALIBRATIONS for g in ("tensor", "channel"))
    print(f"| model | bits | {header} |")
    print("| --- | ---: |" + " ---: |" * (2 * len(CALIBRATIONS)))
    for model in MODELS:
        for precision in ("int8", "int4", "int2"):
            cells = [100 * top1(precision, model, f"quantization.calibration={c}",
                                f"quantization.granularity=per_{g}")
                     for c in CALIBRATIONS for g in ("tensor", "channel")]  # fmt: skip
            shown = " | ".join(f"{cell:.1f}" for cell in cells)
            print(f"| {model.removeprefix('digits_').upper()} | {precision[3:]} | {shown} |")


def accuracy_plot() -> None:
    from npusim.report.plots import write_plots
    from npusim.sweep import run_sweep

    with tempfile.TemporaryDirectory() as scratch:
        sweep = Path(scratch) / "digits_accuracy.yaml"
        sweep.write_text(SWEEP)
        out = Path(scratch) / "out"
        run_sweep(sweep, out, jobs=1, report=False, accuracy="digits")
        (plot,) = write_plots(out, names=["accuracy_energy"])
        target = ROOT / "reports" / "examples" / "accuracy_energy-digits_cnn.png"
        shutil.copyfile(out / plot.png, target)
    print(f"wrote {target}")


if __name__ == "__main__":
    chosen = sys.argv[1:] or ["precision", "calibration", "plot"]
    for name in chosen:
        {"precision": precision_table, "calibration": calibration_table,
         "plot": accuracy_plot}[name]()  # fmt: skip
        print()
