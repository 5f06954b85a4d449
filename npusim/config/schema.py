"""The scenario format: every key, its type, unit, range and default, as one declared tree.

This tree is the single source of truth for loading (:mod:`npusim.config.loader`), for
``npusim schema`` (JSON Schema for editor completion) and for sweeps, which address keys by
dotted path (``sram.capacity``). Registries of policy and preset names belong to the unit
packages; fields refer to them through callables so adding a preset is adding data there.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from enum import Enum
from typing import Any

from npusim.cache.params import CacheParams
from npusim.compute.params import ArrayParams
from npusim.config.fields import Field, Section
from npusim.dram.params import DramParams
from npusim.precision import PRECISIONS
from npusim.technology import NODES
from npusim.units import Dimension


def _registry(module: str, name: str) -> Any:
    """Choices from a unit package's registry, looked up when validating (units own them)."""

    def names() -> tuple[str, ...]:
        registry = getattr(importlib.import_module(module), name)
        return tuple(str(getattr(key, "value", key)) for key in registry)

    return names


def _precisions() -> tuple[str, ...]:
    return tuple(PRECISIONS)


def _storage_precisions() -> tuple[str, ...]:
    return tuple(p for p in PRECISIONS if p != "int32")


def _int(default: int, doc: str, minimum: int = 1, **kw: Any) -> Field:
    return Field("int", default, doc, minimum=minimum, **kw)


def _choice(default: str, doc: str, choices: Any) -> Field:
    return Field("choice", default, doc, choices=choices)


def _qty(default: Any, doc: str, dim: Dimension, attr: str, **kw: Any) -> Field:
    return Field("quantity", default, doc, attr=attr, dimension=dim, **kw)


SCALE_FORMATS = ("fp32", "fp16", "bf16", "e8m0")
"""The values of :class:`npusim.quant.spec.ScaleFormat` (a literal: validating a scenario does
not import the quantizer and numpy; a test keeps the two equal)."""


def _defaults_of(unit: type) -> Callable[[str], Any]:
    """A unit parameter's default as a scenario value: the unit's dataclass (``DramParams``,
    ``CacheParams``, ``ArrayParams``) is the one place unit defaults live; enums become their
    names and mappings plain dicts."""
    specs = {f.name: f for f in fields(unit)}

    def default(attr: str) -> Any:
        spec = specs[attr]
        value = spec.default if spec.default is not MISSING else spec.default_factory()  # type: ignore[misc]
        if isinstance(value, Enum):
            return value.value
        return dict(value) if isinstance(value, Mapping) else value

    return default


_dram, _sram, _array = (_defaults_of(u) for u in (DramParams, CacheParams, ArrayParams))

