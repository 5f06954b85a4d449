"""Load a scenario: read YAML, resolve ``extends``, apply ``--set`` overrides, validate.

``load scenario -> build system -> simulate -> results -> report``: this module is the first
step. Everything that can be wrong with a scenario is found here, reported all at once with
file, line and dotted key path, so a simulation never starts on a bad configuration.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from npusim.cache import CacheParams, SramEnergyModel
from npusim.cache import check_params as check_cache
from npusim.compute import ArrayParams
from npusim.compute import check_params as check_array
from npusim.compute.energy import NodeScaling, natural_accumulator
from npusim.config.bundled import bundled_folder, bundled_names, resolve_bundled
from npusim.config.fields import Field, name_problem, suggest
from npusim.config.scenario import (
    EnergyConfig,
    PrecisionConfig,
    QuantConfig,
    Scenario,
    VectorConfig,
    layer_precision,
)
from npusim.config.schema import SCENARIO, TOP_LEVEL_ONLY, field_at
from npusim.config.validate import Locator, record_lines, validate_section
from npusim.config.yamlio import parse_yaml, read_yaml
from npusim.dram.params import DramParams
from npusim.dram.params import check_params as check_dram
from npusim.errors import ConfigError, Problem
from npusim.precision import PRECISIONS
from npusim.technology import NODES
from npusim.units import Dimension

BUNDLED_SCENARIOS = bundled_folder("hw_configs")
DEFAULT_SCENARIO = "lpddr5_51gbps_4mib"


def bundled_scenarios() -> list[str]:
    """Names of the scenarios shipped in ``hw_configs/``."""
    return bundled_names(BUNDLED_SCENARIOS)


def resolve_scenario_path(name_or_path: str | Path | None) -> Path:
    """A path as given, or a bundled scenario by name (default: the bundled default)."""
    return resolve_bundled(name_or_path or DEFAULT_SCENARIO, BUNDLED_SCENARIOS, "scenario")


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` on top of ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


MAX_EXTENDS_DEPTH = 32


def read_with_extends(
    path: Path, lines: dict[str, tuple[str, int | None]], chain: tuple[Path, ...] = ()
) -> dict[str, Any]:
    """Read ``path`` and the scenarios it ``extends`` (relative to its folder, or bundled)."""
    resolved = path.resolve()
    if len(chain) >= MAX_EXTENDS_DEPTH:  # a chain of thousands would exhaust the stack
        raise ConfigError(Problem("extends", f"more than {MAX_EXTENDS_DEPTH} scenarios extend "
                                  "one another", str(path)))  # fmt: skip
    if resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, resolved))
        raise ConfigError(Problem("extends", f"circular extends: {cycle}", str(path)))
    raw = read_yaml(path)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(Problem("", "a scenario must be a mapping of keys", str(path)))
    parent_name = raw.get("extends")
    base: dict[str, Any] = {}
    if parent_name is not None:
        if not isinstance(parent_name, str):
            raise ConfigError(Problem("extends", "expected a file name", str(path)))
        parent = path.parent / parent_name
        if not parent.exists():
            parent = resolve_scenario_path(parent_name)
        base = read_with_extends(parent, lines, (*chain, resolved))
    record_lines(raw, str(path), "", lines)
    own = {k: v for k, v in raw.items() if k not in TOP_LEVEL_ONLY}
    return deep_merge(base, own)


def apply_overrides(
    raw: dict[str, Any], overrides: Iterable[str], lines: dict[str, tuple[str, int | None]]
) -> dict[str, Any]:
    """Apply ``key.path=value`` strings (value parsed as YAML) on top of ``raw``."""
    result = copy.deepcopy(raw)
    problems: list[Problem] = []
    for text in overrides:
        key, sep, value_text = text.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(Problem("", f"--set expects key.path=value, got {text!r}", "--set"))
            continue
        try:
            value = parse_yaml(value_text, "--set")
        except ConfigError as err:
            problems += err.problems
            continue
        set_path(result, key, value)
        parts = key.split(".")
        for depth in range(1, len(parts) + 1):
            lines[".".join(parts[:depth])] = ("--set", None)
    if problems:
        raise ConfigError(problems)
    return result


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``tree[a][b][c] = value`` for ``dotted == "a.b.c"``, creating mappings on the way."""
    parts = dotted.split(".")
    node = tree
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = dict(child) if isinstance(child, Mapping) else {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def validate_tree(raw: Mapping[str, Any], where: Locator) -> tuple[dict[str, Any], list[Problem]]:
    """Validate a merged raw scenario; returns converted values and every problem found."""
    problems: list[Problem] = []
    values = validate_section(raw, SCENARIO, "", where, problems)
    return values, problems


def is_scenario_key(path: str) -> bool:
    """True if ``path`` names a scenario field or an entry of a mapping field."""
    if field_at(path) is not None:
        return True
    parent, _, _ = path.rpartition(".")
    spec = field_at(parent) if parent else None
    return spec is not None and spec.kind == "map"


def build_scenario(values: dict[str, Any], where: Locator, source: str) -> Scenario:
    """Turn validated values into a :class:`Scenario`, running each unit's own checks.

    Cross-field rules live with the unit that knows the hardware (the cache checks capacity
    vs line x ways, the DRAM checks timing physics); their problems come back with key paths
    relative to the section and are reported here with the file and line.
    """
    energy = values["energy"]
    array_values = values["array"]
    precision = PrecisionConfig(**values["precision"])
    # ``standard`` names the preset's family (the preset alone decides): check they agree.
    dram_values = {k: v for k, v in values["dram"].items() if k != "standard"}
    standard_problems = _standard_problems(values["dram"], where)
    # ``mode`` is the engine's residency policy, not a cache parameter.
    cache_values = {k: v for k, v in values["sram"].items() if k != "mode"}
    sections = {
        "dram": DramParams(**dram_values),
        "sram": CacheParams(**cache_values, seed=values["seed"]),
        "array": ArrayParams(
            rows=array_values["rows"],
            cols=array_values["cols"],
            dataflow=array_values["dataflow"],
            macs_per_pe_per_cycle=array_values["macs_per_pe_per_cycle"],
            mac_energy_pj={p: j * 1e12 for p, j in energy["mac"].items()},
            mac_area_um2={p: m2 * 1e12 for p, m2 in energy["mac_area"].items()},
            accumulator={precision.mac: precision.accumulator},
            node=node_scaling(energy["node"]),
            fold_overlap=array_values["fold_overlap"],
            pack_groups=array_values["pack_groups"],
            accumulator_bytes=array_values["accumulator_bytes"],
        ),
    }
    checks = {"dram": check_dram, "sram": check_cache, "array": check_array}
    problems = standard_problems + [
        where.problem(yaml_path(section, path), message)
        for section, params in sections.items()
        for path, message in checks[section](params)
    ]
    if (bad_name := name_problem(values["name"])) is not None:
        problems.append(where.problem("name", bad_name))
    supported = values["array"]["macs_per_pe_per_cycle"]
    quant = QuantConfig(**values["quantization"])
    for name, override in {"": {}, **precision.layers}.items():
        problems += _precision_problems(layer_precision(precision, override), name, sections,
                                        supported, where)  # fmt: skip
    for name, override in {"": {}, **quant.layers}.items():
        merged = {**values["quantization"], **override}
        if merged["granularity"] == "per_group" and merged["group_size"] is None:
            path = f"quantization.layers.{name}" if name else "quantization"
            problems.append(
                where.problem(f"{path}.group_size", "per_group granularity needs a group_size")
            )
    if problems:
        raise ConfigError(problems)
    return Scenario(
        name=values["name"], description=values["description"], clock_hz=values["clock_hz"],
        seed=values["seed"], workload=values["workload"], frame_rate_hz=values["frame_rate_hz"],
        workload_params=dict(values["workload_params"]),
        workload_skip_unsupported=values["workload_skip_unsupported"],
        sram_mode=values["sram"]["mode"],
        vector=VectorConfig(**values["vector"]), precision=precision, quantization=quant,
        energy=EnergyConfig(node=energy["node"], sram=_sram_model(energy),
                            static_power_w=energy["static_power_w"],
                            dram_phy_read_pj_per_bit=_pj(energy["dram_phy_read_j_per_bit"]),
                            dram_phy_write_pj_per_bit=_pj(energy["dram_phy_write_j_per_bit"])),
        source=source, **sections,  # type: ignore[arg-type]
    )  # fmt: skip


def _pj(joules: float | None) -> float | None:
    return None if joules is None else joules * 1e12


def _sram_model(energy: Mapping[str, Any]) -> SramEnergyModel:
    """The scenario's SRAM overrides, SI values converted to the model's units, and its
    node's SRAM factors (:mod:`npusim.technology`)."""

    def scaled(key: str, factor: float) -> float | None:
        return None if energy[key] is None else energy[key] * factor

    node = NODES[energy["node"]]
    return SramEnergyModel(
        read_pj_per_access=scaled("sram_read_j", 1e12),
        write_pj_per_access=scaled("sram_write_j", 1e12),
        leakage_w_per_kib=energy["sram_leakage_w_per_kib"],
        area_mm2_per_mib=scaled("sram_area_m2_per_mib", 1e6),
        energy_factor=node.sram_energy_factor,
        area_factor=node.sram_area_factor,
    )


def node_scaling(name: str) -> NodeScaling:
    """The MAC table's factors for technology node ``name`` (a key of
    :data:`npusim.technology.NODES`)."""
    node = NODES[name]
    return NodeScaling(node_nm=node.node_nm, energy_factor=node.logic_energy_factor,
                       area_factor=node.logic_area_factor, source=node.source)  # fmt: skip


# Unit attributes filled from another scenario section than their own.
_ATTR_SOURCES = {
    ("array", "accumulator"): "precision.accumulator",
    ("array", "mac_energy_pj"): "energy.mac",
    ("array", "mac_area_um2"): "energy.mac_area",
}


def _standard_problems(dram: dict[str, Any], where: Locator) -> list[Problem]:
    """``dram.standard``, when given, must be the family of ``dram.preset``."""
    from npusim.dram.standard import PRESETS

    given, preset = dram.get("standard"), dram.get("preset")
    if given is None or preset not in PRESETS or PRESETS[preset].standard == given:
        return []
    actual = PRESETS[preset].standard
    return [where.problem("dram.standard", f"{given}, but preset {preset} is an {actual} "
                          f"speed bin: drop dram.standard or pick an {given} preset")]  # fmt: skip


def _precision_problems(
    precision: PrecisionConfig,
    layer: str,
    sections: Mapping[str, Any],
    supported: Mapping[str, float],
    where: Locator,
) -> list[Problem]:
    """The MAC array must compute the (layer's) MAC precision with its accumulator."""
    path = f"precision.layers.{layer}" if layer else "precision"
    if precision.mac not in supported:
        return [where.problem(
            path, f"the MAC array computes {precision.mac} for weights {precision.weights} x "
            f"activations {precision.activations}, but array.macs_per_pe_per_cycle supports "
            f"only {', '.join(supported)}")]  # fmt: skip
    if precision.activations not in supported:
        return [where.problem(
            f"{path}.activations", f"attention between activations computes "
            f"{precision.activations}, but array.macs_per_pe_per_cycle supports only "
            f"{', '.join(supported)}")]  # fmt: skip
    if precision.kv_mac not in supported:
        return [where.problem(
            f"{path}.kv_cache", f"attention over the KV cache computes {precision.kv_mac} "
            f"(activations {precision.activations} x KV {precision.kv}), but "
            f"array.macs_per_pe_per_cycle supports only {', '.join(supported)}")]  # fmt: skip
    if not layer:
        return []
    array = dataclasses.replace(sections["array"],
                                accumulator={precision.mac: precision.accumulator})  # fmt: skip
    return [where.problem(f"{path}.accumulator", message)
            for key, message in check_array(array) if key.startswith("accumulator")]  # fmt: skip


def yaml_path(section: str, attr_path: str) -> str:
    """``("sram", "capacity_bytes")`` -> ``"sram.capacity"``: unit attributes to YAML keys."""
    head, dot, rest = attr_path.partition(".")
    if (section, head) in _ATTR_SOURCES:
        source = _ATTR_SOURCES[section, head]
        return source if source == "precision.accumulator" else f"{source}{dot}{rest}"
    for key, spec in SCENARIO[section].items():  # type: ignore[union-attr]
        if isinstance(spec, Field) and spec.attr == head:
            head = key
    return f"{section}.{head}{dot}{rest}"


def load_scenario(
    name_or_path: str | Path | None = None,
    overrides: Iterable[str] = (),
    precision: str | None = None,
) -> Scenario:
    """Load, merge, override and validate a scenario; raises :class:`ConfigError`.

    ``name_or_path`` is a file or a bundled scenario name (default: the bundled default).
    ``overrides`` are ``key.path=value`` strings; ``precision`` (e.g. ``"fp32"``) sets weights
    and activations together and picks the matching accumulator
    (:func:`npusim.compute.energy.natural_accumulator`: INT32 for integer formats, FP16 for
    FP8, FP32 for wider floats).
    """
    path = resolve_scenario_path(name_or_path)
    lines: dict[str, tuple[str, int | None]] = {}
    raw = read_with_extends(path, lines)
    raw.setdefault("name", path.stem)
    if precision is not None:
        raw = deep_merge(raw, {"precision": precision_override(precision)})
        lines["precision"] = ("--precision", None)
    raw = apply_overrides(raw, overrides, lines)
    where = Locator(default_file=str(path), lines=lines)
    values, problems = validate_tree(raw, where)
    try:
        scenario = build_scenario(values, where, str(path))
    except ConfigError as err:
        problems += err.problems
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.file or "", p.line or 0)))
    return dataclasses.replace(scenario, resolved=resolved_tree(values))


