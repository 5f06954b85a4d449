"""Workloads as dataflow graphs: inputs, checks at load, tensors and their lifetimes."""

from __future__ import annotations

from pathlib import Path

import pytest

from npusim.errors import ConfigError
from npusim.workload import Linear, Workload, load_workload
from npusim.workload.graph import NETWORK_INPUT


def _load(tmp_path: Path, layers: str) -> Workload:
    path = tmp_path / "net.yaml"
    path.write_text("name: net\nlayers:\n" + layers, encoding="utf-8")
    return load_workload(path)


RESIDUAL = """\
  - {name: a, type: linear, in_features: 64, out_features: 64, tokens: 4}
  - {name: b, type: linear, in_features: 64, out_features: 32, tokens: 4}
  - {name: c, type: linear, in_features: 32, out_features: 64, tokens: 4}
  - {name: add, type: elementwise, elements: 256, inputs: [c, a]}
  - {name: head, type: linear, in_features: 64, out_features: 10, tokens: 4}
"""


def test_residual_edges_give_producers_consumers_and_lifetimes(tmp_path: Path) -> None:
    workload = _load(tmp_path, RESIDUAL)
    tensors = workload.graph.tensors
    assert workload.inputs["a"] == (NETWORK_INPUT,)  # the first layer reads the input
    assert workload.inputs["b"] == ("a",)  # default: the previous layer
    assert tensors["a"].consumers == ("b", "add")
    assert (tensors["a"].first_use, tensors["a"].last_use) == (0, 3)  # lives across b, c
    assert tensors["c"].consumers == ("add",)
    assert tensors[NETWORK_INPUT].elements == 256 and tensors[NETWORK_INPUT].producer is None
    assert tensors["head"].is_output and tensors["head"].last_use == 4
    # a tensor dies with its last reader: the input after a, a and c after the add
    assert workload.graph.last_readers() == {
        "a": [NETWORK_INPUT], "c": ["b"], "add": ["a", "c"], "head": ["add"],
    }  # fmt: skip


def test_inputs_may_name_later_layers_and_run_in_topological_order(tmp_path: Path) -> None:
    layers = """\
  - {name: second, type: linear, in_features: 8, out_features: 8, inputs: first}
  - {name: first, type: linear, in_features: 8, out_features: 8, inputs: [input]}
"""
    assert [layer.name for layer in _load(tmp_path, layers).layers] == ["first", "second"]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 8, inputs: [b]}\n"
            "  - {name: b, type: linear, in_features: 8, out_features: 8, inputs: [a]}\n",
            "layers[0].inputs: cyclic inputs among 'a', 'b'",
        ),
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 8}\n"
            "  - {name: b, type: linear, in_features: 8, out_features: 8, inputs: [aa]}\n",
            "layers[1].inputs[0]: unknown input 'aa': expected a layer name or 'input' "
            "(did you mean 'a'?)",
        ),
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 16}\n"
            "  - {name: b, type: linear, in_features: 8, out_features: 8, inputs: [a]}\n",
            "layers[1].inputs[0]: 'a' produces 16 elements but operand 0 of linear layer 'b' has 8",
        ),
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 8}\n"
            "  - {name: b, type: linear, in_features: 8, out_features: 8, inputs: [a, a]}\n",
            "linear layer 'b' has 1 activation operand(s), 2 inputs named",
        ),
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 8}\n"
            "  - {name: b, type: concat, elements: 20, inputs: [a, a]}\n",
            "concat 'b' has 20 elements but its inputs add up to 16",
        ),
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 8, inputs: [input]}\n"
            "  - {name: b, type: linear, in_features: 4, out_features: 8, inputs: [input]}\n",
            "layers read 'input' at different sizes ('a': 8, 'b': 4)",
        ),
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 8, inputs: 3}\n",
            "layers[0].inputs: expected a layer name or a non-empty list of layer names, got 3",
        ),
        (
            "  - {name: a, type: linear, in_features: 8, out_features: 8, inputs: [a]}\n",
            "layers[0].inputs[0]: layer 'a' cannot read its own output",
        ),
    ],
)
def test_bad_inputs_are_config_errors_with_key_paths(
    tmp_path: Path, layers: str, message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, layers)
    assert message in str(err.value)
    assert "net.yaml" in str(err.value)


