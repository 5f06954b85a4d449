"""What to quantize to: :class:`QuantSpec`, its enums, and the precision-name mapping.

A spec is validated once, at construction (strings become enums there); everything after
reads attributes. Integer range conventions follow PyTorch's observers
(``torch.ao.quantization.observer``): signed ``b``-bit integers span
``[-2**(b-1), 2**(b-1) - 1]``, unsigned ``[0, 2**b - 1]``; a symmetric unsigned scheme fixes
the zero point at ``2**(b-1)`` (128 for 8 bits, PyTorch's default for ``quint8``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from npusim.errors import QuantizationError
from npusim.precision import PRECISIONS, Kind

MIN_INT_BITS = 1
MAX_INT_BITS = 16


class Granularity(Enum):
    """How many (scale, zero point) pairs a tensor gets."""

    PER_TENSOR = "per_tensor"
    PER_CHANNEL = "per_channel"
    PER_GROUP = "per_group"


class Calibration(Enum):
    """How the clipping range of each quantization group is chosen."""

    MINMAX = "minmax"
    PERCENTILE = "percentile"
    ENTROPY = "entropy"
    MSE = "mse"


class Format(Enum):
    """Element format. ``INT`` uses ``bits``; the others have a fixed width. The block-scaled
    formats (OCP MX v1.0 and NVFP4, :mod:`npusim.quant.mx`) carry their own scales per block."""

    INT = "int"
    BINARY = "binary"
    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8_E4M3 = "fp8_e4m3"
    FP8_E5M2 = "fp8_e5m2"
    MXINT8 = "mxint8"
    MXFP8_E4M3 = "mxfp8_e4m3"
    MXFP8_E5M2 = "mxfp8_e5m2"
    MXFP6_E3M2 = "mxfp6_e3m2"
    MXFP6_E2M3 = "mxfp6_e2m3"
    MXFP4_E2M1 = "mxfp4_e2m1"
    NVFP4 = "nvfp4"

    @property
    def is_block(self) -> bool:
        """A block-scaled format (one shared scale per block of elements)."""
        return self.value.startswith(("mx", "nv"))

    @property
    def is_float(self) -> bool:
        """A plain float cast (no scale): not integer, binary or block-scaled."""
        return self not in (Format.INT, Format.BINARY) and not self.is_block


class ScaleFormat(Enum):
    """How a quantization group's scale is stored (see :mod:`npusim.quant.scales`)."""

    FP32 = "fp32"
    FP16 = "fp16"
    BF16 = "bf16"
    E8M0 = "e8m0"

    @property
    def bytes(self) -> int:
        """Stored bytes per scale."""
        return {"fp32": 4, "fp16": 2, "bf16": 2, "e8m0": 1}[self.value]


_FIXED_WIDTH_BITS = {
    Format.BINARY: 1,
    Format.FP32: 32,
    Format.FP16: 16,
    Format.BF16: 16,
    Format.FP8_E4M3: 8,
    Format.FP8_E5M2: 8,
    Format.MXINT8: 8,
    Format.MXFP8_E4M3: 8,
    Format.MXFP8_E5M2: 8,
    Format.MXFP6_E3M2: 6,
    Format.MXFP6_E2M3: 6,
    Format.MXFP4_E2M1: 4,
    Format.NVFP4: 4,
}


def parse_enum(enum_type: type[Enum], value: object, what: str) -> Enum:
    """Turn ``value`` (an enum member or its name; hyphens accepted) into ``enum_type``.

    Raises :class:`QuantizationError` listing the valid names.
    """
    if isinstance(value, enum_type):
        return value
    text = str(value).strip().lower().replace("-", "_")
    for member in enum_type:
        if member.value == text:
            return member
    valid = ", ".join(m.value for m in enum_type)
    raise QuantizationError(f"unknown {what} {value!r}; valid: {valid}")


