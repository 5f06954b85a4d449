"""Strict YAML reading: duplicate keys are errors and every key remembers its line.

PyYAML silently keeps the last of two equal keys; a scenario with ``nRCD`` twice would then
run with a value the user may not have meant, so duplicates are reported as problems.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import yaml

from npusim.errors import ConfigError, Problem


class LineDict(dict):  # type: ignore[type-arg]
    """A dict that remembers the 1-based source line of each key (``key_lines``)."""

    key_lines: dict[str, int]


# The C parser (libyaml) when PyYAML has it: parsing is most of a large file's load time.
_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        self.flatten_mapping(node)
        result = LineDict()
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            result[str(key)] = self.construct_object(value_node, deep=True)
            result.key_lines[str(key)] = key_node.start_mark.line + 1
        return result


def _duplicates(
    node: yaml.Node,
    path: str,
    source: str,
    seen: set[int] | None = None,
    ancestors: frozenset[int] = frozenset(),
) -> list[Problem]:
    """Every duplicate key below ``node``, with its dotted path and line; a node that
    contains itself through an alias is a problem too. A node reached again through an alias
    is checked once (aliases share nodes, so an "alias bomb" costs linear time)."""
    seen = set() if seen is None else seen
    if id(node) in ancestors:
        return [Problem(path, "recursive YAML alias (a value that contains itself)", source,
                        node.start_mark.line + 1)]  # fmt: skip
    if id(node) in seen:
        return []
    seen.add(id(node))
    inside = ancestors | {id(node)}
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        first_lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            key_path = f"{path}.{key}" if path else key
            line = key_node.start_mark.line + 1
            if key in first_lines:
                message = f"duplicate key (first defined on line {first_lines[key]})"
                problems.append(Problem(key_path, message, source, line))
            else:
                first_lines[key] = line
            problems += _duplicates(value_node, key_path, source, seen, inside)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicates(item, f"{path}[{index}]", source, seen, inside)
    return problems


# YAML 1.2 booleans only: YAML 1.1 would read `refresh: off` or `page_policy: on` as a
# boolean, so a valid choice name would be rejected as "got False".
_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _StrictLoader.construct_mapping,  # type: ignore[arg-type]
)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text strictly; raises :class:`ConfigError` on syntax errors and duplicates."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        problems = _duplicates(node, "", source)
        if problems:
            raise ConfigError(problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(Problem("", f"YAML syntax error: {err.problem}", source, line)) from None
    except yaml.YAMLError as err:
        raise ConfigError(Problem("", f"YAML error: {err}", source)) from None
    except ValueError as err:  # a value YAML cannot build: an int of 5,000 digits, 2020-13-45
        reason = str(err).split(";")[0][:160]
        raise ConfigError(Problem("", f"unreadable YAML value: {reason}", source)) from None
    finally:
        loader.dispose()
    return data


def read_yaml(path: Path, before_key: str | None = None) -> Any:
    """Read and strictly parse a YAML file; a missing or unreadable file is a ConfigError.

    ``before_key``: parse only the text before that top-level key's line (a cheap look at a
    large file's header, such as a workload's name and description before its layers)."""
    text = _read_text(path)
    if before_key is not None:
        cut = re.search(rf"^{re.escape(before_key)}:", text, flags=re.MULTILINE)
        text = text[: cut.start()] if cut else text
    return parse_yaml(text, str(path))


def _read_text(path: Path) -> str:
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # a FIFO would block, /dev/zero never end
            raise ConfigError(Problem("", "not a regular file", str(path)))
        return path.read_text()
    except FileNotFoundError:
        raise ConfigError(Problem("", "file not found", str(path))) from None
    except OSError as err:
        raise ConfigError(Problem("", f"cannot read file: {err.strerror}", str(path))) from None
    except UnicodeDecodeError:
        raise ConfigError(Problem("", "not a UTF-8 text file", str(path))) from None


def key_line(mapping: Any, key: str) -> int | None:
    """Source line of ``key`` in a mapping read by this module, or None."""
    lines = getattr(mapping, "key_lines", None)
    return lines.get(key) if lines else None
