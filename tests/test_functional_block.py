"""The functional pass with block-scaled (OCP MX, NVFP4) weights and activations.

A block-scaled GEMM is checked against a reference written here from the OCP Microscaling
Formats (MX) Specification v1.0 (section 6.3: ``X = 2**(floor(log2 amax) - emax_elem)``,
elements rounded to nearest even and saturated, value ``X * P``) and a float32 matmul, not
from npusim's quantizer. Top-1 figures are regression pins measured on the shipped digits
models (tools/train_digits.py, seed 0; 500 test images, one image is 0.2 points).
"""

from __future__ import annotations

import numpy as np
import pytest

from npusim.config import load_scenario
from npusim.functional import (
    LayerSpecs,
    QuantizedNetwork,
    load_dataset,
    load_parameters,
    scenario_accuracy,
)
from npusim.quant import QuantSpec
from npusim.workload import load_workload

E2M1_BY_CODE = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0])  # 8: past the largest
EMAX_ELEM = {"mxfp4_e2m1": 2, "mxint8": 0}  # spec section 5: 6 = 1.5 * 2**2; MXINT8 1.x


def mx_elements(r: np.ndarray, fmt: str) -> np.ndarray:
    """The spec's element conversion of ``r = V / X``: nearest value, ties to the even code,
    saturated at the largest (MXINT8: two's complement of ``P * 64``, kept in +-127)."""
    if fmt == "mxint8":
        return np.clip(np.rint(r * 64), -127, 127) / 64
    distance = np.abs(np.abs(r)[..., None] - E2M1_BY_CODE)
    nearest = distance == distance.min(axis=-1, keepdims=True)
    even = nearest & (np.arange(E2M1_BY_CODE.size) % 2 == 0)
    code = np.where(nearest.sum(axis=-1) == 1, nearest.argmax(axis=-1), even.argmax(axis=-1))
    return np.sign(r) * E2M1_BY_CODE[np.minimum(code, 7)]


def mx_reference(v: np.ndarray, fmt: str) -> np.ndarray:
    """``v`` (float32, blocks of 32 along the last axis, the last one partial) stored in MX
    format ``fmt`` and read back, as float32."""
    k = v.shape[-1]
    padded = np.pad(v.astype(np.float64), [(0, 0)] * (v.ndim - 1) + [(0, -k % 32)])
    blocks = padded.reshape(*v.shape[:-1], -1, 32)
    amax = np.abs(blocks).max(axis=-1, keepdims=True)
    exponent = np.floor(np.log2(np.where(amax > 0, amax, 1.0))) - EMAX_ELEM[fmt]
    scale = 2.0**exponent
    values = mx_elements(blocks / scale, fmt) * scale
    return values.reshape(*v.shape[:-1], -1)[..., :k].astype(np.float32)


def channels_last(x: np.ndarray, shape: tuple[int, ...], fmt: str) -> np.ndarray:
    """NCHW samples ``x`` ``(samples, C * H * W)`` stored with blocks along C per pixel."""
    images = x.reshape(-1, *shape).transpose(0, 2, 3, 1)
    return mx_reference(images, fmt).transpose(0, 3, 1, 2).reshape(x.shape)


