"""Technology nodes as data: energy and area factors from the 45 nm tables to another node.

npusim's logic and SRAM energy tables are 45 nm (Horowitz ISSCC 2014, CACTI). A scenario's
``energy.node`` picks one row of :data:`NODES`; the compute and SRAM models multiply their
45 nm defaults by its factors (scenario overrides are taken at the scenario's node and are not
scaled). DRAM device energy does not scale with the logic node (it is the DRAM's own process).

Method, with sources:

* Logic energy: Stillmaker and Baas, "Scaling equations for the accurate prediction of CMOS
  device performance from 180 nm to 7 nm", Integration 58 (2017) 74-81, Table 5 (energy per
  operation as ``a V^2 + b V + c`` per node, fitted to HSPICE runs of PTM/ITRS models). The
  factor from 45 nm at 0.9 V (Horowitz's conditions) to node ``n`` at its supply ``V_n`` is
  ``P_n(V_n) / P_45(0.9 V)``; a node between two rows of the table (28 nm) interpolates the
  polynomials' values linearly in node size. Coefficients transcribed as in the Accelergy /
  hwcomponents plug-in (``scaling/tech_scaling.py``).
* Logic area: Stillmaker and Baas's area scaling table (45 nm -> 32: 0.46, 20: 0.21,
  16: 0.19, 7: 0.059), interpolated the same way.
* 5 nm lies beyond the paper's 7 nm: energy ``x sqrt(5/7)`` and area ``x 5/7`` from 7 nm, the
  extrapolation hwcomponents takes from the IRDS 2016/2017 fJ/switch and SoC-area trends. An
  estimate, marked as one in :attr:`TechNode.source`.
* Supplies: 45 nm 0.9 V (Horowitz); 28 nm 0.9 V and 16 nm 0.8 V (nominal core supplies of
  TSMC 28HPC+ and 16FF+); 7 nm 0.7 V (ASAP7 predictive PDK, Clark et al., Microelectronics
  Journal 53, 2016).
* SRAM area: ratio of published high-density 6T bit cells, 45 nm 0.346 um^2 (Intel, 2006),
  28 nm 0.127 um^2 (TSMC 28 nm, IEDM 2011), 16 nm 0.070 um^2 (TSMC 16FF, IEDM 2013), 7 nm
  0.027 um^2 (TSMC N7, IEDM 2016), 5 nm 0.021 um^2 (TSMC N5, IEDM 2019): SRAM shrinks less than
  logic. SRAM energy per access and leakage scale with the logic energy factor (both are
  switched or leaking capacitance at the node's supply, as hwcomponents scales them).
"""

from __future__ import annotations

from dataclasses import dataclass

# Stillmaker & Baas 2017, Table 5: (node nm, a, b, c) of energy = a V^2 + b V + c.
STILLMAKER_ENERGY: tuple[tuple[float, float, float, float], ...] = (
    (45, 1.103, -0.362, 0.2767),
    (32, 0.9559, -0.7823, 0.471),
    (20, 0.373, -0.1582, 0.04104),
    (16, 0.2958, -0.1241, 0.03024),
    (14, 0.2363, -0.09675, 0.02239),
    (10, 0.2068, -0.09311, 0.02375),
    (7, 0.1776, -0.09097, 0.02447),
)
# Stillmaker & Baas 2017 area scaling from 45 nm: (node nm, factor).
STILLMAKER_AREA_FROM_45NM: tuple[tuple[float, float], ...] = (
    (45, 1.0), (32, 0.46), (20, 0.21), (16, 0.19), (14, 0.17), (10, 0.1), (7, 0.059),
)  # fmt: skip
HOROWITZ_VDD_V = 0.9
SRAM_BITCELL_UM2: dict[int, float] = {45: 0.346, 28: 0.127, 16: 0.070, 7: 0.027, 5: 0.021}
"""Published high-density 6T SRAM bit-cell areas (module doc)."""
_VDD_V: dict[int, float] = {45: 0.9, 28: 0.9, 16: 0.8, 7: 0.7}
_LAST_TABLE_NODE_NM = 7


def _between(node_nm: float, table: tuple[tuple[float, ...], ...]) -> tuple[int, float]:
    """Index ``i`` and weight ``t`` so that node = (1 - t) * table[i] + t * table[i + 1]."""
    for i in range(len(table) - 1):
        high, low = table[i][0], table[i + 1][0]
        if low <= node_nm <= high:
            return i, (high - node_nm) / (high - low)
    raise ValueError(f"node {node_nm} nm outside {table[-1][0]}-{table[0][0]} nm")


def _energy_polynomial(node_nm: float, vdd_v: float) -> float:
    i, t = _between(node_nm, STILLMAKER_ENERGY)
    values = [a * vdd_v**2 + b * vdd_v + c for _, a, b, c in STILLMAKER_ENERGY[i : i + 2]]
    return (1 - t) * values[0] + t * values[1]


def stillmaker_energy_factor(node_nm: float, vdd_v: float) -> float:
    """Energy per operation at ``node_nm`` and ``vdd_v`` over 45 nm at Horowitz's 0.9 V."""
    return _energy_polynomial(node_nm, vdd_v) / _energy_polynomial(45, HOROWITZ_VDD_V)


def stillmaker_area_factor(node_nm: float) -> float:
    """Logic area at ``node_nm`` over 45 nm (Stillmaker & Baas table, interpolated)."""
    i, t = _between(node_nm, STILLMAKER_AREA_FROM_45NM)
    (_, f0), (_, f1) = STILLMAKER_AREA_FROM_45NM[i : i + 2]
    return (1 - t) * f0 + t * f1


@dataclass(frozen=True)
class TechNode:
    """Factors from the 45 nm tables to one node (all 1.0 at 45 nm), with their source."""

    name: str
    node_nm: int
    vdd_v: float
    logic_energy_factor: float
    logic_area_factor: float
    sram_energy_factor: float
    sram_area_factor: float
    source: str


def _node(node_nm: int) -> TechNode:
    sram_area = SRAM_BITCELL_UM2[node_nm] / SRAM_BITCELL_UM2[45]
    if node_nm >= _LAST_TABLE_NODE_NM:
        vdd = _VDD_V[node_nm]
        energy = stillmaker_energy_factor(node_nm, vdd)
        area = stillmaker_area_factor(node_nm)
        source = f"Stillmaker & Baas 2017 at {vdd} V; SRAM bit cell {SRAM_BITCELL_UM2[node_nm]}"
    else:  # beyond the paper's last node: the IRDS trend extrapolation (module doc)
        last = _node(_LAST_TABLE_NODE_NM)
        ratio = node_nm / _LAST_TABLE_NODE_NM
        vdd, energy, area = (
            last.vdd_v,
            last.logic_energy_factor * ratio**0.5,
            last.logic_area_factor * ratio,
        )
        source = (f"extrapolated from 7 nm (energy x sqrt, area x node ratio, IRDS trend); "
                  f"SRAM bit cell {SRAM_BITCELL_UM2[node_nm]}")  # fmt: skip
    return TechNode(f"{node_nm}nm", node_nm, vdd, energy, area, energy, sram_area,
                    f"{source} um^2 vs 0.346 um^2 at 45 nm")  # fmt: skip


NODES: dict[str, TechNode] = {f"{n}nm": _node(n) for n in (45, 28, 16, 7, 5)}
"""The nodes a scenario's ``energy.node`` may name."""
