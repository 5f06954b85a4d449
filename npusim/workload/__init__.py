"""Workloads: a named list of layers, each with a GEMM view."""

from npusim.workload.layers import Conv2d, Gemm, Layer, Linear, Matmul

__all__ = ["Conv2d", "Gemm", "Layer", "Linear", "Matmul"]
