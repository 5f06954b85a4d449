"""MAC array: systolic dataflow timing (SCALE-Sim formulas, folds pipelined and narrow groups
packed on the columns by default), per-precision MAC energy and area, and a bit-exact
functional datapath for GEMM tiles.

Public API: :class:`ArrayParams` (the scenario's ``array`` section), :func:`check_params`,
:class:`MacArray` / :func:`layer_timing` -> :class:`ArrayLayerStats`, :func:`array_area_mm2`,
:func:`mac_energy_pj` / :func:`mac_area_um2` (energy table), and the datapath functions
:func:`int_gemm`, :func:`requantize`, :func:`float_gemm`.

The names below are imported on first use (PEP 562), so validating a scenario loads the
parameter modules without NumPy or the simulation code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from npusim._lazy import lazy_getattr

if TYPE_CHECKING:
    from npusim.compute.array import (
        ArrayLayerStats,
        MacArray,
        array_area_mm2,
        layer_timing,
    )
    from npusim.compute.dataflow import (
        DATAFLOWS,
        DataflowModel,
        get_dataflow,
    )
    from npusim.compute.datapath import (
        AccumulatorOverflowError,
        float_gemm,
        int_gemm,
        requantize,
    )
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
    from npusim.compute.run import (
        ArrayRun,
        run_layers,
    )

_EXPORTS = {
    "DATAFLOWS": "npusim.compute.dataflow",
    "NODE_45NM": "npusim.compute.energy",
    "AccumulatorOverflowError": "npusim.compute.datapath",
    "ArrayLayerStats": "npusim.compute.array",
    "ArrayParams": "npusim.compute.params",
    "ArrayRun": "npusim.compute.run",
    "Dataflow": "npusim.compute.params",
    "DataflowModel": "npusim.compute.dataflow",
    "MacArray": "npusim.compute.array",
    "NodeScaling": "npusim.compute.energy",
    "OpCost": "npusim.compute.energy",
    "array_area_mm2": "npusim.compute.array",
    "check_params": "npusim.compute.params",
    "float_gemm": "npusim.compute.datapath",
    "get_dataflow": "npusim.compute.dataflow",
    "int_gemm": "npusim.compute.datapath",
    "layer_timing": "npusim.compute.array",
    "mac_area_um2": "npusim.compute.energy",
    "mac_cost": "npusim.compute.energy",
    "mac_energy_pj": "npusim.compute.energy",
    "params_from_mapping": "npusim.compute.params",
    "requantize": "npusim.compute.datapath",
    "run_layers": "npusim.compute.run",
    "validate_params": "npusim.compute.params",
}

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

__getattr__ = lazy_getattr(__name__, _EXPORTS)
