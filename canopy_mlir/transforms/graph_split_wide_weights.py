"""graph-split-wide-weights: split a GEMM weight that leaves int8 into int8 terms, exactly.

The card's GEMM core multiplies signed int8 by signed int8. convert-graph-to-tile folds a
constant weight zero point into the weight (``w' = w - w_zp``), and refuses the GEMM
(it stays on the host) where ``w'`` leaves [-128, 127]: a ui8 weight of 0 with zero
point 255 gives -255 (ONNX's ``test_qlinearconv``), a ui8 matrix in [0, 255] with zero
point 114 gives up to 141.

``w'`` is in [-255, 255], so it is a sum of at most three int8 terms (greedy:
``t_i = clip(r, -128, 127)``, ``r -= t_i``; two terms cover [-256, 254]). The reduction
is linear in the weight, so

- ``conv_integer(x, w, x_zp, w_zp) == conv_integer(concat([x] * k, axis=1),
  concat([t_1, ..., t_k], axis=1), x_zp)`` (the k copies of the input channels meet the
  k weight terms; the same strides, pads and dilations; every copy is padded with x_zp
  as before). A grouped conv repeats each group's channels in place instead (reshape
  to (N, groups, C/groups, H, W), concat along axis 2, reshape back), so every group
  still reads its own channels: graph-batched-matmul-to-conv's batched matmuls are
  such convs;
- ``matmul_integer(a, b, a_zp, b_zp) == matmul_integer(concat([a] * k, axis=-1),
  concat([t_1, ..., t_k], axis=0), a_zp)`` for a 2-D constant ``b`` (per-column b zero
  points: ``w'`` per column).

Both are exact in i32 (the sum of products is the same integers, wrapping alike). The
rewritten GEMM has no weight zero point and an int8 weight, so it can go to the card; its
reduction is k times as long there (and the input copy is a host ``concat``), which is
still cheaper than the whole GEMM on the host.

Only GEMMs whose weight and weight zero point are ``graph.constant`` ops and whose
``w'`` leaves int8 are touched; batched (3-D b) matmuls are left alone (run
graph-batched-matmul-to-conv first: they become grouped convs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from canopy_mlir.dialects import graph
from canopy_mlir.transforms import record_statistic

_INT8_MIN, _INT8_MAX = -128, 127


def _constant_array(value: SSAValue | None) -> np.ndarray | None:
    if value is not None and isinstance(value.owner, graph.ConstantOp):
        return value.owner.value_array()
    return None


def centred_weight(weight: np.ndarray, zero_point: np.ndarray | None, channel_axis: int) -> np.ndarray:
    """``weight - zero_point`` in int64, a per-channel zero point along ``channel_axis``."""
    centred = weight.astype(np.int64)
    if zero_point is None:
        return centred
    zp = zero_point.astype(np.int64).reshape(-1)
    if zp.size > 1:
        shape = [1] * weight.ndim
        shape[channel_axis] = zp.size
        zp = zp.reshape(shape)
    return centred - zp


def split_int8(centred: np.ndarray) -> list[np.ndarray]:
    """The fewest greedy int8 terms ``t_1 + ... + t_k == centred`` (k >= 1)."""
    terms: list[np.ndarray] = []
    rest = centred.astype(np.int64)
    while True:
        term = np.clip(rest, _INT8_MIN, _INT8_MAX)
        terms.append(term.astype(np.int8))
        rest = rest - term
        if not rest.any():
            return terms


def _unknown(zero_point: SSAValue | None, array: np.ndarray | None) -> bool:
    """A zero point that is there but not a constant (``w'`` is not known)."""
    return zero_point is not None and array is None


def _fits_int8(centred: np.ndarray) -> bool:
    return centred.size == 0 or (int(centred.min()) >= _INT8_MIN and int(centred.max()) <= _INT8_MAX)


@dataclass
class _Splitter:
    """Rewrites one module's GEMMs; shares the ``concat`` of one input's k copies."""

    pass_: ModulePass
    rewriter: Rewriter

    def __post_init__(self) -> None:
        self.copies: dict[tuple[SSAValue, int, int], SSAValue] = {}
        self.dead: list[Operation] = []

    def _repeated(self, value: SSAValue, k: int, axis: int, before: Operation) -> SSAValue:
        """``concat([value] * k, axis)``, built once per (value, k, axis) and function."""
        key = (value, k, axis)
        if key not in self.copies:  # GEMMs are visited in order: the first dominates the rest
            concat = graph.ConcatOp.create([value] * k, axis=axis)
            self.rewriter.insert_op(concat, InsertPoint.before(before))
            if value.name_hint:
                concat.results[0].name_hint = f"{value.name_hint}_x{k}"
            self.copies[key] = concat.results[0]
        return self.copies[key]

    def _weight(self, terms: list[np.ndarray], axis: int, old: SSAValue, before: Operation) -> SSAValue:
        constant = graph.ConstantOp.from_array(np.ascontiguousarray(np.concatenate(terms, axis=axis)))
        self.rewriter.insert_op(constant, InsertPoint.before(before))
        if old.name_hint:
            constant.results[0].name_hint = f"{old.name_hint}_split{len(terms)}"
        return constant.results[0]

    def _replace(self, old: Operation, new: Operation, k: int) -> None:
        new.results[0].name_hint = old.results[0].name_hint
        self.dead.extend(v.owner for v in old.operands if isinstance(v.owner, graph.ConstantOp))
        self.rewriter.replace_op(old, new)
        record_statistic(self.pass_, "split-gemms")
        record_statistic(self.pass_, "extra-weight-terms", k - 1)

    def _grouped_copies(self, value: SSAValue, k: int, groups: int, before: Operation) -> SSAValue:
        """The input of a grouped conv with each group's channels repeated k times in
        place (group j's block becomes its k copies): reshape to (N, groups, C/groups,
        ...), concat along the per-group channels, reshape back; built once per input."""
        key = (value, k, -groups)
        if key not in self.copies:
            value_type = value.type
            assert isinstance(value_type, TensorType)
            n, c, *spatial = value_type.get_shape()
            split = graph.ReshapeOp.create(value, shape=[n, groups, c // groups, *spatial])
            self.rewriter.insert_op(split, InsertPoint.before(before))
            repeated = self._repeated(split.results[0], k, 2, before)
            merged = graph.ReshapeOp.create(repeated, shape=[n, c * k, *spatial])
            self.rewriter.insert_op(merged, InsertPoint.before(before))
            if value.name_hint:
                merged.results[0].name_hint = f"{value.name_hint}_x{k}"
            self.copies[key] = merged.results[0]
        return self.copies[key]

    def conv(self, op: graph.ConvIntegerOp) -> None:
        props = op.props_dict()
        weight = _constant_array(op.weight)
        zp = _constant_array(op.weight_zero_point)
        if weight is None or _unknown(op.weight_zero_point, zp):
            return
        centred = centred_weight(weight, zp, 0)
        if _fits_int8(centred):
            return
        terms = split_int8(centred)
        groups = int(props["group"])
        if groups == 1:
            x = self._repeated(op.input, len(terms), 1, op)
        else:
            x = self._grouped_copies(op.input, len(terms), groups, op)
        # The weight's input channels are per group already: its terms side by side meet
        # the group's k copies (output channel o of group j reads channels j*k*Cg ...).
        w = self._weight(terms, 1, op.weight, op)
        new = graph.ConvIntegerOp.create(x, w, op.input_zero_point, None, attributes=dict(op.attributes), **props)
        self._replace(op, new, len(terms))

    def matmul(self, op: graph.MatMulIntegerOp) -> None:
        b = _constant_array(op.b)
        zp = _constant_array(op.b_zero_point)
        if b is None or _unknown(op.b_zero_point, zp) or b.ndim != 2:
            return
        centred = centred_weight(b, zp, 1)
        if _fits_int8(centred):
            return
        terms = split_int8(centred)
        a_type = op.a.type
        assert isinstance(a_type, TensorType)
        a = self._repeated(op.a, len(terms), a_type.get_num_dims() - 1, op)
        w = self._weight(terms, 0, op.b, op)
        new = graph.MatMulIntegerOp.create(a, w, op.a_zero_point, None, attributes=dict(op.attributes),
                                           **op.props_dict())
        self._replace(op, new, len(terms))

    def erase_dead(self) -> None:
        """Erase the old weights and zero points nothing else uses."""
        for constant in dict.fromkeys(self.dead):
            if constant.parent is not None and not any(r.uses for r in constant.results):
                self.rewriter.erase_op(constant)


class GraphSplitWideWeights(ModulePass):
    """Split constant GEMM weights whose ``w - w_zp`` leaves int8 into k int8 terms (the
    input repeated k times along the reduction), so the card's int8 GEMM can run them."""

    name = "graph-split-wide-weights"
    declared_statistics: ClassVar[dict[str, str]] = {
        "split-gemms": "conv_integer / matmul_integer ops whose weight was split into int8 terms",
        "extra-weight-terms": "weight terms added beyond the first (reduction copies)",
    }

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        splitter = _Splitter(self, Rewriter())
        for gemm in list(op.walk()):
            if isinstance(gemm, graph.ConvIntegerOp):
                splitter.conv(gemm)
            elif isinstance(gemm, graph.MatMulIntegerOp):
                splitter.matmul(gemm)
        splitter.erase_dead()


__all__ = ["GraphSplitWideWeights", "centred_weight", "split_int8"]