@dataclass(frozen=True)
class QuantSpec:
    """A quantization recipe.

    ``bits``: integer width 1..16 (for fixed-width formats it is normalized to the format's
    width). ``signed``: integer range signed or unsigned. ``symmetric``: zero point fixed (0 or
    ``2**(bits-1)``) instead of fitted. ``granularity``: one scale per tensor, per index of
    ``axis``, or per ``group_size`` consecutive elements along ``axis``. ``calibration``: range
    choice; ``percentile`` is used by ``calibration="percentile"`` and must lie in (0, 100].
    ``fmt``: ``int``, ``binary`` (sign times alpha = mean|x|; calibration is not used), a
    float cast (``fp32``, ``fp16``, ``bf16``, ``fp8_e4m3``, ``fp8_e5m2``; no scale) or a
    block-scaled format (``mxint8``, ``mxfp8_e4m3``, ``mxfp8_e5m2``, ``mxfp6_e3m2``,
    ``mxfp6_e2m3``, ``mxfp4_e2m1``, ``nvfp4``: blocks along the last axis with the scales the
    format defines; granularity, calibration and ``scale_format`` are not used).
    ``scale_format``: how each scale is stored and hence rounded (:class:`ScaleFormat`).

    Raises :class:`QuantizationError` naming the bad field.
    """

    bits: int = 8
    signed: bool = True
    symmetric: bool = False
    granularity: Granularity | str = Granularity.PER_TENSOR
    axis: int = 0
    group_size: int | None = None
    calibration: Calibration | str = Calibration.MINMAX
    percentile: float = 99.99
    fmt: Format | str = Format.INT
    scale_format: ScaleFormat | str = ScaleFormat.FP32

    def __post_init__(self) -> None:
        fmt = parse_enum(Format, self.fmt, "format")
        object.__setattr__(self, "fmt", fmt)
        scale_format = parse_enum(ScaleFormat, self.scale_format, "scale format")
        object.__setattr__(self, "scale_format", scale_format)
        object.__setattr__(
            self, "granularity", parse_enum(Granularity, self.granularity, "granularity")
        )
        object.__setattr__(
            self, "calibration", parse_enum(Calibration, self.calibration, "calibration")
        )
        if fmt in _FIXED_WIDTH_BITS:
            object.__setattr__(self, "bits", _FIXED_WIDTH_BITS[fmt])
        elif isinstance(self.bits, bool) or not isinstance(self.bits, int):
            raise QuantizationError(f"bits must be an integer, got {self.bits!r}")
        elif not MIN_INT_BITS <= self.bits <= MAX_INT_BITS:
            raise QuantizationError(
                f"bits {self.bits} outside {MIN_INT_BITS}..{MAX_INT_BITS} for integer formats"
            )
        if not 0.0 < float(self.percentile) <= 100.0:
            raise QuantizationError(f"percentile {self.percentile} outside (0, 100]")
        if self.granularity is Granularity.PER_GROUP:
            if self.group_size is None or int(self.group_size) < 1:
                raise QuantizationError(
                    f"per_group granularity needs group_size >= 1, got {self.group_size!r}"
                )
        elif self.group_size is not None:
            raise QuantizationError("group_size is only meaningful with per_group granularity")

    @property
    def qmin(self) -> int:
        """Smallest stored integer (PyTorch convention, see module docstring)."""
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def qmax(self) -> int:
        """Largest stored integer."""
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def symmetric_zero_point(self) -> int:
        """The fixed zero point of the symmetric scheme: 0 signed, ``2**(bits-1)`` unsigned."""
        return 0 if self.signed else 1 << (self.bits - 1)

    @property
    def stores_zero_point(self) -> bool:
        """True when zero points are metadata (affine integer scheme)."""
        return self.fmt is Format.INT and not self.symmetric

    @property
    def has_scale(self) -> bool:
        """True when each quantization group carries a ``scale_format`` scale (integer and
        binary formats; block-scaled formats store their own, :mod:`npusim.quant.mx`)."""
        return not self.fmt.is_float and not self.fmt.is_block


def spec_for_precision(
    precision: str,
    *,
    symmetric: bool = False,
    granularity: str | Granularity = Granularity.PER_TENSOR,
    axis: int = 0,
    group_size: int | None = None,
    calibration: str | Calibration = Calibration.MINMAX,
    percentile: float = 99.99,
    scale_format: str | ScaleFormat = ScaleFormat.FP32,
) -> QuantSpec:
    """The :class:`QuantSpec` for a name of :data:`npusim.precision.PRECISIONS`.

    Integer precisions keep the scheme arguments; float precisions become plain casts,
    block-scaled ones (MX, NVFP4) their format and ``binary`` the sign/alpha format (their
    scheme arguments are not used). ``int32`` is an
    accumulator width outside the quantizer's 1..16 bits and raises :class:`QuantizationError`,
    as does an unknown name.
    """
    if precision not in PRECISIONS:
        raise QuantizationError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    info = PRECISIONS[precision]
    if info.kind in (Kind.FLOAT, Kind.BLOCK):
        return QuantSpec(fmt=precision)
    fmt = Format.BINARY if info.kind is Kind.BINARY else Format.INT
    return QuantSpec(
        bits=info.bits,
        signed=info.signed,
        symmetric=symmetric,
        granularity=granularity,
        axis=axis,
        group_size=group_size,
        calibration=calibration,
        percentile=percentile,
        fmt=fmt,
        scale_format=scale_format,
    )
