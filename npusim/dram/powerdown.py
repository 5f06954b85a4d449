"""Power-down and self-refresh of an idle channel: when the controller enters them, what
leaving them costs, and the time spent in them.

The policy (the idle-timeout power-down of common LPDDR controllers, e.g. Synopsys uMCTL2's
``powerdown_to``): once the channel has had no command for ``idle_ck`` cycles with no request
queued or held and no refresh pending, it powers down: active power-down when a bank was left
open (the open-page policy leaves rows open), precharge power-down otherwise. It leaves
power-down for two reasons:

* a request arrives at cycle ``w`` (unforeseen): the exit starts at ``max(w, entry + nCKE)``
  (the minimum residency) and no command issues before ``nXP`` after that;
* a refresh falls due (foreseen): the controller starts the exit ``nXP`` before the refresh's
  first command, which keeps its cycle; a stay shorter than ``nCKE`` is not entered.

Timing: tXP (exit to the first valid command) and tCKE (minimum power-down residency), both
7.5 ns: the JEDEC LPDDR4-3200 x16 8 Gb memspec (``XP`` = ``CKE`` = 12 nCK at tCK 0.625 ns, as
carried by DRAMSys, ``configs/memspec/JEDEC_8Gb_LPDDR4-3200_16bit.json``), the device the
reference's LPDDR4 energy comparison uses. No first-hand LPDDR5 value is public here; LPDDR5
keeps power-down entry and exit in ns of the same order (JESD209-5 tXP, tCSPD), so the LPDDR4
ns figures are assumed and rounded up to each preset's cycles (``dram.timing`` overrides
``nXP`` / ``nCKE`` in cycles). Power in power-down: :mod:`npusim.dram.energy`.

Self-refresh (off unless ``sr_idle_ck`` is given; the idle-timeout self-refresh of the same
controllers, uMCTL2's ``selfref_to``): once no *request* command has issued for ``sr_idle_ck``
cycles (the controller's own refreshes do not restart this timer) and nothing is queued or
held, the channel enters self-refresh: a PREA first when a bank is open, then SRE at the first
cycle a REFab could issue (JEDEC asks the same of both: every bank precharged, tRP and tRFC
met). The device refreshes itself: the refreshes that fall due from the timer's expiry until
the exit are not issued (``absorbed_refreshes``), and the schedule goes on after it as if they
had been. A request that arrives at ``w`` starts the exit at ``max(w, entry + nSR)`` (minimum
residency) and its first command issues nXSR later. Power-down (when on) covers the time from
its own timeout to the self-refresh entry.

Timing: tXSR = tRFCab + 7.5 ns and tSR = 15 ns, the same LPDDR4-3200 memspec (``XSR`` = 460 nCK
= RFCab 448 nCK + 12 nCK; ``SR`` = 24 nCK); LPDDR5 defines tXSR the same way
(max(tRFCab + 7.5 ns, 2 nCK)), so it takes each density's tRFCab (``Timing.nXSR`` / ``nSR``).
Power in self-refresh: :mod:`npusim.dram.energy` (IDD6).
"""

from __future__ import annotations

POWER_DOWN_EXIT_NS = 7.5
"""tXP: power-down exit to the first valid command (JEDEC LPDDR4-3200 memspec, above)."""

POWER_DOWN_MIN_NS = 7.5
"""tCKE: minimum power-down residency (same source)."""

SELF_REFRESH_EXIT_EXTRA_NS = 7.5
"""tXSR - tRFCab: self-refresh exit to the first valid command beyond one all-bank refresh
(same source)."""

SELF_REFRESH_MIN_NS = 15.0
"""tSR: minimum self-refresh residency (same source)."""

OFF = 1 << 62
"""A timeout no run reaches: the state is never entered (``refresh.NEVER``)."""


