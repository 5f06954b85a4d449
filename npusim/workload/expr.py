"""A tiny, safe evaluator for the integer expressions of workload parameters.

A layer field may be ``"seq_len * batch"`` or ``"kv_len + 1"``: integers, parameter names,
``+ - * //``, unary minus and parentheses, nothing else. The text is parsed with :mod:`ast`
and walked node by node; no ``eval``, no attribute access, no calls.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping

from npusim.config.fields import suggest

_BINARY: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
}

MAX_EXPRESSION_CHARS = 200


class ExpressionError(ValueError):
    """An expression is malformed, uses something not allowed or an unknown name."""


def evaluate(text: str, names: Mapping[str, int]) -> int:
    """The integer value of ``text`` with ``names`` bound; raises :class:`ExpressionError`."""
    if len(text) > MAX_EXPRESSION_CHARS:
        raise ExpressionError(f"expression longer than {MAX_EXPRESSION_CHARS} characters")
    tree = _parse(text.strip())
    if tree is None:
        raise ExpressionError(f"cannot parse expression {text!r}")
    return _value(tree.body, names, text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> ast.Expression | None:
    """The parsed expression, or None; cached, as zoo files repeat the same few expressions
    in every block (the tree is only read, never changed)."""
    try:
        return ast.parse(text, mode="eval")
    except (SyntaxError, ValueError):  # ValueError: null bytes in the text
        return None


def _value(node: ast.AST, names: Mapping[str, int], text: str) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        if node.id not in names:
            hint = suggest(node.id, sorted(names))
            known = ", ".join(sorted(names)) or "none declared"
            raise ExpressionError(f"unknown parameter {node.id!r}{hint} (parameters: {known})")
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_value(node.operand, names, text)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left, names, text), _value(node.right, names, text)
        if isinstance(node.op, ast.FloorDiv) and right == 0:
            raise ExpressionError(f"division by zero in {text!r}")
        return _BINARY[type(node.op)](left, right)
    raise ExpressionError(
        f"{text!r}: only integers, parameter names, + - * // and parentheses are allowed"
    )


def names_used(text: str) -> set[str]:
    """Parameter names an expression mentions (empty when it does not parse)."""
    tree = _parse(text.strip())
    if tree is None:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
