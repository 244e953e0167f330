"""graph-batched-matmul-to-conv: a batched matmul with a constant batched weight as a grouped 1x1 conv.

graph-fold-qdq folds ``graph.qlinear_matmul`` only for a 2-D ``b`` (one weight matrix),
and the card's GEMM takes one weight per layer, so a batched ``b`` (ONNX's
``test_qlinearmatmul_3D_*``: ``a`` [B, M, K], constant ``b`` [B, K, N]) stayed on the
host in float. The graph dialect has no slice op, but ``Y[i] = A[i] @ b[i]`` for all
``i < B`` is exactly one grouped 1x1 convolution with ``group = B``::

    x = reshape(transpose(a, swap the last two axes) [..., K, M], [1, B*K, M, 1])
    W[i*N + n, k, 0, 0] = b[i, k, n]                                  [B*N, K, 1, 1]
    y = conv(x, W) {group = B}                                        [1, B*N, M, 1]
    Y = transpose(reshape(y, [..., N, M]), swap the last two axes)    [..., M, N]

(group ``i`` sees input channels ``i*K .. i*K+K-1`` = ``A[i]^T`` and makes output channels
``i*N .. i*N+N-1`` = ``(A[i] @ b[i])^T``; M runs along the conv's height). Every output
element is the same integer sum of products as before, so the rewrite is exact:

- ``graph.qlinear_matmul`` -> ``graph.qlinear_conv`` with the same a / y scales and zero
  points; b's scale and zero point stay as they are when per-tensor, and a per-column
  ([N]) one is tiled to one per output channel ([B*N]). Both ops requantize with the
  float32 factor ``a_scale * b_scale[c] / y_scale``, round half to even and saturate
  (ONNX QLinearMatMul / QLinearConv; the graph interpreter agrees), so the results are
  bit for bit the same; graph-fold-qdq then folds the conv (it has to run after this).
- ``graph.matmul_integer`` -> ``graph.conv_integer`` (which takes ``group``), the same way.

Only where ``b`` is a ``graph.constant`` of rank >= 3, ``a`` has the same rank and the
same leading (batch) dimensions (flattened into B), and a's scale / zero point are
per-tensor (the conv's input parameters are scalars). Left alone, with a
``skipped-unsupported`` statistic: batch dimensions that broadcast (a 2-D ``a`` against a
3-D ``b``, or size-1 batch dimensions), per-row a scales / zero points, and a per-column
b parameter that is not a constant. A 2-D ``b`` is graph-fold-qdq's own case and is not
touched.
"""

from __future__ import annotations

import logging
import math
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from canopy_mlir.dialects import graph
from canopy_mlir.transforms import record_statistic

LOG = logging.getLogger(__name__)

_Matmul = graph.QLinearMatMulOp | graph.MatMulIntegerOp


def _shape(value: SSAValue) -> tuple[int, ...]:
    value_type = value.type
    assert isinstance(value_type, TensorType)
    return tuple(value_type.get_shape())


def _constant_array(value: SSAValue | None) -> np.ndarray | None:
    if value is not None and isinstance(value.owner, graph.ConstantOp):
        return value.owner.value_array()
    return None


def _is_scalar(value: SSAValue | None) -> bool:
    return value is None or math.prod(_shape(value)) == 1


def _swap_last_two(rank: int) -> list[int]:
    return [*range(rank - 2), rank - 1, rank - 2]


def _remark(op: Operation, message: str) -> None:
    """A remark on ``op`` inside a tool run (as graph-fold-qdq's); a log line otherwise."""
    LOG.info("%s: %s", op.name, message)
    from canopy_mlir.tools.diagnostics import collecting_diagnostics, emit_remark

    if collecting_diagnostics():
        emit_remark(op, message)


class _Skip(Exception):
    """A batched constant-b matmul the pass leaves alone; the message says why."""


def _batched(op: _Matmul) -> tuple[np.ndarray, tuple[int, ...]] | None:
    """(b, a's batch dimensions) for a matmul this pass rewrites, None if it has no 3-D+
    constant b (not ours); raises _Skip for a batched constant b it cannot take."""
    b = _constant_array(op.b)
    if b is None or b.ndim < 3:
        return None
    a_shape = _shape(op.a)
    if len(a_shape) != b.ndim or a_shape[:-2] != b.shape[:-2]:
        raise _Skip(f"batch dimensions of a {list(a_shape)} and b {list(b.shape)} differ (broadcast)")
    return b, a_shape[:-2]


