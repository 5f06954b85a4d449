"""One channel's memory controller: queues, scheduler, row policy, refresh, write drain.

Event-driven and cycle-exact in CK cycles: for every pending bank it computes when the
commands its requests need next (column command for a row hit, PRE for a conflict, ACT for a
closed bank) may legally issue, issues the winner and jumps to the next decision; idle cycles
are never ticked. Policies (names and contracts in :mod:`npusim.dram.params`):

* Schedulers pick the command that can issue first, ties to the oldest request: ``frfcfs``
  over every queued request, ``frfcfs-rowhit`` never closing a row an older queued request
  hits, ``fcfs`` serving each bank in arrival order. A request whose row was activated for it
  holds its bank's active slot: its column command goes first at equal cycles, in read and
  write mode alike, and nothing precharges the bank before it.
* Open page keeps a row open until a request needs another row; closed page closes it after
  every access with auto-precharge (RDA/WRA), the DRAMSim2 "close page" policy.
* Refresh has priority once due: all-bank precharges all (PREA) and issues REFab every nREFI;
  per-bank precharges and refreshes one bank set every nREFIpb while other banks keep working.
  Active slots are served before their banks are precharged for it.
* Reads are served until the write queue reaches its high watermark (or no read is queued),
  then writes until it falls to the low watermark (or no write is left).
* A request leaves its queue at its row's activation or at its column command
  (``queue_release``); the next request may then enter.

LPDDR5 command protocol (JESD209-5B): an activation is ACT-1 then ACT-2 at most nAAD CK later;
ACT-2 takes the first command-bus cycle no other command is ready for, or its last legal
cycle, and no other ACT-1 goes out while it is pending (Ramulator 2.1's deferred ACT-2). A
column command whose WCK has stopped (at or after the end of the previous burst plus nWCKPST)
is preceded by CAS (WCK2CK sync) nCAS CK earlier, unless ``wck_sync`` is ``always-on``; the
CAS goes out at the cycle the column command could have, as in Ramulator 2.1 (and gives way to
a pending ACT-2 that would otherwise miss its deadline). Every command takes one CK of the
command bus. A request's row outcome (hit, miss, conflict) is counted once,
at its first command (column, ACT or PRE).

Requests enter in order (one front end per channel): a request whose queue is full waits, and
so does every later one (backpressure).

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
from npusim.dram.latency import LatencyHistogram
from npusim.dram.params import PagePolicy, QueueRelease, RefreshMode, Scheduler, WckSync
from npusim.dram.standard import Timing

_INF = 1 << 62
HIT, MISS, CONFLICT = 0, 1, 2
NONE = -1  # no candidate command
ACT, PRE, RD, WR, RDA, WRA, ACT2, CAS = (
    int(Command.ACT),
    int(Command.PRE),
    int(Command.RD),
    int(Command.WR),
    int(Command.RDA),
    int(Command.WRA),
    int(Command.ACT2),
    int(Command.CAS),
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
        queue_release: QueueRelease = QueueRelease.ACTIVATION,
        wck_sync: WckSync = WckSync.NEED_SYNC,
        log: bool = False,
    ) -> None:
        self.dev = Device(timing, banks, bank_groups, log=log)
        self.timing = timing
        self.scheduler = scheduler
        self.closed_page = page_policy is PagePolicy.CLOSED
        self.refresh = refresh
        self.queue_release = queue_release
        self.wck_sync = wck_sync
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
        self.wck_expiry = 0  # WCK stops at this cycle: a column command from then on needs CAS
        self.outcome = [0, 0, 0]  # row hits, misses, conflicts (per burst, at its first command)
        self.pinned = [-1] * banks  # per bank, the request in its active slot (only in run)
        self.queue_cycles = 0
        self.write_drains = 0  # times the controller switched to write mode
        self.first_cycle: int | None = None
        self.last_cycle = 0
        self.read_latencies = LatencyHistogram()
        self._compiled: CompiledLoop | None = None  # bound at the first compiled run
        self.last_enqueued = np.zeros(0, dtype=np.int64)  # of the last run's bursts

    def _refresh_candidate(self, now: int) -> tuple[int, int, int]:
        """(cycle, command, bank) of the next command of the pending refresh; cycle ``_INF``
        while a bank it must precharge holds an active slot (served first)."""
        dev, pinned = self.dev, self.pinned
        if self.refresh is RefreshMode.ALL_BANK:
            if max(pinned) >= 0:
                return _INF, 0, 0
            cmd = Command.PREA if dev.open_banks else Command.REFAB
            return max(now, dev.earliest(cmd)), int(cmd), 0
        banks = dev.refreshed_banks(self.refresh_bank)
        if any(pinned[b] >= 0 for b in banks):
            return _INF, 0, 0
        for b in banks:
            if dev.open_row[b] >= 0:
                return max(now, dev.earliest(Command.PRE, b)), PRE, b
        bank = self.refresh_bank
        return max(now, dev.earliest(Command.REFPB, bank)), int(Command.REFPB), bank

    def _issue_refresh(self, t: int, cmd: int, bank: int) -> None:
        self.dev.issue(cmd, bank, -1, t)
        if cmd == Command.REFAB:
            self.refresh_due += self.timing.nREFI
            self.refresh_cycles += self.timing.nRFCab
            self.refresh_pending = False
        elif cmd == Command.REFPB:
            self.refresh_due += self.timing.nREFIpb
            self.refresh_cycles += self.timing.nRFCpb
            self.refresh_bank = (bank + 1) % self.dev.REFPB_SETS
            self.refresh_pending = False

    def _skip_idle_refreshes(self, until: int) -> int:
        """The channel idles (nothing queued or held, every bank closed) until ``until``
        with its last refresh issued on time: the refreshes falling due before then are
        periodic, so all but the last are issued in closed form (counts, refresh time, the
        rotating bank set), the last of each bank set for real (their timing effects are the
        only ones that can still matter), leaving the final one, which the loop orders
        against the arrival, to the loop. Returns the cycle after the last one issued here,
        or -1 when there is nothing to skip. Without it an idle gap of 2^48 cycles costs
        ~10^11 loop turns. Off while commands are logged (the log lists every command)."""
        per_bank = self.refresh is RefreshMode.PER_BANK
        interval = self.timing.nREFIpb if per_bank else self.timing.nREFI
        if until >= _INF or self.dev.log is not None:
            return -1
        skip = (until - self.refresh_due) // interval
        if skip < 1:
            return -1
        cmd = int(Command.REFPB if per_bank else Command.REFAB)
        sets = self.dev.REFPB_SETS if per_bank else 1
        counted = skip - min(skip, sets)
        self.dev.command_counts[cmd] += counted
        self.refresh_cycles += counted * (self.timing.nRFCpb if per_bank else self.timing.nRFCab)
        self.refresh_due += counted * interval
        if per_bank:
            self.refresh_bank = (self.refresh_bank + counted) % sets
        t = -1
        for _ in range(skip - counted):
            t = self.refresh_due
            self._issue_refresh(t, cmd, self.refresh_bank if per_bank else 0)
        return t + 1

    def _blocked_banks(self) -> tuple[int, ...]:
        """Banks request commands may not touch while a refresh is pending (active slots
        excepted)."""
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
        repeated inline here (``issue``; refresh commands still go through the device), and
        runs of row hits, nearly all commands of a streaming workload, take the narrower
        inner loop ``stream``. The general loop caches each bank's candidate commands
        between decisions and recomputes only the banks whose state changed (``ca_*``,
        ``cb_*`` and ``stale`` below). Both make exactly the decisions described in the
        module docstring.
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
        classified = [False] * n  # row outcome counted (at the request's first command)
        dev, timing = self.dev, self.timing
        nbanks, group_of, open_row = dev.banks, dev.group_of, dev.open_row
        act_b, pre_b = dev.bank_ready[ACT], dev.bank_ready[PRE]
        rd_b, wr_b = dev.bank_ready[RD], dev.bank_ready[WR]
        group_ready = dev.group_ready
        rd_g, wr_g = group_ready[RD], group_ready[WR]
        ch, faw, nfaw = dev.channel_ready, dev.faw, timing.nFAW
        counts, log = dev.command_counts, dev.log
        bank_upd, group_upd, chan_upd = dev.bank_updates, dev.group_updates, dev.channel_updates
        read_done, write_done = timing.nCL + timing.nBL, timing.nCWL + timing.nBL
        # WCK runs to the end of a burst plus its postamble; a column command at or after
        # that cycle needs a CAS first.
        wck_read, wck_write = read_done + timing.nWCKPST, write_done + timing.nWCKPST
        n_cas = timing.nCAS
        need_sync = self.wck_sync is WckSync.NEED_SYNC
        wck_expiry = self.wck_expiry
        release_at_act = self.queue_release is QueueRelease.ACTIVATION
        n_aad = timing.nAAD
        act2_bank = act2_deadline = act2_row = -1  # the pending ACT-2 (at most one)
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
        # The active slots: a request stays in its bank queue (at its head) until its column
        # command, but leaves the read/write count at its ACT when release_at_act.
        pinned = self.pinned
        pinned_reads = pinned_writes = 0
        rcount = wcount = nxt = finished = 0
        rdepth, wdepth, high, low = (
            self.read_depth,
            self.write_depth,
            self.write_high,
            self.write_low,
        )
        plain = self.scheduler is Scheduler.FRFCFS
        in_order = self.scheduler is Scheduler.FCFS
        closed = self.closed_page
        refresh_on = self.refresh is not RefreshMode.OFF
        now, write_mode = self.now, self.write_mode
        queue_cycles = 0
        outcome = self.outcome
        blocked: tuple[int, ...] = self._blocked_banks()
        ref_pending, ref_due = self.refresh_pending, self.refresh_due
        if write_mode:
            queues, rows, head, active = wq, wq_rows, wq_head, wactive
            col_b, col_g, col_cmd = wr_b, wr_g, WR
        else:
            queues, rows, head, active = rq, rq_rows, rq_head, ractive
            col_b, col_g, col_cmd = rd_b, rd_g, RD
        faw_index = dev.faw_index  # a local copy, written back at every ACT
        next_arrival = arrival_of[0] if n else _INF  # of request nxt, _INF when none is left
        rd_bank_upd, rd_group_upd, rd_chan_upd = bank_upd[RD], group_upd[RD], chan_upd[RD]
        # Each bank's candidate commands, cached between decisions: ``ca_*`` its column
        # command (slot RD or WR, bound, tie, queue position), ``cb_*`` its row command
        # (slot ACT or PRE, bound, tie); slot NONE when it has none. A tie is the request
        # index for a request in an active slot and n + the index for the others, so the
        # least (cycle, tie) is the first ready command, active slots first, then the oldest.
        # A bank is stale (recomputed before the next decision) after a command to it or
        # its group (columns move group bounds), or an arrival that may give it a candidate;
        # all are after a mode switch, a refresh command or a streaming run.
        ca_slot, ca_bound = [NONE] * nbanks, [0] * nbanks
        ca_tie, ca_pos = [0] * nbanks, [0] * nbanks
        cb_slot, cb_bound, cb_tie = [NONE] * nbanks, [0] * nbanks, [0] * nbanks
        group_members = dev.group_members
        stale: list[int] = []
        all_stale = True

        def issue(cmd: int, b: int, t: int, r: int) -> None:
            """Device.issue's timing updates, count and log (row state is the caller's)."""
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
                log.append((t, cmd, b, r))

        def stream(
            now: int,
            nxt: int,
            next_arrival: int,
            finished: int,
            rcount: int,
            queue_cycles: int,
            oldest: int,
            wck_expiry: int,
        ) -> tuple[int, int, int, int, int, int, int, int, int]:
            """Row-hit streaming, the common case, with the general loop's decisions.

            Precondition (checked by the caller at a decision, after arrivals were queued):
            open page, a scheduler other than plain ``frfcfs``, read mode, no write queued,
            no refresh pending, no active slot held, and the head of every read queue hits
            its bank's open row. Then every candidate
            is that head's RD, so the winner is the least (cycle, request index), and
            nothing else needs a look. Returns at the first decision where the precondition
            may break (a write or a non-hitting head arrives, a head stops hitting) or where
            a refresh, an arrival or a CAS could come first; the second-last value is the
            cycle the general loop must decide without this path (-1 when any). ``oldest``
            is a request index at or below the oldest request not yet served (it only moves
            forward).
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
                    return (now, nxt, next_arrival, finished, rcount, queue_cycles, oldest,
                            now, wck_expiry)  # fmt: skip
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
                if (
                    (refresh_on and ref_due <= best_t)
                    or now < next_arrival <= best_t
                    or (need_sync and best_t >= wck_expiry)
                ):
                    return (now, nxt, next_arrival, finished, rcount, queue_cycles, oldest,
                            now, wck_expiry)  # fmt: skip
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
                if t + wck_read > wck_expiry:
                    wck_expiry = t + wck_read
                queue_cycles += t - enqueued[req]
                finished += 1
                if not classified[req]:
                    classified[req] = True
                    outcome[HIT] += 1
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
                    return (now, nxt, next_arrival, finished, rcount, queue_cycles, oldest,
                            -1, wck_expiry)  # fmt: skip

        # Plain FR-FCFS lets a younger request that misses precharge a bank whose queue head
        # hits; the streaming path only weighs the heads' column commands, so it is for the
        # schedulers where a hitting head is the bank's only candidate.
        stream_ok = self.stream_fast_path and not closed and not plain
        slow_at, miss_bank = -1, 0
        oldest = 0
        # The next request waits for room in its queue (backpressure): no arrival is looked at
        # until a queue slot is released.
        front_blocked = False
        while finished < n:
            while next_arrival <= now and not front_blocked:
                b = bank_of[nxt]
                r = row_of[nxt]
                if write_of[nxt]:
                    if wcount >= wdepth:
                        front_blocked = True
                        break
                    q = wq[b]
                    if not q:
                        wactive.append(b)
                        wq_head[b] = r
                    wcount += 1
                    wq_rows[b].append(r)
                else:
                    if rcount >= rdepth:
                        front_blocked = True
                        break
                    q = rq[b]
                    if not q:
                        ractive.append(b)
                        rq_head[b] = r
                    rcount += 1
                    rq_rows[b].append(r)
                # Only a bank of the current mode can gain a candidate: a first request, a
                # first row hit, or (frfcfs) a first request that does not hit.
                if write_of[nxt] == write_mode and (
                    not q or (open_row[b] >= 0 and (ca_slot[b] < 0 or (plain and cb_slot[b] < 0)))
                ):
                    stale.append(b)
                q.append(nxt)
                enqueued[nxt] = now
                nxt += 1
                next_arrival = arrival_of[nxt] if nxt < n else _INF
            if write_mode:
                if wcount == 0 or (rcount and wcount <= low):
                    write_mode = False
                    queues, rows, head, active = rq, rq_rows, rq_head, ractive
                    col_b, col_g, col_cmd = rd_b, rd_g, RD
                    all_stale = True
            elif wcount >= high or (wcount and not rcount):
                write_mode = True
                self.write_drains += 1
                queues, rows, head, active = wq, wq_rows, wq_head, wactive
                col_b, col_g, col_cmd = wr_b, wr_g, WR
                all_stale = True
            if (
                stream_ok
                and not write_mode
                and not wcount
                and not ref_pending
                and now != slow_at
                and not (pinned_reads or pinned_writes)
            ):
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
                    (now, nxt, next_arrival, finished, rcount, queue_cycles, oldest, slow_at,
                     wck_expiry) = stream(now, nxt, next_arrival, finished, rcount,
                                          queue_cycles, oldest, wck_expiry)  # fmt: skip
                    all_stale, front_blocked = True, False
                    continue
            # Banks holding an active slot for a request of the other kind take part too.
            cross = pinned_reads if write_mode else pinned_writes
            scan = active
            if cross:
                scan = active + [
                    b for b in range(nbanks) if pinned[b] >= 0 and write_of[pinned[b]] != write_mode
                ]
            # Recompute the cached candidates of every bank whose state changed.
            if all_stale:
                stale[:] = scan
                all_stale = False
            if stale:
                for b in stale:
                    p = pinned[b]
                    if p >= 0:  # the active slot's column command, nothing else
                        g = group_of[b]
                        if write_of[p]:
                            tc, tg, ca_slot[b] = wr_b[b], wr_g[g], WR
                        else:
                            tc, tg, ca_slot[b] = rd_b[b], rd_g[g], RD
                        ca_bound[b], ca_tie[b], ca_pos[b] = tc if tc > tg else tg, p, 0
                        cb_slot[b] = NONE
                        continue
                    q = queues[b]
                    if not q:
                        ca_slot[b] = cb_slot[b] = NONE
                        continue
                    orow = open_row[b]
                    if orow < 0:
                        ca_slot[b] = NONE
                        cb_slot[b], cb_bound[b], cb_tie[b] = ACT, act_b[b], n + q[0]
                        continue
                    if head[b] == orow:
                        pos = 0
                        cb_slot[b] = NONE
                        if plain:  # the oldest request that does not hit may precharge
                            qr = rows[b]
                            if qr.count(orow) < len(qr):
                                i = 1
                                while qr[i] == orow:
                                    i += 1
                                cb_slot[b], cb_bound[b], cb_tie[b] = PRE, pre_b[b], n + q[i]
                    else:
                        cb_slot[b], cb_bound[b], cb_tie[b] = PRE, pre_b[b], n + q[0]
                        qr = rows[b]
                        if in_order or orow not in qr:
                            ca_slot[b] = NONE
                            continue
                        pos = qr.index(orow)
                    tc = col_b[b]  # a row hit at queue position pos
                    tg = col_g[group_of[b]]
                    ca_slot[b], ca_bound[b] = col_cmd, tc if tc > tg else tg
                    ca_tie[b], ca_pos[b] = n + q[pos], pos
                stale.clear()
            # The winner is the least (cycle, tie) over the banks' candidates; ties are
            # unique, so the bank order does not matter. Channel-wide lower bounds of each
            # command kind, folded with ``now`` once per decision, by ready slot.
            floors = [ch[ACT], ch[PRE], 0, ch[RD], ch[WR]]  # ch[ACT] includes nFAW
            for slot in (ACT, PRE, RD, WR):
                if floors[slot] < now:
                    floors[slot] = now
            if act2_bank >= 0:
                floors[ACT] = _INF  # no ACT-1 while an ACT-2 is pending
            best_t, best_tie, best_bank, best_col = _INF, 0, -1, False
            if blocked:  # a pending refresh holds these banks, active slots excepted
                scan = [b for b in scan if pinned[b] >= 0 or b not in blocked]
            for b in scan:
                # a candidate's cycle is max(its bound, its kind's floor); one whose bound is
                # already past the best so far needs no further look
                slot = ca_slot[b]
                if slot >= 0 and b != act2_bank:  # a column command waits for its ACT-2
                    tc = ca_bound[b]
                    if tc <= best_t:
                        floor = floors[slot]
                        if floor > tc:
                            tc = floor
                        if tc < best_t or (tc == best_t and ca_tie[b] < best_tie):
                            best_t, best_tie, best_bank, best_col = tc, ca_tie[b], b, True
                slot = cb_slot[b]
                if slot >= 0:
                    tc = cb_bound[b]
                    if tc <= best_t:
                        floor = floors[slot]
                        if floor > tc:
                            tc = floor
                        if tc < best_t or (tc == best_t and cb_tie[b] < best_tie):
                            best_t, best_tie, best_bank, best_col = tc, cb_tie[b], b, False
            if act2_bank >= 0 and (
                best_t > now
                or now >= act2_deadline
                or (
                    best_col and need_sync and best_t >= wck_expiry and act2_deadline <= now + n_cas
                )
            ):
                # ACT-2 at the first cycle nothing else is ready for, or at its deadline
                issue(ACT2, act2_bank, now, act2_row)
                act2_bank = -1
                now += 1
                continue
            if ref_pending:
                rt, rcmd, rbank = self._refresh_candidate(now)
                if act2_bank < 0 and rt < _INF and rt <= best_t:
                    self._issue_refresh(rt, rcmd, rbank)
                    all_stale = True
                    now = rt + 1
                    if (
                        rt == ref_due  # on time, so the next ones are periodic
                        and not self.refresh_pending  # a refresh, not its precharge
                        and not (rcount or wcount or pinned_reads or pinned_writes)
                        and not dev.open_banks
                    ):
                        skipped_to = self._skip_idle_refreshes(next_arrival)
                        now = skipped_to if skipped_to > 0 else now
                    ref_pending, ref_due = self.refresh_pending, self.refresh_due
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
            g = group_of[b]
            if best_col:
                req = best_tie if best_tie < n else best_tie - n
                is_write_req = write_of[req]
                if need_sync and t >= wck_expiry:
                    issue(CAS, b, t, row_of[req])  # WCK2CK sync, the column command follows
                    t += n_cas
                pos = ca_pos[b]
                if is_write_req:
                    q, qr, heads, owners = wq[b], wq_rows[b], wq_head, wactive
                else:
                    q, qr, heads, owners = rq[b], rq_rows[b], rq_head, ractive
                del q[pos]
                del qr[pos]
                if not q:
                    owners.remove(b)
                    heads[b] = -2
                elif pos == 0:
                    heads[b] = qr[0]
                released = False
                if pinned[b] == req:
                    pinned[b] = -1
                    released = release_at_act
                    if is_write_req:
                        pinned_writes -= 1
                    else:
                        pinned_reads -= 1
                if not released:
                    if is_write_req:
                        wcount -= 1
                    else:
                        rcount -= 1
                    queue_cycles += t - enqueued[req]
                    front_blocked = False
                if is_write_req:
                    done[req] = t + write_done
                    cmd = WRA if closed else WR
                    if t + wck_write > wck_expiry:
                        wck_expiry = t + wck_write
                else:
                    done[req] = t + read_done
                    cmd = RDA if closed else RD
                    if t + wck_read > wck_expiry:
                        wck_expiry = t + wck_read
                finished += 1
                if not classified[req]:
                    classified[req] = True
                    outcome[HIT] += 1
                issue(cmd, b, t, row_of[req])
                stale.append(b)
                # The group's column bounds moved, and with them every column candidate of
                # the group (its bound is max(bank bound, group bound)): raised in place.
                for m in group_members[g]:
                    slot = ca_slot[m]
                    if slot >= 0:
                        tg = group_ready[slot][g]
                        if ca_bound[m] < tg:
                            ca_bound[m] = tg
                if closed:
                    open_row[b] = -1
                    if dev.open_banks == 1:
                        dev.active_cycles += t - dev.active_since
                    dev.open_banks -= 1
                now = t + 1
                continue
            req = best_tie - n
            cmd = cb_slot[b]
            if not classified[req]:
                classified[req] = True
                outcome[MISS if cmd == ACT else CONFLICT] += 1
            issue(cmd, b, t, row_of[req])
            stale.append(b)
            if cmd == PRE:
                open_row[b] = -1
                if dev.open_banks == 1:
                    dev.active_cycles += t - dev.active_since
                dev.open_banks -= 1
                now = t + 1
                continue
            faw[faw_index] = t  # ACT-1
            dev.faw_index = faw_index = (faw_index + 1) & 3
            # Fold the four-activate window into the channel's ACT bound: it only moves at
            # an ACT (the oldest of the last four plus nFAW), so the floor is one read.
            if ch[ACT] < faw[faw_index] + nfaw:
                ch[ACT] = faw[faw_index] + nfaw
            open_row[b] = row_of[req]
            if dev.open_banks == 0:
                dev.active_since = t
            dev.open_banks += 1
            pinned[b] = req  # the request takes the bank's active slot
            if write_of[req]:
                pinned_writes += 1
            else:
                pinned_reads += 1
            if release_at_act:
                if write_of[req]:
                    wcount -= 1
                else:
                    rcount -= 1
                queue_cycles += t - enqueued[req]
                front_blocked = False
            act2_bank, act2_deadline, act2_row = b, t + n_aad, row_of[req]
            now = t + 1
        self.now, self.write_mode, self.wck_expiry = now, write_mode, wck_expiry
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
        # the cycle each burst entered its queue: a posted write's data is off the
        # requester's hands from then on
        self.last_enqueued = np.asarray(enqueued, dtype=np.int64)
        if completion.size:
            start = arrival if timed else self.last_enqueued
            reads = ~is_write
            self.read_latencies.add(completion[reads] - start[reads])
            first = int(arrival[0])
            self.first_cycle = first if self.first_cycle is None else self.first_cycle
            self.last_cycle = max(self.last_cycle, int(completion.max()))
        return completion
