"""Regenerate every figure README.md shows: print its tables, redraw its images.

    python tools/readme_figures.py            # everything (several minutes: cycle fidelity)
    python tools/readme_figures.py gemv dram  # some of them (names: see TABLES)

Tables are printed in README order as Markdown, to paste in place of the README's; the
``plots`` entry redraws the images under ``reports/examples/`` (the README's pictures). Every
number comes from npusim itself on bundled scenarios and workloads (the DRAM table from the
LPDDR5 model alone, the calibration tables from the quantizer alone). The speed tables are
measured by ``benchmarks/bench_*.py`` (the README names each), not here: they depend on the
machine.
"""

from __future__ import annotations

import sys

from npusim.config import load_scenario
from npusim.results import ENERGY_PARTS, RunResult
from npusim.simulate import simulate
from npusim.workload import Linear, Workload, load_workload

GEMV = Workload("gemv_4096", (Linear("gemv", in_features=4096, out_features=4096),))


def _uj(pj: float) -> str:
    return f"{pj / 1e6:.1f}"


def gemv() -> None:
    """The primer's 4x: one 4096 x 4096 GEMV, cycle fidelity, default scenario."""
    print("| precision | time (µs) | parameters/s | DRAM GB/s achieved | energy (µJ): total = "
          "MAC + SRAM + DRAM + static + PHY |\n| --- | ---: | ---: | ---: | --- |")  # fmt: skip
    times = {}
    for precision in ("fp32", "int8", "int4"):
        t = simulate(load_scenario(precision=precision), GEMV, "cycle").totals()
        e = t["energy_pj"]
        times[precision] = t["time_s"]
        print(f"| {precision.upper()} | {t['time_s'] * 1e6:.1f} | "
              f"{4096 * 4096 / t['time_s'] / 1e9:.1f} G | {t['dram_bandwidth_gbps']:.1f} of "
              f"{t['dram_peak_gbps']:.1f} | {_uj(e['total'])} = "
              f"{' + '.join(_uj(e[part]) for part in ENERGY_PARTS)} |")  # fmt: skip
    analytic = {p: simulate(load_scenario(precision=p), GEMV, "analytic").totals()["time_s"]
                for p in ("fp32", "int8")}  # fmt: skip
    print(f"\nFP32/INT8 time: cycle {times['fp32'] / times['int8']:.2f}x, analytic "
          f"{analytic['fp32'] / analytic['int8']:.3f}x; INT8/INT4 "
          f"{times['int8'] / times['int4']:.2f}x")  # fmt: skip


