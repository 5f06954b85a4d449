"""``npusim cache``: run a memory trace through the SRAM cache and print its statistics."""

from __future__ import annotations

import argparse
import json
import os
import re

from npusim.cache.params import CacheParams
from npusim.cache.runner import run_trace
from npusim.cli import regular_file
from npusim.errors import CapacityError, ConfigError, Problem
from npusim.report.unit_text import cache_text
from npusim.trace import read_trace
from npusim.units import Dimension, parse_quantity

_DEFAULTS = CacheParams()  # the unit's defaults are the command's (one source of defaults)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "cache",
        description=(
            "Run a trace ('LD|ST <addr> [<bytes>]' or '<cycle> R|W <addr> [<bytes>]' per line) "
            "through the cache and print accesses, hits, misses (compulsory/capacity/conflict), "
            "evictions, write-backs, next-level traffic, SRAM energy and area."
        ),
    )
    p.add_argument("trace", metavar="TRACE", help="trace file")
    p.add_argument(
        "--capacity",
        default=f"{_DEFAULTS.capacity_bytes} B",
        help="capacity, e.g. 4MiB (default %(default)s)",
    )
    p.add_argument(
        "--line",
        type=int,
        default=_DEFAULTS.line_bytes,
        help="line size in bytes (default %(default)s)",
    )
    p.add_argument(
        "--ways", type=int, default=_DEFAULTS.ways, help="associativity (default %(default)s)"
    )
    p.add_argument(
        "--replacement",
        default=_DEFAULTS.replacement.value,
        help="lru, fifo, random or plru (default %(default)s)",
    )
    p.add_argument("--write-policy", default="wb", help="wb (write-back) or wt (write-through)")
    p.add_argument("--banks", type=int, default=_DEFAULTS.banks, help="banks (default %(default)s)")
    p.add_argument(
        "--mshrs",
        type=int,
        default=_DEFAULTS.mshrs,
        help="MSHRs for --memory-latency (default %(default)s)",
    )
    p.add_argument(
        "--hit-latency",
        type=_cycles,
        default=_DEFAULTS.hit_latency_cycles,
        help="hit latency in cycles (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of random replacement")
    p.add_argument("--memory-latency", type=_cycles, metavar="CYCLES",
                   help="also run the timed model against a fixed-latency next level")  # fmt: skip
    p.add_argument("--no-3c", action="store_true", help="skip the 3C miss classification")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=run)


# The model keeps per line a tag (int64), a dirty bit (bool) and its replacement state (an
# int64 stamp, or PLRU bits of about the same size): npusim/cache/model.py and policies.py.
STATE_BYTES_PER_LINE = 8 + 1 + 8
MAX_LATENCY_CYCLES = 2**32  # about 4.3 s at 1 GHz; sums of latencies stay far inside int64


def _cycles(text: str) -> int:
    """An argparse type: a latency in whole cycles, 0 to :data:`MAX_LATENCY_CYCLES`."""
    value = int(text) if re.fullmatch(r"[0-9]{1,12}", text.strip()) else -1
    if not 0 <= value <= MAX_LATENCY_CYCLES:
        raise argparse.ArgumentTypeError(f"expected whole cycles from 0 to {MAX_LATENCY_CYCLES}, "
                                         f"got {text[:40]!r}")  # fmt: skip
    return value


def _check_fits(params: CacheParams) -> None:
    """Refuse, before allocating, a cache whose line state exceeds the free memory."""
    lines = params.capacity_bytes // max(params.line_bytes, 1)
    need = lines * STATE_BYTES_PER_LINE
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if need > free:
        raise CapacityError(f"a cache of {lines:,} lines does not fit: its state needs "
                            f"{need / 2**30:,.1f} GiB, {free / 2**30:,.1f} GiB of memory "
                            "is free")  # fmt: skip


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


def run(args: argparse.Namespace) -> int:
    params = _params(args)
    _check_fits(params)
    trace = read_trace(regular_file(args.trace, "TRACE"))
    try:
        result = run_trace(trace, params, classify_misses=not args.no_3c,
                           memory_latency_cycles=args.memory_latency)  # fmt: skip
    except MemoryError:
        raise CapacityError(f"simulating a {args.capacity} cache with this trace does not fit "
                            "in this machine's memory") from None  # fmt: skip
    print(json.dumps(result.to_dict(), indent=2) if args.json else cache_text(result))
    return 0
