"""The functional pass against independent references written here in plain loops.

FP32: a graph with every layer kind the functional pass knows (strided, padded, grouped and
dilated convs, max and average pools with padding, a residual add, a concat, linear layers, a
matmul of two activations, GELU, SiLU, softmax, layernorm) equals a float64 loop reference
within 1e-5 relative. Integer: each layer's codes equal a Python-integer reference of the
published integer-only inference (Jacob et al. 2018, Eq. 7; ONNX QLinear requantization:
float multiplier, round half to even) on random small layers whose test inputs are larger
than their calibration inputs, so inputs and outputs saturate.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from npusim.functional import LayerSpecs, QuantizedNetwork, execute, fp32_runner, load_parameters
from npusim.functional.params import fused_activations
from npusim.quant import spec_for_precision
from npusim.workload import load_workload

GRAPH = """\
name: every_kind
tensors: model.npz
layers:
  - {name: c1, type: conv2d, in_h: 6, in_w: 6, in_channels: 2, out_channels: 4, kernel: 3,
     padding: 1, relu: true, inputs: input}
  - {name: c2, type: conv2d, in_h: 6, in_w: 6, in_channels: 4, out_channels: 4, kernel: 3,
     stride: 2, groups: 2, pads: [0, 0, 1, 1], inputs: c1}
  - {name: p1, type: pool2d, in_h: 6, in_w: 6, channels: 4, mode: max, kernel: 3, stride: 2,
     padding: 1, inputs: c1}
  - {name: add, type: elementwise, elements: 36, op: add, relu: true, inputs: [c2, p1]}
  - {name: p2, type: pool2d, in_h: 3, in_w: 3, channels: 4, mode: avg, kernel: 2, stride: 1,
     padding: 1, inputs: add}
  - {name: c3, type: conv2d, in_h: 6, in_w: 6, in_channels: 2, out_channels: 3, kernel: 3,
     dilation: 2, padding: 2, inputs: input}
  - {name: cat, type: concat, elements: 172, inputs: [p2, c3]}
  - {name: fc1, type: linear, in_features: 172, out_features: 24, inputs: cat}
  - {name: g, type: activation, function: gelu, elements: 24, inputs: fc1}
  - {name: fc2, type: linear, in_features: 172, out_features: 40, inputs: cat}
  - {name: s, type: activation, function: silu, elements: 40, inputs: fc2}
  - {name: mm, type: matmul, batch: 2, m: 3, k: 4, n: 5, inputs: [g, s]}
  - {name: sm, type: softmax, rows: 6, length: 5, inputs: mm}
  - {name: ln, type: layernorm, tokens: 2, features: 15, inputs: sm}
  - {name: out, type: linear, in_features: 30, out_features: 7, inputs: ln}
"""
GRAPH_RELU = ("c1", "add")
SHAPES = {"c1": (4, 2, 3, 3), "c2": (4, 2, 3, 3), "c3": (3, 2, 3, 3), "fc1": (24, 172),
          "fc2": (40, 172), "out": (7, 30)}  # fmt: skip


def write_graph(
    tmp_path: Path, text: str, shapes: dict, seed: int, relu: tuple[str, ...] = ()
) -> Path:
    """The workload ``text`` with random weights and biases of ``shapes`` in model.npz, and
    ``<layer>.activation = 'relu'`` for each layer of ``relu`` (those marked relu: true)."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {f"{name}.activation": np.array("relu") for name in relu}
    for name, shape in shapes.items():
        fan_in = math.prod(shape[1:])
        arrays[f"{name}.weight"] = rng.normal(0, 1 / math.sqrt(fan_in), shape).astype(np.float32)
        arrays[f"{name}.bias"] = rng.normal(0, 0.1, shape[0]).astype(np.float32)
    np.savez(tmp_path / "model.npz", **arrays)
    (tmp_path / "net.yaml").write_text(text)
    return tmp_path / "net.yaml"


# ---- the float64 loop reference -------------------------------------------------------------


def conv_ref(x, w, b, stride=1, pads=(0, 0, 0, 0), dilation=1, groups=1):
    """``x`` (C, H, W), ``w`` (O, C / groups, kh, kw), zero padding (top, left, bottom, right)."""
    channels, h, width = x.shape
    out_ch, per_group, kh, kw = w.shape
    top, left, bottom, right = pads
    padded = np.zeros((channels, h + top + bottom, width + left + right))
    padded[:, top : top + h, left : left + width] = x
    oh = (h + top + bottom - dilation * (kh - 1) - 1) // stride + 1
    ow = (width + left + right - dilation * (kw - 1) - 1) // stride + 1
    y = np.zeros((out_ch, oh, ow))
    for o in range(out_ch):
        g = o // (out_ch // groups)
        for i in range(oh):
            for j in range(ow):
                total = b[o]
                for c in range(per_group):
                    for u in range(kh):
                        for v in range(kw):
                            pixel = padded[g * per_group + c, i * stride + u * dilation,
                                           j * stride + v * dilation]  # fmt: skip
                            total += w[o, c, u, v] * pixel
                y[o, i, j] = total
    return y


