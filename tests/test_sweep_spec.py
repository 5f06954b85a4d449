"""Sweep files: parsing, validation of every point before any runs, expansion, point keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.errors import ConfigError
from npusim.sweep import load_sweep
from npusim.sweep.spec import Mode

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_product_expands_every_combination_per_workload(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
name: t
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096, mlp]
axes:
  precision: [fp32, int8, int4]
  sram.capacity: [1 MiB, 2 MiB]
""",
    )
    spec, points = load_sweep(path)
    assert spec.mode is Mode.PRODUCT and spec.fidelity == "analytic"
    assert len(points) == 3 * 2 * 2
    assert [p.index for p in points] == list(range(12))
    first = points[0]
    assert first.axes == (("precision", "fp32"), ("sram.capacity", "1 MiB"))
    assert first.precision == "fp32" and first.overrides == ('sram.capacity="1 MiB"',)
    assert len({p.key for p in points}) == 12


def test_zip_pairs_values_and_needs_equal_lengths(tmp_path: Path) -> None:
    ok = write(
        tmp_path,
        """
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
mode: zip
axes: {precision: [fp32, int8], sram.capacity: [1 MiB, 2 MiB]}
""",
    )
    _, points = load_sweep(ok)
    assert [p.axes_dict for p in points] == [
        {"precision": "fp32", "sram.capacity": "1 MiB"},
        {"precision": "int8", "sram.capacity": "2 MiB"},
    ]
    bad = write(
        tmp_path,
        """
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
mode: zip
axes: {precision: [fp32, int8], sram.capacity: [1 MiB]}
""",
        "bad.yaml",
    )
    with pytest.raises(ConfigError, match="equal length"):
        load_sweep(bad)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
mdoe: zip
axes:
  sram.capacty: [1 MiB]
  dram.channels: []
  precision: [int8]
""",
    )
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    text = str(info.value)
    assert "mdoe" in text and "did you mean 'mode'" in text
    assert "axes.sram.capacty" in text and "did you mean 'sram.capacity'" in text
    assert "axes.dram.channels" in text and "empty axis" in text


def test_invalid_value_is_reported_with_its_axis_and_point(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes:
  precision: [int8, int9]
  sram.capacity: [1 MiB, lots]
""",
    )
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    problems = info.value.problems
    assert any("int9" in p.message and "precision=int9" in p.message for p in problems)
    capacity = [p for p in problems if p.path == "sram.capacity"]
    assert capacity and all("sram.capacity=lots" in p.message for p in capacity)


def test_unknown_workload_and_fidelity(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
scenario: lpddr5_51gbps_4mib
workloads: [gemv_409]
fidelity: exact
""",
    )
    with pytest.raises(ConfigError) as info:
        load_sweep(path)
    text = str(info.value)
    assert "did you mean 'gemv_4096'" in text and "fidelity" in text


def test_key_depends_on_fidelity_precision_and_resolved_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes: {sram.capacity: [4 MiB, 4194304]}
""",
    )
    _, points = load_sweep(path)
    # "4 MiB" and 4194304 B resolve to the same scenario: the same point.
    assert points[0].key == points[1].key
    _, again = load_sweep(path)
    assert again[0].key == points[0].key
    other = write(
        tmp_path,
        """
scenario: lpddr5_51gbps_4mib
workloads: [gemv_4096]
axes: {precision: [int8, int4]}
""",
        "o.yaml",
    )
    _, by_precision = load_sweep(other)
    assert by_precision[0].key != by_precision[1].key


def test_scenario_path_is_relative_to_the_sweep_file(tmp_path: Path) -> None:
    (tmp_path / "hw.yaml").write_text("extends: lpddr5_51gbps_4mib\nname: mine\n")
    path = write(tmp_path, "scenario: hw.yaml\nworkloads: [gemv_4096]\n")
    _, points = load_sweep(path)
    assert len(points) == 1 and Path(points[0].scenario) == (tmp_path / "hw.yaml").resolve()


def test_bundled_sweeps_load() -> None:
    for path in sorted((REPO / "sweeps").glob("*.yaml")):
        spec, points = load_sweep(path)
        assert points, path
    spec, points = load_sweep(REPO / "sweeps" / "bitwidth.yaml")
    assert dict(spec.axes)["precision"] == ("fp32", "fp16", "int8", "int4", "int2", "binary")
    assert len(points) == 6 * 4 * 2


@settings(max_examples=15, deadline=None)
@given(
    precisions=st.lists(
        st.sampled_from(["fp32", "fp16", "int8", "int4"]), min_size=1, max_size=3, unique=True
    ),
    capacities=st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=3, unique=True),
)
def test_product_size_and_unique_keys(
    tmp_path_factory: pytest.TempPathFactory, precisions: list[str], capacities: list[int]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    axes = (
        f"{{precision: [{', '.join(precisions)}], "
        f"sram.capacity: [{', '.join(f'{c} MiB' for c in capacities)}]}}"
    )
    path = write(folder, f"scenario: lpddr5_51gbps_4mib\nworkloads: [gemv_4096]\naxes: {axes}\n")
    _, points = load_sweep(path)
    assert len(points) == len(precisions) * len(capacities)
    assert len({p.key for p in points}) == len(points)


def test_workload_params_are_part_of_the_point(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "scenario: lpddr5_51gbps_4mib\n"
        "workloads: [{name: gpt2_decode, params: {kv_len: 64}},"
        " {name: gpt2_decode, params: {kv_len: 128}}]\n",
    )
    _, points = load_sweep(path)
    assert [p.workload.label for p in points] == [
        "gpt2_decode[kv_len=64]",
        "gpt2_decode[kv_len=128]",
    ]
    assert points[0].key != points[1].key
    bad = write(tmp_path, "workloads: [{name: gpt2_decode, params: {kv_lne: 8}}]\n", "b.yaml")
    with pytest.raises(ConfigError, match="kv_lne"):
        load_sweep(bad)
