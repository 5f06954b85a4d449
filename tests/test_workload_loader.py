"""Workload YAML: parameters, expressions, overrides, batch, new layer fields, errors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.errors import ConfigError
from npusim.workload import (
    ActivationFunction,
    Elementwise,
    Linear,
    Matmul,
    Pool2d,
    PoolMode,
    bundled_workloads,
    load_workload,
)
from npusim.workload.expr import ExpressionError, evaluate

ATTENTION = """\
name: attn
params: {seq_len: 128, kv_len: 1024}
layers:
  - {name: q, type: linear, in_features: 768, out_features: 768, tokens: seq_len}
  - {name: qk, type: matmul, batch: 12, m: 1, k: 64, n: "kv_len + 1"}
  - {name: sm, type: softmax, batch: 12, rows: seq_len, length: "seq_len // 2 * 2"}
  - {name: gelu, type: activation, function: gelu, elements: "seq_len * (3072 - 0)"}
  - {name: pool, type: pool2d, mode: avg, in_h: 7, in_w: 7, channels: 8, global_pool: true}
  - {name: add, type: elementwise, op: mul, elements: 4, relu: true}
"""


def write(tmp_path: Path, text: str, name: str = "w.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_workload(path, **kwargs)  # type: ignore[arg-type]
    return [str(p) for p in err.value.problems]


def test_params_and_expressions(tmp_path: Path) -> None:
    w = load_workload(write(tmp_path, ATTENTION))
    assert w.params == {"batch": 1, "seq_len": 128, "kv_len": 1024}
    q, qk, sm, gelu, pool, add = w.layers
    assert q == Linear("q", 768, 768, tokens=128)
    assert qk == Matmul("qk", 1, 64, 1025, batch=12)
    assert (sm.rows, sm.length) == (128, 128)
    assert gelu.elements == 128 * 3072 and gelu.function is ActivationFunction.GELU
    assert pool == Pool2d("pool", 7, 7, 8, PoolMode.AVG, global_pool=True)
    assert isinstance(add, Elementwise) and add.relu and add.op.value == "mul"
    assert w.macs == 128 * 768 * 768 + 12 * 64 * 1025  # vector layers add no MACs
    assert w.parameters == 768 * 768  # and no parameters


def test_overrides_and_batch(tmp_path: Path) -> None:
    path = write(tmp_path, ATTENTION)
    w = load_workload(path, params={"seq_len": 64, "kv_len": 0, "batch": 4})
    q, qk, sm, *_ = w.layers
    assert w.params == {"batch": 4, "seq_len": 64, "kv_len": 0}
    # batch multiplies linear tokens and every other layer's batch
    assert (q.tokens, qk.batch, qk.n, sm.batch, sm.rows) == (256, 48, 1, 48, 64)


def test_top_level_batch_keeps_working() -> None:
    w = load_workload("mlp", params={"batch": 8})
    assert [layer.tokens for layer in w.layers] == [8, 8, 8]
    assert load_workload("resnet50", params={"batch": 2}).macs == 2 * load_workload("resnet50").macs


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seqlen": 4}, "params.seqlen: unknown workload parameter (did you mean 'seq_len'?)"),
        ({"seq_len": -1}, "params.seq_len: expected an integer from 0 to 2147483647, got -1"),
        ({"batch": 0}, "params.batch: expected an integer from 1 to 2147483647, got 0"),
        ({"kv_len": 2.5}, "params.kv_len: expected an integer from 0 to 2147483647, got 2.5"),
    ],
)
def test_bad_overrides(tmp_path: Path, overrides: dict[str, object], message: str) -> None:
    assert any(message in p for p in problems(write(tmp_path, ATTENTION), params=overrides))


BAD_LAYERS = [
    ("{name: a, type: matmul, m: seqlen, k: 1, n: 1}",
     "layers[0].m: unknown parameter 'seqlen' (did you mean 'seq_len'?)"),
    ("{name: a, type: matmul, m: 'seq_len / 2', k: 1, n: 1}",
     "layers[0].m: 'seq_len / 2': only integers, parameter names, + - * //"),
    ("{name: a, type: matmul, m: '__import__(\"os\")', k: 1, n: 1}", "only integers"),
    ("{name: a, type: matmul, m: 'seq_len // 0', k: 1, n: 1}", "division by zero"),
    ("{name: a, type: matmul, m: 'seq_len -', k: 1, n: 1}", "cannot parse expression"),
    ("{name: a, type: matmul, m: 'seq_len * batch', k: 1, n: 1}",
     "batch is applied to every layer automatically"),
    ("{name: a, type: matmul, m: 'seq_len - 200', k: 1, n: 1}",
     "layer 'a': m must be a positive integer, got -72"),
    ("{name: a, type: matmul, m: 1.5, k: 1, n: 1}", "expected an integer or an expression"),
    ("{name: a, type: pool2d, mode: maximum, in_h: 4, in_w: 4, channels: 1}",
     "layers[0].mode: expected one of max, avg, got 'maximum' (did you mean 'max'?)"),
    ("{name: a, type: elementwise, elements: 4, relu: 1}", "layers[0].relu: expected true or"),
    ("{name: a, type: pool2d, in_h: 4, in_w: 4, channels: 1, kernal: 2}",
     "unknown pool2d key (did you mean 'kernel'?)"),
    ("{name: a, type: softmx, rows: 1, length: 1}", "(did you mean 'softmax'?)"),
    ("{name: a, type: layernorm, tokens: 1}", "incomplete layernorm layer"),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "message"), BAD_LAYERS)
def test_bad_layer_fields_have_path_line_and_hint(tmp_path: Path, layer: str, message: str) -> None:
    path = write(tmp_path, f"params: {{seq_len: 128}}\nlayers:\n  - {layer}\n")
    found = problems(path)
    assert any(message in p for p in found), found
    assert all(p.startswith(f"{path}:3:") for p in found), found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("params: {seq_len: -3}\nlayers: [{type: reshape, elements: 1}]", "params.seq_len: expe"),
        ("params: [1]\nlayers: [{type: reshape, elements: 1}]", "params: expected a mapping"),
        ("params: {2x: 1}\nlayers: [{type: reshape, elements: 1}]", "must be an identifier"),
        ("batch: 2\nparams: {batch: 2}\nlayers: [{type: reshape, elements: 1}]", "both at the"),
        ("parms: {}\nlayers: [{type: reshape, elements: 1}]", "(did you mean 'params'?)"),
        ("tensors: nope.npz\nlayers: [{type: reshape, elements: 1}]", "no such file or folder"),
        ("tensors: 3\nlayers: [{type: reshape, elements: 1}]", "tensors: expected a file name"),
    ],
)
def test_bad_top_level(tmp_path: Path, text: str, message: str) -> None:
    found = problems(write(tmp_path, text))
    assert any(message in p for p in found), found


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = "params: {n: 1}\nlayers:\n  - {type: matmul, m: x, k: 1, n: n}\n  - {type: sofmax}\n"
    found = problems(write(tmp_path, text))
    assert len(found) == 2 and "layers[0].m" in found[0] and "layers[1].type" in found[1]


def test_tensors_path_resolves_next_to_the_workload(tmp_path: Path) -> None:
    (tmp_path / "t.npz").write_bytes(b"")
    w = load_workload(write(tmp_path, "tensors: t.npz\nlayers: [{type: reshape, elements: 1}]"))
    assert w.tensors == tmp_path / "t.npz"


@pytest.mark.parametrize("name", bundled_workloads())
def test_bundled_workloads_load(name: str) -> None:
    w = load_workload(name)
    assert w.layers and w.params["batch"] == 1


@settings(max_examples=80, deadline=None)
@given(
    a=st.integers(0, 10**6),
    b=st.integers(1, 10**4),
    c=st.integers(-50, 50),
    template=st.sampled_from(
        ["a + b * c", "(a + b) * c", "a // b - c", "-(a - c) // b", "a * (b + c) // b", "42"]
    ),
)
def test_expressions_agree_with_integer_arithmetic(a: int, b: int, c: int, template: str) -> None:
    names = {"a": a, "b": b, "c": c}
    expected = {"a + b * c": a + b * c, "(a + b) * c": (a + b) * c, "a // b - c": a // b - c,
                "-(a - c) // b": -(a - c) // b, "a * (b + c) // b": a * (b + c) // b,
                "42": 42}[template]  # fmt: skip
    assert evaluate(template, names) == expected


@settings(max_examples=80, deadline=None)
@given(text=st.text(max_size=40))
def test_any_text_gives_a_value_or_an_expression_error(text: str) -> None:
    with contextlib.suppress(ExpressionError):
        assert isinstance(evaluate(text, {"x": 3}), int)


@pytest.mark.parametrize("text", ["x ** 2", "x / 2", "x.real", "f(x)", "[x]", "1.5", "True"])
def test_forbidden_syntax(text: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(text, {"x": 3})


def test_workload_is_hashable_and_its_params_read_only() -> None:
    w = load_workload("bert_base")
    assert hash(w) == hash(load_workload("bert_base"))
    with pytest.raises(TypeError):
        w.params["seq_len"] = 1  # type: ignore[index]


def test_batch_multiplies_batch_not_tokens_of_layernorm(tmp_path: Path) -> None:
    path = write(tmp_path, "batch: 3\nlayers: [{type: layernorm, tokens: 5, features: 8}]\n")
    (ln,) = load_workload(path).layers
    assert (ln.batch, ln.tokens, ln.input_elements) == (3, 5, 120)