def pool_ref(x, kernel, stride, padding, mode):
    channels, h, width = x.shape
    oh = (h + 2 * padding - kernel) // stride + 1
    ow = (width + 2 * padding - kernel) // stride + 1
    y = np.zeros((channels, oh, ow))
    for c in range(channels):
        for i in range(oh):
            for j in range(ow):
                cells = [x[c, r, s] for r in range(i * stride - padding,
                                                   i * stride - padding + kernel)
                         for s in range(j * stride - padding, j * stride - padding + kernel)
                         if 0 <= r < h and 0 <= s < width]  # fmt: skip
                y[c, i, j] = max(cells) if mode == "max" else sum(cells) / len(cells)
    return y


def reference_sample(x, p):
    """One sample through GRAPH in float64; ``p[name] = (weight, bias)``."""
    relu = lambda t: np.maximum(t, 0)  # noqa: E731
    image = x.reshape(2, 6, 6).astype(np.float64)
    c1 = relu(conv_ref(image, *p["c1"], pads=(1, 1, 1, 1)))
    c2 = conv_ref(c1, *p["c2"], stride=2, pads=(0, 0, 1, 1), groups=2)
    p1 = pool_ref(c1, 3, 2, 1, "max")
    add = relu(c2 + p1)
    p2 = pool_ref(add, 2, 1, 1, "avg")
    c3 = conv_ref(image, *p["c3"], pads=(2, 2, 2, 2), dilation=2)
    cat = np.concatenate([p2.ravel(), c3.ravel()])
    fc1 = p["fc1"][0] @ cat + p["fc1"][1]
    g = np.array([0.5 * t * (1 + math.erf(t / math.sqrt(2))) for t in fc1])
    fc2 = p["fc2"][0] @ cat + p["fc2"][1]
    s = fc2 / (1 + np.exp(-fc2))
    mm = np.stack([g.reshape(2, 3, 4)[i] @ s.reshape(2, 4, 5)[i] for i in range(2)])
    rows = mm.reshape(6, 5)
    sm = np.exp(rows - rows.max(axis=1, keepdims=True))
    sm /= sm.sum(axis=1, keepdims=True)
    tokens = sm.reshape(2, 15)
    ln = (tokens - tokens.mean(axis=1, keepdims=True)) / np.sqrt(tokens.var(axis=1, keepdims=True)
                                                                  + 1e-5)  # fmt: skip
    out = p["out"][0] @ ln.ravel() + p["out"][1]
    return {
        "c1": c1,
        "c2": c2,
        "p1": p1,
        "add": add,
        "p2": p2,
        "c3": c3,
        "cat": cat,
        "fc1": fc1,
        "g": g,
        "fc2": fc2,
        "s": s,
        "mm": mm,
        "sm": sm,
        "ln": ln,
        "out": out,
    }


def test_fp32_matches_an_independent_loop_reference(tmp_path: Path) -> None:
    workload = load_workload(write_graph(tmp_path, GRAPH, SHAPES, seed=1, relu=GRAPH_RELU))
    params = load_parameters(workload)
    raw = {n: (params[n].weight.reshape(SHAPES[n]).astype(np.float64), params[n].bias)
           for n in SHAPES}  # fmt: skip
    inputs = np.random.default_rng(2).normal(0, 1, (3, 72)).astype(np.float32)
    tensors = execute(workload, inputs, fp32_runner(params, fused_activations(workload)))
    for sample in range(3):
        expected = reference_sample(inputs[sample], raw)
        for name, want in expected.items():
            got = tensors[name][sample].astype(np.float64)
            scale = np.abs(want).max()
            assert np.abs(got - want.ravel()).max() <= 1e-5 * scale, name


def test_a_planted_bug_breaks_the_reference_match(tmp_path: Path) -> None:
    """The comparison can fail: flipping the conv kernel (correlation vs convolution) is a
    plausible bug, and the reference catches it."""
    workload = load_workload(write_graph(tmp_path, GRAPH, SHAPES, seed=1, relu=GRAPH_RELU))
    params = load_parameters(workload)
    raw = {n: (params[n].weight.reshape(SHAPES[n]).astype(np.float64), params[n].bias)
           for n in SHAPES}  # fmt: skip
    raw["c1"] = (raw["c1"][0][:, :, ::-1, ::-1], raw["c1"][1])
    inputs = np.random.default_rng(2).normal(0, 1, (1, 72)).astype(np.float32)
    got = execute(workload, inputs, fp32_runner(params, fused_activations(workload)))["c1"][0]
    want = reference_sample(inputs[0], raw)["c1"].ravel()
    assert np.abs(got - want).max() > 1e-3 * np.abs(want).max()


