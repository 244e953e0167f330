"""Seeded float ONNX models for end-to-end tests and benchmarks (issue 5's networks).

- :func:`resnet18_style`: a ResNet-18-style network built with ``onnx.helper``
  (moved from ``benchmarks/bench_card_utilisation.py``'s ``resnet18``);
- :func:`resnet50_light`: the light ResNet-50 shipped in the onnx wheel
  (``onnx/backend/test/data/light/light_resnet50.onnx``) with its splat weights replaced
  by random ones (:func:`with_random_weights`, moved from
  ``tests/backend/test_light_models.py``), converted to opset 17;
- :func:`mobilenet_style`: a MobileNet-v1-style network (3x3 depthwise + 1x1 pointwise
  blocks with relu6 as ``Clip(0, 6)``), written for these tests.

Every builder is deterministic for a given seed. Weights are He-initialised, so
activations stay O(1) through the depth; note that a deep float network with random
weights maps most inputs to nearly the same output direction (see
:mod:`canopy_mlir.quantization.accuracy`), so compare outputs with the batch mean
subtracted as well as raw.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, version_converter

LIGHT_RESNET50 = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_resnet50.onnx"
OPSET = 17


def _he(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32) * np.float32(math.sqrt(2 / fan_in))


# ------------------------------------------------------------------ ResNet-18 style
def resnet18_style(size: int = 224, seed: int = 0) -> onnx.ModelProto:
    """A ResNet-18-style float model: conv 7x7/2 + relu, max pool 3x3/2, four stages of
    two basic blocks (64, 128, 256, 512 channels; 1x1/2 projection where the shape
    changes), global average pool, a 1000-way gemm. He-init weights, small biases.
    Input ``input`` [1, 3, size, size], output ``logits`` [1, 1000]."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def conv(x: str, cin: int, cout: int, k: int, stride: int, name: str, relu: bool) -> str:
        w = _he(rng, (cout, cin, k, k), cin * k * k)
        b = rng.normal(0.0, 0.1, cout).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"{name}.w"), numpy_helper.from_array(b, f"{name}.b")])
        nodes.append(helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [name], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        if not relu:
            return name
        nodes.append(helper.make_node("Relu", [name], [f"{name}.relu"]))
        return f"{name}.relu"

    x = conv("input", 3, 64, 7, 2, "conv1", True)
    nodes.append(helper.make_node("MaxPool", [x], ["pool1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4))
    x, cin = "pool1", 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            name = f"s{stage + 1}b{block + 1}"
            y = conv(x, cin, cout, 3, stride, f"{name}.conv1", True)
            y = conv(y, cout, cout, 3, 1, f"{name}.conv2", False)
            shortcut = conv(x, cin, cout, 1, stride, f"{name}.down", False) if stride != 1 or cin != cout else x
            nodes.append(helper.make_node("Add", [y, shortcut], [f"{name}.add"]))
            nodes.append(helper.make_node("Relu", [f"{name}.add"], [f"{name}.out"]))
            x, cin = f"{name}.out", cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    inits += [numpy_helper.from_array(_he(rng, (1000, 512), 512), "fc.w"),
              numpy_helper.from_array(rng.normal(0, 0.1, 1000).astype(np.float32), "fc.b")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "resnet18_style",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


# ------------------------------------------------------------------ MobileNet style
MOBILENET_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))
"""MobileNet v1's depthwise-separable blocks: (pointwise output channels, depthwise stride)."""


def mobilenet_style(size: int = 224, seed: int = 0, width: float = 1.0, classes: int = 1000) -> onnx.ModelProto:
    """A MobileNet-v1-style float model: conv 3x3/2 + relu6, thirteen blocks of a 3x3
    depthwise conv (``group`` = channels; stride 1 or 2) + relu6 and a 1x1 pointwise conv
    + relu6, global average pool, flatten, a ``classes``-way gemm. relu6 is
    ``Clip(x, 0, 6)``, as PyTorch exports it. ``width`` scales every channel count
    (MobileNet's width multiplier; rounded to a multiple of 8). He-init weights, small
    biases, no batch norm (folded). Input ``input`` [1, 3, size, size], output ``logits``."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    inits += [numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
              numpy_helper.from_array(np.array(6.0, np.float32), "six")]

    def channels(c: int) -> int:
        return max(8, int(round(c * width / 8)) * 8)

    def conv_relu6(x: str, cin: int, cout: int, k: int, stride: int, group: int, name: str) -> str:
        w = _he(rng, (cout, cin // group, k, k), cin // group * k * k)
        b = rng.normal(0.0, 0.1, cout).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"{name}.w"), numpy_helper.from_array(b, f"{name}.b")])
        nodes.append(helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [name], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4, group=group))
        nodes.append(helper.make_node("Clip", [name, "zero", "six"], [f"{name}.relu6"]))
        return f"{name}.relu6"

    cin = channels(32)
    x = conv_relu6("input", 3, cin, 3, 2, 1, "conv1")
    for i, (cout, stride) in enumerate(MOBILENET_BLOCKS):
        cout = channels(cout)
        x = conv_relu6(x, cin, cin, 3, stride, cin, f"b{i + 1}.dw")
        x = conv_relu6(x, cin, cout, 1, 1, 1, f"b{i + 1}.pw")
        cin = cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    inits += [numpy_helper.from_array(_he(rng, (classes, cin), cin), "fc.w"),
              numpy_helper.from_array(rng.normal(0, 0.1, classes).astype(np.float32), "fc.b")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "mobilenet_style",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


# ------------------------------------------------------------------ light ResNet-50
def resnet50_light(seed: int = 0) -> onnx.ModelProto:
    """The light ResNet-50 of the onnx wheel with random weights (:func:`with_random_weights`),
    converted to opset 17 (onnxruntime's quantizer and the importer want a recent opset).
    Outputs: the softmax, then the logits before it."""
    return version_converter.convert_version(with_random_weights(onnx.load(LIGHT_RESNET50), seed=seed), OPSET)


def _random_weight(consumer: onnx.NodeProto | None, index: int, shape, fill, rng) -> np.ndarray:
    """A random stand-in for a splat weight, scaled for its role so that activations
    stay O(1) through 20-120 layers (all-positive splats blow VGG-19 up to 1e31)."""
    op = consumer.op_type if consumer is not None else ""
    if op in ("Conv", "Gemm", "MatMul") and index == 1 and len(shape) >= 2:
        fan_in = math.prod(shape[1:]) if op == "Conv" else shape[0] if op == "MatMul" else None
        if fan_in is None:  # Gemm: transB decides which dimension is the reduction
            trans_b = next((a.i for a in consumer.attribute if a.name == "transB"), 0)
            fan_in = shape[1] if trans_b else shape[0]
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(math.sqrt(2.0 / fan_in))
    if op == "BatchNormalization":
        scale_or_var = index in (1, 4)
        return rng.uniform(0.5, 1.5, shape) if scale_or_var else rng.normal(0.0, 0.1, shape)
    if op in ("Conv", "Gemm") and index == 2:
        return rng.normal(0.0, 0.1, shape)
    return fill * rng.uniform(0.5, 1.5, shape) if fill else rng.normal(0.0, 0.1, shape)


def with_random_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """``model`` (one of the onnx wheel's light models) with each ConstantOfShape splat
    weight replaced by a random initializer, and the logits before the last Softmax added
    as an extra graph output. Splat weights make every channel equal, so a wrong
    convolution would still match; random, well-scaled weights do not."""
    model = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    graph = model.graph
    inferred = onnx.shape_inference.infer_shapes(model).graph.value_info  # cheap: no weights yet
    initializers = {t.name: t for t in graph.initializer}
    consumers = {name: (node, i) for node in graph.node for i, name in enumerate(node.input)}
    kept = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in initializers:
            kept.append(node)
            continue
        shape = [int(d) for d in numpy_helper.to_array(initializers[node.input[0]])]
        fill = numpy_helper.to_array(node.attribute[0].t).reshape(-1)[0]
        consumer, index = consumers.get(node.output[0], (None, 0))
        data = _random_weight(consumer, index, shape, float(fill), rng).astype(fill.dtype, copy=False)
        tensor = numpy_helper.from_array(data, node.output[0])
        graph.initializer.append(tensor)
        if model.ir_version < 4:  # IR 3 lists every initializer as a graph input
            graph.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, shape))
    del graph.node[:]
    graph.node.extend(kept)
    softmaxes = [n for n in kept if n.op_type == "Softmax"]
    if softmaxes:
        logits = softmaxes[-1].input[0]
        (info,) = [v for v in inferred if v.name == logits]
        graph.output.append(info)
    return model
