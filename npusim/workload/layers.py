"""Layer types of a DNN workload and the contract the engine relies on.

Contract of every layer type (a frozen dataclass):

* ``name: str``; class attribute ``kind: str``, the YAML ``type`` (``LAYER_TYPES`` maps it back).
* ``gemm() -> Gemm | None``: the MAC-array view, ``None`` for vector-unit layers.
* ``input_elements: int``: every activation element the layer reads from DRAM (both operands of
  an elementwise add or of an attention matmul; for a convolution the stored ifmap, not the
  im2col matrix, which is built on chip).
* ``output_elements: int``: activation elements written.
* ``weight_elements: int``: stored weights read (0 when none; biases, BatchNorm and LayerNorm
  affine parameters are not modelled).
* ``vector_ops: int``: element operations on the vector unit (0 for GEMM layers; a fused ReLU
  on a GEMM layer's output is free). One op is one arithmetic operation or one special-function
  evaluation (exp, erf, tanh); per-element counts are documented in :mod:`~.vector`.
* ``macs: int``: multiply-accumulates on the MAC array (0 for vector-unit layers).
* Impossible shapes raise :class:`~npusim.errors.WorkloadError` naming the layer, in
  ``__post_init__``.

Every compute layer lowers to a GEMM of an ``M x K`` input (im2col rows) by a ``K x N`` weight
matrix into ``M x N`` outputs, repeated ``groups`` times (grouped and depthwise convolutions,
attention heads, batched matmul). This is the view of SCALE-Sim (Samajdar et al., ISPASS
2020) and of the reference page ``dataflow-cycles.md``: conv2d ``M = out_h * out_w * batch``,
``K = kernel_h * kernel_w * in_channels / groups``, ``N = out_channels / groups``.
"""

from __future__ import annotations

from dataclasses import dataclass

from npusim.errors import WorkloadError
from npusim.workload.decoder import Embedding, RMSNorm, Rope
from npusim.workload.shapes import (
    Gemm,
    Pads,
    check_non_negative,
    check_pads,
    check_positive,
    padded_window_output,
)
from npusim.workload.vector import (
    Activation,
    ActivationFunction,
    Concat,
    Elementwise,
    ElementwiseOp,
    LayerNorm,
    Pool2d,
    PoolMode,
    Reshape,
    Softmax,
)

__all__ = [
    "LAYER_TYPES",
    "Activation",
    "ActivationFunction",
    "Concat",
    "Conv2d",
    "Elementwise",
    "ElementwiseOp",
    "Embedding",
    "Gemm",
    "Layer",
    "LayerNorm",
    "Linear",
    "Matmul",
    "Pool2d",
    "PoolMode",
    "RMSNorm",
    "Reshape",
    "Rope",
    "Softmax",
]


class _GemmLayer:
    """Shared element counts of the layers that run on the MAC array."""

    def gemm(self) -> Gemm:
        raise NotImplementedError

    @property
    def macs(self) -> int:
        return self.gemm().macs

    @property
    def input_elements(self) -> int:
        return self.gemm().input_elements

    @property
    def output_elements(self) -> int:
        return self.gemm().output_elements

    @property
    def weight_elements(self) -> int:
        return self.gemm().weight_elements

    @property
    def vector_ops(self) -> int:
        return 0


@dataclass(frozen=True)
class Linear(_GemmLayer):
    """Fully connected layer: ``tokens x in_features`` by ``in_features x out_features``.

    ``tokens`` is batch x sequence length (1 for a GEMV). ``relu`` marks a ReLU (or ReLU6)
    fused on the output: free, but it makes the output non-negative (synthetic tensors use it).
    """

    name: str
    in_features: int
    out_features: int
    tokens: int = 1
    relu: bool = False

    kind = "linear"

    def __post_init__(self) -> None:
        check_positive(
            self.name,
            in_features=self.in_features,
            out_features=self.out_features,
            tokens=self.tokens,
        )

    def gemm(self) -> Gemm:
        return Gemm(m=self.tokens, k=self.in_features, n=self.out_features)


