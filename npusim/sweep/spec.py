"""Sweep files: a base scenario, workloads and axes, expanded into validated points.

Format (YAML)::

    name: bitwidth
    scenario: lpddr5_51gbps_4mib          # bundled name or path (relative to this file)
    workloads: [resnet50, {name: gpt2_decode, params: {kv_len: 512}}]  # the same
    fidelity: analytic                    # optional, default analytic
    mode: product                         # product (default) or zip
    accuracy: digits                      # optional: a labelled dataset (.npz path or
                                          # bundled name), see below
    axes:
      precision: [fp32, fp16, int8, int4, int2, binary]   # the special axis: --precision
      sram.capacity: [1 MiB, 2 MiB, 4 MiB, 8 MiB]          # any dotted scenario key

Every point is loaded with :func:`npusim.config.load_scenario` before any point runs, so a
sweep never starts half-valid: :func:`load_sweep` raises one :class:`ConfigError` listing every
problem (unknown key with a suggestion, empty axis, zip axes of unequal length, and each
invalid value re-reported with its axis and point). ``accuracy`` (or ``load_sweep(...,
accuracy=DATASET)``, ``npusim sweep --accuracy``, which overrides the file's) makes every point
also run the functional pass on that dataset (:func:`npusim.functional.with_accuracy`); a path
is read relative to the sweep file, as workloads are. The dataset and each workload's weights
are checked against each other once, before any point runs
(:func:`npusim.functional.check_accuracy_inputs` with the workload's first point).
"""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any

from npusim import __version__
from npusim.config import Scenario, load_scenario
from npusim.config.bundled import bundled_folder, bundled_names, resolve_bundled
from npusim.config.fields import suggest
from npusim.config.loader import is_scenario_key, resolve_scenario_path
from npusim.config.yamlio import key_line, read_yaml
from npusim.errors import ConfigError, Problem
from npusim.simulate import FIDELITIES
from npusim.sweep.checks import SCALARS, check_size, shown, sweep_name
from npusim.workload import Workload, load_workload

PRECISION_AXIS = "precision"
DEFAULT_FIDELITY = "analytic"
SWEEP_KEYS = ("name", "description", "scenario", "workloads", "fidelity", "mode", "axes",
              "accuracy")  # fmt: skip
BUNDLED_SWEEPS = bundled_folder("sweeps")


def bundled_sweeps() -> list[str]:
    """Names of the sweeps shipped in ``sweeps/``."""
    return bundled_names(BUNDLED_SWEEPS)


def resolve_sweep_path(name_or_path: str | Path) -> Path:
    """A path as given, or a bundled sweep by name (``bitwidth``)."""
    return resolve_bundled(name_or_path, BUNDLED_SWEEPS, "sweep")


class Mode(Enum):
    """How axes combine: every combination (``product``) or element-wise (``zip``)."""

    PRODUCT = "product"
    ZIP = "zip"


@dataclass(frozen=True)
class WorkloadSpec:
    """A workload by bundled name or path, with optional parameters (``seq_len``, ...)."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        """``gpt2_decode`` or ``gpt2_decode[kv_len=512]``: the name used in tables and plots."""
        if not self.params:
            return Path(self.name).stem
        inner = ",".join(f"{k}={v}" for k, v in self.params)
        return f"{Path(self.name).stem}[{inner}]"


@dataclass(frozen=True)
class Point:
    """One run of a sweep: a workload on the base scenario with the axes' values applied.

    ``key`` is the SHA-256 of the resolved scenario, the workload's layers, the precision, the
    fidelity and the npusim version: the identity of the result in the store.
    """

    index: int
    key: str
    scenario: str
    workload: WorkloadSpec
    axes: tuple[tuple[str, Any], ...]
    overrides: tuple[str, ...]
    precision: str | None
    fidelity: str
    peak_macs_per_s: float
    accuracy: str | None = None

    @property
    def axes_dict(self) -> dict[str, Any]:
        return dict(self.axes)


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file (values as written; see :func:`expand_points`)."""

    name: str
    description: str
    scenario: str
    workloads: tuple[WorkloadSpec, ...]
    fidelity: str
    mode: Mode
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    source: str = ""
    accuracy: str | None = None


