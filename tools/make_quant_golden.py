"""Generate tests/data/quant_golden.npz from PyTorch (run with /work/torchvenv/bin/python).

Not imported by npusim or its tests; torch is not a dependency. Each case stores the input
``x`` (float32), PyTorch's observer ``scale`` (float32) and ``zero_point`` (int64), the
``q`` codes of ``torch.quantize_per_tensor`` / ``quantize_per_channel`` and ``x_hat`` of
``dequantize()``; cast cases store ``torch.Tensor.to(dtype).float()``.

Usage: python tools/make_quant_golden.py tests/data/quant_golden.npz
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import torch
from torch.ao.quantization.observer import MinMaxObserver, PerChannelMinMaxObserver

warnings.filterwarnings("ignore")
STEP = 0.0625  # a power of two, so ties x / S = k + 0.5 are exact


def per_tensor_inputs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    ties = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, -3.5], dtype=np.float32) * STEP
    return {
        "normal": rng.standard_normal(256).astype(np.float32),
        "positive": rng.uniform(0.2, 5.0, 200).astype(np.float32),
        "negative": rng.uniform(-3.0, -0.1, 200).astype(np.float32),
        "laplace_outliers": np.concatenate([rng.laplace(size=300), [40.0, -35.0]]).astype(
            np.float32
        ),
        "ties_signed": np.concatenate([ties, [-8.0, 7.9375]]).astype(np.float32),
        "ties_unsigned": np.concatenate([np.abs(ties), [0.0, 15.9375]]).astype(np.float32),
        "ties_symmetric": np.concatenate([ties, [-7.96875, 7.96875]]).astype(np.float32),
        "zero_point_tie": np.array([-2.53125, 13.40625, 1.0, -1.03125], dtype=np.float32),
        "odd_zero_point": np.array([-0.3, 0.9, 0.1, 0.45, -0.05], dtype=np.float32),
        "all_zero": np.zeros(16, dtype=np.float32),
        "constant_positive": np.full(16, 3.0, dtype=np.float32),
        "constant_negative": np.full(16, -2.5, dtype=np.float32),
        "tiny_range": rng.uniform(1e-9, 2e-9, 32).astype(np.float32),
        "tiny_signed": rng.uniform(-3e-8, 3e-8, 32).astype(np.float32),
    }


SCHEMES = {
    "affine": (torch.per_tensor_affine, torch.per_channel_affine),
    "symmetric": (torch.per_tensor_symmetric, torch.per_channel_symmetric),
}
DTYPES = {"qint8": torch.qint8, "quint8": torch.quint8}


def per_tensor_cases(rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    for name, x in per_tensor_inputs(rng).items():
        for scheme, (qscheme, _) in SCHEMES.items():
            for dtype_name, dtype in DTYPES.items():
                observer = MinMaxObserver(dtype=dtype, qscheme=qscheme)
                tensor = torch.from_numpy(x)
                observer(tensor)
                scale, zero_point = observer.calculate_qparams()
                q = torch.quantize_per_tensor(tensor, float(scale), int(zero_point), dtype)
                key = f"tensor/{name}/{scheme}/{dtype_name}"
                out[f"{key}/x"] = x
                out[f"{key}/scale"] = scale.numpy().astype(np.float32)
                out[f"{key}/zero_point"] = zero_point.numpy().astype(np.int64)
                out[f"{key}/q"] = q.int_repr().numpy().astype(np.int64)
                out[f"{key}/x_hat"] = q.dequantize().numpy()


def per_channel_cases(rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    x = rng.standard_normal((6, 40)).astype(np.float32) * rng.uniform(0.01, 4.0, (6, 1)).astype(
        np.float32
    )
    x[2] = 0.0
    x[3] = 1.25
    x[4] = np.abs(x[4])
    inputs = {"axis0": (x, 0), "axis1": (np.ascontiguousarray(x.T[:, :5]) * 3.0, 1)}
    inputs["axis1_3d"] = (rng.standard_normal((3, 4, 7)).astype(np.float32), 1)
    for name, (values, axis) in inputs.items():
        for scheme, (_, qscheme) in SCHEMES.items():
            for dtype_name, dtype in DTYPES.items():
                observer = PerChannelMinMaxObserver(ch_axis=axis, dtype=dtype, qscheme=qscheme)
                tensor = torch.from_numpy(values)
                observer(tensor)
                scale, zero_point = observer.calculate_qparams()
                q = torch.quantize_per_channel(tensor, scale, zero_point, axis, dtype)
                key = f"channel/{name}/{scheme}/{dtype_name}"
                out[f"{key}/x"] = values
                out[f"{key}/axis"] = np.array(axis)
                out[f"{key}/scale"] = scale.numpy().astype(np.float32)
                out[f"{key}/zero_point"] = zero_point.numpy().astype(np.int64)
                out[f"{key}/q"] = q.int_repr().numpy().astype(np.int64)
                out[f"{key}/x_hat"] = q.dequantize().numpy()


def running_cases(rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    batches = [rng.standard_normal(50).astype(np.float32) * s for s in (1.0, 0.5, 2.0)]
    batches[1] += 1.5
    for scheme, (qscheme, _) in SCHEMES.items():
        observer = MinMaxObserver(dtype=torch.quint8, qscheme=qscheme)
        for batch in batches:
            observer(torch.from_numpy(batch))
        scale, zero_point = observer.calculate_qparams()
        for i, batch in enumerate(batches):
            out[f"running/{scheme}/batch{i}"] = batch
        out[f"running/{scheme}/scale"] = scale.numpy().astype(np.float32)
        out[f"running/{scheme}/zero_point"] = zero_point.numpy().astype(np.int64)


def near_tie_cases(rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    """Fixed (S, Z) with x / S within a few float32 ulps of k + 0.5: pins the rounding order."""
    for dtype_name, dtype in DTYPES.items():
        low = -128 if dtype is torch.qint8 else 0
        scales = rng.uniform(0.001, 0.1, 3).astype(np.float32)
        zero_points = rng.integers(low, low + 256, 3)
        ties = rng.integers(-300, 300, (3, 64)) + 0.5
        wiggle = 1.0 + rng.uniform(-3e-7, 3e-7, (3, 64))
        x = (ties * scales[:, None] * wiggle).astype(np.float32)
        tensor = torch.from_numpy(x)
        q = torch.quantize_per_tensor(tensor, float(scales[0]), int(zero_points[0]), dtype)
        key = f"fixed/tensor/{dtype_name}"
        out[f"{key}/x"] = x
        out[f"{key}/scale"] = scales[:1]
        out[f"{key}/zero_point"] = zero_points[:1].astype(np.int64)
        out[f"{key}/q"] = q.int_repr().numpy().astype(np.int64)
        q = torch.quantize_per_channel(
            tensor,
            torch.from_numpy(scales.astype(np.float64)),
            torch.from_numpy(zero_points),
            0,
            dtype,
        )
        key = f"fixed/channel/{dtype_name}"
        out[f"{key}/x"] = x
        out[f"{key}/scale"] = scales
        out[f"{key}/zero_point"] = zero_points.astype(np.int64)
        out[f"{key}/q"] = q.int_repr().numpy().astype(np.int64)


def cast_cases(rng: np.random.Generator, out: dict[str, np.ndarray]) -> None:
    x = np.concatenate(
        [
            rng.standard_normal(400) * 10.0,
            rng.standard_normal(100) * 1e-3,
            np.exp2(rng.uniform(-24, -6, 100)) * rng.choice([-1, 1], 100),
            [0.0, -0.0, 1.0, 0.5, 300.0, -440.0, 448.0, 57344.0, 65504.0, -65504.0],
        ]
    ).astype(np.float32)
    out["cast/x"] = x
    for name, dtype in {
        "fp16": torch.float16,
        "bf16": torch.bfloat16,
        "fp8_e4m3": torch.float8_e4m3fn,
        "fp8_e5m2": torch.float8_e5m2,
    }.items():
        out[f"cast/{name}"] = torch.from_numpy(x).to(dtype).float().numpy()


def main(path: str) -> None:
    rng = np.random.default_rng(20261127)
    out: dict[str, np.ndarray] = {"torch_version": np.array(torch.__version__)}
    per_tensor_cases(rng, out)
    per_channel_cases(rng, out)
    running_cases(rng, out)
    near_tie_cases(rng, out)
    cast_cases(rng, out)
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main(sys.argv[1])
