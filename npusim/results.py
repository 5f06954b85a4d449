"""The results contract: typed per-layer and total figures, and their files.

``summary.json`` and ``layers.csv`` key names are a public interface (plots, sweeps and users'
scripts read them); change them only together with :data:`SCHEMA_VERSION` and the README.
Totals are derived from the layers (layers run one after another), so energy, bytes and cycles
are additive by construction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from npusim.errors import ResultsError

SCHEMA_VERSION = 7
"""7: ``frame`` (with a scenario ``frame_rate``: energy per frame period, idle included);
6: the cycle-fidelity ``dram`` block gained ``self_refresh_ns`` (issue 16); 5 gave it
``power_down_ns``; 4: ``energy_pj`` gained ``phy`` (the SoC-side DRAM PHY transceivers)."""

TRAFFIC_KINDS = ("weight_read", "input_read", "output_write", "spill_write", "metadata")
"""DRAM traffic by tensor kind, the per-layer ``<kind>_bytes`` keys; they add up to the DRAM
reads plus writes."""


@dataclass(frozen=True)
class Energy:
    """Energy by component, in picojoules.

    ``mac``: the MAC array's arithmetic; ``sram``: on-chip SRAM reads and writes (operands,
    fills from DRAM, outputs); ``dram``: the LPDDR5 devices' command, data, I/O, refresh and
    background energy; ``static``: SRAM leakage plus the scenario's other static power over
    the run time; ``phy``: the SoC side of the DRAM interface (its PHY's transceivers) per bit
    moved (:func:`npusim.engine.energy.dram_phy_energy_pj`).
    """

    mac: float = 0.0
    sram: float = 0.0
    dram: float = 0.0
    static: float = 0.0
    phy: float = 0.0

    @property
    def total(self) -> float:
        return self.mac + self.sram + self.dram + self.static + self.phy

    def __add__(self, other: Energy) -> Energy:
        return Energy(*(getattr(self, part) + getattr(other, part) for part in ENERGY_PARTS))

    def as_dict(self) -> dict[str, float]:
        return {**{part: getattr(self, part) for part in ENERGY_PARTS}, "total": self.total}


ENERGY_PARTS = tuple(f.name for f in fields(Energy))
"""The components of :class:`Energy`, in order (``summary.json``'s ``energy_pj`` keys but
``total``)."""


@dataclass(frozen=True)
class LayerResult:
    """One layer's figures. Cycles are core-clock cycles; bytes are DRAM bytes."""

    name: str
    type: str
    m: int
    k: int
    n: int
    groups: int
    macs: int
    cycles: int
    time_s: float
    compute_cycles: int
    memory_cycles: int
    stall_cycles: int
    bound: str
    folds: int
    mapping_efficiency: float
    mac_utilization: float
    peak_macs_per_cycle: float
    dram_read_bytes: int
    dram_write_bytes: int
    dram_bandwidth_gbps: float
    cache_hits: int
    cache_misses: int
    cache_hit_rate: float
    energy_pj: Energy
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("extra")
        out["energy_pj"] = self.energy_pj.as_dict()
        out.update(self.extra)
        return out


@dataclass(frozen=True)
class RunResult:
    """A whole run: scenario, workload, precision, fidelity, totals and layers."""

    scenario: str
    workload: str
    fidelity: str
    precision: Mapping[str, str]
    dram_peak_gbps: float
    layers: tuple[LayerResult, ...]
    notes: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    # DRAM transfers over time (cycle fidelity): columns start_s, end_s, read_bytes,
    # write_bytes, layer. Written to timeline.csv and plotted, not part of summary.json.
    timeline: Mapping[str, Sequence[Any]] | None = field(default=None, compare=False)
    # SRAM contents at each layer's end (cycle fidelity): columns end_s, activation_bytes,
    # other_bytes. Plotted beside the bandwidth plot, not part of summary.json.
    occupancy: Mapping[str, Sequence[Any]] | None = field(default=None, compare=False)

    def totals(self) -> dict[str, Any]:
        """Whole-run figures derived from the layers (see the module docstring)."""
        cycles = sum(layer.cycles for layer in self.layers)
        time_s = sum(layer.time_s for layer in self.layers)
        macs = sum(layer.macs for layer in self.layers)
        read = sum(layer.dram_read_bytes for layer in self.layers)
        write = sum(layer.dram_write_bytes for layer in self.layers)
        hits = sum(layer.cache_hits for layer in self.layers)
        misses = sum(layer.cache_misses for layer in self.layers)
        energy = sum((layer.energy_pj for layer in self.layers), Energy())
        peak_macs = sum(layer.cycles * layer.peak_macs_per_cycle for layer in self.layers)
        return {
            "cycles": cycles,
            "time_s": time_s,
            "macs": macs,
            "dram_read_bytes": read,
            "dram_write_bytes": write,
            "dram_bandwidth_gbps": (read + write) / time_s / 1e9 if time_s > 0 else 0.0,
            "dram_peak_gbps": self.dram_peak_gbps,
            "cache_hits": hits,
            "cache_misses": misses,
            "cache_hit_rate": hits / (hits + misses) if hits + misses else 0.0,
            "energy_pj": energy.as_dict(),
            "mac_utilization": macs / peak_macs if peak_macs > 0 else 0.0,
            "dram_bytes_by_kind": {
                kind: sum(int(layer.extra.get(f"{kind}_bytes", 0)) for layer in self.layers)
                for kind in TRAFFIC_KINDS
            },
            "activation_onchip_bytes": sum(
                int(layer.extra.get("activation_onchip_bytes", 0)) for layer in self.layers
            ),
            "array_energy_pj": _summed_parts(
                layer.extra.get("array_energy_pj", {}) for layer in self.layers
            ),
        }

    def summary(self) -> dict[str, Any]:
        """The ``summary.json`` object (public contract)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "scenario": self.scenario,
            "workload": self.workload,
            "fidelity": self.fidelity,
            "precision": dict(self.precision),
            "notes": list(self.notes),
            "totals": self.totals(),
            **dict(self.extra),
            "layers": [layer.as_dict() for layer in self.layers],
        }


def with_layer_extra(result: RunResult, per_layer: Mapping[str, Mapping[str, Any]]) -> RunResult:
    """``result`` with ``per_layer[name]``'s keys added to layer ``name``'s figures (layers
    not named keep theirs)."""
    layers = tuple(
        replace(layer, extra={**layer.extra, **per_layer[layer.name]})
        if layer.name in per_layer else layer
        for layer in result.layers
    )  # fmt: skip
    return replace(result, layers=layers)


FLOAT_DIGITS = 12
"""Significant digits of every float in ``summary.json``, ``layers.csv`` and sweep exports:
sums of products carry binary noise (``0.037436300000000006``) that no model figure has."""


def _summed_parts(parts: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """Per-part sums of the layers' energy splits (a part missing from a layer counts 0)."""
    total: dict[str, float] = {}
    for layer_parts in parts:
        for name, value in layer_parts.items():
            total[name] = total.get(name, 0.0) + value
    return total


def short_floats(value: Any) -> Any:
    """``value`` (nested dicts and lists) with each float rounded to :data:`FLOAT_DIGITS`
    significant digits, so that its shortest ``repr`` is what gets written."""
    if isinstance(value, float):
        return float(f"{value:.{FLOAT_DIGITS}g}")
    if isinstance(value, Mapping):
        return {key: short_floats(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [short_floats(item) for item in value]
    return value


def flatten(row: Mapping[str, Any]) -> dict[str, Any]:
    """``{"energy_pj": {"total": x}}`` -> ``{"energy_total_pj": x}`` (the CSV column names)."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Mapping):
            stem, _, unit = key.rpartition("_")
            for sub, sub_value in value.items():
                flat[f"{stem}_{sub}_{unit}" if stem else f"{key}_{sub}"] = sub_value
        else:
            flat[key] = value
    return flat


def layers_csv(result: RunResult) -> str:
    """The ``layers.csv`` text: one row per layer, nested metrics flattened."""
    rows = [flatten(short_floats(layer.as_dict())) for layer in result.layers]
    columns = list(dict.fromkeys(key for row in rows for key in row))  # union, first-seen order
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def timeline_csv(result: RunResult) -> str | None:
    """The ``timeline.csv`` text (one row per DRAM transfer), or None without a timeline."""
    if not result.timeline:
        return None
    columns = list(result.timeline)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*(result.timeline[c] for c in columns), strict=True))
    return buffer.getvalue()


def write_file_atomically(path: Path, content: str) -> Path:
    """Write one text file through a temporary sibling and a rename (no torn files)."""
    path = Path(path)
    if path.is_dir():
        raise ResultsError(f"{path} is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    except OSError as err:
        raise ResultsError(f"cannot write {path}: {err.strerror or err}") from None
    return path
