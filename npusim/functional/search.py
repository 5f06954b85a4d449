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
   (both on the calibration split) and its cost is lower. The admissible candidate with the
   largest cost saving per point of accuracy lost (the loss floored at one image, so lossless
   moves rank by saving) is taken; the search stops when none is admissible.

Evaluations are cached by assignment. The result is reported on the test split, beside
uniform INT8 and INT4, and as a scenario overlay (``precision.layers``) ``npusim run`` takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from npusim.config import load_scenario
from npusim.errors import ConfigError, Problem
from npusim.functional.accuracy import evaluate
from npusim.functional.dataset import Dataset, load_dataset
from npusim.functional.network import compute_layers
from npusim.functional.params import LayerParams, load_parameters
from npusim.functional.scenario import scenario_specs
from npusim.workload import Workload

LADDER = ("int8", "int4", "int2")
OBJECTIVES = ("energy", "traffic", "time")
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
    """One assignment: top-1 on the split it was measured on and the run's totals."""

    top1: float
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
    ``sensitivity``: each operand lowered alone from uniform INT8 (calibration split)."""

    objective: str
    budget_points: float
    fidelity: str
    assignment: Mapping[str, Mapping[str, str]]
    steps: tuple[Step, ...]
    evaluations: int
    top1_fp32: float
    rows: Mapping[str, Evaluation]
    sensitivity: tuple[Step, ...] = ()

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
            self.cache[key] = Evaluation(accuracy.top1, objective_cost(self.objective, totals),
                                         totals)  # fmt: skip
        return self.cache[key]

    def operands(self) -> list[tuple[str, str]]:
        out = []
        for layer in compute_layers(self.workload):
            gemm = layer.gemm()
            if gemm is not None and gemm.has_weights:
                out.append((layer.name, "weights"))
            out.append((layer.name, "activations"))
        return out


def _lowered(state: dict[tuple[str, str], str], where: tuple[str, str]) -> Assignment | None:
    rung = LADDER.index(state[where])
    if rung + 1 == len(LADDER):
        return None
    trial = {**state, where: LADDER[rung + 1]}
    return tuple(sorted((layer, op, p) for (layer, op), p in trial.items() if p != LADDER[0]))


def search(
    base: str | None,
    workload: Workload,
    dataset: str | Path,
    objective: str = "energy",
    budget_points: float = 1.0,
    fidelity: str = "cycle",
) -> SearchResult:
    """Find a per-layer assignment (module docstring). ``base``: scenario name or path (the
    default scenario when None); ``dataset``: a dataset file or bundled name. Raises
    :class:`ConfigError` for an unknown objective or a negative budget, and the functional
    pass's errors for a bad dataset or workload."""
    if objective not in OBJECTIVES:
        raise ConfigError(Problem("objective", f"expected one of {', '.join(OBJECTIVES)}, "
                                  f"got {objective!r}"))  # fmt: skip
    if not budget_points >= 0.0:
        raise ConfigError(Problem("budget", f"expected points >= 0, got {budget_points}"))
    run = _Search(base, workload, load_dataset(dataset), objective, fidelity)
    fp32 = evaluate(workload, run.dataset, _fp32_specs(base, workload), run.params, True)
    floor = fp32.top1_fp32 - budget_points / 100.0
    one_image = 1.0 / run.dataset.calibration_samples
    state = dict.fromkeys(run.operands(), LADDER[0])
    current = run.evaluate(())
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
            if result.top1 < floor - 1e-12 or saving <= 0:
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
    for (layer, operand), precision in state.items():
        if precision != LADDER[0]:
            assignment.setdefault(layer, {})[operand] = precision
    final = tuple(sorted((layer, op, p) for (layer, op), p in state.items() if p != LADDER[0]))
    int4 = tuple(sorted((layer, op, "int4") for layer, op in state))
    rows = {label: run.evaluate(a, on_calibration=False)
            for label, a in (("mixed", final), ("int8", ()), ("int4", int4))}  # fmt: skip
    test_fp32 = evaluate(workload, run.dataset, _fp32_specs(base, workload), run.params)
    return SearchResult(objective, budget_points, fidelity, assignment, tuple(steps),
                        len(run.cache), test_fp32.top1_fp32, rows, tuple(sensitivity))  # fmt: skip


def _fp32_specs(base: str | None, workload: Workload) -> Mapping[str, Any]:
    return scenario_specs(load_scenario(base, precision="fp32"), workload)
