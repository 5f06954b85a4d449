"""Train the shipped digits models and write them, with a fixed dataset split, to workloads/.

    pip install scikit-learn      # a tools-only dependency: npusim and its tests never import it
    python tools/train_digits.py [--seed 0] [--out workloads]

Data: scikit-learn's bundled handwritten digits (``load_digits``: 1,797 8 x 8 images, pixel
values 0..16, from the UCI "Optical Recognition of Handwritten Digits" set; nothing is
downloaded), scaled to [0, 1]. A seeded permutation splits them into 1,097 training, 200
calibration and 500 test images; only training images are used to fit.

Models (deterministic from ``--seed``):

- ``digits_cnn``: conv 3x3 1->8 (pad 1, ReLU), max-pool 2, conv 3x3 8->16 (pad 1, ReLU),
  max-pool 2, linear 64->10; trained here in numpy (im2col forward and backward, softmax
  cross-entropy, Adam, batch 64);
- ``digits_mlp``: linear 64->32 (ReLU), linear 32->10; scikit-learn ``MLPClassifier`` (Adam).

Writes ``<model>.yaml`` (the workload), ``<model>.npz`` (``<layer>.weight`` in PyTorch layout,
``<layer>.bias``, ``<layer>.activation`` = ``"relu"`` for each layer marked ``relu: true``, and
``<layer>.input``: the layer's FP32 input for the first calibration image, which the timing
run's SQNR columns measure; no test image is written there) and ``digits.npz`` (``inputs``
(700, 1, 8, 8) float32, ``labels``, ``calibration_samples`` = 200: calibration split first,
test split after), and the same two models as ONNX files (``tools/digits_onnx.py``; needs
the ``onnx`` package). The FP32 logits of npusim's functional pass are checked against this
script's own forward pass (:class:`ReferenceMismatch` otherwise). A rerun with the same seed
writes byte-identical files on the same machine (numpy's ``savez`` stamps a fixed date).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

TRAIN, CALIBRATION, TEST = 1097, 200, 500
MATCH_RELATIVE = 1e-5  # npusim's FP32 logits against this script's forward pass, of max |logit|
CNN_LAYERS = """\
layers:
  - {name: conv1, type: conv2d, in_h: 8, in_w: 8, in_channels: 1, out_channels: 8, kernel: 3,
     padding: 1, relu: true}
  - {name: pool1, type: pool2d, in_h: 8, in_w: 8, channels: 8, mode: max, kernel: 2, stride: 2}
  - {name: conv2, type: conv2d, in_h: 4, in_w: 4, in_channels: 8, out_channels: 16, kernel: 3,
     padding: 1, relu: true}
  - {name: pool2, type: pool2d, in_h: 4, in_w: 4, channels: 16, mode: max, kernel: 2, stride: 2}
  - {name: fc, type: linear, in_features: 64, out_features: 10}
"""
MLP_LAYERS = """\
layers:
  - {name: fc1, type: linear, in_features: 64, out_features: 32, relu: true}
  - {name: fc2, type: linear, in_features: 32, out_features: 10}
"""


class ReferenceMismatch(RuntimeError):
    """npusim's FP32 functional pass disagrees with the training forward pass."""


