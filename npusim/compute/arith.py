"""Energy and area of arithmetic parts at 45 nm, built up from Horowitz's table.

Every constant comes from Horowitz, "Computing's Energy Problem (and what we can do about it)",
ISSCC 2014, 45 nm, 0.9 V (table in ``shared/reference/energy-45nm.md``):

=========================  ===========  ============
operation                  energy (pJ)  area (um^2)
=========================  ===========  ============
8-bit integer add          0.03         36
16-bit integer add         0.05         67
32-bit integer add         0.1          137
16-bit float add           0.4          1360
32-bit float add           0.9          4184
8-bit integer multiply     0.2          282
32-bit integer multiply    3.1          3495
16-bit float multiply      1.1          1640
32-bit float multiply      3.7          7700
=========================  ===========  ============

Parts (``w`` a width in bits, ``s`` a significand width including the hidden bit, ``e`` an
exponent width):

* :func:`int_add` ``(w)``: piecewise linear through the 8/16/32-bit adds (a ripple or
  prefix adder grows about linearly with its width), proportional below 8 bits, the 16-32
  segment extended above 32.
* :func:`int_multiply` ``(a, b)``: the 8-bit multiply times ``a * b / 64``: an array
  multiplier has ``a * b`` partial-product cells. Horowitz's own points support it: 8 -> 32
  bits is 16x by this rule, measured 3.1 / 0.2 = 15.5x energy, 3495 / 282 = 12.4x area.
* :func:`shifter` ``(w)``: a logarithmic barrel shifter of ``L = ceil(log2 w)`` stages,
  ``w * L`` 2:1 multiplexer cells (:data:`MUX_CELL`) and its wiring: stage ``k`` moves every
  bit ``2**k`` bit pitches, so the stages' tracks span ``w * (2**L - 1)`` bit pitches
  (:data:`SHIFT_WIRE`, area only). Energy: the cell is what remains of the 32-bit float add
  once its adders are taken out, and the 16-bit float add it predicts is 0.396 pJ, 1 % under
  Horowitz's 0.4 (tests). A wire energy fitted through both float adds comes out negative
  (-1.4e-5 pJ per pitch): the energy data hold no wire term beyond what the cell carries, so
  energy keeps the one-parameter fit. Area: cells alone (14.6 um^2 each from the 32-bit add)
  put the 16-bit float add at 1760 um^2, 29 % over Horowitz's 1360 (FP32/FP16 area is 3.1x,
  cells grow 2.4x): the area grows faster than the cell count, as wire-dominated shifters do.
  Cell and wire area are therefore solved through both float adds (exact at 1360 and 4184
  um^2); the check on the fit is physical: a cell of 5.5 um^2 is 1.3x the 4.3 um^2 of one bit
  of the 32-bit adder (137 / 32; a 2:1 mux is smaller than a full adder, a shifter cell adds
  its share of control and sticky logic), and a pitch of track 1.46 um^2 (tests bound both).
* :func:`float_add` ``(e, s)``: exponent compare (``int_add(e)``), alignment shift of the
  smaller operand (``shifter(s + 3)``: guard, round and sticky bits), significand add
  (``int_add(s + 3)``), leading-zero normalization shift (``shifter(s + 3)``), rounding
  increment (``int_add(s)``). For FP32 (e = 8, s = 24) this is Horowitz's 0.9 pJ by
  construction of :data:`MUX_CELL`.
* :data:`REGISTER_BIT`: one flip-flop bit latched (a PE's pipeline or accumulating register).
  Horowitz gives no register; Aladdin's 40 nm library (Shao et al., "Aladdin: a pre-RTL,
  power-performance accelerator simulator", ISCA 2014; table as in Accelergy's Aladdin
  plug-in) has 0.009 pJ and 5.98 um^2 per register bit next to 0.21 pJ and 278 um^2 for a
  32-bit add. That ratio, carried onto Horowitz's 32-bit add (0.1 pJ, 137 um^2), gives
  4.3 fJ and 2.95 um^2 per bit, consistent with the rest of this table.
* :func:`float_multiply` ``(e, s)``: exponent add (``int_add(e + 1)``) plus a significand
  datapath ``alpha * s**2 + beta * s``: the partial-product array (``s**2`` cells) and the
  normalization and rounding of the product (linear in ``s``). ``alpha`` and ``beta`` are
  solved exactly through Horowitz's FP16 (s = 11) and FP32 (s = 24) multiplies. The fitted
  array cell, 4.2 fJ, is 1.35x the integer multiplier's 0.2 / 64 = 3.1 fJ per cell (tests
  keep it within 1.5x): the fit is physical, not only two points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class OpCost:
    """Energy (pJ) and area (um^2) of one arithmetic operation, with its source."""

    energy_pj: float
    area_um2: float
    source: str

    def __add__(self, other: OpCost) -> OpCost:
        return OpCost(self.energy_pj + other.energy_pj, self.area_um2 + other.area_um2,
                      f"{self.source} + {other.source}")  # fmt: skip

    def times(self, factor: float, source: str | None = None) -> OpCost:
        """This cost ``factor`` times (``source`` replaces the description when given)."""
        return OpCost(self.energy_pj * factor, self.area_um2 * factor,
                      source or f"{factor:g} x ({self.source})")  # fmt: skip


HOROWITZ = "Horowitz ISSCC 2014, 45 nm"

# (bits, pJ, um^2) of the integer adds in the table above.
_INT_ADDS: tuple[tuple[int, float, float], ...] = ((8, 0.03, 36), (16, 0.05, 67), (32, 0.1, 137))
_INT8_MULTIPLY = OpCost(0.2, 282, f"{HOROWITZ} 8-bit integer multiply")
_FP16_MULTIPLY = (11, 5, 1.1, 1640)  # significand bits, exponent bits, pJ, um^2
_FP32_MULTIPLY = (24, 8, 3.7, 7700)
_FP32_ADD = (24, 8, 0.9, 4184)
_FP16_ADD = (11, 5, 0.4, 1360)
ROUNDING_BITS = 3
"""Guard, round and sticky bits carried through a float add's alignment and sum."""


