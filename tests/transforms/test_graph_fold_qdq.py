"""graph-fold-qdq on models quantized by onnxruntime's quantize_static (QDQ format).

Each model is built here with onnx.helper, calibrated on a few random inputs, imported,
folded, and run through the reference interpreter before and after the pass. The folded
graph must agree with the QDQ graph within one output quantization step (measured on
fresh random inputs), and no float op may remain on the data path between the input's
quantize_linear and the output's dequantize_linear (except where the pass says it left a
pattern alone: the residual add).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters import graph_reference
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.transforms import collecting_statistics
from canopy_mlir.transforms.graph_fold_qdq import GraphFoldQdq

quantization = pytest.importorskip("onnxruntime.quantization")
logging.getLogger().setLevel(logging.ERROR)  # quantize_static's pre-processing advice

RNG_SEED = 4


def _model(nodes: list, inits: dict[str, np.ndarray], x_shape: list[int], y_shape: list[int]) -> onnx.ModelProto:
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def _float_models() -> dict[str, tuple[onnx.ModelProto, list[int]]]:
    rng = np.random.default_rng(RNG_SEED)

    def f(*shape: int) -> np.ndarray:
        return rng.normal(size=shape).astype(np.float32)

    conv_relu = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])]
    residual = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Add", ["c", "x"], ["y"])]
    return {
        "conv_relu": (_model(conv_relu, {"W": f(8, 3, 3, 3), "B": f(8)}, [1, 3, 8, 8], [1, 8, 8, 8]), [1, 3, 8, 8]),
        "residual": (_model(residual, {"W": f(3, 3, 3, 3)}, [1, 3, 6, 6], [1, 3, 6, 6]), [1, 3, 6, 6]),
        "gemm": (_model([helper.make_node("Gemm", ["x", "B", "C"], ["y"], transB=1)], {"B": f(5, 16), "C": f(5)}, [2, 16], [2, 5]), [2, 16]),
        "matmul": (_model([helper.make_node("MatMul", ["x", "B"], ["y"])], {"B": f(16, 5)}, [2, 3, 16], [2, 3, 5]), [2, 3, 16]),
    }


class _Reader(quantization.CalibrationDataReader):
    """A handful of random calibration batches (fixed seed)."""

    def __init__(self, shape: list[int], count: int = 4):
        rng = np.random.default_rng(RNG_SEED + 1)
        self._batches = iter([{"x": rng.normal(size=shape).astype(np.float32)} for _ in range(count)])

    def get_next(self) -> dict | None:
        return next(self._batches, None)


CONFIGS = {
    "per-channel-int8": (True, "QInt8"),
    "per-tensor-uint8": (False, "QUInt8"),
    "per-channel-uint8": (True, "QUInt8"),
    "per-tensor-int8": (False, "QInt8"),
}


def _quantized(name: str, config: str, tmp_path: Path) -> tuple[onnx.ModelProto, list[int]]:
    model, shape = _float_models()[name]
    per_channel, activation = CONFIGS[config]
    src, dst = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(model, src)
    quantization.quantize_static(
        str(src), str(dst), _Reader(shape), quant_format=quantization.QuantFormat.QDQ,
        per_channel=per_channel, activation_type=getattr(quantization.QuantType, activation),
        weight_type=quantization.QuantType.QInt8,
    )
    return onnx.load(dst), shape


def _fold(module: ModuleOp) -> dict[str, int]:
    pass_ = GraphFoldQdq()
    with collecting_statistics(pass_) as stats:
        pass_.apply(make_context(), module)
    module.verify()
    return stats[0].counters


def _float_ops_between_q_and_dq(module: ModuleOp) -> list[str]:
    """Ops with a float operand or result, other than the first Q's input side and the
    last DQ's result (the model's float boundary) and the scale constants."""
    found = []
    for op in module.walk():
        if not isinstance(op, graph.GraphOp) or isinstance(op, graph.ConstantOp):
            continue
        if isinstance(op, graph.QuantizeLinearOp) and op.input.owner is not None and not isinstance(op.input.owner, graph.GraphOp):
            continue  # the first Q: reads the function argument
        if isinstance(op, graph.DequantizeLinearOp) and all(u.operation.name == "func.return" for u in op.result.uses):
            continue  # the last DQ: feeds the return
        values = [*op.operands, *op.results]
        if any(str(v.type.element_type) == "f32" for v in values if not isinstance(v.owner, graph.ConstantOp)):
            found.append(op.name)
    return found


def _error_in_steps(original: ModuleOp, folded: ModuleOp, model: onnx.ModelProto, shape: list[int]) -> tuple[float, float]:
    """Largest difference and fraction of differing outputs, in output quantization steps."""
    y_scale = next(numpy_helper.to_array(i) for i in model.graph.initializer if i.name == "y_scale")
    rng = np.random.default_rng(RNG_SEED + 2)
    worst, differing, total = 0.0, 0, 0
    for _ in range(8):
        x = (rng.normal(size=shape) * 1.5).astype(np.float32)
        a, b = run_graph(original, [x])[0], run_graph(folded, [x])[0]
        steps = np.abs(a.astype(np.float64) - b.astype(np.float64)) / float(y_scale)
        worst, differing, total = max(worst, float(steps.max())), differing + int((steps > 0.5).sum()), total + steps.size
    return worst, differing / total


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("name", ["conv_relu", "gemm", "matmul", "residual"])
def test_folded_graph_matches_qdq_graph(name: str, config: str, tmp_path: Path) -> None:
    model, shape = _quantized(name, config, tmp_path)
    original, folded = import_onnx(model), import_onnx(model)
    counters = _fold(folded)
    worst, differing = _error_in_steps(original, folded, model, shape)
    print(f"{name:10s} {config:18s} max error {worst:.3f} steps, {differing:.2%} outputs differ")
    assert worst <= 1.0 + 1e-4
    assert differing <= 0.05  # off-by-one only at rounding ties / float32 rounding
    folded_kind = "folded-conv" if name in ("conv_relu", "residual") else "folded-matmul"
    assert counters[folded_kind] == 1 and counters["skipped-inexact"] == 0 and counters["skipped-unsupported"] == 0
    names = {op.name for op in folded.walk()}
    assert "graph.requantize" in names and not names & {"graph.conv", "graph.gemm", "graph.matmul"}
    if name == "residual":
        assert counters["skipped-add"] == 1
        assert _float_ops_between_q_and_dq(folded) == ["graph.dequantize_linear", "graph.dequantize_linear", "graph.add", "graph.quantize_linear"]
    else:
        assert _float_ops_between_q_and_dq(folded) == []


@pytest.mark.parametrize("config", ["per-channel-int8", "per-tensor-uint8"])
def test_differences_only_at_rounding_ties(config: str, tmp_path: Path) -> None:
    """Exact where the math allows: the folded conv differs from the QDQ graph only where
    the exact value ``acc * s`` and the fixed-point ``acc * m / 2^shift`` lie on either side
    of a rounding tie ``k + 0.5`` (or within float32 rounding of one)."""
    model, shape = _quantized("conv_relu", config, tmp_path)
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    original, folded = import_onnx(model), import_onnx(model)
    _fold(folded)
    props = next(op for op in folded.walk() if isinstance(op, graph.RequantizeOp)).props_dict()
    channels = (1, 8, 1, 1)
    exact_scale = np.broadcast_to(
        float(init["x_scale"]) * init["W_scale"].astype(np.float64) / float(init["y_scale"]), (8,)
    ).reshape(channels)
    fixed_scale = np.broadcast_to(
        np.asarray(props["multiplier"]) / 2.0 ** np.asarray(props["shift"]), (8,)
    ).reshape(channels)
    rng = np.random.default_rng(RNG_SEED + 3)
    compared = 0
    for _ in range(20):
        x = (rng.normal(size=shape) * 1.5).astype(np.float32)
        a, b = run_graph(original, [x])[0], run_graph(folded, [x])[0]
        xq = graph_reference.quantize_linear(x, init["x_scale"], init["x_zero_point"])
        acc = graph_reference.conv_integer(
            xq, init["W_quantized"], init["x_zero_point"], init["W_zero_point"], pads=[1, 1, 1, 1]
        ).astype(np.int64) + init["B_quantized"].reshape(channels)
        exact, fixed = acc * exact_scale, acc * fixed_scale
        low, high = np.minimum(exact, fixed) - 1e-4, np.maximum(exact, fixed) + 1e-4
        tie_between = np.floor(high - 0.5) >= np.ceil(low - 0.5)  # some k + 0.5 in [low, high]
        differs = np.abs(a - b) > 0
        assert not np.any(differs & ~tie_between)
        compared += a.size
    assert compared == 20 * 512


def test_weights_are_folded_to_int8_constants(tmp_path: Path) -> None:
    model, _ = _quantized("conv_relu", "per-channel-int8", tmp_path)
    folded = import_onnx(model)
    _fold(folded)
    conv = next(op for op in folded.walk() if isinstance(op, graph.ConvIntegerOp))
    weight = conv.weight.owner.value_array()
    expected = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "W_quantized"))
    np.testing.assert_array_equal(weight, expected)
    requantize = next(op for op in folded.walk() if isinstance(op, graph.RequantizeOp))
    props = requantize.props_dict()
    assert len(props["multiplier"]) == 8 and all(0 < m < 2**15 for m in props["multiplier"])
    # The relu is absorbed: quantize_static chose the zero point at qmin, so no clip is left.
    assert props["output_zero_point"] == -128 and not any(isinstance(op, graph.ClipOp) for op in folded.walk())


def _qlinear_module(bias: bool) -> tuple[ModuleOp, np.ndarray]:
    rng = np.random.default_rng(7)
    w = rng.integers(-127, 128, size=(4, 3, 3, 3)).astype(np.int8)
    inits = [
        numpy_helper.from_array(np.float32(0.05), "xs"), numpy_helper.from_array(np.uint8(120), "xz"),
        numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.asarray([0.01, 0.02, 0.015, 0.03], np.float32), "ws"),
        numpy_helper.from_array(np.zeros(4, np.int8), "wz"),
        numpy_helper.from_array(np.float32(0.2), "ys"), numpy_helper.from_array(np.uint8(10), "yz"),
        numpy_helper.from_array(rng.integers(-2000, 2000, size=4).astype(np.int32), "b"),
    ]
    inputs = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"] + (["b"] if bias else [])
    node = helper.make_node("QLinearConv", inputs, ["y"], pads=[1, 1, 1, 1])
    g = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, 3, 5, 5])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, 4, 5, 5])], inits,
    )
    x = rng.integers(0, 256, size=(1, 3, 5, 5)).astype(np.uint8)
    return import_onnx(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])), x


@pytest.mark.parametrize("bias", [False, True])
def test_qlinear_conv_operator_form(bias: bool) -> None:
    original, x = _qlinear_module(bias)
    folded, _ = _qlinear_module(bias)
    counters = _fold(folded)
    assert counters["folded-qlinear-conv"] == 1
    assert not any(isinstance(op, graph.QLinearConvOp) for op in folded.walk())
    a, b = run_graph(original, [x])[0], run_graph(folded, [x])[0]
    assert a.dtype == b.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_qlinear_matmul_operator_form() -> None:
    rng = np.random.default_rng(8)
    b = rng.integers(-127, 128, size=(6, 3)).astype(np.int8)
    inits = [
        numpy_helper.from_array(np.float32(0.04), "as"), numpy_helper.from_array(np.int8(3), "az"),
        numpy_helper.from_array(b, "b"), numpy_helper.from_array(np.float32(0.02), "bs"),
        numpy_helper.from_array(np.int8(0), "bz"),
        numpy_helper.from_array(np.float32(0.5), "ys"), numpy_helper.from_array(np.int8(-5), "yz"),
    ]
    node = helper.make_node("QLinearMatMul", ["x", "as", "az", "b", "bs", "bz", "ys", "yz"], ["y"])
    g = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.INT8, [2, 6])],
        [helper.make_tensor_value_info("y", TensorProto.INT8, [2, 3])], inits,
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    original, folded = import_onnx(model), import_onnx(model)
    counters = _fold(folded)
    assert counters["folded-qlinear-matmul"] == 1
    x = rng.integers(-128, 128, size=(2, 6)).astype(np.int8)
    a, c = run_graph(original, [x])[0], run_graph(folded, [x])[0]
    assert np.abs(a.astype(int) - c.astype(int)).max() <= 1


def test_leaves_inexact_pattern_alone_and_says_why() -> None:
    """A huge output range (tiny output scale) with a 16-bit multiplier misses one step."""
    text = """
    func.func @f(%x: tensor<1x64xi8>) -> tensor<1x4xi8> {
      %xs = graph.constant dense<1.0> : tensor<f32>
      %xz = graph.constant dense<0> : tensor<i8>
      %w = graph.constant dense<127> : tensor<64x4xi8>
      %ws = graph.constant dense<1.0> : tensor<f32>
      %ys = graph.constant dense<0.00001> : tensor<f32>
      %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<1x64xi8>, tensor<f32>, tensor<i8>) -> tensor<1x64xf32>
      %wf = graph.dequantize_linear %w, %ws : (tensor<64x4xi8>, tensor<f32>) -> tensor<64x4xf32>
      %m = graph.matmul %xf, %wf : (tensor<1x64xf32>, tensor<64x4xf32>) -> tensor<1x4xf32>
      %y = graph.quantize_linear %m, %ys, %xz : (tensor<1x4xf32>, tensor<f32>, tensor<i8>) -> tensor<1x4xi8>
      func.return %y : tensor<1x4xi8>
    }
    """
    from xdsl.parser import Parser

    module = Parser(make_context(), text).parse_module()
    counters = _fold(module)
    assert counters["skipped-inexact"] == 1 and counters["folded-matmul"] == 0
    assert any(isinstance(op, graph.MatMulOp) for op in module.walk())