# ---- the integer datapath ---------------------------------------------------------------------

CONV = """\
tensors: model.npz
layers:
  - {name: layer, type: conv2d, in_h: 5, in_w: 5, in_channels: 3, out_channels: 4, kernel: 3,
     stride: 2, padding: 1, relu: RELU}
"""
LINEAR = """\
tensors: model.npz
layers:
  - {name: layer, type: linear, in_features: 11, out_features: 6, relu: RELU}
"""


def round_half_even(value: float) -> int:
    return round(value)  # Python's round() of a float is round half to even


def quantize_ref(x: float, scale: np.float32, zero_point: int, qmin: int, qmax: int) -> int:
    """PyTorch/FBGEMM per-tensor: ``clamp(rint(fl32(x * fl32(1 / S) + Z)))``."""
    inverse = float(np.float32(1) / scale)
    return min(max(round_half_even(float(np.float32(float(x) * inverse + zero_point))), qmin), qmax)


def integer_layer_ref(layer, x_codes, zx, w_codes, zw, bias, sx, sw, sy, zy, qmin, qmax, fused):
    """Output codes of one sample by Python integers: ``acc = b_q + sum (qx - Zx)(qw - Zw)``,
    ``b_q = rint(b / (Sx Sw))``, ``y = clamp(rint(acc * Sx Sw / Sy) + Zy)``; ``fused``
    'relu': ``y >= Zy``, 'relu6': also ``y <= q(6)``, the code of 6."""
    out_ch = w_codes.shape[0]
    if layer == "linear":
        patches = [[int(v) - zx for v in x_codes]]
    else:
        image = np.asarray(x_codes).reshape(3, 5, 5) - zx
        padded = np.zeros((3, 7, 7), dtype=np.int64)
        padded[:, 1:6, 1:6] = image
        patches = [[int(padded[c, 2 * i + u, 2 * j + v]) for c in range(3) for u in range(3)
                    for v in range(3)] for i in range(3) for j in range(3)]  # fmt: skip
    six = quantize_ref(6.0, sy, zy, qmin, qmax)
    codes = np.zeros((out_ch, len(patches)), dtype=np.int64)
    for o in range(out_ch):
        acc_scale = float(sx) * float(sw[o])
        b_q = round_half_even(float(bias[o]) / acc_scale)
        for p, patch in enumerate(patches):
            weights = [int(w) - int(zw[o]) for w in w_codes[o]]
            acc = b_q + sum(a * w for a, w in zip(patch, weights, strict=True))
            assert -(2**31) <= acc < 2**31
            y = min(max(round_half_even(acc * (acc_scale / float(sy))) + zy, qmin), qmax)
            if fused != "none":
                y = max(y, zy)
            codes[o, p] = min(y, six) if fused == "relu6" else y
    return codes.ravel()  # (out_ch, positions): NCHW for the conv, features for the linear


def minmax_qparams(lo: float, hi: float, spec) -> tuple[np.float32, int]:
    """PyTorch's MinMaxObserver qparams (``_calculate_qparams``), in float32: the range
    widened to hold 0; symmetric ``S = amax / ((qmax - qmin) / 2)``, ``Z`` 0 (signed) or
    the middle code (unsigned); affine ``S = (hi - lo) / (qmax - qmin)``,
    ``Z = clamp(qmin - rint(lo / S))``."""
    lo32, hi32 = np.float32(min(lo, 0.0)), np.float32(max(hi, 0.0))
    span = np.float32(spec.qmax - spec.qmin)
    if spec.symmetric:
        scale = np.float32(max(-lo32, hi32) / (span / np.float32(2)))
        zero_point = 0 if spec.qmin < 0 else (spec.qmin + spec.qmax + 1) // 2
        return max(scale, np.float32(np.finfo(np.float32).eps)), zero_point
    scale = max(np.float32((hi32 - lo32) / span), np.float32(np.finfo(np.float32).eps))
    zero_point = spec.qmin - round_half_even(float(np.float32(lo32 / scale)))
    return scale, min(max(zero_point, spec.qmin), spec.qmax)


