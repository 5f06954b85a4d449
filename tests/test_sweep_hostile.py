"""Hostile sweep files fail at load, fast, with the key path (issue 18): too many points, a
YAML alias bomb in any key, nested axis values or parameters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from npusim.config.yamlio import read_yaml
from npusim.errors import ConfigError
from npusim.sweep.checks import MAX_POINTS
from npusim.sweep.spec import parse_sweep

BOMB = ["l0: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
BOMB += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
ANCHORS = "description:\n" + "".join(f"  {line}\n" for line in BOMB)  # 9^10 values if expanded
BASE = "name: s\nscenario: lpddr5_51gbps_4mib\n"


def problems(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    """The problems of the sweep file ``text``, from parsing alone (no point is built: should
    a limit regress, the test fails instead of expanding a billion points)."""
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ConfigError) as caught:
        parse_sweep(read_yaml(tmp_path / "s.yaml"), tmp_path / "s.yaml")
    return [(p.path, p.message) for p in caught.value.problems]


def test_a_sweep_of_a_billion_points_is_refused_before_building_any(tmp_path: Path) -> None:
    values = "[" + ", ".join(str(v) for v in range(1, 1001)) + "]"
    axes = "".join(f"  {key}: {values}\n" for key in ("sram.ways", "sram.banks", "array.rows"))
    found = problems(tmp_path, f"{BASE}workloads: [mlp]\naxes:\n{axes}")
    assert found == [
        (
            "axes",
            "1000 x 1000 x 1000 x 1 (axes x workloads) = 1,000,000,000 "
            "points; at most 10,000 per sweep: split it or use mode: zip",
        )
    ]


def test_the_point_limit_counts_workloads_and_zip(tmp_path: Path) -> None:
    values = "[" + ", ".join(["int8"] * (MAX_POINTS // 2 + 1)) + "]"
    two = f"{BASE}workloads: [mlp, gemv_4096]\naxes:\n  precision: {values}\n"
    assert [p for p, _ in problems(tmp_path, two)] == ["axes"]  # 2 x 5,001 > 10,000
    zipped = f"{BASE}workloads: [mlp]\nmode: zip\naxes:\n  precision: {values}\n" + (
        f"  sram.ways: [{', '.join(['4'] * (MAX_POINTS // 2 + 1))}]\n"
    )
    (tmp_path / "z.yaml").write_text(zipped)  # zip: 5,001 points, under the limit
    spec = parse_sweep(read_yaml(tmp_path / "z.yaml"), tmp_path / "z.yaml")
    assert spec.mode.value == "zip"


@pytest.mark.parametrize(
    ("tail", "key"),
    [
        ("workloads: [mlp]\naxes:\n  sram.ways: *l9\n", "axes.sram.ways"),
        ("workloads: [{name: mlp, params: {batch: *l9}}]\n", "workloads[0]"),
        ("workloads: *l9\n", "workloads[0]"),
        ("workloads: [mlp]\nfidelity: *l9\n", "fidelity"),
        ("workloads: [mlp]\nmode: *l9\n", "mode"),
    ],
    ids=["axis", "params", "workloads", "fidelity", "mode"],
)
def test_an_alias_bomb_anywhere_is_named_not_expanded(tmp_path: Path, tail: str, key: str) -> None:
    (tmp_path / "s.yaml").write_text(f"{ANCHORS}{BASE}{tail}")
    # a subprocess: should the bomb be expanded again, the timeout fails the test, no hang
    proc = subprocess.run([sys.executable, "-m", "npusim", "sweep", "s.yaml", "--out", "o"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr[:500]
    assert f" {key}: " in proc.stderr and len(proc.stderr) < 1000
    assert sorted(os.listdir(tmp_path)) == ["s.yaml"]
