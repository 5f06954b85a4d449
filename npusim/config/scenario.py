"""The validated scenario: frozen dataclasses holding each unit's own parameters.

Built once from the validated YAML tree (:func:`npusim.config.load_scenario`); hot code reads
attributes, never strings or dicts. Unit parameter types belong to the unit packages
(:class:`npusim.dram.DramParams`, :class:`npusim.cache.CacheParams`,
:class:`npusim.compute.ArrayParams`); the sections below are the ones no unit owns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from npusim.cache import CacheParams, SramEnergyModel
from npusim.compute import ArrayParams
from npusim.compute.energy import natural_accumulator
from npusim.dram.params import DramParams
from npusim.precision import PRECISIONS, Kind, Precision


@dataclass(frozen=True)
class PrecisionConfig:
    """Storage precision of weights and activations, and the accumulator's.

    ``kv_cache`` is the format of stored attention operands (a KV cache read from DRAM by a
    matmul whose second operand no layer produces); None: the activations' format.
    ``layers`` maps layer names to partial overrides (``{"fc": {"weights": "int4"}}``).
    """

    weights: str
    activations: str
    accumulator: str
    kv_cache: str | None = None
    layers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, str]:
        return {"weights": self.weights, "activations": self.activations,
                "accumulator": self.accumulator, "kv_cache": self.kv}  # fmt: skip

    @property
    def kv(self) -> str:
        """The KV cache's storage precision (the activations' unless set)."""
        return self.kv_cache or self.activations

    @property
    def kv_mac(self) -> str:
        """The precision attention over a stored KV cache computes in: activations x KV."""
        return wider_precision(self.activations, self.kv)

    @property
    def label(self) -> str:
        """A short honest name: ``int8``, ``w4a8``, ``wfp16-aint8``, a KV cache in another
        format (``int8+kv:int4``), and each per-layer override after a ``+``
        (``int8+fc:int4``; ``int8+5layers`` beyond three overrides)."""
        base = operand_label(self.weights, self.activations)
        if self.kv != self.activations:
            base += f"+kv:{self.kv}"
        if not self.layers:
            return base
        if len(self.layers) > _MAX_LABELLED_LAYERS:
            return f"{base}+{len(self.layers)}layers"
        parts = []
        for name, override in sorted(self.layers.items()):
            merged = layer_precision(self, override)
            parts.append(f"{name}:{operand_label(merged.weights, merged.activations)}")
        return "+".join([base, *parts])

    @property
    def mac(self) -> str:
        """The precision the MAC array computes in: the wider operand decides.

        Floating point wins over integer (an FP16 x INT8 product runs on the FP16 datapath);
        among equals, more bits win (W4A8 runs INT8 MACs). Binary only when both are binary.
        """

        return wider_precision(self.weights, self.activations)


def wider_precision(first: str, second: str) -> str:
    """The precision a product of the two computes in (see :attr:`PrecisionConfig.mac`)."""

    def rank(p: Precision) -> tuple[int, int]:
        return (p.kind is Kind.FLOAT, p.bits)

    return max(PRECISIONS[first], PRECISIONS[second], key=rank).name


@dataclass(frozen=True)
class QuantConfig:
    """How tensors are quantized to integer formats (see :mod:`npusim.quant`).

    ``scale_format``: how scales are stored (fp32, fp16, bf16, e8m0:
    :class:`npusim.quant.ScaleFormat`); zero points are packed at the payload's width.
    ``kv_group_size``: an integer KV cache's values per scale (None: one per tensor).
    """

    symmetric: bool
    granularity: str
    group_size: int | None
    calibration: str
    percentile: float
    scale_format: str = "fp32"
    kv_group_size: int | None = None
    layers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class VectorConfig:
    """The vector unit for memory-bound element-wise work; ``precision`` is the format its
    ops are costed in (None: the activations')."""

    lanes: int
    precision: str | None = None


@dataclass(frozen=True)
class EnergyConfig:
    """Energy-table choices not owned by a unit: node, SRAM overrides, other static power.

    ``sram`` is the SRAM energy/leakage/area model with the scenario's overrides (``None``
    fields use the cited 45 nm defaults of :mod:`npusim.cache.energy`). ``dram_phy_*``: the
    SoC-side DRAM PHY's transceivers per bit (``None``: :data:`npusim.engine.energy.DRAM_PHY`).
    """

    node: str
    sram: SramEnergyModel
    static_power_w: float
    dram_phy_read_pj_per_bit: float | None = None
    dram_phy_write_pj_per_bit: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A whole NPU: clock, DRAM, SRAM, MAC array, precision, quantization and energy.

    ``sram_mode`` is how activations live in the SRAM (:mod:`npusim.engine.residency`);
    ``frame_rate_hz``, when set, repeats the workload once per frame and prices the idle time
    between frames (:mod:`npusim.engine.frame`).
    """

    name: str
    description: str
    clock_hz: float
    seed: int
    workload: str
    dram: DramParams
    sram: CacheParams
    array: ArrayParams
    vector: VectorConfig
    precision: PrecisionConfig
    quantization: QuantConfig
    energy: EnergyConfig
    sram_mode: str = "cache"
    workload_params: Mapping[str, int] = field(default_factory=dict)
    workload_skip_unsupported: bool = False
    frame_rate_hz: float | None = None
    source: str = ""
    resolved: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def for_layer(self, name: str) -> Scenario:
        """This scenario as layer ``name`` sees it: its precision and quantization overrides
        applied (the accumulator follows the MAC precision's kind unless given)."""
        p_over = self.precision.layers.get(name)
        q_over = self.quantization.layers.get(name)
        if not p_over and not q_over:
            return self
        precision = layer_precision(self.precision, p_over or {})
        quantization = replace(self.quantization, **(q_over or {}), layers={})
        accumulator = {**self.array.accumulator, precision.mac: precision.accumulator}
        return replace(self, precision=precision, quantization=quantization,
                       array=replace(self.array, accumulator=accumulator))  # fmt: skip


def layer_precision(base: PrecisionConfig, override: Mapping[str, str]) -> PrecisionConfig:
    """``base`` with ``override`` applied; a changed int/float kind without an explicit
    accumulator gets the MAC format's usual one (:func:`npusim.compute.energy.natural_accumulator`:
    INT32 for integers, FP16 for FP8, FP32 for wider floats)."""
    merged = replace(base, **override, layers={})
    if "accumulator" not in override and _is_float(merged.mac) != _is_float(base.mac):
        merged = replace(merged, accumulator=natural_accumulator(merged.mac))
    return merged


_MAX_LABELLED_LAYERS = 3


def operand_label(weights: str, activations: str) -> str:
    """``int8`` when both operands agree; ``w4a8`` for two integer formats (``uint4`` ->
    ``u4``); else ``wfp16-aint8``."""
    if weights == activations:
        return weights
    w, a = PRECISIONS[weights], PRECISIONS[activations]
    if w.kind is Kind.INT and a.kind is Kind.INT:
        return f"w{_short_int(weights)}a{_short_int(activations)}"
    return f"w{weights}-a{activations}"


def _short_int(name: str) -> str:
    return name.replace("uint", "u").replace("int", "")


def _is_float(precision: str) -> bool:
    return PRECISIONS[precision].is_float