def weight_codes_ref(weight: np.ndarray, spec) -> tuple[np.ndarray, list, list]:
    """Min-max weight codes, row scales and zero points: per channel (PyTorch's
    per-channel rounding ``rint(fl32(fl32(w * fl32(1 / S)) + Z))``) or per tensor (fused)."""
    rows = weight.shape[0]
    if spec.granularity.value == "per_channel":
        params = [minmax_qparams(float(r.min()), float(r.max()), spec) for r in weight]
    else:
        params = [minmax_qparams(float(weight.min()), float(weight.max()), spec)] * rows
    codes = np.zeros(weight.shape, np.int64)
    for o, (scale, zero_point) in enumerate(params):
        inverse = np.float32(1) / scale
        for k, w in enumerate(weight[o]):
            if spec.granularity.value == "per_channel":
                unrounded = float(np.float32(np.float32(w * inverse) + np.float32(zero_point)))
            else:
                unrounded = float(np.float32(float(w) * float(inverse) + zero_point))
            codes[o, k] = min(max(round_half_even(unrounded), spec.qmin), spec.qmax)
    return codes, [p[0] for p in params], [p[1] for p in params]


def layer_fp32_ref(layer: str, x: np.ndarray, weight: np.ndarray, bias, fused: str):
    """The float layer of CONV / LINEAR on one sample, float64 loops, rounded to float32."""
    if layer == "linear":
        y = weight.astype(np.float64) @ x.astype(np.float64) + bias
    else:
        w = weight.reshape(4, 3, 3, 3).astype(np.float64)
        y = conv_ref(x.reshape(3, 5, 5), w, bias, stride=2, pads=(1, 1, 1, 1)).ravel()
    if fused != "none":
        y = np.clip(y, 0, 6 if fused == "relu6" else None)
    return y.astype(np.float32)


CASES = [  # (activations, weights, symmetric, granularity)
    ("int8", "int8", True, "per_channel"),
    ("uint8", "int8", False, "per_channel"),
    ("int8", "int4", False, "per_tensor"),
    ("int4", "int4", False, "per_channel"),
    ("int2", "int8", True, "per_channel"),
]


@pytest.mark.parametrize("layer", ["conv", "linear"])
@pytest.mark.parametrize("fused", ["none", "relu", "relu6"])
@pytest.mark.parametrize("case", CASES)
def test_integer_datapath_is_bit_exact(tmp_path: Path, layer: str, fused: str, case) -> None:
    """Every scale, zero point and weight code comes from the test's own min-max reference
    (PyTorch's observer formulas), not from the code under test. The output's range is the
    float32 network's over the calibration inputs, checked here against a float64 loop
    (a float32 sum in another order can move the maximum by one ulp, and so the scale).
    ReLU6 cases use 8x wider inputs so that outputs pass 6."""
    activations, weights, symmetric, granularity = case
    text = (CONV if layer == "conv" else LINEAR).replace("RELU", str(fused != "none").lower())
    shape = {"conv": (4, 3, 3, 3), "linear": (6, 11)}[layer]
    path = write_graph(tmp_path, text, {"layer": shape}, seed=3,
                       relu=("layer",) if fused != "none" else ())  # fmt: skip
    if fused == "relu6":
        with np.load(path.parent / "model.npz") as archive:
            arrays = dict(archive) | {"layer.activation": np.array("relu6")}
        np.savez(path.parent / "model.npz", **arrays)
    workload = load_workload(path)
    params = load_parameters(workload)
    a_spec = spec_for_precision(activations, symmetric=symmetric, granularity="per_tensor")
    w_spec = spec_for_precision(weights, symmetric=symmetric, granularity=granularity)
    rng = np.random.default_rng(4)
    size = math.prod(shape[1:]) if layer == "linear" else 75
    spread = 8.0 if fused == "relu6" else 1.0
    calibration = rng.normal(0.3, spread, (8, size)).astype(np.float32)
    network = QuantizedNetwork(workload, params, {"layer": LayerSpecs(w_spec, a_spec)},
                               calibration)  # fmt: skip
    test = rng.normal(0.3, 3.0 * spread, (5, size)).astype(np.float32)  # 3x wider: saturates
    got = execute(workload, test, network.run_layer)["layer"]
    weight, bias = params["layer"].weight, params["layer"].bias
    sx, zx = minmax_qparams(float(calibration.min()), float(calibration.max()), a_spec)
    outputs = execute(workload, calibration, fp32_runner(params, fused_activations(workload)))
    outputs = outputs["layer"]  # float32 sums: the float64 loop can differ in the last bit
    looped = np.stack([layer_fp32_ref(layer, c, weight, bias, fused) for c in calibration])
    np.testing.assert_allclose(outputs, looped, rtol=0, atol=1e-5 * np.abs(looped).max())
    sy, zy = minmax_qparams(float(outputs.min()), float(outputs.max()), a_spec)
    w_codes, sw, zw = weight_codes_ref(weight, w_spec)
    saturated = six = 0
    for sample in range(5):
        x_codes = [quantize_ref(v, sx, zx, a_spec.qmin, a_spec.qmax) for v in test[sample]]
        codes = integer_layer_ref(layer, x_codes, zx, w_codes, zw, bias, sx, sw, sy, zy,
                                  a_spec.qmin, a_spec.qmax, fused)  # fmt: skip
        want = (codes.astype(np.float32) - np.float32(zy)) * sy
        np.testing.assert_array_equal(got[sample], want)
        saturated += int(np.sum((codes == a_spec.qmax) | (codes == a_spec.qmin)))
        six += int(np.sum(codes == quantize_ref(6.0, sy, zy, a_spec.qmin, a_spec.qmax)))
    assert saturated > 0  # the case exercises saturation of the outputs
    if fused == "relu6":
        assert six > 0 and outputs.max() == np.float32(6)  # the ReLU6 clamp is exercised


