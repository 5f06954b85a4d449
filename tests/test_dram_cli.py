"""End-to-end runs of ``npusim dram`` and its bad-input errors (exit code 2, one line)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from npusim.cli import main

pytestmark = pytest.mark.usefixtures("dram_loop")  # every loop: tests/conftest.py

# LPDDR5-6400 (reference lpddr5.md): nRCD 15, nCL 17, nBL 2 CK; tCK 1.25 ns; 12.8 GB/s peak
MISS_LATENCY_NS = (15 + 17 + 2) * 1.25


def _write(tmp_path: Path, text: str, name: str = "t.trace") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_untimed_trace_prints_a_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    trace = _write(tmp_path, "# stream\n" + "".join(f"LD {hex(32 * i)}\n" for i in range(64)))
    assert main(["dram", trace]) == 0
    out = capsys.readouterr().out
    assert "requests               64" in out
    assert "bytes read / written   2048 / 0" in out
    assert "of 12.8 GB/s peak" in out


def test_timed_trace_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    trace = _write(tmp_path, "0 R 0x0\n100 W 0x8000 64\n200 R 4096\n")
    assert main(["dram", trace, "--json", "--channels", "2", "--refresh", "off"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["requests"] == 3
    assert data["bytes_requested"] == 32 + 64 + 32
    assert data["total"]["bytes_read"] == 64 and data["total"]["bytes_written"] == 64
    assert data["params"]["channels"] == 2
    # the first read finds its bank closed: ACT, nRCD, RD, nCL + nBL
    assert data["total"]["read_latency_max_ns"] >= MISS_LATENCY_NS
    assert data["total"]["energy"]["total_pj"] > 0


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("LD 0x0\nLD 0xZZ\n", [], "t.trace:2"),
        ("LD 0x40000000\n", [], "beyond the capacity"),
        ("LD 0x0\n", ["--preset", "LPDDR5_640"], "did you mean 'LPDDR5_6400'"),
        ("LD 0x0\n", ["--mapping", "RoBaCoCh"], "Bg missing"),
        ("LD 0x0\n", ["--mapping", "RoBaBaCoBgCh"], "Ba repeated"),
        ("LD 0x0\n", ["--bank-arch", "16B"], "up to 3200 MT/s"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: str, args: list[str], message: str
) -> None:
    trace = _write(tmp_path, text)
    assert main(["dram", trace, *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_subprocess_run(tmp_path: Path) -> None:
    trace = _write(tmp_path, "LD 0x0\nST 0x20\n")
    done = subprocess.run(
        [sys.executable, "-m", "npusim", "dram", trace, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"]["bytes_written"] == 32


@pytest.mark.parametrize(("given", "expected"), [(None, "0"), ("1", "1")])
def test_the_dram_command_turns_numpy_huge_page_advice_off_unless_told(
    given: str | None, expected: str
) -> None:
    """Set before NumPy is imported (small pages avoid kernel compaction stalls); an explicit
    setting wins."""
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if given is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = given
    code = (
        "import os, sys, npusim.cli; assert 'numpy' not in sys.modules; import npusim.cli.dram; "
        "print(os.environ['NUMPY_MADVISE_HUGEPAGE'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_a_trace_that_is_not_a_regular_file_is_refused_in_one_line(
    make: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """`npusim dram /dev/zero` ran out of memory with a traceback, and a FIFO blocked
    forever: both are refused before they are opened."""
    if make == "fifo":
        path = str(tmp_path / "trace.fifo")
        os.mkfifo(path)
    else:
        path = "/dev/zero"
    assert main(["dram", path]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"npusim: error: TRACE: {path}: not a regular file"
