"""The results contract (``npusim/results.py``) on small hand-built runs.

``summary.json``, ``layers.csv`` and ``timeline.csv`` are read by plots, sweeps and users'
scripts, so every derived figure here is worked by hand from layers whose values all differ
(a swapped or dropped term changes the number), and key names and orders are pinned as the
public interface they are. Written against mutmut survivors in ``npusim/results.py``
(issue 18).
"""

from __future__ import annotations

import csv
import errno
import io
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from npusim.errors import ResultsError
from npusim.results import (
    ENERGY_PARTS,
    FLOAT_DIGITS,
    SCHEMA_VERSION,
    TRAFFIC_KINDS,
    Energy,
    LayerResult,
    RunResult,
    flatten,
    layers_csv,
    short_floats,
    timeline_csv,
    with_layer_extra,
    write_file_atomically,
)

# The layer keys of summary.json (and layers.csv before flattening), in order.
LAYER_KEYS = [
    "name", "type", "m", "k", "n", "groups", "macs", "cycles", "time_s", "compute_cycles",
    "memory_cycles", "stall_cycles", "bound", "folds", "mapping_efficiency", "mac_utilization",
    "peak_macs_per_cycle", "dram_read_bytes", "dram_write_bytes", "dram_bandwidth_gbps",
    "cache_hits", "cache_misses", "cache_hit_rate", "energy_pj",
]  # fmt: skip


def layer(name: str, **figures) -> LayerResult:
    """A layer whose figures are all distinct unless given."""
    base = dict(
        name=name, type="linear", m=2, k=3, n=5, groups=1, macs=30, cycles=40, time_s=4e-8,
        compute_cycles=35, memory_cycles=38, stall_cycles=5, bound="memory", folds=7,
        mapping_efficiency=0.75, mac_utilization=0.5, peak_macs_per_cycle=16.0,
        dram_read_bytes=100, dram_write_bytes=10, dram_bandwidth_gbps=2.75, cache_hits=6,
        cache_misses=2, cache_hit_rate=0.75, energy_pj=Energy(1.0, 2.0, 3.0, 4.0, 5.0),
    )  # fmt: skip
    return LayerResult(**(base | figures))


def two_layer_run(**run_fields) -> RunResult:
    first = layer(
        "conv", macs=1000, cycles=100, time_s=1e-7, dram_read_bytes=4000, dram_write_bytes=600,
        cache_hits=30, cache_misses=10, peak_macs_per_cycle=16.0,
        energy_pj=Energy(mac=1.0, sram=20.0, dram=300.0, static=4000.0, phy=50000.0),
        extra={"weight_read_bytes": 1500, "input_read_bytes": 2500, "output_write_bytes": 600,
               "activation_onchip_bytes": 256, "array_energy_pj": {"mul": 0.5, "add": 0.25}},
    )  # fmt: skip
    second = layer(
        "fc", macs=500, cycles=300, time_s=4e-7, dram_read_bytes=7000, dram_write_bytes=900,
        cache_hits=2, cache_misses=8, peak_macs_per_cycle=4.0,
        energy_pj=Energy(mac=6.0, sram=70.0, dram=800.0, static=9000.0, phy=10000.0),
        extra={"weight_read_bytes": 7000, "spill_write_bytes": 900, "metadata_bytes": 3.0,
               "array_energy_pj": {"mul": 2.0, "reg": 8.0}},
    )  # fmt: skip
    fields = dict(scenario="s", workload="w", fidelity="cycle",
                  precision={"weights": "int8", "activations": "int4"}, dram_peak_gbps=51.2,
                  layers=(first, second))  # fmt: skip
    return RunResult(**(fields | run_fields))


# --- Energy ----------------------------------------------------------------------------------


def test_energy_parts_add_up_and_add_part_by_part() -> None:
    assert ENERGY_PARTS == ("mac", "sram", "dram", "static", "phy")
    a = Energy(mac=1.0, sram=20.0, dram=300.0, static=4000.0, phy=50000.0)
    assert a.total == 54321.0
    assert a + Energy(6.0, 70.0, 800.0, 9000.0, 10000.0) == Energy(7.0, 90.0, 1100.0, 13000.0,
                                                                   60000.0)  # fmt: skip
    assert a.as_dict() == {"mac": 1.0, "sram": 20.0, "dram": 300.0, "static": 4000.0,
                           "phy": 50000.0, "total": 54321.0}  # fmt: skip
    assert list(a.as_dict()) == [*ENERGY_PARTS, "total"]
    assert Energy().total == 0.0


# --- layers and totals -----------------------------------------------------------------------