DRAM: Section = {
    "standard": Field("choice", None, "DRAM standard; null: the preset's (a preset belongs to "
                      "one standard, and a standard that disagrees with it is refused)",
                      choices=_registry("npusim.dram.standard", "STANDARDS"), nullable=True),
    "preset": _choice(_dram("preset"), "speed-bin timing preset",
                      _registry("npusim.dram.standard", "PRESETS")),
    "density": _choice(_dram("density"), "die density (rows and refresh timings)",
                       _registry("npusim.dram.standard", "DENSITIES")),
    "bank_arch": _choice(_dram("bank_arch"),
                         "bank architecture: BG (4 groups x 4 banks), 16B or 8B",
                         _registry("npusim.dram.standard", "BANK_ARCHS")),
    "burst_length": _int(_dram("burst_length"), "burst length: 16 (BL16, 32 B per x16 burst) "
                         "or 32 (64 B); legal values depend on bank_arch"),
    "channels": _int(_dram("channels"), "x16 channels, each with its own controller",
                     maximum=64),
    "mapping": Field("str", _dram("mapping"),
                     "address bit order MSB->LSB over Ro, Bg, Ba, Ra, Co, Ch"),
    "bank_hash": Field("bool", _dram("bank_hash"), "XOR bank bits with low row bits"),
    "scheduler": _choice(_dram("scheduler"), "command scheduler",
                         _registry("npusim.dram.params", "SCHEDULERS")),
    "queue_release": _choice(_dram("queue_release"), "a request leaves its queue at its row's "
                             "activation or at its column command",
                             _registry("npusim.dram.params", "QUEUE_RELEASES")),
    "wck_sync": _choice(_dram("wck_sync"), "WCK2CK sync: a CAS before a column command once "
                        "WCK stopped (need-sync), or WCK always on",
                        _registry("npusim.dram.params", "WCK_SYNC_MODES")),
    "dbi": Field("bool", _dram("dbi"), "data-bus inversion (DBI-DC): a byte with more than "
                 "four ones is sent inverted (I/O energy of io_energy: data)"),
    "io_energy": _choice(_dram("io_energy"), "DRAM I/O energy: flat (io_pj_per_bit on every "
                         "bit) or data (from the toggles of the quantized tensors' bytes)",
                         _registry("npusim.dram.params", "IO_ENERGY_MODES")),
    "page_policy": _choice(_dram("page_policy"), "row-buffer policy",
                           _registry("npusim.dram.params", "PAGE_POLICIES")),
    "refresh": _choice(_dram("refresh"), "refresh mode",
                       _registry("npusim.dram.params", "REFRESH_MODES")),
    "power_down_after": _qty(_dram("power_down_after_s"), "power down an idle channel after "
                             "this long without a command (exit costs nXP); null: never",
                             Dimension.TIME, "power_down_after_s", nullable=True, minimum=0.0,
                             exclusive_minimum=True, maximum=1.0),
    "self_refresh_after": _qty(_dram("self_refresh_after_s"), "enter self-refresh after this "
                               "long without a request command (exit costs nXSR); null: never",
                               Dimension.TIME, "self_refresh_after_s", nullable=True,
                               minimum=0.0, exclusive_minimum=True, maximum=1.0),
    "read_queue_depth": _int(_dram("read_queue_depth"), "read queue entries per channel",
                             maximum=4096),
    "write_queue_depth": _int(_dram("write_queue_depth"), "write queue entries per channel",
                              maximum=4096),
    "write_high_watermark": Field("float", _dram("write_high_watermark"),
                                  "write drain starts at this queue fraction",
                                  minimum=0.0, maximum=1.0, exclusive_minimum=True),
    "write_low_watermark": Field("float", _dram("write_low_watermark"),
                                 "write drain stops at this queue fraction",
                                 minimum=0.0, maximum=1.0),
    "timing": Field("map", {}, "timing overrides in CK cycles by name, e.g. nRCD: 16",
                    value=Field("int", 0, "CK cycles", minimum=0)),
    "energy": Field("map", {}, "DRAM energy term overrides by name (numbers, unit in the name)",
                    value=Field("float", 0.0, "value in the unit its name carries", minimum=0)),
}  # fmt: skip

SRAM: Section = {
    "mode": _choice("cache", "how activations live on chip: cache (hardware-managed, "
                    "write-allocate, dead tensors dropped) or scratchpad (a compile-time "
                    "allocator places tensors; what does not fit spills to DRAM)",
                    _registry("npusim.engine.modes", "SRAM_MODES")),
    "capacity": _qty(_sram("capacity_bytes"), "on-chip SRAM capacity", Dimension.BYTES,
                     "capacity_bytes", bare_unit="B", minimum=1, power_of_two=False),
    "line": _qty(_sram("line_bytes"), "cache line size", Dimension.BYTES, "line_bytes",
                 bare_unit="B", minimum=1, power_of_two=True),
    "ways": _int(_sram("ways"), "associativity (ways per set)"),
    "replacement": _choice(_sram("replacement"), "replacement policy",
                           _registry("npusim.cache.params", "REPLACEMENT_NAMES")),
    "write_policy": _choice(_sram("write_policy"), "write-back + write-allocate, or "
                            "write-through + no-write-allocate",
                            _registry("npusim.cache.params", "WRITE_POLICY_NAMES")),
    "banks": _int(_sram("banks"), "SRAM banks", maximum=1024),
    "port_width": _qty(_sram("port_bytes"), "bytes per cycle per bank port", Dimension.BYTES,
                       "port_bytes", bare_unit="B", minimum=1, power_of_two=True),
    "hit_latency": _int(_sram("hit_latency_cycles"), "hit latency in core cycles", minimum=0,
                        attr="hit_latency_cycles"),
}  # fmt: skip

