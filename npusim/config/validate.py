"""Walk raw YAML against the declared schema, converting values and collecting problems."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from npusim.config.fields import Field, FieldError, Section, show, suggest
from npusim.config.schema import RETIRED_KEYS
from npusim.errors import Problem


@dataclass
class Locator:
    """Maps dotted key paths to (file, line) for error messages."""

    default_file: str | None = None
    lines: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    def problem(self, path: str, message: str) -> Problem:
        file, line = self.lines.get(path, (self.default_file, None))
        if path not in self.lines:
            parent = path.rsplit(".", 1)[0] if "." in path else ""
            file, line = self.lines.get(parent, (self.default_file, None))
        return Problem(path, message, file, line)


def validate_section(
    raw: Any,
    section: Section,
    path: str,
    where: Locator,
    problems: list[Problem],
    partial: bool = False,
) -> dict[str, Any]:
    """Convert ``raw`` (a mapping) by ``section``; returns ``{attr: value}`` with defaults filled
    (``partial``: only the keys given, for overrides).

    Every unknown key, wrong type, unit or range is appended to ``problems``; the returned
    dict then holds defaults where values were bad, so later checks can still run.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.append(where.problem(path, f"expected a mapping, got {show(raw)}"))
        raw = {}
    for key in raw:
        if key not in section:
            key_path = f"{path}.{key}" if path else str(key)
            if key_path in RETIRED_KEYS:
                advice, recorded = RETIRED_KEYS[key_path]
                if raw[key] != recorded:  # the recorded value changed nothing: let it pass
                    problems.append(where.problem(key_path, advice))
                continue
            hint = suggest(str(key), list(section))
            problems.append(where.problem(key_path, f"unknown key{hint}"))
    out: dict[str, Any] = {}
    for key, spec in section.items():
        key_path = f"{path}.{key}" if path else key
        if partial and key not in raw:
            continue
        if isinstance(spec, Field):
            value = raw.get(key, spec.default)
            out[spec.attr or key] = _convert(value, spec, key_path, where, problems)
        else:
            out[key] = validate_section(raw.get(key), spec, key_path, where, problems)
    return out


def _convert(raw: Any, spec: Field, path: str, where: Locator, problems: list[Problem]) -> Any:
    if spec.kind == "map":
        return _convert_map(raw, spec, path, where, problems)
    try:
        return spec.convert(raw)
    except FieldError as err:
        problems.append(where.problem(path, str(err)))
        return None if spec.default is None else spec.convert(spec.default)


def _convert_map(
    raw: Any, spec: Field, path: str, where: Locator, problems: list[Problem]
) -> dict[str, Any]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        problems.append(where.problem(path, f"expected a mapping, got {show(raw)}"))
        return {}
    allowed = spec.choice_list()
    out: dict[str, Any] = {}
    for key, value in raw.items():
        key_path = f"{path}.{key}"
        if spec.section is not None:
            out[str(key)] = validate_section(value, spec.section, key_path, where, problems,
                                             partial=True)  # fmt: skip
            continue
        assert spec.value is not None
        if allowed and key not in allowed:
            hint = suggest(str(key), allowed)
            problems.append(
                where.problem(key_path, f"unknown key{hint}; valid: {', '.join(allowed)}")
            )
            continue
        try:
            out[str(key)] = spec.value.convert(value)
        except FieldError as err:
            problems.append(where.problem(key_path, str(err)))
    return out


def record_lines(
    raw: Any,
    file: str,
    path: str,
    lines: dict[str, tuple[str, int | None]],
    seen: set[int] | None = None,
) -> None:
    """Record the source line of every key below ``raw`` (a mapping read by ``yamlio``).

    A mapping shared through YAML aliases is recorded under its first path only.
    """
    seen = set() if seen is None else seen
    if not isinstance(raw, Mapping) or id(raw) in seen:
        return
    seen.add(id(raw))
    key_lines = getattr(raw, "key_lines", {})
    for key, value in raw.items():
        key_path = f"{path}.{key}" if path else str(key)
        lines[key_path] = (file, key_lines.get(key))
        record_lines(value, file, key_path, lines, seen)
