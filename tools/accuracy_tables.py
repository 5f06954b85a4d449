"""Print the README's accuracy tables: top-1 of the shipped digits models beside cost.

    python tools/accuracy_tables.py [precision|calibration|search|plot]   # default: all four

``precision``: per precision, the digits CNN and MLP top-1 (functional pass on the shipped
500-image test split, scales calibrated on its 200 calibration images), the CNN's agreement
with FP32 and its tied top-1 logits, next to the cycle fidelity run's time, DRAM traffic and
energy per inference on the default scenario (symmetric; the block-scaled MX and NVFP4 rows
beside INT8 and INT4), plus INT4 and INT2 with affine
(``quantization.symmetric=false``) scales; then the derived ratios and the float formats'
end-to-end SQNR range the README's prose quotes. ``calibration``: INT8/INT4/INT2 top-1 for
min-max, percentile, entropy and MSE activation calibration with per-tensor and per-channel
weight scales. ``search``: ``npusim search`` on the CNN (energy, cycle fidelity, default budget
and minimum saving), with the calibration split's standard error. ``plot``: an accuracy sweep
of the CNN (precision x calibration, cycle fidelity) whose top-1-vs-energy plot becomes
``reports/examples/accuracy_energy-digits_cnn.png``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

import numpy as np

from npusim.config import load_scenario
from npusim.functional import AccuracyResult, load_dataset, scenario_accuracy
from npusim.simulate import simulate
from npusim.workload import load_workload

PRECISIONS = ("fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int8", "mxint8", "mxfp8_e4m3",
              "mxfp6_e2m3", "int4", "mxfp4_e2m1", "nvfp4", "int2", "binary")  # fmt: skip
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


AFFINE = "quantization.symmetric=false"
ROWS = [(p, p.upper().replace("_", " "), ()) for p in PRECISIONS] + [
    ("int4", "INT4 affine", (AFFINE,)),
    ("int2", "INT2 affine", (AFFINE,)),
]


def accuracy(precision: str, model: str, *sets: str) -> AccuracyResult:
    scenario = load_scenario(None, list(sets), precision=precision)
    result, _ = scenario_accuracy(scenario, load_workload(model), "digits")
    return result


def top1(precision: str, model: str, *sets: str) -> float:
    return accuracy(precision, model, *sets).top1


def precision_table() -> None:
    print("| precision | CNN top-1 % | CNN agreement with FP32 % | CNN tied top-1 | MLP top-1 % | "
          "CNN time (µs) | CNN DRAM read (KiB) | CNN energy (nJ) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    totals, sqnr = {}, {}
    for precision, label, sets in ROWS:
        scenario = load_scenario(None, list(sets), precision=precision)
        totals[label] = simulate(scenario, load_workload("digits_cnn"), "cycle").totals()
        cnn, mlp = (
            accuracy(precision, "digits_cnn", *sets),
            accuracy(precision, "digits_mlp", *sets),
        )
        sqnr[label] = [db for db in cnn.layer_sqnr_db.values() if db is not None]
        t = totals[label]
        cost = (f"{t['time_s'] * 1e6:.2f} | {t['dram_read_bytes'] / 1024:.2f} | "
                f"{t['energy_pj']['total'] / 1e3:.1f}")  # fmt: skip
        print(f"| {label} | {100 * cnn.top1:.1f} | {100 * cnn.agreement_with_fp32:.1f} | "
              f"{cnn.top1_ties} | {100 * mlp.top1:.1f} | {cost} |")  # fmt: skip
    print()
    for name, key in (("time", "time_s"), ("DRAM reads", "dram_read_bytes")):
        print(
            f"FP32/INT8 {name}: {totals['FP32'][key] / totals['INT8'][key]:.2f}x; "
            f"INT8/INT4 {totals['INT8'][key] / totals['INT4'][key]:.2f}x"
        )
    energy = {label: t["energy_pj"]["total"] for label, t in totals.items()}
    print(
        f"FP32/INT8 energy: {energy['FP32'] / energy['INT8']:.2f}x; INT8/INT4 "
        f"{energy['INT8'] / energy['INT4']:.2f}x"
    )
    macs = totals["INT8"]["macs"]
    print(f"CNN MACs per inference: {macs} ({macs / 1e3:.1f} k)")
    for label in ("FP16", "BF16"):
        print(f"{label} end-to-end layer SQNR: {min(sqnr[label]):.1f} to {max(sqnr[label]):.1f} dB")
    binary_ties()


def binary_ties() -> None:
    """What the binary CNN predicts: its logits, the tied classes, the labels' shares."""
    from npusim.functional import QuantizedNetwork, execute, load_parameters, scenario_specs

    workload, data = load_workload("digits_cnn"), load_dataset("digits")
    specs = scenario_specs(load_scenario(None, [], precision="binary"), workload)
    network = QuantizedNetwork(workload, load_parameters(workload), specs, data.calibration())
    logits = execute(workload, data.test()[0], network.run_layer)["fc"]
    distinct = np.unique(logits, axis=0)
    top = np.flatnonzero(distinct[0] == distinct[0].max())
    shares = np.bincount(data.test()[1], minlength=10) / data.test_samples
    print(f"BINARY CNN: {len(distinct)} distinct logit vector(s) over the test split; classes "
          f"{top.tolist()} tie at {distinct[0].max():+.2f}, argmax takes {top[0]} "
          f"({100 * shares[top[0]]:.1f} % of the test labels); the most common test label is "
          f"{shares.argmax()} ({100 * shares.max():.1f} %)")  # fmt: skip


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


