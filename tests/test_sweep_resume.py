"""Kill a real sweep process (SIGKILL) mid-sweep, start it again: nothing lost, nothing redone."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

SWEEP = """
name: kill
scenario: lpddr5_51gbps_4mib
workloads: [resnet50_layers, gemv_4096]
axes:
  precision: [fp32, fp16, int8, int4, int2, binary]
  sram.capacity: [128 KiB, 256 KiB, 512 KiB, 1 MiB, 2 MiB, 4 MiB, 8 MiB, 16 MiB]
  array.rows: [16, 32]
"""
TOTAL = 2 * 6 * 8 * 2


def sweep_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "npusim", "sweep", str(folder / "kill.yaml"), "--jobs", "2",
            "--out", str(folder / "out"), "--no-report"]  # fmt: skip


def stored(folder: Path) -> list[tuple[str, str, float]]:
    path = folder / "out" / "results.sqlite"
    if not path.exists():
        return []
    db = sqlite3.connect(path, timeout=10)
    try:
        return db.execute("SELECT key, status, finished_unix_s FROM points").fetchall()
    except sqlite3.OperationalError:  # the table is not created yet
        return []
    finally:
        db.close()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to find worker processes")
def test_sigkill_mid_sweep_then_rerun_loses_and_redoes_nothing(tmp_path: Path) -> None:
    (tmp_path / "kill.yaml").write_text(SWEEP)
    proc = subprocess.Popen(sweep_command(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 60
    while len(stored(tmp_path)) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    workers = children_of(proc.pid)
    assert len(workers) >= 2, "the worker processes were not found"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "the sweep finished before it could be killed"
    before = {key: (status, when) for key, status, when in stored(tmp_path)}
    assert 20 <= len(before) < TOTAL
    assert all(status == "ok" for status, _ in before.values())
    # Orphaned workers notice their parent is gone and exit instead of lingering.
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)

    rerun = subprocess.run(sweep_command(tmp_path), capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert (
        f"{TOTAL} points: {len(before)} already finished, {TOTAL - len(before)} run" in rerun.stdout
    )
    after = {key: (status, when) for key, status, when in stored(tmp_path)}
    assert len(after) == TOTAL and all(status == "ok" for status, _ in after.values())
    # Nothing finished before the kill was run again: its commit time is unchanged.
    assert all(after[key] == value for key, value in before.items())
