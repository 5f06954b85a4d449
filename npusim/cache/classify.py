"""3C miss classification (Hill and Smith, "Evaluating associativity in CPU caches", 1989).

Each miss of the set-associative cache is exactly one of: *compulsory* (the line was never
allocated before, so an infinite cache would miss too), *capacity* (a fully associative LRU
cache of the same number of lines and the same allocation policy misses as well) or
*conflict* (that fully associative cache would hit). The three therefore add up to the misses.

The fully associative LRU is an ``OrderedDict`` walked once per line access in plain Python
(about 0.6-1 us per line here, measured; about 0.25 us per line on the bulk path for blocks of
never-seen lines), so classification is optional in the cache model. The set of lines ever
allocated grows with the distinct lines touched (tens of bytes per scattered line; a run of
consecutive lines allocated as one block is one range, :class:`LineSet`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict, deque


class LineSet:
    """The lines ever allocated: a set for scattered lines and, for a block of distinct lines
    that is exactly a range (a streaming block), sorted disjoint ranges, so a 1 GiB stream
    costs one range instead of 16.8M set entries (about 1.3 GB, measured)."""

    def __init__(self) -> None:
        self.scattered: set[int] = set()
        self.starts: list[int] = []  # sorted; range k is [starts[k], stops[k])
        self.stops: list[int] = []

    def __contains__(self, line: int) -> bool:
        if line in self.scattered:
            return True
        if not self.starts:
            return False
        k = bisect_right(self.starts, line) - 1
        return k >= 0 and line < self.stops[k]

    def __len__(self) -> int:
        """Lines held (a line is in the set or in a range, never both)."""
        return len(self.scattered) + sum(
            stop - start for start, stop in zip(self.starts, self.stops, strict=True)
        )

    def add(self, line: int) -> None:
        if line not in self:
            self.scattered.add(line)

    def update_new(self, lines: list[int]) -> None:
        """Add ``lines``: distinct, and none held yet (the caller checked
        :meth:`isdisjoint`)."""
        if len(lines) > 1:
            low, high = min(lines), max(lines)
            if high - low == len(lines) - 1:  # distinct and this dense: exactly the range
                self._add_range(low, high + 1)
                return
        self.scattered.update(lines)

    def _add_range(self, start: int, stop: int) -> None:
        """Add ``[start, stop)``, held nowhere yet, merged with a range it touches."""
        k = bisect_right(self.starts, start)
        if k > 0 and self.stops[k - 1] == start:
            self.stops[k - 1] = stop
            if k < len(self.starts) and self.starts[k] == stop:  # it bridged two ranges
                self.stops[k - 1] = self.stops.pop(k)
                self.starts.pop(k)
        elif k < len(self.starts) and self.starts[k] == stop:
            self.starts[k] = start
        else:
            self.starts.insert(k, start)
            self.stops.insert(k, stop)

    def isdisjoint(self, lines: list[int]) -> bool:
        """Whether no line of ``lines`` is held."""
        if not self.scattered.isdisjoint(lines):
            return False
        if not self.starts or not lines:
            return True
        low, high = min(lines), max(lines)
        k = bisect_right(self.starts, high) - 1  # the last range starting at or below high
        if k < 0 or self.stops[k] <= low:  # ranges are disjoint and sorted: none reaches in
            return True
        return not any(line in self for line in lines)


class MissClassifier:
    """Fully associative LRU shadow of ``capacity_lines`` lines plus the set of lines ever
    allocated; ``write_allocate`` False means a write miss allocates nothing (write-through).
    """

    def __init__(self, capacity_lines: int, write_allocate: bool) -> None:
        self.capacity_lines = capacity_lines
        self.write_allocate = write_allocate
        self.resident: OrderedDict[int, None] = OrderedDict()
        self.allocated = LineSet()

    def classify(
        self, lines: list[int], is_write: list[bool], missed: list[bool], distinct: bool = False
    ) -> tuple[int, int, int]:
        """Feed line accesses in order; return (compulsory, capacity, conflict) counts of
        the accesses flagged in ``missed`` (the set-associative cache's misses).

        ``distinct`` True promises no line repeats in ``lines`` (a block access), which
        enables a vectorized path when none of them was allocated before."""
        resident, allocated = self.resident, self.allocated
        if distinct and (self.write_allocate or not any(is_write)) and allocated.isdisjoint(lines):
            return self._all_new(lines), 0, 0
        if distinct and all(map(resident.__contains__, lines)):
            # Re-reading resident data (tile reuse): every miss here is a conflict miss.
            deque(map(resident.move_to_end, lines), maxlen=0)
            return 0, 0, sum(missed)
        capacity_lines, write_allocate = self.capacity_lines, self.write_allocate
        compulsory = capacity = conflict = 0
        # Ranges are added only by _all_new, never in this loop: without any, the set alone
        # answers (a method call per line would cost ~12 % on a random trace, measured).
        held = allocated if allocated.starts else allocated.scattered
        for line, write, miss in zip(lines, is_write, missed, strict=True):
            if line in resident:
                resident.move_to_end(line)
                conflict += miss
                continue
            if miss:
                if line in held:
                    capacity += 1
                else:
                    compulsory += 1
            if write_allocate or not write:
                resident[line] = None
                held.add(line)
                if len(resident) > capacity_lines:
                    resident.popitem(last=False)
        return compulsory, capacity, conflict

    def classify_one(self, line: int, is_write: bool, missed: bool) -> tuple[int, int, int]:
        """:meth:`classify` of a single line access, without the bulk shortcuts' checks
        (which would cost more than the walk itself)."""
        resident = self.resident
        if line in resident:
            resident.move_to_end(line)
            return (0, 0, 1) if missed else (0, 0, 0)
        counts = ((0, 1, 0) if line in self.allocated else (1, 0, 0)) if missed else (0, 0, 0)
        if self.write_allocate or not is_write:
            resident[line] = None
            self.allocated.add(line)
            if len(resident) > self.capacity_lines:
                resident.popitem(last=False)
        return counts

    def _all_new(self, lines: list[int]) -> int:
        """Fast path for distinct lines never allocated before (streaming): each one misses
        in both caches and is compulsory; insert them in order and evict the oldest."""
        resident, capacity_lines = self.resident, self.capacity_lines
        self.allocated.update_new(lines)
        if len(lines) >= capacity_lines:  # the block alone evicts everything before it
            self.resident = OrderedDict.fromkeys(lines[-capacity_lines:])
            return len(lines)
        for line in lines:  # item assignment: OrderedDict.update is ~4x slower (measured)
            resident[line] = None
        for _ in range(len(resident) - capacity_lines):
            resident.popitem(last=False)
        return len(lines)