@dataclass(frozen=True)
class Matmul(_GemmLayer):
    """Batched matmul of two activations (attention ``QK^T``, ``AV``): ``batch`` products of
    ``m x k`` by ``k x n``; no stored weights, so ``input_elements`` counts both operands
    (``batch * (m * k + k * n)``) and ``weight_elements`` is 0."""

    name: str
    m: int
    k: int
    n: int
    batch: int = 1

    kind = "matmul"

    def __post_init__(self) -> None:
        check_positive(self.name, m=self.m, k=self.k, n=self.n, batch=self.batch)

    def gemm(self) -> Gemm:
        return Gemm(m=self.m, k=self.k, n=self.n, groups=self.batch, has_weights=False)


@dataclass(frozen=True)
class Conv2d(_GemmLayer):
    """2-D convolution, NCHW semantics, lowered by im2col.

    ``groups == in_channels == out_channels`` is a depthwise convolution. Output size per
    axis: ``floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1`` (the
    PyTorch ``Conv2d`` formula). ``pads`` (top, left, bottom, right), instead of ``padding``,
    pads each side on its own (ONNX ``pads``; ``2 * padding`` becomes ``top + bottom`` and
    ``left + right`` in the formula). ``relu`` marks a fused ReLU/ReLU6 on the output.
    """

    name: str
    in_h: int
    in_w: int
    in_channels: int
    out_channels: int
    kernel_h: int
    kernel_w: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    batch: int = 1
    relu: bool = False
    pads: Pads | None = None

    kind = "conv2d"

    def __post_init__(self) -> None:
        check_positive(
            self.name,
            in_h=self.in_h,
            in_w=self.in_w,
            in_channels=self.in_channels,
            out_channels=self.out_channels,
            kernel_h=self.kernel_h,
            kernel_w=self.kernel_w,
            stride=self.stride,
            dilation=self.dilation,
            groups=self.groups,
            batch=self.batch,
        )
        check_non_negative(self.name, padding=self.padding)
        check_pads(self.name, self.pads, self.padding)
        for what in ("in_channels", "out_channels"):
            if getattr(self, what) % self.groups:
                raise WorkloadError(
                    f"layer {self.name!r}: {what}={getattr(self, what)} is not divisible by "
                    f"groups={self.groups}"
                )
        if self.out_h < 1 or self.out_w < 1:
            raise WorkloadError(
                f"layer {self.name!r}: kernel {self.kernel_h}x{self.kernel_w} (dilation "
                f"{self.dilation}) does not fit the padded {self.in_h}x{self.in_w} input"
            )

    @property
    def out_h(self) -> int:
        total = self.pads[0] + self.pads[2] if self.pads else 2 * self.padding
        return padded_window_output(self.in_h, self.kernel_h, self.stride, total, self.dilation)

    @property
    def out_w(self) -> int:
        total = self.pads[1] + self.pads[3] if self.pads else 2 * self.padding
        return padded_window_output(self.in_w, self.kernel_w, self.stride, total, self.dilation)

    @property
    def input_elements(self) -> int:
        """The input feature map as stored (im2col happens on chip, not in DRAM)."""
        return self.batch * self.in_h * self.in_w * self.in_channels

    def gemm(self) -> Gemm:
        return Gemm(
            m=self.out_h * self.out_w * self.batch,
            k=self.kernel_h * self.kernel_w * self.in_channels // self.groups,
            n=self.out_channels // self.groups,
            groups=self.groups,
        )


Layer = (
    Linear
    | Matmul
    | Conv2d
    | Pool2d
    | Elementwise
    | Activation
    | Softmax
    | LayerNorm
    | Reshape
    | Concat
    | RMSNorm
    | Rope
    | Embedding
)

LAYER_TYPES: dict[str, type] = {
    cls.kind: cls
    for cls in (
        Linear, Conv2d, Matmul, Pool2d, Elementwise, Activation, Softmax, LayerNorm, Reshape,
        Concat, RMSNorm, Rope, Embedding,
    )
}  # fmt: skip
"""YAML ``type`` -> layer class."""
