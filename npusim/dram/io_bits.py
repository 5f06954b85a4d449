"""I/O activity of real data on an x16 LPDDR5 channel: DQ toggles, ones, and DBI-DC.

A burst of ``burst_bytes`` crosses the 16 DQ lines in ``burst_bytes / 2`` beats; beat k carries
bytes 2k (byte lane 0, DQ0-7) and 2k+1 (byte lane 1, DQ8-15) of the burst, and consecutive
bursts follow each other on the lines, so a transition is counted between every pair of
consecutive beats of the stream (JESD209-5B: x16 channel, two byte lanes, each with its own
DBI line). With DBI-DC (``dbi=True``) a byte with more than four ones is sent inverted and its
lane's DBI line is driven high: LPDDR5's LVSTL I/O is terminated to VSSQ, so a high level
costs termination current and DBI-DC bounds the ones of a byte lane to four, DBI line
included (JESD209-5B, DBI-DC; the same rule as LPDDR4).

Energy: ``IO_PJ_PER_TOGGLE`` is calibrated on npusim's flat I/O term, ``io_pj_per_bit`` 0.5
pJ/bit (reference lpddr5.md, VDDQ 0.5 V x about 112 mA read current, see
:mod:`npusim.dram.energy`): that figure holds for random data, where a DQ line toggles on
half of the beats, so one toggle costs 2 x 0.5 = 1.0 pJ. Data that toggles less (zeros, small
INT8 values) costs less than the flat figure and data that toggles more costs more. The flat
per-bit term stays the default everywhere; this module measures bursts whose bytes are known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from npusim.dram.energy import DramEnergy

BYTE_LANES = 2
"""Byte lanes of an x16 channel (DQ0-7 and DQ8-15), each with a DBI line."""

IO_PJ_PER_TOGGLE = 2 * DramEnergy().io_pj_per_bit
"""pJ per DQ (or DBI) line transition: the flat 0.5 pJ/bit at the toggle rate 1/2 of random
data (module docstring)."""

_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)


@dataclass(frozen=True)
class IoActivity:
    """Line activity of a stream of bursts: ``toggles`` (DQ and, with DBI, DBI transitions
    between consecutive beats), ``ones`` (high levels over all beats, DBI lines included),
    ``beats`` and ``bits`` (data bits moved)."""

    toggles: int
    ones: int
    beats: int
    bits: int
    lines: int

    @property
    def toggle_rate(self) -> float:
        """Transitions per line per beat boundary, in [0, 1] (0.5 for random data)."""
        boundaries = (self.beats - 1) * self.lines
        return self.toggles / boundaries if boundaries > 0 else 0.0

    @property
    def toggles_per_bit(self) -> float:
        """Line transitions per data bit moved (0.5 for random data; DBI lines included)."""
        return self.toggles / self.bits if self.bits else 0.0

    def energy_pj(self, pj_per_toggle: float = IO_PJ_PER_TOGGLE) -> float:
        """I/O energy of the stream in pJ at ``pj_per_toggle`` (default: module docstring)."""
        return self.toggles * pj_per_toggle

    def __add__(self, other: IoActivity) -> IoActivity:
        """Two streams' activity (the transition between them is not counted)."""
        return IoActivity(self.toggles + other.toggles, self.ones + other.ones,
                          self.beats + other.beats, self.bits + other.bits,
                          max(self.lines, other.lines))  # fmt: skip


def lane_beats(data: np.ndarray | bytes) -> np.ndarray:
    """The bytes as beats: a (beats, 2) uint8 array, row k = bytes 2k and 2k + 1.

    ``data`` holds whole bursts in bus order (a length that is a multiple of 2 bytes);
    raises ``ValueError`` otherwise."""
    raw = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else np.asarray(data)
    raw = raw.astype(np.uint8, copy=False).reshape(-1)
    if raw.size % BYTE_LANES:
        raise ValueError(f"expected whole beats of {BYTE_LANES} bytes, found {raw.size} bytes")
    return raw.reshape(-1, BYTE_LANES)


def dbi_dc(beats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DBI-DC encoding of (beats, 2) uint8 beats: (sent bytes, DBI line levels as bool); a
    byte with more than four ones is inverted and its DBI line is high."""
    invert = _POPCOUNT[beats] > 4
    return np.where(invert, beats ^ 0xFF, beats).astype(np.uint8), invert


def io_activity(data: np.ndarray | bytes, dbi: bool = False) -> IoActivity:
    """Toggles and ones of ``data`` (bursts in bus order, see :func:`lane_beats`) sent back
    to back on an x16 channel, with or without DBI-DC."""
    beats = lane_beats(data)
    lines = 8 * BYTE_LANES
    sent, flags = dbi_dc(beats) if dbi else (beats, np.zeros(beats.shape, dtype=bool))
    toggles = int(_POPCOUNT[sent[1:] ^ sent[:-1]].sum())
    ones = int(_POPCOUNT[sent].sum())
    if dbi:
        lines += BYTE_LANES
        toggles += int((flags[1:] != flags[:-1]).sum())
        ones += int(flags.sum())
    return IoActivity(toggles, ones, int(beats.shape[0]), int(beats.size) * 8, lines)


def channel_activity(
    channel: np.ndarray, done_ck: np.ndarray, bursts: np.ndarray, channels: int, dbi: bool
) -> list[IoActivity | None]:
    """Each channel's activity for bursts of data served by the controllers: ``channel`` and
    ``done_ck`` (int arrays, one entry per burst: its channel and the cycle its last beat
    left the bus) and ``bursts`` (uint8, one row of bytes per burst). A channel's data bus
    carries its bursts in the order they finish (bursts never overlap on it), back to back;
    None for a channel that moved nothing."""
    out: list[IoActivity | None] = []
    for index in range(channels):
        mine = np.flatnonzero(channel == index)
        order = mine[np.argsort(done_ck[mine], kind="stable")]
        out.append(io_activity(bursts[order], dbi) if order.size else None)
    return out
