"""Task accuracy of a quantized network beside the float32 one, on a labelled dataset.

Top-1 is the fraction of test samples whose largest network output (the first on ties, as
``numpy.argmax``) is the label; ``agreement_with_fp32`` the fraction whose prediction equals
the float32 network's; ``top1_ties`` the number of test samples whose largest quantized output
is shared by two or more classes, so that the prediction is argmax's tie-break (the lowest
class index), not the network's: coarse formats (INT2, binary) store the logits on a few
levels and tie often. Each layer's end-to-end output SQNR compares its stored output in the
quantized network (after every earlier layer's error) with the float32 network's output of the
same layer on the same test inputs: ``10 log10(sum(y_fp32^2) / sum((y - y_fp32)^2))`` summed
over the test split; ``None`` when the two are identical (no error) or the signal is zero.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from npusim.functional.dataset import Dataset, DatasetError
from npusim.functional.network import (
    LayerSpecs,
    NonFiniteTensor,
    QuantizedNetwork,
    batches,
    compute_layers,
    execute,
    fp32_runner,
    input_shape,
    output_tensor,
)
from npusim.functional.params import LayerParams, load_parameters
from npusim.workload import Workload

BUDGET_POINTS_DEFAULT = 1.0  # top-1 points below FP32: the primer's "1 % accuracy"


@dataclass(frozen=True)
class AccuracyResult:
    """Accuracy on the test split; ``layer_sqnr_db`` by layer name (module docstring)."""

    dataset: str
    top1: float
    top1_fp32: float
    agreement_with_fp32: float
    test_samples: int
    calibration_samples: int
    top1_ties: int = 0
    layer_sqnr_db: Mapping[str, float | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The ``accuracy`` block of ``summary.json`` (without the per-layer SQNR)."""
        return {"dataset": self.dataset, "top1": self.top1, "top1_fp32": self.top1_fp32,
                "agreement_with_fp32": self.agreement_with_fp32, "samples": self.test_samples,
                "calibration_samples": self.calibration_samples,
                "test_samples": self.test_samples, "top1_ties": self.top1_ties}  # fmt: skip


def sqnr_db(signal: float, noise: float) -> float | None:
    """``10 log10(signal / noise)``; None when either is zero (exact, or no signal)."""
    if noise <= 0.0 or signal <= 0.0:
        return None
    return 10.0 * math.log10(signal / noise)


def tied_top1(logits: np.ndarray) -> int:
    """How many rows of ``logits`` ``(samples, classes)`` have their largest value twice."""
    if logits.shape[1] < 2:
        return 0
    top2 = np.sort(logits, axis=1)[:, -2:]
    return int(np.count_nonzero(top2[:, 0] == top2[:, 1]))


def evaluate(
    workload: Workload,
    dataset: Dataset,
    specs: Mapping[str, LayerSpecs],
    params: Mapping[str, LayerParams] | None = None,
    on_calibration: bool = False,
) -> AccuracyResult:
    """Calibrate on ``dataset``'s calibration split, then run the float32 and the quantized
    network on its test split (``on_calibration``: on the calibration split instead, for
    decisions such as a precision search that must not look at test data). ``specs``: every
    computing layer's specs; ``params``: the trained parameters (default:
    :func:`~.params.load_parameters`). Raises
    :class:`~.dataset.DatasetError` when the dataset does not fit the network or overflows
    it, and :class:`~.params.FunctionalError` when the network cannot run functionally."""
    params = load_parameters(workload) if params is None else params
    output = check_network(workload, dataset)
    try:
        return _evaluate(workload, dataset, specs, params, output, on_calibration)
    except NonFiniteTensor as err:
        raise DatasetError(f"{dataset.source}: {err}") from None


def check_network(workload: Workload, dataset: Dataset) -> str:
    """Raise :class:`~.dataset.DatasetError` unless ``dataset`` fits the network's input and
    outputs; returns the network's output tensor."""
    output = output_tensor(workload)
    dataset.check_network(input_shape(workload), workload.graph.tensors[output].elements)
    return output


def _evaluate(
    workload: Workload,
    dataset: Dataset,
    specs: Mapping[str, LayerSpecs],
    params: Mapping[str, LayerParams],
    output: str,
    on_calibration: bool,
) -> AccuracyResult:
    network = QuantizedNetwork(workload, params, specs, dataset.calibration())
    reference = fp32_runner(params, network.activations)
    names = [layer.name for layer in compute_layers(workload)]
    signal = dict.fromkeys(names, 0.0)
    noise = dict.fromkeys(names, 0.0)
    predicted, predicted_fp32 = [], []
    ties = 0
    test_inputs, labels = dataset.test()
    if on_calibration:
        test_inputs, labels = dataset.calibration(), dataset.labels[: dataset.calibration_samples]
    for chunk in batches(test_inputs):
        exact = execute(workload, chunk, reference)
        quantized = execute(workload, chunk, network.run_layer)
        for name in names:
            error = quantized[name].astype(np.float64) - exact[name]
            signal[name] += float(np.square(exact[name], dtype=np.float64).sum())
            noise[name] += float(np.square(error).sum())
        predicted.append(quantized[output].argmax(axis=1))
        ties += tied_top1(quantized[output])
        predicted_fp32.append(exact[output].argmax(axis=1))
    guess, guess_fp32 = np.concatenate(predicted), np.concatenate(predicted_fp32)
    return AccuracyResult(
        dataset=dataset.source,
        top1=float(np.mean(guess == labels)),
        top1_fp32=float(np.mean(guess_fp32 == labels)),
        agreement_with_fp32=float(np.mean(guess == guess_fp32)),
        test_samples=labels.size,
        calibration_samples=dataset.calibration_samples,
        top1_ties=ties,
        layer_sqnr_db={name: sqnr_db(signal[name], noise[name]) for name in names},
    )
