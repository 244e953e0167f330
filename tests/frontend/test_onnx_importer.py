"""The ONNX importer: one small model per supported op and per folding rule, every error
path, and the light model-zoo models that ship in the onnx wheel.

Structure tests check the imported ops, result shapes and properties against values
written out here. Numeric tests run the imported module with the graph interpreter and
compare with ``onnx.reference.ReferenceEvaluator`` (skipped when the interpreter module
is absent).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import (
    DenseArrayBase,
    FloatAttr,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    TensorType,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Operation

from canopy_mlir.frontend import (
    OnnxImportError,
    SupportReport,
    check_support,
    function_io_names,
    import_onnx,
)
from canopy_mlir.frontend.onnx_importer import ssa_name_hint

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)
LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


# ------------------------------------------------------------------- builders
def tensor(name: str, shape, dtype: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, shape)


def init(name: str, array) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def node(op_type: str, inputs, outputs, name: str | None = None, **attrs) -> onnx.NodeProto:
    return helper.make_node(op_type, inputs, outputs, name=name or outputs[0], **attrs)


def make_model(
    nodes, inputs, outputs, initializers=(), opset: int = 13, name: str = "test"
) -> onnx.ModelProto:
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def one_op(op_type, in_shapes, out_shape, opset=13, initializers=(), extra_inputs=(), **attrs):
    """A model with one node reading inputs x0, x1, ... (plus ``extra_inputs`` names)."""
    inputs = [tensor(f"x{i}", s) for i, s in enumerate(in_shapes)]
    names = [i.name for i in inputs] + list(extra_inputs)
    return make_model(
        [node(op_type, names, ["y"], **attrs)], inputs, [tensor("y", out_shape)],
        initializers, opset,
    )


# --------------------------------------------------------------- IR access
def function(module: ModuleOp) -> FuncOp:
    (func,) = [op for op in module.ops if isinstance(op, FuncOp)]
    return func


def body(module: ModuleOp) -> list[Operation]:
    return [op for op in function(module).body.block.ops if not isinstance(op, ReturnOp)]


def op_names(module: ModuleOp, constants: bool = False) -> list[str]:
    return [op.name for op in body(module) if constants or op.name != "graph.constant"]


def only(module: ModuleOp, name: str) -> Operation:
    (op,) = [op for op in body(module) if op.name == name]
    return op


def prop(op: Operation, name: str):
    """A property as a Python value (None when absent)."""
    attr = op.properties.get(name)
    if attr is None:
        return None
    if isinstance(attr, DenseArrayBase):
        return tuple(attr.iter_values())
    if isinstance(attr, IntegerAttr | FloatAttr):
        return attr.value.data
    if isinstance(attr, StringAttr):
        return attr.data
    return attr


def result_shapes(module: ModuleOp) -> list[tuple[int, ...]]:
    return [tuple(t.get_shape()) for t in function(module).function_type.outputs.data]


def import_ok(model: onnx.ModelProto, **kwargs) -> ModuleOp:
    module = import_onnx(model, **kwargs)
    module.verify()
    return module


# ------------------------------------------------------------------ numerics
def _run_graph() -> Callable:
    try:
        from canopy_mlir.interpreters.graph_interpreter import run_graph
    except ImportError as err:
        pytest.skip(
            "numeric check skipped: canopy_mlir.interpreters.graph_interpreter is absent "
            f"({err})"
        )
    return run_graph


def assert_matches_onnx(model: onnx.ModelProto, feeds: dict[str, np.ndarray], tol=1e-5) -> None:
    run_graph = _run_graph()
    module = import_ok(model)
    expected = ReferenceEvaluator(model).run(None, feeds)
    input_names, output_names = function_io_names(module)
    actual = run_graph(module, [feeds[name] for name in input_names])
    assert len(actual) == len(expected) == len(output_names)
    for got, want in zip(actual, expected):
        got = np.asarray(got)
        assert got.shape == want.shape
        assert got.dtype == want.dtype
        if want.dtype.kind == "f":
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
        else:
            np.testing.assert_array_equal(got, want)


def floats(*shape) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def ints(dtype, *shape, low=-128, high=127) -> np.ndarray:
    return RNG.integers(low, high + 1, shape).astype(dtype)


# ============================================================ per-op structure
@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
def test_binary_ops_broadcast(op_type):
    model = make_model(
        [node(op_type, ["x", "b"], ["y"])], [tensor("x", [2, 3, 4])], [tensor("y", [2, 3, 4])],
        [init("b", floats(4))],
    )
    module = import_ok(model)
    assert op_names(module, constants=True) == ["graph.constant", f"graph.{op_type.lower()}"]
    assert result_shapes(module) == [(2, 3, 4)]


@pytest.mark.parametrize(
    "op_type, attrs, op_name, props",
    [
        ("Relu", {}, "graph.relu", {}),
        ("Sigmoid", {}, "graph.sigmoid", {}),
        ("LeakyRelu", {"alpha": 0.25}, "graph.leaky_relu", {"alpha": 0.25}),
        ("HardSigmoid", {"alpha": 0.5, "beta": 0.25}, "graph.hard_sigmoid", {"alpha": 0.5, "beta": 0.25}),
    ],
)
def test_unary_ops(op_type, attrs, op_name, props):
    module = import_ok(one_op(op_type, [[2, 5]], [2, 5], **attrs))
    op = only(module, op_name)
    for key, value in props.items():
        assert prop(op, key) == pytest.approx(value)
    assert result_shapes(module) == [(2, 5)]


def test_clip_opset_11_bounds_become_properties():
    model = make_model(
        [node("Clip", ["x", "lo", ""], ["y"])], [tensor("x", [4])], [tensor("y", [4])],
        [init("lo", np.float32(-0.5))], opset=11,
    )
    op = only(import_ok(model), "graph.clip")
    assert prop(op, "min") == -0.5
    assert prop(op, "max") == math.inf
    assert op.operands.__len__() == 1


def test_clip_before_opset_11_uses_attributes_and_flt_max_defaults():
    op = only(import_ok(one_op("Clip", [[4]], [4], opset=7, min=0.0)), "graph.clip")
    assert prop(op, "min") == 0.0
    assert prop(op, "max") == pytest.approx(float(np.finfo(np.float32).max))


def test_clip_with_runtime_bound_is_reported():
    model = make_model(
        [node("Clip", ["x", "lo"], ["y"])], [tensor("x", [4]), tensor("lo", [])], [tensor("y", [4])]
    )
    report = check_support(model)
    assert [(i.node, i.kind) for i in report.issues] == [("y", "non-constant input")]
    assert "input 1 (min) 'lo'" in str(report)


def test_gemm_attributes():
    model = make_model(
        [node("Gemm", ["a", "w", "c"], ["y"], alpha=0.5, beta=2.0, transB=1)],
        [tensor("a", [3, 4])], [tensor("y", [3, 5])], [init("w", floats(5, 4)), init("c", floats(5))],
    )
    op = only(import_ok(model), "graph.gemm")
    assert (prop(op, "alpha"), prop(op, "beta"), prop(op, "trans_b")) == (0.5, 2.0, 1)
    assert prop(op, "trans_a") in (None, 0)
    assert len(op.operands) == 3


def test_matmul_broadcasts_batches():
    module = import_ok(one_op("MatMul", [[2, 3, 4], [4, 6]], [2, 3, 6]))
    assert op_names(module) == ["graph.matmul"]
    assert result_shapes(module) == [(2, 3, 6)]


def conv_model(in_shape, w_shape, out_shape, bias=True, opset=13, **attrs):
    inputs = ["x", "w"] + (["b"] if bias else [])
    inits = [init("w", floats(*w_shape))] + ([init("b", floats(w_shape[0]))] if bias else [])
    return make_model(
        [node("Conv", inputs, ["y"], **attrs)], [tensor("x", in_shape)], [tensor("y", out_shape)],
        inits, opset,
    )


def test_conv_properties_map_onnx_pads_to_top_left_bottom_right():
    model = conv_model(
        [1, 4, 9, 10], [6, 2, 3, 3], [1, 6, 6, 4], pads=[1, 2, 3, 4], strides=[2, 3],
        dilations=[1, 2], group=2,
    )
    op = only(import_ok(model), "graph.conv")
    assert prop(op, "pads") == (1, 2, 3, 4)
    assert prop(op, "strides") == (2, 3)
    assert prop(op, "dilations") == (1, 2)
    assert prop(op, "group") == 2
    assert len(op.operands) == 3


@pytest.mark.parametrize(
    "auto_pad, size, stride, kernel, pads",
    [
        # out = ceil(9 / 2) = 5, total pad = (5 - 1) * 2 + 4 - 9 = 3
        ("SAME_UPPER", 9, 2, 4, (1, 1, 2, 2)),
        ("SAME_LOWER", 9, 2, 4, (2, 2, 1, 1)),
        ("SAME_UPPER", 8, 1, 3, (1, 1, 1, 1)),
        ("SAME_UPPER", 8, 4, 2, (0, 0, 0, 0)),
        ("VALID", 9, 2, 4, (0, 0, 0, 0)),
    ],
)
def test_conv_auto_pad_becomes_explicit_pads(auto_pad, size, stride, kernel, pads):
    out = -(-size // stride) if auto_pad != "VALID" else (size - kernel) // stride + 1
    model = conv_model(
        [1, 2, size, size], [3, 2, kernel, kernel], [1, 3, out, out], bias=False,
        auto_pad=auto_pad, strides=[stride, stride],
    )
    module = import_ok(model)
    assert prop(only(module, "graph.conv"), "pads") == pads
    assert result_shapes(module) == [(1, 3, out, out)]


@pytest.mark.parametrize("spatial", [1, 3])
def test_conv_other_than_2d_is_unsupported(spatial):
    model = conv_model([1, 2] + [5] * spatial, [3, 2] + [3] * spatial, [1, 3] + [3] * spatial)
    report = check_support(model)
    (issue,) = report.issues
    assert issue.kind == "unsupported op"
    assert f"over {spatial} spatial dimension" in issue.reason
    assert "only 2-D" in issue.reason


def test_max_pool_properties():
    model = one_op(
        "MaxPool", [[1, 2, 7, 7]], [1, 2, 4, 4], kernel_shape=[3, 3], strides=[2, 2],
        pads=[1, 1, 0, 0], ceil_mode=1,
    )
    op = only(import_ok(model), "graph.max_pool")
    assert prop(op, "kernel_shape") == (3, 3)
    assert prop(op, "pads") == (1, 1, 0, 0)
    assert prop(op, "ceil_mode") == 1


def test_max_pool_storage_order_and_used_indices_are_reported_together():
    inputs = [tensor("x", [1, 1, 4, 4])]
    nodes = [
        node("MaxPool", ["x"], ["a"], kernel_shape=[2, 2], storage_order=1),
        node("MaxPool", ["x"], ["b", "idx"], kernel_shape=[2, 2]),
    ]
    outputs = [tensor("a", [1, 1, 3, 3]), tensor("b", [1, 1, 3, 3]), tensor("idx", [1, 1, 3, 3], TensorProto.INT64)]
    report = check_support(make_model(nodes, inputs, outputs))
    assert [(i.node, i.kind) for i in report.issues] == [
        ("a", "unsupported attribute"), ("b", "unsupported attribute")
    ]
    assert "storage_order=1" in report.issues[0].reason
    assert "Indices" in report.issues[1].reason


def test_max_pool_unused_indices_output_is_fine():
    nodes = [node("MaxPool", ["x"], ["y", "idx"], kernel_shape=[2, 2])]
    model = make_model(nodes, [tensor("x", [1, 1, 4, 4])], [tensor("y", [1, 1, 3, 3])])
    assert op_names(import_ok(model)) == ["graph.max_pool"]


def test_average_pool_properties():
    model = one_op(
        "AveragePool", [[1, 2, 6, 6]], [1, 2, 4, 4], kernel_shape=[2, 2], strides=[2, 2],
        count_include_pad=1, pads=[1, 1, 1, 1],
    )
    module = import_ok(model)
    op = only(module, "graph.average_pool")
    assert prop(op, "count_include_pad") == 1
    assert prop(op, "pads") == (1, 1, 1, 1)
    assert result_shapes(module) == [(1, 2, 4, 4)]


def test_average_pool_dilations_are_unsupported():
    model = one_op(
        "AveragePool", [[1, 1, 6, 6]], [1, 1, 4, 4], opset=19, kernel_shape=[2, 2], dilations=[2, 2]
    )
    (issue,) = check_support(model).issues
    assert (issue.kind, issue.reason) == ("unsupported attribute", "dilations=[2, 2] (only 1s)")


@pytest.mark.parametrize("op_type", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pools(op_type):
    module = import_ok(one_op(op_type, [[2, 3, 5, 4]], [2, 3, 1, 1]))
    assert result_shapes(module) == [(2, 3, 1, 1)]
    assert len(op_names(module)) == 1


def test_reduce_mean_attribute_axes_before_18():
    model = one_op("ReduceMean", [[2, 3, 4]], [2, 3], axes=[-1], keepdims=0)
    op = only(import_ok(model), "graph.reduce_mean")
    assert (prop(op, "axes"), prop(op, "keepdims")) == ((2,), 0)


def test_reduce_mean_input_axes_from_18_and_default_all():
    model = make_model(
        [node("ReduceMean", ["x", "axes"], ["y"])], [tensor("x", [2, 3, 4])],
        [tensor("y", [2, 1, 1])], [init("axes", np.array([2, -2]))], opset=18,
    )
    assert prop(only(import_ok(model), "graph.reduce_mean"), "axes") == (1, 2)
    everything = one_op("ReduceMean", [[2, 3]], [1, 1], opset=18)
    assert prop(only(import_ok(everything), "graph.reduce_mean"), "axes") == (0, 1)


def test_reduce_mean_noop_with_empty_axes_is_identity():
    model = one_op("ReduceMean", [[2, 3]], [2, 3], opset=18, noop_with_empty_axes=1)
    assert op_names(import_ok(model)) == []


def test_sum_is_variadic():
    module = import_ok(one_op("Sum", [[2, 3], [3], [1, 3]], [2, 3]))
    op = only(module, "graph.sum")
    assert len(op.operands) == 3


def test_batch_norm_inference():
    model = make_model(
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
        [tensor("x", [1, 3, 2, 2])], [tensor("y", [1, 3, 2, 2])],
        [init(n, floats(3)) for n in "sbm"] + [init("v", np.abs(floats(3)))], opset=9,
    )
    op = only(import_ok(model), "graph.batch_norm")
    assert prop(op, "epsilon") == pytest.approx(1e-3)
    assert len(op.operands) == 5


def test_batch_norm_training_is_unsupported():
    model = make_model(
        [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], training_mode=1)],
        [tensor("x", [1, 3, 2, 2])], [tensor("y", [1, 3, 2, 2])],
        [init(n, floats(3)) for n in "sbmv"], opset=15,
    )
    (issue,) = check_support(model).issues
    assert "training_mode=1" in issue.reason


def test_flatten_transpose_concat():
    nodes = [
        node("Flatten", ["x"], ["f"], axis=-1),
        node("Transpose", ["x"], ["t"], perm=[2, 0, 1]),
        node("Concat", ["x", "c"], ["y"], axis=-1),
    ]
    model = make_model(
        nodes, [tensor("x", [2, 3, 4])],
        [tensor("f", [6, 4]), tensor("t", [4, 2, 3]), tensor("y", [2, 3, 6])],
        [init("c", floats(2, 3, 2))],
    )
    module = import_ok(model)
    assert prop(only(module, "graph.flatten"), "axis") == 2
    assert prop(only(module, "graph.transpose"), "perm") == (2, 0, 1)
    assert prop(only(module, "graph.concat"), "axis") == 2
    assert result_shapes(module) == [(6, 4), (4, 2, 3), (2, 3, 6)]


def test_softmax_opset_13_maps_directly():
    module = import_ok(one_op("Softmax", [[2, 3, 4]], [2, 3, 4], axis=1))
    assert op_names(module) == ["graph.softmax"]
    assert prop(only(module, "graph.softmax"), "axis") == 1


def test_softmax_before_13_coerces_to_2d():
    module = import_ok(one_op("Softmax", [[2, 3, 4]], [2, 3, 4], opset=11, axis=1))
    assert op_names(module) == ["graph.flatten", "graph.softmax", "graph.reshape"]
    assert prop(only(module, "graph.flatten"), "axis") == 1
    assert prop(only(module, "graph.softmax"), "axis") == 1
    assert prop(only(module, "graph.reshape"), "shape") == (2, 3, 4)


def test_softmax_before_13_on_last_axis_needs_no_reshape():
    module = import_ok(one_op("Softmax", [[5, 7]], [5, 7], opset=9))
    assert op_names(module) == ["graph.softmax"]


def test_pad_opset_11_inputs_become_properties():
    model = make_model(
        [node("Pad", ["x", "p", "v"], ["y"], mode="constant")], [tensor("x", [2, 3])],
        [tensor("y", [3, 6])], [init("p", np.array([1, 1, 0, 2])), init("v", np.float32(1.5))],
        opset=11,
    )
    op = only(import_ok(model), "graph.pad")
    assert (prop(op, "pads"), prop(op, "mode"), prop(op, "value")) == ((1, 1, 0, 2), "constant", 1.5)


def test_pad_opset_18_axes_expand_to_every_axis():
    model = make_model(
        [node("Pad", ["x", "p", "", "axes"], ["y"], mode="edge")], [tensor("x", [2, 3, 4])],
        [tensor("y", [2, 6, 5])], [init("p", np.array([1, 2, 0, 1])), init("axes", np.array([-1, 1]))],
        opset=18,
    )
    # begins: axis 2 gets 1, axis 1 gets 2; ends: axis 2 gets 0, axis 1 gets 1.
    op = only(import_ok(model), "graph.pad")
    assert prop(op, "pads") == (0, 2, 1, 0, 1, 0)


def test_pad_before_11_and_wrap_mode():
    old = one_op("Pad", [[2, 2]], [2, 4], opset=7, pads=[0, 1, 0, 1], mode="reflect")
    assert prop(only(import_ok(old), "graph.pad"), "mode") == "reflect"
    wrap = make_model(
        [node("Pad", ["x", "p"], ["y"], mode="wrap")], [tensor("x", [2, 2])], [tensor("y", [2, 4])],
        [init("p", np.array([0, 1, 0, 1]))], opset=19,
    )
    (issue,) = check_support(wrap).issues
    assert issue.kind == "unsupported attribute" and "wrap" in issue.reason


def qdq_model(per_axis: bool, zero_dtype=np.int8, opset: int = 13):
    scale = np.array([0.1, 0.2, 0.3], np.float32) if per_axis else np.float32(0.05)
    zero = np.zeros(scale.shape, zero_dtype)
    return make_model(
        [
            node("QuantizeLinear", ["x", "s", "z"], ["q"], axis=1),
            node("DequantizeLinear", ["q", "s", "z"], ["y"], axis=-2),
        ],
        [tensor("x", [2, 3, 4])], [tensor("y", [2, 3, 4])], [init("s", scale), init("z", zero)],
        opset=opset,
    )


@pytest.mark.parametrize("per_axis", [False, True])
def test_quantize_dequantize(per_axis):
    module = import_ok(qdq_model(per_axis))
    assert op_names(module) == ["graph.quantize_linear", "graph.dequantize_linear"]
    quantize = only(module, "graph.quantize_linear")
    assert function(module).body.block.args[0].type == TensorType(
        quantize.operands[0].type.element_type, [2, 3, 4]
    )
    if per_axis:
        assert prop(quantize, "axis") == 1
        assert prop(only(module, "graph.dequantize_linear"), "axis") == 1


def test_one_element_scale_is_per_tensor():
    model = make_model(
        [node("QuantizeLinear", ["x", "s", "z"], ["q"]), node("DequantizeLinear", ["q", "s", "z"], ["y"])],
        [tensor("x", [2, 3])], [tensor("y", [2, 3])],
        [init("s", np.array([0.5], np.float32)), init("z", np.array([4], np.uint8))],
    )
    module = import_ok(model)
    quantize = only(module, "graph.quantize_linear")
    assert [tuple(o.type.get_shape()) for o in quantize.operands] == [(2, 3), (), ()]
    assert op_names(module) == ["graph.quantize_linear", "graph.dequantize_linear"]


def test_constant_weights_feeding_dequantize_are_not_folded():
    model = make_model(
        [node("DequantizeLinear", ["wq", "s"], ["w"]), node("MatMul", ["x", "w"], ["y"])],
        [tensor("x", [2, 3])], [tensor("y", [2, 4])],
        [init("wq", ints(np.int8, 3, 4)), init("s", np.float32(0.5))],
    )
    assert op_names(import_ok(model)) == ["graph.dequantize_linear", "graph.matmul"]


def test_integer_ops():
    u8, i8 = TensorProto.UINT8, TensorProto.INT8
    nodes = [
        node("ConvInteger", ["x", "w", "", "wz"], ["c"], pads=[1, 1, 1, 1]),
        node("MatMulInteger", ["a", "b"], ["m"]),
        node(
            "QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["qc"],
        ),
        node("QLinearMatMul", ["a", "xs", "xz", "b", "ws", "wz", "ys", "yz"], ["qm"]),
    ]
    inits = [
        init("w", ints(np.uint8, 2, 3, 3, 3, low=0, high=255)), init("wz", np.uint8(3)),
        init("b", ints(np.uint8, 4, 5, low=0, high=255)), init("xs", np.float32(0.1)),
        init("xz", np.uint8(128)), init("ws", np.float32(0.02)), init("ys", np.float32(0.3)),
        init("yz", np.uint8(10)),
    ]
    model = make_model(
        nodes, [tensor("x", [1, 3, 5, 5], u8), tensor("a", [2, 4], u8)],
        [tensor("c", [1, 2, 5, 5], TensorProto.INT32), tensor("m", [2, 5], TensorProto.INT32),
         tensor("qc", [1, 2, 3, 3], u8), tensor("qm", [2, 5], u8)],
        inits, opset=10,
    )
    module = import_ok(model)
    assert op_names(module) == [
        "graph.conv_integer", "graph.matmul_integer", "graph.qlinear_conv", "graph.qlinear_matmul"
    ]
    assert result_shapes(module) == [(1, 2, 5, 5), (2, 5), (1, 2, 3, 3), (2, 5)]
    assert prop(only(module, "graph.conv_integer"), "pads") == (1, 1, 1, 1)
    del i8


# =============================================================== folding rules
def test_light_weights_shape_chain_folds_to_reshape_property():
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape: flatten all but the batch."""
    nodes = [
        node("Shape", ["x"], ["s"]),
        node("Gather", ["s", "zero"], ["n"], axis=0),
        node("Unsqueeze", ["n", "axes0"], ["n1"]),
        node("Concat", ["n1", "minus1"], ["spec"], axis=0),
        node("Reshape", ["x", "spec"], ["y"]),
    ]
    model = make_model(
        nodes, [tensor("x", [2, 3, 4, 5])], [tensor("y", [2, 60])],
        [init("zero", np.array(0)), init("axes0", np.array([0])), init("minus1", np.array([-1]))],
    )
    module = import_ok(model)
    assert op_names(module, constants=True) == ["graph.reshape"]
    assert prop(only(module, "graph.reshape"), "shape") == (2, 60)


