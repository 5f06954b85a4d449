"""``npusim array``: time GEMMs or a SCALE-Sim topology on the MAC array (closed forms)."""

from __future__ import annotations

import argparse
import json
import sys

from npusim.compute.params import DEFAULT_MACS_PER_PE_PER_CYCLE, ArrayParams
from npusim.compute.run import ArrayRun, run_layers
from npusim.workload.layers import Gemm
from npusim.workload.scalesim import load_topology

_COLUMNS = (
    ("layer", 16),
    ("M", 7),
    ("K", 6),
    ("N", 6),
    ("groups", 6),
    ("compute_cycles", 14),
    ("folds", 7),
    ("mapping_eff", 11),
    ("mac_util", 8),
    ("input_rd_B", 11),
    ("weight_rd_B", 11),
    ("out_wr_B", 10),
    ("psum_rd_B", 10),
    ("mac_energy_nJ", 13),
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "array",
        help="compute cycles, folds, utilization, SRAM traffic, energy of the MAC array",
        description=(
            "Time GEMMs on a rows x cols systolic array with the SCALE-Sim formulas "
            "(cycles printed as occupied cycles; SCALE-Sim prints one less)."
        ),
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--gemm", nargs=3, type=int, metavar=("M", "K", "N"), help="one GEMM")
    source.add_argument("--topology", metavar="FILE.csv", help="SCALE-Sim topology CSV")
    p.add_argument("--form", default="auto", choices=("auto", "conv", "gemm"), help="CSV form")
    p.add_argument("--rows", type=int, default=32)
    p.add_argument("--cols", type=int, default=32)
    p.add_argument("--dataflow", default="ws", help="os, ws or is (default ws)")
    p.add_argument("--precision", default="int8", help="operand precision (default int8)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=run)


def _table(result: ArrayRun) -> str:
    header = " ".join(f"{name:>{width}}" for name, width in _COLUMNS)
    lines = [header]
    for name, s in [*result.layers]:
        values = (
            name[:16],
            s.m,
            s.k,
            s.n,
            s.groups,
            s.compute_cycles,
            s.folds,
            f"{s.mapping_efficiency:.4f}",
            f"{s.mac_utilization:.4f}",
            s.input_read_bytes,
            s.weight_read_bytes,
            s.output_write_bytes,
            s.output_read_bytes,
            f"{s.mac_energy_pj / 1e3:.2f}",
        )
        lines.append(" ".join(f"{v:>{w}}" for v, (_, w) in zip(values, _COLUMNS, strict=True)))
    t = result.totals
    a = result.to_dict()["array"]
    lines.append(
        f"total: compute_cycles={int(t['compute_cycles'])} macs={int(t['macs'])} "
        f"mac_utilization={t['mac_utilization']:.4f} mac_energy_nJ={t['mac_energy_pj'] / 1e3:.2f}"
    )
    lines.append(
        f"array: {a['rows']}x{a['cols']} {a['dataflow']} {a['precision']} "
        f"({a['macs_per_pe_per_cycle']:g} MACs/PE/cycle, {a['accumulator']} accumulator), "
        f"MAC area {result.area_mm2:.4f} mm^2"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    params = ArrayParams(
        rows=args.rows,
        cols=args.cols,
        dataflow=args.dataflow,
        macs_per_pe_per_cycle=DEFAULT_MACS_PER_PE_PER_CYCLE,
    )
    if args.topology:
        layers: list = load_topology(args.topology, args.form)
    else:
        m, k, n = args.gemm
        layers = [("gemm", Gemm(m=m, k=k, n=n))]
    result = run_layers(layers, params, args.precision)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_table(result))
    return 0
