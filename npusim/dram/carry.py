"""Serving a long burst sequence in parts, with the decisions of one run over all of it.

:meth:`DramSystem.run_trace <npusim.dram.system.DramSystem.run_trace>` hands a channel's
bursts to :meth:`ChannelController.run_part
<npusim.dram.controller.ChannelController.run_part>` a part at a time, so memory stays
bounded by the part size however many bursts a trace covers (one ``LD 0x0 1073741824`` is
33.5M bursts of 32 B). A part's run pauses at the moment its last burst would enter its queue:
which queue that burst goes to and when it arrives are all the decisions before that moment
depend on, so that burst is the lookahead and is not queued. The bursts queued and not served
yet, then the lookahead, are carried to the front of the next part; both loops queue the
carried bursts in order before they start (the active slots, the pending ACT-2 and the rest
of the controller's state live on the controller), so every command, completion and
statistic equals that of one run over the whole sequence; the tests compare them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from npusim.dram.loop import PythonLoop


@dataclass(frozen=True)
class Part:
    """What a loop needs to run one part: bursts ``0 .. queued - 1`` are in their queues
    already, entered at ``enqueued`` (CK) with their row outcome counted where
    ``classified`` is 1; the run pauses when burst ``stop`` would enter its queue (``stop``
    = the part's length: serve every burst)."""

    queued: int
    stop: int
    enqueued: np.ndarray
    classified: np.ndarray


@dataclass(frozen=True)
class Carried:
    """The bursts a paused part leaves to the next: each field one int64 (``is_write``
    bool) entry per burst, the queued ones first (``queued`` of them), then the lookahead."""

    bank: np.ndarray
    row: np.ndarray
    is_write: np.ndarray
    arrival: np.ndarray
    ids: np.ndarray
    enqueued: np.ndarray
    classified: np.ndarray
    queued: int

    def prepend(self, fields: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """(bank, row, is_write, arrival, ids) of the next part with these bursts first."""
        mine = (self.bank, self.row, self.is_write, self.arrival, self.ids)
        return tuple(np.concatenate((old, new)) for old, new in zip(mine, fields, strict=True))


def carry_over(
    fields: tuple[np.ndarray, ...],
    done: np.ndarray,
    enqueued: np.ndarray,
    classified: np.ndarray,
    stop: int,
    pinned: list[int],
) -> Carried:
    """What a part paused at ``stop`` carries: its queued, unserved bursts (completion 0) and
    the ones from ``stop`` on. ``fields`` are the part's (bank, row, is_write, arrival, ids);
    ``pinned`` (per bank, a burst index or -1) is renumbered in place to the carried bursts'
    positions."""
    waiting = np.flatnonzero(done[:stop] == 0)
    keep = np.concatenate((waiting, np.arange(stop, done.shape[0])))
    for bank, index in enumerate(pinned):
        if index >= 0:
            pinned[bank] = int(np.searchsorted(waiting, index))
    bank, row, is_write, arrival, ids = (field[keep] for field in fields)
    return Carried(
        bank, row, is_write, arrival, ids, enqueued[waiting], classified[waiting], waiting.size
    )


def queue_carried(loop: PythonLoop, part: Part) -> None:
    """Queue, in ``loop``, the requests a paused part left queued, in order (the Python loop;
    ``_kernel.c`` does the same): one in an active slot heads its queue and, released at its
    ACT, is not counted."""
    pinned, release_at_act = loop.pinned, loop.release_at_act
    for i in range(part.queued):
        b, r, is_write = loop.bank_of[i], loop.row_of[i], loop.write_of[i]
        if is_write:
            q, owners, heads, rows = loop.wq[b], loop.wactive, loop.wq_head, loop.wq_rows[b]
        else:
            q, owners, heads, rows = loop.rq[b], loop.ractive, loop.rq_head, loop.rq_rows[b]
        if not q:
            owners.append(b)
            heads[b] = r
        q.append(i)
        rows.append(r)
        if pinned[b] == i:
            if is_write:
                loop.pinned_writes += 1
            else:
                loop.pinned_reads += 1
            if release_at_act:
                continue
        if is_write:
            loop.wcount += 1
        else:
            loop.rcount += 1
    loop.enqueued[: part.queued] = part.enqueued.tolist()
    loop.classified[: part.queued] = [bool(c) for c in part.classified.tolist()]
    loop.nxt = part.queued
