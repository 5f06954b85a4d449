"""Scenario loading: bundled files, validation messages, extends, --set, resolved config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from npusim.config import BUNDLED_SCENARIOS, bundled_scenarios, load_scenario
from npusim.config.schema import SCENARIO
from npusim.errors import ConfigError


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path_or_name: object, overrides: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_scenario(path_or_name, overrides)  # type: ignore[arg-type]
    return [str(p) for p in info.value.problems]


def test_every_bundled_scenario_loads() -> None:
    names = bundled_scenarios()
    assert "lpddr5_51gbps_4mib" in names and len(names) >= 3
    for name in names:
        scenario = load_scenario(name)
        assert scenario.clock_hz > 0


def test_default_is_the_primers_case() -> None:
    s = load_scenario()
    assert s.name == "lpddr5_51gbps_4mib"
    assert s.sram.capacity_bytes == 4 * 2**20
    assert s.dram.channels == 4 and s.dram.preset == "LPDDR5_6400"
    assert s.precision.weights == "int8"


def test_extends_deep_merges_and_fp32_variant() -> None:
    fp32 = load_scenario("lpddr5_51gbps_4mib_fp32")
    base = load_scenario()
    assert fp32.precision.weights == "fp32" and fp32.precision.accumulator == "fp32"
    assert fp32.sram == base.sram and fp32.dram == base.dram


def test_precision_shortcut_sets_both_operands_and_accumulator() -> None:
    s = load_scenario(precision="fp16")
    assert (s.precision.weights, s.precision.activations, s.precision.accumulator) == (
        "fp16",
        "fp16",
        "fp32",
    )
    s = load_scenario(precision="int4")
    assert (s.precision.weights, s.precision.accumulator) == ("int4", "int32")


def test_set_overrides_any_dotted_key() -> None:
    s = load_scenario(overrides=["sram.capacity=2 MiB", "array.dataflow=ws", "dram.channels=2",
                                 "dram.timing.nRCD=16"])  # fmt: skip
    assert s.sram.capacity_bytes == 2 * 2**20
    assert s.array.dataflow == "ws"
    assert s.dram.channels == 2 and s.dram.timing == {"nRCD": 16}


def test_resolved_config_loads_back_to_the_same_scenario(tmp_path: Path) -> None:
    original = load_scenario("edge_npu_12gbps_512kib")
    path = write(tmp_path, yaml.safe_dump(dict(original.resolved)))
    again = load_scenario(path)
    assert again.dram == original.dram and again.sram == original.sram
    assert again.array == original.array and again.clock_hz == original.clock_hz
    assert again.energy == original.energy and again.precision == original.precision


# Each rule pins its message: file, line, key path, what was expected, what was found.
RULES = [
    ("sram:\n  capacty: 4 MiB\n", "s.yaml:3: sram.capacty: unknown key (did you mean 'capacity'?)"),
    ("sram:\n  line: 48 B\n", "s.yaml:3: sram.line: expected a bytes quantity like '4 MiB' "
     "(bare numbers in B) (>= 1, a power of two), got '48 B'"),
    ("sram:\n  ways: 0\n", "s.yaml:3: sram.ways: expected an integer (>= 1), got 0"),
    ("sram:\n  ways: four\n", "s.yaml:3: sram.ways: expected an integer (>= 1), got 'four'"),
    ("clock: 1 GB\n", "s.yaml:2: clock: '1 GB' is a bytes quantity, expected Hz (e.g. '1 GHz')"),
    ("clock: 1000\n", "s.yaml:2: clock: expected a Hz quantity like '1 GHz' (>= 1e+06, "
     "<= 1e+11), got the bare number 1000: add a unit"),
    ("dram:\n  preset: LPDDR5_640\n", "s.yaml:3: dram.preset: expected one of LPDDR5_6400, "
     "LPDDR5_4267, LPDDR5_3200, LPDDR5X_7500, LPDDR5X_8533, LPDDR5X_9600, LPDDR6_10667, got "
     "'LPDDR5_640' "
     "(did you mean 'LPDDR5_6400'?)"),
    ("dram:\n  scheduler: frfcf\n", "dram.scheduler: expected one of frfcfs, frfcfs-rowhit, fcfs, "
     "got 'frfcf' "
     "(did you mean 'frfcfs'?)"),
    ("dram:\n  timing: {nRC: 10}\n", "s.yaml:3: dram.timing.nRC: expected nRC >= nRAS + nRP"),
    ("dram:\n  channels: 0\n", "dram.channels: expected an integer (>= 1, <= 64), got 0"),
    ("sram:\n  capacity: 3 MiB\n", "s.yaml:3: sram.capacity: gives 3072 sets; sets "
     "(capacity / (line x ways)) must be a power of 2"),
    ("array:\n  dataflow: wss\n", "s.yaml:3: array.dataflow: expected one of os, ws, is, got "
     "'wss' (did you mean 'ws'?)"),
    ("array:\n  macs_per_pe_per_cycle: {int9: 1}\n",
     "array.macs_per_pe_per_cycle.int9: unknown key (did you mean 'int8'?)"),
    ("precision:\n  weights: int3\n", "precision.weights: expected one of"),
    ("quantization:\n  granularity: per_group\n",
     "quantization.group_size: per_group granularity needs a group_size"),
    ("quantization:\n  percentile: 0\n", "quantization.percentile: expected a number (> 0, "
     "<= 100), got 0"),
    ("energy:\n  mac: {int8: 0.3}\n", "energy.mac.int8: expected a J quantity like '0.3 pJ' "
     "(>= 0), got the bare number 0.3: add a unit"),
    ("sram:\n  replacement: lfu\n", "sram.replacement: expected one of lru, fifo, random, plru, "
     "got 'lfu'"),
    ("bogus: 1\n", "s.yaml:2: bogus: unknown key"),
    ("sram:\n  mshrs: 8\n", "s.yaml:3: sram.mshrs: no longer a scenario key: it never changed "
     "npusim run"),
    ("dram:\n  standard: LPDDR6\n", "s.yaml:3: dram.standard: LPDDR6, but preset LPDDR5_6400 "
     "is an LPDDR5 speed bin"),
    ("dram: 4\n", "s.yaml:2: dram: expected a mapping, got 4"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), RULES)
def test_each_rule_has_a_clear_message(tmp_path: Path, body: str, message: str) -> None:
    base = BUNDLED_SCENARIOS / "lpddr5_51gbps_4mib.yaml"
    path = write(tmp_path, f"extends: {base}\n{body}")
    found = problems_of(path)
    assert any(message in p for p in found), found


def test_a_precision_the_array_lacks_is_rejected(tmp_path: Path) -> None:
    # Without extends, the scenario's own map is the whole list of supported precisions.
    path = write(tmp_path, "array:\n  macs_per_pe_per_cycle: {fp32: 0.25}\n")
    assert problems_of(path) == [
        f"{path}: precision: the MAC array computes int8 for weights int8 x activations int8, "
        "but array.macs_per_pe_per_cycle supports only fp32"
    ]


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    base = BUNDLED_SCENARIOS / "lpddr5_51gbps_4mib.yaml"
    path = write(tmp_path, f"extends: {base}\nsram:\n  ways: 0\n  line: 3\nclock: fast\n")
    assert len(problems_of(path)) == 3


def test_duplicate_keys_are_rejected_with_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "dram:\n  timing:\n    nRCD: 15\n    nRCD: 16\n")
    assert problems_of(path) == [f"{path}:4: dram.timing.nRCD: duplicate key (first defined "
                                 "on line 3)"]  # fmt: skip


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "sram:\n  capacity: [4 MiB\nclock: 1 GHz\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:3: YAML syntax error")


def test_missing_file_and_unknown_bundled_name(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: file not found"]
    (problem,) = problems_of("lpddr5_51gbps_4mb")
    assert "(did you mean 'lpddr5_51gbps_4mib'?)" in problem


def test_circular_extends(tmp_path: Path) -> None:
    write(tmp_path, "extends: b.yaml\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\n", "b.yaml")
    (problem,) = problems_of(tmp_path / "a.yaml")
    assert "circular extends: a.yaml -> b.yaml -> a.yaml" in problem


def test_set_problems_are_located_at_the_command_line() -> None:
    found = problems_of(None, ("array.rows=0", "foo.bar=1", "novalue"))
    assert found == ["--set: --set expects key.path=value, got 'novalue'"]
    found = problems_of(None, ("array.rows=0", "foo.bar=1"))
    assert "--set: foo: unknown key" in found
    assert "--set: array.rows: expected an integer (>= 1, <= 4096), got 0" in found


def _leaf_paths(section: object, prefix: str = "") -> list[str]:
    out = []
    for key, value in section.items():  # type: ignore[attr-defined]
        path = f"{prefix}.{key}" if prefix else key
        out += _leaf_paths(value, path) if isinstance(value, dict) else [path]
    return out


LEAVES = _leaf_paths(SCENARIO)
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.sampled_from(["4 MiB", "1 GHz", "-3 ns", "nan", "1e400 B", "int8", "0 B", "frfcfs"]),
)  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from([*LEAVES, "sram.bogus", "nope"]), JUNK, max_size=4))
def test_malformed_scenarios_raise_only_config_errors(overrides: dict[str, object]) -> None:
    settings_list = [f"{key}={yaml.safe_dump(value, default_flow_style=True).strip()}"
                     for key, value in overrides.items()]  # fmt: skip
    try:
        load_scenario(None, settings_list)
    except ConfigError as err:
        assert err.problems and all(p.message for p in err.problems)


def test_a_scenario_that_states_nothing_gets_the_units_own_defaults(tmp_path: Path) -> None:
    """One source of defaults (issue 18): the unit dataclasses. A scenario naming no key gets
    DramParams(), CacheParams() and ArrayParams() exactly (the array's precision-dependent
    accumulators aside), and `npusim dram` / `npusim cache` start from the same values."""
    import argparse

    from npusim.cache import CacheParams
    from npusim.cli import dram as dram_cli
    from npusim.compute import ArrayParams
    from npusim.dram.params import DramParams

    scenario = load_scenario(write(tmp_path, "name: bare\n"))
    assert scenario.dram == DramParams()
    assert scenario.sram == CacheParams()
    array = scenario.array
    defaults = ArrayParams()
    assert (array.rows, array.cols, array.dataflow) == (defaults.rows, defaults.cols,
                                                         defaults.dataflow)  # fmt: skip
    assert dict(array.macs_per_pe_per_cycle) == dict(defaults.macs_per_pe_per_cycle)
    parser = argparse.ArgumentParser()
    dram_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["dram", "t.trace"])
    resolved = dram_cli._params(args)  # --burst-length unset: the preset's shortest burst
    assert (args.channels, resolved.burst_length, args.queue_depth, args.scheduler) == (
        DramParams().channels, DramParams().burst_length, DramParams().read_queue_depth,
        DramParams().scheduler)  # fmt: skip


def test_a_resolved_config_of_an_earlier_release_still_loads(tmp_path: Path) -> None:
    """resolved_config.yaml files written before sram.mshrs retired hold 'mshrs: 32' (its
    default then): still accepted, so they reproduce their runs; another value is refused."""
    base = BUNDLED_SCENARIOS / "lpddr5_51gbps_4mib.yaml"
    recorded = write(tmp_path, f"extends: {base}\nsram:\n  mshrs: 32\n", "old.yaml")
    old, new = load_scenario(recorded), load_scenario(base)
    assert (old.dram, old.sram, old.array) == (new.dram, new.sram, new.array)
    assert any("no longer a scenario key" in p for p in problems_of(
        write(tmp_path, f"extends: {base}\nsram:\n  mshrs: 16\n", "new.yaml")))  # fmt: skip
