"""Hostile scenario files stop at the loader with one line (issue 18): a device or FIFO named
by ``extends``, an ``extends`` chain thousands of files deep, a number of 5,000 digits."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from npusim.config import load_scenario
from npusim.config.loader import MAX_EXTENDS_DEPTH
from npusim.errors import ConfigError


def npusim(*args: str, cwd: Path) -> tuple[int, str]:
    # a subprocess: should a refusal regress into a blocking read, the timeout fails the test
    proc = subprocess.run([sys.executable, "-m", "npusim", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)  # fmt: skip
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("target", ["/dev/zero", "fifo", "."])
def test_extends_names_no_device_fifo_or_folder(tmp_path: Path, target: str) -> None:
    os.mkfifo(tmp_path / "fifo")  # no writer: opening it to read would block forever
    (tmp_path / "s.yaml").write_text(f"extends: {target}\n")
    code, stderr = npusim("validate", "s.yaml", cwd=tmp_path)
    assert code == 2 and "not a regular file" in stderr and "Traceback" not in stderr, stderr
    code, stderr = npusim("run", "s.yaml", "-w", "mlp", "--fidelity", "analytic", cwd=tmp_path)
    assert code == 2 and stderr.count("\n") == 1 and "not a regular file" in stderr, stderr


def test_an_extends_chain_is_bounded(tmp_path: Path) -> None:
    parent = "lpddr5_51gbps_4mib"
    for i in range(3000):  # the RecursionError
        (tmp_path / f"c{i}.yaml").write_text(f"extends: {parent}\n")
        parent = f"c{i}.yaml"
    with pytest.raises(ConfigError) as caught:
        load_scenario(tmp_path / "c2999.yaml")
    [problem] = caught.value.problems
    assert problem.path == "extends"
    assert problem.message == f"more than {MAX_EXTENDS_DEPTH} scenarios extend one another"


def test_the_deepest_allowed_chain_loads(tmp_path: Path) -> None:
    parent = "lpddr5_51gbps_4mib"
    for i in range(MAX_EXTENDS_DEPTH - 1):  # with the bundled base: MAX_EXTENDS_DEPTH files
        (tmp_path / f"c{i}.yaml").write_text(f"extends: {parent}\nseed: {i}\n")
        parent = f"c{i}.yaml"
    assert load_scenario(tmp_path / parent).seed == MAX_EXTENDS_DEPTH - 2


def test_a_number_of_5000_digits_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unreadable YAML value: Exceeds the limit"):
        load_scenario(None, [f"seed={'9' * 5000}"])
    (tmp_path / "s.yaml").write_text("created: 2020-13-45\n")
    with pytest.raises(ConfigError, match=r"unreadable YAML value: month must be in 1\.\.12"):
        load_scenario(tmp_path / "s.yaml")
