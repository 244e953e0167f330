"""Canonicalization patterns of the ``graph`` dialect, and ``graph-canonicalize``.

xDSL's generic ``canonicalize`` pass finds these through the ``GraphCanonicalization``
trait every graph op carries (``canopy_mlir/dialects/graph.py``), which asks
:func:`canonicalization_patterns` for the op's class. ``graph-canonicalize`` runs the
same patterns on their own (no folders of other dialects, no region DCE).

Every rewrite preserves values exactly, bit for bit, for every input (NaN and the sign
of zero included); anything that would change a value is left out, e.g.
``dequantize(quantize(x))`` (rounds), ``x + 0.0`` for floats (``-0.0 + 0.0`` is
``+0.0``, which a later division can observe: only ``x + -0.0`` and ``x - 0.0`` are
identities, as in MLIR's arith folders). The rewrites:

- ``transpose(transpose(x, p), q)`` -> ``transpose(x, p∘q)``, or ``x`` when that is the
  identity; ``transpose(x, identity)`` -> ``x``;
- ``flatten(x)`` -> ``reshape(x)`` (one form for every view change), ``reshape`` of a
  ``reshape`` -> one ``reshape``, ``reshape`` to the input's own shape -> input;
- ``x + -0.0``, ``x + 0`` (integers), ``x - 0`` (``+0.0`` for floats), ``x * 1``,
  ``x / 1`` -> ``x`` when the constant does not broadcast ``x`` to a larger shape (either
  operand order for ``add``/``mul``);
- ``sum(x)``, ``concat(x)`` -> ``x``; ``sum(a, b)`` -> ``add(a, b)``; ``concat`` of a
  ``concat`` along the same axis -> one ``concat``;
- ``clip`` whose bounds cover the element type (floats: ``-inf``/``inf``) -> input;
  ``relu(relu(x))`` -> ``relu(x)``; ``pad`` by zero everywhere -> input.

An op that carries a fused activation (``graph-fuse-activations``) is never rewritten:
its result is not what its properties alone say. An op rewritten into a new op passes its
other discardable attributes (e.g. ``canopy.placement``) on to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from canopy_mlir.dialects import graph
from canopy_mlir.interpreters.graph_interpreter import element_dtype
from canopy_mlir.transforms.graph_fuse_activations import FUSED_ACTIVATION

# ------------------------------------------------------------------------- helpers


def _is_plain(op: Operation | None) -> bool:
    """An op whose result is what its operands and properties say (no fused activation)."""
    return op is not None and not any(k.startswith(FUSED_ACTIVATION) for k in op.attributes)


def _constant_array(value: SSAValue) -> np.ndarray | None:
    """The data of ``value`` if a ``graph.constant`` defines it, else None."""
    owner = value.owner
    return owner.value_array() if isinstance(owner, graph.ConstantOp) else None


def _is_float(value: SSAValue) -> bool:
    assert isinstance(value.type, TensorType)
    return value.type.element_type in graph.FLOAT


def _all_equal(value: SSAValue, target: float, *, negative_zero: bool | None = None) -> bool:
    """Whether ``value`` is a constant whose every element equals ``target``.

    ``negative_zero`` additionally demands (True) or forbids (False) the sign bit of
    float elements; None ignores it (integers have no signed zero).
    """
    array = _constant_array(value)
    if array is None or array.size == 0 or not bool(np.all(array == target)):
        return False
    if negative_zero is None or array.dtype.kind != "f":
        return True
    return bool(np.all(np.signbit(array) == negative_zero))


def _replace_by(rewriter: PatternRewriter, op: Operation, value: SSAValue) -> bool:
    """Replace ``op``'s result by ``value`` if the types agree; whether it did."""
    if value.type != op.results[0].type:
        return False
    rewriter.replace(op, [], [value])
    return True


def _replace_with(rewriter: PatternRewriter, op: Operation, new: Operation) -> None:
    """Replace ``op`` by ``new``, keeping ``op``'s discardable attributes (a placement
    decided by graph-partition, a name) on the op that now computes the value."""
    for name, value in op.attributes.items():
        new.attributes.setdefault(name, value)
    rewriter.replace(op, new)


