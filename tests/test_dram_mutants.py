"""DRAM behaviour the other DRAM tests left unpinned, found by mutation testing (issue 18).

Each test here was written against mutmut survivors in ``npusim/dram/`` and kills them; the
expected values are worked by hand in the test from the LPDDR5-6400 timing and energy figures
restated below (JESD209-5B via reference lpddr5.md; energy anchors of npusim.dram.energy's
docstring), not copied from the model's output. Tests that drive a controller run under every
loop (the ``dram_loop`` fixture, tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

import numpy as np
import pytest

from npusim.dram import DramParams, DramSystem
from npusim.dram import commands as commands_module
from npusim.dram import device as device_module
from npusim.dram import energy as energy_module
from npusim.dram import loop as loop_module
from npusim.dram import stream as stream_module
from npusim.dram.controller import ChannelController
from npusim.dram.device import TIMING_CONSTRAINTS, Command, Constraint, Device
from npusim.dram.energy import DramEnergy, EnergyBreakdown, compute_energy, default_energy
from npusim.dram.io_bits import IoActivity, channel_activity, io_activity
from npusim.dram.kernel import KERNEL_AVAILABLE
from npusim.dram.latency import LatencyHistogram
from npusim.dram.loop import PythonLoop
from npusim.dram.mapping import AddressMap, mapping_problems
from npusim.dram.policies import UnknownPolicyError, row_policy
from npusim.dram.refresh import refresh_policy, skip_idle_refreshes
from npusim.dram.standard import resolve_timing
from npusim.trace import Trace

# LPDDR5-6400, 8 Gb, BG mode, BL16 (reference lpddr5.md): CK 1.25 ns, and in CK:
TCK_NS = 1.25
N_CL, N_BL, N_RCD, N_RAS, N_RRD, N_AAD, N_CAS = 17, 2, 15, 34, 4, 8, 1
N_REFI, N_REFI_PB = 3125, 391
READ_DONE = N_CL + N_BL  # RD to its last data beat
BURST_BITS = 32 * 8
# Energy anchors (npusim.dram.energy): pJ per ACT-PRE pair of a 2 KiB row, pJ/bit, mW
ACT_PRE_PJ, READ_PJ_PER_BIT, WRITE_PJ_PER_BIT, IO_PJ_PER_BIT = 1100.0, 3.3, 2.2, 0.5
REFAB_PJ, REFPB_PJ = 36000.0, 4500.0
PRECHARGED_MW, ACTIVE_MW = 37.0, 47.0

# nRC and nFAW raised off the sums they tie with in the reference table (nRC = nRAS + nRP,
# nFAW = 4 x nRRD), as in tests/test_dram_conformance.py
TIMING = resolve_timing("LPDDR5_6400", "8Gb", "BG", 16, {"nRC": 60, "nFAW": 20})


def _device() -> Device:
    return Device(TIMING, banks=16, bank_groups=4)


# --- device: row-state rules and the checked API -------------------------------------------


def test_row_zero_counts_as_an_open_row() -> None:
    """Row 0 is a row like any other: a bank open at row 0 refuses ACT, and its REFpb set
    cannot be refreshed (open_row -1 is "closed", not 0)."""
    dev = _device()
    dev.issue(Command.ACT, 8, 0, 0)  # bank 8: row 0; it is refreshed with bank 0
    assert not dev.legal(Command.ACT, 8, 0)
    assert not dev.legal(Command.REFPB, 0)
    assert not dev.legal(Command.REFPB, 8)
    assert dev.legal(Command.REFPB, 1)  # the set {1, 9}: closed
    assert dev.legal(Command.RD, 8, 0)


def test_the_checked_api_defaults_to_bank_0_and_row_0() -> None:
    dev = _device()
    dev.issue(Command.ACT, 0, 3, 100)  # bank 0 open at row 3; bank 1 closed
    assert not dev.legal(Command.ACT)  # bank 0
    assert not dev.legal(Command.RD, 0)  # row 0 is not the open row 3
    assert dev.latest(Command.ACT2) == 100 + N_AAD  # bank 0's ACT-1 + nAAD
    assert dev.earliest(Command.PRE) == 100 + N_RAS  # bank 0's; bank 1 could precharge at 0
    dev.issue(Command.ACT, 1, 0, 104)
    assert dev.legal(Command.RD, 1)  # bank 1 open at row 0, the default row


def test_can_issue_needs_the_row_state_and_the_given_row() -> None:
    dev = _device()
    late = 10**6  # long after every timing bound
    assert not dev.can_issue(Command.RD, 2, 5, late)  # bank 2 is closed
    assert not dev.can_issue(Command.PRE, 2, 5, late)
    dev.issue(Command.ACT, 2, 5, 0)
    assert dev.can_issue(Command.RD, 2, 5, late)
    assert not dev.can_issue(Command.RD, 2, 6, late)


def test_commands_other_than_act2_have_no_latest_cycle() -> None:
    # Device.latest's documented "no limit": 2**62 (refresh.NEVER, a cycle no run reaches)
    dev = _device()
    for cmd in (Command.ACT, Command.RD, Command.PRE, Command.REFAB):
        assert dev.latest(cmd, 3) == 2**62


def test_a_fresh_device_may_activate_at_cycle_0_and_its_window_starts_empty() -> None:
    """A window of nFAW 200 CK (an override far above the reference's 16): the first four
    ACTs go nRRD apart from cycle 0 (no earlier ACT counts in the window), the fifth waits
    for the first + nFAW."""
    dev = Device(resolve_timing("LPDDR5_6400", "8Gb", "BG", 16, {"nFAW": 200}), 16, 4)
    assert dev.open_row == [-1] * 16  # every bank closed (-1, as PRE and PREA leave them)
    assert [dev.earliest(Command.ACT, b) for b in (0, 5, 15)] == [0, 0, 0]
    assert dev.can_issue(Command.ACT, 5, 0, 0)
    assert dev.latest(Command.ACT2, 5) < 0  # no ACT-1 yet: no cycle is in its ACT-2 window
    for k in range(4):
        assert dev.earliest(Command.ACT, k) == k * N_RRD
        dev.issue(Command.ACT, k, 0, k * N_RRD)
    assert dev.earliest(Command.ACT, 4) == 200


# --- energy up to a cycle, idle time included (DramSystem.energy_until) -------------------


@pytest.mark.parametrize(("refresh", "due_at", "per_refresh_pj"), [
    ("all-bank", [N_REFI * k for k in (1, 2, 3)], REFAB_PJ),  # 3125, 6250, 9375
    ("per-bank", [N_REFI_PB * k for k in range(1, 26)], REFPB_PJ),  # 391 ... 9775
])  # fmt: skip
def test_an_idle_channel_costs_precharged_standby_and_the_refreshes_due(
    dram_loop: str, refresh: str, due_at: list[int], per_refresh_pj: float
) -> None:
    until = 10_000
    assert all(t <= until for t in due_at) and due_at[-1] + due_at[0] > until
    system = DramSystem(DramParams(refresh=refresh))
    expected = PRECHARGED_MW * until * TCK_NS + len(due_at) * per_refresh_pj
    assert system.energy_until(until) == pytest.approx(expected, rel=1e-12)
    first = due_at[0]
    assert system.energy_until(first - 1) == (
        pytest.approx(PRECHARGED_MW * (first - 1) * TCK_NS, rel=1e-12)
    )
    assert system.energy_until(first) == (  # due at that very cycle: counted
        pytest.approx(PRECHARGED_MW * first * TCK_NS + per_refresh_pj, rel=1e-12)
    )


@pytest.mark.parametrize("page_policy", ["closed", "open"])
def test_energy_until_adds_the_idle_lead_and_tail_to_one_read(
    dram_loop: str, page_policy: str
) -> None:
    """One read arriving at cycle 100 to closed bank 0: ACT 100, ACT-2 101, CAS at
    100 + nRCD = 115, RD(A) at 116, last beat at 116 + nCL + nBL = 135. Closed page closes the
    bank at its RDA (open 100-116), open page leaves it open to the end and after."""
    system = DramSystem(DramParams(page_policy=page_policy, refresh="off"), log_commands=True)
    column = Command.RDA if page_policy == "closed" else Command.RD
    done = system.serve(np.array([0], dtype=np.uint64), False, 100)
    assert done.tolist() == [116 + READ_DONE]
    assert system.command_logs[0] == [
        (100, Command.ACT, 0, 0), (101, Command.ACT2, 0, 0),
        (100 + N_RCD, Command.CAS, 0, 0), (100 + N_RCD + N_CAS, column, 0, 0),
    ]  # fmt: skip
    busy = 135 - 100
    active = 16 if page_policy == "closed" else busy
    commands_pj = (
        ACT_PRE_PJ
        + BURST_BITS * (READ_PJ_PER_BIT + IO_PJ_PER_BIT)
        + (PRECHARGED_MW * (busy - active) + ACTIVE_MW * active) * TCK_NS
    )
    assert system.stats().total.energy_total_pj == pytest.approx(commands_pj, rel=1e-12)
    until = 1000
    tail_mw = PRECHARGED_MW if page_policy == "closed" else ACTIVE_MW
    lead_pj = PRECHARGED_MW * 100 * TCK_NS  # cycles 0-100, before the arrival
    tail_pj = tail_mw * (until - 135) * TCK_NS
    assert system.energy_until(until) == pytest.approx(commands_pj + lead_pj + tail_pj, rel=1e-12)
    # before the last beat: no tail, and never less than the commands issued
    assert system.energy_until(135) == pytest.approx(commands_pj + lead_pj, rel=1e-12)
    assert system.energy_until(120) == pytest.approx(commands_pj + lead_pj, rel=1e-12)


# --- system: batches submitted ahead, bus bytes, whole-burst requests ----------------------

N_CWL, N_RTW_GAP, N_CCD_S = 9, 2, 2
WRITE_DONE = N_CWL + N_BL
RD_TO_WR = N_CL + N_BL + N_RTW_GAP - N_CWL  # 12 (reference "Derived turnarounds")


def test_bus_bytes_are_whole_bursts_of_each_request() -> None:
    system = DramSystem(DramParams())
    # bytes 0-0: burst 0; 40-69: bursts 1-2; 95-96: bursts 2-3 (32 B bursts)
    assert system.bus_bytes(np.array([0, 40, 95]), np.array([1, 30, 2])) == 5 * 32
    assert system.bus_bytes(np.array([0, 40, 95]), 0) == 3 * 32  # no size: one burst each
    assert system.bus_bytes(63, 2) == 2 * 32  # a scalar request across a burst boundary


def test_two_batches_submitted_ahead_are_served_together(dram_loop: str) -> None:
    """A 64 B read at cycle 0 (bursts 0 and 1: bank groups 0 and 1 under RoBaCoBgCh) and an
    unaligned 64 B write at cycle 10 (bytes 16-79: bursts 0-2, banks 0-2). Reads leave their
    queue at their ACT, so at cycle 10 no read is queued and the controller drains writes:
    ACT b0 0, b1 0 + nRRD = 4, b2 10; CAS 15, RD b0 16, RD b1 4 + nRCD = 19 (WCK running);
    WR b2 at RD + (nCL + nBL + 2 - nCWL) = 31, then b0 33 and b1 35 (nCCD_S apart)."""
    system = DramSystem(DramParams(refresh="off"), log_commands=True)
    read = system.submit(np.array([0], dtype=np.uint64), False, 0, 64)
    write = system.submit(np.array([16], dtype=np.uint64), True, 10, 64)
    assert (read.ticket, read.bus_bytes) == (0, 64)
    assert (write.ticket, write.bus_bytes) == (1, 96)
    assert system.bytes_requested == 128
    assert system.command_logs[0] == []  # nothing served before a result is asked for
    rd1 = N_RRD + N_RCD
    wr = rd1 + RD_TO_WR
    assert rd1 + READ_DONE + 1 > wr  # WCK still runs at the first WR: no CAS
    served_write = system.result(write.ticket)  # serves both batches
    assert served_write.done_ck.tolist() == [wr + 2 * N_CCD_S + WRITE_DONE]
    assert served_write.accepted_ck == 10
    served_read = system.result(read.ticket)
    assert served_read.done_ck.tolist() == [rd1 + READ_DONE]
    assert served_read.accepted_ck == 0
    kinds = [(t, Command(c).name, b) for t, c, b, _ in system.command_logs[0]]
    assert kinds == [
        (0, "ACT", 0), (1, "ACT2", 0), (N_RRD, "ACT", 1), (N_RRD + 1, "ACT2", 1),
        (10, "ACT", 2), (11, "ACT2", 2), (N_RCD, "CAS", 0), (N_RCD + 1, "RD", 0),
        (rd1, "RD", 1), (wr, "WR", 2), (wr + N_CCD_S, "WR", 0), (wr + 2 * N_CCD_S, "WR", 1),
    ]  # fmt: skip
    with pytest.raises(KeyError):
        system.result(read.ticket)  # asked once per ticket


def test_a_batch_may_not_arrive_before_the_previous_one() -> None:
    system = DramSystem(DramParams())
    system.submit(np.array([0], dtype=np.uint64), False, 50)
    system.submit(np.array([64], dtype=np.uint64), False, 50)  # the same cycle is fine
    with pytest.raises(ValueError, match=r"^arrival 49 is before the previous 50$"):
        system.submit(np.array([0], dtype=np.uint64), False, 49)


# --- statistics: one channel each and their total ------------------------------------------


def test_two_channel_statistics_and_their_total_by_hand(dram_loop: str) -> None:
    """Channel 0: one read at cycle 0 (ACT 0, CAS 15, RD 16, last beat 35). Channel 1: two
    reads at cycle 200 to bank groups 0 and 1 (ACT 200 and 204, RD 216 and 219 = 204 + nRCD,
    last beats 235 and 238; the second waits 4 CK in its queue for its ACT). Open page: the
    banks stay open from their first ACT to the end."""
    system = DramSystem(DramParams(refresh="off", channels=2))
    assert system.serve(np.array([0], dtype=np.uint64), False, 0).tolist() == [35]
    assert system.serve(np.array([32, 96], dtype=np.uint64), False, 200).tolist() == [235, 238]
    stats = system.stats()
    ch0, ch1 = stats.channels
    total = stats.total
    assert (ch0.channel, ch1.channel, total.channel) == (0, 1, -1)
    assert (ch0.elapsed_cycles, ch1.elapsed_cycles, total.elapsed_cycles) == (35, 38, 238)
    assert total.elapsed_ns == 238 * TCK_NS
    assert (ch0.bytes_read, ch1.bytes_read, total.bytes_read) == (32, 64, 96)
    assert (total.read_bursts, total.write_bursts, total.bytes_written) == (3, 0, 0)
    assert total.achieved_gbps == pytest.approx(96 / (238 * TCK_NS), rel=1e-12)
    assert ch1.achieved_gbps == pytest.approx(64 / (38 * TCK_NS), rel=1e-12)
    # 6400 MT/s x 2 B per channel, in GB/s of 1e9 B/s
    assert (ch0.peak_gbps, ch1.peak_gbps) == (pytest.approx(12.8, rel=1e-12),) * 2
    assert total.peak_gbps == pytest.approx(25.6, rel=1e-12)
    # utilization: bursts x nBL over elapsed CK, averaged over the channels for the total
    assert ch0.bus_utilization == pytest.approx(1 * N_BL / 35, rel=1e-12)
    assert total.bus_utilization == pytest.approx((N_BL / 35 + 2 * N_BL / 38) / 2, rel=1e-12)
    # occupancy: request-cycles in the queues over elapsed CK, summed for the total
    assert ch0.avg_queue_occupancy == 0.0
    assert ch1.avg_queue_occupancy == pytest.approx(4 / 38, rel=1e-12)
    assert total.avg_queue_occupancy == pytest.approx(4 / 38, rel=1e-12)
    # read latency from entering the queue (untimed): 35; 35 and 38
    assert ch1.read_latency_mean_ns == pytest.approx(36.5 * TCK_NS)
    assert ch1.read_latency_p95_ns == pytest.approx((35 + 0.95 * 3) * TCK_NS)  # numpy linear
    assert total.read_latency_mean_ns == pytest.approx(36 * TCK_NS)
    assert total.read_latency_p50_ns == pytest.approx(35 * TCK_NS)
    assert total.read_latency_p99_ns == pytest.approx((35 + 0.98 * 3) * TCK_NS)
    assert total.read_latency_max_ns == pytest.approx(38 * TCK_NS)
    assert (total.row_hits, total.row_misses, total.row_conflicts) == (0, 3, 0)
    assert total.command_counts == {
        "ACT": 3, "PRE": 0, "PREA": 0, "RD": 3, "WR": 0, "RDA": 0, "WRA": 0, "REFAB": 0,
        "REFPB": 0, "ACT2": 3, "CAS": 2,
    }  # fmt: skip
    assert ch1.command_counts["CAS"] == 1  # the second RD follows while WCK runs
    assert total.energy.act_pre_pj == pytest.approx(3 * ACT_PRE_PJ)
    assert total.energy.background_pj == pytest.approx(ACTIVE_MW * (35 + 38) * TCK_NS)
    assert total.energy_total_pj == pytest.approx(ch0.energy_total_pj + ch1.energy_total_pj)
    assert stats.bytes_requested == 96
    as_dict = stats.to_dict()
    assert as_dict["total"]["energy"]["total_pj"] == pytest.approx(total.energy_total_pj)
    assert as_dict["channels"][1]["energy"]["total_pj"] == pytest.approx(ch1.energy_total_pj)


# --- address mapping ---------------------------------------------------------------------


def _burst(**fields: tuple[int, int]) -> int:
    """A burst index from (value, bit offset) per field."""
    return sum(value << offset for value, offset in fields.values())


def test_default_mapping_decodes_each_field_from_its_own_bits() -> None:
    """RoBaCoBgCh over 2 channels, 4 x 4 banks, 2^15 rows, 64 bursts per 2 KiB row: from the
    least significant bit, Ch 1 bit, Bg 2, Co 6, Ba 2, Ro 15. Flat bank = Ba x 4 + Bg."""
    amap = AddressMap(
        "RoBaCoBgCh", channels=2, bank_groups=4, banks_per_group=4, rows=1 << 15,
        bursts_per_row=64,
    )  # fmt: skip
    assert amap.widths == {"Ro": 15, "Ba": 2, "Co": 6, "Bg": 2, "Ch": 1}
    assert amap.total_bursts == 2 * 16 * (1 << 15) * 64
    index = _burst(ch=(1, 0), bg=(2, 1), co=(37, 3), ba=(3, 9), ro=(12345, 11))
    other = _burst(ch=(0, 0), bg=(1, 1), co=(5, 3), ba=(2, 9), ro=(32767, 11))
    decoded = amap.decode(np.array([index, other], dtype=np.uint64))
    assert decoded.channel.tolist() == [1, 0]
    assert decoded.bank.tolist() == [3 * 4 + 2, 2 * 4 + 1]
    assert decoded.row.tolist() == [12345, 32767]
    assert decoded.column.tolist() == [37, 5]


def test_the_bank_hash_flips_the_bank_with_the_lowest_row_bits() -> None:
    amap = AddressMap(
        "RoBaCoBgCh", channels=2, bank_groups=4, banks_per_group=4, rows=1 << 15,
        bursts_per_row=64, bank_hash=True,
    )  # fmt: skip
    index = _burst(ch=(1, 0), bg=(2, 1), co=(37, 3), ba=(3, 9), ro=(12345, 11))
    decoded = amap.decode(np.array([index], dtype=np.uint64))
    assert decoded.bank.tolist() == [(3 * 4 + 2) ^ (12345 % 16)]  # 14 ^ 9 = 7
    assert decoded.row.tolist() == [12345]


def test_another_order_without_bank_groups_or_channel_bits() -> None:
    """ChRaCoRoBa for one channel of 16 banks (16B mode): Ch and Ra have no bits; from the
    LSB, Ba 4 bits, Ro 15, Co 6. Without bank groups the flat bank is Ba."""
    amap = AddressMap(
        "ChRaCoRoBa", channels=1, bank_groups=1, banks_per_group=16, rows=1 << 15,
        bursts_per_row=64,
    )  # fmt: skip
    assert amap.widths == {"Ch": 0, "Ra": 0, "Co": 6, "Ro": 15, "Ba": 4}
    index = _burst(ba=(11, 0), ro=(20000, 4), co=(63, 19))
    decoded = amap.decode(np.array([index], dtype=np.int64))
    assert (decoded.channel.tolist(), decoded.bank.tolist()) == ([0], [11])
    assert (decoded.row.tolist(), decoded.column.tolist()) == ([20000], [63])


def test_fields_without_bits_decode_as_zero() -> None:
    """One row of one burst per bank (Ro and Co without bits) over 2 channels of 4 x 4 banks:
    from the LSB, Ch 1 bit, Bg 2, Ba 2; row and column are zero arrays of the input's shape."""
    amap = AddressMap(
        "RoBaCoBgCh", channels=2, bank_groups=4, banks_per_group=4, rows=1, bursts_per_row=1,
    )  # fmt: skip
    assert amap.widths == {"Ro": 0, "Ba": 2, "Co": 0, "Bg": 2, "Ch": 1}
    decoded = amap.decode(np.array([_burst(ch=(1, 0), bg=(3, 1), ba=(2, 3))], dtype=np.int64))
    assert (decoded.channel.tolist(), decoded.bank.tolist()) == ([1], [2 * 4 + 3])
    assert (decoded.row.tolist(), decoded.column.tolist()) == ([0], [0])


@pytest.mark.parametrize(("mapping", "bank_groups", "channels", "problems"), [
    ("RoBaCo", 1, 1, []),  # no bank groups, one channel: Bg and Ch may be left out
    ("RoBaCoBg", 4, 1, []),
    ("RoBaCo", 2, 1, ["field(s) Bg missing from 'RoBaCo'"]),  # two groups are groups too
    ("RoBaCoBg", 4, 2, ["field(s) Ch missing from 'RoBaCoBg'"]),
    ("RoBaCo", 4, 2, ["field(s) Bg, Ch missing from 'RoBaCo'"]),
    ("RoBaCoRaBgCh", 4, 2, []),
    ("RoBaCoCoBgBg", 4, 1, ["field(s) Bg, Co repeated in 'RoBaCoCoBgBg'"]),
    ("RoBaCoXxYy", 1, 1, ["unknown field(s) Xx, Yy in 'RoBaCoXxYy'; valid: Ro Bg Ba Ra Co Ch"]),
    ("roBaCo", 1, 1, ["expected two-letter fields from Ro Bg Ba Ra Co Ch (e.g. 'RoBaCoBgCh'), "
                      "found 'roBaCo'"]),
    ("RoBaC", 1, 1, ["expected two-letter fields from Ro Bg Ba Ra Co Ch (e.g. 'RoBaCoBgCh'), "
                     "found 'RoBaC'"]),
    (7, 1, 1, ["expected a string of fields Ro Bg Ba Ra Co Ch, found 7"]),
])  # fmt: skip
def test_mapping_problems_name_each_broken_rule(
    mapping: object, bank_groups: int, channels: int, problems: list[str]
) -> None:
    assert mapping_problems(mapping, bank_groups, channels) == problems


# --- energy terms --------------------------------------------------------------------------


def test_compute_energy_prices_each_count_with_its_own_term() -> None:
    """Every count differs, and a 4 KiB page (8B mode) pays twice the 2 KiB anchor."""
    energy = compute_energy(
        DramEnergy(), activates=3, bits_read=1000, bits_written=300, refreshes_all_bank=2,
        refreshes_per_bank=5, precharged_cycles=700, active_cycles=200, tck_ns=TCK_NS,
        page_bytes=4096,
    )  # fmt: skip
    assert energy.act_pre_pj == pytest.approx(3 * ACT_PRE_PJ * 2)
    assert energy.read_pj == pytest.approx(1000 * READ_PJ_PER_BIT)
    assert energy.write_pj == pytest.approx(300 * WRITE_PJ_PER_BIT)
    assert energy.io_pj == pytest.approx(1300 * IO_PJ_PER_BIT)
    assert energy.refresh_pj == pytest.approx(2 * REFAB_PJ + 5 * REFPB_PJ)
    assert energy.background_pj == pytest.approx((700 * PRECHARGED_MW + 200 * ACTIVE_MW) * TCK_NS)
    parts = (6600.0, 3300.0, 660.0, 650.0, 94500.0, 44125.0)  # the six terms above, by hand
    assert energy.total_pj == pytest.approx(sum(parts))
    default_page = compute_energy(
        DramEnergy(), activates=3, bits_read=0, bits_written=0, refreshes_all_bank=0,
        refreshes_per_bank=0, precharged_cycles=0, active_cycles=0, tck_ns=TCK_NS,
    )  # fmt: skip
    assert default_page.act_pre_pj == pytest.approx(3 * ACT_PRE_PJ)  # 2 KiB by default


def test_energy_breakdowns_add_term_by_term_and_overrides_replace_one_term() -> None:
    one = EnergyBreakdown(1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    other = EnergyBreakdown(100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0)
    assert one + other == EnergyBreakdown(101.0, 202.0, 404.0, 808.0, 1616.0, 3232.0)
    assert (one + other).total_pj == 63.0 * 101
    changed = DramEnergy().with_overrides({"write_pj_per_bit": 4})
    assert changed.write_pj_per_bit == 4.0 and isinstance(changed.write_pj_per_bit, float)
    assert changed.read_pj_per_bit == READ_PJ_PER_BIT
    assert changed.background_active_mw == ACTIVE_MW


def test_a_command_issued_by_hand_after_a_run_keeps_its_effects(dram_loop: str) -> None:
    """After a run (of the compiled loop, whose arrays then hold the newer tables), a PRE
    issued through Device.issue closes the bank and times its next ACT from itself."""
    system = DramSystem(DramParams(refresh="off"))
    system.serve(np.array([0], dtype=np.uint64), False, 0)  # bank 0 left open at row 0
    dev = system.controllers[0].dev
    dev.issue(Command.PRE, 0, 0, 100)
    assert dev.legal(Command.ACT, 0)
    assert dev.earliest(Command.ACT, 0) == 100 + 15  # nRP after the PRE (nRC ended at 49)
    assert dev.open_row[0] == -1 and dev.open_banks == 0


# --- read-latency histogram ------------------------------------------------------------------


def test_a_merged_histogram_counts_later_batches_too() -> None:
    """Channels' histograms merged (3, 5 and 4 CK), then a batch of 12, 10 and 7 CK that
    reaches past the merged counts: the six latencies 3 4 5 7 10 12, numpy's linear
    percentiles worked by hand (position (n - 1) p = 2.5, 4.75, 4.95 between order
    statistics)."""
    first, second = LatencyHistogram(), LatencyHistogram()
    first.add(np.array([3, 5], dtype=np.int64))
    second.add(np.array([4], dtype=np.int64))
    total = first.merged(second)
    total.add(np.array([12, 10, 7], dtype=np.int64))
    summary = total.summary_ns(TCK_NS)
    assert summary == pytest.approx({
        "mean": 41 / 6 * TCK_NS, "p50": 6 * TCK_NS, "p95": (10 + 0.75 * 2) * TCK_NS,
        "p99": (10 + 0.95 * 2) * TCK_NS, "max": 12 * TCK_NS,
    }, rel=1e-12)  # fmt: skip


# --- I/O activity of trace data --------------------------------------------------------------


def test_io_activity_rates_sums_and_energy_by_hand() -> None:
    # 11 beats on 16 lines: 10 beat boundaries x 16 = 160 line slots, 176 data bits
    one = IoActivity(toggles=30, ones=5, beats=11, bits=176, lines=16)
    assert one.toggle_rate == 30 / 160
    assert one.toggles_per_bit == 30 / 176
    assert one.energy_pj() == 30 * 2 * IO_PJ_PER_BIT  # one toggle = 2 x the flat pJ/bit
    assert one.energy_pj(0.25) == 7.5
    other = IoActivity(toggles=4, ones=7, beats=2, bits=32, lines=18)
    assert one + other == IoActivity(34, 12, 13, 208, 18)  # lines: the wider (with DBI)
    assert IoActivity(0, 3, 1, 16, 16).toggle_rate == 0.0  # one beat: no boundary
    assert IoActivity(0, 0, 0, 0, 16).toggles_per_bit == 0.0


def test_each_channel_carries_its_bursts_in_the_order_they_finish() -> None:
    """Channel 1's bursts finish in the order 1, 0, 2 (bytes 00, FF, 00 on lane 0): 16
    transitions on lane 0 (8 up, 8 down); in index order (FF, 00, 00) it would be 8."""
    bursts = np.array([[0xFF, 0x00], [0x00, 0x00], [0x00, 0x00], [0x0F, 0x00]], dtype=np.uint8)
    channel = np.array([1, 1, 1, 2])
    done_ck = np.array([20, 10, 30, 5])
    found = channel_activity(channel, done_ck, bursts, 3, dbi=False)
    assert found[0] is None
    assert found[1] == IoActivity(toggles=16, ones=8, beats=3, bits=48, lines=16)
    assert found[2] == IoActivity(toggles=0, ones=4, beats=1, bits=16, lines=16)
    # with DBI-DC the FF byte goes as 00 with its DBI line high: 2 DBI transitions only
    with_dbi = channel_activity(channel, done_ck, bursts, 3, dbi=True)
    assert with_dbi[1] == IoActivity(toggles=2, ones=1, beats=3, bits=48, lines=18)


def test_bytes_given_as_an_integer_array_or_a_strided_view_are_the_same_bytes() -> None:
    """``io_activity`` takes the bytes as ``bytes`` or as an array of byte values (cast to
    uint8, any layout): an int64 array and a column-strided uint8 view of the same values
    give the activity of the bytes themselves."""
    values = [0x00, 0xFF, 0x0F, 0x01, 0xF0, 0x80, 0x7E, 0x00]
    expected = io_activity(bytes(values), dbi=True)
    assert io_activity(np.array(values, dtype=np.int64), dbi=True) == expected
    wide = np.zeros((len(values), 3), dtype=np.uint8)
    wide[:, 1] = values
    assert io_activity(wide[:, 1], dbi=True) == expected  # a view 3 bytes apart


# --- refresh policies --------------------------------------------------------------------

N_RP, N_RPAB = 15, 17
N_RFCAB, N_RFCPB = 168, 96  # 210 and 120 ns (8 Gb) at 1.25 ns, JEDEC-rounded (+2.6 % band)
NEVER = 2**62


def test_without_refresh_nothing_is_ever_due_or_issued() -> None:
    off = refresh_policy("off", TIMING, 16)
    assert off.next_command(_device(), [-1] * 16, 5) == (NEVER, 0, 0)
    with pytest.raises(RuntimeError, match=r"^no refresh to issue$"):
        off.issue(_device(), int(Command.REFAB), 0, 5)


def test_all_bank_refresh_precharges_all_then_refreshes_and_moves_on() -> None:
    dev, refresh = _device(), refresh_policy("all-bank", TIMING, 16)
    dev.issue(Command.ACT, 5, 2, 0)
    pinned = [-1] * 16
    pinned[9] = 0  # an active slot (of request 0) anywhere holds an all-bank refresh
    assert refresh.next_command(dev, pinned, 0) == (NEVER, 0, 0)
    assert refresh.next_command(dev, [-1] * 16, 0) == (N_RAS, int(Command.PREA), 0)
    assert refresh.next_command(dev, [-1] * 16, 40) == (40, int(Command.PREA), 0)
    refresh.pending = True
    refresh.issue(dev, int(Command.PREA), 0, N_RAS)
    assert (refresh.due, refresh.pending, refresh.cycles) == (N_REFI, True, 0)
    assert dev.open_row == [-1] * 16 and dev.open_banks == 0  # -1: closed
    t, cmd, bank = refresh.next_command(dev, [-1] * 16, 0)
    assert (t, cmd, bank) == (N_RAS + N_RPAB, int(Command.REFAB), 0)
    refresh.issue(dev, cmd, bank, t)
    assert (refresh.due, refresh.pending, refresh.cycles, refresh.bank) == (
        2 * N_REFI, False, N_RFCAB, 0)  # fmt: skip
    assert dev.command_counts[Command.REFAB] == 1


def test_per_bank_refresh_precharges_its_set_then_refreshes_the_next_set() -> None:
    """The set of bank 0 is {0, 8}: bank 8 is open (ACT at 0), bank 3 is not in the set."""
    dev, refresh = _device(), refresh_policy("per-bank", TIMING, 16)
    dev.issue(Command.ACT, 3, 1, 0)
    dev.issue(Command.ACT, 8, 2, 4)
    pinned = [-1] * 16
    pinned[3] = 1  # another set's active slot does not hold this refresh
    assert refresh.next_command(dev, pinned, 10) == (4 + N_RAS, int(Command.PRE), 8)
    pinned[8] = 0  # request 0 holds bank 8's active slot: served before the refresh
    assert refresh.next_command(dev, pinned, 10) == (NEVER, 0, 0)
    refresh.pending = True
    refresh.issue(dev, int(Command.PRE), 8, 4 + N_RAS)
    assert refresh.pending and refresh.bank == 0
    t, cmd, bank = refresh.next_command(dev, [-1] * 16, 0)
    assert (t, cmd, bank) == (4 + N_RAS + N_RP, int(Command.REFPB), 0)
    refresh.issue(dev, cmd, bank, t)
    assert (refresh.due, refresh.pending, refresh.cycles, refresh.bank) == (
        2 * N_REFI_PB, False, N_RFCPB, 1)  # fmt: skip
    assert refresh.blocked_banks() == (1, 9)


@pytest.mark.parametrize(("mode", "until", "expected"), [
    # REFab due at 3125, 6250, ..., 18750 before 20000: the first four counted in closed
    # form, the fifth (15625) issued, the sixth left to the loop
    ("all-bank", 20_000, {"count": 5, "due": 18_750, "bank": 0, "returns": 15_626}),
    # due at 3125 and 6250 before 7000: the first issued here, the second left to the loop
    ("all-bank", 7_000, {"count": 1, "due": 6_250, "bank": 0, "returns": 3_126}),
    # REFpb due every 391 from 391: 11 before 4692 = 12 x 391 <= 5000; 3 counted, then one
    # per bank set (8) issued, from set 3 round to set 3 again
    ("per-bank", 5_000, {"count": 11, "due": 4_692, "bank": 3, "returns": 4_302}),
])  # fmt: skip
def test_idle_refreshes_are_skipped_in_closed_form_up_to_the_last_one(
    mode: str, until: int, expected: dict
) -> None:
    dev, refresh = _device(), refresh_policy(mode, TIMING, 16)
    per_refresh = N_RFCAB if mode == "all-bank" else N_RFCPB
    assert skip_idle_refreshes(refresh, dev, until) == expected["returns"]
    assert dev.command_counts[refresh.command] == expected["count"]
    assert refresh.cycles == expected["count"] * per_refresh
    assert (refresh.due, refresh.bank) == (expected["due"], expected["bank"])


def test_nothing_is_skipped_without_a_whole_interval_or_while_logging() -> None:
    dev, refresh = _device(), refresh_policy("all-bank", TIMING, 16)
    assert skip_idle_refreshes(refresh, dev, 2 * N_REFI - 1) == -1  # one due, none to skip
    assert skip_idle_refreshes(refresh, dev, NEVER) == -1
    logged = Device(TIMING, banks=16, bank_groups=4, log=True)
    assert skip_idle_refreshes(refresh, logged, 10 * N_REFI) == -1
    assert refresh.due == N_REFI and dev.command_counts[Command.REFAB] == 0


def test_an_unused_channel_adds_nothing_but_its_share_of_the_mean_utilization(
    dram_loop: str,
) -> None:
    """Two channels, one read to channel 1 at cycle 50 (ACT 50, RD 66, last beat 85)."""
    system = DramSystem(DramParams(refresh="off", channels=2))
    empty = system.stats().total
    assert (empty.elapsed_cycles, empty.achieved_gbps, empty.bus_utilization) == (0, 0.0, 0.0)
    assert (empty.read_latency_mean_ns, empty.read_latency_max_ns) == (0.0, 0.0)
    assert empty.energy_total_pj == 0.0 and empty.avg_queue_occupancy == 0.0
    system.serve(np.array([32], dtype=np.uint64), False, 50)
    stats = system.stats()
    ch0, ch1 = stats.channels
    assert (ch0.elapsed_cycles, ch1.elapsed_cycles, stats.total.elapsed_cycles) == (0, 35, 35)
    assert ch0.energy_total_pj == 0.0 and ch0.achieved_gbps == 0.0
    assert stats.total.bus_utilization == pytest.approx(N_BL / 35 / 2, rel=1e-12)
    assert stats.total.achieved_gbps == pytest.approx(32 / (35 * TCK_NS), rel=1e-12)
    assert stats.total.energy_total_pj == pytest.approx(ch1.energy_total_pj, rel=1e-12)


# --- the four-activate window across runs and loops ----------------------------------------

LOOP_NAMES = ["compiled", "python"]


@pytest.mark.parametrize("second", LOOP_NAMES)
@pytest.mark.parametrize("first", LOOP_NAMES)
def test_the_four_activate_window_carries_over_from_one_loop_to_the_other(
    first: str, second: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """nFAW 60 > 4 x nRRD: a first run activates banks 0-3 at 0, 4, 8, 12 and ends (last
    beat 47) inside the window; a second run activates banks 4-7, each nFAW after the ACT
    four before it: 60, 64, 68, 72. The window's four cycles pass between the two loops."""
    if "compiled" in (first, second) and not KERNEL_AVAILABLE:
        pytest.skip("the compiled DRAM loop was not built")
    system = DramSystem(DramParams(refresh="off", timing={"nFAW": 60}), log_commands=True)
    for loop, banks in ((first, range(4)), (second, range(4, 8))):
        monkeypatch.setattr(ChannelController, "use_kernel", loop == "compiled")
        # bank b = Ba x 4 + Bg: burst index Ba << 8 | Bg (RoBaCoBgCh, 6 column bits)
        bursts = [(b // 4) << 8 | b % 4 for b in banks]
        system.serve(np.array(bursts, dtype=np.uint64) * 32, False, 0)
    acts = [t for t, c, _, _ in system.command_logs[0] if c == Command.ACT]
    assert acts == [0, 4, 8, 12, 60, 64, 68, 72]


def test_a_later_weaker_constraint_does_not_relax_an_earlier_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The device's tables keep the largest latency of every (command, following command)
    pair of a scope (max-merged), whatever the order the constraints are listed in."""
    weaker = Constraint(("ACT",), ("ACT",), "bank", "5")
    monkeypatch.setattr(device_module, "TIMING_CONSTRAINTS", (*TIMING_CONSTRAINTS, weaker))
    dev = _device()
    dev.issue(Command.ACT, 0, 1, 0)
    dev.issue(Command.PRE, 0, 1, N_RAS)
    assert dev.earliest(Command.ACT, 0) == 60  # nRC (60 here), not nRAS + nRP nor 5


def test_a_row_conflict_after_an_idle_gap_leaves_the_bank_precharged_for_nrp(
    dram_loop: str,
) -> None:
    """Open page. Read A at 0 (bank 0, row 0): ACT 0, CAS 15, RD 16, last beat 35; read B at
    200 (bank 0, row 1): PRE 200, ACT 215 = PRE + nRP, CAS 230, RD 231, last beat 250. The
    bank is open 0-200 and 215-250: 235 active cycles, 15 precharged, the bank open at the
    end."""
    system = DramSystem(DramParams(refresh="off"))
    system.serve(np.array([0], dtype=np.uint64), False, 0)
    assert system.serve(np.array([1 << 15], dtype=np.uint64), False, 200).tolist() == [250]
    energy = system.stats().total.energy
    assert energy.background_pj == pytest.approx(
        (PRECHARGED_MW * 15 + ACTIVE_MW * 235) * TCK_NS, rel=1e-12
    )
    assert energy.act_pre_pj == pytest.approx(2 * ACT_PRE_PJ)
    assert system.controllers[0].dev.active_cycles_until(300) == 235 + 50


# --- policy registries ---------------------------------------------------------------------


def test_unknown_row_and_refresh_policy_names_are_named_with_their_kind() -> None:
    with pytest.raises(UnknownPolicyError, match=r"^unknown page policy 'adaptive'; valid: "):
        row_policy("adaptive")
    with pytest.raises(UnknownPolicyError, match=r"^unknown refresh policy 'same-bank'; valid: "):
        refresh_policy("same-bank", TIMING, 16)


def test_refresh_time_and_energy_of_two_channels_add_up(dram_loop: str) -> None:
    """Reads to both channels arrive at 4000; each channel first issues the REFab due at
    nREFI = 3125 (all banks closed: no PREA), nRFCab = 168 CK = 210 ns, then serves its read
    (ACT 4000, RD 4016, last beat 4035)."""
    system = DramSystem(DramParams(channels=2))
    done = system.serve(np.array([0, 32], dtype=np.uint64), False, 4000)
    assert done.tolist() == [4035, 4035]
    stats = system.stats()
    for channel in stats.channels:
        assert (channel.refresh_cycles, channel.refresh_ns) == (N_RFCAB, N_RFCAB * TCK_NS)
        assert channel.command_counts["REFAB"] == 1 and channel.command_counts["PREA"] == 0
        assert channel.energy.refresh_pj == REFAB_PJ
    assert stats.total.refresh_cycles == 2 * N_RFCAB
    assert stats.total.refresh_ns == pytest.approx(2 * 210.0)
    assert stats.total.energy.refresh_pj == 2 * REFAB_PJ


def test_the_lpddr6_terms_are_derived_from_lpddr5x_as_documented() -> None:
    """Called directly: the module builds STANDARD_ENERGY from it at import, before any test
    (npusim.dram.energy's docstring: I/O x 36 / 32 wire bytes per payload byte, every power
    term (mW) halved over a die's two sub-channels, core terms as LPDDR5X)."""
    lpddr6, lpddr5x = energy_module._lpddr6_energy(), DramEnergy()
    assert (lpddr6.act_pre_pj, lpddr6.read_pj_per_bit, lpddr6.write_pj_per_bit) == (
        ACT_PRE_PJ, READ_PJ_PER_BIT, WRITE_PJ_PER_BIT)  # fmt: skip
    assert (lpddr6.refresh_ab_pj, lpddr6.refresh_pb_pj) == (REFAB_PJ, REFPB_PJ)
    assert lpddr6.io_pj_per_bit == IO_PJ_PER_BIT * 36 / 32
    assert (lpddr6.background_precharged_mw, lpddr6.background_active_mw) == (18.5, 23.5)
    halved = {f.name: getattr(lpddr5x, f.name) / 2 for f in fields(DramEnergy) if "_mw" in f.name}
    assert lpddr6 == replace(lpddr5x, io_pj_per_bit=IO_PJ_PER_BIT * 36 / 32, **halved)
    assert default_energy("LPDDR6_10667") == lpddr6
    assert default_energy("LPDDR5X_8533") == lpddr5x


def test_an_activation_of_a_4_kib_page_costs_twice_the_2_kib_anchor(dram_loop: str) -> None:
    """8B mode (8 banks, 4 KiB page, BL32: 64 B bursts): one read, one ACT of a 4 KiB page."""
    params = DramParams(bank_arch="8B", burst_length=32, mapping="RoBaCo", refresh="off")
    system = DramSystem(params)
    system.serve(np.array([0], dtype=np.uint64), False, 0)
    energy = system.stats().total.energy
    assert energy.act_pre_pj == pytest.approx(ACT_PRE_PJ * 4096 / 2048, rel=1e-12)
    assert energy.read_pj == pytest.approx(64 * 8 * READ_PJ_PER_BIT, rel=1e-12)


def test_energy_until_a_cycle_before_the_next_refresh_counts_no_refresh_of_the_tail(
    dram_loop: str,
) -> None:
    """A read at 7000 after the REFabs at 3125 and 6250: the next is due at 9375. Up to cycle
    100 (before the first arrival) the value is, as documented, the commands so far plus
    the precharged standby before cycle 100, and no refresh of an idle tail."""
    system = DramSystem(DramParams())
    system.serve(np.array([0], dtype=np.uint64), False, 7000)
    assert system.controllers[0].refresh_due == 3 * N_REFI
    commands_pj = system.stats().total.energy_total_pj
    assert system.energy_until(100) == pytest.approx(
        commands_pj + PRECHARGED_MW * 100 * TCK_NS, rel=1e-12
    )


# --- the Python loop's queue bookkeeping (npusim.dram.commands) -----------------------------


Issue = Callable[[PythonLoop, int, int, int], None]


def _mixed_bursts(count: int, seed: int, row_run: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Byte addresses of ``count`` bursts over banks 0-3 (one per bank group), rows 0-2 and
    eight columns each, about one in three a write: row hits, misses and conflicts mixed.
    Rows are random, or with ``row_run`` the same row for that many bursts in a row."""
    rng = np.random.default_rng(seed)
    bank_group, row = rng.integers(0, 4, count), rng.integers(0, 3, count)
    if row_run:
        row = np.arange(count) // row_run % 3
    column = rng.integers(0, 8, count)
    # RoBaCoBgCh, one channel: Bg bits 0-1, Co bits 2-7, Ba bits 8-9, Ro from bit 10
    bursts = (row << 10) | (column << 2) | bank_group
    return bursts.astype(np.uint64) * 32, rng.random(count) < 1 / 3


def _check_queue_state(loop: PythonLoop, left_at_act: bool) -> None:
    """Each bank's head row (``rq_head`` / ``wq_head``: the row of its queue's first request,
    -2 when the queue is empty; the streaming path decides on them) and the queue occupancy
    (``rcount`` / ``wcount``: queued requests, less those in an active slot when a request
    leaves its queue at its ACT) match the queues themselves."""
    for heads, rows in ((loop.rq_head, loop.rq_rows), (loop.wq_head, loop.wq_rows)):
        assert heads == [r[0] if r else -2 for r in rows]
    assert loop.rcount == sum(map(len, loop.rq)) - left_at_act * loop.pinned_reads
    assert loop.wcount == sum(map(len, loop.wq)) - left_at_act * loop.pinned_writes
    pinned = [p for p in loop.pinned if p >= 0]
    assert loop.pinned_writes == sum(loop.write_of[p] for p in pinned)
    assert loop.pinned_reads == len(pinned) - loop.pinned_writes


@pytest.mark.parametrize("release", ["activation", "column"])
def test_queue_heads_and_counts_stay_in_step_with_the_queues(
    release: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After every command of the general Python loop, the queue state of
    :func:`_check_queue_state`."""
    checks = []

    def checked(issue: Issue) -> Issue:
        def issue_and_check(loop: PythonLoop, b: int, t: int, req: int) -> None:
            issue(loop, b, t, req)
            _check_queue_state(loop, left_at_act=release == "activation")
            checks.append(b)

        return issue_and_check

    monkeypatch.setattr(loop_module, "issue_column", checked(commands_module.issue_column))
    monkeypatch.setattr(loop_module, "issue_row", checked(commands_module.issue_row))
    monkeypatch.setattr(ChannelController, "use_kernel", False)
    monkeypatch.setattr(ChannelController, "stream_fast_path", False)
    params = DramParams(refresh="off", read_queue_depth=6, write_queue_depth=4,
                        queue_release=release)  # fmt: skip
    addrs, writes = _mixed_bursts(120, seed=18)
    DramSystem(params).serve(addrs, writes, 0)
    assert len(checks) > 120  # every column command, and the row commands between them


def test_the_streaming_path_keeps_the_queue_state_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reads only, in runs of 24 on one row per bank then the next row (rows 0-2): after
    every streaming run of the Python loop, the queue state of :func:`_check_queue_state`."""
    runs = []

    def stream_and_check(loop: PythonLoop) -> None:
        stream_module.stream_row_hits(loop)
        _check_queue_state(loop, left_at_act=True)
        runs.append(loop.now)

    monkeypatch.setattr(loop_module, "stream_row_hits", stream_and_check)
    monkeypatch.setattr(ChannelController, "use_kernel", False)
    addrs, _ = _mixed_bursts(240, seed=19, row_run=24)
    DramSystem(DramParams(refresh="off", read_queue_depth=6)).serve(addrs, False, 0)
    assert len(runs) > 10


# --- the streaming path (npusim.dram.stream) -----------------------------------------------


def test_reads_that_hit_one_open_row_are_served_by_the_streaming_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """64 reads of one row of bank 0, all queued at 0 (read queue 32: the rest enter as
    slots free). The first activates the row and holds the bank's active slot until its RD;
    from then on the module's precondition holds at every decision (read mode, no write, no
    refresh, no active slot, the head hits), so the streaming path serves the other 63."""
    streamed = []

    def count_streamed(loop: PythonLoop) -> None:
        before = loop.finished
        stream_module.stream_row_hits(loop)
        streamed.append(loop.finished - before)

    monkeypatch.setattr(loop_module, "stream_row_hits", count_streamed)
    monkeypatch.setattr(ChannelController, "use_kernel", False)
    columns = np.arange(64, dtype=np.uint64)  # bank 0, row 0: Co in bits 2-7
    DramSystem(DramParams(refresh="off")).serve((columns << np.uint64(2)) * 32, False, 0)
    assert sum(streamed) == 63


@pytest.mark.parametrize("bank_1_first", [False, True])
def test_a_streamed_read_waits_for_its_banks_own_activation_bound(
    bank_1_first: bool, dram_loop: str
) -> None:
    """LPDDR6 activates a row for a write sooner than for a read: ACT -> WR is nRCDw = 22
    CK, ACT -> RD nRCDr = 48 CK, 24 command slots of 2 CK (JESD209-6 via Ramulator 2.1,
    tests/test_lpddr6.py). With the write-to-read turnaround shortened by override (nCWL 2,
    nWTR_S / nWTR_L 1 CK, which the checks accept), a read that hits the row a write just
    opened is bound by its bank's ACT + nRCD, after its bank group's and the channel's read
    bounds. Reads of bank 0 (group 0) stream while bank 1 (group 1) is opened by a write at
    200; its reads, queued after or before bank 0's (the oldest request decides first),
    must still come 24 slots or more after that ACT."""
    timing = {"nCWL": 2, "nWTR_S": 1, "nWTR_L": 1}
    system = DramSystem(
        DramParams(preset="LPDDR6_10667", burst_length=24, density="16Gb", refresh="off",
                   write_queue_depth=1, timing=timing),
        log_commands=True,
    )  # fmt: skip
    # RoBaCoBgCh, one channel: bank group in bits 0-1, column from bit 2 (32 B bursts)
    bank_0 = [column << 2 for column in range(10)]
    bank_1 = [column << 2 | 1 for column in range(3)]
    system.serve(np.array(bank_0[:4], dtype=np.uint64) * 32, False, 0)
    system.serve(np.array(bank_1[:1], dtype=np.uint64) * 32, True, 200)
    later = bank_1[1:] + bank_0[4:] if bank_1_first else bank_0[4:] + bank_1[1:]
    system.serve(np.array(later, dtype=np.uint64) * 32, False, 205)
    n_rcd_slots = 48 // 2
    last_act: dict[int, int] = {}
    reads = {0: 0, 1: 0}
    for cycle, command, bank, _ in system.command_logs[0]:
        if command == Command.ACT:
            last_act[bank] = cycle
        elif command == Command.RD:
            assert cycle - last_act[bank] >= n_rcd_slots, (cycle, bank)
            reads[bank] += 1
    assert last_act == {0: 0, 1: 200}  # one activation each: the rest are row hits
    assert reads == {0: 10, 1: 2}


def test_a_read_reaching_an_empty_queue_after_a_streamed_one_wakes_the_channel(
    dram_loop: str,
) -> None:
    """Power-down after 1.25 ns (one CK). Reads A and B arrive at 0 (bank 0, row 0): ACT 0,
    CAS 15, A's RD 16, B's RD 16 + nCCD_L = 20 (the Python loop streams it). The channel is
    idle from then: it powers down at 20 + 1, where read C arrives to an empty queue. C waits
    for the exit: the minimum residency nCKE, then nXP (7.5 ns each: 6 CK), and needs no CAS
    (WCK runs until B's RD + nCL + nBL + nWCKPST = 40): RD 21 + 6 + 6 = 33."""
    n_ccd_l, n_cke, n_xp = 4, 6, 6
    trace = Trace(
        addr=np.array([0, 4, 8], dtype=np.uint64) * 32,  # bank 0, row 0, columns 0-2
        is_write=np.zeros(3, dtype=bool),
        size_bytes=np.zeros(3, dtype=np.int64),
        arrival_cycle=np.array([0, 0, 21], dtype=np.int64),
    )
    system = DramSystem(DramParams(refresh="off", power_down_after_s=1.25e-9))
    rd_a = N_RCD + N_CAS
    rd_c = 21 + n_cke + n_xp
    assert system.run_trace(trace).tolist() == [
        rd_a + READ_DONE, rd_a + n_ccd_l + READ_DONE, rd_c + READ_DONE,
    ]  # fmt: skip


def test_a_streamed_read_leaves_the_stream_when_its_queue_next_misses(dram_loop: str) -> None:
    """Bank 0 queues A (row 0), A' (row 0) and B (row 1). ACT 0, CAS 15, A's RD 16; A' hits:
    RD 20 (nCCD_L 4, the Python loop streams it); B, now at the queue's head, misses and must
    precharge and activate: PRE at max(nRAS 34, A' + nRTP 8), ACT at PRE + nRP = 49 (= nRC),
    and WCK has stopped (A' + nCL + nBL + nWCKPST = 40): CAS 64, RD 65. One miss, one hit,
    one conflict."""
    row_bytes = 1 << 15  # RoBaCoBgCh: the row from bit 10 of the burst index, 32 B bursts
    system = DramSystem(DramParams(refresh="off"))
    done = system.serve(np.array([0, 4 * 32, row_bytes], dtype=np.uint64), False, 0)
    n_rtp = 8  # nBL_L 4 + tRBTP 4 CK (max(7.5 ns, 2 nCK) - 2 nCK; reference lpddr5.md)
    pre = max(N_RAS, 20 + n_rtp)
    act = pre + N_RP
    rd_b = act + N_RCD + N_CAS
    assert done.tolist() == [16 + READ_DONE, 20 + READ_DONE, rd_b + READ_DONE]
    total = system.stats().total
    assert (total.row_hits, total.row_misses, total.row_conflicts) == (1, 1, 1)
