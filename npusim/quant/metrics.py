"""Quantization error of a tensor, split the way the quantization primer splits it.

With ``x`` the float32 input, ``x_hat`` the dequantized output, ``e = x_hat - x`` and ``N`` the
element count (sums in float64):

- ``mse = sum(e**2) / N``.
- ``sqnr_db = 10 * log10(sum(x**2) / sum(e**2))``; ``+inf`` when ``e`` is all zero, ``-inf``
  when ``x`` is all zero but ``e`` is not.
- ``max_abs_error = max |e|``.
- clipped elements: integer formats, those whose unclamped code ``Z + round(x / S)`` lies
  outside ``[qmin, qmax]`` (the clamp changed them); float casts, those that saturated at the
  largest finite value; binary, those with ``|x| > alpha``.
- ``rounding_mse = sum(e**2 over unclipped) / N`` and ``clipping_mse = sum(e**2 over clipped)
  / N``; they add up to ``mse``.
- ``fraction_clipped = clipped elements / N``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class ErrorStats:
    """Error metrics of one quantized tensor (definitions in the module docstring)."""

    elements: int
    mse: float
    sqnr_db: float
    max_abs_error: float
    rounding_mse: float
    clipping_mse: float
    fraction_clipped: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


CHUNK_ELEMENTS = 1 << 16


class ErrorAccumulator:
    """Sums for :class:`ErrorStats` over blocks of a tensor (float64, chunked, so large tensors
    need no float64 copy). ``einsum`` rather than ``dot``: BLAS threads spin on a busy machine."""

    def __init__(self) -> None:
        self.elements = 0
        self.clipped = 0
        self.noise = 0.0
        self.clipping = 0.0
        self.signal = 0.0
        self.max_abs = 0.0

    def add(self, x: np.ndarray, x_hat: np.ndarray, clipped: np.ndarray) -> None:
        """Add a block: float32 ``x`` and ``x_hat`` and the bool ``clipped`` mask (same shape)."""
        flat_x, flat_hat = x.reshape(-1), x_hat.reshape(-1)
        flat_clipped = clipped.reshape(-1)
        self.elements += int(flat_x.size)
        self.clipped += int(np.count_nonzero(flat_clipped))
        for start in range(0, flat_x.size, CHUNK_ELEMENTS):
            chunk = slice(start, start + CHUNK_ELEMENTS)
            x64 = flat_x[chunk].astype(np.float64)
            error = flat_hat[chunk] - x64
            self.noise += float(np.einsum("i,i->", error, error))
            self.signal += float(np.einsum("i,i->", x64, x64))
            self.max_abs = max(self.max_abs, float(error.max()), -float(error.min()))
            clipped_chunk = flat_clipped[chunk]
            if clipped_chunk.any():
                clipped_error = error[clipped_chunk]
                self.clipping += float(np.einsum("i,i->", clipped_error, clipped_error))

    def stats(self) -> ErrorStats:
        """The metrics of everything added so far."""
        if self.noise == 0.0:
            sqnr_db = math.inf
        elif self.signal == 0.0:
            sqnr_db = -math.inf
        else:
            sqnr_db = 10.0 * math.log10(self.signal / self.noise)
        elements = self.elements
        return ErrorStats(
            elements=elements,
            mse=self.noise / elements,
            sqnr_db=sqnr_db,
            max_abs_error=self.max_abs,
            rounding_mse=max(self.noise - self.clipping, 0.0) / elements,
            clipping_mse=self.clipping / elements,
            fraction_clipped=self.clipped / elements,
        )


def error_stats(x: np.ndarray, x_hat: np.ndarray, clipped: np.ndarray) -> ErrorStats:
    """Metrics for float32 arrays ``x`` and ``x_hat`` and the bool ``clipped`` mask."""
    accumulator = ErrorAccumulator()
    accumulator.add(x, x_hat, clipped)
    return accumulator.stats()
