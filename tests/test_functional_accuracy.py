"""Task accuracy of the shipped digits models, `npusim run --accuracy`, and bad datasets.

Pinned values are regression pins measured on the shipped models (tools/train_digits.py,
seed 0; 500 test images, so one image is 0.2 points); the bounds beside them are the claims.
"""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main
from npusim.config import load_scenario
from npusim.config.bundled import bundled_folder
from npusim.functional import (
    DatasetError,
    check_accuracy_inputs,
    load_dataset,
    scenario_accuracy,
)
from npusim.functional.accuracy import AccuracyResult
from npusim.workload import load_workload

DIGITS = bundled_folder("workloads") / "digits.npz"


def accuracy(precision: str, workload: str = "digits_cnn", *sets: str) -> AccuracyResult:
    scenario = load_scenario(None, list(sets), precision=precision)
    result, _ = scenario_accuracy(scenario, load_workload(workload), "digits")
    return result


def test_the_shipped_split_is_fixed() -> None:
    data = load_dataset("digits")
    assert (data.calibration_samples, data.test_samples) == (200, 500)
    assert data.inputs.shape == (700, 64) and set(np.unique(data.labels)) == set(range(10))


def test_int8_per_channel_is_within_one_point_of_fp32() -> None:
    result = accuracy("int8")  # the default scenario: symmetric, per channel, min-max
    assert result.top1_fp32 == 0.986  # regression pin: the shipped CNN's FP32 top-1
    assert abs(result.top1 - result.top1_fp32) <= 0.01  # the primer's 1 point
    assert result.top1 == 0.986  # regression pin
    assert result.agreement_with_fp32 == 1.0  # regression pin: no test image changes class


def quantized_logits(precision: str) -> np.ndarray:
    """The CNN's stored output logits ``(500, 10)`` on the test split at ``precision``."""
    from npusim.functional import QuantizedNetwork, execute, load_parameters, scenario_specs

    workload, data = load_workload("digits_cnn"), load_dataset("digits")
    specs = scenario_specs(load_scenario(None, [], precision=precision), workload)
    network = QuantizedNetwork(workload, load_parameters(workload), specs, data.calibration())
    return execute(workload, data.test()[0], network.run_layer)["fc"]


def test_int2_and_binary_fall_well_below_int8() -> None:
    """Without retraining, signed symmetric INT2 keeps codes -2..1, so a ReLU output (>= 0)
    is 0 or one step: activations are effectively 1 bit. Binary stores sign(x) * alpha, and
    the network input and every ReLU output are >= 0, so every stored activation is +alpha:
    the output no longer depends on the image. The logits themselves are stored in binary
    (+-alpha), so classes tie: argmax takes the first of the tied classes for every image.
    Top-1 is then exactly the share of the test split that carries that one label, and the
    agreement with FP32 the share FP32 gives that class."""
    int8, int4 = accuracy("int8").top1, accuracy("int4").top1
    int2, binary = accuracy("int2"), accuracy("binary")
    assert (int4, int2.top1, binary.top1) == (0.936, 0.284, 0.106)  # regression pins
    assert int8 > int4 > int2.top1 > binary.top1
    assert int2.top1 < int8 - 0.5
    logits = quantized_logits("binary")
    assert (logits == logits[0]).all()  # the same output for every image
    (constant,) = set(logits.argmax(axis=1).tolist())
    top = np.flatnonzero(logits[0] == logits[0].max())
    assert constant == top[0] and top.size >= 2  # a tie, broken by argmax's first index
    assert binary.top1_ties == 500
    labels = load_dataset("digits").test()[1]
    assert binary.top1 == np.mean(labels == constant)
    fp32_logits = quantized_logits("fp32")
    assert binary.agreement_with_fp32 == np.mean(fp32_logits.argmax(axis=1) == constant)
    sorted_int2 = np.sort(quantized_logits("int2"), axis=1)
    assert int2.top1_ties == np.count_nonzero(sorted_int2[:, -1] == sorted_int2[:, -2])
    assert int2.top1_ties > 100  # regression pin territory: 297 of 500 measured
    assert accuracy("int8").top1_ties == 1  # regression pin: 256 levels still tie once


def test_float_formats_keep_fp32_accuracy_with_their_precision_as_sqnr() -> None:
    """FP16 keeps 11 significant bits (about 6.02 * 11 = 66 dB per rounding); BF16 8 bits
    (48 dB): every layer's end-to-end SQNR sits near those figures and the class never
    changes."""
    fp16, bf16 = accuracy("fp16"), accuracy("bf16")
    for result, low, high in ((fp16, 60.0, 75.0), (bf16, 42.0, 57.0)):
        assert result.top1 == result.top1_fp32 and result.agreement_with_fp32 == 1.0
        assert all(low < db < high for db in result.layer_sqnr_db.values())


