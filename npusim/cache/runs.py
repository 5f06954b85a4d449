"""Runs of line accesses as numpy arrays: a request's lines, the helpers that cut a trace into
batches of distinct sets, and the per-run bookkeeping the cache model applies to them
(:mod:`npusim.cache.model`). Pure functions of arrays; no cache state.
"""

from __future__ import annotations

from typing import Any

import numpy as np

EMPTY_ADDRS = np.zeros(0, dtype=np.uint64)
"""No byte addresses (shared, never written)."""

# Per-line record of a run: line numbers, write flags, miss flags (in order: lists from the
# per-line path, numpy arrays from the vectorized one), byte addresses of fetched and of
# written-back lines (Python ints from the per-line path, else uint64 arrays), eviction count.
# A plain tuple: a NamedTuple costs ~0.25 us per request.
Run = tuple[Any, Any, Any, "np.ndarray | list", "np.ndarray | list", int]


def line_spans(
    addr: np.ndarray, size: np.ndarray, line_shift: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each request's first line and its number of lines (int64 arrays): ``addr`` and
    ``size`` in bytes as int64, a size of 0 meaning the one line holding the address."""
    first = addr >> line_shift
    return first, ((addr + np.maximum(size, 1) - 1) >> line_shift) - first + 1


def written_addrs(lines: Any, writes: Any, shift: int, small: bool) -> np.ndarray:
    """uint64 byte addresses of the written lines, in order (write-through traffic); lists
    from the per-line path (``small``), else arrays."""
    if small:  # a few Python ints: shift them before the one np.array call, skip the ufunc
        return np.array([line << shift for line, w in zip(lines, writes, strict=True) if w],
                        dtype=np.uint64)  # fmt: skip
    return lines[writes].astype(np.uint64) << shift


def without_write_fills(run: Run, shift: int) -> Run:
    """``run`` with the fetches of written lines removed (whole-line writes need no fill)."""
    lines, writes, missed, fetched, written_back, evictions = run
    if isinstance(lines, list):
        written = {line << shift for line, w in zip(lines, writes, strict=True) if w}
        kept = [a for a in np.asarray(fetched, dtype=np.uint64).tolist() if a not in written]
        return lines, writes, missed, np.asarray(kept, dtype=np.uint64), written_back, evictions
    fetched = np.asarray(fetched, dtype=np.uint64)
    written_addrs = lines[writes].astype(np.uint64) << shift
    kept_addrs = fetched[~np.isin(fetched, written_addrs)]
    return lines, writes, missed, kept_addrs, written_back, evictions


def any_per_row(mask: np.ndarray) -> np.ndarray:
    """``mask.any(axis=1)`` of a 2-D bool array (hot path). Rows of 8, 16, 24... bools are read
    as whole 64-bit words (about 10x faster than a reduction along a short axis); a bool is one
    byte, 0 or 1, so a word is nonzero exactly when one of its eight bools is set."""
    width = mask.shape[1]
    if width % 8 == 0 and mask.flags.c_contiguous:
        words = mask.view(np.uint64)
        found = words[:, 0] != 0
        for column in range(1, width // 8):
            found |= words[:, column] != 0
        return found
    return np.logical_or.reduce(mask, axis=1)


def conflict_free_bounds(sets: np.ndarray) -> list[int]:
    """Cut points splitting ``sets`` into runs in which no set repeats (greedy, in order)."""
    n = sets.shape[0]
    order = np.argsort(sets, kind="stable")
    ordered = sets[order]
    same = ordered[1:] == ordered[:-1]
    previous = np.full(n, -1, dtype=np.int64)
    previous[order[1:][same]] = order[:-1][same]
    bounds, start, window = [], 0, 64
    while start < n:
        end = min(n, start + window)
        clash = np.flatnonzero(previous[start:end] >= start)
        if clash.size:
            end = start + int(clash[0])
        window = max(64, 2 * (end - start))
        if end < n:
            bounds.append(end)
        start = end
    return bounds
