"""The sweep report: one static ``index.html`` (no server, no network, images by relative path).

It holds the sweep's settings, the plots of :mod:`npusim.report.plots` (PNG inline, SVG
linked), the results table (one row per point, as ``npusim results`` exports it) and the
resolved base scenario. Every text from files or runs is HTML-escaped.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from npusim.errors import ResultsError
from npusim.outdir import FolderKind, folder_lock, out_folder, remove_stale_temporaries, write_file
from npusim.sweep.export import result_rows
from npusim.sweep.store import ResultStore
from npusim.sweep.views import load_views, sqnr_db

INDEX_NAME = "index.html"

_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9em;color:#555}
div.scroll{max-width:100%;max-height:70vh;overflow:auto;border:1px solid #ddd}
table{border-collapse:collapse;font-size:.8em}
thead th{position:sticky;top:0}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#f3f3f3}td.t{text-align:left}tr.failed td{background:#fde8e8}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em}
.note{background:#fff8e1;padding:.5em 1em;border-left:4px solid #E69F00}
"""

#: Results-table columns after the axes: (flat column, header, scale, format).
_COLUMNS = (
    ("cycles", "cycles", 1, "{:.0f}"),
    ("time_s", "time (µs)", 1e6, "{:.2f}"),
    ("dram_bandwidth_gbps", "DRAM BW (GB/s)", 1, "{:.2f}"),
    ("dram_read_bytes", "DRAM read (MiB)", 2.0**-20, "{:.3f}"),
    ("dram_write_bytes", "DRAM write (MiB)", 2.0**-20, "{:.3f}"),
    ("cache_hit_rate", "hit rate", 1, "{:.3f}"),
    ("energy_total_pj", "energy (µJ)", 1e-6, "{:.2f}"),
    ("mac_utilization", "MAC util.", 1, "{:.3f}"),
)

_ACCURACY_COLUMN = (("accuracy_top1", "top-1 %", 100, "{:.1f}"),)  # sweeps with --accuracy


def write_report(folder: str | Path, plots: bool = True) -> Path:
    """Write the plots (unless ``plots`` is false) and ``folder/index.html``; returns its path.

    ``folder`` must be a sweep folder npusim made (its ``.npusim-output`` marker) and not in
    use by a running sweep; else :class:`ResultsError`, and nothing is written. Every file
    is written whole or not at all (a kill leaves no truncated plot).
    """
    shown = folder
    folder = out_folder(folder, FolderKind.SWEEP)
    if not folder.is_dir():
        raise ResultsError(f"{shown}: no such sweep folder")
    with folder_lock(folder):
        files = []
        if plots:
            from npusim.report.plots import write_plots

            files = write_plots(folder)
        with ResultStore(folder, create=False) as store:
            meta = store.meta("sweep", {})
            resolved_yaml = store.meta("resolved_scenario_yaml", "")
        page = render_index(folder, meta, files, resolved_yaml)
        remove_stale_temporaries(folder)
        return write_file(folder / INDEX_NAME, page)


def render_index(folder: Path, meta: dict[str, Any], files: list[Any], resolved_yaml: str) -> str:
    """The page's HTML text (see the module docstring)."""
    e = html.escape
    rows = result_rows(folder)
    failed = sum(1 for r in rows if r["status"] != "ok")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>npusim sweep {e(str(meta.get('name', '')))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Sweep {e(str(meta.get('name', '')))}</h1>",
        _settings(meta, len(rows), failed),
        _notes(folder),
    ]
    for workload in dict.fromkeys(f.workload for f in files):
        parts.append(f"<h2>Plots: {e(workload)}</h2>")
        for f in (f for f in files if f.workload == workload):
            parts.append(
                f'<figure><a href="{e(f.svg)}"><img src="{e(f.png)}" alt="{e(f.caption)}, '
                f'{e(workload)}"></a><figcaption>{e(f.caption)} (<a href="{e(f.svg)}">SVG</a>)'
                "</figcaption></figure>"
            )
    parts += [
        "<h2>Results</h2>",
        f'<div class="scroll">{_table(rows, list(meta.get("axes", {})))}</div>',
    ]
    parts += ["<h2>Resolved base scenario</h2>",
              "<p>Each point applies its axis values on top of this scenario (quantities in "
              "readable units; the stored file holds them in SI units).</p>",
              f"<pre>{e(human_scenario_yaml(resolved_yaml))}</pre>", "</body></html>"]  # fmt: skip
    return "\n".join(parts) + "\n"


def human_scenario_yaml(resolved_yaml: str) -> str:
    """The resolved scenario in human units, without its own default workload (a sweep runs
    its ``workloads``, not the scenario's)."""
    import yaml

    from npusim.report.human import human_tree

    tree = yaml.safe_load(resolved_yaml) if resolved_yaml else None
    if not isinstance(tree, dict):
        return resolved_yaml
    for key in ("workload", "workload_params"):
        tree.pop(key, None)
    return yaml.safe_dump(human_tree(tree), sort_keys=False, allow_unicode=True)


def _settings(meta: dict[str, Any], points: int, failed: int) -> str:
    e = html.escape
    axes = "".join(
        f"<li><code>{e(k)}</code>: {e(', '.join(str(v) for v in values))}</li>"
        for k, values in meta.get("axes", {}).items()
    )
    return (
        f"<p>{e(str(meta.get('description', '')))}</p><ul>"
        f"<li>base scenario: <code>{e(str(meta.get('scenario', '')))}</code></li>"
        f"<li>workloads: {e(', '.join(meta.get('workloads', [])))}</li>"
        f"<li>fidelity: {e(str(meta.get('fidelity', '')))}; mode: {e(str(meta.get('mode', '')))}"
        f"</li><li>points stored: {points} ({failed} failed)</li></ul>"
        f"<p>Axes:</p><ul>{axes}</ul>"
    )


def _notes(folder: Path) -> str:
    """The runs' own notes (e.g. what the fidelity models) and SQNR availability."""
    _, views = load_views(folder)
    notes: dict[str, None] = {}
    has_sqnr = False
    for view in views:
        for point in view.points:
            assert point.summary is not None
            notes.update(dict.fromkeys(point.summary.get("notes", [])))
            has_sqnr = has_sqnr or sqnr_db(point) is not None
    if views and not has_sqnr:
        notes[f"SQNR is not available for fidelity '{views[0].fidelity}': the runs report no "
              "per-layer SQNR, so the SQNR plot shows no data."] = None  # fmt: skip
    return "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)


def _table(rows: list[dict[str, Any]], axes: list[str]) -> str:
    e = html.escape
    head = ["workload", "precision", *[a for a in axes if a != "precision"], "status"]
    columns = _COLUMNS + (_ACCURACY_COLUMN if any("accuracy_top1" in r for r in rows) else ())
    header = "".join(f"<th>{e(h)}</th>" for h in head + [c[1] for c in columns] + ["error"])
    body = []
    for row in rows:
        cells = [f'<td class="t">{e(str(row.get(h, "")))}</td>' for h in head]
        for key, _, scale, fmt in columns:
            value = row.get(key)
            cells.append(f"<td>{fmt.format(value * scale) if value is not None else ''}</td>")
        cells.append(f'<td class="t">{e(str(row.get("error", "")))}</td>')
        css = ' class="failed"' if row["status"] != "ok" else ""
        body.append(f"<tr{css}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table>"
