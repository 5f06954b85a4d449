"""``npusim list``: the bundled scenarios, workloads and sweeps as plain-text tables.

Without details: one line each. With details: each scenario's whole resolved configuration in
human units, and for the workloads asked for (``--workload``), every layer and every
activation tensor with its producer, consumers and lifetime (first..last execution position;
the network input starts at -1, a network output lives to the last layer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from npusim.config.scenario import Scenario
from npusim.report.human import human_quantity, human_tree
from npusim.report.table import format_table, layer_shape
from npusim.workload import Workload


def scenario_rows(scenarios: Sequence[Scenario]) -> list[list[Any]]:
    """One summary row per scenario: clock, array, precision, SRAM, DRAM, description."""
    from npusim.dram.standard import peak_bandwidth_bytes_per_s

    rows = []
    for s in scenarios:
        r = s.resolved
        dram = r["dram"]
        peak = peak_bandwidth_bytes_per_s(dram["preset"], dram["channels"])
        rows.append([
            s.name, human_quantity(r["clock"]),
            f"{r['array']['rows']}x{r['array']['cols']} {r['array']['dataflow']}",
            s.precision.label,
            f"{human_quantity(r['sram']['capacity'])} {r['sram']['ways']}-way",
            f"{dram['preset']} x{dram['channels']} ({peak / 1e9:.1f} GB/s)", s.description,
        ])  # fmt: skip
    return rows


def sweep_rows(sweeps: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """One row per sweep file (as read, not expanded): scenario, workloads, axes, points."""
    rows = []
    for name, raw in ((s["name"], s["raw"]) for s in sweeps):
        axes = raw.get("axes") or {}
        sizes = [len(v) for v in axes.values() if isinstance(v, list)]
        combos = (max(sizes, default=1) if raw.get("mode") == "zip"
                  else _product(sizes))  # fmt: skip
        workloads = [w if isinstance(w, str) else w.get("name", "?")
                     for w in raw.get("workloads") or []]  # fmt: skip
        rows.append([name, raw.get("scenario", ""), ", ".join(workloads),
                     ", ".join(f"{k} ({len(v)})" for k, v in axes.items()),
                     combos * len(workloads), raw.get("fidelity", "analytic")])  # fmt: skip
    return rows


def _product(sizes: Sequence[int]) -> int:
    total = 1
    for size in sizes:
        total *= size
    return total


def catalogue_text(
    scenarios: Sequence[Scenario],
    workloads: Sequence[Workload] | Sequence[Mapping[str, Any]],
    sweeps: Sequence[Mapping[str, Any]] = (),
    details: bool = False,
    layers_of: Sequence[Workload] = (),
) -> str:
    """The ``npusim list`` text; ``workloads`` are loaded workloads (layer, weight and MAC
    counts shown) or headers (:func:`npusim.workload.loader.workload_header`: name, parameters
    and description); ``layers_of``: workloads whose layers and tensors to print."""
    headers_only = any(isinstance(w, Mapping) for w in workloads)
    if headers_only:  # name, parameters and description from each file's header
        workload_columns = ["name", "parameters", "description"]
        workload_rows = [[w["name"], " ".join(f"{k}={v}" for k, v in w["params"].items()),
                          w["description"]] for w in workloads]  # type: ignore[index]  # fmt: skip
    else:
        workload_columns = ["name", "layers", "weights", "MACs", "description"]
        workload_rows = [[w.name, len(w.layers), f"{w.parameters / 1e6:.2f} M",
                          f"{w.macs / 1e9:.3f} G", w.description] for w in workloads]  # fmt: skip
    parts = ["Scenarios (hw_configs/):",
             format_table(["name", "clock", "MAC array", "precision", "SRAM", "DRAM",
                           "description"], scenario_rows(scenarios)),
             "", "Workloads (workloads/):",
             format_table(workload_columns, workload_rows)]  # fmt: skip
    if sweeps:
        parts += ["", "Sweeps (sweeps/):",
                  format_table(["name", "scenario", "workloads", "axes (values)", "points",
                                "fidelity"], sweep_rows(sweeps))]  # fmt: skip
    if details:
        for s in scenarios:
            parts += ["", f"scenario {s.name}:", _tree_text(human_tree(s.resolved))]
    for w in layers_of:
        parts += ["", workload_text(w)]
    if details and not layers_of:
        parts += ["", "layers and tensors of a workload: npusim list --workload NAME"]
    return "\n".join(parts)


def _tree_text(tree: Mapping[str, Any]) -> str:
    """One wrapped line per section (``dram: preset=LPDDR5_6400 channels=4 ...``)."""
    import textwrap

    lines = []
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            items = " ".join(f"{k}={_compact(v)}" for k, v in value.items())
            lines += textwrap.wrap(f"{key}: {items}", 98, initial_indent="  ",
                                   subsequent_indent="      ", break_on_hyphens=False)  # fmt: skip
        else:
            lines.append(f"  {key}: {_compact(value)}")
    return "\n".join(lines)


def _compact(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    return str(value)


def workload_text(workload: Workload) -> str:
    """A workload's layers (shape, weights, MACs, vector ops) and its tensors (producer,
    consumers, lifetime as execution positions)."""
    rows = [[i, layer.name, layer.kind, layer_shape(layer), layer.weight_elements, layer.macs,
             layer.vector_ops] for i, layer in enumerate(workload.layers)]  # fmt: skip
    layers = format_table(["#", "layer", "type", "M x K x N", "weights", "MACs", "vector ops"],
                          rows)  # fmt: skip
    tensors = [[t.name, t.elements, t.producer or "(network input)",
                ", ".join(t.consumers) or "(network output)", f"{t.first_use}..{t.last_use}"]
               for t in workload.graph.tensors.values()]  # fmt: skip
    tensor_table = format_table(["tensor", "elements", "producer", "consumers", "lifetime"],
                                tensors)  # fmt: skip
    return (
        f"workload {workload.name} ({workload.source}), params "
        f"{dict(workload.params)}:\n{layers}\n\ntensors of {workload.name}:\n{tensor_table}"
    )