_ALADDIN_REGISTER_BIT = (0.009, 5.98)  # pJ, um^2 per bit, 40 nm
_ALADDIN_ADD32 = (0.21, 278.0)  # pJ, um^2, 40 nm
REGISTER_BIT = OpCost(
    0.1 * _ALADDIN_REGISTER_BIT[0] / _ALADDIN_ADD32[0],
    137 * _ALADDIN_REGISTER_BIT[1] / _ALADDIN_ADD32[1],
    f"Aladdin 40 nm register bit / 32-bit add, x {HOROWITZ} 32-bit add",
)
"""One register bit latched: about 4.3 fJ, 2.95 um^2 (module doc)."""


def int_add(bits: float) -> OpCost:
    """A ``bits``-wide integer adder (see the module doc); ``bits > 0``."""
    if bits <= _INT_ADDS[0][0]:
        b0, e0, a0 = _INT_ADDS[0]
        return OpCost(e0 * bits / b0, a0 * bits / b0, f"{HOROWITZ} 8-bit add x {bits:g}/8")
    index = 0 if bits <= _INT_ADDS[1][0] else 1
    (b0, e0, a0), (b1, e1, a1) = _INT_ADDS[index], _INT_ADDS[index + 1]
    t = (bits - b0) / (b1 - b0)
    return OpCost(e0 + t * (e1 - e0), a0 + t * (a1 - a0),
                  f"{HOROWITZ} integer adds interpolated to {bits:g} bits")  # fmt: skip


def int_multiply(a_bits: float, b_bits: float) -> OpCost:
    """An ``a_bits x b_bits`` array multiplier: the 8-bit multiply x ``a * b / 64``."""
    source = f"{HOROWITZ} 8-bit multiply x {a_bits:g}*{b_bits:g}/64"
    return _INT8_MULTIPLY.times(a_bits * b_bits / 64, source)


def _stages(bits: int) -> int:
    return math.ceil(math.log2(bits)) if bits > 1 else 0


def _float_add_rest(point: tuple[int, int, float, float]) -> tuple[float, float, int, int]:
    """(energy, area) of a Horowitz float add less its adders, and its two shifters' cells
    and wire pitches."""
    s, e, energy, area = point
    wide = s + ROUNDING_BITS
    adders = int_add(e) + int_add(wide) + int_add(s)
    stages = _stages(wide)
    return (energy - adders.energy_pj, area - adders.area_um2, 2 * wide * stages,
            2 * wide * ((1 << stages) - 1))  # fmt: skip


