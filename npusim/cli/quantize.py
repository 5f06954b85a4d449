"""``npusim quantize``: quantize a .npy tensor and print scales, bytes and the error table."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from npusim.errors import QuantizationError
from npusim.quant import QuantSpec, quantize
from npusim.quant.spec import Format, parse_enum
from npusim.quant.summary import (
    BLOCK_FORMATS,
    block_quantize_along,
    compare_bit_widths,
    compare_block_formats,
    describe,
    describe_block,
)
from npusim.report.unit_text import compare_text, quantize_text


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "quantize",
        description=(
            "Quantize TENSOR.npy and print the scale summary, bytes before/after (payload + "
            "scales/zero points) and the error (MSE, SQNR, max |error|, rounding vs clipping, "
            "fraction clipped). --compare prints one row per bit width 32, 16, 8, 4, 2, 1. "
            "Block-scaled formats (OCP MX, NVFP4) block --axis (default the last) and carry "
            "their own scales; --compare then prints one row per block format."
        ),
    )
    p.add_argument("tensor", metavar="TENSOR.npy", help="numpy .npy file")
    # Scheme options default to None so that one given with a block format is told apart
    # from its default (and refused); _spec fills in the integer defaults.
    p.add_argument("--bits", type=int, default=None, help="integer bits 1..16 (default 8)")
    p.add_argument("--unsigned", action="store_true", default=None,
                   help="unsigned integer range")  # fmt: skip
    p.add_argument("--symmetric", action="store_true", default=None,
                   help="symmetric (fixed zero point)")  # fmt: skip
    p.add_argument("--granularity", default=None,
                   help="per-tensor (default), per-channel or per-group")  # fmt: skip
    p.add_argument("--axis", type=int, default=None,
                   help="channel/group axis (default 0); block formats: the blocked axis "
                        "(default the last)")  # fmt: skip
    p.add_argument("--group-size", type=int, default=None, help="per-group size")
    p.add_argument("--calibration", default=None,
                   help="minmax (default), percentile, entropy or mse")  # fmt: skip
    p.add_argument("--percentile", type=float, default=None,
                   help="percentile (0, 100], default 99.99")  # fmt: skip
    p.add_argument("--format", default="int",
                   help="int, binary, fp32, fp16, bf16, fp8_e4m3, fp8_e5m2, or a block-scaled "
                        f"format: {', '.join(f.value for f in BLOCK_FORMATS)}")  # fmt: skip
    p.add_argument("--compare", action="store_true",
                   help="table over bit widths 32..1 (block formats: every one)")  # fmt: skip
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


SCHEME_OPTIONS = ("bits", "unsigned", "symmetric", "granularity", "group_size", "calibration",
                  "percentile")  # fmt: skip
"""Options of the integer/binary scheme, which a block-scaled format fixes itself."""


def _spec(args: argparse.Namespace) -> QuantSpec:
    defaults = QuantSpec()
    return QuantSpec(
        bits=defaults.bits if args.bits is None else args.bits,
        signed=not args.unsigned,
        symmetric=bool(args.symmetric),
        granularity=args.granularity or defaults.granularity,
        axis=defaults.axis if args.axis is None else args.axis,
        group_size=args.group_size,
        calibration=args.calibration or defaults.calibration,
        percentile=defaults.percentile if args.percentile is None else args.percentile,
        fmt=args.format,
    )


def _block_format(args: argparse.Namespace) -> str | None:
    """The block-scaled format's name, or None for the other formats; refuses a scheme option
    given with a block format (:class:`QuantizationError`), which would otherwise be
    silently ignored."""
    fmt = parse_enum(Format, args.format, "format")
    if not fmt.is_block:
        return None
    given = [f"--{name.replace('_', '-')}" for name in SCHEME_OPTIONS
             if getattr(args, name) is not None]  # fmt: skip
    if given:
        raise QuantizationError(
            f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply to the "
            f"block-scaled format {fmt.value} (its element format, block size and scales are "
            "the format's own); drop them"
        )
    return fmt.value


def run(args: argparse.Namespace) -> int:
    x = _load(args.tensor)
    block_format = _block_format(args)
    header = {"tensor": args.tensor, "shape": list(x.shape)}
    if block_format is not None:
        axis = -1 if args.axis is None else args.axis
        if args.compare:
            rows, skipped = compare_block_formats(x, axis)
            text = compare_text(args.tensor, x, rows)
            text += "".join(f"\n{name}: skipped ({why})" for name, why in skipped.items())
            payload: object = {**header, "rows": rows, "skipped": skipped}
        else:
            info = describe_block(block_quantize_along(x, block_format, axis), x.nbytes, axis)
            text = quantize_text(args.tensor, x, info)
            payload = {**header, **info}
    elif args.compare:
        rows = compare_bit_widths(x, _spec(args))
        text = compare_text(args.tensor, x, rows)
        payload = {**header, "rows": rows}
    else:
        info = describe(quantize(x, _spec(args)), int(x.nbytes))
        text = quantize_text(args.tensor, x, info)
        payload = {**header, **info}
    print(json.dumps(payload, indent=2) if args.json else text)
    return 0
