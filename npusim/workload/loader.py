"""Read workload YAML files: a named list of layers, optionally with parameters and tensors.

Format::

    name: bert_base
    batch: 1                # optional; multiplies every layer's batched field (see below)
    params: {seq_len: 128}  # optional; names usable in integer expressions of layer fields
    tensors: weights.npz    # optional; real tensors (see npusim.workload.tensors)
    layers:
      - {name: q, type: linear, in_features: 768, out_features: 768, tokens: seq_len}
      - {name: k, type: linear, in_features: 768, out_features: 768, tokens: seq_len,
         inputs: [input]}
      - {name: qk, type: matmul, batch: 12, m: seq_len, k: 64, n: seq_len, inputs: [q, k]}
      - {name: conv1, type: conv2d, in_h: 224, in_w: 224, in_channels: 3,
         out_channels: 64, kernel: 7, stride: 2, padding: 3, relu: true}

The keys of a layer are the fields of its dataclass (:data:`~.layers.LAYER_TYPES`; ``kernel``
sets ``kernel_h`` and ``kernel_w`` of conv2d and pool2d). Integer fields take an int or an
expression over the parameters (:mod:`~.expr`); enum fields take their value names. ``inputs``
(a layer name, ``input``, or a list of them) says which tensors a layer reads; without it a
layer reads the previous layer's output (:mod:`~.edges` has the rules and checks).

``batch`` is the reserved parameter that multiplies ``tokens`` of linear layers and ``batch``
of every other layer; it may be given as the top-level ``batch:`` or in ``params:`` (not both)
and may be overridden like any parameter, but not written into an expression (it would be
applied twice). Problems are reported with file, line and path (``layers[3].kernel``).
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from npusim.config.bundled import bundled_folder, bundled_names, resolve_bundled
from npusim.config.fields import name_problem, show, suggest
from npusim.config.yamlio import key_line, read_yaml
from npusim.errors import ConfigError, Problem, WorkloadError
from npusim.workload.edges import Declared, resolve_edges
from npusim.workload.expr import ExpressionError, evaluate, names_used
from npusim.workload.graph import Graph
from npusim.workload.layers import LAYER_TYPES, Layer
from npusim.workload.scalesim import load_topology
from npusim.workload.shapes import MAX_DIM, Pads, is_int

BUNDLED_WORKLOADS = bundled_folder("workloads")

TOP_KEYS = ("name", "description", "batch", "params", "tensors", "layers")
BATCH = "batch"
INPUTS = "inputs"
_ALIASES = {"kernel": ("kernel_h", "kernel_w")}


@dataclass(frozen=True)
class Workload:
    """A network (or part of one) as a dataflow graph of layers, in execution order.

    ``params`` are the resolved parameter values (``batch`` included); ``tensors`` is the
    ``.npz`` file or ``.npy`` directory named by the workload, resolved against its folder.
    ``inputs`` maps a layer name to the tensors it reads (:mod:`~.graph`); a workload built
    without it gets the default edges (each layer reads the previous one's output where the
    sizes match). ``weight_arrays`` holds real weights in memory (an imported model's), as
    ``(groups * n, k)`` float32 arrays by layer name.
    """

    name: str
    layers: tuple[Layer, ...]
    description: str = ""
    source: str = ""
    params: Mapping[str, int] = field(default_factory=dict, hash=False)
    tensors: Path | None = None
    inputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    weight_arrays: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @functools.cached_property
    def graph(self) -> Graph:
        """Tensors with their producers, consumers and lifetimes."""
        edges, problems = self.inputs, []
        if not edges:
            _, edges = resolve_edges(self.layers, {}, self.source, problems)
        if problems:
            raise ConfigError(problems)
        return Graph(self.layers, edges)

    @functools.cached_property
    def layer_index(self) -> Mapping[str, int]:
        """Position of each layer by name (names are unique in a loaded workload)."""
        return {layer.name: i for i, layer in enumerate(self.layers)}

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the GEMM layers (vector layers count 0)."""
        return sum(layer.macs for layer in self.layers)

    @property
    def parameters(self) -> int:
        """Stored weights of the modelled layers (no biases, BatchNorm or LayerNorm affine
        parameters, no embedding tables other than a modelled LM head)."""
        return sum(layer.weight_elements for layer in self.layers)

    @property
    def vector_ops(self) -> int:
        return sum(layer.vector_ops for layer in self.layers)


def bundled_workloads() -> list[str]:
    """Names of the workloads shipped in ``workloads/``."""
    return bundled_names(BUNDLED_WORKLOADS)


def resolve_workload_path(name_or_path: str | Path) -> Path:
    """A path as given, or a bundled workload by name."""
    return resolve_bundled(name_or_path, BUNDLED_WORKLOADS, "workload", key="workload")


def workload_header(name_or_path: str | Path) -> dict[str, Any]:
    """A workload file's ``name``, ``description`` and ``params``, read without its layers
    (what ``npusim list`` shows; a Llama file's 500 layers take 0.1 s to load)."""
    path = resolve_workload_path(name_or_path)
    raw = read_yaml(path, before_key="layers")
    raw = raw if isinstance(raw, Mapping) else {}
    params = raw.get("params") if isinstance(raw.get("params"), Mapping) else {}
    return {"name": str(raw.get("name", path.stem)),
            "description": str(raw.get("description", "")), "params": dict(params)}  # fmt: skip


def load_workload(
    name_or_path: str | Path, params: Mapping[str, int] | None = None,
    skip_unsupported: bool = False,
) -> Workload:  # fmt: skip
    """Load and validate a workload, ``params`` overriding its declared parameters.

    Raises :class:`ConfigError` listing every problem (unknown override names included, with a
    suggestion). A ``.csv`` file is read as a SCALE-Sim topology (conv or GEMM form), an
    ``.onnx`` file as an ONNX model (:mod:`npusim.workload.onnx`: ``params`` set its dynamic
    dimensions, ``skip_unsupported`` leaves out ops npusim does not model).
    """
    if Path(name_or_path).suffix.lower() == ".onnx":
        from npusim.workload.onnx import load_onnx  # imports the optional onnx package

        return load_onnx(name_or_path, params, skip_unsupported)
    if Path(name_or_path).suffix.lower() == ".csv":
        path = Path(name_or_path)
        layers = tuple(load_topology(path))
        problems: list[Problem] = []
        _, edges = resolve_edges(layers, {}, str(path), problems)
        if problems:
            raise ConfigError(problems)
        return Workload(path.stem, layers, "SCALE-Sim topology", str(path), inputs=edges)
    path = resolve_workload_path(name_or_path)
    raw = read_yaml(path)
    source = str(path)
    if not isinstance(raw, Mapping):
        raise ConfigError(Problem("", "a workload must be a mapping with 'layers'", source))
    problems: list[Problem] = []
    for key in raw:
        if key not in TOP_KEYS:
            hint = suggest(str(key), list(TOP_KEYS))
            problems.append(Problem(str(key), f"unknown key{hint}", source, key_line(raw, key)))
    values = _params(raw, params or {}, source, problems)
    items = raw.get("layers")
    if not isinstance(items, list) or not items:
        problems.append(Problem("layers", "a workload needs a non-empty list of layers", source,
                                key_line(raw, "layers")))  # fmt: skip
        items = []
    layers = [_layer(item, i, values, source, problems) for i, item in enumerate(items)]
    names = [layer.name for layer in layers if layer is not None]
    for duplicate in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem("layers", f"layer name {duplicate!r} is used twice", source))
    declared = _declared_inputs(items, source, problems)
    tensors = _tensors_path(raw, path, problems)
    if (bad_name := name_problem(raw.get("name", path.stem))) is not None:
        problems.append(Problem("name", bad_name, source, key_line(raw, "name")))
    if problems:
        raise ConfigError(problems)
    order, edges = resolve_edges(layers, declared, source, problems)
    if problems:
        raise ConfigError(problems)
    return Workload(
        str(raw.get("name", path.stem)),
        order,
        str(raw.get("description", "")),
        source,
        MappingProxyType(dict(values)),
        tensors,
        MappingProxyType(edges),
    )


