"""ONNX import: op mapping, edges, real weights, dynamic dimensions, errors, real models.

Small graphs are built with ``onnx.helper``; expected numbers come from hand formulas, from
onnx's own reference evaluator (BatchNorm folding) or from the published architectures.
"""

from __future__ import annotations

import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.errors import ConfigError, WorkloadError
from npusim.workload import (
    Activation,
    ActivationFunction,
    Concat,
    Conv2d,
    Elementwise,
    ElementwiseOp,
    LayerNorm,
    Linear,
    Matmul,
    Pool2d,
    PoolMode,
    Softmax,
    Workload,
    load_workload,
)
from npusim.workload.tensors import apply_activation, erf, layer_tensors

onnx = pytest.importorskip(
    "onnx", reason="the onnx extra is not installed: pip install 'npusim[onnx]'"
)
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

FLOAT = TensorProto.FLOAT
RNG = np.random.default_rng(7)


def save(
    tmp_path: Path,
    nodes: list,
    inputs: dict[str, list],
    outputs: list[str],
    constants: dict[str, np.ndarray] | None = None,
    opset: int = 17,
    name: str = "model",
) -> Path:
    """A model file of ``nodes``; ``inputs`` maps names to shapes (strings are dim_params)."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, FLOAT, shape) for n, shape in inputs.items()],
        [helper.make_tensor_value_info(n, FLOAT, None) for n in outputs],
        [numpy_helper.from_array(v.astype(np.float32), n) for n, v in (constants or {}).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def by_name(w: Workload, name: str):  # type: ignore[no-untyped-def]
    return next(layer for layer in w.layers if layer.name == name)


def weights(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


# --- convolutions and geometry ----------------------------------------------------------------


def test_conv_pads_strides_dilations_groups(tmp_path: Path) -> None:
    w = weights(8, 2, 3, 3)
    node = helper.make_node(
        "Conv",
        ["x", "w"],
        ["y"],
        name="c",
        pads=[2, 2, 2, 2],
        strides=[2, 2],
        dilations=[2, 2],
        group=2,
    )
    path = save(tmp_path, [node], {"x": [1, 4, 17, 15]}, ["y"], {"w": w})
    layer = load_workload(path).layers[0]
    assert isinstance(layer, Conv2d)
    assert (layer.stride, layer.padding, layer.dilation, layer.groups) == (2, 2, 2, 2)
    # out = floor((in + 4 - 2 * 2 - 1) / 2) + 1 by hand: 17 -> 9, 15 -> 8
    assert (layer.out_h, layer.out_w) == (9, 8)
    assert layer.macs == 9 * 8 * 8 * (2 * 3 * 3)


def test_uneven_pads_are_kept_per_side(tmp_path: Path) -> None:
    # TF-style SAME padding on an even input: one extra row and column at the bottom/right
    same = helper.make_node(
        "Conv", ["x", "w"], ["y"], name="same", pads=[0, 0, 1, 1], strides=[2, 2]
    )
    # a 1x7 kernel padded along the width only (Inception v3's factorized convolutions)
    wide = helper.make_node("Conv", ["y", "w2"], ["z"], name="wide", pads=[0, 3, 0, 3])
    path = save(
        tmp_path,
        [same, wide],
        {"x": [1, 3, 8, 8]},
        ["z"],
        {"w": weights(4, 3, 3, 3), "w2": weights(5, 4, 1, 7)},
    )
    first, second = load_workload(path).layers
    assert first.pads == (0, 0, 1, 1) and (first.out_h, first.out_w) == (4, 4)
    assert second.pads == (0, 3, 0, 3) and (second.out_h, second.out_w) == (4, 4)


@settings(max_examples=40, deadline=None)
@given(
    size=st.tuples(st.integers(3, 20), st.integers(3, 20)),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    pads=st.tuples(*[st.integers(0, 2)] * 4),
)
def test_conv_output_matches_onnx_for_any_geometry(
    tmp_path_factory: pytest.TempPathFactory,
    size: tuple[int, int],
    kernel: tuple[int, int],
    stride: int,
    dilation: int,
    pads: tuple[int, int, int, int],
) -> None:
    span = [dilation * (k - 1) + 1 for k in kernel]
    if any(size[a] + pads[a] + pads[a + 2] < span[a] for a in range(2)):
        return
    node = helper.make_node(
        "Conv", ["x", "w"], ["y"], pads=list(pads), strides=[stride] * 2, dilations=[dilation] * 2
    )
    path = save(
        tmp_path_factory.mktemp("g"),
        [node],
        {"x": [1, 2, *size]},
        ["y"],
        {"w": weights(3, 2, *kernel)},
    )
    layer = load_workload(path).layers[0]
    x = weights(1, 2, *size)
    reference = ReferenceEvaluator(str(path)).run(None, {"x": x})[0]
    assert (layer.out_h, layer.out_w) == reference.shape[2:]
    assert layer.macs == reference.size * 2 * kernel[0] * kernel[1]


def test_1d_conv_is_one_row(tmp_path: Path) -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1])
    path = save(tmp_path, [node], {"x": [2, 4, 10]}, ["y"], {"w": weights(6, 4, 3)})
    layer = load_workload(path).layers[0]
    assert (layer.in_h, layer.in_w, layer.out_w, layer.batch) == (1, 10, 10, 2)
    assert layer.macs == 2 * 10 * 6 * 4 * 3


# --- BatchNorm folding and real weights -------------------------------------------------------


def test_batchnorm_folds_into_the_conv_weights(tmp_path: Path) -> None:
    """conv + BN run by onnx's reference evaluator equals a conv with the imported (folded)
    weights plus the folded shift, computed here by hand."""
    w = weights(6, 3, 3, 3)
    gamma, beta = RNG.uniform(0.5, 2, 6), RNG.standard_normal(6)
    mean, var = RNG.standard_normal(6), RNG.uniform(0.1, 3, 6)
    eps = 1e-3
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node(
            "BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], name="bn", epsilon=eps
        ),
    ]
    consts = {"w": w, "g": gamma, "b": beta, "m": mean, "v": var}
    path = save(tmp_path, nodes, {"x": [1, 3, 5, 5]}, ["y"], consts)
    imported = load_workload(path)
    assert [layer.name for layer in imported.layers] == ["conv"]
    folded = imported.weight_arrays["conv"]
    assert folded.shape == (6, 27)
    x = weights(1, 3, 5, 5)
    expected = ReferenceEvaluator(str(path)).run(None, {"x": x})[0]
    shift = beta - mean * gamma / np.sqrt(var + eps)
    conv_only = save(
        tmp_path,
        [nodes[0]],
        {"x": [1, 3, 5, 5]},
        ["c"],
        {"w": folded.reshape(w.shape)},
        name="folded",
    )
    got = ReferenceEvaluator(str(conv_only)).run(None, {"x": x})[0] + shift[None, :, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_layer_tensors_use_the_real_weights(tmp_path: Path) -> None:
    w = weights(8, 16)
    path = save(
        tmp_path,
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
        {"x": [4, 8]},
        ["y"],
        {"w": w},
    )
    imported = load_workload(path)
    fc = imported.layers[0]
    full = layer_tensors(fc, imported, seed=1)
    np.testing.assert_array_equal(full.weights, w.T)  # one row per output feature
    assert full.weights.shape == (16, 8) and full.inputs.size == 32 and not full.sampled
    sample = layer_tensors(fc, imported, seed=1, max_elements=40)
    assert sample.sampled and sample.weights.shape == (5, 8)
    np.testing.assert_array_equal(sample.weights, w.T[[0, 4, 8, 11, 15]])


def test_gemm_trans_b_and_alpha(tmp_path: Path) -> None:
    b = weights(5, 3)  # transB: (out, in)
    nodes = [helper.make_node("Gemm", ["x", "b", "c"], ["y"], name="fc", transB=1, alpha=0.5)]
    path = save(tmp_path, nodes, {"x": [2, 3]}, ["y"], {"b": b, "c": weights(5)})
    imported = load_workload(path)
    fc = imported.layers[0]
    assert isinstance(fc, Linear) and (fc.tokens, fc.in_features, fc.out_features) == (2, 3, 5)
    np.testing.assert_allclose(imported.weight_arrays["fc"], 0.5 * b)
    plain = save(
        tmp_path,
        [helper.make_node("Gemm", ["x", "b2"], ["y"], name="fc")],
        {"x": [2, 3]},
        ["y"],
        {"b2": b.T},
        name="plain",
    )
    np.testing.assert_array_equal(load_workload(plain).weight_arrays["fc"], b)


def test_matmul_with_weights_is_linear_and_between_activations_is_matmul(
    tmp_path: Path,
) -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q"),
        helper.make_node("MatMul", ["x", "wk"], ["k"], name="k"),
        helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="qk"),
    ]
    path = save(
        tmp_path, nodes, {"x": [3, 7, 16]}, ["s"], {"wq": weights(16, 8), "wk": weights(16, 8)}
    )
    w = load_workload(path)
    q, qk = by_name(w, "q"), by_name(w, "qk")
    assert isinstance(q, Linear) and (q.tokens, q.in_features, q.out_features) == (21, 16, 8)
    assert isinstance(qk, Matmul) and (qk.batch, qk.m, qk.k, qk.n) == (3, 7, 8, 7)
    assert w.inputs["qk"] == ("q", "kt") and w.inputs["kt"] == ("k",)
    assert isinstance(by_name(w, "kt"), Concat)  # a transpose moves data
    assert w.macs == 2 * 21 * 16 * 8 + 3 * 7 * 8 * 7


# --- elementwise, activations, fusion ---------------------------------------------------------


def test_residual_add_reads_both_branches_and_fuses_relu(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="c1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["r"], name="r1"),
        helper.make_node("Conv", ["r", "w2"], ["b"], name="c2", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["b", "r"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["y"], name="r2"),
        helper.make_node("Sum", ["y", "r", "x"], ["t"], name="sum3"),
    ]
    path = save(
        tmp_path,
        nodes,
        {"x": [1, 4, 6, 6]},
        ["t"],
        {"w1": weights(4, 4, 3, 3), "w2": weights(4, 4, 3, 3)},
    )
    w = load_workload(path)
    assert [layer.name for layer in w.layers] == ["c1", "c2", "add", "sum3#1", "sum3"]
    assert by_name(w, "c1").relu and not by_name(w, "c2").relu and by_name(w, "add").relu
    assert w.inputs["add"] == ("c2", "c1") and w.inputs["c2"] == ("c1",)
    assert w.inputs["sum3#1"] == ("add", "c1") and w.inputs["sum3"] == ("sum3#1", "input")
    assert w.graph.tensors["c1"].consumers == ("c2", "add", "sum3#1")


def test_constant_operands(tmp_path: Path) -> None:
    """A bias after a linear is free, a per-channel scale is folded into its weights, a
    broadcast constant elsewhere is a scale/affine activation, a full-size one a stored
    operand of an elementwise layer."""
    w = weights(8, 4)
    scale = RNG.uniform(0.5, 2, 4).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"], name="fc"),
        helper.make_node("Add", ["m", "bias"], ["mb"], name="bias"),
        helper.make_node("Mul", ["scale", "mb"], ["ms"], name="scale"),
        helper.make_node("Relu", ["ms"], ["r"], name="relu"),
        helper.make_node("Mul", ["r", "half"], ["h"], name="half"),
        helper.make_node("Sub", ["h", "one"], ["h1"], name="shift"),
        helper.make_node("Add", ["h1", "pos"], ["y"], name="pos"),
    ]
    consts = {
        "w": w,
        "bias": weights(4),
        "scale": scale,
        "half": np.array(0.5),
        "one": np.ones((1, 4)),
        "pos": weights(3, 4),
    }
    path = save(tmp_path, nodes, {"x": [3, 8]}, ["y"], consts)
    imported = load_workload(path)
    assert [layer.name for layer in imported.layers] == ["fc", "half", "pos"]
    np.testing.assert_allclose(imported.weight_arrays["fc"], w.T * scale[:, None], rtol=1e-6)
    assert by_name(imported, "fc").relu
    half = by_name(imported, "half")
    assert half == Activation("half", 12, ActivationFunction.AFFINE)  # x * 0.5 - 1: 2 ops
    pos = by_name(imported, "pos")
    assert pos == Elementwise("pos", 12, ElementwiseOp.ADD)
    assert imported.inputs["pos"] == ("half",)  # the table is a stored operand


@pytest.mark.parametrize(
    ("op", "attrs", "extra", "function"),
    [
        ("Relu", {}, {}, ActivationFunction.RELU),
        ("Sigmoid", {}, {}, ActivationFunction.SIGMOID),
        ("Tanh", {}, {}, ActivationFunction.TANH),
        ("Erf", {}, {}, ActivationFunction.ERF),
        ("HardSwish", {}, {}, ActivationFunction.HARDSWISH),
        ("Gelu", {}, {}, ActivationFunction.GELU),
        ("LRN", {"size": 3}, {}, ActivationFunction.LRN),
        ("Clip", {}, {"lo": np.array(0.0), "hi": np.array(6.0)}, ActivationFunction.RELU6),
        ("Clip", {}, {"lo": np.array(-1.0), "hi": np.array(1.0)}, ActivationFunction.RELU6),
    ],
)
def test_activations(tmp_path: Path, op: str, attrs: dict, extra: dict, function: object) -> None:
    node = helper.make_node(op, ["x", *extra], ["y"], name="act", **attrs)
    opset = 20 if op == "Gelu" else 17
    path = save(tmp_path, [node], {"x": [1, 2, 3, 4]}, ["y"], extra, opset=opset)
    assert load_workload(path).layers == (Activation("act", 24, function),)


def test_a_hardtanh_clip_does_not_fuse(tmp_path: Path) -> None:
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
             helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip")]  # fmt: skip
    consts = {"w": weights(2, 2, 1, 1), "lo": np.array(-1.0), "hi": np.array(1.0)}
    conv, clip = load_workload(save(tmp_path, nodes, {"x": [1, 2, 4, 4]}, ["y"], consts)).layers
    assert not conv.relu and clip == Activation("clip", 32, ActivationFunction.RELU6)


def test_relu6_fuses_onto_a_conv(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Clip", ["c", "lo", "hi"], ["y"], name="clip"),
    ]
    consts = {"w": weights(2, 2, 1, 1), "lo": np.array(0.0), "hi": np.array(6.0)}
    layer = load_workload(save(tmp_path, nodes, {"x": [1, 2, 4, 4]}, ["y"], consts)).layers
    assert len(layer) == 1 and layer[0].relu


# --- vector layers and data movement ----------------------------------------------------------


def test_pools(tmp_path: Path) -> None:
    nodes = [
        helper.make_node(
            "MaxPool", ["x"], ["a"], name="max", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1
        ),
        helper.make_node(
            "AveragePool", ["a"], ["b"], name="avg", kernel_shape=[2, 2], pads=[0, 0, 1, 1]
        ),
        helper.make_node("GlobalAveragePool", ["b"], ["y"], name="gap"),
    ]
    w = load_workload(save(tmp_path, nodes, {"x": [1, 3, 12, 12]}, ["y"]))
    maxpool, avg, gap = w.layers
    # ceil((12 - 3) / 2) + 1 = 6 (floor would give 5)
    assert maxpool.mode is PoolMode.MAX and (maxpool.out_h, maxpool.out_w) == (6, 6)
    assert avg.pads == (0, 0, 1, 1) and (avg.out_h, avg.out_w) == (6, 6)
    assert gap == Pool2d("gap", 6, 6, 3, PoolMode.AVG, global_pool=True)


def test_softmax_and_layernorm_axes(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Softmax", ["x"], ["s"], name="sm", axis=1),
        helper.make_node("LayerNormalization", ["s", "g", "b"], ["y"], name="ln", axis=-1),
    ]
    consts = {"g": np.ones(5), "b": np.zeros(5)}
    w = load_workload(save(tmp_path, nodes, {"x": [2, 3, 5]}, ["y"], consts))
    assert w.layers == (Softmax("sm", rows=10, length=3), LayerNorm("ln", tokens=6, features=5))
    old = save(tmp_path, [nodes[0]], {"x": [2, 3, 5]}, ["s"], opset=11, name="old")
    # before opset 13 Softmax normalizes over the flattened axes from ``axis`` on
    assert load_workload(old).layers == (Softmax("sm", rows=2, length=15),)


def test_views_are_free_and_moves_are_concats(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Reshape", ["r", "shape"], ["a"], name="reshape"),
        helper.make_node("Unsqueeze", ["a", "axes"], ["b"], name="unsq"),
        helper.make_node("Squeeze", ["b", "axes"], ["c"], name="sq"),
        helper.make_node("Identity", ["c"], ["d"], name="id"),
        helper.make_node("Dropout", ["d"], ["e"], name="drop"),
        helper.make_node("Flatten", ["e"], ["f"], name="flat", axis=1),
        helper.make_node("Transpose", ["f"], ["g"], name="unit", perm=[1, 0]),
        helper.make_node("Transpose", ["r"], ["t"], name="move", perm=[0, 1, 3, 2]),
        helper.make_node("Split", ["t", "parts"], ["p0", "p1"], name="split", axis=1),
        helper.make_node("Concat", ["p1", "p0", "x"], ["y"], name="cat", axis=1),
    ]
    consts = {"shape": np.array([1, -1]), "axes": np.array([0]), "parts": np.array([1, 2])}
    graph_consts = {k: v.astype(np.int64) for k, v in consts.items()}
    graph = helper.make_graph(
        nodes,
        "views",
        [helper.make_tensor_value_info("x", FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info(n, FLOAT, None) for n in ("g", "y")],
        [numpy_helper.from_array(v, n) for n, v in graph_consts.items()],
    )
    path = tmp_path / "views.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    w = load_workload(path)
    assert [layer.kind for layer in w.layers] == [
        "activation",
        "concat",
        "concat",
        "concat",
        "concat",
    ]
    assert [layer.name for layer in w.layers][2:] == ["split:0", "split:1", "cat"]
    assert w.inputs["move"] == ("relu",) and w.inputs["cat"] == ("split:1", "split:0", "input")
    assert by_name(w, "cat").elements == 96 and by_name(w, "split:1").elements == 32


# --- dynamic dimensions and errors ------------------------------------------------------------


def dynamic_model(tmp_path: Path) -> Path:
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")]
    return save(tmp_path, nodes, {"x": ["batch_size", "seq", 8]}, ["y"], {"w": weights(8, 4)})


def test_dynamic_dims_take_params(tmp_path: Path) -> None:
    w = load_workload(dynamic_model(tmp_path), {"batch_size": 2, "seq": 5})
    assert w.layers == (Linear("fc", 8, 4, tokens=10),) and dict(w.params) == {
        "batch_size": 2,
        "seq": 5,
    }


def test_missing_and_unknown_dims_are_named(tmp_path: Path) -> None:
    path = dynamic_model(tmp_path)
    with pytest.raises(
        ConfigError,
        match=r"batch_size \(input 'x' axis 0\), seq \(input 'x' "
        r"axis 1\); give them with --param batch_size=N --param seq=N",
    ):
        load_workload(path)
    with pytest.raises(
        ConfigError,
        match=r"params.seqlen: not a dynamic dimension of the "
        r"model \(did you mean 'seq'\?\); its dimensions: batch_size, seq",
    ):
        load_workload(path, {"batch_size": 1, "seq": 2, "seqlen": 3})
    with pytest.raises(ConfigError, match=r"params.seq: expected an integer from 1"):
        load_workload(path, {"batch_size": 1, "seq": 0})


def unsupported_model(tmp_path: Path) -> Path:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Round", ["r"], ["q"], name="rounder"),
        helper.make_node("Sigmoid", ["q"], ["y"], name="sig"),
    ]
    return save(tmp_path, nodes, {"x": [2, 3]}, ["y"])


def test_unsupported_op_is_named(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match=r"unsupported ONNX node Round 'rounder'"):
        load_workload(unsupported_model(tmp_path))


def test_skip_unsupported_warns_and_notes(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"left out 1 unsupported node\(s\): Round 'rounder'"):
        w = load_workload(unsupported_model(tmp_path), skip_unsupported=True)
    assert [layer.name for layer in w.layers] == ["relu", "sig"]
    assert w.inputs["sig"] == ("relu",)  # the skipped node passes its input through
    assert "skipped unsupported nodes: Round 'rounder'" in w.description


def test_shape_mismatch_is_named(tmp_path: Path) -> None:
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="c")
    path = save(tmp_path, [node], {"x": [1, 3, 8, 8]}, ["y"], {"w": weights(4, 5, 3, 3)})
    with pytest.raises(
        WorkloadError,
        match=r"Conv 'c': weights of shape \(4, 5, 3, 3\) "
        r"do not fit 3 input channels in 1 group",
    ):
        load_workload(path)
    gemm = helper.make_node("Gemm", ["x", "b"], ["y"], name="g")
    path = save(tmp_path, [gemm], {"x": [2, 3]}, ["y"], {"b": weights(4, 5)}, name="gemm")
    with pytest.raises(WorkloadError, match=r"invalid ONNX model: .*Gemm"):
        load_workload(path)


@pytest.mark.parametrize("content", [b"name: not onnx\nlayers: []\n", b"\x08\x07\x12\xff\xff"])
def test_not_onnx_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(WorkloadError, match=r"bad.onnx: not"):
        load_workload(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = dynamic_model(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(WorkloadError, match=r"model.onnx: not a readable ONNX model"):
        load_workload(path)


def test_without_the_onnx_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # makes ``import onnx`` raise ImportError
    with pytest.raises(WorkloadError, match=r"pip install 'npusim\[onnx\]'"):
        load_workload(dynamic_model(tmp_path))


def test_importing_npusim_does_not_import_onnx() -> None:
    code = "import sys, npusim, npusim.workload, npusim.cli.run; print('onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the command line -------------------------------------------------------------------------


def test_cli_runs_an_onnx_model(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["y"], name="gap"),
    ]
    path = save(
        tmp_path, nodes, {"x": ["n", 3, 16, 16]}, ["y"], {"w": weights(8, 3, 3, 3)}, name="tiny"
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "npusim",
            "run",
            "-w",
            str(path),
            "--param",
            "n=2",
            "--fidelity",
            "analytic",
            "--out",
            str(out),
            "--no-plots",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.json").exists() and "conv" in (out / "layers.csv").read_text()


def test_cli_bad_onnx_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"\x00garbage" * 10)
    proc = subprocess.run(
        [sys.executable, "-m", "npusim", "run", "-w", "bad.onnx", "--fidelity", "analytic"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "bad.onnx" in proc.stderr, proc.stderr


# --- the real architectures in the onnx wheel's backend test data ------------------------------


def light_model(name: str) -> Path:
    spec = importlib.util.find_spec("onnx")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "backend" / "test" / "data" / "light" / f"light_{name}.onnx"
    if not path.exists():
        pytest.skip(f"{path} is not in this onnx wheel")
    return path


def conv_counts(layers: list[tuple[int, int, int, int, int]]) -> tuple[int, int]:
    """(weights, MACs) of ``(in_channels, out_channels, kernel, out_size, groups)`` convs and
    fully connected layers (kernel 1, out_size 1)."""
    weights = sum(c_in // g * c_out * k * k for c_in, c_out, k, _, g in layers)
    macs = sum(c_in // g * c_out * k * k * s * s for c_in, c_out, k, s, g in layers)
    return weights, macs


def counts(w: Workload) -> tuple[int, int]:
    return w.parameters, w.macs


def test_resnet50() -> None:
    w = load_workload(light_model("resnet50"))
    convs = [layer for layer in w.layers if isinstance(layer, Conv2d)]
    assert len(convs) == 53 and sum(isinstance(x, Elementwise) for x in w.layers) == 16
    assert not any(isinstance(x, Activation) for x in w.layers)  # BN folded, ReLUs fused
    # torchvision ResNet50_Weights.IMAGENET1K_V1: 25,557,032 parameters = our conv/fc weights
    # + the fc bias + BatchNorm (gamma, beta) after every conv; 4.09 GFLOPS (= GMACs).
    batchnorm = 2 * sum(c.out_channels for c in convs)
    assert w.parameters + 1000 + batchnorm == 25_557_032
    assert abs(w.macs / 4.09e9 - 1) < 0.001


def test_vgg19() -> None:
    # Simonyan & Zisserman 2015, Table 1 column E: 3x3 convs 2x64, 2x128, 4x256, 4x512, 4x512
    # at 224, 112, 56, 28, 14; FC 25088-4096-4096-1000.
    widths = (
        [(64, 224)] * 2 + [(128, 112)] * 2 + [(256, 56)] * 4 + [(512, 28)] * 4 + [(512, 14)] * 4
    )
    convs = [
        (c_in, c_out, 3, size, 1)
        for (c_in, _), (c_out, size) in zip([(3, 0), *widths[:-1]], widths, strict=True)
    ]
    fcs = [(25088, 4096, 1, 1, 1), (4096, 4096, 1, 1, 1), (4096, 1000, 1, 1, 1)]
    w = load_workload(light_model("vgg19"))
    assert counts(w) == conv_counts(convs + fcs)
    # torchvision VGG19_Weights.IMAGENET1K_V1: 143,667,240 parameters incl. 14,696 biases
    # (5,504 conv + 9,192 fc); 19.63 GFLOPS.
    assert w.parameters + 5504 + 9192 == 143_667_240
    assert abs(w.macs / 19.63e9 - 1) < 0.001


def test_alexnet() -> None:
    # Krizhevsky et al. 2012, Fig. 2 as in Caffe's bvlc_alexnet: conv2, conv4, conv5 in two
    # groups. At this model's 224 x 224 input conv1 gives 54 x 54 (55 at Caffe's 227).
    layers = [
        (3, 96, 11, 54, 1),
        (96, 256, 5, 26, 2),
        (256, 384, 3, 12, 1),
        (384, 384, 3, 12, 2),
        (384, 256, 3, 12, 2),
        (9216, 4096, 1, 1, 1),
        (4096, 4096, 1, 1, 1),
        (4096, 1000, 1, 1, 1),
    ]
    w = load_workload(light_model("bvlc_alexnet"))
    assert counts(w) == conv_counts(layers) == (60_954_656, 654_560_384)
    # the paper's "60 million parameters"; Caffe's bvlc_alexnet has 60,965,224 with its biases
    assert w.parameters + (96 + 256 + 384 + 384 + 256 + 4096 + 4096 + 1000) == 60_965_224
    assert (
        sum(isinstance(x, Activation) and x.function is ActivationFunction.LRN for x in w.layers)
        == 2
    )


def test_zfnet512() -> None:
    # Zeiler & Fergus 2014, Fig. 3 (7x7/2 conv1, 5x5/2 conv2, 3x3 conv3-5) with Table 3's
    # widened layers 3-5; Caffe2's zfnet512 widths as the model declares them.
    w = load_workload(light_model("zfnet512"))
    convs = [x for x in w.layers if isinstance(x, Conv2d)]
    assert [(c.kernel_h, c.stride, c.out_h) for c in convs] == [
        (7, 2, 109),
        (5, 2, 25),
        (3, 1, 12),
        (3, 1, 12),
        (3, 1, 12),
    ]
    layers = [(c.in_channels, c.out_channels, c.kernel_h, c.out_h, 1) for c in convs]
    fcs = [(x.in_features, x.out_features, 1, 1, 1) for x in w.layers if isinstance(x, Linear)]
    assert fcs[0][0] == convs[-1].out_channels * 6 * 6
    assert counts(w) == conv_counts(layers + fcs)


def inception_v1_module(
    c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, proj: int, size: int
) -> list[tuple[int, int, int, int, int]]:
    return [
        (c_in, n1, 1, size, 1),
        (c_in, r3, 1, size, 1),
        (r3, n3, 3, size, 1),
        (c_in, r5, 1, size, 1),
        (r5, n5, 5, size, 1),
        (c_in, proj, 1, size, 1),
    ]


def test_inception_v1() -> None:
    # Szegedy et al. 2015 (GoogLeNet), Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5,
    # pool proj of each module; stem 7x7/2, 1x1, 3x3; FC 1024-1000.
    # This conversion pools in floor mode without padding where Caffe pools in ceil mode, so
    # its maps are 55, 27, 13, 6 instead of the paper's 56, 28, 14, 7.
    table = [
        (192, 64, 96, 128, 16, 32, 32),
        (256, 128, 128, 192, 32, 96, 64),
        (480, 192, 96, 208, 16, 48, 64),
        (512, 160, 112, 224, 24, 64, 64),
        (512, 128, 128, 256, 24, 64, 64),
        (512, 112, 144, 288, 32, 64, 64),
        (528, 256, 160, 320, 32, 128, 128),
        (832, 256, 160, 320, 32, 128, 128),
        (832, 384, 192, 384, 48, 128, 128),
    ]
    stem = [(3, 64, 7, 112, 1), (64, 64, 1, 55, 1), (64, 192, 3, 55, 1), (1024, 1000, 1, 1, 1)]
    sizes = [27] * 2 + [13] * 5 + [6] * 2
    layers = stem + [
        conv
        for row, size in zip(table, sizes, strict=True)
        for conv in inception_v1_module(*row, size)
    ]
    w = load_workload(light_model("inception_v1"))
    assert counts(w) == conv_counts(layers)
    # Table 1's total of 6.8 M parameters is a sum of rounded rows (conv1 is listed as 2.7 K,
    # 7 x 7 x 3 x 64 is 9.4 K), so only the order of magnitude compares.
    assert abs(w.parameters / 6.8e6 - 1) < 0.03


def bn_inception_module(
    c_in: int, n1: int, r3: int, n3: int, rd: int, nd: int, proj: int, size: int, stride: int = 1
) -> list[tuple[int, int, int, int, int]]:
    out = size // stride
    layers = [
        (c_in, r3, 1, size, 1),
        (r3, n3, 3, out, 1),
        (c_in, rd, 1, size, 1),
        (rd, nd, 3, size, 1),
        (nd, nd, 3, out, 1),
    ]
    layers += [(c_in, n1, 1, size, 1)] if n1 else []
    return layers + ([(c_in, proj, 1, size, 1)] if proj else [])


def test_inception_v2() -> None:
    # Ioffe & Szegedy 2015 (BN-Inception), Fig. 5: #1x1, #3x3 reduce, #3x3, double #3x3
    # reduce, double #3x3, pool proj; 3c and 4e stride 2 with a pass-through pool. Caffe2's
    # model projects 4c and 4d pools to 96 (so each module outputs the 576 of Fig. 5).
    table = [
        (192, 64, 64, 64, 64, 96, 32, 28),
        (256, 64, 64, 96, 64, 96, 64, 28),
        (320, 0, 128, 160, 64, 96, 0, 28, 2),
        (576, 224, 64, 96, 96, 128, 128, 14),
        (576, 192, 96, 128, 96, 128, 128, 14),
        (576, 160, 128, 160, 128, 160, 96, 14),
        (576, 96, 128, 192, 160, 192, 96, 14),
        (576, 0, 128, 192, 192, 256, 0, 14, 2),
        (1024, 352, 192, 320, 160, 224, 128, 7),
        (1024, 352, 192, 320, 192, 224, 128, 7),
    ]
    layers = [(3, 64, 7, 112, 1), (64, 64, 1, 56, 1), (64, 192, 3, 56, 1), (1024, 1000, 1, 1, 1)]
    layers += [conv for row in table for conv in bn_inception_module(*row)]
    w = load_workload(light_model("inception_v2"))
    assert counts(w) == conv_counts(layers)
    assert not any(isinstance(x, Activation) for x in w.layers)  # every BN after a conv


def test_densenet121() -> None:
    # Huang et al. 2017, Table 1 (DenseNet-121, k = 32, BC: 1x1 to 4k then 3x3 to k,
    # transitions halve the channels): blocks of 6, 12, 24, 16 layers at 56, 28, 14, 7.
    layers, bn_channels, channels = [(3, 64, 7, 112, 1)], 64, 64
    for block, (repeat, size) in enumerate(zip((6, 12, 24, 16), (56, 28, 14, 7), strict=True)):
        for _ in range(repeat):
            layers += [(channels, 128, 1, size, 1), (128, 32, 3, size, 1)]
            bn_channels += channels + 128
            channels += 32
        if block < 3:
            layers.append((channels, channels // 2, 1, size, 1))
            bn_channels += channels
            channels //= 2
    layers.append((channels, 1000, 1, 1, 1))
    bn_channels += channels  # the final norm
    w = load_workload(light_model("densenet121"))
    assert counts(w) == conv_counts(layers)
    # torchvision DenseNet121_Weights.IMAGENET1K_V1: 7,978,856 parameters = weights + fc bias +
    # BatchNorm (gamma, beta); 2.83 GFLOPS.
    assert w.parameters + 1000 + 2 * bn_channels == 7_978_856
    assert abs(w.macs / 2.83e9 - 1) < 0.002
    # pre-activation BN (+ Caffe Scale) before each ReLU-conv: one affine layer each
    affine = [
        x for x in w.layers if isinstance(x, Activation) and x.function is ActivationFunction.AFFINE
    ]
    assert len(affine) == 58 + 3 + 1  # dense layers, transitions, the final norm


def test_squeezenet() -> None:
    # SqueezeNet v1.1 (Iandola et al. 2016; v1.1 in the authors' repository): 3x3/2 conv1 to
    # 64, fire modules (squeeze s, expand e 1x1 + e 3x3) at 55, 27, 13; conv10 to 1000.
    fires = [
        (64, 16, 64, 55),
        (128, 16, 64, 55),
        (128, 32, 128, 27),
        (256, 32, 128, 27),
        (256, 48, 192, 13),
        (384, 48, 192, 13),
        (384, 64, 256, 13),
        (512, 64, 256, 13),
    ]
    layers = [(3, 64, 3, 111, 1), (512, 1000, 1, 13, 1)]
    for c_in, s, e, size in fires:
        layers += [(c_in, s, 1, size, 1), (s, e, 1, size, 1), (s, e, 3, size, 1)]
    w = load_workload(light_model("squeezenet"))
    assert counts(w) == conv_counts(layers)
    # torchvision SqueezeNet1_1_Weights: 1,235,496 parameters incl. one bias per conv output
    # channel; 0.35 GFLOPS.
    biases = sum(c_out for _, c_out, *_ in layers)
    assert w.parameters + biases == 1_235_496
    assert abs(w.macs / 0.35e9 - 1) < 0.01


def test_shufflenet() -> None:
    # Zhang et al. 2018, Table 1 structure with g = 4 at half width (stages of 4, 8, 4 units
    # to 136, 272, 544 channels); Caffe2's units keep the bottleneck at the unit's width, so
    # the paper's 0.5x FLOPs do not apply: the counts are summed from the unit formula.
    layers, channels = [(3, 24, 3, 112, 1)], 24
    for repeat, width, size in ((4, 136, 28), (8, 272, 14), (4, 544, 7)):
        for unit in range(repeat):
            branch = width - channels if unit == 0 else width
            layers += [
                (channels, branch, 1, size * 2 if unit == 0 else size, 4),
                (branch, branch, 3, size, branch),
                (branch, branch, 1, size, 4),
            ]
            channels = width
    layers.append((544, 1000, 1, 1, 1))
    w = load_workload(light_model("shufflenet"))
    assert counts(w) == conv_counts(layers)
    assert sum(isinstance(x, Concat) for x in w.layers) == 19  # 16 channel shuffles + 3 concats


# --- what the importer added to the layer types ------------------------------------------------


def test_per_side_pads_on_layers() -> None:
    conv = Conv2d("c", 7, 9, 2, 2, 3, 3, stride=2, pads=(0, 1, 1, 2))
    # floor((7 + 0 + 1 - 3) / 2) + 1 = 3 rows, floor((9 + 1 + 2 - 3) / 2) + 1 = 5 columns
    assert (conv.out_h, conv.out_w) == (3, 5)
    pool = Pool2d("p", 6, 6, 1, PoolMode.AVG, 7, 7, pads=(0, 0, 1, 1))
    assert (pool.out_h, pool.out_w) == (1, 1)
    cases = [
        (lambda: Conv2d("c", 8, 8, 1, 1, 3, 3, padding=1, pads=(1, 1, 1, 1)), "not both"),
        (lambda: Conv2d("c", 8, 8, 1, 1, 3, 3, pads=(1, 1, 1)), "pads must be (top, left"),
        (lambda: Conv2d("c", 8, 8, 1, 1, 3, 3, pads=(0, -1, 0, 0)), "pads[1] must be >= 0"),
        (lambda: Pool2d("p", 8, 8, 1, kernel_h=2, kernel_w=2, pads=(0, 0, 2, 0)), "smaller"),
    ]
    for build, message in cases:
        with pytest.raises(WorkloadError, match=re.escape(message)):
            build()


def test_new_activation_functions() -> None:
    x = np.linspace(-5, 5, 101, dtype=np.float32)
    exact_erf = np.array([math.erf(v) for v in x.tolist()])
    # 1.5e-7 from the approximation + half a float32 ulp near 1 (6e-8)
    np.testing.assert_allclose(apply_activation(x, ActivationFunction.ERF), exact_erf, atol=2.1e-7)
    hardswish = x * np.clip(x + 3, 0, 6) / 6  # Howard et al. 2019 (MobileNetV3), Eq. 2
    np.testing.assert_allclose(apply_activation(x, ActivationFunction.HARDSWISH), hardswish)
    for function in (ActivationFunction.SCALE, ActivationFunction.AFFINE, ActivationFunction.LRN):
        assert apply_activation(x, function) is x
    assert [
        Activation("a", 10, f).vector_ops
        for f in (
            ActivationFunction.SCALE,
            ActivationFunction.AFFINE,
            ActivationFunction.ERF,
            ActivationFunction.HARDSWISH,
            ActivationFunction.LRN,
        )
    ] == [10, 20, 10, 50, 70]


def test_no_fusion_when_the_output_has_other_readers(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], name="bn"),
        helper.make_node("Add", ["n", "r"], ["y"], name="add"),
    ]
    consts = {
        "w": weights(2, 2, 1, 1),
        "g": np.ones(2),
        "b": np.zeros(2),
        "m": np.zeros(2),
        "v": np.ones(2),
    }
    w = load_workload(save(tmp_path, nodes, {"x": [1, 2, 3, 3]}, ["y"], consts))
    assert [(layer.name, layer.kind) for layer in w.layers] == [
        ("conv", "conv2d"),
        ("relu", "activation"),
        ("bn", "activation"),
        ("add", "elementwise"),
    ]
    assert not by_name(w, "conv").relu and by_name(w, "bn").function is ActivationFunction.AFFINE
    assert w.inputs["add"] == ("bn", "relu")


def test_constant_of_shape_weights_stay_views(tmp_path: Path) -> None:
    """The light_* models' weights: ConstantOfShape(0.02), folded with a BatchNorm."""
    fill = helper.make_tensor("fill", FLOAT, [1], [0.02])
    gamma, var = np.array([1.0, 2.0, 3.0]), np.array([0.25, 1.0, 4.0])
    nodes = [
        helper.make_node("ConstantOfShape", ["wshape"], ["w"], value=fill),
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], epsilon=0.0),
    ]
    graph = helper.make_graph(
        nodes, "cos", [helper.make_tensor_value_info("x", FLOAT, [1, 4, 5, 5])],
        [helper.make_tensor_value_info("y", FLOAT, [1, 3, 3, 3])],
        [numpy_helper.from_array(np.array([3, 4, 3, 3], np.int64), "wshape")]
        + [numpy_helper.from_array(v.astype(np.float32), n) for n, v in
           {"g": gamma, "b": np.zeros(3), "m": np.zeros(3), "v": var}.items()],
    )  # fmt: skip
    path = tmp_path / "cos.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    folded = load_workload(path).weight_arrays["conv"]
    assert folded.shape == (3, 36) and folded.strides[1] == 0  # no 3 x 36 copy
    # 0.02 * gamma / sqrt(var): 0.04, 0.04, 0.03 per output channel
    np.testing.assert_allclose(folded, np.repeat([[0.04], [0.04], [0.03]], 36, axis=1), rtol=1e-6)


