"""graph-uint8-to-int8: rewrite uint8 quantized tensors to int8, exactly.

The GEMM core multiplies signed int8, so graph-partition keeps every ``conv_integer`` /
``matmul_integer`` with a ui8 operand on the host. A uint8 tensor ``v`` with zero point
``z`` holds the same real values as the int8 tensor ``v - 128`` with zero point
``z - 128``, and the saturation ranges [0, 255] and [-128, 127] map onto each other, so
every rewrite below is bit-exact on the integers the graph computes.

The pass gives a ui8 value ``v`` an i8 *twin* ``v - 128`` and moves consumers that can
take it onto the twin; the ui8 value itself stays for every other consumer (and for the
function's results, so signatures never change) and dies when none is left.

Twins come from the producer where the producer allows (exact rewrites):

- ``quantize_linear`` to ui8 -> to i8 with zero point ``z - 128``;
- ``requantize`` with a ui8 result -> i8 result, ``output_zero_point - 128`` (the
  reference saturates to the result type's range);
- a ui8 ``constant`` -> the re-centred i8 constant;
- order-preserving layout ops (reshape, flatten, transpose, concat, max pools, pad in
  edge/reflect mode): the same op on the twin; constant pad: ``value - 128``;
- ``clip`` on ui8: bounds shifted by -128 (after the reference's own rounding and
  limiting to [0, 255]). (``relu`` takes no ui8 in the dialect: nothing to do.)

Anything else (a function argument, another op) gets a *boundary* twin of host ops,
``cast(cast(v, i32) - 128, i8)``, but only for a GEMM operand (where it moves the GEMM
onto the card); cheaper consumers take only a twin that costs no ops.

Consumers moved onto twins:

- ``conv_integer`` / ``matmul_integer`` ui8 operands with constant (or absent) zero
  points: the twin and zero point ``z - 128``;
- ``dequantize_linear`` of ui8 with a constant (or absent) zero point: ``z - 128``
  (float32 ``x - z`` is the same small integer);
- ``cast`` ui8 -> i32 (QDQ residual adds): ``cast(twin, i32) + 128``, the 128 folded
  into the chain's constant offset where the chain is graph-fold-qdq's
  ``cast * M + ... + C``.

A value whose zero point is not a constant is left ui8 (partition keeps it on the host,
as before).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import IntegerType, ModuleOp, Signedness, TensorType, i8
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from canopy_mlir.dialects import graph
from canopy_mlir.transforms import record_statistic

_UI8 = IntegerType(8, Signedness.UNSIGNED)
_SHIFT = 128

_LAYOUT = (
    graph.ReshapeOp,
    graph.FlattenOp,
    graph.TransposeOp,
    graph.MaxPoolOp,
    graph.GlobalMaxPoolOp,
)
"""Single-input ops that only move or select elements: they commute with ``- 128``."""


def _is_ui8(value: SSAValue | None) -> bool:
    return (
        value is not None
        and isinstance(value.type, TensorType)
        and value.type.element_type == _UI8
    )


def _i8_type(value: SSAValue) -> TensorType:
    assert isinstance(value.type, TensorType)
    return TensorType(i8, value.type.get_shape())


def _constant_array(value: SSAValue | None) -> np.ndarray | None:
    if value is not None and isinstance(value.owner, graph.ConstantOp):
        return value.owner.value_array()
    return None


def _shifted(array: np.ndarray) -> np.ndarray:
    """A ui8 array as the i8 array ``array - 128`` (same shape)."""
    return (array.astype(np.int16) - _SHIFT).astype(np.int8)


def _constant(array: np.ndarray) -> graph.ConstantOp:
    return graph.ConstantOp.from_array(np.asarray(array))


def _shifted_zero_point(zp: SSAValue | None, scale: SSAValue | None = None) -> np.ndarray | None:
    """The i8 zero point of the twin of a ui8 value with zero point ``zp`` (absent: 0, of
    ``scale``'s shape where there is one); None when ``zp`` is not a ui8 constant (not
    provably shiftable)."""
    if zp is None:
        shape = scale.type.get_shape() if scale is not None and isinstance(scale.type, TensorType) else ()
        return np.full(shape, -_SHIFT, dtype=np.int8)
    array = _constant_array(zp)
    if array is None or array.dtype != np.uint8:
        return None
    return _shifted(array)


def _ui8_clip_bounds(lo: float, hi: float) -> tuple[int, int]:
    """The integer bounds graph_reference.clip applies to a ui8 tensor."""
    lo_ = max(0, math.ceil(lo)) if lo != -math.inf else 0
    hi_ = min(255, math.floor(hi)) if hi != math.inf else 255
    return min(lo_, 255), max(hi_, 0)


@dataclass
class _Twins:
    """The i8 twins ``v - 128`` of one function's ui8 values, built on demand."""

    pass_: ModulePass
    rewriter: Rewriter
    created: list[Operation]

    def __post_init__(self) -> None:
        self.twins: dict[SSAValue, SSAValue] = {}

    # ------------------------------------------------------------------ building
    def _insert_after(self, value: SSAValue, ops: list[Operation]) -> None:
        """Insert ``ops`` right after ``value``'s definition (block start for arguments)."""
        if isinstance(value, BlockArgument):
            assert isinstance(value.owner, Block)
            point = InsertPoint.at_start(value.owner)
        else:
            assert isinstance(value.owner, Operation)
            point = InsertPoint.after(value.owner)
        self.rewriter.insert_op(ops, point)
        self.created.extend(ops)

    def twin(self, value: SSAValue, boundary: bool) -> SSAValue | None:
        """The i8 twin of ui8 ``value``; with ``boundary``, host conversion ops where the
        producer cannot be rewritten, else None there."""
        if value in self.twins:
            return self.twins[value]
        ops = self._from_producer(value)
        if ops is None:
            if not boundary:
                return None
            ops = self._boundary(value)
            record_statistic(self.pass_, "boundary-conversions")
        else:
            record_statistic(self.pass_, "rewritten-producers")
        self._insert_after(value, ops)
        result = ops[-1].results[0]
        if value.name_hint:
            result.name_hint = f"{value.name_hint}_i8"
        self.twins[value] = result
        return result

    def _boundary(self, value: SSAValue) -> list[Operation]:
        """``cast(cast(value, i32) - 128, i8)``: host ops, exact for every ui8 value."""
        wide = graph.CastOp.create(value, to="i32")
        offset = _constant(np.asarray(-_SHIFT, dtype=np.int32))
        centred = graph.AddOp.create(wide, offset)
        return [wide, offset, centred, graph.CastOp.create(centred, to="i8")]

    def _from_producer(self, value: SSAValue) -> list[Operation] | None:
        """Ops computing the twin from the producer's (rewritten) operands; None when the
        producer cannot be rewritten exactly."""
        op = value.owner
        if not isinstance(op, graph.GraphOp) or not _is_ui8(value):
            return None
        if isinstance(op, graph.ConstantOp):
            return [_constant(_shifted(op.value_array()))]
        if isinstance(op, graph.QuantizeLinearOp):
            zp = _shifted_zero_point(op.operands[2] if len(op.operands) > 2 else None, op.operands[1])
            if zp is None:
                return None
            zp_op = _constant(zp)
            return [zp_op, graph.QuantizeLinearOp.create(op.operands[0], op.operands[1], zp_op, **op.props_dict())]
        if isinstance(op, graph.RequantizeOp):
            props = op.props_dict()
            props["output_zero_point"] = int(props["output_zero_point"]) - _SHIFT
            return [graph.RequantizeOp.create(op.operands[0], result_type=_i8_type(value), **props)]
        return self._from_elementwise_or_layout(op)

    def _from_elementwise_or_layout(self, op: graph.GraphOp) -> list[Operation] | None:
        if isinstance(op, graph.ConcatOp):
            inputs = [self.twin(x, boundary=False) for x in op.operands]
            if any(x is None for x in inputs):
                return None
            return [graph.ConcatOp.create(inputs, **op.props_dict())]
        if not isinstance(op, (*_LAYOUT, graph.PadOp, graph.ClipOp)):
            return None
        source = self.twin(op.operands[0], boundary=False)
        if source is None:
            return None
        props = op.props_dict()
        if isinstance(op, graph.ClipOp):
            lo, hi = _ui8_clip_bounds(float(props["min"]), float(props["max"]))
            return [graph.ClipOp.create(source, min=float(lo - _SHIFT), max=float(hi - _SHIFT))]
        if isinstance(op, graph.PadOp) and props["mode"] == "constant":
            fill = float(props["value"])
            if fill != int(fill) or not 0 <= fill <= 255:
                return None  # the reference rejects it; keep the op as it is
            props["value"] = fill - _SHIFT
        return [type(op).create(source, **props)]


