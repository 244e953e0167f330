"""``graph-fold-batchnorm``: fold inference batch norms into the conv or gemm before them.

``batch_norm(y) = s * (y - mean) + bias`` per channel, with ``s = scale / sqrt(var +
eps)``. When ``y`` is

- ``conv(x, W, b)``: the result is ``conv(x, W * s[o], (b - mean) * s + bias)``;
- ``gemm(a, B, c)`` (``alpha * a' @ B' + beta * c``, channels = columns of the result):
  the result is ``gemm(a, B * s[column], s * (beta * c - mean) + bias)`` with ``beta =
  1`` (``s`` scales B's columns, i.e. its rows when ``trans_b = 1``),

provided the conv/gemm result feeds only the batch norm, carries no fused activation,
and W/B, the bias/c (when present) and the four batch-norm parameters are all
``graph.constant``. The new parameters are computed in float64 and rounded once to
float32, so results differ from the unfolded program only by float32 rounding
(relative ~1e-6).

With ``standalone=true`` any other batch norm with constant parameters becomes
``x * s + (bias - mean * s)`` (``graph.mul`` then ``graph.add`` with constants shaped to
broadcast over the channel axis): elementwise ops the later lowering handles anyway.
Off by default: it only helps targets without a batch-norm lowering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
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
from canopy_mlir.transforms import record_statistic
from canopy_mlir.transforms.graph_fuse_activations import FUSED_ACTIVATION


@dataclass(frozen=True)
class BatchNormParams:
    """A batch norm as ``y * multiplier + offset`` per channel (float64)."""

    multiplier: np.ndarray
    offset: np.ndarray
    mean: np.ndarray
    bias: np.ndarray

    @classmethod
    def of(cls, op: graph.BatchNormOp) -> BatchNormParams | None:
        """The parameters of ``op`` if all four are constants, else None."""
        arrays = [_constant_array(v) for v in (op.scale, op.bias, op.mean, op.variance)]
        if any(a is None for a in arrays):
            return None
        scale, bias, mean, variance = (a.astype(np.float64) for a in arrays)  # type: ignore[union-attr]
        # The reference adds epsilon in float32; do the same before widening.
        epsilon = np.float32(op.props_dict()["epsilon"])
        denominator = (variance.astype(np.float32) + epsilon).astype(np.float64)
        multiplier = scale / np.sqrt(denominator)
        return cls(multiplier, bias - mean * multiplier, mean, bias)


def _constant_array(value: SSAValue | None) -> np.ndarray | None:
    owner = value.owner if value is not None else None
    return owner.value_array() if isinstance(owner, graph.ConstantOp) else None


def _constant(array: np.ndarray, like: SSAValue | None, bn: graph.BatchNormOp, role: str) -> graph.ConstantOp:
    """A float32 constant for ``array``, named after the value it replaces (else after
    the batch norm and its ``role``, never plainly after the batch norm: the folded op
    takes that name)."""
    constant = graph.ConstantOp.from_array(np.asarray(array, dtype=np.float32))
    if like is not None and like.name_hint:
        constant.result.name_hint = like.name_hint
    elif bn.result.name_hint:
        constant.result.name_hint = f"{bn.result.name_hint}_{role}"
    return constant


def _foldable_producer(op: graph.BatchNormOp) -> Operation | None:
    """The conv/gemm feeding ``op`` if only ``op`` uses it and nothing is fused into it."""
    producer = op.input.owner
    if not isinstance(producer, graph.ConvOp | graph.GemmOp):
        return None
    if any(key.startswith(FUSED_ACTIVATION) for key in producer.attributes):
        return None
    if not producer.results[0].has_one_use():
        return None
    return producer


def _param_owners(bn: graph.BatchNormOp) -> list[Operation]:
    """The ops defining the batch norm's parameters, each once."""
    values = (bn.scale, bn.bias, bn.mean, bn.variance)
    return list(dict.fromkeys(v.owner for v in values))  # type: ignore[arg-type]


def _erase_dead(ops: list[Operation | None], rewriter: PatternRewriter) -> None:
    """Erase those of ``ops`` (the old producer, then its constants) left without users."""
    for op in ops:
        if isinstance(op, Operation) and op.parent is not None and not op.results[0].uses:
            rewriter.erase(op)