def load_sweep(
    path: str | Path, fidelity: str | None = None, accuracy: str | None = None
) -> tuple[SweepSpec, list[Point]]:
    """Read, check and expand a sweep file; ``fidelity`` overrides the file's; ``accuracy``
    (a dataset file or bundled name) adds the functional pass to every point.

    ``path`` is a file or a bundled sweep's name. Returns the spec and its points in order.
    Raises :class:`ConfigError` listing every
    problem of the file and of every point.
    """
    path = resolve_sweep_path(path)
    raw = read_yaml(path)
    spec = parse_sweep(raw, path, fidelity)
    if accuracy is not None:
        dataset = Path(accuracy)
        spec = replace(spec, accuracy=str(dataset.resolve()) if dataset.is_file() else accuracy)
    points = expand_points(spec)
    if spec.accuracy is not None:
        check_accuracy(spec, points)
    return spec, points


def check_accuracy(spec: SweepSpec, points: list[Point]) -> None:
    """Check the accuracy dataset against each workload (weights, input shape, labels, the
    network running on it) with the workload's first point, and every other point's
    precisions through one image, so a bad dataset, an untrained model or a point the
    functional pass cannot run stops the sweep before any timing run. Raises what
    :func:`npusim.functional.check_accuracy_inputs` raises."""
    from npusim.functional.dataset import load_dataset
    from npusim.functional.scenario import check_accuracy_scenarios

    assert spec.accuracy is not None
    load_dataset(spec.accuracy)  # unreadable data is one error, not one per workload
    for wspec in spec.workloads:
        scenarios = [point_scenario(spec.scenario, p.axes)[0] for p in points
                     if p.workload == wspec]  # fmt: skip
        check_accuracy_scenarios(load_workload_spec(wspec), spec.accuracy, scenarios)


