"""ONNX op -> npusim layer mapping (see :mod:`npusim.workload.onnx` for the rules in prose).

Each handler reads one node through the :class:`~.build.Builder` and emits layers, fuses the
node into the layer that produced its input, or makes its output an alias. A handler raises
:class:`~.build.Unsupported` for a form of the op npusim does not model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from npusim.errors import WorkloadError
from npusim.workload.layers import (
    Activation,
    ActivationFunction,
    Concat,
    Conv2d,
    Elementwise,
    LayerNorm,
    Linear,
    Matmul,
    Pool2d,
    PoolMode,
    Softmax,
)
from npusim.workload.onnx.affine import batchnorm, binary
from npusim.workload.onnx.build import Builder, Unsupported, with_relu
from npusim.workload.onnx.fold import channel_vector, scale_rows
from npusim.workload.onnx.model import Node
from npusim.workload.onnx.window import window_geometry

Handler = Callable[[Builder, Node], None]


def _conv(b: Builder, node: Node) -> None:
    x, w = node.inputs[0], node.inputs[1]
    if not b.is_constant(w):
        raise Unsupported("its weights are computed at run time")
    weights = b.constants[w]
    n, c, h, width = _nchw(b.shape(x, node), node)
    groups = int(node.attrs.get("group", 1))
    if weights.ndim not in (3, 4) or weights.shape[1] * groups != c:
        raise WorkloadError(f"weights of shape {weights.shape} do not fit {c} input channels "
                            f"in {groups} group(s) of a 1-D or 2-D convolution")  # fmt: skip
    kernel = (1, weights.shape[2]) if weights.ndim == 3 else (weights.shape[2], weights.shape[3])
    out = _nchw(b.shape(node.outputs[0], node), node)[2:]
    geometry = window_geometry(node, weights.ndim - 2, (h, width), kernel, out)
    layer = Conv2d(b.layer_name(node), h, width, c, weights.shape[0], *kernel, batch=n,
                   groups=groups, **geometry)  # fmt: skip
    rows = np.asarray(weights, np.float32).reshape(weights.shape[0], -1)
    b.emit(layer, [x], node.outputs[0], node, rows)
    if len(node.inputs) > 2 and node.inputs[2]:
        _bias(b, node, layer.name, node.inputs[2], b.shape(node.outputs[0], node), 1)


def _bias(b: Builder, node: Node, layer: str, tensor: str, out_shape: tuple[int, ...],
          axis: int, beta: float = 1.0) -> None:  # fmt: skip
    """Record ``beta * tensor`` as the bias of ``layer``: one value per channel along ``axis``
    of its output (:func:`~.fold.channel_vector`; a 1-D Conv ``B`` is per channel). A bias
    computed at run time or varying along another axis is refused functionally; a tensor
    nothing provides is an error."""
    if not b.is_constant(tensor):
        b.activation(tensor, node)
        b.refuse(node, f"its bias {tensor!r} is computed at run time")
        return
    value = b.constants[tensor]
    if node.op == "Conv":  # B: one value per output channel (ONNX Conv), else malformed
        if value.size != out_shape[1]:
            raise WorkloadError(f"bias {tensor!r} has {value.size} values for "
                                f"{out_shape[1]} output channels")  # fmt: skip
        value = value.reshape(-1, *([1] * (len(out_shape) - 2)))
    values = channel_vector(value, out_shape, axis)
    if values is None:
        b.refuse(node, f"its bias {tensor!r} of shape {value.shape} is not one value per "
                 "output channel")  # fmt: skip
        return
    b.biases[layer] = (values * np.float32(beta)).astype(np.float32)


def _nchw(shape: tuple[int, ...], node: Node) -> tuple[int, int, int, int]:
    """(batch, channels, height, width); a 1-D signal is one row."""
    if len(shape) == 4:
        return shape  # type: ignore[return-value]
    if len(shape) == 3:
        return (shape[0], shape[1], 1, shape[2])
    raise Unsupported(f"expected an NCHW or NCL tensor, got shape {shape}")


def _gemm(b: Builder, node: Node) -> None:
    a, w = node.inputs[0], node.inputs[1]
    trans_a, trans_b = node.attrs.get("transA", 0), node.attrs.get("transB", 0)
    alpha = float(node.attrs.get("alpha", 1.0))
    out = b.shape(node.outputs[0], node)
    rows_out, cols_out = out
    inner = b.shape(a, node)[0 if trans_a else 1]
    name = b.layer_name(node)
    bias = node.inputs[2] if len(node.inputs) > 2 and node.inputs[2] else None
    if b.is_constant(w):  # y = a @ W: W^T is (out, in), one row per output feature
        weights = b.constants[w] if trans_b else b.constants[w].T
        layer = Linear(name, inner, cols_out, tokens=rows_out)
        b.emit(layer, [a], node.outputs[0], node, _times(weights, alpha))
        if trans_a and rows_out > 1:
            b.refuse(node, "transA on its activation (a transposed input) is not modelled")
        feature_axis = 1
    elif b.is_constant(a):  # y = W @ x: the same GEMM with x's columns as tokens
        weights = b.constants[a].T if trans_a else b.constants[a]
        layer = Linear(name, inner, rows_out, tokens=cols_out)
        b.emit(layer, [w], node.outputs[0], node, _times(weights, alpha))
        if cols_out > 1:
            b.refuse(node, "W @ x with a constant first operand transposes its activation")
        feature_axis = 0
    else:
        b.emit(Matmul(name, rows_out, inner, cols_out), [a, w], node.outputs[0], node)
        if trans_a or trans_b or alpha != 1.0 or bias:
            b.refuse(node, "transA, transB, alpha or C on a product of two activations")
        return
    if bias:
        _bias(b, node, name, bias, out, feature_axis, float(node.attrs.get("beta", 1.0)))


def _times(weights: np.ndarray, alpha: float) -> np.ndarray:
    rows = np.asarray(weights, np.float32)
    return rows if alpha == 1.0 else scale_rows(rows, np.full(rows.shape[0], alpha))


def _matmul(b: Builder, node: Node) -> None:
    a, w = node.inputs
    shape_a, shape_w = b.shape(a, node), b.shape(w, node)
    k = shape_a[-1]
    m = shape_a[-2] if len(shape_a) > 1 else 1
    n = shape_w[-1] if len(shape_w) > 1 else 1
    out = b.shape(node.outputs[0], node)
    name = b.layer_name(node)
    if b.is_constant(w) and math.prod(shape_w[:-2]) == 1:
        weights = np.asarray(b.constants[w], np.float32).reshape(k, n).T
        b.emit(Linear(name, k, n, tokens=math.prod(shape_a[:-1])), [a], node.outputs[0], node,
               weights)  # fmt: skip
    elif b.is_constant(a) and math.prod(shape_a[:-2]) == 1:
        weights = np.asarray(b.constants[a], np.float32).reshape(m, k)
        tokens = math.prod(shape_w[:-2]) * n
        b.emit(Linear(name, k, m, tokens=tokens), [w], node.outputs[0], node, weights)
        if n > 1:
            b.refuse(node, "W @ x with a constant first operand transposes its activation")
    else:  # activations (a batched constant is read as a stored operand)
        batch = math.prod(out[:-2]) if len(shape_a) > 1 and len(shape_w) > 1 else 1
        reads = [t for t in (a, w) if not b.is_constant(t)]
        b.emit(Matmul(name, m, k, n, batch=batch), reads, node.outputs[0], node)
        if len(shape_a) < 2 or len(shape_w) < 2 or shape_a[:-2] != shape_w[:-2]:
            b.refuse(node, f"its operands {shape_a} and {shape_w} broadcast")


_ACTIVATIONS = {
    "Relu": ActivationFunction.RELU,
    "Sigmoid": ActivationFunction.SIGMOID,
    "Tanh": ActivationFunction.TANH,
    "Gelu": ActivationFunction.GELU,
    "Erf": ActivationFunction.ERF,
    "HardSwish": ActivationFunction.HARDSWISH,
    "LRN": ActivationFunction.LRN,
}


def _activation(b: Builder, node: Node) -> None:
    if node.op == "Clip":
        function, relu = _clip_function(b, node)
    else:
        function, relu = _ACTIVATIONS[node.op], node.op == "Relu"
    x = node.inputs[0]
    if relu:
        producer = b.fusable(x)
        fused = with_relu(producer) if producer is not None else None
        if fused is not None:
            b.replace(fused, node.outputs[0], node)
            b.fused[fused.name] = function
            return
    elements = math.prod(b.shape(node.outputs[0], node))
    b.emit(Activation(b.layer_name(node), elements, function), [x], node.outputs[0], node)
    exact = relu or (node.op not in ("Clip", "LRN") and node.attrs.get("approximate") != "tanh")
    if not exact:
        b.refuse(node, "the functional pass computes only Clip(0, 6), Clip(0, inf), exact "
                 "(erf) GELU and no LRN")  # fmt: skip


def _clip_function(b: Builder, node: Node) -> tuple[ActivationFunction, bool]:
    """The function a Clip costs as, and whether it is a ReLU or ReLU6 (which fuse): Clip(0,
    inf) is ReLU, Clip(0, 6) ReLU6; any other clip costs as ReLU6 (a min and a max per
    element) but does not fuse."""
    bounds = [node.attrs.get("min"), node.attrs.get("max")]
    for i, tensor in enumerate(node.inputs[1:3]):
        if tensor and b.is_constant(tensor):
            bounds[i] = float(b.constants[tensor].reshape(-1)[0])
        elif tensor:
            raise Unsupported("its bounds are computed at run time")
    low, high = bounds
    if low == 0 and (high is None or math.isinf(high)):
        return ActivationFunction.RELU, True
    return ActivationFunction.RELU6, low == 0 and high == 6


def _pool(b: Builder, node: Node) -> None:
    x = node.inputs[0]
    n, c, h, width = _nchw(b.shape(x, node), node)
    mode = PoolMode.MAX if "Max" in node.op else PoolMode.AVG
    name = b.layer_name(node)
    if node.op.startswith("Global"):
        layer = Pool2d(name, h, width, c, mode, global_pool=True, batch=n)
    else:
        if len(node.outputs) > 1 and node.outputs[1]:
            raise Unsupported("its argmax indices output is not modelled")
        given = tuple(int(k) for k in node.attrs.get("kernel_shape", ()))
        if len(given) not in (1, 2):
            raise Unsupported(f"kernel_shape {given} is not 1-D or 2-D")
        kernel = (1, *given) if len(given) == 1 else given
        out = _nchw(b.shape(node.outputs[0], node), node)[2:]
        geometry = window_geometry(node, len(given), (h, width), kernel, out)  # type: ignore[arg-type]
        if geometry.pop("dilation") != 1:
            raise Unsupported("dilated pooling is not modelled")
        layer = Pool2d(name, h, width, c, mode, *kernel, batch=n, **geometry)
        if mode is PoolMode.AVG and node.attrs.get("count_include_pad", 0) and any(
                geometry.get("pads") or (geometry.get("padding", 0),)):  # fmt: skip
            b.refuse(node, "count_include_pad = 1 (the functional average excludes padding)")
    b.emit(layer, [x], node.outputs[0], node)


def _softmax(b: Builder, node: Node) -> None:
    shape = b.shape(node.inputs[0], node)
    axis = int(node.attrs.get("axis", 1 if b.model.opset < 13 else -1)) % len(shape)
    # before opset 13 softmax normalizes over all axes from ``axis`` on (flattened)
    length = math.prod(shape[axis:]) if b.model.opset < 13 else shape[axis]
    layer = Softmax(b.layer_name(node), math.prod(shape) // length, length)
    b.emit(layer, [node.inputs[0]], node.outputs[0], node)
    if b.model.opset >= 13 and axis != len(shape) - 1 and math.prod(shape[axis + 1 :]) > 1:
        b.refuse(node, f"softmax over axis {axis} of {shape}, not the last")


def _layernorm(b: Builder, node: Node) -> None:
    shape = b.shape(node.inputs[0], node)
    axis = int(node.attrs.get("axis", -1)) % len(shape)
    layer = LayerNorm(b.layer_name(node), math.prod(shape[:axis]), math.prod(shape[axis:]))
    b.emit(layer, [node.inputs[0]], node.outputs[0], node)
    scale, bias = (*node.inputs[1:3], "", "")[:2]
    plain = _all_equal(b, scale, 1.0) and (not bias or _all_equal(b, bias, 0.0))
    if not plain or float(node.attrs.get("epsilon", 1e-5)) != 1e-5:
        b.refuse(node, "the functional layernorm has no scale or bias and epsilon 1e-5")


def _all_equal(b: Builder, tensor: str, value: float) -> bool:
    return b.is_constant(tensor) and bool(np.all(b.constants[tensor] == value))


def _concat(b: Builder, node: Node) -> None:
    inputs = [t for t in node.inputs if t]
    out = b.shape(node.outputs[0], node)
    b.emit(Concat(b.layer_name(node), math.prod(out)), inputs, node.outputs[0], node)
    axis = int(node.attrs.get("axis", 0)) % len(out)
    if math.prod(out[:axis]) > 1:
        b.refuse(node, f"a concat along axis {axis} of {out} interleaves its inputs")


def _transpose(b: Builder, node: Node) -> None:
    """A permutation of unit axes is a view; any other is a copy (data movement)."""
    shape = b.shape(node.inputs[0], node)
    perm = node.attrs.get("perm", list(reversed(range(len(shape)))))
    moved = [axis for axis in perm if shape[axis] != 1]
    if moved == sorted(moved):
        b.alias(node, node.inputs[0])
        return
    layer = Concat(b.layer_name(node), math.prod(shape))
    b.emit(layer, [node.inputs[0]], node.outputs[0], node)
    b.refuse(node, "a transpose that moves data is costed as a copy")


def _split(b: Builder, node: Node) -> None:
    """Each part is a copy; npusim's graph has no slice view, so a part's source is read as a
    stored tensor rather than an edge from the split input."""
    b.activation(node.inputs[0], node)
    for i, output in enumerate(node.outputs):
        if output:
            elements = math.prod(b.shape(output, node))
            b.emit(Concat(b.layer_name(node, f":{i}"), elements), [], output, node)
    b.refuse(node, "split parts are costed as copies of a stored tensor")


def _sum(b: Builder, node: Node) -> None:
    """A sum of n tensors is n - 1 elementwise adds."""
    inputs = list(node.inputs)
    if len(inputs) == 1:
        b.alias(node, inputs[0])
        return
    elements = math.prod(b.shape(node.outputs[0], node))
    partial = inputs[0]
    for i, addend in enumerate(inputs[1:], 1):
        last = i == len(inputs) - 1
        output = node.outputs[0] if last else f"{node.outputs[0]}#sum{i}"
        layer = Elementwise(b.layer_name(node, "" if last else f"#{i}"), elements)
        b.emit(layer, [partial, addend], output, node, shape=b.shape(node.outputs[0], node))
        if b.activation(addend, node).elements != elements:
            b.refuse(node, "its inputs broadcast")
        partial = output


def _view(b: Builder, node: Node) -> None:
    b.alias(node, node.inputs[0])


HANDLERS: dict[str, Handler] = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _matmul,
    **dict.fromkeys(("Add", "Sub", "Mul", "Div"), binary),
    "Sum": _sum,
    **dict.fromkeys((*_ACTIVATIONS, "Clip"), _activation),
    **dict.fromkeys(("MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"), _pool),
    "Softmax": _softmax,
    "LayerNormalization": _layernorm,
    "BatchNormalization": batchnorm,
    "Concat": _concat,
    "Transpose": _transpose,
    "Split": _split,
    **dict.fromkeys(("Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"), _view),
}
"""ONNX op type (default domain) -> handler."""
