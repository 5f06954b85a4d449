"""A run's identity: resolved_config.yaml reproduces it, its folder is its own, its
precision label is honest (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from npusim.cli import main
from npusim.config import load_scenario
from npusim.config.scenario import operand_label


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text())


@pytest.mark.parametrize(
    ("workload", "param", "fidelity"),
    [("mlp", "batch=3", "cycle"), ("gpt2_decode", "kv_len=512", "analytic")],
)
def test_resolved_config_reproduces_a_non_default_workload_with_set_and_param(
    tmp_path: Path, workload: str, param: str, fidelity: str
) -> None:
    first = tmp_path / "first"
    args = ["-w", workload, "--param", param, "--set", "sram.capacity=1 MiB"]
    assert main(["run", "-q", "--no-plots", *args, "--fidelity", fidelity, "--out",
                 str(first)]) == 0  # fmt: skip
    resolved = yaml.safe_load((first / "resolved_config.yaml").read_text())
    name, value = param.split("=")
    assert resolved["workload"] == workload
    assert resolved["workload_params"] == {name: int(value)}
    again = tmp_path / "again"  # no -w, no --param, no --set: all from the file
    assert main(["run", "-q", "--no-plots", str(first / "resolved_config.yaml"), "--fidelity",
                 fidelity, "--out", str(again)]) == 0  # fmt: skip
    a, b = summary(first), summary(again)
    assert b["workload"] == workload and b["workload_params"][name] == int(value)
    assert a["totals"] == b["totals"]
    assert a["overrides"] == {"sram.capacity": "1048576 B", "workload": workload,
                              f"workload_params.{name}": int(value)}  # fmt: skip
    assert b["overrides"] == {}


def test_a_workload_file_is_recorded_by_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "net.yaml").write_text(
        "name: net\nparams: {width: 64}\nlayers:\n"
        "  - {name: fc, type: linear, in_features: width, out_features: 32}\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-q", "--no-plots", "-w", "net.yaml", "--param", "width=96",
                 "--fidelity", "analytic", "--out", "a"]) == 0  # fmt: skip
    resolved = yaml.safe_load((tmp_path / "a" / "resolved_config.yaml").read_text())
    assert resolved["workload"] == str(tmp_path / "net.yaml")
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", "-q", "--no-plots", "../a/resolved_config.yaml", "--fidelity",
                 "analytic", "--out", "b"]) == 0  # fmt: skip
    assert summary(elsewhere / "b")["totals"] == summary(tmp_path / "a")["totals"]
    assert summary(elsewhere / "b")["layers"][0]["k"] == 96


def test_distinct_configurations_get_distinct_default_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runs = [
        [],
        ["--set", "sram.capacity=1 MiB"],
        ["--set", "sram.capacity=2 MiB"],
        ["--param", "batch=2"],
        ["--set", "precision.layers.fc2.weights=int4"],
        ["--set", "precision.weights=int4"],
    ]
    folders = []
    for extra in runs:
        before = set((tmp_path / "reports").glob("*")) if (tmp_path / "reports").exists() else set()
        assert main(["run", "-q", "--no-plots", "-w", "mlp", "--fidelity", "analytic",
                     *extra]) == 0  # fmt: skip
        (new,) = set((tmp_path / "reports").glob("*")) - before
        folders.append(new.name)
    stem = "lpddr5_51gbps_4mib-mlp-"
    assert folders[0] == stem + "int8"  # the bundled scenario as shipped: no digest
    assert folders[1].startswith(stem + "int8-") and folders[2].startswith(stem + "int8-")
    assert folders[4].startswith(stem + "int8+fc2:w4a8-")
    assert folders[5].startswith(stem + "w4a8")
    assert len(set(folders)) == len(runs)
    mixed = summary(tmp_path / "reports" / folders[4])
    assert mixed["precision_label"] == "int8+fc2:w4a8"
    assert mixed["overrides"] == {"precision.layers.fc2.weights": "int4", "workload": "mlp"}
    assert summary(tmp_path / "reports" / folders[3])["overrides"] == {
        "workload": "mlp", "workload_params.batch": 2}  # fmt: skip
    # the same configuration again lands in the same folder (same result, replaced)
    assert main(["run", "-q", "--no-plots", "-w", "mlp", "--fidelity", "analytic", "--set",
                 "sram.capacity=1048576"]) == 0  # fmt: skip
    assert len(list((tmp_path / "reports").glob("*"))) == len(runs)


def test_precision_label_names_both_operands_and_each_layer_override() -> None:
    assert operand_label("int8", "int8") == "int8"
    assert operand_label("int4", "int8") == "w4a8"
    assert operand_label("uint4", "uint8") == "wu4au8"
    assert operand_label("fp16", "int8") == "wfp16-aint8"
    scenario = load_scenario(None, ["precision.layers.fc.weights=int4",
                                    "precision.layers.conv1.activations=int4"])  # fmt: skip
    assert scenario.precision.label == "int8+conv1:w8a4+fc:w4a8"
    many = [f"precision.layers.l{i}.weights=int4" for i in range(4)]
    assert load_scenario(None, many).precision.label == "int8+4layers"


def test_console_header_shows_the_precision_label(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:  # fmt: skip
    assert main(["run", "--no-plots", "-w", "mlp", "--fidelity", "analytic", "--set",
                 "precision.layers.fc1.weights=int4", "--out", str(tmp_path)]) == 0  # fmt: skip
    assert "(int8+fc1:w4a8)" in capsys.readouterr().out.splitlines()[0]


def test_an_onnx_run_with_skipped_ops_reproduces_from_its_record(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("Round", ["r"], ["q"], name="rounder"),  # not modelled
             helper.make_node("Sigmoid", ["q"], ["y"], name="sig")]  # fmt: skip
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [2, 3])], [helper.make_tensor_value_info(
        "y", TensorProto.FLOAT, [2, 3])])  # fmt: skip
    model = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(model))
    first = tmp_path / "first"
    with pytest.warns(UserWarning, match="left out 1 unsupported"):
        assert main(["run", "-q", "--no-plots", "-w", str(model), "--skip-unsupported",
                     "--fidelity", "analytic", "--out", str(first)]) == 0  # fmt: skip
    resolved = yaml.safe_load((first / "resolved_config.yaml").read_text())
    assert resolved["workload"] == str(model) and resolved["workload_skip_unsupported"] is True
    with pytest.warns(UserWarning, match="left out 1 unsupported"):
        assert main(["run", "-q", "--no-plots", str(first / "resolved_config.yaml"),
                     "--fidelity", "analytic", "--out", str(tmp_path / "again")]) == 0  # fmt: skip
    assert summary(tmp_path / "again")["totals"] == summary(first)["totals"]
