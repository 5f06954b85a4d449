"""The bundled zoo against the published architectures.

What ``Workload.parameters`` counts: the stored weights of the modelled layers (conv, linear,
the GPT-2 LM head). Not counted: biases, BatchNorm and LayerNorm affine parameters, embedding
lookups and position embeddings. Each test rebuilds the published total from our count plus
exactly those missing pieces, so a wrong shape anywhere breaks the equality.
"""

from __future__ import annotations

import pytest

from npusim.workload import Conv2d, Elementwise, Layer, Linear, Matmul, load_workload

# torchvision model docs (ResNet50_Weights.IMAGENET1K_V1 / MobileNet_V2_Weights.IMAGENET1K_V1):
# num_params 25,557,032 and 3,504,872; GFLOPS 4.09 and 0.30 (their "FLOPS" are MACs).
RESNET50_TORCHVISION_PARAMS = 25_557_032
RESNET50_GMACS = 4.09
MOBILENET_V2_TORCHVISION_PARAMS = 3_504_872
# Sandler et al., CVPR 2018, Table 4: MobileNetV2 (1.0, 224) 300M multiply-adds, 3.4M params.
MOBILENET_V2_MACS = 300e6
# HuggingFace bert-base-uncased BertModel: 109,482,240 parameters = embeddings 23,837,184
# (30522 x 768 word + 512 x 768 position + 2 x 768 type + 2 x 768 LayerNorm) + encoder + pooler
# 590,592 (768 x 768 + 768). Devlin et al. 2019: L = 12, H = 768, A = 12, FFN 4H.
BERT_BASE_HF_PARAMS = 109_482_240
BERT_EMBEDDINGS = 30522 * 768 + 512 * 768 + 2 * 768 + 2 * 768
BERT_POOLER = 768 * 768 + 768
# HuggingFace gpt2 (GPT-2 small, Radford et al. 2019) GPT2Model: 124,439,808 parameters with
# the LM head tied to the 50257 x 768 token embedding; 1024 x 768 position embedding.
GPT2_HF_PARAMS = 124_439_808
GPT2_POSITIONS = 1024 * 768
# Per transformer layer: QKV 3 x 768^2 + output 768^2 + FFN 2 x 768 x 3072 (Devlin et al.).
TRANSFORMER_LAYER_WEIGHTS = 7_077_888
# Per-layer biases (2304 + 768 + 3072 + 768) and two LayerNorms (2 x 2 x 768).
TRANSFORMER_LAYER_BIASES_AND_LN = 2304 + 768 + 3072 + 768 + 4 * 768


def convs(layers: tuple[Layer, ...]) -> list[Conv2d]:
    return [layer for layer in layers if isinstance(layer, Conv2d)]


def test_resnet50() -> None:
    w = load_workload("resnet50")
    c = convs(w.layers)
    assert len(c) == 53 and sum("_down" in layer.name for layer in c) == 4
    assert sum(isinstance(layer, Elementwise) for layer in w.layers) == 16
    # v1.5: the stride sits on the 3x3 of the first block of stages 3-5
    strided = [layer.name for layer in c if layer.stride == 2]
    assert strided == ["conv1", "conv3_1b", "conv3_1_down", "conv4_1b", "conv4_1_down",
                       "conv5_1b", "conv5_1_down"]  # fmt: skip
    assert w.parameters == 25_502_912
    # torchvision total = our weights + fc bias + BatchNorm (weight, bias) after every conv
    batchnorm = 2 * sum(layer.out_channels for layer in c)
    assert w.parameters + 1000 + batchnorm == RESNET50_TORCHVISION_PARAMS
    assert w.macs == 4_089_184_256
    assert abs(w.macs / (RESNET50_GMACS * 1e9) - 1) < 0.001


def test_mobilenet_v2() -> None:
    w = load_workload("mobilenet_v2")
    c = convs(w.layers)
    depthwise = [layer for layer in c if layer.groups > 1]
    assert len(c) == 52 and len(depthwise) == 17
    assert all(layer.groups == layer.in_channels == layer.out_channels for layer in depthwise)
    assert sum(isinstance(layer, Elementwise) for layer in w.layers) == 10
    batchnorm = 2 * sum(layer.out_channels for layer in c)
    assert w.parameters + 1000 + batchnorm == MOBILENET_V2_TORCHVISION_PARAMS
    assert w.parameters == 3_469_760
    assert abs(w.macs / MOBILENET_V2_MACS - 1) < 0.01  # 300,774,272


