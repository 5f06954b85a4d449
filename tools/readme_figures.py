"""Regenerate every figure README.md shows: print its tables, redraw its images.

    python tools/readme_figures.py            # everything (several minutes: cycle fidelity)
    python tools/readme_figures.py gemv dram  # some of them (names: see TABLES)

Tables are printed in README order as Markdown, to paste in place of the README's; the
``plots`` entry redraws the images under ``reports/examples/`` (the README's pictures). Every
number comes from npusim itself on bundled scenarios and workloads (the tables of one unit's
model alone, such as the DRAM table from the LPDDR5 model and the calibration tables from the
quantizer, are in tools/readme_unit_tables.py beside this script). The speed tables are
measured by ``benchmarks/bench_*.py`` (the README names each), not here: they depend on the
machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

from npusim.config import load_scenario
from npusim.results import ENERGY_PARTS, RunResult
from npusim.simulate import simulate
from npusim.workload import Linear, Workload, load_workload

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_unit_tables import area, calibration, dram, granularity, mac_formats  # beside us

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
    # Each sweep draws every plot; the README shows some of one sweep's (those already in
    # examples/) and only the frame energy of the frame sweep, whose roofline, energy and
    # SQNR plots would otherwise replace the bit-width sweep's of the same names.
    for sweep, shown in (("bitwidth", ""), ("frame_rate", "frame_energy")):
        with tempfile.TemporaryDirectory() as tmp:
            run_sweep(sweep, tmp, jobs=2, report=False)
            for plot in write_plots(tmp):
                target = examples / Path(plot.png).name
                if target.exists() and target.name.startswith(shown):
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
