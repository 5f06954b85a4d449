"""Benchmark: wall time of ``npusim --help``, ``validate``, ``list`` and ``schema``.

Plain script (``python benchmarks/bench_startup.py``); not collected by pytest. Issue 15's
target: each of these starts and finishes in under 0.3 s. Each command runs as a fresh
process (that is what a user waits for), five times; the table shows the median and the
minimum, and, for scale, a bare ``python -c pass`` and ``import numpy``.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

TARGET_S = 0.3
REPEATS = 5
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import numpy'": [sys.executable, "-c", "import numpy"],
    "npusim --help": [sys.executable, "-m", "npusim", "--help"],
    "npusim validate mlp": [sys.executable, "-m", "npusim", "validate", "mlp"],
    "npusim validate lpddr5_51gbps_4mib": [sys.executable, "-m", "npusim", "validate",
                                           "lpddr5_51gbps_4mib"],
    "npusim list": [sys.executable, "-m", "npusim", "list"],
    "npusim schema": [sys.executable, "-m", "npusim", "schema"],
    "npusim schema --kind workload": [sys.executable, "-m", "npusim", "schema", "--kind",
                                      "workload"],
}  # fmt: skip


def wall_s(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    print(f"{'command':36} {'median s':>9} {'min s':>7} {'/target':>8}")
    for label, command in COMMANDS.items():
        times = [wall_s(command) for _ in range(REPEATS)]
        median = statistics.median(times)
        print(f"{label:36} {median:9.3f} {min(times):7.3f} {median / TARGET_S:8.2f}")


if __name__ == "__main__":
    main()
