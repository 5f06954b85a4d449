"""One phase of a generation run (the prefill, or the decode steps) and its per-token figures.

A :class:`Pass` is what one simulated workload pass cost; a :class:`Phase` is the sum of
the passes it stands for (the decode steps between sampled ones interpolated,
:mod:`npusim.llm.sampling`). Figures per token divide by the tokens the phase produces: the
prefill's prompt tokens (``P x batch``), the decode phase's generated tokens (``N x batch``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from npusim.llm.kinds import LLM_KINDS, llm_bytes_by_kind
from npusim.llm.sampling import sum_over_steps
from npusim.results import ENERGY_PARTS, Energy, RunResult
from npusim.workload import Workload


@dataclass(frozen=True)
class Pass:
    """One simulated pass: its KV length before the pass, time, the time of its layers that
    are compute-bound (``compute_bound_s``), energy by component (pJ), MACs, DRAM reads and
    writes and DRAM bytes by :data:`~.kinds.LLM_KINDS`."""

    kv_len: int
    time_s: float
    compute_bound_s: float
    macs: float
    energy_pj: Energy
    dram_read_bytes: float
    dram_write_bytes: float
    bytes_by_kind: Mapping[str, float]

    @classmethod
    def of(cls, kv_len: int, result: RunResult, workload: Workload) -> Pass:
        totals = result.totals()
        energy = Energy(**{part: totals["energy_pj"][part] for part in ENERGY_PARTS})
        kinds = {k: float(v) for k, v in llm_bytes_by_kind(result, workload).items()}
        compute = sum(layer.time_s for layer in result.layers if layer.bound == "compute")
        return cls(kv_len, totals["time_s"], compute, totals["macs"], energy,
                   totals["dram_read_bytes"], totals["dram_write_bytes"], kinds)  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {"kv_len": self.kv_len, "time_s": self.time_s,
                "compute_bound_s": self.compute_bound_s, "macs": self.macs,
                "energy_pj": self.energy_pj.as_dict(),
                "dram_read_bytes": self.dram_read_bytes,
                "dram_write_bytes": self.dram_write_bytes,
                "dram_bytes_by_kind": dict(self.bytes_by_kind)}  # fmt: skip


Group = tuple[Sequence[int], Sequence[Pass]]
"""Passes of one kind: the step indices simulated (from 0; the last is the group's last
step) and the pass simulated at each."""


@dataclass(frozen=True)
class Phase:
    """A phase's totals over ``passes`` passes producing ``tokens`` tokens; ``simulated``
    are the passes that ran (every one, or the sampled decode steps)."""

    name: str
    passes: int
    tokens: int
    time_s: float
    compute_bound_s: float
    macs: float
    energy_pj: Energy
    dram_read_bytes: float
    dram_write_bytes: float
    bytes_by_kind: Mapping[str, float]
    dram_peak_gbps: float
    simulated: tuple[Pass, ...] = field(default=())

    @classmethod
    def summed(cls, name: str, groups: Sequence[Group], tokens: int,
               peak_gbps: float) -> Phase:  # fmt: skip
        """The sum over ``groups``, each summed over every step ``0 .. steps[-1]`` from its
        passes simulated at step indices ``steps`` (piecewise-linear between them,
        :func:`sum_over_steps`)."""
        if any(steps[0] != 0 or len(steps) != len(sims) for steps, sims in groups):
            raise ValueError("each group starts at step 0 and has one pass per step index")

        def total(value: Any) -> float:
            return sum(sum_over_steps(steps, [value(p) for p in sims]) for steps, sims in groups)

        energy = Energy(*(total(lambda p, k=k: getattr(p.energy_pj, k)) for k in ENERGY_PARTS))
        kinds = {k: total(lambda p, k=k: p.bytes_by_kind[k]) for k in LLM_KINDS}
        passes = sum(steps[-1] + 1 for steps, _ in groups)
        simulated = tuple(p for _, sims in groups for p in sims)
        return cls(name, passes, tokens, total(lambda p: p.time_s),
                   total(lambda p: p.compute_bound_s), total(lambda p: p.macs),
                   energy, total(lambda p: p.dram_read_bytes),
                   total(lambda p: p.dram_write_bytes), kinds, peak_gbps,
                   simulated)  # fmt: skip

    @property
    def dram_bytes(self) -> float:
        return self.dram_read_bytes + self.dram_write_bytes

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.time_s

    @property
    def achieved_gbps(self) -> float:
        return self.dram_bytes / self.time_s / 1e9

    @property
    def bytes_per_token(self) -> float:
        return self.dram_bytes / self.tokens

    @property
    def limit_tokens_per_s(self) -> float:
        """The memory-bound limit: peak bandwidth / DRAM bytes per token."""
        return self.dram_peak_gbps * 1e9 / self.bytes_per_token

    @property
    def compulsory_limit_tokens_per_s(self) -> float:
        """Peak bandwidth / the bytes no schedule avoids (weights, KV read and write and
        their metadata; activations excluded): the limit of a perfect on-chip schedule."""
        compulsory = self.dram_bytes - self.bytes_by_kind["activations"]
        return self.dram_peak_gbps * 1e9 * self.tokens / compulsory

    def as_dict(self) -> dict[str, Any]:
        per_token_j = {k: v * 1e-12 / self.tokens for k, v in self.energy_pj.as_dict().items()}
        return {
            "passes": self.passes,
            "tokens": self.tokens,
            "time_s": self.time_s,
            "tokens_per_s": self.tokens_per_s,
            "compute_bound_fraction": self.compute_bound_s / self.time_s,
            "macs": self.macs,
            "energy_pj": self.energy_pj.as_dict(),
            "energy_per_token_j": per_token_j,
            "dram_read_bytes": self.dram_read_bytes,
            "dram_write_bytes": self.dram_write_bytes,
            "dram_bytes_by_kind": dict(self.bytes_by_kind),
            "dram_bytes_per_token": self.bytes_per_token,
            "dram_bytes_per_token_by_kind": {k: v / self.tokens
                                             for k, v in self.bytes_by_kind.items()},
            "dram_bandwidth_gbps": self.achieved_gbps,
            "dram_peak_gbps": self.dram_peak_gbps,
            "bandwidth_fraction": self.achieved_gbps / self.dram_peak_gbps,
            "limit_tokens_per_s": self.limit_tokens_per_s,
            "fraction_of_limit": self.tokens_per_s / self.limit_tokens_per_s,
            "compulsory_limit_tokens_per_s": self.compulsory_limit_tokens_per_s,
            "simulated": [p.as_dict() for p in self.simulated],
        }  # fmt: skip
