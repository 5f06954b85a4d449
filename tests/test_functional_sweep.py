"""Accuracy sweeps: each point's top-1 in the store and the export, the accuracy plots, and
the Pareto front they mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from npusim.errors import NpusimError
from npusim.functional import DatasetError
from npusim.report.plots import write_plots
from npusim.sweep import run_sweep
from npusim.sweep.export import result_rows
from npusim.sweep.views import pareto_front

SWEEP = """\
name: digits_acc
scenario: lpddr5_51gbps_4mib
workloads: [digits_cnn]
fidelity: analytic
axes:
  precision: [fp32, int8, int2]
"""


def test_pareto_front_by_hand() -> None:
    # (cost, accuracy): b (1, 50), c (2, 80), d (2, 70) beaten by c, a (3, 90), e (4, 90)
    # beaten by a (same accuracy, dearer), f (3, 90) a duplicate of a (the first is kept)
    costs = [3.0, 1.0, 2.0, 2.0, 4.0, 3.0]
    accuracies = [90.0, 50.0, 80.0, 70.0, 90.0, 90.0]
    assert pareto_front(costs, accuracies) == [1, 2, 0]
    assert pareto_front([], []) == []


def run(tmp_path: Path, accuracy: str | None) -> Path:
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    outcome = run_sweep(sweep, out, jobs=1, report=False, accuracy=accuracy)
    assert outcome.exit_code == 0
    return out


def test_an_accuracy_sweep_stores_and_exports_top1_and_plots_it(tmp_path: Path) -> None:
    out = run(tmp_path, "digits")
    rows = {row["precision"]: row for row in result_rows(out)}
    # the shipped CNN's pins of test_functional_accuracy, now through the sweep
    assert {p: rows[p]["accuracy_top1"] for p in rows} == {"fp32": 0.986, "int8": 0.986,
                                                          "int2": 0.284}  # fmt: skip
    assert all(row["accuracy_top1_fp32"] == 0.986 for row in rows.values())
    files = write_plots(out, names=["accuracy_energy", "accuracy_traffic", "energy"])
    assert [f.name for f in files] == ["energy", "accuracy_energy", "accuracy_traffic"]
    assert all((out / f.png).stat().st_size > 0 for f in files)


def test_a_sweep_without_accuracy_draws_no_accuracy_plot(tmp_path: Path) -> None:
    out = run(tmp_path, None)
    assert all("accuracy_top1" not in row for row in result_rows(out))
    assert write_plots(out, names=["accuracy_energy", "accuracy_traffic"]) == []


def test_a_bad_dataset_stops_the_sweep_before_any_point(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such dataset file"):
        run(tmp_path, "missing.npz")
    assert not (tmp_path / "out").exists()


def test_accuracy_is_a_sweep_file_key_read_beside_the_file(tmp_path: Path) -> None:
    """``accuracy: data.npz`` beside the sweep file, no --accuracy flag: each point has top-1;
    the flag, when given, overrides the key."""
    from npusim.config.bundled import bundled_folder
    from npusim.sweep.spec import load_sweep

    (tmp_path / "data.npz").write_bytes((bundled_folder("workloads") / "digits.npz").read_bytes())
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP.replace("precision: [fp32, int8, int2]", "precision: [int8]")
                     + "accuracy: data.npz\n")  # fmt: skip
    outcome = run_sweep(sweep, tmp_path / "out", jobs=1, report=False)
    assert outcome.exit_code == 0
    [row] = result_rows(tmp_path / "out")
    assert (row["accuracy_top1"], row["accuracy_top1_fp32"]) == (0.986, 0.986)
    spec, points = load_sweep(sweep)
    assert spec.accuracy == str(tmp_path / "data.npz") == points[0].accuracy
    assert load_sweep(sweep, accuracy="digits")[0].accuracy == "digits"


@pytest.mark.parametrize(("workload", "dataset", "message"), [
    ("gpt2_decode", "digits", "has no trained weights"),
    ("digits_mlp", "bad", "each input has 9 values, the network input has 64"),
])  # fmt: skip
def test_accuracy_inputs_are_checked_once_before_any_point_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workload: str, dataset: str, message: str
) -> None:
    """An untrained model or a dataset that does not fit the network stops the sweep before
    any timing run (it used to fail each point after timing it)."""
    import numpy as np

    import npusim.sweep.runner as runner

    def no_simulation(*args: object, **kwargs: object) -> None:
        raise AssertionError("a point was timed before the accuracy inputs were checked")

    monkeypatch.setattr(runner, "simulate", no_simulation)
    if dataset == "bad":
        dataset = str(tmp_path / "bad.npz")
        np.savez(dataset, inputs=np.zeros((8, 3, 3), np.float32), labels=np.zeros(8, np.int64))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP.replace("[digits_cnn]", f"[digits_cnn, {workload}]"))
    with pytest.raises(NpusimError, match=message):
        run_sweep(sweep, tmp_path / "out", jobs=1, report=False, accuracy=dataset)
    assert not (tmp_path / "out").exists()


def test_a_bad_accuracy_key_is_a_config_error(tmp_path: Path) -> None:
    from npusim.errors import ConfigError

    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP + "accuracy: [digits]\n")
    with pytest.raises(ConfigError, match=r"accuracy: expected a dataset \(.npz path or bundled"):
        run_sweep(sweep, tmp_path / "out", jobs=1, report=False)


def test_a_point_the_functional_pass_cannot_run_stops_the_sweep_before_any_point(
    tmp_path: Path,
) -> None:
    """The first point (INT8) runs functionally, the second (INT16, whose sums overflow the
    INT32 accumulator on the digits CNN) does not: checked per point, the sweep stops before
    timing either (it used to time the INT8 point first)."""
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(SWEEP.replace("[fp32, int8, int2]", "[int8, int16]"))
    with pytest.raises(NpusimError, match="int32 accumulator overflow"):
        run_sweep(sweep, tmp_path / "out", jobs=1, report=False, accuracy="digits")
    assert not (tmp_path / "out").exists()
