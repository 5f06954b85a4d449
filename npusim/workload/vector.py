"""Vector-unit layers: memory-bound element-wise work with no MACs and no stored weights.

They follow the layer contract of :mod:`npusim.workload.layers` (``gemm()`` is ``None``,
``macs`` and ``weight_elements`` are 0). ``vector_ops`` counts element operations, one op being
one arithmetic operation or one special-function evaluation (exp, erf, tanh), the way vector
units with a special-function unit issue them. Per output element:

* pooling: max ``window - 1`` comparisons; avg ``window - 1`` adds + 1 scale = ``window``
  (``window = kernel_h * kernel_w``);
* elementwise add/mul: 1 (+1 for a fused ReLU);
* activation: see :data:`ACTIVATION_OPS`;
* softmax: 5 (running max, subtract, exp, sum, divide), the numerically safe form of
  PyTorch's ``softmax``; the per-row reduction results are reused, so this is per element;
* layernorm: 7 (mean sum, centre, square, variance sum, normalize by the per-row
  ``1/sqrt(var + eps)``, scale by gamma, add beta; Ba et al. 2016, Eq. 4). Its gamma/beta
  (``2 x features``) are not counted as weights, like biases and BatchNorm;
* reshape: a view, no traffic and no ops; concat: pure data movement (read every input, write
  the output), no ops.

Every layer has a ``batch`` field the workload's ``batch`` multiplies.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import ClassVar

from npusim.errors import WorkloadError
from npusim.workload.shapes import (
    Pads,
    check_non_negative,
    check_pads,
    check_positive,
    padded_window_output,
)


class PoolMode(str, Enum):
    MAX = "max"
    AVG = "avg"


class ElementwiseOp(str, Enum):
    ADD = "add"
    MUL = "mul"


class ActivationFunction(str, Enum):
    RELU = "relu"
    RELU6 = "relu6"
    GELU = "gelu"
    SILU = "silu"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    HARDSWISH = "hardswish"
    ERF = "erf"
    SCALE = "scale"
    AFFINE = "affine"
    LRN = "lrn"


ACTIVATION_OPS: dict[ActivationFunction, int] = {
    ActivationFunction.RELU: 1,  # max(x, 0)
    ActivationFunction.RELU6: 2,  # min(max(x, 0), 6)
    ActivationFunction.GELU: 5,  # x * 0.5 * (1 + erf(x / sqrt 2)): mul, erf, add, mul, mul
    ActivationFunction.SILU: 5,  # x * sigmoid(x): sigmoid (4) + mul
    ActivationFunction.SIGMOID: 4,  # 1 / (1 + exp(-x)): neg, exp, add, divide
    ActivationFunction.TANH: 1,  # one special-function evaluation
    ActivationFunction.HARDSWISH: 5,  # x * min(max(x + 3, 0), 6) / 6: add, max, min, mul, mul
    ActivationFunction.ERF: 1,  # one special-function evaluation
    ActivationFunction.SCALE: 1,  # x * a or x + b, a and b per channel or scalar constants
    ActivationFunction.AFFINE: 2,  # x * a + b per channel: an inference BatchNorm, Caffe Scale
    # Local response normalization (Krizhevsky et al. 2012, Sec. 3.3), x / (k + alpha / n *
    # sum of n squares) ** beta with a running window sum: square, add, subtract, scale, add
    # k, power (one special-function evaluation), divide.
    ActivationFunction.LRN: 7,
}
"""Vector ops per element of each activation function."""

SOFTMAX_OPS_PER_ELEMENT = 5
LAYERNORM_OPS_PER_ELEMENT = 7


class _VectorLayer:
    """What every vector-unit layer shares: no GEMM, no MACs, no weights."""

    def gemm(self) -> None:
        return None

    @property
    def macs(self) -> int:
        return 0

    @property
    def weight_elements(self) -> int:
        return 0


@dataclass(frozen=True)
class Pool2d(_VectorLayer):
    """Max or average pooling over ``channels`` planes of ``in_h x in_w`` (NCHW).

    Output size per axis as PyTorch ``MaxPool2d`` (floor mode); ``stride`` defaults to 1 (not
    to the kernel, as PyTorch does: write it). ``global_pool`` pools each whole plane to 1x1
    (kernel = input size; kernel, stride and padding must then be left at their defaults).
    ``pads`` (top, left, bottom, right), instead of ``padding``, pads each side on its own
    (ONNX ``pads``; Caffe's ceil-mode pooling arrives in ONNX as an extra bottom/right pad).
    """

    name: str
    in_h: int
    in_w: int
    channels: int
    mode: PoolMode = PoolMode.MAX
    kernel_h: int = 1
    kernel_w: int = 1
    stride: int = 1
    padding: int = 0
    global_pool: bool = False
    batch: int = 1
    pads: Pads | None = None

    kind = "pool2d"

    def __post_init__(self) -> None:
        check_positive(self.name, in_h=self.in_h, in_w=self.in_w, channels=self.channels,
                       kernel_h=self.kernel_h, kernel_w=self.kernel_w, stride=self.stride,
                       batch=self.batch)  # fmt: skip
        check_non_negative(self.name, padding=self.padding)
        check_pads(self.name, self.pads, self.padding)
        if not isinstance(self.mode, PoolMode):
            raise WorkloadError(f"layer {self.name!r}: mode must be a PoolMode, got {self.mode!r}")
        if self.global_pool and (self.kernel_h, self.kernel_w, self.stride, self.padding,
                                 self.pads) != (1, 1, 1, 0, None):  # fmt: skip
            raise WorkloadError(
                f"layer {self.name!r}: a global pool takes no kernel, stride or padding"
            )
        if 2 * self.padding > min(self.kernel_h, self.kernel_w):
            raise WorkloadError(
                f"layer {self.name!r}: padding {self.padding} exceeds half the kernel "
                f"{self.kernel_h}x{self.kernel_w}"
            )
        if self.pads and max(self.pads) >= min(self.kernel_h, self.kernel_w):
            raise WorkloadError(
                f"layer {self.name!r}: pads {self.pads} must each be smaller than the kernel "
                f"{self.kernel_h}x{self.kernel_w}"
            )
        if self.out_h < 1 or self.out_w < 1:
            raise WorkloadError(
                f"layer {self.name!r}: kernel {self.kernel_h}x{self.kernel_w} does not fit the "
                f"padded {self.in_h}x{self.in_w} input"
            )

    @property
    def window(self) -> tuple[int, int]:
        """Effective ``(kernel_h, kernel_w)``: the whole plane for a global pool."""
        return (self.in_h, self.in_w) if self.global_pool else (self.kernel_h, self.kernel_w)

    @property
    def out_h(self) -> int:
        total = self.pads[0] + self.pads[2] if self.pads else 2 * self.padding
        return padded_window_output(self.in_h, self.window[0], self.stride, total)

    @property
    def out_w(self) -> int:
        total = self.pads[1] + self.pads[3] if self.pads else 2 * self.padding
        return padded_window_output(self.in_w, self.window[1], self.stride, total)

    @property
    def input_elements(self) -> int:
        return self.batch * self.channels * self.in_h * self.in_w

    @property
    def output_elements(self) -> int:
        return self.batch * self.channels * self.out_h * self.out_w

    @property
    def vector_ops(self) -> int:
        window = self.window[0] * self.window[1]
        return self.output_elements * (window if self.mode is PoolMode.AVG else window - 1)


@dataclass(frozen=True)
class Elementwise(_VectorLayer):
    """``out = a (op) b`` over two inputs of ``elements`` each (a residual add, a gate).

    ``relu`` marks a ReLU fused on the output (ResNet's post-add ReLU): one more op per element.
    """

    name: str
    elements: int
    op: ElementwiseOp = ElementwiseOp.ADD
    batch: int = 1
    relu: bool = False

    kind = "elementwise"

    def __post_init__(self) -> None:
        check_positive(self.name, elements=self.elements, batch=self.batch)
        if not isinstance(self.op, ElementwiseOp):
            raise WorkloadError(
                f"layer {self.name!r}: op must be an ElementwiseOp, got {self.op!r}"
            )

    @property
    def input_elements(self) -> int:
        return 2 * self.batch * self.elements

    @property
    def output_elements(self) -> int:
        return self.batch * self.elements

    @property
    def vector_ops(self) -> int:
        return self.output_elements * (2 if self.relu else 1)


@dataclass(frozen=True)
class Activation(_VectorLayer):
    """A stand-alone activation function over ``elements`` (one input, one output)."""

    name: str
    elements: int
    function: ActivationFunction = ActivationFunction.RELU
    batch: int = 1

    kind = "activation"

    def __post_init__(self) -> None:
        check_positive(self.name, elements=self.elements, batch=self.batch)
        if not isinstance(self.function, ActivationFunction):
            raise WorkloadError(
                f"layer {self.name!r}: function must be an ActivationFunction, "
                f"got {self.function!r}"
            )

    @property
    def input_elements(self) -> int:
        return self.batch * self.elements

    @property
    def output_elements(self) -> int:
        return self.batch * self.elements

    @property
    def vector_ops(self) -> int:
        return self.output_elements * ACTIVATION_OPS[self.function]


@dataclass(frozen=True)
class Softmax(_VectorLayer):
    """Softmax over the last axis: ``batch x rows`` independent rows of ``length`` elements."""

    name: str
    rows: int
    length: int
    batch: int = 1

    kind = "softmax"

    def __post_init__(self) -> None:
        check_positive(self.name, rows=self.rows, length=self.length, batch=self.batch)

    @property
    def input_elements(self) -> int:
        return self.batch * self.rows * self.length

    @property
    def output_elements(self) -> int:
        return self.input_elements

    @property
    def vector_ops(self) -> int:
        return SOFTMAX_OPS_PER_ELEMENT * self.output_elements


@dataclass(frozen=True)
class RowNorm(_VectorLayer):
    """A normalization of ``batch x tokens`` vectors of ``features`` elements, costing
    ``ops_per_element`` vector ops per element (layernorm here, rmsnorm in
    :mod:`~.decoder`)."""

    name: str
    tokens: int
    features: int
    batch: int = 1

    ops_per_element: ClassVar[int] = LAYERNORM_OPS_PER_ELEMENT

    def __post_init__(self) -> None:
        check_positive(self.name, tokens=self.tokens, features=self.features, batch=self.batch)

    @property
    def input_elements(self) -> int:
        return self.batch * self.tokens * self.features

    @property
    def output_elements(self) -> int:
        return self.input_elements

    @property
    def vector_ops(self) -> int:
        return self.ops_per_element * self.output_elements


@dataclass(frozen=True)
class LayerNorm(RowNorm):
    """Layer normalization of ``batch x tokens`` vectors of ``features`` elements."""

    kind = "layernorm"
    ops_per_element: ClassVar[int] = LAYERNORM_OPS_PER_ELEMENT


@dataclass(frozen=True)
class Reshape(_VectorLayer):
    """A view change of ``elements`` (flatten, head split): no traffic, no ops."""

    name: str
    elements: int
    batch: int = 1

    kind = "reshape"

    def __post_init__(self) -> None:
        check_positive(self.name, elements=self.elements, batch=self.batch)

    @property
    def input_elements(self) -> int:
        return 0

    @property
    def output_elements(self) -> int:
        return 0

    @property
    def vector_ops(self) -> int:
        return 0


@dataclass(frozen=True)
class Concat(_VectorLayer):
    """Concatenation into an output of ``elements``: every input element is read once and
    written once (data movement by the DMA, no vector ops)."""

    name: str
    elements: int
    batch: int = 1

    kind = "concat"

    def __post_init__(self) -> None:
        check_positive(self.name, elements=self.elements, batch=self.batch)

    @property
    def input_elements(self) -> int:
        return self.batch * self.elements

    @property
    def output_elements(self) -> int:
        return self.input_elements

    @property
    def vector_ops(self) -> int:
        return 0
