"""Memory-access trace files shared by the DRAM and cache runners.

Two line formats, one request per line; blank lines and ``#`` comments are skipped:

* untimed: ``LD <addr> [<bytes>]`` or ``ST <addr> [<bytes>]`` (the DRAMSim/Ramulator
  "LD/ST" form); requests arrive as fast as the consumer accepts them.
* timed: ``<cycle> <R|W> <addr> [<bytes>]``; ``cycle`` is the arrival cycle in the consumer's
  clock and must not decrease.

Addresses are hexadecimal with ``0x`` or decimal. ``bytes`` defaults to ``None`` (one burst or
one line, the consumer decides). A file must use one form throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from npusim.errors import TraceError

_OPS = {"LD": False, "ST": True, "R": False, "W": True}
MAX_VALUE = 2**48 - 1  # 256 TiB of address space or cycles: far beyond any memory modelled
MAX_REQUEST_BYTES = 2**30  # one request of at most 1 GiB (a line's worth is the usual)


@dataclass(frozen=True)
class Trace:
    """Parsed trace: parallel arrays, one entry per request.

    ``addr`` uint64 byte addresses; ``is_write`` bool; ``size_bytes`` int64, 0 where the line
    gave no size; ``arrival_cycle`` int64 for the timed form, ``None`` for the untimed one.
    """

    addr: np.ndarray
    is_write: np.ndarray
    size_bytes: np.ndarray
    arrival_cycle: np.ndarray | None

    def __len__(self) -> int:
        return int(self.addr.shape[0])


def _int(token: str, what: str, where: str) -> int:
    try:
        value = int(token, 0) if token.lower().startswith("0x") else int(token, 10)
    except ValueError:
        raise TraceError(f"{where}: {what} {token!r} is not a decimal or 0x-hex integer") from None
    if value < 0:
        raise TraceError(f"{where}: {what} {token!r} is negative")
    if value > MAX_VALUE:
        raise TraceError(f"{where}: {what} {token!r} is larger than {MAX_VALUE:#x}")
    return value


def read_trace(path: str | Path) -> Trace:
    """Read a trace file; raises :class:`TraceError` naming the file and line of any bad line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise TraceError(f"{path}: cannot read trace: {err.strerror}") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not a text trace (not UTF-8)") from None
    return parse_trace(text.splitlines(), str(path))


def parse_trace(lines: list[str], source: str = "<trace>") -> Trace:
    """Parse trace lines (see the module docstring for the format)."""
    addrs: list[int] = []
    writes: list[bool] = []
    sizes: list[int] = []
    cycles: list[int] = []
    timed: bool | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source}:{number}"
        tokens = line.split()
        is_timed = tokens[0][0].isdigit()
        if timed is None:
            timed = is_timed
        elif timed != is_timed:
            raise TraceError(f"{where}: mixes timed and untimed request forms")
        if is_timed:
            cycle = _int(tokens[0], "cycle", where)
            if cycles and cycle < cycles[-1]:
                raise TraceError(f"{where}: cycle {cycle} is earlier than the previous line's")
            cycles.append(cycle)
            tokens = tokens[1:]
        if len(tokens) not in (2, 3) or tokens[0].upper() not in _OPS:
            form = "<cycle> <R|W> <addr> [<bytes>]" if is_timed else "LD|ST <addr> [<bytes>]"
            raise TraceError(f"{where}: expected '{form}', got {raw.strip()!r}")
        writes.append(_OPS[tokens[0].upper()])
        addrs.append(_int(tokens[1], "address", where))
        size = _int(tokens[2], "size", where) if len(tokens) == 3 else 0
        if len(tokens) == 3 and not 0 < size <= MAX_REQUEST_BYTES:
            raise TraceError(f"{where}: size must be from 1 to {MAX_REQUEST_BYTES} bytes")
        sizes.append(size)
    if not addrs:
        raise TraceError(f"{source}: trace has no requests")
    return Trace(
        addr=np.array(addrs, dtype=np.uint64),
        is_write=np.array(writes, dtype=bool),
        size_bytes=np.array(sizes, dtype=np.int64),
        arrival_cycle=np.array(cycles, dtype=np.int64) if timed else None,
    )
