"""Resolve and check the ``inputs`` of a workload's layers (see :mod:`~.graph`).

A layer that names its ``inputs`` reads exactly those tensors; every name must be a layer of
the workload or ``input``, and each tensor's size must equal the operand it feeds (a concat's
inputs must add up to its size). A layer without ``inputs`` reads the previous layer's output
when that has the size of its first operand, else a stored tensor of its own (so lists of
independent layers, such as SCALE-Sim topologies, keep running as they always did); the first
layer reads ``input``. Layers run in file order unless an input names a later layer, in which
case the order is the file order made topological (stable); a cycle is an error.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from npusim.config.fields import suggest
from npusim.errors import Problem
from npusim.workload.graph import (
    NETWORK_INPUT,
    network_input_elements,
    operand_elements,
    tensor_elements,
)
from npusim.workload.layers import Concat, Layer

Declared = Mapping[int, tuple[tuple[str, ...], int | None]]
"""Layer index -> (the names in its ``inputs``, the YAML line) for layers that have them."""


def resolve_edges(
    layers: Sequence[Layer], declared: Declared, source: str, problems: list[Problem]
) -> tuple[tuple[Layer, ...], dict[str, tuple[str, ...]]]:
    """Execution order and each layer's inputs; problems are appended to ``problems``."""
    by_name = {layer.name: layer for layer in layers}
    if len(by_name) < len(layers):  # tensors are named after layers: names must be unique
        names = [layer.name for layer in layers]
        twice = sorted({n for n in names if names.count(n) > 1})
        problems.append(Problem("layers", f"layer name {twice[0]!r} is used twice", source))
        return tuple(layers), {}
    edges: dict[str, tuple[str, ...]] = {}
    for i, layer in enumerate(layers):
        if i in declared:
            names, line = declared[i]
            known = _known(names, layer.name, by_name, f"layers[{i}].inputs", source, line)
            problems.extend(known)
            edges[layer.name] = names if not known else ()
        else:
            edges[layer.name] = _implicit(layers, i)
    order = _topological(layers, edges, source, problems)
    for i, layer in enumerate(layers):
        if i in declared and edges[layer.name]:
            problems.extend(_sizes(layer, edges[layer.name], by_name, i, source, declared[i][1]))
    problems.extend(_network_input(order, edges, source))
    return order, edges


def _implicit(layers: Sequence[Layer], index: int) -> tuple[str, ...]:
    if index == 0:
        return (NETWORK_INPUT,)
    previous = layers[index - 1]
    if tensor_elements(previous) == operand_elements(layers[index])[0]:
        return (previous.name,)
    return ()


def _known(
    names: tuple[str, ...], own: str, by_name: Mapping[str, Layer], where: str, source: str,
    line: int | None,
) -> list[Problem]:  # fmt: skip
    problems = []
    candidates = [NETWORK_INPUT, *by_name]
    for j, name in enumerate(names):
        if name == own:
            problems.append(Problem(f"{where}[{j}]", f"layer {own!r} cannot read its own "
                                    "output", source, line))  # fmt: skip
        elif name != NETWORK_INPUT and name not in by_name:
            problems.append(Problem(f"{where}[{j}]", f"unknown input {name!r}: expected a "
                                    f"layer name or {NETWORK_INPUT!r}"
                                    f"{suggest(name, candidates)}", source, line))  # fmt: skip
    return problems


def _topological(
    layers: Sequence[Layer], edges: Mapping[str, tuple[str, ...]], source: str,
    problems: list[Problem],
) -> tuple[Layer, ...]:  # fmt: skip
    """Kahn's algorithm taking the earliest ready layer in file order (stable)."""
    index = {layer.name: i for i, layer in enumerate(layers)}
    waiting = {layer.name: {t for t in edges[layer.name] if t in index} for layer in layers}
    users: dict[str, list[str]] = {}
    for name, needs in waiting.items():
        for tensor in needs:
            users.setdefault(tensor, []).append(name)
    ready = [index[name] for name, needs in waiting.items() if not needs]
    heapq.heapify(ready)
    order: list[Layer] = []
    while ready:
        layer = layers[heapq.heappop(ready)]
        order.append(layer)
        for user in users.get(layer.name, ()):
            waiting[user].discard(layer.name)
            if not waiting[user]:
                heapq.heappush(ready, index[user])
    if len(order) < len(layers):
        stuck = sorted((index[n] for n, needs in waiting.items() if needs))
        names = ", ".join(repr(layers[i].name) for i in stuck[:6])
        problems.append(Problem(f"layers[{stuck[0]}].inputs", f"cyclic inputs among {names}",
                                source))  # fmt: skip
        return tuple(layers)
    return tuple(order)


def _sizes(
    layer: Layer, names: tuple[str, ...], by_name: Mapping[str, Layer], i: int, source: str,
    line: int | None,
) -> list[Problem]:  # fmt: skip
    """Each named tensor must have the size of the operand it feeds."""
    where = f"layers[{i}].inputs"
    operands = operand_elements(layer)
    if isinstance(layer, Concat):
        if NETWORK_INPUT in names:
            return []  # the network input takes whatever size the others leave
        total = sum(tensor_elements(by_name[n]) for n in names)
        if total != operands[0]:
            return [Problem(where, f"concat {layer.name!r} has {operands[0]} elements but its "
                            f"inputs add up to {total}", source, line)]  # fmt: skip
        return []
    if len(names) > len(operands):
        message = (f"{layer.kind} layer {layer.name!r} has {len(operands)} activation "
                   f"operand(s), {len(names)} inputs named")  # fmt: skip
        return [Problem(where, message, source, line)]
    problems = []
    for j, name in enumerate(names):
        if name == NETWORK_INPUT:
            continue
        produced = tensor_elements(by_name[name])
        if produced != operands[j]:
            problems.append(Problem(
                f"{where}[{j}]", f"{name!r} produces {produced} elements but operand {j} of "
                f"{layer.kind} layer {layer.name!r} has {operands[j]}", source, line,
            ))  # fmt: skip
    return problems


def _network_input(
    order: Sequence[Layer], edges: Mapping[str, tuple[str, ...]], source: str
) -> list[Problem]:
    """Every reader of ``input`` must see the same size."""
    produced = {layer.name: tensor_elements(layer) for layer in order}
    sizes = {
        layer.name: network_input_elements(layer, edges[layer.name], produced)
        for layer in order
        if NETWORK_INPUT in edges[layer.name]
    }
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{name!r}: {size}" for name, size in sizes.items())
        return [Problem("layers", f"layers read 'input' at different sizes ({shown})", source)]
    return []
