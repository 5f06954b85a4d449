"""Input checks and the "rows" view: one row per quantization group.

- per_tensor: one row of all elements (C order); scale shape ``()``.
- per_channel along ``axis``: row ``c`` holds ``x.take(c, axis)``; scale shape
  ``(x.shape[axis],)``.
- per_group of ``g`` along ``axis``: each run of ``g`` consecutive elements along ``axis`` is
  a row; scale shape is ``x.shape`` with ``x.shape[axis]`` replaced by ``x.shape[axis] // g``
  (for LLM INT4 weights ``[out, in]`` use ``axis=1``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from npusim.errors import QuantizationError
from npusim.quant.spec import Granularity, QuantSpec


def check_values(x: np.ndarray) -> np.ndarray:
    """``x`` as float32; raises :class:`QuantizationError` if empty, non-numeric, NaN or Inf
    (including float64 values beyond the float32 range)."""
    array = np.asarray(x)
    if array.size == 0:
        raise QuantizationError(f"empty tensor (shape {array.shape})")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise QuantizationError(f"tensor dtype {array.dtype} is not numeric")
    with np.errstate(over="ignore"):
        values = array.astype(np.float32, copy=False)
    if np.isfinite(values).all():
        return values
    nan_count = int(np.isnan(values).sum())
    if nan_count:
        raise QuantizationError(f"tensor contains {nan_count} NaN value(s)")
    inf_count = int(np.isinf(values).sum())
    raise QuantizationError(
        f"tensor contains {inf_count} Inf value(s) (or values beyond the float32 range)"
    )


def normalized_axis(shape: tuple[int, ...], axis: int) -> int:
    """``axis`` in ``[0, ndim)``; raises :class:`QuantizationError` if out of range."""
    ndim = len(shape)
    if not -ndim <= axis < ndim:
        raise QuantizationError(f"axis {axis} out of range for a tensor of shape {shape}")
    return axis % ndim


@dataclass(frozen=True)
class Layout:
    """How a tensor of ``shape`` maps to ``rows`` groups of ``row_length`` elements."""

    shape: tuple[int, ...]
    granularity: Granularity
    axis: int
    group_size: int
    rows: int
    row_length: int

    @property
    def moved_shape(self) -> tuple[int, ...]:
        """Shape after moving ``axis`` first (per channel) or last (per group)."""
        rest = tuple(d for i, d in enumerate(self.shape) if i != self.axis)
        if self.granularity is Granularity.PER_CHANNEL:
            return (self.shape[self.axis], *rest)
        return (*rest, self.shape[self.axis])

    @property
    def param_shape(self) -> tuple[int, ...]:
        """Shape of the scale and zero-point arrays."""
        if self.granularity is Granularity.PER_TENSOR:
            return ()
        if self.granularity is Granularity.PER_CHANNEL:
            return (self.shape[self.axis],)
        grouped = list(self.shape)
        grouped[self.axis] //= self.group_size
        return tuple(grouped)

    def to_rows(self, array: np.ndarray) -> np.ndarray:
        """``array`` (of :attr:`shape`) as ``(rows, row_length)``, C order within a row."""
        if self.granularity is Granularity.PER_TENSOR:
            return array.reshape(1, -1)
        source = 0 if self.granularity is Granularity.PER_CHANNEL else -1
        moved = np.moveaxis(array, self.axis, source)
        return np.ascontiguousarray(moved).reshape(self.rows, self.row_length)

    def from_rows(self, rows: np.ndarray) -> np.ndarray:
        """Inverse of :func:`to_rows` for an array of the rows' shape."""
        if self.granularity is Granularity.PER_TENSOR:
            return rows.reshape(self.shape)
        moved = rows.reshape(self.moved_shape)
        source = 0 if self.granularity is Granularity.PER_CHANNEL else -1
        return np.moveaxis(moved, source, self.axis)

    def params_from_rows(self, per_row: np.ndarray) -> np.ndarray:
        """A per-row parameter vector in :attr:`param_shape`."""
        if self.granularity is not Granularity.PER_GROUP:
            return per_row.reshape(self.param_shape)
        moved = list(self.moved_shape)
        moved[-1] //= self.group_size
        return np.moveaxis(per_row.reshape(moved), -1, self.axis)

    def params_to_rows(self, params: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`params_from_rows`."""
        if self.granularity is not Granularity.PER_GROUP:
            return np.asarray(params).reshape(-1)
        return np.moveaxis(np.asarray(params), self.axis, -1).reshape(-1)


def make_layout(shape: tuple[int, ...], spec: QuantSpec) -> Layout:
    """The :class:`Layout` of ``shape`` under ``spec``; raises :class:`QuantizationError`
    for an empty shape, an axis out of range or a group size that does not divide the axis."""
    elements = math.prod(shape)
    if elements == 0:
        raise QuantizationError(f"empty tensor (shape {shape})")
    granularity = spec.granularity
    if granularity is Granularity.PER_TENSOR:
        return Layout(shape, granularity, 0, 1, 1, elements)
    axis = normalized_axis(shape, spec.axis)
    if granularity is Granularity.PER_CHANNEL:
        channels = shape[axis]
        return Layout(shape, granularity, axis, 1, channels, elements // channels)
    group = int(spec.group_size)
    if shape[axis] % group:
        raise QuantizationError(
            f"group size {group} does not divide axis {axis} of length {shape[axis]}"
        )
    return Layout(shape, granularity, axis, group, elements // group, group)


def to_rows(values: np.ndarray, spec: QuantSpec) -> tuple[np.ndarray, Layout]:
    """Float32 ``values`` as a ``(rows, row_length)`` array plus its :class:`Layout`."""
    layout = make_layout(values.shape, spec)
    return layout.to_rows(values), layout