def _shifter_fit() -> tuple[OpCost, OpCost]:
    """(cell, wire pitch): cell energy from the FP32 add alone; cell and wire area solved
    through the FP16 and FP32 adds (module doc)."""
    e32, a32, cells32, wires32 = _float_add_rest(_FP32_ADD)
    _, a16, cells16, wires16 = _float_add_rest(_FP16_ADD)
    wire_area = (a32 * cells16 - a16 * cells32) / (wires32 * cells16 - wires16 * cells32)
    cell_area = (a16 - wire_area * wires16) / cells16
    cell = OpCost(e32 / cells32, cell_area,
                  f"{HOROWITZ} float adds less their adders, per shifter cell")  # fmt: skip
    wire = OpCost(0.0, wire_area, f"{HOROWITZ} float adds' shifter wiring, per bit pitch")
    return cell, wire


MUX_CELL, SHIFT_WIRE = _shifter_fit()
"""A barrel shifter's 2:1 multiplexer cell (about 2.6 fJ, 5.5 um^2) and one bit pitch of its
stages' tracks (area only, about 1.46 um^2)."""


def shifter_stages(bits: int, stages: int) -> OpCost:
    """A ``bits``-wide logarithmic shifter of ``stages`` stages (shifts up to
    ``2**stages - 1``): ``bits * stages`` cells and ``bits * (2**stages - 1)`` wire pitches."""
    cells, wires = MUX_CELL.times(bits * stages), SHIFT_WIRE.times(bits * ((1 << stages) - 1))
    return OpCost(cells.energy_pj + wires.energy_pj, cells.area_um2 + wires.area_um2,
                  f"{bits}-bit {stages}-stage shifter")  # fmt: skip


def shifter(bits: int) -> OpCost:
    """A ``bits``-wide barrel shifter: :func:`shifter_stages` with ``ceil(log2 bits)``."""
    return shifter_stages(bits, _stages(bits))


def float_add(exponent_bits: int, significand_bits: int) -> OpCost:
    """A float adder of the format (see the module doc for its five parts)."""
    wide = significand_bits + ROUNDING_BITS
    parts = (int_add(exponent_bits) + shifter(wide) + int_add(wide) + shifter(wide)
             + int_add(significand_bits))  # fmt: skip
    return OpCost(parts.energy_pj, parts.area_um2,
                  f"float add e{exponent_bits} s{significand_bits}: exponent compare, align, "
                  f"add, normalize, round ({HOROWITZ} parts)")  # fmt: skip


def _significand_fit(index: int) -> tuple[float, float]:
    """(alpha, beta) of ``alpha s^2 + beta s`` through the FP16 and FP32 multiplies, for
    energy (``index`` 2) or area (``index`` 3), after their exponent adders."""
    rows = []
    for point in (_FP16_MULTIPLY, _FP32_MULTIPLY):
        s, e = point[0], point[1]
        exponent = int_add(e + 1)
        rows.append((s, point[index] - (exponent.energy_pj, exponent.area_um2)[index - 2]))
    (s0, y0), (s1, y1) = rows
    alpha = (y1 / s1 - y0 / s0) / (s1 - s0)
    return alpha, y0 / s0 - alpha * s0


SIGNIFICAND_ENERGY_PJ = _significand_fit(2)
"""(alpha pJ per partial-product cell, beta pJ per significand bit) of a float multiplier."""
SIGNIFICAND_AREA_UM2 = _significand_fit(3)
"""(alpha, beta) of a float multiplier's area, um^2."""


def float_multiply(exponent_bits: int, significand_bits: int) -> OpCost:
    """A float multiplier: exponent add plus the significand datapath (module doc)."""
    s = significand_bits
    (ea, eb), (aa, ab) = SIGNIFICAND_ENERGY_PJ, SIGNIFICAND_AREA_UM2
    significand = OpCost(ea * s * s + eb * s, aa * s * s + ab * s, "")
    total = int_add(exponent_bits + 1) + significand
    return OpCost(total.energy_pj, total.area_um2,
                  f"float multiply e{exponent_bits} s{s}: exponent add + significand "
                  f"alpha*s^2 + beta*s fitted through {HOROWITZ} FP16/FP32 multiplies")  # fmt: skip