def _fold_into_conv(
    bn: graph.BatchNormOp, conv: graph.ConvOp, params: BatchNormParams, rewriter: PatternRewriter
) -> bool:
    weight = _constant_array(conv.weight)
    bias = _constant_array(conv.bias)
    if weight is None or (conv.bias is not None and bias is None):
        return False
    shape = (-1,) + (1,) * (weight.ndim - 1)
    new_weight = weight.astype(np.float64) * params.multiplier.reshape(shape)
    old_bias = np.zeros_like(params.mean) if bias is None else bias.astype(np.float64)
    new_bias = old_bias * params.multiplier + params.offset
    weight_op = _constant(new_weight, conv.weight, bn, "weight")
    bias_op = _constant(new_bias, conv.bias, bn, "bias")
    new_conv = graph.ConvOp.create(
        conv.input, weight_op, bias_op, attributes=conv.attributes, **conv.props_dict()
    )
    old = [conv, conv.weight.owner, conv.bias.owner if conv.bias is not None else None, *_param_owners(bn)]
    rewriter.replace(bn, [weight_op, bias_op, new_conv])
    _erase_dead(old, rewriter)  # type: ignore[arg-type]
    return True


def _fold_into_gemm(
    bn: graph.BatchNormOp, gemm: graph.GemmOp, params: BatchNormParams, rewriter: PatternRewriter
) -> bool:
    b = _constant_array(gemm.b)
    c = _constant_array(gemm.c)
    if b is None or (gemm.c is not None and c is None):
        return False
    props = gemm.props_dict()
    s = params.multiplier
    new_b = b.astype(np.float64) * (s[:, None] if props["trans_b"] else s[None, :])
    if c is None:
        new_c = params.offset
    else:
        new_c = s * (props["beta"] * c.astype(np.float64) - params.mean) + params.bias
    b_op, c_op = _constant(new_b, gemm.b, bn, "b"), _constant(new_c, gemm.c, bn, "c")
    props["beta"] = 1.0
    new_gemm = graph.GemmOp.create(gemm.a, b_op, c_op, attributes=gemm.attributes, **props)
    old = [gemm, gemm.b.owner, gemm.c.owner if gemm.c is not None else None, *_param_owners(bn)]
    rewriter.replace(bn, [b_op, c_op, new_gemm])
    _erase_dead(old, rewriter)  # type: ignore[arg-type]
    return True


def _decompose(bn: graph.BatchNormOp, params: BatchNormParams, rewriter: PatternRewriter) -> None:
    """``x * multiplier + offset`` with both constants shaped ``[C, 1, ..., 1]``."""
    rank = len(bn.input.type.get_shape())  # type: ignore[attr-defined]
    shape = (-1,) + (1,) * (rank - 2)
    multiplier = _constant(params.multiplier.reshape(shape), None, bn, "multiplier")
    offset = _constant(params.offset.reshape(shape), None, bn, "offset")
    mul = graph.MulOp.create(bn.input, multiplier)
    add = graph.AddOp.create(mul, offset)
    if bn.result.name_hint:
        mul.result.name_hint = f"{bn.result.name_hint}_scaled"
    old = _param_owners(bn)
    rewriter.replace(bn, [multiplier, offset, mul, add])
    _erase_dead(old, rewriter)  # type: ignore[arg-type]


class FoldBatchNorm(RewritePattern):
    def __init__(self, owner: GraphFoldBatchNorm):
        self.owner = owner

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: graph.BatchNormOp, rewriter: PatternRewriter) -> None:
        if any(key.startswith(FUSED_ACTIVATION) for key in op.attributes):
            return
        params = BatchNormParams.of(op)
        if params is None:
            return
        producer = _foldable_producer(op)
        folded = False
        if isinstance(producer, graph.ConvOp):
            folded = _fold_into_conv(op, producer, params, rewriter)
        elif isinstance(producer, graph.GemmOp):
            folded = _fold_into_gemm(op, producer, params, rewriter)
        if folded:
            record_statistic(self.owner, "folded")
        elif self.owner.standalone:
            _decompose(op, params, rewriter)
            record_statistic(self.owner, "decomposed")


@dataclass(frozen=True)
class GraphFoldBatchNorm(ModulePass):
    """Fold batch norms into the conv/gemm before them (``standalone``: others to mul+add)."""

    name = "graph-fold-batchnorm"
    declared_statistics: ClassVar[dict[str, str]] = {
        "folded": "batch norms folded into a conv or gemm",
        "decomposed": "standalone batch norms rewritten to mul + add",
    }

    standalone: bool = False
    """Also rewrite batch norms that cannot be folded (constant parameters) to mul + add."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FoldBatchNorm(self)], dce_enabled=False),
            apply_recursively=False,
        ).rewrite_module(op)


__all__ = ["BatchNormParams", "GraphFoldBatchNorm"]