def _replace(rewriter: Rewriter, old: Operation, new: list[Operation], created: list[Operation]) -> None:
    rewriter.insert_op(new, InsertPoint.before(old))
    created.extend(new)
    old.results[0].replace_all_uses_with(new[-1].results[0])
    if new[-1].results[0].name_hint is None:
        new[-1].results[0].name_hint = old.results[0].name_hint


def _gemm_operands(twins: _Twins, op: Operation) -> list[SSAValue | None] | None:
    """The GEMM's operands (x, w, x_zp, w_zp) with each ui8 operand on its twin, or None
    when no operand changes (none is ui8, or a zero point is not a constant)."""
    x, w = op.operands[0], op.operands[1]
    assert isinstance(op, graph.ConvIntegerOp | graph.MatMulIntegerOp)
    zps = (
        (op.input_zero_point, op.weight_zero_point)
        if isinstance(op, graph.ConvIntegerOp)
        else (op.a_zero_point, op.b_zero_point)
    )
    operands: list[SSAValue | None] = [x, w, *zps]
    changed = False
    for index in (0, 1):
        if not _is_ui8(operands[index]):
            continue
        zp = _shifted_zero_point(zps[index])
        if zp is None:
            continue
        twin = twins.twin(operands[index], boundary=True)  # type: ignore[arg-type]
        zp_op = _constant(zp)
        twins.rewriter.insert_op(zp_op, InsertPoint.before(op))
        twins.created.append(zp_op)
        operands[index], operands[index + 2] = twin, zp_op.results[0]
        changed = True
    return operands if changed else None


