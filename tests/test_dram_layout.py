"""The compiled controller loop and Python share one layout declaration (npusim/dram/layout.py).

setup.py generates the kernel's header from it; these tests fail when the compiled module was
built from another declaration (a stale build, or a table edited by hand on one side).
"""

from __future__ import annotations

import numpy as np
import pytest

from npusim.dram import kernel
from npusim.dram.device import READY_SLOT, Command
from npusim.dram.kernel import KERNEL_AVAILABLE, CompiledLoop, kernel_config
from npusim.dram.layout import CONFIG_FIELDS, STATE_FIELDS, c_header, layout_entries
from npusim.dram.params import PagePolicy, RefreshMode, Scheduler
from npusim.dram.standard import resolve_timing

needs_kernel = pytest.mark.skipif(not KERNEL_AVAILABLE, reason="the compiled loop was not built")


def _controller():  # type: ignore[no-untyped-def]
    from npusim.dram.controller import ChannelController

    timing = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16, {})
    return ChannelController(timing, banks=16, bank_groups=4, scheduler=Scheduler.FCFS,
                             page_policy=PagePolicy.CLOSED, refresh=RefreshMode.PER_BANK,
                             read_queue_depth=8, write_queue_depth=8, write_high_watermark=0.8,
                             write_low_watermark=0.2)  # fmt: skip


@needs_kernel
def test_the_compiled_layout_is_the_declared_one() -> None:
    assert kernel._kernel.layout() == layout_entries()
    assert kernel.layout_problems() == []


def test_the_declared_layout_numbers_what_the_c_code_indexes() -> None:
    # Written out independently of layout.py: the buffers' first and last fields, the
    # command codes of the Command enum and the ready slots RDA -> RD, WRA -> WR.
    entries = layout_entries()
    assert entries["C_BANKS"] == 0 and entries["C_LEN"] == len(CONFIG_FIELDS) == 29
    assert entries["C_PD_IDLE"] == 23 and entries["C_NCKE"] == 25 and entries["C_NSR"] == 28
    assert entries["S_NOW"] == 0 and entries["S_OUTCOME"] == len(STATE_FIELDS) == 27
    assert entries["S_LAST_COMMAND"] == 13 and entries["S_PD_ACTIVE"] == 16
    assert entries["S_SR_CYCLES"] == 17 and entries["S_SR_REFRESH_LAST"] == 20
    assert entries["S_PD_REFRESH_WAKES"] == 21 and entries["S_ACT2_BANK"] == 22
    assert entries["S_QUEUED"] == 25 and entries["S_STOP"] == 26
    assert entries["S_COUNTS"] == 30 and entries["S_LEN"] == 30 + 11
    # run's arguments: the bursts, the outputs (completion, enqueue cycle, outcome counted),
    # the active slots, cfg, the update table, the tables, scal
    assert [
        entries[f"B_{n}"] for n in ("BANK", "IS_WRITE", "DONE", "ENQUEUED", "CLASSIFIED", "PINNED",
                                    "CFG")
    ] == [0, 2, 4, 5, 6, 7, 8]  # fmt: skip
    assert entries["B_SCAL"] == entries["NBUF"] - 1 == 15
    assert [entries[c.name] for c in Command] == list(range(11))
    assert READY_SLOT[Command.RDA] == Command.RD and READY_SLOT[Command.WRA] == Command.WR
    header = c_header()
    for name, value in entries.items():
        assert f'{{"{name}", {value}}},' in header


@needs_kernel
def test_a_kernel_built_from_another_layout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    swapped = {**layout_entries(), "B_DONE": 5, "B_ENQUEUED": 4}  # two equal-length buffers
    monkeypatch.setattr(kernel, "layout_entries", lambda: swapped)
    assert kernel.layout_problems() == ["B_DONE: compiled 4, declared 5",
                                        "B_ENQUEUED: compiled 5, declared 4"]  # fmt: skip
    moved = {**layout_entries(), "S_NOW": 1, "S_WRITE_MODE": 0}  # two fields swapped
    monkeypatch.setattr(kernel, "layout_entries", lambda: moved)
    assert kernel.layout_problems() == ["S_NOW: compiled 0, declared 1",
                                        "S_WRITE_MODE: compiled 1, declared 0"]  # fmt: skip
    with pytest.raises(RuntimeError, match="rebuild"):
        CompiledLoop(_controller())


def test_the_kernel_config_names_every_field_once() -> None:
    ctrl = _controller()
    config = kernel_config(ctrl)
    assert list(config) == list(CONFIG_FIELDS)
    assert config["read_command"] == Command.RDA and config["write_command"] == Command.WRA
    assert config["refresh_interval"] == ctrl.timing.nREFIpb
    assert config["refresh_ck"] == ctrl.timing.nRFCpb


@needs_kernel
def test_the_compiled_loop_round_trips_the_named_state() -> None:
    # Every named scalar goes into the kernel and comes back to its owner unchanged when
    # there is nothing to serve.
    ctrl = _controller()
    ctrl.now, ctrl.write_drains, ctrl.dev.active_cycles = 1234, 5, 77
    empty = np.zeros(0, dtype=np.int64)
    CompiledLoop(ctrl).run(empty, empty, empty, empty)
    assert (ctrl.now, ctrl.write_drains, ctrl.dev.active_cycles) == (1234, 5, 77)