@pytest.mark.parametrize(("auto_pad", "pads"), [("SAME_UPPER", (0, 0, 1, 1)),
                                                 ("SAME_LOWER", (1, 1, 0, 0))])  # fmt: skip
def test_auto_pad(tmp_path: Path, auto_pad: str, pads: tuple[int, ...]) -> None:
    # stride 2 over 8 -> 4 outputs need (4 - 1) * 2 + 3 - 8 = 1 padded cell per axis; UPPER
    # puts the odd one at the end (ONNX Conv operator specification)
    node = helper.make_node("Conv", ["x", "w"], ["y"], auto_pad=auto_pad, strides=[2, 2])
    path = save(tmp_path, [node], {"x": [1, 1, 8, 8]}, ["y"], {"w": weights(1, 1, 3, 3)})
    layer = load_workload(path).layers[0]
    assert layer.pads == pads and (layer.out_h, layer.out_w) == (4, 4)


def test_division_by_a_channel_constant_folds(tmp_path: Path) -> None:
    w, d = weights(3, 4), RNG.uniform(1, 2, 4).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["m"], name="fc"),
             helper.make_node("Div", ["m", "d"], ["q"], name="div"),
             helper.make_node("Div", ["d", "q"], ["y"], name="inverse")]  # fmt: skip
    imported = load_workload(save(tmp_path, nodes, {"x": [2, 3]}, ["y"], {"w": w, "d": d}))
    np.testing.assert_allclose(imported.weight_arrays["fc"], w.T / d[:, None], rtol=1e-6)
    # d / x is no scaling of the weights: a reciprocal on the vector unit
    assert by_name(imported, "inverse") == Activation("inverse", 8, ActivationFunction.SCALE)