def test_reshape_resolves_zero_and_minus_one():
    model = make_model(
        [node("Reshape", ["x", "spec"], ["y"])], [tensor("x", [2, 3, 4])], [tensor("y", [2, 4, 3])],
        [init("spec", np.array([0, -1, 3]))],
    )
    assert prop(only(import_ok(model), "graph.reshape"), "shape") == (2, 4, 3)


def test_reshape_with_runtime_shape_is_a_dynamic_shape():
    model = make_model(
        [node("Reshape", ["x", "spec"], ["y"])],
        [tensor("x", [2, 3]), tensor("spec", [2], TensorProto.INT64)], [tensor("y", [3, 2])],
    )
    (issue,) = check_support(model).issues
    assert issue.kind == "dynamic shape"
    assert "input 1 (shape) 'spec' must be a constant" in issue.reason


def test_constant_of_shape_identity_dropout_fold_away():
    nodes = [
        node("ConstantOfShape", ["shape"], ["w"], value=helper.make_tensor("v", F, [1], [0.5])),
        node("Identity", ["w"], ["w2"]),
        node("Dropout", ["x"], ["d", "mask"], ratio=0.3),
        node("Add", ["d", "w2"], ["y"]),
    ]
    model = make_model(
        nodes, [tensor("x", [2, 3])], [tensor("y", [2, 3])], [init("shape", np.array([2, 3]))],
        opset=9,
    )
    module = import_ok(model)
    assert op_names(module) == ["graph.add"]
    (constant,) = [op for op in body(module) if op.name == "graph.constant"]
    assert constant.results[0].type == TensorType(
        function(module).body.block.args[0].type.element_type, [2, 3]
    )