def test_fp8_with_an_fp16_accumulator_rounds_every_add(tmp_path: Path) -> None:
    """FP8 weights on FP16 activations, FP16 accumulator (the scenario's default for FP8): a
    scalar loop rounding each product and each sum to FP16 in K order, then the FP32 bias,
    then FP16 output rounding, gives the same bits; an FP32 accumulator gives other bits."""
    from npusim.quant.floatfmt import FLOAT_FORMATS, round_to_format
    from npusim.quant.spec import Format

    workload = load_workload(write_graph(tmp_path, LINEAR.replace("RELU", "false"),
                                         {"layer": (6, 11)}, seed=5))  # fmt: skip
    params = load_parameters(workload)
    spec, half = spec_for_precision("fp8_e4m3"), spec_for_precision("fp16")
    fmt, fp16 = FLOAT_FORMATS[Format.FP8_E4M3], FLOAT_FORMATS[Format.FP16]
    x = np.random.default_rng(6).normal(0, 4, (3, 11)).astype(np.float32)
    outputs = {}
    for accumulator in ("fp16", "fp32"):
        network = QuantizedNetwork(workload, params, {"layer": LayerSpecs(spec, half, accumulator)},
                                   x)  # fmt: skip
        outputs[accumulator] = execute(workload, x, network.run_layer)["layer"]
    a = x.astype(np.float16)
    w = round_to_format(params["layer"].weight, fmt)[0].astype(np.float16)
    want = np.zeros((3, 6), np.float32)
    for i in range(3):
        for j in range(6):
            acc = np.float16(0)
            for k in range(11):
                acc = np.float16(acc + np.float16(a[i, k] * w[j, k]))
            want[i, j] = np.float32(acc) + params["layer"].bias[j]
    want = round_to_format(want, fp16)[0].astype(np.float32)
    np.testing.assert_array_equal(outputs["fp16"], want)
    assert not np.array_equal(outputs["fp32"], want)


@pytest.mark.parametrize(("activations", "symmetric"), [("int8", True), ("uint8", False)])
def test_every_kind_runs_quantized_close_to_fp32(
    tmp_path: Path, activations: str, symmetric: bool
) -> None:
    """The whole graph (integer convs with padding and groups, an integer matmul of two
    activations, float vector layers) at 8 bits, with zero points (uint8 affine) or without:
    every tensor within 8-bit quantization noise of FP32: measured 21 to 35 dB (min-max
    scales from 64 samples, errors accumulating over up to ten layers); planted bugs in the
    integer matmul (one operand's scale for both, its second zero point dropped) measured 16
    and 4 dB."""
    workload = load_workload(write_graph(tmp_path, GRAPH, SHAPES, seed=1, relu=GRAPH_RELU))
    params = load_parameters(workload)
    a_spec = spec_for_precision(activations, symmetric=symmetric)
    w_spec = spec_for_precision("int8", symmetric=True, granularity="per_channel")
    specs = {layer.name: LayerSpecs(w_spec, a_spec) for layer in workload.layers}
    rng = np.random.default_rng(7)
    calibration = rng.normal(0, 1, (64, 72)).astype(np.float32)
    test = rng.normal(0, 1, (16, 72)).astype(np.float32)
    network = QuantizedNetwork(workload, params, specs, calibration)
    exact = execute(workload, test, fp32_runner(params, fused_activations(workload)))
    quantized = execute(workload, test, network.run_layer)
    for name, want in exact.items():
        if name == "input":  # the network input is passed as it is
            continue
        noise = np.sum((quantized[name].astype(np.float64) - want) ** 2)
        sqnr_db = 10 * np.log10(np.sum(want.astype(np.float64) ** 2) / noise)
        assert sqnr_db > 20.0, (name, sqnr_db)