def _declared_inputs(items: list[Any], source: str, problems: list[Problem]) -> Declared:
    """The ``inputs`` of each layer that has them: one name or a list of names."""
    declared = {}
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or INPUTS not in item:
            continue
        value, line = item[INPUTS], key_line(item, INPUTS)
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            problems.append(Problem(f"layers[{i}].{INPUTS}", "expected a layer name or a "
                                    f"non-empty list of layer names, got {show(value)}", source,
                                    line))  # fmt: skip
            continue
        declared[i] = (tuple(names), line)
    return declared


def _params(
    raw: Mapping[str, Any], overrides: Mapping[str, int], source: str, problems: list[Problem]
) -> dict[str, int]:
    """Declared parameters with ``overrides`` applied; ``batch`` always present."""
    declared = raw.get("params", {})
    if not isinstance(declared, Mapping):
        problems.append(Problem("params", f"expected a mapping of names to integers, got "
                                f"{show(declared)}", source, key_line(raw, "params")))  # fmt: skip
        declared = {}
    values: dict[str, int] = {BATCH: 1}
    for key, value in declared.items():
        if not str(key).isidentifier():
            problems.append(Problem(f"params.{key}", "a parameter name must be an identifier",
                                    source, key_line(declared, key)))  # fmt: skip
        elif _check_value(f"params.{key}", key, value, source, key_line(declared, key), problems):
            values[str(key)] = value
    if BATCH in raw:
        if BATCH in declared:
            problems.append(Problem(BATCH, "batch is given both at the top level and in params",
                                    source, key_line(raw, BATCH)))  # fmt: skip
        elif _check_value(BATCH, BATCH, raw[BATCH], source, key_line(raw, BATCH), problems):
            values[BATCH] = raw[BATCH]
    for key, value in overrides.items():
        if key not in values:
            hint = suggest(str(key), sorted(values))
            known = ", ".join(sorted(values))
            message = f"unknown workload parameter{hint} (parameters: {known})"
            problems.append(Problem(f"params.{key}", message, source))
        elif _check_value(f"params.{key}", key, value, source, None, problems):
            values[key] = value
    return values


