"""``npusim dram TRACE``: run a memory trace through the LPDDR5 model and print its stats.

Trace forms (one request per line, ``#`` comments; see :mod:`npusim.trace`):
``LD <addr> [<bytes>]`` / ``ST <addr> [<bytes>]`` arrive as fast as the controller accepts
them (queues kept full); ``<cycle> <R|W> <addr> [<bytes>]`` arrive at that CK cycle. Or a
``.npy`` structured array or ``.npz`` of the same columns (:mod:`npusim.trace_binary`).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict

# NumPy asks the kernel to back each array of 4 MiB or more with transparent huge pages. Where
# the kernel compacts memory for that advice (THP defrag "madvise", as on this project's
# machines), about one run in three of a 2M-request trace spent 0.3-0.45 s more in the kernel
# (0.55 -> 0.95 CPU s); with small pages the same run pays 0.04 s more for page faults, every
# time: median 0.61 instead of 0.69 CPU s and no slow runs (21 runs each, load 3). NumPy reads
# this when it is first imported, which the CLI does only after choosing this command; an
# explicit setting wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
# This command makes no BLAS call, but OpenBLAS starts a thread per core at NumPy's import and
# they spin before they sleep: 0.04 CPU s of every run (0.188 -> 0.139 s for a one-line trace,
# 0.969 -> 0.929 s for 1M random requests; medians of 9 paired runs, load 3).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from npusim.cli import regular_file
from npusim.dram import (
    BANK_ARCHS,
    DENSITIES,
    PRESETS,
    QUEUE_RELEASES,
    REFRESH_MODES,
    SCHEDULERS,
    WCK_SYNC_MODES,
    DramParams,
    DramSystem,
)
from npusim.dram.params import IO_ENERGY_MODES, MAX_POWER_DOWN_AFTER_S
from npusim.dram.standard import standard_of
from npusim.errors import ConfigError, Problem, TraceError
from npusim.report.unit_text import dram_text
from npusim.trace import read_trace
from npusim.units import Dimension, parse_quantity

_DEFAULTS = DramParams()  # the unit's defaults are the command's (one source of defaults)

DESCRIPTION = """\
Run a memory trace through the cycle-level LPDDR5 model (one controller per channel) and
print bandwidth, latency, row hits/misses/conflicts, command counts and energy.

Trace lines (one request each, '#' starts a comment; addresses hex 0x.. or decimal):
  LD <addr> [<bytes>]            read, arrives as fast as the controller accepts it
  ST <addr> [<bytes>]            write, likewise
  <cycle> <R|W> <addr> [<bytes>] arrives at that CK cycle
Or, for traces made by a program, a .npy file (numpy.save) of a structured array with
fields addr, is_write, size_bytes (0: one burst) and, when timed, arrival_cycle, or a .npz
(numpy.savez) of one array per field.
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "dram",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "trace", metavar="TRACE", help="trace file (LD/ST or timed R/W lines, or .npy/.npz)"
    )
    p.add_argument(
        "--preset",
        default=_DEFAULTS.preset,
        help=f"speed bin: {', '.join(PRESETS)} (default: %(default)s)",
    )
    p.add_argument(
        "--density",
        default=_DEFAULTS.density,
        help=f"die density: {', '.join(DENSITIES)} (default: %(default)s)",
    )
    p.add_argument(
        "--bank-arch",
        default=_DEFAULTS.bank_arch,
        help=f"bank architecture: {', '.join(BANK_ARCHS)} (default: %(default)s)",
    )
    p.add_argument(
        "--burst-length",
        type=int,
        default=None,
        help="LPDDR5/5X: 16 or 32, LPDDR6: 24 (default: the preset's shortest for the bank "
        f"architecture, {_DEFAULTS.burst_length} for LPDDR5)",
    )
    p.add_argument(
        "--channels",
        type=int,
        default=_DEFAULTS.channels,
        help="x16 channels, a power of two (default: %(default)s)",
    )
    p.add_argument(
        "--mapping",
        default=_DEFAULTS.mapping,
        help="address bit order MSB->LSB over Ro Bg Ba Ra Co Ch (default: %(default)s)",
    )
    p.add_argument("--bank-hash", action="store_true", help="XOR bank bits with row bits")
    p.add_argument(
        "--scheduler",
        default=_DEFAULTS.scheduler,
        help=f"{', '.join(SCHEDULERS)} (default: %(default)s)",
    )
    p.add_argument(
        "--page",
        default=_DEFAULTS.page_policy,
        help="row policy: open or closed (default: %(default)s)",
    )
    p.add_argument(
        "--refresh",
        default=_DEFAULTS.refresh,
        help=f"{', '.join(REFRESH_MODES)} (default: %(default)s)",
    )
    p.add_argument(
        "--queue-depth",
        type=int,
        default=_DEFAULTS.read_queue_depth,
        help="read and write queue entries per channel (default: %(default)s)",
    )
    p.add_argument(
        "--queue-release",
        default=_DEFAULTS.queue_release,
        help=f"a request frees its queue slot at: {', '.join(QUEUE_RELEASES)} "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--wck-sync",
        default=_DEFAULTS.wck_sync,
        help=f"{', '.join(WCK_SYNC_MODES)} (default: %(default)s)",
    )
    p.add_argument(
        "--io-energy",
        choices=IO_ENERGY_MODES,
        default=_DEFAULTS.io_energy,
        help="I/O energy: flat per bit, or data: from the bit transitions of the data a .npz "
        "trace carries (default: %(default)s)",
    )
    p.add_argument(
        "--power-down-after",
        metavar="TIME",
        default=None,
        help="power an idle channel down after this long without a command, e.g. '100 ns' "
        "(exit costs nXP; default: never)",
    )
    p.add_argument(
        "--self-refresh-after",
        metavar="TIME",
        default=None,
        help="enter self-refresh after this long without a request command, e.g. '10 us' "
        "(exit costs nXSR; default: never)",
    )
    p.add_argument("--dbi", action="store_true", help="data-bus inversion (DBI-DC) on the data")
    p.add_argument("--json", action="store_true", help="print the stats as JSON")
    p.set_defaults(handler=run)  # fmt: skip