def test_dropout_training_mode_is_unsupported():
    model = make_model(
        [node("Dropout", ["x", "", "t"], ["y"])], [tensor("x", [2])], [tensor("y", [2])],
        [init("t", np.array(True))], opset=13,
    )
    (issue,) = check_support(model).issues
    assert "training_mode=True" in issue.reason


def test_squeeze_and_unsqueeze_of_runtime_tensors_become_reshapes():
    nodes = [
        node("Unsqueeze", ["x", "ax"], ["u"]),
        node("Squeeze", ["u", "sq"], ["y"]),
        node("Squeeze", ["x"], ["all"]),
    ]
    model = make_model(
        nodes, [tensor("x", [3, 1, 4])], [tensor("u", [1, 3, 1, 4, 1]), tensor("y", [3, 1, 4]), tensor("all", [3, 4])],
        [init("ax", np.array([0, -1])), init("sq", np.array([0, 4]))],
    )
    module = import_ok(model)
    shapes = [prop(op, "shape") for op in body(module) if op.name == "graph.reshape"]
    assert shapes == [(1, 3, 1, 4, 1), (3, 1, 4), (3, 4)]


def test_squeeze_unsqueeze_attribute_axes_before_13():
    nodes = [node("Unsqueeze", ["x"], ["u"], axes=[1]), node("Squeeze", ["u"], ["y"], axes=[1])]
    model = make_model(nodes, [tensor("x", [3, 4])], [tensor("y", [3, 4])], opset=11)
    assert [prop(op, "shape") for op in body(import_ok(model))] == [(3, 1, 4), (3, 4)]


