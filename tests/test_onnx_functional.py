"""The ONNX functional path: imported biases, folded BatchNorm and constant ops, fused
activations, refusals that name the node, and the shipped digits models against references.

References are independent of npusim: onnx's own reference evaluator (pure numpy, part of the
``onnx`` extra) and ONNX Runtime (the optional ``ort`` extra, which CI installs) with its graph
optimizations off, so that it computes every BatchNormalization and Add as written instead of
folding them as npusim does. "Within 1e-5 relative" is ``max |y - y_ref| <= 1e-5 * max
|y_ref|`` over all outputs: float32 sums of up to 72 products, reordered by folding, differ by
a few ulps of the largest value, far below 1e-5 of it; any wrong bias, factor or sign moves
outputs by a sizeable fraction of their range.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main
from npusim.config import load_scenario
from npusim.config.bundled import bundled_folder
from npusim.errors import WorkloadError
from npusim.functional import (
    FunctionalError,
    execute,
    fp32_runner,
    fused_activations,
    load_dataset,
    load_parameters,
    scenario_accuracy,
)
from npusim.functional.network import output_tensor
from npusim.workload import ActivationFunction, load_workload

onnx = pytest.importorskip(
    "onnx", reason="the onnx extra is not installed: pip install 'npusim[onnx]'"
)
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

WORKLOADS = bundled_folder("workloads")
RELATIVE = 1e-5
FLOAT = TensorProto.FLOAT


def save(tmp_path: Path, nodes: list, shape: list[int], constants: dict[str, np.ndarray],
         opset: int = 17, name: str = "model") -> Path:  # fmt: skip
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", FLOAT, shape)],
        [helper.make_tensor_value_info("y", FLOAT, None)],
        [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in constants.items()],
    )  # fmt: skip
    path = tmp_path / f"{name}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    return path


def functional_fp32(path: Path, inputs: np.ndarray) -> np.ndarray:
    """npusim's float32 network output on ``inputs`` ``(samples, ...)``, flat per sample."""
    workload = load_workload(path)
    run = fp32_runner(load_parameters(workload), fused_activations(workload))
    flat = inputs.reshape(len(inputs), -1).astype(np.float32)
    return execute(workload, flat, run)[output_tensor(workload)]


def reference(path: Path, inputs: np.ndarray) -> np.ndarray:
    """onnx's reference evaluator, one sample at a time (the models have batch 1)."""
    evaluator = ReferenceEvaluator(str(path))
    return np.stack([evaluator.run(None, {"x": x[None]})[0].ravel() for x in inputs])


def relative_error(got: np.ndarray, want: np.ndarray) -> float:
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def batch_norm(rng: np.random.Generator, prefix: str, channels: int) -> dict[str, np.ndarray]:
    """Statistics where every term matters: gamma and beta of both signs, mean far from 0,
    variances from 0.3 to 3."""
    return {f"{prefix}.gamma": rng.uniform(0.5, 1.5, channels) * rng.choice([-1, 1], channels),
            f"{prefix}.beta": rng.normal(0, 0.5, channels),
            f"{prefix}.mean": rng.normal(0.5, 0.5, channels),
            f"{prefix}.var": rng.uniform(0.3, 3.0, channels)}  # fmt: skip


def bn_node(prefix: str, x: str, y: str) -> object:
    inputs = [x] + [f"{prefix}.{k}" for k in ("gamma", "beta", "mean", "var")]
    return helper.make_node("BatchNormalization", inputs, [y], prefix, epsilon=1e-3)


