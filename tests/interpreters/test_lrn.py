"""``graph.lrn``: the dialect op, its numpy reference, and both against ONNX.

Three independent oracles:

- ``onnx.reference.ReferenceEvaluator``. Its LRN (onnx 1.23) loops ``for c in
  range(x.shape[0])`` -- over the *batch* axis instead of the channels -- so it is only
  right when N == C (with N < C it leaves the later channels unnormalised, with N > C it
  raises). The ONNX comparisons therefore use N == C inputs;
- a per-element loop written straight from the ONNX operator text, for every shape;
- the expected outputs of ONNX's own LRN node tests (``test_lrn``, ``test_lrn_default``),
  via the ONNX importer and the interpreter.
"""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region

from canopy_mlir.dialects import graph
from canopy_mlir.dialects.graph import GraphError, LrnOp
from canopy_mlir.frontend.onnx_importer import import_onnx, supported_op_types
from canopy_mlir.interpreters import graph_reference as ref
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.interpreters.graph_reference import GraphReferenceError


def onnx_lrn(x: np.ndarray, **attrs) -> np.ndarray:
    """onnx.reference's LRN on ``x`` (valid only when N == C, see the module docstring)."""
    node = helper.make_node("LRN", ["x"], ["y"], **attrs)
    info = helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)
    model = helper.make_model(
        helper.make_graph([node], "lrn", [info], [helper.make_empty_tensor_value_info("y")]),
        opset_imports=[helper.make_opsetid("", 13)],
    )
    return ReferenceEvaluator(model).run(None, {"x": x})[0]


def spec_lrn(x: np.ndarray, size: int, alpha=0.0001, beta=0.75, bias=1.0) -> np.ndarray:
    """The ONNX operator text, one output element at a time (float64)."""
    n_, c_, h_, w_ = x.shape
    y = np.empty(x.shape, dtype=np.float64)
    low, high = math.floor((size - 1) / 2), math.ceil((size - 1) / 2)
    for n in range(n_):
        for c in range(c_):
            window = range(max(0, c - low), min(c_ - 1, c + high) + 1)
            for h in range(h_):
                for w in range(w_):
                    square_sum = sum(float(x[n, i, h, w]) ** 2 for i in window)
                    y[n, c, h, w] = x[n, c, h, w] / (bias + alpha / size * square_sum) ** beta
    return y.astype(np.float32)


