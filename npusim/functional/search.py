"""Mixed precision search: per-layer weight and activation bit-widths that minimize a cost
(energy per inference, DRAM traffic or time) within an accuracy budget.

Method: greedy bit lowering with re-evaluation.

1. Start from uniform INT8 (weights and activations of every layer, the scenario's
   quantization scheme).
2. Each step tries lowering each operand of each layer (a conv/linear's weights, any
   computing layer's activations) one rung of :data:`LADDER`, one at a time, and evaluates
   every candidate with the functional pass (top-1 on the dataset's *calibration* split: the
   test split is never looked at while deciding) and the timing model (the cost at the chosen
   fidelity). The first step's candidates are each operand's measured sensitivity.
3. A candidate is admissible if its top-1 is at least the FP32 network's minus the budget
   (both on the calibration split) and it saves at least ``min_saving`` (default
   :data:`MIN_SAVING_FRACTION`, 1 %) of uniform INT8's cost: a lowering that saves less is
   not worth the accuracy it may cost on unseen images. The admissible candidate with the
   largest cost saving per point of accuracy lost (the loss floored at one image, so lossless
   moves rank by saving) is taken; the search stops when none is admissible.

Evaluations are cached by assignment. The result is reported on the test split, beside
uniform INT8 and INT4, and as a scenario overlay (``precision.layers``) ``npusim run`` takes.

The decision is statistical: on ``n`` calibration images a top-1 of ``p`` has a binomial
standard error ``sqrt(p (1 - p) / n)`` (1.0 point at 98 % on 200 images, as large as the
default budget), and the search keeps the candidates that happened to score best there, which
biases their calibration top-1 upwards (the winner's curse). A test-split result below the
budget is therefore expected with small calibration splits; :attr:`SearchResult.
calibration_standard_error_points` gives the figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npusim.config import load_scenario
from npusim.errors import ConfigError, Problem
from npusim.functional.accuracy import BUDGET_POINTS_DEFAULT, evaluate
from npusim.functional.dataset import Dataset, load_dataset
from npusim.functional.network import compute_layers
from npusim.functional.params import LayerParams, load_parameters
from npusim.functional.scenario import scenario_specs
from npusim.workload import Workload

LADDER = ("int8", "int4", "int2")
OBJECTIVES = ("energy", "traffic", "time")
MIN_SAVING_FRACTION = 0.01  # of uniform INT8's cost: smaller savings are not worth accuracy
Assignment = tuple[tuple[str, str, str], ...]
"""``(layer, operand, precision)`` for each operand below INT8, sorted: hashable."""


def objective_cost(objective: str, totals: Mapping[str, Any]) -> float:
    """Energy (pJ), DRAM bytes (read + write) or time (s) per inference from run totals."""
    if objective == "energy":
        return float(totals["energy_pj"]["total"])
    if objective == "traffic":
        return float(totals["dram_read_bytes"] + totals["dram_write_bytes"])
    return float(totals["time_s"])


@dataclass(frozen=True)
class Evaluation:
    """One assignment: top-1 (and the FP32 network's) on the split it was measured on, and
    the run's totals."""

    top1: float
    top1_fp32: float
    cost: float
    totals: Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    """One lowering the search took and where it left the network (calibration split)."""

    layer: str
    operand: str
    precision: str
    top1: float
    cost: float


@dataclass(frozen=True)
class SearchResult:
    """The assignment found (layer -> {operand: precision}, INT8 operands left out), the
    steps, the number of distinct evaluations, ``rows``: label -> test-split top-1 and run
    totals for the assignment (``mixed``), uniform ``int8`` and uniform ``int4``, and
    ``sensitivity``: each operand lowered alone from uniform INT8 (calibration split);
    ``top1_fp32`` on the test split, ``top1_fp32_calibration`` on the ``calibration_samples``
    images the decisions used."""

    objective: str
    budget_points: float
    fidelity: str
    assignment: Mapping[str, Mapping[str, str]]
    steps: tuple[Step, ...]
    evaluations: int
    top1_fp32: float
    rows: Mapping[str, Evaluation]
    sensitivity: tuple[Step, ...] = ()
    top1_fp32_calibration: float = 1.0
    calibration_samples: int = 1
    min_saving: float = MIN_SAVING_FRACTION

    @property
    def calibration_standard_error_points(self) -> float:
        """Binomial standard error of the FP32 top-1 on the calibration split, in points:
        how finely the decisions could tell accuracies apart (module docstring)."""
        p = self.top1_fp32_calibration
        return 100.0 * math.sqrt(p * (1.0 - p) / self.calibration_samples)

    @property
    def points_below_fp32(self) -> float:
        """How far below the FP32 network the assignment is on the test split (points)."""
        return 100.0 * (self.top1_fp32 - self.rows["mixed"].top1)

    @property
    def within_budget_on_test(self) -> bool:
        """The decision used calibration images; unseen test images may disagree."""
        return self.points_below_fp32 <= self.budget_points + 1e-9

    def overlay(self, extends: str, workload: str) -> dict[str, Any]:
        """The scenario overlay ``npusim run`` accepts (``extends`` the base scenario)."""
        layers = {name: dict(ops) for name, ops in self.assignment.items()}
        return {"extends": extends, "workload": workload,
                "precision": {"weights": "int8", "activations": "int8", "accumulator": "int32",
                              "layers": layers}}  # fmt: skip


def layer_overrides(assignment: Assignment) -> list[str]:
    """``--set`` strings of an assignment (``precision.layers.conv1.weights=int4``)."""
    return [f"precision.layers.{layer}.{operand}={p}" for layer, operand, p in assignment]


class _Search:
    def __init__(self, base: str | None, workload: Workload, dataset: Dataset, objective: str,
                 fidelity: str) -> None:  # fmt: skip
        self.base, self.workload, self.dataset = base, workload, dataset
        self.objective, self.fidelity = objective, fidelity
        self.params: Mapping[str, LayerParams] = load_parameters(workload)
        self.cache: dict[tuple[Assignment, bool], Evaluation] = {}

    def evaluate(self, assignment: Assignment, on_calibration: bool = True) -> Evaluation:
        key = (assignment, on_calibration)
        if key not in self.cache:
            from npusim.simulate import simulate

            scenario = load_scenario(self.base, layer_overrides(assignment), precision="int8")
            specs = scenario_specs(scenario, self.workload)
            accuracy = evaluate(self.workload, self.dataset, specs, self.params, on_calibration)
            totals = simulate(scenario, self.workload, self.fidelity).totals()
            cost = objective_cost(self.objective, totals)
            self.cache[key] = Evaluation(accuracy.top1, accuracy.top1_fp32, cost, totals)
        return self.cache[key]

    def operands(self) -> list[tuple[str, str]]:
        out = []
        for layer in compute_layers(self.workload):
            gemm = layer.gemm()
            if gemm is not None and gemm.has_weights:
                out.append((layer.name, "weights"))
            out.append((layer.name, "activations"))
        return out


State = dict[tuple[str, str], str]


def _assignment(state: State) -> Assignment:
    """The hashable assignment of a search state (operands left at INT8 dropped)."""
    return tuple(sorted((layer, op, p) for (layer, op), p in state.items() if p != LADDER[0]))


def _lowered(state: State, where: tuple[str, str]) -> Assignment | None:
    rung = LADDER.index(state[where])
    if rung + 1 == len(LADDER):
        return None
    return _assignment({**state, where: LADDER[rung + 1]})


def search(
    base: str | None,
    workload: Workload,
    dataset: str | Path,
    objective: str = "energy",
    budget_points: float = BUDGET_POINTS_DEFAULT,
    fidelity: str = "cycle",
    min_saving: float = MIN_SAVING_FRACTION,
) -> SearchResult:
    """Find a per-layer assignment (module docstring). ``base``: scenario name or path (the
    default scenario when None); ``dataset``: a dataset file or bundled name; ``min_saving``:
    the smallest cost saving a step may take, as a fraction of uniform INT8's cost. Raises
    :class:`ConfigError` for an unknown objective, a negative budget or a ``min_saving``
    outside [0, 1), and the functional pass's errors for a bad dataset or workload."""
    if objective not in OBJECTIVES:
        raise ConfigError(Problem("objective", f"expected one of {', '.join(OBJECTIVES)}, "
                                  f"got {objective!r}"))  # fmt: skip
    if not budget_points >= 0.0:
        raise ConfigError(Problem("budget", f"expected points >= 0, got {budget_points}"))
    if not 0.0 <= min_saving < 1.0:
        raise ConfigError(Problem("min_saving", f"expected 0 <= fraction < 1, got {min_saving}"))
    run = _Search(base, workload, load_dataset(dataset), objective, fidelity)
    state: State = dict.fromkeys(run.operands(), LADDER[0])
    current = run.evaluate(())
    floor = current.top1_fp32 - budget_points / 100.0
    least = min_saving * current.cost
    one_image = 1.0 / run.dataset.calibration_samples
    steps: list[Step] = []
    sensitivity: list[Step] = []
    while True:
        best: tuple[float, tuple[str, str], Evaluation] | None = None
        for where in state:
            trial = _lowered(state, where)
            if trial is None:
                continue
            result = run.evaluate(trial)
            if not steps:
                lowered = LADDER[LADDER.index(state[where]) + 1]
                sensitivity.append(Step(*where, lowered, result.top1, result.cost))
            saving = current.cost - result.cost
            if result.top1 < floor - 1e-12 or saving <= 0 or saving < least:
                continue
            score = saving / max(current.top1 - result.top1, one_image)
            if best is None or score > best[0]:
                best = (score, where, result)
        if best is None:
            break
        _, where, current = best
        state[where] = LADDER[LADDER.index(state[where]) + 1]
        steps.append(Step(where[0], where[1], state[where], current.top1, current.cost))
    assignment: dict[str, dict[str, str]] = {}
    for layer, operand, precision in _assignment(state):
        assignment.setdefault(layer, {})[operand] = precision
    compared = {"mixed": _assignment(state), "int8": (),
                "int4": _assignment(dict.fromkeys(state, "int4"))}  # fmt: skip
    rows = {label: run.evaluate(a, on_calibration=False) for label, a in compared.items()}
    return SearchResult(objective, budget_points, fidelity, assignment, tuple(steps),
                        len(run.cache), rows["int8"].top1_fp32, rows, tuple(sensitivity),
                        run.evaluate(()).top1_fp32, run.dataset.calibration_samples,
                        min_saving)  # fmt: skip