# ---- the vector unit's precision --------------------------------------------------------------

VECTOR = """\
name: vector_ops
layers:
  - {name: sm, type: softmax, rows: 4, length: 6, inputs: input}
  - {name: ln, type: layernorm, tokens: 3, features: 8, inputs: sm}
"""


def bf16_ref(x: np.ndarray) -> np.ndarray:
    """Nearest bfloat16 (8 significant bits, ties to even) by frexp: ``m`` in [0.5, 1)."""
    mantissa, exponent = np.frexp(np.asarray(x, np.float64))
    return np.ldexp(np.rint(mantissa * 256.0) / 256.0, exponent)


def fp16_ref(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, np.float64).astype(np.float16).astype(np.float64)


def softmax_layernorm_ref(x: np.ndarray, r) -> tuple[np.ndarray, np.ndarray]:
    """One sample of VECTOR with every documented step rounded by ``r``."""
    rows = r(x.reshape(4, 6).astype(np.float64))
    d = r(rows - rows.max(axis=1, keepdims=True))
    e = r(np.exp(d))
    sm = r(e / r(e.sum(axis=1, keepdims=True)))
    tokens = r(sm.reshape(3, 8))
    mu = r(tokens.mean(axis=1, keepdims=True))
    c = r(tokens - mu)
    var = r((c * c).mean(axis=1, keepdims=True))
    inv = r(1.0 / np.sqrt(var + 1e-5))
    return sm.ravel(), r(c * inv).ravel()


@pytest.mark.parametrize(("precision", "rounding"), [("bf16", bf16_ref), ("fp16", fp16_ref)])
def test_vector_ops_round_to_the_vector_units_precision(
    tmp_path: Path, precision: str, rounding
) -> None:
    """Softmax and layernorm on FP32-stored activations with ``vector.precision`` BF16 or
    FP16 equal a numpy reference that rounds every step (frexp rounding for BF16, numpy's
    float16 cast for FP16); float32 vector arithmetic gives other values."""
    from npusim.config import load_scenario
    from npusim.functional import scenario_specs

    (tmp_path / "net.yaml").write_text(VECTOR)
    workload = load_workload(tmp_path / "net.yaml")
    scenario = load_scenario(None, [f"vector.precision={precision}"], precision="fp32")
    specs = scenario_specs(scenario, workload)
    assert {s.vector for s in specs.values()} == {precision}
    x = np.random.default_rng(8).normal(0, 3, (5, 24)).astype(np.float32)
    got = execute(workload, x, QuantizedNetwork(workload, {}, specs, x).run_layer)
    exact = execute(workload, x, fp32_runner({}, {}))
    for sample in range(5):
        sm, ln = softmax_layernorm_ref(x[sample], rounding)
        np.testing.assert_array_equal(got["sm"][sample], sm.astype(np.float32))
        np.testing.assert_array_equal(got["ln"][sample], ln.astype(np.float32))
    assert not np.array_equal(got["ln"], exact["ln"])


@pytest.mark.parametrize(
    ("activation", "message"),
    [
        (None, "has relu: true, which stands for ReLU and ReLU6 alike; name it in the tensor "
               "file: 'layer.activation' = 'relu' or 'relu6'"),
        (np.array("gelu"), "'layer.activation' must be the string 'relu' or 'relu6'"),
        (np.array([1.0]), "'layer.activation' must be the string 'relu' or 'relu6'"),
    ],
)  # fmt: skip
def test_a_fused_relu_must_say_which(tmp_path: Path, activation, message: str) -> None:
    """``relu: true`` marks ReLU and ReLU6 alike in the workload format; the functional pass
    refuses to guess (a ReLU6 network run as ReLU would be silently wrong)."""
    from npusim.functional import FunctionalError

    path = write_graph(tmp_path, LINEAR.replace("RELU", "true"), {"layer": (6, 11)}, seed=3)
    if activation is not None:
        with np.load(path.parent / "model.npz") as archive:
            arrays = dict(archive) | {"layer.activation": activation}
        np.savez(path.parent / "model.npz", **arrays)
    workload = load_workload(path)
    spec = spec_for_precision("int8")
    x = np.ones((2, 11), np.float32)
    with pytest.raises(FunctionalError, match=message.replace("(", r"\(").replace(")", r"\)")):
        QuantizedNetwork(workload, load_parameters(workload), {"layer": LayerSpecs(spec, spec)}, x)


