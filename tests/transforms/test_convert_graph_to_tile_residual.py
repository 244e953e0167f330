"""convert-graph-to-tile: graph-fold-qdq's scaled residual add ``a*Ma + b*Mb + C`` keeps
the shortcut ``b`` an i8 tail operand and multiplies by ``Mb`` in ACC (no i32 result).

Expected values: exact Python integer arithmetic (and the graph interpreter), over all
int8 pairs (a, b). Takes ~10 s.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tile_program_strategies import CardGraph, lower_to_tile
from xdsl.dialects.builtin import TensorType

from canopy_mlir.dialects import graph, tile
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.interpreters.tile_interpreter import run_tile

# every (a, b) int8 pair once: a 1 x 1 x 256 x 256 image
_A, _B = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128), indexing="ij")
A = _A.astype(np.int8).reshape(1, 1, 256, 256)
B = _B.astype(np.int8).reshape(1, 1, 256, 256)


def _wrap(v: np.ndarray) -> np.ndarray:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def _alu(steps, a: np.ndarray, operand: np.ndarray, vectors: dict[int, int]) -> np.ndarray:
    """The tail steps on wrapping int32 (ints in int64), operand index 0 = ``operand``."""
    acc = a.astype(np.int64)
    for step in steps:
        if step.imm is not None:
            x = step.imm
        elif step.operand in vectors:
            x = vectors[step.operand]
        else:
            x = operand.astype(np.int64)  # the i8 operand
        if step.opcode == "add":
            acc = _wrap(acc + x)
        elif step.opcode == "mul":
            acc = _wrap((acc % (1 << 32)) * (np.asarray(x) % (1 << 32)) % (1 << 32))
        else:
            raise AssertionError(step.opcode)
    return acc


multipliers = st.integers(-(1 << 31), (1 << 31) - 1)


@settings(max_examples=60, deadline=None)
@given(ma=multipliers, mb=multipliers, previous=st.booleans())
def test_scaled_add_identity_over_all_int8_pairs(ma: int, mb: int, previous: bool) -> None:
    """The step sequences of _scaled_residual (odd and even Mb, with and without a
    preceding ``mul Ma`` to merge into) give ``a*Ma + b*Mb`` mod 2**32 for every pair."""
    from canopy_mlir.transforms.convert_graph_to_tile import Chain, Range

    chain = Chain("alu", "t", (None, 0), [], None, "i32", 1, (1, 1, 1, 1), Range.of(-128, 127, 1))  # type: ignore[arg-type]
    if previous:
        chain.add_vector("mul", np.array([ma], dtype=object))
    m = mb % (1 << 32)
    factor = m if m % 2 else (m - 1) % (1 << 32)
    chain.mul_merged(np.array([pow(factor, -1, 1 << 32)], dtype=object))
    chain.operands.append(None)  # the i8 operand
    index = len(chain.operands) - 1
    chain.steps.append(tile.AluStep("add", operand=index))
    if factor != 1:
        chain.add_vector("mul", _wrap(np.array([factor], dtype=object)))
    if m % 2 == 0:
        chain.steps.append(tile.AluStep("add", operand=index))
    assert sum(s.opcode == "mul" for s in chain.steps) <= 2  # the mul Ma merged
    vectors = {i: int(o.vector[0]) for i, o in enumerate(chain.operands) if o is not None}
    got = _alu(chain.steps, _A.astype(np.int64), _B, vectors)
    start = ma if previous else 1
    exact = np.array(_wrap(_A.astype(object) * start + _B.astype(object) * mb), dtype=np.int64)
    np.testing.assert_array_equal(got, exact)


@settings(max_examples=25, deadline=None)
@given(ma=st.integers(-(1 << 15), (1 << 15) - 1), mb=st.integers(-(1 << 15), (1 << 15) - 1),
       c=st.integers(-(1 << 20), 1 << 20), k=st.integers(0, 12), swap=st.booleans())
def test_residual_add_lowers_bit_exactly_with_an_i8_operand(ma: int, mb: int, c: int, k: int, swap: bool) -> None:
    """graph-fold-qdq's integer Add on all int8 pairs lowers to one tile.alu with an i8
    result and the shortcut as an i8 operand; exact integer arithmetic agrees."""
    g = CardGraph({"a": A, "b": B}, np.random.default_rng(0))
    scaled = [g.op(graph.MulOp.create(g.op(graph.CastOp.create(x, to="i32")), g.constant(np.int32(m))))
              for x, m in ((g.args[0], ma), (g.args[1], mb))]
    if swap:
        scaled.reverse()
    acc = g.op(graph.AddOp.create(*scaled))
    acc = g.op(graph.AddOp.create(acc, g.constant(np.int32(c))))
    y = g.op(graph.RequantizeOp.create(acc, result_type=TensorType(graph.i8, [1, 1, 256, 256]),
                                       multiplier=[1], shift=[k], output_zero_point=0))
    module = g.module(y)
    graph_result = run_graph(module, [A, B])[0]
    lower_to_tile(module, "tiny", partition=False)
    ops = [op for op in module.walk() if isinstance(op, tile.TILE_COMPUTE_OPS)]
    assert len(ops) == 1 and not isinstance(ops[0].results[0].type, tile.AccType)
    assert any(isinstance(v.type, tile.ActType) for v in ops[0].tail_values())
    value = _A.astype(object) * ma + _B.astype(object) * mb + c
    rounding = (1 << (k - 1)) if k else 0
    exact = np.clip(np.array((value + rounding) // (1 << k), dtype=np.int64), -128, 127).reshape(A.shape)
    np.testing.assert_array_equal(graph_result, exact)
    np.testing.assert_array_equal(run_tile(module, [A, B])[0], exact)
