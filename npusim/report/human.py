"""SI quantities as people read them: ``4194304 B`` -> ``4 MiB``, ``1e9 Hz`` -> ``1 GHz``.

A resolved scenario stores quantities as ``"<number> <SI unit>"`` strings (the form that loads
back exactly); tables, ``npusim list --details`` and the HTML report show them through
:func:`human_quantity`, which picks the prefix that leaves 1 <= number < 1000 (binary prefixes
for bytes) and keeps four significant digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_QUANTITY = re.compile(r"^\s*([-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*(B|Hz|s|J|W|m\^2|B/s|T/s|b)\s*$")
_DECIMAL = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"),
            (1e-6, "u"), (1e-9, "n"), (1e-12, "p"))  # fmt: skip
_BINARY = ((2**40, "Ti"), (2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki"), (1, ""))


def _number(value: float) -> str:
    return f"{value:.4g}"


def human_quantity(text: str) -> str:
    """``"4194304 B"`` -> ``"4 MiB"``, ``"1000000000.0 Hz"`` -> ``"1 GHz"``, ``"5e-10 m^2"``
    -> ``"500 um^2"``; any other string comes back unchanged."""
    match = _QUANTITY.match(text) if isinstance(text, str) else None
    if match is None:
        return text
    value, unit = float(match.group(1)), match.group(2)
    if value == 0:
        return f"0 {unit}"
    if unit in ("B", "b"):  # bytes and DRAM die bits: binary prefixes
        factor, prefix = next((f, p) for f, p in _BINARY if abs(value) >= f or f == 1)
        return f"{_number(value / factor)} {prefix}{unit}"
    if unit == "m^2":
        for factor, prefix in ((1e-6, "mm"), (1e-12, "um")):
            if abs(value) >= factor:
                return f"{_number(value / factor)} {prefix}^2"
        return f"{_number(value / 1e-12)} um^2"
    factor, prefix = next(((f, p) for f, p in _DECIMAL if abs(value) >= f), _DECIMAL[-1])
    return f"{_number(value / factor)} {prefix}{unit}"


def human_tree(tree: Any) -> Any:
    """``tree`` (nested mappings and lists) with every quantity string made human."""
    if isinstance(tree, Mapping):
        return {key: human_tree(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [human_tree(value) for value in tree]
    return human_quantity(tree) if isinstance(tree, str) else tree
