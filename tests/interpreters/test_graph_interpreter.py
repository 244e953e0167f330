"""The xDSL interpreter glue: every graph op runs through run_graph, and bad calls fail clearly.

Expected values come from graph_reference called directly (the glue must pass operands,
absent optional operands, properties and the result type through unchanged) or from
numpy / onnx.reference for the hand-written modules.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    f32,
    i32,
    i64,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region
from xdsl.parser import Parser

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.interpreters import graph_reference as ref
from canopy_mlir.interpreters.graph_interpreter import (
    GraphFunctions,
    GraphInterpreterError,
    argument_names,
    element_dtype,
    run_graph,
)

ELEMENT_TYPES = {
    np.dtype(np.float32): f32,
    np.dtype(np.int8): graph.i8,
    np.dtype(np.uint8): graph.ui8,
    np.dtype(np.int32): i32,
    np.dtype(np.int64): i64,
}


def parse(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


def tensor_type(array: np.ndarray) -> TensorType:
    return TensorType(ELEMENT_TYPES[array.dtype], list(array.shape))


def single_op_module(op_class, operands, props, names=None) -> tuple[ModuleOp, list[np.ndarray]]:
    """``@main`` taking every array in ``operands`` (None = absent, list = variadic) as an argument."""
    flat = [
        a
        for item in operands
        if item is not None
        for a in (item if isinstance(item, list) else [item])
    ]
    block = Block(arg_types=[tensor_type(a) for a in flat])
    args = iter(block.args)
    values = [
        None
        if item is None
        else [next(args) for _ in item]
        if isinstance(item, list)
        else next(args)
        for item in operands
    ]
    op = op_class.create(*values, **props)
    block.add_ops([op, ReturnOp(op.result)])
    arg_attrs = None
    if names is not None:
        arg_attrs = ArrayAttr([DictionaryAttr({"onnx.name": StringAttr(n)}) for n in names])
    function = FuncOp(
        "main", ([a.type for a in block.args], [op.result.type]), Region(block), arg_attrs=arg_attrs
    )
    module = ModuleOp([function])
    module.verify()
    return module, flat


def rand(shape, dtype=np.float32, seed=0) -> np.ndarray:
    r = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return r.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return r.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


f, q8, u8 = np.float32, np.int8, np.uint8
CONV_GEOMETRY = {"strides": [2, 1], "pads": [1, 0, 0, 1], "dilations": [1, 2], "group": 2}

# (op class, operands (None = absent optional, list = variadic), properties)
OP_CASES = [
    (graph.CastOp, [rand((2, 3), q8)], {"to": "i32"}),
    (
        graph.ConvOp,
        [rand((1, 4, 7, 7)), rand((6, 2, 3, 2), seed=1), rand((6,), seed=2)],
        CONV_GEOMETRY,
    ),
    (graph.ConvOp, [rand((1, 2, 5, 5)), rand((3, 2, 3, 3), seed=1)], {}),
    (
        graph.ConvIntegerOp,
        [rand((1, 4, 7, 7), u8), rand((6, 2, 3, 2), q8, 1), None, rand((6,), q8, 2)],
        CONV_GEOMETRY,
    ),
    (graph.ConvIntegerOp, [rand((1, 2, 5, 5), u8), rand((3, 2, 1, 1), q8, 1), rand((), u8, 2)], {}),
    (
        graph.QLinearConvOp,
        [
            rand((1, 4, 6, 6), u8),
            np.float32(0.02),
            np.uint8(3),
            rand((6, 2, 3, 3), q8, 1),
            np.linspace(0.001, 0.01, 6, dtype=np.float32),
            np.zeros(6, np.int8),
            np.float32(0.1),
            np.uint8(120),
            rand((6,), np.int32, 3) // 100000,
        ],
        CONV_GEOMETRY,
    ),
    (
        graph.GemmOp,
        [rand((3, 4)), rand((5, 4), seed=1), rand((5,), seed=2)],
        {"alpha": 0.5, "beta": 2.0, "trans_b": 1},
    ),
    (graph.MatMulOp, [rand((2, 3, 4)), rand((4, 5), seed=1)], {}),
    (graph.MatMulIntegerOp, [rand((3, 8), u8), rand((8, 4), q8, 1), None, rand((4,), q8, 2)], {}),
    (
        graph.QLinearMatMulOp,
        [
            rand((3, 8), q8),
            np.float32(0.05),
            np.int8(-2),
            rand((8, 4), q8, 1),
            np.float32(0.04),
            np.int8(0),
            np.float32(0.3),
            np.int8(5),
        ],
        {},
    ),
    (graph.AddOp, [rand((2, 3)), rand((3,), seed=1)], {}),
    (graph.SubOp, [rand((2, 3), q8), rand((2, 3), q8, 1)], {}),
    (graph.MulOp, [rand((2, 1, 3)), rand((4, 1), seed=1)], {}),
    (graph.DivOp, [rand((2, 3), np.int32), np.full((2, 3), -7, np.int32)], {}),
    (graph.ReluOp, [rand((2, 3), q8)], {}),
    (graph.SigmoidOp, [rand((2, 3))], {}),
    (graph.ClipOp, [rand((2, 3))], {"min": -0.5, "max": 0.5}),
    (graph.ClipOp, [rand((2, 3), u8)], {"min": 10.0, "max": 100.0}),
    (graph.LeakyReluOp, [rand((2, 3))], {"alpha": 0.2}),
    (graph.HardSigmoidOp, [rand((2, 3))], {"alpha": 0.3, "beta": 0.4}),
    (
        graph.MaxPoolOp,
        [rand((1, 2, 7, 7), q8)],
        {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 0, 0], "ceil_mode": 1},
    ),
    (graph.MaxPoolOp, [rand((1, 2, 7, 7))], {"kernel_shape": [2, 2], "dilations": [2, 2]}),
    (
        graph.AveragePoolOp,
        [rand((1, 2, 7, 7))],
        {
            "kernel_shape": [3, 3],
            "strides": [2, 2],
            "pads": [1, 1, 1, 1],
            "count_include_pad": 1,
            "ceil_mode": 1,
        },
    ),
    (graph.GlobalAveragePoolOp, [rand((2, 3, 4, 5))], {}),
    (graph.GlobalMaxPoolOp, [rand((2, 3, 4, 5), u8)], {}),
    (graph.ReduceMeanOp, [rand((2, 3, 4))], {"axes": [1, 2], "keepdims": 0}),
    (graph.ReduceMeanOp, [rand((2, 3, 4))], {}),
    (graph.SumOp, [[rand((2, 3)), rand((3,), seed=1), rand((1, 3), seed=2)]], {}),
    (graph.SumOp, [[rand((2, 3))]], {}),
    (
        graph.BatchNormOp,
        [
            rand((1, 3, 2, 2)),
            rand((3,), seed=1),
            rand((3,), seed=2),
            rand((3,), seed=3),
            np.ones(3, np.float32),
        ],
        {"epsilon": 1e-3},
    ),
    (graph.LrnOp, [rand((2, 5, 3, 3))], {"size": 3, "alpha": 0.01, "beta": 0.6, "bias": 1.5}),
    (graph.FlattenOp, [rand((2, 3, 4), q8)], {"axis": 2}),
    (graph.ReshapeOp, [rand((2, 3, 4))], {"shape": [4, 6]}),
    (graph.TransposeOp, [rand((2, 3, 4))], {"perm": [2, 0, 1]}),
    (graph.ConcatOp, [[rand((2, 3), u8), rand((2, 1), u8, 1), rand((2, 2), u8, 2)]], {"axis": 1}),
    (graph.SoftmaxOp, [rand((2, 5))], {"axis": 0}),
    (graph.PadOp, [rand((1, 2, 3, 3))], {"pads": [0, 0, 1, 2, 0, 0, 2, 1], "mode": "reflect"}),
    (graph.PadOp, [rand((2, 3), q8)], {"pads": [1, 0, 0, 1], "value": -4.0}),
    (
        graph.QuantizeLinearOp,
        [
            rand((1, 3, 2, 2)),
            np.array([0.01, 0.02, 0.05], np.float32),
            np.array([0, -3, 4], np.int8),
        ],
        {},
    ),
    (graph.QuantizeLinearOp, [rand((2, 3)) * np.float32(50), np.float32(0.5)], {}),
    (graph.DequantizeLinearOp, [rand((2, 3), u8), np.float32(0.1), np.uint8(128)], {}),
    (graph.DequantizeLinearOp, [rand((2, 3), np.int32), np.float32(0.001)], {}),
    (
        graph.RequantizeOp,
        [rand((1, 3, 2), np.int32) // 1000],
        {"multiplier": [3, 5, 7], "shift": [8, 9, 10], "output_zero_point": 128},
    ),
    (
        graph.RequantizeOp,
        [rand((4, 5), np.int32) // 1000],
        {"multiplier": [1234], "shift": [16], "output_zero_point": -3},
    ),
]


def case_id(case) -> str:
    return case[0].name.removeprefix("graph.")


@pytest.mark.parametrize("case", OP_CASES, ids=[case_id(c) for c in OP_CASES])
def test_every_op_runs_like_its_reference(case):
    op_class, operands, props = case
    operands = [
        None if o is None else [np.asarray(a) for a in o] if isinstance(o, list) else np.asarray(o)
        for o in operands
    ]
    module, flat = single_op_module(op_class, operands, props)
    (actual,) = run_graph(module, flat)
    positional = [a for o in operands for a in (o if isinstance(o, list) else [o])]
    function = getattr(ref, op_class.REFERENCE)
    result_type = module.ops.first.function_type.outputs.data[0]
    kwargs = dict(props)
    if op_class is graph.RequantizeOp:
        kwargs["out_dtype"] = element_dtype(result_type.element_type)
    expected = function(*positional, **kwargs)
    assert actual.dtype == element_dtype(result_type.element_type)
    assert actual.shape == tuple(result_type.get_shape())
    np.testing.assert_array_equal(actual, expected)


def test_cases_cover_every_graph_op():
    covered = {case[0] for case in OP_CASES}
    missing = [
        op.name for op in graph.GRAPH_OPS if op not in covered and op is not graph.ConstantOp
    ]
    assert not missing, missing


def test_every_graph_op_is_registered():
    registered = {op_type for op_type, _ in GraphFunctions._impls()}
    assert registered == set(graph.Graph.operations)
    for op in graph.GRAPH_OPS:
        if op is not graph.ConstantOp:
            assert callable(getattr(ref, op.REFERENCE)), op.name


def test_requantize_result_type_chooses_the_clamp_range():
    module = parse(
        """
        func.func @main(%x: tensor<4xi32>) -> (tensor<4xi8>, tensor<4xui8>) {
          %s = graph.requantize %x {multiplier = [1], shift = [0], axis = 0} : (tensor<4xi32>) -> tensor<4xi8>
          %u = graph.requantize %x {multiplier = [1], shift = [0], axis = 0} : (tensor<4xi32>) -> tensor<4xui8>
          func.return %s, %u : tensor<4xi8>, tensor<4xui8>
        }
        """
    )
    signed, unsigned = run_graph(module, [np.array([-300, -5, 200, 300], np.int32)])
    np.testing.assert_array_equal(signed, np.array([-128, -5, 127, 127], np.int8))
    np.testing.assert_array_equal(unsigned, np.array([0, 0, 200, 255], np.uint8))


CNN = """
func.func @main(%x: tensor<1x2x6x6xf32>) -> tensor<1x3xf32> {
  %w = graph.constant dense<0.25> : tensor<4x2x3x3xf32>
  %b = graph.constant dense<[1.0, -1.0, 0.5, 0.0]> : tensor<4xf32>
  %c = graph.conv %x, %w, %b {pads = [1, 1, 1, 1], strides = [2, 2]}
      : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x3x3xf32>
  %r = graph.relu %c : (tensor<1x4x3x3xf32>) -> tensor<1x4x3x3xf32>
  %p = graph.global_average_pool %r : (tensor<1x4x3x3xf32>) -> tensor<1x4x1x1xf32>
  %f = graph.flatten %p : (tensor<1x4x1x1xf32>) -> tensor<1x4xf32>
  %fc = graph.constant dense<[[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.5, 0.5, 0.5, 0.5]]> : tensor<3x4xf32>
  %g = graph.gemm %f, %fc {trans_b = 1} : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %s = func.call @head(%g) : (tensor<1x3xf32>) -> tensor<1x3xf32>
  func.return %s : tensor<1x3xf32>
}
func.func @head(%v: tensor<1x3xf32>) -> tensor<1x3xf32> {
  %s = graph.softmax %v : (tensor<1x3xf32>) -> tensor<1x3xf32>
  func.return %s : tensor<1x3xf32>
}
"""


def numpy_cnn(x: np.ndarray) -> np.ndarray:
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.array(
        [
            [padded[0, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].sum() for j in range(3)]
            for i in range(3)
        ]
    )
    conv = 0.25 * windows[None, :, :] + np.array([1.0, -1.0, 0.5, 0.0])[:, None, None]
    pooled = np.maximum(conv, 0).mean(axis=(1, 2))
    logits = np.array([[1, 0, 0, 1], [0, 1, 0, 0], [0.5, 0.5, 0.5, 0.5]]) @ pooled
    e = np.exp(logits - logits.max())
    return (e / e.sum())[None, :]


def test_hand_written_cnn_with_constants_and_calls():
    module = parse(CNN)
    x = rand((1, 2, 6, 6), seed=7)
    (y,) = run_graph(module, {"arg0": x})
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, numpy_cnn(x), rtol=1e-5, atol=1e-6)
    (z,) = run_graph(module, [y], function="head")
    np.testing.assert_allclose(z.sum(), 1.0, rtol=1e-6)


QUANTIZED = """
func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %s = graph.constant dense<0.05> : tensor<f32>
  %zp = graph.constant dense<10> : tensor<ui8>
  %q = graph.quantize_linear %x, %s, %zp : (tensor<1x2x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xui8>
  %w = graph.constant dense<[[[[2]]], [[[-3]]]]> : tensor<2x1x1x1xi8>
  %wzp = graph.constant dense<[1, -1]> : tensor<2xi8>
  %acc = graph.conv_integer %q, %w, %wzp {group = 2, operandSegmentSizes = [1, 1, 0, 1]}
      : (tensor<1x2x4x4xui8>, tensor<2x1x1x1xi8>, tensor<2xi8>) -> tensor<1x2x4x4xi32>
  %r = graph.requantize %acc {multiplier = [3, 5], shift = [1, 2], output_zero_point = 7}
      : (tensor<1x2x4x4xi32>) -> tensor<1x2x4x4xi8>
  %one = graph.constant dense<1.0> : tensor<f32>
  %zp8 = graph.constant dense<7> : tensor<i8>
  %d = graph.dequantize_linear %r, %one, %zp8 : (tensor<1x2x4x4xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x4x4xf32>
  func.return %d : tensor<1x2x4x4xf32>
}
"""


def test_hand_written_integer_pipeline_is_exact():
    module = parse(QUANTIZED)
    x = rand((1, 2, 4, 4), seed=3) * np.float32(4)
    (y,) = run_graph(module, [x])
    # independent integer arithmetic: only weight zero point present (no input zero point)
    q = np.clip(np.rint(x / np.float32(0.05)) + 10, 0, 255).astype(np.int64)
    acc = np.stack([q[0, 0] * (2 - 1), q[0, 1] * (-3 + 1)])[None]
    mult, shift = np.array([3, 5])[None, :, None, None], np.array([1, 2])[None, :, None, None]
    r = np.clip(((acc * mult + (1 << (shift - 1))) >> shift) + 7, -128, 127)
    np.testing.assert_array_equal(y, (r - 7).astype(np.float32))


def test_onnx_model_imported_and_interpreted_matches_onnx_reference():
    from canopy_mlir.frontend.onnx_importer import import_onnx

    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("probs", TensorProto.FLOAT, None)
    w = rand((4, 3, 3, 3), seed=1)
    fc = rand((5, 4), seed=2)
    nodes = [
        helper.make_node("Conv", ["image", "w"], ["c"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"]),
    ]
    initializers = [
        helper.make_tensor("w", TensorProto.FLOAT, w.shape, w.ravel()),
        helper.make_tensor("fc", TensorProto.FLOAT, fc.shape, fc.ravel()),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "tiny", [x], [y], initializers),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    image = rand((1, 3, 8, 8), seed=3)
    expected = ReferenceEvaluator(model).run(None, {"image": image})[0]
    (actual,) = run_graph(import_onnx(model), {"image": image})
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------

ADD = """
func.func @main(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  %c = graph.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %c : tensor<2x3xf32>
}
func.func private @external(tensor<3xf32>) -> tensor<3xf32>
"""


@pytest.mark.parametrize(
    "call,message",
    [
        (
            lambda m: run_graph(m, [], function="nope"),
            r"no function @nope \(functions: @main, @external\)",
        ),
        (lambda m: run_graph(m, [], function="external"), "declaration without a body"),
        (lambda m: run_graph(m, [rand((2, 3))]), r"takes 2 input\(s\) \['arg0', 'arg1'\], got 1"),
        (
            lambda m: run_graph(m, [rand((2, 3)), rand((4,))]),
            r"input 'arg1' of @main must be tensor<3xf32> \(shape \(3,\) dtype float32\), got shape \(4,\) dtype float32",
        ),
        (
            lambda m: run_graph(m, [rand((2, 3)), rand((3,), np.int32)]),
            "input 'arg1'.*got shape \\(3,\\) dtype int32",
        ),
        (
            lambda m: run_graph(m, [rand((2, 3)), [1.0, 2.0, 3.0]]),
            "input 'arg1' of @main must be a numpy array",
        ),
        (
            lambda m: run_graph(m, {"arg0": rand((2, 3)), "b": rand((3,))}),
            r"missing \['arg1'\], unknown \['b'\]",
        ),
        (lambda m: run_graph(m, rand((2, 3))), "must be a list of arrays or a dict"),
    ],
)
def test_bad_calls_raise_graph_interpreter_error(call, message):
    module = parse(ADD)
    with pytest.raises(GraphInterpreterError, match=message):
        call(module)


def test_results_never_alias_inputs_or_constants():
    module = parse(
        """
        func.func @main(%a: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>, tensor<2xf32>) {
          %r = graph.reshape %a {shape = [3, 2]} : (tensor<2x3xf32>) -> tensor<3x2xf32>
          %c = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
          func.return %a, %r, %c : tensor<2x3xf32>, tensor<3x2xf32>, tensor<2xf32>
        }
        """
    )
    a = rand((2, 3))
    same, reshaped, constant = run_graph(module, [a])
    for out in (same, reshaped, constant):
        assert out.flags.writeable and not np.may_share_memory(out, a)
    np.testing.assert_array_equal(reshaped, a.reshape(3, 2))
    np.testing.assert_array_equal(constant, [1.0, 2.0])


def test_argument_names_come_from_onnx_name_attrs():
    module, flat = single_op_module(
        graph.AddOp, [rand((2,)), rand((2,), seed=1)], {}, names=["left", "right"]
    )
    assert argument_names(module.ops.first) == ["left", "right"]
    (out,) = run_graph(module, {"right": flat[1], "left": flat[0]})
    np.testing.assert_array_equal(out, flat[0] + flat[1])
    with pytest.raises(GraphInterpreterError, match=r"missing \['left'\]"):
        run_graph(module, {"right": flat[1]})


def test_failing_op_is_named_without_dumping_the_module():
    module = parse(
        """
        func.func @main(%a: tensor<2xi32>, %b: tensor<2xi32>) -> tensor<2xi32> {
          %quotient = graph.div %a, %b : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
          func.return %quotient : tensor<2xi32>
        }
        """
    )
    with pytest.raises(GraphInterpreterError) as info:
        run_graph(module, [np.array([1, 2], np.int32), np.array([1, 0], np.int32)])
    message = str(info.value)
    assert "'graph.div' (result %quotient) in @main" in message
    assert "integer division by zero" in message
    assert not getattr(info.value, "__notes__", None)  # xDSL would attach the whole module


def test_unsupported_op_is_reported():
    module = parse(
        """
        func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {
          %c = "test.op"(%a) : (tensor<2xf32>) -> tensor<2xf32>
          func.return %c : tensor<2xf32>
        }
        """.replace('"test.op"', '"builtin.unrealized_conversion_cast"')
    )
    with pytest.raises(
        GraphInterpreterError,
        match="no interpreter implementation for 'builtin.unrealized_conversion_cast'",
    ):
        run_graph(module, [rand((2,))])


@pytest.mark.parametrize(
    "element,dtype",
    [
        (f32, np.float32),
        (graph.i8, np.int8),
        (graph.ui8, np.uint8),
        (i32, np.int32),
        (i64, np.int64),
    ],
)
def test_element_dtype(element, dtype):
    assert element_dtype(element) == np.dtype(dtype)


def test_element_dtype_rejects_unknown_types():
    with pytest.raises(GraphInterpreterError, match="no numpy equivalent"):
        element_dtype(StringAttr("x"))
