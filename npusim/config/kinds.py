"""What kind of npusim file a file is (scenario, workload, sweep), and checking it as that.

``npusim validate`` takes any of them: a file is recognised by its suffix (``.csv``: a
SCALE-Sim topology, ``.onnx``: a model, both workloads) or by its top-level keys (``layers``:
a workload; ``scenario``, ``workloads`` or ``axes``: a sweep; anything else: a scenario, whose
own unknown-key check then names the stray keys). A bare name is looked up among the bundled
scenarios, workloads and sweeps in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from npusim.config.bundled import bundled_folder
from npusim.config.yamlio import read_yaml
from npusim.errors import ConfigError, Problem

KINDS = ("scenario", "workload", "sweep")
_SWEEP_KEYS = ("scenario", "workloads", "axes")
_BUNDLED = {"scenario": "hw_configs", "workload": "workloads", "sweep": "sweeps"}


@dataclass(frozen=True)
class FileKind:
    """A file's kind and why it was taken for one (shown to the user)."""

    kind: str
    reason: str


def detect_kind(name_or_path: str | Path) -> FileKind:
    """The kind of ``name_or_path``; a YAML error is raised as :class:`ConfigError`."""
    path = Path(name_or_path)
    if path.suffix.lower() == ".csv":
        return FileKind("workload", "a .csv file: a SCALE-Sim topology")
    if path.suffix.lower() == ".onnx":
        return FileKind("workload", "an .onnx model")
    if not path.is_file():
        for kind in KINDS:
            if (bundled_folder(_BUNDLED[kind]) / f"{path.stem}.yaml").is_file():
                return FileKind(kind, f"the bundled {kind} {path.stem!r}")
        return FileKind("scenario", "not a file or a bundled name")
    raw = read_yaml(path)
    if isinstance(raw, Mapping) and "layers" in raw:
        return FileKind("workload", "it has 'layers'")
    found = [key for key in _SWEEP_KEYS if isinstance(raw, Mapping) and key in raw]
    if found:
        return FileKind("sweep", f"it has {found[0]!r}")
    return FileKind("scenario", "it has no 'layers' (workload) or 'axes' (sweep)")


def check_file(name_or_path: str, kind: str) -> str:
    """Load ``name_or_path`` as a ``kind`` file; returns a one-line description of it.

    Raises :class:`ConfigError` with every problem found.
    """
    if kind == "scenario":
        from npusim.config.loader import load_scenario

        scenario = load_scenario(name_or_path)
        return f"scenario {scenario.name}"
    if kind == "workload":
        from npusim.workload import load_workload

        workload = load_workload(name_or_path)
        return (f"workload {workload.name}: {len(workload.layers)} layers, "
                f"{workload.macs / 1e9:.3g} GMACs")  # fmt: skip
    if kind == "sweep":
        from npusim.sweep.spec import load_sweep

        spec, points = load_sweep(name_or_path)
        return f"sweep {spec.name}: {len(points)} points"
    raise ConfigError(Problem("--kind", f"expected one of {', '.join(KINDS)}, got {kind!r}"))
