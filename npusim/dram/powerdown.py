"""Power-down of an idle channel: when the controller enters it, what leaving it costs, and
the time spent in it.

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

Self-refresh (IDD6, exit tXSR) is not modelled: a long idle gap stays in power-down with the
controller's periodic refreshes.
"""

from __future__ import annotations

POWER_DOWN_EXIT_NS = 7.5
"""tXP: power-down exit to the first valid command (JEDEC LPDDR4-3200 memspec, above)."""

POWER_DOWN_MIN_NS = 7.5
"""tCKE: minimum power-down residency (same source)."""


class PowerDown:
    """One channel's power-down policy and the cycles spent powered down so far.

    ``idle_ck``: cycles without a command (nothing queued) before entry; ``n_xp``, ``n_cke``:
    exit latency and minimum residency in the channel's cycles. ``precharged_cycles`` /
    ``active_cycles``: time in precharge / active power-down from ``count_from`` on (the first
    request's arrival, -1 before the first run: the idle lead before it is priced apart, by
    :func:`npusim.dram.stats.channel_energy_until`), counted when each stay ends.
    """

    __slots__ = ("active_cycles", "count_from", "idle_ck", "n_cke", "n_xp", "precharged_cycles")

    def __init__(self, idle_ck: int, n_xp: int, n_cke: int) -> None:
        if idle_ck < 1 or n_xp < 0 or n_cke < 0:
            raise ValueError(f"power-down needs idle_ck >= 1, nXP, nCKE >= 0; got "
                             f"{idle_ck}, {n_xp}, {n_cke}")  # fmt: skip
        self.idle_ck, self.n_xp, self.n_cke = idle_ck, n_xp, n_cke
        self.precharged_cycles = self.active_cycles = 0
        self.count_from = -1  # set at the first run

    def _count(self, start: int, end: int, bank_open: bool) -> None:
        """A stay from ``start`` to ``end``, its part from ``count_from`` on."""
        if self.count_from >= 0 and start < self.count_from:
            start = self.count_from
        if end <= start:
            return
        if bank_open:
            self.active_cycles += end - start
        else:
            self.precharged_cycles += end - start

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
