"""The controller's decision loop in Python (the readable reference of ``_kernel.c``).

One :class:`PythonLoop` serves one :meth:`ChannelController.run` call (or one part of a long
sequence, pausing where the next part takes over: :mod:`npusim.dram.carry`): requests enter
their bank's read or write queue in arrival order, and at every decision the loop finds, over each
bank's candidate commands, the one that can issue first (ties to the oldest request, active
slots first), issues it through :meth:`Device.issue` and jumps to the next decision. Policies
are the controller's objects (:mod:`npusim.dram.policies`, :mod:`npusim.dram.refresh`, whose
turn in the loop is :mod:`npusim.dram.refresh_turn`); the rules they do not own are in
:mod:`npusim.dram.controller`'s docstring.

Each bank's candidates are cached between decisions: ``ca_*`` its column command (ready slot
RD or WR, bound, tie, queue position), ``cb_*`` its row command (slot ACT or PRE, bound, tie);
slot ``NONE`` when it has none. ``first`` is the lesser of the two bounds, a lower bound of
either command's cycle (raising a bound in place keeps it one), so the scan skips a bank whose
``first`` is past the best cycle found so far; ``first_no_act`` is the same bound without an
ACT (``NEVER`` for a bank offering only one), the scan's while an ACT-2 is pending. A tie is
the request index for a request in an active slot and n + the index for the others, so the
least (cycle, tie) is the first ready command, active slots first, then the oldest. A bank
is ``stale`` (recomputed before the next decision) after a command to it or its group
(columns move group bounds) or an arrival that may give it a candidate; every bank is after
a mode switch, a refresh command or a streaming run.
State lives in attributes; the hot methods copy what they read into locals, and the
recompute of the candidates (:func:`npusim.dram.candidates.candidate_recompute`, one per
mode) holds its lists in a closure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim.dram.candidates import NONE, candidate_recompute
from npusim.dram.carry import queue_carried
from npusim.dram.commands import issue_column, issue_row
from npusim.dram.device import Command
from npusim.dram.refresh import NEVER
from npusim.dram.refresh_turn import refresh_turn
from npusim.dram.stream import stream_ready, stream_row_hits
from npusim.dram.wake import wake

if TYPE_CHECKING:
    import numpy as np

    from npusim.dram.carry import Part
    from npusim.dram.controller import ChannelController

ACT, PRE, RD, WR, ACT2 = (int(c) for c in (Command.ACT, Command.PRE, Command.RD, Command.WR,
                                           Command.ACT2))  # fmt: skip


class PythonLoop:
    """The state of one run: the requests (Python lists), the queues, the cached candidates
    and the counters the controller keeps between runs (copied back by :meth:`finish`)."""

    __slots__ = tuple(
        """
        act2_bank act2_deadline act2_row act_b active all_stale arrival_of bank_of blocked
        ca_bound ca_pos ca_slot ca_tie candidates cb_bound cb_slot cb_tie ch classified ctrl
        dev done enqueued finished first first_no_act front_blocked group_members group_of
        group_ready high low miss_bank n n_aad n_cas need_sync next_arrival now nxt oldest
        open_row pinned pinned_reads pinned_writes power pre_b pre_past_hit queue_cycles
        ractive rcount rd_b rd_g rdepth read_cmd read_done recompute recompute_by_mode
        ref_due ref_pending refresh release_at_act row_of rq rq_head rq_rows slow_at stale
        stop stream_ok wactive wck_expiry wck_read wck_write wcount wdepth wq wq_head
        wq_rows wr_b wr_g write_cmd write_done write_mode write_of
        """.split()  # noqa: SIM905
    )  # slots: an instance of more than 30 attributes loses CPython's fast attribute access

    def __init__(
        self,
        ctrl: ChannelController,
        bank: np.ndarray,
        row: np.ndarray,
        is_write: np.ndarray,
        arrival: np.ndarray,
        part: Part | None = None,
    ) -> None:
        """Bursts as in :meth:`ChannelController.run` (int64 arrays of one length; is_write
        bool), copied into Python lists; ``part``: the ones already queued and where to pause
        (:mod:`npusim.dram.carry`)."""
        self.ctrl, dev = ctrl, ctrl.dev
        dev.sync_tables()  # the lists this loop reads, up to date after a compiled run
        self.dev, self.refresh, self.power = dev, ctrl.refresh_policy, ctrl.power_down
        self.n = n = int(bank.shape[0])
        self.bank_of, self.row_of = bank.tolist(), row.tolist()
        self.write_of, self.arrival_of = is_write.tolist(), arrival.tolist()
        self.done, self.enqueued, self.classified = [0] * n, [0] * n, [False] * n
        self._bind_device(ctrl)
        nbanks = dev.banks
        self.rq: list[list[int]] = [[] for _ in range(nbanks)]  # per bank, request indices
        self.wq: list[list[int]] = [[] for _ in range(nbanks)]
        self.rq_rows: list[list[int]] = [[] for _ in range(nbanks)]  # their rows, in step
        self.wq_rows: list[list[int]] = [[] for _ in range(nbanks)]
        self.rq_head, self.wq_head = [-2] * nbanks, [-2] * nbanks  # head's row, -2 empty
        self.ractive: list[int] = []  # banks with queued reads / writes, in no order
        self.wactive: list[int] = []
        self.pinned = ctrl.pinned  # per bank, the request in its active slot
        self.pinned_reads = self.pinned_writes = 0
        self.rcount = self.wcount = self.nxt = self.finished = self.queue_cycles = 0
        self.now, self.write_mode, self.wck_expiry = ctrl.now, ctrl.write_mode, ctrl.wck_expiry
        self.act2_bank, self.act2_deadline, self.act2_row = (
            ctrl.act2_bank,
            ctrl.act2_deadline,
            ctrl.act2_row,
        )  # the pending ACT-2, carried from a paused part
        self.stop = n if part is None else part.stop
        if part is not None and part.queued:
            queue_carried(self, part)
        nxt = self.nxt
        self.next_arrival = self.arrival_of[nxt] if nxt < n else NEVER  # of request nxt
        self.front_blocked = False  # the next request waits for room in its queue
        self.ref_pending, self.ref_due = self.refresh.pending, self.refresh.due
        self.blocked = self.refresh.blocked_banks() if self.ref_pending else ()
        self.ca_slot, self.ca_bound = [NONE] * nbanks, [0] * nbanks
        self.ca_tie, self.ca_pos = [0] * nbanks, [0] * nbanks
        self.cb_slot, self.cb_bound, self.cb_tie = [NONE] * nbanks, [0] * nbanks, [0] * nbanks
        self.first = [NEVER] * nbanks  # the least bound of the bank's candidates
        self.first_no_act = [NEVER] * nbanks  # of those other than an ACT
        self.stale: list[int] = []
        self.all_stale = True
        self.stream_ok = ctrl.stream_fast_path and self.read_cmd == RD and not self.pre_past_hit
        self.slow_at, self.miss_bank, self.oldest = -1, 0, 0
        self.recompute_by_mode = (candidate_recompute(self, False), candidate_recompute(self, True))
        self._set_mode(self.write_mode)

    def _bind_device(self, ctrl: ChannelController) -> None:
        dev, timing = ctrl.dev, ctrl.timing
        self.open_row, self.group_of, self.group_members = (
            dev.open_row,
            dev.group_of,
            dev.group_members,
        )
        self.act_b, self.pre_b = dev.bank_ready[ACT], dev.bank_ready[PRE]
        self.rd_b, self.wr_b = dev.bank_ready[RD], dev.bank_ready[WR]
        self.group_ready, self.ch = dev.group_ready, dev.channel_ready
        self.rd_g, self.wr_g = dev.group_ready[RD], dev.group_ready[WR]
        self.candidates = ctrl.scheduler_policy.candidates
        self.pre_past_hit = ctrl.scheduler_policy.precharges_past_a_hit
        self.read_cmd = int(ctrl.row_policy.column_command(False))
        self.write_cmd = int(ctrl.row_policy.column_command(True))
        self.read_done, self.write_done = timing.nCL + timing.nBL, timing.nCWL + timing.nBL
        # WCK runs to the end of a burst plus its postamble; a column command at or after
        # that cycle needs a CAS first.
        self.wck_read = self.read_done + timing.nWCKPST
        self.wck_write = self.write_done + timing.nWCKPST
        self.n_cas, self.n_aad, self.need_sync = timing.nCAS, timing.nAAD, ctrl.need_sync
        self.release_at_act = ctrl.release_at_act
        self.rdepth, self.wdepth = ctrl.read_depth, ctrl.write_depth
        self.high, self.low = ctrl.write_high, ctrl.write_low

    def _set_mode(self, write_mode: bool) -> None:
        """Serve writes (or reads) from now on: the views the candidates are computed on."""
        self.write_mode, self.all_stale = write_mode, True
        self.recompute = self.recompute_by_mode[write_mode]
        self.active = self.wactive if write_mode else self.ractive

    def run(self) -> tuple[list[int], list[int], list[bool]]:
        """Serve every request, or pause where request ``stop`` would enter its queue; return
        (completion cycles, 0 for one not served; enqueue cycles; row outcome counted) by
        request.

        One decision per turn. The turn's common steps stay in this one function on purpose:
        a Python call costs about as much as two banks' worth of the winner scan (0.1-0.2 us
        measured), and this loop turns millions of times a run (the scan as a closure of its
        own, called once a decision, cost 7 % on 100k random reads, 2026-12-03).
        """
        n, stream_ok, stale = self.n, self.stream_ok, self.stale
        need_sync, n_cas = self.need_sync, self.n_cas
        ca_slot, ca_bound, ca_tie = self.ca_slot, self.ca_bound, self.ca_tie
        cb_slot, cb_bound, cb_tie = self.cb_slot, self.cb_bound, self.cb_tie
        first, first_no_act = self.first, self.first_no_act
        ch, issue, high, low = self.ch, self.dev.issue, self.high, self.low
        while self.finished < n:
            now = self.now  # only the streaming path moves it before the decision
            if self.next_arrival <= now and not self.front_blocked and self._enqueue():
                break  # pause where request stop would enter its queue
            wcount, write_mode = self.wcount, self.write_mode
            if write_mode:
                if wcount == 0 or (self.rcount and wcount <= low):
                    self._set_mode(write_mode := False)
            elif wcount >= high or (wcount and not self.rcount):
                self._set_mode(write_mode := True)
                self.ctrl.write_drains += 1
            pinned_reads = self.pinned_reads
            cross = pinned_reads if write_mode else self.pinned_writes
            if stream_ok and not (cross or pinned_reads or wcount) and stream_ready(self):
                stream_row_hits(self)
                self.all_stale, self.front_blocked = True, False
                continue
            scan = self._banks_in_play(cross) if cross or self.all_stale else self.active
            if stale:
                self.recompute(stale)
                stale.clear()
            act2_bank = self.act2_bank
            if self.blocked:  # a pending refresh holds these banks, active slots excepted
                scan = [b for b in scan if self.pinned[b] >= 0 or b not in self.blocked]
            # A candidate's cycle is the latest of its bound, its kind's channel bound (by
            # ready slot; ch[ACT] includes nFAW) and now. While an ACT-2 is pending only a
            # command at now, and no ACT-1, can go before it: the scan looks no further, at
            # no bank offering only an ACT (finds best_bank -1 when none can).
            if act2_bank >= 0:
                best_t, best_tie, lows = now, NEVER, first_no_act
            else:
                best_t, best_tie, lows = NEVER, 0, first
            best_bank, best_col = -1, False
            for b in scan:
                # a bank whose first bound is already past the best so far needs no further
                # look (nor does a candidate of it whose own bound is)
                if lows[b] > best_t:
                    continue
                slot = ca_slot[b]
                if slot >= 0 and b != act2_bank:  # a column command waits for its ACT-2
                    tc = ca_bound[b]
                    if tc <= best_t:
                        if tc < now:
                            tc = now
                        if ch[slot] > tc:
                            tc = ch[slot]
                        if tc < best_t or (tc == best_t and ca_tie[b] < best_tie):
                            best_t = tc  # one assignment each: no tuple per winner
                            best_tie = ca_tie[b]
                            best_bank = b
                            best_col = True
                slot = cb_slot[b]
                if slot >= 0:
                    tc = cb_bound[b]
                    if tc <= best_t:
                        if tc < now:
                            tc = now
                        if ch[slot] > tc:
                            tc = ch[slot]
                        if tc < best_t or (tc == best_t and cb_tie[b] < best_tie):
                            best_t = tc
                            best_tie = cb_tie[b]
                            best_bank = b
                            best_col = False
            if act2_bank >= 0 and (
                best_bank < 0
                or now >= self.act2_deadline
                or (
                    best_col
                    and need_sync
                    and best_t >= self.wck_expiry
                    and self.act2_deadline <= now + n_cas
                )
            ):  # ACT-2 at the first cycle nothing else is ready for, or at its last legal one
                issue(ACT2, act2_bank, self.act2_row, now)
                self.act2_bank, self.now = -1, now + 1
            elif (self.ref_pending or self.ref_due <= best_t) and refresh_turn(self, best_t):
                pass  # the refresh fell due, or its next command went first
            elif now < self.next_arrival <= best_t and self.room_for_next():
                self.now = self.next_arrival  # it arrives, with room, before the next command
            elif best_t == NEVER:
                raise RuntimeError("DRAM controller has queued requests but no command")
            elif best_col:
                issue_column(self, best_bank, best_t, best_tie)
            else:
                issue_row(self, best_bank, best_t, best_tie - n)
        return self.done, self.enqueued, self.classified

    def _banks_in_play(self, cross: int) -> list[int]:
        """The banks of the current mode, and (``cross``) those holding an active slot for
        a request of the other kind; all of them stale when every bank is."""
        scan = self.active
        if cross:
            write_mode, write_of = self.write_mode, self.write_of
            scan = scan + [
                b for b, p in enumerate(self.pinned) if p >= 0 and write_of[p] != write_mode
            ]
        if self.all_stale:
            self.stale[:] = scan
            self.all_stale = False
        return scan

    def finish(self) -> None:
        """Copy the counters kept between runs back to the controller."""
        ctrl = self.ctrl
        ctrl.now, ctrl.write_mode, ctrl.wck_expiry = self.now, self.write_mode, self.wck_expiry
        ctrl.queue_cycles += self.queue_cycles
        ctrl.act2_bank, ctrl.act2_deadline, ctrl.act2_row = (
            self.act2_bank,
            self.act2_deadline,
            self.act2_row,
        )

    def room_for_next(self) -> bool:
        """The next request exists and its queue has room: it can enter when it arrives."""
        if self.nxt >= self.n:
            return False
        if self.write_of[self.nxt]:
            return self.wcount < self.wdepth
        return self.rcount < self.rdepth

    def _enqueue(self) -> bool:
        """Queue the requests that have arrived, in order, while their queue has room (a
        full queue blocks every later request: backpressure); True when the run pauses
        instead, before request ``stop`` would enter (:mod:`npusim.dram.carry`)."""
        if self.nxt == self.stop and self.room_for_next():
            return True
        now, write_of, nxt, next_arrival = self.now, self.write_of, self.nxt, self.next_arrival
        if self.power is not None and self.idle_requests() and not self.ref_pending:
            wake(self, now)
        bank_of, row_of, arrival_of = self.bank_of, self.row_of, self.arrival_of
        open_row, ca_slot, cb_slot, stale = self.open_row, self.ca_slot, self.cb_slot, self.stale
        write_mode, pre_past_hit, n, stop = self.write_mode, self.pre_past_hit, self.n, self.stop
        paused = False
        while next_arrival <= now:
            is_write = write_of[nxt]
            if self.wcount >= self.wdepth if is_write else self.rcount >= self.rdepth:
                self.front_blocked = True
                break
            if nxt == stop:  # it would enter: the part pauses
                paused = True
                break
            b, r = bank_of[nxt], row_of[nxt]
            if is_write:
                q, owners, heads, rows = self.wq[b], self.wactive, self.wq_head, self.wq_rows[b]
                self.wcount += 1
            else:
                q, owners, heads, rows = self.rq[b], self.ractive, self.rq_head, self.rq_rows[b]
                self.rcount += 1
            if not q:
                owners.append(b)
                heads[b] = r
            rows.append(r)
            # Only a bank of the current mode can gain a candidate: a first request, or one
            # it lacked (policies.SchedulerPolicy's contract).
            if is_write == write_mode and (
                not q
                or (open_row[b] >= 0 and (ca_slot[b] < 0 or (pre_past_hit and cb_slot[b] < 0)))
            ):
                stale.append(b)
            q.append(nxt)
            self.enqueued[nxt] = now
            nxt += 1
            next_arrival = arrival_of[nxt] if nxt < n else NEVER
        self.nxt, self.next_arrival = nxt, next_arrival
        return paused

    def idle_requests(self) -> bool:
        """Nothing queued or held."""
        return not (self.rcount or self.wcount or self.pinned_reads or self.pinned_writes)

    def idle(self) -> bool:
        """Nothing queued or held and every bank closed."""
        return self.idle_requests() and not self.dev.open_banks
