"""The one declaration of what the compiled controller loop (``_kernel.c``) shares with Python.

``setup.py`` renders :func:`c_header` into ``_kernel_layout.h`` before it compiles the kernel,
so the C enums (commands, ready slots, the ``run`` arguments and the ``cfg`` and ``scal``
buffers' fields, the policies the kernel implements) and limits are generated from the tables
below, never copied. The compiled module reports the values it was built with
(``_kernel.layout()``); the glue (:mod:`npusim.dram.kernel`) refuses to run a kernel whose
layout differs from :func:`layout_entries` (a build older than this file), and a test pins
the two equal.

Stdlib only (and the stdlib-only DRAM modules): ``setup.py`` imports it before anything is
built.
"""

from __future__ import annotations

from npusim.dram.device import READY_SLOT, Command
from npusim.dram.params import MAX_QUEUE_DEPTH

CONFIG_FIELDS: tuple[str, ...] = (
    "banks",
    "bank_groups",
    "scheduler",  # index in KERNEL_SCHEDULERS
    "read_command",  # the page policy's column commands (RD/WR or RDA/WRA)
    "write_command",
    "refresh",  # index in KERNEL_REFRESH_POLICIES
    "read_depth",
    "write_depth",
    "write_high",
    "write_low",
    "read_done",  # RD to the last data beat: nCL + nBL
    "write_done",  # WR to the end of the burst: nCWL + nBL
    "refresh_interval",  # nREFI or nREFIpb of the refresh policy
    "refresh_ck",  # nRFCab or nRFCpb
    "nFAW",
    "refpb_sets",
    "log",
    "release_at_act",
    "need_sync",
    "nCAS",
    "wck_read",  # WCK runs this long after an RD (read_done + nWCKPST)
    "wck_write",
    "nAAD",
    "pd_idle",  # 0: no PowerDown object; else PowerDown.idle_ck (powerdown.OFF: never)
    "nXP",
    "nCKE",
    "sr_idle",  # PowerDown.sr_idle_ck (powerdown.OFF: never), n_xsr, n_sr
    "nXSR",
    "nSR",
)
"""The ``cfg`` buffer: a controller's fixed configuration, int64, in this order (``C_*``)."""

STATE_FIELDS: tuple[str, ...] = (
    "now",
    "write_mode",
    "refresh_due",
    "refresh_pending",
    "refresh_bank",
    "refresh_cycles",
    "faw_index",
    "open_banks",
    "active_since",
    "active_cycles",
    "queue_cycles",
    "wck_expiry",
    "write_drains",
    "last_command",  # Device.last_command
    "pd_count_from",  # PowerDown.count_from, precharged_cycles, active_cycles
    "pd_precharged",
    "pd_active",
    "sr_cycles",  # PowerDown.self_refresh_cycles, absorbed_refreshes, request_last, refresh_last
    "sr_absorbed",
    "sr_request_last",
    "sr_refresh_last",
    "pd_refresh_wakes",  # PowerDown.refresh_wakes
    "act2_bank",  # the pending ACT-2 (-1 none), its last legal cycle and its row
    "act2_deadline",
    "act2_row",
    "queued",  # in: requests 0 .. queued - 1 are already queued (carried from a paused run)
    "stop",  # in: pause when request ``stop`` would enter its queue (n: serve all)
)
"""The ``scal`` buffer's named scalars (``S_*``), then the row outcomes (``S_OUTCOME``: hits,
misses, conflicts) and the command counts (``S_COUNTS``, one per :class:`Command`)."""

BUFFERS: tuple[tuple[str, bool], ...] = (
    ("bank", False),  # the bursts: int64, one entry each
    ("row", False),
    ("is_write", False),
    ("arrival", False),
    ("done", True),  # out: completion cycles (0: not served yet)
    ("enqueued", True),  # in (queued requests) and out: enqueue cycles
    ("classified", True),  # in (queued requests) and out: row outcome counted, 0 or 1
    ("pinned", True),  # per bank, the request in its active slot (-1 none), kept between calls
    ("cfg", False),  # CONFIG_FIELDS
    ("upd", False),  # the timing update table (SCOPES)
    ("bank_ready", True),  # the device's tables, kept between calls
    ("group_ready", True),
    ("channel_ready", True),
    ("faw", True),
    ("open_row", True),
    ("scal", True),  # STATE_FIELDS, row outcomes, command counts
)
"""The kernel's ``run`` arguments in order, each (name, written by the kernel): ``B_*`` in C,
and the order :class:`npusim.dram.kernel.CompiledLoop` passes them in, by name."""

