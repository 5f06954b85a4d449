"""Sliding-window geometry (Conv, MaxPool, AveragePool) from ONNX attributes.

ONNX gives per-axis ``strides`` and ``dilations`` and per-side ``pads`` (or ``auto_pad``);
npusim's :class:`~npusim.workload.layers.Conv2d` and :class:`~npusim.workload.layers.Pool2d`
take one stride and one dilation for both axes and either one ``padding`` or per-side
``pads``. Uneven pads (TF "SAME" padding, Caffe's ceil-mode pooling exported as an extra
bottom/right pad) are kept per side, so output sizes and MACs are exact. ``ceil_mode`` pooling
becomes the extra end padding that makes the floor formula give the ceil result. Different
strides or dilations per axis are not modelled. The result is checked against the output shape
ONNX inferred.
"""

from __future__ import annotations

from typing import Any

from npusim.workload.onnx.build import Unsupported
from npusim.workload.onnx.model import Node
from npusim.workload.shapes import padded_window_output


def window_geometry(
    node: Node, rank: int, size: tuple[int, int], kernel: tuple[int, int], out: tuple[int, int]
) -> dict[str, Any]:
    """``stride``, ``dilation`` and ``padding`` or ``pads`` for a ``rank``-D window (1-D as
    1 x L) over ``size`` giving ``out``; raises :class:`Unsupported` if none does."""
    strides = _per_axis(node.attrs.get("strides"), rank, 1)
    dilations = _per_axis(node.attrs.get("dilations"), rank, 1)
    if strides[0] != strides[1] and size[0] > 1:
        raise Unsupported(f"strides {strides} differ per axis")
    if dilations[0] != dilations[1] and kernel[0] > 1:
        raise Unsupported(f"dilations {dilations} differ per axis")
    stride, dilation = strides[1], dilations[1]
    begin, end = _pads(node, rank, size, kernel, out, stride, dilation)
    for axis in range(2):
        span = dilation * (kernel[axis] - 1) + 1
        missing = (out[axis] - 1) * stride + span - (size[axis] + begin[axis] + end[axis])
        if missing > 0 and node.attrs.get("ceil_mode", 0):
            end[axis] += missing
        total = begin[axis] + end[axis]
        if padded_window_output(size[axis], kernel[axis], stride, total, dilation) != out[axis]:
            raise Unsupported(f"its output size {out} does not follow from its geometry")
    pads = (begin[0], begin[1], end[0], end[1])
    if len(set(pads)) == 1:
        return {"stride": stride, "dilation": dilation, "padding": pads[0]}
    return {"stride": stride, "dilation": dilation, "pads": pads}


def _per_axis(values: Any, rank: int, default: int) -> tuple[int, int]:
    if not values:
        return (default, default)
    values = [int(v) for v in values]
    return (default, values[0]) if rank == 1 else (values[0], values[1])


def _pads(
    node: Node, rank: int, size: tuple[int, int], kernel: tuple[int, int],
    out: tuple[int, int], stride: int, dilation: int,
) -> tuple[list[int], list[int]]:  # fmt: skip
    """(begin, end) padding per axis (height, width)."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [0, 0], [0, 0]
        for axis in range(2):
            span = dilation * (kernel[axis] - 1) + 1
            total = max((out[axis] - 1) * stride + span - size[axis], 0)
            small, large = total // 2, total - total // 2
            begin[axis], end[axis] = (small, large) if auto == "SAME_UPPER" else (large, small)
        return begin, end
    pads = [int(p) for p in node.attrs.get("pads", [])] if auto in ("NOTSET", "") else []
    if not pads:
        return [0, 0], [0, 0]
    if rank == 1:
        return [0, pads[0]], [0, pads[1]]
    return [pads[0], pads[1]], [pads[2], pads[3]]
