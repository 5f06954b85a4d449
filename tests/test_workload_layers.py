"""Layer types: the contract every layer satisfies, element counts, ops, shape validation."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from npusim.errors import WorkloadError
from npusim.workload.layers import (
    LAYER_TYPES,
    Activation,
    ActivationFunction,
    Concat,
    Conv2d,
    Elementwise,
    ElementwiseOp,
    Embedding,
    Gemm,
    LayerNorm,
    Linear,
    Matmul,
    Pool2d,
    PoolMode,
    Reshape,
    RMSNorm,
    Rope,
    Softmax,
)

EXAMPLES = [
    Linear("fc", 2048, 1000, tokens=3),
    Matmul("qk", m=128, k=64, n=128, batch=12),
    Conv2d("c", 56, 56, 64, 128, 3, 3, stride=2, padding=1, groups=2),
    Pool2d("p", 112, 112, 64, PoolMode.MAX, 3, 3, stride=2, padding=1),
    Pool2d("g", 7, 7, 2048, PoolMode.AVG, global_pool=True),
    Elementwise("add", 100, ElementwiseOp.ADD, relu=True),
    Activation("gelu", 300, ActivationFunction.GELU),
    Softmax("sm", rows=4, length=9, batch=2),
    LayerNorm("ln", tokens=5, features=768),
    Reshape("flat", 2048),
    Concat("cat", 640),
    RMSNorm("rms", tokens=5, features=2048),
    Rope("rope", tokens=3, heads=8, head_dim=64),
    Embedding("embed", tokens=7, features=2048, vocab=128256),
]


def test_every_type_has_an_example_and_a_unique_kind() -> None:
    assert {type(layer) for layer in EXAMPLES} == set(LAYER_TYPES.values())
    assert all(LAYER_TYPES[layer.kind] is type(layer) for layer in EXAMPLES)


@pytest.mark.parametrize("layer", EXAMPLES, ids=lambda layer: layer.kind)
def test_contract(layer: object) -> None:
    gemm = layer.gemm()  # type: ignore[attr-defined]
    for attr in ("input_elements", "output_elements", "weight_elements", "vector_ops", "macs"):
        value = getattr(layer, attr)
        assert isinstance(value, int) and value >= 0, attr
    if gemm is None:
        assert layer.macs == 0 and layer.weight_elements == 0  # type: ignore[attr-defined]
    else:
        assert isinstance(gemm, Gemm) and layer.vector_ops == 0  # type: ignore[attr-defined]
        assert layer.macs == gemm.macs and layer.output_elements == gemm.output_elements  # type: ignore[attr-defined]
        assert layer.weight_elements == gemm.weight_elements  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.name = "x"  # type: ignore[attr-defined]


def test_gemm_layer_counts() -> None:
    fc, qk, conv = EXAMPLES[:3]
    assert (fc.input_elements, fc.weight_elements, fc.macs) == (3 * 2048, 2048000, 3 * 2048000)
    # attention: both operands are activations, no weights
    assert qk.gemm().has_weights is False and qk.weight_elements == 0
    assert qk.input_elements == 12 * (128 * 64 + 64 * 128)
    # conv reads the stored ifmap, not im2col; grouped weights (out, in/g, 3, 3)
    assert conv.input_elements == 56 * 56 * 64
    assert conv.weight_elements == 128 * 32 * 9
    assert conv.output_elements == 28 * 28 * 128


def test_vector_layer_counts_and_ops() -> None:
    pool, gpool, add, gelu, sm, ln, flat, cat = EXAMPLES[3:11]
    # torchvision ResNet stem max pool: 112 -> 56, 8 comparisons per output
    assert (pool.out_h, pool.out_w) == (56, 56)
    assert pool.vector_ops == 56 * 56 * 64 * 8
    assert gpool.output_elements == 2048 and gpool.vector_ops == 2048 * 49
    assert (add.input_elements, add.output_elements, add.vector_ops) == (200, 100, 200)
    assert gelu.vector_ops == 300 * 5
    assert sm.input_elements == sm.output_elements == 72 and sm.vector_ops == 5 * 72
    assert ln.vector_ops == 7 * 5 * 768 and ln.weight_elements == 0
    assert (flat.input_elements, flat.output_elements, flat.vector_ops) == (0, 0, 0)
    assert (cat.input_elements, cat.output_elements, cat.vector_ops) == (640, 640, 0)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Linear("fc", 0, 10), "layer 'fc': in_features must be a positive integer"),
        (lambda: Linear("fc", 10, 10, tokens=True), "tokens must be a positive integer"),
        (lambda: Matmul("qk", 1, 64, 0), "layer 'qk': n must be a positive integer"),
        (lambda: Conv2d("c", 8, 8, 6, 4, 3, 3, groups=4), "in_channels=6 is not divisible"),
        (lambda: Conv2d("c", 4, 4, 3, 3, 7, 7), "kernel 7x7 (dilation 1) does not fit"),
        (lambda: Conv2d("c", 8, 8, 3, 3, 3, 3, padding=-1), "layer 'c': padding must be >= 0"),
        (lambda: Pool2d("p", 4, 4, 3, kernel_h=2, kernel_w=2, padding=2), "exceeds half"),
        (lambda: Pool2d("p", 4, 4, 3, kernel_h=5, kernel_w=5), "does not fit the padded 4x4"),
        (lambda: Pool2d("p", 4, 4, 3, kernel_h=2, global_pool=True), "global pool takes no"),
        (lambda: Pool2d("p", 4, 4, 3, mode="max"), "mode must be a PoolMode"),
        (lambda: Elementwise("a", -1), "layer 'a': elements must be a positive integer"),
        (lambda: Activation("g", 3, function="gelu"), "must be an ActivationFunction"),
        (lambda: Softmax("s", 1, 0), "layer 's': length must be a positive integer"),
        (lambda: LayerNorm("n", 1, 0), "layer 'n': features must be a positive integer"),
        (lambda: Reshape("r", 0), "layer 'r': elements"),
        (lambda: Concat("k", 0), "layer 'k': elements"),
    ],
)
def test_impossible_shapes_name_the_layer(make: object, message: str) -> None:
    with pytest.raises(WorkloadError) as err:
        make()  # type: ignore[operator]
    assert message in str(err.value)


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 64),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    mode=st.sampled_from(PoolMode),
)
def test_pool_output_matches_sliding_windows(
    size: int, kernel: int, stride: int, padding: int, mode: PoolMode
) -> None:
    """Output count = number of window starts inside the padded input (PyTorch floor mode)."""
    if 2 * padding > kernel or kernel > size + 2 * padding:
        with pytest.raises(WorkloadError):
            Pool2d("p", size, size, 2, mode, kernel, kernel, stride, padding)
        return
    pool = Pool2d("p", size, size, 2, mode, kernel, kernel, stride, padding)
    starts = len(range(0, size + 2 * padding - kernel + 1, stride))
    assert pool.out_h == pool.out_w == starts
    per_output = kernel * kernel - (mode is PoolMode.MAX)
    assert pool.vector_ops == pool.output_elements * per_output


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    groups=st.sampled_from([1, 2, 4]),
    batch=st.integers(1, 3),
)
def test_conv_gemm_view_conserves_macs(
    size: int, kernel: int, stride: int, padding: int, dilation: int, groups: int, batch: int
) -> None:
    span = dilation * (kernel - 1) + 1
    if span > size + 2 * padding:
        with pytest.raises(WorkloadError):
            Conv2d("c", size, size, 8, 8, kernel, kernel, stride, padding, dilation, groups, batch)
        return
    conv = Conv2d("c", size, size, 8, 8, kernel, kernel, stride, padding, dilation, groups, batch)
    out = len(range(0, size + 2 * padding - span + 1, stride))
    assert conv.out_h == out
    # every output element takes (8 / groups) * kernel^2 MACs
    assert conv.macs == batch * 8 * out * out * (8 // groups) * kernel * kernel
