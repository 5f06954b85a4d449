"""Write the shipped digits models as ONNX files beside their workload YAML (needs ``onnx``).

    pip install 'npusim[onnx]'
    python tools/digits_onnx.py [--out workloads]

Reads the trained weights of ``workloads/digits_cnn.npz`` and ``digits_mlp.npz`` (written by
``tools/train_digits.py``, which also calls this) and writes ``digits_cnn.onnx`` and
``digits_mlp.onnx``: the same networks, batch 1, opset 17, in the forms exporters emit, so that
the ONNX functional path meets each way a bias arrives:

- ``digits_cnn``: ``Conv`` with its bias input ``B`` -> ``Relu`` -> ``MaxPool`` -> ``Conv``
  without ``B`` followed by ``Add`` of a ``(16, 1, 1)`` constant (TensorFlow exporters' form)
  -> ``Relu`` -> ``MaxPool`` -> ``Flatten`` -> ``Gemm`` (``transB = 1``, bias ``C``);
- ``digits_mlp``: ``MatMul`` + ``Add`` (PyTorch's ``nn.Linear`` on a 3-D input) -> ``Relu``
  -> ``Gemm``.

Node names are the YAML workloads' layer names. The files are byte-identical on every rerun
(fixed IR version, opset, producer and no timestamps).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

OPSET = 17
IR_VERSION = 8  # the IR of opset 17 (onnx 1.12+); pinned so newer onnx writes the same bytes
PRODUCER = "npusim tools/digits_onnx.py"


def cnn_graph(weights: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    from onnx import TensorProto, helper, numpy_helper

    def constant(name: str, value: np.ndarray):  # type: ignore[no-untyped-def]
        return numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name)

    nodes = [
        helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["conv1_out"],
                         "conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1_out"], ["relu1_out"], "relu1"),
        helper.make_node("MaxPool", ["relu1_out"], ["pool1_out"], "pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Conv", ["pool1_out", "conv2.weight"], ["conv2_mac"], "conv2",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["conv2_mac", "conv2.bias"], ["conv2_out"], "conv2_bias"),
        helper.make_node("Relu", ["conv2_out"], ["relu2_out"], "relu2"),
        helper.make_node("MaxPool", ["relu2_out"], ["pool2_out"], "pool2", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["pool2_out"], ["flat"], "flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], "fc", transB=1),
    ]  # fmt: skip
    initializers = [
        constant("conv1.weight", weights["conv1.weight"]),
        constant("conv1.bias", weights["conv1.bias"]),
        constant("conv2.weight", weights["conv2.weight"]),
        constant("conv2.bias", weights["conv2.bias"].reshape(-1, 1, 1)),
        constant("fc.weight", weights["fc.weight"]),
        constant("fc.bias", weights["fc.bias"]),
    ]
    return helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializers,
    )  # fmt: skip


def mlp_graph(weights: dict[str, np.ndarray]):  # type: ignore[no-untyped-def]
    from onnx import TensorProto, helper, numpy_helper

    def constant(name: str, value: np.ndarray):  # type: ignore[no-untyped-def]
        return numpy_helper.from_array(np.ascontiguousarray(value, np.float32), name)

    nodes = [
        helper.make_node("MatMul", ["input", "fc1.weight_t"], ["fc1_mac"], "fc1"),
        helper.make_node("Add", ["fc1_mac", "fc1.bias"], ["fc1_out"], "fc1_bias"),
        helper.make_node("Relu", ["fc1_out"], ["relu1_out"], "relu1"),
        helper.make_node("Flatten", ["relu1_out"], ["hidden"], "flatten", axis=1),
        helper.make_node("Gemm", ["hidden", "fc2.weight", "fc2.bias"], ["logits"], "fc2",
                         transB=1),
    ]  # fmt: skip
    initializers = [
        constant("fc1.weight_t", weights["fc1.weight"].T),
        constant("fc1.bias", weights["fc1.bias"]),
        constant("fc2.weight", weights["fc2.weight"]),
        constant("fc2.bias", weights["fc2.bias"]),
    ]
    return helper.make_graph(
        nodes, "digits_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializers,
    )  # fmt: skip


GRAPHS = {"digits_cnn": cnn_graph, "digits_mlp": mlp_graph}


def write_onnx_models(out: Path) -> list[Path]:
    """``<out>/digits_cnn.onnx`` and ``digits_mlp.onnx`` from the ``.npz`` weights in ``out``."""
    import onnx
    from onnx import helper

    written = []
    for name, graph in GRAPHS.items():
        with np.load(out / f"{name}.npz") as archive:
            weights = {key: archive[key] for key in archive.files
                       if key.endswith((".weight", ".bias"))}  # fmt: skip
        model = helper.make_model(graph(weights), producer_name=PRODUCER,
                                  opset_imports=[helper.make_opsetid("", OPSET)])  # fmt: skip
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model, full_check=True)
        path = out / f"{name}.onnx"
        path.write_bytes(model.SerializeToString(deterministic=True))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "workloads")
    for path in write_onnx_models(parser.parse_args().out):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
