"""``npusim dram TRACE``: run a memory trace through the LPDDR5 model and print its stats.

Trace forms (one request per line, ``#`` comments; see :mod:`npusim.trace`):
``LD <addr> [<bytes>]`` / ``ST <addr> [<bytes>]`` arrive as fast as the controller accepts
them (queues kept full); ``<cycle> <R|W> <addr> [<bytes>]`` arrive at that CK cycle.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from npusim.dram import (
    BANK_ARCHS,
    DEFAULT_MAPPING,
    DENSITIES,
    PRESETS,
    REFRESH_MODES,
    SCHEDULERS,
    DramParams,
    DramStats,
    DramSystem,
)
from npusim.trace import read_trace


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "dram",
        help="run a memory trace through the cycle-level LPDDR5 model",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("trace", metavar="TRACE", help="trace file (LD/ST or timed R/W lines)")
    p.add_argument("--preset", default="LPDDR5_6400", help=f"one of {', '.join(PRESETS)}")
    p.add_argument("--density", default="8Gb", help=f"one of {', '.join(DENSITIES)}")
    p.add_argument("--bank-arch", default="BG", help=f"one of {', '.join(BANK_ARCHS)}")
    p.add_argument("--burst-length", type=int, default=16, help="16 or 32")
    p.add_argument("--channels", type=int, default=1, help="x16 channels (power of two)")
    p.add_argument(
        "--mapping", default=DEFAULT_MAPPING, help="bit order MSB->LSB over Ro Bg Ba Ra Co Ch"
    )
    p.add_argument("--bank-hash", action="store_true", help="XOR bank bits with row bits")
    p.add_argument("--scheduler", default="frfcfs", help=f"one of {', '.join(SCHEDULERS)}")
    p.add_argument("--page", default="open", help="row policy: open or closed")
    p.add_argument("--refresh", default="all-bank", help=f"one of {', '.join(REFRESH_MODES)}")
    p.add_argument("--queue-depth", type=int, default=32, help="read and write queue depth")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.set_defaults(handler=run)


def _params(args: argparse.Namespace) -> DramParams:
    return DramParams(
        preset=args.preset,
        density=args.density,
        bank_arch=args.bank_arch,
        burst_length=args.burst_length,
        channels=args.channels,
        mapping=args.mapping,
        bank_hash=args.bank_hash,
        scheduler=args.scheduler,
        page_policy=args.page,
        refresh=args.refresh,
        read_queue_depth=args.queue_depth,
        write_queue_depth=args.queue_depth,
    )


def format_stats(stats: DramStats, requests: int) -> str:
    """Readable table of the total and per-channel stats."""
    t = stats.total
    lines = [
        f"requests               {requests}",
        f"bytes requested        {stats.bytes_requested}",
        f"bytes read / written   {t.bytes_read} / {t.bytes_written}",
        f"elapsed                {t.elapsed_cycles} CK = {t.elapsed_ns:.1f} ns",
        f"bandwidth              {t.achieved_gbps:.3f} GB/s of {t.peak_gbps:.1f} GB/s peak "
        f"({100 * t.achieved_gbps / t.peak_gbps:.1f} %)",
        f"data-bus utilization   {100 * t.bus_utilization:.1f} %",
        f"read latency (ns)      mean {t.read_latency_mean_ns:.1f}  p50 {t.read_latency_p50_ns:.1f}"
        f"  p95 {t.read_latency_p95_ns:.1f}  p99 {t.read_latency_p99_ns:.1f}"
        f"  max {t.read_latency_max_ns:.1f}",
        f"rows                   hits {t.row_hits}  misses {t.row_misses}  "
        f"conflicts {t.row_conflicts}",
        "commands               " + "  ".join(f"{k} {v}" for k, v in t.command_counts.items() if v),
        f"refresh                {t.refresh_ns:.0f} ns",
        f"avg queue occupancy    {t.avg_queue_occupancy:.2f}",
        "energy (pJ)            "
        + "  ".join(f"{k.removesuffix('_pj')} {v:.4g}" for k, v in asdict(t.energy).items())
        + f"  total {t.energy_total_pj:.4g}",
    ]
    if len(stats.channels) > 1:
        for c in stats.channels:
            lines.append(
                f"channel {c.channel}: {c.achieved_gbps:.3f} GB/s, "
                f"{c.bytes_read + c.bytes_written} B, hits {c.row_hits}"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    system = DramSystem(_params(args))
    trace = read_trace(args.trace)
    system.run_trace(trace)
    stats = system.stats()
    if args.json:
        out = {"params": asdict(system.params), "requests": len(trace), **stats.to_dict()}
        print(json.dumps(out, indent=2))
    else:
        print(format_stats(stats, len(trace)))
    return 0
