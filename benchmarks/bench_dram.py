"""Simulated requests per second of the DRAM trace runner (issue 4 speed targets).

Runs an untimed 2M-request sequential read trace and a 1M-request uniformly random read trace
(32 B each) through one LPDDR5-6400 channel with default parameters, and prints wall and CPU
time, the rate per CPU second (the machine is shared, so wall time depends on other load),
achieved bandwidth and the ratio to the targets (300k/s sequential, 150k/s random), for the
compiled controller loop (when it was built) and for the pure-Python loop, which make the same
decisions. ``--scale 0.25`` runs a quarter of the requests.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from npusim.dram import DramParams, DramSystem
from npusim.dram.controller import KERNEL_AVAILABLE, ChannelController
from npusim.trace import Trace

TARGETS_PER_S = {"sequential": 300_000, "random": 150_000}
SIZES = {"sequential": 2_000_000, "random": 1_000_000}


def _trace(kind: str, n: int) -> Trace:
    if kind == "sequential":
        addr = np.arange(n, dtype=np.uint64) * 32
    else:
        rng = np.random.default_rng(2026)
        addr = rng.integers(0, (1 << 30) // 32, n).astype(np.uint64) * 32
    zeros = np.zeros(n, dtype=np.int64)
    return Trace(addr=addr, is_write=np.zeros(n, dtype=bool), size_bytes=zeros, arrival_cycle=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the sizes")
    args = parser.parse_args()
    loops = {"compiled": True, "python": False} if KERNEL_AVAILABLE else {"python": False}
    if not KERNEL_AVAILABLE:
        print("compiled loop not built (no C compiler at install): Python loop only")
    for loop, use_kernel in loops.items():
        ChannelController.use_kernel = use_kernel
        for kind, size in SIZES.items():
            n = int(size * args.scale)
            trace = _trace(kind, n)
            system = DramSystem(DramParams())
            start, cpu_start = time.perf_counter(), time.process_time()
            system.run_trace(trace)
            seconds = time.perf_counter() - start
            cpu_seconds = time.process_time() - cpu_start
            stats = system.stats().total
            rate = n / cpu_seconds
            print(
                f"{loop:8s} {kind:10s} {n:>9d} requests  wall {seconds:6.2f} s  "
                f"cpu {cpu_seconds:6.2f} s  {rate / 1e3:7.1f}k req/s (cpu)  "
                f"target {TARGETS_PER_S[kind] / 1e3:.0f}k ({rate / TARGETS_PER_S[kind]:.2f}x)  "
                f"{stats.achieved_gbps:.2f} GB/s of {stats.peak_gbps:.1f}"
            )


if __name__ == "__main__":
    main()
