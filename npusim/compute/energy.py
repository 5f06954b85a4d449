"""Energy and area of one multiply-accumulate (MAC), per operand format, from its parts.

A MAC is one multiply at the operand format plus one add at the accumulator format:
``mac = multiply(operand) + add(accumulator)``, each built from the cited 45 nm parts of
:mod:`npusim.compute.arith` (Horowitz ISSCC 2014):

* integer operands (``int2`` .. ``int16``, ``uint4``, ``uint8``): a ``w x w`` array multiplier
  (8-bit multiply x ``w**2 / 64``) plus a ``int32`` (or ``int16``) adder. INT8: 0.2 + 0.1 =
  0.3 pJ, 282 + 137 = 419 um^2 (the reference's "about 0.3 pJ, 420 um^2"; Accelergy's 45 nm
  INT8 MAC is 0.315 pJ). INT4 0.05 + 0.1 pJ: at 4 bits and below the INT32 adder dominates.
* float operands (``fp8_e5m2``, ``fp8_e4m3``, ``bf16``, ``fp16``, ``fp32``): a float
  multiplier by significand and exponent width (exponent add, partial-product array,
  normalization and rounding) plus a float adder of the accumulator's format (exponent
  compare, alignment shift, significand add, normalization shift, rounding). FP32: 3.7 + 0.9
  = 4.6 pJ and FP16 (FP32 accumulation): 1.1 + 0.9 = 2.0 pJ, Horowitz's figures exactly; FP8
  E4M3 0.29 + 0.40 = 0.69 pJ (2.3x INT8), E5M2 0.22 + 0.40 = 0.61 pJ (2.0x), inside the
  1.5-2.8x that van Baalen et al., "FP8 versus INT8 for efficient deep learning inference"
  (arXiv 2303.17951, 2023), find in dedicated hardware ("50-180 % less efficient"). FP8
  accumulates in FP16 by default (:data:`DEFAULT_ACCUMULATOR`): with an FP32 adder it costs
  1.19 pJ, 4.0x INT8, above their range, because Horowitz's FP32 adder is a full IEEE adder.
* ``binary``: XNOR + popcount. The XNOR is a 1x1 multiply (0.2 / 64 pJ); a popcount tree of
  ``w`` inputs uses about ``w`` full adders, so one 1-bit add per MAC; the popcount of a word
  of ``BINARY_POPCOUNT_WIDTH`` = 8 products is added once into the INT32 accumulator, 1/8 of
  a 32-bit add per MAC. Total 0.01875 pJ, 25.8 um^2.

Block-scaled (OCP MX v1.0) MACs, :func:`block_scaled_mac_cost`: the spec's dot product of two
blocks is ``X_a * X_b * sum_i(P_a,i * P_b,i)`` with the inner sum's precision left to the
implementation; npusim's unit sums a block exactly in fixed point: per MAC an element product
(``int_multiply(s, s)``, plus ``int_add(e + 1)`` for the exponents of float elements), the
product shifted into place by its exponent (a ``W``-bit shifter of ``ceil(log2(span + 1))``
stages, :func:`npusim.compute.arith.shifter_stages`, span ``2 (2**e - 1)`` exponent steps)
and added into a ``W = 2s + span + log2(block)``-bit sum; per block, shared over its 32
MACs, the two E8M0 scales added (``int_add(9)``) and the block's sum added into an FP32
accumulator (``float_add(8, 24)``). MXINT8 (no exponents): 0.30 pJ, the INT8 MAC's; MXFP4
E2M1 0.22 pJ; MXFP8 E4M3 0.80 pJ (its 43-bit exact sum and shifter cost more than FP8's FP16
adder); NVFP4 (E2M1 in 16-element blocks, E4M3 block scales multiplied per block) 0.25 pJ.

Node scaling: the parts are at 45 nm. :class:`NodeScaling` multiplies every default energy and
area by declared factors with their source (the scenario's ``energy.node`` picks them from
:mod:`npusim.technology`); the default is the identity at 45 nm.

Overrides from a scenario (mapping precision -> pJ or um^2) replace the final value of that
precision as given (they are taken to be at the scenario's node and are not scaled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from npusim.compute.arith import (
    HOROWITZ,
    OpCost,
    float_add,
    float_multiply,
    int_add,
    int_multiply,
    shifter_stages,
)
from npusim.errors import ConfigError, Problem
from npusim.precision import PRECISIONS, Kind

BINARY_POPCOUNT_WIDTH = 8
"""Products per popcount word in a binary MAC before one INT32 accumulate (see module doc)."""

ADD_COSTS: dict[str, OpCost] = {
    "int16": int_add(16),
    "int32": int_add(32),
    "fp16": float_add(5, 11),
    "fp32": float_add(8, 24),
}
"""Accumulator add cost by accumulator format (from parts, :mod:`npusim.compute.arith`)."""


def _multiply(name: str) -> OpCost:
    p = PRECISIONS[name]
    if p.kind is Kind.FLOAT:
        return float_multiply(p.exponent_bits, p.mantissa_bits + 1)
    return int_multiply(p.bits, p.bits)


_XNOR = int_multiply(1, 1)
_POPCOUNT_BIT = OpCost(0.1 / 32, 137 / 32, f"{HOROWITZ} 32-bit add / 32 (one full adder)")
_MAC_OPERANDS = ("fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int16", "int8", "uint8",
                 "int4", "uint4", "int2")  # fmt: skip

BLOCK_PRECISIONS = tuple(name for name, p in PRECISIONS.items() if p.is_block)
"""Block-scaled (MX, NVFP4) precisions, costed by :func:`block_scaled_mac_cost`."""


def _element_multiply(name: str) -> OpCost:
    """A block format's element product: ``int_multiply(s, s)`` plus, for float elements,
    the exponent add ``int_add(e + 1)`` (as in :func:`block_scaled_mac_cost`)."""
    p = PRECISIONS[name]
    if not p.exponent_bits:
        return int_multiply(p.bits, p.bits)
    s = p.mantissa_bits + 1
    return int_multiply(s, s) + int_add(p.exponent_bits + 1)


MULTIPLY_COSTS: dict[str, OpCost] = {
    **{name: _multiply(name) for name in _MAC_OPERANDS},
    "binary": OpCost(
        _XNOR.energy_pj + _POPCOUNT_BIT.energy_pj,
        _XNOR.area_um2 + _POPCOUNT_BIT.area_um2,
        "XNOR (1x1-bit multiply) + one popcount full adder",
    ),
    **{name: _element_multiply(name) for name in BLOCK_PRECISIONS},
}
"""Multiply (product-forming) cost by operand format; binary includes its popcount adder; a
block-scaled format's entry is its element product (its MAC is :func:`block_scaled_mac_cost`)."""

