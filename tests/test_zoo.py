"""canopy_mlir.zoo: the seeded float networks of the end-to-end tests and benchmarks.

Checked: valid ONNX (full shape inference), deterministic per seed, the architecture
the name promises (counted from the graph, not from the builder), and onnxruntime runs
them to finite, input-dependent outputs. Takes ~5 s (the light ResNet-50's weights).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from canopy_mlir import zoo


def _ops(model: onnx.ModelProto, op_type: str) -> list[onnx.NodeProto]:
    return [n for n in model.graph.node if n.op_type == op_type]


def _attr(node: onnx.NodeProto, name: str, default: int = 1) -> int:
    return next((a.i for a in node.attribute if a.name == name), default)


def _run(model: onnx.ModelProto, seeds: tuple[int, ...]) -> list[np.ndarray]:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    info = session.get_inputs()[0]
    return [session.run(None, {info.name: np.random.default_rng(s).standard_normal(info.shape, dtype=np.float32)})[0]
            for s in seeds]


@pytest.mark.parametrize("build", [lambda seed: zoo.resnet18_style(32, seed), lambda seed: zoo.mobilenet_style(32, seed)],
                         ids=["resnet18_style", "mobilenet_style"])
def test_builders_are_valid_and_seeded(build) -> None:
    model = build(0)
    onnx.checker.check_model(model, full_check=True)
    assert build(0).SerializeToString() == model.SerializeToString()
    assert build(1).SerializeToString() != model.SerializeToString()
    a, b = _run(model, (0, 1))
    assert a.shape == (1, 1000) and np.isfinite(a).all() and not np.array_equal(a, b)


def test_resnet18_style_architecture() -> None:
    model = zoo.resnet18_style(64)
    convs = _ops(model, "Conv")
    assert len(convs) == 1 + 16 + 3  # stem, 8 basic blocks of 2, 3 projections
    assert len(_ops(model, "Add")) == 8 and len(_ops(model, "Gemm")) == 1


def test_mobilenet_style_has_depthwise_blocks() -> None:
    model = zoo.mobilenet_style(64, width=0.5)
    inits = {t.name: t for t in model.graph.initializer}
    depthwise = [n for n in _ops(model, "Conv") if _attr(n, "group") > 1]
    assert len(depthwise) == 13
    for node in depthwise:  # one filter per channel
        assert list(inits[node.input[1]].dims)[:2] == [_attr(node, "group"), 1]
    strides = [next(list(a.ints) for a in n.attribute if a.name == "strides") for n in depthwise]
    assert sorted({s[0] for s in strides}) == [1, 2] and sum(s == [2, 2] for s in strides) == 4
    assert len(_ops(model, "Clip")) == 27 and inits[_ops(model, "Conv")[-1].input[1]].dims[0] == 512


def test_resnet50_light_has_random_weights() -> None:
    model = zoo.resnet50_light()
    assert not _ops(model, "ConstantOfShape"), "every splat weight is replaced"
    assert [o.name for o in model.graph.output][-1] == _ops(model, "Softmax")[-1].input[0], "logits output"
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    first = weights[_ops(model, "Conv")[0].input[1]]
    assert first.std() > 0 and len(np.unique(first)) > 100
