"""Simulated requests per CPU second of the DRAM trace runner, in memory and end to end.

Two traces of 32 B reads through one LPDDR5-6400 channel with default parameters: 2M
sequential and 1M uniformly random requests (``--scale 0.25`` runs a quarter). For each it
prints

* in memory: ``DramSystem.run_trace`` on arrays, for the compiled controller loop (when it was
  built) and the pure-Python loop, which make the same decisions;
* end to end: what ``npusim dram TRACE`` does (read the text trace, simulate, collect stats),
  in process, for the text form (hex ``LD`` lines) and the binary ``.npy`` form, with the
  trace reader's own rate, and the numpy text reader's alone (what runs without the compiled
  extension);
* with ``--ramulator DIR`` (the ``python/`` directory of a built Ramulator 2.1), Ramulator's
  end-to-end CPU time on the same requests (LPDDR5-6400, FRFCFS-RowHit, addresses re-encoded
  so that both see the same bank, row and column), and npusim's CLI (``python -m npusim dram``)
  run the same way, both as child processes, and their ratio.

Rates are per CPU second (the machine is shared, so wall time depends on other load).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from npusim.dram import DramParams, DramSystem
from npusim.dram.controller import KERNEL_AVAILABLE, ChannelController
from npusim.trace import Trace, read_trace, write_trace

SIZES = {"sequential": 2_000_000, "random": 1_000_000}
RAMULATOR_SCRIPT = """
import sys
sys.path.insert(0, sys.argv[1])
import ramulator
frontend = ramulator.frontend.LoadStoreTrace(clock_ratio=8, path=sys.argv[2])
dram = ramulator.dram.LPDDR5(org_preset="LPDDR5_8Gb_x16", timing_preset="LPDDR5_6400")
ctrl = ramulator.controller.LPDDR5(dram=dram, scheduler=ramulator.scheduler.FRFCFSRowHit(),
    refresh_manager=ramulator.refresh_manager.AllBank(), row_policy=ramulator.row_policy.Open(),
    addr_mapper=ramulator.addr_mapper.RoBaRaCoCh())
mem = ramulator.memory_system.GenericDRAM(clock_ratio=1, controllers=[ctrl],
    channel_mapper=ramulator.channel_mapper.CacheLineInterleave())
sim = ramulator.Simulation(frontend, mem)
sim.run()
"""


def _trace(kind: str, n: int) -> Trace:
    if kind == "sequential":
        addr = np.arange(n, dtype=np.uint64) * 32
    else:
        rng = np.random.default_rng(2026)
        addr = rng.integers(0, (1 << 30) // 32, n).astype(np.uint64) * 32
    zeros = np.zeros(n, dtype=np.int64)
    return Trace(addr=addr, is_write=np.zeros(n, dtype=bool), size_bytes=zeros, arrival_cycle=None)


def _text(addr: np.ndarray) -> str:
    return "".join(f"LD {a:#x}\n" for a in addr.tolist())


def _ramulator_text(trace: Trace) -> str:
    """The trace re-encoded for Ramulator's RoBaRaCoCh (MSB->LSB Ro Ba Bg Co, 32 B bursts)."""
    system = DramSystem(DramParams())
    d = system.address_map.decode(trace.addr.astype(np.int64) >> 5)
    addr = (((((d.row << 2) | (d.bank // 4)) << 2 | (d.bank % 4)) << 6) | d.column) << 5
    return _text(addr)


def _child_cpu(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _line(label: str, n: int, cpu_s: float, extra: str = "") -> None:
    print(f"  {label:34s} cpu {cpu_s:7.2f} s  {n / cpu_s / 1e6:6.2f}M req/s{extra}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the sizes")
    parser.add_argument("--ramulator", metavar="DIR", help="Ramulator 2.1's python/ directory")
    parser.add_argument("--no-python", action="store_true", help="skip the pure-Python loop")
    args = parser.parse_args()
    loops = {"compiled": True} if KERNEL_AVAILABLE else {}
    if not args.no_python:
        loops["python"] = False
    if not KERNEL_AVAILABLE:
        print("compiled loop not built (no C compiler at install): Python loop only")
    tmp = Path(tempfile.mkdtemp(prefix="bench_dram_"))
    for kind, size in SIZES.items():
        n = int(size * args.scale)
        trace = _trace(kind, n)
        print(f"{kind}: {n} requests of 32 B, one LPDDR5-6400 channel", flush=True)
        for loop, use_kernel in loops.items():
            ChannelController.use_kernel = use_kernel
            system = DramSystem(DramParams())
            cpu = time.process_time()
            system.run_trace(trace)
            stats = system.stats().total
            _line(f"in memory, {loop} loop", n, time.process_time() - cpu,
                  f"  {stats.achieved_gbps:.2f} GB/s of {stats.peak_gbps:.1f}")  # fmt: skip
        ChannelController.use_kernel = KERNEL_AVAILABLE
        text_path, npy_path = tmp / f"{kind}.trace", tmp / f"{kind}.npy"
        text_path.write_text(_text(trace.addr))
        write_trace(npy_path, trace)
        os.environ["NPUSIM_PURE_PYTHON"] = "1"  # the reader without the compiled extension
        cpu = time.process_time()
        read_trace(text_path)
        _line("reading only, numpy text reader", n, time.process_time() - cpu)
        del os.environ["NPUSIM_PURE_PYTHON"]
        for label, path in (("text", text_path), ("npy", npy_path)):
            cpu = time.process_time()
            parsed = read_trace(path)
            read_s = time.process_time() - cpu
            DramSystem(DramParams()).run_trace(parsed)
            system.stats()
            total_s = time.process_time() - cpu
            _line(f"end to end, {label} trace", n, total_s,
                  f"  (reading {n / read_s / 1e6:.1f}M lines/s)")  # fmt: skip
        if args.ramulator:
            ram_path = tmp / f"{kind}.ramulator.trace"
            ram_path.write_text(_ramulator_text(trace))
            cli_s = _child_cpu([sys.executable, "-m", "npusim", "dram", str(text_path)])
            _line("end to end, `npusim dram` (process)", n, cli_s)
            ram_s = _child_cpu([sys.executable, "-c", RAMULATOR_SCRIPT, args.ramulator,
                                str(ram_path)])  # fmt: skip
            _line("end to end, Ramulator 2.1 (process)", n, ram_s,
                  f"  npusim is {ram_s / cli_s:.1f}x faster")  # fmt: skip


if __name__ == "__main__":
    main()
