"""Glue to the compiled twin of the controller loop (``_kernel.c``), optional.

The extension is built at install when a C compiler is present (``setup.py``); without it
``KERNEL_AVAILABLE`` is false and :class:`~npusim.dram.controller.ChannelController` runs its
Python loop, which makes the same decisions. The buffers' layouts and codes are declared once,
in :mod:`npusim.dram.layout`; :class:`CompiledLoop` fills them by field name and refuses a
kernel compiled from another layout. The kernel itself keeps no state between calls:
:class:`CompiledLoop` holds the device's timing tables in arrays across calls and copies the
scalars (counts, refresh and queue state, a paused part's pending ACT-2) and the active slots
both ways at every call; a part's queued requests come in at the front of its bursts
(:mod:`npusim.dram.carry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from npusim.dram.device import Command, Device
from npusim.dram.layout import (
    BUFFERS,
    CONFIG_FIELDS,
    KERNEL_REFRESH_POLICIES,
    KERNEL_SCHEDULERS,
    MAX_UPDATES,
    ROW_OUTCOMES,
    STATE_FIELDS,
    layout_entries,
)
from npusim.dram.powerdown import PowerDown

if TYPE_CHECKING:
    from npusim.dram.carry import Part
    from npusim.dram.controller import ChannelController

try:
    from npusim.dram import _kernel  # type: ignore[attr-defined]
except ImportError:  # not compiled: the Python loop makes the same decisions
    _kernel = None

KERNEL_AVAILABLE = _kernel is not None
"""Whether the compiled controller loop was built."""

OWNERS = {  # (holder, attribute) of the scal buffer's named scalars (layout.STATE_FIELDS)
    "refresh_due": ("refresh", "due"),
    "refresh_pending": ("refresh", "pending"),
    "refresh_bank": ("refresh", "bank"),
    "refresh_cycles": ("refresh", "cycles"),
    "faw_index": ("dev", "faw_index"),
    "open_banks": ("dev", "open_banks"),
    "active_since": ("dev", "active_since"),
    "active_cycles": ("dev", "active_cycles"),
    "last_command": ("dev", "last_command"),
    "pd_count_from": ("power", "count_from"),
    "pd_precharged": ("power", "precharged_cycles"),
    "pd_active": ("power", "active_cycles"),
    "sr_cycles": ("power", "self_refresh_cycles"),
    "sr_absorbed": ("power", "absorbed_refreshes"),
    "sr_request_last": ("power", "request_last"),
    "sr_refresh_last": ("power", "refresh_last"),
    "pd_refresh_wakes": ("power", "refresh_wakes"),
}
FLAGS = frozenset({"write_mode", "pending", "refresh_wakes"})  # bools on the Python side
CALL_FIELDS = ("queued", "stop")  # scal inputs of one call, not state (CompiledLoop.run)


def layout_problems() -> list[str]:
    """How the compiled module's layout differs from :func:`layout.layout_entries` (empty
    when it matches; a kernel built from an older ``layout.py`` does not)."""
    if _kernel is None:
        return []
    compiled, declared = _kernel.layout(), layout_entries()
    return [
        f"{name}: compiled {compiled.get(name)}, declared {declared.get(name)}"
        for name in sorted(set(compiled) | set(declared))
        if compiled.get(name) != declared.get(name)
    ]


class CompiledLoop:
    """The compiled loop bound to one controller; its buffers follow :mod:`layout`.

    The controller's configuration (queue depths, policies, timing) is read once, here: it is
    fixed for a controller's life, as the Python loop also assumes. The device's timing
    tables and open rows stay in this object's arrays from one run to the next (copying them
    cost most of a short run): the device's lists are brought up to date only when Python
    code reads them (:meth:`Device.sync_tables`). Scalars (counts, refresh state, ...) are
    copied both ways at every run. Raises ``RuntimeError`` when the compiled module was built
    from another layout (rebuild it).
    """

    def __init__(self, ctrl: ChannelController) -> None:
        problems = layout_problems()
        if problems:
            raise RuntimeError(
                "the compiled DRAM loop was built from another npusim/dram/layout.py "
                f"({'; '.join(problems[:3])}); rebuild: python setup.py build_ext --inplace"
            )
        self.ctrl = ctrl
        config = kernel_config(ctrl)
        self.config = np.array([config[name] for name in CONFIG_FIELDS], dtype=np.int64)
        self.updates = update_table(ctrl.dev)
        dev = ctrl.dev
        self.bank_ready = np.zeros((len(Command), dev.banks), dtype=np.int64)
        self.group_ready = np.zeros((len(Command), dev.bank_groups), dtype=np.int64)
        self.channel_ready = np.zeros(len(Command), dtype=np.int64)
        self.faw = np.zeros(len(dev.faw), dtype=np.int64)
        self.open_row = np.zeros(dev.banks, dtype=np.int64)
        # without power-down the kernel's counters stay 0 (pd_idle 0): a holder nobody reads
        power = ctrl.power_down if ctrl.power_down is not None else PowerDown(1, 0, 0)
        owners = {"ctrl": ctrl, "dev": dev, "refresh": ctrl.refresh_policy, "power": power}
        places = [OWNERS.get(name, ("ctrl", name)) for name in STATE_FIELDS]
        self.holders: list[tuple[object, str] | None] = [
            None if name in CALL_FIELDS else (owners[owner], attribute)
            for name, (owner, attribute) in zip(STATE_FIELDS, places, strict=True)
        ]
        """Per scal field, where its value lives between runs (None: an input of one call)."""

    def load_tables(self) -> None:
        """Copy the device's lists into the arrays (the lists are the newer copy)."""
        dev = self.ctrl.dev
        self.bank_ready[:] = dev.bank_ready
        self.group_ready[:] = dev.group_ready
        self.channel_ready[:] = dev.channel_ready
        self.faw[:] = dev.faw
        self.open_row[:] = dev.open_row

    def store_tables(self) -> None:
        """Copy the arrays back into the device's lists, in place (its update tables hold
        references to them)."""
        dev = self.ctrl.dev
        for ready, new in zip(dev.bank_ready, self.bank_ready.tolist(), strict=True):
            ready[:] = new
        for ready, new in zip(dev.group_ready, self.group_ready.tolist(), strict=True):
            ready[:] = new
        dev.channel_ready[:] = self.channel_ready.tolist()
        dev.faw[:] = self.faw.tolist()
        dev.open_row[:] = self.open_row.tolist()

    def run(
        self,
        bank: np.ndarray,
        row: np.ndarray,
        is_write: np.ndarray,
        arrival: np.ndarray,
        part: Part | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Serve the bursts as ``ChannelController.run`` does (``part``: as its ``run_part``,
        the queued requests first and a pause at ``part.stop``); return (completion cycles,
        enqueue cycles, row outcome counted), int64 arrays of the bursts' length, completion
        0 for a burst not served."""
        ctrl, dev = self.ctrl, self.ctrl.dev
        if dev.tables_in is not self:
            dev.sync_tables()
            self.load_tables()
        n = int(bank.shape[0])
        done = np.zeros(n, dtype=np.int64)
        enqueued = np.zeros(n, dtype=np.int64)
        classified = np.zeros(n, dtype=np.int64)
        queued, stop = 0, n
        if part is not None:
            queued, stop = part.queued, part.stop
            enqueued[:queued], classified[:queued] = part.enqueued, part.classified
        holders, call = self.holders, {"queued": queued, "stop": stop}
        scalars = np.array(
            [
                call[name] if place is None else getattr(*place)
                for name, place in zip(STATE_FIELDS, holders, strict=True)
            ]
            + ctrl.outcome
            + dev.command_counts,
            dtype=np.int64,
        )
        pinned = np.array(ctrl.pinned, dtype=np.int64)
        buffers = {
            "bank": np.ascontiguousarray(bank, dtype=np.int64),
            "row": np.ascontiguousarray(row, dtype=np.int64),
            "is_write": np.ascontiguousarray(is_write, dtype=np.int64),
            "arrival": np.ascontiguousarray(arrival, dtype=np.int64),
            "done": done,
            "enqueued": enqueued,
            "classified": classified,
            "pinned": pinned,
            "cfg": self.config,
            "upd": self.updates,
            "bank_ready": self.bank_ready,
            "group_ready": self.group_ready,
            "channel_ready": self.channel_ready,
            "faw": self.faw,
            "open_row": self.open_row,
            "scal": scalars,
        }
        log = _kernel.run(*(buffers[name] for name, _ in BUFFERS))  # layout.BUFFERS' order
        dev.tables_in = self  # the arrays are newer than the device's lists from now on
        values = scalars.tolist()
        for place, value in zip(holders, values, strict=False):
            if place is not None:
                holder, attribute = place
                setattr(holder, attribute, bool(value) if attribute in FLAGS else value)
        ctrl.pinned[:] = pinned.tolist()
        named = len(STATE_FIELDS)
        ctrl.outcome[:] = values[named : named + len(ROW_OUTCOMES)]
        dev.command_counts[:] = values[named + len(ROW_OUTCOMES) :]
        if log is not None and dev.log is not None:
            dev.log.extend(map(tuple, np.frombuffer(log, dtype=np.int64).reshape(-1, 4).tolist()))
        return done, enqueued, classified


def update_table(dev: Device) -> np.ndarray:
    """The device's per-command timing updates as the kernel's int64 table
    ``[scope (bank, group, channel)][command][entry] = (slot, latency)``, slot -1 ending a
    list (``Device.update_slots``, which the Python loop applies the same way)."""
    table = np.full((3, len(Command), MAX_UPDATES, 2), -1, dtype=np.int64)
    for scope, per_command in enumerate(dev.update_slots):
        for cmd, updates in enumerate(per_command):
            if len(updates) > MAX_UPDATES:
                raise ValueError(
                    f"command {Command(cmd).name}: more than {MAX_UPDATES} timing updates"
                )
            for entry, (slot, latency) in enumerate(updates):
                table[scope, cmd, entry] = (slot, latency)
    return table


def kernel_config(ctrl: ChannelController) -> dict[str, int]:
    """The ``cfg`` buffer's values by :data:`layout.CONFIG_FIELDS` name."""
    dev, timing, refresh = ctrl.dev, ctrl.timing, ctrl.refresh_policy
    return {
        "banks": dev.banks,
        "bank_groups": dev.bank_groups,
        "scheduler": KERNEL_SCHEDULERS.index(ctrl.scheduler_policy.name),
        "read_command": int(ctrl.row_policy.column_command(False)),
        "write_command": int(ctrl.row_policy.column_command(True)),
        "refresh": KERNEL_REFRESH_POLICIES.index(refresh.name),
        "read_depth": ctrl.read_depth,
        "write_depth": ctrl.write_depth,
        "write_high": ctrl.write_high,
        "write_low": ctrl.write_low,
        "read_done": timing.nCL + timing.nBL,
        "write_done": timing.nCWL + timing.nBL,
        "refresh_interval": refresh.interval,
        "refresh_ck": refresh.refresh_ck,
        "nFAW": timing.nFAW,
        "refpb_sets": Device.REFPB_SETS,
        "log": dev.log is not None,
        "release_at_act": ctrl.release_at_act,
        "need_sync": ctrl.need_sync,
        "nCAS": timing.nCAS,
        "wck_read": timing.nCL + timing.nBL + timing.nWCKPST,
        "wck_write": timing.nCWL + timing.nBL + timing.nWCKPST,
        "nAAD": timing.nAAD,
        **_power_config(ctrl.power_down),
    }


def _power_config(power: PowerDown | None) -> dict[str, int]:
    """The ``cfg`` fields of power-down and self-refresh: 0 without a PowerDown object."""
    if power is None:
        return dict.fromkeys(("pd_idle", "nXP", "nCKE", "sr_idle", "nXSR", "nSR"), 0)
    return {"pd_idle": power.idle_ck, "nXP": power.n_xp, "nCKE": power.n_cke,
            "sr_idle": power.sr_idle_ck, "nXSR": power.n_xsr, "nSR": power.n_sr}  # fmt: skip
