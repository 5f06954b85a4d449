"""Cache model speed: line accesses per second, streaming and random (targets 1M/s, 300k/s).

Run: ``python benchmarks/bench_cache.py``. Default geometry (4 MiB, 64 B lines, 16 ways, LRU,
write-back); each pattern is timed with and without the 3C miss classification, three times
on a fresh cache. Rates use this process's CPU time (``time.process_time``), not wall time,
because the 2-core machine is shared; the best and the median of the three are printed.
"""

from __future__ import annotations

import time

import numpy as np

from npusim.cache.model import SetAssociativeCache
from npusim.cache.params import CacheParams

STREAM_TARGET_PER_S = 1_000_000
RANDOM_TARGET_PER_S = 300_000


def streaming(block_bytes: int, total_bytes: int, classify: bool) -> float:
    """Read a 64 MiB region in ``block_bytes`` blocks (tile rows); line accesses per s."""
    cache = SetAssociativeCache(CacheParams(), classify_misses=classify)
    start = time.process_time()
    for addr in range(0, total_bytes, block_bytes):
        cache.access_block(addr, block_bytes, False, tag="inputs")
    return cache.stats.accesses / (time.process_time() - start)


def random_trace(n: int, classify: bool) -> float:
    """``n`` single-line requests uniformly over 64 MiB, 30 % writes, as one trace."""
    rng = np.random.default_rng(0)
    addr = rng.integers(0, 64 << 20, n)
    writes = rng.random(n) < 0.3
    cache = SetAssociativeCache(CacheParams(), classify_misses=classify)
    start = time.process_time()
    cache.access_trace(addr, np.zeros(n, dtype=np.int64), writes)
    return n / (time.process_time() - start)


def random_blocks(n: int, classify: bool) -> float:
    """``n`` single-line ``access_block`` calls at random addresses (per-call overhead)."""
    rng = np.random.default_rng(1)
    addrs = (rng.integers(0, 1 << 20, n) * 64).tolist()
    cache = SetAssociativeCache(CacheParams(), classify_misses=classify)
    start = time.process_time()
    for addr in addrs:
        cache.access_block(addr, 64, False)
    return n / (time.process_time() - start)


def main() -> None:
    print(f"{'pattern':<44} {'best lines/s':>13} {'median':>11} {'target':>10} {'ratio':>6}")
    for classify in (True, False):
        label = "3C on " if classify else "3C off"
        cases = [
            (f"streaming {block // 1024} KiB blocks, {label}",
             lambda block=block, c=classify: streaming(block, 32 << 20, c), STREAM_TARGET_PER_S)
            for block in (1024, 4096, 65536)
        ]  # fmt: skip
        cases += [
            (f"random 1-line trace, {label}", lambda c=classify: random_trace(300_000, c),
             RANDOM_TARGET_PER_S),
            (f"random 1-line access_block calls, {label}",
             lambda c=classify: random_blocks(20_000, c), RANDOM_TARGET_PER_S),
        ]  # fmt: skip
        for name, measure, target in cases:
            rates = sorted(measure() for _ in range(3))
            print(f"{name:<44} {rates[-1]:>13,.0f} {rates[1]:>11,.0f} {target:>10,} "
                  f"{rates[-1] / target:>6.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
