"""A workload's trained parameters: weights and biases of its conv/linear layers.

Weights come from the workload's tensor file (``<layer>.weight``, read and checked by
:func:`npusim.workload.tensorfile.load_weights`: ``(groups * n, k)`` float32, one row per
output channel, ``k`` in PyTorch's ``(in / groups, kh, kw)`` order) or from its in-memory
``weight_arrays``. A bias is ``<layer>.bias`` in the same file, ``groups * n`` values; a layer
without one has none (zeros). Timing never reads biases (they are not modelled traffic), only
the functional pass does.

An ONNX import (:class:`~npusim.workload.onnx.OnnxWorkload`) carries its own: weights with any
BatchNorm or constant scale folded in, biases (Conv ``B``, Gemm ``C``, folded BatchNorm shifts
and constant adds) and fused activations (``Relu``, ``Clip(0, 6)``); a model with a node the
functional pass cannot compute exactly is refused, naming the node
(:func:`check_functional`).

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
    weights would make accuracy meaningless) or an ONNX import holds a node the functional
    pass cannot compute (:func:`check_functional`), and
    :class:`~npusim.workload.tensorfile.TensorFileError` for a malformed file.
    """
    check_functional(workload)
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


def check_functional(workload: Workload) -> None:
    """Raise :class:`FunctionalError` (one line, naming the first node and how many more) if
    ``workload`` is an ONNX import with nodes the functional pass cannot compute exactly."""
    from npusim.workload.onnx.workload import OnnxWorkload

    if not isinstance(workload, OnnxWorkload) or not workload.not_functional:
        return
    (label, reason), *others = workload.not_functional.items()
    more = f" (and {len(others)} more: {', '.join(k for k, _ in others[:3])})" if others else ""
    raise FunctionalError(
        f"{workload.source}: node {label} cannot run functionally: {reason}{more}"
    )


def _bias(workload: Workload, name: str, rows: int) -> np.ndarray:
    from npusim.workload.onnx.workload import OnnxWorkload

    if isinstance(workload, OnnxWorkload):
        bias = workload.biases.get(name)
        return np.zeros(rows, np.float32) if bias is None else np.asarray(bias, np.float32)
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
    marked layer has none, or names neither ReLU nor ReLU6. An ONNX import knows its own
    (the fused node was a Relu or a Clip)."""
    from npusim.workload.onnx.workload import OnnxWorkload

    marked = [layer.name for layer in workload.layers if getattr(layer, "relu", False)]
    if isinstance(workload, OnnxWorkload):
        return {name: workload.fused[name] for name in marked}
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
