"""Glue to the compiled twin of the controller loop (``_kernel.c``), optional.

The extension is built at install when a C compiler is present (``setup.py``); without it
``KERNEL_AVAILABLE`` is false and :class:`~npusim.dram.controller.ChannelController` runs its
Python loop, which makes the same decisions. The kernel keeps no state between calls: each
call copies the controller's and device's state into int64 buffers and back, in place,
because the device's update tables hold references to its lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from npusim.dram.device import Command, Device
from npusim.dram.params import QueueRelease, RefreshMode, Scheduler, WckSync

if TYPE_CHECKING:
    from npusim.dram.controller import ChannelController

try:
    from npusim.dram import _kernel  # type: ignore[attr-defined]
except ImportError:  # not compiled: the Python loop makes the same decisions
    _kernel = None

KERNEL_AVAILABLE = _kernel is not None
"""Whether the compiled controller loop was built."""

SCALARS = (  # the scal buffer, in the C enum's order: (object, attribute) of each value
    ("ctrl", "now"),
    ("ctrl", "write_mode"),
    ("ctrl", "refresh_due"),
    ("ctrl", "refresh_pending"),
    ("ctrl", "refresh_bank"),
    ("ctrl", "refresh_cycles"),
    ("dev", "faw_index"),
    ("dev", "open_banks"),
    ("dev", "active_since"),
    ("dev", "active_cycles"),
    ("ctrl", "queue_cycles"),
    ("ctrl", "wck_expiry"),
    ("ctrl", "write_drains"),
)  # then outcome[3] and command_counts[11]
FLAGS = frozenset({"write_mode", "refresh_pending"})  # bools on the Python side
MAX_UPDATES = 8  # update entries per (scope, command) in the kernel's table (MAXU in C)
REFRESH_CODES = {RefreshMode.OFF: 0, RefreshMode.ALL_BANK: 1, RefreshMode.PER_BANK: 2}
SCHEDULER_CODES = {Scheduler.FCFS: 0, Scheduler.FRFCFS: 1, Scheduler.FRFCFS_ROWHIT: 2}


class CompiledLoop:
    """The compiled loop bound to one controller; its buffers' layouts match ``_kernel.c``.

    The controller's configuration (queue depths, policies, timing) is read once, here: it is
    fixed for a controller's life, as the Python loop also assumes.
    """

    def __init__(self, ctrl: ChannelController) -> None:
        self.ctrl = ctrl
        dev, timing = ctrl.dev, ctrl.timing
        self.config = np.array(  # cfg, in the C enum's order
            [
                dev.banks,
                dev.bank_groups,
                SCHEDULER_CODES[ctrl.scheduler],
                ctrl.closed_page,
                REFRESH_CODES[ctrl.refresh],
                ctrl.read_depth,
                ctrl.write_depth,
                ctrl.write_high,
                ctrl.write_low,
                timing.nCL + timing.nBL,
                timing.nCWL + timing.nBL,
                timing.nREFI,
                timing.nREFIpb,
                timing.nRFCab,
                timing.nRFCpb,
                timing.nFAW,
                Device.REFPB_SETS,
                dev.log is not None,
                ctrl.queue_release is QueueRelease.ACTIVATION,
                ctrl.wck_sync is WckSync.NEED_SYNC,
                timing.nCAS,
                timing.nCL + timing.nBL + timing.nWCKPST,
                timing.nCWL + timing.nBL + timing.nWCKPST,
                timing.nAAD,
            ],
            dtype=np.int64,
        )
        self.updates = update_table(dev)

    def run(
        self, bank: np.ndarray, row: np.ndarray, is_write: np.ndarray, arrival: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Serve the bursts as ``ChannelController.run`` does; return (completion cycles,
        enqueue cycles), int64 arrays of the bursts' length."""
        ctrl, dev = self.ctrl, self.ctrl.dev
        n = int(bank.shape[0])
        done = np.zeros(n, dtype=np.int64)
        enqueued = np.zeros(n, dtype=np.int64)
        bank_ready = np.array(dev.bank_ready, dtype=np.int64)
        group_ready = np.array(dev.group_ready, dtype=np.int64)
        channel_ready = np.array(dev.channel_ready, dtype=np.int64)
        faw = np.array(dev.faw, dtype=np.int64)
        open_row = np.array(dev.open_row, dtype=np.int64)
        owners = {"ctrl": ctrl, "dev": dev}
        scalars = np.array(
            [getattr(owners[owner], name) for owner, name in SCALARS]
            + ctrl.outcome
            + dev.command_counts,
            dtype=np.int64,
        )
        log = _kernel.run(
            np.ascontiguousarray(bank, dtype=np.int64),
            np.ascontiguousarray(row, dtype=np.int64),
            np.ascontiguousarray(is_write, dtype=np.int64),
            np.ascontiguousarray(arrival, dtype=np.int64),
            done,
            enqueued,
            self.config,
            self.updates,
            bank_ready,
            group_ready,
            channel_ready,
            faw,
            open_row,
            scalars,
        )
        for ready, new in zip(dev.bank_ready, bank_ready.tolist(), strict=True):
            ready[:] = new
        for ready, new in zip(dev.group_ready, group_ready.tolist(), strict=True):
            ready[:] = new
        dev.channel_ready[:] = channel_ready.tolist()
        dev.faw[:] = faw.tolist()
        dev.open_row[:] = open_row.tolist()
        values = scalars.tolist()
        for (owner, name), value in zip(SCALARS, values, strict=False):
            setattr(owners[owner], name, bool(value) if name in FLAGS else value)
        ctrl.outcome[:] = values[len(SCALARS) : len(SCALARS) + 3]
        dev.command_counts[:] = values[len(SCALARS) + 3 :]
        if log is not None and dev.log is not None:
            dev.log.extend(map(tuple, np.frombuffer(log, dtype=np.int64).reshape(-1, 4).tolist()))
        return done, enqueued


def update_table(dev: Device) -> np.ndarray:
    """The device's per-command timing updates as the kernel's int64 table
    ``[scope (bank, group, channel)][command][entry] = (slot, latency)``, slot -1 ending a
    list (``Device.update_slots``, which the Python loop applies the same way)."""
    table = np.full((3, len(Command), MAX_UPDATES, 2), -1, dtype=np.int64)
    for scope, per_command in enumerate(dev.update_slots):
        for cmd, updates in enumerate(per_command):
            if len(updates) > MAX_UPDATES:
                raise ValueError(f"command {Command(cmd).name}: more than 8 timing updates")
            for entry, (slot, latency) in enumerate(updates):
                table[scope, cmd, entry] = (slot, latency)
    return table
