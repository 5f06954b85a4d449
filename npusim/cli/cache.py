"""``npusim cache``: run a memory trace through the SRAM cache and print its statistics."""

from __future__ import annotations

import argparse
import json

from npusim.cache.params import CacheParams
from npusim.cache.runner import TraceRun, run_trace
from npusim.errors import ConfigError, Problem
from npusim.trace import read_trace
from npusim.units import Dimension, format_bytes, parse_quantity


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cache",
        help="run a LD/ST trace through the set-associative SRAM cache",
        description=(
            "Run a trace ('LD|ST <addr> [<bytes>]' or '<cycle> R|W <addr> [<bytes>]' per line) "
            "through the cache and print accesses, hits, misses (compulsory/capacity/conflict), "
            "evictions, write-backs, next-level traffic, SRAM energy and area."
        ),
    )
    p.add_argument("trace", metavar="TRACE", help="trace file")
    p.add_argument("--capacity", default="4MiB", help="capacity, e.g. 4MiB (default 4MiB)")
    p.add_argument("--line", type=int, default=64, help="line size in bytes (default 64)")
    p.add_argument("--ways", type=int, default=16, help="associativity (default 16)")
    p.add_argument("--replacement", default="lru", help="lru, fifo, random or plru")
    p.add_argument("--write-policy", default="wb", help="wb (write-back) or wt (write-through)")
    p.add_argument("--banks", type=int, default=16, help="banks (default 16)")
    p.add_argument("--mshrs", type=int, default=32, help="MSHRs for --memory-latency")
    p.add_argument("--hit-latency", type=int, default=2, help="hit latency in cycles")
    p.add_argument("--seed", type=int, default=0, help="seed of random replacement")
    p.add_argument("--memory-latency", type=int, metavar="CYCLES",
                   help="also run the timed model against a fixed-latency next level")  # fmt: skip
    p.add_argument("--no-3c", action="store_true", help="skip the 3C miss classification")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=run)


def _params(args: argparse.Namespace) -> CacheParams:
    try:
        capacity = parse_quantity(args.capacity, Dimension.BYTES)
    except ValueError as err:
        raise ConfigError(Problem("--capacity", str(err))) from None
    return CacheParams(
        capacity_bytes=int(capacity),
        line_bytes=args.line,
        ways=args.ways,
        replacement=args.replacement,
        write_policy=args.write_policy,
        banks=args.banks,
        mshrs=args.mshrs,
        hit_latency_cycles=args.hit_latency,
        seed=args.seed,
    )


def _text(result: TraceRun) -> str:
    p, s = result.params, result.stats
    lines = [
        f"cache: {format_bytes(p.capacity_bytes)}, {p.line_bytes} B lines, {p.ways} ways, "
        f"{p.sets} sets, {p.replacement.value}, {p.write_policy.value}",
        f"requests: {result.requests}  line accesses: {s.accesses} "
        f"(reads {s.read_accesses}, writes {s.write_accesses})",
        f"hits: {s.hits}  misses: {s.misses}  hit rate: {100 * s.hit_rate:.2f} %",
        f"misses: compulsory {s.compulsory_misses}, capacity {s.capacity_misses}, "
        f"conflict {s.conflict_misses}",
        f"evictions: {s.evictions}  dirty write-backs: {s.dirty_writebacks}",
        f"next level: read {s.next_level_read_bytes} B, written {s.next_level_write_bytes} B "
        f"(requested: read {s.requested_read_bytes} B, written {s.requested_write_bytes} B)",
        f"SRAM (45 nm table): dynamic {result.dynamic_energy_pj / 1e3:.3f} nJ, "
        f"leakage {1e3 * result.leakage_power_w:.3f} mW, area {result.area_mm2:.3f} mm^2",
    ]
    if result.timed is not None:
        t = result.timed
        lines.append(f"timed: {t.total_cycles} cycles, {t.mshr_merges} MSHR merges, "
                     f"{t.mshr_stall_cycles} MSHR stall cycles")  # fmt: skip
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    params = _params(args)
    trace = read_trace(args.trace)
    result = run_trace(
        trace, params, classify_misses=not args.no_3c, memory_latency_cycles=args.memory_latency
    )
    print(json.dumps(result.to_dict(), indent=2) if args.json else _text(result))
    return 0
