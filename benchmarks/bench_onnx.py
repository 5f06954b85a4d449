"""Benchmark: importing the ``light_*`` models of the onnx wheel's backend test data.

Plain script (``python benchmarks/bench_onnx.py``); not collected by pytest. Issue 12's target
is importing ``light_resnet50.onnx`` in under 2 s on one core. Printed per model: the import
time (``load_workload`` after ``import onnx``), layers, weights and MACs; and once, what a
fresh process pays to ``import onnx`` (most of it ``ml_dtypes``, which onnx imports) and the
whole ``python -c "load_workload(resnet50)"`` CPU time.
"""

from __future__ import annotations

import importlib.util
import resource
import subprocess
import sys
import time
from pathlib import Path

from npusim.workload import load_workload

BUDGET_S = 2.0
MODELS = ["resnet50", "squeezenet", "vgg19", "densenet121", "inception_v1", "inception_v2",
          "shufflenet", "bvlc_alexnet", "zfnet512"]  # fmt: skip


def light(name: str) -> Path:
    spec = importlib.util.find_spec("onnx")
    if spec is None or spec.origin is None:
        sys.exit("the onnx package is not installed: pip install 'npusim[onnx]'")
    return Path(spec.origin).parent / "backend" / "test" / "data" / "light" / f"light_{name}.onnx"


def fresh_process_cpu_s(code: str) -> float:
    """User + system CPU seconds of ``python -c code`` in a new process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    import onnx  # noqa: F401  (paid once, reported below)

    print(f"{'model':14} {'import s':>8} {'layers':>6} {'weights':>12} {'MACs':>15}")
    for name in MODELS:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            workload = load_workload(light(name))
            best = min(best, time.perf_counter() - start)
        print(f"{name:14} {best:8.3f} {len(workload.layers):6} {workload.parameters:12,} "
              f"{workload.macs:15,}")  # fmt: skip
    onnx_s = fresh_process_cpu_s("import onnx")
    total_s = fresh_process_cpu_s(
        f"from npusim.workload import load_workload; load_workload({str(light('resnet50'))!r})"
    )
    verdict = "within" if total_s < BUDGET_S else "over"
    print(
        f"fresh process CPU: import onnx {onnx_s:.2f} s; python + npusim + onnx + "
        f"light_resnet50 {total_s:.2f} s ({verdict} the {BUDGET_S:.0f} s budget)"
    )


if __name__ == "__main__":
    main()
