"""Energy and area of one multiply-accumulate (MAC), per operand precision, as declared data.

Every default number derives from Horowitz, "Computing's Energy Problem (and what we can do
about it)", ISSCC 2014, 45 nm, 0.9 V (table copied in ``shared/reference/energy-45nm.md``):

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

A MAC is one multiply at the operand precision plus one add at the accumulator precision:
``mac = multiply(operand) + add(accumulator)``.

* ``int8`` / ``uint8``: 8-bit multiply + 32-bit add = 0.2 + 0.1 = 0.3 pJ, 282 + 137 = 419 um^2
  (the reference rounds to "about 0.3 pJ, 420 um^2"; Accelergy's 45 nm INT8 MAC is 0.315 pJ).
* ``fp32``: 32-bit float multiply + 32-bit float add = 3.7 + 0.9 = 4.6 pJ, 7700 + 4184 =
  11,884 um^2 (about 11,900; 15x the INT8 MAC energy, 28x its area).
* ``fp16``: 16-bit float multiply + 32-bit float add (FP32 accumulation, as in mixed-precision
  tensor units) = 1.1 + 0.9 = 2.0 pJ, 1640 + 4184 = 5824 um^2.
* ``bf16``, ``fp8_e4m3``, ``fp8_e5m2``: no published 45 nm figure. Derived: a float multiplier
  is modelled as ``a * s**2 + b`` where ``s`` is the significand width including the hidden bit
  (the significand array multiplier grows with its square; ``b`` covers exponent add and
  normalisation), fitted exactly through Horowitz's FP16 (s = 11) and FP32 (s = 24) multiply
  points. Energy: ``a = 2.6 / 455`` pJ, ``b = 1.1 - 121 a``; area: ``a = 6060 / 455`` um^2,
  ``b = 1640 - 121 a``. bf16 (s = 8): 0.774 pJ, 881 um^2; fp8_e4m3 (s = 4): 0.500 pJ, 242 um^2;
  fp8_e5m2 (s = 3): 0.460 pJ, 148 um^2; each plus the FP32 add. These are estimates from a
  two-point fit, not measurements.
* ``int4`` / ``uint4``, ``int2``, ``int16``: integer multiplier energy and area scale with
  bits^2 (an array multiplier has bits^2 partial-product cells). Horowitz's own points support
  the rule: 8 -> 32 bits is 16x by bits^2, measured 3.1 / 0.2 = 15.5x energy, 3495 / 282 =
  12.4x area. Scaled from the 8-bit multiply: int4 0.05 pJ, 70.5 um^2; int2 0.0125 pJ,
  17.6 um^2; int16 0.8 pJ, 1128 um^2; each plus the 32-bit add (INT32 accumulation), which
  therefore dominates at 4 bits and below.
* ``binary``: XNOR + popcount. The XNOR is a 1x1-bit multiply (bits^2 rule: 0.2 / 64 =
  0.003125 pJ, 282 / 64 = 4.41 um^2); a popcount tree of w inputs uses about w full adders, so
  one 1-bit add per MAC (integer add energy is linear in width: 0.1 / 32 = 0.003125 pJ, 137 / 32
  = 4.28 um^2); the popcount of a word of ``BINARY_POPCOUNT_WIDTH`` = 8 products is added once
  into the INT32 accumulator, 1/8 of a 32-bit add per MAC (0.0125 pJ, 17.1 um^2). Total
  0.01875 pJ, 25.8 um^2.

Accumulator adds available: ``int16``, ``int32`` (integer adds), ``fp16``, ``fp32`` (float
adds), all from the table above.

Node scaling: the table is at 45 nm. :class:`NodeScaling` multiplies every default energy and
area by declared factors with their source; the default is the identity at 45 nm. The only
built-in rule is :func:`ideal_area_factor`, first-order geometric scaling ``(node / 45)**2``;
energy factors depend on voltage and must be supplied with their source (for example the
fitted tables of Stillmaker and Baas, "Scaling equations for the accurate prediction of CMOS
device performance from 180 nm to 7 nm", Integration 58, 2017).

Overrides from a scenario (mapping precision -> pJ or um^2) replace the final value of that
precision as given (they are taken to be at the scenario's node and are not scaled).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from npusim.errors import ConfigError, Problem

BINARY_POPCOUNT_WIDTH = 8
"""Products per popcount word in a binary MAC before one INT32 accumulate (see module doc)."""


@dataclass(frozen=True)
class OpCost:
    """Energy (pJ) and area (um^2) of one arithmetic operation, with its source."""

    energy_pj: float
    area_um2: float
    source: str


_HOROWITZ = "Horowitz ISSCC 2014, 45 nm"


def _float_multiply(significand_bits: int) -> OpCost:
    """Two-point fit ``a * s**2 + b`` through Horowitz FP16 (s=11) and FP32 (s=24) multiplies."""
    s16, s32 = 11, 24
    e_a = (3.7 - 1.1) / (s32**2 - s16**2)
    a_a = (7700 - 1640) / (s32**2 - s16**2)
    return OpCost(
        energy_pj=e_a * significand_bits**2 + (1.1 - e_a * s16**2),
        area_um2=a_a * significand_bits**2 + (1640 - a_a * s16**2),
        source=f"fit a*s^2+b through {_HOROWITZ} FP16/FP32 multiply, s={significand_bits}",
    )


def _int_multiply(bits: int) -> OpCost:
    """bits^2 scaling of the Horowitz 8-bit integer multiply (0.2 pJ, 282 um^2)."""
    ratio = (bits / 8) ** 2
    return OpCost(0.2 * ratio, 282 * ratio, f"{_HOROWITZ} 8-bit multiply x (bits/8)^2")


ADD_COSTS: dict[str, OpCost] = {
    "int16": OpCost(0.05, 67, f"{_HOROWITZ} 16-bit integer add"),
    "int32": OpCost(0.1, 137, f"{_HOROWITZ} 32-bit integer add"),
    "fp16": OpCost(0.4, 1360, f"{_HOROWITZ} 16-bit float add"),
    "fp32": OpCost(0.9, 4184, f"{_HOROWITZ} 32-bit float add"),
}
"""Accumulator add cost by accumulator precision."""

_XNOR = _int_multiply(1)
_POPCOUNT_BIT = OpCost(0.1 / 32, 137 / 32, f"{_HOROWITZ} 32-bit add / 32 (one full adder)")

MULTIPLY_COSTS: dict[str, OpCost] = {
    "fp32": OpCost(3.7, 7700, f"{_HOROWITZ} 32-bit float multiply"),
    "fp16": OpCost(1.1, 1640, f"{_HOROWITZ} 16-bit float multiply"),
    "bf16": _float_multiply(8),
    "fp8_e4m3": _float_multiply(4),
    "fp8_e5m2": _float_multiply(3),
    "int16": _int_multiply(16),
    "int8": OpCost(0.2, 282, f"{_HOROWITZ} 8-bit integer multiply"),
    "uint8": OpCost(0.2, 282, f"{_HOROWITZ} 8-bit integer multiply"),
    "int4": _int_multiply(4),
    "uint4": _int_multiply(4),
    "int2": _int_multiply(2),
    "binary": OpCost(
        _XNOR.energy_pj + _POPCOUNT_BIT.energy_pj,
        _XNOR.area_um2 + _POPCOUNT_BIT.area_um2,
        "XNOR (1-bit multiply, bits^2 rule) + one popcount full adder",
    ),
}
"""Multiply (product-forming) cost by operand precision; binary includes its popcount adder."""

DEFAULT_ACCUMULATOR: dict[str, str] = {
    "fp32": "fp32",
    "fp16": "fp32",
    "bf16": "fp32",
    "fp8_e4m3": "fp32",
    "fp8_e5m2": "fp32",
    "int16": "int32",
    "int8": "int32",
    "uint8": "int32",
    "int4": "int32",
    "uint4": "int32",
    "int2": "int32",
    "binary": "int32",
}
"""INT32 accumulation for integer and binary operands, FP32 for floats."""

_ACCUMULATES_PER_MAC: dict[str, float] = {"binary": 1 / BINARY_POPCOUNT_WIDTH}


@dataclass(frozen=True)
class NodeScaling:
    """Technology-node factors applied to every default energy and area of this table.

    ``energy_factor`` and ``area_factor`` multiply the 45 nm values; ``source`` says where they
    come from. The default, :data:`NODE_45NM`, is the identity.
    """

    node_nm: float = 45.0
    energy_factor: float = 1.0
    area_factor: float = 1.0
    source: str = "native 45 nm table (Horowitz ISSCC 2014)"


NODE_45NM = NodeScaling()


def ideal_area_factor(node_nm: float) -> float:
    """First-order geometric area scaling from 45 nm: ``(node_nm / 45) ** 2``."""
    return (node_nm / 45.0) ** 2


def _unknown(precision: str) -> ConfigError:
    valid = ", ".join(MULTIPLY_COSTS)
    return ConfigError(Problem("precision", f"no MAC cost for {precision!r}; valid: {valid}"))


def mac_cost(
    precision: str, accumulator: str | None = None, node: NodeScaling = NODE_45NM
) -> OpCost:
    """Default cost of one MAC at ``precision`` accumulating into ``accumulator``.

    ``accumulator`` defaults to :data:`DEFAULT_ACCUMULATOR`. Raises :class:`ConfigError` for a
    precision or accumulator without a cost entry.
    """
    if precision not in MULTIPLY_COSTS:
        raise _unknown(precision)
    acc = accumulator or DEFAULT_ACCUMULATOR[precision]
    if acc not in ADD_COSTS:
        valid = ", ".join(ADD_COSTS)
        raise ConfigError(Problem("accumulator", f"unknown accumulator {acc!r}; valid: {valid}"))
    mult, add = MULTIPLY_COSTS[precision], ADD_COSTS[acc]
    share = _ACCUMULATES_PER_MAC.get(precision, 1.0)
    return OpCost(
        energy_pj=(mult.energy_pj + share * add.energy_pj) * node.energy_factor,
        area_um2=(mult.area_um2 + share * add.area_um2) * node.area_factor,
        source=f"{mult.source} + {share:g} x {add.source}; node: {node.source}",
    )


def mac_energy_pj(
    precision: str,
    overrides: Mapping[str, float] | None = None,
    accumulator: str | None = None,
    node: NodeScaling = NODE_45NM,
) -> float:
    """Energy of one MAC in pJ; ``overrides[precision]`` wins when present (unscaled)."""
    if overrides and precision in overrides:
        return float(overrides[precision])
    return mac_cost(precision, accumulator, node).energy_pj


def mac_area_um2(
    precision: str,
    overrides: Mapping[str, float] | None = None,
    accumulator: str | None = None,
    node: NodeScaling = NODE_45NM,
) -> float:
    """Area of one MAC unit in um^2; ``overrides[precision]`` wins when present (unscaled)."""
    if overrides and precision in overrides:
        return float(overrides[precision])
    return mac_cost(precision, accumulator, node).area_um2
