"""``npusim cache TRACE``: end-to-end runs, JSON output and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

from npusim.cli import main

TRACE = """\
# two passes over 8 lines, then a write and a re-read
LD 0x0 512
LD 0x0 512
ST 0x1000
LD 0x1000
"""


def write(tmp_path, text: str = TRACE):
    path = tmp_path / "t.trace"
    path.write_text(text)
    return str(path)


def test_text_report(tmp_path, capsys):
    assert main(["cache", write(tmp_path), "--capacity", "4KiB", "--ways", "4"]) == 0
    out = capsys.readouterr().out
    assert "cache: 4.00 KiB, 64 B lines, 4 ways, 16 sets, lru, write-back" in out
    assert "hits: 9  misses: 9  hit rate: 50.00 %" in out
    assert "misses: compulsory 9, capacity 0, conflict 0" in out


def test_json_report_with_timed_run(tmp_path, capsys):
    path = write(tmp_path)
    args = ["cache", path, "--capacity", "4KiB", "--ways", "4", "--write-policy", "wt"]
    assert main([*args, "--json", "--memory-latency", "50"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cache"]["write_policy"] == "write-through"
    assert (data["accesses"], data["hits"], data["misses"]) == (18, 8, 10)
    assert data["next_level_write_bytes"] == 64  # the unsized ST is one line
    assert data["timed"]["total_cycles"] > 50
    assert data["area_mm2"] > 0 and data["dynamic_energy_pj"] > 0


def test_bad_options_and_bad_trace_are_one_line_errors(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["cache", path, "--capacity", "4 parsecs"]) == 2
    assert "--capacity" in capsys.readouterr().err
    assert main(["cache", path, "--ways", "0", "--replacement", "lfu"]) == 2
    err = capsys.readouterr().err
    assert "ways: must be >= 1" in err and "valid: lru, fifo, random, plru" in err
    assert len(err.strip().splitlines()) == 1
    bad = write(tmp_path, "LD 0x0\nLOAD 0x40\n")
    assert main(["cache", bad]) == 2
    assert "t.trace:2" in capsys.readouterr().err


def test_module_entry_point_subprocess(tmp_path):
    path = write(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "npusim", "cache", path, "--capacity", "1KiB", "--ways", "1",
         "--replacement", "random", "--json"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cache"]["replacement"] == "random"
