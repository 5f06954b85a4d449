"""``npusim quantize``: quantize a .npy tensor and print scales, bytes and the error table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from npusim.errors import QuantizationError
from npusim.quant import QuantSpec, quantize
from npusim.quant.summary import compare_bit_widths, describe
from npusim.report.unit_text import compare_text, quantize_text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "quantize",
        description=(
            "Quantize TENSOR.npy and print the scale summary, bytes before/after (payload + "
            "scales/zero points) and the error (MSE, SQNR, max |error|, rounding vs clipping, "
            "fraction clipped). --compare prints one row per bit width 32, 16, 8, 4, 2, 1."
        ),
    )
    p.add_argument("tensor", metavar="TENSOR.npy", help="numpy .npy file")
    p.add_argument("--bits", type=int, default=8, help="integer bits 1..16 (default 8)")
    p.add_argument("--unsigned", action="store_true", help="unsigned integer range")
    p.add_argument("--symmetric", action="store_true", help="symmetric (fixed zero point)")
    p.add_argument("--granularity", default="per_tensor",
                   help="per-tensor, per-channel or per-group")  # fmt: skip
    p.add_argument("--axis", type=int, default=0, help="channel/group axis (default 0)")
    p.add_argument("--group-size", type=int, default=None, help="per-group size")
    p.add_argument("--calibration", default="minmax",
                   help="minmax, percentile, entropy or mse")  # fmt: skip
    p.add_argument("--percentile", type=float, default=99.99, help="percentile (0, 100]")
    p.add_argument("--format", default="int",
                   help="int, binary, fp32, fp16, bf16, fp8_e4m3 or fp8_e5m2")  # fmt: skip
    p.add_argument("--compare", action="store_true", help="table over bit widths 32..1")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=run)


def _load(path: str) -> np.ndarray:
    """The array of the .npy file ``path``; anything else is a :class:`QuantizationError`.

    Memory-mapped first, so a header that promises more data than the file holds is refused
    before anything is allocated; a FIFO or device (which could block or never end) too.
    """
    try:
        if not Path(path).is_file():
            raise QuantizationError(f"cannot read tensor {path}: not a regular .npy file")
        loaded = np.load(path, mmap_mode="r", allow_pickle=False)
        if not isinstance(loaded, np.ndarray):
            loaded.close()
            raise QuantizationError(f"cannot read tensor {path}: a .npz archive, not a .npy "
                                    "array")  # fmt: skip
        return np.array(loaded)
    except QuantizationError:
        raise
    except Exception as err:  # numpy's reader raises many kinds on damaged bytes
        reason = str(err) or type(err).__name__  # (EOFError, TokenError, SyntaxError, ...)
        raise QuantizationError(f"cannot read tensor {path}: {reason}") from None


def _spec(args: argparse.Namespace) -> QuantSpec:
    return QuantSpec(
        bits=args.bits,
        signed=not args.unsigned,
        symmetric=args.symmetric,
        granularity=args.granularity,
        axis=args.axis,
        group_size=args.group_size,
        calibration=args.calibration,
        percentile=args.percentile,
        fmt=args.format,
    )


def run(args: argparse.Namespace) -> int:
    x = _load(args.tensor)
    spec = _spec(args)
    if args.compare:
        rows = compare_bit_widths(x, spec)
        text = compare_text(args.tensor, x, rows)
        payload: object = {"tensor": args.tensor, "shape": list(x.shape), "rows": rows}
    else:
        info = describe(quantize(x, spec), int(x.nbytes))
        text = quantize_text(args.tensor, x, info)
        payload = {"tensor": args.tensor, "shape": list(x.shape), **info}
    print(json.dumps(payload, indent=2) if args.json else text)
    return 0
