"""Start-up stays light: ``npusim --help`` imports neither SimPy nor matplotlib nor the engine
(issue 15; the time itself is measured by benchmarks/bench_startup.py, never asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from npusim.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
# npusim.engine.modes is the engine's light registry of SRAM modes (the schema reads it;
# npusim.engine itself is a namespace package, nothing in it runs)
light = ("npusim.engine", "npusim.engine.modes")
heavy = [m for m in sys.modules if m.split(".")[0] in ("simpy", "matplotlib", "numpy")
         or (m.startswith("npusim.engine") and m not in light)]
print("imported:" + ",".join(sorted(heavy)))
"""


def imported_by(*args: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          timeout=60, check=True)  # fmt: skip
    last = proc.stdout.splitlines()[-1].removeprefix("imported:")
    return {name.split(".")[0] if not name.startswith("npusim") else "npusim.engine"
            for name in last.split(",") if name}  # fmt: skip


def test_help_imports_no_heavy_module() -> None:
    assert imported_by("--help") == set()


@pytest.mark.parametrize(
    "args", [("validate", "mlp"), ("schema", "--kind", "workload"), ("list",), ("run", "--help")]
)
def test_light_commands_import_neither_simpy_nor_matplotlib(args: tuple[str, ...]) -> None:
    assert imported_by(*args) & {"simpy", "matplotlib"} == set()


@pytest.mark.parametrize(
    "args", [("validate", "lpddr5_51gbps_4mib"), ("schema",), ("validate", "mlp")]
)
def test_scenario_and_workload_checks_load_no_numpy_and_no_engine(args: tuple[str, ...]) -> None:
    """The unit packages export lazily and the SRAM modes live in a light module, so checking
    a scenario loads only parameter modules (numpy alone costs about 0.15 s here)."""
    assert imported_by(*args) == set()