def every_fold(tmp_path: Path) -> Path:
    """Each way a bias, a BatchNorm or a constant reaches a conv/linear: Conv without B then
    BN then Relu; Conv with B then BN, / c, - c, Clip(0, 6); 1x1 Conv with B then * c, c - x,
    Relu; Gemm with alpha, beta and C then BN on (N, C), Relu; MatMul then + c."""
    rng = np.random.default_rng(13)
    c: dict[str, np.ndarray] = {
        "w1": rng.normal(0, 0.4, (4, 2, 3, 3)),
        "w2": rng.normal(0, 0.3, (6, 4, 3, 3)), "b2": rng.normal(0, 0.3, 6),
        "div": rng.uniform(0.5, 2.0, (6, 1, 1)), "sub": rng.normal(0, 0.3, (1, 6, 1, 1)),
        "w3": rng.normal(0, 0.4, (6, 6, 1, 1)), "b3": rng.normal(0, 0.3, 6),
        "mul": rng.uniform(-2.0, 2.0, (6, 1, 1)), "rsub": rng.normal(0, 0.3, (6, 1, 1)),
        "wg": rng.normal(0, 0.3, (5, 54)), "cg": rng.normal(0, 0.3, 5),
        "wm": rng.normal(0, 0.4, (5, 3)), "am": rng.normal(0, 0.3, 3),
        **batch_norm(rng, "bn1", 4), **batch_norm(rng, "bn2", 6), **batch_norm(rng, "bn3", 5),
    }  # fmt: skip
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], "conv1", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1]),
        bn_node("bn1", "c1", "n1"),
        helper.make_node("Relu", ["n1"], ["r1"], "relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], "conv2", kernel_shape=[3, 3],
                         pads=[1, 1, 1, 1], strides=[2, 2]),
        bn_node("bn2", "c2", "n2"),
        helper.make_node("Div", ["n2", "div"], ["d2"], "div2"),
        helper.make_node("Sub", ["d2", "sub"], ["s2"], "sub2"),
        helper.make_node("Clip", ["s2", "zero", "six"], ["r2"], "relu6"),
        helper.make_node("Conv", ["r2", "w3", "b3"], ["c3"], "conv3", kernel_shape=[1, 1]),
        helper.make_node("Mul", ["mul", "c3"], ["m3"], "mul3"),
        helper.make_node("Sub", ["rsub", "m3"], ["s3"], "rsub3"),
        helper.make_node("Relu", ["s3"], ["r3"], "relu3"),
        helper.make_node("Flatten", ["r3"], ["f"], "flatten"),
        helper.make_node("Gemm", ["f", "wg", "cg"], ["g"], "gemm", transB=1, alpha=0.5,
                         beta=2.0),
        bn_node("bn3", "g", "n3"),
        helper.make_node("Relu", ["n3"], ["r4"], "relu4"),
        helper.make_node("MatMul", ["r4", "wm"], ["mm"], "matmul"),
        helper.make_node("Add", ["mm", "am"], ["y"], "bias"),
    ]  # fmt: skip
    c |= {"zero": np.array(0.0), "six": np.array(6.0)}
    return save(tmp_path, nodes, [1, 2, 6, 6], c)


def test_biases_batchnorm_and_constant_ops_fold_exactly(tmp_path: Path) -> None:
    """Against onnx's reference evaluator, which runs every node as written; the folds leave
    five GEMM layers and nothing else but the fused activations."""
    path = every_fold(tmp_path)
    workload = load_workload(path)
    assert [layer.kind for layer in workload.layers] == ["conv2d"] * 3 + ["linear"] * 2
    assert fused_activations(workload) == {"conv1": ActivationFunction.RELU,
                                           "conv2": ActivationFunction.RELU6,
                                           "conv3": ActivationFunction.RELU,
                                           "gemm": ActivationFunction.RELU}  # fmt: skip
    inputs = np.random.default_rng(5).uniform(-2, 2, (24, 2, 6, 6)).astype(np.float32)
    want = reference(path, inputs)
    got = functional_fp32(path, inputs)
    assert relative_error(got, want) <= RELATIVE
    assert np.count_nonzero(np.isclose(want, 0)) < want.size // 4  # not a dead network


