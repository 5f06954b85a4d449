"""Parameters of the MAC array (the scenario's ``array`` section) and their validation.

:class:`ArrayParams` is a frozen dataclass built once at load time; :func:`check_params` lists
every problem as ``(key path relative to the array section, message)`` and
:func:`validate_params` raises them together as one :class:`ConfigError`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from types import MappingProxyType
from typing import Any

from npusim.compute.energy import (
    ADD_COSTS,
    DEFAULT_ACCUMULATOR,
    MULTIPLY_COSTS,
    NODE_45NM,
    NodeScaling,
)
from npusim.errors import ConfigError, Problem
from npusim.precision import PRECISIONS

BLOCK_MACS_PER_PE_PER_CYCLE: Mapping[str, float] = MappingProxyType(
    {"mxint8": 1.0, "mxfp8_e4m3": 1.0, "mxfp8_e5m2": 1.0, "mxfp6_e3m2": 1.0, "mxfp6_e2m3": 1.0,
     "mxfp4_e2m1": 2.0, "nvfp4": 2.0}
)  # fmt: skip
"""Block-scaled formats at the rate of their element width, FP6 at FP8's: NVIDIA's B200
datasheet (2024) gives FP8/FP6 the same dense throughput and FP4 twice it (4.5 and 9
PFLOPS), as :data:`DEFAULT_MACS_PER_PE_PER_CYCLE` gives INT4 twice INT8."""


class Dataflow(str, Enum):
    """Which GEMM operand stays in the PEs (SCALE-Sim naming)."""

    OS = "os"
    WS = "ws"
    IS = "is"


DEFAULT_MACS_PER_PE_PER_CYCLE: Mapping[str, float] = MappingProxyType(
    {
        "int8": 1.0,
        "uint8": 1.0,
        "int4": 2.0,
        "uint4": 2.0,
        "int2": 4.0,
        "binary": 8.0,
        "int16": 0.5,
        "fp16": 0.5,
        "bf16": 0.5,
        "fp8_e4m3": 1.0,
        "fp8_e5m2": 1.0,
        "fp32": 0.25,
        **BLOCK_MACS_PER_PE_PER_CYCLE,
    }
)
"""Default throughput per precision; a precision absent here is unsupported by the array."""


TPU_V1_ACCUMULATOR_ROWS = 4096
"""Accumulator entries per array column in TPU v1: 4 MiB of 32-bit accumulators for 256
columns (Jouppi et al., "In-Datacenter Performance Analysis of a Tensor Processing Unit",
ISCA 2017, section 2)."""
TPU_V1_ACCUMULATOR_ENTRY_BYTES = 4


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class ArrayParams:
    """A ``rows x cols`` systolic MAC array.

    ``macs_per_pe_per_cycle[p]`` is how many MACs of precision ``p`` one PE completes per cycle
    (2 for packed INT4, 0.25 for an FP32 MAC taking four cycles); see
    :mod:`npusim.compute.array` for how it enters the cycle formulas. ``accumulator[p]``
    overrides :data:`npusim.compute.energy.DEFAULT_ACCUMULATOR` (INT32 for integers and binary,
    FP32 for floats). ``mac_energy_pj`` and ``mac_area_um2`` override the energy table per
    precision; ``node`` scales the table's defaults. The mappings are left out of ``hash`` (they
    still take part in ``==``), so params can key a cache.

    ``fold_overlap``: consecutive folds are pipelined (default) or each pays its own fill and
    drain as in SCALE-Sim's formulas; ``pack_groups``: narrow groups (depthwise convolution)
    share a fold side by side on the columns (default) or run one after another on the whole
    array as in SCALE-Sim. Both are defined in :mod:`npusim.compute.array`.

    ``accumulator_bytes``: the accumulator buffer below the array that holds weight- and
    input-stationary partial sums between row folds (0: none, every partial sum goes to the
    SRAM, as SCALE-Sim counts); ``None``: TPU v1's depth, :data:`TPU_V1_ACCUMULATOR_ROWS`
    32-bit entries per column (:attr:`accumulator_capacity_bytes`).
    """

    rows: int = 32
    cols: int = 32
    dataflow: Dataflow | str = Dataflow.WS
    macs_per_pe_per_cycle: Mapping[str, float] = field(
        default_factory=lambda: DEFAULT_MACS_PER_PE_PER_CYCLE, hash=False
    )
    accumulator: Mapping[str, str] = field(default_factory=lambda: _frozen({}), hash=False)
    mac_energy_pj: Mapping[str, float] = field(default_factory=lambda: _frozen({}), hash=False)
    mac_area_um2: Mapping[str, float] = field(default_factory=lambda: _frozen({}), hash=False)
    node: NodeScaling = NODE_45NM
    fold_overlap: bool = True
    pack_groups: bool = True
    accumulator_bytes: int | None = None

    @property
    def accumulator_capacity_bytes(self) -> int:
        """The accumulator buffer's bytes (``accumulator_bytes``, or TPU v1's depth)."""
        if self.accumulator_bytes is not None:
            return self.accumulator_bytes
        return self.cols * TPU_V1_ACCUMULATOR_ROWS * TPU_V1_ACCUMULATOR_ENTRY_BYTES

    def accumulator_for(self, precision: str) -> str:
        """Accumulator precision used for ``precision`` operands."""
        return self.accumulator.get(precision) or DEFAULT_ACCUMULATOR[precision]


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _positive_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.3)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"valid: {', '.join(valid)}{hint}"


def _check_accumulator(precision: str, acc: object) -> str | None:
    if acc not in ADD_COSTS:
        return f"unknown accumulator {acc!r}; {_suggest(str(acc), list(ADD_COSTS))}"
    operand_is_float = PRECISIONS[precision].is_float
    if operand_is_float != PRECISIONS[str(acc)].is_float:
        return f"accumulator {acc!r} does not match {precision!r} (int needs int, float float)"
    return None


def _check_precision_maps(params: ArrayParams) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    rates = params.macs_per_pe_per_cycle
    if not isinstance(rates, Mapping) or not rates:
        return [("macs_per_pe_per_cycle", "must be a non-empty mapping precision -> rate")]
    for precision, rate in rates.items():
        key = f"macs_per_pe_per_cycle.{precision}"
        if precision not in MULTIPLY_COSTS:
            what = "no MAC cost for this precision" if precision in PRECISIONS else "unknown"
            problems.append((key, f"{what}; {_suggest(str(precision), [*MULTIPLY_COSTS])}"))
        elif not _positive_number(rate):
            problems.append((key, f"must be a positive finite number, got {rate!r}"))
    for precision, acc in params.accumulator.items():
        if precision not in MULTIPLY_COSTS:
            problems.append((f"accumulator.{precision}", "unknown precision"))
        elif (message := _check_accumulator(precision, acc)) is not None:
            problems.append((f"accumulator.{precision}", message))
    for section in ("mac_energy_pj", "mac_area_um2"):
        for precision, value in getattr(params, section).items():
            if not _positive_number(value):
                problems.append((f"{section}.{precision}", f"must be > 0, got {value!r}"))
    return problems


def check_params(params: ArrayParams) -> list[tuple[str, str]]:
    """Every problem of ``params`` as ``(key path, message)``; empty when valid."""
    problems: list[tuple[str, str]] = []
    for key in ("rows", "cols"):
        value = getattr(params, key)
        if not _positive_int(value):
            problems.append((key, f"must be a positive integer, got {value!r}"))
    valid = [d.value for d in Dataflow]
    if str(getattr(params.dataflow, "value", params.dataflow)) not in valid:
        problems.append(
            (
                "dataflow",
                f"unknown dataflow {params.dataflow!r}; {_suggest(str(params.dataflow), valid)}",
            )
        )
    for key in ("fold_overlap", "pack_groups"):
        if not isinstance(getattr(params, key), bool):
            problems.append((key, f"must be true or false, got {getattr(params, key)!r}"))
    acc_bytes = params.accumulator_bytes
    if acc_bytes is not None and not (type(acc_bytes) is int and acc_bytes >= 0):
        problems.append(("accumulator_bytes", f"must be an integer >= 0, got {acc_bytes!r}"))
    problems += _check_precision_maps(params)
    for key in ("energy_factor", "area_factor"):
        if not _positive_number(getattr(params.node, key)):
            problems.append((f"node.{key}", f"must be > 0, got {getattr(params.node, key)!r}"))
    return problems


def validate_params(params: ArrayParams) -> ArrayParams:
    """Return ``params`` with ``dataflow`` as a :class:`Dataflow`; raise :class:`ConfigError`
    listing every problem (paths prefixed ``array.``)."""
    problems = check_params(params)
    if problems:
        raise ConfigError([Problem(f"array.{path}", message) for path, message in problems])
    dataflow = Dataflow(getattr(params.dataflow, "value", params.dataflow))
    return ArrayParams(
        rows=params.rows,
        cols=params.cols,
        dataflow=dataflow,
        macs_per_pe_per_cycle=_frozen(params.macs_per_pe_per_cycle),
        accumulator=_frozen(params.accumulator),
        mac_energy_pj=_frozen(params.mac_energy_pj),
        mac_area_um2=_frozen(params.mac_area_um2),
        node=params.node,
        fold_overlap=params.fold_overlap,
        pack_groups=params.pack_groups,
        accumulator_bytes=params.accumulator_bytes,
    )


def params_from_mapping(section: Mapping[str, Any]) -> ArrayParams:
    """Build validated :class:`ArrayParams` from a plain mapping (a scenario ``array`` section).

    Unknown keys are rejected; ``node`` is a mapping of :class:`NodeScaling` fields. Raises
    :class:`ConfigError` with every problem.
    """
    known = {f.name for f in fields(ArrayParams)}
    unknown = [key for key in section if key not in known]
    if unknown:
        raise ConfigError(
            [
                Problem(f"array.{key}", f"unknown key; {_suggest(str(key), sorted(known))}")
                for key in unknown
            ]
        )
    values = dict(section)
    if isinstance(values.get("node"), Mapping):
        try:
            values["node"] = NodeScaling(**values["node"])
        except TypeError as err:
            raise ConfigError(Problem("array.node", str(err))) from None
    return validate_params(ArrayParams(**values))