def test_layer_figures_are_the_fields_with_energy_split_and_extra_keys_last() -> None:
    row = layer("l", extra={"weight_read_bytes": 9, "cache_hits": 99}).as_dict()
    assert list(row) == [*LAYER_KEYS, "weight_read_bytes"]
    assert row["energy_pj"] == {"mac": 1.0, "sram": 2.0, "dram": 3.0, "static": 4.0,
                                "phy": 5.0, "total": 15.0}  # fmt: skip
    assert row["weight_read_bytes"] == 9
    assert row["cache_hits"] == 99  # an extra figure overrides the field of its name
    assert (row["m"], row["k"], row["n"], row["folds"]) == (2, 3, 5, 7)


def test_totals_are_worked_by_hand_from_two_unequal_layers() -> None:
    totals = two_layer_run().totals()
    assert totals["cycles"] == 400
    assert totals["time_s"] == pytest.approx(5e-7, rel=1e-12)
    assert totals["macs"] == 1500
    assert (totals["dram_read_bytes"], totals["dram_write_bytes"]) == (11000, 1500)
    # (11000 + 1500) bytes in 0.5 us = 25 GB/s
    assert totals["dram_bandwidth_gbps"] == pytest.approx(25.0, rel=1e-12)
    assert totals["dram_peak_gbps"] == 51.2
    assert (totals["cache_hits"], totals["cache_misses"]) == (32, 18)
    assert totals["cache_hit_rate"] == pytest.approx(32 / 50, rel=1e-12)
    assert totals["energy_pj"] == {"mac": 7.0, "sram": 90.0, "dram": 1100.0, "static": 13000.0,
                                   "phy": 60000.0, "total": 74197.0}  # fmt: skip
    # peak MACs over the run: 100 x 16 + 300 x 4 = 2800 (not 400 cycles x either peak)
    assert totals["mac_utilization"] == pytest.approx(1500 / 2800, rel=1e-12)
    assert totals["dram_bytes_by_kind"] == {"weight_read": 8500, "input_read": 2500,
                                            "output_write": 600, "spill_write": 900,
                                            "metadata": 3}  # fmt: skip
    assert list(totals["dram_bytes_by_kind"]) == list(TRAFFIC_KINDS)
    assert totals["activation_onchip_bytes"] == 256
    assert totals["array_energy_pj"] == {"mul": 2.5, "add": 0.25, "reg": 8.0}


def test_totals_of_an_idle_run_are_zero_not_a_division_error() -> None:
    idle = layer("idle", macs=0, cycles=0, time_s=0.0, dram_read_bytes=0, dram_write_bytes=0,
                 cache_hits=0, cache_misses=0, energy_pj=Energy())  # fmt: skip
    totals = two_layer_run(layers=(idle,)).totals()
    assert totals["dram_bandwidth_gbps"] == 0.0
    assert totals["cache_hit_rate"] == 0.0
    assert totals["mac_utilization"] == 0.0
    assert totals["dram_bytes_by_kind"] == dict.fromkeys(TRAFFIC_KINDS, 0)
    assert totals["activation_onchip_bytes"] == 0 and totals["array_energy_pj"] == {}
    assert two_layer_run(layers=()).totals()["energy_pj"]["total"] == 0.0


def test_totals_of_a_tiny_run_with_as_many_hits_as_misses() -> None:
    """Hits equal to misses (a hit rate of exactly 1/2) and a peak below one MAC per cycle
    over the run (one cycle at 0.5) are ordinary values, not the zero cases."""
    tiny = layer("tiny", macs=1, cycles=1, peak_macs_per_cycle=0.5, cache_hits=3,
                 cache_misses=3)  # fmt: skip
    totals = two_layer_run(layers=(tiny,)).totals()
    assert totals["cache_hit_rate"] == 0.5
    assert totals["mac_utilization"] == 2.0  # 1 MAC done of 0.5 possible: the layer's input


def test_summary_key_order_and_contents() -> None:
    run = two_layer_run(notes=("LOWER BOUND", "second"), extra={"accuracy": {"top1": 0.5}})
    summary = run.summary()
    assert list(summary) == ["schema_version", "scenario", "workload", "fidelity", "precision",
                             "notes", "totals", "accuracy", "layers"]  # fmt: skip
    # The contract's version: 7 since the frame block (bumped with the README, by hand).
    assert summary["schema_version"] == SCHEMA_VERSION == 7
    assert (summary["scenario"], summary["workload"], summary["fidelity"]) == ("s", "w", "cycle")
    assert summary["precision"] == {"weights": "int8", "activations": "int4"}
    assert type(summary["precision"]) is dict and summary["notes"] == ["LOWER BOUND", "second"]
    assert summary["accuracy"] == {"top1": 0.5}
    assert summary["totals"]["cycles"] == 400
    assert [row["name"] for row in summary["layers"]] == ["conv", "fc"]
    assert summary["layers"][1]["spill_write_bytes"] == 900