def test_relu6_clamps_the_float_path_at_six(tmp_path: Path) -> None:
    """FP16 weights and activations (the float GEMM path) and FP32: ReLU6 outputs lie in
    [0, 6] and equal a clipped float64 reference within FP16's rounding."""
    path = write_graph(tmp_path, LINEAR.replace("RELU", "true"), {"layer": (6, 11)}, seed=3)
    with np.load(path.parent / "model.npz") as archive:
        arrays = dict(archive) | {"layer.activation": np.array("relu6")}
    np.savez(path.parent / "model.npz", **arrays)
    workload = load_workload(path)
    params = load_parameters(workload)
    x = np.random.default_rng(9).normal(0, 8, (20, 11)).astype(np.float32)
    want = np.clip(x.astype(np.float64) @ params["layer"].weight.T + params["layer"].bias, 0, 6)
    half = spec_for_precision("fp16")
    network = QuantizedNetwork(workload, params, {"layer": LayerSpecs(half, half)}, x)
    got = execute(workload, x, network.run_layer)["layer"]
    exact = execute(workload, x, fp32_runner(params, fused_activations(workload)))["layer"]
    assert got.max() == 6.0 and exact.max() == 6.0 and got.min() == 0.0
    np.testing.assert_allclose(exact, want, rtol=0, atol=1e-5 * 6)
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-2)  # FP16 weights, 10-bit mantissas


# ---- per-group weights and the binary datapath --------------------------------------------------

WIDE = """\
tensors: model.npz
layers:
  - {name: layer, type: linear, in_features: 12, out_features: 6}
"""


def test_per_group_weights_match_a_loop(tmp_path: Path) -> None:
    """INT4 symmetric weights with one scale per 4 consecutive inputs of each output channel
    (``S = amax / 7.5`` per group, PyTorch's symmetric formula for qmin -8, qmax 7), FP32
    activations: the layer equals a float64 loop over the dequantized groups within 1e-5
    (the group's largest negative weight sits at -7.5 steps, a tie: the rounding order
    matters and is PyTorch's).
    Per-channel or per-tensor scales on these weights miss by far more (checked below)."""
    workload = load_workload(write_graph(tmp_path, WIDE, {"layer": (6, 12)}, seed=11))
    params = load_parameters(workload)
    weight, bias = params["layer"].weight.astype(np.float64), params["layer"].bias
    weight[:, 4:8] *= 10.0  # one group 10x wider: a shared scale would flatten the others
    params = {"layer": type(params["layer"])(weight.astype(np.float32), bias)}
    w_spec = spec_for_precision("int4", symmetric=True, granularity="per_group", axis=1,
                                group_size=4)  # fmt: skip
    specs = {"layer": LayerSpecs(w_spec, spec_for_precision("fp32"))}
    x = np.random.default_rng(12).normal(0, 1, (7, 12)).astype(np.float32)
    got = execute(workload, x, QuantizedNetwork(workload, params, specs, x).run_layer)["layer"]
    dequantized = np.zeros_like(weight)
    for o in range(6):
        for g in range(3):
            group = params["layer"].weight[o, 4 * g : 4 * g + 4]
            scale = np.float32(np.abs(group).max() / np.float32(7.5))
            inverse = np.float32(1) / scale  # PyTorch's order: rint(fl32(w * fl32(1 / S)))
            codes = [min(max(round_half_even(float(np.float32(w * inverse))), -8), 7)
                     for w in group]  # fmt: skip
            dequantized[o, 4 * g : 4 * g + 4] = np.array(codes) * float(scale)
    want = np.array([[sum(dequantized[o, k] * float(x[i, k]) for k in range(12)) + bias[o]
                      for o in range(6)] for i in range(7)])  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
    per_channel = np.array([np.abs(r).max() / 7.5 for r in weight])[:, None]
    coarse = x.astype(np.float64) @ (np.clip(np.rint(weight / per_channel), -8, 7) * per_channel).T
    assert np.abs(coarse + bias - want).max() > 1e-2 * np.abs(want).max()