ARRAY: Section = {
    "rows": _int(_array("rows"), "PE rows", maximum=4096),
    "cols": _int(_array("cols"), "PE columns", maximum=4096),
    "dataflow": _choice(_array("dataflow"), "systolic dataflow: output/weight/input stationary",
                        _registry("npusim.compute", "DATAFLOWS")),
    "macs_per_pe_per_cycle": Field(
        "map", _array("macs_per_pe_per_cycle"),
        "MACs one PE completes per cycle at each supported precision; absent = unsupported",
        choices=_precisions,
        value=Field("float", 1.0, "MACs per PE per cycle", minimum=0, exclusive_minimum=True),
    ),
    "fold_overlap": Field("bool", _array("fold_overlap"), "pipeline consecutive folds (false: "
                          "SCALE-Sim's formulas, every fold pays its own fill and drain)"),
    "pack_groups": Field("bool", _array("pack_groups"), "narrow groups (depthwise conv) share a "
                         "fold side by side on the columns (false: one group after another, as "
                         "SCALE-Sim)"),
    "accumulator_bytes": _qty(_array("accumulator_bytes"), "accumulator buffer for ws/is "
                              "partial sums (0: none, every partial sum goes to the SRAM; null: "
                              "TPU v1's 4096 32-bit entries per column)", Dimension.BYTES,
                              "accumulator_bytes", bare_unit="B", nullable=True, minimum=0),
}  # fmt: skip

VECTOR: Section = {
    "lanes": _int(64, "elements per cycle of the vector unit (pooling, softmax, norms)",
                  maximum=65536),
    "precision": Field("choice", None, "format the vector unit's ops are costed in (softmax, "
                       "norms, GELU in FP16 or FP32); null: the activations'",
                       choices=("fp32", "fp16", "bf16"), nullable=True),
}  # fmt: skip

_PRECISION_KEYS: Section = {
    "weights": _choice("int8", "storage precision of weights", _storage_precisions),
    "activations": _choice("int8", "storage precision of activations", _storage_precisions),
    "accumulator": _choice("int32", "accumulator precision", ("int32", "fp32", "fp16")),
    "kv_cache": Field("choice", None, "storage precision of a KV cache (stored attention "
                      "operands read from DRAM); null: as activations",
                      choices=_storage_precisions, nullable=True),
}  # fmt: skip


def _per_layer(section: Section, what: str) -> Field:
    return Field("map", {}, f"per-layer {what} overrides by layer name, e.g. "
                 "{fc: {weights: int4}}; names are checked against the workload",
                 section=section)  # fmt: skip


PRECISION: Section = {**_PRECISION_KEYS, "layers": _per_layer(_PRECISION_KEYS, "precision")}

_QUANTIZATION_KEYS: Section = {
    "symmetric": Field("bool", True, "symmetric (zero point fixed) or affine"),
    "granularity": _choice("per_channel", "scale granularity of weights",
                           ("per_tensor", "per_channel", "per_group")),
    "group_size": Field("int", None, "group size for per_group", minimum=1, nullable=True),
    "calibration": _choice("minmax", "range calibration",
                           ("minmax", "percentile", "entropy", "mse")),
    "percentile": Field("float", 99.99, "percentile for percentile calibration",
                        minimum=0.0, maximum=100.0, exclusive_minimum=True),
    "scale_format": _choice("fp32", "how each scale is stored: fp32 (4 B), fp16 or bf16 (2 B), "
                            "e8m0 (1 B, a power of two, OCP MX); the quantizer uses the stored "
                            "scale", SCALE_FORMATS),
    "kv_group_size": Field("int", None, "integer KV caches: one scale (and zero point) per this "
                           "many consecutive cached values, written with each appended token "
                           "(head_dim: per-token scales of each head); null: one per tensor",
                           minimum=1, nullable=True),
}  # fmt: skip
QUANTIZATION: Section = {
    **_QUANTIZATION_KEYS,
    "layers": _per_layer(_QUANTIZATION_KEYS, "quantization"),
}

