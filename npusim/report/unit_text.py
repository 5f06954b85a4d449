"""Text reports of the standalone unit runners (``npusim dram|cache|array|quantize``).

The commands parse arguments and call the units; turning their results into text for a
terminal happens here, with the rest of npusim's formatting.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from npusim.units import format_bytes

if TYPE_CHECKING:  # annotations only: `npusim dram` need not import the cache and array units
    import numpy as np

    from npusim.cache.runner import TraceRun
    from npusim.compute.run import ArrayRun
    from npusim.dram import DramStats


def dram_text(stats: DramStats, requests: int, cycle: str = "CK") -> str:
    """Readable table of the total and per-channel stats; ``cycle`` names the controller's
    cycle (CK, or LPDDR6's two-CK command slot)."""
    t = stats.total
    lines = [
        f"requests               {requests}",
        f"bytes requested        {stats.bytes_requested}",
        f"bytes read / written   {t.bytes_read} / {t.bytes_written}",
        f"elapsed                {t.elapsed_cycles} {cycle} = {t.elapsed_ns:.1f} ns",
        f"bandwidth              {t.achieved_gbps:.3f} GB/s of {t.peak_gbps:.1f} GB/s peak "
        f"({100 * t.achieved_gbps / t.peak_gbps:.1f} %)",
        f"data-bus utilization   {100 * t.bus_utilization:.1f} %",
        f"read latency (ns)      mean {t.read_latency_mean_ns:.1f}  p50 {t.read_latency_p50_ns:.1f}"
        f"  p95 {t.read_latency_p95_ns:.1f}  p99 {t.read_latency_p99_ns:.1f}"
        f"  max {t.read_latency_max_ns:.1f}",
        f"rows                   hits {t.row_hits}  misses {t.row_misses}  "
        f"conflicts {t.row_conflicts}",
        "commands               " + "  ".join(f"{k} {v}" for k, v in t.command_counts.items() if v),
        f"refresh                {t.refresh_ns:.0f} ns",
        f"powered down           {t.power_down_ns:.0f} ns",
        f"self-refresh           {t.self_refresh_ns:.0f} ns",
        f"avg queue occupancy    {t.avg_queue_occupancy:.2f}",
        "energy (pJ)            "
        + "  ".join(f"{k.removesuffix('_pj')} {v:.4g}" for k, v in asdict(t.energy).items())
        + f"  total {t.energy_total_pj:.4g}",
    ]
    if len(stats.channels) > 1:
        for c in stats.channels:
            lines.append(
                f"channel {c.channel}: {c.achieved_gbps:.3f} GB/s, "
                f"{c.bytes_read + c.bytes_written} B, hits {c.row_hits}"
            )
    return "\n".join(lines)


def cache_text(result: TraceRun) -> str:
    """The cache runner's statistics as text."""
    p, s = result.params, result.stats
    lines = [
        f"cache: {format_bytes(p.capacity_bytes)}, {p.line_bytes} B lines, {p.ways} ways, "
        f"{p.sets} sets, {p.replacement.value}, {p.write_policy.value}",
        f"requests: {result.requests}  line accesses: {s.accesses} "
        f"(reads {s.read_accesses}, writes {s.write_accesses})",
        f"hits: {s.hits}  misses: {s.misses}  hit rate: {100 * s.hit_rate:.2f} %",
        f"misses: compulsory {s.compulsory_misses}, capacity {s.capacity_misses}, "
        f"conflict {s.conflict_misses}",
        f"evictions: {s.evictions}  dirty write-backs: {s.dirty_writebacks}",
        f"next level: read {s.next_level_read_bytes} B, written {s.next_level_write_bytes} B "
        f"(requested: read {s.requested_read_bytes} B, written {s.requested_write_bytes} B)",
        f"SRAM (45 nm table): dynamic {result.dynamic_energy_pj / 1e3:.3f} nJ, "
        f"leakage {1e3 * result.leakage_power_w:.3f} mW, area {result.area_mm2:.3f} mm^2",
    ]
    if result.timed is not None:
        t = result.timed
        lines.append(f"timed: {t.total_cycles} cycles, {t.mshr_merges} MSHR merges, "
                     f"{t.mshr_stall_cycles} MSHR stall cycles")  # fmt: skip
    return "\n".join(lines)


_COLUMNS = (
    ("layer", 16),
    ("M", 7),
    ("K", 6),
    ("N", 6),
    ("groups", 6),
    ("compute_cycles", 14),
    ("folds", 7),
    ("mapping_eff", 11),
    ("mac_util", 8),
    ("input_rd_B", 11),
    ("weight_rd_B", 11),
    ("out_wr_B", 10),
    ("psum_rd_B", 10),
    ("mac_energy_nJ", 13),
)


def array_table(result: ArrayRun) -> str:
    """The MAC-array runner's per-layer table and totals."""
    header = " ".join(f"{name:>{width}}" for name, width in _COLUMNS)
    lines = [header]
    for name, s in [*result.layers]:
        values = (
            name[:16],
            s.m,
            s.k,
            s.n,
            s.groups,
            s.compute_cycles,
            s.folds,
            f"{s.mapping_efficiency:.4f}",
            f"{s.mac_utilization:.4f}",
            s.input_read_bytes,
            s.weight_read_bytes,
            s.output_write_bytes,
            s.output_read_bytes,
            f"{s.mac_energy_pj / 1e3:.2f}",
        )
        lines.append(" ".join(f"{v:>{w}}" for v, (_, w) in zip(values, _COLUMNS, strict=True)))
    t = result.totals
    a = result.to_dict()["array"]
    lines.append(
        f"total: compute_cycles={int(t['compute_cycles'])} macs={int(t['macs'])} "
        f"mac_utilization={t['mac_utilization']:.4f} mac_energy_nJ={t['mac_energy_pj'] / 1e3:.2f}"
    )
    lines.append(
        f"array: {a['rows']}x{a['cols']} {a['dataflow']} {a['precision']} "
        f"({a['macs_per_pe_per_cycle']:g} MACs/PE/cycle, {a['accumulator']} accumulator), "
        f"MAC area {result.area_mm2:.4f} mm^2"
    )
    return "\n".join(lines)


def _sqnr_text(sqnr_db: float | None) -> str:
    return "inf" if sqnr_db is None else f"{sqnr_db:.2f}"


def _g(value: float | None) -> str:
    """A metric the summary made None because it was not finite (float overflow)."""
    return "n/a" if value is None else f"{value:.4g}"


def _error_line(error: dict) -> str:
    return (
        f"MSE {_g(error['mse'])}  SQNR {_sqnr_text(error['sqnr_db'])} dB  "
        f"max|e| {_g(error['max_abs_error'])}  rounding MSE {_g(error['rounding_mse'])}  "
        f"clipping MSE {_g(error['clipping_mse'])}  clipped {100 * error['fraction_clipped']:.3f} %"
    )


def _block_line(info: dict) -> str:
    """The scales of a block-scaled tensor: how many, along which axis, stored how."""
    block = info["block"]
    line = (f"scales: {info['groups']} block(s) of {block['size']} {block['element']} elements "
            f"along axis {block['axis']}, {block['scale_format']}")  # fmt: skip
    if info["scale_min"] is not None:
        line += f", {info['scale_min']:.6g} .. {info['scale_max']:.6g}"
    if "tensor_scale" in block:
        line += f" (tensor scale {block['tensor_scale']:.6g})"
    if block["nan_blocks"]:
        line += (f"; {block['nan_blocks']} NaN-scale block(s) (a NaN or Inf inside; the error "
                 "covers the other blocks)")  # fmt: skip
    return line


def quantize_text(path: str, x: np.ndarray, info: dict) -> str:
    """One tensor's quantization summary: scales, bytes and the error table."""
    lines = [
        f"tensor: {path}  shape {tuple(x.shape)}  {x.dtype}  {x.size} elements",
        f"format: {info['format']}",
    ]
    if "block" in info:
        lines.append(_block_line(info))
    elif info["groups"]:
        lines.append(
            f"scales: {info['groups']} group(s), {info['scale_min']:.6g} .. {info['scale_max']:.6g}"
            f"  zero points {info['zero_point_min']} .. {info['zero_point_max']}"
        )
    lines.append(
        f"bytes: {info['original_bytes']} -> {info['total_bytes']} (payload "
        f"{info['payload_bytes']} + metadata {info['metadata_bytes']}), "
        f"{info['compression_ratio']:.2f}x smaller"
    )
    if info["error"]["elements"]:
        lines.append("error: " + _error_line(info["error"]))
    else:  # an MX tensor whose every block holds a NaN or Inf: nothing finite to compare
        lines.append("error: undefined (every block has a NaN scale)")
    return "\n".join(lines)


def compare_text(path: str, x: np.ndarray, rows: list[dict]) -> str:
    """One row per bit-width: bytes, ratio, SQNR, clipped."""
    header = (
        f"{'bits':>4}  {'format':<40} {'bytes':>10} {'ratio':>7} {'SQNR dB':>8} "
        f"{'MSE':>10} {'max|e|':>10} {'clipped %':>9}"
    )
    lines = [f"tensor: {path}  shape {tuple(x.shape)}  {x.dtype}", header]
    for row in rows:
        e = row["error"]
        if not e["elements"]:  # every block has a NaN scale (MX): no error to show
            lines.append(f"{row['bits']:>4}  {row['format']:<40} {row['total_bytes']:>10} "
                         f"{row['compression_ratio']:>6.2f}x  undefined (NaN scales)")  # fmt: skip
            continue
        lines.append(
            f"{row['bits']:>4}  {row['format']:<40} {row['total_bytes']:>10} "
            f"{row['compression_ratio']:>6.2f}x {_sqnr_text(e['sqnr_db']):>8} {e['mse']:>10.3g} "
            f"{e['max_abs_error']:>10.3g} {100 * e['fraction_clipped']:>9.3f}"
        )
    return "\n".join(lines)
