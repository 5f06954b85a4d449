"""Print the figures quoted in README.md, so they can be checked and regenerated.

    python tools/readme_figures.py            # all tables (several minutes: cycle fidelity)
    python tools/readme_figures.py gemv       # one table

Every number comes from ``npusim.simulate`` on bundled scenarios and workloads.
"""

from __future__ import annotations

import sys

from npusim.config import load_scenario
from npusim.simulate import simulate
from npusim.workload import Linear, Workload, load_workload

GEMV = Workload("gemv_4096", (Linear("gemv", in_features=4096, out_features=4096),))


def _uj(pj: float) -> str:
    return f"{pj / 1e6:.1f}"


def gemv() -> None:
    """The primer's 4x: one 4096 x 4096 GEMV, cycle fidelity, default scenario."""
    print("| precision | time (µs) | parameters/s | DRAM GB/s achieved | energy (µJ): total = "
          "MAC + SRAM + DRAM + static |\n| --- | ---: | ---: | ---: | --- |")  # fmt: skip
    times = {}
    for precision in ("fp32", "int8", "int4"):
        t = simulate(load_scenario(precision=precision), GEMV, "cycle").totals()
        e = t["energy_pj"]
        times[precision] = t["time_s"]
        print(f"| {precision.upper()} | {t['time_s'] * 1e6:.1f} | "
              f"{4096 * 4096 / t['time_s'] / 1e9:.1f} G | {t['dram_bandwidth_gbps']:.1f} of "
              f"{t['dram_peak_gbps']:.1f} | {_uj(e['total'])} = {_uj(e['mac'])} + "
              f"{_uj(e['sram'])} + {_uj(e['dram'])} + {_uj(e['static'])} |")  # fmt: skip
    analytic = {p: simulate(load_scenario(precision=p), GEMV, "analytic").totals()["time_s"]
                for p in ("fp32", "int8")}  # fmt: skip
    print(f"\nFP32/INT8 time: cycle {times['fp32'] / times['int8']:.2f}x, analytic "
          f"{analytic['fp32'] / analytic['int8']:.3f}x; INT8/INT4 "
          f"{times['int8'] / times['int4']:.2f}x")  # fmt: skip


def decode_block() -> None:
    """GPT-2 decode, first transformer block: memory-bound GEMVs per precision."""
    workload = load_workload("gpt2_decode")
    layers = tuple(layer for layer in workload.layers if layer.name.startswith("h0_"))
    block = Workload("gpt2_block0", layers)
    runs = {p: simulate(load_scenario(precision=p), block, "cycle")
            for p in ("fp32", "int8", "int4")}  # fmt: skip
    print("| layer | type | FP32 µs | INT8 µs | INT4 µs | FP32/INT8 | INT8/INT4 | bound (INT8) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for f, i8, i4 in zip(*(runs[p].layers for p in ("fp32", "int8", "int4")), strict=True):
        print(f"| {f.name} | {f.type} | {f.time_s * 1e6:.2f} | {i8.time_s * 1e6:.2f} | "
              f"{i4.time_s * 1e6:.2f} | {f.time_s / i8.time_s:.2f} | "
              f"{i8.time_s / i4.time_s:.2f} | {i8.bound} |")  # fmt: skip


def working_set() -> None:
    """A layer whose INT8 working set fits the 4 MiB SRAM and whose FP32 one does not."""
    layer = Workload("fits", (Linear("fc", in_features=2048, out_features=1024, tokens=512),))
    print(
        "| precision | DRAM read (MiB) | cache hit rate | time (µs) |\n| --- | ---: | ---: | ---: |"
    )
    reads = {}
    for precision in ("fp32", "int8"):
        result = simulate(load_scenario(precision=precision), layer, "cycle").layers[0]
        reads[precision] = result.dram_read_bytes
        print(f"| {precision.upper()} | {result.dram_read_bytes / 2**20:.2f} | "
              f"{result.cache_hit_rate:.1%} | {result.time_s * 1e6:.1f} |")  # fmt: skip
    print(f"\nFP32/INT8 DRAM traffic: {reads['fp32'] / reads['int8']:.2f}x")


def energy(workload_name: str = "resnet50") -> None:
    """Energy per inference by component, INT8 vs FP32, cycle fidelity."""
    workload = load_workload(workload_name)
    print("| precision | time (ms) | MAC (µJ) | SRAM (µJ) | DRAM (µJ) | static (µJ) | total (µJ) "
          "| DRAM read (MiB) | hit rate |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
          "| ---: |")  # fmt: skip
    for precision in ("fp32", "int8"):
        t = simulate(load_scenario(precision=precision), workload, "cycle").totals()
        e = t["energy_pj"]
        print(f"| {precision.upper()} | {t['time_s'] * 1e3:.3f} | {_uj(e['mac'])} | "
              f"{_uj(e['sram'])} | {_uj(e['dram'])} | {_uj(e['static'])} | {_uj(e['total'])} "
              f"| {t['dram_read_bytes'] / 2**20:.1f} | {t['cache_hit_rate']:.1%} |")  # fmt: skip


def granularity() -> None:
    """Layer-wise vs channel-wise scales, and calibration, on synthetic trained-like weights
    (per-channel scales spread about 7x, 0.1 % outliers: npusim.workload.tensors)."""
    from npusim.quant import QuantSpec, quantize
    from npusim.workload.tensors import layer_tensors

    workload = load_workload("resnet50")
    layer = next(layer for layer in workload.layers if layer.name == "conv4_1b")
    weights = layer_tensors(layer, workload, seed=0).weights
    print(
        f"Weights of ResNet-50 {layer.name} ({weights.shape[0]} x {weights.shape[1]}), "
        "symmetric, SQNR in dB:\n"
    )
    print("| bits | per-tensor min-max | per-channel min-max | per-channel MSE |")
    print("| ---: | ---: | ---: | ---: |")
    for bits in (8, 4, 2):
        row = [quantize(weights, QuantSpec(bits=bits, symmetric=True, granularity=g,
                                           calibration=c)).error.sqnr_db
               for g, c in (("per_tensor", "minmax"), ("per_channel", "minmax"),
                            ("per_channel", "mse"))]  # fmt: skip
        print(f"| {bits} | " + " | ".join(f"{v:.1f}" for v in row) + " |")


TABLES = {
    "granularity": granularity,
    "gemv": gemv,
    "decode": decode_block,
    "working_set": working_set,
    "energy": energy,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(TABLES):
        print(f"\n## {name}\n")
        TABLES[name]()
