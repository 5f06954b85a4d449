"""``--executor dask``: the same sweep on a Dask distributed cluster (here a local one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from npusim.cli import main
from npusim.sweep import ResultStore, run_sweep

distributed = pytest.importorskip(
    "distributed", reason="dask distributed is not installed (optional extra npusim[cluster])"
)

SWEEP = """
name: dasked
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes:
  precision: [fp16, int8, int4]
"""


@pytest.fixture(scope="module")
def scheduler() -> str:
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                       protocol="tcp", host="127.0.0.1",
                                       dashboard_address=None)  # fmt: skip
    yield cluster.scheduler_address
    cluster.close()


def test_sweep_on_a_local_dask_cluster_matches_local_processes(
    tmp_path: Path, scheduler: str
) -> None:
    assert scheduler.startswith("tcp://127.0.0.1:")
    (tmp_path / "s.yaml").write_text(SWEEP)
    on_dask = run_sweep(tmp_path / "s.yaml", tmp_path / "dask", executor="dask",
                        scheduler=scheduler, report=False)  # fmt: skip
    assert (on_dask.ran, on_dask.exit_code) == (3, 0)
    run_sweep(tmp_path / "s.yaml", tmp_path / "local", jobs=1, report=False)
    with ResultStore(tmp_path / "dask") as a, ResultStore(tmp_path / "local") as b:
        assert [(p.key, p.summary) for p in a.points()] == [(p.key, p.summary) for p in b.points()]
    again = run_sweep(tmp_path / "s.yaml", tmp_path / "dask", executor="dask",
                      scheduler=scheduler, report=False)  # fmt: skip
    assert (again.ran, again.skipped) == (0, 3)


def test_cli_dask_executor(tmp_path: Path, scheduler: str, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP)
    code = main(["sweep", str(tmp_path / "s.yaml"), "--executor", "dask", "--scheduler",
                 scheduler, "--out", str(tmp_path / "o"), "--no-report", "-q"])  # fmt: skip
    assert code == 0
    assert "3 points: 0 already finished, 3 run, 0 failed" in capsys.readouterr().out


def test_dask_needs_a_scheduler(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "s.yaml").write_text(SWEEP)
    assert main(["sweep", str(tmp_path / "s.yaml"), "--executor", "dask"]) == 2
    assert "--scheduler" in capsys.readouterr().err


def test_unreachable_scheduler_is_one_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import dask

    (tmp_path / "s.yaml").write_text(SWEEP)
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["sweep", str(tmp_path / "s.yaml"), "--executor", "dask", "--scheduler",
                     "tcp://127.0.0.1:1", "--out", str(tmp_path / "o"), "-q"])  # fmt: skip
    assert code == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