def test_initializer_transpose_and_cast_chain_fold_into_one_constant():
    weight = floats(4, 3)
    nodes = [
        node("Transpose", ["w"], ["wt"]),
        node("Cast", ["wt"], ["wd"], to=TensorProto.DOUBLE),
        node("Cast", ["wd"], ["wf"], to=F),
        node("MatMul", ["x", "wf"], ["y"]),
    ]
    model = make_model(nodes, [tensor("x", [2, 4])], [tensor("y", [2, 3])], [init("w", weight.T.copy())])
    module = import_ok(model)
    assert op_names(module, constants=True) == ["graph.constant", "graph.matmul"]
    constant = body(module)[0]
    assert constant.results[0].type.get_shape() == (4, 3)


def test_slice_range_and_equal_fold_with_the_reference_evaluator():
    nodes = [
        node("Shape", ["x"], ["s"]),
        node("Slice", ["s", "start", "end"], ["hw"]),
        node("Range", ["r0", "r1", "r2"], ["r"]),
        node("Equal", ["r", "r"], ["same"]),
        node("Where", ["same", "hw", "hw"], ["hw2"]),
        node("Concat", ["lead", "hw2"], ["spec"], axis=0),
        node("Reshape", ["x", "spec"], ["y"]),
    ]
    inits = [
        init("start", np.array([2])), init("end", np.array([4])), init("r0", np.array(0)),
        init("r1", np.array(2)), init("r2", np.array(1)), init("lead", np.array([-1])),
    ]
    model = make_model(nodes, [tensor("x", [2, 3, 4, 5])], [tensor("y", [6, 4, 5])], inits)
    module = import_ok(model)
    assert op_names(module, constants=True) == ["graph.reshape"]
    assert prop(only(module, "graph.reshape"), "shape") == (6, 4, 5)


