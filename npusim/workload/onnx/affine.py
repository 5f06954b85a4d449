"""Constant operands and BatchNorm: folded into the weights of the conv/linear before them, or
costed as ``scale``/``affine`` activation layers on the vector unit (see
:mod:`npusim.workload.onnx`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from npusim.workload.layers import (
    Activation,
    ActivationFunction,
    Conv2d,
    Elementwise,
    ElementwiseOp,
    Linear,
)
from npusim.workload.onnx.build import Builder, Unsupported
from npusim.workload.onnx.fold import (
    batchnorm_bias,
    batchnorm_factors,
    channel_vector,
    scale_rows,
)
from npusim.workload.onnx.model import Node

_ELEMENTWISE = {"Add": ElementwiseOp.ADD, "Sub": ElementwiseOp.ADD, "Mul": ElementwiseOp.MUL,
                "Div": ElementwiseOp.MUL}  # fmt: skip


def binary(b: Builder, node: Node) -> None:
    out = b.shape(node.outputs[0], node)
    elements = math.prod(out)
    first, second = node.inputs[:2]
    constant = next((t for t in (first, second) if b.is_constant(t)), None)
    if constant is None:  # two activations; a broadcast one goes last (same cost)
        reads = sorted((first, second), key=lambda t: b.activation(t, node).elements != elements)
        layer = Elementwise(b.layer_name(node), elements, _ELEMENTWISE[node.op])
        b.emit(layer, reads, node.outputs[0], node)
        if node.op in ("Sub", "Div"):
            b.refuse(node, f"{node.op} of two activations is costed as an "
                     f"{_ELEMENTWISE[node.op].value}")  # fmt: skip
        return
    x = second if constant == first else first
    value = b.constants[constant]
    if node.op == "Div" and constant == first:  # c / x: a reciprocal, not a scale or shift
        layer = Activation(b.layer_name(node), elements, ActivationFunction.SCALE)
        b.emit(layer, [x], node.outputs[0], node)
        b.refuse(node, "a constant divided by an activation is costed as a scale")
    elif fold_constant_op(b, node, x, value, out):
        return
    elif value.size == elements:  # a full-size stored operand (a positional embedding)
        layer = Elementwise(b.layer_name(node), elements, _ELEMENTWISE[node.op])
        b.emit(layer, [x], node.outputs[0], node)
    else:
        affine(b, node, x, ActivationFunction.SCALE)


def fold_constant_op(
    b: Builder, node: Node, x: str, value: np.ndarray, out: tuple[int, ...]
) -> bool:
    """Fold ``x * c``, ``x / c`` or ``c - x`` with a per-channel ``c`` into the weights of the
    conv/linear that wrote ``x`` (the shift of ``x + c``, ``x - c``, ``c - x`` is a bias);
    False if there is no such layer or ``c`` is not per-channel."""
    layer = b.fusable(x)
    if not isinstance(layer, (Conv2d, Linear)) or layer.relu:
        return False
    channel = channel_vector(value, out, 1 if isinstance(layer, Conv2d) else -1)
    if channel is None:
        return False
    bias = b.biases.get(layer.name, np.zeros(channel.size, np.float32))
    factors = None  # a bias only
    if node.op == "Mul":
        factors, bias = channel, bias * channel
    elif node.op == "Div":
        factors, bias = 1.0 / channel, bias / channel
    elif node.op == "Add":
        bias = bias + channel
    elif x == node.inputs[0]:  # x - c
        bias = bias - channel
    else:  # c - x
        factors, bias = np.full_like(channel, -1.0), channel - bias
    weights = scale_rows(b.weights[layer.name], factors) if factors is not None else None
    b.replace(layer, node.outputs[0], node, weights)
    b.biases[layer.name] = np.asarray(bias, np.float32)
    return True


def affine(b: Builder, node: Node, x: str, function: ActivationFunction) -> None:
    """A per-channel scale/shift on the vector unit, merged with one just before it."""
    previous = b.fusable(x)
    mergeable = (ActivationFunction.SCALE, ActivationFunction.AFFINE)
    if isinstance(previous, Activation) and previous.function in mergeable:
        merged = dataclasses.replace(previous, function=ActivationFunction.AFFINE)
        b.replace(merged, node.outputs[0], node)
        return
    elements = math.prod(b.shape(node.outputs[0], node))
    b.emit(Activation(b.layer_name(node), elements, function), [x], node.outputs[0], node)
    b.refuse(node, "a constant scale or shift not right after a conv/linear (its only "
             "reader) runs on the vector unit, with constants the functional pass does not "
             "carry")  # fmt: skip


def batchnorm(b: Builder, node: Node) -> None:
    """Fold an inference BatchNormalization into the conv/linear before it, else an affine
    vector layer."""
    x, scale, shift, mean, var = node.inputs[:5]
    if not (b.is_constant(scale) and b.is_constant(var)):
        raise Unsupported("its statistics are computed at run time (training mode)")
    if node.attrs.get("training_mode", 0):  # costed alike, but not the running statistics
        b.refuse(node, "training_mode = 1 normalizes with the batch's own statistics, not "
                 "the running ones folded here")  # fmt: skip
    epsilon = float(node.attrs.get("epsilon", 1e-5))
    factors = batchnorm_factors(b.constants[scale], b.constants[var], epsilon)
    layer = b.fusable(x)
    if isinstance(layer, (Conv2d, Linear)) and not layer.relu:
        rows = b.weights[layer.name]
        # BatchNorm normalizes axis 1: a conv's channels, a linear's features only on (N, C)
        per_channel = isinstance(layer, Conv2d) or len(b.shape(x, node)) == 2
        if per_channel and factors.size == rows.shape[0]:
            b.replace(layer, node.outputs[0], node, scale_rows(rows, factors))
            if b.is_constant(shift) and b.is_constant(mean):
                old = b.biases.get(layer.name, np.zeros(factors.size, np.float32))
                b.biases[layer.name] = batchnorm_bias(old, factors, b.constants[shift],
                                                      b.constants[mean])  # fmt: skip
            else:
                b.refuse(node, "its shift or mean is computed at run time")
            return
    affine(b, node, x, ActivationFunction.AFFINE)