def _timeout_s(option: str, text: str | None) -> float | None:
    """``--power-down-after`` / ``--self-refresh-after``: a time with its unit, or None."""
    if text is None:
        return None
    try:
        float(text)
    except ValueError:
        pass
    else:
        raise ConfigError(Problem(option, f"expected a time like '100 ns', got {text!r}: add a "
                                          f"unit"))  # fmt: skip
    try:
        seconds = parse_quantity(text, Dimension.TIME)
    except ValueError as err:
        raise ConfigError(Problem(option, str(err))) from None
    if not 0 < seconds <= MAX_POWER_DOWN_AFTER_S:
        raise ConfigError(Problem(option, f"expected a time in (0, 1 s], got {text!r}"))
    return seconds


def _burst_length(args: argparse.Namespace) -> int:
    """``--burst-length``, or the shortest the preset's standard offers for the bank
    architecture (a name the checks refuse keeps the default, and they say why)."""
    if args.burst_length is not None:
        return int(args.burst_length)
    if args.preset not in PRESETS:
        return _DEFAULTS.burst_length
    arch = standard_of(args.preset).bank_archs.get(args.bank_arch)
    return min(arch.burst_lengths) if arch is not None else _DEFAULTS.burst_length


def _params(args: argparse.Namespace) -> DramParams:
    return DramParams(
        preset=args.preset,
        density=args.density,
        bank_arch=args.bank_arch,
        burst_length=_burst_length(args),
        channels=args.channels,
        mapping=args.mapping,
        bank_hash=args.bank_hash,
        scheduler=args.scheduler,
        page_policy=args.page,
        refresh=args.refresh,
        read_queue_depth=args.queue_depth,
        write_queue_depth=args.queue_depth,
        queue_release=args.queue_release,
        wck_sync=args.wck_sync,
        io_energy=args.io_energy,
        dbi=args.dbi,
        power_down_after_s=_timeout_s("--power-down-after", args.power_down_after),
        self_refresh_after_s=_timeout_s("--self-refresh-after", args.self_refresh_after),
    )


def run(args: argparse.Namespace) -> int:
    system = DramSystem(_params(args))
    trace = read_trace(regular_file(args.trace, "TRACE"))
    if args.io_energy == "data" and trace.data is None:
        raise TraceError(f"{args.trace}: --io-energy data needs a trace carrying its data "
                         f"(a .npz with a uint8 'data' array; npusim/trace_binary.py)")  # fmt: skip
    try:
        system.run_trace(trace)
    except TraceError as err:
        raise TraceError(f"{args.trace}: {err}") from None
    stats = system.stats()
    io = [a for a in system.io_activity if a is not None]
    toggles = sum(a.toggles for a in io) / max(sum(a.bits for a in io), 1) if io else None
    if args.json:
        out = {"params": asdict(system.params), "requests": len(trace), **stats.to_dict()}
        if toggles is not None:
            out["io_toggles_per_bit"] = toggles
        print(json.dumps(out, indent=2))
    else:
        slot = system.speed_ck_per_cycle
        print(dram_text(stats, len(trace), "CK" if slot == 1 else f"slots ({slot} CK)"))
        if toggles is not None:
            print(f"I/O from the data: {toggles:.3f} transitions per bit (random data 0.5)")
    return 0
