"""The GEMM view of a compute layer and the shape checks every layer type shares."""

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


def is_int(value: object) -> bool:
    """An ``int`` that is not a ``bool`` (YAML ``true`` must not pass as 1)."""
    return isinstance(value, int) and not isinstance(value, bool)


MAX_DIM = 2**31 - 1  # a dimension beyond this is a typo, and products would overflow int64


def check_positive(layer: str, **dims: object) -> None:
    """Raise :class:`WorkloadError` naming ``layer`` unless every value is an int in
    ``[1, MAX_DIM]``."""
    for key, value in dims.items():
        if not is_int(value) or value < 1:  # type: ignore[operator]
            raise WorkloadError(f"layer {layer!r}: {key} must be a positive integer, got {value!r}")
        _check_size(layer, key, value)


def check_non_negative(layer: str, **dims: object) -> None:
    """Raise :class:`WorkloadError` naming ``layer`` unless every value is an int in
    ``[0, MAX_DIM]``."""
    for key, value in dims.items():
        if not is_int(value) or value < 0:  # type: ignore[operator]
            raise WorkloadError(f"layer {layer!r}: {key} must be >= 0, got {value!r}")
        _check_size(layer, key, value)


def _check_size(layer: str, key: str, value: object) -> None:
    if value > MAX_DIM:  # type: ignore[operator]
        raise WorkloadError(f"layer {layer!r}: {key} must be at most {MAX_DIM}, got {value!r}")


def window_output(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output positions of a sliding window along one axis (the PyTorch Conv2d/MaxPool2d
    formula): ``floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``."""
    return padded_window_output(size, kernel, stride, 2 * padding, dilation)


def padded_window_output(
    size: int, kernel: int, stride: int, total_padding: int, dilation: int = 1
) -> int:
    """:func:`window_output` with ``total_padding`` (begin + end) cells added to the axis, so
    uneven padding (ONNX ``pads``) counts exactly."""
    return (size + total_padding - dilation * (kernel - 1) - 1) // stride + 1


Pads = tuple[int, int, int, int]
"""Per-side padding ``(top, left, bottom, right)``, ONNX's ``pads`` order for 2-D."""


def check_pads(layer: str, pads: Pads | None, padding: int) -> None:
    """Raise :class:`WorkloadError` unless ``pads`` is None or four ints in ``[0, MAX_DIM]``
    given with ``padding == 0`` (one of the two describes the padding)."""
    if pads is None:
        return
    if not isinstance(pads, tuple) or len(pads) != 4:
        raise WorkloadError(
            f"layer {layer!r}: pads must be (top, left, bottom, right), got {pads!r}"
        )
    check_non_negative(layer, **{f"pads[{i}]": value for i, value in enumerate(pads)})
    if padding:
        raise WorkloadError(f"layer {layer!r}: give padding or pads, not both")
