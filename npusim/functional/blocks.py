"""Where a block-scaled activation tensor (OCP MX, NVFP4) has its blocks, by layer role.

A block shares one scale, and the MAC array multiplies two blocks' scales once per block
product, so a block must lie along the GEMM's reduction axis ``K`` (OCP MX v1.0, section 6.2;
Microsoft's ``microxcaling`` emulation library, ``mx/convolution.py``, blocks a conv's input
along its input channels the same way). Weights are blocked along ``K`` of their ``(out
channels, K)`` matrix (:func:`~.quantizers.quantize_weights`; a conv's ``K`` is ``(in
channels, kh, kw)``, the matrix the timing model sizes), where ``microxcaling`` blocks a
conv's weights along the input channels of each kernel position. An activation tensor is
blocked along:

- a conv's input and output, a pool's input and output: the channel axis of each pixel
  (NCHW ``(batch, C, H, W)``: blocks of ``min(C, 32)`` channels; ``K`` of a conv is
  ``(C / groups, kh, kw)``, so each block's products add into one sum);
- a linear's input and output: the feature axis (``(tokens, features)``);
- a matmul's first operand and output: the last axis (``(batch, m, k)``, ``(batch, m, n)``);
  its second operand ``(batch, k, n)``: ``k``;
- a softmax's and a layernorm's rows: the row (``length``, ``features``);
- any other layer's operands and output: 32 consecutive elements of one sample's flat tensor
  (the storage order the timing model sizes; :func:`npusim.quant.mx.block_storage_bytes`).

A tensor is quantized where its producer stores it (its output blocks) and again where a
consumer reads it in other blocks (a conv output flattened into a linear: the vector unit
requantizes it); reading it in the blocks it was stored in changes nothing (the MX rounding of
an MX block is exact: its largest element keeps the shared exponent, the others are on the
grid). Each sample is its own tensor: NVFP4's per-tensor FP32 scale is each sample's
(``amax`` of that sample's tensor, computed when it is stored).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npusim.quant.mx import block_quantize
from npusim.workload import Conv2d, Layer, LayerNorm, Linear, Matmul, Pool2d, Softmax


@dataclass(frozen=True)
class BlockAxis:
    """One sample's tensor as ``shape`` with its blocks along ``axis`` of it."""

    shape: tuple[int, ...]
    axis: int


def operand_axes(layer: Layer, count: int) -> tuple[BlockAxis | None, ...]:
    """The blocks each of ``layer``'s ``count`` operands is read in (None: flat consecutive
    elements)."""
    known = _operand_axes(layer)
    return known + (None,) * (count - len(known))


def _operand_axes(layer: Layer) -> tuple[BlockAxis | None, ...]:
    if isinstance(layer, Conv2d):
        return (BlockAxis((layer.batch, layer.in_channels, layer.in_h, layer.in_w), 1),)
    if isinstance(layer, Pool2d):
        return (BlockAxis((layer.batch, layer.channels, layer.in_h, layer.in_w), 1),)
    if isinstance(layer, Linear):
        return (BlockAxis((layer.tokens, layer.in_features), 1),)
    if isinstance(layer, Matmul):
        return (BlockAxis((layer.batch, layer.m, layer.k), 2),
                BlockAxis((layer.batch, layer.k, layer.n), 1))  # fmt: skip
    if isinstance(layer, Softmax):
        return (BlockAxis((layer.rows, layer.length), 1),)
    if isinstance(layer, LayerNorm):
        return (BlockAxis((layer.tokens, layer.features), 1),)
    return ()


def output_axis(layer: Layer) -> BlockAxis | None:
    """The blocks ``layer`` stores its output in (None: flat consecutive elements)."""
    if isinstance(layer, Conv2d):
        return BlockAxis((layer.batch, layer.out_channels, layer.out_h, layer.out_w), 1)
    if isinstance(layer, Pool2d):
        return BlockAxis((layer.batch, layer.channels, layer.out_h, layer.out_w), 1)
    if isinstance(layer, Linear):
        return BlockAxis((layer.tokens, layer.out_features), 1)
    if isinstance(layer, Matmul):
        return BlockAxis((layer.batch, layer.m, layer.n), 2)
    if isinstance(layer, Softmax | LayerNorm):
        return _operand_axes(layer)[0]
    return None


def block_fake(x: np.ndarray, name: str, where: BlockAxis | None) -> np.ndarray:
    """Float32 ``x`` ``(samples, elements)`` block-quantized in format ``name`` and read back
    (float32, the same shape), blocked as ``where`` says (None: the flat tensor)."""
    samples = x.shape[0]
    shape, axis = (where.shape, where.axis) if where is not None else ((x.shape[1],), 0)
    blocked = np.moveaxis(x.reshape(samples, *shape), axis + 1, -1)
    if name == "nvfp4":  # one tensor scale per sample's tensor (module docstring)
        stored = np.stack([block_quantize(one, name).dequantize() for one in blocked])
    else:  # MX blocks are independent: the whole batch at once
        stored = block_quantize(blocked, name).dequantize()
    return np.moveaxis(stored, -1, axis + 1).reshape(samples, -1)
