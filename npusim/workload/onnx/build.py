"""Walk an ONNX graph in node order and build npusim layers with their dataflow edges.

Every ONNX tensor is either a constant (:mod:`~.fold`) or an activation :class:`Tensor`: the
output of an npusim layer, the network input, or a stored tensor (``source`` None: read from
DRAM like weights, e.g. a second graph input). No-op and view nodes (Identity, Dropout,
Reshape, Flatten, Squeeze, Unsqueeze) make their output another name of their input, so they
add no layer. The op handlers (:mod:`~.ops`) call :meth:`Builder.emit` and the fusion helpers.

Beside the layers the builder keeps what the functional pass needs (:mod:`npusim.functional`):
each conv/linear layer's bias (Conv ``B``, Gemm ``beta * C``, a folded BatchNorm shift or
constant Add), each fused activation's function (ReLU or ReLU6) and, for every node whose
layer costs right but computes something else (Sub costed as an add, a transposing copy), why
it cannot run functionally (:meth:`Builder.refuse`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from npusim.errors import Problem, WorkloadError
from npusim.workload.edges import resolve_edges
from npusim.workload.graph import NETWORK_INPUT, operand_elements
from npusim.workload.layers import ActivationFunction, Concat, Conv2d, Elementwise, Layer, Linear
from npusim.workload.onnx.fold import FOLDS, shape_constant
from npusim.workload.onnx.model import Model, Node


class Unsupported(Exception):
    """A node npusim does not model (raised by handlers; the builder names the node)."""


@dataclass(frozen=True)
class Tensor:
    """An activation tensor: ``source`` is the npusim tensor holding it (a layer name or
    ``input``), None for a stored tensor read from DRAM."""

    source: str | None
    shape: tuple[int, ...]

    @property
    def elements(self) -> int:
        return math.prod(self.shape)


class Builder:
    """The state of one import: layers in execution order, their edges and weights."""

    def __init__(self, model: Model, source: str) -> None:
        self.model = model
        self.source = source
        self.constants: dict[str, np.ndarray] = dict(model.constants)
        self.tensors: dict[str, Tensor] = {}
        for i, name in enumerate(model.inputs):
            shape = self.shape(name, "graph input")
            self.tensors[name] = Tensor(NETWORK_INPUT if i == 0 else None, shape)
        self.layers: list[Layer] = []
        self.position: dict[str, int] = {}
        self.reads: dict[str, tuple[str, ...]] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.output_of: dict[str, str] = {}  # layer name -> the ONNX tensor it writes
        self.uses = Counter(t for node in model.nodes for t in node.inputs if t)
        self.uses.update(model.outputs)
        self.skipped: list[str] = []
        self.biases: dict[str, np.ndarray] = {}  # layer name -> float32 (rows,)
        self.fused: dict[str, ActivationFunction] = {}  # layer name -> RELU or RELU6
        self.not_functional: dict[str, str] = {}  # node label -> why, in graph order

    # --- tensors ---------------------------------------------------------------------------
    def shape(self, tensor: str, node: Node | str) -> tuple[int, ...]:
        if tensor in self.tensors:
            return self.tensors[tensor].shape
        if tensor in self.constants:
            return tuple(self.constants[tensor].shape)
        if tensor in self.model.shapes:
            return self.model.shapes[tensor]
        where = node.label if isinstance(node, Node) else node
        raise WorkloadError(f"{self.source}: {where}: the shape of tensor {tensor!r} is unknown "
                            "after ONNX shape inference")  # fmt: skip

    def is_constant(self, tensor: str) -> bool:
        return tensor in self.constants

    def activation(self, tensor: str, node: Node) -> Tensor:
        if tensor in self.tensors:
            return self.tensors[tensor]
        if tensor in self.constants:
            raise Unsupported(f"input {tensor!r} is a constant where npusim expects an activation")
        raise WorkloadError(f"{self.source}: {node.label} reads {tensor!r}, which no node, "
                            "initializer or graph input provides")  # fmt: skip

    def alias(self, node: Node, tensor: str) -> None:
        """Output 0 of ``node`` is ``tensor`` under another shape (a view or a no-op)."""
        source = self.activation(tensor, node).source
        self.tensors[node.outputs[0]] = Tensor(source, self.shape(node.outputs[0], node))

    # --- layers ----------------------------------------------------------------------------
    def layer_name(self, node: Node, suffix: str = "") -> str:
        base = (node.name or node.outputs[0] or node.op) + suffix
        name, n = base, 1
        while name in self.position or name == NETWORK_INPUT:
            name, n = f"{base}_{n}", n + 1
        return name

    def emit(
        self, layer: Layer, reads: Sequence[str], output: str, node: Node,
        weights: np.ndarray | None = None, shape: tuple[int, ...] | None = None,
    ) -> None:  # fmt: skip
        """Append ``layer`` reading the activations ``reads`` (ONNX names, in operand order)
        and writing ``output`` (of ``shape``, default its inferred shape). An operand is named
        in the graph only while every operand before it is too and its size is the operand's;
        the rest are stored tensors."""
        sizes = operand_elements(layer)
        sources = [self.activation(t, node) for t in reads]
        named: list[str] = []
        if isinstance(layer, Concat):
            if all(s.source is not None for s in sources):
                named = [s.source for s in sources]  # type: ignore[misc]
        else:
            for tensor, size in zip(sources, sizes, strict=False):  # sizes may be longer
                if tensor.source is None or tensor.elements != size:
                    break
                named.append(tensor.source)
        self.position[layer.name] = len(self.layers)
        self.layers.append(layer)
        self.reads[layer.name] = tuple(named)
        if weights is not None:
            self.weights[layer.name] = weights
        self.output_of[layer.name] = output
        self.tensors[output] = Tensor(layer.name, shape or self.shape(output, node))
        if len(named) < max(len(reads), len(sizes)) and not isinstance(layer, Concat):
            self.refuse(node, "an operand is a constant, a second graph input or broadcast, "
                        "which the functional pass does not compute")  # fmt: skip

    def refuse(self, node: Node, reason: str) -> None:
        """Record that ``node`` is costed right but cannot run functionally, and why (the
        functional pass refuses the model with the first such node)."""
        self.not_functional.setdefault(node.label, reason)

    def fusable(self, tensor: str) -> Layer | None:
        """The layer that wrote ``tensor`` if ``tensor`` is its very output (not a view) and
        nothing else reads it, so the reading node may be folded into that layer."""
        source = self.tensors.get(tensor)
        if source is None or source.source not in self.position:
            return None
        if self.output_of[source.source] != tensor or self.uses[tensor] != 1:
            return None
        return self.layers[self.position[source.source]]

    def replace(self, layer: Layer, output: str, node: Node, weights: np.ndarray | None = None,
                ) -> None:  # fmt: skip
        """Put ``layer`` (a fused version of the layer of the same name) in place; it now
        writes ``output``."""
        self.layers[self.position[layer.name]] = layer
        if weights is not None:
            self.weights[layer.name] = weights
        self.output_of[layer.name] = output
        self.tensors[output] = Tensor(layer.name, self.shape(output, node))

    # --- nodes -----------------------------------------------------------------------------
    def fold(self, node: Node) -> bool:
        """Evaluate ``node`` if it only computes on constants; True if it did."""
        inputs = [t for t in node.inputs if t]
        if node.op == "Shape" and inputs and inputs[0] in self.tensors:
            self.constants[node.outputs[0]] = shape_constant(self.shape(inputs[0], node),
                                                             node.attrs)  # fmt: skip
            return True
        if not all(t in self.constants for t in inputs):
            return False
        if node.op not in FOLDS:
            raise Unsupported("it computes only on constants and npusim does not fold this op")
        output = node.outputs[0]
        args = [self.constants[t] for t in inputs]
        try:
            self.constants[output] = FOLDS[node.op](node, args, self.model.shapes.get(output))
        except (ValueError, TypeError, KeyError, IndexError) as err:
            raise WorkloadError(f"{self.source}: {node.label}: cannot evaluate it on its "
                                f"constant inputs: {err}") from None  # fmt: skip
        return True

    def skip(self, node: Node, reason: str) -> None:
        """Leave ``node`` out: an output the size of its first activation input passes that
        input through; any other output becomes a stored tensor."""
        self.skipped.append(f"{node.label} ({reason})")
        self.refuse(node, f"left out of the import ({reason})")
        first = next((self.tensors[t] for t in node.inputs if t in self.tensors), None)
        for output in node.outputs:
            if not output:
                continue
            shape = self.model.shapes.get(output)
            if shape is None:
                continue
            source = first.source if first and first.elements == math.prod(shape) else None
            self.tensors[output] = Tensor(source, shape)

    def edges(self) -> tuple[tuple[Layer, ...], dict[str, tuple[str, ...]]]:
        """Execution order and inputs, checked by :func:`~npusim.workload.edges.resolve_edges`."""
        declared = {i: (self.reads[layer.name], None) for i, layer in enumerate(self.layers)}
        problems: list[Problem] = []
        order, edges = resolve_edges(self.layers, declared, self.source, problems)
        if problems:
            raise WorkloadError("; ".join(str(p) for p in problems[:3]))
        return order, edges


def with_relu(layer: Layer) -> Layer | None:
    """``layer`` with a fused ReLU, or None if its type cannot carry one (or already does)."""
    if isinstance(layer, (Conv2d, Linear, Elementwise)) and not layer.relu:
        return dataclasses.replace(layer, relu=True)
    return None
