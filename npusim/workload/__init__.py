"""Workloads: a named list of layers, each with a GEMM view."""

from npusim.workload.layers import Conv2d, Gemm, Layer, Linear, Matmul
from npusim.workload.loader import Workload, bundled_workloads, load_workload

__all__ = [
    "Conv2d",
    "Gemm",
    "Layer",
    "Linear",
    "Matmul",
    "Workload",
    "bundled_workloads",
    "load_workload",
]
