"""The README tables of one unit's model alone, for tools/readme_figures.py (which runs them
by name): MAC energy and area per format, the MAC array's area and cycles, the quantizer's
granularity and calibration, the LPDDR5 channel's bandwidth per access pattern.

Each prints a Markdown table; none runs a whole simulation.
"""

from __future__ import annotations

from npusim.workload import load_workload


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