class PowerDown:
    """One channel's power-down and self-refresh policy and the cycles spent in them so far.

    ``idle_ck``: cycles without a command (nothing queued) before power-down entry (:data:`OFF`:
    never); ``n_xp``, ``n_cke``: its exit latency and minimum residency in the channel's
    cycles. ``sr_idle_ck``: cycles without a request command before self-refresh (:data:`OFF`:
    never); ``n_xsr``, ``n_sr``: its exit latency and minimum residency. ``precharged_cycles``
    / ``active_cycles`` / ``self_refresh_cycles``: time in precharge / active power-down and in
    self-refresh from ``count_from`` on (the first request's arrival, -1 before the first run:
    the idle lead before it is priced apart, by :func:`npusim.dram.stats.channel_energy_until`),
    counted when each stay ends; ``absorbed_refreshes``: refreshes the device did itself.
    ``request_last`` / ``refresh_last``: the cycle of the last request command before the
    controller's last refresh command, and of that refresh command (-1: none), from which
    :meth:`self_refresh_entry` tells request commands from refreshes.
    """

    __slots__ = ("absorbed_refreshes", "active_cycles", "count_from", "idle_ck", "n_cke",
                 "n_sr", "n_xp", "n_xsr", "precharged_cycles", "refresh_last", "refresh_wakes",
                 "request_last", "self_refresh_cycles", "sr_idle_ck")  # fmt: skip

    def __init__(
        self,
        idle_ck: int,
        n_xp: int,
        n_cke: int,
        sr_idle_ck: int = OFF,
        n_xsr: int = 0,
        n_sr: int = 0,
    ) -> None:
        if min(idle_ck, sr_idle_ck) < 1 or min(n_xp, n_cke, n_xsr, n_sr) < 0:
            raise ValueError(f"power-down needs idle_ck, sr_idle_ck >= 1 and nXP, nCKE, nXSR, "
                             f"nSR >= 0; got {idle_ck}, {sr_idle_ck}, {n_xp}, {n_cke}, "
                             f"{n_xsr}, {n_sr}")  # fmt: skip
        self.idle_ck, self.n_xp, self.n_cke = idle_ck, n_xp, n_cke
        self.sr_idle_ck, self.n_xsr, self.n_sr = sr_idle_ck, n_xsr, n_sr
        self.precharged_cycles = self.active_cycles = self.self_refresh_cycles = 0
        self.absorbed_refreshes = 0
        self.request_last = self.refresh_last = -1
        self.count_from = -1  # set at the first run
        self.refresh_wakes = False
        """A pending refresh found the channel idle: its first command ends the stay (and a
        request arriving meanwhile does not wake the channel itself)."""

    def _counted(self, start: int, end: int) -> int:
        """The cycles of a stay from ``start`` to ``end`` from ``count_from`` on."""
        if self.count_from >= 0 and start < self.count_from:
            start = self.count_from
        return max(end - start, 0)

    def _count(self, start: int, end: int, bank_open: bool) -> None:
        """A power-down stay from ``start`` to ``end``, its part from ``count_from`` on."""
        if bank_open:
            self.active_cycles += self._counted(start, end)
        else:
            self.precharged_cycles += self._counted(start, end)

    def before_refresh(self, last_command: int) -> None:
        """The controller issues one of its own commands (a refresh's, or the PREA before
        self-refresh) after a last command at ``last_command``: remember it when it was a
        request's."""
        if last_command != self.refresh_last:
            self.request_last = last_command

    def self_refresh_entry(self, last_command: int) -> int:
        """The cycle the self-refresh timer expires on an idle channel whose last command
        issued at ``last_command`` (at least :data:`OFF` when self-refresh is off)."""
        request = last_command if last_command != self.refresh_last else self.request_last
        return max(request, 0) + self.sr_idle_ck

    def self_refresh(self, start: int, now: int) -> int:
        """Self-refresh from ``start`` (SRE) until a request arriving at ``now`` wakes it:
        count the stay and return the cycle its exit starts (nXSR before the first command)."""
        exit_start = max(now, start + self.n_sr)
        self.self_refresh_cycles += self._counted(start, exit_start)
        return exit_start

    def wake_for_request(self, last_command: int, now: int, bank_open: bool) -> int:
        """A request enters the queue of an idle channel at ``now``, its last command at
        ``last_command`` (-1: none yet, idle since cycle 0): the first cycle a command may
        issue (``now`` when the channel had not powered down yet), counting the stay."""
        entry = max(last_command, 0) + self.idle_ck
        if now < entry:
            return now
        exit_start = max(now, entry + self.n_cke)
        self._count(entry, exit_start, bank_open)
        return exit_start + self.n_xp

    def foreseen_stay(self, last_command: int, command_at: int) -> int:
        """Cycles powered down between a command at ``last_command`` and one the controller
        foresaw at ``command_at`` (a refresh): 0 when the stay would be shorter than nCKE."""
        stay = command_at - self.n_xp - (max(last_command, 0) + self.idle_ck)
        return stay if stay >= max(self.n_cke, 1) else 0

    def wake_for_refresh(self, last_command: int, command_at: int, bank_open: bool) -> None:
        """Count the stay before a refresh command the controller issues at ``command_at``
        (it left power-down nXP earlier, so the command keeps its cycle)."""
        stay = self.foreseen_stay(last_command, command_at)
        if stay:
            entry = max(last_command, 0) + self.idle_ck
            self._count(entry, entry + stay, bank_open)

    def periodic_stays(self, first_refresh: int, count: int, interval: int) -> None:
        """Count the stays before ``count`` periodic refreshes ``interval`` cycles apart, the
        first at ``first_refresh``, on an idle channel with every bank closed (the refreshes
        the controller skips in closed form)."""
        stay = self.foreseen_stay(0, interval)
        if stay and count > 0:
            # the k-th stay starts idle_ck after refresh k - 1
            first_start = first_refresh - interval + self.idle_ck
            counted = count
            if self.count_from >= 0 and first_start < self.count_from:
                counted = max(0, count - -(-(self.count_from - first_start) // interval))
            self.precharged_cycles += counted * stay