def test_error_propagates_from_layer_to_layer() -> None:
    """Only conv1 is quantized (INT4 weights); every later layer computes in FP32, yet its
    end-to-end output differs from the FP32 network's by what conv1 left in its input. FP32
    rounding alone would be near 140 dB (24-bit significands); the FP32 run is identical."""
    result = accuracy("fp32", "digits_cnn", "precision.layers.conv1.weights=int4")
    assert all(db is not None and db < 40.0 for db in result.layer_sqnr_db.values())
    assert accuracy("fp32").layer_sqnr_db["fc"] is None  # FP32 throughout: no error at all


def test_the_mlp_ships_too() -> None:
    result = accuracy("int8", "digits_mlp")
    assert result.top1_fp32 == 0.978  # regression pin
    assert abs(result.top1 - result.top1_fp32) <= 0.01


def test_run_with_accuracy_writes_the_block_and_per_layer_sqnr(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "-w", "digits_cnn", "--accuracy", "digits", "--fidelity", "analytic",
            "--no-plots", "-q", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == 7
    block = summary["accuracy"]
    assert block == {"dataset": "digits", "top1": 0.986, "top1_fp32": 0.986,
                     "agreement_with_fp32": 1.0, "samples": 500, "calibration_samples": 200,
                     "test_samples": 500, "top1_ties": 1, "calibration": "minmax",
                     "granularity": "per_channel", "symmetric": True}  # fmt: skip
    sqnr = {layer["name"]: layer["output_sqnr_db"] for layer in summary["layers"]}
    assert set(sqnr) == {"conv1", "pool1", "conv2", "pool2", "fc"}
    assert all(20.0 < value < 60.0 for value in sqnr.values())  # INT8: about 6 dB per bit
    rows = list(csv.DictReader((out / "layers.csv").open()))
    assert all(row["output_sqnr_db"] for row in rows)


def test_run_without_accuracy_has_no_block(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "-w", "digits_cnn", "--fidelity", "analytic", "--no-plots", "-q", "--out",
            str(out)]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "accuracy" not in summary
    assert all("output_sqnr_db" not in layer for layer in summary["layers"])


def write_dataset(tmp_path: Path, **arrays: np.ndarray) -> Path:
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path


def good_arrays() -> dict[str, np.ndarray]:
    with np.load(DIGITS) as archive:
        return {"inputs": archive["inputs"][:40], "labels": archive["labels"][:40],
                "calibration_samples": np.int64(10)}  # fmt: skip


def bad_dataset(name: str) -> dict[str, np.ndarray]:
    arrays = good_arrays()
    if name == "nan":
        arrays["inputs"] = arrays["inputs"].copy()
        arrays["inputs"][3, 0, 2, 2] = np.nan
    elif name == "inf":
        arrays["inputs"] = arrays["inputs"].copy()
        arrays["inputs"][5, 0, 1, 1] = np.inf
    elif name == "shape":
        arrays["inputs"] = arrays["inputs"][:, :, :7, :7]
    elif name == "labels":
        arrays["labels"] = arrays["labels"].copy()
        arrays["labels"][7] = 10
    elif name == "negative":
        arrays["labels"] = arrays["labels"].copy()
        arrays["labels"][7] = -1
    elif name == "too_small":
        arrays = {"inputs": arrays["inputs"][:1], "labels": arrays["labels"][:1]}
    elif name == "split":
        arrays["calibration_samples"] = np.int64(40)
    elif name == "missing":
        del arrays["labels"]
    elif name == "label_count":
        arrays["labels"] = arrays["labels"][:39]
    elif name == "overflow":  # finite in float32, but conv1's sums of it are not
        arrays["inputs"] = arrays["inputs"].copy()
        arrays["inputs"][3, 0, 2, 2] = 3e38
    return arrays


BAD = {
    "nan": "holds 1 NaN or Inf values",
    "inf": "holds 1 NaN or Inf values",
    "shape": "each input has 49 values, the network input has 64",
    "labels": "1 labels outside 0..9 (the network's 10 outputs), first at sample 7: 10",
    "negative": "1 labels outside 0..9 (the network's 10 outputs), first at sample 7: -1",
    "too_small": "1 sample(s) cannot be split into calibration and test (need 2+)",
    "split": "calibration_samples = 40 leaves no calibration or no test split of 40 samples",
    "missing": "missing array 'labels'",
    "label_count": "'labels' has shape (39,), expected (40,), one per input",
    "overflow": "layer 'conv1' overflows float32 (4 Inf/NaN outputs; the largest input "
    "magnitude is 3e+38): scale the inputs down",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_datasets_are_named_errors(tmp_path: Path, name: str) -> None:
    """Also before any timing run (check_accuracy_inputs); no numpy warning leaks."""
    path = write_dataset(tmp_path, **bad_dataset(name))
    scenario = load_scenario(None, [], precision="int8")
    workload = load_workload("digits_cnn")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would now be raised instead
        with pytest.raises(DatasetError, match=re.escape(BAD[name])):
            scenario_accuracy(scenario, workload, path)
        with pytest.raises(DatasetError, match=re.escape(BAD[name])):
            check_accuracy_inputs(workload, path, scenario)


def test_a_text_file_is_not_an_npz_archive(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    path.write_text("inputs,labels\n0.1,3\n")
    with pytest.raises(DatasetError, match=r"data.npz: not an .npz archive \(a zip of .npy"):
        load_dataset(path)


def test_check_accuracy_inputs_refuses_a_workload_without_weights_or_relu_kind(
    tmp_path: Path,
) -> None:
    from npusim.functional import FunctionalError

    scenario = load_scenario(None, [])
    with pytest.raises(FunctionalError, match="layer 'fc1' of workload 'mlp' has no trained"):
        check_accuracy_inputs(load_workload("mlp"), "digits", scenario)
    with np.load(load_workload("digits_cnn").tensors) as archive:
        arrays = {k: archive[k] for k in archive.files if k != "conv2.activation"}
    np.savez(tmp_path / "digits_cnn.npz", **arrays)
    text = bundled_folder("workloads").joinpath("digits_cnn.yaml").read_text()
    (tmp_path / "cnn.yaml").write_text(text)
    with pytest.raises(FunctionalError, match="layer 'conv2' of workload 'digits_cnn' has relu"):
        check_accuracy_inputs(load_workload(tmp_path / "cnn.yaml"), "digits", scenario)
    check_accuracy_inputs(load_workload("digits_cnn"), "digits", scenario)  # all good


def test_a_good_small_dataset_runs(tmp_path: Path) -> None:
    path = write_dataset(tmp_path, **good_arrays())
    result, _ = scenario_accuracy(load_scenario(None, []), load_workload("digits_cnn"), path)
    assert (result.calibration_samples, result.test_samples) == (10, 30)


@pytest.mark.parametrize(
    ("workload", "dataset", "message"),
    [
        ("digits_cnn", "nan", "holds 1 NaN or Inf values"),
        ("digits_cnn", "no_such_file.npz", "no such dataset file"),
        ("mlp", "digits", "layer 'fc1' of workload 'mlp' has no trained weights"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workload: str, dataset: str, message: str
) -> None:
    if dataset == "nan":
        dataset = str(write_dataset(tmp_path, **bad_dataset("nan")))
    args = ["run", "-w", workload, "--accuracy", dataset, "--fidelity", "analytic",
            "--no-plots", "-q", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("npusim: error:")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("model", "first"), [("digits_cnn", "conv1"), ("digits_mlp", "fc1")])
def test_shipped_layer_inputs_come_from_the_calibration_split(model: str, first: str) -> None:
    """``<layer>.input`` (what the timing run's SQNR columns measure) is the first
    calibration image's, never a test image's; every relu layer names its function."""
    workload = load_workload(model)
    with np.load(workload.tensors) as archive:
        shipped = archive[f"{first}.input"]
        activations = {k: str(archive[k]) for k in archive.files if k.endswith(".activation")}
    data = load_dataset("digits")
    np.testing.assert_array_equal(shipped, data.calibration()[0])
    marked = {f"{layer.name}.activation" for layer in workload.layers if getattr(layer, "relu", 0)}
    assert activations == dict.fromkeys(marked, "relu")


def test_calibration_never_sees_the_test_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replacing every test image (and label) leaves every calibrated scale and zero point
    unchanged, and changes the accuracy: the quantizers depend on the calibration split only."""
    import npusim.functional.accuracy as accuracy_module
    from npusim.functional import Dataset, evaluate, scenario_specs

    built: list[dict] = []
    original = accuracy_module.QuantizedNetwork

    class Recording(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            built.append({key: (q.scale, q.zero_point) for key, q in self.quantizers.items()})

    monkeypatch.setattr(accuracy_module, "QuantizedNetwork", Recording)
    workload, data = load_workload("digits_cnn"), load_dataset("digits")
    specs = scenario_specs(load_scenario(None, [], precision="int4"), workload)
    cut = data.calibration_samples
    rng = np.random.default_rng(10)
    inputs = data.inputs.copy()
    inputs[cut:] = rng.uniform(0, 3, inputs[cut:].shape)  # wider than any calibration pixel
    labels = data.labels.copy()
    labels[cut:] = rng.integers(0, 10, labels.size - cut)
    changed = Dataset("changed", inputs, labels, cut)
    results = [evaluate(workload, d, specs) for d in (data, changed)]
    assert len(built) == 2 and built[0] == built[1]
    assert results[0].top1 != results[1].top1


@pytest.mark.parametrize(("workload", "dataset", "message"), [
    ("gpt2_decode", "digits", "has no trained weights"),
    ("digits_cnn", "nosuch.npz", "nosuch.npz"),
])  # fmt: skip
def test_run_checks_the_accuracy_inputs_before_the_timing_run(
    workload: str, dataset: str, message: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
) -> None:  # fmt: skip
    """A model without weights or a missing dataset fails at once (it used to fail after the
    whole timing simulation): the engine is never called."""
    import npusim.cli.run as run_command

    def no_simulation(*args: object, **kwargs: object) -> None:
        raise AssertionError("the timing run started before the accuracy inputs were checked")

    monkeypatch.setattr(run_command, "simulate", no_simulation)
    code = main(["run", "-w", workload, "--accuracy", dataset, "--out", str(tmp_path / "o")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
