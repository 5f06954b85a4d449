"""Benchmark: the bundled bit-width sweep (sweeps/bitwidth.yaml) with 2 jobs.

Prints the wall time of validation, of the analytic sweep (target < 10 s, issue 7) and of its
plots + report, and, when the engine offers it, of the cycle-fidelity sweep (target < 15 min).
Run: ``python benchmarks/bench_sweep.py [--skip-cycle]``. Each run uses a fresh folder, so
nothing is skipped as already finished.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from npusim.report.html import write_report
from npusim.simulate import FIDELITIES
from npusim.sweep import load_sweep, run_sweep

SWEEP = Path(__file__).resolve().parents[1] / "sweeps" / "bitwidth.yaml"
JOBS = 2
TARGET_S = {"analytic": 10.0, "cycle": 15 * 60.0}


def bench(fidelity: str, folder: Path) -> None:
    start_s = time.perf_counter()
    _, points = load_sweep(SWEEP, fidelity)
    validate_s = time.perf_counter() - start_s
    outcome = run_sweep(SWEEP, folder, jobs=JOBS, fidelity=fidelity, report=False)
    sweep_s = time.perf_counter() - start_s
    start_s = time.perf_counter()
    write_report(folder)
    report_s = time.perf_counter() - start_s
    target_s = TARGET_S[fidelity]
    print(
        f"{fidelity:9s} {len(points)} points, {JOBS} jobs: validate {validate_s:.2f} s, "
        f"sweep (incl. validation) {sweep_s:.2f} s = {sweep_s / target_s:.2f} x target "
        f"{target_s:g} s; {len(outcome.failed)} failed"
    )
    print(f"{fidelity:9s} plots + index.html {report_s:.2f} s")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bench("analytic", Path(tmp) / "analytic")
        if "cycle" in FIDELITIES and "--skip-cycle" not in sys.argv:
            bench("cycle", Path(tmp) / "cycle")
        elif "cycle" not in FIDELITIES:
            print("cycle     fidelity not available in this npusim (FIDELITIES has no 'cycle')")


if __name__ == "__main__":
    main()
