"""Functional execution: the network's real arithmetic on real inputs, at FP32 and through the
quantized datapath, for task accuracy beside the timing model's cost (which does not depend on
values). Vectorized numpy over the batch; see :mod:`~.network` for the datapath and
:mod:`~.dataset` for the dataset format.
"""

from npusim.functional.accuracy import AccuracyResult, evaluate
from npusim.functional.dataset import Dataset, DatasetError, load_dataset
from npusim.functional.network import LayerSpecs, QuantizedNetwork, execute, fp32_runner
from npusim.functional.params import (
    FunctionalError,
    LayerParams,
    fused_activations,
    load_parameters,
)
from npusim.functional.scenario import (
    check_accuracy_inputs,
    scenario_accuracy,
    scenario_specs,
    with_accuracy,
)

__all__ = [
    "AccuracyResult",
    "Dataset",
    "DatasetError",
    "FunctionalError",
    "LayerParams",
    "LayerSpecs",
    "QuantizedNetwork",
    "check_accuracy_inputs",
    "evaluate",
    "execute",
    "fp32_runner",
    "fused_activations",
    "load_dataset",
    "load_parameters",
    "scenario_accuracy",
    "scenario_specs",
    "with_accuracy",
]
