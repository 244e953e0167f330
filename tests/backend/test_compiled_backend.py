"""The ONNX backend's compiled path (``CompiledExecutor``): card for quantized models,
interpreter (with a logged reason) for the rest, bugs never swallowed.

Oracles: ONNX's reference evaluator (``onnx.reference``) for a QLinearMatMul node, the
graph interpreter on the quantized graph for a QDQ CNN (bit-exact), and the interpreter
on the QDQ graph (within one output step). Takes about 4 s.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import onnx.numpy_helper
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import canopy_mlir.api
import canopy_mlir.backend as backend
from canopy_mlir.interpreters.graph_interpreter import run_graph

_QLINEAR_INPUTS = ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"]


@pytest.fixture(scope="module")
def models(small_cnn_paths: dict[str, Path]) -> dict[str, onnx.ModelProto]:
    pytest.importorskip("onnxruntime.quantization")
    return {kind: onnx.load(path) for kind, path in small_cnn_paths.items()}


def _qlinear_matmul(b_zero_point: int, b_batch: tuple[int, ...] = ()) -> tuple[onnx.NodeProto, list[np.ndarray]]:
    rng = np.random.default_rng(0)
    node = helper.make_node("QLinearMatMul", _QLINEAR_INPUTS, ["y"])
    inputs = [rng.integers(-128, 128, (4, 32)).astype(np.int8), np.array([0.05], np.float32),
              np.array([3], np.int8), rng.integers(-100, 100, (*b_batch, 32, 16)).astype(np.int8),
              np.array([0.02], np.float32), np.array([b_zero_point], np.int8), np.array([0.9], np.float32),
              np.array([-2], np.int8)]
    return node, inputs


def _onnx_reference(node: onnx.NodeProto, inputs: list[np.ndarray]) -> np.ndarray:
    infos = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape)
             for n, x in zip(node.input, inputs, strict=True)]
    model = helper.make_model(helper.make_graph([node], "g", infos, [helper.make_tensor_value_info(
        "y", TensorProto.INT8, None)]))
    return ReferenceEvaluator(model).run(None, dict(zip(node.input, inputs, strict=True)))[0]


def _runners(rep: backend.CanopyBackendRep) -> list:
    return [runner for runner, _ in rep._runners.values()]


def test_a_qlinear_matmul_node_runs_on_the_card_bit_exactly(caplog) -> None:
    node, inputs = _qlinear_matmul(b_zero_point=0)
    model = backend._node_model(node, inputs, None, 21)
    rep = backend.prepare(model, executor=backend.CompiledExecutor(card="sim"))
    assert rep.bound_inputs == frozenset(_QLINEAR_INPUTS[1:])  # weights and parameters
    with caplog.at_level(logging.DEBUG, logger="canopy_mlir.backend"):
        (y,) = rep.run(inputs)
    assert "card (sim): 1 launches" in caplog.text
    assert [hasattr(r, "compiled") for r in _runners(rep)] == [True]
    assert y.dtype == np.int8 and np.array_equal(y, _onnx_reference(node, inputs))


def test_a_weight_zero_point_outside_int8_still_runs_on_the_card(caplog) -> None:
    node, inputs = _qlinear_matmul(b_zero_point=-100)  # b - zp leaves int8: split in two terms
    with caplog.at_level(logging.DEBUG, logger="canopy_mlir.backend"):
        (y,) = backend.run_node(node, inputs, executor=backend.CompiledExecutor(card="sim"))
    assert "card (sim): 1 launches" in caplog.text
    assert np.array_equal(y, _onnx_reference(node, inputs))


def test_a_model_the_card_cannot_take_falls_back(caplog) -> None:
    # a 2-D a against a batched b (broadcast): graph-fold-qdq folds a 2-D b only, and
    # graph-batched-matmul-to-conv needs a's batch dimensions to match b's.
    node, inputs = _qlinear_matmul(b_zero_point=0, b_batch=(2,))
    with caplog.at_level(logging.DEBUG, logger="canopy_mlir.backend"):
        (y,) = backend.run_node(node, inputs, executor=backend.CompiledExecutor(card="sim"))
    assert "interpreter: nothing of this model runs on the card" in caplog.text
    assert y.shape == (2, 4, 16) and np.array_equal(y, _onnx_reference(node, inputs))


def test_a_qdq_model_runs_on_pocl(models) -> None:
    x = np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)
    rep = backend.prepare(models["qdq"])  # the default executor: compiled, PoCL
    (y,) = rep.run([x])
    (runner,) = _runners(rep)
    compiled = runner.compiled
    assert compiled.summary()["launches"] >= 5
    assert np.array_equal(y, run_graph(compiled.ir["quantized"], [x])[0])
    (y_qdq,) = backend.prepare(models["qdq"], executor=backend.InterpreterExecutor()).run([x])
    scales = {t.name: onnx.numpy_helper.to_array(t) for t in models["qdq"].graph.initializer}
    step = float(scales["y_scale"])  # one output quantization step
    assert 0 < np.max(np.abs(y - y_qdq)) <= step * 1.01 or np.array_equal(y, y_qdq)


def test_a_float_model_runs_in_the_interpreter(models, caplog) -> None:
    x = np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)
    with caplog.at_level(logging.DEBUG, logger="canopy_mlir.backend"):
        rep = backend.prepare(models["float"])
    assert "interpreter: a float model" in caplog.text
    (runner,) = _runners(rep)
    assert not hasattr(runner, "compiled")
    assert np.allclose(rep.run([x])[0], onnx_reference_float(models["float"], x), rtol=1e-4, atol=1e-5)


def onnx_reference_float(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    return ReferenceEvaluator(model).run(None, {"x": x})[0]


def test_compile_errors_fall_back_and_bugs_propagate(models, monkeypatch, caplog) -> None:
    with caplog.at_level(logging.DEBUG, logger="canopy_mlir.backend"):
        rep = backend.prepare(models["qdq"], executor=backend.CompiledExecutor(config="nonesuch"))
    assert "interpreter: the compile failed at options" in caplog.text
    assert not hasattr(_runners(rep)[0], "compiled")

    def broken(*args, **kwargs):
        raise RuntimeError("a compiler bug")

    monkeypatch.setattr(canopy_mlir.api, "compile", broken)
    with pytest.raises(RuntimeError, match="a compiler bug"):
        backend.prepare(models["qdq"])
