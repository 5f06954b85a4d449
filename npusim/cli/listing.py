"""``npusim list``: bundled scenarios and workloads."""

from __future__ import annotations

import argparse

from npusim.config import bundled_scenarios, load_scenario
from npusim.report.table import format_table
from npusim.workload import Layer, bundled_workloads, load_workload


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "list",
        help="list bundled scenarios and workloads",
        description="List the scenarios in hw_configs/ and the workloads in workloads/.",
    )
    p.add_argument("--details", action="store_true",
                   help="also print each workload's layers, parameters and MACs")  # fmt: skip
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    print("Scenarios (hw_configs/):")
    rows = [[name, load_scenario(name).description] for name in bundled_scenarios()]
    print(format_table(["name", "description"], rows))
    print("\nWorkloads (workloads/):")
    workloads = [load_workload(name) for name in bundled_workloads()]
    rows = [
        [w.name, len(w.layers), f"{w.parameters / 1e6:.2f} M", f"{w.macs / 1e9:.3f} G",
         w.description]
        for w in workloads
    ]  # fmt: skip
    print(format_table(["name", "layers", "params", "MACs", "description"], rows))
    if args.details:
        for w in workloads:
            print(f"\n{w.name}:")
            rows = [[layer.name, layer.kind, _shape(layer), layer.weight_elements, layer.macs,
                     layer.vector_ops] for layer in w.layers]  # fmt: skip
            headers = ["layer", "type", "M x K x N", "params", "MACs", "vector ops"]
            print(format_table(headers, rows))
    return 0


def _shape(layer: Layer) -> str:
    gemm = layer.gemm()
    if gemm is None:
        return "vector unit"
    return f"{gemm.m}x{gemm.k}x{gemm.n}" + (f" x{gemm.groups}" if gemm.groups > 1 else "")