ROW_OUTCOMES = ("hit", "miss", "conflict")
SCOPES = ("bank", "group", "channel")
"""Scopes of the timing update table ``[scope][command][entry] = (ready slot, latency)``."""

KERNEL_SCHEDULERS: tuple[str, ...] = ("fcfs", "frfcfs", "frfcfs-rowhit")
"""Scheduler policies (by registry name) the compiled loop implements, in its code order; a
controller with another scheduler runs the Python loop."""

KERNEL_REFRESH_POLICIES: tuple[str, ...] = ("off", "all-bank", "per-bank")
"""Refresh policies (by registry name) the compiled loop implements, in its code order."""

MAX_UPDATES = 8
"""Update entries per (scope, command) in the kernel's table; -1 ends a shorter list."""

MAX_BANKS = 64
"""Banks per channel the kernel accepts (its per-bank arrays live on the C stack)."""


def _c_name(name: str) -> str:
    return name.upper().replace("-", "_")


def layout_entries() -> dict[str, int]:
    """Every name the C code uses, with its value: what ``_kernel.layout()`` must return."""
    entries = {command.name: int(command) for command in Command}
    entries["NCMD"] = len(Command)
    entries.update({f"READY_SLOT_{c.name}": READY_SLOT[c] for c in Command})
    entries.update({name.upper(): k for k, name in enumerate(ROW_OUTCOMES)})
    entries.update({f"SCOPE_{name.upper()}": k for k, name in enumerate(SCOPES)})
    entries.update({f"SCHED_{_c_name(n)}": k for k, n in enumerate(KERNEL_SCHEDULERS)})
    entries.update({f"REFRESH_{_c_name(n)}": k for k, n in enumerate(KERNEL_REFRESH_POLICIES)})
    entries.update({f"C_{_c_name(n)}": k for k, n in enumerate(CONFIG_FIELDS)})
    entries["C_LEN"] = len(CONFIG_FIELDS)
    entries.update({f"S_{_c_name(n)}": k for k, n in enumerate(STATE_FIELDS)})
    entries["S_OUTCOME"] = len(STATE_FIELDS)
    entries["S_COUNTS"] = len(STATE_FIELDS) + len(ROW_OUTCOMES)
    entries["S_LEN"] = entries["S_COUNTS"] + len(Command)
    entries.update({f"B_{_c_name(name)}": k for k, (name, _) in enumerate(BUFFERS)})
    entries["NBUF"] = len(BUFFERS)
    entries.update({"MAXU": MAX_UPDATES, "MAXBANKS": MAX_BANKS, "MAXDEPTH": MAX_QUEUE_DEPTH})
    return entries


def c_header() -> str:
    """``_kernel_layout.h``: the entries as C enums, ``READY_SLOT`` as an array and a
    ``LAYOUT`` table of (name, value) the module returns from ``layout()``."""
    entries = layout_entries()
    lines = [
        "/* Generated by setup.py from npusim/dram/layout.py: edit that file, not this one. */",
        "#ifndef NPUSIM_KERNEL_LAYOUT_H",
        "#define NPUSIM_KERNEL_LAYOUT_H",
    ]
    for name, value in entries.items():
        if not name.startswith("READY_SLOT_"):
            lines.append(f"#define {name} {value}")
    slots = ", ".join(str(READY_SLOT[c]) for c in Command)
    lines.append(f"static const int READY_SLOT[NCMD] = {{{slots}}};")
    names = ", ".join(f'"{name}"' for name, _ in BUFFERS)
    lines.append(f"static const char *const BUFFER_NAMES[NBUF] = {{{names}}};")
    writable = ", ".join(str(int(written)) for _, written in BUFFERS)
    lines.append(f"static const int BUFFER_WRITABLE[NBUF] = {{{writable}}};")
    lines.append("static const struct { const char *name; long long value; } LAYOUT[] = {")
    lines += [f'    {{"{name}", {value}}},' for name, value in entries.items()]
    lines += ["};", "#endif", ""]
    return "\n".join(lines)
