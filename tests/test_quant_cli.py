"""End-to-end runs of ``npusim quantize``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main


@pytest.fixture
def tensor_path(tmp_path: Path) -> Path:
    x = np.random.default_rng(0).laplace(size=(16, 64)).astype(np.float32)
    path = tmp_path / "w.npy"
    np.save(path, x)
    return path


def test_text_report(tensor_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = "--bits 4 --symmetric --granularity per-channel --axis 0 --calibration entropy"
    code = main(["quantize", str(tensor_path), *args.split()])
    out = capsys.readouterr().out
    assert code == 0
    assert "format: int4 symmetric per_channel(axis 0) entropy" in out
    assert "scales: 16 group(s)" in out
    # 1024 elements: 4096 B fp32 -> 512 B payload + 16 FP32 scales (64 B)
    assert "bytes: 4096 -> 576 (payload 512 + metadata 64)" in out
    assert "SQNR" in out and "clipped" in out


def test_json_matches_api(tensor_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from npusim.quant import QuantSpec, quantize

    assert main(["quantize", str(tensor_path), "--json", "--unsigned"]) == 0
    report = json.loads(capsys.readouterr().out)
    q = quantize(np.load(tensor_path), QuantSpec(signed=False))
    assert report["total_bytes"] == q.nbytes == 1024 + 5
    assert report["error"]["mse"] == q.error.mse
    assert report["spec"]["granularity"] == "per_tensor"


def test_compare_rows(tensor_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quantize", str(tensor_path), "--compare", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["bits"] for r in rows] == [32, 16, 8, 4, 2, 1]
    # payload + FP32 scale + zero point of ceil(bits / 8) bytes (int16: 2 B); binary: scale only
    expected = [4096, 2048 + 4 + 2, 1024 + 4 + 1, 512 + 4 + 1, 256 + 4 + 1, 128 + 4]
    assert [r["total_bytes"] for r in rows] == expected
    assert rows[0]["error"]["sqnr_db"] is None  # FP32: no error, infinite SQNR
    sqnr = [r["error"]["sqnr_db"] for r in rows[1:5]]  # integer rows 16, 8, 4, 2
    assert sqnr == sorted(sqnr, reverse=True)
    # binary's alpha = mean|x| beats 2-bit min-max on Laplacian data (measured 2.87 vs 2.68 dB)
    assert rows[5]["error"]["sqnr_db"] > rows[4]["error"]["sqnr_db"]


def test_bad_input_exits_2(tensor_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quantize", str(tensor_path), "--bits", "0"]) == 2
    assert "bits 0 outside 1..16" in capsys.readouterr().err
    assert main(["quantize", str(tensor_path), "--granularity", "per-group",
                 "--group-size", "5", "--axis", "1"]) == 2  # fmt: skip
    assert "group size 5 does not divide axis 1 of length 64" in capsys.readouterr().err
    assert main(["quantize", str(tensor_path.parent / "missing.npy")]) == 2
    assert "cannot read tensor" in capsys.readouterr().err


def test_subprocess_compare_text(tensor_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "npusim", "quantize", str(tensor_path), "--compare"],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[1].split()[:3] == ["bits", "format", "bytes"]
    assert [line.split()[0] for line in lines[2:]] == ["32", "16", "8", "4", "2", "1"]