def every_accepted_op(tmp_path: Path) -> Path:
    """Every op the functional pass accepts beside the folds: Sigmoid, Tanh, Add and Mul of
    two activations, a channel Concat, AveragePool with padding (excluded), MaxPool,
    HardSwish, an unfused Clip(0, inf), a grouped dilated Conv with fused Relu, Sum of three,
    the five-node erf GELU, GlobalAveragePool, Flatten, Gemm, LayerNormalization (scale 1),
    Softmax."""
    rng = np.random.default_rng(17)
    c = {"w1": rng.normal(0, 0.5, (4, 2, 3, 3)), "b1": rng.normal(0, 0.3, 4),
         "w2": rng.normal(0, 0.5, (4, 2, 1, 1)), "b2": rng.normal(0, 0.3, 4),
         "w3": rng.normal(0, 0.4, (6, 4, 3, 3)), "b3": rng.normal(0, 0.3, 6),
         "wg": rng.normal(0, 0.8, (5, 6)), "cg": rng.normal(0, 0.3, 5), "ones": np.ones(5),
         "zero": np.array(0.0), "sqrt2": np.array(np.sqrt(2.0)), "one": np.array(1.0),
         "half": np.array(0.5)}  # fmt: skip
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], "conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("Sigmoid", ["c1"], ["s1"], "sigmoid"),
        n("Conv", ["x", "w2", "b2"], ["c2"], "conv2", kernel_shape=[1, 1]),
        n("Tanh", ["c2"], ["t2"], "tanh"),
        n("Add", ["s1", "t2"], ["a"], "add"),
        n("Mul", ["a", "t2"], ["m"], "mul"),
        n("Concat", ["m", "s1"], ["cat"], "concat", axis=1),
        n("AveragePool", ["cat"], ["ap"], "avgpool", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        n("MaxPool", ["ap"], ["mp"], "maxpool", kernel_shape=[2, 2], strides=[2, 2]),
        n("HardSwish", ["mp"], ["hs"], "hardswish"),
        n("Clip", ["hs", "zero"], ["r"], "clip"),
        n("Conv", ["r", "w3", "b3"], ["c3"], "conv3", kernel_shape=[3, 3], pads=[2, 2, 2, 2],
          dilations=[2, 2], group=2),
        n("Relu", ["c3"], ["r3"], "relu3"),
        n("Sum", ["r3", "c3", "r3"], ["sum"], "sum"),
        n("Div", ["sum", "sqrt2"], ["g1"], "gelu_div"),
        n("Erf", ["g1"], ["g2"], "gelu_erf"),
        n("Add", ["g2", "one"], ["g3"], "gelu_add"),
        n("Mul", ["sum", "g3"], ["g4"], "gelu_mul"),
        n("Mul", ["g4", "half"], ["gelu"], "gelu_half"),
        n("GlobalAveragePool", ["gelu"], ["gap"], "gap"),
        n("Flatten", ["gap"], ["f"], "flatten"),
        n("Gemm", ["f", "wg", "cg"], ["g"], "gemm", transB=1),
        n("LayerNormalization", ["g", "ones"], ["ln"], "layernorm", axis=-1),
        n("Softmax", ["ln"], ["y"], "softmax", axis=-1),
    ]  # fmt: skip
    return save(tmp_path, nodes, [1, 2, 6, 6], c, name="accepted")


def test_every_accepted_op_computes_what_onnx_computes(tmp_path: Path) -> None:
    """No node of this model is refused, so each must equal onnx's reference evaluator: a
    node costed as one thing but computed as another would show here, not pass silently."""
    path = every_accepted_op(tmp_path)
    workload = load_workload(path)
    assert not workload.not_functional and len(workload.layers) >= 15
    inputs = np.random.default_rng(8).uniform(-2, 2, (16, 2, 6, 6)).astype(np.float32)
    want = reference(path, inputs)
    assert relative_error(functional_fp32(path, inputs), want) <= RELATIVE
    assert np.ptp(want, axis=0).max() > 300 * RELATIVE  # the input moves the output


def test_a_folded_batchnorm_equals_the_hand_formula(tmp_path: Path) -> None:
    """Conv with bias b then BN: W' = W * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps)
    + beta, worked here in float64 from the initializers."""
    rng = np.random.default_rng(3)
    c = {"w": rng.normal(0, 1, (3, 1, 1, 1)), "b": rng.normal(0, 1, 3), **batch_norm(rng, "bn", 3)}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], "conv", kernel_shape=[1, 1]),
             bn_node("bn", "c", "y")]  # fmt: skip
    params = load_parameters(load_workload(save(tmp_path, nodes, [1, 1, 2, 2], c)))["conv"]
    factor = c["bn.gamma"] / np.sqrt(c["bn.var"] + 1e-3)
    np.testing.assert_allclose(params.weight[:, 0], c["w"].ravel() * factor, rtol=1e-6)
    bias = (c["b"] - c["bn.mean"]) * factor + c["bn.beta"]
    np.testing.assert_allclose(params.bias, bias, rtol=1e-6)


