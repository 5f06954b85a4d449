"""DRAM configuration, timing resolution, refresh, controller and system behaviour that the
other DRAM tests left unpinned, found by mutation testing (issue 18).

Covers the mutmut survivors of ``npusim/dram/`` ``timing.py``, ``params.py``,
``standard.py``, ``refresh.py``, ``controller.py``, ``system.py``, ``kernel.py`` and
``layout.py``. Expected values are worked by hand in each test from the JEDEC figures restated
there (JESD209-5B via reference lpddr5.md, the rounding rule Ramulator 2 and JEDEC use), or
from the contract in the code's docstrings, never copied from the model's output. Tests that
drive a controller run under every loop (the ``dram_loop`` fixture, tests/conftest.py).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from npusim.dram import DramParams, DramSystem
from npusim.dram import kernel as kernel_module
from npusim.dram import standard as standard_module
from npusim.dram.controller import ChannelController
from npusim.dram.device import READY_SLOT, Command
from npusim.dram.kernel import KERNEL_AVAILABLE, CompiledLoop, update_table
from npusim.dram.layout import (
    BUFFERS,
    KERNEL_REFRESH_POLICIES,
    KERNEL_SCHEDULERS,
    c_header,
    layout_entries,
)
from npusim.dram.params import (
    PagePolicy,
    RefreshMode,
    Scheduler,
    check_params,
)
from npusim.dram.standard import peak_bus_bandwidth_bytes_per_s, resolve_timing
from npusim.dram.timing import ck_from_ns
from npusim.errors import TraceError
from npusim.trace import Trace

needs_kernel = pytest.mark.skipif(not KERNEL_AVAILABLE, reason="the compiled loop was not built")

# LPDDR5-6400 (reference lpddr5.md): CK 1.25 ns; nCL 17, nBL 2 (BL16) in CK
TCK_NS = 1.25
N_CL, N_BL = 17, 2


def _controller(**overrides: object) -> ChannelController:
    """An LPDDR5-6400 BG-mode channel controller with the scenario defaults."""
    settings: dict[str, object] = {
        "banks": 16,
        "bank_groups": 4,
        "scheduler": Scheduler.FRFCFS_ROWHIT,
        "page_policy": PagePolicy.OPEN,
        "refresh": RefreshMode.ALL_BANK,
        "read_queue_depth": 32,
        "write_queue_depth": 32,
        "write_high_watermark": 0.8,
        "write_low_watermark": 0.2,
    }
    settings.update(overrides)
    timing = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16)
    return ChannelController(timing, **settings)  # type: ignore[arg-type]


# --- timing.py: JEDEC rounding -------------------------------------------------------------


def test_rounding_guard_band_is_974_thousandths() -> None:
    # JEDEC / Ramulator 2 JEDEC_rounding: nCK = floor((t_ps * 1000 / tCK_ps + 974) / 1000), so
    # a time up to 2.6 % over a whole number of cycles still rounds down: at tCK 1000 ps,
    # 1.025 ns = 1.025 CK is 1 CK; 1.026 ns crosses the guard band and is 2 CK.
    assert ck_from_ns(1.025, 1000) == 1
    assert ck_from_ns(1.026, 1000) == 2
    assert ck_from_ns(2.0, 1000) == 2


# --- controller.py -------------------------------------------------------------------------


def test_a_controller_logs_no_commands_unless_asked() -> None:
    # the command log costs memory and time and turns off idle-refresh skipping: off by default
    assert _controller().dev.log is None
    assert _controller(log=True).dev.log == []


def test_one_write_fills_a_one_entry_write_queue_to_its_high_watermark(dram_loop: str) -> None:
    # write_queue_depth 1, high watermark 0.8: ceil(0.8 x 1) = 1 entry, so the one queued write
    # has reached the watermark and is served first although eight reads (to another bank)
    # wait; were the watermark 2 entries, out of reach, it would wait for every read.
    params = DramParams(write_queue_depth=1)
    system = DramSystem(params)
    bank_stride = 2048 * 16  # RoBaCoBgCh, 1 channel: one row of every bank per 32 KiB
    addr = np.array([0] + [bank_stride + 64 * k for k in range(8)], dtype=np.int64)
    writes = np.array([True] + [False] * 8)
    done = system.serve(addr, writes, 0)
    assert done[0] < done[1:].min()
    # and the channel switched to write mode once
    assert system.controllers[0].write_drains == 1


def test_write_drains_count_switches_to_write_mode(dram_loop: str) -> None:
    reads = DramSystem()
    reads.serve(np.arange(8, dtype=np.int64) * 32, False, 0)
    assert reads.controllers[0].write_drains == 0  # no write: never in write mode
    writes = DramSystem()
    writes.serve(np.arange(8, dtype=np.int64) * 32, True, 0)
    # no read queued: write mode at once, every write served in it
    assert writes.controllers[0].write_drains == 1


def test_an_empty_trace_completes_as_an_empty_int64_array(dram_loop: str) -> None:
    system = DramSystem()
    empty = Trace(
        addr=np.zeros(0, dtype=np.uint64),
        is_write=np.zeros(0, dtype=bool),
        size_bytes=np.zeros(0, dtype=np.int64),
        arrival_cycle=None,
    )
    done = system.run_trace(empty)
    assert done.shape == (0,)
    assert done.dtype == np.int64


@pytest.mark.parametrize("channels", [1, 2])
def test_timed_read_latency_counts_from_arrival_not_from_the_queue(
    dram_loop: str, channels: int
) -> None:
    # A timed trace's latency runs from each request's arrival cycle (run_trace's contract).
    # With a one-entry read queue, four reads arriving at cycle 0 enter the queue one after
    # another (two per channel with two), so counting from the queue entry would shorten the
    # later ones.
    params = DramParams(read_queue_depth=1, refresh="off", channels=channels)
    system = DramSystem(params)
    trace = Trace(
        addr=np.arange(4, dtype=np.uint64) * 32,
        is_write=np.zeros(4, dtype=bool),
        size_bytes=np.zeros(4, dtype=np.int64),
        arrival_cycle=np.zeros(4, dtype=np.int64),
    )
    done = system.run_trace(trace)
    stats = system.stats().total
    # arrival 0: each read's latency is its completion cycle, in ns
    assert stats.read_latency_max_ns == pytest.approx(float(done.max()) * TCK_NS)
    assert stats.read_latency_mean_ns == pytest.approx(float(done.mean()) * TCK_NS)
    assert done.min() >= N_CL + N_BL


@pytest.mark.parametrize("scheduler", KERNEL_SCHEDULERS)
@pytest.mark.parametrize("refresh", KERNEL_REFRESH_POLICIES)
def test_the_compiled_loop_serves_the_policies_it_implements(
    dram_loop: str, scheduler: str, refresh: str
) -> None:
    # The dram_loop fixture's "compiled" runs only test the C loop if the controller really
    # hands its bursts to it: every scheduler and refresh policy layout.py says the kernel
    # implements must run there (and the Python runs must not).
    system = DramSystem(DramParams(scheduler=scheduler, refresh=refresh))
    system.serve(np.arange(4, dtype=np.int64) * 32, False, 0)
    ctrl = system.controllers[0]
    assert ctrl.kernel_runs_it
    assert (ctrl._compiled is not None) == (dram_loop == "compiled")


# --- params.py: the messages of check_params -----------------------------------------------

_VALID = {  # the registries' names in their declared order (params.py, standard.py)
    "preset": "LPDDR5_6400, LPDDR5_4267, LPDDR5_3200, LPDDR5X_7500, LPDDR5X_8533, "
    "LPDDR5X_9600, LPDDR6_10667",
    "density": "8Gb, 16Gb",
    "bank_arch": "BG, 16B, 8B",
    "scheduler": "frfcfs, frfcfs-rowhit, fcfs",
    "page_policy": "open, closed",
    "refresh": "all-bank, per-bank, off",
    "queue_release": "activation, column",
    "wck_sync": "need-sync, always-on",
    "io_energy": "flat, data",
}


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("preset", "preset"),
        ("density", "density"),
        ("bank_arch", "bank architecture"),
        ("scheduler", "scheduler"),
        ("page_policy", "page policy"),
        ("refresh", "refresh mode"),
        ("queue_release", "queue release"),
        ("wck_sync", "WCK sync mode"),
        ("io_energy", "I/O energy mode"),
    ],
)
def test_an_unknown_name_lists_the_valid_ones(key: str, kind: str) -> None:
    # nothing close to "qqq": no "did you mean" hint
    problems = check_params(DramParams(**{key: "qqq"}))  # type: ignore[arg-type]
    assert (key, f"unknown {kind} 'qqq'; valid: {_VALID[key]}") in problems


def test_an_unknown_name_suggests_the_closest_one() -> None:
    problems = check_params(DramParams(page_policy="opne"))
    assert problems == [
        (
            "page_policy",
            f"unknown page policy 'opne'; valid: {_VALID['page_policy']}; did you mean 'open'?",
        )
    ]


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            DramParams(read_queue_depth=8.5),
            ("read_queue_depth", "expected an integer in [1, 4096], found 8.5"),
        ),
        (
            DramParams(write_queue_depth=True),
            ("write_queue_depth", "expected an integer in [1, 4096], found True"),
        ),
        (DramParams(channels=2.0), ("channels", "expected an integer in [1, 64], found 2.0")),  # type: ignore[arg-type]
        (
            DramParams(timing={"nRCD": 15.0}),
            ("timing.nRCD", "expected a positive CK count of at most 2147483647, found 15.0"),
        ),
    ],
)
def test_counts_must_be_integers_not_floats_or_booleans(
    params: DramParams, problem: tuple[str, str]
) -> None:
    assert problem in check_params(params)


def test_a_mapping_is_checked_as_a_string_when_its_fields_cannot_be() -> None:
    # without a valid bank architecture (its bank groups) the mapping's fields cannot be
    # checked; only a mapping that is not even a string is a problem then
    unknown_arch = ("bank_arch", f"unknown bank architecture 'qqq'; valid: {_VALID['bank_arch']}")
    assert check_params(DramParams(bank_arch="qqq")) == [unknown_arch]
    assert check_params(DramParams(bank_arch="qqq", mapping=5)) == [  # type: ignore[arg-type]
        unknown_arch,
        ("mapping", "expected a string over Ro Bg Ba Ra Co Ch"),
    ]


@pytest.mark.parametrize(
    "params",
    [
        DramParams(channels=64),  # MAX_CHANNELS, a power of two
        DramParams(channels=1),
        DramParams(read_queue_depth=4096, write_queue_depth=4096),  # MAX_QUEUE_DEPTH
        DramParams(write_high_watermark=1.0, write_low_watermark=0.0),
        DramParams(write_high_watermark=1, write_low_watermark=0),
        DramParams(power_down_after_s=1.0, self_refresh_after_s=1.0),  # the 1 s bound
        DramParams(power_down_after_s=1e-9),
    ],
)
def test_the_bounds_themselves_are_valid(params: DramParams) -> None:
    assert check_params(params) == []


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (DramParams(channels=128), ("channels", "expected an integer in [1, 64], found 128")),
        (DramParams(channels=0), ("channels", "expected an integer in [1, 64], found 0")),
        (
            DramParams(read_queue_depth=4097),
            ("read_queue_depth", "expected an integer in [1, 4096], found 4097"),
        ),
        (
            DramParams(write_high_watermark=0),
            ("write_high_watermark", "expected a fraction in (0, 1], found 0"),
        ),
        (
            DramParams(write_high_watermark=1.5),
            ("write_high_watermark", "expected a fraction in (0, 1], found 1.5"),
        ),
        (
            DramParams(write_high_watermark="0.8"),
            ("write_high_watermark", "expected a fraction in (0, 1], found '0.8'"),
        ),
        (
            DramParams(write_low_watermark=1.0),
            ("write_low_watermark", "expected a fraction in [0, 1), found 1.0"),
        ),
        (
            DramParams(write_low_watermark=-0.1),
            ("write_low_watermark", "expected a fraction in [0, 1), found -0.1"),
        ),
        (
            DramParams(write_low_watermark="0.2"),
            ("write_low_watermark", "expected a fraction in [0, 1), found '0.2'"),
        ),
        (
            DramParams(write_high_watermark=0.5, write_low_watermark=0.5),
            ("write_low_watermark", "expected below write_high_watermark 0.5, found 0.5"),
        ),
        (
            DramParams(power_down_after_s=0),
            ("power_down_after", "expected null or a time in (0, 1 s], found 0"),
        ),
        (
            DramParams(power_down_after_s=1.5),
            ("power_down_after", "expected null or a time in (0, 1 s], found 1.5"),
        ),
        (
            DramParams(self_refresh_after_s=True),
            ("self_refresh_after", "expected null or a time in (0, 1 s], found True"),
        ),
        (
            DramParams(self_refresh_after_s="1ms"),
            ("self_refresh_after", "expected null or a time in (0, 1 s], found '1ms'"),
        ),
        (DramParams(bank_hash="yes"), ("bank_hash", "expected true or false, found 'yes'")),
        (DramParams(bank_hash=1), ("bank_hash", "expected true or false, found 1")),
    ],
)
def test_out_of_range_settings_name_the_key_and_the_range(
    params: DramParams, problem: tuple[str, str]
) -> None:
    assert problem in check_params(params)


@pytest.mark.parametrize(
    ("params", "problems"),
    [
        (  # LPDDR6 has only bank groups (JESD209-6 as Ramulator 2.1 carries it)
            DramParams(preset="LPDDR6_10667", bank_arch="16B", burst_length=24),
            [("bank_arch", "expected one of BG for LPDDR6 (preset LPDDR6_10667), found 16B")],
        ),
        (  # 16B mode only up to 3200 MT/s (JESD209-5B)
            DramParams(bank_arch="16B"),
            [
                (
                    "bank_arch",
                    "16B mode runs up to 3200 MT/s, found preset LPDDR5_6400 at 6400 MT/s; "
                    "use BG or 8B",
                )
            ],
        ),
        (
            DramParams(burst_length=24),
            [
                (
                    "burst_length",
                    "expected one of 16, 32 for bank_arch BG of LPDDR5 (preset LPDDR5_6400), "
                    "found 24",
                )
            ],
        ),
        (  # LPDDR6: REFab only (no REFdb timing in Ramulator 2.1)
            DramParams(preset="LPDDR6_10667", burst_length=24, refresh="per-bank"),
            [
                (
                    "refresh",
                    "expected one of all-bank, off for LPDDR6 (preset LPDDR6_10667), "
                    "found per-bank",
                )
            ],
        ),
        (  # io_bits models x16; an LPDDR6 sub-channel is x12
            DramParams(preset="LPDDR6_10667", burst_length=24, io_energy="data"),
            [
                (
                    "io_energy",
                    "expected flat for LPDDR6 (preset LPDDR6_10667): data-driven I/O energy "
                    "models 16 DQ lines, LPDDR6 has 12",
                )
            ],
        ),
    ],
)
def test_what_the_standard_does_not_offer_is_named(
    params: DramParams, problems: list[tuple[str, str]]
) -> None:
    assert check_params(params) == problems


# LPDDR5-6400 8 Gb (reference lpddr5.md): nRAS 34, nRP 15, nRC 49; nRFCpb = 120 ns / 1.25 ns


@pytest.mark.parametrize(
    ("timing", "problems"),
    [
        ({"nRC": 49}, []),  # nRC = nRAS + nRP = 34 + 15: ">=" holds at equality
        ({"nRC": 48}, [("timing.nRC", "expected nRC >= nRAS + nRP, found 48 vs 49")]),
        # nRP 40 breaks nRC >= nRAS + nRP (49 vs 74) and nRPab >= nRP (17 vs 40); the
        # override is blamed once, for the first relation
        ({"nRP": 40}, [("timing.nRP", "expected nRC >= nRAS + nRP, found 49 vs 74")]),
        ({"nREFIpb": 97}, []),  # nRFCpb = 96
        ({"nREFIpb": 96}, [("timing.nREFIpb", "expected nREFIpb > nRFCpb, found 96 vs 96")]),
        # a relation blames the override among its names, not its first name
        ({"nRRD": 20}, [("timing.nRRD", "expected nFAW >= nRRD, found 16 vs 20")]),
        ({"nREFI": 2**31 - 1}, []),  # MAX_TIMING_CK
        (
            {"nREFI": 2**31},
            [
                (
                    "timing.nREFI",
                    "expected a positive CK count of at most 2147483647, found 2147483648",
                )
            ],
        ),
        (
            [("nRC", 49)],
            [("timing", "expected a mapping of timing names to CK counts, found [('nRC', 49)]")],
        ),
    ],
)
def test_timing_overrides_must_keep_the_physics(
    timing: object, problems: list[tuple[str, str]]
) -> None:
    assert check_params(DramParams(timing=timing)) == problems  # type: ignore[arg-type]


def test_the_physics_is_checked_on_the_timing_of_the_burst_length() -> None:
    # BL32 doubles BL/n_min to 4 CK (reference lpddr5.md): nCCD_S 3 would overlap bursts,
    # while with BL16 (nBL 2) it would be legal
    assert check_params(DramParams(burst_length=32, timing={"nCCD_S": 3})) == [
        ("timing.nCCD_S", "expected nCCD_S >= nBL, found 3 vs 4")
    ]
    assert check_params(DramParams(timing={"nCCD_S": 3})) == []


@pytest.mark.parametrize(
    ("section", "name", "kind"),
    [("timing", "nRCDD", "timing parameter"), ("energy", "act_pj", "energy term")],
)
def test_an_unknown_override_names_its_kind(section: str, name: str, kind: str) -> None:
    [(path, message)] = check_params(DramParams(**{section: {name: 1}}))  # type: ignore[arg-type]
    assert path == f"{section}.{name}"
    assert message.startswith(f"unknown {kind} {name!r}; valid: ")


@pytest.mark.parametrize(
    ("energy", "problems"),
    [
        ({"act_pre_pj": 0}, []),
        ({"act_pre_pj": 900}, []),
        (
            {"act_pre_pj": -1.0},
            [("energy.act_pre_pj", "expected a finite number >= 0, found -1.0")],
        ),
        (
            {"act_pre_pj": float("inf")},
            [("energy.act_pre_pj", "expected a finite number >= 0, found inf")],
        ),
        (
            {"act_pre_pj": True},
            [("energy.act_pre_pj", "expected a finite number >= 0, found True")],
        ),
        ({"act_pre_pj": "1"}, [("energy.act_pre_pj", "expected a finite number >= 0, found '1'")]),
        (
            [("act_pre_pj", 1.0)],
            [
                (
                    "energy",
                    "expected a mapping of energy terms to numbers, found [('act_pre_pj', 1.0)]",
                )
            ],
        ),
    ],
)
def test_energy_overrides_are_finite_non_negative_numbers(
    energy: object, problems: list[tuple[str, str]]
) -> None:
    assert check_params(DramParams(energy=energy)) == problems  # type: ignore[arg-type]


# --- standard.py ---------------------------------------------------------------------------


def test_lpddr6_ck_counts_become_two_ck_command_slots_rounded_up() -> None:
    # a constraint of n CK between commands on even CK is ceil(n / 2) slots (module docstring)
    slots = standard_module._slots({"nRP": 107, "nBL": 6, "nCAS": 1})
    assert dict(slots) == {"nRP": 54, "nBL": 3, "nCAS": 1}
    assert all(type(v) is int for v in slots.values())
    with pytest.raises(TypeError):
        slots["nRP"] = 0  # type: ignore[index]  # a read-only table
    table = standard_module._ck(nBL=2, nCL=17)
    assert dict(table) == {"nBL": 2, "nCL": 17}
    with pytest.raises(TypeError):
        table["nBL"] = 4  # type: ignore[index]


def test_peak_bus_bandwidth_scales_with_the_channels() -> None:
    # data rate x DQ lines / 8 per channel: LPDDR5-6400 x16: 6400e6 x 2 B = 12.8e9 B/s;
    # LPDDR6-10667 x12 sub-channel: 10667e6 x 1.5 B = 16.0005e9 B/s (metadata included)
    assert peak_bus_bandwidth_bytes_per_s("LPDDR5_6400", 4) == pytest.approx(4 * 12.8e9)
    assert peak_bus_bandwidth_bytes_per_s("LPDDR6_10667", 2) == pytest.approx(2 * 16.0005e9)
    assert peak_bus_bandwidth_bytes_per_s("LPDDR6_10667") == pytest.approx(16.0005e9)


def test_bl32_doubles_the_long_burst_and_adds_it_to_read_to_precharge() -> None:
    # LPDDR5-6400 BG mode (reference lpddr5.md, JESD209-5B): BL16 has BL/n_min = 2 CK and
    # BL/n_max = 4 CK; BL32 doubles both (4 and 8 CK). tRTP = BL/n_max + tRBTP, tRBTP =
    # max(7.5 ns, 2 nCK) - 2 nCK = 6 - 2 = 4 CK: 8 CK for BL16 (the table's nRTP), 12 for BL32.
    bl16 = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16)
    bl32 = resolve_timing("LPDDR5_6400", "8Gb", "BG", 32)
    assert (bl16.nBL, bl16.nBL_L, bl16.nRTP) == (2, 4, 8)
    assert (bl32.nBL, bl32.nBL_L, bl32.nRTP) == (4, 8, 12)
    # WR -> RD in the same bank group: nCWL 9 + BL/n_max 8 + nWTR_L 10
    assert bl32.wr_to_rd_l == 9 + 8 + 10


# --- layout.py: the generated C header -----------------------------------------------------


def _compiler() -> str:
    found = shutil.which("cc") or shutil.which("gcc")
    if found is None:
        pytest.skip("no C compiler")
    return found


def test_the_generated_header_compiles_to_the_declared_layout(tmp_path: Path) -> None:
    # setup.py writes c_header() to _kernel_layout.h and compiles _kernel.c with it: compile a
    # probe that includes it twice (the include guard) and prints every macro, the LAYOUT
    # table, READY_SLOT and the buffer tables, and compare with the Python declarations.
    entries = layout_entries()
    macros = [name for name in entries if not name.startswith("READY_SLOT_")]
    prints = "\n".join(f'    printf("M {name} %lld\\n", (long long)({name}));' for name in macros)
    probe = f"""#include <stdio.h>
