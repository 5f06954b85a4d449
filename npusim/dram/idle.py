"""Energy of DRAM channels left idle for a stretch, in closed form: what a frame's idle time
costs when nothing simulated the run's commands (the analytic fidelity).

After a run, the controllers' own state prices the same stretch exactly
(:meth:`npusim.dram.DramSystem.energy_until`: which banks are open, the next refresh's phase).
Here each channel starts the stretch just after its last command, with a row open or every
bank closed, and a refresh interval beginning, and follows the controller's idle policy
(:mod:`npusim.dram.powerdown`): standby (active with a row open, precharged otherwise); with
power-down, standby for its timeout and around each refresh and power-down (active or
precharged) otherwise; with self-refresh, self-refresh power from its timeout on, with the
refreshes before it issued at the nominal rate and none after it (the device refreshes
itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim.dram.params import RefreshMode
from npusim.dram.stats import idle_span_pj

if TYPE_CHECKING:
    from npusim.dram.system import DramSystem


def idle_energy_pj(system: DramSystem, idle_ck: int, row_open: bool = False) -> float:
    """Energy in pJ of every channel of ``system`` idling for ``idle_ck`` CK (module
    docstring), with a row left open (``row_open``: the open-page policy leaves the last
    rows open) or every bank closed; 0 for ``idle_ck <= 0``. The refresh count is
    ``awake // nREFI`` (``nREFIpb`` per bank), so it differs from a run's by at most one
    refresh per channel, whose phase depends on where the run ended."""
    if idle_ck <= 0:
        return 0.0
    terms = system.energy
    total_pj = 0.0
    for ctrl in system.controllers:
        power = ctrl.power_down
        awake = min(idle_ck, power.sr_idle_ck) if power is not None else idle_ck
        refreshes, refresh_pj = 0, 0.0
        if ctrl.refresh is not RefreshMode.OFF:
            per_bank = ctrl.refresh is RefreshMode.PER_BANK
            refreshes = awake // (system.timing.nREFIpb if per_bank else system.timing.nREFI)
            refresh_pj = terms.refresh_pb_pj if per_bank else terms.refresh_ab_pj
        asleep_ck = idle_ck - awake
        total_pj += (idle_span_pj(ctrl, system, awake, row_open, refreshes)
                     + refreshes * refresh_pj
                     + terms.self_refresh_mw * asleep_ck * system.tck_ns)  # fmt: skip
    return total_pj
