"""Quantizer speed (issue 3 targets): plain script, prints seconds, rates and ratio to target.

    python benchmarks/bench_quant.py

Targets: 4096 x 4096 float32 per-channel min-max well under 1 s; entropy calibration of a
1M-element tensor under 2 s. Each figure is the best of ``REPEATS`` runs of ``quantize``
(calibration + quantization + error analysis), plus packing where noted; the CPU seconds of
that run are printed too, and the load average, because the machine is shared.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np

from npusim.quant import QuantSpec, quantize

REPEATS = 5


def best_seconds(work: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of the fastest of ``REPEATS`` runs."""
    runs = []
    for _ in range(REPEATS):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return min(runs)


def report(name: str, elements: int, seconds: tuple[float, float], target_s: float | None) -> None:
    wall, cpu = seconds
    rate = elements / wall / 1e6
    line = f"{name:<58} {wall:7.3f} s (CPU {cpu:6.3f} s) {rate:7.1f} Melem/s"
    if target_s is not None:
        line += f"  target < {target_s:g} s: {wall / target_s:.2f} of budget"
    print(line)


def main() -> None:
    print("load average (1, 5, 15 min): " + ", ".join(f"{v:.2f}" for v in os.getloadavg()))
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((4096, 4096)).astype(np.float32)
    vector = rng.laplace(size=1 << 20).astype(np.float32)
    cases = [
        ("4096x4096 int8 per-channel (axis 0) min-max", matrix,
         QuantSpec(granularity="per_channel"), 1.0, False),
        ("4096x4096 int8 per-channel (axis 0) min-max + packing", matrix,
         QuantSpec(granularity="per_channel"), 1.0, True),
        ("4096x4096 int4 per-group 128 (axis 1) symmetric + packing", matrix,
         QuantSpec(bits=4, symmetric=True, granularity="per_group", axis=1, group_size=128),
         None, True),
        ("4096x4096 int8 per-tensor min-max", matrix, QuantSpec(), None, False),
        ("1M int8 entropy calibration (per tensor)", vector,
         QuantSpec(calibration="entropy"), 2.0, False),
        ("1M int4 entropy calibration (per tensor)", vector,
         QuantSpec(bits=4, calibration="entropy"), 2.0, False),
        ("64x16384 int8 per-channel entropy (64 KL searches)", vector.reshape(64, -1),
         QuantSpec(granularity="per_channel", calibration="entropy"), None, False),
        ("1M int8 percentile 99.99", vector, QuantSpec(calibration="percentile"), None, False),
        ("1M int4 MSE calibration (121 candidate ranges)", vector,
         QuantSpec(bits=4, calibration="mse"), None, False),
    ]  # fmt: skip
    for name, x, spec, target, with_packing in cases:
        if with_packing:
            seconds = best_seconds(lambda x=x, spec=spec: quantize(x, spec).packed)
        else:
            seconds = best_seconds(lambda x=x, spec=spec: quantize(x, spec))
        report(name, x.size, seconds, target)


if __name__ == "__main__":
    main()