def conv3x3(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Direct 3x3 convolution, padding 1, stride 1, of NCHW ``x`` by ``(out, in, 3, 3)``
    weights, float32 products summed in float32."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, weight.shape[0], h, w), np.float32)
    for i in range(h):
        for j in range(w):
            window = padded[:, :, i : i + 3, j : j + 3].reshape(n, -1)
            out[:, :, i, j] = window @ weight.reshape(weight.shape[0], -1).T
    return out + bias[None, :, None, None]


@pytest.fixture(scope="module")
def cnn() -> tuple:
    workload = load_workload("digits_cnn")
    params = load_parameters(workload)
    data = load_dataset("digits")
    return workload, params, data


def network(cnn: tuple, fmt: str) -> QuantizedNetwork:
    workload, params, data = cnn
    spec = QuantSpec(fmt=fmt)
    specs = {layer.name: LayerSpecs(spec, spec, "fp32") for layer in workload.layers}
    return QuantizedNetwork(workload, params, specs, data.calibration()[:8])


def layer(workload, name: str):
    return next(candidate for candidate in workload.layers if candidate.name == name)


@pytest.mark.parametrize("fmt", ["mxfp4_e2m1", "mxint8"])
def test_linear_equals_spec_reference(cnn: tuple, fmt: str) -> None:
    """fc: input blocked along its 64 features (2 blocks), weights (10, 64) along K, FP32
    accumulation, bias, the output stored along its 10 features (one partial block)."""
    workload, params, _ = cnn
    x = np.random.default_rng(3).normal(size=(50, 64)).astype(np.float32)
    y = network(cnn, fmt).run_layer(layer(workload, "fc"), [x])
    p = params["fc"]
    expected = mx_reference(x, fmt) @ mx_reference(p.weight, fmt).T + p.bias
    np.testing.assert_array_equal(y, mx_reference(expected.astype(np.float32), fmt))


@pytest.mark.parametrize("fmt", ["mxfp4_e2m1", "mxint8"])
def test_conv_equals_spec_reference(cnn: tuple, fmt: str) -> None:
    """conv2: the input blocked along its 8 channels per pixel, weights (16, 8 * 3 * 3)
    along K = (channel, kh, kw) (blocks of 32, 32, 8), the ReLU output stored along its 16
    channels per pixel."""
    workload, params, _ = cnn
    x = np.abs(np.random.default_rng(4).normal(size=(20, 8 * 4 * 4))).astype(np.float32)
    y = network(cnn, fmt).run_layer(layer(workload, "conv2"), [x])
    p = params["conv2"]
    stored = channels_last(x, (8, 4, 4), fmt).reshape(-1, 8, 4, 4)
    weight = mx_reference(p.weight, fmt).reshape(16, 8, 3, 3)
    expected = np.maximum(conv3x3(stored, weight, p.bias), 0).reshape(20, -1)
    # exact: the products are exact in float32 and the sums come out equal in both orders
    np.testing.assert_array_equal(y, channels_last(expected, (16, 4, 4), fmt))


def test_block_scaled_tensors_are_stored_once(cnn: tuple) -> None:
    """Reading an MX tensor back in the blocks it was stored in changes nothing (pool1 stores
    along channels and conv2 reads along channels): stored values are fixed points."""
    workload, _, _ = cnn
    net = network(cnn, "mxfp4_e2m1")
    x = np.random.default_rng(5).normal(size=(10, 8 * 4 * 4)).astype(np.float32)
    once = channels_last(x, (8, 4, 4), "mxfp4_e2m1")
    quantizer = net.quantizer("pool1", layer(workload, "conv2"))
    from npusim.functional.blocks import output_axis

    assert np.array_equal(quantizer.fake(once, output_axis(layer(workload, "pool1"))), once)


def accuracy(workload: str, precision: str, *sets: str):
    scenario = load_scenario(None, list(sets), precision=precision)
    return scenario_accuracy(scenario, load_workload(workload), "digits")[0]


def test_mxint8_weights_within_a_point_of_int8() -> None:
    """MXINT8 keeps 7 fraction bits per element under a power-of-two scale per 32 weights: at
    least INT8 per-channel's resolution on these layers, so top-1 must stay within 1 point of
    INT8 (the claim). Pinned: 98.6 % for both, weights only and weights plus activations,
    and no test image changes class against FP32 (measured)."""
    int8 = accuracy("digits_cnn", "int8")
    weights_only = accuracy("digits_cnn", "int8", "precision.weights=mxint8",
                            "precision.accumulator=fp32")  # fmt: skip
    both = accuracy("digits_cnn", "mxint8")
    for result in (weights_only, both):
        assert abs(result.top1 - int8.top1) <= 0.01
        assert result.top1 == 0.986 and result.agreement_with_fp32 == 1.0  # regression pins


@pytest.mark.parametrize(
    ("precision", "top1"),
    [("mxfp8_e4m3", 0.978), ("mxfp6_e2m3", 0.984), ("mxfp4_e2m1", 0.912), ("nvfp4", 0.958)],
)
def test_block_format_top1_pins(precision: str, top1: float) -> None:
    """Regression pins of the README's accuracy table (digits CNN, default scenario): 4-bit
    elements lose points (MXFP4's floor-based shared exponent leaves its blocks' largest
    values up to 2x past 6, saturated; NVFP4's E4M3 block scales fit each block's amax)."""
    assert accuracy("digits_cnn", precision).top1 == top1
