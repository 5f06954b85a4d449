"""Declared parameter constraints: one :class:`Field` per scenario key.

A field knows its type, unit, range and default, converts a raw YAML value into the stored SI
value, and describes itself for error messages and the JSON schema. Validation collects every
problem instead of stopping at the first, so a user fixes a file in one pass.
"""

from __future__ import annotations

import difflib
import math
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from npusim.units import Dimension, parse_quantity, units_for


class FieldError(ValueError):
    """A raw value does not satisfy its field; the message says what was expected."""


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxlist, _SHORT.maxdict, _SHORT.maxstring, _SHORT.maxother = 2, 4, 4, 60, 60


def show(value: object) -> str:
    """``repr`` bounded in depth and length: user input echoed in an error message must not
    be huge (a YAML alias can make a value with billions of shared elements)."""
    return _SHORT.repr(value)


def suggest(word: str, candidates: list[str] | tuple[str, ...]) -> str:
    """``" (did you mean 'x'?)"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_power_of_two(value: float) -> bool:
    return value >= 1 and float(value).is_integer() and (int(value) & (int(value) - 1)) == 0


@dataclass(frozen=True)
class Field:
    """One scenario key.

    ``kind`` is ``int``, ``float``, ``bool``, ``str``, ``choice``, ``quantity`` or ``map``.
    ``attr`` is the stored attribute name (with its unit suffix, e.g. ``capacity_bytes`` for
    the YAML key ``capacity``); ``bare_unit`` names the unit a bare number is read in for
    quantities (``None``: a unit string is required). ``choices`` may be a callable so unit
    packages own their registries. A ``map`` field holds ``value`` fields under free or
    ``choices``-restricted keys.
    """

    kind: str
    default: Any
    doc: str
    attr: str | None = None
    dimension: Dimension | None = None
    bare_unit: str | None = None
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    power_of_two: bool = False
    nullable: bool = False
    value: Field | None = None
    section: Section | None = None

    def choice_list(self) -> tuple[str, ...]:
        if self.choices is None:
            return ()
        return self.choices() if callable(self.choices) else self.choices

    def expected(self) -> str:
        """Human description of what the field accepts, for error messages."""
        if self.kind == "quantity":
            assert self.dimension is not None
            text = f"a {self.dimension.value} quantity like {_unit_example(self.dimension)}"
            if self.bare_unit:
                text += f" (bare numbers in {self.bare_unit})"
        elif self.kind == "choice":
            text = "one of " + ", ".join(self.choice_list())
        elif self.kind == "map":
            text = "a mapping"
        else:
            text = {"int": "an integer", "float": "a number", "bool": "true or false"}.get(
                self.kind, "a string"
            )
        text += self._range_text()
        return text + (" or null" if self.nullable else "")

    def _range_text(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.power_of_two:
            parts.append("a power of two")
        return f" ({', '.join(parts)})" if parts else ""

    def convert(self, raw: Any) -> Any:
        """Raw YAML value -> stored value; raises :class:`FieldError` saying what was wrong."""
        if raw is None:
            if self.nullable:
                return None
            raise FieldError(f"expected {self.expected()}, got null")
        value = self._convert_kind(raw)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_range(value, raw)
        return value

    def _convert_kind(self, raw: Any) -> Any:
        got = f"got {show(raw)}"
        if self.kind == "int":
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise FieldError(f"expected {self.expected()}, {got}")
            return raw
        if self.kind == "float":
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
                raise FieldError(f"expected {self.expected()}, {got}")
            return float(raw)
        if self.kind == "bool":
            if not isinstance(raw, bool):
                raise FieldError(f"expected {self.expected()}, {got}")
            return raw
        if self.kind == "str":
            if not isinstance(raw, str):
                raise FieldError(f"expected {self.expected()}, {got}")
            return raw
        if self.kind == "choice":
            return self._convert_choice(raw)
        if self.kind == "quantity":
            return self._convert_quantity(raw)
        raise AssertionError(f"map fields are converted by the validator, not {self.kind}")

    def _convert_choice(self, raw: Any) -> str:
        choices = self.choice_list()
        if not isinstance(raw, (str, int)) or isinstance(raw, bool) or str(raw) not in choices:
            hint = suggest(str(raw), choices) if isinstance(raw, str) else ""
            raise FieldError(f"expected {self.expected()}, got {show(raw)}{hint}")
        return str(raw)

    def _convert_quantity(self, raw: Any) -> int | float:
        assert self.dimension is not None
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and self.bare_unit is None:
            raise FieldError(
                f"expected {self.expected()}, got the bare number {show(raw)}: add a unit"
            )
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and self.bare_unit:
            raw = f"{raw} {self.bare_unit}"
        try:
            return parse_quantity(raw, self.dimension)
        except ValueError as err:
            raise FieldError(str(err)) from None

    def _check_range(self, value: float, raw: Any) -> None:
        low = self.minimum
        bad = (
            (low is not None and (value <= low if self.exclusive_minimum else value < low))
            or (self.maximum is not None and value > self.maximum)
            or (self.power_of_two and not _is_power_of_two(value))
        )
        if bad:
            raise FieldError(f"expected {self.expected()}, got {show(raw)}")


def _unit_example(dimension: Dimension) -> str:
    examples = {
        Dimension.BYTES: "'4 MiB'",
        Dimension.FREQUENCY: "'1 GHz'",
        Dimension.TIME: "'18.75 ns'",
        Dimension.ENERGY: "'0.3 pJ'",
        Dimension.POWER: "'50 mW'",
        Dimension.AREA: "'420 um^2'",
        Dimension.BANDWIDTH: "'51.2 GB/s'",
        Dimension.DATA_RATE: "'6400 MT/s'",
    }
    return examples.get(dimension, repr(units_for(dimension)[0]))


Section = Mapping[str, "Field | Section"]


_SAFE_NAME = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*")


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot name an output folder, or None: names become folder names, so
    only letters, digits, ``_ . + -`` (not leading ``.``) are allowed."""
    if isinstance(name, str) and _SAFE_NAME.fullmatch(name) and ".." not in name:
        return None
    return f"expected letters, digits, '_', '.', '+' or '-' (it names output folders), got {name!r}"
