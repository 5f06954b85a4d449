"""Constant folding and weight arithmetic of the ONNX importer (numpy only).

Constants are initializers, ``Constant`` nodes, ``ConstantOfShape`` nodes (the backend test
models' ``light_*`` weights are ``ConstantOfShape`` outputs) and nodes whose inputs are all
constants, evaluated here when their op is in :data:`FOLDS`. A ``ConstantOfShape`` output is a
read-only broadcast view of its one value, so a 143 M-weight VGG-19 costs no memory; row
scaling (:func:`scale_rows`) keeps such views views.

Folded values take their shape from ONNX shape inference (``Reshape``, ``Flatten``,
``Squeeze`` and ``Unsqueeze`` need nothing else).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from npusim.workload.onnx.model import Node

Fold = Callable[[Node, Sequence[np.ndarray], tuple[int, ...] | None], np.ndarray]


def _reshaped(node: Node, args: Sequence[np.ndarray], shape: tuple[int, ...] | None) -> Any:
    if shape is None:
        raise ValueError("its output shape is unknown")
    return args[0].reshape(shape)


def _constant_of_shape(node: Node, args: Sequence[np.ndarray], _: Any) -> np.ndarray:
    fill = np.asarray(node.attrs.get("value", np.zeros(1, np.float32))).reshape(-1)[:1]
    return np.broadcast_to(fill.reshape(()), tuple(int(d) for d in args[0].reshape(-1)))


def _constant(node: Node, args: Sequence[np.ndarray], _: Any) -> np.ndarray:
    for key in ("value", "value_float", "value_int", "value_floats", "value_ints"):
        if key in node.attrs:
            return np.asarray(node.attrs[key])
    raise ValueError("no supported value attribute")


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)  # ONNX integer division truncates
    return a / b


def _binary(
    function: Callable[[np.ndarray, np.ndarray], np.ndarray], node: Node,
    args: Sequence[np.ndarray], _: Any,
) -> np.ndarray:  # fmt: skip
    return function(args[0], args[1])


_BINARY: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": _divide,
    "MatMul": np.matmul,
}

FOLDS: dict[str, Fold] = {
    "Constant": _constant,
    "ConstantOfShape": _constant_of_shape,
    "Identity": lambda node, args, _: args[0],
    "Dropout": lambda node, args, _: args[0],
    "Reshape": _reshaped,
    "Flatten": _reshaped,
    "Squeeze": _reshaped,
    "Unsqueeze": _reshaped,
    "Cast": lambda node, args, _: args[0].astype(_dtype(node.attrs["to"])),
    "Transpose": lambda node, args, _: np.transpose(args[0], node.attrs.get("perm")),
    "Concat": lambda node, args, _: np.concatenate(args, axis=node.attrs["axis"]),
    "Gather": lambda node, args, _: np.take(args[0], args[1], axis=node.attrs.get("axis", 0)),
    "Shape": lambda node, args, _: shape_constant(args[0].shape, node.attrs),
    "Slice": lambda node, args, _: _slice(node, args),
    "Sqrt": lambda node, args, _: np.sqrt(args[0]),
    "Neg": lambda node, args, _: np.negative(args[0]),
    **{op: functools.partial(_binary, function) for op, function in _BINARY.items()},
}
"""Op type -> evaluation on constant inputs (with the inferred output shape)."""


def _slice(node: Node, args: Sequence[np.ndarray]) -> np.ndarray:
    """ONNX Slice: starts, ends, axes, steps as inputs (opset 10+) or attributes (before)."""
    data = args[0]
    if len(args) >= 3:
        starts, ends = args[1], args[2]
        axes = args[3] if len(args) > 3 else np.arange(len(starts))
        steps = args[4] if len(args) > 4 else np.ones(len(starts), np.int64)
    else:
        starts, ends = node.attrs["starts"], node.attrs["ends"]
        axes = node.attrs.get("axes", list(range(len(starts))))
        steps = [1] * len(starts)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[int(axis)] = slice(int(start), int(end), int(step))  # numpy clamps like ONNX
    return data[tuple(index)]


def _dtype(onnx_type: int) -> np.dtype:
    import onnx.helper  # only reached while importing an ONNX model

    return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(onnx_type))


def shape_constant(shape: tuple[int, ...], attrs: Mapping[str, Any]) -> np.ndarray:
    """The value of ``Shape`` of a tensor of ``shape`` (opset 15 ``start``/``end`` slicing)."""
    return np.array(shape[attrs.get("start", 0) : attrs.get("end", len(shape))], np.int64)


def scale_rows(weights: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """``weights`` (rows, k) times one float32 factor per row; a row-constant broadcast view
    (``ConstantOfShape`` weights) stays a view."""
    factors = np.asarray(factors, np.float32).reshape(-1, 1)
    if weights.ndim == 2 and weights.strides[1] == 0:
        return np.broadcast_to(weights[:, :1] * factors, weights.shape)
    return (weights * factors).astype(np.float32, copy=False)


def channel_vector(
    constant: np.ndarray, out_shape: tuple[int, ...], axis: int
) -> np.ndarray | None:
    """``constant`` as one value per channel along ``axis`` of ``out_shape``, or None if it
    varies along any other axis (then it is not a per-channel scale or bias)."""
    rank = len(out_shape)
    if constant.ndim > rank:
        return None
    shape = (1,) * (rank - constant.ndim) + constant.shape
    axis %= rank
    if any(size != 1 for i, size in enumerate(shape) if i != axis):
        return None
    values = np.asarray(constant, np.float32).reshape(-1)
    return np.broadcast_to(values, (out_shape[axis],)) if values.size in (1, out_shape[axis]) \
        else None  # fmt: skip


def batchnorm_factors(scale: np.ndarray, var: np.ndarray, epsilon: float) -> np.ndarray:
    """Per-channel multiplier ``gamma / sqrt(var + eps)`` of an inference BatchNormalization
    (Ioffe & Szegedy 2015, Alg. 2); its shift is :func:`batchnorm_bias`."""
    gamma = np.asarray(scale, np.float64).reshape(-1)
    return (gamma / np.sqrt(np.asarray(var, np.float64).reshape(-1) + epsilon)).astype(np.float32)


def batchnorm_bias(
    bias: np.ndarray, factors: np.ndarray, beta: np.ndarray, mean: np.ndarray
) -> np.ndarray:
    """The bias of a conv/linear with bias ``bias`` after folding the BatchNormalization of
    multiplier ``factors`` (:func:`batchnorm_factors`): ``BN(y + bias) = factors * y +
    (bias - mean) * factors + beta``, float32 per channel (a bias is free on the MAC array:
    timing does not count it, the functional pass adds it)."""
    mean64 = np.asarray(mean, np.float64).reshape(-1)
    shifted = (np.asarray(bias, np.float64) - mean64) * factors + np.asarray(beta, np.float64)
    return shifted.reshape(-1).astype(np.float32)
