"""Workloads: a named list of layers (GEMM layers with a GEMM view, vector-unit layers)."""

from npusim.workload.layers import (
    LAYER_TYPES,
    Activation,
    ActivationFunction,
    Concat,
    Conv2d,
    Elementwise,
    ElementwiseOp,
    Gemm,
    Layer,
    LayerNorm,
    Linear,
    Matmul,
    Pool2d,
    PoolMode,
    Reshape,
    Softmax,
)
from npusim.workload.loader import Workload, bundled_workloads, load_workload

__all__ = [
    "LAYER_TYPES",
    "Activation",
    "ActivationFunction",
    "Concat",
    "Conv2d",
    "Elementwise",
    "ElementwiseOp",
    "Gemm",
    "Layer",
    "LayerNorm",
    "Linear",
    "Matmul",
    "Pool2d",
    "PoolMode",
    "Reshape",
    "Softmax",
    "Workload",
    "bundled_workloads",
    "load_workload",
]
