"""``npusim array`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from npusim.cli import main


def test_gemm_table_shows_the_reference_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["array", "--gemm", "128", "768", "768", "--dataflow", "os"]) == 0
    out = capsys.readouterr().out
    assert "compute_cycles" in out and "mapping_eff" in out
    # The reference dataflow-cycles.md example, 4 x 24 = 96 folds of 830 cycles (79,680 as
    # SCALE-Sim counts it), with npusim's default pipelined folds: a fold starts every
    # max(T, R) = 768 cycles, so 95 * 768 + 830.
    assert " 73790 " in out
    assert "total: compute_cycles=73790 macs=75497472" in out
    assert "32x32 os int8" in out and "MAC area 0.4291 mm^2" in out  # 1024 x 419 um^2


def test_json_output_fp32(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["array", "--gemm", "128", "768", "768", "--dataflow", "os", "--precision", "fp32"]
    assert main([*args, "--rows", "16", "--cols", "64", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["array"]["rows"] == 16 and result["array"]["accumulator"] == "fp32"
    layer = result["layers"][0]
    # os on 16x64: F_r = 8, F_c = 12, T = 768 / 0.25 = 3072, per fold 3072 + 78 = 3150 (8 * 12
    # * 3150 without overlap); pipelined folds start every max(T, R) = 3072 cycles.
    assert layer["compute_cycles"] == (8 * 12 - 1) * 3072 + 3150
    assert layer["mac_energy_pj"] == pytest.approx(128 * 768 * 768 * 4.6)  # Horowitz FP32 MAC
    assert result["totals"]["compute_cycles"] == layer["compute_cycles"]


def test_topology_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "net.csv"
    path.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,\nConv1, 230, 230, 7, 7, 3, 64, 2,\nfc_DP, 9, 9, 3, 3, 8, 1, 1,\n"
    )
    assert main(["array", "--topology", str(path), "--json"]) == 0
    layers = json.loads(capsys.readouterr().out)["layers"]
    assert [layer["name"] for layer in layers] == ["Conv1", "fc_DP"]
    assert layers[1]["groups"] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gemm", "0", "4", "4"], "m must be a positive integer"),
        (["--gemm", "4", "4", "4", "--dataflow", "rs"], "unknown dataflow 'rs'"),
        (["--gemm", "4", "4", "4", "--precision", "int32"], "does not support 'int32'"),
        (["--gemm", "4", "4", "4", "--precision", "int7"], "unknown precision 'int7'"),
        (["--gemm", "4", "4", "4", "--rows", "0"], "array.rows: must be a positive integer"),
        (["--topology", "/nonexistent/x.csv"], "cannot read topology"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["array", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_subprocess_run() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "npusim", "array", "--gemm", "1", "4096", "4096", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    layer = json.loads(done.stdout)["layers"][0]
    # ws GEMV: F_r = 128, F_c = 128, per fold 2*32 + 32 + 1 - 2 = 95 (128 * 128 * 95 without
    # overlap); pipelined, a fold starts every max(T, R) = max(1, 32) cycles: the next fold's
    # 32 rows of weights load one row per cycle.
    assert layer["compute_cycles"] == (128 * 128 - 1) * 32 + 95
