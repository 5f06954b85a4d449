"""Running sweeps: the store holds exactly what simulate() returns, resume, failures, export."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from npusim.config import load_scenario
from npusim.simulate import simulate
from npusim.sweep import ProgressBar, ResultStore, export_csv, export_json, run_sweep
from npusim.workload import load_workload

SMALL = """
name: small
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes:
  precision: [int8, int4]
  sram.capacity: [1 MiB, 2 MiB]
"""

# 16 KiB holds no tile of ResNet-50's conv1 (the smallest needs 36864 B): fails at run time.
FAILING = """
name: failing
scenario: lpddr5_51gbps_4mib
workloads: [resnet50_layers]
axes:
  sram.capacity: [16 KiB, 64 KiB]
"""


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    (folder / "small.yaml").write_text(SMALL)
    outcome = run_sweep(folder / "small.yaml", folder / "out", jobs=2, report=False)
    assert (outcome.total, outcome.ran, outcome.skipped, outcome.exit_code) == (4, 4, 0, 0)
    return folder


def test_store_holds_the_simulate_summary_per_point(small_run: Path) -> None:
    with ResultStore(small_run / "out") as store:
        points = store.points()
    assert len(points) == 4 and all(p.ok for p in points)
    point = next(p for p in points if p.axes == {"precision": "int4", "sram.capacity": "2 MiB"})
    scenario = load_scenario("lpddr5_51gbps_4mib", ['sram.capacity="2 MiB"'], precision="int4")
    expected = simulate(scenario, load_workload("gemv_4096"), "analytic").summary()
    assert point.summary == json.loads(json.dumps(expected))
    assert point.fidelity == "analytic" and point.workload == "gemv_4096"
    # The compute roof stored for the roofline: rows x cols x MACs/PE/cycle x clock.
    per_pe = scenario.array.macs_per_pe_per_cycle["int4"]
    assert point.peak_macs_per_s == pytest.approx(
        scenario.array.rows * scenario.array.cols * per_pe * scenario.clock_hz
    )


def test_store_is_wal_and_rerun_skips_finished(small_run: Path) -> None:
    db = sqlite3.connect(small_run / "out" / "results.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    before = db.execute("SELECT key, finished_unix_s FROM points ORDER BY key").fetchall()
    db.close()
    outcome = run_sweep(small_run / "small.yaml", small_run / "out", jobs=2, report=False)
    assert (outcome.ran, outcome.skipped) == (0, 4)
    db = sqlite3.connect(small_run / "out" / "results.sqlite")
    assert db.execute("SELECT key, finished_unix_s FROM points ORDER BY key").fetchall() == before


def test_a_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text(FAILING)
    outcome = run_sweep(tmp_path / "f.yaml", tmp_path / "out", jobs=1, report=False)
    assert outcome.exit_code == 1 and outcome.ran == 2
    [(point, error)] = outcome.failed
    assert point.axes_dict == {"sram.capacity": "16 KiB"} and "no tile fits" in error
    with ResultStore(tmp_path / "out") as store:
        status = {p.axes["sram.capacity"]: (p.status, p.error) for p in store.points()}
    assert status["64 KiB"] == ("ok", None)
    assert status["16 KiB"][0] == "failed" and "CapacityError" in status["16 KiB"][1]
    # A rerun retries only the failed point (it may have failed for a reason since fixed).
    again = run_sweep(tmp_path / "f.yaml", tmp_path / "out", jobs=1, report=False)
    assert (again.ran, again.skipped, again.exit_code) == (1, 1, 1)


def test_export_csv_and_json_one_flat_row_per_point(small_run: Path, tmp_path: Path) -> None:
    assert export_csv(small_run / "out", tmp_path / "r.csv") == 4
    assert export_json(small_run / "out", tmp_path / "r.json") == 4
    with open(tmp_path / "r.csv") as handle:
        rows = list(csv.DictReader(handle))
    records = json.loads((tmp_path / "r.json").read_text())
    assert len(rows) == len(records) == 4
    for row, record in zip(rows, records, strict=True):
        assert row["key"] == record["key"] and row["status"] == "ok"
        assert {"precision", "sram.capacity", "cycles", "energy_total_pj",
                "energy_dram_pj", "dram_bandwidth_gbps"} <= set(row)  # fmt: skip
        assert float(row["energy_total_pj"]) == pytest.approx(record["energy_total_pj"])
        parts = (
            "energy_mac_pj",
            "energy_sram_pj",
            "energy_dram_pj",
            "energy_static_pj",
            "energy_phy_pj",
        )
        assert sum(record[p] for p in parts) == pytest.approx(record["energy_total_pj"])


def test_export_reads_with_pandas(small_run: Path, tmp_path: Path) -> None:
    import pandas  # the test extra installs it: the export's promise is "readable by pandas"

    export_csv(small_run / "out", tmp_path / "r.csv")
    frame = pandas.read_csv(tmp_path / "r.csv")
    assert len(frame) == 4 and set(frame["precision"]) == {"int8", "int4"}


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal_and_on_a_pipe() -> None:
    tty = _Tty()
    bar = ProgressBar(tty, width=10)
    bar.start(4, 0)
    bar.advance(failed=False)
    bar.advance(failed=True)
    assert "\r[#####.....] 2/4 done, 1 failed, ETA" in tty.getvalue()
    bar.advance(False)
    bar.advance(False)
    bar.finish()
    assert "[##########] 4/4 done, 1 failed, took" in tty.getvalue()
    pipe = io.StringIO()
    quiet = ProgressBar(pipe, interval_s=3600)
    quiet.start(3, 2)
    for _ in range(3):
        quiet.advance(False)
    quiet.finish()
    lines = pipe.getvalue().splitlines()
    assert lines[0] == "resuming: 2 finished point(s) skipped, 3 to run"
    assert lines[-1].startswith("sweep: 3/3 done, 0 failed, took")
    assert len(lines) == 3  # start, end; nothing in between within the interval
