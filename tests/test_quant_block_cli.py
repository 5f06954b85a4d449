"""``npusim quantize --format <block format>``: OCP MX and NVFP4 tensors from the command line.

The hand-worked block's expected numbers come from the OCP Microscaling Formats (MX)
Specification v1.0 written out here (section 5.3's E2M1 values, section 6.3's conversion), not
from npusim's quantizer.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from npusim.cli import main

# E2M1 magnitudes by 3-bit code (exponent bias 1; code 1 is the subnormal 0.5), and 8, the
# first value past the largest: round to nearest, ties to the even code, then clamp to 6
# (the spec's saturating conversion).
E2M1_BY_CODE = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)
E2M1_EMAX = 2  # 6 = 1.5 * 2**2

# One 32-element block (every value exact in float32): amax 15, so shared_exp =
# floor(log2 15) - emax = 3 - 2 = 1, X = 2. V / X: 7.5 saturates (rounds past 6: to 6);
# -2.5, 1.25, 3.5 and 1.75 are ties (to codes 4, 2, 6 and 4: the even one); 0.34375 rounds up
# to the subnormal 0.5, 0.125 down to 0, 5.5 to 6 (nearest, not a saturation).
HAND_BLOCK = (15.0, -5.0, 0.6875, 2.5, 7.0, 11.0, 0.25, 3.5, *([1.0, -3.0, 0.5, 6.0] * 6))


def e2m1_round(r: float) -> tuple[float, int]:
    """The spec's element conversion of ``r`` = V / X: (value, sign|code 4-bit code)."""
    distances = [abs(abs(r) - m) for m in E2M1_BY_CODE]
    nearest = [c for c, d in enumerate(distances) if d == min(distances)]
    code = nearest[0] if len(nearest) == 1 else next(c for c in nearest if c % 2 == 0)
    code = min(code, 7)  # 8 is past the format: saturate to 6
    sign = 8 if r < 0 else 0
    return (-1.0 if r < 0 else 1.0) * E2M1_BY_CODE[code], sign | code


def hand_block_reference() -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """(X, dequantized values, 4-bit codes, saturated mask) of HAND_BLOCK by the spec."""
    v = np.array(HAND_BLOCK)
    scale = 2.0 ** (int(np.floor(np.log2(np.abs(v).max()))) - E2M1_EMAX)
    pairs = [e2m1_round(x / scale) for x in v]
    values = np.array([p[0] for p in pairs]) * scale
    codes = np.array([p[1] for p in pairs])
    saturated = np.abs(v / scale) >= 7.0  # 7 is the tie between 6 and 8: rounds to 8
    return scale, values, codes, saturated


@pytest.fixture
def hand_block(tmp_path: Path) -> Path:
    path = tmp_path / "block.npy"
    np.save(path, np.array(HAND_BLOCK, np.float32))
    return path