def _check_value(
    path: str, name: str, value: Any, source: str, line: int | None, problems: list[Problem]
) -> bool:
    low = 1 if name == BATCH else 0
    if is_int(value) and low <= value <= MAX_DIM:
        return True
    problems.append(Problem(path, f"expected an integer from {low} to {MAX_DIM}, got {show(value)}",
                            source, line))  # fmt: skip
    return False


def _tensors_path(raw: Mapping[str, Any], path: Path, problems: list[Problem]) -> Path | None:
    if "tensors" not in raw:
        return None
    value = raw["tensors"]
    line = key_line(raw, "tensors")
    if not isinstance(value, str):
        problems.append(
            Problem("tensors", f"expected a file name, got {show(value)}", str(path), line)
        )
        return None
    tensors = path.parent / value
    if not tensors.exists():
        problems.append(Problem("tensors", f"no such file or folder {str(tensors)!r}",
                                str(path), line))  # fmt: skip
        return None
    return tensors


def _layer(
    item: Any, index: int, params: Mapping[str, int], source: str, problems: list[Problem]
) -> Any:
    where = f"layers[{index}]"
    if not isinstance(item, Mapping):
        problems.append(Problem(where, f"expected a mapping, got {show(item)}", source))
        return None
    line = key_line(item, "type") or key_line(item, "name")
    kind = item.get("type")
    if not isinstance(kind, str) or kind not in LAYER_TYPES:  # a mapping is unhashable
        hint = suggest(str(kind), list(LAYER_TYPES)) if isinstance(kind, str) else ""
        problems.append(Problem(f"{where}.type", f"expected one of {', '.join(LAYER_TYPES)}, "
                                f"got {show(kind)}{hint}", source, line))  # fmt: skip
        return None
    cls = LAYER_TYPES[kind]
    kwargs = _fields(item, cls, where, params, source, problems)
    if kwargs is None:
        return None
    kwargs["name"] = str(item.get("name", f"{kind}{index}"))
    batched = BATCH if BATCH in _field_names(cls) else "tokens"
    kwargs[batched] = kwargs.get(batched, 1) * params[BATCH]
    try:
        return cls(**kwargs)
    except TypeError as err:
        problems.append(Problem(where, f"incomplete {kind} layer: {err}", source, line))
    except WorkloadError as err:
        problems.append(Problem(where, str(err), source, line))
    return None


@functools.lru_cache(maxsize=64)
def _type_hints(cls: type) -> dict[str, Any]:
    """A layer class's field types (resolving them costs ~0.4 ms a call, per layer)."""
    return typing.get_type_hints(cls)


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls) if f.name != "name"]


def _fields(
    item: Mapping[str, Any],
    cls: type,
    where: str,
    params: Mapping[str, int],
    source: str,
    problems: list[Problem],
) -> dict[str, Any] | None:
    """Constructor arguments of a layer from its YAML keys; None (problems added) if bad."""
    hints = _type_hints(cls)
    allowed = _field_names(cls)
    accepted = allowed + [alias for alias, targets in _ALIASES.items() if targets[0] in allowed]
    kwargs: dict[str, Any] = {}
    ok = True
    for key, value in item.items():
        if key in ("type", "name", INPUTS):
            continue
        if key not in accepted:
            message = f"unknown {cls.kind} key{suggest(str(key), accepted)}"  # type: ignore[attr-defined]
            problems.append(Problem(f"{where}.{key}", message, source, key_line(item, key)))
            ok = False
            continue
        targets = _ALIASES.get(key, (key,))
        try:
            converted = _convert(value, hints[targets[0]], params)
        except (ValueError, TypeError) as err:
            problems.append(Problem(f"{where}.{key}", str(err), source, key_line(item, key)))
            ok = False
            continue
        kwargs.update(dict.fromkeys(targets, converted))
    return kwargs if ok else None


def _convert(value: Any, hint: Any, params: Mapping[str, int]) -> Any:
    """A YAML value as the field type ``hint``; raises ValueError with the reason."""
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {show(value)}")
        return value
    if hint == Pads | None:
        if not isinstance(value, list) or len(value) != 4:
            raise ValueError(
                f"expected four paddings [top, left, bottom, right], got {show(value)}"
            )
        return tuple(_convert(side, int, params) for side in value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        names = [member.value for member in hint]
        if value not in names:
            hint_text = suggest(str(value), names) if isinstance(value, str) else ""
            raise ValueError(f"expected one of {', '.join(names)}, got {show(value)}{hint_text}")
        return hint(value)
    if is_int(value):
        return value
    if isinstance(value, str):
        if BATCH in names_used(value):
            raise ValueError("batch is applied to every layer automatically; remove it from "
                             f"the expression {show(value)}")  # fmt: skip
        names = {k: v for k, v in params.items() if k != BATCH}
        try:
            return evaluate(value, names)
        except ExpressionError as err:
            raise ValueError(str(err)) from None
    raise ValueError(f"expected an integer or an expression over the parameters, got {show(value)}")