#include "_kernel_layout.h"
#include "_kernel_layout.h"
int main(void) {{
{prints}
    for (size_t i = 0; i < sizeof LAYOUT / sizeof LAYOUT[0]; i++)
        printf("L %s %lld\\n", LAYOUT[i].name, LAYOUT[i].value);
    for (int c = 0; c < NCMD; c++) printf("R %d %d\\n", c, READY_SLOT[c]);
    for (int b = 0; b < NBUF; b++) printf("B %s %d\\n", BUFFER_NAMES[b], BUFFER_WRITABLE[b]);
    return 0;
}}
"""
    (tmp_path / "_kernel_layout.h").write_text(c_header())
    (tmp_path / "probe.c").write_text(probe)
    exe = tmp_path / "probe"
    build = subprocess.run(
        [_compiler(), "-std=c99", "-Werror", "-o", str(exe), str(tmp_path / "probe.c")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    lines = subprocess.run(
        [str(exe)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    expected = [f"M {name} {entries[name]}" for name in macros]
    expected += [f"L {name} {value}" for name, value in entries.items()]
    expected += [f"R {int(c)} {READY_SLOT[c]}" for c in Command]
    expected += [f"B {name} {int(written)}" for name, written in BUFFERS]
    assert lines == expected
    assert c_header().endswith("#endif\n")


# --- kernel.py: the glue to the compiled loop ----------------------------------------------


@needs_kernel
def test_a_name_only_one_side_has_is_a_layout_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = {**layout_entries(), "C_NEW_FIELD": 99}  # declared, not compiled
    monkeypatch.setattr(kernel_module, "layout_entries", lambda: extra)
    assert kernel_module.layout_problems() == ["C_NEW_FIELD: compiled None, declared 99"]


@needs_kernel
def test_a_stale_kernel_is_refused_naming_three_differences(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shifted = {**layout_entries(), "C_BANKS": 90, "C_LOG": 91, "C_NAAD": 92, "C_NCAS": 93}
    monkeypatch.setattr(kernel_module, "layout_entries", lambda: shifted)
    entries = layout_entries()
    first_three = "; ".join(
        f"{name}: compiled {entries[name]}, declared {shifted[name]}"
        for name in ("C_BANKS", "C_LOG", "C_NAAD")  # sorted; C_NCAS is the fourth
    )
    message = (
        f"the compiled DRAM loop was built from another npusim/dram/layout.py ({first_three}); "
        "rebuild: python setup.py build_ext --inplace"
    )
    with pytest.raises(RuntimeError) as raised:
        CompiledLoop(_controller())
    assert str(raised.value) == message


class _StubDevice:
    """Just the update lists ``update_table`` reads: one ACT entry list of ``n`` updates."""

    def __init__(self, n: int) -> None:
        act = [(slot, 10 + slot) for slot in range(n)]
        per_command = [act if cmd == Command.ACT else [] for cmd in Command]
        self.update_slots = (per_command, [[] for _ in Command], [[] for _ in Command])


def test_the_update_table_holds_max_updates_entries_and_refuses_more() -> None:
    # layout.MAX_UPDATES = 8 entries per (scope, command); -1 ends a shorter list
    table = update_table(_StubDevice(8))  # type: ignore[arg-type]
    assert table.dtype == np.int64 and table.shape == (3, len(Command), 8, 2)
    assert table[0, Command.ACT].tolist() == [[k, 10 + k] for k in range(8)]
    assert (table[0, Command.RD] == -1).all() and (table[1:] == -1).all()
    with pytest.raises(ValueError) as raised:
        update_table(_StubDevice(9))  # type: ignore[arg-type]
    assert str(raised.value) == "command ACT: more than 8 timing updates"


def test_write_mode_carries_over_to_the_next_run(dram_loop: str) -> None:
    # Writes and no read ever: the channel switches to write mode once and stays there, also
    # when the writes come in two runs (the second batch arrives at cycle 0 too, so it is
    # already waiting when the second run starts: the channel keeps the mode it ended in).
    system = DramSystem()
    system.serve(np.arange(8, dtype=np.int64) * 32, True, 0)
    assert system.controllers[0].write_mode
    system.serve(np.arange(8, 16, dtype=np.int64) * 32, True, 0)
    assert system.controllers[0].write_drains == 1


# --- system.py -----------------------------------------------------------------------------

CAPACITY_8GB = 2**30  # one x16 8 Gb die per channel: 0x40000000 bytes


@pytest.mark.parametrize(
    ("addr", "size", "message"),
    [
        (CAPACITY_8GB, 32, "request 0 at address 0x40000000 (+32 B)"),
        (CAPACITY_8GB - 32, 64, "request 0 at address 0x3fffffe0 (+64 B)"),
    ],
)
def test_whole_aligned_bursts_beyond_the_capacity_are_refused(
    addr: int, size: int, message: str
) -> None:
    system = DramSystem()
    with pytest.raises(TraceError) as raised:
        system.submit(np.array([addr], dtype=np.int64), False, 0, size)
    assert str(raised.value) == (f"{message} is beyond the capacity of 0x40000000 bytes (1 x 8Gb)")
    # the last whole burst inside the capacity is fine
    assert system.submit(np.array([CAPACITY_8GB - 32]), False, 0, 32).bus_bytes == 32


@pytest.mark.parametrize(
    ("addr", "size", "bus_bytes", "requested"),
    [
        (33, 32, 64, 32),  # bytes 33..64 straddle the burst boundary at 64: two bursts
        (0, 48, 64, 48),  # bytes 0..47: one whole burst and part of the next
        (0, 1, 32, 1),  # one byte takes a whole burst on the bus and counts as 1 B asked
        (40, 0, 32, 32),  # no size: the burst holding the address, 32 B asked
        (64, 64, 64, 64),  # aligned whole bursts
    ],
)
def test_a_request_moves_the_whole_bursts_its_bytes_touch(
    addr: int, size: int, bus_bytes: int, requested: int
) -> None:
    system = DramSystem()
    assert system.bus_bytes(np.array([addr]), size) == bus_bytes
    assert system.submit(np.array([addr]), False, 0, size).bus_bytes == bus_bytes
    assert system.stats().bytes_requested == requested


def _trace(addr: list[int], arrival: list[int] | None = None, data: bytes | None = None) -> Trace:
    n = len(addr)
    return Trace(
        addr=np.array(addr, dtype=np.uint64),
        is_write=np.zeros(n, dtype=bool),
        size_bytes=np.zeros(n, dtype=np.int64),
        arrival_cycle=None if arrival is None else np.array(arrival, dtype=np.int64),
        data=None if data is None else np.frombuffer(data, dtype=np.uint8).copy(),
    )


def test_a_timed_trace_moves_the_arrival_clock_on() -> None:
    system = DramSystem()
    system.run_trace(_trace([0, 64], arrival=[10, 100]))
    with pytest.raises(ValueError, match=r"^arrival 50 is before the previous 100$"):
        system.submit(np.array([0]), False, 50)
    assert system.submit(np.array([0]), False, 100).bus_bytes == 32


def test_trace_data_is_priced_only_with_data_driven_io_energy() -> None:
    flat = DramSystem()
    flat.run_trace(_trace([0], data=bytes(32)))
    assert flat.io_activity == [None]
    data_driven = DramSystem(DramParams(io_energy="data"))
    data_driven.run_trace(_trace([0]))  # no data in the trace: nothing to count
    assert data_driven.io_activity == [None]


def test_the_io_activity_of_several_traces_adds_up() -> None:
    # x16: a 32 B burst is 16 beats of 2 bytes and 256 bits. All-zero data has no high
    # level; all-ones data has 256; neither toggles within its burst. The transition from
    # one trace's last beat to the next trace's first is not counted (IoActivity.__add__).
    system = DramSystem(DramParams(io_energy="data"))
    system.run_trace(_trace([0], data=bytes(32)))
    system.run_trace(_trace([64], data=b"\xff" * 32))
    [activity] = system.io_activity
    assert activity is not None
    assert (activity.beats, activity.bits, activity.ones, activity.toggles) == (32, 512, 256, 0)


def test_the_first_request_beyond_the_capacity_is_named() -> None:
    # request 0 starts at 0, request 1 ends exactly at the capacity (both inside), request 2
    # starts at it
    trace = _trace([0, CAPACITY_8GB - 32, CAPACITY_8GB, 0])
    with pytest.raises(TraceError) as raised:
        DramSystem().run_trace(trace)
    assert str(raised.value) == (
        "request 2 at address 0x40000000 (+32 B) is beyond the capacity of 0x40000000 bytes "
        "(1 x 8Gb)"
    )
    assert DramSystem().run_trace(_trace([0, CAPACITY_8GB - 32])).shape == (2,)


def test_requests_of_mixed_sizes_cover_the_bursts_uniform_ones_do() -> None:
    # 8 KiB (256 bursts) at 0 and 64 B (2 bursts) at 1 MiB: served in one batch of mixed
    # sizes (the general path) or as two batches of one size each arriving together (the
    # uniform path: request start + 0, 1, ...), the same bursts reach the same banks and rows
    addr = np.array([0, 1 << 20], dtype=np.int64)
    mixed = DramSystem(log_commands=True)
    submitted = mixed.submit(addr, False, 0, np.array([8192, 64]))
    assert submitted.bus_bytes == 8192 + 64
    mixed.result(submitted.ticket)
    uniform = DramSystem(log_commands=True)
    tickets = [
        uniform.submit(addr[:1], False, 0, 8192).ticket,
        uniform.submit(addr[1:], False, 0, 64).ticket,
    ]
    for ticket in tickets:
        uniform.result(ticket)
    assert mixed.command_logs == uniform.command_logs


@pytest.mark.parametrize("channels", [1, 2])
def test_completions_are_int64(dram_loop: str, channels: int) -> None:
    system = DramSystem(DramParams(channels=channels))
    done = system.serve(np.arange(8, dtype=np.int64) * 32, False, 0)
    assert done.dtype == np.int64 and done.shape == (8,)


def test_a_system_logs_no_commands_unless_asked(dram_loop: str) -> None:
    system = DramSystem(DramParams(channels=2))
    system.serve(np.arange(4, dtype=np.int64) * 32, False, 0)
    assert system.command_logs == [[], []]


def test_served_batches_count_read_latency_from_the_queue_entry(dram_loop: str) -> None:
    # serve() (not a timed trace) counts a read's latency from the cycle it entered its
    # queue: behind a one-entry read queue, all reads but the first enter after cycle 0, so
    # no latency reaches the last completion (counted from the arrival at 0 it would)
    system = DramSystem(DramParams(read_queue_depth=1, refresh="off"))
    done = system.serve(np.arange(4, dtype=np.int64) * 32, False, 0)
    stats = system.stats().total
    assert done.min() >= N_CL + N_BL
    assert stats.read_latency_max_ns < float(done.max()) * TCK_NS
    assert stats.read_latency_mean_ns < float(done.mean()) * TCK_NS


def test_a_request_without_a_size_asks_for_one_burst() -> None:
    # size omitted: the one 32 B burst holding the address, counted as 32 B requested
    system = DramSystem()
    assert system.submit(np.array([0, 100]), False, 0).bus_bytes == 64
    assert system.stats().bytes_requested == 64


def test_the_ck_frequency_is_the_inverse_of_tck() -> None:
    # LPDDR5-6400: tCK 1250 ps, CK 800 MHz (exact in binary floating point)
    assert DramSystem().ck_hz == 800e6


@pytest.mark.parametrize(("bank_hash", "bank"), [(False, 0), (True, 1)])
def test_the_bank_hash_reaches_the_address_map(bank_hash: bool, bank: int) -> None:
    # RoBaCoBgCh, one channel: Bg 2 bits, Co 6 bits, Ba 2 bits above the 32 B burst offset,
    # so 0x8000 is row 1 of bank 0; the XOR hash moves it to bank 0 ^ (row 1 mod 16) = 1
    system = DramSystem(DramParams(bank_hash=bank_hash, refresh="off"), log_commands=True)
    system.serve(np.array([0x8000]), False, 0)
    [log] = system.command_logs
    assert {(b, row) for _, _, b, row in log} == {(bank, 1)}


# --- system.py: regression ---------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 2])
def test_an_empty_batch_is_served_empty_and_leaves_the_others_alone(
    dram_loop: str, channels: int
) -> None:
    # An empty batch used to raise ValueError (the max of its bursts' queue entries, of
    # which there are none) and lose the results of every batch served with it. It has no
    # request to complete and is accepted when it arrives; the batches around it are served
    # as without it.
    empty = np.zeros(0, dtype=np.int64)
    without = DramSystem(DramParams(channels=channels))
    tickets = [
        without.submit(np.array([0, 64]), False, 0, 64).ticket,
        without.submit(np.array([128]), True, 7).ticket,
    ]
    expected = [without.result(ticket).done_ck for ticket in tickets]
    system = DramSystem(DramParams(channels=channels))
    first = system.submit(np.array([0, 64]), False, 0, 64)
    nothing = system.submit(empty, False, 5)
    last = system.submit(np.array([128]), True, 7)
    served = system.result(nothing.ticket)
    assert served.done_ck.shape == (0,) and served.accepted_ck == 5
    assert nothing.bus_bytes == 0
    assert system.result(first.ticket).done_ck.tolist() == expected[0].tolist()
    assert system.result(last.ticket).done_ck.tolist() == expected[1].tolist()
    assert system.serve(empty, True, 9).shape == (0,)
