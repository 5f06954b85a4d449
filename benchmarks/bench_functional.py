"""Functional evaluation speed: the shipped digits CNN on its whole test split (target < 10 s),
and the mixed-precision search on it (target < 2 minutes).

Run: ``python benchmarks/bench_functional.py``. Each precision's evaluation (load the dataset,
quantize the weights, calibrate on the 200 calibration images, run the FP32 and the quantized
network on the 500 test images) is timed three times in CPU time (``time.process_time``: the
2-core machine is shared); the best and the median are printed. The search (energy, cycle
fidelity, the default budget) runs once; its wall and CPU time are printed.
"""

from __future__ import annotations

import statistics
import time

from npusim.config import load_scenario
from npusim.functional import scenario_accuracy
from npusim.functional.search import search
from npusim.workload import load_workload

TARGET_S = 10.0
SEARCH_TARGET_S = 120.0
PRECISIONS = ("fp32", "fp16", "bf16", "fp8_e4m3", "int8", "int4", "int2", "binary")
CALIBRATIONS = ("minmax", "entropy", "mse")


def evaluation_s(precision: str, calibration: str) -> float:
    scenario = load_scenario(None, [f"quantization.calibration={calibration}"], precision=precision)
    workload = load_workload("digits_cnn")
    start = time.process_time()
    scenario_accuracy(scenario, workload, "digits")
    return time.process_time() - start


def main() -> None:
    print(f"digits CNN, 200 calibration + 500 test images (target < {TARGET_S:.0f} s each)")
    for precision in PRECISIONS:
        for calibration in CALIBRATIONS if precision.startswith("int") else ("minmax",):
            runs = [evaluation_s(precision, calibration) for _ in range(3)]
            print(f"{precision:>9} {calibration:>7}: best {min(runs):.3f} s, "
                  f"median {statistics.median(runs):.3f} s")  # fmt: skip
    wall, cpu = time.perf_counter(), time.process_time()
    result = search(None, load_workload("digits_cnn"), "digits")
    wall_s, cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    print(f"search (target < {SEARCH_TARGET_S:.0f} s): {result.evaluations} evaluations, "
          f"{wall_s:.1f} s wall, {cpu_s:.1f} s CPU")  # fmt: skip


if __name__ == "__main__":
    main()