# ---------------------------------------------------------------------- transposes


class ComposeTransposes(RewritePattern):
    """``transpose(transpose(x, p), q)`` -> ``transpose(x, [p[i] for i in q])`` or ``x``."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.TransposeOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if not (_is_plain(op) and isinstance(inner, graph.TransposeOp) and _is_plain(inner)):
            return
        inner_perm = inner.props_dict()["perm"]
        perm = [inner_perm[p] for p in op.props_dict()["perm"]]
        if perm == list(range(len(perm))):
            _replace_by(rewriter, op, inner.input)
        else:
            _replace_with(rewriter, op, graph.TransposeOp.create(inner.input, perm=perm))


class RemoveIdentityTranspose(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.TransposeOp, rewriter: PatternRewriter) -> None:
        perm = op.props_dict()["perm"]
        if _is_plain(op) and perm == list(range(len(perm))):
            _replace_by(rewriter, op, op.input)


# ------------------------------------------------------------------------ reshapes


def _shape(value: SSAValue) -> list[int]:
    assert isinstance(value.type, TensorType)
    return list(value.type.get_shape())


class FlattenToReshape(RewritePattern):
    """``flatten`` is the reshape to its (static) result shape: one op for view changes."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.FlattenOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op):
            _replace_with(rewriter, op, graph.ReshapeOp.create(op.input, shape=_shape(op.result)))


class ComposeReshapes(RewritePattern):
    """``reshape(reshape(x))`` (or of a ``flatten``) -> ``reshape(x)``: row-major views compose."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ReshapeOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if _is_plain(op) and isinstance(inner, graph.ReshapeOp | graph.FlattenOp) and _is_plain(inner):
            _replace_with(rewriter, op, graph.ReshapeOp.create(inner.input, shape=_shape(op.result)))


class RemoveIdentityReshape(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ReshapeOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op):
            _replace_by(rewriter, op, op.input)


# ---------------------------------------------------------------------- arithmetic


def _additive_identity(value: SSAValue) -> bool:
    """``x + value == x`` exactly: integer 0, or float -0.0 (``-0.0 + +0.0`` is ``+0.0``)."""
    return _all_equal(value, 0, negative_zero=True if _is_float(value) else None)


def _subtractive_identity(value: SSAValue) -> bool:
    """``x - value == x`` exactly: integer 0, or float +0.0."""
    return _all_equal(value, 0, negative_zero=False if _is_float(value) else None)


def _multiplicative_identity(value: SSAValue) -> bool:
    return _all_equal(value, 1)


class RemoveAddIdentity(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.AddOp, rewriter: PatternRewriter) -> None:
        if not _is_plain(op):
            return
        if _additive_identity(op.rhs) and _replace_by(rewriter, op, op.lhs):
            return
        if _additive_identity(op.lhs):
            _replace_by(rewriter, op, op.rhs)


class RemoveSubIdentity(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.SubOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op) and _subtractive_identity(op.rhs):
            _replace_by(rewriter, op, op.lhs)


class RemoveMulIdentity(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.MulOp, rewriter: PatternRewriter) -> None:
        if not _is_plain(op):
            return
        if _multiplicative_identity(op.rhs) and _replace_by(rewriter, op, op.lhs):
            return
        if _multiplicative_identity(op.lhs):
            _replace_by(rewriter, op, op.rhs)


class RemoveDivIdentity(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.DivOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op) and _multiplicative_identity(op.rhs):
            _replace_by(rewriter, op, op.lhs)


# --------------------------------------------------------------- variadic ops


class RemoveSingleInputSum(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.SumOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op) and len(op.inputs) == 1:
            _replace_by(rewriter, op, op.inputs[0])


class TwoInputSumToAdd(RewritePattern):
    """``sum(a, b)`` -> ``add(a, b)``: the same broadcasting and arithmetic, and the one
    form later passes match (a QDQ residual ``Sum`` folds like an ``Add``)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.SumOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op) and len(op.inputs) == 2:
            _replace_with(rewriter, op, graph.AddOp.create(*op.inputs))


class RemoveSingleInputConcat(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ConcatOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op) and len(op.inputs) == 1:
            _replace_by(rewriter, op, op.inputs[0])


