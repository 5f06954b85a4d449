"""The workload of an imported ONNX model: layers and weights, plus what only the functional
pass reads (biases, fused activation functions, nodes it cannot run)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from npusim.workload.layers import ActivationFunction
from npusim.workload.loader import Workload


@dataclass(frozen=True)
class OnnxWorkload(Workload):
    """A :class:`~npusim.workload.loader.Workload` imported from ONNX (timing reads only the
    base fields). ``biases``: float32 ``(groups * n,)`` per conv/linear layer that has one
    (Conv ``B``, Gemm ``beta * C``, a folded BatchNormalization shift or constant Add/Sub);
    ``fused``: the function of every layer marked ``relu`` (ReLU, or ReLU6 from ``Clip(0,
    6)``); ``not_functional``: node label -> why that node cannot run functionally, in graph
    order (empty for a model the functional pass computes exactly)."""

    biases: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    fused: Mapping[str, ActivationFunction] = field(default_factory=dict, hash=False,
                                                    compare=False)  # fmt: skip
    not_functional: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