def test_cast_of_runtime_tensor_becomes_graph_cast_or_is_named():
    nodes = [
        node("Cast", ["x"], ["same"], to=F),
        node("Cast", ["x"], ["y"], to=TensorProto.INT32),
        node("Cast", ["x"], ["z"], to=TensorProto.INT64),
    ]
    outputs = [tensor("same", [2]), tensor("y", [2], TensorProto.INT32), tensor("z", [2], TensorProto.INT64)]
    model = make_model(nodes, [tensor("x", [2])], outputs)
    report = check_support(model)
    assert [(i.node, i.kind) for i in report.issues] == [("z", "unsupported op")]
    assert "Cast of a runtime f32 tensor to int64" in report.issues[0].reason
    supported = make_model(nodes[:2], [tensor("x", [2])], outputs[:2])
    assert op_names(import_ok(supported)) == ["graph.cast"]


def test_expand_of_runtime_tensor_adds_a_zero_splat():
    model = make_model(
        [node("Expand", ["x", "shape"], ["y"])], [tensor("x", [3, 1])], [tensor("y", [2, 3, 4])],
        [init("shape", np.array([2, 1, 4]))],
    )
    module = import_ok(model)
    assert op_names(module) == ["graph.add"]
    assert result_shapes(module) == [(2, 3, 4)]


def test_constant_node_forms():
    nodes = [
        node("Constant", [], ["a"], value=numpy_helper.from_array(floats(2, 3))),
        node("Constant", [], ["b"], value_float=2.0),
        node("Constant", [], ["spec"], value_ints=[3, 2]),
        node("Mul", ["a", "b"], ["ab"]),
        node("Add", ["x", "ab"], ["s"]),
        node("Reshape", ["s", "spec"], ["y"]),
    ]
    model = make_model(nodes, [tensor("x", [2, 3])], [tensor("y", [3, 2])])
    module = import_ok(model)
    # a * b folds; the product is one graph.constant feeding the runtime add.
    assert op_names(module, constants=True) == ["graph.constant", "graph.add", "graph.reshape"]
    assert prop(only(module, "graph.reshape"), "shape") == (3, 2)


def test_constant_strings_are_unsupported():
    nodes = [node("Constant", [], ["c"], value_strings=["a"]), node("Relu", ["x"], ["y"])]
    model = make_model(nodes, [tensor("x", [2])], [tensor("y", [2]), tensor("c", [1], TensorProto.STRING)])
    (issue,) = check_support(model).issues
    assert (issue.node, issue.kind) == ("c", "unsupported attribute")


def test_gather_on_a_runtime_tensor_says_it_only_folds():
    model = make_model(
        [helper.make_node("Gather", ["x", "i"], ["y"], axis=0)], [tensor("x", [3, 2])],
        [tensor("y", [2])], [init("i", np.array(1))],
    )
    (issue,) = check_support(model).issues
    assert issue.node == "#0 -> y"  # unnamed node
    assert "Gather on a run-time tensor" in issue.reason
    assert "only evaluated at import time" in issue.reason


def test_failed_constant_evaluation_falls_back_to_the_op(monkeypatch):
    """When onnx.reference cannot evaluate an all-constant node the importer handles,
    the op is built on materialised constants instead of failing."""
    import onnx.reference

    class Broken:
        def __init__(self, *args, **kwargs):
            raise RuntimeError("no implementation")

    monkeypatch.setattr(onnx.reference, "ReferenceEvaluator", Broken)
    nodes = [node("Relu", ["c"], ["r"]), node("Add", ["x", "r"], ["y"])]
    model = make_model(nodes, [tensor("x", [2])], [tensor("y", [2])], [init("c", floats(2))])
    assert op_names(import_ok(model)) == ["graph.relu", "graph.add"]
    unknown = make_model(
        [node("Erf", ["c"], ["e"]), node("Add", ["x", "e"], ["y"])], [tensor("x", [2])],
        [tensor("y", [2])], [init("c", floats(2))],
    )
    (issue,) = check_support(unknown).issues
    assert "cannot evaluate this all-constant Erf at import time: no implementation" in issue.reason


def test_unused_nodes_are_skipped_even_if_unsupported():
    nodes = [node("Relu", ["x"], ["y"]), node("Gelu", ["x"], ["dead"])]
    model = make_model(nodes, [tensor("x", [2])], [tensor("y", [2])], opset=20)
    assert op_names(import_ok(model)) == ["graph.relu"]


# ================================================================ error paths
def test_every_unsupported_node_is_listed_at_once():
    nodes = [
        node("Relu", ["x"], ["a"]),
        node("Erf", ["a"], ["b"]),
        node("Relu", ["b"], ["c"]),
        node("LpNormalization", ["c"], ["d"]),
        node("Tanh", ["d"], ["e"]),
        node("Conv", ["e", "w"], ["y"]),
    ]
    model = make_model(
        nodes, [tensor("x", [1, 2, 5])], [tensor("y", [1, 2, 3])], [init("w", floats(2, 2, 3))]
    )
    report = check_support(model)
    assert not report.ok
    assert [(i.node, i.op_type, i.kind) for i in report.issues] == [
        ("b", "Erf", "unsupported op"),
        ("d", "LpNormalization", "unsupported op"),
        ("e", "Tanh", "unsupported op"),
        ("y", "Conv", "unsupported op"),  # 1-D conv: still checked after the failures
    ]
    text = str(report)
    assert "(opset 13, 6 nodes): 4 problems prevent import:" in text
    assert "unsupported operators: Conv (1), Erf (1), LpNormalization (1), Tanh (1)" in text
    with pytest.raises(OnnxImportError) as raised:
        import_onnx(model)
    assert str(raised.value) == text
    assert raised.value.report == report
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("opset", [6, 22])
def test_opset_outside_7_to_21(opset):
    report = check_support(one_op("Relu", [[2]], [2], opset=opset))
    (issue,) = report.issues
    assert issue.kind == "unsupported opset"
    assert f"opset {opset} is outside the supported range 7..21" in issue.reason


