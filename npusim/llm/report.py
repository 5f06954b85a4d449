"""The human-readable table of a generation run (stdout of ``npusim generate``)."""

from __future__ import annotations

from npusim.llm.generate import GenerationResult
from npusim.llm.kinds import LLM_KINDS
from npusim.llm.phase import Phase
from npusim.results import ENERGY_PARTS

MIB = 1024 * 1024


def _row(phase: Phase) -> list[str]:
    d = phase.as_dict()
    joules = d["energy_per_token_j"]
    energy = " + ".join(f"{joules[k] * 1e3:.3g}" for k in ENERGY_PARTS)
    return [
        phase.name,
        f"{phase.tokens}",
        f"{phase.time_s * 1e3:.3f}",
        f"{phase.tokens_per_s:.4g}",
        f"{100 * d['compute_bound_fraction']:.0f}%",
        f"{joules['total'] * 1e3:.4g} = {energy}",
        f"{phase.bytes_per_token / MIB:.4g}",
        f"{phase.achieved_gbps:.1f} of {phase.dram_peak_gbps:.1f}",
        f"{phase.limit_tokens_per_s:.4g} ({100 * d['fraction_of_limit']:.1f}%)",
    ]


def _bytes_row(phase: Phase) -> list[str]:
    per_token = {k: v / phase.tokens / MIB for k, v in phase.bytes_by_kind.items()}
    return [phase.name] + [f"{per_token[k]:.4g}" for k in LLM_KINDS]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def generation_text(result: GenerationResult) -> str:
    """Totals, one row per phase, and the DRAM bytes per token by kind."""
    spec = result.spec
    steps = len(result.decode.simulated)
    how = "every step" if steps == spec.decode_tokens else f"{steps} sampled steps"
    lines = [
        f"{result.workload} on {result.scenario}, {result.precision_label}, "
        f"{result.fidelity} fidelity: prefill {spec.prefill_tokens}, decode "
        f"{spec.decode_tokens} tokens x batch {spec.batch} ({how} simulated)",
        f"time to first token: {result.time_to_first_token_s * 1e3:.3f} ms; decode "
        f"{result.decode.tokens_per_s:.4g} tokens/s",
        "",
    ]
    header = ["phase", "tokens", "time (ms)", "tokens/s", "compute-bound",
              "mJ/token = MAC + SRAM + DRAM + static + PHY", "DRAM MiB/token",
              "DRAM GB/s", "limit tokens/s (reached)"]  # fmt: skip
    lines += _table(header, [_row(result.prefill), _row(result.decode)])
    lines.append("")
    lines += _table(["MiB/token", *LLM_KINDS], [_bytes_row(result.prefill),
                                                _bytes_row(result.decode)])  # fmt: skip
    return "\n".join(lines)
