"""Real tensors for a workload, from the ``.npz`` file or ``.npy`` folder it names.

A workload's ``tensors: weights.npz`` holds arrays keyed ``<layer>.weight`` and
``<layer>.input``; a folder holds ``<layer>.weight.npy`` and ``<layer>.input.npy``. Weights
need ``shape[0] == groups * n`` (one row per output channel) and ``groups * n * k`` elements
(so PyTorch's ``(out, in / groups, kh, kw)`` and ``(out, in)`` layouts load as they are) and
are returned as ``(groups * n, k)``; inputs need ``input_elements`` elements and are returned
flat. Both come back as float32. Every problem raises :class:`TensorFileError` naming the file,
the key and what is wrong.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from npusim.errors import WorkloadError


class TensorFileError(WorkloadError):
    """A tensor file is unreadable, misses a key, has the wrong size, or holds NaN/Inf."""


def read_array(source: Path, key: str) -> np.ndarray | None:
    """The array ``key`` of an ``.npz`` file or ``<key>.npy`` in a folder; None if absent."""
    try:
        if source.is_dir():
            path = source / f"{key}.npy"
            return np.load(path, allow_pickle=False) if path.exists() else None
        with np.load(source, allow_pickle=False) as archive:
            return archive[key] if key in archive.files else None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise TensorFileError(f"{source}: cannot read {key!r}: {err}") from None


def checked(source: Path, key: str, array: np.ndarray | None, what: str) -> np.ndarray:
    """``array`` as finite float32, or :class:`TensorFileError` naming what is wrong."""
    if array is None:
        raise TensorFileError(f"{source}: missing array {key!r} ({what})")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise TensorFileError(f"{source}: {key!r} has dtype {array.dtype}, expected a real number")
    values = np.asarray(array, dtype=np.float32)
    bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise TensorFileError(f"{source}: {key!r} holds {bad} NaN or Inf values")
    return values


def load_weights(source: Path, layer: str, rows: int, k: int) -> np.ndarray:
    """Weights of ``layer`` as a ``(rows, k)`` float32 array."""
    key = f"{layer}.weight"
    array = checked(source, key, read_array(source, key), f"{rows} x {k} weights")
    if array.ndim < 2 or array.shape[0] != rows or array.size != rows * k:
        raise TensorFileError(
            f"{source}: {key!r} has shape {array.shape}, expected {rows} output channels of "
            f"{k} weights ({rows} x {k} = {rows * k} elements)"
        )
    return array.reshape(rows, k)


def load_inputs(source: Path, layer: str, elements: int) -> np.ndarray:
    """Input activations of ``layer``, flat float32 of ``elements``."""
    key = f"{layer}.input"
    array = checked(source, key, read_array(source, key), f"{elements} input elements")
    if array.size != elements:
        raise TensorFileError(
            f"{source}: {key!r} has {array.size} elements (shape {array.shape}), expected "
            f"{elements}"
        )
    return array.reshape(-1)


def sample_rows(rows: int, k: int, max_elements: int) -> tuple[np.ndarray, int]:
    """Deterministic sample of a ``rows x k`` matrix within ``max_elements``: evenly spaced
    row indices (so every region of the channel axis is represented) and the kept columns."""
    if rows * k <= max_elements:
        return np.arange(rows), k
    kept_rows = max(1, max_elements // k)
    return np.linspace(0, rows - 1, kept_rows).round().astype(np.int64), min(k, max_elements)


def sample_flat(array: np.ndarray, max_elements: int) -> np.ndarray:
    """Evenly strided deterministic sample of a flat array."""
    if array.size <= max_elements:
        return array
    return array[np.linspace(0, array.size - 1, max_elements).round().astype(np.int64)]