DEFAULT_ACCUMULATOR: dict[str, str] = {
    "fp32": "fp32",
    "fp16": "fp32",
    "bf16": "fp32",
    "fp8_e4m3": "fp16",
    "fp8_e5m2": "fp16",
    "int16": "int32",
    "int8": "int32",
    "uint8": "int32",
    "int4": "int32",
    "uint4": "int32",
    "int2": "int32",
    "binary": "int32",
    **{name: "fp32" for name in BLOCK_PRECISIONS},
}
"""INT32 accumulation for integer and binary operands, FP32 for 16- and 32-bit floats and for
block-scaled formats (the OCP MX spec's FP32 dot-product result), FP16 for FP8 (the
accumulator of the low end of van Baalen et al.'s comparison; see module doc)."""


def natural_accumulator(precision: str) -> str:
    """The accumulator a MAC at ``precision`` uses unless told otherwise
    (:data:`DEFAULT_ACCUMULATOR`; INT32 or FP32 for a format without a MAC entry)."""
    if precision in DEFAULT_ACCUMULATOR:
        return DEFAULT_ACCUMULATOR[precision]
    return "fp32" if PRECISIONS[precision].is_float else "int32"


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
    if precision in BLOCK_PRECISIONS:
        return _block_mac(precision, add, node)
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


MX_SCALE_BITS = 8  # E8M0


def _block_mac(precision: str, accumulate: OpCost, node: NodeScaling) -> OpCost:
    """:func:`block_scaled_mac_cost` of a :data:`BLOCK_PRECISIONS` name (MXINT8: no exponent,
    8-bit significand; NVFP4: E4M3 block scales)."""
    p = PRECISIONS[precision]
    e = p.exponent_bits
    significand = p.mantissa_bits + 1 if e else p.bits
    return block_scaled_mac_cost(e, significand, p.block, node, e4m3_scales=precision == "nvfp4",
                                 accumulate=accumulate)  # fmt: skip


