"""MAC array: systolic dataflow timing (SCALE-Sim formulas, folds pipelined and narrow groups
packed on the columns by default), per-precision MAC energy and area, and a bit-exact
functional datapath for GEMM tiles.

Public API: :class:`ArrayParams` (the scenario's ``array`` section), :func:`check_params`,
:class:`MacArray` / :func:`layer_timing` -> :class:`ArrayLayerStats`, :func:`array_area_mm2`,
:func:`mac_energy_pj` / :func:`mac_area_um2` (energy table), and the datapath functions
:func:`int_gemm`, :func:`requantize`, :func:`float_gemm`.
"""

from npusim.compute.energy import (
    NODE_45NM,
    NodeScaling,
    OpCost,
    mac_area_um2,
    mac_cost,
    mac_energy_pj,
)
from npusim.compute.params import (
    ArrayParams,
    Dataflow,
    check_params,
    params_from_mapping,
    validate_params,
)

# isort: split
from npusim.compute.array import ArrayLayerStats, MacArray, array_area_mm2, layer_timing
from npusim.compute.dataflow import DATAFLOWS, DataflowModel, get_dataflow
from npusim.compute.datapath import AccumulatorOverflowError, float_gemm, int_gemm, requantize
from npusim.compute.run import ArrayRun, run_layers

__all__ = [
    "DATAFLOWS",
    "NODE_45NM",
    "AccumulatorOverflowError",
    "ArrayLayerStats",
    "ArrayParams",
    "ArrayRun",
    "Dataflow",
    "DataflowModel",
    "MacArray",
    "NodeScaling",
    "OpCost",
    "array_area_mm2",
    "check_params",
    "float_gemm",
    "get_dataflow",
    "int_gemm",
    "layer_timing",
    "mac_area_um2",
    "mac_cost",
    "mac_energy_pj",
    "params_from_mapping",
    "requantize",
    "run_layers",
    "validate_params",
]
