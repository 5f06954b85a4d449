"""The dataflow graph of a workload: which activation tensors each layer reads and writes.

Every layer produces one activation tensor, named after the layer. A layer reads its
activation operands in order (:func:`operand_elements`): the tensors named in its ``inputs``
(layer names, or :data:`NETWORK_INPUT` for the network's input), and any operand it does not
name is a stored tensor read from DRAM like weights (a KV cache, or the input of a layer in a
list of independent layers such as a SCALE-Sim topology). Concat reads any number of tensors
whose sizes add up to its output.

A reshape is a view: its output is its source tensor under another shape, so consumers of a
reshape read the source (:attr:`Graph.storage`).

Each tensor has a producer, consumers and a lifetime: from its producer's position in
execution order to its last consumer's (:class:`TensorInfo`). A tensor nobody reads is a
network output and lives to the end of the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from npusim.workload.layers import Concat, Elementwise, Layer, Matmul, Reshape

NETWORK_INPUT = "input"
KV_APPEND_TYPES = ("linear", "rope")
"""Layer types whose unread outputs can be KV-cache appends (:meth:`Graph.kv_appends`)."""


def operand_elements(layer: Layer) -> tuple[int, ...]:
    """Elements of each activation operand, in order (concat: its total, see the module)."""
    if isinstance(layer, Matmul):
        return (layer.batch * layer.m * layer.k, layer.batch * layer.k * layer.n)
    if isinstance(layer, Elementwise):
        return (layer.batch * layer.elements,) * 2
    if isinstance(layer, Reshape):
        return (layer.batch * layer.elements,)
    return (layer.input_elements,)


def tensor_elements(layer: Layer) -> int:
    """Elements of the tensor ``layer`` produces (a reshape's view included)."""
    if isinstance(layer, Reshape):
        return layer.batch * layer.elements
    return layer.output_elements


@dataclass(frozen=True)
class TensorInfo:
    """One activation tensor: its producer (None: the network input), its consumers in
    execution order, and its lifetime as execution positions ``[first_use, last_use]``
    (``first_use`` = -1 for the network input; ``last_use`` = the last position for a network
    output, which has no consumers)."""

    name: str
    elements: int
    producer: str | None
    consumers: tuple[str, ...]
    first_use: int
    last_use: int

    @property
    def is_output(self) -> bool:
        return not self.consumers and self.producer is not None


class Graph:
    """Tensors, producers, consumers and lifetimes of a workload's layers (in order).

    ``edges`` maps a layer name to the tensors it reads (see the module docstring); layers
    must already be in a valid execution order (the loader sorts and checks them).
    """

    def __init__(self, layers: Sequence[Layer], edges: Mapping[str, tuple[str, ...]]) -> None:
        self.layers = tuple(layers)
        self.position = {layer.name: i for i, layer in enumerate(self.layers)}
        self.kinds = {layer.name: layer for layer in self.layers}
        # A reshape's output is stored where its source is: resolve chains of views.
        self.storage: dict[str, str] = {}
        for layer in self.layers:
            sources = edges.get(layer.name, ())
            if isinstance(layer, Reshape) and sources:
                self.storage[layer.name] = self.storage.get(sources[0], sources[0])
        self.reads: dict[str, tuple[str, ...]] = {
            layer.name: tuple(self.stored(t) for t in edges.get(layer.name, ()))
            for layer in self.layers
            if not isinstance(layer, Reshape)
        }
        self.tensors = self._tensors()

    def stored(self, tensor: str) -> str:
        """The tensor whose storage ``tensor`` is (itself unless it is a reshape's view)."""
        return self.storage.get(tensor, tensor)

    def _tensors(self) -> dict[str, TensorInfo]:
        consumers: dict[str, list[str]] = {}
        for name, reads in self.reads.items():
            for tensor in dict.fromkeys(reads):  # a layer reading a tensor twice counts once
                consumers.setdefault(tensor, []).append(name)
        end = len(self.layers) - 1
        tensors: dict[str, TensorInfo] = {}
        for layer in self.layers:
            if isinstance(layer, Reshape):
                continue
            users = tuple(consumers.get(layer.name, ()))
            at = self.position[layer.name]
            last = self.position[users[-1]] if users else end
            tensors[layer.name] = TensorInfo(
                layer.name, tensor_elements(layer), layer.name, users, at, last
            )
        if NETWORK_INPUT in consumers:
            users = tuple(consumers[NETWORK_INPUT])
            sizes = {name: info.elements for name, info in tensors.items()}
            elements = network_input_elements(self.kinds[users[0]], self.reads[users[0]], sizes)
            tensors[NETWORK_INPUT] = TensorInfo(
                NETWORK_INPUT, elements, None, users, -1, self.position[users[-1]]
            )
        return tensors

    def reads_stored_operand(self, layer: Layer) -> bool:
        """A matmul whose second operand no layer produces reads it from DRAM (a KV cache)."""
        return isinstance(layer, Matmul) and len(self.reads.get(layer.name, ())) < 2

    def kv_appends(self) -> frozenset[str]:
        """Outputs kept for a later pass: in a graph whose matmuls read a stored operand (a
        KV cache), the outputs of the types in :data:`KV_APPEND_TYPES` that no layer reads,
        the last layer's excepted, are the cache's new rows (a decoder's K projection after
        its rotary embedding, and its V projection). Empty for any other graph."""
        if not any(self.reads_stored_operand(layer) for layer in self.layers):
            return frozenset()
        last = self.layers[-1].name
        return frozenset(
            name for name, info in self.tensors.items()
            if info.producer is not None and not info.consumers and name != last
            and self.kinds[name].kind in KV_APPEND_TYPES
        )  # fmt: skip

    def last_readers(self) -> dict[str, list[str]]:
        """Per layer, the tensors whose last consumer it is (they die when it finishes)."""
        dying: dict[str, list[str]] = {}
        for tensor in self.tensors.values():
            if tensor.consumers:
                dying.setdefault(tensor.consumers[-1], []).append(tensor.name)
        return dying


def network_input_elements(layer: Layer, reads: Sequence[str], sizes: Mapping[str, int]) -> int:
    """Elements of the network input as ``layer`` sees it, reading ``reads`` (``sizes``:
    elements of the other tensors, by name)."""
    index = list(reads).index(NETWORK_INPUT)
    if isinstance(layer, Concat):
        count = list(reads).count(NETWORK_INPUT)
        known = sum(sizes[t] for t in reads if t != NETWORK_INPUT)
        return (layer.batch * layer.elements - known) // count
    return operand_elements(layer)[index]
