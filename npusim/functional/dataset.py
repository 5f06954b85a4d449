"""Labelled datasets for functional evaluation, and their calibration/test split.

A dataset is an ``.npz`` file with

- ``inputs``: ``(samples, ...)`` real numbers, one network input per sample, each either flat
  (the network input's element count) or in the network input's own layout (NCHW for a conv,
  ``(tokens, features)`` for a linear layer), size-1 axes aside: ``(N, 1, 8, 8)``, ``(N, 8,
  8)`` and ``(N, 64)`` feed an 8 x 8 single-channel conv network; ``(N, 8, 8, 3)`` (NHWC) is
  refused by a 3-channel one, whose input is ``(3, 8, 8)``. A network whose input is one
  vector (an MLP) takes any per-sample shape of that many values, flattened in C order;
- ``labels``: ``(samples,)`` integer class indices;
- ``calibration_samples`` (optional, an integer): the first that many samples are the
  calibration split, the rest the test split. Without it the first quarter (rounded down, at
  least one sample) calibrates.

Scales are calibrated on the calibration split only and accuracy is measured on the test split
only. Every problem raises :class:`DatasetError` naming the file and what is wrong.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npusim.config.bundled import bundled_folder
from npusim.errors import NpusimError

CALIBRATION_FRACTION_DEFAULT = 0.25


class DatasetError(NpusimError):
    """A dataset is unreadable, malformed, holds NaN/Inf, has labels out of range, does not
    match the network's input, or is too small to split into calibration and test."""


@dataclass(frozen=True)
class Dataset:
    """``inputs`` float32 ``(samples, elements)``, ``labels`` int64 ``(samples,)``; the first
    ``calibration_samples`` form the calibration split, the rest the test split. ``source``
    is the bundled dataset's name or the file's absolute path."""

    source: str
    inputs: np.ndarray
    labels: np.ndarray
    calibration_samples: int
    sample_shape: tuple[int, ...] | None = None
    """Each sample's shape in the file (None: flat, as ``inputs``)."""

    @property
    def samples(self) -> int:
        return int(self.labels.size)

    @property
    def test_samples(self) -> int:
        return self.samples - self.calibration_samples

    def calibration(self) -> np.ndarray:
        """The calibration inputs, float32 ``(calibration_samples, elements)``."""
        return self.inputs[: self.calibration_samples]

    def test(self) -> tuple[np.ndarray, np.ndarray]:
        """The test inputs and labels."""
        cut = self.calibration_samples
        return self.inputs[cut:], self.labels[cut:]

    def check_network(self, input_shape: tuple[int, ...], classes: int) -> None:
        """Raise :class:`DatasetError` unless each sample fits the network input of
        ``input_shape`` (module docstring) and every label indexes one of ``classes``
        outputs."""
        elements = math.prod(input_shape)
        if self.inputs.shape[1] != elements:
            raise DatasetError(
                f"{self.source}: each input has {self.inputs.shape[1]} values, the network "
                f"input has {elements}"
            )
        given, wanted = self.sample_shape, _squeezed(input_shape)
        if given is not None and len(wanted) > 1 and len(given) > 1 and _squeezed(given) != wanted:
            raise DatasetError(
                f"{self.source}: each input has shape {given}, the network input is "
                f"{input_shape} (same element count, another layout: NHWC for NCHW?); give "
                f"inputs in that layout or flat"
            )
        bad = (self.labels < 0) | (self.labels >= classes)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise DatasetError(
                f"{self.source}: {int(bad.sum())} labels outside 0..{classes - 1} (the "
                f"network's {classes} outputs), first at sample {first}: {self.labels[first]}"
            )


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(size for size in shape if size != 1)


def resolve_dataset_path(name_or_path: str | Path) -> tuple[Path, str]:
    """An existing file as given (labelled by its absolute path), else the bundled dataset
    ``workloads/<name>.npz`` (labelled ``<name>``); raises :class:`DatasetError`."""
    path = Path(name_or_path)
    if path.is_file():
        return path, str(path.resolve())
    bundled = bundled_folder("workloads") / f"{path.stem}.npz"
    if path.suffix in ("", ".npz") and path.parent == Path(".") and bundled.is_file():
        return bundled, path.stem
    raise DatasetError(f"{name_or_path}: no such dataset file (nor a bundled one)")


def load_dataset(name_or_path: str | Path) -> Dataset:
    """Read and check a dataset file (module docstring); raises :class:`DatasetError`."""
    path, source = resolve_dataset_path(name_or_path)
    if not zipfile.is_zipfile(path):
        raise DatasetError(
            f"{source}: not an .npz archive (a zip of .npy arrays, as numpy.savez writes)"
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(f"{source}: cannot read: {err}") from None
    for key in ("inputs", "labels"):
        if key not in arrays:
            raise DatasetError(f"{source}: missing array {key!r} (has {sorted(arrays)})")
    inputs = _checked_inputs(source, arrays["inputs"])
    labels = _checked_labels(source, arrays["labels"], inputs.shape[0])
    calibration = _calibration_count(source, arrays.get("calibration_samples"), labels.size)
    return Dataset(source, inputs, labels, calibration, tuple(arrays["inputs"].shape[1:]))


def _checked_inputs(source: str, raw: np.ndarray) -> np.ndarray:
    if not (np.issubdtype(raw.dtype, np.floating) or np.issubdtype(raw.dtype, np.integer)):
        raise DatasetError(f"{source}: 'inputs' has dtype {raw.dtype}, expected real numbers")
    if raw.ndim < 2 or raw.shape[0] == 0:
        raise DatasetError(f"{source}: 'inputs' has shape {raw.shape}, expected (samples, ...)")
    with np.errstate(over="ignore"):
        inputs = raw.astype(np.float32).reshape(raw.shape[0], -1)
    bad = inputs.size - int(np.count_nonzero(np.isfinite(inputs)))
    if bad:
        raise DatasetError(f"{source}: 'inputs' holds {bad} NaN or Inf values")
    return inputs


def _checked_labels(source: str, raw: np.ndarray, samples: int) -> np.ndarray:
    if not np.issubdtype(raw.dtype, np.integer):
        raise DatasetError(f"{source}: 'labels' has dtype {raw.dtype}, expected integers")
    if raw.shape != (samples,):
        raise DatasetError(
            f"{source}: 'labels' has shape {raw.shape}, expected ({samples},), one per input"
        )
    return raw.astype(np.int64)


def _calibration_count(source: str, raw: np.ndarray | None, samples: int) -> int:
    if samples < 2:
        raise DatasetError(
            f"{source}: {samples} sample(s) cannot be split into calibration and test (need 2+)"
        )
    if raw is None:
        return max(1, int(samples * CALIBRATION_FRACTION_DEFAULT))
    if raw.shape != () or not np.issubdtype(raw.dtype, np.integer):
        raise DatasetError(f"{source}: 'calibration_samples' must be one integer")
    count = int(raw)
    if not 1 <= count < samples:
        raise DatasetError(
            f"{source}: calibration_samples = {count} leaves no calibration or no test split "
            f"of {samples} samples (need 1 <= calibration_samples < {samples})"
        )
    return count
