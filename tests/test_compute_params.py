"""Array parameters: validation messages, registry, unsupported precisions, bad GEMMs."""

from __future__ import annotations

import math

import pytest

from npusim.compute import DATAFLOWS, get_dataflow
from npusim.compute.array import MacArray, layer_timing
from npusim.compute.params import (
    ArrayParams,
    Dataflow,
    check_params,
    params_from_mapping,
    validate_params,
)
from npusim.config.loader import load_scenario
from npusim.errors import ConfigError, WorkloadError
from npusim.workload.layers import Gemm

RATE8 = "macs_per_pe_per_cycle.int8"


def test_defaults_are_valid_and_as_specified() -> None:
    params = ArrayParams()
    assert check_params(params) == []
    assert (params.rows, params.cols, params.dataflow) == (32, 32, "ws")
    assert (
        params.macs_per_pe_per_cycle["int4"] == 2 and params.macs_per_pe_per_cycle["fp32"] == 0.25
    )
    assert params.accumulator_for("int8") == "int32" and params.accumulator_for("bf16") == "fp32"
    assert validate_params(ArrayParams(dataflow="os")).dataflow is Dataflow.OS


@pytest.mark.parametrize(
    ("params", "path", "message"),
    [
        (ArrayParams(rows=0), "rows", "must be a positive integer, got 0"),
        (ArrayParams(cols=-4), "cols", "must be a positive integer, got -4"),
        (ArrayParams(rows=2.5), "rows", "must be a positive integer, got 2.5"),
        (ArrayParams(dataflow="wss"), "dataflow", "valid: os, ws, is; did you mean 'ws'?"),
        (ArrayParams(macs_per_pe_per_cycle={}), "macs_per_pe_per_cycle", "non-empty mapping"),
        (ArrayParams(macs_per_pe_per_cycle={"int8": 0}), RATE8, "positive"),
        (ArrayParams(macs_per_pe_per_cycle={"int8": -1.0}), RATE8, "positive"),
        (ArrayParams(macs_per_pe_per_cycle={"int8": math.nan}), RATE8, "finite"),
        (ArrayParams(macs_per_pe_per_cycle={"int9": 1}), f"{RATE8[:-4]}int9", "unknown; valid"),
        (ArrayParams(macs_per_pe_per_cycle={"int32": 1}), f"{RATE8[:-4]}int32", "no MAC cost"),
        (ArrayParams(accumulator={"int8": "fp32"}), "accumulator.int8", "does not match"),
        (ArrayParams(accumulator={"fp16": "int64"}), "accumulator.fp16", "unknown accumulator"),
        (ArrayParams(mac_energy_pj={"int8": 0.0}), "mac_energy_pj.int8", "must be > 0"),
        (ArrayParams(fold_overlap=1), "fold_overlap", "must be true or false, got 1"),
        (ArrayParams(pack_groups="no"), "pack_groups", "must be true or false, got 'no'"),
    ],
)  # fmt: skip
def test_check_params_pins_each_problem(params: ArrayParams, path: str, message: str) -> None:
    problems = check_params(params)
    assert len(problems) == 1
    assert problems[0][0] == path
    assert message in problems[0][1]


def test_all_problems_reported_together() -> None:
    bad = ArrayParams(rows=0, cols=0, dataflow="xyz")
    assert [p for p, _ in check_params(bad)] == ["rows", "cols", "dataflow"]
    with pytest.raises(ConfigError) as err:
        validate_params(bad)
    assert [p.path for p in err.value.problems] == ["array.rows", "array.cols", "array.dataflow"]


def test_overlap_and_packing_default_on_and_reach_the_params_from_a_scenario() -> None:
    assert ArrayParams().fold_overlap and ArrayParams().pack_groups
    default = load_scenario().array
    assert default.fold_overlap is True and default.pack_groups is True
    scalesim = load_scenario(None, ["array.fold_overlap=false", "array.pack_groups=false"]).array
    assert (scalesim.fold_overlap, scalesim.pack_groups) == (False, False)
    assert validate_params(scalesim) == scalesim
    with pytest.raises(ConfigError, match=r"array\.fold_overlap: expected true or false, got 'x'"):
        load_scenario(None, ["array.fold_overlap=x"])


def test_params_from_mapping() -> None:
    params = params_from_mapping({"rows": 16, "dataflow": "is", "node": {"energy_factor": 0.5}})
    assert params.rows == 16 and params.dataflow is Dataflow.IS
    assert params.node.energy_factor == 0.5
    with pytest.raises(ConfigError, match=r"array\.colums: unknown key; .*did you mean 'cols'"):
        params_from_mapping({"colums": 8})


def test_registry_lists_dataflows_and_rejects_unknown_names() -> None:
    assert [d.value for d in DATAFLOWS] == ["os", "ws", "is"]
    assert get_dataflow("os").fold_cycles(32, 32, 768) == 830
    with pytest.raises(ConfigError, match="unknown dataflow 'rs'; valid: os, ws, is"):
        get_dataflow("rs")


def test_unknown_and_unsupported_precisions_are_clear_errors() -> None:
    array = MacArray(ArrayParams(macs_per_pe_per_cycle={"int8": 1}))
    with pytest.raises(ConfigError, match="unknown precision 'int7'"):
        array.layer_timing(Gemm(4, 4, 4), "int7")
    with pytest.raises(ConfigError, match="does not support 'fp32'; supported: int8"):
        array.layer_timing(Gemm(4, 4, 4), "fp32")


@pytest.mark.parametrize(
    "gemm", [Gemm(0, 4, 4), Gemm(4, -1, 4), Gemm(4, 4, 0), Gemm(4, 4, 4, groups=0)]
)
def test_zero_or_negative_dims_are_workload_errors(gemm: Gemm) -> None:
    with pytest.raises(WorkloadError, match="must be a positive integer"):
        layer_timing(gemm, ArrayParams(), "int8")


def test_invalid_params_rejected_before_timing() -> None:
    with pytest.raises(ConfigError, match=r"array\.rows"):
        layer_timing(Gemm(4, 4, 4), ArrayParams(rows=0), "int8")


def test_params_are_hashable_and_compare_by_value() -> None:
    assert hash(ArrayParams()) == hash(ArrayParams())
    assert ArrayParams(macs_per_pe_per_cycle={"int8": 1}) != ArrayParams()
