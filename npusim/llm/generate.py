"""A generation run: prefill ``P`` prompt tokens, then decode ``N`` tokens, the KV cache
growing by one row per sequence and step.

Every pass is an ordinary :func:`npusim.simulate.simulate` run of a decoder workload (the
``llama3_*`` workloads, :mod:`npusim.llm.zoo`) with its parameters set: the prefill is
``tokens = P, kv_len = 0``; decode step ``i`` (``0 <= i < N``) is ``tokens = 1,
kv_len = P + i``; both compute logits for the last position only (``logits = 1``) and run
``batch`` independent sequences at once (the workload's ``batch``: weights are read once per
pass, each sequence reads its own KV cache). The prefill produces the first token's logits,
so the time to first token is the prefill's time; the decode phase produces ``N x batch``
more tokens.

Decode steps are simulated at ``samples`` KV lengths spread evenly over the run and summed
over every step by piecewise-linear interpolation (:mod:`npusim.llm.sampling`), or all of
them when ``samples`` is 0 or at least ``N``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npusim.errors import ConfigError, Problem
from npusim.llm.phase import Pass, Phase
from npusim.llm.sampling import sample_steps
from npusim.simulate import simulate
from npusim.workload import load_workload

if TYPE_CHECKING:
    from npusim.config import Scenario

DECODER_PARAMS = ("tokens", "kv_len", "logits")
"""Parameters a workload needs to run as a generation's passes."""

DEFAULT_SAMPLES = 5
MAX_BATCH = 64

PassHook = Callable[[str, int, float], None]
"""``hook(phase, kv_len, wall_s)`` after each simulated pass (opt-in progress)."""


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate: ``prefill_tokens`` prompt tokens, ``decode_tokens`` new tokens per
    sequence, ``batch`` sequences (1 to :data:`MAX_BATCH`), ``samples`` decode steps
    simulated (0: every step)."""

    prefill_tokens: int
    decode_tokens: int
    batch: int = 1
    samples: int = DEFAULT_SAMPLES

    def __post_init__(self) -> None:
        problems = []
        for key, value, low in (("prefill", self.prefill_tokens, 1),
                                ("tokens", self.decode_tokens, 1),
                                ("batch", self.batch, 1)):  # fmt: skip
            if value < low:
                problems.append(Problem(key, f"expected an integer >= {low}, got {value}"))
        if self.batch > MAX_BATCH:
            problems.append(Problem("batch", f"expected at most {MAX_BATCH}, got {self.batch}"))
        if self.samples == 1 or self.samples < 0:
            problems.append(Problem("samples", f"expected 0 (every step) or at least 2, "
                                    f"got {self.samples}"))  # fmt: skip
        if problems:
            raise ConfigError(problems)

    def decode_steps(self) -> tuple[int, ...]:
        """Indices of the decode steps simulated."""
        if self.samples == 0:
            return tuple(range(self.decode_tokens))
        return sample_steps(self.decode_tokens, self.samples)

    def as_dict(self) -> dict[str, Any]:
        return {"prefill_tokens": self.prefill_tokens, "decode_tokens": self.decode_tokens,
                "batch": self.batch, "samples": self.samples or self.decode_tokens,
                "every_step": self.samples == 0 or self.samples >= self.decode_tokens}  # fmt: skip


@dataclass(frozen=True)
class GenerationResult:
    """A generation run's two phases and what ran."""

    scenario: str
    workload: str
    fidelity: str
    precision: dict[str, str]
    precision_label: str
    spec: GenerateSpec
    prefill: Phase
    decode: Phase

    @property
    def time_to_first_token_s(self) -> float:
        return self.prefill.time_s

    def summary(self) -> dict[str, Any]:
        """The ``generate.json`` object."""
        return {
            "scenario": self.scenario,
            "workload": self.workload,
            "fidelity": self.fidelity,
            "precision": self.precision,
            "precision_label": self.precision_label,
            **self.spec.as_dict(),
            "method": METHOD,
            "time_to_first_token_s": self.time_to_first_token_s,
            "total_time_s": self.prefill.time_s + self.decode.time_s,
            "prefill": self.prefill.as_dict(),
            "decode": self.decode.as_dict(),
        }


METHOD = ("prefill: one pass (tokens = P, kv_len = 0, logits = 1); decode step i: tokens = 1, "
          "kv_len = P + i; decode totals summed over every step, piecewise-linear between the "
          "simulated steps (exact when every step is simulated)")  # fmt: skip


def run_generate(
    scenario: Scenario,
    workload: str | Path,
    spec: GenerateSpec,
    fidelity: str = "cycle",
    hook: PassHook | None = None,
) -> GenerationResult:
    """Simulate ``spec`` on ``scenario`` with the decoder workload ``workload`` (bundled
    name or file). Raises :class:`ConfigError` if the workload lacks
    :data:`DECODER_PARAMS`, and whatever :func:`simulate` raises."""
    _check_decoder(workload)
    peak_gbps = 0.0
    labels: dict[str, Any] = {}

    def one_pass(phase: str, tokens: int, kv_len: int) -> Pass:
        nonlocal peak_gbps
        started = time.perf_counter()
        params = {"tokens": tokens, "kv_len": kv_len, "logits": 1, "batch": spec.batch}
        loaded = load_workload(workload, params)
        result = simulate(scenario, loaded, fidelity)
        peak_gbps = result.dram_peak_gbps
        labels.update(workload=result.workload, precision=dict(result.precision))
        if hook is not None:
            hook(phase, kv_len, time.perf_counter() - started)
        return Pass.of(kv_len, result, loaded)

    p, n, b = spec.prefill_tokens, spec.decode_tokens, spec.batch
    first = one_pass("prefill", p, 0)
    prefill = Phase.summed("prefill", (0,), (first,), 1, p * b, peak_gbps)
    steps = spec.decode_steps()
    simulated = [one_pass("decode", 1, p + i) for i in steps]
    decode = Phase.summed("decode", steps, simulated, n, n * b, peak_gbps)
    return GenerationResult(scenario.name, labels["workload"], fidelity, labels["precision"],
                            scenario.precision.label, spec, prefill, decode)  # fmt: skip


def _check_decoder(workload: str | Path) -> None:
    from npusim.workload.loader import workload_header

    declared = workload_header(workload)["params"]
    missing = [name for name in DECODER_PARAMS if name not in declared]
    if missing:
        raise ConfigError(Problem("workload", f"{workload} is not a decoder pass: it needs the "
                                  f"parameters {', '.join(DECODER_PARAMS)} (missing "
                                  f"{', '.join(missing)}); see npusim/llm/zoo.py"))  # fmt: skip
