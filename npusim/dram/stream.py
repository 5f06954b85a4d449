"""Row-hit streaming: the general loop's decisions for runs of row hits, in a narrower loop.

Nearly every command of a streaming workload is a read that hits its bank's open row. When
the controller is in read mode with no write queued, no refresh pending, no active slot held,
and the head of every read queue hits its bank's open row, every candidate is a head's RD
(the scheduler offers no PRE past a hit: ``precharges_past_a_hit`` false, and the row policy
keeps rows open), so the winner is the least (cycle, request index) and nothing else needs a
look. :func:`stream_row_hits` serves such reads until that may change; the equivalence tests
switch it off (``ChannelController.stream_fast_path``) to check it decides as the general loop.

The reads are recorded once, at the end, by :meth:`Device.issue_run` (the same tables, counts
and log as :meth:`Device.issue` on each); in between, the path raises only the bounds its
next read looks at, by the device's ``repeat_latency``. With a call per read the pure-Python
loop took 1.2x the CPU time on 200k sequential reads (2026-12-03).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim.dram.device import Command

if TYPE_CHECKING:
    from npusim.dram.loop import PythonLoop

NEVER = 1 << 62
RD = int(Command.RD)
HIT = 0


def stream_ready(loop: PythonLoop) -> bool:
    """Whether the streaming precondition holds at this decision (after arrivals were
    queued). The bank that missed last time is asked first, as it usually still misses."""
    if (
        loop.write_mode
        or loop.wcount
        or loop.ref_pending
        or loop.now == loop.slow_at
        or loop.pinned_reads
        or loop.pinned_writes
    ):
        return False
    head, open_row, miss_bank = loop.rq_head, loop.open_row, loop.miss_bank
    head_row = head[miss_bank]  # -2: an empty queue
    if head_row != -2 and head_row != open_row[miss_bank]:
        return False
    for b in loop.ractive:
        if open_row[b] != head[b]:
            loop.miss_bank = b
            return False
    return True


def _first_ready(loop: PythonLoop, col_floor: int, oldest: int) -> tuple[int, int, int]:
    """(cycle, bank, request) of the least (cycle, request index) over the read queues'
    heads, none before ``col_floor``, when the oldest unserved request's bank is not ready
    by then (else that request wins outright: the caller checks)."""
    rd_b, rd_g, group_of, rq = loop.rd_b, loop.rd_g, loop.group_of, loop.rq
    best_t, best_bank, best_req = NEVER, -1, oldest
    for b in loop.ractive:
        tc = max(rd_b[b], rd_g[group_of[b]], col_floor)
        if tc < best_t or (tc == best_t and rq[b][0] < best_req):
            best_t, best_bank, best_req = tc, b, rq[b][0]
    return best_t, best_bank, best_req


def stream_row_hits(loop: PythonLoop) -> None:
    """Serve head row hits as the general loop would, until a decision where the
    precondition may break (a write or a non-hitting head arrives, a head stops hitting, a
    request reaches an empty queue of a channel that powers down) or
    where a refresh, an arrival or a CAS could come first; ``loop.slow_at`` is then the cycle
    the general loop must decide without this path (-1 when any).

    Every request below ``nxt`` is served or queued and queues keep arrival order, so the
    oldest unserved request (``oldest``) heads its queue: if its bank is ready by the
    earliest RD cycle it wins outright, else every head is looked at (:func:`_first_ready`).
    One function, its counters in locals: it runs once per read of a streaming workload.
    """
    ch, done, rq, rq_rows, rq_head = loop.ch, loop.done, loop.rq, loop.rq_rows, loop.rq_head
    rd_b, rd_g, group_of, bank_of = loop.rd_b, loop.rd_g, loop.group_of, loop.bank_of
    open_row, row_of, enqueued, dev = loop.open_row, loop.row_of, loop.enqueued, loop.dev
    # What an RD does to the next RD's bounds, applied here at once; the rest of its timing
    # updates, its count and its log entry wait for Device.issue_run at the end (the reads
    # this function issues look at nothing else).
    lat_b, lat_g, lat_ch = dev.repeat_latency[RD]
    bank_bound = lat_b > 0  # JEDEC tables bound RD after RD by group and channel only
    issued: list[tuple[int, int, int]] = []
    ch_rd, hits = ch[RD], 0  # the channel's RD bound, and row hits counted, kept in locals
    read_done, wck_read, need_sync, n = loop.read_done, loop.wck_read, loop.need_sync, loop.n
    refresh_due, classified, rdepth = loop.ref_due, loop.classified, loop.rdepth
    now, oldest, wck_expiry, slow_at = loop.now, loop.oldest, loop.wck_expiry, -1
    nxt, next_arrival, rcount, finished = loop.nxt, loop.next_arrival, loop.rcount, loop.finished
    write_of, arrival_of, ractive, queued_cycles = loop.write_of, loop.arrival_of, loop.ractive, 0
    powers_down, stop = loop.power is not None, loop.stop
    while True:
        col_floor = ch_rd if ch_rd > now else now
        while oldest < nxt and done[oldest]:
            oldest += 1
        if oldest == nxt:
            slow_at = now
            break
        b = bank_of[oldest]
        t = rd_b[b] if rd_b[b] > rd_g[group_of[b]] else rd_g[group_of[b]]
        if t <= col_floor:
            t, req = col_floor, oldest
        else:
            t, b, req = _first_ready(loop, col_floor, oldest)
        if refresh_due <= t or now < next_arrival <= t or (need_sync and t >= wck_expiry):
            slow_at = now
            break
        q, rows = rq[b], rq_rows[b]
        del q[0]
        del rows[0]
        if q:
            rq_head[b] = rows[0]
            leave = rows[0] != open_row[b]
        else:
            ractive.remove(b)
            rq_head[b], leave = -2, False
        issued.append((t, b, row_of[req]))
        # t is at or past every RD bound of b, so each new bound is the max Device.issue takes
        if bank_bound:
            rd_b[b] = t + lat_b
        rd_g[group_of[b]] = t + lat_g
        ch_rd = t + lat_ch
        done[req] = t + read_done
        if t + wck_read > wck_expiry:
            wck_expiry = t + wck_read
        queued_cycles += t - enqueued[req]
        rcount -= 1
        finished += 1
        if not classified[req]:
            classified[req] = True
            hits += 1
        now = t + 1
        while not leave and next_arrival <= now:  # reads arrive while there is room
            if write_of[nxt] or (powers_down and not rcount) or nxt == stop:
                leave = True  # a write, a request that may wake the channel, or a part's
                break  # pause (carry.py): loop.run's
            if rcount >= rdepth:
                break
            b, r = bank_of[nxt], row_of[nxt]
            q = rq[b]
            if not q:
                ractive.append(b)
                rq_head[b] = r
                leave = r != open_row[b]
            q.append(nxt)
            rq_rows[b].append(r)
            enqueued[nxt] = now
            rcount += 1
            nxt += 1
            next_arrival = arrival_of[nxt] if nxt < n else NEVER
        if leave or finished == n:
            break
    dev.issue_run(RD, issued)  # ch[RD] among its updates
    loop.ctrl.outcome[HIT] += hits
    loop.now, loop.oldest, loop.wck_expiry, loop.slow_at = now, oldest, wck_expiry, slow_at
    loop.nxt, loop.next_arrival, loop.rcount, loop.finished = nxt, next_arrival, rcount, finished
    loop.queue_cycles += queued_cycles
