"""``npusim list``: scenario summaries, sweeps, and one workload's layers and tensors on
request; run tables name vector layers instead of printing 0x0x0 (issue 15)."""

from __future__ import annotations

from pathlib import Path

import pytest

from npusim.cli import main
from npusim.config.bundled import bundled_folder, bundled_names
from npusim.report.human import human_quantity


def listing(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["list", *args]) == 0
    return capsys.readouterr().out


def test_list_summarises_scenarios_workloads_and_sweeps(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = listing(capsys)
    row = next(line for line in out.splitlines() if line.startswith("lpddr5_51gbps_4mib "))
    assert row.split()[1:8] == ["1", "GHz", "64x64", "os", "int8", "4", "MiB"]
    assert "LPDDR5_6400 x4 (51.2 GB/s)" in row
    sweep = next(line for line in out.splitlines() if line.startswith("bitwidth "))
    # 6 precisions x 4 capacities x 2 workloads, counted from the file without loading it
    assert sweep.split()[-2:] == ["48", "analytic"]
    # one line per bundled file, three header lines per section and two blank ones: no layers
    bundled = sum(len(bundled_names(bundled_folder(f))) for f in ("hw_configs", "workloads",
                                                                  "sweeps"))  # fmt: skip
    assert "fc1" not in out and len(out.splitlines()) == bundled + 3 * 3 + 2


def test_details_show_each_scenario_in_human_units_but_no_layers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = listing(capsys, "--details")
    assert "scenario mobile_npu_51gbps_8mib:" in out
    assert "capacity=8 MiB" in out and "  clock: 1.2 GHz" in out
    # one wrapped line per section (27 or 28 lines a scenario), not one per key (87)
    details = out.split("\nscenario ", 1)[1].splitlines()
    assert len(details) <= 30 * len(bundled_names(bundled_folder("hw_configs")))
    assert "Hz\n" not in out.replace(" GHz", "").replace(" MHz", "")
    assert "conv1" not in out and "npusim list --workload NAME" in out


def test_workload_filter_shows_layers_and_tensor_lifetimes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    net = tmp_path / "net.yaml"
    net.write_text(
        "name: net\nlayers:\n"
        "  - {name: a, type: linear, in_features: 8, out_features: 8}\n"
        "  - {name: b, type: activation, function: relu, elements: 8}\n"
        "  - {name: c, type: elementwise, op: add, elements: 8, inputs: [a, b]}\n"
    )
    out = listing(capsys, "--workload", str(net))
    assert "workload net" in out and "workload mlp" not in out
    lines = out.split("tensors of net:")[1].splitlines()
    rows = {line.split()[0]: line.split() for line in lines[3:] if line.strip()}
    # a is read by b (position 1) and c (position 2): it lives 0..2
    assert rows["a"][-3:] == ["b,", "c", "0..2"]
    assert rows["b"][-2:] == ["c", "1..2"]
    assert rows["input"][-1] == "-1..0"
    assert rows["c"][-3:] == ["(network", "output)", "2..2"]
    layer_rows = out.split("tensors of net:")[0]
    assert "vector unit" in layer_rows and "0x0x0" not in layer_rows


def test_run_table_names_vector_layers(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    net = tmp_path / "v.yaml"
    net.write_text("name: v\nlayers:\n"
                   "  - {name: fc, type: linear, in_features: 64, out_features: 64}\n"
                   "  - {name: act, type: activation, function: gelu, elements: 64}\n")  # fmt: skip
    assert main(["run", "--no-plots", "-w", str(net), "--fidelity", "analytic", "--out",
                 str(tmp_path / "o")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    act = next(line for line in out.splitlines() if line.startswith("act "))
    assert "vector unit" in act and "0x0x0" not in out


@pytest.mark.parametrize(
    ("text", "shown"),
    [("4194304 B", "4 MiB"), ("1000000000.0 Hz", "1 GHz"), ("1.875e-08 s", "18.75 ns"),
     ("3e-13 J", "0.3 pJ"), ("0.05 W", "50 mW"), ("4.19e-10 m^2", "419 um^2"),
     ("5.12e10 B/s", "51.2 GB/s"), ("8589934592 b", "8 Gib"), ("open", "open")],
)  # fmt: skip
def test_human_quantity(text: str, shown: str) -> None:
    assert human_quantity(text) == shown


def test_the_summary_reads_workload_headers_and_details_count_layers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The plain list parses only each workload's header (name, parameters, description);
    --details loads the layers for the layer, weight and MAC counts."""
    plain = listing(capsys)
    row = next(line for line in plain.splitlines() if line.startswith("bert_base "))
    assert "seq_len=128" in row and "84.93 M" not in row
    detailed = listing(capsys, "--details")
    row = next(line for line in detailed.splitlines() if line.startswith("resnet50 "))
    assert row.split()[1:3] == ["72", "25.50"]
