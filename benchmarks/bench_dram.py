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

Every figure is the median of ``--repeat`` runs (the pure-Python loop: one), each in a
fresh child process (a second run in one process reuses the first one's pages and looks up
to twice as fast), with NumPy's huge-page advice off as ``npusim dram`` sets it. Rates are
per CPU second of the child, so another job's load changes them less than wall time; they
still vary by tens of percent on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
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


def _measure(action: str, path: str) -> float:
    """CPU seconds of one ``action`` on the trace file ``path``, in this (fresh) process."""
    if action in ("compiled loop", "python loop"):
        trace = read_trace(path)  # arrays in memory before the clock starts
        ChannelController.use_kernel = action == "compiled loop"
    start = time.process_time()
    if action in ("compiled loop", "python loop", "end to end"):
        system = DramSystem(DramParams())
        system.run_trace(trace if action != "end to end" else read_trace(path))
        system.stats()
    elif action == "compiled reader":
        _parse_compiled(Path(path).read_bytes())
    elif action == "numpy reader":
        parse_text_bytes(Path(path).read_bytes())
    else:
        read_trace(path)
    return time.process_time() - start


def _median_cpu_s(action: str, path: Path, repeat: int) -> float:
    """Median over ``repeat`` fresh child processes: each starts with the cold memory the
    CLI starts with (a second run in one process reuses the first one's pages and looks
    up to twice as fast)."""
    runs = []
    env = {"NUMPY_MADVISE_HUGEPAGE": "0", **os.environ}  # as `npusim dram` runs (cli/dram.py)
    for _ in range(repeat):
        args = [sys.executable, __file__, "--measure", action, str(path)]
        done = subprocess.run(args, check=True, capture_output=True, text=True, env=env)
        runs.append(float(done.stdout))
    return statistics.median(runs)


def _child_cpu_s(args: list[str], repeat: int) -> float:
    """Median CPU seconds of ``args`` run as a child process ``repeat`` times."""
    runs = []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(args, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        runs.append((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
    return statistics.median(runs)


def _line(label: str, n: int, cpu_s: float, unit: str = "req", extra: str = "") -> None:
    rate = n / cpu_s / 1e6
    print(f"  {label:48s} cpu {cpu_s:6.3f} s  {rate:6.2f}M {unit}/s{extra}", flush=True)


def _rows(paths: dict[str, Path], n: int, args: argparse.Namespace) -> None:
    loops = ["compiled loop"] if KERNEL_AVAILABLE else []
    loops += [] if args.no_python else ["python loop"]
    print(" in memory (run_trace + stats on arrays already built)")
    for loop in loops:
        _line(loop, n, _median_cpu_s(loop, paths["npy"], 1 if "python" in loop else args.repeat))
    print(" end to end in process (read + simulate + stats; no interpreter start-up)")
    for form in ("text", "npy"):
        _line(f"{form} trace", n, _median_cpu_s("end to end", paths[form], args.repeat))
    print(" end to end as a process (`python -m npusim dram TRACE`, start-up included)")
    for form in ("text", "npy"):
        command = [sys.executable, "-m", "npusim", "dram", str(paths[form])]
        _line(f"{form} trace", n, _child_cpu_s(command, args.repeat))
    print(" reading only (lines per CPU second)")
    if KERNEL_AVAILABLE:
        cpu_s = _median_cpu_s("compiled reader", paths["text"], args.repeat)
        _line("compiled text reader, hex LD", n, cpu_s, "lines")
    for layout, path in paths.items():
        if layout not in ("text", "npy"):
            cpu_s = _median_cpu_s("numpy reader", path, args.repeat)
            _line(f"numpy text reader, {layout}", n, cpu_s, "lines")
    _line(".npy loader", n, _median_cpu_s("read", paths["npy"], args.repeat), "lines")


def _versus_ramulator(trace: Trace, paths: dict[str, Path], ramulator: str, tmp: Path) -> None:
    ram_path = tmp / "ramulator.trace"
    ram_path.write_text(_ramulator_text(trace))
    print(" Ramulator 2.1 as a process, same requests")
    cli_s = _child_cpu_s([sys.executable, "-m", "npusim", "dram", str(paths["text"])], 1)
    ram_s = _child_cpu_s([sys.executable, "-c", RAMULATOR_SCRIPT, ramulator, str(ram_path)], 1)
    _line("Ramulator 2.1", len(trace), ram_s, extra=f"  npusim is {ram_s / cli_s:.1f}x faster")


def _files(trace: Trace, kind: str, tmp: Path) -> dict[str, Path]:
    """The trace written as text (hex LD), .npy and each numpy-reader layout."""
    paths = {"text": tmp / f"{kind}.trace", "npy": tmp / f"{kind}.npy"}
    paths["text"].write_text(_text(trace.addr))
    write_trace(paths["npy"], trace)
    for index, (layout, data) in enumerate(_layouts(trace.addr).items()):
        paths[layout] = tmp / f"{kind}.layout{index}.trace"
        paths[layout].write_bytes(data)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the sizes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--ramulator", metavar="DIR", help="Ramulator 2.1's python/ directory")
    parser.add_argument("--no-python", action="store_true", help="skip the pure-Python loop")
    parser.add_argument("--measure", nargs=2, metavar=("ACTION", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a child of the run below: one figure, printed
        print(_measure(*args.measure))
        return
    if not KERNEL_AVAILABLE:
        print("compiled extension not built (no C compiler at install): Python loop only")
    tmp = Path(tempfile.mkdtemp(prefix="bench_dram_"))
    for kind, size in SIZES.items():
        n = int(size * args.scale)
        trace = _trace(kind, n)
        paths = _files(trace, kind, tmp)
        print(f"{kind}: {n} requests of 32 B, one LPDDR5-6400 channel", flush=True)
        _rows(paths, n, args)
        if args.ramulator:
            _versus_ramulator(trace, paths, args.ramulator, tmp)
    for path in tmp.iterdir():
        os.unlink(path)
    tmp.rmdir()


if __name__ == "__main__":
    main()
