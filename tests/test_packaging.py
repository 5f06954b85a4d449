"""A non-editable install finds the bundled scenarios, workloads and sweeps by name.

``setup.py``'s ``build_py`` copies ``hw_configs/``, ``workloads/`` and ``sweeps/`` into the
built package (``npusim/_bundled/``); this builds the package into a temporary folder (no
network, no wheel tools: the same ``build_py`` a wheel build runs) and runs npusim from there,
outside the checkout.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_built_package_carries_and_finds_the_bundled_files(tmp_path: Path) -> None:
    build_lib = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build_lib)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    bundled = build_lib / "npusim" / "_bundled"
    assert sorted(p.name for p in (bundled / "hw_configs").iterdir()) == sorted(
        p.name for p in (REPO / "hw_configs").glob("*.yaml")
    )
    for folder in ("workloads", "sweeps"):
        assert sorted(p.name for p in (bundled / folder).iterdir()) == sorted(
            p.name for p in (REPO / folder).glob("*.yaml")
        )
    script = (
        "import npusim, sys\n"
        "from npusim.cli import main\n"
        "assert npusim.__file__.startswith(sys.argv[1]), npusim.__file__\n"
        "main(['run', '--workload', 'gemv_4096', '--fidelity', 'analytic', '--no-plots',"
        " '--out', sys.argv[2], '-q'])\n"
        "from npusim.sweep.spec import resolve_sweep_path\n"
        "assert str(resolve_sweep_path('bitwidth')).startswith(sys.argv[1])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(build_lib)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(build_lib), str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "summary.json").is_file()
