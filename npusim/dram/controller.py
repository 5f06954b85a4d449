"""One channel's memory controller: queues, scheduler, row policy, refresh, write drain.

Event-driven and cycle-exact in CK cycles: for every pending bank it computes when the
commands its requests need next (column command for a row hit, PRE for a conflict, ACT for a
closed bank) may legally issue, issues the winner and jumps to the next decision; idle cycles
are never ticked. Policies are objects picked by name (the scenario's names in
:mod:`npusim.dram.params`): schedulers and row policies in :mod:`npusim.dram.policies`,
refresh in :mod:`npusim.dram.refresh`, each behind a Protocol with its contract. Built in:

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
* Power-down and self-refresh (off unless ``power_down`` is given): an idle channel powers
  down after one timeout and enters self-refresh (its refreshes then the device's own) after
  another, and pays the exit latency when a request wakes it (:mod:`npusim.dram.powerdown`).

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

Modules: this one holds the controller's state between runs and picks the loop; the Python
loop is :mod:`npusim.dram.loop` (decisions and the candidate cache), :mod:`npusim.dram.commands`
(what serving a command implies), :mod:`npusim.dram.stream` (runs of row hits) and
:mod:`npusim.dram.wake` (leaving power-down or self-refresh); every
command goes through :meth:`Device.issue <npusim.dram.device.Device.issue>` (a streamed run of
reads through ``Device.issue_run``, its equivalent for a run). The compiled twin
of the loop, ``npusim/dram/_kernel.c`` (glue :mod:`npusim.dram.kernel`, shared layout
:mod:`npusim.dram.layout`), runs instead when it was built at install (it is optional: without
a C compiler the Python loop runs), implements the controller's policies (those named in
``layout.KERNEL_SCHEDULERS`` / ``KERNEL_REFRESH_POLICIES``) and the environment does not set
``NPUSIM_PURE_PYTHON=1``. Both make the same decisions; the tests compare their command logs,
completions and statistics under every policy. A burst sequence too long to hold at once is
served in parts (:meth:`ChannelController.run_part`, :mod:`npusim.dram.carry`) with the
decisions of one run.
"""

from __future__ import annotations

import math
import os

import numpy as np

from npusim.dram.carry import Carried, Part, carry_over
from npusim.dram.device import Device
from npusim.dram.kernel import KERNEL_AVAILABLE, CompiledLoop
from npusim.dram.latency import LatencyHistogram
from npusim.dram.layout import KERNEL_REFRESH_POLICIES, KERNEL_SCHEDULERS
from npusim.dram.loop import PythonLoop
from npusim.dram.params import PagePolicy, QueueRelease, RefreshMode, Scheduler, WckSync
from npusim.dram.policies import row_policy, scheduler_policy
from npusim.dram.powerdown import PowerDown
from npusim.dram.refresh import refresh_policy
from npusim.dram.timing import Timing


