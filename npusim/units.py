"""Human-readable quantities: ``"4 MiB"``, ``"6400 MT/s"``, ``"51.2 GB/s"``, ``"18.75 ns"``.

Every quantity is stored in SI base units (bytes, hertz, transfers/s, bytes/s, seconds, joules,
watts, square metres, bits) as an ``int`` when it is a whole number of a countable unit (bytes,
bits) and a ``float`` otherwise. Binary prefixes (KiB, MiB, GiB) are powers of 1024, decimal
prefixes (kB, MB, GB, GB/s) powers of 1000, as in IEC 80000-13 and DRAM datasheets.
"""

from __future__ import annotations

import math
import re
from enum import Enum


class Dimension(Enum):
    """What a quantity measures; each has one SI base unit."""

    BYTES = "bytes"
    BITS = "bits"
    FREQUENCY = "Hz"
    DATA_RATE = "transfers/s"
    BANDWIDTH = "bytes/s"
    TIME = "s"
    ENERGY = "J"
    POWER = "W"
    AREA = "m^2"


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_DECIMAL = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_SMALL = {"": 1.0, "m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}


def _table() -> dict[str, tuple[Dimension, float]]:
    units: dict[str, tuple[Dimension, float]] = {}
    for prefix, factor in {**_DECIMAL, **_BINARY}.items():
        units[f"{prefix}B"] = (Dimension.BYTES, factor)
        units[f"{prefix}b"] = (Dimension.BITS, factor)
        units[f"{prefix}B/s"] = (Dimension.BANDWIDTH, factor)
    for prefix, factor in _DECIMAL.items():
        units[f"{prefix}Hz"] = (Dimension.FREQUENCY, factor)
        units[f"{prefix}T/s"] = (Dimension.DATA_RATE, factor)
        units[f"{prefix}W"] = (Dimension.POWER, factor)
        units[f"{prefix}J"] = (Dimension.ENERGY, factor)
    units["MHz"] = (Dimension.FREQUENCY, 1e6)
    units["kHz"] = (Dimension.FREQUENCY, 1e3)
    units["bytes"] = (Dimension.BYTES, 1.0)
    units["bits"] = (Dimension.BITS, 1.0)
    units["MT/s"] = (Dimension.DATA_RATE, 1e6)
    units["GT/s"] = (Dimension.DATA_RATE, 1e9)
    units["Gbps"] = (Dimension.BANDWIDTH, 1e9 / 8)
    for prefix, factor in _SMALL.items():
        units[f"{prefix}s"] = (Dimension.TIME, factor)
        units[f"{prefix}J"] = (Dimension.ENERGY, factor)
        units[f"{prefix}W"] = (Dimension.POWER, factor)
    units["um^2"] = (Dimension.AREA, 1e-12)
    units["µm^2"] = (Dimension.AREA, 1e-12)
    units["mm^2"] = (Dimension.AREA, 1e-6)
    units["m^2"] = (Dimension.AREA, 1.0)
    return units


UNITS: dict[str, tuple[Dimension, float]] = _table()
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\s\d].*?)?\s*$")
_WHOLE = (Dimension.BYTES, Dimension.BITS)


def units_for(dimension: Dimension) -> list[str]:
    """Unit strings accepted for ``dimension`` (for error messages and the JSON schema)."""
    return [u for u, (d, _) in UNITS.items() if d is dimension]


def parse_quantity(value: object, dimension: Dimension) -> int | float:
    """Parse ``value`` (a number in SI base units, or ``"<number> <unit>"``) into SI units.

    Raises ``ValueError`` with a message naming the expected dimension when the string has a
    unit of another dimension, an unknown unit, or is not a finite number. Byte and bit counts
    must come out whole and are returned as ``int``.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a {dimension.value} quantity, got a boolean")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        number = _parse_string(value, dimension)
    else:
        raise ValueError(f"expected a {dimension.value} quantity, got {type(value).__name__}")
    if not math.isfinite(number):
        raise ValueError(f"expected a finite {dimension.value} quantity, got {value!r}")
    if dimension in _WHOLE:
        if abs(number - round(number)) > 1e-9 * max(1.0, abs(number)):
            raise ValueError(f"expected a whole number of {dimension.value}, got {value!r}")
        return round(number)
    return number


def _parse_string(text: str, dimension: Dimension) -> float:
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(
            f"expected a number with a {dimension.value} unit "
            f"(e.g. {_example(dimension)}), got {text!r}"
        )
    number, unit = float(match.group(1)), match.group(2)
    if unit is None:
        return number
    if unit not in UNITS:
        raise ValueError(
            f"unknown unit {unit!r} in {text!r}; {dimension.value} units are "
            + ", ".join(units_for(dimension)[:8])
        )
    unit_dimension, factor = UNITS[unit]
    if unit_dimension is not dimension:
        raise ValueError(
            f"{text!r} is a {unit_dimension.value} quantity, expected {dimension.value} "
            f"(e.g. {_example(dimension)})"
        )
    return number * factor


_EXAMPLES = {
    Dimension.BYTES: "'4 MiB'",
    Dimension.BITS: "'8 Gb'",
    Dimension.FREQUENCY: "'1 GHz'",
    Dimension.DATA_RATE: "'6400 MT/s'",
    Dimension.BANDWIDTH: "'51.2 GB/s'",
    Dimension.TIME: "'18.75 ns'",
    Dimension.ENERGY: "'0.3 pJ'",
    Dimension.POWER: "'50 mW'",
    Dimension.AREA: "'420 um^2'",
}


def _example(dimension: Dimension) -> str:
    return _EXAMPLES[dimension]


def format_bytes(n_bytes: float) -> str:
    """``1536`` -> ``'1.50 KiB'``: binary prefixes, for tables."""
    value = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")
