"""Layer types of a DNN workload and their GEMM view.

Every compute layer lowers to a GEMM of an ``M x K`` input (im2col rows) by a ``K x N`` weight
matrix into ``M x N`` outputs, repeated ``groups`` times (grouped and depthwise convolutions,
attention heads, batched matmul). This is the view of SCALE-Sim (Samajdar et al., ISPASS
2020) and of the reference page ``dataflow-cycles.md``: conv2d ``M = out_h * out_w * batch``,
``K = kernel_h * kernel_w * in_channels / groups``, ``N = out_channels / groups``.
"""

from __future__ import annotations

from dataclasses import dataclass

from npusim.errors import WorkloadError


@dataclass(frozen=True)
class Gemm:
    """One layer's GEMM view: ``groups`` independent ``(m x k) @ (k x n)`` products.

    ``weight_elements`` counts the weights stored in DRAM: ``groups * k * n`` for a layer with
    weights, 0 for an activation-by-activation matmul (attention), where both operands are
    activations and ``input_elements`` covers the second operand too.
    """

    m: int
    k: int
    n: int
    groups: int = 1
    has_weights: bool = True

    @property
    def macs(self) -> int:
        return self.groups * self.m * self.k * self.n

    @property
    def input_elements(self) -> int:
        return self.groups * self.m * self.k + (
            0 if self.has_weights else self.groups * self.k * self.n
        )

    @property
    def weight_elements(self) -> int:
        return self.groups * self.k * self.n if self.has_weights else 0

    @property
    def output_elements(self) -> int:
        return self.groups * self.m * self.n


def _positive(layer: str, **dims: int) -> None:
    for key, value in dims.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise WorkloadError(f"layer {layer!r}: {key} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class Linear:
    """Fully connected layer: ``tokens x in_features`` by ``in_features x out_features``.

    ``tokens`` is batch x sequence length (1 for a GEMV).
    """

    name: str
    in_features: int
    out_features: int
    tokens: int = 1

    kind = "linear"

    def __post_init__(self) -> None:
        _positive(
            self.name,
            in_features=self.in_features,
            out_features=self.out_features,
            tokens=self.tokens,
        )

    def gemm(self) -> Gemm:
        return Gemm(m=self.tokens, k=self.in_features, n=self.out_features)

    @property
    def input_elements(self) -> int:
        return self.tokens * self.in_features


@dataclass(frozen=True)
class Matmul:
    """Batched matmul of two activations (attention ``QK^T``, ``AV``): ``batch`` products of
    ``m x k`` by ``k x n``; no stored weights."""

    name: str
    m: int
    k: int
    n: int
    batch: int = 1

    kind = "matmul"

    def __post_init__(self) -> None:
        _positive(self.name, m=self.m, k=self.k, n=self.n, batch=self.batch)

    def gemm(self) -> Gemm:
        return Gemm(m=self.m, k=self.k, n=self.n, groups=self.batch, has_weights=False)

    @property
    def input_elements(self) -> int:
        """The first operand only; the second is sized like weights (``k x n`` per batch)."""
        return self.batch * self.m * self.k


@dataclass(frozen=True)
class Conv2d:
    """2-D convolution, NCHW semantics, lowered by im2col.

    ``groups == in_channels == out_channels`` is a depthwise convolution. Output size per
    axis: ``floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1`` (the
    PyTorch ``Conv2d`` formula).
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

    kind = "conv2d"

    def __post_init__(self) -> None:
        _positive(
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
        if not isinstance(self.padding, int) or self.padding < 0:
            raise WorkloadError(f"layer {self.name!r}: padding must be >= 0, got {self.padding!r}")
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

    def _out(self, size: int, kernel: int) -> int:
        return (size + 2 * self.padding - self.dilation * (kernel - 1) - 1) // self.stride + 1

    @property
    def out_h(self) -> int:
        return self._out(self.in_h, self.kernel_h)

    @property
    def out_w(self) -> int:
        return self._out(self.in_w, self.kernel_w)

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


Layer = Linear | Matmul | Conv2d