class ChannelController:
    """Controller and device state of one channel; state persists across :meth:`run` calls.

    Its policies are objects picked by name when it is built: ``scheduler_policy``
    (:class:`~npusim.dram.policies.SchedulerPolicy`), ``row_policy``
    (:class:`~npusim.dram.policies.RowPolicy`) and ``refresh_policy``
    (:class:`~npusim.dram.refresh.RefreshPolicy`, which also holds the refresh state).
    """

    stream_fast_path = True
    """Serve runs of row hits in the streaming loop (:mod:`npusim.dram.stream`). It makes the
    same decisions as the general loop (tests switch it off to check that), only faster."""

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
        power_down: PowerDown | None = None,
        log: bool = False,
    ) -> None:
        self.dev = Device(timing, banks, bank_groups, log=log)
        self.timing = timing
        self.scheduler, self.refresh = scheduler, refresh
        self.scheduler_policy = scheduler_policy(scheduler.value)
        self.row_policy = row_policy(page_policy.value)
        self.refresh_policy = refresh_policy(refresh.value, timing, banks)
        self.release_at_act = queue_release is QueueRelease.ACTIVATION
        self.need_sync = wck_sync is WckSync.NEED_SYNC
        self.read_depth = read_queue_depth
        self.write_depth = write_queue_depth
        self.write_high = max(1, math.ceil(write_high_watermark * write_queue_depth))
        self.write_low = int(write_low_watermark * write_queue_depth)
        self.now = 0
        self.write_mode = False
        self.wck_expiry = 0  # WCK stops at this cycle: a column command from then on needs CAS
        self.outcome = [0, 0, 0]  # row hits, misses, conflicts (per burst, at its first command)
        self.pinned = [-1] * banks  # per bank, the request in its active slot (only in run)
        self.act2_bank = self.act2_deadline = self.act2_row = -1  # the pending ACT-2
        self.carried: Carried | None = None
        """What a paused :meth:`run_part` left for the next part (:mod:`npusim.dram.carry`)."""
        self.queue_cycles = 0
        self.write_drains = 0  # times the controller switched to write mode
        self.first_cycle: int | None = None
        self.last_cycle = 0
        self.read_latencies = LatencyHistogram()
        self._compiled: CompiledLoop | None = None  # bound at the first compiled run
        self.last_enqueued = np.zeros(0, dtype=np.int64)  # of the last run's bursts
        self.power_down = power_down
        """The idle power-down policy and its residency (:mod:`npusim.dram.powerdown`), or
        None: the channel never powers down."""
        self.kernel_runs_it = (
            self.scheduler_policy.name in KERNEL_SCHEDULERS
            and self.refresh_policy.name in KERNEL_REFRESH_POLICIES
        )
        """Whether the compiled loop implements this controller's policies."""

    @property
    def compiled(self) -> bool:
        """Whether the compiled loop serves this controller's runs (module docstring)."""
        return self.use_kernel and KERNEL_AVAILABLE and self.kernel_runs_it

    @property
    def refresh_due(self) -> int:
        """Cycle the next refresh falls due (2**62 without refresh)."""
        return self.refresh_policy.due

    @property
    def refresh_cycles(self) -> int:
        """CK spent refreshing so far."""
        return self.refresh_policy.cycles

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
        queue. The compiled loop serves them when it was built and implements the
        controller's policies, else :class:`~npusim.dram.loop.PythonLoop`; both make exactly
        the decisions described in the module docstring.
        """
        if self.carried is not None:
            raise RuntimeError("a paused run_part waits for its last part")
        done, enqueued, _ = self._serve(bank, row, is_write, arrival, None)
        # the cycle each burst entered its queue: a posted write's data is off the
        # requester's hands from then on
        self.last_enqueued = enqueued
        self._account(done, enqueued, is_write, arrival, timed)
        return done

    def run_part(
        self,
        bank: np.ndarray,
        row: np.ndarray,
        is_write: np.ndarray,
        arrival: np.ndarray,
        ids: np.ndarray,
        *,
        timed: bool,
        last: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Serve the next part of a burst sequence as :meth:`run` serves all of it at once:
        the bursts the previous part carried come first and, unless ``last``, the run pauses
        when this part's final burst would enter its queue (:mod:`npusim.dram.carry`).
        ``ids`` name the bursts (int64, one each). Returns (ids, completion cycles) of this
        part's bursts, carried ones first, completion 0 for those carried on to the next."""
        fields = (bank, row, is_write, arrival, ids)
        carried = self.carried
        if carried is not None:
            fields = carried.prepend(fields)
        n = int(fields[0].shape[0])
        stop = n if last else n - 1
        if carried is not None:
            part = Part(carried.queued, stop, carried.enqueued, carried.classified)
        else:
            part = Part(0, stop, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if self.first_cycle is None and n:
            self.first_cycle = int(fields[3][0])
        done, enqueued, classified = self._serve(*fields[:4], part)
        if not last:  # (a last part serves everything)
            self.carried = carry_over(fields, done, enqueued, classified, part.stop, self.pinned)
        else:
            self.carried = None
        self._account(done, enqueued, fields[2], fields[3], timed)
        return fields[4], done

    def _serve(
        self,
        bank: np.ndarray,
        row: np.ndarray,
        is_write: np.ndarray,
        arrival: np.ndarray,
        part: Part | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(completion, enqueue cycle, row outcome counted) of each burst, int64 arrays,
        completion 0 for a burst a paused part did not serve."""
        power = self.power_down
        if power is not None and power.count_from < 0 and arrival.size:
            power.count_from = int(arrival[0])  # the idle lead before it is priced apart
        if self.compiled:
            if self._compiled is None:
                self._compiled = CompiledLoop(self)
            return self._compiled.run(bank, row, is_write, arrival, part)
        loop = PythonLoop(self, bank, row, is_write, arrival, part)
        done, enqueued, classified = loop.run()
        loop.finish()
        return (
            np.array(done, dtype=np.int64),
            np.array(enqueued, dtype=np.int64),
            np.array(classified, dtype=np.int64),
        )

    def _account(
        self,
        done: np.ndarray,
        enqueued: np.ndarray,
        is_write: np.ndarray,
        arrival: np.ndarray,
        timed: bool,
    ) -> None:
        """Add the served bursts (completion not 0) to the read latencies and the first
        and last cycles."""
        if done.size:
            start = arrival if timed else enqueued
            reads = ~is_write
            if self.carried is not None:
                reads &= done > 0  # a completion is never cycle 0
            self.read_latencies.add(done[reads] - start[reads])
            first = int(arrival[0])
            self.first_cycle = first if self.first_cycle is None else self.first_cycle
            self.last_cycle = max(self.last_cycle, int(done.max()))
