"""I/O activity from real bytes: toggles against a bit-by-bit reference, DBI-DC's bound, and
the calibration of the energy per toggle on random data (npusim.dram.io_bits)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.dram.energy import DramEnergy
from npusim.dram.io_bits import IO_PJ_PER_TOGGLE, dbi_dc, io_activity, lane_beats


def _reference_toggles(data: bytes, dbi: bool) -> tuple[int, int]:
    """Bit by bit: the 16 DQ levels (and 2 DBI levels) of each beat, transitions and ones."""
    levels = []
    for k in range(0, len(data), 2):
        beat = []
        for lane in range(2):
            byte = data[k + lane]
            ones = bin(byte).count("1")
            invert = dbi and ones > 4
            sent = byte ^ 0xFF if invert else byte
            beat += [(sent >> bit) & 1 for bit in range(8)]
            if dbi:
                beat.append(1 if invert else 0)
        levels.append(beat)
    pairs = itertools.pairwise(levels)
    toggles = sum(a != b for prev, cur in pairs for a, b in zip(prev, cur, strict=True))
    return toggles, sum(map(sum, levels))


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=2, max_size=256).filter(lambda b: len(b) % 2 == 0), st.booleans())
def test_toggles_and_ones_equal_a_bit_by_bit_reference(data: bytes, dbi: bool) -> None:
    activity = io_activity(data, dbi=dbi)
    assert (activity.toggles, activity.ones) == _reference_toggles(data, dbi)
    assert activity.beats == len(data) // 2
    assert activity.lines == (18 if dbi else 16)


@settings(max_examples=100, deadline=None)
@given(st.binary(min_size=2, max_size=256).filter(lambda b: len(b) % 2 == 0))
def test_dbi_never_increases_the_ones_of_a_byte_lane_and_decodes_back(data: bytes) -> None:
    beats = lane_beats(data)
    sent, flags = dbi_dc(beats)
    ones = np.vectorize(lambda v: bin(int(v)).count("1"))
    before = ones(beats)
    after = ones(sent) + flags  # the DBI line's high level counts too
    # more than four ones: sent inverted (at most three) plus the DBI line; else as is
    assert np.all(after <= np.minimum(before, 4))
    assert np.array_equal(np.where(flags, sent ^ 0xFF, sent), beats)


def test_random_data_costs_the_flat_io_energy_per_bit() -> None:
    # The per-toggle energy is calibrated on random data (toggle rate 1/2): 1 MiB of random
    # bytes must cost the flat 0.5 pJ/bit within the sampling error (about 0.1 %).
    data = np.random.default_rng(16).integers(0, 256, 1 << 20, dtype=np.uint8)
    activity = io_activity(data)
    assert activity.toggle_rate == pytest.approx(0.5, abs=0.002)
    per_bit = activity.energy_pj() / activity.bits
    assert per_bit == pytest.approx(DramEnergy().io_pj_per_bit, rel=0.005)
    assert IO_PJ_PER_TOGGLE == 1.0


def test_zeros_do_not_toggle_and_alternating_bytes_toggle_every_line() -> None:
    assert io_activity(bytes(64)).toggles == 0
    alternating = bytes([0x00, 0x00, 0xFF, 0xFF] * 16)  # beats 0000, FFFF, 0000, ...
    activity = io_activity(alternating)
    assert activity.toggles == 16 * (activity.beats - 1)
    assert io_activity(alternating, dbi=True).toggles == 2 * (activity.beats - 1)  # DBI only


def test_a_partial_beat_is_an_error() -> None:
    with pytest.raises(ValueError, match="whole beats"):
        io_activity(b"\x01\x02\x03")