def test_batchnorm_after_a_fused_relu_stays_a_layer(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("BatchNormalization", ["r", "g", "b", "m", "v"], ["y"], name="bn"),
    ]
    w0 = weights(2, 2, 1, 1)
    consts = {"w": w0, "g": np.full(2, 3.0), "b": np.zeros(2), "m": np.zeros(2), "v": np.ones(2)}
    w = load_workload(save(tmp_path, nodes, {"x": [1, 2, 3, 3]}, ["y"], consts))
    assert [layer.name for layer in w.layers] == ["conv", "bn"] and w.layers[0].relu
    np.testing.assert_array_equal(w.weight_arrays["conv"], w0.reshape(2, 2))


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(4, 16),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    pads=st.tuples(*[st.integers(0, 1)] * 4),
    ceil_mode=st.integers(0, 1),
    op=st.sampled_from(["MaxPool", "AveragePool"]),
)
def test_pool_output_matches_onnx_for_any_geometry(
    tmp_path_factory: pytest.TempPathFactory, size: int, kernel: int, stride: int,
    pads: tuple[int, int, int, int], ceil_mode: int, op: str,
) -> None:  # fmt: skip
    if max(pads) >= kernel:
        return  # ONNX pads must be smaller than the kernel
    node = helper.make_node(op, ["x"], ["y"], kernel_shape=[kernel, kernel], pads=list(pads),
                            strides=[stride, stride], ceil_mode=ceil_mode)  # fmt: skip
    path = save(tmp_path_factory.mktemp("p"), [node], {"x": [1, 2, size, size + 1]}, ["y"])
    out = [pool_output(n, kernel, stride, pads[a], pads[a + 2], ceil_mode)
           for a, n in enumerate((size, size + 1))]  # fmt: skip
    try:
        layer = load_workload(path).layers[0]
    except WorkloadError as err:  # a ceil-mode window that would need a pad past the kernel
        assert "smaller than the kernel" in str(err)
        return
    assert [layer.out_h, layer.out_w] == out
    window = kernel * kernel
    assert layer.vector_ops == 2 * out[0] * out[1] * (window if op == "AveragePool" else window - 1)


