"""Reproducers of issue 18 ("Hostile input") in the command-line front door: each is refused
with exit code 2 and one line naming the problem, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main


def one_error_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``npusim argv`` in-process; assert exit 2 and one ``npusim: error:`` line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("npusim: error: "), err
    return err


@pytest.mark.parametrize("value", ["--1", "²", "1_000", "9" * 5000, " ", "0x10"])
def test_a_workload_parameter_must_be_a_plain_integer(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    err = one_error_line(capsys, ["run", "-w", "gpt2_decode", "--fidelity", "analytic",
                                  "--param", f"kv_len={value}"])  # fmt: skip
    assert "--param: expected NAME=INTEGER" in err and len(err) < 200


def _npy(tmp_path: Path, name: str, content: bytes) -> str:
    (tmp_path / name).write_bytes(content)
    return str(tmp_path / name)


def test_tensors_that_are_not_a_whole_npy_array(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "whole.npy", np.arange(1000, dtype=np.float32))
    whole = (tmp_path / "whole.npy").read_bytes()
    np.savez(tmp_path / "pair.npz", a=np.ones(3))
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.float32))
    header["shape"] = (2**40,)  # 4 TiB promised, none there: refused before allocating
    promised = tmp_path / "promise.npy"
    with open(promised, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
    damaged = whole.replace(b"'fortran_order'", b"'fortran_order'{", 1)  # tokenize.TokenError
    cases = {
        _npy(tmp_path, "damaged.npy", damaged): "EOF in multi-line statement",
        _npy(tmp_path, "empty.npy", b""): "cannot read tensor",
        _npy(tmp_path, "cut.npy", whole[:-100]): "cannot read tensor",
        str(tmp_path / "pair.npz"): "a .npz archive, not a .npy array",
        str(promised): "cannot read tensor",
    }
    for path, message in cases.items():
        assert message in one_error_line(capsys, ["quantize", path]), path


def test_a_cache_larger_than_the_memory_says_it_does_not_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "t.trc").write_text("LD 0x0 64\n")
    err = one_error_line(capsys, ["cache", str(tmp_path / "t.trc"), "--capacity", "1024 TiB"])
    # (issue: "1 TiB") 2^50 B / 64 B lines = 2^44 lines x 17 B of state = 272 TiB: no test
    # machine has that free, so the outcome does not depend on the machine
    assert "a cache of 17,592,186,044,416 lines does not fit" in err
    assert "278,528.0 GiB" in err


@pytest.mark.parametrize("option", ["--memory-latency", "--hit-latency"])
@pytest.mark.parametrize("value", ["100000000000000000000", "1e20", "-1", "4294967297"])
def test_cache_latencies_are_bounded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    (tmp_path / "t.trc").write_text("LD 0x0 64\n")
    with pytest.raises(SystemExit) as stop:
        main(["cache", str(tmp_path / "t.trc"), option, value])
    assert stop.value.code == 2
    assert "expected whole cycles from 0 to 4294967296" in capsys.readouterr().err


def test_the_largest_latency_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.trc").write_text("LD 0x0 64\nLD 0x1000 64\n")
    assert main(["cache", str(tmp_path / "t.trc"), "--memory-latency", "4294967296"]) == 0
    # the misses overlap in MSHRs: the second issues at cycle 1, looks up for the 2 hit
    # cycles and waits 2^32 for the next level (no overflow, no serialisation)
    assert f"timed: {1 + 2 + 2**32} cycles" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["cache"], ["array", "--topology"], ["quantize"]])
def test_devices_and_fifos_are_not_read(tmp_path: Path, command: list[str]) -> None:
    os.mkfifo(tmp_path / "fifo")  # opening it would block forever: no writer
    for path in ("/dev/zero", "fifo", "."):
        # a subprocess: if the refusal regresses, the timeout fails the test, no hang
        proc = subprocess.run([sys.executable, "-m", "npusim", *command, path], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
        assert f"{path}: not a regular" in proc.stderr


def test_a_name_too_long_for_the_file_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    long = "a" * 300
    err = one_error_line(capsys, ["run", "-w", "mlp", "--fidelity", "analytic", "--out", long])
    assert "File name too long" in err
    assert main(["validate", long, "mlp"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert lines[0] == f"error: {'a' * 80}...: File name too long" and len(lines) == 2
    assert captured.out.startswith("ok: mlp")


def test_validate_prints_each_problem_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "nul.yaml").write_bytes(b"name: a\x00b\n")
    assert main(["validate", str(tmp_path / "nul.yaml")]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("invalid:")


def test_an_overflowing_input_writes_no_infinity_into_summary_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o"
    err = one_error_line(capsys, ["run", "-w", "mlp", "--fidelity", "analytic", "--out", str(out),
                                  "--set", "energy.sram_read=1e300 J"])  # fmt: skip
    assert "totals.energy_pj.sram is not a finite number" in err and not out.exists()


def test_a_sweep_point_that_overflows_fails_with_its_reason(tmp_path: Path) -> None:
    from npusim.sweep import ResultStore, run_sweep

    (tmp_path / "s.yaml").write_text("name: s\nscenario: lpddr5_51gbps_4mib\nworkloads: [mlp]\n"
                                     "axes:\n  energy.sram_read: [1 pJ, 1e300 J]\n")  # fmt: skip
    outcome = run_sweep(tmp_path / "s.yaml", tmp_path / "o", jobs=1, report=False)
    assert [error.split(":")[0] for _, error in outcome.failed] == ["ResultsError"]
    with ResultStore(tmp_path / "o") as store:
        assert [p.status for p in store.points()] == ["ok", "failed"]


def test_a_tensor_at_float32_limits_quantizes_with_finite_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-3.4e38 symmetric INT8: scale 3.4e38 / 127.5, code -128, and -128 x scale is beyond
    float32; it saturates to float32's largest value (was "math domain error")."""
    np.save(tmp_path / "edge.npy", np.full(100, -3.4e38, dtype=np.float32))
    assert main(["quantize", str(tmp_path / "edge.npy"), "--symmetric", "--json"]) == 0
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    error = json.loads(out)["error"]
    # |x_hat| = float32 max: the error is float32 max - 3.4e38, below half a step (1.33e36)
    expected = float(np.finfo(np.float32).max) - float(np.float32(3.4e38))
    assert error["max_abs_error"] == pytest.approx(expected, rel=1e-6)
    assert error["fraction_clipped"] == 0.0


def test_min_max_calibration_clips_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """[1e37, -5e36, 3.3e36] symmetric: 1e37 / (1e37 / 127.5) = 127.5 rounds to 128 and is
    clamped to 127, half a step of error like any rounding: 0 % clipped (reported 33 %)."""
    np.save(tmp_path / "wide.npy", np.array([1e37, -5e36, 3.3e36], dtype=np.float32))
    assert main(["quantize", str(tmp_path / "wide.npy"), "--symmetric", "--json"]) == 0
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["fraction_clipped"] == 0.0 and error["clipping_mse"] == 0.0