def test_other_domains_are_named():
    model = one_op("Relu", [[2]], [2])
    model.graph.node.append(helper.make_node("Custom", ["y"], ["z"], domain="com.example", name="c"))
    model.graph.output.append(tensor("z", [2]))
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    (issue,) = check_support(model).issues
    assert (issue.node, issue.kind) == ("c", "unsupported domain")
    assert "'com.example'" in issue.reason


def test_unused_ml_domain_import_is_fine():
    model = one_op("Relu", [[2]], [2])
    model.opset_import.append(helper.make_opsetid("ai.onnx.ml", 3))
    assert check_support(model).ok


def test_unsupported_dtypes_name_the_tensor():
    nodes = [node("Relu", ["h"], ["a"]), node("Add", ["x", "d"], ["b"])]
    model = make_model(
        nodes, [tensor("h", [2], TensorProto.FLOAT16), tensor("x", [2], TensorProto.DOUBLE)],
        [tensor("a", [2], TensorProto.FLOAT16), tensor("b", [2], TensorProto.DOUBLE)],
        [init("d", np.ones(2))],
    )
    report = check_support(model)
    assert [(i.node, i.kind) for i in report.issues] == [
        ("graph input 'h'", "unsupported dtype"), ("graph input 'x'", "unsupported dtype")
    ]
    assert "float16" in report.issues[0].reason and "double" in report.issues[1].reason


def test_unsupported_dtype_of_a_constant_operand():
    model = make_model(
        [node("Mul", ["x", "h"], ["y"])], [tensor("x", [2])], [tensor("y", [2])],
        [init("h", np.ones(2, np.float16))],
    )
    (issue,) = check_support(model).issues
    assert (issue.node, issue.kind) == ("y", "unsupported dtype")
    assert "tensor 'h' has element type float16" in issue.reason


def test_dynamic_input_dims_are_named_and_input_shapes_fixes_them():
    model = one_op("Relu", [["batch", 3, None]], ["batch", 3, None])
    (issue,) = check_support(model).issues
    assert (issue.node, issue.kind) == ("graph input 'x0'", "dynamic shape")
    assert "dimensions 0 ('batch'), 2 (unknown) of shape [?, 3, ?]" in issue.reason
    assert "input_shapes={'x0': (1, 3, 1)}" in issue.reason
    module = import_ok(model, input_shapes={"x0": (4, 3, 7)})
    assert result_shapes(module) == [(4, 3, 7)]


def test_bad_input_shapes_are_reported():
    model = one_op("Relu", [["n", 3]], ["n", 3])
    report = check_support(model, input_shapes={"x0": (2, 4), "nope": (1,)})
    assert [(i.node, i.kind) for i in report.issues] == [
        ("input_shapes['nope']", "bad input_shapes"), ("graph input 'x0'", "bad input_shapes")
    ]
    assert "fixes dimension 1" in report.issues[1].reason


def test_constant_inputs_bind_graph_inputs_at_import_time():
    model = make_model(
        [node("Reshape", ["x", "shape"], ["r"]), node("Clip", ["x", "lo"], ["c"]),
         node("Reshape", ["c", "shape"], ["y"])],
        [tensor("x", [2, 3]), tensor("shape", [2], TensorProto.INT64), tensor("lo", [])],
        [tensor("r", [3, 2]), tensor("y", [3, 2])],
    )
    assert {i.kind for i in check_support(model).issues} == {"dynamic shape", "non-constant input"}
    module = import_ok(
        model, constant_inputs={"shape": np.array([3, -1]), "lo": np.float32(0.25)}
    )
    assert function_io_names(module) == (["x"], ["r", "y"])
    assert op_names(module) == ["graph.reshape", "graph.clip", "graph.reshape"]
    assert prop(only(module, "graph.clip"), "min") == 0.25


def test_bad_constant_inputs_are_reported():
    model = make_model(
        [node("Reshape", ["x", "shape"], ["y"])],
        [tensor("x", [2, 3]), tensor("shape", [2], TensorProto.INT64)], [tensor("y", [3, 2])],
    )
    report = check_support(
        model, constant_inputs={"shape": np.array([3, 2], np.int32), "nope": np.zeros(1)}
    )
    assert [(i.node, i.kind) for i in report.issues] == [
        ("constant_inputs['shape']", "bad constant_inputs"),
        ("constant_inputs['nope']", "bad constant_inputs"),
        ("y", "dynamic shape"),
    ]
    assert report.issues[0].reason == "array of int32 for an input of int64"
    wrong_shape = check_support(model, constant_inputs={"shape": np.array([6])})
    assert "array of shape (1,) for an input of shape [2]" in str(wrong_shape)


def test_missing_file_and_garbage_file(tmp_path):
    with pytest.raises(OnnxImportError, match="no such file"):
        import_onnx(tmp_path / "missing.onnx")
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\x00 not a protobuf at all")
    with pytest.raises(OnnxImportError, match="not a valid ONNX model"):
        check_support(garbage)


def test_undefined_input_is_an_invalid_model():
    model = make_model([node("Relu", ["ghost"], ["y"])], [], [tensor("y", [2])])
    (issue,) = check_support(model).issues
    assert issue.kind == "invalid model" and "'ghost'" in issue.reason


def test_malformed_attributes_are_reported_not_raised():
    nodes = [
        node("Gemm", ["a", "a"], ["g"], alpha="half"),
        node("Cast", ["a"], ["c"]),
    ]
    model = make_model(nodes, [tensor("a", [2, 2])], [tensor("g", [2, 2]), tensor("c", [2, 2])])
    report = check_support(model)
    assert [(i.node, i.kind) for i in report.issues] == [("g", "invalid model"), ("c", "invalid model")]
    assert "ValueError" in report.issues[0].reason
    assert report.issues[1].reason == "Cast needs a 'to' attribute"


def test_report_of_a_supported_model():
    report = check_support(one_op("Relu", [[2]], [2]))
    assert report.ok and isinstance(report, SupportReport)
    assert str(report) == "ONNX model 'test' (opset 13, 1 node): supported"


# ============================================================ names & the func
def test_io_names_and_ssa_hints():
    nodes = [node("Relu", ["gpu_0/data_0"], ["1:out"]), node("Sigmoid", ["1:out"], ["prob"])]
    model = make_model(
        nodes, [tensor("gpu_0/data_0", [2])], [tensor("prob", [2]), tensor("1:out", [2])]
    )
    module = import_ok(model, function_name="net")
    assert function(module).sym_name.data == "net"
    assert function_io_names(module) == (["gpu_0/data_0"], ["prob", "1:out"])
    assert function(module).body.block.args[0].name_hint == "gpu_0_data"  # xDSL drops _0
    assert ssa_name_hint("1:out") == "v1_out"
    assert ssa_name_hint("gpu_0/data_0") == "gpu_0_data_0"


def test_initializers_listed_as_inputs_are_constants():
    model = make_model(
        [node("Add", ["x", "w"], ["y"])], [tensor("x", [2]), tensor("w", [2])], [tensor("y", [2])],
        [init("w", floats(2))],
    )
    module = import_ok(model)
    assert function_io_names(module) == (["x"], ["y"])