def randf(shape, seed=0, scale=1.0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


# ------------------------------------------------------------------ reference
@pytest.mark.parametrize(
    "shape, attrs",
    [
        ((3, 3, 4, 5), {"size": 3}),
        ((5, 5, 2, 3), {"size": 5, "alpha": 0.002, "beta": 0.5, "bias": 2.0}),
        ((4, 4, 3, 3), {"size": 2}),  # even size: one more neighbour after than before
        ((4, 4, 1, 1), {"size": 1, "alpha": 0.1}),
        ((3, 3, 2, 2), {"size": 9, "alpha": 1.0, "beta": 1.0}),  # window wider than C
    ],
)
def test_reference_matches_onnx_reference(shape, attrs):
    x = randf(shape, seed=len(attrs), scale=3.0)
    expected = onnx_lrn(x, **attrs)
    actual = ref.lrn(x, **attrs)
    assert actual.dtype == np.float32 and actual.shape == x.shape
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(actual, x, rtol=1e-3), "the case must actually normalise"


@given(
    shape=st.tuples(
        st.integers(1, 2), st.integers(1, 7), st.integers(1, 3), st.integers(1, 3)
    ),
    size=st.integers(1, 8),
    alpha=st.floats(1e-5, 2.0),
    beta=st.floats(0.1, 2.0),
    bias=st.floats(0.5, 3.0),
    seed=st.integers(0, 2**16),
)
def test_reference_matches_the_operator_text(shape, size, alpha, beta, bias, seed):
    x = randf(shape, seed, scale=4.0)
    actual = ref.lrn(x, size=size, alpha=alpha, beta=beta, bias=bias)
    expected = spec_lrn(x, size, alpha, beta, bias)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


def test_reference_defaults_are_onnx_defaults():
    x = randf((4, 4, 2, 2), scale=30.0)
    np.testing.assert_allclose(ref.lrn(x, size=3), onnx_lrn(x, size=3), rtol=1e-5, atol=1e-6)


def test_huge_channel_does_not_swamp_small_neighbours():
    """A running-sum window would lose the small channels to cancellation."""
    x = np.full((1, 6, 1, 1), 1e-3, dtype=np.float32)
    x[0, 0] = 1e15
    y = ref.lrn(x, size=3, alpha=1.0, beta=1.0, bias=1.0)
    expected = spec_lrn(x, 3, 1.0, 1.0, 1.0)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert y[0, 5, 0, 0] == pytest.approx(1e-3, rel=1e-5)


@pytest.mark.parametrize(
    "x, attrs, message",
    [
        (randf((1, 2, 3, 3)).astype(np.int32), {"size": 3}, "float tensor"),
        (randf((2, 3, 4)), {"size": 3}, "4-D"),
        (randf((1, 2, 3, 3)), {"size": 0}, "'size' must be positive"),
    ],
)
def test_reference_rejects_bad_operands(x, attrs, message):
    with pytest.raises(GraphReferenceError, match=message):
        ref.lrn(x, **attrs)


# ---------------------------------------------------------------------- dialect
def lrn_module(shape, **props) -> ModuleOp:
    block = Block(arg_types=[TensorType(f32, list(shape))])
    op = LrnOp.create(block.args[0], **props)
    block.add_ops([op, ReturnOp(op.result)])
    func = FuncOp("main", ([block.args[0].type], [op.result.type]), Region(block))
    return ModuleOp([func])


def test_op_builds_with_defaults_and_interprets_like_onnx():
    module = lrn_module((3, 3, 4, 4), size=5)
    module.verify()
    (op,) = [o for o in module.walk() if isinstance(o, LrnOp)]
    assert op.props_dict() == {"size": 5, "alpha": 0.0001, "beta": 0.75, "bias": 1.0}
    assert graph.OP_BY_NAME["graph.lrn"] is LrnOp and LrnOp in graph.GRAPH_OPS
    x = randf((3, 3, 4, 4), scale=20.0)
    (y,) = run_graph(module, [x])
    np.testing.assert_allclose(y, onnx_lrn(x, size=5), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "shape, props, message",
    [
        ((1, 3, 4, 4), {}, "property 'size' is required"),
        ((1, 3, 4, 4), {"size": 0}, "size must be positive"),
        ((1, 3, 4), {"size": 3}, "rank 4"),
        ((1, 3, 4, 4), {"size": 3, "beta": math.inf}, "beta must be finite"),
    ],
)
def test_op_rejects_bad_operands_and_properties(shape, props, message):
    block = Block(arg_types=[TensorType(f32, list(shape))])
    with pytest.raises(GraphError, match=message):
        LrnOp.create(block.args[0], **props)


# ------------------------------------------------------------------ importer
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # onnx's node-case generators
def test_importer_maps_lrn_and_onnx_node_tests_pass():
    assert "LRN" in supported_op_types()
    from onnx.backend.test.loader import load_model_tests

    cases = [t for t in load_model_tests(kind="node") if t.name in ("test_lrn", "test_lrn_default")]
    assert len(cases) == 2
    for case in cases:
        model = case.model
        onnx.checker.check_model(model)
        module = import_onnx(model)
        assert any(isinstance(o, LrnOp) for o in module.walk())
        for inputs, outputs in case.data_sets:
            (actual,) = run_graph(module, list(inputs))
            np.testing.assert_allclose(actual, outputs[0], rtol=1e-5, atol=1e-6)
