"""graph-batched-matmul-to-conv: a batched constant-b qlinear_matmul / matmul_integer
becomes a grouped 1x1 qlinear_conv / conv_integer with the same outputs bit for bit.

Random shapes, i8/ui8 operands, scales and (per-tensor or per-column) zero points: the
graph interpreter gives the same result before and after (and, for matmul_integer, the
exact int64 numpy product). ONNX's two 3-D QLinearMatMul node tests give their expected
output after the pass alone and after the integer folds that follow it in canopy-default.
Cases the pass must leave alone keep their matmul. A card-shaped batched matmul, through
canopy-default with the pass before graph-fold-qdq, runs as one launch on the simulated card.

Takes ~4 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from canopy_mlir.dialects import graph
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.runtime.card import open_card
from canopy_mlir.runtime.dma_executor import DmaProgram
from canopy_mlir.tools.pipelines import NAMED_PIPELINES, apply_pipeline

PASS = "graph-batched-matmul-to-conv"
FOLDS = "graph-canonicalize,graph-fold-qdq,graph-fold-constants,graph-uint8-to-int8"
_ONNX_TYPE = {np.dtype(np.int8): TensorProto.INT8, np.dtype(np.uint8): TensorProto.UINT8}


def _model(op_type: str, a: np.ndarray, inits: dict[str, np.ndarray], y_type: int) -> onnx.ModelProto:
    """One ``op_type`` node with input ``a`` (a graph input) and constant everything else."""
    names = ["a", *inits]
    node = helper.make_node(op_type, names, ["y"])
    graph_ = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("a", _ONNX_TYPE[a.dtype], list(a.shape))],
        [helper.make_tensor_value_info("y", y_type, None)],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in inits.items()],
    )
    return helper.make_model(graph_, opset_imports=[helper.make_opsetid("", 13)])


def _ops(module) -> list[str]:
    return [op.name for op in module.walk() if isinstance(op, graph.GraphOp) and op.name != "graph.constant"]


def _run(module, a: np.ndarray) -> np.ndarray:
    (y,) = run_graph(module, [a])
    return y


@st.composite
def _problems(draw):
    """(lead batch dims, M, K, N, a dtype, b dtype, rng seed, per-column b params)."""
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    m, k, n = (draw(st.integers(1, 6)) for _ in range(3))
    a_dtype, b_dtype = (np.dtype(draw(st.sampled_from([np.int8, np.uint8]))) for _ in range(2))
    return lead, m, k, n, a_dtype, b_dtype, draw(st.integers(0, 2**32 - 1)), draw(st.booleans())


def _ints(rng, dtype: np.dtype, shape) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def _check_rewritten(before, after, a: np.ndarray, conv: str) -> np.ndarray:
    """The pass made exactly one grouped ``conv`` and no matmul; the outputs agree bit for bit."""
    assert conv in _ops(after) and not any("matmul" in name for name in _ops(after)), _ops(after)
    expected, got = _run(before, a), _run(after, a)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    return got


@settings(max_examples=60, deadline=None)
@given(_problems())
def test_qlinear_matmul_bit_exact(problem) -> None:
    lead, m, k, n, a_dtype, b_dtype, seed, per_column = problem
    rng = np.random.default_rng(seed)
    columns = (n,) if per_column else (1,)
    y_dtype = np.dtype(rng.choice([np.int8, np.uint8]))
    inits = {
        "a_scale": np.float32(rng.uniform(1e-3, 0.1)), "a_zp": _ints(rng, a_dtype, ()),
        "b": _ints(rng, b_dtype, (*lead, k, n)),
        "b_scale": rng.uniform(1e-3, 0.1, columns).astype(np.float32), "b_zp": _ints(rng, b_dtype, columns),
        # small enough output scales that many results saturate at both ends
        "y_scale": np.float32(rng.uniform(0.01, 2.0) * k * 1e-3), "y_zp": _ints(rng, y_dtype, ()),
    }
    a = _ints(rng, a_dtype, (*lead, m, k))
    before = import_onnx(_model("QLinearMatMul", a, inits, _ONNX_TYPE[y_dtype]))
    after = apply_pipeline(before.clone(), PASS)
    _check_rewritten(before, after, a, "graph.qlinear_conv")


@settings(max_examples=40, deadline=None)
@given(_problems())
def test_matmul_integer_bit_exact(problem) -> None:
    lead, m, k, n, a_dtype, b_dtype, seed, per_column = problem
    rng = np.random.default_rng(seed)
    b = _ints(rng, b_dtype, (*lead, k, n))
    a_zp, b_zp = _ints(rng, a_dtype, ()), _ints(rng, b_dtype, (n,) if per_column else ())
    a = _ints(rng, a_dtype, (*lead, m, k))
    before = import_onnx(_model("MatMulInteger", a, {"b": b, "a_zp": a_zp, "b_zp": b_zp}, TensorProto.INT32))
    got = _check_rewritten(before, apply_pipeline(before.clone(), PASS), a, "graph.conv_integer")
    exact = (a.astype(np.int64) - a_zp.astype(np.int64)) @ (b.astype(np.int64) - b_zp.astype(np.int64))
    np.testing.assert_array_equal(got, exact.astype(np.int32))


# ------------------------------------------------------------------ ONNX node tests
def _node_test(name: str) -> tuple[onnx.ModelProto, np.ndarray, np.ndarray]:
    """(model with constant parameters, its input, its expected output), as the e2e test loads them."""
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from e2e.test_e2e_node_tests import CASES, _constant_parameters

    model, x, (expected,) = _constant_parameters(CASES[name])
    return model, x, expected


@pytest.mark.parametrize("name", ["test_qlinearmatmul_3D_int8_float32", "test_qlinearmatmul_3D_uint8_float32"])
def test_onnx_node_test(name: str) -> None:
    model, x, expected = _node_test(name)
    rewritten = apply_pipeline(import_onnx(model), PASS)
    assert "graph.qlinear_conv" in _ops(rewritten) and "graph.qlinear_matmul" not in _ops(rewritten)
    np.testing.assert_array_equal(_run(rewritten, x), expected)
    folded = apply_pipeline(rewritten, FOLDS)
    # graph-fold-qdq folded the conv to integer ops (nothing stays in qlinear form)
    assert "graph.conv_integer" in _ops(folded) and not any("qlinear" in n for n in _ops(folded)), _ops(folded)
    got = _run(folded, x)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------ left alone
def _qlinear_inits(b_shape, a_scale_shape=()) -> dict[str, np.ndarray]:
    return {
        "a_scale": np.full(a_scale_shape, 0.01, np.float32), "a_zp": np.int8(1),
        "b": np.arange(np.prod(b_shape)).reshape(b_shape).astype(np.int8),
        "b_scale": np.float32(0.02), "b_zp": np.int8(-2), "y_scale": np.float32(0.05), "y_zp": np.int8(3),
    }


@pytest.mark.parametrize(("a_shape", "b_shape", "a_scale_shape"), [
    ((3, 4), (2, 4, 5), ()),            # a's batch broadcasts against b's
    ((1, 3, 4), (2, 4, 5), ()),         # size-1 batch dimension broadcasts
    ((2, 3, 4), (2, 4, 5), (3,)),       # per-row a scale: a conv input's is per-tensor
    ((2, 3, 4), (4, 5), ()),            # 2-D b: graph-fold-qdq's own case
])
def test_left_alone(a_shape, b_shape, a_scale_shape) -> None:
    a = np.ones(a_shape, np.int8)
    before = import_onnx(_model("QLinearMatMul", a, _qlinear_inits(b_shape, a_scale_shape), TensorProto.INT8))
    after = apply_pipeline(before.clone(), PASS)
    assert _ops(after) == ["graph.qlinear_matmul"]
    np.testing.assert_array_equal(_run(after, a), _run(before, a))


# ------------------------------------------------------------------ down to the card
def _default_with_pass() -> str:
    """canopy-default for an integer model (no graph-quantize) with this pass before
    graph-fold-qdq, as the lead wires it."""
    spec = NAMED_PIPELINES["canopy-default"].spec.replace("graph-quantize,", "")
    spec = spec.replace("graph-fold-qdq", f"{PASS},graph-fold-qdq")
    return spec.replace("graph-partition", "graph-partition{first-conv-min-channels=0}")


def test_card_shaped_batched_matmul_runs_on_the_card() -> None:
    """int8, zero-point-0 weights, 16-multiple channels: the grouped conv is one card
    launch, and the simulated card equals the graph interpreter bit for bit (and ONNX's
    reference within one int8 step: graph-fold-qdq's fixed-point requantize)."""
    rng = np.random.default_rng(5)
    batch, m, k, n = 2, 16, 16, 16
    inits = {
        "a_scale": np.float32(0.02), "a_zp": np.int8(0), "b": _ints(rng, np.dtype(np.int8), (batch, k, n)),
        "b_scale": np.float32(0.01), "b_zp": np.int8(0), "y_scale": np.float32(0.5), "y_zp": np.int8(3),
    }
    a = _ints(rng, np.dtype(np.int8), (batch, m, k))
    model = _model("QLinearMatMul", a, inits, TensorProto.INT8)
    lowered = apply_pipeline(import_onnx(model), _default_with_pass())
    assert sum(op.name == "dma.launch" for op in lowered.walk()) == 1
    assert not [op.name for op in lowered.walk() if op.name.startswith("graph.") and "conv" in op.name]
    program = DmaProgram(lowered, open_card("intelfocl", 64 << 20, backend="sim"))
    try:
        (got,) = program.run([a])
    finally:
        program.close()
    (reference,) = ReferenceEvaluator(model).run(None, {"a": a})
    assert got.dtype == np.int8 and got.shape == (batch, m, n)
    assert np.abs(got.astype(np.int32) - reference.astype(np.int32)).max() <= 1
    integer = apply_pipeline(import_onnx(model), _default_with_pass().split(",graph-partition")[0])
    np.testing.assert_array_equal(got, _run(integer, a))
