"""Traces that carry their data (issue 16): the DRAM I/O energy from the bit transitions of
the bytes each channel's data bus carries, in the order the controller served them, against
a per-bit count written here."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main
from npusim.dram import DramParams, DramSystem
from npusim.errors import TraceError
from npusim.trace import Trace
from npusim.trace_binary import read_binary_trace

BURST = 32  # bytes: LPDDR5 x16, BL16
# Default mapping RoBaCoBgCh on one channel: burst index = row | bank (2) | column (6) | group
# (2) from the top, so a byte address's row starts at bit 5 + 2 + 6 + 2 = 15.
ROW_1_SAME_BANK = 1 << 15
NEXT_COLUMN_SAME_BANK = 4 * BURST  # column 1, bank group 0


def transitions_by_hand(bursts: list[bytes], dbi: bool = False) -> int:
    """Line transitions of bursts sent back to back on 16 DQ lines (and 2 DBI lines), beat by
    beat (two bytes a beat), counted one bit at a time."""
    beats = []
    for burst in bursts:
        for k in range(0, len(burst), 2):
            lanes = []
            for byte in burst[k : k + 2]:
                invert = dbi and bin(byte).count("1") > 4
                lanes.append(((byte ^ 0xFF) if invert else byte, invert))
            beats.append(lanes)
    count = 0
    for before, after in pairwise(beats):
        for (b0, d0), (b1, d1) in zip(before, after, strict=True):
            count += sum(((b0 >> i) & 1) != ((b1 >> i) & 1) for i in range(8))
            count += dbi and d0 != d1
    return count


def _serve(addrs: list[int], data: list[bytes], dbi: bool = False) -> tuple[DramSystem, list]:
    system = DramSystem(DramParams(io_energy="data", dbi=dbi))
    trace = Trace(np.array(addrs, dtype=np.uint64), np.zeros(len(addrs), bool),
                  np.zeros(len(addrs), np.int64), None,
                  np.frombuffer(b"".join(data), dtype=np.uint8))  # fmt: skip
    done = system.run_trace(trace)
    return system, done.tolist()


def test_io_energy_counts_the_transitions_in_the_order_the_bus_carried_the_bursts() -> None:
    """Row 0, row 1 (a conflict in the same bank), row 0 again: a row-hit-first scheduler
    serves the third before the second, so the bus carries zeros, zeros, ones: one switch of
    all 16 lines (trace order would give two). I/O energy = transitions x 2 x 0.5 pJ."""
    zeros, ones, more_zeros = bytes(BURST), bytes([0xFF]) * BURST, bytes(BURST)
    system, done = _serve([0, ROW_1_SAME_BANK, NEXT_COLUMN_SAME_BANK], [zeros, ones, more_zeros])
    order = sorted(range(3), key=done.__getitem__)
    assert order == [0, 2, 1]
    bus = [[zeros, ones, more_zeros][i] for i in order]
    expected = transitions_by_hand(bus)
    assert expected == 16 and transitions_by_hand([zeros, ones, more_zeros]) == 32
    [activity] = system.io_activity
    assert activity is not None and activity.toggles == expected
    energy = system.stats().total.energy
    assert energy.io_pj == pytest.approx(expected * 2 * system.energy.io_pj_per_bit)


def test_random_bytes_cost_the_flat_price_and_dbi_never_adds_ones_per_byte() -> None:
    """Random data toggles each line on about half the beats, so its I/O energy is the flat
    per-bit price within 2 %; DBI-DC sends no byte with more than four ones."""
    rng = np.random.default_rng(7)
    data = [rng.integers(0, 256, BURST, dtype=np.uint8).tobytes() for _ in range(256)]
    addrs = [k * BURST for k in range(256)]
    flat = 256 * BURST * 8 * DramSystem().energy.io_pj_per_bit
    for dbi in (False, True):
        system, done = _serve(addrs, data, dbi)
        order = sorted(range(256), key=done.__getitem__)
        [activity] = system.io_activity
        assert activity is not None
        assert activity.toggles == transitions_by_hand([data[i] for i in order], dbi)
        if not dbi:
            assert system.stats().total.energy.io_pj == pytest.approx(flat, rel=0.02)
    from npusim.dram.io_bits import dbi_dc, lane_beats

    sent, _ = dbi_dc(lane_beats(b"".join(data)))
    assert max(bin(int(b)).count("1") for b in sent.reshape(-1)) <= 4


def test_data_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(TraceError, match="cover 2 bursts of 32 B = 64 bytes"):
        _serve([0, BURST], [bytes(BURST), bytes(BURST - 2)])


def test_a_npz_trace_carries_its_data_and_the_cli_prices_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    n = 64
    addr = np.arange(n, dtype=np.uint64) * BURST
    zeros = tmp_path / "zeros.npz"
    np.savez(zeros, addr=addr, is_write=np.zeros(n, bool), data=np.zeros(n * BURST, np.uint8))
    trace = read_binary_trace(zeros)
    assert trace.data is not None and trace.data.size == n * BURST
    assert main(["dram", str(zeros), "--io-energy", "data", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"io_toggles_per_bit": 0.0' in out and '"io_pj": 0.0' in out
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, addr=addr, is_write=np.zeros(n, bool), data=np.zeros(n * BURST, np.int16))
    plain = tmp_path / "plain.npz"
    np.savez(plain, addr=addr, is_write=np.zeros(n, bool))
    for path, message in ((wrong, "expected uint8"), (plain, "needs a trace carrying")):
        assert main(["dram", str(path), "--io-energy", "data"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