def test_function_io_names_needs_onnx_names():
    module = import_ok(one_op("Relu", [[2]], [2]))
    function(module).properties.pop("arg_attrs")
    with pytest.raises(ValueError, match="argument 0 of @main has no 'onnx.name'"):
        function_io_names(module)


# ================================================================== numerics
def _numeric_cases() -> dict[str, Callable[[], tuple[onnx.ModelProto, dict]]]:
    u8, i8 = TensorProto.UINT8, TensorProto.INT8
    cases = {}

    def case(fn):
        cases[fn.__name__] = fn
        return fn

    @case
    def binary_broadcast():
        nodes = [node("Add", ["x", "b"], ["a"]), node("Sub", ["a", "x"], ["s"]),
                 node("Mul", ["s", "b"], ["m"]), node("Div", ["m", "c"], ["y"])]
        model = make_model(nodes, [tensor("x", [2, 3, 4])], [tensor("y", [2, 3, 4])],
                           [init("b", floats(4)), init("c", np.float32(3.0))])
        return model, {"x": floats(2, 3, 4)}

    @case
    def activations():
        nodes = [node("Relu", ["x"], ["r"]), node("Sigmoid", ["r"], ["s"]),
                 node("LeakyRelu", ["x"], ["l"], alpha=0.2), node("HardSigmoid", ["l"], ["h"], alpha=0.3, beta=0.4),
                 node("Sum", ["s", "h"], ["y"])]
        return make_model(nodes, [tensor("x", [3, 5])], [tensor("y", [3, 5])]), {"x": floats(3, 5)}

    @case
    def clip_opset_13():
        model = make_model([node("Clip", ["x", "lo", "hi"], ["y"])], [tensor("x", [10])], [tensor("y", [10])],
                           [init("lo", np.float32(-0.3)), init("hi", np.float32(0.4))])
        return model, {"x": floats(10)}

    @case
    def gemm_and_matmul():
        nodes = [node("Gemm", ["x", "w", "c"], ["g"], alpha=0.5, beta=2.0, transB=1),
                 node("MatMul", ["g", "v"], ["y"])]
        model = make_model(nodes, [tensor("x", [3, 4])], [tensor("y", [3, 2])],
                           [init("w", floats(5, 4)), init("c", floats(5)), init("v", floats(5, 2))])
        return model, {"x": floats(3, 4)}

    @case
    def conv_group_dilation_bias():
        model = conv_model([1, 4, 9, 10], [6, 2, 3, 3], [1, 6, 6, 3], pads=[1, 2, 3, 0],
                           strides=[2, 3], dilations=[1, 2], group=2)
        return model, {"x": floats(1, 4, 9, 10)}

    @case
    def conv_same_upper():
        model = conv_model([1, 2, 9, 9], [3, 2, 4, 4], [1, 3, 5, 5], auto_pad="SAME_UPPER", strides=[2, 2])
        return model, {"x": floats(1, 2, 9, 9)}

    @case
    def conv_same_lower():
        model = conv_model([1, 2, 9, 9], [3, 2, 4, 4], [1, 3, 5, 5], auto_pad="SAME_LOWER", strides=[2, 2])
        return model, {"x": floats(1, 2, 9, 9)}

    @case
    def pools():
        nodes = [node("MaxPool", ["x"], ["m"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 0, 0], ceil_mode=1),
                 node("AveragePool", ["x"], ["a"], kernel_shape=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1),
                 node("AveragePool", ["x"], ["b"], kernel_shape=[3, 3], auto_pad="SAME_UPPER"),
                 node("GlobalAveragePool", ["x"], ["g"]), node("GlobalMaxPool", ["x"], ["h"])]
        outs = [tensor("m", [1, 2, 4, 4]), tensor("a", [1, 2, 8, 8]), tensor("b", [1, 2, 7, 7]),
                tensor("g", [1, 2, 1, 1]), tensor("h", [1, 2, 1, 1])]
        return make_model(nodes, [tensor("x", [1, 2, 7, 7])], outs, opset=11), {"x": floats(1, 2, 7, 7)}

    @case
    def reduce_mean_and_softmax():
        nodes = [node("ReduceMean", ["x"], ["r"], axes=[-1], keepdims=1),
                 node("Softmax", ["x"], ["s"], axis=1), node("Add", ["s", "r"], ["y"])]
        return make_model(nodes, [tensor("x", [2, 3, 4])], [tensor("y", [2, 3, 4])]), {"x": floats(2, 3, 4)}

    @case
    def batch_norm_flatten_transpose_concat():
        nodes = [node("BatchNormalization", ["x", "s", "b", "m", "v"], ["n"], epsilon=1e-3),
                 node("Transpose", ["n"], ["t"], perm=[0, 2, 3, 1]), node("Flatten", ["t"], ["f"], axis=2),
                 node("Concat", ["f", "f"], ["y"], axis=-1)]
        inits = [init("s", floats(3)), init("b", floats(3)), init("m", floats(3)), init("v", np.abs(floats(3)) + 0.1)]
        # opset 15: onnx.reference's BatchNormalization-9 computes batch statistics
        # (training) whenever momentum has a value, which its default always gives.
        model = make_model(nodes, [tensor("x", [1, 3, 2, 2])], [tensor("y", [2, 12])], inits, opset=15)
        return model, {"x": floats(1, 3, 2, 2)}

    @case
    def pads_all_forms():
        nodes = [node("Pad", ["x", "p", "v"], ["c"], mode="constant"),
                 node("Pad", ["c", "p"], ["r"], mode="reflect"), node("Pad", ["r", "p"], ["y"], mode="edge")]
        inits = [init("p", np.array([1, 0, 0, 2])), init("v", np.float32(-1.5))]
        return make_model(nodes, [tensor("x", [3, 3])], [tensor("y", [6, 9])], inits), {"x": floats(3, 3)}

    @case
    def quantize_dequantize_per_axis():
        # onnx.reference implements QuantizeLinear/DequantizeLinear from opset 19 only.
        return qdq_model(per_axis=True, opset=19), {"x": floats(2, 3, 4) * 3}

    @case
    def quantize_dequantize_one_element_scale():
        model = make_model(
            [node("QuantizeLinear", ["x", "s", "z"], ["q"]), node("DequantizeLinear", ["q", "s", "z"], ["y"])],
            [tensor("x", [2, 3])], [tensor("y", [2, 3])],
            [init("s", np.array([0.05], np.float32)), init("z", np.array([4], np.uint8))], opset=19,
        )
        return model, {"x": floats(2, 3)}

    @case
    def quantize_dequantize_per_tensor_uint8():
        return qdq_model(per_axis=False, zero_dtype=np.uint8, opset=21), {"x": floats(2, 3, 4)}

    @case
    def integer_ops():
        nodes = [node("ConvInteger", ["x", "w", "xz", "wz"], ["c"], pads=[1, 1, 1, 1]),
                 node("MatMulInteger", ["a", "b", "az"], ["m"]),
                 node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "bias"], ["qc"]),
                 node("QLinearMatMul", ["a", "xs", "az", "b", "ws", "bz", "ys", "yz"], ["qm"])]
        inits = [init("w", ints(np.uint8, 2, 3, 3, 3, low=0, high=255)), init("wz", np.uint8(3)),
                 init("xz", np.uint8(128)), init("b", ints(np.uint8, 4, 5, low=0, high=255)),
                 init("az", np.uint8(7)), init("bz", np.uint8(100)), init("xs", np.float32(0.1)),
                 init("ws", np.float32(0.02)), init("ys", np.float32(0.3)), init("yz", np.uint8(10)),
                 init("bias", ints(np.int32, 2, low=-500, high=500))]
        model = make_model(nodes, [tensor("x", [1, 3, 5, 5], u8), tensor("a", [2, 4], u8)],
                           [tensor("c", [1, 2, 5, 5], TensorProto.INT32), tensor("m", [2, 5], TensorProto.INT32),
                            tensor("qc", [1, 2, 3, 3], u8), tensor("qm", [2, 5], u8)], inits, opset=10)
        return model, {"x": ints(np.uint8, 1, 3, 5, 5, low=0, high=255), "a": ints(np.uint8, 2, 4, low=0, high=255)}

    @case
    def folded_shape_chain_and_reshapes():
        nodes = [node("Shape", ["x"], ["s"]), node("Gather", ["s", "zero"], ["n"], axis=0),
                 node("Unsqueeze", ["n", "ax"], ["n1"]), node("Concat", ["n1", "m1"], ["spec"], axis=0),
                 node("Reshape", ["x", "spec"], ["r"]), node("Unsqueeze", ["r", "ax"], ["u"]),
                 node("Squeeze", ["u", "ax"], ["q"]), node("Dropout", ["q"], ["d"]), node("Identity", ["d"], ["y"])]
        inits = [init("zero", np.array(0)), init("ax", np.array([0])), init("m1", np.array([-1]))]
        return make_model(nodes, [tensor("x", [2, 3, 4])], [tensor("y", [2, 12])], inits), {"x": floats(2, 3, 4)}

    @case
    def expand_and_constant_of_shape():
        nodes = [node("ConstantOfShape", ["shape"], ["k"], value=helper.make_tensor("v", F, [1], [0.25])),
                 node("Expand", ["x", "shape"], ["e"]), node("Mul", ["e", "k"], ["y"])]
        model = make_model(nodes, [tensor("x", [3, 1])], [tensor("y", [3, 4])], [init("shape", np.array([3, 4]))])
        return model, {"x": floats(3, 1)}

    del i8
    return cases


