"""``npusim sweep`` and ``npusim results`` end to end (in-process and one subprocess)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from npusim.cli import main

SWEEP = """
name: cli
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes:
  precision: [int8, int4]
"""


@pytest.fixture()
def sweep_file(tmp_path: Path) -> Path:
    path = tmp_path / "cli.yaml"
    path.write_text(SWEEP)
    return path


def test_sweep_then_results_to_stdout_csv_and_json(
    sweep_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "out"
    code = main(["sweep", str(sweep_file), "-j", "2", "-o", str(out), "--no-report", "-q"])
    assert code == 0
    assert "2 points: 0 already finished, 2 run, 0 failed" in capsys.readouterr().out
    assert main(["results", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["precision"] for r in rows] == ["int8", "int4"]
    assert main(["results", str(out), "--json", str(tmp_path / "r.json")]) == 0
    assert "wrote 2 rows" in capsys.readouterr().out
    records = json.loads((tmp_path / "r.json").read_text())
    assert [r["cycles"] for r in records] == [int(r["cycles"]) for r in rows]
    assert main(["results", str(out), "--csv", str(tmp_path / "r.csv")]) == 0
    assert (tmp_path / "r.csv").read_text().startswith("workload,precision,fidelity,status")


def test_failed_point_gives_exit_code_1(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # 16 KiB holds no tile of ResNet-50's conv1 (it needs 36864 B): the point fails at run time.
    path = tmp_path / "f.yaml"
    path.write_text("scenario: lpddr5_51gbps_4mib\nworkloads: [resnet50_layers]\n"
                    "axes: {sram.capacity: [16 KiB, 64 KiB]}\n")  # fmt: skip
    code = main(["sweep", str(path), "-j", "1", "-o", str(tmp_path / "o"), "--no-report", "-q"])
    captured = capsys.readouterr()
    assert code == 1
    assert "failed: resnet50_layers [sram.capacity=16 KiB]: CapacityError" in captured.err
    assert "1 failed" in captured.out


def test_invalid_sweep_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("scenario: lpddr5_51gbps_4mib\nworkloads: [gemv_4096]\n"
                    "axes: {sram.capacity: [1 MiB, -3]}\n")  # fmt: skip
    assert main(["sweep", str(path), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "sram.capacity" in err and "sweep point" in err
    assert not (tmp_path / "o").exists()  # nothing ran, nothing was written
    assert main(["results", str(tmp_path / "nowhere")]) == 2
    assert "no sweep results here" in capsys.readouterr().err


def test_sweep_subprocess(sweep_file: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "npusim", "sweep", str(sweep_file), "--jobs", "2",
               "--out", str(tmp_path / "o"), "--no-report"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # stderr is not a terminal here: plain progress lines, no bar redraws.
    assert "\r" not in done.stderr and "sweep: 2/2 done, 0 failed" in done.stderr
    again = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert "2 points: 2 already finished, 0 run, 0 failed" in again.stdout
