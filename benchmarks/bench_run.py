"""Whole-run speed of npusim (issue 8 targets), printed as figures and ratios to target.

    python benchmarks/bench_run.py            # every case
    python benchmarks/bench_run.py --quick    # analytic only

Wall time of ``simulate()`` only (scenario and workload loading excluded, reported apart),
one process, on whatever else the machine is doing: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import time

from npusim.config import load_scenario
from npusim.simulate import simulate
from npusim.workload import bundled_workloads, load_workload

CYCLE_TARGETS_S = [("resnet50", "int8", 30.0), ("resnet50", "fp32", 120.0),
                   ("gpt2_decode", "int8", 30.0)]  # fmt: skip
ANALYTIC_TARGET_S = 1.0


def timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="analytic fidelity only")
    args = parser.parse_args()
    print(f"{'workload':<16}{'precision':<10}{'fidelity':<10}{'load s':>8}{'run s':>9}"
          f"{'target s':>10}{'ratio':>8}  simulated")  # fmt: skip
    for name in bundled_workloads():
        (workload, load_s) = timed(load_workload, name)
        scenario = load_scenario(precision="int8")
        result, run_s = timed(simulate, scenario, workload, "analytic")
        _row(name, "int8", "analytic", load_s, run_s, ANALYTIC_TARGET_S, result)
    if args.quick:
        return
    for name, precision, target in CYCLE_TARGETS_S:
        workload, load_s = timed(load_workload, name)
        scenario = load_scenario(precision=precision)
        result, run_s = timed(simulate, scenario, workload, "cycle")
        _row(name, precision, "cycle", load_s, run_s, target, result)


def _row(name: str, precision: str, fidelity: str, load_s: float, run_s: float,
         target: float, result: object) -> None:  # fmt: skip
    totals = result.totals()  # type: ignore[attr-defined]
    print(f"{name:<16}{precision:<10}{fidelity:<10}{load_s:>8.2f}{run_s:>9.2f}{target:>10.1f}"
          f"{run_s / target:>8.2f}  {totals['time_s'] * 1e3:.3f} ms, "
          f"{totals['dram_read_bytes'] / 2**20:.1f} MiB read", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
