"""Read an ``.onnx`` file into plain data: nodes, constants and every tensor's inferred shape.

This is the only module that imports ``onnx`` (lazily, inside :func:`read_model`), so the rest
of the importer, and npusim itself, works on numpy arrays and tuples. Dynamic dimensions
(``dim_param`` of the graph inputs) take their values from ``params`` before ONNX shape
inference runs, so every shape comes out concrete.

Every problem with the file (missing, not ONNX, truncated, failing ONNX shape inference)
raises :class:`~npusim.errors.WorkloadError`; missing or unknown parameters raise
:class:`~npusim.errors.ConfigError` listing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from npusim.config.fields import suggest
from npusim.errors import ConfigError, Problem, WorkloadError
from npusim.workload.shapes import MAX_DIM, is_int

INSTALL_HINT = "pip install 'npusim[onnx]'"


@dataclass(frozen=True)
class Node:
    """One ONNX node: ``attrs`` hold Python values (tensors as numpy arrays); an omitted
    optional input is ``""``."""

    op: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any]
    domain: str = ""

    @property
    def label(self) -> str:
        """``Conv 'conv1'``: the op type and the node name (or first output) for messages."""
        return f"{self.op} {self.name or (self.outputs[0] if self.outputs else '')!r}"


@dataclass(frozen=True)
class Model:
    """A parsed model. ``shapes`` holds every tensor whose shape inference made fully known;
    ``inputs`` are the graph inputs that are not initializers; ``dims`` the dynamic dimensions
    with the values they were given."""

    nodes: tuple[Node, ...]
    constants: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    dims: dict[str, int] = field(default_factory=dict)
    opset: int = 0
    producer: str = ""


def read_model(
    path: Path, params: Mapping[str, int], strict: bool = True
) -> Model:  # fmt: skip
    """Parse, check and shape-infer the model at ``path``; ``strict`` makes shape inference
    errors fatal (else the shapes it could not infer are simply missing)."""
    onnx = _import_onnx()
    model = _load(onnx, path)
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = tuple(i.name for i in graph.input if i.name not in initializers)
    dims = _bind_dims(graph, inputs, params, str(path))
    try:
        # strict shape inference checks every node against its schema; onnx.checker is not
        # used because it rejects graph outputs declared without a shape
        inferred = onnx.shape_inference.infer_shapes(
            model, check_type=True, strict_mode=strict, data_prop=True
        )
        constants = {t.name: onnx.numpy_helper.to_array(t) for t in graph.initializer}
        nodes = tuple(_node(onnx, n) for n in graph.node)
    except Exception as err:  # the onnx package raises many types for malformed models
        raise WorkloadError(f"{path}: invalid ONNX model: {_first_line(err)}") from None
    g = inferred.graph
    shapes = {}
    for value in (*g.input, *g.value_info, *g.output):
        shape = _shape(value)
        if shape is not None:
            shapes[value.name] = shape
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    return Model(nodes, constants, shapes, inputs, tuple(o.name for o in graph.output), dims,
                 opset, model.producer_name)  # fmt: skip


def _import_onnx() -> Any:
    try:
        import onnx
        import onnx.external_data_helper
        import onnx.numpy_helper
        import onnx.shape_inference
    except ImportError:
        raise WorkloadError(
            f"importing .onnx models needs the onnx package: {INSTALL_HINT}"
        ) from None
    return onnx


def _load(onnx: Any, path: Path) -> Any:
    if not path.is_file():
        raise WorkloadError(f"no such ONNX file {str(path)!r}")
    try:
        model = onnx.load(str(path), load_external_data=False)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
            # onnx refuses external-data paths that leave the model's folder
            onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
    except Exception as err:  # protobuf DecodeError, OSError, onnx ValidationError, ...
        raise WorkloadError(f"{path}: not a readable ONNX model ({_first_line(err)})") from None
    if not model.graph.node:
        raise WorkloadError(f"{path}: not an ONNX model with a graph (no nodes found)")
    return model


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:300]


def _bind_dims(
    graph: Any, inputs: tuple[str, ...], params: Mapping[str, int], source: str
) -> dict[str, int]:
    """Set every dynamic dimension of the graph inputs from ``params`` (in place)."""
    problems: list[Problem] = []
    needed: dict[str, str] = {}
    for value in graph.input:
        if value.name not in inputs:
            continue
        for axis, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            where = f"input {value.name!r} axis {axis}"
            if not dim.dim_param:
                problems.append(Problem("", f"{where} has no size and no name, so --param "
                                        "cannot set it; export the model with a fixed or "
                                        "named dimension", source))  # fmt: skip
                continue
            needed.setdefault(dim.dim_param, where)
            if dim.dim_param in params:
                dim.dim_value = params[dim.dim_param]
    for name, value in params.items():
        if name not in needed:
            known = ", ".join(needed) or "none"
            problems.append(Problem(f"params.{name}", f"not a dynamic dimension of the model"
                                    f"{suggest(name, list(needed))}; its dimensions: {known}",
                                    source))  # fmt: skip
        elif not is_int(value) or not 1 <= value <= MAX_DIM:
            problems.append(Problem(f"params.{name}", f"expected an integer from 1 to "
                                    f"{MAX_DIM}, got {value!r}", source))  # fmt: skip
    missing = [name for name in needed if name not in params]
    if missing:
        listed = ", ".join(f"{name} ({needed[name]})" for name in missing)
        flags = " ".join(f"--param {name}=N" for name in missing)
        problems.append(Problem("params", f"the model has dynamic dimensions {listed}; give "
                                f"them with {flags}", source))  # fmt: skip
    if problems:
        raise ConfigError(problems)
    return {name: params[name] for name in needed}


def _shape(value: Any) -> tuple[int, ...] | None:
    kind = value.type.WhichOneof("value")
    if kind != "tensor_type" or not value.type.tensor_type.HasField("shape"):
        return None
    dims = value.type.tensor_type.shape.dim
    if not all(d.HasField("dim_value") and d.dim_value > 0 for d in dims):
        return None
    return tuple(int(d.dim_value) for d in dims)


def _node(onnx: Any, proto: Any) -> Node:
    attrs = {}
    for attribute in proto.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        if isinstance(value, onnx.TensorProto):
            value = onnx.numpy_helper.to_array(value)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        attrs[attribute.name] = value
    return Node(proto.op_type, proto.name, tuple(proto.input), tuple(proto.output), attrs,
                proto.domain)  # fmt: skip
