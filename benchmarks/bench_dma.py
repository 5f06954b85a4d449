"""How close the engine's DMA keeps the DRAM to its own address stream run as a trace.

    python benchmarks/bench_dma.py                       # the 4096 x 4096 GEMV, three formats
    python benchmarks/bench_dma.py --workload resnet50 --precision int8

Runs a workload in cycle fidelity and its own DRAM request stream back to back as a trace
(:func:`npusim.engine.replay.engine_vs_trace`); the ratio engine / trace is what the DMA,
the buffers and the compute dependencies cost on top of the memory system. Simulated time,
not wall time: the figures do not depend on the machine.
"""

from __future__ import annotations

import argparse

from npusim.config import load_scenario
from npusim.engine.replay import engine_vs_trace
from npusim.workload import load_workload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", default="gemv_4096")
    parser.add_argument("--precision", action="append", help="repeatable (default: 3 formats)")
    args = parser.parse_args()
    workload = load_workload(args.workload)
    print(f"{'workload':<14}{'precision':<10}{'engine us':>11}{'trace us':>11}{'ratio':>8}"
          f"{'MB':>9}")  # fmt: skip
    for precision in args.precision or ["fp32", "int8", "int4"]:
        run = engine_vs_trace(load_scenario(precision=precision), workload)
        print(f"{args.workload:<14}{precision:<10}{run.engine_s * 1e6:>11.1f}"
              f"{run.trace_s * 1e6:>11.1f}{run.engine_s / run.trace_s:>8.4f}"
              f"{run.dram_bytes / 1e6:>9.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