def parse_sweep(raw: Any, path: Path, fidelity: str | None = None) -> SweepSpec:
    """Check the sweep file's own keys (not yet the points); raises :class:`ConfigError`."""
    source = str(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(Problem("", "a sweep file must be a mapping of keys", source))
    problems: list[Problem] = []

    def problem(key: str, message: str, line_key: str | None = None) -> None:
        problems.append(Problem(key, message, source, key_line(raw, line_key or key)))

    for key in raw:
        if key not in SWEEP_KEYS:
            problem(str(key), f"unknown sweep key{suggest(str(key), SWEEP_KEYS)}")
    scenario = raw.get("scenario")
    if not isinstance(scenario, str) or not scenario:
        problem("scenario", "expected a base scenario name or path")
        scenario = ""
    elif (path.parent / scenario).exists():
        scenario = str((path.parent / scenario).resolve())
    workloads = tuple(_beside_sweep(w, path) for w in _parse_workloads(raw.get("workloads"),
                                                                       problem))  # fmt: skip
    fidelity = fidelity or raw.get("fidelity", DEFAULT_FIDELITY)
    if fidelity not in FIDELITIES:
        problem("fidelity", f"expected one of {', '.join(FIDELITIES)}, got {shown(fidelity)}")
    mode_text = raw.get("mode", Mode.PRODUCT.value)
    try:  # Enum's own error would print a nested value whole (an alias bomb: for ever)
        mode = Mode(mode_text if isinstance(mode_text, str) else "")
    except ValueError:
        problem("mode", f"expected product or zip, got {shown(mode_text)}")
        mode = Mode.PRODUCT
    axes = _parse_axes(raw.get("axes"), mode, problem)
    check_size(axes, mode is Mode.ZIP, len(workloads), problem)
    description = raw.get("description", "")
    if not isinstance(description, str):
        problem("description", f"expected text, got {shown(description)}")
    name = sweep_name(raw.get("name"), path, problem)
    accuracy = _parse_accuracy(raw.get("accuracy"), path, problem)
    if problems:  # report unknown workloads together with the file's own problems
        for wspec in workloads:
            try:
                load_workload_spec(wspec)
            except ConfigError as err:
                problems += err.problems
        raise ConfigError(problems)
    return SweepSpec(
        name=name, description=description,
        scenario=scenario, workloads=workloads, fidelity=fidelity, mode=mode, axes=axes,
        source=source, accuracy=accuracy,
    )  # fmt: skip


def _parse_accuracy(value: Any, path: Path, problem: Any) -> str | None:
    """The ``accuracy`` dataset: a file beside the sweep file (made absolute), else as given
    (a bundled name or a path relative to the current folder)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problem("accuracy", f"expected a dataset (.npz path or bundled name), got {shown(value)}")
        return None
    beside = path.parent / value
    return str(beside.resolve()) if beside.is_file() else value


def _beside_sweep(wspec: WorkloadSpec, path: Path) -> WorkloadSpec:
    """A workload path relative to the sweep file, when a file is there (else as given: a
    bundled name or a path relative to the current folder)."""
    beside = path.parent / wspec.name
    if Path(wspec.name).is_absolute() or not beside.is_file():
        return wspec
    return WorkloadSpec(str(beside.resolve()), wspec.params)


def _parse_workloads(items: Any, problem: Any) -> tuple[WorkloadSpec, ...]:
    if not isinstance(items, list) or not items:
        problem("workloads", "expected a non-empty list of workload names")
        return ()
    specs = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            specs.append(WorkloadSpec(item))
        elif isinstance(item, Mapping) and isinstance(item.get("name"), str):
            params = item.get("params") or {}
            extra = set(item) - {"name", "params"}
            if (
                extra
                or not isinstance(params, Mapping)
                or not all(isinstance(v, SCALARS) for v in params.values())
            ):
                problem(f"workloads[{i}]", "expected {name: ..., params: {key: value}}",
                        "workloads")  # fmt: skip
                continue
            specs.append(WorkloadSpec(item["name"], tuple(sorted(params.items()))))
        else:
            problem(f"workloads[{i}]", f"expected a workload name, got {shown(item)}", "workloads")
    return tuple(specs)


def _parse_axes(axes: Any, mode: Mode, problem: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if axes is None:
        return ()
    if not isinstance(axes, Mapping):
        problem("axes", "expected a mapping from a dotted scenario key to a list of values")
        return ()
    parsed = []
    for key, values in axes.items():
        key = str(key)
        where = f"axes.{key}"
        if key != PRECISION_AXIS and not is_scenario_key(key):
            problem(where, f"unknown scenario key{_key_hint(key)}", "axes")
        elif not isinstance(values, list):
            problem(where, f"expected a list of values, got {shown(values)}", "axes")
        elif not values:
            problem(where, "empty axis: give at least one value", "axes")
        elif not all(isinstance(v, SCALARS) for v in values):
            problem(where, "expected a list of plain values (numbers, text, true/false, null); "
                    "a value is a list or mapping", "axes")  # fmt: skip
        else:
            parsed.append((key, tuple(values)))
    lengths = {len(values) for _, values in parsed}
    if mode is Mode.ZIP and len(lengths) > 1:
        sizes = ", ".join(f"{k}: {len(v)}" for k, v in parsed)
        problem("axes", f"mode zip needs axes of equal length, got {sizes}", "mode")
    return tuple(parsed)


def _key_hint(key: str) -> str:
    from npusim.config.schema import SCENARIO

    candidates = [PRECISION_AXIS, *_dotted_keys(SCENARIO, "")]
    return suggest(key, candidates)


def _dotted_keys(section: Mapping[str, Any], prefix: str) -> list[str]:
    keys = []
    for name, spec in section.items():
        dotted = f"{prefix}{name}"
        keys += _dotted_keys(spec, f"{dotted}.") if isinstance(spec, Mapping) else [dotted]
    return keys


def expand_points(spec: SweepSpec) -> list[Point]:
    """Every point of ``spec``, each loaded and validated; raises one :class:`ConfigError`."""
    keys = [key for key, _ in spec.axes]
    columns = [values for _, values in spec.axes]
    combos = list(zip(*columns, strict=True) if spec.mode is Mode.ZIP
                  else itertools.product(*columns))  # fmt: skip
    problems: list[Problem] = []
    workloads: dict[WorkloadSpec, Workload] = {}
    for wspec in spec.workloads:
        try:
            workloads[wspec] = load_workload_spec(wspec)
        except ConfigError as err:
            problems += err.problems
    points: list[Point] = []
    for combo in combos:
        axes = tuple(zip(keys, combo, strict=True))
        try:
            scenario, overrides, precision = point_scenario(spec.scenario, axes)
        except ConfigError as err:
            label = ", ".join(f"{k}={v}" for k, v in axes)
            problems += [Problem(p.path, f"{p.message} (sweep point {label})",
                                 p.file, p.line) for p in err.problems]  # fmt: skip
            continue
        for wspec, workload in workloads.items():
            points.append(Point(
                index=len(points),
                key=point_key(scenario, workload, spec.fidelity, spec.accuracy),
                scenario=spec.scenario, workload=wspec, axes=axes, overrides=overrides,
                precision=precision, fidelity=spec.fidelity,
                peak_macs_per_s=peak_macs_per_s(scenario), accuracy=spec.accuracy,
            ))  # fmt: skip
    if problems:
        raise ConfigError(problems)
    return points


def point_scenario(
    base: str, axes: tuple[tuple[str, Any], ...]
) -> tuple[Scenario, tuple[str, ...], str | None]:
    """Load ``base`` with the axes applied; returns the scenario, overrides and precision."""
    overrides = tuple(f"{k}={json.dumps(v)}" for k, v in axes if k != PRECISION_AXIS)
    precision = next((str(v) for k, v in axes if k == PRECISION_AXIS), None)
    return load_scenario(base or None, overrides, precision=precision), overrides, precision


def load_workload_spec(wspec: WorkloadSpec) -> Workload:
    """Load a workload, passing ``params`` when the loader accepts them."""
    if not wspec.params:
        return load_workload(wspec.name)
    if "params" not in inspect.signature(load_workload).parameters:
        raise ConfigError(Problem("workloads", f"{wspec.name}: this npusim's workload loader "
                                  "takes no params"))  # fmt: skip
    return load_workload(wspec.name, params=dict(wspec.params))  # type: ignore[call-arg]


def point_key(
    scenario: Scenario, workload: Workload, fidelity: str, accuracy: str | None = None
) -> str:
    """SHA-256 of the resolved scenario (precision included), the layers, fidelity, version,
    and the accuracy dataset when there is one (so points without it keep their keys)."""
    identity = {
        "scenario": scenario.resolved,
        "workload": [workload.name, repr(workload.layers)],
        "precision": [scenario.precision.weights, scenario.precision.activations],
        "fidelity": fidelity,
        "npusim": __version__,
    }
    if accuracy is not None:
        identity["accuracy"] = accuracy
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def peak_macs_per_s(scenario: Scenario) -> float:
    """The compute roof: rows x cols x MACs per PE per cycle (at the MAC precision) x clock.

    The same peak the array's cycle formulas use (:mod:`npusim.compute.array`).
    """
    array = scenario.array
    per_pe = array.macs_per_pe_per_cycle[scenario.precision.mac]
    return array.rows * array.cols * per_pe * scenario.clock_hz


def base_scenario_path(spec: SweepSpec) -> Path:
    """The file of the sweep's base scenario."""
    return resolve_scenario_path(spec.scenario or None)
