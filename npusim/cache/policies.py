"""Replacement policies, vectorized over a batch of accesses to distinct sets.

Every method receives numpy arrays covering one batch in which each set appears at most once,
so fancy-indexed updates never collide and the batch result equals sequential processing.
Invalid ways are filled first by the cache itself; a policy only chooses among valid ways.

The scalar methods (one access at a time, for small requests) avoid numpy scalar indexing,
which costs about 0.1-0.4 us per operation here: they read a per-set Python list copy of the
state row and write through a flat ``memoryview`` into the same numpy array, so the array stays
the only state. The vectorized :meth:`touch` rewrites rows behind those copies and drops them.
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


class RowCopies:
    """Per-set Python list copies of the rows of ``state`` (a C-contiguous 2-D int64 array),
    loaded on first scalar read and dropped whenever the vectorized path rewrites ``state``."""

    def __init__(self, state: np.ndarray) -> None:
        self.state = state
        self.width = state.shape[1]
        self.flat = memoryview(state.reshape(-1))  # writes land in ``state`` (same buffer)
        self.rows: dict[int, list[int]] = {}

    def row(self, set_index: int) -> list[int]:
        row = self.rows.get(set_index)
        if row is None:
            row = self.rows[set_index] = self.state[set_index].tolist()
        return row

    def write(self, set_index: int, column: int, value: int) -> None:
        row = self.rows.get(set_index)
        if row is not None:
            row[column] = value
        self.flat[set_index * self.width + column] = value


class LruPolicy:
    """True LRU: evict the way with the oldest last-access stamp.

    For the scalar methods, each set they read keeps its ways sorted by stamp (oldest first,
    ties by way index as ``argmin`` breaks them), so a victim is the list head rather than a
    minimum over all ways; a scalar touch stamps the current time, the newest, so it moves
    its way to the end. The vectorized :meth:`touch` drops those lists.
    """

    def __init__(self, sets: int, ways: int, seed: int) -> None:
        self.ways = ways
        self.stamp = np.full((sets, ways), -1, dtype=np.int64)
        self.flat_stamp = memoryview(self.stamp.reshape(-1))  # same buffer as ``stamp``
        self.by_age: dict[int, list[int]] = {}

    def victims(self, sets: np.ndarray) -> np.ndarray:
        return np.take(self.stamp, sets, axis=0).argmin(axis=1)

    def victims_in(self, start: int, stop: int) -> np.ndarray:
        """:meth:`victims` of the sets ``start .. stop - 1`` (a view: no gathered copy)."""
        return self.stamp[start:stop].argmin(axis=1)

    def touch(self, sets: np.ndarray, ways: np.ndarray, filled: np.ndarray, time: int) -> None:
        self.stamp[sets, ways] = time + np.arange(sets.shape[0], dtype=np.int64)
        self.by_age.clear()

    def victim(self, set_index: int) -> int:
        order = self.by_age.get(set_index)
        if order is None:
            stamps = self.stamp[set_index].tolist()
            order = self.by_age[set_index] = sorted(range(self.ways), key=stamps.__getitem__)
        return order[0]

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        order = self.by_age.get(set_index)
        if order is not None:
            order.remove(way)
            order.append(way)
        self.flat_stamp[set_index * self.ways + way] = time


class FifoPolicy(LruPolicy):
    """FIFO: evict the way filled longest ago; hits do not refresh the stamp."""

    def touch(self, sets: np.ndarray, ways: np.ndarray, filled: np.ndarray, time: int) -> None:
        order = time + np.arange(sets.shape[0], dtype=np.int64)
        self.stamp[sets[filled], ways[filled]] = order[filled]
        self.by_age.clear()

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        if filled:
            LruPolicy.touch_one(self, set_index, way, filled, time)


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
        self.copies = RowCopies(self.bits)

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
        self.copies.rows.clear()

    def victim(self, set_index: int) -> int:
        bits, node = self.copies.row(set_index), 0
        for _ in range(self.levels):
            node = 2 * node + 1 + bits[node]
        return node - (self.ways - 1)

    def touch_one(self, set_index: int, way: int, filled: bool, time: int) -> None:
        node, write = 0, self.copies.write
        for level in range(self.levels):
            toward = (way >> (self.levels - 1 - level)) & 1
            write(set_index, node, 1 - toward)
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
