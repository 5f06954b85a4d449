"""SCALE-Sim topology CSV import (conv and GEMM/MNK forms)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from npusim.compute.array import layer_timing
from npusim.compute.params import ArrayParams
from npusim.errors import WorkloadError
from npusim.workload.layers import Conv2d, Linear
from npusim.workload.scalesim import load_topology, parse_topology

# Rows in SCALE-Sim's conv layout (header + trailing commas as in its topologies/*.csv).
CONV_HEADER = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,\n"
)
CONV_CSV = (
    CONV_HEADER
    + """Conv1, 230, 230, 7, 7, 3, 64, 2,
Conv2_1a, 56, 56, 1, 1, 64, 64, 1,
Conv_rect, 30, 17, 3, 3, 16, 8, 2, 2,
CB2_DP, 114, 114, 3, 3, 32, 1, 1,
"""
)

GEMM_CSV = """Layer, M, N, K,
qkv, 128, 768, 768,
gemv, 1, 1000, 2048
"""


def scalesim_ofmap(size: int, filt: int, stride: int) -> int:
    # SCALE-Sim topology_utils: ceil((ifmap - filter + stride) / stride)
    return math.ceil((size - filt + stride) / stride)


def test_conv_rows_become_conv2d_with_scalesim_output_sizes() -> None:
    layers = parse_topology(CONV_CSV)
    assert [layer.name for layer in layers] == ["Conv1", "Conv2_1a", "Conv_rect", "CB2_DP"]
    conv1 = layers[0]
    assert isinstance(conv1, Conv2d)
    # SCALE-Sim counts a partial last window: 113 rows, where PyTorch's floor formula gives 112.
    assert conv1.out_h == conv1.out_w == scalesim_ofmap(230, 7, 2) == 113
    assert conv1.in_h == 7 + 2 * 112  # ifmap extended by one row to reproduce SCALE-Sim's M
    gemm = conv1.gemm()
    assert (gemm.m, gemm.k, gemm.n, gemm.groups) == (113 * 113, 7 * 7 * 3, 64, 1)
    rect = layers[2]
    assert (rect.out_h, rect.out_w) == (scalesim_ofmap(30, 3, 2), scalesim_ofmap(17, 3, 2))


def test_dp_rows_are_depthwise_like_scalesim_per_channel_layers() -> None:
    dw = parse_topology(CONV_CSV)[3]
    assert (dw.in_channels, dw.out_channels, dw.groups) == (32, 32, 32)
    gemm = dw.gemm()
    # SCALE-Sim runs 32 layers of 1 channel, 1 filter: M = 112*112, K = 9, N = 1 each.
    assert (gemm.m, gemm.k, gemm.n, gemm.groups) == (112 * 112, 9, 1, 32)


def test_gemm_rows_become_linear_and_reproduce_the_reference_example() -> None:
    layers = parse_topology(GEMM_CSV)
    qkv = layers[0]
    assert isinstance(qkv, Linear)
    assert (qkv.gemm().m, qkv.gemm().k, qkv.gemm().n) == (128, 768, 768)
    assert layers[1].gemm() == Linear("gemv", 2048, 1000, tokens=1).gemm()
    # Reference dataflow-cycles.md: M=128, K=768, N=768, 32x32, os -> 79,680 cycles.
    # SCALE-Sim's formulas: no fold overlap (npusim's default pipelines the folds).
    scalesim = ArrayParams(dataflow="os", fold_overlap=False)
    assert layer_timing(qkv.gemm(), scalesim, "int8").compute_cycles == 79_680


def test_form_can_be_forced_and_files_load(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("name,a,b,c\nx, 4, 5, 6,\n")
    assert parse_topology(path.read_text(), form="gemm")[0].gemm().m == 4
    assert load_topology(path, "gemm")[0].name == "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Layer, M, N, K,\n", "no layers"),
        ("", "no layers"),
        ("Layer, M, N, K,\nq, 1, 2,\n", r":2: gemm row needs 4 fields"),
        ("Layer, M, N, K,\nq, 1, x, 3,\n", r":2: expected integers"),
        ("Layer, M, N, K,\nq, 0, 2, 3,\n", r":2: .*tokens must be a positive integer"),
        ("h,a,b,c,d,e,f,g,\nc, 5, 5, 7, 3, 3, 8, 1,\n", "filter larger than the ifmap"),
        ("h,a,b,c,d,e,f,g,\nc, 5, 5, 3, 3, 3,\n", "conv row needs at least 8 fields"),
        ("h,a,b,c,d,e,f,g,\nc, 9, 9, 3, 3, 3, 8, 1, 2,\n", "different row/column strides"),
    ],
)
def test_bad_rows_name_the_line(text: str, message: str) -> None:
    with pytest.raises(WorkloadError, match=message):
        parse_topology(text)


def test_bad_form_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="unknown topology form 'mnk'"):
        parse_topology(GEMM_CSV, form="mnk")
    with pytest.raises(WorkloadError, match="cannot read topology"):
        load_topology(tmp_path / "missing.csv")


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), st.integers(1, 11), st.integers(1, 4))
def test_output_rows_match_scalesim_for_any_shape(size: int, kernel: int, stride: int) -> None:
    assume(kernel <= size)
    text = f"{CONV_HEADER}c, {size}, {size}, {kernel}, {kernel}, 4, 8, {stride},\n"
    conv = parse_topology(text)[0]
    assert conv.out_h == conv.out_w == scalesim_ofmap(size, kernel, stride)
    assert 0 <= conv.in_h - size < stride


# The first rows of SCALE-Sim's own topology files, verbatim, in tests/data/scalesim/
# (scalesim-project/scale-sim-v2: topologies/conv_nets/Resnet50.csv -> Resnet50_head.csv, 13
# fields with three note columns Eh, Ew, e2 and an all-comma second line;
# topologies/sparsity/conv.csv and gemm.csv -> sparsity_*.csv, an N:M sparsity column).
SCALESIM_DATA = Path(__file__).parent / "data" / "scalesim"
SCALESIM_RESNET50 = (SCALESIM_DATA / "Resnet50_head.csv").read_text()
SCALESIM_SPARSE_CONV = (SCALESIM_DATA / "sparsity_conv.csv").read_text()
SCALESIM_SPARSE_GEMM = (SCALESIM_DATA / "sparsity_gemm.csv").read_text()


def test_scalesim_own_resnet50_file_imports() -> None:
    layers = parse_topology(SCALESIM_RESNET50)
    assert [layer.name for layer in layers] == ["Conv1", "CB2a_1", "CB2a_2", "FC6"]
    conv1 = layers[0].gemm()
    # SCALE-Sim's ofmap: ceil((224 - 7 + 2) / 2) = 110 rows, as its own Eh column says
    assert (conv1.m, conv1.k, conv1.n) == (110 * 110, 7 * 7 * 3, 64)
    assert layers[3].gemm().k == 2048 and layers[3].gemm().n == 1000
    from npusim.workload import load_workload

    assert len(load_workload(SCALESIM_DATA / "Resnet50_head.csv").layers) == 4


def test_scalesim_sparsity_column_is_read_and_the_layer_runs_dense() -> None:
    (conv,) = parse_topology(SCALESIM_SPARSE_CONV)
    assert (conv.gemm().m, conv.gemm().k, conv.gemm().n) == (3 * 3, 3 * 3 * 2, 6)
    gemms = parse_topology(SCALESIM_SPARSE_GEMM)
    assert [(g.tokens, g.out_features, g.in_features) for g in gemms] == [(3, 5, 16), (1, 5, 16)]
    assert [g.name for g in gemms] == ["GEMM_1", "GEMM_1_2"]  # the file repeats the name
    from npusim.workload import load_workload

    assert len(load_workload(SCALESIM_DATA / "sparsity_gemm.csv").layers) == 2
    with pytest.raises(WorkloadError, match=r":2: sparsity '5:4' must be N:M with 1 <= N <= M"):
        parse_topology("Layer, M, N, K, Sparsity,\ng, 3, 5, 16, 5:4,\n")