ENERGY: Section = {
    "node": _choice("45nm", "technology node: scales logic and SRAM energy and area from the "
                    "45 nm tables (npusim/technology.py); DRAM energy does not scale",
                    tuple(NODES)),
    "mac": Field("map", {}, "MAC energy overrides per precision", choices=_precisions,
                 value=Field("quantity", 0.0, "energy per MAC", dimension=Dimension.ENERGY,
                             minimum=0)),
    "mac_area": Field("map", {}, "MAC area overrides per precision", choices=_precisions,
                      value=Field("quantity", 0.0, "area per MAC unit",
                                  dimension=Dimension.AREA, minimum=0)),
    "sram_read": _qty(None, "SRAM read energy per port-width access (null: from the size "
                      "table)", Dimension.ENERGY, "sram_read_j", nullable=True, minimum=0),
    "sram_write": _qty(None, "SRAM write energy per port-width access (null: from the size "
                       "table)", Dimension.ENERGY, "sram_write_j", nullable=True, minimum=0),
    "sram_leakage": _qty(None, "SRAM leakage power per KiB (null: the 45 nm cell figure in "
                         "npusim/cache/energy.py)", Dimension.POWER, "sram_leakage_w_per_kib",
                         nullable=True, minimum=0),
    "sram_area": _qty(None, "SRAM area per MiB (null: the 45 nm figure in "
                      "npusim/cache/energy.py)", Dimension.AREA, "sram_area_m2_per_mib",
                      nullable=True, minimum=0, exclusive_minimum=True),
    "static_power": _qty("0 W", "static power beyond SRAM leakage and DRAM background "
                         "(controllers, NoC)", Dimension.POWER, "static_power_w", minimum=0),
    "dram_phy_read": _qty(None, "SoC-side DRAM PHY (transceiver) energy per bit read (null: "
                          "the cited LPDDR4 controller transceiver of npusim/engine/energy.py; "
                          "not scaled by node)", Dimension.ENERGY, "dram_phy_read_j_per_bit",
                          nullable=True, minimum=0),
    "dram_phy_write": _qty(None, "SoC-side DRAM PHY (transceiver) energy per bit written "
                           "(null: as dram_phy_read)", Dimension.ENERGY,
                           "dram_phy_write_j_per_bit", nullable=True, minimum=0),
}  # fmt: skip

SCENARIO: Section = {
    "name": Field("str", "scenario", "scenario name (defaults to the file name)"),
    "description": Field("str", "", "free text"),
    "clock": _qty(
        "1 GHz", "NPU core clock", Dimension.FREQUENCY, "clock_hz", minimum=1e6, maximum=1e11
    ),
    "seed": Field("int", 0, "seed of every random draw", minimum=0),
    "frame_rate": _qty(
        None,
        "run the workload once per frame at this rate (e.g. '30 Hz') and "
        "price the idle time to the next frame (null: one inference, no idle)",
        Dimension.FREQUENCY,
        "frame_rate_hz",
        nullable=True,
        minimum=1e-3,
        maximum=1e6,
    ),
    "workload": Field("str", "resnet50_layers", "default workload (bundled name or path)"),
    "workload_skip_unsupported": Field(
        "bool", False, "ONNX workloads: leave out ops npusim does not model (as --skip-unsupported)"
    ),
    "workload_params": Field(
        "map",
        {},
        "parameters of that workload, e.g. {seq_len: 512} "
        "(as --param; names are checked against the workload)",
        value=Field("int", 0, "parameter value", minimum=0),
    ),
    "dram": DRAM,
    "sram": SRAM,
    "array": ARRAY,
    "vector": VECTOR,
    "precision": PRECISION,
    "quantization": QUANTIZATION,
    "energy": ENERGY,
}

RETIRED_KEYS: dict[str, tuple[str, Any]] = {
    "sram.mshrs": ("no longer a scenario key: it never changed npusim run (the engine's DMA "
                   "fills whole tiles, limited by the DRAM controllers' queues); delete it, "
                   "and give npusim cache --mshrs for its timed cache", 32),
}  # fmt: skip
"""Keys scenarios used to accept: what to do instead (a clearer error than 'unknown'), and
the value ``resolved_config.yaml`` files recorded for it, which is still accepted and ignored
so that those files reproduce their runs."""

TOP_LEVEL_ONLY = ("extends",)


def field_at(path: str) -> Field | None:
    """The field at a dotted path (``sram.capacity``), or None if the path names no field."""
    node: Any = SCENARIO
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, Field) else None
