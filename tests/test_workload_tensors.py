"""Synthetic and file tensors: determinism, shapes, distributions, sampling, file errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.workload import Linear, Workload, load_workload
from npusim.workload.tensorfile import TensorFileError
from npusim.workload.tensors import Distribution, TensorOptions, layer_tensors, unit


def layer(w: Workload, name: str):  # type: ignore[no-untyped-def]
    return next(candidate for candidate in w.layers if candidate.name == name)


@pytest.fixture(scope="module")
def resnet() -> Workload:
    return load_workload("resnet50")


@pytest.fixture(scope="module")
def bert() -> Workload:
    return load_workload("bert_base", params={"seq_len": 16})


def test_same_seed_same_tensors_independent_of_order(resnet: Workload) -> None:
    conv = layer(resnet, "conv3_1b")
    first = layer_tensors(conv, resnet, seed=7)
    layer_tensors(layer(resnet, "conv1"), resnet, seed=7)  # other draws must not matter
    again = layer_tensors(conv, resnet, seed=7)
    assert np.array_equal(first.weights, again.weights)
    assert np.array_equal(first.inputs, again.inputs)
    other = layer_tensors(conv, resnet, seed=8)
    assert not np.array_equal(first.weights, other.weights)


def test_shapes_and_dtypes(resnet: Workload, bert: Workload) -> None:
    for w in (resnet, bert):
        for lay in w.layers[:14]:
            t = layer_tensors(lay, w, seed=0)
            assert t.inputs.dtype == np.float32 and t.inputs.shape == (lay.input_elements,)
            gemm = lay.gemm()
            if gemm is None or not gemm.has_weights:
                assert t.weights is None
            else:
                assert t.weights.dtype == np.float32
                assert t.weights.shape == (gemm.groups * gemm.n, gemm.k)
            assert not t.sampled and np.isfinite(t.inputs).all()


def test_relu_like_inputs_after_relu_and_signed_elsewhere(resnet: Workload) -> None:
    # conv2_1a reads the max pool of conv1's fused ReLU: half-rectified
    post_relu = layer_tensors(layer(resnet, "conv2_1a"), resnet, seed=1).inputs
    assert post_relu.min() == 0 and abs(np.mean(post_relu == 0) - 0.5) < 0.01
    # the image and the add's inputs (conv2_1c has no ReLU) are signed and symmetric
    for name in ("conv1", "conv2_1_add"):
        signed = layer_tensors(layer(resnet, name), resnet, seed=1).inputs
        assert signed.min() < 0 and abs(np.mean(signed > 0) - 0.5) < 0.01


def test_transformer_inputs(bert: Workload) -> None:
    av = layer(bert, "l0_av")
    t = layer_tensors(av, bert, seed=3)
    probs = t.inputs[: av.batch * av.m * av.k].reshape(-1, av.k)
    assert np.allclose(probs.sum(axis=1), 1, atol=1e-5) and probs.min() >= 0
    assert t.inputs[probs.size :].min() < 0  # V is signed
    gelu_out = layer_tensors(layer(bert, "l0_ffn2"), bert, seed=3).inputs
    assert gelu_out.min() > -0.171 and gelu_out.min() < -0.1  # GELU's minimum is -0.170


def test_weight_distribution_per_channel_spread_and_outliers() -> None:
    fc = Linear("fc", in_features=4096, out_features=256)
    w = Workload("one", (fc,))
    weights = layer_tensors(fc, w, seed=5).weights
    scale = np.median(np.abs(weights), axis=1, keepdims=True) / 0.6745  # robust per-row sigma
    ratio = np.percentile(scale, 97.5) / np.percentile(scale, 2.5)
    assert 4 < ratio < 12  # exp(+-1.96 * 0.5): about 7x
    outliers = np.mean(np.abs(weights) > 6 * scale)
    assert 0.0007 < outliers < 0.0013  # outlier_rate 0.1 %; Gaussian tail beyond 6 sigma ~2e-9
    assert np.abs(weights / scale).max() <= 12.5
    none = layer_tensors(fc, w, seed=5, options=TensorOptions(outlier_rate=0)).weights
    assert np.mean(np.abs(none) > 6 * scale) < 1e-5


@pytest.mark.parametrize(
    ("law", "kurtosis"), [(Distribution.GAUSSIAN, 3), (Distribution.LAPLACIAN, 6)]
)
def test_unit_draws_have_unit_variance_and_the_law_kurtosis(
    law: Distribution, kurtosis: int
) -> None:
    x = unit(np.random.default_rng(0), 400_000, law).astype(np.float64)
    assert abs(x.mean()) < 0.01 and abs(x.var() - 1) < 0.02
    assert abs(np.mean(x**4) / x.var() ** 2 - kurtosis) < 0.25


def test_max_elements_gives_a_deterministic_bounded_sample(resnet: Workload) -> None:
    conv = layer(resnet, "conv5_1b")  # 512 x 4608 weights, 100,352 inputs
    t = layer_tensors(conv, resnet, seed=2, max_elements=10_000)
    assert t.sampled and t.weights.shape == (2, 4608) and t.inputs.shape == (10_000,)
    again = layer_tensors(conv, resnet, seed=2, max_elements=10_000)
    assert np.array_equal(t.weights, again.weights) and np.array_equal(t.inputs, again.inputs)
    small = layer_tensors(layer(resnet, "fc"), resnet, seed=2, max_elements=10**9)
    assert not small.sampled
    with pytest.raises(ValueError, match="max_elements must be >= 1"):
        layer_tensors(conv, resnet, seed=2, max_elements=0)


@settings(max_examples=30, deadline=None)
@given(k=st.integers(1, 300), n=st.integers(1, 64), tokens=st.integers(1, 8),
       limit=st.integers(1, 5000), seed=st.integers(0, 2**32))  # fmt: skip
def test_samples_respect_max_elements(k: int, n: int, tokens: int, limit: int, seed: int) -> None:
    fc = Linear("fc", k, n, tokens)
    t = layer_tensors(fc, Workload("w", (fc,)), seed, max_elements=limit)
    assert t.weights.size <= max(limit, k) and t.weights.shape[1] == min(k, limit)
    assert t.inputs.size == min(limit, tokens * k)
    assert np.isfinite(t.weights).all() and np.isfinite(t.inputs).all()
    assert t.sampled == (t.weights.size < n * k or t.inputs.size < tokens * k)


def test_layer_must_belong_to_the_workload(resnet: Workload) -> None:
    with pytest.raises(ValueError, match="not a layer of workload"):
        layer_tensors(Linear("other", 3, 3), resnet, seed=0)


WORKLOAD = """\
tensors: {tensors}
layers:
  - {{name: conv, type: conv2d, in_h: 4, in_w: 4, in_channels: 2, out_channels: 6,
     kernel: 3, groups: 2}}
  - {{name: add, type: elementwise, elements: 5}}
  - {{name: flat, type: reshape, elements: 5}}
