"""One channel's resolved timing (:class:`Timing`, in the preset's cycles) and JEDEC's rounding
of a time in ns to clock cycles. The tables it is resolved from, and their sources, are in
:mod:`npusim.dram.standard`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


def ck_from_ns(t_ns: float, tck_ps: int) -> int:
    """Round a time in ns up to CK cycles with JEDEC's 2.6 % guard band.

    Ramulator 2 ``JEDEC_rounding``: ``nCK = floor((t_ps * 1000 / tCK_ps + 974) / 1000)``.
    """
    t_ps = round(t_ns * 1000)
    return (t_ps * 1000 // tck_ps + 974) // 1000


@dataclass(frozen=True)
class Timing:
    """Resolved timing of one channel, all in cycles of its preset's ``tck_ps`` (CK for
    LPDDR5/5X, the two-CK command slot for LPDDR6; names follow reference lpddr5.md)."""

    nBL: int
    nBL_L: int
    nCL: int
    nCWL: int
    nRCD: int
    nRP: int
    nRPab: int
    nRAS: int
    nRC: int
    nWR: int
    nRTP: int
    nPPD: int
    nCCD_S: int
    nCCD_L: int
    nRRD: int
    nFAW: int
    nWTR_S: int
    nWTR_L: int
    nRFCab: int
    nRFCpb: int
    nREFI: int
    nREFIpb: int
    nPBR2PBR: int
    nPBR2ACT: int
    nAAD: int
    nCAS: int
    nWCKPST: int
    nRCD_W: int = 0
    """ACT to WR when shorter than ACT to RD (LPDDR6 tRCDw); 0: nRCD for both."""
    nRTW_L: int = 0
    """RD to WR in the same bank group when longer than in another (LPDDR6 tRTW_L, BL/n_max);
    0: ``rd_to_wr`` for both."""
    nXP: int = 0
    """Power-down exit to the first command; nCKE: minimum power-down residency. Both from ns
    at :func:`resolve_timing` (:mod:`npusim.dram.powerdown`: tXP = tCKE = 7.5 ns)."""
    nCKE: int = 0
    nXSR: int = 0
    """Self-refresh exit to the first command (tRFCab + 7.5 ns); nSR: minimum self-refresh
    residency (15 ns). From ns at :func:`resolve_timing` (:mod:`npusim.dram.powerdown`)."""
    nSR: int = 0
    nRTW_gap: int = 2
    """Cycles from the end of a read burst to the start of a write burst on the bus: 2 CK
    for LPDDR5 (reference "Derived turnarounds"); LPDDR6: nRTW_S - (nRL + nBL_min - nWL)."""

    @property
    def rd_to_wr(self) -> int:
        """RD -> WR turnaround, nCL + nBL + nRTW_gap - nCWL (reference "Derived turnarounds":
        nCL + nBL + 2 - nCWL)."""
        return self.nCL + self.nBL + self.nRTW_gap - self.nCWL

    @property
    def rcd_write(self) -> int:
        """ACT -> WR of the same bank: nRCD_W, or nRCD when the standard has one tRCD."""
        return self.nRCD_W or self.nRCD

    @property
    def rd_to_wr_l(self) -> int:
        """RD -> WR in the same bank group: nRTW_L, or ``rd_to_wr`` when the standard makes
        no difference."""
        return max(self.nRTW_L, self.rd_to_wr)

    @property
    def wr_to_rd_s(self) -> int:
        """WR -> RD in another bank group, nCWL + nBL + nWTR_S."""
        return self.nCWL + self.nBL + self.nWTR_S

    @property
    def wr_to_rd_l(self) -> int:
        """WR -> RD in the same bank group, nCWL + nBL_L + nWTR_L."""
        return self.nCWL + self.nBL_L + self.nWTR_L

    @property
    def wr_to_pre(self) -> int:
        """WR -> PRE of the same bank, nCWL + nBL + nWR."""
        return self.nCWL + self.nBL + self.nWR


TIMING_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Timing))
