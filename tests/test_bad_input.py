"""Hostile input anywhere gets one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


def npusim(*args: str, cwd: Path) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "npusim", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd)  # fmt: skip
    return proc.returncode, proc.stderr


CASES = [
    ("bin.yaml", b"\xff\xfe bad", ["validate", "bin.yaml"], "not a UTF-8 text file"),
    ("rec.yaml", b"a: &a [*a]\n", ["validate", "rec.yaml"], "recursive YAML alias"),
    ("t1.trc", b"LD 0xffffffffffffffffffff 64\n", ["dram", "t1.trc"], "is larger than"),
    ("t2.trc", b"LD 0x0 100000000000\n", ["cache", "t2.trc"], "size must be from 1 to"),
    ("t3.trc", b"\xff\xfe", ["cache", "t3.trc"], "not a text trace"),
    ("s0.csv", b"Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
     b"Num Filter, Strides,\nc, 8, 8, 3, 3, 4, 4, 0,\n", ["array", "--topology", "s0.csv"],
     "sizes and stride must be positive integers"),
    ("big.yaml", b"name: big\nlayers:\n  - {name: a, type: linear, in_features: 9, "
     b"out_features: '99999999999999999999 * 9'}\n", ["run", "-w", "big.yaml"],
     "out_features must be at most 2147483647"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "args", "message"), CASES)
def test_hostile_files(tmp_path: Path, name: str, content: bytes, args: list[str],
                       message: str) -> None:  # fmt: skip
    (tmp_path / name).write_bytes(content)
    code, stderr = npusim(*args, cwd=tmp_path)
    assert code == 2 and "Traceback" not in stderr and message in stderr, stderr


def test_an_alias_bomb_is_fast_and_clear(tmp_path: Path) -> None:
    lines = ["l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    (tmp_path / "bomb.yaml").write_text("\n".join([*lines, "dram: {timing: {nRCD: *l9}}"]))
    code, stderr = npusim("validate", "bomb.yaml", cwd=tmp_path)  # 9^10 values if expanded
    assert code == 2 and "dram.timing.nRCD: expected an integer" in stderr


def test_a_tensor_at_the_float32_limit(tmp_path: Path) -> None:
    np.save(tmp_path / "big.npy", np.array([1e38, -1e38, 3e38], dtype=np.float32))
    code, stderr = npusim("quantize", "big.npy", cwd=tmp_path)
    assert code == 2 and stderr.count("\n") == 1 and "overflows a float32 scale" in stderr


def test_a_corrupt_results_store(tmp_path: Path) -> None:
    (tmp_path / "sweep").mkdir()
    (tmp_path / "sweep" / "results.sqlite").write_text("garbage")
    code, stderr = npusim("results", "sweep", cwd=tmp_path)
    assert code == 2 and "not a readable npusim results store" in stderr