def decode_block() -> None:
    """GPT-2 decode, first transformer block: memory-bound GEMVs per precision."""
    workload = load_workload("gpt2_decode")
    layers = tuple(layer for layer in workload.layers if layer.name.startswith("h0_"))
    names = {layer.name for layer in layers} | {"input"}
    # the block's own edges; what it reads from before the block comes from DRAM
    inputs = {n: tuple(t for t in workload.inputs[n] if t in names) for n in names - {"input"}}
    block = Workload("gpt2_block0", layers, inputs=inputs)
    runs = {p: simulate(load_scenario(precision=p), block, "cycle")
            for p in ("fp32", "int8", "int4")}  # fmt: skip
    print("| layer | type | FP32 µs | INT8 µs | INT4 µs | FP32/INT8 | INT8/INT4 | bound (INT8) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for f, i8, i4 in zip(*(runs[p].layers for p in ("fp32", "int8", "int4")), strict=True):
        if f.type not in ("linear", "matmul"):
            continue  # vector layers take well under a microsecond here
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
    print("| precision | time (ms) | MAC (µJ) | SRAM (µJ) | DRAM (µJ) | static (µJ) | PHY (µJ) "
          "| total (µJ) | DRAM read (MiB) | hit rate |\n| --- | ---: | ---: | ---: | ---: | ---: "
          "| ---: | ---: | ---: | ---: |")  # fmt: skip
    for precision in ("fp32", "int8"):
        t = simulate(load_scenario(precision=precision), workload, "cycle").totals()
        e = t["energy_pj"]
        parts = " | ".join(_uj(e[part]) for part in ENERGY_PARTS)
        print(f"| {precision.upper()} | {t['time_s'] * 1e3:.3f} | {parts} | {_uj(e['total'])} "
              f"| {t['dram_read_bytes'] / 2**20:.1f} | {t['cache_hit_rate']:.1%} |")  # fmt: skip


def ratios() -> None:
    """FP32/INT8 and INT8/INT4 time and energy ratios of whole networks, cycle fidelity,
    default scenario (the issue-14 acceptance table's "after" columns)."""
    print("| network | FP32/INT8 time | INT8/INT4 time | FP32/INT8 energy | INT8/INT4 energy "
          "| INT8 energy (mJ): MAC + SRAM + DRAM + static + PHY |\n"
          "| --- | ---: | ---: | ---: | ---: | --- |")  # fmt: skip
    for name in ("resnet50", "mobilenet_v2", "gpt2_decode"):
        workload = load_workload(name)
        t = {p: simulate(load_scenario(precision=p), workload, "cycle").totals()
             for p in ("fp32", "int8", "int4")}  # fmt: skip
        time = {p: t[p]["time_s"] for p in t}
        energy = {p: t[p]["energy_pj"]["total"] for p in t}
        e8 = t["int8"]["energy_pj"]
        parts = " + ".join(f"{e8[k] / 1e9:.2f}" for k in ENERGY_PARTS)
        print(f"| {name} | {time['fp32'] / time['int8']:.2f} | {time['int8'] / time['int4']:.2f} "
              f"| {energy['fp32'] / energy['int8']:.2f} | {energy['int8'] / energy['int4']:.2f} "
              f"| {e8['total'] / 1e9:.2f} = {parts} |")  # fmt: skip


MICROSCALING = ("fp32", "int8", "mxint8", "mxfp8_e4m3", "mxfp6_e2m3", "mxfp4_e2m1", "nvfp4",
                "int4")  # fmt: skip
"""sweeps/microscaling.yaml's precisions."""


def microscaling() -> None:
    """Plain and block-scaled precisions on ResNet-50 and GPT-2 decode, analytic (the bundled
    sweep sweeps/microscaling.yaml's points): time, DRAM bytes, energy and weight SQNR."""
    import statistics

    print("| network | precision | bits per element | time (ms) | DRAM (MB) | energy (mJ) "
          "| MAC + SRAM + DRAM + static + PHY (mJ) | weight SQNR (dB, median) |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |")  # fmt: skip
    for name in ("resnet50", "gpt2_decode"):
        workload = load_workload(name)
        for precision in MICROSCALING:
            run = simulate(load_scenario(precision=precision), workload, "analytic")
            t, e = run.totals(), run.totals()["energy_pj"]
            moved = t["dram_read_bytes"] + t["dram_write_bytes"]
            sqnr = [layer.extra["weight_sqnr_db"] for layer in run.layers
                    if layer.extra.get("weight_sqnr_db") is not None]  # fmt: skip
            parts = " + ".join(f"{e[k] / 1e9:.2f}" for k in ENERGY_PARTS)
            median = f"{statistics.median(sqnr):.1f}" if sqnr else "exact"
            print(f"| {name} | {precision} | {_bits_per_element(precision)} "
                  f"| {t['time_s'] * 1e3:.3f} | {moved / 1e6:.1f} | {e['total'] / 1e9:.2f} "
                  f"| {parts} | {median} |")  # fmt: skip


def _bits_per_element(precision: str) -> str:
    from npusim.precision import PRECISIONS

    return f"{PRECISIONS[precision].bits_per_element:g}"


def mac_formats() -> None:
    """Energy and area of one MAC per format from parts (npusim/compute/energy.py), 45 nm,
    each format's default accumulator, and their ratio to INT8."""
    from npusim.compute.energy import DEFAULT_ACCUMULATOR, mac_cost

    int8 = mac_cost("int8")
    print("| format | accumulator | pJ | x INT8 | um^2 | x INT8 |\n"
          "| --- | --- | ---: | ---: | ---: | ---: |")  # fmt: skip
    for name in ("int4", "int8", "fp8_e5m2", "fp8_e4m3", "bf16", "fp16", "fp32", "mxint8",
                 "mxfp8_e4m3", "mxfp6_e2m3", "mxfp4_e2m1", "nvfp4"):  # fmt: skip
        cost = mac_cost(name)
        print(f"| {name} | {DEFAULT_ACCUMULATOR[name]} | {cost.energy_pj:.3g} "
              f"| {cost.energy_pj / int8.energy_pj:.2f} | {cost.area_um2:,.0f} "
              f"| {cost.area_um2 / int8.area_um2:.2f} |")  # fmt: skip


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


def area() -> None:
    """The MAC array's area next to its cycles, INT8 vs FP32 on the same 32 x 32 array."""
    from npusim.compute.params import DEFAULT_MACS_PER_PE_PER_CYCLE, ArrayParams
    from npusim.compute.run import run_layers
    from npusim.workload.layers import Gemm

    params = ArrayParams(rows=32, cols=32, dataflow="os",
                         macs_per_pe_per_cycle=DEFAULT_MACS_PER_PE_PER_CYCLE)  # fmt: skip
    runs = {p: run_layers([("gemm", Gemm(m=128, k=768, n=768))], params, p)
            for p in ("int8", "fp32")}  # fmt: skip
    summary = {p: run.to_dict() for p, run in runs.items()}
    for precision, data in summary.items():
        print(f"32 x 32 {precision}: MAC area {data['array']['area_mm2']:.3g} mm^2, "
              f"{data['totals']['compute_cycles']} cycles for a 128 x 768 x 768 GEMM")  # fmt: skip
    ratio = (
        summary["fp32"]["totals"]["compute_cycles"] / summary["int8"]["totals"]["compute_cycles"]
    )
    print(f"FP32/INT8 cycles: {ratio:.2f}x")


def calibration() -> None:
    """Rounding vs clipping: 100k Laplace values, 0.1 % outliers at 20 sigma, symmetric
    per-tensor (the data of tests/test_quant_calibration.py)."""
    import numpy as np

    from npusim.quant import QuantSpec, quantize

    rng = np.random.default_rng(2026)
    x = rng.laplace(0.0, 1.0, 100_000)
    outliers = rng.choice(x.size, x.size // 1000, replace=False)
    x[outliers] = rng.choice([-1.0, 1.0], outliers.size) * 20.0 * np.sqrt(2.0)
    x = x.astype(np.float32)
    print("| calibration | INT4 SQNR dB | INT4 clipped % | INT8 SQNR dB |\n|---|---|---|---|")
    rows = (("min-max", {"calibration": "minmax"}),
            ("percentile 99.99", {"calibration": "percentile", "percentile": 99.99}),
            ("percentile 99.9", {"calibration": "percentile", "percentile": 99.9}),
            ("entropy (KL)", {"calibration": "entropy"}),
            ("MSE search", {"calibration": "mse"}))  # fmt: skip
    for label, options in rows:
        int4 = quantize(x, QuantSpec(bits=4, symmetric=True, **options)).error
        int8 = quantize(x, QuantSpec(bits=8, symmetric=True, **options)).error
        print(f"| {label} | {int4.sqnr_db:.2f} | {int4.fraction_clipped * 100:.3f} | "
              f"{int8.sqnr_db:.2f} |")  # fmt: skip


def dram() -> None:
    """One x16 LPDDR5-6400 channel (peak 12.8 GB/s), 100k 32 B reads per access pattern."""
    import numpy as np

    from npusim.dram import DramParams, DramSystem

    n, burst = 100_000, 32
    sequential = np.arange(n, dtype=np.uint64) * burst
    randoms = np.random.default_rng(7).integers(0, (1 << 30) // burst, n).astype(np.uint64)
    # RoBaCoBgCh: 2^15 B apart is the next row of the same bank (8 Gb: 2^15 rows per bank)
    row_stride = (np.arange(n, dtype=np.uint64) % (1 << 15)) * (1 << 15)

    def gbps(addresses: np.ndarray, **params: object) -> float:
        system = DramSystem(DramParams(**params))
        system.serve(addresses, False, 0)
        return system.stats().total.achieved_gbps

    print("| access pattern | GB/s |\n|---|---|")
    rows = (("sequential, default mapping", sequential, {}),
            ("same, refresh off", sequential, {"refresh": "off"}),
            ("same, per-bank refresh", sequential, {"refresh": "per-bank"}),
            ("one bank group (`BgRoBaCoCh`)", sequential, {"mapping": "BgRoBaCoCh"}),
            ("closed page, sequential", sequential, {"page_policy": "closed"}),
            ("stride of one row in one bank", row_stride, {}),
            ("uniform random reads, open", randoms * burst, {}),
            ("uniform random reads, closed page", randoms * burst,
             {"page_policy": "closed"}))  # fmt: skip
    for label, addresses, params in rows:
        print(f"| {label} | {gbps(addresses, **params):.2f} |")
    four = gbps(np.arange(4 * n, dtype=np.uint64) * burst, channels=4)
    print(f"| 4 channels, sequential | {four:.1f} of 51.2 |")


def sweep() -> None:
    """The bit-width sweep's quoted figures (analytic, sweeps/bitwidth.yaml's scenario)."""
    gpt2, resnet = load_workload("gpt2_decode"), load_workload("resnet50")
    for precision in ("fp32", "int8", "binary"):
        scenario = load_scenario(overrides=["sram.capacity=1 MiB"], precision=precision)
        t = simulate(scenario, gpt2, "analytic").totals()
        print(f"gpt2_decode, 1 MiB SRAM, {precision}: {t['dram_read_bytes'] / 2**20:.1f} MiB "
              f"read in {t['time_s'] * 1e3:.2f} ms")  # fmt: skip
    for precision in ("fp32", "int8"):
        for capacity in ("1 MiB", "4 MiB"):
            scenario = load_scenario(overrides=[f"sram.capacity={capacity}"],
                                     precision=precision)  # fmt: skip
            e = simulate(scenario, resnet, "analytic").totals()["energy_pj"]["total"]
            print(f"resnet50, {capacity} SRAM, {precision}: {e / 1e9:.1f} mJ per inference")


def plots() -> None:
    """Redraw reports/examples/: a default `npusim run` (cycle), the bit-width and frame sweeps."""
    import shutil
    import tempfile
    from pathlib import Path

    from npusim.report.plots import write_plots
    from npusim.report.residency_plots import plot_sram_occupancy
    from npusim.report.run_plots import run_plots
    from npusim.sweep import run_sweep

    examples = Path(__file__).resolve().parents[1] / "reports" / "examples"
    scenario = load_scenario()
    result = simulate(scenario, load_workload(scenario.workload), "cycle")
    for name, content in run_plots(result).items():
        if name.endswith(".png") and not name.startswith("sram_occupancy"):
            (examples / f"run_{name}").write_bytes(content)
    # SRAM occupancy says most for a whole network: ResNet-50 on the default scenario
    whole = simulate(scenario, load_workload("resnet50"), "cycle")
    occupancy = plot_sram_occupancy(whole, "sram_occupancy")["sram_occupancy.png"]
    (examples / "run_sram_occupancy.png").write_bytes(occupancy)
    for sweep in ("bitwidth", "frame_rate"):
        with tempfile.TemporaryDirectory() as tmp:
            run_sweep(sweep, tmp, jobs=2, report=False)
            for plot in write_plots(tmp):
                target = examples / Path(plot.png).name
                if target.exists():  # the README shows these; the others stay in the sweep
                    shutil.copy(Path(tmp) / plot.png, target)
    print(f"redrew {examples}")


def residency() -> None:
    """Whole networks in the SRAM: DRAM traffic vs SRAM size, INT8 and FP32, both SRAM
    modes, cycle fidelity, default scenario otherwise."""
    print("| network | precision | SRAM | mode | DRAM read (MiB) | DRAM write (MiB) | "
          "activation DRAM (MiB) | spilled (MiB) | activations on chip | time (ms) |\n"
          "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")  # fmt: skip
    ratio = {}
    for name in ("resnet50", "mobilenet_v2"):
        workload = load_workload(name)
        for precision in ("int8", "fp32"):
            for capacity, mode in (("1 MiB", "cache"), ("4 MiB", "cache"),
                                   ("4 MiB", "scratchpad"), ("16 MiB", "cache")):  # fmt: skip
                scenario = load_scenario(precision=precision, overrides=[
                    f"sram.capacity={capacity}", f"sram.mode={mode}"])  # fmt: skip
                t = simulate(scenario, workload, "cycle").totals()
                kinds, mib = t["dram_bytes_by_kind"], 2**20
                moved = kinds["input_read"] + kinds["output_write"] + kinds["spill_write"]
                asked = t["activation_onchip_bytes"] + kinds["input_read"]
                if capacity == "4 MiB" and mode == "cache":
                    ratio[(name, precision)] = t["dram_read_bytes"] + t["dram_write_bytes"]
                print(f"| {name} | {precision.upper()} | {capacity} | {mode} | "
                      f"{t['dram_read_bytes'] / mib:.1f} | {t['dram_write_bytes'] / mib:.1f} | "
                      f"{moved / mib:.1f} | {kinds['spill_write'] / mib:.1f} | "
                      f"{t['activation_onchip_bytes'] / max(asked, 1):.1%} | "
                      f"{t['time_s'] * 1e3:.3f} |")  # fmt: skip
    for name in ("resnet50", "mobilenet_v2"):
        print(
            f"\n{name} FP32/INT8 DRAM traffic at 4 MiB (cache): "
            f"{ratio[(name, 'fp32')] / ratio[(name, 'int8')]:.2f}x"
        )


def io_bits() -> None:
    """DRAM I/O energy priced from the quantized tensors' own bytes (dram.io_energy: data),
    analytic fidelity (the same pricing as cycle), default scenario, with and without DBI."""
    print("| network | precision | DBI | weight toggles/bit | activation toggles/bit | "
          "I/O pJ per DRAM byte (flat: 4.0) | DRAM I/O µJ |\n"
          "| --- | --- | --- | ---: | ---: | ---: | ---: |")  # fmt: skip
    for name in ("resnet50", "gpt2_decode"):
        workload = load_workload(name)
        for precision in ("fp32", "fp16", "int8", "int4"):
            flat = simulate(load_scenario(precision=precision), workload, "analytic").totals()
            moved = flat["dram_read_bytes"] + flat["dram_write_bytes"]
            for dbi in ("false", "true"):
                overrides = ["dram.io_energy=data", f"dram.dbi={dbi}"]
                run = simulate(load_scenario(precision=precision, overrides=overrides),
                               workload, "analytic")  # fmt: skip
                io_pj = 4.0 * moved + run.totals()["energy_pj"]["dram"] - flat["energy_pj"]["dram"]
                weight, act = (_mean_rate(run, kind) for kind in ("weight", "input"))
                label = "on" if dbi == "true" else "off"
                print(f"| {name} | {precision.upper()} | {label} | {weight:.3f} | {act:.3f} | "
                      f"{io_pj / moved:.2f} | {_uj(io_pj)} |")  # fmt: skip


def _mean_rate(run: RunResult, kind: str) -> float:
    """Mean toggles per bit of a tensor kind over the layers that measured it."""
    rates = [layer.extra[f"{kind}_io_toggles_per_bit"] for layer in run.layers
             if f"{kind}_io_toggles_per_bit" in layer.extra]  # fmt: skip
    return sum(rates) / len(rates) if rates else 0.0


TABLES = {
    "gemv": gemv,
    "decode": decode_block,
    "working_set": working_set,
    "energy": energy,
    "ratios": ratios,
    "microscaling": microscaling,
    "mac_formats": mac_formats,
    "residency": residency,
    "area": area,
    "calibration": calibration,
    "granularity": granularity,
    "sweep": sweep,
    "dram": dram,
    "io_bits": io_bits,
    "plots": plots,
}

if __name__ == "__main__":
    unknown = [name for name in sys.argv[1:] if name not in TABLES]
    if unknown:
        sys.exit(f"unknown table {', '.join(unknown)}; choose from {', '.join(TABLES)}")
    for name in sys.argv[1:] or list(TABLES):
        print(f"\n## {name}\n")
        TABLES[name]()