def pool_output(size: int, kernel: int, stride: int, begin: int, end: int, ceil: int) -> int:
    """Output length of a pooling window (ONNX MaxPool specification; in ceil mode a last
    window starting in the end padding is dropped, as PyTorch does). onnx's reference
    evaluator disagrees with its own shape inference in ceil mode, so it is not used here."""
    span = size + begin + end - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    return out - 1 if ceil and (out - 1) * stride >= size + begin else out


def test_cli_skip_unsupported(tmp_path: Path) -> None:
    path = unsupported_model(tmp_path)
    args = [sys.executable, "-m", "npusim", "run", "-w", str(path), "--fidelity", "analytic",
            "--out", str(tmp_path / "out"), "--no-plots"]  # fmt: skip
    refused = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "Round 'rounder'" in refused.stderr
    skipped = subprocess.run([*args, "--skip-unsupported"], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert skipped.returncode == 0 and "left out 1 unsupported node(s)" in skipped.stderr


def test_shape_arithmetic_is_folded(tmp_path: Path) -> None:
    """PyTorch's flatten: Shape -> Slice/Gather -> Unsqueeze -> Concat -> Reshape."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["s"]),
        helper.make_node("Slice", ["s", "zero", "one"], ["batch"]),
        helper.make_node("Gather", ["s", "zero_scalar"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "zero"], ["n1"]),
        helper.make_node("Concat", ["batch", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["r", "target"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "w"], ["y"], name="fc", transB=1),
    ]
    ints = {"zero": np.array([0]), "one": np.array([1]), "zero_scalar": np.array(0),
            "minus_one": np.array([-1])}  # fmt: skip
    graph = helper.make_graph(
        nodes, "flatten", [helper.make_tensor_value_info("x", FLOAT, [2, 3, 4, 4])],
        [helper.make_tensor_value_info("y", FLOAT, [2, 5])],
        [numpy_helper.from_array(v.astype(np.int64), n) for n, v in ints.items()]
        + [numpy_helper.from_array(weights(5, 48), "w")],
    )  # fmt: skip
    path = tmp_path / "flatten.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    w = load_workload(path)
    assert [layer.name for layer in w.layers] == ["relu", "fc"] and w.inputs["fc"] == ("relu",)
    assert by_name(w, "fc") == Linear("fc", 48, 5, tokens=2)


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([helper.make_node("Frobnicate", ["x"], [], name="")], r"unsupported ONNX node Frobnicate"),
        ([helper.make_node("Concat", ["x", "c"], ["y"], name="cat", axis=1)],
         r"Concat 'cat': input 'c' is a constant"),
        ([helper.make_node("Relu", ["ghost"], ["y"], name="r")], r"invalid ONNX model|ghost"),
    ],
)  # fmt: skip
def test_hostile_graphs_are_named_errors(tmp_path: Path, nodes: list, message: str) -> None:
    path = save(tmp_path, nodes, {"x": [1, 2]}, ["y"] if nodes[0].output else [],
                {"c": np.ones((1, 2))})  # fmt: skip
    with pytest.raises(WorkloadError, match=message):
        load_workload(path)


@pytest.mark.parametrize("form", ["a", "b"])
def test_erf_gelu_becomes_one_layer(tmp_path: Path, form: str) -> None:
    """PyTorch's pre-opset-20 GELU export, 0.5 * x * (1 + erf(x / sqrt 2)), in both orders."""
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
        helper.make_node("Constant", [], ["root2"], value=numpy_helper.from_array(
            np.array(1.4142135, np.float32))),
        helper.make_node("Div", ["h", "root2"], ["d"], name="div"),
        helper.make_node("Erf", ["d"], ["e"], name="erf"),
        helper.make_node("Add", ["e", "one"], ["p"], name="plus"),
    ]  # fmt: skip
    if form == "a":
        nodes += [helper.make_node("Mul", ["h", "p"], ["m"], name="times"),
                  helper.make_node("Mul", ["m", "half"], ["y"], name="half")]  # fmt: skip
    else:
        nodes += [helper.make_node("Mul", ["half", "h"], ["hh"], name="half"),
                  helper.make_node("Mul", ["hh", "p"], ["y"], name="times")]  # fmt: skip
    consts = {"w": weights(4, 6), "one": np.array(1.0), "half": np.array(0.5)}
    path = save(tmp_path, nodes, {"x": [3, 4]}, ["y"], consts)
    w = load_workload(path)
    assert w.layers[1:] == (Activation("erf", 18, ActivationFunction.GELU),)
    assert w.inputs["erf"] == ("fc",)
    x = weights(3, 4)
    expected = ReferenceEvaluator(str(path)).run(None, {"x": x})[0]
    h = x @ consts["w"]
    # the graph really is GELU (float32 rounding of 1 + erf near -1 bounds the agreement)
    np.testing.assert_allclose(expected, 0.5 * h * (1 + erf(h / np.sqrt(2))), atol=1e-6)


