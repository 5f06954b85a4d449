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
"""

from __future__ import annotations

import math

import numpy as np

from npusim.dram.device import Command, Device
from npusim.dram.params import PagePolicy, RefreshMode, Scheduler
from npusim.dram.standard import Timing

_INF = 1 << 62
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
        queue. The loop is one function on purpose: locals keep the per-command path fast.
        """
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
        issue = dev.issue
        read_done, write_done = timing.nCL + timing.nBL, timing.nCWL + timing.nBL
        rq: list[list[int]] = [[] for _ in range(nbanks)]
        wq: list[list[int]] = [[] for _ in range(nbanks)]
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
            queues, active, col_b, col_g, col_cmd = wq, wactive, wr_b, wr_g, WR
        else:
            queues, active, col_b, col_g, col_cmd = rq, ractive, rd_b, rd_g, RD
        while finished < n:
            while nxt < n and arrival_of[nxt] <= now:
                if write_of[nxt]:
                    if wcount >= wdepth:
                        break
                    q = wq[bank_of[nxt]]
                    if not q:
                        wactive.append(bank_of[nxt])
                    q.append(nxt)
                    wcount += 1
                else:
                    if rcount >= rdepth:
                        break
                    q = rq[bank_of[nxt]]
                    if not q:
                        ractive.append(bank_of[nxt])
                    q.append(nxt)
                    rcount += 1
                enqueued[nxt] = now
                nxt += 1
            if write_mode:
                if wcount == 0 or (rcount and wcount <= low):
                    write_mode = False
                    queues, active, col_b, col_g, col_cmd = rq, ractive, rd_b, rd_g, RD
            elif wcount >= high or (wcount and not rcount):
                write_mode = True
                queues, active, col_b, col_g, col_cmd = wq, wactive, wr_b, wr_g, WR
            col_ch = ch[col_cmd]
            ch_pre = ch[PRE]
            ch_act = ch[ACT]
            faw_ready = faw[dev.faw_index] + nfaw
            if faw_ready > ch_act:
                ch_act = faw_ready
            best_t, best_cmd, best_bank, best_req, best_col = _INF, -1, -1, -1, False
            for b in active:
                if b in blocked:
                    continue
                q = queues[b]
                orow = open_row[b]
                req = q[0]
                if orow >= 0:
                    hit = -1
                    if frfcfs:
                        for i in q:
                            if row_of[i] == orow:
                                hit = i
                                break
                    elif row_of[req] == orow:
                        hit = req
                    if hit >= 0:
                        tc = col_b[b]
                        tg = col_g[group_of[b]]
                        if tg > tc:
                            tc = tg
                        if col_ch > tc:
                            tc = col_ch
                        if now > tc:
                            tc = now
                        if tc < best_t or (
                            tc == best_t and ((frfcfs and not best_col) or hit < best_req)
                        ):
                            best_t, best_cmd, best_bank, best_req, best_col = (
                                tc, col_cmd, b, hit, True,
                            )  # fmt: skip
                        continue
                    tc = pre_b[b]
                    if ch_pre > tc:
                        tc = ch_pre
                    cmd = PRE
                else:
                    tc = act_b[b]
                    if ch_act > tc:
                        tc = ch_act
                    cmd = ACT
                if now > tc:
                    tc = now
                if tc < best_t or (tc == best_t and not (frfcfs and best_col) and req < best_req):
                    best_t, best_cmd, best_bank, best_req, best_col = tc, cmd, b, req, False
            if ref_pending:
                rt, rcmd, rbank = self._refresh_candidate(now)
                if rt <= best_t:
                    self._issue_refresh(rt, rcmd, rbank)
                    ref_pending, ref_due = self.refresh_pending, self.refresh_due
                    now = rt + 1
                    blocked = self._blocked_banks()
                    continue
            elif refresh_on:
                horizon = best_t  # no command before it, unless a request arrives first
                if nxt < n and now < arrival_of[nxt] < horizon:
                    horizon = arrival_of[nxt]
                if ref_due <= horizon:
                    self.refresh_pending = ref_pending = True
                    blocked = self._blocked_banks()
                    if ref_due > now:
                        now = ref_due
                    continue
            if nxt < n and now < arrival_of[nxt] <= best_t:
                room = wcount < wdepth if write_of[nxt] else rcount < rdepth
                if room:
                    now = arrival_of[nxt]
                    continue
            if best_t == _INF:
                raise RuntimeError("DRAM controller has queued requests but no command")
            req = best_req
            b = best_bank
            if best_col:
                q = queues[b]
                q.remove(req)
                if not q:
                    active.remove(b)
                r = row_of[req]
                if closed:
                    best_cmd = WRA if write_mode else RDA
                issue(best_cmd, b, r, best_t)
                if write_mode:
                    wcount -= 1
                    done[req] = best_t + write_done
                else:
                    rcount -= 1
                    done[req] = best_t + read_done
                queue_cycles += best_t - enqueued[req]
                finished += 1
                outcome[opened_as[b]] += 1
                opened_as[b] = HIT
            else:
                if best_cmd == PRE:
                    closed_by_conflict[b] = True
                else:
                    opened_as[b] = CONFLICT if closed_by_conflict[b] else MISS
                    closed_by_conflict[b] = False
                issue(best_cmd, b, row_of[req], best_t)
            now = best_t + 1
        self.now, self.write_mode = now, write_mode
        self.queue_cycles += queue_cycles
        return self._finish(done, enqueued, is_write, arrival, timed)

    def _finish(
        self,
        done: list[int],
        enqueued: list[int],
        is_write: np.ndarray,
        arrival: np.ndarray,
        timed: bool,
    ) -> np.ndarray:
        completion = np.array(done, dtype=np.int64)
        if completion.size:
            start = arrival if timed else np.array(enqueued, dtype=np.int64)
            reads = ~is_write
            self.read_latency_chunks.append(completion[reads] - start[reads])
            first = int(arrival[0])
            self.first_cycle = first if self.first_cycle is None else self.first_cycle
            self.last_cycle = max(self.last_cycle, int(completion.max()))
        return completion
