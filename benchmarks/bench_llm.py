"""Wall time of LLM decode steps and generation runs (issue 17 targets), with ratios to target.

    python benchmarks/bench_llm.py            # every case
    python benchmarks/bench_llm.py --quick    # analytic only

CPU time (this process's, which a busy machine inflates less than wall time) and wall time of
one decode pass (:func:`npusim.simulate.simulate`, workload loading excluded) or of a whole
:func:`npusim.llm.generate.run_generate` (loading included: it loads the workload once per
pass), one process, on whatever else the machine is doing; the ratio is CPU s over target.
"""

from __future__ import annotations

import argparse
import time

from npusim.config import load_scenario
from npusim.llm.generate import GenerateSpec, run_generate
from npusim.simulate import simulate
from npusim.workload import load_workload

G128 = ["precision.weights=int4", "quantization.granularity=per_group",
        "quantization.group_size=128"]  # fmt: skip
# (label, workload, overrides, fidelity, target wall s)
STEPS = [
    ("1B decode step INT8 KV 2048", "llama3_2_1b", [], "analytic", 1.0),
    ("8B decode step INT4 KV 2048", "llama3_1_8b", G128, "analytic", 1.0),
    ("1B decode step INT8 KV 2048", "llama3_2_1b", [], "cycle", 10.0),
    ("8B decode step INT4 KV 2048", "llama3_1_8b", G128, "cycle", 60.0),
]
GENERATE = GenerateSpec(512, 128)  # the 1B generation run
GENERATE_TARGETS_S = {"analytic": 1.0, "cycle": 120.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="analytic fidelity only")
    args = parser.parse_args()
    print(f"{'case':<30}{'fidelity':<10}{'CPU s':>8}{'wall s':>8}{'target s':>10}{'ratio':>8}"
          "  result")  # fmt: skip
    for label, name, overrides, fidelity, target in STEPS:
        if args.quick and fidelity != "analytic":
            continue
        workload = load_workload(name, {"kv_len": 2048})
        start = time.process_time(), time.perf_counter()
        result = simulate(load_scenario(overrides=overrides), workload, fidelity)
        _row(label, fidelity, start, target,
             f"{result.totals()['time_s'] * 1e3:.2f} ms simulated")  # fmt: skip
    for fidelity, target in GENERATE_TARGETS_S.items():
        if args.quick and fidelity != "analytic":
            continue
        start = time.process_time(), time.perf_counter()
        gen = run_generate(load_scenario(), "llama3_2_1b", GENERATE, fidelity)
        _row("1B generate 512 + 128", fidelity, start, target,
             f"TTFT {gen.time_to_first_token_s * 1e3:.1f} ms, "
             f"{gen.decode.tokens_per_s:.1f} tok/s")  # fmt: skip


def _row(label: str, fidelity: str, start: tuple[float, float], target_s: float, what: str
         ) -> None:  # fmt: skip
    cpu_s, wall_s = time.process_time() - start[0], time.perf_counter() - start[1]
    print(f"{label:<30}{fidelity:<10}{cpu_s:>8.2f}{wall_s:>8.2f}{target_s:>10.1f}"
          f"{cpu_s / target_s:>8.2f}  {what}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
