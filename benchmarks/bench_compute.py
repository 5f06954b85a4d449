"""Benchmark: closed-form MAC-array timing of a whole ResNet-50 (54 conv/FC layers).

Plain script (``python benchmarks/bench_compute.py``); not collected by pytest. Prints the
wall time per network for each dataflow and the model's own figures (cycles, utilization,
MAC energy, array area) for INT8 vs FP32. Target (issue 6): a whole ResNet-50 in milliseconds;
the ratio column is measured / 10 ms.
"""

from __future__ import annotations

import time

from npusim.compute.params import ArrayParams
from npusim.compute.run import run_layers
from npusim.workload.layers import Conv2d, Linear

TARGET_MS = 10.0
REPEATS = 200


def resnet50() -> list[Conv2d | Linear]:
    """torchvision ResNet-50 v1.5 (stride on the 3x3), 224x224, batch 1: 53 convs + FC."""
    layers: list[Conv2d | Linear] = [Conv2d("conv1", 224, 224, 3, 64, 7, 7, stride=2, padding=3)]
    size, channels = 56, 64
    for stage, (blocks, mid, stride) in enumerate(
        [(3, 64, 1), (4, 128, 2), (6, 256, 2), (3, 512, 2)], start=2
    ):
        out = 4 * mid
        for block in range(blocks):
            s = stride if block == 0 else 1
            name = f"conv{stage}_{block}"
            layers.append(Conv2d(f"{name}_a", size, size, channels, mid, 1, 1))
            layers.append(Conv2d(f"{name}_b", size, size, mid, mid, 3, 3, stride=s, padding=1))
            out_size = layers[-1].out_h
            layers.append(Conv2d(f"{name}_c", out_size, out_size, mid, out, 1, 1))
            if block == 0:
                layers.append(Conv2d(f"{name}_down", size, size, channels, out, 1, 1, stride=s))
            size, channels = out_size, out
    layers.append(Linear("fc", 2048, 1000))
    return layers


def main() -> None:
    layers = resnet50()
    print(f"ResNet-50: {len(layers)} layers, {sum(x.gemm().macs for x in layers) / 1e9:.3f} GMACs")
    print(f"{'dataflow':>8} {'precision':>9} {'ms/network':>10} {'vs 10 ms':>8} "
          f"{'cycles':>12} {'mac_util':>8} {'energy_uJ':>10} {'area_mm2':>8}")  # fmt: skip
    for dataflow in ("os", "ws", "is"):
        params = ArrayParams(rows=32, cols=32, dataflow=dataflow)
        for precision in ("int8", "fp32"):
            start = time.perf_counter()
            for _ in range(REPEATS):
                result = run_layers(layers, params, precision)
            ms = (time.perf_counter() - start) * 1e3 / REPEATS
            t = result.totals
            print(
                f"{dataflow:>8} {precision:>9} {ms:>10.3f} {ms / TARGET_MS:>8.3f} "
                f"{int(t['compute_cycles']):>12} {t['mac_utilization']:>8.4f} "
                f"{t['mac_energy_pj'] / 1e6:>10.1f} {result.area_mm2:>8.3f}"
            )


if __name__ == "__main__":
    main()