NUMERIC_CASES = _numeric_cases()


@pytest.mark.parametrize("case", sorted(NUMERIC_CASES))
def test_imported_module_matches_onnx_reference(case):
    model, feeds = NUMERIC_CASES[case]()
    assert_matches_onnx(model, feeds)


def test_softmax_before_13_normalises_over_all_axes_from_axis():
    """onnx.reference applies opset-13 semantics to every Softmax version, so the
    expected values of the coerce-to-2D form are computed here."""
    run_graph = _run_graph()
    x = floats(2, 3, 4)
    module = import_ok(one_op("Softmax", [[2, 3, 4]], [2, 3, 4], opset=11, axis=1))
    rows = x.reshape(2, 12).astype(np.float64)
    e = np.exp(rows - rows.max(axis=1, keepdims=True))
    expected = (e / e.sum(axis=1, keepdims=True)).reshape(2, 3, 4)
    (got,) = run_graph(module, [x])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.reshape(2, 12).sum(axis=1) == pytest.approx([1.0, 1.0])


@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    data=st.data(),
)
def test_reshape_spec_resolution_matches_onnx_shape_inference(shape, data):
    """Random 0/-1 reshape specs: the imported shape equals ONNX's (via the cross-check)
    and numpy's reshape of the same data."""
    total = math.prod(shape)
    target = data.draw(st.permutations(shape))
    spec = [d if i >= len(shape) or d != shape[i] or data.draw(st.booleans()) else 0
            for i, d in enumerate(target)]
    minus = data.draw(st.integers(-1, len(spec) - 1))
    if minus >= 0 and spec[minus] != 0:
        spec[minus] = -1
    model = make_model(
        [node("Reshape", ["x", "spec"], ["y"])], [tensor("x", shape)], [tensor("y", target)],
        [init("spec", np.array(spec, np.int64))],
    )
    module = import_ok(model)
    assert result_shapes(module) == [tuple(target)]
    assert math.prod(result_shapes(module)[0]) == total


@given(
    size=st.integers(3, 12), kernel=st.integers(1, 4), stride=st.integers(1, 3),
    dilation=st.integers(1, 2), mode=st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]),
)
def test_auto_pad_matches_onnx_shape_inference(size, kernel, stride, dilation, mode):
    """The explicit pads reproduce ONNX's output size for every auto_pad geometry, and
    SAME pads split the total as the spec says (odd pixel at the end for UPPER)."""
    span = (kernel - 1) * dilation + 1
    if mode == "VALID" and span > size:
        return
    out = -(-size // stride) if mode != "VALID" else (size - span) // stride + 1
    model = make_model(
        [node("MaxPool", ["x"], ["y"], kernel_shape=[kernel, kernel], strides=[stride, stride],
              dilations=[dilation, dilation], auto_pad=mode)],
        [tensor("x", [1, 1, size, size])], [tensor("y", [1, 1, out, out])], opset=12,
    )
    module = import_ok(model)
    assert result_shapes(module) == [(1, 1, out, out)]
    top, left, bottom, right = prop(only(module, "graph.max_pool"), "pads")
    assert (top, bottom) == (left, right)
    if mode == "SAME_UPPER":
        assert bottom - top in (0, 1)
    elif mode == "SAME_LOWER":
        assert top - bottom in (0, 1)
    else:
        assert top == bottom == 0


# =============================================================== model zoo
LIGHT_MODELS = sorted(p.name for p in LIGHT_DIR.glob("light_*.onnx"))


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_zoo_models_import(name):
    model = onnx.load(LIGHT_DIR / name)
    start = time.perf_counter()
    module = import_onnx(model)
    seconds = time.perf_counter() - start
    module.verify()
    ops = op_names(module)
    assert ops and "graph.constant" not in ops
    assert len(result_shapes(module)) == len(model.graph.output) == 1
    (out,) = model.graph.output
    assert result_shapes(module)[0] == tuple(d.dim_value for d in out.type.tensor_type.shape.dim)
    # Weights are ConstantOfShape nodes: all folded, no shape plumbing left.
    assert not any(op in ops for op in ("graph.unsqueeze", "graph.identity"))
    print(f"{name}: imported in {seconds:.1f} s")  # printed, not asserted: wall times vary