def test_with_layer_extra_merges_into_the_named_layers_only() -> None:
    run = two_layer_run()
    merged = with_layer_extra(run, {"fc": {"metadata_bytes": 7, "tiles": 3}, "absent": {"x": 1}})
    conv, fc = merged.layers
    assert conv is run.layers[0]
    assert fc.extra == {"weight_read_bytes": 7000, "spill_write_bytes": 900,
                        "metadata_bytes": 7, "array_energy_pj": {"mul": 2.0, "reg": 8.0},
                        "tiles": 3}  # fmt: skip
    assert replace(fc, extra=run.layers[1].extra) == run.layers[1]
    assert replace(merged, layers=run.layers) == run


# --- number format and CSV files -------------------------------------------------------------


def test_short_floats_rounds_floats_at_any_depth_and_nothing_else() -> None:
    assert FLOAT_DIGITS == 12
    value = {"a": [0.1 + 0.2, (2 / 3, 7)], "b": {"c": 123456789.123456789}, "d": True, "e": "x"}
    assert short_floats(value) == {"a": [0.3, [0.666666666667, 7]], "b": {"c": 123456789.123},
                                   "d": True, "e": "x"}  # fmt: skip
    assert short_floats(0.037436300000000006) == 0.0374363
    assert short_floats(5) == 5 and type(short_floats(5)) is int


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_short_floats_keeps_twelve_significant_digits(x: float) -> None:
    rounded = short_floats(x)
    assert rounded == float(f"{x:.12g}")
    assert abs(rounded - x) <= abs(x) * 5e-12


def test_flatten_puts_the_unit_last() -> None:
    row = {"name": "l", "energy_pj": {"mac": 1, "total": 2}, "array_energy_pj": {"mul": 3},
           "plain": {"a": 4}, "n": 5}  # fmt: skip
    assert flatten(row) == {"name": "l", "energy_mac_pj": 1, "energy_total_pj": 2,
                            "array_energy_mul_pj": 3, "plain_a": 4, "n": 5}  # fmt: skip
    assert list(flatten(row)) == ["name", "energy_mac_pj", "energy_total_pj",
                                  "array_energy_mul_pj", "plain_a", "n"]  # fmt: skip


def test_layers_csv_has_the_union_of_columns_in_first_seen_order() -> None:
    first = layer("a", extra={"x_bytes": 1, "ratio": 1 / 3})
    second = layer("b", time_s=0.1 + 0.2, extra={"y_bytes": 2})
    text = layers_csv(two_layer_run(layers=(first, second)))
    assert "\r" not in text and text.endswith("\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    energy_columns = [f"energy_{part}_pj" for part in (*ENERGY_PARTS, "total")]
    assert list(rows[0]) == [*LAYER_KEYS[:-1], *energy_columns, "x_bytes", "ratio", "y_bytes"]
    assert (rows[0]["x_bytes"], rows[0]["ratio"], rows[0]["y_bytes"]) == ("1", "0.333333333333",
                                                                          "")  # fmt: skip
    assert (rows[1]["x_bytes"], rows[1]["y_bytes"], rows[1]["time_s"]) == ("", "2", "0.3")
    assert rows[1]["energy_total_pj"] == "15.0" and rows[1]["name"] == "b"


def test_timeline_csv_writes_columns_in_order_or_nothing() -> None:
    timeline = {"start_s": [0.0, 1e-6], "end_s": [1e-6, 3e-6], "read_bytes": [64, 0],
                "write_bytes": [0, 32], "layer": ["conv", "fc"]}  # fmt: skip
    text = timeline_csv(two_layer_run(timeline=timeline))
    assert text == ("start_s,end_s,read_bytes,write_bytes,layer\n"
                    "0.0,1e-06,64,0,conv\n1e-06,3e-06,0,32,fc\n")  # fmt: skip
    assert timeline_csv(two_layer_run()) is None
    assert timeline_csv(two_layer_run(timeline={})) is None
    ragged = dict(timeline, layer=["conv"])
    with pytest.raises(ValueError):
        timeline_csv(two_layer_run(timeline=ragged))


# --- one-file atomic writes ------------------------------------------------------------------


def test_write_file_atomically_creates_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "index.html"
    assert write_file_atomically(path, "first ünïcode\n") == path
    assert path.read_text(encoding="utf-8") == "first ünïcode\n"
    write_file_atomically(path, "second")
    assert path.read_text(encoding="utf-8") == "second"
    assert sorted(p.name for p in path.parent.iterdir()) == ["index.html"]


def test_write_file_atomically_refuses_a_folder_and_reports_os_errors(tmp_path: Path) -> None:
    with pytest.raises(ResultsError, match=r"is a folder; give a file name$"):
        write_file_atomically(tmp_path, "x")
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    with pytest.raises(ResultsError, match=r"^cannot write .*file/sub/out\.txt: ") as info:
        write_file_atomically(blocker / "sub" / "out.txt", "x")
    # the OS's reason, not Python's repr of the error
    assert str(info.value).endswith(f": {os.strerror(errno.ENOTDIR)}")
    assert blocker.read_text() == "mine"
