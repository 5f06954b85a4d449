"""The results contract and the run/validate/schema/list commands end to end."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from npusim.cli import main
from npusim.config import load_scenario
from npusim.results import flatten

TOTALS_KEYS = {
    "cycles", "time_s", "macs", "dram_read_bytes", "dram_write_bytes", "dram_bandwidth_gbps",
    "dram_peak_gbps", "cache_hits", "cache_misses", "cache_hit_rate", "energy_pj",
    "mac_utilization",
}  # fmt: skip
LAYER_KEYS = {"name", "type", "m", "k", "n", "compute_cycles", "folds", "mapping_efficiency",
              "mac_utilization"} | (TOTALS_KEYS - {"dram_peak_gbps"})  # fmt: skip


def run_cli(*args: str) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "npusim", *args], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    return proc.returncode, proc.stdout, proc.stderr


def test_run_writes_the_contract_files(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code, stdout, stderr = run_cli("run", "--workload", "mlp", "--out", str(out))
    assert code == 0, stderr
    assert "DRAM bandwidth" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema_version"] == 7
    assert summary["scenario"] == "lpddr5_51gbps_4mib" and summary["workload"] == "mlp"
    assert summary["fidelity"] == "cycle"
    assert {"timeline.csv", "dram_bandwidth.png", "dram_bandwidth.svg",
            "layer_breakdown.png"} <= {p.name for p in out.iterdir()}  # fmt: skip
    expected = {"weights": "int8", "activations": "int8", "accumulator": "int32",
                "kv_cache": "int8"}  # fmt: skip
    assert summary["precision"] == expected
    assert set(summary["totals"]) >= TOTALS_KEYS
    assert set(summary["totals"]["energy_pj"]) == {"mac", "sram", "dram", "static", "phy", "total"}
    assert all(set(layer) >= LAYER_KEYS for layer in summary["layers"])
    rows = list(csv.DictReader((out / "layers.csv").open()))
    assert [r["name"] for r in rows] == ["fc1", "fc2", "fc3"]
    assert {"energy_total_pj", "energy_mac_pj", "dram_read_bytes"} <= set(rows[0])
    resolved = yaml.safe_load((out / "resolved_config.yaml").read_text())
    assert resolved["sram"]["capacity"] == "4194304 B"


def test_analytic_run_says_it_is_a_lower_bound(tmp_path: Path) -> None:
    code, stdout, _ = run_cli("run", "-w", "mlp", "--fidelity", "analytic", "--out",
                              str(tmp_path / "a"))  # fmt: skip
    assert code == 0 and "LOWER BOUND" in stdout
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["fidelity"] == "analytic" and "LOWER BOUND" in summary["notes"][0]


def test_resolved_config_reproduces_the_run(tmp_path: Path) -> None:
    first = tmp_path / "a"
    assert main(["run", "-q", "-w", "mlp", "--set", "sram.capacity=1 MiB", "--out",
                 str(first)]) == 0  # fmt: skip
    again = tmp_path / "b"
    assert main(["run", str(first / "resolved_config.yaml"), "-q", "-w", "mlp", "--out",
                 str(again)]) == 0  # fmt: skip
    a = json.loads((first / "summary.json").read_text())
    b = json.loads((again / "summary.json").read_text())
    assert a["totals"] == b["totals"]


def test_default_out_dir_names_scenario_workload_precision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", "-q", "-w", "mlp", "-p", "fp32"]) == 0
    assert (tmp_path / "reports" / "lpddr5_51gbps_4mib-mlp-fp32" / "summary.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.yaml"], "missing.yaml: file not found"),
        (["run", "--set", "sram.capacty=1 MiB"], "sram.capacty: unknown key (did you mean "
         "'capacity'?)"),
        (["run", "--workload", "resnet"], "no workload file or bundled workload named 'resnet'"),
        (["run", "--precision", "int3"], "unknown precision 'int3'"),
        (["run", "--set", "dram.preset=DDR4"], "dram.preset: expected one of"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    code, _, stderr = run_cli(*args, "--out", str(tmp_path / "out"))
    assert code == 2
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert stderr.startswith("npusim: error: ") and message in stderr
    assert not (tmp_path / "out").exists()


def test_bad_workload_file_names_file_line_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "w.yaml"
    bad.write_text("name: w\nlayers:\n  - {name: a, type: linear, in_featurs: 3, "
                   "out_features: 4}\n")  # fmt: skip
    code, _, stderr = run_cli("run", "-w", str(bad), "--out", str(tmp_path / "o"))
    assert code == 2
    assert f"{bad}:3: layers[0].in_featurs: unknown linear key (did you mean " in stderr
    empty = tmp_path / "e.yaml"
    empty.write_text("name: e\nlayers: []\n")
    code, _, stderr = run_cli("run", "-w", str(empty), "--out", str(tmp_path / "o"))
    assert code == 2 and "a workload needs a non-empty list of layers" in stderr


def test_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "lpddr5_51gbps_4mib", "edge_npu_12gbps_512kib"]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("sram:\n  ways: 0\n  lines: 64\n")
    assert main(["validate", "lpddr5_51gbps_4mib", str(bad)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {bad}:2: sram.ways: expected an integer (>= 1), got 0",
                   f"error: {bad}:3: sram.lines: unknown key (did you mean 'line'?)",
                   f"invalid: {bad} (read as a scenario: it has no 'layers' (workload) or "
                   "'axes' (sweep))"]  # fmt: skip


def test_schema_is_json_schema_of_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["properties"]["sram"]["properties"]["capacity"]["default"] == 4 * 2**20
    assert schema["properties"]["array"]["properties"]["dataflow"]["enum"] == ["os", "ws", "is"]
    assert "extends" in schema["properties"]


def test_list_shows_bundled_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "lpddr5_51gbps_4mib" in out and "resnet50_layers" in out


def test_flatten_names_units_last() -> None:
    assert flatten({"energy_pj": {"total": 1.0, "mac": 2.0}, "cycles": 3}) == {
        "energy_total_pj": 1.0,
        "energy_mac_pj": 2.0,
        "cycles": 3,
    }


def test_out_never_replaces_what_npusim_did_not_write(tmp_path: Path) -> None:
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    code, _, stderr = run_cli("run", "-w", "mlp", "--fidelity", "analytic", "--out",
                              str(precious))  # fmt: skip
    assert code == 2 and "holds files npusim did not write (notes.txt)" in stderr
    assert (precious / "notes.txt").read_text() == "keep me"
    a_file = tmp_path / "file.txt"
    a_file.write_text("keep me too")
    code, _, stderr = run_cli("run", "-w", "mlp", "--fidelity", "analytic", "--out", str(a_file))
    assert code == 2 and "is a file; --out needs a folder" in stderr
    assert a_file.read_text() == "keep me too"
    code, _, stderr = run_cli("run", "--set", "name=../escaped", "--fidelity", "analytic")
    assert code == 2 and "name: expected letters, digits" in stderr


def test_scenario_load_is_deterministic_across_processes_and_follows_the_yaml() -> None:
    """The scenario does not depend on the interpreter's hash seed (a set or a hash-ordered
    mapping on the way would reorder it), and it carries the bundled YAML's values, read here
    with plain PyYAML rather than through the loader."""
    code = "from npusim.config import load_scenario; print(repr(load_scenario()))"
    reprs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)  # fmt: skip
        reprs.add(run.stdout)
    scenario = load_scenario()
    assert reprs == {repr(scenario) + "\n"}
    yaml_file = Path(scenario.source)
    assert yaml_file.name == "lpddr5_51gbps_4mib.yaml"
    raw = yaml.safe_load(yaml_file.read_text())
    assert scenario.name == raw["name"] and scenario.seed == raw["seed"]
    assert scenario.clock_hz == 1e9 and raw["clock"] == "1 GHz"
    dram, array = raw["dram"], raw["array"]
    assert (scenario.dram.channels, scenario.dram.preset) == (dram["channels"], dram["preset"])
    assert (scenario.array.rows, scenario.array.cols) == (array["rows"], array["cols"])
    assert scenario.sram.capacity_bytes == 4 * 2**20 and raw["sram"]["capacity"] == "4 MiB"
    assert scenario.array.macs_per_pe_per_cycle == array["macs_per_pe_per_cycle"]


def test_workload_parameters_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["run", "-q", "-w", "bert_base", "--param", "seq_len=8", "--fidelity", "analytic"]
    assert main(args) == 0
    (out,) = (tmp_path / "reports").glob("lpddr5_51gbps_4mib-bert_base-int8-*")
    summary = json.loads((out / "summary.json").read_text())
    qkv = next(layer for layer in summary["layers"] if layer["type"] == "linear")
    assert qkv["m"] == 8
    code, _, stderr = run_cli("run", "-w", "bert_base", "--param", "seq_len=x")
    assert (
        code == 2 and stderr == "npusim: error: --param: expected NAME=INTEGER, got 'seq_len=x'\n"
    )