class GraphUint8ToInt8(ModulePass):
    """Rewrite ui8 quantized tensors to i8 (``v - 128``, zero point ``z - 128``), exactly."""

    name = "graph-uint8-to-int8"
    declared_statistics: ClassVar[dict[str, str]] = {
        "rewritten-gemms": "conv_integer / matmul_integer ops moved onto i8 operands",
        "rewritten-consumers": "dequantize_linear / cast ops moved onto i8 operands",
        "rewritten-producers": "ui8 producers given an i8 twin by rewriting the op",
        "boundary-conversions": "ui8 values converted to i8 by host ops (cast, add, cast)",
    }

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in list(op.walk()):
            if isinstance(function, func.FuncOp):
                self._apply_function(function)

    def _apply_function(self, function: func.FuncOp) -> None:
        rewriter = Rewriter()
        created: list[Operation] = []
        twins = _Twins(self, rewriter, created)
        replaced: list[Operation] = []
        ops = [o for o in function.walk() if isinstance(o, graph.GraphOp)]
        # GEMMs first: they may add boundary conversions, which cheaper consumers reuse.
        for o in ops:
            if isinstance(o, graph.ConvIntegerOp | graph.MatMulIntegerOp):
                operands = _gemm_operands(twins, o)
                if operands is not None:
                    new = type(o).create(*operands, **o.props_dict())
                    _replace(rewriter, o, [new], created)
                    replaced.append(o)
                    record_statistic(self, "rewritten-gemms")
        for o in ops:
            new_ops = self._consumer(twins, o)
            if new_ops is not None:
                _replace(rewriter, o, new_ops, created)
                replaced.append(o)
                record_statistic(self, "rewritten-consumers")
        candidates = {*created, *replaced}
        candidates.update(v.owner for v in twins.twins if isinstance(v.owner, Operation))
        _erase_dead(rewriter, function, candidates)

    @staticmethod
    def _consumer(twins: _Twins, op: graph.GraphOp) -> list[Operation] | None:
        if isinstance(op, graph.DequantizeLinearOp) and _is_ui8(op.operands[0]):
            zp = _shifted_zero_point(op.operands[2] if len(op.operands) > 2 else None, op.operands[1])
            twin = twins.twin(op.operands[0], boundary=False) if zp is not None else None
            if twin is None:
                return None
            zp_op = _constant(zp)
            return [zp_op, graph.DequantizeLinearOp.create(twin, op.operands[1], zp_op, **op.props_dict())]
        if isinstance(op, graph.CastOp) and _is_ui8(op.operands[0]) and op.props_dict()["to"] == "i32":
            twin = twins.twin(op.operands[0], boundary=False)
            if twin is None:
                return None
            wide = graph.CastOp.create(twin, to="i32")
            if _fold_offset(twins, op):
                return [wide]
            offset = _constant(np.asarray(_SHIFT, dtype=np.int32))
            return [wide, offset, graph.AddOp.create(wide, offset)]
        return None


