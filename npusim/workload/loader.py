"""Read workload YAML files: a named list of layers.

Format::

    name: mlp
    batch: 1                # optional; multiplies linear tokens, conv and matmul batch
    layers:
      - {name: fc1, type: linear, in_features: 784, out_features: 512}
      - {name: conv1, type: conv2d, in_h: 224, in_w: 224, in_channels: 3,
         out_channels: 64, kernel: 7, stride: 2, padding: 3}

The keys of a layer are the fields of its dataclass in :mod:`npusim.workload.layers`
(``kernel`` sets ``kernel_h`` and ``kernel_w`` together), so adding a layer type is adding a
dataclass. Problems are reported with file, line and path (``layers[3].kernel``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npusim.config.fields import suggest
from npusim.config.yamlio import key_line, read_yaml
from npusim.errors import ConfigError, Problem, WorkloadError
from npusim.workload.layers import Conv2d, Layer, Linear, Matmul

REPO_ROOT = Path(__file__).resolve().parents[2]
BUNDLED_WORKLOADS = REPO_ROOT / "workloads"

LAYER_TYPES: dict[str, type] = {"linear": Linear, "conv2d": Conv2d, "matmul": Matmul}
_BATCHED_FIELD = {"linear": "tokens", "conv2d": "batch", "matmul": "batch"}


@dataclass(frozen=True)
class Workload:
    """A network (or part of one) as an ordered list of layers."""

    name: str
    layers: tuple[Layer, ...]
    description: str = ""
    source: str = ""

    @property
    def macs(self) -> int:
        return sum(layer.gemm().macs for layer in self.layers)

    @property
    def parameters(self) -> int:
        """Stored weights (biases are not modelled)."""
        return sum(layer.gemm().weight_elements for layer in self.layers)


def bundled_workloads() -> list[str]:
    """Names of the workloads shipped in ``workloads/``."""
    return sorted(p.stem for p in BUNDLED_WORKLOADS.glob("*.yaml"))


def resolve_workload_path(name_or_path: str | Path) -> Path:
    """A path as given, or a bundled workload by name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    bundled = BUNDLED_WORKLOADS / f"{path.stem}.yaml"
    if path.parent == Path(".") and bundled.exists():
        return bundled
    if path.suffix in (".yaml", ".yml"):
        return path
    hint = suggest(str(name_or_path), bundled_workloads())
    raise ConfigError(
        Problem("workload", f"no workload file or bundled workload {str(name_or_path)!r}{hint}")
    )


def load_workload(name_or_path: str | Path) -> Workload:
    """Load and validate a workload; raises :class:`ConfigError` listing every problem."""
    path = resolve_workload_path(name_or_path)
    raw = read_yaml(path)
    source = str(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(Problem("", "a workload must be a mapping with 'layers'", source))
    problems: list[Problem] = []
    for key in raw:
        if key not in ("name", "description", "batch", "layers"):
            hint = suggest(str(key), ["name", "description", "batch", "layers"])
            problems.append(Problem(str(key), f"unknown key{hint}", source, key_line(raw, key)))
    batch = raw.get("batch", 1)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        problems.append(
            Problem(
                "batch", f"expected an integer >= 1, got {batch!r}", source, key_line(raw, "batch")
            )
        )
        batch = 1
    items = raw.get("layers")
    if not isinstance(items, list) or not items:
        problems.append(
            Problem(
                "layers",
                "a workload needs a non-empty list of layers",
                source,
                key_line(raw, "layers"),
            )
        )
        items = []
    layers = [_layer(item, i, batch, source, problems) for i, item in enumerate(items)]
    names = [layer.name for layer in layers if layer is not None]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem("layers", f"layer name {duplicate!r} is used twice", source))
    if problems:
        raise ConfigError(problems)
    name = raw.get("name", path.stem)
    return Workload(
        str(name),
        tuple(layer for layer in layers if layer is not None),
        str(raw.get("description", "")),
        source,
    )


def _layer(item: Any, index: int, batch: int, source: str, problems: list[Problem]) -> Any:
    where = f"layers[{index}]"
    if not isinstance(item, Mapping):
        problems.append(Problem(where, f"expected a mapping, got {item!r}", source))
        return None
    line = key_line(item, "type") or key_line(item, "name")
    kind = item.get("type")
    if kind not in LAYER_TYPES:
        hint = suggest(str(kind), list(LAYER_TYPES)) if isinstance(kind, str) else ""
        problems.append(
            Problem(
                f"{where}.type",
                f"expected one of {', '.join(LAYER_TYPES)}, got {kind!r}{hint}",
                source,
                line,
            )
        )
        return None
    cls = LAYER_TYPES[kind]
    allowed = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {"name": str(item.get("name", f"{kind}{index}"))}
    ok = True
    for key, value in item.items():
        if key in ("type", "name"):
            continue
        targets = ["kernel_h", "kernel_w"] if key == "kernel" and cls is Conv2d else [key]
        if targets[0] not in allowed:
            hint = suggest(str(key), [*allowed, "kernel"] if cls is Conv2d else allowed)
            problems.append(
                Problem(f"{where}.{key}", f"unknown {kind} key{hint}", source, key_line(item, key))
            )
            ok = False
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(
                Problem(
                    f"{where}.{key}",
                    f"expected an integer, got {value!r}",
                    source,
                    key_line(item, key),
                )
            )
            ok = False
            continue
        for target in targets:
            kwargs[target] = value
    if not ok:
        return None
    batched = _BATCHED_FIELD[kind]
    kwargs[batched] = kwargs.get(batched, 1) * batch
    try:
        return cls(**kwargs)
    except TypeError as err:
        problems.append(Problem(where, f"incomplete {kind} layer: {err}", source, line))
    except WorkloadError as err:
        problems.append(Problem(where, str(err), source, line))
    return None