class _Rewriter:
    """Builds the transpose / reshape / grouped conv / reshape / transpose chain."""

    def __init__(self, pass_: ModulePass):
        self.pass_ = pass_
        self.rewriter = Rewriter()
        self.dead: list[Operation] = []

    def _insert(self, op: Operation, before: Operation, name: str | None) -> SSAValue:
        self.rewriter.insert_op(op, InsertPoint.before(before))
        if name:
            op.results[0].name_hint = name
        return op.results[0]

    def _per_channel(self, value: SSAValue | None, batch: int, before: Operation) -> SSAValue | None:
        """A b scale / zero point for the conv: per-tensor as it is, per-column [N] tiled
        to one per output channel [B*N] (channel ``i*N + n`` is column n of batch i)."""
        array = _constant_array(value)
        if _is_scalar(value) or array is None:
            return value
        assert value is not None
        tiled = graph.ConstantOp.from_array(np.ascontiguousarray(np.tile(array.reshape(-1), batch)))
        self.dead.append(value.owner)  # type: ignore[arg-type]
        return self._insert(tiled, before, f"{value.name_hint}_x{batch}" if value.name_hint else None)

    def rewrite(self, op: _Matmul) -> None:
        """Replace ``op`` by the conv chain; nothing when it has no batched constant b;
        raises _Skip (before changing anything) for one this pass cannot take."""
        found = _batched(op)
        if found is None:
            return
        b, lead = found
        qlinear = isinstance(op, graph.QLinearMatMulOp)
        a_params = (op.a_scale, op.a_zero_point) if qlinear else (op.a_zero_point,)
        b_params = (op.b_scale, op.b_zero_point) if qlinear else (op.b_zero_point,)
        if not all(_is_scalar(v) for v in a_params):
            raise _Skip("a has per-row scales or zero points (a conv input's are per-tensor)")
        if not all(_is_scalar(v) or _constant_array(v) is not None for v in b_params):
            raise _Skip("a per-column b scale or zero point is not a graph.constant")
        batch, (m, k), n = math.prod(lead), _shape(op.a)[-2:], b.shape[-1]
        hint = op.results[0].name_hint
        role = (lambda r: f"{hint}_{r}") if hint else (lambda r: None)
        params = [self._per_channel(v, batch, op) for v in b_params]
        weight = np.ascontiguousarray(b.reshape(batch, k, n).transpose(0, 2, 1).reshape(batch * n, k, 1, 1))
        w = self._insert(graph.ConstantOp.from_array(weight), op, role("weight"))
        rank = len(lead) + 2
        a_t = self._insert(graph.TransposeOp.create(op.a, perm=_swap_last_two(rank)), op, role("a_t"))
        x = self._insert(graph.ReshapeOp.create(a_t, shape=[1, batch * k, m, 1]), op, role("x"))
        if qlinear:
            conv: Operation = graph.QLinearConvOp.create(
                x, op.a_scale, op.a_zero_point, w, *params, op.output_scale, op.output_zero_point,
                group=batch, attributes=dict(op.attributes),
            )
        else:
            conv = graph.ConvIntegerOp.create(x, w, op.a_zero_point, *params, group=batch,
                                              attributes=dict(op.attributes))
        y = self._insert(conv, op, role("conv"))
        y_t = self._insert(graph.ReshapeOp.create(y, shape=[*lead, n, m]), op, role("conv_t"))
        result = graph.TransposeOp.create(y_t, perm=_swap_last_two(rank))
        result.results[0].name_hint = hint
        self.dead.append(op.b.owner)  # type: ignore[arg-type]
        self.rewriter.replace_op(op, result)
        record_statistic(self.pass_, "rewritten-qlinear-matmuls" if qlinear else "rewritten-matmul-integers")

    def erase_dead(self) -> None:
        """Erase the old b constants and per-column parameters nothing else uses."""
        for constant in dict.fromkeys(self.dead):
            if constant.parent is not None and not any(r.uses for r in constant.results):
                self.rewriter.erase_op(constant)


class GraphBatchedMatmulToConv(ModulePass):
    """Rewrite ``qlinear_matmul`` / ``matmul_integer`` with a constant batched (3-D+) b into
    an exact grouped 1x1 ``qlinear_conv`` / ``conv_integer`` (group = batch), which
    graph-fold-qdq folds and the card runs; run it before graph-fold-qdq."""

    name = "graph-batched-matmul-to-conv"
    declared_statistics: ClassVar[dict[str, str]] = {
        "rewritten-qlinear-matmuls": "batched qlinear_matmul ops rewritten to grouped qlinear_conv",
        "rewritten-matmul-integers": "batched matmul_integer ops rewritten to grouped conv_integer",
        "skipped-unsupported": "batched constant-b matmuls left alone (broadcast batch, per-row a parameters)",
    }

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        rewriter = _Rewriter(self)
        for matmul in list(op.walk()):
            if not isinstance(matmul, graph.QLinearMatMulOp | graph.MatMulIntegerOp):
                continue
            try:
                rewriter.rewrite(matmul)
            except _Skip as why:
                record_statistic(self, "skipped-unsupported")
                _remark(matmul, f"graph-batched-matmul-to-conv left this matmul alone: {why}")
        rewriter.erase_dead()


__all__ = ["GraphBatchedMatmulToConv"]