def precision_override(name: str) -> dict[str, str]:
    """The ``precision`` section for ``--precision NAME``: both operands and the accumulator."""
    if name not in PRECISIONS:
        hint = suggest(name, list(PRECISIONS))
        raise ConfigError(
            Problem(
                "precision",
                f"unknown precision {name!r}{hint}; valid: {', '.join(PRECISIONS)}",
                "--precision",
            )
        )
    return {"weights": name, "activations": name, "accumulator": natural_accumulator(name)}


def resolved_tree(values: Mapping[str, Any], section: Any = SCENARIO) -> dict[str, Any]:
    """The validated values back under their YAML keys, quantities as SI unit strings.

    This is what ``resolved_config.yaml`` holds: a complete scenario (every default filled)
    that loads again to the same :class:`Scenario`.
    """
    out: dict[str, Any] = {}
    for key, spec in section.items():
        name = spec.attr or key if isinstance(spec, Field) else key
        if name not in values:  # a key a partial (per-layer) override leaves out
            continue
        if isinstance(spec, Field):
            out[key] = _as_yaml(values[name], spec)
        else:
            out[key] = resolved_tree(values[name], spec)
    return out


def _as_yaml(value: Any, spec: Field) -> Any:
    if value is None:
        return None
    if spec.kind == "quantity":
        return _si_string(value, spec)
    if spec.kind == "map" and spec.section is not None:
        return {k: resolved_tree(v, spec.section) for k, v in value.items()}
    if spec.kind == "map":
        assert spec.value is not None
        return {k: _as_yaml(v, spec.value) for k, v in value.items()}
    return value


_SI_UNIT = {
    Dimension.BYTES: "B", Dimension.FREQUENCY: "Hz", Dimension.TIME: "s",
    Dimension.ENERGY: "J", Dimension.POWER: "W", Dimension.AREA: "m^2",
    Dimension.BANDWIDTH: "B/s", Dimension.DATA_RATE: "T/s", Dimension.BITS: "b",
}  # fmt: skip


def _si_string(value: float, spec: Field) -> str:
    assert spec.dimension is not None
    return f"{value!r} {_SI_UNIT[spec.dimension]}"
