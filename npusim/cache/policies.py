"""Replacement policies, vectorized over a batch of accesses to distinct sets.

Every method receives numpy arrays covering one batch in which each set appears at most once,
so fancy-indexed updates never collide and the batch result equals sequential processing.
Invalid ways are filled first by the cache itself; a policy only chooses among valid ways.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from npusim.cache.params import Replacement


class ReplacementPolicy(Protocol):
    """Chooses victims and records accesses for a ``sets x ways`` array."""

    def victims(self, sets: np.ndarray) -> np.ndarray:
        """Way (int64) to evict in each of ``sets`` (int64, distinct, all ways valid)."""
        ...

    def touch(self, sets: np.ndarray, ways: np.ndarray, filled: np.ndarray, time: int) -> None:
        """Record accesses in order: ``sets``/``ways`` int64, ``filled`` bool (line just
        filled, else a hit); access ``i`` happened at ``time + i``."""
        ...

    def victim(self, set_index: int) -> int:
        """Scalar :meth:`victims` for one set (same choice, same random draws)."""
        ...

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        """Scalar :meth:`touch` for one access at ``time``."""
        ...


class LruPolicy:
    """True LRU: evict the way with the oldest last-access stamp."""

    def __init__(self, sets: int, ways: int, seed: int) -> None:
        self.stamp = np.full((sets, ways), -1, dtype=np.int64)

    def victims(self, sets: np.ndarray) -> np.ndarray:
        return self.stamp[sets].argmin(axis=1)

    def touch(self, sets: np.ndarray, ways: np.ndarray, filled: np.ndarray, time: int) -> None:
        self.stamp[sets, ways] = time + np.arange(sets.shape[0], dtype=np.int64)

    def victim(self, set_index: int) -> int:
        return int(self.stamp[set_index].argmin())

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        self.stamp[set_index, way] = time


class FifoPolicy(LruPolicy):
    """FIFO: evict the way filled longest ago; hits do not refresh the stamp."""

    def touch(self, sets: np.ndarray, ways: np.ndarray, filled: np.ndarray, time: int) -> None:
        order = time + np.arange(sets.shape[0], dtype=np.int64)
        self.stamp[sets[filled], ways[filled]] = order[filled]

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        if filled:
            self.stamp[set_index, way] = time


class RandomPolicy:
    """Uniform random victim from a ``numpy.random.Generator`` seeded with ``seed``."""

    def __init__(self, sets: int, ways: int, seed: int) -> None:
        self.ways = ways
        self.rng = np.random.default_rng(seed)

    def victims(self, sets: np.ndarray) -> np.ndarray:
        return self.rng.integers(0, self.ways, size=sets.shape[0], dtype=np.int64)

    def touch(self, sets: np.ndarray, ways: np.ndarray, filled: np.ndarray, time: int) -> None:
        return None

    def victim(self, set_index: int) -> int:
        return int(self.rng.integers(0, self.ways, size=1, dtype=np.int64)[0])

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        return None


class TreePlruPolicy:
    """Tree pseudo-LRU for a power-of-two number of ways.

    Each set keeps ``ways - 1`` bits of a binary tree in heap order (node ``n`` has children
    ``2n+1`` and ``2n+2``); a bit 0 sends the victim search left, 1 right. An access flips
    the bits on its path to point away from the accessed way.
    """

    def __init__(self, sets: int, ways: int, seed: int) -> None:
        self.levels = ways.bit_length() - 1
        self.ways = ways
        self.bits = np.zeros((sets, max(ways - 1, 1)), dtype=np.int64)

    def victims(self, sets: np.ndarray) -> np.ndarray:
        node = np.zeros(sets.shape[0], dtype=np.int64)
        for _ in range(self.levels):
            node = 2 * node + 1 + self.bits[sets, node]
        return node - (self.ways - 1)

    def touch(self, sets: np.ndarray, ways: np.ndarray, filled: np.ndarray, time: int) -> None:
        node = np.zeros(sets.shape[0], dtype=np.int64)
        for level in range(self.levels):
            toward = (ways >> (self.levels - 1 - level)) & 1
            self.bits[sets, node] = 1 - toward
            node = 2 * node + 1 + toward

    def victim(self, set_index: int) -> int:
        bits, node = self.bits[set_index].tolist(), 0
        for _ in range(self.levels):
            node = 2 * node + 1 + bits[node]
        return node - (self.ways - 1)

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        bits, node = self.bits[set_index], 0
        for level in range(self.levels):
            toward = (way >> (self.levels - 1 - level)) & 1
            bits[node] = 1 - toward
            node = 2 * node + 1 + toward


POLICIES: dict[Replacement, type] = {
    Replacement.LRU: LruPolicy,
    Replacement.FIFO: FifoPolicy,
    Replacement.RANDOM: RandomPolicy,
    Replacement.PLRU: TreePlruPolicy,
}


def make_policy(replacement: Replacement, sets: int, ways: int, seed: int) -> ReplacementPolicy:
    """Build the policy registered for ``replacement``."""
    return POLICIES[replacement](sets, ways, seed)