def test_a_list_of_unrelated_layers_reads_its_inputs_from_dram() -> None:
    """Without ``inputs``, a layer whose first operand does not match the previous output
    (a SCALE-Sim topology, a layer list) reads a stored tensor of its own."""
    workload = Workload("list", (Linear("x", 8, 16), Linear("y", 32, 8), Linear("z", 8, 4)))
    assert workload.graph.reads == {"x": (NETWORK_INPUT,), "y": (), "z": ("y",)}
    assert workload.graph.tensors["x"].is_output  # nobody reads x


def test_reshape_is_a_view_of_its_source(tmp_path: Path) -> None:
    layers = """\
  - {name: a, type: linear, in_features: 8, out_features: 12, tokens: 2}
  - {name: flat, type: reshape, elements: 24}
  - {name: b, type: linear, in_features: 24, out_features: 4, inputs: [flat]}
"""
    graph = _load(tmp_path, layers).graph
    assert graph.reads["b"] == ("a",)
    assert "flat" not in graph.tensors and graph.tensors["a"].consumers == ("b",)


def test_the_zoo_has_its_true_edges() -> None:
    resnet = load_workload("resnet50")
    assert resnet.inputs["conv2_1_down"] == ("maxpool",)  # projection reads the block input
    assert resnet.inputs["conv2_1_add"] == ("conv2_1c", "conv2_1_down")
    assert resnet.inputs["conv2_2_add"] == ("conv2_2c", "conv2_1_add")
    mobilenet = load_workload("mobilenet_v2")
    assert mobilenet.inputs["b2_add"] == ("b2_project", "b1_project")
    bert = load_workload("bert_base")
    assert bert.inputs["l1_q"] == bert.inputs["l1_k"] == bert.inputs["l1_v"] == ("l0_ln2",)
    assert bert.inputs["l0_qk"] == ("l0_q", "l0_k")
    assert bert.inputs["l0_add2"] == ("l0_ffn2", "l0_ln1")
    gpt2 = load_workload("gpt2_decode")
    assert gpt2.graph.tensors["h3_k"].is_output  # the new K row goes to the KV cache
    assert gpt2.inputs["h3_add1"] == ("h3_proj", "h2_add2")
    for workload in (resnet, mobilenet, bert, gpt2):  # one network output each (+ KV rows)
        outputs = [t for t in workload.graph.tensors.values() if t.is_output]
        assert outputs[-1].name == workload.layers[-1].name


def test_per_side_pads_load_from_yaml(tmp_path: Path) -> None:
    layers = """\
  - {name: c, type: conv2d, in_h: 8, in_w: 8, in_channels: 3, out_channels: 4, kernel: 3,
     pads: [0, 0, 1, 1]}
  - {name: d, type: conv2d, in_h: 7, in_w: 7, in_channels: 4, out_channels: 4, kernel: 3,
     pads: [1, 1, 1, 1], inputs: [c]}
"""
    conv = _load(tmp_path, layers).layers[0]
    assert conv.pads == (0, 0, 1, 1) and (conv.out_h, conv.out_w) == (7, 7)  # 8 + 1 - 3 + 1
    with pytest.raises(ConfigError, match=r"layers\[0\]\.pads: expected four paddings"):
        _load(tmp_path, layers.replace("[0, 0, 1, 1]", "[1, 2]"))


def test_a_workload_built_with_a_repeated_layer_name_is_a_config_error() -> None:
    workload = Workload("twice", (Linear("x", 8, 8), Linear("x", 8, 8)))
    with pytest.raises(ConfigError, match="layer name 'x' is used twice"):
        _ = workload.graph
