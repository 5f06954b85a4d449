"""One channel's memory controller: queues, scheduler, row policy, refresh, write drain.

Event-driven and cycle-exact in CK cycles: for every pending bank it computes when that bank's
next command (column command for a row hit, PRE for a conflict, ACT for a closed bank) may
legally issue, issues the winner and jumps to the next decision; idle cycles are never ticked.
Policies (names in :mod:`npusim.dram.params`):

* FR-FCFS: among commands ready at the earliest cycle, column commands (row hits) first, then
  the oldest request; a bank's oldest row hit is served before its older conflicting requests.
  FCFS: each bank serves its requests in arrival order (no row-hit reordering); across banks
  the earliest ready command goes first, ties to the oldest request.
* Open page keeps a row open until a request needs another row; closed page closes it after
  every access with auto-precharge (RDA/WRA), the DRAMSim2 "close page" policy.
* Refresh has priority once due: all-bank precharges all (PREA) and issues REFab every nREFI;
  per-bank precharges and refreshes one bank set every nREFIpb while other banks keep working.
* Reads are served until the write queue reaches its high watermark (or no read is queued),
  then writes until it falls to the low watermark (or no write is left).

Requests enter in order (one front end per channel): a request whose queue is full waits, and
so does every later one (backpressure). One CK carries one command (command bus).

The compiled twin of the general loop, ``npusim/dram/_kernel.c``, runs instead of it when it
was built at install (it is optional: without a C compiler the Python loop runs) unless the
environment sets ``NPUSIM_PURE_PYTHON=1``. Both make the same decisions; the tests compare
their command logs, completions and statistics under every policy.
"""

from __future__ import annotations

import math
import os

import numpy as np

from npusim.dram.device import Command, Device
from npusim.dram.kernel import KERNEL_AVAILABLE, CompiledLoop
from npusim.dram.params import PagePolicy, RefreshMode, Scheduler
from npusim.dram.standard import Timing

_INF = 1 << 62
COL_K, PRE_K, ACT_K = 0, 1, 2  # kinds of a bank's candidate command, indices into its floors
HIT, MISS, CONFLICT = 0, 1, 2
ACT, PRE, RD, WR, RDA, WRA = (
    int(Command.ACT),
    int(Command.PRE),
    int(Command.RD),
    int(Command.WR),
    int(Command.RDA),
    int(Command.WRA),
)


