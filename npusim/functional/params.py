"""A workload's trained parameters: weights and biases of its conv/linear layers.

Weights come from the workload's tensor file (``<layer>.weight``, read and checked by
:func:`npusim.workload.tensorfile.load_weights`: ``(groups * n, k)`` float32, one row per
output channel, ``k`` in PyTorch's ``(in / groups, kh, kw)`` order) or from its in-memory
``weight_arrays``. A bias is ``<layer>.bias`` in the same file, ``groups * n`` values; a layer
without one has none (zeros). Timing never reads biases (they are not modelled traffic), only
the functional pass does.

A fused activation (``relu: true`` on a conv, linear or element-wise layer) is ReLU or ReLU6
in the workload format (MobileNet-V2 marks its ReLU6 that way), which costs the same but
computes differently, so the functional pass does not guess: the tensor file names it,
``<layer>.activation`` a string array ``"relu"`` or ``"relu6"``
(``np.savez(..., **{"conv1.activation": np.array("relu")})``), and
:func:`fused_activations` refuses a ``relu: true`` layer without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npusim.errors import NpusimError
from npusim.workload import ActivationFunction, Workload
from npusim.workload.tensorfile import checked, load_weights, read_array


class FunctionalError(NpusimError):
    """A workload cannot be executed functionally: weights missing, or a layer whose
    arithmetic npusim does not know (its constants are not part of the workload)."""


@dataclass(frozen=True)
class LayerParams:
    """``weight`` float32 ``(groups * n, k)``; ``bias`` float32 ``(groups * n,)``."""

    weight: np.ndarray
    bias: np.ndarray


def load_parameters(workload: Workload) -> dict[str, LayerParams]:
    """Parameters of every layer with stored weights, by layer name.

    Raises :class:`FunctionalError` when a weighted layer has no real weights (synthetic
    weights would make accuracy meaningless) or the workload is an ONNX import, and
    :class:`~npusim.workload.tensorfile.TensorFileError` for a malformed file.
    """
    if workload.source.lower().endswith(".onnx"):
        raise FunctionalError(
            f"{workload.source}: ONNX models do not run functionally yet (the import keeps "
            "conv/linear weights, not their biases or folded BatchNorm shifts); export the "
            "weights and biases to a workload YAML with `tensors: model.npz`"
        )
    params: dict[str, LayerParams] = {}
    for layer in workload.layers:
        gemm = layer.gemm()
        if gemm is None or not gemm.has_weights:
            continue
        rows = gemm.groups * gemm.n
        if layer.name in workload.weight_arrays:
            weight = np.asarray(workload.weight_arrays[layer.name], np.float32)
            weight = weight.reshape(rows, gemm.k)
        elif workload.tensors is not None:
            weight = load_weights(workload.tensors, layer.name, rows, gemm.k)
        else:
            raise FunctionalError(
                f"layer {layer.name!r} of workload {workload.name!r} has no trained weights "
                "(give the workload `tensors: model.npz` with '<layer>.weight' arrays)"
            )
        params[layer.name] = LayerParams(weight, _bias(workload, layer.name, rows))
    return params


def _bias(workload: Workload, name: str, rows: int) -> np.ndarray:
    key = f"{name}.bias"
    raw = read_array(workload.tensors, key) if workload.tensors is not None else None
    if raw is None:
        return np.zeros(rows, np.float32)
    bias = checked(workload.tensors, key, raw, f"{rows} biases")
    if bias.size != rows:
        raise FunctionalError(
            f"{workload.tensors}: {key!r} has {bias.size} values, expected {rows}"
        )
    return bias.reshape(rows)


FUSED_ACTIVATIONS = {"relu": ActivationFunction.RELU, "relu6": ActivationFunction.RELU6}


def fused_activations(workload: Workload) -> dict[str, ActivationFunction]:
    """The fused activation of every layer marked ``relu: true``, by layer name, from its
    ``<layer>.activation`` entry (module docstring). Raises :class:`FunctionalError` when a
    marked layer has none, or names neither ReLU nor ReLU6."""
    marked = [layer.name for layer in workload.layers if getattr(layer, "relu", False)]
    functions: dict[str, ActivationFunction] = {}
    for name in marked:
        key = f"{name}.activation"
        raw = read_array(workload.tensors, key) if workload.tensors is not None else None
        if raw is None:
            raise FunctionalError(
                f"layer {name!r} of workload {workload.name!r} has relu: true, which stands for "
                f"ReLU and ReLU6 alike; name it in the tensor file: {key!r} = 'relu' or 'relu6'"
            )
        value = str(raw[()]) if raw.shape == () and raw.dtype.kind == "U" else None
        if value not in FUSED_ACTIVATIONS:
            raise FunctionalError(
                f"{workload.tensors}: {key!r} must be the string 'relu' or 'relu6', got {raw!r}"
            )
        functions[name] = FUSED_ACTIVATIONS[value]
    return functions
