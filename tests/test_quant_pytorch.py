"""Conformance with PyTorch's min-max observers and quantize kernels.

Hand-worked cases use power-of-two scales so every tie ``x / S = k + 0.5`` is exact; the
golden file ``tests/data/quant_golden.npz`` was produced by ``tools/make_quant_golden.py``
with torch 2.13.0 (CPU) and is compared bit for bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from npusim.quant import QuantSpec, RangeObserver, quantize
from npusim.quant.affine import quantize_rows

GOLDEN = np.load(Path(__file__).parent / "data" / "quant_golden.npz")
UINT8 = QuantSpec(bits=8, signed=False)
INT8 = QuantSpec(bits=8, signed=True)
FLOAT32_EPS = np.float32(2.0**-23)  # torch.finfo(torch.float32).eps


def _f32(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_ties_round_half_to_even_unsigned() -> None:
    # range [0, 15.9375] -> S = 15.9375 / 255 = 0.0625 exactly, Z = 0
    q = quantize(_f32(0, 15.9375, 0.03125, 0.09375, 0.15625), UINT8)
    assert q.scale == np.float32(0.0625) and q.zero_point == 0
    assert q.values.tolist() == [0, 255, 0, 2, 2]  # 0.5 -> 0, 1.5 -> 2, 2.5 -> 2


def test_ties_round_half_to_even_signed() -> None:
    # range [-8, 7.9375] -> S = 0.0625, Z = -128 - round(-128) = 0
    q = quantize(_f32(-8, 7.9375, -0.03125, -0.09375, 0.15625), INT8)
    assert q.scale == np.float32(0.0625) and q.zero_point == 0
    assert q.values.tolist() == [-128, 127, 0, -2, 2]


def test_zero_point_tie_rounds_to_even() -> None:
    # S = (13.40625 + 2.53125) / 255 = 0.0625; -2.53125 / S = -40.5 -> round -40 -> Z = 40
    q = quantize(_f32(-2.53125, 13.40625), UINT8)
    assert q.zero_point == 40
    # 40 - 40.5 = -0.5 -> 0; 40 + 214.5 = 254.5 -> 254
    assert q.values.tolist() == [0, 254]
    assert q.dequantize().tolist() == [-2.5, 13.375]


def test_symmetric_scale_is_amax_over_half_range() -> None:
    x = _f32(-7.96875, 7.96875, 0.09375)
    signed = quantize(x, QuantSpec(symmetric=True))
    assert signed.scale == np.float32(7.96875 / 127.5) == np.float32(0.0625)
    assert signed.values.tolist() == [-128, 127, 2]  # +127.5 rounds to 128 and is clamped
    # ... with half a step of error, no more than rounding's: min-max clips nothing
    assert signed.error.fraction_clipped == 0.0 and signed.error.clipping_mse == 0.0
    unsigned = quantize(x, QuantSpec(signed=False, symmetric=True))
    assert unsigned.zero_point == 128
    assert unsigned.values.tolist() == [0, 255, 130]


@pytest.mark.parametrize("spec", [UINT8, INT8, QuantSpec(symmetric=True)])
def test_all_zero_tensor_uses_eps_scale(spec: QuantSpec) -> None:
    q = quantize(np.zeros(7, dtype=np.float32), spec)
    assert q.scale == FLOAT32_EPS
    expected_zero_point = {0: 0, -128: -128}[spec.qmin] if not spec.symmetric else 0
    assert q.zero_point == expected_zero_point
    assert np.all(q.values == q.zero_point)
    assert np.all(q.dequantize() == 0.0)
    assert q.error.mse == 0.0 and q.error.sqnr_db == np.inf


def test_constant_tensors_widen_range_to_zero() -> None:
    positive = quantize(np.full(5, 3.0, dtype=np.float32), UINT8)
    assert positive.zero_point == 0 and np.all(positive.values == 255)
    negative = quantize(np.full(5, -2.5, dtype=np.float32), UINT8)
    assert negative.zero_point == 255 and np.all(negative.values == 0)
    assert np.allclose(negative.dequantize(), -2.5, rtol=1e-6)


def test_tiny_range_floors_scale_at_eps() -> None:
    x = np.linspace(1e-9, 2e-9, 9, dtype=np.float32)
    q = quantize(x, UINT8)
    assert q.scale == FLOAT32_EPS and q.zero_point == 0
    assert np.all(q.values == 0)  # x / eps < 0.02


def _golden_cases(prefix: str) -> list[str]:
    return sorted({k.rsplit("/", 1)[0] for k in GOLDEN.files if k.startswith(prefix)})


@pytest.mark.parametrize("key", _golden_cases("tensor/") + _golden_cases("channel/"))
def test_golden_observer_and_quantize_bit_exact(key: str) -> None:
    kind, _, scheme, dtype = key.split("/")
    per_channel = kind == "channel"
    spec = QuantSpec(
        bits=8,
        signed=dtype == "qint8",
        symmetric=scheme == "symmetric",
        granularity="per_channel" if per_channel else "per_tensor",
        axis=int(GOLDEN[f"{key}/axis"]) if per_channel else 0,
    )
    q = quantize(GOLDEN[f"{key}/x"], spec)
    np.testing.assert_array_equal(q.scale.reshape(-1), GOLDEN[f"{key}/scale"].reshape(-1))
    np.testing.assert_array_equal(q.zero_point.reshape(-1), GOLDEN[f"{key}/zero_point"].reshape(-1))
    np.testing.assert_array_equal(q.values.astype(np.int64), GOLDEN[f"{key}/q"])
    np.testing.assert_array_equal(q.dequantize(), GOLDEN[f"{key}/x_hat"])


@pytest.mark.parametrize("dtype", ["qint8", "quint8"])
@pytest.mark.parametrize("kind", ["tensor", "channel"])
def test_golden_near_ties_pin_rounding_order(kind: str, dtype: str) -> None:
    key = f"fixed/{kind}/{dtype}"
    x = GOLDEN[f"{key}/x"]
    qmin, qmax = (-128, 127) if dtype == "qint8" else (0, 255)
    rows = x.reshape(1, -1) if kind == "tensor" else x
    q, _ = quantize_rows(
        rows, GOLDEN[f"{key}/scale"], GOLDEN[f"{key}/zero_point"], qmin, qmax, kind == "tensor"
    )
    np.testing.assert_array_equal(q.reshape(x.shape), GOLDEN[f"{key}/q"])
    # the other rounding order disagrees with torch on some of these vectors
    other, _ = quantize_rows(
        rows, GOLDEN[f"{key}/scale"], GOLDEN[f"{key}/zero_point"], qmin, qmax, kind != "tensor"
    )
    assert np.any(other.reshape(x.shape) != GOLDEN[f"{key}/q"])


@pytest.mark.parametrize("scheme", ["affine", "symmetric"])
def test_golden_running_observer_over_batches(scheme: str) -> None:
    spec = QuantSpec(bits=8, signed=False, symmetric=scheme == "symmetric")
    observer = RangeObserver(spec)
    for i in range(3):
        observer.observe(GOLDEN[f"running/{scheme}/batch{i}"])
    q = quantize(GOLDEN[f"running/{scheme}/batch1"], spec, observer=observer)
    assert q.scale == GOLDEN[f"running/{scheme}/scale"][0]
    assert q.zero_point == GOLDEN[f"running/{scheme}/zero_point"][0]


@pytest.mark.parametrize("fmt", ["fp16", "bf16", "fp8_e4m3", "fp8_e5m2"])
def test_golden_float_casts(fmt: str) -> None:
    x = GOLDEN["cast/x"]
    reference = GOLDEN[f"cast/{fmt}"]
    finite = np.isfinite(reference)  # torch overflows to Inf/NaN where we saturate
    mine = quantize(x, QuantSpec(fmt=fmt)).dequantize()
    np.testing.assert_array_equal(mine[finite], reference[finite])
    assert np.all(np.abs(mine[~finite]) == np.abs(mine).max())
