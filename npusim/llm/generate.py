"""A generation run: prefill ``P`` prompt tokens, then decode ``N`` tokens, the KV cache
growing by one row per sequence and step.

Every pass is an ordinary :func:`npusim.simulate.simulate` run of a decoder workload (the
``llama3_*`` workloads, :mod:`npusim.llm.zoo`) with its parameters set. The prefill runs the
prompt in passes of ``C`` tokens (``tokens = C, kv_len = 0, C, 2C, ...``; one pass of ``P``
by default), only the last with the final norm and LM head; decode step ``i``
(``0 <= i < N``) is ``tokens = 1, kv_len = P + i``. Logits are computed for the last position
only (``logits = 1``), and every pass runs ``batch`` independent sequences at once (the
workload's ``batch``: weights are read once per pass, each sequence reads its own KV cache).
The prefill produces the first token's logits, so the time to first token is the prefill's
time; the decode phase produces ``N x batch`` more tokens.

Alike passes (decode steps; prefill chunks before the last) are simulated at ``samples``
indices spread evenly over the run and summed over every pass by piecewise-linear
interpolation (:mod:`npusim.llm.sampling`), or all of them when ``samples`` is 0 or at least
their number.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from npusim.errors import ConfigError, Problem
from npusim.llm.phase import Pass, Phase
from npusim.llm.sampling import sample_steps
from npusim.llm.zoo import without_head
from npusim.simulate import simulate
from npusim.workload import load_workload

if TYPE_CHECKING:
    from npusim.config import Scenario

DECODER_PARAMS = ("tokens", "kv_len", "logits")
"""Parameters a workload needs to run as a generation's passes."""

DEFAULT_SAMPLES = 5
MAX_BATCH = 64
MAX_SIMULATED_PASSES = 1024
"""Passes one run may simulate (each a whole :func:`simulate`: 0.3-1 s analytic, seconds to
minutes in cycle fidelity for a 1B model), so a request for every one of 100,000 steps is
refused at once instead of running for hours; sampling keeps the error small (README)."""