"""


def file_workload(tmp_path: Path, arrays: dict[str, np.ndarray], folder: bool = False) -> Workload:
    if folder:
        (tmp_path / "t").mkdir()
        for key, value in arrays.items():
            np.save(tmp_path / "t" / f"{key}.npy", value)
    else:
        np.savez(tmp_path / "t.npz", **arrays)
    path = tmp_path / "w.yaml"
    path.write_text(WORKLOAD.format(tensors="t" if folder else "t.npz"))
    return load_workload(path)


def good_arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "conv.weight": rng.standard_normal((6, 1, 3, 3)),  # PyTorch (out, in/g, kh, kw)
        "conv.input": rng.standard_normal((1, 2, 4, 4)),
        "add.input": np.arange(10),
    }


@pytest.mark.parametrize("folder", [False, True])
def test_file_tensors_round_trip(tmp_path: Path, folder: bool) -> None:
    arrays = good_arrays()
    w = file_workload(tmp_path, arrays, folder)
    conv, add, flat = w.layers
    t = layer_tensors(conv, w, seed=0)
    assert t.weights.shape == (6, 9) and t.weights.dtype == np.float32
    assert np.array_equal(t.weights, arrays["conv.weight"].reshape(6, 9).astype(np.float32))
    assert np.array_equal(t.inputs, arrays["conv.input"].reshape(-1).astype(np.float32))
    assert np.array_equal(layer_tensors(add, w, seed=0).inputs, np.arange(10, dtype=np.float32))
    assert layer_tensors(flat, w, seed=0).inputs.size == 0  # a reshape reads nothing
    sample = layer_tensors(conv, w, seed=0, max_elements=18)
    assert sample.sampled and np.array_equal(sample.weights, t.weights[[0, 5]])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("conv.weight"), "missing array 'conv.weight' (6 x 9 weights)"),
        (lambda a: a.pop("add.input"), "missing array 'add.input' (10 input elements)"),
        (lambda a: a.update({"conv.weight": np.zeros((3, 18))}), "expected 6 output channels"),
        (lambda a: a.update({"conv.weight": np.zeros(54)}), "has shape (54,)"),
        (lambda a: a.update({"add.input": np.zeros(9)}), "'add.input' has 9 elements"),
        (lambda a: a["conv.input"].__setitem__((0, 0, 0, 0), np.nan), "holds 1 NaN or Inf"),
        (lambda a: a.update({"add.input": np.full(10, np.inf)}), "holds 10 NaN or Inf"),
        (lambda a: a.update({"add.input": np.array(list("abcdefghij"))}), "expected a real"),
    ],
)
def test_bad_tensor_files_name_file_key_and_problem(
    tmp_path: Path, change: object, message: str
) -> None:
    arrays = good_arrays()
    change(arrays)  # type: ignore[operator]
    w = file_workload(tmp_path, arrays)
    with pytest.raises(TensorFileError) as err:
        for lay in w.layers:
            layer_tensors(lay, w, seed=0)
    assert message in str(err.value) and "t.npz" in str(err.value)


def test_unreadable_tensor_file(tmp_path: Path) -> None:
    (tmp_path / "t.npz").write_text("not a zip")
    path = tmp_path / "w.yaml"
    path.write_text(WORKLOAD.format(tensors="t.npz"))
    w = load_workload(path)
    with pytest.raises(TensorFileError, match=r"cannot read 'conv\.weight'"):
        layer_tensors(w.layers[0], w, seed=0)


def test_a_residual_branch_sees_its_real_source() -> None:
    """ResNet-50's first projection reads the max-pool output (ReLU'd conv1), not the
    previous layer in the file (conv2_1c, no ReLU): its synthetic inputs are non-negative."""
    resnet = load_workload("resnet50")
    down = next(layer for layer in resnet.layers if layer.name == "conv2_1_down")
    previous = resnet.layers[resnet.layers.index(down) - 1]
    assert previous.name == "conv2_1c" and not previous.relu
    inputs = layer_tensors(down, resnet, seed=1, max_elements=4096).inputs
    assert inputs.min() >= 0 and inputs.max() > 0