def block_scaled_mac_cost(
    exponent_bits: int,
    significand_bits: int,
    block: int = 32,
    node: NodeScaling = NODE_45NM,
    e4m3_scales: bool = False,
    accumulate: OpCost | None = None,
) -> OpCost:
    """One MAC of two block-scaled (MX) vectors whose elements have ``exponent_bits`` (0 for
    integers) and ``significand_bits`` (hidden bit included; 8 for MXINT8), ``block``
    elements per shared scale, summed exactly per block (module doc). ``e4m3_scales``
    (NVFP4: 16-element blocks with E4M3 scales): the two block scales are multiplied
    (``float_multiply(4, 4)``) instead of their E8M0 exponents added. ``accumulate``: the add
    of a block's sum into the accumulator (default FP32, ``float_add(8, 24)``)."""
    s, e = significand_bits, exponent_bits
    span = 2 * ((1 << e) - 1) if e else 0
    width = 2 * s + span + math.ceil(math.log2(block))
    per_mac = int_multiply(s, s) + int_add(width)
    if e:
        per_mac = per_mac + int_add(e + 1) + shifter_stages(width, math.ceil(math.log2(span + 1)))
    scales = float_multiply(4, 4) if e4m3_scales else int_add(MX_SCALE_BITS + 1)
    per_block = scales + (accumulate or float_add(8, 24))
    return OpCost(
        (per_mac.energy_pj + per_block.energy_pj / block) * node.energy_factor,
        (per_mac.area_um2 + per_block.area_um2 / block) * node.area_factor,
        f"block-scaled MAC e{e} s{s}, {block}-element blocks, exact {width}-bit block sum "
        f"({HOROWITZ} parts); node: {node.source}",
    )


def requantize_cost(node: NodeScaling = NODE_45NM) -> OpCost:
    """Requantizing one integer accumulator to the output's integer format.

    Jacob et al., "Quantization and Training of Neural Networks for Efficient
    Integer-Arithmetic-Only Inference" (CVPR 2018), section 2.2: the real multiplier ``M`` is
    a 32-bit fixed-point ``M0`` and a right shift, so each output costs a 32 x 32-bit integer
    multiply (the rounding shift is wiring) and a 32-bit add of the zero point:
    ``int_multiply(32, 32) + int_add(32)`` = 3.2 + 0.1 pJ at 45 nm.
    """
    cost = int_multiply(32, 32) + int_add(32)
    source = f"requantize (Jacob et al. 2018): {cost.source}; node: {node.source}"
    return OpCost(cost.energy_pj * node.energy_factor, cost.area_um2 * node.area_factor, source)


def dequantize_cost(
    mac_precision: str, zero_point_bits: int = 0, node: NodeScaling = NODE_45NM
) -> OpCost:
    """Dequantizing one integer weight for a float MAC (weight-only quantization, W4A16):
    ``x = (q - Z) * S`` (Jacob et al. 2018, eq. 1), one multiply at the MAC's float format
    (:data:`MULTIPLY_COSTS`) plus, for an affine scheme, a ``zero_point_bits``-wide integer
    subtract (0: symmetric, none)."""
    if mac_precision not in MULTIPLY_COSTS:
        raise _unknown(mac_precision)
    cost = MULTIPLY_COSTS[mac_precision]
    if zero_point_bits:
        cost = cost + int_add(zero_point_bits)
    source = f"dequantize (Jacob et al. 2018): {cost.source}; node: {node.source}"
    return OpCost(cost.energy_pj * node.energy_factor, cost.area_um2 * node.area_factor, source)


def block_quantize_cost(precision: str, node: NodeScaling = NODE_45NM) -> OpCost:
    """Converting one FP32 output to a block-scaled format as the array stores it (OCP MX
    v1.0, section 6.3): per element, one exponent compare towards its block's maximum
    (``int_add(8)``), its exponent less the shared one (``int_add(8)``) and the rounding of
    its significand (``int_add(s)``, ``s`` = element bits for MXINT8, mantissa + 1 for float
    elements). The alignment shift is taken as wiring, as in :func:`requantize_cost`."""
    p = PRECISIONS[precision]
    if not p.is_block:
        raise _unknown(precision)
    significand = p.mantissa_bits + 1 if p.exponent_bits else p.bits
    cost = int_add(8) + int_add(8) + int_add(significand)
    source = f"block quantize (OCP MX v1.0 6.3): {cost.source}; node: {node.source}"
    return OpCost(cost.energy_pj * node.energy_factor, cost.area_um2 * node.area_factor, source)