def dynamic_batch(path: Path, out: Path) -> Path:
    """A copy of the model at ``path`` with a free batch dimension (for one ORT call)."""
    model = onnx.load(path)
    for value in (*model.graph.input, *model.graph.output):
        for dim in value.type.tensor_type.shape.dim[:1]:  # an output may have no shape
            dim.dim_param = "N"
    onnx.save(model, out)
    return out


def ort_outputs(path: Path, inputs: np.ndarray, tmp_path: Path) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime", reason="the ort extra: pip install 'npusim[ort]'")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(dynamic_batch(path, tmp_path / f"ort_{path.name}")), options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    feed = session.get_inputs()[0]
    shaped = inputs.reshape(len(inputs), *feed.shape[1:]).astype(np.float32)
    return session.run(None, {feed.name: shaped})[0].reshape(len(inputs), -1)


@pytest.mark.parametrize("model", ["digits_cnn", "digits_mlp"])
def test_shipped_onnx_models_equal_onnx_runtime(model: str, tmp_path: Path) -> None:
    """FP32 functional logits on all 700 digits images equal ONNX Runtime's (measured: CNN
    3.0e-7 of the largest logit, MLP 0), and so does FP32 top-1 through ``--accuracy``."""
    data = load_dataset("digits")
    path = WORKLOADS / f"{model}.onnx"
    want = ort_outputs(path, data.inputs, tmp_path)
    got = functional_fp32(path, data.inputs)
    assert relative_error(got, want) <= RELATIVE
    result, _ = scenario_accuracy(load_scenario(None, [], precision="fp32"),
                                  load_workload(path), "digits")  # fmt: skip
    _, labels = data.test()
    ort_top1 = float(np.mean(want[data.calibration_samples :].argmax(axis=1) == labels))
    assert result.top1_fp32 == ort_top1


def test_the_fold_model_equals_onnx_runtime(tmp_path: Path) -> None:
    path = every_fold(tmp_path)
    inputs = np.random.default_rng(6).uniform(-2, 2, (24, 2, 6, 6)).astype(np.float32)
    assert relative_error(functional_fp32(path, inputs), ort_outputs(path, inputs, tmp_path)) \
        <= RELATIVE  # fmt: skip


@pytest.mark.parametrize("model", ["digits_cnn", "digits_mlp"])
def test_the_onnx_and_yaml_digits_models_are_the_same_network(model: str) -> None:
    """Two import paths of one trained model: identical FP32 logits and INT8 accuracy."""
    data = load_dataset("digits")
    onnx_model, yaml_model = WORKLOADS / f"{model}.onnx", WORKLOADS / f"{model}.yaml"
    np.testing.assert_array_equal(functional_fp32(onnx_model, data.inputs),
                                  functional_fp32(yaml_model, data.inputs))  # fmt: skip
    scenario = load_scenario(None, [], precision="int8")
    results = [scenario_accuracy(scenario, load_workload(m), "digits")[0]
               for m in (onnx_model, yaml_model)]  # fmt: skip
    assert results[0].top1 == results[1].top1 and results[0].top1 >= results[0].top1_fp32 - 0.01