def split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(train images, train labels, eval images, eval labels)``: the eval arrays hold the
    calibration split then the test split."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    order = np.random.default_rng(seed).permutation(len(images))
    images, labels = images[order], digits.target[order].astype(np.int64)
    cut = (TRAIN, TRAIN + CALIBRATION, TRAIN + CALIBRATION + TEST)
    return images[: cut[0]], labels[: cut[0]], images[cut[0] : cut[2]], labels[cut[0] : cut[2]]


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x3 convolution, padding 1: ``(B, C, H, W)`` -> ``(B, O, H, W)``, and the im2col."""
    batch, channels, h, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.stack([padded[:, :, i : i + h, j : j + width] for i in range(3) for j in range(3)])
    cols = cols.reshape(3, 3, batch, channels, h, width).transpose(2, 4, 5, 3, 0, 1)
    cols = cols.reshape(batch * h * width, channels * 9)
    y = cols @ w.reshape(w.shape[0], -1).T + b
    return y.reshape(batch, h, width, -1).transpose(0, 3, 1, 2), cols


def conv_backward(
    dy: np.ndarray, cols: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    batch, channels, h, width = x_shape
    grad = dy.transpose(0, 2, 3, 1).reshape(-1, w.shape[0])
    dw = (grad.T @ cols).reshape(w.shape)
    dcols = (grad @ w.reshape(w.shape[0], -1)).reshape(batch, h, width, channels, 3, 3)
    dx = np.zeros((batch, channels, h + 2, width + 2), np.float32)
    for i in range(3):
        for j in range(3):
            dx[:, :, i : i + h, j : j + width] += dcols[..., i, j].transpose(0, 3, 1, 2)
    return dx[:, :, 1:-1, 1:-1], dw, grad.sum(axis=0)


def pool_forward(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b, c, h, w = x.shape
    blocks = x.reshape(b, c, h // 2, 2, w // 2, 2)
    y = blocks.max(axis=(3, 5))
    mask = blocks == y[:, :, :, None, :, None]
    return y, mask / mask.sum(axis=(3, 5), keepdims=True)


def pool_backward(dy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    b, c, h, w = dy.shape
    return (mask * dy[:, :, :, None, :, None]).reshape(b, c, 2 * h, 2 * w)


def cnn_forward(params: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list]:
    h1, cols1 = conv_forward(x, params["conv1.weight"], params["conv1.bias"])
    r1 = np.maximum(h1, 0)
    p1, mask1 = pool_forward(r1)
    h2, cols2 = conv_forward(p1, params["conv2.weight"], params["conv2.bias"])
    r2 = np.maximum(h2, 0)
    p2, mask2 = pool_forward(r2)
    flat = p2.reshape(len(x), -1)
    logits = flat @ params["fc.weight"].T + params["fc.bias"]
    return logits, [x, cols1, h1, mask1, p1, cols2, h2, mask2, flat]


def cnn_gradients(params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray) -> dict:
    logits, (x, cols1, h1, mask1, p1, cols2, h2, mask2, flat) = cnn_forward(params, x)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    dlogits = shifted / shifted.sum(axis=1, keepdims=True)
    dlogits[np.arange(len(labels)), labels] -= 1.0
    dlogits /= len(labels)
    grads = {"fc.weight": dlogits.T @ flat, "fc.bias": dlogits.sum(axis=0)}
    dp2 = (dlogits @ params["fc.weight"]).reshape(mask2.shape[0], 16, 2, 2)
    dh2 = pool_backward(dp2, mask2) * (h2 > 0)
    dp1, grads["conv2.weight"], grads["conv2.bias"] = conv_backward(
        dh2, cols2, params["conv2.weight"], p1.shape
    )
    dh1 = pool_backward(dp1, mask1) * (h1 > 0)
    _, grads["conv1.weight"], grads["conv1.bias"] = conv_backward(
        dh1, cols1, params["conv1.weight"], x.shape
    )
    return grads


def train_cnn(images: np.ndarray, labels: np.ndarray, seed: int, epochs: int = 40) -> dict:
    """Adam (lr 0.01, betas 0.9/0.999) on mini-batches of 64; He-normal initial weights."""
    rng = np.random.default_rng([seed, 1])
    shapes = {"conv1.weight": (8, 1, 3, 3), "conv2.weight": (16, 8, 3, 3), "fc.weight": (10, 64)}
    params: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:]))
        params[name] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        params[name.replace("weight", "bias")] = np.zeros(shape[0], np.float32)
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(images))
        for start in range(0, len(images), 64):
            batch = order[start : start + 64]
            step += 1
            for name, grad in cnn_gradients(params, images[batch], labels[batch]).items():
                m, v = moments[name]
                m[:] = 0.9 * m + 0.1 * grad
                v[:] = 0.999 * v + 0.001 * grad * grad
                update = 0.01 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
                params[name] = (params[name] - update).astype(np.float32)
    return params


def train_mlp(images: np.ndarray, labels: np.ndarray, seed: int) -> dict:
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1000, random_state=seed)
    model.fit(images.reshape(len(images), -1), labels)
    return {"fc1.weight": model.coefs_[0].T, "fc1.bias": model.intercepts_[0],
            "fc2.weight": model.coefs_[1].T, "fc2.bias": model.intercepts_[1]}  # fmt: skip


def write_model(
    out: Path,
    name: str,
    layers: str,
    params: dict,
    calibration: np.ndarray,
    test: np.ndarray,
    note: str,
) -> np.ndarray:
    """``<name>.yaml`` and ``<name>.npz`` (``<layer>.input`` from the first ``calibration``
    image); returns the FP32 logits npusim computes on ``test``."""
    from npusim.functional import execute, fp32_runner, load_parameters
    from npusim.functional.params import fused_activations
    from npusim.workload import load_workload

    yaml_text = (f"# Written by tools/train_digits.py: {note}\nname: {name}\n"
                 f"description: {note}\ntensors: {name}.npz\n{layers}")  # fmt: skip
    (out / f"{name}.yaml").write_text(yaml_text)
    arrays: dict[str, np.ndarray] = {k: np.asarray(v, np.float32) for k, v in params.items()}
    arrays |= {f"{layer}.activation": np.array("relu") for layer in relu_layers(layers)}
    np.savez(out / f"{name}.npz", **arrays)  # weights first: the inputs are computed from them
    workload = load_workload(out / f"{name}.yaml")
    run = fp32_runner(load_parameters(workload), fused_activations(workload))
    first = execute(workload, calibration[:1].reshape(1, -1), run)
    graph = workload.graph
    for layer in workload.layers:
        reads = graph.reads.get(layer.name, ())
        if reads:
            arrays[f"{layer.name}.input"] = np.concatenate([first[t].ravel() for t in reads])
    np.savez(out / f"{name}.npz", **arrays)
    return execute(workload, test.reshape(len(test), -1), run)[workload.layers[-1].name]


def relu_layers(layers: str) -> list[str]:
    """Names of the layers marked ``relu: true`` in a ``layers:`` YAML block."""
    import yaml

    return [layer["name"] for layer in yaml.safe_load(layers)["layers"] if layer.get("relu")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "workloads")
    args = parser.parse_args()
    train_x, train_y, eval_x, eval_y = split(args.seed)
    calibration_x = eval_x[:CALIBRATION]
    test_x, test_y = eval_x[CALIBRATION:], eval_y[CALIBRATION:]
    cnn = train_cnn(train_x, train_y, args.seed)
    reference, _ = cnn_forward(cnn, test_x)
    top1 = float(np.mean(reference.argmax(axis=1) == test_y))
    note = (f"digits CNN (conv-pool-conv-pool-fc), seed {args.seed}, FP32 test top-1 "
            f"{top1:.4f} on the {TEST} test images of digits.npz")  # fmt: skip
    logits = write_model(args.out, "digits_cnn", CNN_LAYERS, cnn, calibration_x, test_x, note)
    worst = float(np.max(np.abs(logits - reference)) / np.max(np.abs(reference)))
    if not worst < MATCH_RELATIVE:
        raise ReferenceMismatch(
            f"npusim's FP32 pass differs from the training forward by {worst:.3g} of the "
            f"largest logit (allowed {MATCH_RELATIVE:g})"
        )
    mlp = train_mlp(train_x, train_y, args.seed)
    mlp_logits = write_model(args.out, "digits_mlp", MLP_LAYERS, mlp, calibration_x, test_x,
                             "digits MLP")  # fmt: skip
    mlp_top1 = float(np.mean(mlp_logits.argmax(axis=1) == test_y))
    mlp_note = (f"digits MLP (64-32-10), seed {args.seed}, FP32 test top-1 {mlp_top1:.4f} on "
                f"the {TEST} test images of digits.npz")  # fmt: skip
    write_model(args.out, "digits_mlp", MLP_LAYERS, mlp, calibration_x, test_x, mlp_note)
    np.savez_compressed(args.out / "digits.npz", inputs=eval_x, labels=eval_y,
             calibration_samples=np.int64(CALIBRATION))  # fmt: skip
    from digits_onnx import write_onnx_models  # tools/ is on sys.path when run as a script

    write_onnx_models(args.out)
    print(f"digits_cnn FP32 top-1 {top1:.4f}, digits_mlp {mlp_top1:.4f} ({TEST} test images)")


if __name__ == "__main__":
    main()