class FlattenNestedConcat(RewritePattern):
    """``concat(a, concat(b, c), d)`` along one axis -> ``concat(a, b, c, d)``."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ConcatOp, rewriter: PatternRewriter) -> None:
        if not _is_plain(op):
            return
        axis = op.props_dict()["axis"]
        inputs: list[SSAValue] = []
        changed = False
        for value in op.inputs:
            inner = value.owner
            if isinstance(inner, graph.ConcatOp) and _is_plain(inner) and inner.props_dict()["axis"] == axis:
                inputs.extend(inner.inputs)
                changed = True
            else:
                inputs.append(value)
        if changed:
            rewriter.replace(op, graph.ConcatOp.create(inputs, axis=axis))


# --------------------------------------------------------------------- activations


def _clip_is_identity(op: graph.ClipOp) -> bool:
    """Whether the bounds cover every value of the element type (NaN stays NaN)."""
    props = op.props_dict()
    low, high = props["min"], props["max"]
    if math.isnan(low) or math.isnan(high):
        return False  # the reference rejects these: leave the error where it is
    assert isinstance(op.input.type, TensorType)
    dtype = element_dtype(op.input.type.element_type)
    if dtype.kind == "f":
        return low == -math.inf and high == math.inf
    info = np.iinfo(dtype)
    return low <= info.min and high >= info.max


class RemoveIdentityClip(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ClipOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op) and _clip_is_identity(op):
            _replace_by(rewriter, op, op.input)


class RemoveReluOfRelu(RewritePattern):
    """``relu(relu(x))`` -> ``relu(x)`` (relu is idempotent)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.ReluOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if _is_plain(op) and isinstance(inner, graph.ReluOp) and _is_plain(inner):
            _replace_by(rewriter, op, inner.result)


class RemoveZeroPad(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.PadOp, rewriter: PatternRewriter) -> None:
        if _is_plain(op) and not any(op.props_dict()["pads"]):
            _replace_by(rewriter, op, op.input)


# ------------------------------------------------------------------------ registry

_PATTERN_FACTORIES: dict[type[graph.GraphOp], tuple[Callable[[], RewritePattern], ...]] = {
    graph.TransposeOp: (ComposeTransposes, RemoveIdentityTranspose),
    graph.FlattenOp: (FlattenToReshape,),
    graph.ReshapeOp: (ComposeReshapes, RemoveIdentityReshape),
    graph.AddOp: (RemoveAddIdentity,),
    graph.SubOp: (RemoveSubIdentity,),
    graph.MulOp: (RemoveMulIdentity,),
    graph.DivOp: (RemoveDivIdentity,),
    graph.SumOp: (RemoveSingleInputSum, TwoInputSumToAdd),
    graph.ConcatOp: (RemoveSingleInputConcat, FlattenNestedConcat),
    graph.ClipOp: (RemoveIdentityClip,),
    graph.ReluOp: (RemoveReluOfRelu,),
    graph.PadOp: (RemoveZeroPad,),
}


@cache
def canonicalization_patterns(op_class: type[Operation]) -> tuple[RewritePattern, ...]:
    """The canonicalization patterns rooted at ``op_class`` (empty for most ops)."""
    return tuple(factory() for factory in _PATTERN_FACTORIES.get(op_class, ()))  # type: ignore[arg-type]


def all_canonicalization_patterns() -> list[RewritePattern]:
    """Every graph canonicalization pattern, each once."""
    return [p for op_class in _PATTERN_FACTORIES for p in canonicalization_patterns(op_class)]


@dataclass(frozen=True)
class GraphCanonicalize(ModulePass):
    """Apply the graph canonicalization patterns to a fixpoint; drop unused pure ops.

    ``canonicalize`` applies the same patterns (plus every other dialect's); this pass is
    for pipelines that want only the graph ones.
    """

    name = "graph-canonicalize"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(GreedyRewritePatternApplier(all_canonicalization_patterns())).rewrite_module(op)


__all__ = [
    "GraphCanonicalize",
    "all_canonicalization_patterns",
    "canonicalization_patterns",
]
