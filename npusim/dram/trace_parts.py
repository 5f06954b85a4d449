"""A trace through the channels in parts of bounded size (:meth:`DramSystem.run_trace`).

A trace line may ask for a gigabyte (33.5M bursts of 32 B) and a binary trace holds up to
2^27 requests, so the bursts are never all expanded at once: the trace's burst sequence is cut
into parts of ``part_bursts``; each part is decoded and handed to every channel's controller
(:meth:`ChannelController.run_part`), which pauses where the next part takes over and carries
its queued bursts into it (:mod:`npusim.dram.carry`). The decisions, completions and
statistics are those of one run over the whole trace; memory is the per-request arrays plus
the working arrays of one part (:data:`PART_BURSTS`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from npusim.dram.system import DramSystem

PART_BURSTS = 1 << 21
"""Bursts per part: with the compiled loop about 150 B of working arrays each (one 1 GiB
request, 33.5M bursts in 16 parts, peaks at 392 MB of resident memory where one run took
3.0 GB); each part boundary costs about 15 ms (copies of the carried-over arrays), and the
benchmark traces (up to 2M requests) are one part."""


def burst_range(
    first: np.ndarray, counts: np.ndarray, ends: np.ndarray, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bursts ``lo .. hi - 1`` of the sequence the requests cover, request by request (request
    r covers bursts ``first[r] ..`` of the address space, ``counts[r]`` of them, and ends at
    position ``ends[r]`` = the cumulative count): (burst indices, request of each)."""
    r0 = int(np.searchsorted(ends, lo, side="right"))  # the first request ending after lo
    r1 = int(np.searchsorted(ends, hi, side="left")) + 1  # one past the last starting before hi
    starts = ends[r0:r1] - counts[r0:r1]
    taken = np.minimum(ends[r0:r1], hi) - np.maximum(starts, lo)
    request = np.repeat(np.arange(r0, r1, dtype=np.int64), taken)
    position = np.arange(lo, hi, dtype=np.int64)
    return first[request] + position - np.repeat(starts, taken), request


def run_parts(
    system: DramSystem,
    trace_fields: tuple[np.ndarray, np.ndarray | None],
    first: np.ndarray,
    counts: np.ndarray,
    part_bursts: int,
    keep_bursts: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Serve the requests (``first``, ``counts`` as :func:`burst_range`; ``trace_fields`` =
    (is_write, arrival cycles or None when untimed)) part by part; return each request's
    completion (the last of its bursts') and, when ``keep_bursts``, each burst's."""
    is_write, cycles = trace_fields
    total = int(counts.sum())
    single = total == counts.size  # one burst per request: burst index = request index
    ends = counts if single else np.cumsum(counts)  # (read only for multi-burst requests)
    done = np.zeros(counts.size, dtype=np.int64)
    per_burst = np.zeros(total, dtype=np.int64) if keep_bursts else None
    timed = cycles is not None
    for lo in range(0, total, part_bursts):
        hi = min(total, lo + part_bursts)
        if single:
            bursts, request = first[lo:hi], slice(lo, hi)
        else:
            bursts, request = burst_range(first, counts, ends, lo, hi)
        arrival = (
            cycles[request] if timed else np.full(hi - lo, system.last_arrival_ck, dtype=np.int64)
        )
        served = _serve_part(system, bursts, is_write[request], arrival, lo, timed, hi == total)
        for ids, completion in served:  # a burst carried to the next part: completion 0
            if per_burst is not None:
                per_burst[ids] = completion
            if not single:
                np.maximum.at(done, np.searchsorted(ends, ids, side="right"), completion)
            elif ids.shape[0] == done.shape[0]:  # one channel served every burst here, in
                done = completion  # order (a channel's ids ascend: carried ones are older)
            else:
                done[ids] = completion
    return done, per_burst


def _serve_part(
    system: DramSystem,
    bursts: np.ndarray,
    is_write: np.ndarray,
    arrival: np.ndarray,
    lo: int,
    timed: bool,
    last: bool,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Hand each channel its bursts of one part (in order; ids: positions in the trace's
    burst sequence); the last part also drains channels that got none but carry some."""
    decoded = system.address_map.decode(bursts)
    ids = np.arange(lo, lo + bursts.shape[0], dtype=np.int64)
    out = []
    if system.channels == 1:
        fields = (decoded.bank, decoded.row, is_write, arrival, ids)
        return [system.controllers[0].run_part(*fields, timed=timed, last=last)]
    # (a stable sort of 8-bit keys is a radix sort: 3-4x faster than of int64 ones)
    order = np.argsort(decoded.channel.astype(np.uint8), kind="stable")
    ends = np.cumsum(np.bincount(decoded.channel, minlength=system.channels)).tolist()
    start = 0
    for controller, end in zip(system.controllers, ends, strict=True):
        if end > start or (last and controller.carried is not None):
            mine = order[start:end]
            fields = (decoded.bank[mine], decoded.row[mine], is_write[mine], arrival[mine])
            out.append(controller.run_part(*fields, ids[mine], timed=timed, last=last))
        start = end
    return out
