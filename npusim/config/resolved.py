"""What a run's ``resolved_config.yaml`` records, and the run's identity.

A resolved configuration is the scenario's complete tree (every default filled, quantities
in SI units) plus the workload that ran (a bundled name, or an absolute path) and the
workload parameters given (``--param`` or the scenario's ``workload_params``): loading it
again and running it reproduces the run exactly. Its digest names the default report folder,
so runs that differ only by ``--set``, ``--param`` or per-layer precision never overwrite
each other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from npusim.config.loader import load_scenario
from npusim.config.scenario import Scenario

DIGEST_CHARS = 6


def workload_reference(name_or_path: str | Path) -> str:
    """A bundled workload's name as given (a shipped ONNX model's file name, as
    ``load_onnx`` finds it); any other file as its absolute path (so the resolved file runs
    the same workload from any folder)."""
    from npusim.workload.loader import BUNDLED_WORKLOADS

    path = Path(name_or_path)
    if not path.is_file() and path.parent == Path("."):
        if path.suffix in ("", ".yaml") and (BUNDLED_WORKLOADS / f"{path.stem}.yaml").is_file():
            return path.stem
        if path.suffix == ".onnx" and (BUNDLED_WORKLOADS / path.name).is_file():
            return path.name
    return str(path.resolve())


def bind_workload(
    scenario: Scenario,
    workload: str | Path,
    params: Mapping[str, int],
    skip_unsupported: bool = False,
) -> Scenario:
    """``scenario`` recording ``workload`` (see :func:`workload_reference`), ``params`` and
    ``skip_unsupported`` (ONNX) in its attributes and in its resolved tree."""
    reference = workload_reference(workload)
    resolved = {**scenario.resolved, "workload": reference, "workload_params": dict(params),
                "workload_skip_unsupported": skip_unsupported}  # fmt: skip
    return dataclasses.replace(scenario, workload=reference, workload_params=dict(params),
                               workload_skip_unsupported=skip_unsupported,
                               resolved=resolved)  # fmt: skip


def overrides(scenario: Scenario) -> dict[str, Any]:
    """Dotted keys whose resolved value differs from the scenario file's own (what
    ``--set``, ``--precision``, ``--param`` and ``-w`` changed), with the new values."""
    base = load_scenario(scenario.source).resolved
    return _diff(base, scenario.resolved, "")


def _diff(base: Mapping[str, Any], new: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for key in sorted(set(base) | set(new)):
        old, value = base.get(key), new.get(key)
        if isinstance(old, Mapping) or isinstance(value, Mapping):
            changed.update(_diff(old or {}, value or {}, f"{prefix}{key}."))
        elif old != value:
            changed[f"{prefix}{key}"] = value
    return changed


def config_digest(scenario: Scenario) -> str:
    """The first :data:`DIGEST_CHARS` hex digits of the SHA-256 of the resolved tree."""
    text = json.dumps(scenario.resolved, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def default_out_dir(scenario: Scenario, workload_name: str, root: Path = Path("reports")) -> Path:
    """``<root>/<scenario>-<workload>-<precision label>``, plus ``-<digest>`` of the resolved
    configuration unless the stem says everything: a bundled scenario file run as it is, but
    for the workload and the precision (``-w``, ``--precision``)."""
    from npusim.config.bundled import bundled_folder
    from npusim.config.loader import precision_override

    stem = f"{scenario.name}-{workload_name}-{scenario.precision.label}"
    bundled = Path(scenario.source).resolve().parent == bundled_folder("hw_configs").resolve()
    natural = precision_override(scenario.precision.mac)["accumulator"]
    named = {"workload": None, "precision.weights": None, "precision.activations": None,
             "precision.accumulator": natural}  # fmt: skip
    unnamed = {
        key: value
        for key, value in overrides(scenario).items()
        if key not in named or named[key] not in (None, value)
    }
    return root / (stem if bundled and not unnamed else f"{stem}-{config_digest(scenario)}")