def test_the_onnx_files_are_what_the_tools_script_writes(tmp_path: Path) -> None:
    """tools/digits_onnx.py rebuilds the shipped files byte for byte from the .npz weights."""
    import importlib.util
    import shutil

    script = Path(__file__).parent.parent / "tools" / "digits_onnx.py"
    spec = importlib.util.spec_from_file_location("digits_onnx", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("digits_cnn", "digits_mlp"):
        shutil.copy(WORKLOADS / f"{name}.npz", tmp_path)
    for written in module.write_onnx_models(tmp_path):
        assert written.read_bytes() == (WORKLOADS / written.name).read_bytes()


# ---- refusals and errors ------------------------------------------------------------------

W = np.full((2, 1, 1, 1), 0.5)


def conv_then(*nodes: object) -> list:
    return [helper.make_node("Conv", ["x", "w"], ["c"], "conv", kernel_shape=[1, 1]), *nodes]


REFUSED = {
    "sub": (conv_then(helper.make_node("Relu", ["x"], ["r"], "relu"),
                      helper.make_node("Conv", ["r", "w"], ["d"], "conv_b", kernel_shape=[1, 1]),
                      helper.make_node("Sub", ["c", "d"], ["y"], "diff")),
            "node Sub 'diff' cannot run functionally: Sub of two activations is costed as an add"),
    "transpose": (conv_then(helper.make_node("Transpose", ["c"], ["y"], "nhwc", perm=[0, 2, 3, 1])),
                  "node Transpose 'nhwc' cannot run functionally: a transpose that moves data"),
    "affine": (conv_then(helper.make_node("Relu", ["c"], ["r"], "relu"),
                         helper.make_node("Mul", ["r", "s"], ["y"], "scale")),
               "node Mul 'scale' cannot run functionally: a constant scale or shift not right "
               "after a conv/linear"),
    "clip": (conv_then(helper.make_node("Clip", ["c", "lo", "hi"], ["y"], "clip")),
             "node Clip 'clip' cannot run functionally: the functional pass computes only "
             "Clip(0, 6)"),
    "softmax": (conv_then(helper.make_node("Softmax", ["c"], ["y"], "sm", axis=1)),
                "node Softmax 'sm' cannot run functionally: softmax over axis 1 of (1, 2, 3, 3)"),
    "layernorm": (conv_then(helper.make_node("LayerNormalization", ["c", "s"], ["y"], "ln",
                                             axis=-1)),
                  "node LayerNormalization 'ln' cannot run functionally: the functional "
                  "layernorm has no scale or bias"),
    "concat": (conv_then(helper.make_node("Concat", ["c", "c"], ["y"], "cat", axis=2)),
               "node Concat 'cat' cannot run functionally: a concat along axis 2 of (1, 2, 6, 3) "
               "interleaves its inputs"),
    "avgpool": (conv_then(helper.make_node("AveragePool", ["c"], ["y"], "ap", kernel_shape=[3, 3],
                                           pads=[1, 1, 1, 1], count_include_pad=1)),
                "node AveragePool 'ap' cannot run functionally: count_include_pad = 1"),
    "reciprocal": (conv_then(helper.make_node("Div", ["s", "c"], ["y"], "recip")),
                   "node Div 'recip' cannot run functionally: a constant divided by an "
                   "activation"),
    "stored": (conv_then(helper.make_node("Add", ["c", "full"], ["y"], "embed")),
               "node Add 'embed' cannot run functionally: an operand is a constant, a second "
               "graph input or broadcast"),
    "trans_a": (conv_then(helper.make_node("Flatten", ["c"], ["f"], "flat"),
                          helper.make_node("Gemm", ["f", "wt"], ["y"], "gemm", transA=1)),
                "node Gemm 'gemm' cannot run functionally: transA on its activation"),
}  # fmt: skip
CONSTANTS = {"w": W, "s": np.full(3, 2.0), "lo": np.array(-1.0), "hi": np.array(1.0),
             "full": np.arange(18.0).reshape(1, 2, 3, 3), "wt": np.ones((1, 4))}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_nodes_the_functional_pass_cannot_compute_are_refused_by_name(
    case: str, tmp_path: Path
) -> None:
    """Timing still imports them; --accuracy refuses with the node's op and name."""
    nodes, message = REFUSED[case]
    workload = load_workload(save(tmp_path, nodes, [1, 1, 3, 3], CONSTANTS))
    with pytest.raises(FunctionalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_parameters(workload)


def test_a_skipped_node_is_refused_and_the_others_are_counted(tmp_path: Path) -> None:
    nodes = conv_then(helper.make_node("Sin", ["c"], ["s"], "sine"),
                      helper.make_node("Relu", ["x"], ["r"], "relu"),
                      helper.make_node("Conv", ["r", "w"], ["d"], "conv_b", kernel_shape=[1, 1]),
                      helper.make_node("Sub", ["s", "d"], ["y"], "diff"))  # fmt: skip
    path = save(tmp_path, nodes, [1, 1, 3, 3], CONSTANTS)
    with pytest.warns(UserWarning, match="left out 1 unsupported"):
        workload = load_workload(path, skip_unsupported=True)
    message = r"node Sin 'sine' cannot run functionally: left out of the import \(npusim does " \
        r"not model this op\) \(and 1 more: Sub 'diff'\)$"  # fmt: skip
    with pytest.raises(FunctionalError, match=message):
        load_parameters(workload)


def test_malformed_biases_and_missing_initializers_are_named(tmp_path: Path) -> None:
    conv = helper.make_node("Conv", ["x", "w", "b"], ["y"], "conv", kernel_shape=[1, 1])
    with pytest.raises(WorkloadError, match="Conv 'conv': bias 'b' has 3 values for 2 output"):
        load_workload(save(tmp_path, [conv], [1, 1, 3, 3], {"w": W, "b": np.ones(3)}))
    with pytest.raises(WorkloadError, match="Conv 'conv' reads 'b', which no node, initializer"):
        load_workload(save(tmp_path, [conv], [1, 1, 3, 3], {"w": W}))
    with pytest.raises(WorkloadError, match="Conv 'conv' reads 'w', which no node, initializer"):
        load_workload(save(tmp_path, [conv], [1, 1, 3, 3], {"b": np.ones(2)}))


@pytest.mark.parametrize(("case", "message"), [
    ("shape", "each input has 64 values, the network input has 9"),
    ("refused", "node Sub 'diff' cannot run functionally"),
    ("missing", "Conv 'conv' reads 'w', which no node, initializer or graph input provides"),
    ("unsupported", "unsupported ONNX node Sin 'sine': npusim does not model this op"),
])  # fmt: skip
def test_cli_bad_onnx_input_is_one_line_and_exit_2(
    case: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = {
        "shape": conv_then(helper.make_node("Relu", ["c"], ["y"], "relu")),
        "refused": REFUSED["sub"][0],
        "missing": conv_then(helper.make_node("Relu", ["c"], ["y"], "relu")),
        "unsupported": conv_then(helper.make_node("Sin", ["c"], ["y"], "sine")),
    }[case]
    constants = {} if case == "missing" else CONSTANTS  # fmt: skip
    path = save(tmp_path, nodes, [1, 1, 3, 3], constants)
    args = ["run", "-w", str(path), "--accuracy", "digits", "--fidelity", "analytic",
            "--no-plots", "-q", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("npusim: error:")
    assert not (tmp_path / "out").exists()


def test_cli_runs_the_shipped_onnx_cnn_with_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's example, from a folder without the file: the shipped model is found by
    name, as bundled YAML workloads are; INT8 per-channel within one point of FP32."""
    import json

    monkeypatch.chdir(tmp_path)
    args = ["run", "-w", "digits_cnn.onnx", "--accuracy", "digits",
            "--precision", "int8", "--fidelity", "analytic", "--no-plots", "-q",
            "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(args) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    block = summary["accuracy"]
    assert block["samples"] == 500 and block["top1"] >= block["top1_fp32"] - 0.01
    assert load_workload("digits_cnn.onnx").source == str(WORKLOADS / "digits_cnn.onnx")
    # the record names the shipped model as given, so it reruns from any folder
    record = (tmp_path / "out" / "resolved_config.yaml").read_text()
    assert "\nworkload: digits_cnn.onnx\n" in record
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    again = ["run", str(tmp_path / "out" / "resolved_config.yaml"), "--accuracy", "digits",
             "--fidelity", "analytic", "--no-plots", "-q", "--out", "again"]  # fmt: skip
    assert main(again) == 0
    rerun = json.loads(Path("again/summary.json").read_text())
    assert rerun["accuracy"] == block and rerun["totals"] == summary["totals"]


# ---- the integer datapath against ONNX Runtime's QLinearConv ----------------------------


def qlinear_conv(x_q, y_q, weights, bias_codes):  # type: ignore[no-untyped-def]
    """A one-node model: ``QLinearConv`` with npusim's scales, zero points, weight codes and
    INT32 bias codes of the digits CNN's conv2 (3x3, pad 1, 8 -> 16 channels on 4 x 4)."""
    int8 = TensorProto.INT8

    def constant(name: str, value: np.ndarray):  # type: ignore[no-untyped-def]
        return numpy_helper.from_array(value, name)

    initializers = [
        constant("xs", np.array(x_q.scale, np.float32)),
        constant("xz", np.array(x_q.zero_point, np.int8)),
        constant("w", weights.codes.reshape(16, 8, 3, 3).astype(np.int8)),
        constant("ws", weights.scale.astype(np.float32)),
        constant("wz", weights.zero_point.astype(np.int8)),
        constant("ys", np.array(y_q.scale, np.float32)),
        constant("yz", np.array(y_q.zero_point, np.int8)),
        constant("b", bias_codes.astype(np.int32)),
    ]
    inputs = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"]
    node = helper.make_node("QLinearConv", inputs, ["y"], "qconv", kernel_shape=[3, 3],
                            pads=[1, 1, 1, 1])  # fmt: skip
    graph = helper.make_graph([node], "qconv", [helper.make_tensor_value_info(
        "x", int8, ["N", 8, 4, 4])], [helper.make_tensor_value_info("y", int8, None)],
        initializers)  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("overrides", [[], ["quantization.symmetric=false"],
                                       ["quantization.granularity=per_tensor"]])  # fmt: skip
def test_int8_conv_codes_equal_onnx_runtime_qlinearconv(overrides: list[str]) -> None:
    """conv2 of the shipped CNN in the INT8 network: npusim's output codes on the 500 test
    images (its stored input codes in) equal ORT's QLinearConv with the same scales, zero
    points and codes, then the fused ReLU's clamp at the zero point: all 128,000 outputs,
    symmetric and affine (non-zero zero points), per channel and per tensor."""
    from npusim.functional import QuantizedNetwork, scenario_specs

    ort = pytest.importorskip("onnxruntime", reason="the ort extra: pip install 'npusim[ort]'")
    workload = load_workload(WORKLOADS / "digits_cnn.onnx")
    specs = scenario_specs(load_scenario(None, overrides, precision="int8"), workload)
    data = load_dataset("digits")
    params = load_parameters(workload)
    network = QuantizedNetwork(workload, params, specs, data.calibration())
    tensors = execute(workload, data.test()[0], network.run_layer)
    conv2 = next(layer for layer in workload.layers if layer.name == "conv2")
    x_q, y_q = network.quantizer("pool1", conv2), network.quantizer("conv2", conv2)
    weights = network.weights["conv2"]
    # ONNX's bias convention: INT32 codes of scale x_scale * w_scale, zero point 0
    acc_scale = np.float64(x_q.scale) * weights.scale.astype(np.float64)
    model = qlinear_conv(x_q, y_q, weights, np.rint(params["conv2"].bias / acc_scale))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x_codes = x_q.codes(tensors["pool1"]).reshape(-1, 8, 4, 4).astype(np.int8)
    want = session.run(None, {"x": x_codes})[0].reshape(len(x_codes), -1).astype(np.int64)
    want = np.maximum(want, y_q.zero_point)  # the fused ReLU: the code of 0 from below
    got = y_q.codes(tensors["conv2"])
    assert got.shape == (500, 256) and np.array_equal(got, want)
    assert len(np.unique(want)) > 100  # a layer that uses the code range, not a dead one


def test_a_training_mode_batchnorm_is_refused_functionally(tmp_path: Path) -> None:
    """BatchNormalization with training_mode = 1 normalizes with the batch's own mean and
    variance (onnx's reference evaluator: outputs 1.1x their range away from the running
    statistics' fold), so folding the running ones would be silently wrong: timing imports it
    as before, --accuracy refuses it by name."""
    rng = np.random.default_rng(3)
    c = {"w": rng.normal(0, 1, (3, 1, 1, 1)), **batch_norm(rng, "bn", 3)}
    inputs = ["c"] + [f"bn.{k}" for k in ("gamma", "beta", "mean", "var")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], "conv", kernel_shape=[1, 1]),
             helper.make_node("BatchNormalization", inputs, ["y", "rm", "rv"], "bn",
                              training_mode=1)]  # fmt: skip
    workload = load_workload(save(tmp_path, nodes, [1, 1, 2, 2], c))
    assert [layer.kind for layer in workload.layers] == ["conv2d"]
    message = "node BatchNormalization 'bn' cannot run functionally: training_mode = 1"
    with pytest.raises(FunctionalError, match=message):
        load_parameters(workload)
