"""graph-split-wide-weights: random conv_integer / matmul_integer keep their outputs bit for
bit when a weight minus its zero point leaves int8 and is split into int8 terms; GEMMs in
range (or not splittable) are untouched; ONNX's node tests stay exact through the graph
passes. (About 10 s.)
"""

from __future__ import annotations

import copy
import importlib
from io import StringIO

import numpy as np
import onnx
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from onnx import numpy_helper
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.parser import Parser
from xdsl.printer import Printer

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.tools.pipelines import apply_pipeline
from canopy_mlir.transforms.graph_split_wide_weights import (
    GraphSplitWideWeights,
    split_int8,
)

DTYPES = {"i8": np.int8, "ui8": np.uint8}


# ------------------------------------------------------------------ helpers
def _tensor(shape, element: str) -> str:
    return f"tensor<{'x'.join(str(d) for d in shape)}{'x' if shape else ''}{element}>"


def _constant(name: str, array: np.ndarray, element: str) -> str:
    return f'  %{name} = graph.constant dense<"0x{array.tobytes().hex().upper()}"> : {_tensor(array.shape, element)}\n'


def _parse(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


def _text(module: ModuleOp) -> str:
    out = StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue()


def _run_pass(module: ModuleOp) -> ModuleOp:
    result = module.clone()
    GraphSplitWideWeights().apply(make_context(), result)
    result.verify()
    return result


def _assert_same(before: list[np.ndarray], after: list[np.ndarray]) -> None:
    assert len(before) == len(after)
    for index, (want, got) in enumerate(zip(before, after, strict=True)):
        assert want.dtype == got.dtype and want.shape == got.shape, index
        np.testing.assert_array_equal(got, want, err_msg=f"output {index}")


def _centred(w: np.ndarray, zp: np.ndarray | None, axis: int) -> np.ndarray:
    centred = w.astype(np.int64)
    if zp is None:
        return centred
    shape = [1] * w.ndim
    shape[axis] = -1
    return centred - zp.astype(np.int64).reshape(shape if zp.size > 1 else [1] * w.ndim)


def _check(module: ModuleOp, inputs: list[np.ndarray], wide: bool) -> ModuleOp:
    """The pass keeps the outputs; a ``wide`` GEMM is rewritten to an i8 weight without
    zero point (and k copies of the input), any other is left exactly as it was."""
    after = _run_pass(module)
    _assert_same(run_graph(module, inputs), run_graph(after, inputs))
    gemms = [op for op in after.walk() if isinstance(op, graph.ConvIntegerOp | graph.MatMulIntegerOp)]
    assert len(gemms) == 1
    if not wide:
        assert _text(after) == _text(module)
        return after
    (gemm,) = gemms
    assert len(gemm.operands) <= 3 and gemm.operands[1].type.element_type == graph.i8
    weight = gemm.operands[1].owner
    assert isinstance(weight, graph.ConstantOp)
    concat = gemm.operands[0].owner
    if isinstance(concat, graph.ReshapeOp):  # a grouped conv: the copies per group
        concat = concat.input.owner
    assert isinstance(concat, graph.ConcatOp)
    k = len(concat.operands)
    assert 2 <= k <= 3 and all(v is concat.operands[0] for v in concat.operands)
    assert gemm.results[0].name_hint == "y"
    return after


# ------------------------------------------------------------------ split_int8
@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_split_is_exact_and_minimal(seed):
    rng = np.random.default_rng(seed)
    centred = rng.integers(-255, 256, size=rng.integers(1, 20))
    terms = split_int8(centred)
    assert all(t.dtype == np.int8 for t in terms)
    np.testing.assert_array_equal(sum(t.astype(np.int64) for t in terms), centred)
    lo, hi = int(centred.min()), int(centred.max())
    expected = 1 if lo >= -128 and hi <= 127 else 2 if lo >= -256 and hi <= 254 else 3
    assert len(terms) == expected


def test_split_examples():
    assert [t.tolist() for t in split_int8(np.array([255, -255, 5]))] == [[127, -128, 5], [127, -127, 0], [1, 0, 0]]
    assert [t.tolist() for t in split_int8(np.array([-256, 254]))] == [[-128, 127], [-128, 127]]


# ------------------------------------------------------------------ random conv_integer
@st.composite
def conv_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x_el, w_el = draw(st.sampled_from(list(DTYPES))), draw(st.sampled_from(list(DTYPES)))
    groups = draw(st.sampled_from([1, 1, 2, 3]))  # grouped: each group's channels repeated in place
    n, c, o = draw(st.integers(1, 2)), groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    dilations = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = [draw(st.integers(0, 2)) for _ in range(4)]
    h = max(draw(st.integers(1, 6)), dilations[0] * (kh - 1) + 1 - pads[0] - pads[2])
    w_ = max(draw(st.integers(1, 6)), dilations[1] * (kw - 1) + 1 - pads[1] - pads[3])
    info_x, info_w = np.iinfo(DTYPES[x_el]), np.iinfo(DTYPES[w_el])
    x = rng.integers(info_x.min, info_x.max + 1, (n, c, h, w_)).astype(DTYPES[x_el])
    zp_kind = draw(st.sampled_from(["none", "scalar", "channel"]))
    narrow = draw(st.booleans())  # weights near the zero point: (usually) in range
    zp = None if zp_kind == "none" else rng.integers(info_w.min, info_w.max + 1, (o,) if zp_kind == "channel" else ())
    centre = zp.reshape(-1, 1, 1, 1) if zp is not None and zp.ndim else (zp if zp is not None else 0)
    if narrow:
        weight = np.clip(centre + rng.integers(-100, 101, (o, c // groups, kh, kw)), info_w.min, info_w.max)
    else:
        weight = rng.integers(info_w.min, info_w.max + 1, (o, c // groups, kh, kw))
    weight = weight.astype(DTYPES[w_el])
    zp = None if zp is None else np.asarray(zp).astype(DTYPES[w_el])
    x_zp = None if draw(st.booleans()) else np.asarray(rng.integers(info_x.min, info_x.max + 1)).astype(DTYPES[x_el])
    props = {"strides": strides, "pads": pads, "dilations": dilations, "group": groups}
    return x, weight, x_zp, zp, props, (x_el, w_el)


def _gemm_operands(data: tuple, weight: tuple) -> tuple[str, list[str], list[str]]:
    """(constant ops, operand names, operand types) of a GEMM on argument ``data`` and a
    constant ``weight``, each ``(name, array, element, zero point or None)``: the data
    zero point (0 when only the weight has one) and the weight's as constants."""
    (d_name, d, d_el, d_zp), (w_name, w, w_el, w_zp) = data, weight
    body = _constant(w_name, w, w_el)
    operands, types = [f"%{d_name}", f"%{w_name}"], [_tensor(d.shape, d_el), _tensor(w.shape, w_el)]
    if d_zp is not None or w_zp is not None:
        zp = d_zp if d_zp is not None else np.asarray(0).astype(DTYPES[d_el])
        body += _constant(f"{d_name}z", zp, d_el)
        operands.append(f"%{d_name}z")
        types.append(_tensor(zp.shape, d_el))
    if w_zp is not None:
        body += _constant(f"{w_name}z", w_zp, w_el)
        operands.append(f"%{w_name}z")
        types.append(_tensor(w_zp.shape, w_el))
    return body, operands, types


def _conv_module(x, weight, x_zp, w_zp, props, elements) -> ModuleOp:
    x_el, w_el = elements
    probe = graph.ConvIntegerOp._conv_shape(  # the result shape, from the dialect's own rule
        TensorType(graph.i8, list(x.shape)), TensorType(graph.i8, list(weight.shape)), props)
    y_t = _tensor(probe, "i32")
    body, operands, types = _gemm_operands(("x", x, x_el, x_zp), ("w", weight, w_el, w_zp))
    attrs = ", ".join(f"{k} = {vs}" if isinstance(vs, int) else f"{k} = [{', '.join(str(v) for v in vs)}]"
                      for k, vs in props.items())
    body += f"  %y = graph.conv_integer {', '.join(operands)} {{{attrs}}} : ({', '.join(types)}) -> {y_t}\n"
    return _parse(f"func.func @main(%x: {_tensor(x.shape, x_el)}) -> {y_t} {{\n{body}  func.return %y : {y_t}\n}}\n")


@settings(max_examples=80, deadline=None)
@given(case=conv_cases())
def test_random_conv_integer_is_exact(case):
    x, weight, x_zp, w_zp, props, elements = case
    centred = _centred(weight, w_zp, 0)
    wide = bool(centred.min() < -128 or centred.max() > 127)
    event(f"wide = {wide}")
    after = _check(_conv_module(x, weight, x_zp, w_zp, props, elements), [x], wide)
    if wide:
        conv = next(op for op in after.walk() if isinstance(op, graph.ConvIntegerOp))
        assert conv.props_dict()["strides"] == props["strides"]
        assert conv.props_dict()["pads"] == props["pads"]


# ------------------------------------------------------------------ random matmul_integer
@st.composite
def matmul_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    a_el, b_el = draw(st.sampled_from(list(DTYPES))), draw(st.sampled_from(list(DTYPES)))
    batch = draw(st.lists(st.integers(1, 3), max_size=2))
    m, k, n = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 4))
    info_a, info_b = np.iinfo(DTYPES[a_el]), np.iinfo(DTYPES[b_el])
    a = rng.integers(info_a.min, info_a.max + 1, (*batch, m, k)).astype(DTYPES[a_el])
    zp_kind = draw(st.sampled_from(["none", "scalar", "column"]))
    zp = None if zp_kind == "none" else rng.integers(info_b.min, info_b.max + 1, (n,) if zp_kind == "column" else ())
    if draw(st.booleans()):
        b = np.clip((zp if zp is not None else 0) + rng.integers(-100, 101, (k, n)), info_b.min, info_b.max)
    else:
        b = rng.integers(info_b.min, info_b.max + 1, (k, n))
    b = b.astype(DTYPES[b_el])
    zp = None if zp is None else np.asarray(zp).astype(DTYPES[b_el])
    a_zp_kind = draw(st.sampled_from(["none", "scalar", "row"]))
    a_zp = None if a_zp_kind == "none" else np.asarray(
        rng.integers(info_a.min, info_a.max + 1, (m,) if a_zp_kind == "row" else ())).astype(DTYPES[a_el])
    return a, b, a_zp, zp, (a_el, b_el)


def _matmul_module(a, b, a_zp, b_zp, elements) -> ModuleOp:
    a_el, b_el = elements
    y_t = _tensor((*a.shape[:-1], b.shape[1]), "i32")
    body, operands, types = _gemm_operands(("a", a, a_el, a_zp), ("b", b, b_el, b_zp))
    body += f"  %y = graph.matmul_integer {', '.join(operands)} : ({', '.join(types)}) -> {y_t}\n"
    return _parse(f"func.func @main(%a: {_tensor(a.shape, a_el)}) -> {y_t} {{\n{body}  func.return %y : {y_t}\n}}\n")


@settings(max_examples=80, deadline=None)
@given(case=matmul_cases())
def test_random_matmul_integer_is_exact(case):
    a, b, a_zp, b_zp, elements = case
    centred = _centred(b, b_zp, 1)
    wide = bool(centred.min() < -128 or centred.max() > 127)
    event(f"wide = {wide}")
    _check(_matmul_module(a, b, a_zp, b_zp, elements), [a], wide)


# ------------------------------------------------------------------ grouped, batched
GROUPED_AND_BATCHED = """
func.func @main(%x: tensor<1x2x3x3xi8>, %a: tensor<2x2x3xi8>) -> (tensor<1x2x3x3xi32>, tensor<2x2x4xi32>) {
  %w = graph.constant dense<[[[[-128]]], [[[5]]]]> : tensor<2x1x1x1xi8>
  %wz = graph.constant dense<127> : tensor<i8>
  %c = graph.conv_integer %x, %w, %wz, %wz {group = 2} : (tensor<1x2x3x3xi8>, tensor<2x1x1x1xi8>, tensor<i8>, tensor<i8>) -> tensor<1x2x3x3xi32>
  %b = graph.constant dense<-100> : tensor<2x3x4xi8>
  %y = graph.matmul_integer %a, %b, %wz, %wz : (tensor<2x2x3xi8>, tensor<2x3x4xi8>, tensor<i8>, tensor<i8>) -> tensor<2x2x4xi32>
  func.return %c, %y : tensor<1x2x3x3xi32>, tensor<2x2x4xi32>
}
"""


def test_grouped_conv_repeats_each_group_in_place_and_batched_matmul_is_left_alone():
    """Depthwise, 2 channels: w - zp = [-255, -122] needs k = 2; channel j's output must
    read only channel j (twice): (x_j - 127) * w'_j."""
    module = _parse(GROUPED_AND_BATCHED)
    after = _run_pass(module)
    (conv,) = [op for op in after.walk() if isinstance(op, graph.ConvIntegerOp)]
    assert tuple(conv.input.type.get_shape()) == (1, 4, 3, 3) and conv.props_dict()["group"] == 2
    assert sum(isinstance(op, graph.MatMulIntegerOp) and op.b_zero_point is not None for op in after.walk()) == 1
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1, 2, 3, 3)).astype(np.int8)
    a = rng.integers(-128, 128, (2, 2, 3)).astype(np.int8)
    got = run_graph(after, [x, a])
    centred = x.astype(np.int32) - 127
    np.testing.assert_array_equal(got[0], centred * np.array([-255, -122], np.int32).reshape(1, 2, 1, 1))
    np.testing.assert_array_equal(got[1], run_graph(module, [x, a])[1])


SHARED_INPUT = """
func.func @main(%a: tensor<2x3xi8>) -> (tensor<2x4xi32>, tensor<2x4xi32>) {
  %b = graph.constant dense<-100> : tensor<3x4xi8>
  %b2 = graph.constant dense<-110> : tensor<3x4xi8>
  %z = graph.constant dense<100> : tensor<i8>
  %y = graph.matmul_integer %a, %b, %z, %z : (tensor<2x3xi8>, tensor<3x4xi8>, tensor<i8>, tensor<i8>) -> tensor<2x4xi32>
  %y2 = graph.matmul_integer %a, %b2, %z, %z : (tensor<2x3xi8>, tensor<3x4xi8>, tensor<i8>, tensor<i8>) -> tensor<2x4xi32>
  func.return %y, %y2 : tensor<2x4xi32>, tensor<2x4xi32>
}
"""


def test_two_gemms_share_the_input_copies():
    """Both GEMMs need k = 2 on %a (-200, -210): one concat serves both; the results are
    the independent integer matmuls."""
    module = _parse(SHARED_INPUT)
    inputs = [np.array([[1, -128, 127], [5, 0, -3]], dtype=np.int8)]
    after = _run_pass(module)
    assert sum(isinstance(op, graph.ConcatOp) for op in after.walk()) == 1
    got = run_graph(after, inputs)
    centred_a = inputs[0].astype(np.int32) - 100
    np.testing.assert_array_equal(got[0], centred_a @ np.full((3, 4), -200, np.int32))
    np.testing.assert_array_equal(got[1], centred_a @ np.full((3, 4), -210, np.int32))


# ------------------------------------------------------------------ ONNX node tests
GRAPH_PASSES = "graph-canonicalize,graph-fold-qdq,graph-fold-constants,graph-uint8-to-int8"


def _node_case(name: str):
    import onnx.backend.test.case.node as node_cases

    for module in ("qlinearconv", "qlinearmatmul"):
        importlib.import_module(f"onnx.backend.test.case.node.{module}")
    return next(c for c in node_cases._NodeTestCases if c.name == name)


def _constant_parameters(case) -> tuple[onnx.ModelProto, np.ndarray, list[np.ndarray]]:
    """(the model with inputs 1.. as initializers, the first input, the expected outputs)."""
    model = copy.deepcopy(case.model)
    ((inputs, outputs),) = case.data_sets
    first = model.graph.input[0]
    for info, value in list(zip(model.graph.input, inputs, strict=True))[1:]:
        model.graph.initializer.append(numpy_helper.from_array(np.asarray(value), info.name))
    del model.graph.input[:]
    model.graph.input.append(first)
    return model, np.asarray(inputs[0]), [np.asarray(o) for o in outputs]


@pytest.mark.parametrize("name", ["test_qlinearconv", "test_qlinearmatmul_2D_uint8_float32",
                                  "test_qlinearmatmul_2D_int8_float32"])
def test_onnx_node_tests_stay_exact(name):
    model, x, expected = _constant_parameters(_node_case(name))
    before = apply_pipeline(import_onnx(model), GRAPH_PASSES)
    after = apply_pipeline(import_onnx(model), f"{GRAPH_PASSES},graph-split-wide-weights")
    _assert_same(run_graph(before, [x]), run_graph(after, [x]))
    np.testing.assert_array_equal(run_graph(after, [x])[0], expected[0])
    gemms = [op for op in after.walk() if isinstance(op, graph.ConvIntegerOp | graph.MatMulIntegerOp)]
    assert len(gemms) == 1 and gemms[0].operands[1].type.element_type == graph.i8
    assert len(gemms[0].operands) <= 3  # no weight zero point left
    assert any(isinstance(op, graph.ConcatOp) for op in after.walk())


def test_registered():
    from canopy_mlir.transforms import ALL_PASSES

    assert ALL_PASSES["graph-split-wide-weights"]() is GraphSplitWideWeights
