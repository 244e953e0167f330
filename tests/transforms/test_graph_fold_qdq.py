"""graph-fold-qdq on models quantized by onnxruntime's quantize_static (QDQ format).

Each model is built here with onnx.helper, calibrated on a few random inputs, imported,
folded, and run through the reference interpreter before and after the pass. The folded
graph must agree with the QDQ graph within one output quantization step (measured on
fresh random inputs), and no float op may remain on the data path between the input's
quantize_linear and the output's dequantize_linear.

Takes about 10 s on 2 cores (the residual CNN cases about half of it).
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


def _quantized(
    name: str, config: str, tmp_path: Path, symmetric: bool = False, models: dict | None = None
) -> tuple[onnx.ModelProto, list[int]]:
    model, shape = (models or _float_models())[name]
    per_channel, activation = CONFIGS[config]
    src, dst = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(model, src)
    quantization.quantize_static(
        str(src), str(dst), _Reader(shape), quant_format=quantization.QuantFormat.QDQ,
        per_channel=per_channel, activation_type=getattr(quantization.QuantType, activation),
        weight_type=quantization.QuantType.QInt8, extra_options={"ActivationSymmetric": symmetric},
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


def _error_in_steps(
    original: ModuleOp, folded: ModuleOp, model: onnx.ModelProto, shape: list[int], batches: int = 8
) -> tuple[float, float]:
    """Largest difference and fraction of differing outputs, in output quantization steps."""
    last_dq = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.output[0] == "y")
    y_scale = next(numpy_helper.to_array(i) for i in model.graph.initializer if i.name == last_dq.input[1])
    rng = np.random.default_rng(RNG_SEED + 2)
    worst, differing, total = 0.0, 0, 0
    for _ in range(batches):
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
    assert counters["folded-add"] == (1 if name == "residual" else 0)
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
    """A tiny output scale (1e-12) needs a multiplier beyond 32 bits: no integer form."""
    text = """
    func.func @f(%x: tensor<1x64xi8>) -> tensor<1x4xi8> {
      %xs = graph.constant dense<1.0> : tensor<f32>
      %xz = graph.constant dense<0> : tensor<i8>
      %w = graph.constant dense<127> : tensor<64x4xi8>
      %ws = graph.constant dense<1.0> : tensor<f32>
      %ys = graph.constant dense<1.0e-12> : tensor<f32>
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


def test_falls_back_to_a_32_bit_multiplier_when_16_bits_overflow() -> None:
    """A 18432-long reduction of 127 * 128 products (|acc| up to 2**28) leaves a 16-bit
    multiplier at most 3 bits before x * m leaves int32, too coarse for one step; the
    fold keeps the op integer with a 32-bit multiplier (graph-partition then keeps that
    requantize on the host) rather than leaving the matmul in float."""
    text = """
    func.func @f(%x: tensor<1x18432xi8>) -> tensor<1x2xi8> {
      %xs = graph.constant dense<1.0> : tensor<f32>
      %xz = graph.constant dense<0> : tensor<i8>
      %w = graph.constant dense<127> : tensor<18432x2xi8>
      %ws = graph.constant dense<1.0> : tensor<f32>
      %ys = graph.constant dense<3000.7> : tensor<f32>
      %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<1x18432xi8>, tensor<f32>, tensor<i8>) -> tensor<1x18432xf32>
      %wf = graph.dequantize_linear %w, %ws : (tensor<18432x2xi8>, tensor<f32>) -> tensor<18432x2xf32>
      %m = graph.matmul %xf, %wf : (tensor<1x18432xf32>, tensor<18432x2xf32>) -> tensor<1x2xf32>
      %y = graph.quantize_linear %m, %ys, %xz : (tensor<1x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2xi8>
      func.return %y : tensor<1x2xi8>
    }
    """
    from xdsl.parser import Parser

    original = Parser(make_context(), text).parse_module()
    folded = original.clone()
    counters = _fold(folded)
    assert counters["folded-matmul"] == 1 and counters.get("skipped-inexact", 0) == 0
    (requantize,) = [op for op in folded.walk() if isinstance(op, graph.RequantizeOp)]
    assert requantize.props_dict()["multiplier"][0] >= 1 << 15
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(20):
        x = rng.integers(-128, 128, size=(1, 18432)).astype(np.int8)
        a, b = run_graph(original, [x], "f")[0], run_graph(folded, [x], "f")[0]
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


# ------------------------------------------------------------- add, pools, relu, layout
def _residual_cnn() -> dict[str, tuple[onnx.ModelProto, list[int]]]:
    """A small ResNet-like CNN: conv-relu-maxpool, a residual block (conv-relu-conv + add,
    relu), global average pool, flatten, gemm; plus single-pattern models whose output is
    the pattern itself (so the one-step bound applies at the output)."""
    rng = np.random.default_rng(RNG_SEED + 9)

    def f(*shape: int) -> np.ndarray:
        return (rng.normal(size=shape) * 0.4).astype(np.float32)

    n = helper.make_node
    cnn = [
        n("Conv", ["x", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]), n("Relu", ["c1"], ["r1"]),
        n("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p1", "W2", "B2"], ["c2"], pads=[1, 1, 1, 1]), n("Relu", ["c2"], ["r2"]),
        n("Conv", ["r2", "W3", "B3"], ["c3"], pads=[1, 1, 1, 1]), n("Add", ["c3", "p1"], ["a"]),
        n("Relu", ["a"], ["r3"]), n("GlobalAveragePool", ["r3"], ["g"]), n("Flatten", ["g"], ["fl"]),
        n("Gemm", ["fl", "W4", "B4"], ["y"], transB=1),
    ]
    weights = {"W1": f(8, 3, 3, 3), "B1": f(8), "W2": f(8, 8, 3, 3), "B2": f(8), "W3": f(8, 8, 3, 3), "B3": f(8),
               "W4": f(5, 8), "B4": f(5)}
    add = [n("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]), n("Relu", ["c"], ["r"]), n("Add", ["r", "x"], ["y"])]
    pools = [
        n("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
        n("AveragePool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Transpose", ["p"], ["t"], perm=[0, 1, 3, 2]), n("Reshape", ["t", "shape"], ["y"]),
    ]
    return {
        "cnn": (_model(cnn, weights, [1, 3, 8, 8], [1, 5]), [1, 3, 8, 8]),
        "add": (_model(add, {"W": f(3, 3, 3, 3)}, [1, 3, 6, 6], [1, 3, 6, 6]), [1, 3, 6, 6]),
        "pools": (_model(pools, {"W": f(4, 3, 3, 3), "shape": np.asarray([1, 64], np.int64)}, [1, 3, 8, 8], [1, 64]),
                  [1, 3, 8, 8]),
    }


ACTIVATIONS = {"int8-symmetric": True, "uint8-asymmetric": False}
WEIGHTS = {"per-channel": "per-channel-int8", "per-tensor": "per-tensor-int8"}


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("activations", list(ACTIVATIONS))
@pytest.mark.parametrize("name", ["cnn", "add", "pools"])
def test_residual_cnn_folds_to_integers(name: str, activations: str, weights: str, tmp_path: Path) -> None:
    """quantize_static's QDQ model vs the folded graph: every op on the data path becomes
    integer, and the output stays within one step of the QDQ graph (the single-pattern
    models); the whole CNN compounds one-step differences of inner layers, so it gets a
    looser bound and prints what it measures."""
    per_channel, _ = CONFIGS[WEIGHTS[weights]]
    config = {(True, True): "per-channel-int8", (False, True): "per-tensor-int8",
              (True, False): "per-channel-uint8", (False, False): "per-tensor-uint8"}[(per_channel, ACTIVATIONS[activations])]
    model, shape = _quantized(name, config, tmp_path, symmetric=ACTIVATIONS[activations], models=_residual_cnn())
    original, folded = import_onnx(model), import_onnx(model)
    counters = _fold(folded)
    worst, differing = _error_in_steps(original, folded, model, shape, batches=16)
    print(f"{name:6s} {activations:17s} {weights:11s} max error {worst:.3f} steps, {differing:.2%} outputs differ")
    assert counters["skipped-inexact"] == 0 and counters["skipped-unsupported"] == 0
    assert _float_ops_between_q_and_dq(folded) == []
    expected = {"cnn": {"folded-add": 1, "folded-conv": 3, "folded-matmul": 1, "folded-pool": 2},
                "add": {"folded-add": 1, "folded-conv": 1}, "pools": {"folded-pool": 1, "folded-layout": 2}}[name]
    assert {k: counters[k] for k in expected} == expected
    if name == "cnn":
        assert worst <= 3.0 + 1e-4 and differing <= 0.25
    else:
        # pools: the average of 4 taps at equal scales lands on .5 ties a quarter of the
        # time; QuantizeLinear rounds them to even, the ALU's requantize up.
        assert worst <= 1.0 + 1e-4 and differing <= (0.2 if name == "pools" else 0.05)


def _single_op_module(body: str, x_type: str, y_type: str) -> ModuleOp:
    from xdsl.parser import Parser

    text = f"""
    func.func @main(%x: tensor<{x_type}>) -> tensor<{y_type}> {{
      %xs = graph.constant dense<0.05> : tensor<f32>
      %xz = graph.constant dense<-3> : tensor<i8>
      %ys = graph.constant dense<0.07> : tensor<f32>
      %yz = graph.constant dense<5> : tensor<i8>
      %xf = graph.dequantize_linear %x, %xs, %xz : (tensor<{x_type}>, tensor<f32>, tensor<i8>) -> tensor<{x_type.replace('i8', 'f32')}>
      {body}
      func.return %y : tensor<{y_type}>
    }}
    """
    return Parser(make_context(), text).parse_module()


@pytest.mark.parametrize(
    "body, statistic",
    [
        ("%r = graph.relu %xf : (tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>", "folded-relu"),
        ("%r = graph.max_pool %xf {kernel_shape = [2, 2], pads = [1, 1, 0, 0]} : (tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>",
         "folded-pool"),
        ("%r = graph.average_pool %xf {kernel_shape = [3, 3], pads = [1, 1, 1, 1], count_include_pad = 1} : "
         "(tensor<2x3x4x4xf32>) -> tensor<2x3x4x4xf32>", "folded-pool"),
    ],
)
def test_rescaling_patterns_exhaustively_within_one_step(body: str, statistic: str) -> None:
    """Different input and output scales / zero points (the relu + requantize path):
    every int8 input value, compared with the QDQ graph."""
    tail = "%y = graph.quantize_linear %r, %ys, %yz : (tensor<2x3x4x4xf32>, tensor<f32>, tensor<i8>) -> tensor<2x3x4x4xi8>"
    original = _single_op_module(f"{body}\n      {tail}", "2x3x4x4xi8", "2x3x4x4xi8")
    folded = _single_op_module(f"{body}\n      {tail}", "2x3x4x4xi8", "2x3x4x4xi8")
    counters = _fold(folded)
    assert counters[statistic] == 1
    assert _float_ops_between_q_and_dq(folded) == []
    every = np.arange(-128, 128).astype(np.int8)
    rng = np.random.default_rng(5)
    worst = 0
    for start in [0, 96, 192, *range(8)]:  # every value once, then shuffled windows
        xk = np.resize(np.roll(every, -start), 96)
        xk = (xk if start in (0, 96, 192) else rng.permutation(xk)).reshape(2, 3, 4, 4)
        a, b = run_graph(original, [xk])[0].astype(int), run_graph(folded, [xk])[0].astype(int)
        worst = max(worst, int(np.abs(a - b).max()))
    assert worst <= 1


def test_equal_parameters_fold_exactly_to_the_op_on_integers() -> None:
    """Same scale and zero point in and out: max pool and relu are the op on the int8
    values (a clip at the zero point for relu), bit for bit."""
    body = (
        "%m = graph.max_pool %xf {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>\n"
        "      %r = graph.relu %m : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>\n"
        "      %y = graph.quantize_linear %r, %xs, %xz : (tensor<1x2x2x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x2x2xi8>"
    )
    folded = _single_op_module(body, "1x2x4x4xi8", "1x2x2x2xi8")
    counters = _fold(folded)
    # the relu (one use, input the max pool, not a DQ) is left: the max pool is not dequantized
    assert counters["folded-pool"] == 0 and counters["folded-relu"] == 0
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(1, 2, 4, 4)).astype(np.int8)
    body2 = (
        "%m = graph.max_pool %xf {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>\n"
        "      %y = graph.quantize_linear %m, %xs, %xz : (tensor<1x2x2x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x2x2xi8>"
    )
    folded = _single_op_module(body2, "1x2x4x4xi8", "1x2x2x2xi8")
    assert _fold(folded)["folded-pool"] == 1
    assert [op.name for op in folded.walk() if isinstance(op, graph.GraphOp) and not isinstance(op, graph.ConstantOp)] == ["graph.max_pool"]
    np.testing.assert_array_equal(run_graph(folded, [x])[0], x.reshape(1, 2, 2, 2, 2, 2).max(axis=(3, 5)))


def test_add_multipliers_fit_the_alu_and_never_wrap() -> None:
    """The add's multipliers are signed 16-bit and every intermediate stays in int32:
    checked on the extreme inputs in int64 (a wrap would show as a difference)."""
    from canopy_mlir.transforms.graph_fold_qdq import _add_multipliers

    for ratios in ([0.9, 1.3], [0.001, 250.0], [1.0, 1.0], [3e-5, 0.5]):
        multipliers, shift, error = _add_multipliers(ratios, [128, 255], 255, 16)
        assert all(0 <= m < 2**15 for m in multipliers) and error < 1.0
        worst = sum(m * 255 for m in multipliers) + max(multipliers) * 255 + (1 << max(shift - 1, 0))
        assert worst < 2**31
