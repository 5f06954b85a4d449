"""Rewrites of multi-node ONNX patterns into the one op they compute (before building).

GELU exported before opset 20 (PyTorch's ``nn.GELU``, Hugging Face's ``gelu``) is five nodes,
``0.5 * x * (1 + erf(x / sqrt(2)))`` (Hendrycks & Gimpel 2016, Eq. 1), which would otherwise
cost five vector layers each reading and writing the whole tensor. Both export orders are
recognized: ``(x * (erf(x / sqrt 2) + 1)) * 0.5`` and ``(x * 0.5) * (erf(x / sqrt 2) + 1)``
(``x / sqrt 2`` may be ``x * (1 / sqrt 2)``). A pattern whose inner tensors are read by any
other node, or are graph outputs, is left alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from npusim.workload.onnx.model import Node


def fuse_gelu(
    nodes: Sequence[Node], constants: Mapping[str, np.ndarray], outputs: Sequence[str]
) -> tuple[Node, ...]:
    """``nodes`` with every erf-form GELU replaced by one ``Gelu`` node (at the place of its
    last node, so the order stays topological)."""
    constants = dict(constants)
    for node in nodes:
        if node.op == "Constant" and "value" in node.attrs and node.outputs:
            constants[node.outputs[0]] = np.asarray(node.attrs["value"])
    producer = {out: node for node in nodes for out in node.outputs}
    readers: dict[str, list[Node]] = {}
    for node in nodes:
        for tensor in node.inputs:
            readers.setdefault(tensor, []).append(node)
    for tensor in outputs:
        readers.setdefault(tensor, []).append(Node("<graph output>", "", (tensor,), (), {}))
    replaced: dict[int, Node] = {}
    removed: set[int] = set()
    for erf in nodes:
        if erf.op != "Erf":
            continue
        match = _gelu(erf, producer, readers, constants)
        if match is not None:
            gelu, members = match
            *inner, last = members
            replaced[id(last)] = gelu
            removed.update(id(node) for node in inner)
    return tuple(replaced.get(id(n), n) for n in nodes if id(n) not in removed)


def _gelu(
    erf: Node, producer: Mapping[str, Node], readers: Mapping[str, list[Node]],
    constants: Mapping[str, np.ndarray],
) -> tuple[Node, list[Node]] | None:  # fmt: skip
    """The Gelu node and the pattern's nodes in graph order, or None if ``erf`` is not one."""

    def sole_reader(tensor: str) -> Node | None:
        users = readers.get(tensor, [])
        return users[0] if len(users) == 1 else None

    def other(node: Node, tensor: str) -> str:
        return node.inputs[1] if node.inputs[0] == tensor else node.inputs[0]

    def is_constant(tensor: str, value: float) -> bool:
        array = constants.get(tensor)
        return array is not None and array.size == 1 and math.isclose(
            float(array.reshape(-1)[0]), value, rel_tol=1e-3)  # fmt: skip

    scale = producer.get(erf.inputs[0])
    if scale is None or sole_reader(erf.inputs[0]) is not erf or len(scale.inputs) != 2:
        return None
    if scale.op == "Div" and is_constant(scale.inputs[1], math.sqrt(2)):
        x = scale.inputs[0]
    elif scale.op == "Mul" and is_constant(other(scale, scale.inputs[0]), 1 / math.sqrt(2)):
        x = scale.inputs[0] if not is_constant(scale.inputs[0], 1 / math.sqrt(2)) \
            else scale.inputs[1]  # fmt: skip
    else:
        return None
    add = sole_reader(erf.outputs[0])
    if add is None or add.op != "Add" or not is_constant(other(add, erf.outputs[0]), 1.0):
        return None
    times = sole_reader(add.outputs[0])
    if times is None or times.op != "Mul":
        return None
    factor = other(times, add.outputs[0])
    if factor == x:  # form A: (x * (erf + 1)) * 0.5
        half = sole_reader(times.outputs[0])
        if half is None or half.op != "Mul" or not is_constant(other(half, times.outputs[0]), 0.5):
            return None
        members, output = [scale, erf, add, times, half], half.outputs[0]
    else:  # form B: (x * 0.5) * (erf + 1)
        half = producer.get(factor)
        if half is None or half.op != "Mul" or sole_reader(factor) is not times:
            return None
        if x not in half.inputs or not is_constant(other(half, x), 0.5):
            return None
        members, output = [half, scale, erf, add, times], times.outputs[0]
    return Node("Gelu", erf.name, (x,), (output,), {}), members