def test_bert_base() -> None:
    w = load_workload("bert_base")
    assert w.params["seq_len"] == 128
    per_layer = {i: sum(layer.weight_elements for layer in w.layers
                        if layer.name.startswith(f"l{i}_")) for i in range(12)}  # fmt: skip
    assert set(per_layer.values()) == {TRANSFORMER_LAYER_WEIGHTS}
    assert w.parameters == 12 * TRANSFORMER_LAYER_WEIGHTS == 84_934_656
    encoder = w.parameters + 12 * TRANSFORMER_LAYER_BIASES_AND_LN
    assert BERT_EMBEDDINGS + encoder + BERT_POOLER == BERT_BASE_HF_PARAMS
    # MACs: projections 128 x 7,077,888 per layer + QK^T and AV 12 heads x 128 x 128 x 64 each
    attention = 2 * 12 * 128 * 128 * 64
    assert w.macs == 12 * (128 * TRANSFORMER_LAYER_WEIGHTS + attention) == 11_173_625_856
    short = load_workload("bert_base", params={"seq_len": 16})
    assert short.macs == 12 * (16 * TRANSFORMER_LAYER_WEIGHTS + 2 * 12 * 16 * 16 * 64)


def test_gpt2_decode() -> None:
    w = load_workload("gpt2_decode")
    blocks = sum(layer.weight_elements for layer in w.layers if layer.name.startswith("h"))
    head = next(layer for layer in w.layers if layer.name == "lm_head")
    assert blocks == 12 * TRANSFORMER_LAYER_WEIGHTS == 84_934_656
    assert head.weight_elements == 768 * 50257 == 38_597_376
    assert all(layer.tokens == 1 for layer in w.layers if isinstance(layer, Linear))
    # the published total = blocks + tied token embedding (our LM head) + positions + biases/LN
    total = w.parameters + GPT2_POSITIONS + 12 * TRANSFORMER_LAYER_BIASES_AND_LN + 2 * 768
    assert total == GPT2_HF_PARAMS
    qk = next(layer for layer in w.layers if isinstance(layer, Matmul))
    assert (qk.batch, qk.m, qk.k, qk.n) == (12, 1, 64, 1025)  # kv_len 1024 + the new token
    attention = 12 * 2 * 12 * 64 * 1025
    assert w.macs == w.parameters + attention == 142_424_832


@pytest.mark.parametrize("kv_len", [0, 1, 4095])
def test_gpt2_kv_cache_reads_grow_with_kv_len(kv_len: int) -> None:
    w = load_workload("gpt2_decode", params={"kv_len": kv_len})
    matmuls = [layer for layer in w.layers if isinstance(layer, Matmul)]
    # QK^T reads q and the K cache, AV the probabilities and the V cache: 12 heads each
    keys = kv_len + 1
    assert sum(m.input_elements for m in matmuls) == 12 * 12 * (64 + 64 * keys + keys + keys * 64)


def test_vector_layers_add_no_parameters_or_macs() -> None:
    for name in ("resnet50", "mobilenet_v2", "bert_base", "gpt2_decode"):
        w = load_workload(name)
        gemm_layers = [layer for layer in w.layers if layer.gemm() is not None]
        assert w.parameters == sum(layer.gemm().weight_elements for layer in gemm_layers)
        assert w.macs == sum(layer.gemm().macs for layer in gemm_layers)
        assert w.vector_ops > 0


# Published parameter totals (meta-llama model cards / config.json on Hugging Face) and what
# npusim does not count as weights: the RMSNorm gains (2 per block + 1 final, d each) and,
# when the LM head is not tied to it, the token-embedding table (vocab x d).
LLAMA_PUBLISHED = {
    # name: (total parameters, d, blocks, vocab, tied LM head)
    "llama3_2_1b": (1_235_814_400, 2048, 16, 128256, True),
    "llama3_2_3b": (3_212_749_824, 3072, 28, 128256, True),
    "llama3_1_8b": (8_030_261_248, 4096, 32, 128256, False),
}


@pytest.mark.parametrize("name", sorted(LLAMA_PUBLISHED))
def test_llama_weights_add_up_to_the_published_totals(name: str) -> None:
    total, d, blocks, vocab, tied = LLAMA_PUBLISHED[name]
    w = load_workload(name)
    norms = (2 * blocks + 1) * d
    embedding = 0 if tied else vocab * d
    assert w.parameters + norms + embedding == total


def test_llama_grouped_query_attention_reads_each_kv_head_once() -> None:
    """Llama-3.2-1B: 32 query heads share 8 KV heads of 64, so a decode step at context L
    reads 8 x (L + 1) x 64 keys per block (the new row included), not 32 x ..."""
    kv_len = 1000
    w = load_workload("llama3_2_1b", params={"kv_len": kv_len})
    qk = next(layer for layer in w.layers if layer.name == "l0_qk")
    assert (qk.batch, qk.m, qk.k, qk.n) == (8, 4, 64, kv_len + 1)
    # the K cache is a stored operand, read from DRAM; the rotated new K row is appended
    assert w.inputs["l0_qk"] == ("l0_q_rope",)
    assert w.graph.tensors["l0_k_rope"].is_output and w.graph.tensors["l0_v"].is_output
    prefill = load_workload("llama3_2_1b", params={"tokens": 128, "kv_len": 0})
    qk = next(layer for layer in prefill.layers if layer.name == "l0_qk")
    assert (qk.m, qk.n) == (4 * 128, 128)