class ChannelController:
    """Controller and device state of one channel; state persists across :meth:`run` calls."""

    stream_fast_path = True
    """Serve runs of row hits in the specialised inner loop of :meth:`run`. It makes the same
    decisions as the general loop (tests switch it off to check that), only faster."""

    use_kernel = KERNEL_AVAILABLE and not os.environ.get("NPUSIM_PURE_PYTHON")
    """Run the compiled twin of the loop (same decisions; tests switch it off to compare)."""

    def __init__(
        self,
        timing: Timing,
        *,
        banks: int,
        bank_groups: int,
        scheduler: Scheduler,
        page_policy: PagePolicy,
        refresh: RefreshMode,
        read_queue_depth: int,
        write_queue_depth: int,
        write_high_watermark: float,
        write_low_watermark: float,
        log: bool = False,
    ) -> None:
        self.dev = Device(timing, banks, bank_groups, log=log)
        self.timing = timing
        self.frfcfs = scheduler is Scheduler.FRFCFS
        self.closed_page = page_policy is PagePolicy.CLOSED
        self.refresh = refresh
        self.read_depth = read_queue_depth
        self.write_depth = write_queue_depth
        self.write_high = max(1, math.ceil(write_high_watermark * write_queue_depth))
        self.write_low = int(write_low_watermark * write_queue_depth)
        self.now = 0
        self.write_mode = False
        interval = timing.nREFIpb if refresh is RefreshMode.PER_BANK else timing.nREFI
        self.refresh_due = interval if refresh is not RefreshMode.OFF else _INF
        self.refresh_pending = False
        self.refresh_bank = 0
        self.refresh_cycles = 0
        self.outcome = [0, 0, 0]  # row hits, misses, conflicts (per burst)
        self.opened_as = [HIT] * banks  # outcome the next column command of a bank counts as
        self.closed_by_conflict = [False] * banks
        self.queue_cycles = 0
        self.first_cycle: int | None = None
        self.last_cycle = 0
        self.read_latency_chunks: list[np.ndarray] = []
        self._compiled: CompiledLoop | None = None  # bound at the first compiled run

    def _refresh_candidate(self, now: int) -> tuple[int, int, int]:
        """(cycle, command, bank) of the next command of the pending refresh."""
        dev = self.dev
        if self.refresh is RefreshMode.ALL_BANK:
            cmd = Command.PREA if dev.open_banks else Command.REFAB
            return max(now, dev.earliest(cmd)), int(cmd), 0
        for b in dev.refreshed_banks(self.refresh_bank):
            if dev.open_row[b] >= 0:
                return max(now, dev.earliest(Command.PRE, b)), PRE, b
        bank = self.refresh_bank
        return max(now, dev.earliest(Command.REFPB, bank)), int(Command.REFPB), bank

    def _issue_refresh(self, t: int, cmd: int, bank: int) -> None:
        self.dev.issue(cmd, bank, -1, t)
        if cmd == Command.PREA:
            self.closed_by_conflict[:] = [False] * self.dev.banks
        elif cmd == Command.PRE:
            self.closed_by_conflict[bank] = False
        if cmd == Command.REFAB:
            self.refresh_due += self.timing.nREFI
            self.refresh_cycles += self.timing.nRFCab
            self.refresh_pending = False
        elif cmd == Command.REFPB:
            self.refresh_due += self.timing.nREFIpb
            self.refresh_cycles += self.timing.nRFCpb
            self.refresh_bank = (bank + 1) % self.dev.REFPB_SETS
            self.refresh_pending = False

    def _blocked_banks(self) -> tuple[int, ...]:
        """Banks request commands may not touch while a refresh is pending."""
        if not self.refresh_pending:
            return ()
        if self.refresh is RefreshMode.ALL_BANK:
            return tuple(range(self.dev.banks))
        return tuple(self.dev.refreshed_banks(self.refresh_bank))

    def run(
        self,
        bank: np.ndarray,
        row: np.ndarray,
        is_write: np.ndarray,
        arrival: np.ndarray,
        timed: bool,
    ) -> np.ndarray:
        """Serve bursts (int64 arrays of one length, arrival cycles non-decreasing) to the end.

        Returns each burst's completion cycle (int64): last data beat of a read
        (RD + nCL + nBL), end of the write burst (WR + nCWL + nBL). Read latency is counted
        from the arrival cycle when ``timed``, else from the cycle the request entered its
        queue. The loop is one function on purpose: locals keep the per-command path fast
        (it runs once per command, millions of times a run), so :meth:`Device.issue` is
        repeated inline here (refresh commands still go through it), and runs of row hits,
        nearly all commands of a streaming workload, take the narrower inner loop ``stream``.
        The general loop caches each bank's candidate command between decisions and
        recomputes only the banks whose state changed (``cand_*`` and ``stale`` below).
        Both make exactly the decisions described in the module docstring.
        """
        if self.use_kernel and KERNEL_AVAILABLE:
            if self._compiled is None:
                self._compiled = CompiledLoop(self)
            done_array, enqueued_array = self._compiled.run(bank, row, is_write, arrival)
            return self._finish(done_array, enqueued_array, is_write, arrival, timed)
        n = int(bank.shape[0])
        bank_of, row_of = bank.tolist(), row.tolist()
        write_of, arrival_of = is_write.tolist(), arrival.tolist()
        done = [0] * n
        enqueued = [0] * n
        dev, timing = self.dev, self.timing
        nbanks, group_of, open_row = dev.banks, dev.group_of, dev.open_row
        act_b, pre_b = dev.bank_ready[ACT], dev.bank_ready[PRE]
        rd_b, wr_b = dev.bank_ready[RD], dev.bank_ready[WR]
        rd_g, wr_g = dev.group_ready[RD], dev.group_ready[WR]
        ch, faw, nfaw = dev.channel_ready, dev.faw, timing.nFAW
        counts, log = dev.command_counts, dev.log
        bank_upd, group_upd, chan_upd = dev.bank_updates, dev.group_updates, dev.channel_updates
        read_done, write_done = timing.nCL + timing.nBL, timing.nCWL + timing.nBL
        # Per bank, queued request indices and, in step, their rows (so a row-hit search is
        # one C-level list.index instead of a Python loop over the queue).
        rq: list[list[int]] = [[] for _ in range(nbanks)]
        wq: list[list[int]] = [[] for _ in range(nbanks)]
        rq_rows: list[list[int]] = [[] for _ in range(nbanks)]
        wq_rows: list[list[int]] = [[] for _ in range(nbanks)]
        # Row of each queue's head (-2 when empty): the common row hit is one comparison.
        rq_head, wq_head = [-2] * nbanks, [-2] * nbanks
        ractive: list[int] = []  # banks with queued reads / writes, in no particular order
        wactive: list[int] = []
        rcount = wcount = nxt = finished = 0
        rdepth, wdepth, high, low = (
            self.read_depth,
            self.write_depth,
            self.write_high,
            self.write_low,
        )
        frfcfs, closed = self.frfcfs, self.closed_page
        refresh_on = self.refresh is not RefreshMode.OFF
        now, write_mode = self.now, self.write_mode
        queue_cycles = 0
        outcome, opened_as, closed_by_conflict = (
            self.outcome,
            self.opened_as,
            self.closed_by_conflict,
        )
        blocked: tuple[int, ...] = self._blocked_banks()
        ref_pending, ref_due = self.refresh_pending, self.refresh_due
        if write_mode:
            queues, rows, head, active = wq, wq_rows, wq_head, wactive
            col_b, col_g, col_cmd = wr_b, wr_g, WR
        else:
            queues, rows, head, active = rq, rq_rows, rq_head, ractive
            col_b, col_g, col_cmd = rd_b, rd_g, RD
        col_cmd_closed = WRA if write_mode else RDA
        faw_index = dev.faw_index  # a local copy, written back at every ACT
        next_arrival = arrival_of[0] if n else _INF  # of request nxt, _INF when none is left
        rd_bank_upd, rd_group_upd, rd_chan_upd = bank_upd[RD], group_upd[RD], chan_upd[RD]
        # Each queued bank's candidate command, cached between decisions: its kind, its bank
        # (and, for a column command, bank group) bound, its tie-break (the request index,
        # plus n for a row command under FR-FCFS: column commands first, then the oldest
        # request) and a column command's queue position. Banks in ``stale`` (or all, ``all_stale``)
        # are recomputed before the next decision: a bank is stale after a request joins its
        # empty queue or hits its open row, or a column command issues to it (ACT and PRE
        # set the next candidate directly; a column command raises its group-mates' column
        # bounds in place); all after a mode switch, a refresh command or a streaming run.
        cand_kind, cand_bound = [0] * nbanks, [0] * nbanks
        cand_tie, cand_pos = [0] * nbanks, [0] * nbanks
        not_col = n if frfcfs else 0
        group_members = dev.group_members
        stale: list[int] = []
        all_stale = True

        def stream(
            now: int,
            nxt: int,
            next_arrival: int,
            finished: int,
            rcount: int,
            queue_cycles: int,
            oldest: int,
        ) -> tuple[int, int, int, int, int, int, int, int]:
            """Row-hit streaming, the common case, with the general loop's decisions.

            Precondition (checked by the caller at a decision, after arrivals were queued):
            open page, read mode, no write queued, no refresh pending, and the head of every
            read queue hits its bank's open row. Then every candidate is that head's RD, so
            the winner is the least (cycle, request index), and nothing else needs a look.
            Returns at the first decision where the precondition may break (a write or a
            non-hitting head arrives, a head stops hitting) or where a refresh or an arrival
            could come first; the last value is the cycle the general loop must decide
            without this path (-1 when any). ``oldest`` is a request index at or below the
            oldest request not yet served (it only moves forward).
            """
            while True:
                col_floor = ch[RD]
                if now > col_floor:
                    col_floor = now
                # No RD can issue before col_floor. Every request below nxt is served or
                # queued and queues keep arrival order, so the oldest unserved request heads
                # its queue: if its bank is ready by col_floor it wins outright, otherwise
                # look at every bank.
                while oldest < nxt and done[oldest]:
                    oldest += 1
                if oldest == nxt:
                    return now, nxt, next_arrival, finished, rcount, queue_cycles, oldest, now
                best_req = oldest
                best_bank = bank_of[oldest]
                best_t = rd_b[best_bank]
                tg = rd_g[group_of[best_bank]]
                if tg > best_t:
                    best_t = tg
                if best_t <= col_floor:
                    best_t = col_floor
                else:
                    best_t = _INF
                    for b in ractive:
                        tc = rd_b[b]
                        tg = rd_g[group_of[b]]
                        if tg > tc:
                            tc = tg
                        if col_floor > tc:
                            tc = col_floor
                        if tc < best_t or (tc == best_t and rq[b][0] < best_req):
                            best_t, best_bank, best_req = tc, b, rq[b][0]
                if (refresh_on and ref_due <= best_t) or now < next_arrival <= best_t:
                    return now, nxt, next_arrival, finished, rcount, queue_cycles, oldest, now
                t, b, req = best_t, best_bank, best_req
                q, qr = rq[b], rq_rows[b]
                del q[0]
                del qr[0]
                leave = False
                if not q:
                    ractive.remove(b)
                    rq_head[b] = -2
                else:
                    rq_head[b] = qr[0]
                    leave = qr[0] != open_row[b]
                for ready, latency in rd_bank_upd:  # Device.issue(RD), as in the general loop
                    if ready[b] < t + latency:
                        ready[b] = t + latency
                g = group_of[b]
                for ready, latency in rd_group_upd:
                    if ready[g] < t + latency:
                        ready[g] = t + latency
                for slot, latency in rd_chan_upd:
                    if ch[slot] < t + latency:
                        ch[slot] = t + latency
                counts[RD] += 1
                if log is not None:
                    log.append((t, RD, b, row_of[req]))
                rcount -= 1
                done[req] = t + read_done
                queue_cycles += t - enqueued[req]
                finished += 1
                outcome[opened_as[b]] += 1
                opened_as[b] = HIT
                now = t + 1
                while not leave and next_arrival <= now:
                    if write_of[nxt]:
                        leave = True
                        break
                    if rcount >= rdepth:
                        break
                    b = bank_of[nxt]
                    r = row_of[nxt]
                    q = rq[b]
                    if not q:
                        ractive.append(b)
                        rq_head[b] = r
                        leave = r != open_row[b]
                    q.append(nxt)
                    rq_rows[b].append(r)
                    rcount += 1
                    enqueued[nxt] = now
                    nxt += 1
                    next_arrival = arrival_of[nxt] if nxt < n else _INF
                if leave or finished == n:
                    return now, nxt, next_arrival, finished, rcount, queue_cycles, oldest, -1

        stream_ok, slow_at, miss_bank = self.stream_fast_path and not closed, -1, 0
        oldest = 0
        # The next request waits for room in its queue (backpressure): no arrival is looked at
        # until a column command frees a slot.
        front_blocked = False
        while finished < n:
            while next_arrival <= now and not front_blocked:
                b = bank_of[nxt]
                if write_of[nxt]:
                    if wcount >= wdepth:
                        front_blocked = True
                        break
                    q = wq[b]
                    if not q:
                        wactive.append(b)
                        wq_head[b] = row_of[nxt]
                        stale.append(b)
                    elif row_of[nxt] == open_row[b]:  # may be the bank's first row hit
                        stale.append(b)
                    q.append(nxt)
                    wq_rows[b].append(row_of[nxt])
                    wcount += 1
                else:
                    if rcount >= rdepth:
                        front_blocked = True
                        break
                    q = rq[b]
                    if not q:
                        ractive.append(b)
                        rq_head[b] = row_of[nxt]
                        stale.append(b)
                    elif row_of[nxt] == open_row[b]:
                        stale.append(b)
                    q.append(nxt)
                    rq_rows[b].append(row_of[nxt])
                    rcount += 1
                enqueued[nxt] = now
                nxt += 1
                next_arrival = arrival_of[nxt] if nxt < n else _INF
            if write_mode:
                if wcount == 0 or (rcount and wcount <= low):
                    write_mode = False
                    queues, rows, head, active = rq, rq_rows, rq_head, ractive
                    col_b, col_g, col_cmd = rd_b, rd_g, RD
                    col_cmd_closed = RDA
                    all_stale = True
            elif wcount >= high or (wcount and not rcount):
                write_mode = True
                queues, rows, head, active = wq, wq_rows, wq_head, wactive
                col_b, col_g, col_cmd = wr_b, wr_g, WR
                col_cmd_closed = WRA
                all_stale = True
            if stream_ok and not write_mode and not wcount and not ref_pending and now != slow_at:
                # Every read queue's head hits its open row? (-2: empty queue.) The bank that
                # missed last time is asked first, as it usually still misses.
                head_row = rq_head[miss_bank]
                hits_only = head_row == -2 or head_row == open_row[miss_bank]
                if hits_only:
                    for b in ractive:
                        if open_row[b] != rq_head[b]:
                            hits_only, miss_bank = False, b
                            break
                if hits_only:
                    (now, nxt, next_arrival, finished, rcount, queue_cycles, oldest, slow_at) = (
                        stream(now, nxt, next_arrival, finished, rcount, queue_cycles, oldest)
                    )
                    all_stale, front_blocked = True, False
                    continue
            # Channel-wide lower bounds of each command kind, folded with ``now`` once per
            # decision, so a bank's candidate cycle is one max with its own bank/group bound.
            col_floor = ch[col_cmd]
            if now > col_floor:
                col_floor = now
            pre_floor = ch[PRE]
            if now > pre_floor:
                pre_floor = now
            act_floor = ch[ACT]  # nFAW included, see the ACT below
            if now > act_floor:
                act_floor = now
            # Refresh the cached candidate of every bank whose state changed since the last
            # decision (see ``cand_*`` above).
            if all_stale:
                stale[:] = active
                all_stale = False
            if stale:
                for b in stale:
                    q = queues[b]
                    if not q:
                        continue
                    orow = open_row[b]
                    if orow == head[b]:
                        pos = 0
                    elif orow >= 0:
                        qr = rows[b]
                        if frfcfs and orow in qr:
                            pos = qr.index(orow)
                        else:
                            cand_kind[b], cand_bound[b] = PRE_K, pre_b[b]
                            cand_tie[b] = not_col + q[0]
                            continue
                    else:
                        cand_kind[b], cand_bound[b], cand_tie[b] = ACT_K, act_b[b], not_col + q[0]
                        continue
                    tc = col_b[b]  # a row hit at queue position pos
                    tg = col_g[group_of[b]]
                    cand_kind[b], cand_bound[b] = COL_K, tc if tc > tg else tg
                    cand_tie[b], cand_pos[b] = q[pos], pos
                stale.clear()
            # The winner is the least (cycle, tie) over the banks; ties are unique, so the
            # bank order does not matter, and a bank whose cycle is already later than the
            # best so far needs no further look.
            floors = (col_floor, pre_floor, act_floor)
            best_t, best_tie, best_bank = _INF, 0, -1
            for b in [b for b in active if b not in blocked] if blocked else active:
                tc = cand_bound[b]
                if tc > best_t:
                    continue
                floor = floors[cand_kind[b]]
                if floor > tc:
                    tc = floor
                    if tc > best_t:
                        continue
                tie = cand_tie[b]
                if tc < best_t or tie < best_tie:
                    best_t, best_tie, best_bank = tc, tie, b
            if ref_pending:
                rt, rcmd, rbank = self._refresh_candidate(now)
                if rt <= best_t:
                    self._issue_refresh(rt, rcmd, rbank)
                    all_stale = True
                    ref_pending, ref_due = self.refresh_pending, self.refresh_due
                    now = rt + 1
                    blocked = self._blocked_banks()
                    continue
            elif (
                refresh_on
                and ref_due <= best_t
                and not (now < next_arrival < best_t and next_arrival < ref_due)
            ):
                # the refresh falls due before the next command (and before any arrival)
                self.refresh_pending = ref_pending = True
                blocked = self._blocked_banks()
                if ref_due > now:
                    now = ref_due
                continue
            if (
                now < next_arrival <= best_t
                and nxt < n
                and ((wcount < wdepth) if write_of[nxt] else (rcount < rdepth))
            ):
                now = next_arrival  # a request arrives, with room, before the next command
                continue
            if best_t == _INF:
                raise RuntimeError("DRAM controller has queued requests but no command")
            b = best_bank
            t = best_t
            kind = cand_kind[b]
            if kind == COL_K:
                req = best_tie
                front_blocked = False
                stale.append(b)
                pos = cand_pos[b]
                q, qr = queues[b], rows[b]
                del q[pos]
                del qr[pos]
                if not q:
                    active.remove(b)
                    head[b] = -2
                elif pos == 0:
                    head[b] = qr[0]
                cmd = col_cmd_closed if closed else col_cmd
                if write_mode:
                    wcount -= 1
                    done[req] = t + write_done
                else:
                    rcount -= 1
                    done[req] = t + read_done
                queue_cycles += t - enqueued[req]
                finished += 1
                outcome[opened_as[b]] += 1
                opened_as[b] = HIT
            else:
                req = best_tie - not_col
                cmd = PRE if kind == PRE_K else ACT
                if cmd == PRE:
                    closed_by_conflict[b] = True
                else:
                    opened_as[b] = CONFLICT if closed_by_conflict[b] else MISS
                    closed_by_conflict[b] = False
            # Device.issue, inline (it runs once per command): timing, count, log, row state
            for ready, latency in bank_upd[cmd]:
                if ready[b] < t + latency:
                    ready[b] = t + latency
            g = group_of[b]
            for ready, latency in group_upd[cmd]:
                if ready[g] < t + latency:
                    ready[g] = t + latency
            for slot, latency in chan_upd[cmd]:
                if ch[slot] < t + latency:
                    ch[slot] = t + latency
            counts[cmd] += 1
            if log is not None:
                log.append((t, cmd, b, row_of[req]))
            if kind == COL_K:
                # The group's column bound moved, and with it every column candidate of the
                # group (a candidate's bound is max(bank bound, group bound)).
                tg = col_g[g]
                for m in group_members[g]:
                    if cand_kind[m] == COL_K and cand_bound[m] < tg:
                        cand_bound[m] = tg
            if cmd == ACT:
                faw[faw_index] = t
                dev.faw_index = faw_index = (faw_index + 1) & 3
                # Fold the four-activate window into the channel's ACT bound: it only moves
                # at an ACT (the oldest of the last four plus nFAW), so the floor is one read.
                if ch[ACT] < faw[faw_index] + nfaw:
                    ch[ACT] = faw[faw_index] + nfaw
                open_row[b] = row_of[req]
                if dev.open_banks == 0:
                    dev.active_since = t
                dev.open_banks += 1
                # the bank's next candidate, set here rather than recomputed: the column
                # command of the request (its queue's head) the row was opened for
                tc, tg = col_b[b], col_g[g]
                cand_kind[b], cand_bound[b] = COL_K, tc if tc > tg else tg
                cand_tie[b], cand_pos[b] = req, 0
            elif cmd != col_cmd:  # PRE, RDA, WRA close the bank
                open_row[b] = -1
                if dev.open_banks == 1:
                    dev.active_cycles += t - dev.active_since
                dev.open_banks -= 1
                if cmd == PRE:  # next candidate: the same request's ACT (tie unchanged)
                    cand_kind[b], cand_bound[b] = ACT_K, act_b[b]
            now = t + 1
        self.now, self.write_mode = now, write_mode
        self.queue_cycles += queue_cycles
        return self._finish(done, enqueued, is_write, arrival, timed)

    def _finish(
        self,
        done: list[int] | np.ndarray,
        enqueued: list[int] | np.ndarray,
        is_write: np.ndarray,
        arrival: np.ndarray,
        timed: bool,
    ) -> np.ndarray:
        completion = np.array(done, dtype=np.int64)
        if completion.size:
            start = arrival if timed else np.asarray(enqueued, dtype=np.int64)
            reads = ~is_write
            self.read_latency_chunks.append(completion[reads] - start[reads])
            first = int(arrival[0])
            self.first_cycle = first if self.first_cycle is None else self.first_cycle
            self.last_cycle = max(self.last_cycle, int(completion.max()))
        return completion