def search_summary() -> None:
    from npusim.functional.search import search

    start, cpu = time.perf_counter(), time.process_time()
    result = search(None, load_workload("digits_cnn"), "digits", "energy", fidelity="cycle")
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    print(f"search: {result.evaluations} evaluations, {cpu_s:.1f} s CPU ({wall_s:.1f} s wall "
          f"on a shared machine); steps:")  # fmt: skip
    for step in result.steps:
        print(f"  {step.layer} {step.operand} -> {step.precision}: calibration top-1 "
              f"{100 * step.top1:.1f} %, {step.cost / 1e3:.1f} nJ")  # fmt: skip
    print(f"FP32 top-1: calibration {100 * result.top1_fp32_calibration:.1f} %, test "
          f"{100 * result.top1_fp32:.1f} %; calibration standard error "
          f"{result.calibration_standard_error_points:.2f} points")  # fmt: skip
    for label, row in result.rows.items():
        t = row.totals
        dram = (t["dram_read_bytes"] + t["dram_write_bytes"]) / 1024
        print(f"  {label}: test top-1 {100 * row.top1:.1f} %, {row.cost / 1e3:.1f} nJ, "
              f"{dram:.2f} KiB DRAM traffic")  # fmt: skip
    saving = 1 - result.rows["mixed"].cost / result.rows["int8"].cost
    print(f"mixed vs INT8 energy: -{100 * saving:.1f} %; {result.points_below_fp32:.1f} points "
          f"below FP32 on the test split")  # fmt: skip
    greedy = search(None, load_workload("digits_cnn"), "digits", "energy", fidelity="cycle",
                    min_saving=0.0)  # fmt: skip
    base = greedy.rows["int8"].cost
    extra = greedy.steps[len(result.steps) :]
    costs = [result.rows["mixed"].cost] + [step.cost for step in extra]
    for step, (before, after) in zip(extra, pairwise(costs), strict=True):
        print(f"without the minimum saving also: {step.layer} {step.operand} -> "
              f"{step.precision}, saving {100 * (before - after) / base:.3f} % of INT8's "
              f"energy")  # fmt: skip
    print(f"without the minimum saving: test top-1 {100 * greedy.rows['mixed'].top1:.1f} %")


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
    chosen = sys.argv[1:] or ["precision", "calibration", "search", "plot"]
    for name in chosen:
        {"precision": precision_table, "calibration": calibration_table,
         "search": search_summary, "plot": accuracy_plot}[name]()  # fmt: skip
        print()
