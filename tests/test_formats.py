"""Every file format is documented as JSON Schema and validated as what it is (issue 15)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from npusim.cli import main
from npusim.config.jsonschema import SCHEMAS
from npusim.sweep.spec import SWEEP_KEYS
from npusim.workload.loader import TOP_KEYS

REPO = Path(__file__).resolve().parents[1]


def schema_errors(value: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """The subset of JSON Schema npusim's schemas use, checked strictly (a second, simple
    reading of the schemas: any construct it does not know is an error)."""
    known = {"$schema", "title", "description", "default", "type", "properties", "required",
             "additionalProperties", "anyOf", "oneOf", "enum", "const", "items", "minItems",
             "minimum", "maximum", "exclusiveMinimum", "pattern", "propertyNames"}  # fmt: skip
    assert set(schema) <= known, set(schema) - known
    errors: list[str] = []
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool,
             "integer": int, "number": (int, float), "null": type(None)}  # fmt: skip
    if "type" in schema:
        ok = isinstance(value, kinds[schema["type"]])
        if schema["type"] in ("integer", "number") and isinstance(value, bool):
            ok = False
        if not ok:
            return [f"{path}: expected {schema['type']}, got {value!r}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: expected {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{path}: below minimum")
    for key in ("anyOf", "oneOf"):
        if key in schema:
            matches = [not schema_errors(value, option, path) for option in schema[key]]
            if sum(matches) == 0 or (key == "oneOf" and sum(matches) > 1):
                errors.append(f"{path}: {sum(matches)} of the {key} options match")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        errors += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}.{key}: not allowed")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += schema_errors(item, schema["additionalProperties"], f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


@pytest.mark.parametrize(("kind", "folder"), [("workload", "workloads"), ("sweep", "sweeps")])
def test_every_bundled_file_satisfies_its_schema(kind: str, folder: str) -> None:
    schema = SCHEMAS[kind]()
    files = sorted((REPO / folder).glob("*.yaml"))
    assert files
    for file in files:
        assert schema_errors(yaml.safe_load(file.read_text()), schema) == [], file


def test_schemas_list_exactly_the_keys_the_loaders_accept() -> None:
    assert set(SCHEMAS["workload"]()["properties"]) == set(TOP_KEYS)
    assert set(SCHEMAS["sweep"]()["properties"]) == set(SWEEP_KEYS)


def test_the_workload_schema_rejects_what_the_loader_rejects() -> None:
    schema = SCHEMAS["workload"]()
    conv = {"name": "c", "type": "conv2d", "in_h": 8, "in_w": 8, "in_channels": 3,
            "out_channels": 4, "kernel": 3}  # fmt: skip
    gelu = {"type": "activation", "function": "gelu", "elements": "s * 4"}
    good = {"name": "n", "params": {"s": 4}, "layers": [conv, gelu]}
    assert schema_errors(good, schema) == []
    typo = {"layers": [{"type": "linear", "in_featurs": 3, "out_features": 4}]}
    assert schema_errors(typo, schema) == [".layers[0]: 0 of the oneOf options match"]
    no_kernel = {"layers": [{"type": "conv2d", "in_h": 8, "in_w": 8, "in_channels": 3,
                             "out_channels": 4}]}  # fmt: skip
    assert schema_errors(no_kernel, schema) != []
    assert schema_errors({"layers": [], "batch": 0}, SCHEMAS["workload"]()) != []


def test_schema_kinds_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("workload", "sweep"):
        assert main(["schema", "--kind", kind]) == 0
        schema = json.loads(capsys.readouterr().out)
        assert schema["title"] == f"npusim {kind}"
    sweep = SCHEMAS["sweep"]()
    assert sweep["properties"]["axes"]["properties"]["sram.capacity"]["type"] == "array"


def test_validate_detects_each_kind_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [REPO / "sweeps" / "bitwidth.yaml", REPO / "workloads" / "mlp.yaml", "bitwidth",
             "mlp", "lpddr5_51gbps_4mib"]  # fmt: skip
    assert main(["validate", *map(str, files)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("bitwidth.yaml: sweep bitwidth: 48 points (it has 'scenario')")
    assert out[1].endswith("mlp.yaml: workload mlp: 3 layers, 0.000669 GMACs (it has 'layers')")
    assert out[2] == "ok: bitwidth: sweep bitwidth: 48 points (the bundled sweep 'bitwidth')"
    assert out[3].startswith("ok: mlp: workload mlp")
    assert out[4].startswith("ok: lpddr5_51gbps_4mib: scenario lpddr5_51gbps_4mib")
    sweep = tmp_path / "s.yaml"
    sweep.write_text("scenario: lpddr5_51gbps_4mib\nworkloads: [mlp]\nparams: {a: 1}\n"
                     "axes: {sram.capacty: [1 MiB]}\n")  # fmt: skip
    assert main(["validate", str(sweep)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: {sweep}:3: params: unknown sweep key",
        f"error: {sweep}:4: axes.sram.capacty: unknown scenario key (did you mean "
        "'sram.capacity'?)",
        f"invalid: {sweep} (read as a sweep: it has 'scenario')",
    ]
    workload = tmp_path / "w.yaml"
    workload.write_text("name: w\nparams: {n: 2}\nlayers:\n  - {type: linear, in_features: n}\n")
    assert main(["validate", str(workload)]) == 2
    err = capsys.readouterr().err
    assert "params: unknown" not in err and "out_features" in err
    assert err.splitlines()[-1] == f"invalid: {workload} (read as a workload: it has 'layers')"


def test_validate_kind_can_be_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text("name: odd\nclock: 1 GHz\n")
    assert main(["validate", "--kind", "workload", str(odd)]) == 2
    assert "a workload needs a non-empty list of layers" in capsys.readouterr().err
    assert main(["validate", str(odd)]) == 0


def test_a_bundled_sweep_runs_by_name(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "npusim", "validate", "bitwidth"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0 and "sweep bitwidth: 48 points" in proc.stdout


def test_validate_reports_a_bad_topology_as_one_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "net.csv"
    bad.write_text("Layer, M, N, K,\nq, 1, 2,\n")
    assert main(["validate", str(bad)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {bad}:2: gemm row needs 4 fields (name, M, N, K), got 3",
        f"invalid: {bad} (read as a workload: a .csv file: a SCALE-Sim topology)",
    ]
