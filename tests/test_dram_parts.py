"""A trace served in parts decides exactly as one run over all of it (npusim/dram/carry.py,
trace_parts.py), under every controller loop, and its memory stays bounded by the part size.

The reference is the same system with parts larger than the trace: one run, no pause. Parts
as small as one burst put a pause at every decision point the carry has to survive: queued
requests in both queues, active slots (released at ACT or not), a pending ACT-2, a refresh
due or pending, power-down and self-refresh, write drains, requests split across parts.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
from dram_loops import each_dram_loop, idle_gap_trace
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.dram import DramParams, DramSystem
from npusim.dram.carry import Part
from npusim.dram.controller import ChannelController
from npusim.dram.kernel import KERNEL_AVAILABLE
from npusim.dram.trace_parts import PART_BURSTS
from npusim.trace import Trace

WHOLE = 1 << 40  # parts larger than any trace here: one run


def _served(params: DramParams, trace: Trace, part_bursts: int) -> tuple[object, ...]:
    system = DramSystem(params, log_commands=True)
    system.part_bursts = part_bursts
    done = system.run_trace(trace)
    stats = system.stats()
    energy = system.energy_until(stats.total.elapsed_cycles + 5000)
    return done.tolist(), stats, system.command_logs, energy


def _mixed(n: int, seed: int, *, sizes: bool = False, timed: bool = False) -> Trace:
    """Random reads and writes (one in three) over 16 MiB, so rows hit, miss and conflict."""
    rng = np.random.default_rng(seed)
    size = rng.choice([0, 32, 64, 100, 300], n) if sizes else np.zeros(n, np.int64)
    arrival = np.cumsum(rng.choice([0, 1, 9, 400], n)) if timed else None
    return Trace(
        addr=rng.integers(0, 1 << 19, n).astype(np.uint64) * 32,
        is_write=rng.random(n) < 1 / 3,
        size_bytes=size.astype(np.int64),
        arrival_cycle=arrival,
    )


CASES = {
    "untimed mix, 2 channels": (DramParams(channels=2), _mixed(600, 1)),
    "sizes split across parts, closed page, frfcfs": (
        DramParams(page_policy="closed", scheduler="frfcfs", queue_release="column"),
        _mixed(300, 2, sizes=True),
    ),
    "timed, per-bank refresh, small queues": (
        DramParams(refresh="per-bank", read_queue_depth=4, write_queue_depth=3, channels=2),
        _mixed(500, 3, timed=True),
    ),
    "idle gaps, power-down and self-refresh": (
        DramParams(power_down_after_s=50e-9, self_refresh_after_s=2e-6),
        idle_gap_trace(400, seed=4),
    ),
    "sequential stream, fcfs": (
        DramParams(scheduler="fcfs", wck_sync="always-on"),
        Trace(
            np.arange(700, dtype=np.uint64) * 32,
            np.zeros(700, bool),
            np.zeros(700, np.int64),
            None,
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("part_bursts", [1, 2, 7, 64])
def test_parts_decide_as_one_run(dram_loop: str, case: str, part_bursts: int) -> None:
    params, trace = CASES[case]
    assert _served(params, trace, part_bursts) == _served(params, trace, WHOLE)


def test_a_request_larger_than_a_part() -> None:
    # One 64 KiB write and one 48 KiB read (2048 and 1536 bursts) in parts of 100 bursts:
    # each completes when its last burst does, and the reads wait behind the writes' drain
    # exactly as in one run.
    trace = Trace(
        np.array([0, 1 << 20], np.uint64),
        np.array([True, False]),
        np.array([64 << 10, 48 << 10], np.int64),
        None,
    )
    parts = each_dram_loop(lambda: _served(DramParams(channels=2), trace, 100))
    whole = _served(DramParams(channels=2), trace, WHOLE)
    assert all(result == whole for result in parts.values())
    assert whole[1].total.read_bursts == 1536 and whole[1].total.write_bursts == 2048


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("part_bursts", [3, WHOLE])
def test_parts_serve_the_bursts_the_engine_path_serves(
    dram_loop: str, channels: int, part_bursts: int
) -> None:
    # An independent route to the same requests: DramSystem.serve splits them into bursts
    # with its own expansion and runs each channel once (all arriving at cycle 0, as an
    # untimed trace does), so completions and commands must be equal.
    trace = _mixed(150, 5, sizes=True)
    params = DramParams(channels=channels)
    parts = DramSystem(params, log_commands=True)
    parts.part_bursts = part_bursts
    done = parts.run_trace(trace)
    served = DramSystem(params, log_commands=True)
    expected = served.serve(trace.addr, trace.is_write, 0, trace.size_bytes)
    assert done.dtype == np.int64 and done.tolist() == expected.tolist()
    assert parts.command_logs == served.command_logs
    assert parts.stats().total.read_bursts > 150 // 2  # the sizes spread over several bursts


@pytest.mark.parametrize("channels", [1, 2])
def test_timed_latency_counts_from_the_arrival_across_parts(dram_loop: str, channels: int) -> None:
    # Forty reads arriving at cycles 0, 1, ..., 39 behind a one-deep read queue: most wait in
    # the front end, so their latency from arrival (what a timed trace reports) exceeds the
    # latency from entering the queue. Worked from the returned completions. 28,704 B apart
    # (897 bursts: odd), they alternate channels when there are two.
    n = 40
    trace = Trace(
        np.arange(n, dtype=np.uint64) * 28_704,
        np.zeros(n, bool),
        np.zeros(n, np.int64),
        np.arange(n, dtype=np.int64),
    )
    system = DramSystem(DramParams(read_queue_depth=1, channels=channels))
    system.part_bursts = 2  # (one run: test_dram_mutants_config.py)
    done = system.run_trace(trace)
    stats = system.stats().total
    latency_ck = done - np.arange(n)
    assert all(channel.read_bursts == n // channels for channel in system.stats().channels)
    assert stats.read_latency_max_ns == pytest.approx(latency_ck.max() * system.tck_ns)
    assert stats.read_latency_mean_ns == pytest.approx(latency_ck.mean() * system.tck_ns)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 120),
    part_bursts=st.integers(1, 40),
    depth=st.integers(1, 6),
    scheduler=st.sampled_from(["fcfs", "frfcfs", "frfcfs-rowhit"]),
    release=st.sampled_from(["activation", "column"]),
    refresh=st.sampled_from(["off", "all-bank", "per-bank"]),
    channels=st.sampled_from([1, 2]),
    sizes=st.booleans(),
    timed=st.booleans(),
)
def test_any_part_size_decides_as_one_run(
    seed: int,
    n: int,
    part_bursts: int,
    depth: int,
    scheduler: str,
    release: str,
    refresh: str,
    channels: int,
    sizes: bool,
    timed: bool,
) -> None:
    params = DramParams(
        channels=channels,
        scheduler=scheduler,
        queue_release=release,
        refresh=refresh,
        read_queue_depth=depth,
        write_queue_depth=depth,
        timing={"nREFI": 300} if refresh == "all-bank" else {},
    )
    trace = _mixed(n, seed, sizes=sizes, timed=timed)
    whole = _served(params, trace, WHOLE)
    for name, result in each_dram_loop(lambda: _served(params, trace, part_bursts)).items():
        assert result == whole, name


def _peak_bytes(part_bursts: int | None, request_bytes: int) -> int:
    # One read of request_bytes: request_bytes / 32 bursts.
    trace = Trace(
        np.zeros(1, np.uint64), np.zeros(1, bool), np.array([request_bytes], np.int64), None
    )
    system = DramSystem(DramParams())
    system.part_bursts = part_bursts
    tracemalloc.start()
    try:
        done = system.run_trace(trace)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert system.stats().total.read_bursts == request_bytes // 32 and done.shape == (1,)
    return peak


@pytest.mark.skipif(not KERNEL_AVAILABLE, reason="the compiled loop keeps this test fast")
def test_memory_is_bounded_by_the_part(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChannelController, "use_kernel", True)
    # 262,144 bursts. Parts of 4,096 hold a few hundred kB of arrays; one run holds every
    # burst's (at least 8 arrays of 8 B: 16 MB).
    assert _peak_bytes(4096, 8 << 20) < 2_000_000
    assert _peak_bytes(WHOLE, 8 << 20) > 16_000_000


def test_the_python_loop_is_bounded_by_its_part_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChannelController, "use_kernel", False)
    # 32,768 bursts: one run keeps seven Python lists of them, whose slots alone take
    # 7 x 8 B x 32,768 = 1.8 MB; parts of 1,024 bursts keep a thirty-second of that.
    slots = 7 * 8 * 32_768
    assert _peak_bytes(1024, 1 << 20) < slots / 4
    assert _peak_bytes(WHOLE, 1 << 20) > slots


def test_the_default_part_is_smaller_for_the_python_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ChannelController, "use_kernel", False)
    assert DramSystem(DramParams())._part_bursts() == PART_BURSTS // 8
    if KERNEL_AVAILABLE:
        monkeypatch.setattr(ChannelController, "use_kernel", True)
        assert DramSystem(DramParams())._part_bursts() == PART_BURSTS


@pytest.mark.skipif(not KERNEL_AVAILABLE, reason="checks the compiled loop's own guard")
def test_the_compiled_loop_refuses_carried_state_it_cannot_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ChannelController, "use_kernel", True)
    system = DramSystem(DramParams())
    controller = system.controllers[0]
    bank, row = np.array([3, 5], np.int64), np.zeros(2, np.int64)
    reads, arrival = np.zeros(2, bool), np.zeros(2, np.int64)
    queued = Part(2, 2, np.zeros(2, np.int64), np.zeros(2, np.int64))
    controller.pinned[4] = 0  # an active slot holding a request of bank 3
    with pytest.raises(ValueError, match="state out of range"):
        controller._serve(bank, row, reads, arrival, queued)
    controller.pinned[4] = -1
    with pytest.raises(ValueError, match="state out of range"):  # queued beyond the part
        controller._serve(bank, row, reads, arrival, replace(queued, queued=3, stop=3))
    controller.pinned[5] = 1  # bank 5's request: in a queue of one, so it heads it
    bank[0] = 5  # now behind another request of bank 5
    with pytest.raises(ValueError, match="an active slot not heading its queue"):
        controller._serve(bank, row, reads, arrival, queued)
