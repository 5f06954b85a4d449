"""Print the README's "On-device LLM inference" tables (markdown), each from generation runs.

    python tools/llm_readme.py precision   # INT8/INT4 weights and KV caches, 1B and 8B, 2K/32K
    python tools/llm_readme.py batch       # batch 1 .. 64 decode: where it turns compute-bound
    python tools/llm_readme.py cycle       # cycle vs analytic fidelity for the 1B at 2K

Every number is a :func:`npusim.llm.generate.run_generate` run; the fidelity is in each table.
"""

from __future__ import annotations

import sys
import time

from npusim.config import load_scenario
from npusim.llm.generate import GenerateSpec, GenerationResult, run_generate
from npusim.results import ENERGY_PARTS

SCENARIOS = {"default": "lpddr5_51gbps_4mib", "mobile": "mobile_npu_51gbps_8mib"}
MODELS = {"1B": "llama3_2_1b", "8B": "llama3_1_8b"}
CONTEXTS = (2048, 32768)
DECODE_TOKENS = 64
CHUNK = 512  # prompt tokens per prefill pass
# INT4 weights as on-device runtimes ship them: groups of 128 along K with FP16 scales
G128 = ["quantization.granularity=per_group", "quantization.group_size=128",
        "quantization.scale_format=fp16"]  # fmt: skip
# label -> (--precision, --set): weights / activations / KV cache
CONFIGS = {
    "FP16 / FP16 / FP16": ("fp16", []),
    "INT8 / INT8 / INT8": ("int8", []),
    "INT8 / INT8 / INT4": ("int8", ["precision.kv_cache=int4"]),
    "INT4 g128 / INT8 / INT8": ("int8", ["precision.weights=int4", *G128]),
    "INT4 g128 / INT8 / INT4": ("int8", ["precision.weights=int4", "precision.kv_cache=int4",
                                         *G128]),
    "INT4 g128 / FP16 / FP16": ("fp16", ["precision.weights=int4", *G128]),
}  # fmt: skip
MIB = 1024 * 1024


def _run(scenario: str, model: str, precision: str, overrides: list[str], spec: GenerateSpec,
         fidelity: str) -> tuple[GenerationResult, float]:  # fmt: skip
    started = time.perf_counter()
    loaded = load_scenario(scenario, overrides, precision=precision)
    result = run_generate(loaded, model, spec, fidelity)
    return result, time.perf_counter() - started


def _mj(result: GenerationResult) -> str:
    e = result.decode.as_dict()["energy_per_token_j"]
    parts = " + ".join(f"{e[k] * 1e3:.1f}" for k in ENERGY_PARTS)
    return f"{e['total'] * 1e3:.1f} = {parts}"


def precision_table() -> None:
    print("| scenario | model | context | weights / act. / KV | TTFT (s) | decode tok/s | "
          "limit tok/s | decode mJ/token = MAC + SRAM + DRAM + static + PHY | MiB/token: "
          "weights + scales, KV | wall (s) |")  # fmt: skip
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | --- | --- | ---: |")
    for tag, scenario in SCENARIOS.items():
        for size, model in MODELS.items():
            for context in CONTEXTS:
                spec = GenerateSpec(context, DECODE_TOKENS, samples=3, prefill_chunk=CHUNK)
                for label, (precision, overrides) in CONFIGS.items():
                    r, wall = _run(scenario, model, precision, overrides, spec, "analytic")
                    kinds = r.decode.bytes_by_kind
                    weights = (kinds["weights"] + kinds["metadata"]) / r.decode.tokens / MIB
                    kv = (kinds["kv_read"] + kinds["kv_write"]) / r.decode.tokens / MIB
                    print(f"| {tag} | {size} | {context // 1024}K | {label} | "
                          f"{r.time_to_first_token_s:.2f} | {r.decode.tokens_per_s:.1f} | "
                          f"{r.decode.limit_tokens_per_s:.1f} | {_mj(r)} | "
                          f"{weights:.0f}, {kv:.0f} | {wall:.1f} |", flush=True)  # fmt: skip


def batch_table() -> None:
    print(
        "| scenario | weights | batch | decode tok/s | step (ms) | compute-bound | MAC "
        "utilization | mJ/token | weights MiB/token | KV MiB/token | limit tok/s |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tag, scenario in SCENARIOS.items():
        for label in ("INT8 / INT8 / INT8", "INT4 g128 / INT8 / INT8"):
            precision, overrides = CONFIGS[label]
            for batch in (1, 4, 16, 64):
                spec = GenerateSpec(512, 16, batch=batch, samples=2)
                r, _ = _run(scenario, MODELS["1B"], precision, overrides, spec, "analytic")
                d, kinds = r.decode, r.decode.bytes_by_kind
                peak_macs = _peak_macs_per_s(scenario)
                print(f"| {tag} | {label.split(' / ')[0]} | {batch} | {d.tokens_per_s:.1f} | "
                      f"{d.time_s / d.passes * 1e3:.2f} | {d.compute_bound_s / d.time_s:.0%} | "
                      f"{d.macs / d.time_s / peak_macs:.1%} | "
                      f"{d.as_dict()['energy_per_token_j']['total'] * 1e3:.1f} | "
                      f"{kinds['weights'] / d.tokens / MIB:.1f} | "
                      f"{kinds['kv_read'] / d.tokens / MIB:.1f} | "
                      f"{d.limit_tokens_per_s:.1f} |", flush=True)  # fmt: skip


def _peak_macs_per_s(scenario: str) -> float:
    s = load_scenario(scenario)
    return s.array.rows * s.array.cols * s.clock_hz


def cycle_table() -> None:
    print("| scenario | weights / act. / KV | fidelity | TTFT (ms) | decode tok/s | "
          "decode mJ/token | DRAM GB/s (of 51.2) | wall (s) |")  # fmt: skip
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    spec = GenerateSpec(2048, DECODE_TOKENS, samples=2, prefill_chunk=CHUNK)
    for tag, scenario in SCENARIOS.items():
        for label in ("INT8 / INT8 / INT8", "INT4 g128 / INT8 / INT8"):
            precision, overrides = CONFIGS[label]
            for fidelity in ("analytic", "cycle"):
                r, wall = _run(scenario, MODELS["1B"], precision, overrides, spec, fidelity)
                print(f"| {tag} | {label} | {fidelity} | {r.time_to_first_token_s * 1e3:.1f} | "
                      f"{r.decode.tokens_per_s:.2f} | {_mj(r)} | "
                      f"{r.decode.achieved_gbps:.1f} | {wall:.0f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    tables = {"precision": precision_table, "batch": batch_table, "cycle": cycle_table}
    for name in sys.argv[1:] or list(tables):
        tables[name]()
