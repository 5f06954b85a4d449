"""Agreement with Ramulator 2.1 on the issue-16 trace kinds: a documented regression reference.

The tests cannot run Ramulator, so its figures are copied here. How they were produced:
Ramulator 2.1 at commit c5b1c3a478b68853a61a0b8f99510d0dde7e6fd0 (github.com/CMU-SAFARI/
ramulator2), built with cmake/g++ (Release) outside this repository; configuration
``LoadStoreTrace(clock_ratio=8)``, ``LPDDR5(org_preset="LPDDR5_8Gb_x16",
timing_preset="LPDDR5_6400")``, controller ``LPDDR5`` (``wck_sync_mode="need_sync"``,
queues 32/32, watermarks 0.8/0.2) with ``FRFCFSRowHit``, ``AllBank`` refresh, ``Open`` rows,
``RoBaRaCoCh`` mapping, ``GenericDRAM(clock_ratio=1)``, one channel. The traces are the ones
:func:`_trace` below makes, each request re-encoded for Ramulator's mapping (MSB->LSB
Ro Ba Bg Co over 32 B bursts) so that both simulators see the same bank, row and column; a
64 B request is two 32 B lines. Bandwidth = served requests x 32 B / (controller cycles x
1.25 ns) (Ramulator stops when the last request is sent); latency = ``avg_read_latency`` in CK.
Ramulator counts a read's latency from the cycle before its first chance to issue, so it reads
about one CK (under 1 %) longer than npusim on every trace.

Targets (issue 16): bandwidth within 1 %, mean read latency within 3 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from npusim.dram import DramParams, DramSystem
from npusim.trace import Trace

pytestmark = pytest.mark.usefixtures("dram_loop")  # every loop: tests/conftest.py

N = 20_000  # 32 B bursts per trace
TCK_NS = 1.25
# trace: (Ramulator GB/s, Ramulator mean read latency in CK; 0 for a write-only trace)
RAMULATOR = {
    "seq_read": (11.9897, 87.52),
    "seq_write": (11.8774, 0.0),
    "rand32_read": (5.7001, 177.52),
    "rand64_read": (5.6567, 178.62),
    "mix21_seq": (9.8058, 144.46),
    "mix21_rand": (4.6752, 297.20),
    "stride2k_read": (5.9470, 160.41),
    "stride32k_read": (0.4944, 1690.55),
}


def _trace(kind: str) -> Trace:
    rng = np.random.default_rng(16)
    cap = 1 << 30
    size = 32
    n = N
    if kind in ("seq_read", "seq_write", "mix21_seq"):
        addr = np.arange(n, dtype=np.uint64) * 32
    elif kind in ("rand32_read", "mix21_rand"):
        addr = rng.integers(0, cap // 32, n).astype(np.uint64) * 32
    elif kind == "rand64_read":
        n, size = N // 2, 64
        addr = rng.integers(0, cap // 64, n).astype(np.uint64) * 64
    else:
        stride = {"stride2k_read": 2048, "stride32k_read": 32768}[kind]
        addr = (np.arange(n, dtype=np.uint64) * stride) % cap
    if kind == "seq_write":
        writes = np.ones(n, dtype=bool)
    elif kind.startswith("mix21"):
        writes = np.arange(n) % 3 == 2  # two reads, then a write
    else:
        writes = np.zeros(n, dtype=bool)
    return Trace(addr, writes, np.full(n, size, dtype=np.int64), None)


def ramulator_lines(kind: str) -> str:
    """The trace as Ramulator's LoadStoreTrace lines (how the reference was made)."""
    system = DramSystem(DramParams())
    trace = _trace(kind)
    bursts, counts = system._bursts(trace.addr, trace.size_bytes)
    d = system.address_map.decode(bursts)
    addr = (((((d.row << 2) | (d.bank // 4)) << 2 | (d.bank % 4)) << 6) | d.column) << 5
    writes = np.repeat(trace.is_write, counts)
    pairs = zip(addr.tolist(), writes.tolist(), strict=True)
    return "".join(f"{'ST' if w else 'LD'} {a:#x}\n" for a, w in pairs)


@pytest.mark.parametrize("kind", list(RAMULATOR))
def test_npusim_agrees_with_ramulator(kind: str) -> None:
    system = DramSystem(DramParams())
    system.run_trace(_trace(kind))
    total = system.stats().total
    gbps, latency_ck = RAMULATOR[kind]
    assert total.achieved_gbps == pytest.approx(gbps, rel=0.01)
    if latency_ck:
        assert total.read_latency_mean_ns / TCK_NS == pytest.approx(latency_ck, rel=0.03)
