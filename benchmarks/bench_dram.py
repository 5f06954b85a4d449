"""Simulated requests per CPU second of the DRAM trace runner: in memory, end to end, readers.

Two traces of 32 B reads through one LPDDR5-6400 channel with default parameters: 2M
sequential and 1M uniformly random requests (``--scale 0.25`` runs a quarter). For each it
prints, in separate groups:

* in memory: ``DramSystem.run_trace`` plus ``stats()`` on arrays already built, for the
  compiled controller loop (when it was built) and the pure-Python loop (``--no-python``
  skips it), which make the same decisions;
* end to end in process: what ``npusim dram TRACE`` does after start-up (read the trace,
  simulate, collect stats), for the text form (hex ``LD`` lines) and the binary ``.npy`` form;
* end to end as a process: ``python -m npusim dram TRACE`` as a child process, its CPU
  seconds (interpreter and import start-up included), text and ``.npy``;
* reading only: the compiled text reader, the numpy text reader (what runs without the
  compiled extension) on four layouts (hex, decimal with sizes, timed, hand-written with
  comments and CRLF), and the ``.npy`` loader, in lines per CPU second;
* with ``--ramulator DIR`` (the ``python/`` directory of a built Ramulator 2.1), Ramulator's
  end-to-end CPU time on the same requests (LPDDR5-6400, FRFCFS-RowHit, addresses re-encoded
  so that both see the same bank, row and column) as a child process, and the ratio.

Rates are per CPU second of this process (or of the child), so another job's load changes
them less than wall time; they still vary by tens of percent on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from npusim.dram import DramParams, DramSystem
from npusim.dram.controller import KERNEL_AVAILABLE, ChannelController
from npusim.trace import Trace, _parse_compiled, read_trace
from npusim.trace_binary import write_trace
from npusim.trace_text import parse_text_bytes

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


def _layouts(addr: np.ndarray) -> dict[str, bytes]:
    """The same requests in the text layouts the numpy reader is timed on."""
    rows = addr.tolist()
    ops = ["ST" if k % 3 == 0 else "LD" for k in range(len(rows))]
    return {
        "hex LD": _text(addr).encode(),
        "decimal LD/ST with sizes": "".join(
            f"{o} {a} 32\n" for o, a in zip(ops, rows, strict=True)
        ).encode(),
        "timed R/W hex": "".join(
            f"{k // 2} {o[0].replace('L', 'R').replace('S', 'W')} {a:#x}\n"
            for k, (o, a) in enumerate(zip(ops, rows, strict=True))
        ).encode(),
        "hand-written (comments, CRLF)": (
            "# requests\r\n" + "".join(f"LD  {a:#x}   # line\r\n" for a in rows)
        ).encode(),
    }


def _ramulator_text(trace: Trace) -> str:
    """The trace re-encoded for Ramulator's RoBaRaCoCh (MSB->LSB Ro Ba Bg Co, 32 B bursts)."""
    system = DramSystem(DramParams())
    d = system.address_map.decode(trace.addr.astype(np.int64) >> 5)
    addr = (((((d.row << 2) | (d.bank // 4)) << 2 | (d.bank % 4)) << 6) | d.column) << 5
    return _text(addr)


def _cpu_s(action: Callable[[], object]) -> float:
    start = time.process_time()
    action()
    return time.process_time() - start


def _child_cpu_s(args: list[str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def _line(label: str, n: int, cpu_s: float, unit: str = "req", extra: str = "") -> None:
    rate = n / cpu_s / 1e6
    print(f"  {label:48s} cpu {cpu_s:6.2f} s  {rate:6.2f}M {unit}/s{extra}", flush=True)


def _simulate(trace: Trace) -> float:
    """Achieved GB/s of a fresh system running ``trace`` (simulate and collect stats)."""
    system = DramSystem(DramParams())
    system.run_trace(trace)
    return system.stats().total.achieved_gbps


def _in_memory(trace: Trace, loops: dict[str, bool]) -> None:
    print(" in memory (run_trace + stats on arrays)")
    for loop, use_kernel in loops.items():
        ChannelController.use_kernel = use_kernel
        start = time.process_time()
        gbps = _simulate(trace)
        _line(f"{loop} loop", len(trace), time.process_time() - start, extra=f"  {gbps:.2f} GB/s")
    ChannelController.use_kernel = KERNEL_AVAILABLE


def _end_to_end(paths: dict[str, Path], n: int) -> None:
    print(" end to end in process (read + simulate + stats)")
    for label, path in paths.items():
        _line(f"{label} trace", n, _cpu_s(lambda path=path: _simulate(read_trace(path))))
    print(" end to end as a process (`python -m npusim dram TRACE`, start-up included)")
    for label, path in paths.items():
        cpu_s = _child_cpu_s([sys.executable, "-m", "npusim", "dram", str(path)])
        _line(f"{label} trace", n, cpu_s)


def _readers(trace: Trace, paths: dict[str, Path]) -> None:
    n = len(trace)
    print(" reading only (lines per CPU second)")
    data = paths["text"].read_bytes()
    if KERNEL_AVAILABLE:
        _line("compiled text reader, hex LD", n, _cpu_s(lambda: _parse_compiled(data)), "lines")
    for layout, text in _layouts(trace.addr).items():
        cpu_s = _cpu_s(lambda text=text: parse_text_bytes(text))
        _line(f"numpy text reader, {layout}", n, cpu_s, "lines")
    _line(".npy loader", n, _cpu_s(lambda: read_trace(paths["npy"])), "lines")


def _versus_ramulator(trace: Trace, paths: dict[str, Path], ramulator: str, tmp: Path) -> None:
    ram_path = tmp / "ramulator.trace"
    ram_path.write_text(_ramulator_text(trace))
    print(" Ramulator 2.1 as a process, same requests")
    cli_s = _child_cpu_s([sys.executable, "-m", "npusim", "dram", str(paths["text"])])
    ram_s = _child_cpu_s([sys.executable, "-c", RAMULATOR_SCRIPT, ramulator, str(ram_path)])
    _line("Ramulator 2.1", len(trace), ram_s, extra=f"  npusim is {ram_s / cli_s:.1f}x faster")


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
        print("compiled extension not built (no C compiler at install): Python loop only")
    tmp = Path(tempfile.mkdtemp(prefix="bench_dram_"))
    for kind, size in SIZES.items():
        n = int(size * args.scale)
        trace = _trace(kind, n)
        paths = {"text": tmp / f"{kind}.trace", "npy": tmp / f"{kind}.npy"}
        paths["text"].write_text(_text(trace.addr))
        write_trace(paths["npy"], trace)
        print(f"{kind}: {n} requests of 32 B, one LPDDR5-6400 channel", flush=True)
        _in_memory(trace, loops)
        _end_to_end(paths, n)
        _readers(trace, paths)
        if args.ramulator:
            _versus_ramulator(trace, paths, args.ramulator, tmp)
    for path in tmp.iterdir():
        os.unlink(path)
    tmp.rmdir()


if __name__ == "__main__":
    main()
