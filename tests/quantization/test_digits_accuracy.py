"""Float vs int8 accuracy of a real classifier: a small CNN trained here on sklearn's digits.

The network (tests/quantization/digits_cnn.py) trains in numpy in about half a second to
~97 % held-out accuracy. Two ways to int8, both calibrated on training images:
onnxruntime's ``quantize_static`` (QDQ, per-channel int8) then ``graph-fold-qdq`` +
``canopy-cleanup``; and canopy_mlir's own ``graph-quantize`` (per-channel, symmetric,
min/max) of the float graph. Each yields conv_integer / matmul_integer / requantize, and
runs with the float graph through the reference interpreter on the 450 held-out images. Independent checks: the float graph's
logits against the numpy forward pass used for training, the accuracies against the
labels, and our int8 graph's decisions against onnxruntime running the QDQ model itself.

The whole module takes about 3-4 s (loading scikit-learn's data is most of it).
"""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.dialects import graph
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.quantization.accuracy import (
    classification_accuracy,
    compare,
    top1_agreement,
)
from quantization import digits_cnn

pytest.importorskip("sklearn")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxruntime.quantization")


METHODS = ["onnxruntime-qdq", "graph-quantize"]
"""How the int8 model is made: onnxruntime's quantize_static then graph-fold-qdq, or
canopy_mlir's own post-training quantization (graph-quantize) of the float graph."""


@pytest.fixture(scope="module")
def trained():
    data = digits_cnn.load_split()
    net = digits_cnn.train(data)
    batch = len(data.x_test)
    float_model = digits_cnn.to_onnx(net, batch)
    n = len(data.x_train)
    calibration = [{"x": data.x_train[start : start + batch]} for start in (0, batch, n - batch)]
    float_module = digits_cnn.apply_pipeline(import_onnx(float_model), "canopy-cleanup")
    return data, net, float_model, calibration, float_module


@pytest.fixture(scope="module", params=METHODS)
def quantized(request, trained):
    """(method, int8 module, the QDQ model onnxruntime wrote or None)."""
    _, _, float_model, calibration, _ = trained
    if request.param == "onnxruntime-qdq":
        qdq_model = digits_cnn.quantize_qdq(float_model, calibration)
        return request.param, digits_cnn.apply_pipeline(import_onnx(qdq_model), digits_cnn.QDQ_PIPELINE), qdq_model
    if not digits_cnn.graph_quantize_available():
        pytest.skip("this checkout has no graph-quantize pass")
    return request.param, digits_cnn.graph_quantize(import_onnx(float_model), calibration), None


def test_float_model_is_really_trained(trained) -> None:
    data, net, _, _, float_module = trained
    (logits,) = run_graph(float_module, [data.x_test])
    expected = digits_cnn.forward(digits_cnn.params_of(net), data.x_test)
    np.testing.assert_allclose(logits, expected, rtol=1e-4, atol=1e-4)
    hits = sum(int(np.argmax(row) == label) for row, label in zip(logits, data.y_test, strict=True))
    assert hits / len(data.y_test) >= 0.90
    # numpy and the interpreter sum in different orders: allow one near-tie to flip
    assert net.test_accuracy == pytest.approx(hits / len(data.y_test), abs=1.5 / len(data.y_test))


def _float_ops_inside(module: ModuleOp) -> list[str]:
    """Ops with a float operand or result, other than constants, the input's
    quantize_linear and the output's dequantize_linear (the model's float boundary)."""
    found = []
    for op in module.walk():
        if not isinstance(op, graph.GraphOp) or isinstance(op, graph.ConstantOp):
            continue
        if isinstance(op, graph.QuantizeLinearOp) and not isinstance(op.input.owner, graph.GraphOp):
            continue
        if isinstance(op, graph.DequantizeLinearOp) and all(u.operation.name == "func.return" for u in op.result.uses):
            continue
        values = [*op.operands, *op.results]
        if any(str(v.type.element_type).startswith("f") for v in values if not isinstance(v.owner, graph.ConstantOp)):
            found.append(op.name)
    return found


def test_quantized_graph_is_integer(quantized) -> None:
    _, int8_module, _ = quantized
    names = [op.name for op in int8_module.walk()]
    assert names.count("graph.conv_integer") == 2
    assert names.count("graph.matmul_integer") == 1
    assert names.count("graph.requantize") == 3
    assert not {"graph.conv", "graph.gemm", "graph.matmul"} & set(names)
    # At most the flatten may stay float (dequantize -> reshape -> quantize with the same
    # scale and zero point: exact layout glue, which the folds may turn into an i8
    # reshape); no arithmetic op.
    glue = {"graph.dequantize_linear", "graph.reshape", "graph.flatten", "graph.quantize_linear"}
    assert set(_float_ops_inside(int8_module)) <= glue


def test_int8_accuracy_close_to_float(trained, quantized) -> None:
    data, net, _, _, float_module = trained
    method, int8_module, qdq_model = quantized
    report = compare(float_module, int8_module, [data.x_test], labels=data.y_test, name=f"digits CNN ({method})")
    print()
    print(report.format())
    assert report.samples == len(data.y_test) and report.classes == 10
    assert report.float_accuracy == pytest.approx(net.test_accuracy, abs=1.5 / len(data.y_test))
    assert report.float_accuracy >= 0.90
    assert report.accuracy_drop <= 2.0
    assert report.top1_agreement >= 0.95
    assert report.cosine_mean >= 0.99
    assert report.reference_top1_classes == 10
    if qdq_model is None:
        return
    # onnxruntime's own execution of the QDQ model is an independent int8 oracle.
    session = ort.InferenceSession(qdq_model.SerializeToString(), providers=["CPUExecutionProvider"])
    (ort_logits,) = session.run(None, {"x": data.x_test})
    (ours,) = run_graph(int8_module, [data.x_test])
    assert top1_agreement(ort_logits, ours) >= 0.98
    assert abs(classification_accuracy(ort_logits, data.y_test) - report.quantized_accuracy) <= 0.01