def test_a_gelu_whose_inner_tensor_is_read_elsewhere_is_not_fused(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("Div", ["x", "root2"], ["d"], name="div"),
        helper.make_node("Erf", ["d"], ["e"], name="erf"),
        helper.make_node("Add", ["e", "one"], ["p"], name="plus"),
        helper.make_node("Mul", ["x", "p"], ["m"], name="times"),
        helper.make_node("Mul", ["m", "half"], ["y"], name="half"),
    ]
    consts = {"root2": np.array(np.sqrt(2)), "one": np.array(1.0), "half": np.array(0.5)}
    w = load_workload(save(tmp_path, nodes, {"x": [3, 4]}, ["y", "e"], consts))
    assert [layer.name for layer in w.layers] == ["div", "erf", "plus", "times", "half"]


def test_external_data_outside_the_model_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.bin").write_bytes(b"\0" * 16)
    tensor = onnx.TensorProto(name="w", data_type=FLOAT, dims=[2, 2],
                              data_location=TensorProto.EXTERNAL)  # fmt: skip
    tensor.external_data.add(key="location", value="../secret.bin")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "ext",
        [helper.make_tensor_value_info("x", FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", FLOAT, [1, 2])], [tensor],
    )  # fmt: skip
    (tmp_path / "model").mkdir()
    path = tmp_path / "model" / "ext.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(WorkloadError, match=r"not a readable ONNX model .*points outside"):
        load_workload(path)
