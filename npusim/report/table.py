"""Plain-text tables of a run's totals and layers for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from npusim.results import LayerResult, RunResult
from npusim.units import format_bytes

if TYPE_CHECKING:
    from npusim.workload import Layer


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned, text left-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in
                 enumerate(zip(row, widths, strict=True))]  # fmt: skip
        lines.append("  ".join(parts).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1e4 else f"{value:.4g}"
    return str(value)


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    for factor, prefix in ((1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def summary_text(result: RunResult) -> str:
    """Totals as aligned ``label: value`` lines, then the per-layer table."""
    t = result.totals()
    energy = t["energy_pj"]
    p = result.precision
    label = result.extra.get("precision_label")
    lines = [
        f"npusim {result.fidelity} run: scenario {result.scenario}, workload {result.workload}, "
        f"precision W {p['weights']} / A {p['activations']} / acc {p['accumulator']}"
        + (f" ({label})" if label else ""),
        *[f"note: {note}" for note in result.notes],
        "",
        f"  time             {_si(t['time_s'], 's')} ({t['cycles']:,} cycles)",
        f"  MACs             {t['macs']:,} (utilization {t['mac_utilization']:.1%})",
        f"  DRAM traffic     read {format_bytes(t['dram_read_bytes'])}, "
        f"write {format_bytes(t['dram_write_bytes'])}",
        f"  DRAM bandwidth   {t['dram_bandwidth_gbps']:.2f} GB/s achieved of "
        f"{t['dram_peak_gbps']:.1f} GB/s peak",
        f"  cache            {t['cache_hits']:,} hits, {t['cache_misses']:,} misses "
        f"(hit rate {t['cache_hit_rate']:.1%})",
        f"  energy           {_si(energy['total'] * 1e-12, 'J')} = MAC "
        f"{_si(energy['mac'] * 1e-12, 'J')} + SRAM {_si(energy['sram'] * 1e-12, 'J')} + DRAM "
        f"{_si(energy['dram'] * 1e-12, 'J')} + PHY {_si(energy['phy'] * 1e-12, 'J')} + static "
        f"{_si(energy['static'] * 1e-12, 'J')}",
        *_area_line(result),
        *_frame_lines(result),
        "",
        layers_text(result),
    ]
    return "\n".join(lines)


def _area_line(result: RunResult) -> list[str]:
    area = result.extra.get("area_mm2")
    if not area:
        return []
    return [f"  area             {area['total']:.2f} mm^2 = MAC array {area['mac_array']:.2f} "
            f"+ SRAM {area['sram']:.2f}"]  # fmt: skip


def _frame_lines(result: RunResult) -> list[str]:
    frame = result.extra.get("frame")
    if not frame:
        return []
    rate = f"{frame['rate_hz']:g} Hz"
    if not frame["sustained"]:
        rate += f" not sustained: {frame['achieved_rate_hz']:.3g} Hz back to back"
    idle = frame["idle_energy_pj"]
    return [f"  frame            {rate}, busy {_si(frame['busy_s'], 's')} of "
            f"{_si(frame['period_s'], 's')}; {_si(frame['energy_per_frame_pj'] * 1e-12, 'J')} "
            f"per frame (idle DRAM {_si(idle['dram'] * 1e-12, 'J')} + static "
            f"{_si(idle['static'] * 1e-12, 'J')}), {frame['average_power_mw']:.3g} mW "
            f"average"]  # fmt: skip


def layers_text(result: RunResult) -> str:
    """One row per layer: shape, cycles, bound, traffic, hit rate, utilization, energy."""
    headers = ["layer", "type", "M x K x N", "cycles", "bound", "DRAM rd", "DRAM wr",
               "GB/s", "hit rate", "util", "energy uJ"]  # fmt: skip
    rows = [
        [layer.name, layer.type, _result_shape(layer), layer.cycles, layer.bound,
         format_bytes(layer.dram_read_bytes), format_bytes(layer.dram_write_bytes),
         round(layer.dram_bandwidth_gbps, 2), f"{layer.cache_hit_rate:.1%}",
         f"{layer.mac_utilization:.1%}", round(layer.energy_pj.total * 1e-6, 2)]
        for layer in result.layers
    ]  # fmt: skip
    return format_table(headers, rows)


def _result_shape(layer: LayerResult) -> str:
    if layer.macs == 0 and layer.m * layer.k * layer.n == 0:
        return "vector unit"
    return f"{layer.m}x{layer.k}x{layer.n}" + (f" x{layer.groups}" if layer.groups > 1 else "")


def layer_shape(layer: Layer) -> str:
    """``MxKxN`` (``xG`` for grouped layers) of a GEMM layer, ``vector unit`` otherwise."""
    gemm = layer.gemm()
    if gemm is None:
        return "vector unit"
    return f"{gemm.m}x{gemm.k}x{gemm.n}" + (f" x{gemm.groups}" if gemm.groups > 1 else "")
