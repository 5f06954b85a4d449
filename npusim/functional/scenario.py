"""A scenario's precision and quantization settings as the functional pass's layer specs.

The specs are the engine's own (:func:`npusim.engine.plan.weight_spec` and
:func:`~npusim.engine.plan.activation_spec` on each layer's view of the scenario, per-layer
overrides included), so the tensors whose bytes the timing model moves are quantized the same
way in the accuracy model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from npusim.functional.accuracy import AccuracyResult, check_network, evaluate
from npusim.functional.dataset import DatasetError, load_dataset
from npusim.functional.network import (
    LayerSpecs,
    NonFiniteTensor,
    QuantizedNetwork,
    batches,
    compute_layers,
    execute,
    fp32_runner,
)
from npusim.functional.params import load_parameters

if TYPE_CHECKING:
    from npusim.config import Scenario
    from npusim.results import RunResult
    from npusim.workload import Workload


def scenario_specs(scenario: Scenario, workload: Workload) -> dict[str, LayerSpecs]:
    """Each computing layer's weight and activation specs, accumulator and vector-unit
    precision under ``scenario``."""
    from npusim.engine.plan import activation_spec, weight_spec

    specs: dict[str, LayerSpecs] = {}
    for layer in compute_layers(workload):
        view = scenario.for_layer(layer.name)
        specs[layer.name] = LayerSpecs(
            weight_spec(view),
            activation_spec(view),
            view.precision.accumulator,
            view.vector.precision,
        )
    return specs


def check_accuracy_inputs(workload: Workload, dataset: str | Path, scenario: Scenario) -> None:
    """Everything ``--accuracy`` needs, checked before any timing run, in the order
    :func:`scenario_accuracy` meets them: the trained weights and fused activations, the
    dataset (readable, finite, labels and shape fit the network), the scenario's specs, the
    float32 network over every sample (overflowing inputs, layers the functional pass cannot
    run) and one calibration image through the quantized network. About one FP32 pass over
    the dataset (about 0.1 s for the digits CNN). Raises what :func:`scenario_accuracy` raises
    (:class:`~.dataset.DatasetError`, :class:`~.params.FunctionalError`,
    :class:`~npusim.workload.tensorfile.TensorFileError`, quantization errors)."""
    params = load_parameters(workload)
    data = load_dataset(dataset)
    check_network(workload, data)
    specs = scenario_specs(scenario, workload)
    first = data.calibration()[:1]
    try:
        network = QuantizedNetwork(workload, params, specs, first)
        for chunk in batches(data.inputs):
            execute(workload, chunk, fp32_runner(params, network.activations))
        execute(workload, first, network.run_layer)
    except NonFiniteTensor as err:
        raise DatasetError(f"{data.source}: {err}") from None


def check_accuracy_scenarios(
    workload: Workload, dataset: str | Path, scenarios: list[Scenario]
) -> None:
    """:func:`check_accuracy_inputs` for the first of ``scenarios`` (a sweep's points of one
    workload), and for each other one what depends on the scenario: its specs and one
    calibration image through its quantized network (milliseconds a point), so a point the
    functional pass cannot run stops the sweep before any timing run. Raises the same."""
    check_accuracy_inputs(workload, dataset, scenarios[0])
    params, data = load_parameters(workload), load_dataset(dataset)
    first = data.calibration()[:1]
    for scenario in scenarios[1:]:
        network = QuantizedNetwork(workload, params, scenario_specs(scenario, workload), first)
        execute(workload, first, network.run_layer)


def scenario_accuracy(
    scenario: Scenario, workload: Workload, dataset: str | Path
) -> tuple[AccuracyResult, dict[str, Any]]:
    """Accuracy of ``workload`` on ``dataset`` (a path or a bundled dataset name) under
    ``scenario``, and the ``accuracy`` block of ``summary.json`` (the result plus how the
    scales were chosen)."""
    result = evaluate(workload, load_dataset(dataset), scenario_specs(scenario, workload))
    q = scenario.quantization
    block = {**result.as_dict(), "calibration": q.calibration, "granularity": q.granularity,
             "symmetric": q.symmetric}  # fmt: skip
    return result, block


def with_accuracy(
    result: RunResult, scenario: Scenario, workload: Workload, dataset: str | Path
) -> RunResult:
    """``result`` with the ``accuracy`` block and each layer's end-to-end ``output_sqnr_db``
    against the FP32 network (what ``npusim run --accuracy`` and accuracy sweeps add)."""
    from npusim.results import with_layer_extra
    from npusim.simulate import with_extra

    accuracy, block = scenario_accuracy(scenario, workload, dataset)
    per_layer = {name: {"output_sqnr_db": db} for name, db in accuracy.layer_sqnr_db.items()}
    return with_layer_extra(with_extra(result, accuracy=block), per_layer)