def _fold_offset(twins: _Twins, cast: graph.CastOp) -> bool:
    """Fold the ``+ 128`` of a rewritten ``cast(x, i32)`` into graph-fold-qdq's residual
    add form ``cast(x) * M + ... + C`` (single uses all the way): C becomes
    ``C + 128 * M``, so the chain keeps the shape convert-graph-to-tile fuses. Exact:
    i32 add and mul wrap, i.e. are ring operations mod 2**32. False where the chain is
    not of that form (the caller then adds 128 explicitly)."""
    mul = _single_user(cast.results[0])
    if not isinstance(mul, graph.MulOp):
        return False
    factor = _constant_array(mul.operands[1] if mul.operands[0] is cast.results[0] else mul.operands[0])
    if factor is None or factor.dtype != np.int32:
        return False
    value = mul.results[0]
    for _ in range(8):
        add = _single_user(value)
        if not isinstance(add, graph.AddOp):
            return False
        index = 1 if add.operands[0] is value else 0
        offset = _constant_array(add.operands[index])
        if offset is not None and offset.dtype == np.int32:
            folded = offset.astype(np.int64) + _SHIFT * factor.astype(np.int64)
            result_shape = tuple(add.results[0].type.get_shape())  # type: ignore[attr-defined]
            if np.broadcast_shapes(folded.shape, result_shape) != result_shape:
                return False
            new = _constant(folded.astype(np.uint32).astype(np.int32))  # wrap mod 2**32
            twins.rewriter.insert_op(new, InsertPoint.before(add))
            twins.created.append(new)
            add.operands[index] = new.results[0]
            return True
        value = add.results[0]
    return False


def _single_user(value: SSAValue) -> Operation | None:
    uses = list(value.uses)
    return uses[0].operation if len(uses) == 1 else None


def _erase_dead(rewriter: Rewriter, function: func.FuncOp, candidates: set[Operation]) -> None:
    """Erase the ``candidates`` (and what only they used) whose results are unused: the
    ui8 originals the twins replaced, twins nobody took. Last first, so chains die
    whole; ops the pass never touched stay, dead or not."""
    for o in reversed(list(function.walk())):
        if o in candidates and isinstance(o, graph.GraphOp) and all(not r.uses for r in o.results):
            candidates.update(v.owner for v in o.operands if isinstance(v.owner, graph.ConstantOp))
            rewriter.erase_op(o)


__all__ = ["GraphUint8ToInt8"]
