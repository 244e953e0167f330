"""graph-quantize: post-training quantization of float graphs into the integer form.

A small CNN with random weights (built with onnx.helper, imported) is quantized on random
calibration inputs; on held-out random inputs its output must stay close to the float
graph's (cosine similarity >= 0.99), with every conv / gemm / add / pool in integer form.
The expected values come from running the untouched float graph, never from the pass.
Takes about 5 s on 2 cores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp
from xdsl.parser import Parser

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.quantization.calibration import (
    CalibrationError,
    input_specs,
    random_calibration,
    save_calibration,
)
from canopy_mlir.transforms import ALL_PASSES, collecting_statistics
from canopy_mlir.transforms.graph_quantize import GraphQuantize, GraphQuantizeError

SHAPE = [1, 3, 12, 12]


def _cnn(seed: int = 0) -> ModuleOp:
    """conv 3->16 + relu, maxpool, residual block (conv-relu-conv, add, relu), average
    pool 2x2, global average pool, flatten, gemm 16->10; He-initialised random weights."""
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:]))
        return (rng.normal(size=shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    n = helper.make_node
    nodes = [
        n("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]), n("Relu", ["c1"], ["r1"]),
        n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "W2", "B2"], ["c2"], pads=[1, 1, 1, 1]), n("Relu", ["c2"], ["r2"]),
        n("Conv", ["r2", "W3", "B3"], ["c3"], pads=[1, 1, 1, 1]), n("Add", ["c3", "p1"], ["a"]),
        n("Relu", ["a"], ["r3"]), n("AveragePool", ["r3"], ["ap"], kernel_shape=[2, 2], strides=[2, 2]),
        n("GlobalAveragePool", ["ap"], ["g"]), n("Flatten", ["g"], ["f"]),
        n("Gemm", ["f", "W4", "B4"], ["y"], transB=1),
    ]
    inits = {"W1": w(16, 3, 3, 3), "B1": w(16, 1)[:, 0] * 0.1, "W2": w(16, 16, 3, 3), "B2": w(16, 1)[:, 0] * 0.1,
             "W3": w(16, 16, 3, 3), "B3": w(16, 1)[:, 0] * 0.1, "W4": w(10, 16), "B4": w(10, 1)[:, 0] * 0.1}
    g = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in inits.items()],
    )
    return import_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]))


def _quantize(module: ModuleOp, **options) -> dict[str, int]:
    pass_ = GraphQuantize(**options)
    with collecting_statistics(pass_) as stats:
        pass_.apply(make_context(), module)
    module.verify()
    counters: dict[str, int] = {}
    for s in stats:
        counters.update(s.counters)
    return counters


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _compute_ops(module: ModuleOp) -> set[str]:
    skip = (graph.ConstantOp, graph.QuantizeLinearOp, graph.DequantizeLinearOp)
    return {op.name for op in module.walk() if isinstance(op, graph.GraphOp) and not isinstance(op, skip)}


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"symmetric": False},
        {"per_channel": False},
        {"method": "percentile", "percentile": 99.9},
        {"symmetric": False, "per_channel": False, "multiplier_bits": 32},
    ],
    ids=["int8-sym-per-channel", "uint8-asym", "per-tensor-weights", "percentile", "asym-per-tensor-32bit"],
)
def test_quantized_cnn_tracks_the_float_cnn(options: dict) -> None:
    float_module, quantized = _cnn(), _cnn()
    counters = _quantize(quantized, calibration_random=16, seed=1, **options)
    assert counters["quantized-conv"] == 3 and counters["quantized-gemm"] == 1 and counters["quantized-add"] == 1
    assert counters["folded-conv"] == 3 and counters["folded-matmul"] == 1 and counters["folded-add"] == 1
    assert counters["folded-pool"] == 3 and counters["skipped-inexact"] == 0 and counters["skipped-unsupported"] == 0
    assert not any(k.startswith("float-") for k in counters), counters
    ops = _compute_ops(quantized)
    assert not ops & {"graph.conv", "graph.gemm", "graph.add_f32", "graph.average_pool", "graph.global_average_pool"}
    assert {"graph.conv_integer", "graph.matmul_integer", "graph.requantize", "graph.cast", "graph.max_pool"} <= ops
    rng = np.random.default_rng(1234)  # held out: not the calibration seed
    xs = [rng.standard_normal(SHAPE).astype(np.float32) for _ in range(16)]
    expected = np.stack([run_graph(float_module, [x])[0] for x in xs])
    actual = np.stack([run_graph(quantized, [x])[0] for x in xs])
    cosines = [_cosine(e, a) for e, a in zip(expected, actual, strict=True)]
    agree = int((expected.argmax(-1) == actual.argmax(-1)).sum())
    # Random-weight logits share a large input-independent part (outputs of two different
    # inputs already have cosine ~0.99), so also compare the input-dependent part: the
    # outputs minus the float outputs' mean over the held-out set.
    mean = expected.mean(axis=0)
    signal = _cosine(expected - mean, actual - mean)
    control = _cosine(expected - mean, np.roll(expected, 1, axis=0) - mean)  # wrong inputs
    print(f"{options or 'defaults'}: cosine min {min(cosines):.4f} mean {np.mean(cosines):.4f}, "
          f"input-dependent cosine {signal:.4f} (control {control:.3f}), top-1 agreement {agree}/16")
    assert min(cosines) >= 0.99
    assert signal >= 0.95 and control < 0.5
    assert agree >= 12


def test_npz_round_trip_gives_the_same_module(tmp_path: Path) -> None:
    """calibration=<file> with the samples calibration-random would draw (stacked on a new
    axis, and as one batch along axis 0) gives exactly the module calibration-random gives."""
    reference = _cnn()
    _quantize(reference, calibration_random=3, seed=5)
    function = next(op for op in _cnn().walk() if op.name == "func.func")
    samples = random_calibration(input_specs(function), 3, seed=5)
    stacked, batched = tmp_path / "stacked.npz", tmp_path / "batched.npz"
    save_calibration(stacked, samples)
    np.savez(batched, x=np.concatenate([s["x"] for s in samples], axis=0))  # [3, 3, 12, 12]: batch 1 each
    for path in (stacked, batched):
        module = _cnn()
        counters = _quantize(module, calibration=str(path))
        assert counters["calibration-samples"] == 3
        assert str(module) == str(reference)


@pytest.mark.parametrize(
    "make, options, message",
    [
        (None, {}, "graph-quantize needs calibration inputs: give calibration=<file.npz> or calibration-random=<N>"),
        (None, {"calibration": "a.npz", "calibration_random": 2}, "either calibration or calibration-random, not both"),
        (None, {"calibration_random": 2, "method": "entropy"}, "method must be one of minmax, percentile, got 'entropy'"),
        (None, {"calibration": "/nonexistent/cal.npz"}, "calibration file /nonexistent/cal.npz does not exist"),
        ({"y": np.zeros(SHAPE, np.float32)}, {}, r"has no array named 'x' \(the function's inputs: x; the file has: y\)"),
        ({"x": np.zeros([1, 3, 12, 11], np.float32)}, {}, r"array 'x' has shape \[1, 3, 12, 11\]; the input is \[1, 3, 12, 12\]"),
        ({"x": np.zeros(SHAPE, np.float64)}, {}, "array 'x' has dtype float64, but the input is float32"),
    ],
    ids=["no-option", "both", "method", "missing-file", "missing-input", "shape", "dtype"],
)
def test_errors_say_what_is_wrong(make, options, message, tmp_path: Path) -> None:
    if make is not None:
        path = tmp_path / "cal.npz"
        np.savez(path, **make)
        options = {"calibration": str(path)}
    module = _cnn()
    before = str(module)
    with pytest.raises(CalibrationError, match=message):
        _quantize(module, **options)
    assert str(module) == before  # nothing half-done


def test_graph_quantize_error_is_a_calibration_error_and_value_error() -> None:
    assert issubclass(GraphQuantizeError, CalibrationError) and issubclass(GraphQuantizeError, ValueError)
    assert ALL_PASSES["graph-quantize"]() is GraphQuantize


def test_ops_it_cannot_quantize_stay_float_and_are_counted() -> None:
    text = """
    func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
      %w = graph.constant dense<0.5> : tensor<4x4xf32>
      %m = graph.matmul %x, %w : (tensor<1x4xf32>, tensor<4x4xf32>) -> tensor<1x4xf32>
      %s = graph.sigmoid %m : (tensor<1x4xf32>) -> tensor<1x4xf32>
      %o = graph.softmax %s : (tensor<1x4xf32>) -> tensor<1x4xf32>
      func.return %o : tensor<1x4xf32>
    }
    """
    module = Parser(make_context(), text).parse_module()
    counters = _quantize(module, calibration_random=4)
    assert counters["folded-matmul"] == 1
    assert counters["float-sigmoid"] == 1 and counters["float-softmax"] == 1
    assert "graph.matmul_integer" in _compute_ops(module)
    x = np.linspace(-1, 1, 4, dtype=np.float32).reshape(1, 4)
    reference = Parser(make_context(), text).parse_module()
    assert _cosine(run_graph(module, [x])[0], run_graph(reference, [x])[0]) > 0.999
