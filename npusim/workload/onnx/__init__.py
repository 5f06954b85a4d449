"""Import an ONNX model as a :class:`~npusim.workload.loader.Workload` (extra ``npusim[onnx]``).

``load_workload("model.onnx", params)`` lands here; importing npusim never imports ``onnx``,
only reading a model does. Shapes come from ONNX shape inference, dynamic dimensions from
``params`` (:mod:`~.model`). The graph's edges become the workload's ``inputs`` and the
conv/linear weights its ``weight_arrays`` (one row per output channel, what the quantizer
sees). How ops map (:mod:`~.ops`):

* Conv -> ``conv2d`` (groups, dilation; uneven pads kept per side, :mod:`~.window`); 1-D as
  1 x L. Gemm (transA/transB, alpha folded into the weights) and MatMul with a constant
  operand -> ``linear``; two activations -> ``matmul`` (batched).
* BatchNormalization right after a conv/linear (its only reader) is folded into its weights,
  ``W * gamma / sqrt(var + eps)`` per output channel; the shift is a bias. A per-channel
  constant Mul/Div there is folded the same way and a constant Add/Sub is a bias: biases are
  free on the MAC array and not counted. Elsewhere (DenseNet's pre-activation BN) these become
  an ``activation`` layer ``affine`` (2 ops per element) or ``scale`` (1 op, also ``c / x``);
  consecutive ones merge. A constant operand as large as the output is a stored tensor of an
  ``elementwise``. Folded weights of ``ConstantOfShape`` constants stay read-only views.
* Relu, and Clip(0, 6), after a conv, linear or elementwise layer set its ``relu``; otherwise
  Relu/Clip/Sigmoid/Tanh/Gelu/Erf/HardSwish/LRN -> ``activation``; the five-node erf form of
  GELU is one ``gelu`` (:mod:`~.patterns`). Add/Sub/Mul/Div of two
  activations and Sum -> ``elementwise`` (Sub costs as add, Div as mul). MaxPool/AveragePool/
  GlobalAveragePool -> ``pool2d``; Softmax, LayerNormalization -> their layers; Concat, a
  Transpose that moves data, and each Split part -> ``concat`` (data movement).
* Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout and unit-axis Transposes are views:
  no layer. Nodes computing only on constants (``ConstantOfShape`` weights, shape
  arithmetic) are folded (:mod:`~.fold`).

The workload is an :class:`OnnxWorkload`: it also carries each conv/linear layer's bias (Conv
``B``, Gemm ``beta * C``, folded BatchNorm shifts ``(b - mean) * gamma / sqrt(var + eps) +
beta`` and constant adds) and fused activation function for the functional pass
(:mod:`npusim.functional`, ``--accuracy``), and names each node it costs but cannot compute
exactly (Sub and Div of two activations, transposing copies, vector-unit scales with
constants, broadcasts, ...); ``--accuracy`` refuses such a model naming the first. A node that
reads a tensor nothing provides (a missing initializer) is a
:class:`~npusim.errors.WorkloadError`.

Any other op raises :class:`~npusim.errors.WorkloadError` naming op type and node; with
``skip_unsupported`` it is left out with an :class:`OnnxImportWarning` and listed in the
workload's ``description`` (an output the size of its input passes the input through).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from npusim.config.bundled import bundled_folder
from npusim.errors import WorkloadError
from npusim.workload.onnx.build import Builder, Unsupported
from npusim.workload.onnx.model import INSTALL_HINT, read_model
from npusim.workload.onnx.ops import HANDLERS
from npusim.workload.onnx.patterns import fuse_gelu
from npusim.workload.onnx.workload import OnnxWorkload

__all__ = ["INSTALL_HINT", "OnnxImportWarning", "OnnxWorkload", "load_onnx"]


class OnnxImportWarning(UserWarning):
    """An ONNX node was left out of the workload (``skip_unsupported``)."""


def load_onnx(
    path: str | Path, params: Mapping[str, int] | None = None, skip_unsupported: bool = False
) -> OnnxWorkload:
    """The model at ``path`` (a file, else a model shipped in ``workloads/`` by file name, as
    bundled YAML workloads resolve: ``digits_cnn.onnx``) as a workload. Raises
    :class:`~npusim.errors.WorkloadError` for unreadable files and unsupported ops (unless
    ``skip_unsupported``) and :class:`~npusim.errors.ConfigError` for missing or unknown
    dynamic-dimension ``params``."""
    path = _resolve(Path(path))
    model = read_model(path, params or {}, strict=not skip_unsupported)
    builder = Builder(model, str(path))
    nodes = fuse_gelu(model.nodes, model.constants, model.outputs)
    provided = {*model.constants, *model.inputs, *(t for n in model.nodes for t in n.outputs)}
    for node in nodes:
        missing = next((t for t in node.inputs if t and t not in provided), None)
        if missing is not None:  # a missing initializer, often: say so, not "unsupported"
            raise WorkloadError(f"{path}: {node.label} reads {missing!r}, which no node, "
                                "initializer or graph input provides")  # fmt: skip
        try:
            if node.domain not in ("", "ai.onnx"):
                raise Unsupported(f"custom domain {node.domain!r}")
            if not builder.fold(node):
                if node.op not in HANDLERS:
                    raise Unsupported("npusim does not model this op")
                HANDLERS[node.op](builder, node)
        except Unsupported as err:
            if not skip_unsupported:
                message = f"{path}: unsupported ONNX node {node.label}: {err}"
                hint = " (--skip-unsupported leaves such nodes out)"
                raise WorkloadError(message + hint) from None
            builder.skip(node, str(err))
        except WorkloadError as err:
            if str(err).startswith(str(path)):
                raise
            raise WorkloadError(f"{path}: {node.label}: {err}") from None
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as err:
            # a hostile file can hold nodes whose attributes or inputs break what shape
            # inference let through; the user gets the node, not a traceback
            raise WorkloadError(f"{path}: malformed node {node.label}: {err!r}") from None
    if not builder.layers:
        raise WorkloadError(f"{path}: no node maps to an npusim layer")
    order, edges = builder.edges()
    description = f"ONNX model ({model.producer or 'unknown producer'}, opset {model.opset})"
    if builder.skipped:
        listed = "; ".join(builder.skipped)
        warnings.warn(f"{path}: left out {len(builder.skipped)} unsupported node(s): {listed}",
                      OnnxImportWarning, stacklevel=2)  # fmt: skip
        description += f"; skipped unsupported nodes: {listed}"
    return OnnxWorkload(
        _name(path),
        order,
        description,
        str(path),
        MappingProxyType(dict(model.dims)),
        None,
        MappingProxyType(edges),
        MappingProxyType(builder.weights),
        MappingProxyType(builder.biases),
        MappingProxyType(builder.fused),
        MappingProxyType(builder.not_functional),
    )


def _resolve(path: Path) -> Path:
    if path.is_file() or path.parent != Path("."):
        return path
    bundled = bundled_folder("workloads") / path.name
    return bundled if bundled.is_file() else path


def _name(path: Path) -> str:
    """The file's stem made a safe folder name (workload names name output folders)."""
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", path.stem).lstrip(".")
    return name.replace("..", "_") or "onnx_model"
