"""Functional evaluation speed: the shipped digits CNN on its whole test split (target < 10 s).

Run: ``python benchmarks/bench_functional.py``. Each precision's evaluation (load the dataset,
quantize the weights, calibrate on the 200 calibration images, run the FP32 and the quantized
network on the 500 test images) is timed three times in CPU time (``time.process_time``: the
2-core machine is shared); the best and the median are printed.
"""

from __future__ import annotations

import statistics
import time

from npusim.config import load_scenario
from npusim.functional import scenario_accuracy
from npusim.workload import load_workload

TARGET_S = 10.0
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


if __name__ == "__main__":
    main()
