"""Benchmark: loading the zoo and generating its tensors (full and sampled).

Plain script (``python benchmarks/bench_workload.py``); not collected by pytest. Budgets are
shares of issue 8's targets, not issue figures themselves: loading any bundled network is part
of the "analytic fidelity under 1 s" budget, so it should take under 10 % of it (100 ms);
synthetic tensors for a whole network at the engine's sampling size feed the "ResNet-50 INT8
cycle fidelity within 30 s" budget, so they should take under 5 % of it (1.5 s).
"""

from __future__ import annotations

import time

from npusim.workload import load_workload
from npusim.workload.tensors import layer_tensors

LOAD_BUDGET_S = 0.1
TENSOR_BUDGET_S = 1.5
SAMPLE = 65_536
ZOO = ["resnet50", "mobilenet_v2", "bert_base", "gpt2_decode", "mlp"]


def _tensors(name: str, max_elements: int | None) -> tuple[float, int]:
    workload = load_workload(name)
    start = time.perf_counter()
    elements = 0
    for layer in workload.layers:
        t = layer_tensors(layer, workload, seed=0, max_elements=max_elements)
        elements += t.inputs.size + (0 if t.weights is None else t.weights.size)
    return time.perf_counter() - start, elements


def main() -> None:
    print(f"{'workload':14} {'layers':>6} {'load ms':>8} {'/budget':>8} {'sampled s':>10} "
          f"{'/budget':>8} {'full s':>7} {'full Melem/s':>12}")  # fmt: skip
    for name in ZOO:
        start = time.perf_counter()
        workload = load_workload(name)
        load_s = time.perf_counter() - start
        sampled_s, _ = _tensors(name, SAMPLE)
        full_s, elements = _tensors(name, None)
        print(f"{name:14} {len(workload.layers):6d} {load_s * 1e3:8.1f} "
              f"{load_s / LOAD_BUDGET_S:8.2f} {sampled_s:10.3f} {sampled_s / TENSOR_BUDGET_S:8.2f} "
              f"{full_s:7.2f} {elements / full_s / 1e6:12.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