def quantize_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["quantize", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_hand_worked_mxfp4_block(hand_block: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scale, values, _, saturated = hand_block_reference()
    assert scale == 2.0
    info = quantize_json(capsys, str(hand_block), "--format", "mxfp4_e2m1")
    # 32 elements x 4 bits = 16 B, one E8M0 scale byte; from 32 x 4 B of float32
    assert (info["payload_bytes"], info["metadata_bytes"], info["total_bytes"]) == (16, 1, 17)
    assert info["original_bytes"] == 128 and info["compression_ratio"] == 128 / 17
    assert info["groups"] == 1 and info["scale_min"] == info["scale_max"] == scale
    assert info["block"] == {"size": 32, "axis": 0, "element": "E2M1", "scale_format": "e8m0",
                             "nan_blocks": 0}  # fmt: skip
    error = values - np.array(HAND_BLOCK)
    assert info["error"]["max_abs_error"] == np.abs(error).max() == 3.0  # 15 -> 12
    assert info["error"]["mse"] == pytest.approx(np.mean(error**2), rel=1e-12)
    assert info["error"]["fraction_clipped"] == saturated.mean() == 1 / 32
    assert info["error"]["clipping_mse"] == pytest.approx(np.sum(error[saturated] ** 2) / 32)


def test_hand_worked_block_codes(hand_block: Path) -> None:
    """The element codes npusim stores (what the 16 payload bytes pack) are the spec's."""
    from npusim.quant.mx import block_quantize

    _, values, codes, _ = hand_block_reference()
    q = block_quantize(np.load(hand_block), "mxfp4_e2m1")
    assert q.scale_exponents.tolist() == [1]
    assert q.element_codes().tolist() == codes.tolist()
    assert q.dequantize().tolist() == values.tolist()


def test_text_report(hand_block: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["quantize", str(hand_block), "--format", "mxfp4-e2m1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "format: mxfp4_e2m1"
    assert out[2] == "scales: 1 block(s) of 32 E2M1 elements along axis 0, e8m0, 2 .. 2"
    assert out[3] == "bytes: 128 -> 17 (payload 16 + metadata 1), 7.53x smaller"
    assert "max|e| 3 " in out[4] and "clipped 3.125 %" in out[4]


def test_nvfp4_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.random.default_rng(1).normal(size=(3, 40)).astype(np.float32)
    np.save(path := tmp_path / "x.npy", x)
    info = quantize_json(capsys, str(path), "--format", "nvfp4")
    # 3 rows x ceil(40 / 16) = 9 E4M3 block scales + one FP32 tensor scale; 120 x 4 bits
    assert (info["payload_bytes"], info["metadata_bytes"], info["groups"]) == (60, 9 + 4, 9)
    assert info["block"]["tensor_scale"] == pytest.approx(np.abs(x).max() / (6 * 448), 1e-6)


def test_axis_blocks_that_axis(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x = np.random.default_rng(2).normal(size=(3, 70)).astype(np.float32)
    np.save(rows := tmp_path / "rows.npy", x)
    np.save(columns := tmp_path / "columns.npy", x.T.copy())
    along_rows = quantize_json(capsys, str(rows), "--format", "mxint8")
    along_axis0 = quantize_json(capsys, str(columns), "--format", "mxint8", "--axis", "0")
    assert along_axis0["error"] == along_rows["error"]
    # 3 x ceil(70 / 32) blocks either way; blocking the length-3 axis would give 70
    assert along_rows["groups"] == along_axis0["groups"] == 9
    assert along_axis0["block"]["axis"] == 0 and along_rows["block"]["axis"] == 1
    assert quantize_json(capsys, str(rows), "--format", "mxint8", "--axis", "0")["groups"] == 70
    assert main(["quantize", str(rows), "--format", "mxint8", "--axis", "2"]) == 2
    assert "axis 2 outside a 2-D tensor" in capsys.readouterr().err


def test_compare_over_block_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(path := tmp_path / "x.npy", np.ones((8, 64), np.float32))
    report = quantize_json(capsys, str(path), "--format", "nvfp4", "--compare")
    rows = report["rows"]
    assert report["skipped"] == {}
    names = ["mxint8", "mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4_e2m1",
             "nvfp4"]  # fmt: skip
    assert [r["format"] for r in rows] == names
    assert [r["bits"] for r in rows] == [8, 8, 8, 6, 6, 4, 4]
    # 512 elements at b bits + 16 E8M0 scales; NVFP4: 32 E4M3 scales + the FP32 tensor scale
    expected = [512 + 16, 512 + 16, 512 + 16, 384 + 16, 384 + 16, 256 + 16, 256 + 32 + 4]
    assert [r["total_bytes"] for r in rows] == expected
    assert all(r["error"]["mse"] == 0 for r in rows)  # 1.0 is exact in every format


def test_nan_blocks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A NaN gets its block a NaN scale (the spec's E8M0 0xFF); the error covers the other
    blocks. NVFP4 has no NaN code: --compare leaves it out and says why."""
    x = np.ones((2, 40), np.float32)
    x[0, 3] = np.nan
    np.save(path := tmp_path / "nan.npy", x)
    info = quantize_json(capsys, str(path), "--format", "mxfp4_e2m1")
    assert info["groups"] == 4 and info["block"]["nan_blocks"] == 1
    assert info["error"]["elements"] == 80 - 32 and info["error"]["mse"] == 0
    assert main(["quantize", str(path), "--format", "mxint8", "--compare"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("nvfp4: skipped (NVFP4 needs finite values")
    np.save(path, np.full(5, np.nan, np.float32))
    assert main(["quantize", str(path), "--format", "mxint8"]) == 0
    assert "error: undefined (every block has a NaN scale)" in capsys.readouterr().out


SCHEME_OPTIONS = [("--bits", "4"), ("--unsigned",), ("--symmetric",),
                  ("--granularity", "per-tensor"), ("--group-size", "32"),
                  ("--calibration", "minmax"), ("--percentile", "99.99")]  # fmt: skip


@pytest.mark.parametrize("option", SCHEME_OPTIONS, ids=lambda o: o[0])
def test_scheme_options_refused(
    option: tuple[str, ...], hand_block: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given explicitly, even at its default value, a scheme option is an error with a block
    format: it would be silently ignored."""
    assert main(["quantize", str(hand_block), "--format", "mxfp4_e2m1", *option]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"npusim: error: {option[0]} does not apply to the block-scaled format "
                   "mxfp4_e2m1 (its element format, block size and scales are the format's "
                   "own); drop them")  # fmt: skip


def test_every_refused_option_named(hand_block: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--bits", "8", "--symmetric", "--calibration", "mse"]
    assert main(["quantize", str(hand_block), "--format", "nvfp4", *args]) == 2
    assert "--bits, --symmetric, --calibration do not apply" in capsys.readouterr().err


def test_integer_defaults_unchanged(hand_block: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Scheme options default to None in argparse; the integer path still gets QuantSpec's
    defaults (int8 affine per-tensor min-max, percentile 99.99)."""
    info = quantize_json(capsys, str(hand_block))
    assert info["format"] == "int8 affine per_tensor minmax"
    assert info["spec"]["percentile"] == 99.99 and info["spec"]["axis"] == 0