@pytest.mark.parametrize("relu", [False, True])
def test_binary_datapath_with_signed_inputs(tmp_path: Path, relu: bool) -> None:
    """Binary activations and weights (XNOR-Net: codes sign(x) with sign(0) = +1, alpha =
    mean|x| over the calibration inputs; per output channel alpha_w = mean|w_c|) on inputs of
    both signs: the sign of ``rint(b / (alpha_x alpha_w)) + sum sign(x) sign(w)`` times the
    output's alpha, by Python integers; a fused ReLU makes every code +1."""
    path = write_graph(tmp_path, WIDE.replace("12, out_features: 6", "12, out_features: 6, "
                                              f"relu: {str(relu).lower()}"),
                       {"layer": (6, 12)}, seed=13, relu=("layer",) if relu else ())  # fmt: skip
    workload = load_workload(path)
    params = load_parameters(workload)
    spec = spec_for_precision("binary", symmetric=True, granularity="per_channel")
    rng = np.random.default_rng(14)
    calibration = rng.normal(0, 1, (32, 12)).astype(np.float32)
    x = rng.normal(0, 1, (9, 12)).astype(np.float32)
    assert (x < 0).any() and (x > 0).any()
    network = QuantizedNetwork(workload, params, {"layer": LayerSpecs(spec, spec)}, calibration)
    got = execute(workload, x, network.run_layer)["layer"]
    weight, bias = params["layer"].weight, params["layer"].bias
    alpha_x = np.abs(calibration.astype(np.float64)).mean()
    alpha_w = np.abs(weight.astype(np.float64)).mean(axis=1)
    outputs = execute(workload, calibration, fp32_runner(params, fused_activations(workload)))
    alpha_y = np.abs(outputs["layer"].astype(np.float64)).mean()
    sign = lambda v: 1 if v >= 0 else -1  # noqa: E731
    want = np.zeros((9, 6), np.int64)
    for i in range(9):
        for o in range(6):
            acc = round_half_even(float(bias[o]) / (alpha_x * alpha_w[o]))
            acc += sum(sign(x[i, k]) * sign(weight[o, k]) for k in range(12))
            want[i, o] = 1 if relu else sign(acc)
    np.testing.assert_array_equal(np.where(got >= 0, 1, -1), want)
    np.testing.assert_allclose(np.abs(got), alpha_y, rtol=1e-6)
    if not relu:
        assert (want == 1).any() and (want == -1).any()


def test_a_dataset_in_another_layout_is_refused(tmp_path: Path) -> None:
    """GRAPH's input is one 2 x 6 x 6 image (NCHW): NHWC samples (6, 6, 2) have the same
    element count and are refused; NCHW, NCHW with the batch axis, and flat samples pass."""
    from npusim.functional import DatasetError, load_dataset
    from npusim.functional.accuracy import check_network
    from npusim.functional.network import input_shape

    workload = load_workload(write_graph(tmp_path, GRAPH, SHAPES, seed=1, relu=GRAPH_RELU))
    assert input_shape(workload) == (1, 2, 6, 6)
    images = np.random.default_rng(15).normal(0, 1, (6, 2, 6, 6)).astype(np.float32)
    labels = np.arange(6) % 7
    for name, inputs in (("nchw", images), ("batch", images[:, None]),
                         ("flat", images.reshape(6, -1))):  # fmt: skip
        np.savez(tmp_path / f"{name}.npz", inputs=inputs, labels=labels)
        check_network(workload, load_dataset(tmp_path / f"{name}.npz"))
    np.savez(tmp_path / "nhwc.npz", inputs=images.transpose(0, 2, 3, 1), labels=labels)
    message = r"each input has shape \(6, 6, 2\), the network input is \(1, 2, 6, 6\)"
    with pytest.raises(DatasetError, match=message):
        check_network(workload, load_dataset(tmp_path / "nhwc.npz"))


def test_weights_are_min_max_whatever_the_calibration() -> None:
    """``quantization.calibration`` picks activation ranges; weights keep min-max (TensorRT,
    PyTorch): entropy, percentile and MSE give the same codes and scales as min-max."""
    from npusim.functional.quantizers import quantize_weights

    weight = np.random.default_rng(16).standard_t(3, (8, 9)).astype(np.float32)  # long tails
    results = {c: quantize_weights(weight, spec_for_precision("int4", symmetric=True,
               granularity="per_channel", calibration=c))
               for c in ("minmax", "percentile", "entropy", "mse")}  # fmt: skip
    amax = np.abs(weight).max(axis=1)
    np.testing.assert_array_equal(results["minmax"].scale, amax / np.float32(7.5))  # 15 / 2
    for result in results.values():
        np.testing.assert_array_equal(result.codes, results["minmax"].codes)
        np.testing.assert_array_equal(result.scale, results["minmax"].scale)


def test_a_bias_code_outside_the_accumulator_is_an_overflow() -> None:
    """Like an accumulated sum, a bias code beyond INT32 raises (not silently saturated)."""
    from npusim.compute.datapath import AccumulatorOverflowError
    from npusim.functional.intgemm import bias_codes

    scale = np.array([[[1e-6, 1e-6]]])
    np.testing.assert_array_equal(bias_codes(np.array([[[2.0, -2.0]]]), scale), [[[2e6, -2e6]]])
    with pytest.raises(AccumulatorOverflowError, match="bias code 3000000000"):
        bias_codes(np.array([[[1.0, 3000.0]]]), scale)