PassHook = Callable[[str, int, float], None]
"""``hook(phase, kv_len, wall_s)`` after each simulated pass (opt-in progress)."""


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate: ``prefill_tokens`` prompt tokens, ``decode_tokens`` new tokens per
    sequence, ``batch`` sequences (1 to :data:`MAX_BATCH`), ``samples`` decode steps (and
    prefill chunks) simulated (0: every one), ``prefill_chunk`` prompt tokens per prefill
    pass (0: the whole prompt in one pass)."""

    prefill_tokens: int
    decode_tokens: int
    batch: int = 1
    samples: int = DEFAULT_SAMPLES
    prefill_chunk: int = 0

    def __post_init__(self) -> None:
        problems = []
        for key, value, low in (("prefill", self.prefill_tokens, 1),
                                ("tokens", self.decode_tokens, 1),
                                ("batch", self.batch, 1),
                                ("prefill_chunk", self.prefill_chunk, 0)):  # fmt: skip
            if value < low:
                problems.append(Problem(key, f"expected an integer >= {low}, got {value}"))
        if self.batch > MAX_BATCH:
            problems.append(Problem("batch", f"expected at most {MAX_BATCH}, got {self.batch}"))
        if self.samples == 1 or self.samples < 0:
            problems.append(Problem("samples", f"expected 0 (every step) or at least 2, "
                                    f"got {self.samples}"))  # fmt: skip
        if not problems and self.simulated_passes > MAX_SIMULATED_PASSES:
            problems.append(Problem("samples", (
                f"this run would simulate {self.simulated_passes:,} passes, at most "
                f"{MAX_SIMULATED_PASSES} are allowed: use fewer --samples (interpolated "
                f"between; default {DEFAULT_SAMPLES}) or a larger --prefill-chunk")))  # fmt: skip
        if problems:
            raise ConfigError(problems)

    @property
    def simulated_passes(self) -> int:
        """Passes :func:`run_generate` simulates: sampled prefill chunks before the last, the
        last one, and sampled decode steps."""
        body = (self.prefill_tokens - 1) // self.chunk_tokens

        def count(passes: int) -> int:
            return passes if self.samples == 0 else min(passes, self.samples)

        return (count(body) if body else 0) + 1 + count(self.decode_tokens)

    def sampled(self, passes: int) -> tuple[int, ...]:
        """Indices of the passes simulated out of ``passes`` alike ones."""
        if self.samples == 0:
            return tuple(range(passes))
        return sample_steps(passes, self.samples)

    @property
    def chunk_tokens(self) -> int:
        """Prompt tokens per prefill pass (the last pass takes the rest)."""
        chunk = self.prefill_chunk or self.prefill_tokens
        return min(chunk, self.prefill_tokens)

    def as_dict(self) -> dict[str, Any]:
        return {"prefill_tokens": self.prefill_tokens, "decode_tokens": self.decode_tokens,
                "batch": self.batch, "prefill_chunk_tokens": self.chunk_tokens,
                "samples": self.samples or self.decode_tokens,
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


METHOD = ("prefill: passes of C prompt tokens (tokens = C, kv_len = 0, C, 2C, ...), the last "
          "with the LM head (logits = 1); decode step i: tokens = 1, kv_len = P + i; totals "
          "summed over every pass, piecewise-linear between the simulated ones (exact when "
          "every pass is simulated)")  # fmt: skip


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
    runner = _Runner(scenario, workload, spec, fidelity, hook)
    prefill = _prefill(runner)
    p, n = spec.prefill_tokens, spec.decode_tokens
    steps = spec.sampled(n)
    simulated = [runner.run("decode", 1, p + i) for i in steps]
    decode = Phase.summed("decode", [(steps, simulated)], n * spec.batch, runner.peak_gbps)
    return GenerationResult(scenario.name, runner.workload_name, fidelity, runner.precision,
                            scenario.precision.label, spec, prefill, decode)  # fmt: skip


def _prefill(runner: _Runner) -> Phase:
    """The prompt in chunks: all but the last without the LM head (their logits are not
    needed), alike and sampled; the last with it."""
    spec = runner.spec
    chunk, prompt = spec.chunk_tokens, spec.prefill_tokens
    body = (prompt - 1) // chunk  # whole chunks before the last pass
    groups = []
    if body:
        steps = spec.sampled(body)
        groups.append((steps, [runner.run("prefill", chunk, j * chunk, head=False)
                               for j in steps]))  # fmt: skip
    last = runner.run("prefill", prompt - body * chunk, body * chunk)
    groups.append(((0,), [last]))
    return Phase.summed("prefill", groups, prompt * spec.batch, runner.peak_gbps)


@dataclass
class _Runner:
    """Runs one pass at a time and remembers what every pass reports alike."""

    scenario: Scenario
    workload: str | Path
    spec: GenerateSpec
    fidelity: str
    hook: PassHook | None
    peak_gbps: float = 0.0
    workload_name: str = ""
    precision: dict[str, str] = field(default_factory=dict)

    def run(self, phase: str, tokens: int, kv_len: int, head: bool = True) -> Pass:
        """A pass over ``tokens`` new tokens per sequence after ``kv_len`` cached ones;
        ``head``: with the final norm and LM head (:func:`~.zoo.without_head`)."""
        started = time.perf_counter()
        params = {"tokens": tokens, "kv_len": kv_len, "logits": 1, "batch": self.spec.batch}
        loaded = load_workload(self.workload, params)
        loaded = loaded if head else without_head(loaded)
        # the per-layer SQNR would be measured again on every pass, to no use here
        result = simulate(self.scenario, loaded, self.fidelity, measure_quality=False)
        self.peak_gbps = result.dram_peak_gbps
        self.workload_name, self.precision = result.workload, dict(result.precision)
        if self.hook is not None:
            self.hook(phase, kv_len, time.perf_counter() - started)
        return Pass.of(kv_len, result, loaded)


def _check_decoder(workload: str | Path) -> None:
    from npusim.workload.loader import workload_header

    declared = workload_header(workload)["params"]
    missing = [name for name in DECODER_PARAMS if name not in declared]
    if missing:
        raise ConfigError(Problem("workload", f"{workload} is not a decoder pass: it needs the "
                                  f"parameters {', '.join(DECODER_PARAMS)} (missing "
                                  f"{', '.join(missing)}); see npusim/llm/zoo.py"))  # fmt: skip
