"""``graph-fold-qdq``: quantized models' float patterns into the core's integer form.

onnxruntime's ``quantize_static`` (QDQ format) writes every quantized conv / gemm /
matmul as float math between dequantize and quantize ops::

    q = quantize_linear(op(dequantize_linear(x_q), dequantize_linear(W_q), dequantize_linear(b_q)))

(per-channel weights dequantize along the output-channel axis; the bias is int32 with
scale ``x_scale * w_scale`` and zero point 0; a Relu after Conv is usually absorbed by a
Q range starting at real 0, but a Relu/Clip left between the op and Q is handled). The
operator form ``graph.qlinear_conv`` / ``graph.qlinear_matmul`` says the same thing in
one op. Both become::

    acc = graph.conv_integer / graph.matmul_integer (x_q, W_q, x_zp, w_zp)    i32
    acc = graph.add acc, bias_i32                                          (with a bias)
    q   = graph.requantize acc {multiplier, shift, output_zero_point}       i8 / ui8
    q   = graph.clip q {min, max}               (relu/clip not absorbed by the Q range)

with the multiplier/shift of ``canopy_mlir.quantization.fixed_point`` for ``s_c = x_scale
* w_scale[c] / y_scale``, chosen over the accumulator range the actual weights allow
(``sum_k |w - wzp| * max|x - xzp|`` plus the bias), so that ``acc * m`` never overflows
the ALU's int32 and the result is within one step of float requantization. Where a
16-bit multiplier cannot reach one step without overflowing int32 (long reductions), a
32-bit multiplier with graph.requantize's exact 64-bit product keeps the op integer (that
requantize then runs on the host, see graph-partition). A pattern that cannot be
represented within one step either way, or an unsupported combination (per-channel
activations, a weight that is not a constant, gemm with ``alpha``/``beta`` != 1 or
``trans_a``, matmul weights quantized along K), is left alone: a ``skipped-*`` statistic
counts it and a remark on the op says why.

The rest of a quantized ResNet's data path (see :func:`_fold_other`)::

    Q(DQ a + DQ b)   ->  requantize(cast(a) * Ma + cast(b) * Mb + C) {multiplier 1, shift k}
    Q(op(DQ x))      ->  op(x)                     op in max_pool, global_max_pool, reshape,
                                                   flatten, transpose; same scale/zero point
    Q(relu(DQ x))    ->  clip(x) {min = zero point}                   same scale/zero point
    Q(avgpool(DQ x)) ->  requantize(conv_integer(x, ones, xzp) {group = C})
    otherwise        ->  op on integers, then cast + (- zero point) + requantize to Q's scale

The add's ``Ma``, ``Mb`` (signed 16-bit ALU immediates) approximate ``s_a / s_y`` and
``s_b / s_y`` at one shared shift ``k``, the zero points fold into one int32 constant
``C = -(Ma * za + Mb * zb)``, and ``k`` is the largest shift whose products cannot leave
int32 (:func:`_add_multipliers`); the result is within one step of the QDQ graph. The
average pools sum their window with a depthwise ``conv_integer`` of ones (the graph
dialect's integer pools are max only, and the card runs depthwise convs) and divide in
the requantize (``s_x / (s_y * window)``); padding is only accepted where the divisor is
the whole window (no pads, or ``count_include_pad``).

The bias is re-expressed at scale ``x_scale * w_scale`` (``rint(dequantized bias /
(x_scale * w_scale))``), which returns onnxruntime's int32 bias unchanged when its scale
is that product, and quantizes a float bias as ONNX QLinearConv defines it otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriter, RewritePattern

from canopy_mlir.dialects import graph
from canopy_mlir.interpreters import graph_reference
from canopy_mlir.quantization.fixed_point import (
    INT32_MAX,
    MAX_SHIFT,
    RequantizationError,
    choose_requantization,
)
from canopy_mlir.transforms import record_statistic
from canopy_mlir.transforms.graph_fuse_activations import (
    FusedActivationError,
    get_fused_activation,
)

LOG = logging.getLogger(__name__)

_QRANGE = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255)}


class Unsupported(Exception):
    """A pattern the pass leaves alone; the message says why (becomes a remark)."""

    def __init__(self, statistic: str, message: str):
        super().__init__(message)
        self.statistic = statistic


# ------------------------------------------------------------------ reading constants
def _constant(value: SSAValue | None) -> np.ndarray | None:
    owner = value.owner if value is not None else None
    return owner.value_array() if isinstance(owner, graph.ConstantOp) else None


def _require_constant(value: SSAValue | None, what: str) -> np.ndarray:
    array = _constant(value)
    if array is None:
        raise Unsupported("skipped-unsupported", f"{what} is not a graph.constant")
    return array


def _scalar(value: SSAValue | None, what: str) -> np.ndarray:
    array = _require_constant(value, what)
    if array.size != 1:
        raise Unsupported("skipped-unsupported", f"{what} has {array.size} values; only per-tensor is supported")
    return array.reshape(())


@dataclass(frozen=True)
class Quantized:
    """A quantized tensor as the integer form needs it: the integer value (an SSA value or
    a constant array), float32 scales and zero points (1-D: one, or one per channel)."""

    value: SSAValue | None
    array: np.ndarray | None
    scale: np.ndarray
    zero_point: np.ndarray
    dtype: np.dtype


def _zero_point(value: SSAValue | None, dtype: np.dtype, what: str) -> np.ndarray:
    if value is None:
        return np.zeros(1, dtype=dtype)
    return _require_constant(value, what).reshape(-1)


def _activation(value: SSAValue, what: str) -> Quantized:
    """``value`` = dequantize_linear(x_q) with per-tensor constant scale / zero point."""
    dq = value.owner
    if not isinstance(dq, graph.DequantizeLinearOp):
        raise Unsupported("skipped-unsupported", f"{what} is not dequantized (no graph.dequantize_linear)")
    dtype = _numpy_dtype(dq.input.type.element_type)  # type: ignore[attr-defined]
    if dtype not in _QRANGE:
        raise Unsupported("skipped-unsupported", f"{what} is dequantized from {dtype}, not int8/uint8")
    scale = _scalar(dq.scale, f"{what} scale").astype(np.float32).reshape(1)
    zero_point = _zero_point(dq.zero_point, dtype, f"{what} zero point")
    if zero_point.size != 1:
        raise Unsupported("skipped-unsupported", f"{what} has per-channel zero points; only per-tensor is supported")
    return Quantized(dq.input, None, scale, zero_point, dtype)


def _weight(value: SSAValue, channel_axis: int, what: str) -> Quantized:
    """``value`` = dequantize_linear(constant W_q), per tensor or along ``channel_axis``."""
    dq = value.owner
    if not isinstance(dq, graph.DequantizeLinearOp):
        raise Unsupported("skipped-unsupported", f"{what} is not dequantized (no graph.dequantize_linear)")
    array = _require_constant(dq.input, f"{what} (quantized)")
    if array.dtype not in _QRANGE:
        raise Unsupported("skipped-unsupported", f"{what} is {array.dtype}, not int8/uint8")
    scale = _require_constant(dq.scale, f"{what} scale").astype(np.float32).reshape(-1)
    zero_point = _zero_point(dq.zero_point, array.dtype, f"{what} zero point")
    if max(scale.size, zero_point.size) > 1:
        axis = dq.props_dict()["axis"] % array.ndim
        if axis != channel_axis % array.ndim:
            raise Unsupported(
                "skipped-unsupported",
                f"{what} is quantized along axis {axis}, not its output-channel axis {channel_axis % array.ndim}",
            )
    return Quantized(None, array, scale, zero_point, array.dtype)


def _numpy_dtype(element: Any) -> np.dtype:
    """The numpy dtype of an i8 / ui8 / i32 / f32 / i64 element type."""
    text = str(element)
    table = {"i8": np.int8, "ui8": np.uint8, "i32": np.int32, "f32": np.float32, "i64": np.int64}
    if text not in table:
        raise Unsupported("skipped-unsupported", f"element type {text} is not handled")
    return np.dtype(table[text])


def _bias(value: SSAValue | None, channels: int) -> np.ndarray | None:
    """The bias as float64 [channels]: a dequantized int32 constant or a float constant."""
    if value is None:
        return None
    owner = value.owner
    if isinstance(owner, graph.DequantizeLinearOp):
        q = _require_constant(owner.input, "bias (quantized)").astype(np.float64)
        scale = _require_constant(owner.scale, "bias scale").astype(np.float32).astype(np.float64).reshape(-1)
        zp = _zero_point(owner.zero_point, np.dtype(np.int32), "bias zero point").astype(np.float64)
        bias = (q.reshape(-1) - zp) * scale
    else:
        bias = _require_constant(value, "bias").astype(np.float64).reshape(-1)
    if bias.size == 1:
        bias = np.full(channels, bias[0])
    if bias.size != channels:
        raise Unsupported("skipped-unsupported", f"bias has {bias.size} values, expected {channels}")
    return bias


# ------------------------------------------------------------------ the integer form
@dataclass
class Pattern:
    """One matched pattern in a form-independent description."""

    kind: str  # "conv" or "matmul"
    root: Operation  # replaced by the integer ops (the Q, or the qlinear op)
    x: Quantized
    w: Quantized  # weight as conv OIHW or matmul [K, N]
    bias: np.ndarray | None  # float64 per output channel
    y_scale: float
    y_zero_point: int
    y_dtype: np.dtype
    conv_props: dict[str, Any] = field(default_factory=dict)
    clip: tuple[float, float] | None = None  # real-valued bounds of a relu/clip before Q
    old: list[Operation] = field(default_factory=list)  # erased when left unused

    @property
    def channels(self) -> int:
        return self.w.array.shape[0] if self.kind == "conv" else self.w.array.shape[-1]  # type: ignore[union-attr]


def _channel_values(array: np.ndarray, channels: int) -> np.ndarray:
    return np.broadcast_to(array.reshape(-1), (channels,)) if array.size == 1 else array.reshape(-1)


def _accumulator_range(p: Pattern, bias_int: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel [min, max] of ``sum (x - xzp)(w - wzp) + bias`` over all int8 inputs
    (padding contributes x - xzp = 0, which lies inside the input range)."""
    qmin, qmax = _QRANGE[p.x.dtype]
    xzp = int(p.x.zero_point[0])
    x_lo, x_hi = qmin - xzp, qmax - xzp
    w = p.w.array.astype(np.int64)  # type: ignore[union-attr]
    wzp = _channel_values(p.w.zero_point.astype(np.int64), p.channels)
    if p.kind == "conv":
        centred = w.reshape(p.channels, -1) - wzp[:, None]
    else:
        centred = (w - wzp[None, :]).T
    low = np.minimum(centred * x_lo, centred * x_hi).sum(axis=1)
    high = np.maximum(centred * x_lo, centred * x_hi).sum(axis=1)
    if bias_int is not None:
        low, high = low + bias_int, high + bias_int
    return low, high


def _name(ops: list[Operation], hint: str | None) -> None:
    """Name the new non-constant ops after the replaced result: the last one takes the
    name itself, the others ``<name>_acc``, ``<name>_biased``, ``<name>_requantized``."""
    if not hint:
        return
    roles = {graph.ConvIntegerOp: "acc", graph.MatMulIntegerOp: "acc", graph.AddOp: "biased", graph.RequantizeOp: "requantized"}
    for op in ops:
        if not isinstance(op, graph.ConstantOp):
            op.results[0].name_hint = hint if op is ops[-1] else f"{hint}_{roles[type(op)]}"


def _constant_op(array: np.ndarray, name: str | None) -> graph.ConstantOp:
    op = graph.ConstantOp.from_array(array)
    if name:
        op.result.name_hint = name
    return op


def _quantized_bound(p: Pattern, bound: float) -> int:
    q = graph_reference.quantize_linear(
        np.asarray(bound, dtype=np.float32), np.asarray(p.y_scale, dtype=np.float32),
        np.asarray(p.y_zero_point, dtype=p.y_dtype),
    )
    return int(q)


def _choose_within_one_step(
    scale: Any, low: Any, high: Any, multiplier_bits: int, output_steps: int
) -> Any:
    """``choose_requantization`` at ``multiplier_bits``, else at 32 bits; Unsupported if neither.

    A 16-bit multiplier (the ALU's immediate) cannot always reach one-step accuracy over
    the worst-case accumulator range; a 32-bit one keeps the op integer (graph-partition
    then leaves that requantize on the host) instead of leaving the whole conv in float.
    """
    error: RequantizationError | None = None
    # (multiplier bits, product bits): the ALU's int32 arithmetic first, then the exact
    # 64-bit product graph.requantize has on the host.
    for bits, product_bits in dict.fromkeys(((multiplier_bits, 32), (32, 64))):
        try:
            return choose_requantization(
                scale, low, high, multiplier_bits=bits, product_bits=product_bits,
                output_steps=output_steps,
            )
        except RequantizationError as failure:
            error = failure
    raise Unsupported("skipped-inexact", f"requantization not within one step: {error}")


def _build(p: Pattern, multiplier_bits: int) -> tuple[list[Operation], dict[str, int]]:
    """The integer ops replacing ``p`` (last one gives the result); raises Unsupported."""
    channels = p.channels
    w_scale = _channel_values(p.w.scale.astype(np.float64), channels)
    x_scale = float(p.x.scale[0])
    acc_scale = x_scale * w_scale
    bias_int = None if p.bias is None else np.rint(p.bias / acc_scale).astype(np.int64)
    low, high = _accumulator_range(p, bias_int)
    qmin, qmax = _QRANGE[p.y_dtype]
    rq = _choose_within_one_step(
        acc_scale / p.y_scale, low, high, multiplier_bits,
        output_steps=max(qmax - p.y_zero_point, p.y_zero_point - qmin),
    )
    hint = p.root.results[0].name_hint
    ops: list[Operation] = []
    x_zp = _constant_op(p.x.zero_point.reshape(()).astype(p.x.dtype), f"{hint}_x_zp" if hint else None)
    w_zp_values = p.w.zero_point.astype(p.w.dtype)
    w_zp = _constant_op(w_zp_values.reshape(()) if w_zp_values.size == 1 else w_zp_values, f"{hint}_w_zp" if hint else None)
    weight = _constant_op(np.ascontiguousarray(p.w.array), f"{hint}_weight" if hint else None)
    ops += [x_zp, weight, w_zp]
    if p.kind == "conv":
        acc: Operation = graph.ConvIntegerOp.create(p.x.value, weight, x_zp, w_zp, **p.conv_props)
    else:
        acc = graph.MatMulIntegerOp.create(p.x.value, weight, x_zp, w_zp)
    ops.append(acc)
    rank = len(acc.results[0].type.get_shape())  # type: ignore[attr-defined]
    axis = 1 if p.kind == "conv" else rank - 1
    if bias_int is not None:
        if low.min() < -(1 << 31) or high.max() >= (1 << 31):
            raise Unsupported("skipped-inexact", "the biased accumulator can leave int32")
        shape = [1] * rank
        shape[axis] = channels
        bias_op = _constant_op(bias_int.astype(np.int32).reshape(shape), f"{hint}_bias" if hint else None)
        acc = graph.AddOp.create(acc, bias_op)
        ops += [bias_op, acc]
    multiplier, shift = rq.multiplier, rq.shift
    if np.all(multiplier == multiplier[0]) and np.all(shift == shift[0]):
        multiplier, shift = multiplier[:1], shift[:1]
    requantize = graph.RequantizeOp.create(
        acc, result_type=p.root.results[0].type, multiplier=[int(m) for m in multiplier],
        shift=[int(s) for s in shift], output_zero_point=p.y_zero_point, axis=axis,
    )
    ops.append(requantize)
    if p.clip is not None:
        lo, hi = (_quantized_bound(p, b) if np.isfinite(b) else None for b in p.clip)
        lo = None if lo is None or lo <= qmin else lo
        hi = None if hi is None or hi >= qmax else hi
        if lo is not None or hi is not None:
            props = {k: float(v) for k, v in (("min", lo), ("max", hi)) if v is not None}
            ops.append(graph.ClipOp.create(requantize, **props))
    _name(ops[3:], hint)
    return ops, {"max_error_millisteps": int(1000 * rq.max_abs_error_steps)}


# ------------------------------------------------------------------ matching
def _activation_before(value: SSAValue) -> tuple[Operation | None, tuple[float, float] | None, SSAValue]:
    """A relu/clip producing ``value`` (only used there): the op, its real bounds, its input."""
    owner = value.owner
    if isinstance(owner, graph.ReluOp | graph.ClipOp) and value.has_one_use():
        if isinstance(owner, graph.ReluOp):
            return owner, (0.0, float("inf")), owner.input
        props = owner.props_dict()
        return owner, (float(props["min"]), float(props["max"])), owner.input
    return None, None, value


def _fused_bounds(op: Operation) -> tuple[float, float] | None:
    try:
        fused = get_fused_activation(op)
    except FusedActivationError as error:
        raise Unsupported("skipped-unsupported", str(error)) from error
    if fused is None:
        return None
    if fused.name == "relu":
        return (0.0, float("inf"))
    if fused.name == "clip":
        return (float(fused.params["min"]), float(fused.params["max"]))
    raise Unsupported("skipped-unsupported", f"fused activation {fused.name} has no integer form")


def _combine(a: tuple[float, float] | None, b: tuple[float, float] | None) -> tuple[float, float] | None:
    if a is None or b is None:
        return a or b
    return (max(a[0], b[0]), min(a[1], b[1]))


def _output(q: graph.QuantizeLinearOp) -> tuple[float, int, np.dtype]:
    dtype = np.dtype(_numpy_dtype(q.result.type.element_type))  # type: ignore[attr-defined]
    scale = float(_scalar(q.scale, "output scale").astype(np.float32))
    zp = 0 if q.zero_point is None else int(_scalar(q.zero_point, "output zero point"))
    return scale, zp, dtype


def _from_qdq(q: graph.QuantizeLinearOp) -> Pattern | None:
    """Match ``quantize_linear([relu|clip](conv|gemm|matmul(DQ x, DQ W[, bias])))``."""
    activation, bounds, value = _activation_before(q.input)
    producer = value.owner
    if not isinstance(producer, graph.ConvOp | graph.GemmOp | graph.MatMulOp) or not value.has_one_use():
        return None
    if not isinstance(producer.operands[0].owner, graph.DequantizeLinearOp):
        return None
    bounds = _combine(bounds, _fused_bounds(producer))
    y_scale, y_zp, y_dtype = _output(q)
    old = [op for op in (activation, producer) if op is not None]
    if isinstance(producer, graph.ConvOp):
        x = _activation(producer.input, "conv input")
        w = _weight(producer.weight, 0, "conv weight")
        bias = _bias(producer.bias, w.array.shape[0])  # type: ignore[union-attr]
        return Pattern("conv", q, x, w, bias, y_scale, y_zp, y_dtype, producer.props_dict(), bounds, old)
    if isinstance(producer, graph.GemmOp):
        props = producer.props_dict()
        if props["trans_a"] or props["alpha"] != 1.0 or (producer.c is not None and props["beta"] != 1.0):
            raise Unsupported("skipped-unsupported", "gemm with trans_a, alpha != 1 or beta != 1")
        trans_b = bool(props["trans_b"])
        x = _activation(producer.a, "gemm a")
        w = _weight(producer.b, 0 if trans_b else 1, "gemm b")
        if trans_b:
            w = Quantized(None, np.ascontiguousarray(w.array.T), w.scale, w.zero_point, w.dtype)  # type: ignore[union-attr]
        bias = _bias(producer.c, w.array.shape[1])  # type: ignore[union-attr]
        if producer.c is not None and len(producer.c.type.get_shape()) == 2 and producer.c.type.get_shape()[0] != 1:  # type: ignore[attr-defined]
            raise Unsupported("skipped-unsupported", "gemm c varies along rows")
        return Pattern("matmul", q, x, w, bias, y_scale, y_zp, y_dtype, {}, bounds, old)
    x = _activation(producer.a, "matmul a")
    b_rank = len(producer.b.type.get_shape())  # type: ignore[attr-defined]
    if b_rank != 2:
        raise Unsupported("skipped-unsupported", f"matmul b has rank {b_rank}; only a 2-D weight is supported")
    w = _weight(producer.b, 1, "matmul b")
    return Pattern("matmul", q, x, w, None, y_scale, y_zp, y_dtype, {}, bounds, old)


def _qlinear_quantized(value: SSAValue, scale: SSAValue, zp: SSAValue, what: str, axis: int | None) -> Quantized:
    dtype = np.dtype(_numpy_dtype(value.type.element_type))  # type: ignore[attr-defined]
    s = _require_constant(scale, f"{what} scale").astype(np.float32).reshape(-1)
    z = _require_constant(zp, f"{what} zero point").reshape(-1)
    if axis is None:
        if max(s.size, z.size) != 1:
            raise Unsupported("skipped-unsupported", f"{what} is per-channel; only per-tensor is supported")
        return Quantized(value, None, s, z, dtype)
    return Quantized(None, _require_constant(value, what), s, z, dtype)


def _from_qlinear(op: graph.QLinearConvOp | graph.QLinearMatMulOp) -> Pattern:
    """The operator form: all scales/zero points are operands of the op."""
    y_dtype = np.dtype(_numpy_dtype(op.result.type.element_type))  # type: ignore[attr-defined]
    y_scale = float(_scalar(op.output_scale, "output scale").astype(np.float32))
    y_zp = int(_scalar(op.output_zero_point, "output zero point"))
    if isinstance(op, graph.QLinearConvOp):
        x = _qlinear_quantized(op.input, op.input_scale, op.input_zero_point, "qlinear_conv input", None)
        w = _qlinear_quantized(op.weight, op.weight_scale, op.weight_zero_point, "qlinear_conv weight", 0)
        bias = None
        if op.bias is not None:
            channels = w.array.shape[0]  # type: ignore[union-attr]
            acc_scale = float(x.scale[0]) * _channel_values(w.scale.astype(np.float64), channels)
            bias = _require_constant(op.bias, "qlinear_conv bias").astype(np.float64).reshape(-1) * acc_scale
        return Pattern("conv", op, x, w, bias, y_scale, y_zp, y_dtype, op.props_dict())
    x = _qlinear_quantized(op.a, op.a_scale, op.a_zero_point, "qlinear_matmul a", None)
    if len(op.b.type.get_shape()) != 2:  # type: ignore[attr-defined]
        raise Unsupported("skipped-unsupported", "qlinear_matmul b is not 2-D")
    w = _qlinear_quantized(op.b, op.b_scale, op.b_zero_point, "qlinear_matmul b", 1)
    return Pattern("matmul", op, x, w, None, y_scale, y_zp, y_dtype)


def _erase_dead(ops: list[Operation], rewriter: PatternRewriter) -> None:
    """Erase ``ops`` and then their operands' producers, as long as they are unused."""
    pending = list(ops)
    while pending:
        op = pending.pop(0)
        if op.parent is None or any(r.uses for r in op.results):
            continue
        producers = [v.owner for v in op.operands if isinstance(v.owner, Operation)]
        rewriter.erase(op)
        pending.extend(p for p in producers if isinstance(p, graph.GraphOp))


# ------------------------------------------------------------------ add, pools, relu, layout
_LAYOUT_OPS = (graph.ReshapeOp, graph.FlattenOp, graph.TransposeOp)
_MAX_POOLS = (graph.MaxPoolOp, graph.GlobalMaxPoolOp)
_AVERAGE_POOLS = (graph.AveragePoolOp, graph.GlobalAveragePoolOp)
_STATISTIC = {
    **dict.fromkeys(_LAYOUT_OPS, "folded-layout"),
    **dict.fromkeys(_MAX_POOLS + _AVERAGE_POOLS, "folded-pool"),
    graph.ReluOp: "folded-relu",
}

Rewrite = tuple[list[Operation], list[Operation], str]
"""New ops (the last one gives the result), ops to erase when unused, statistic."""


@dataclass(frozen=True)
class Output:
    """The quantize op's per-tensor output parameters and result type."""

    scale: float
    zero_point: int
    dtype: np.dtype
    type: Any

    @classmethod
    def of(cls, q: graph.QuantizeLinearOp) -> Output:
        scale, zp, dtype = _output(q)
        return cls(scale, zp, dtype, q.result.type)


def _name_chain(ops: list[Operation], hint: str | None) -> None:
    """The last op takes the replaced name, the others ``<name>_<op>`` (``_const``)."""
    if not hint:
        return
    for op in ops:
        role = "const" if isinstance(op, graph.ConstantOp) else op.name.removeprefix("graph.")
        op.results[0].name_hint = hint if op is ops[-1] else f"{hint}_{role}"


def _i32(value: int) -> graph.ConstantOp:
    return graph.ConstantOp.from_array(np.asarray(value, dtype=np.int32))


def _same_params(x: Quantized, y: Output) -> bool:
    return (
        x.dtype == y.dtype
        and np.float32(x.scale[0]) == np.float32(y.scale)
        and int(x.zero_point[0]) == y.zero_point
    )


def _magnitude(x: Quantized) -> int:
    """The largest ``|x - zero_point|`` the integer type allows."""
    qmin, qmax = _QRANGE[x.dtype]
    zp = int(x.zero_point[0])
    return max(zp - qmin, qmax - zp)


def _centred(value: SSAValue, x: Quantized) -> list[Operation]:
    """``cast(value, i32) - zero_point`` (the last op's result)."""
    ops: list[Operation] = [graph.CastOp.create(value, to="i32")]
    zp = int(x.zero_point[0])
    if zp:
        offset = _i32(-zp)
        ops += [offset, graph.AddOp.create(ops[0], offset)]
    return ops


def _requantize(acc: Operation, scale: float, magnitude: int, y: Output, bits: int) -> graph.RequantizeOp:
    """``acc * scale`` (|acc| <= magnitude) requantized into ``y``; Unsupported if inexact."""
    qmin, qmax = _QRANGE[y.dtype]
    rq = _choose_within_one_step(
        scale, -magnitude, magnitude, bits, output_steps=max(qmax - y.zero_point, y.zero_point - qmin)
    )
    return graph.RequantizeOp.create(
        acc, result_type=y.type, multiplier=[int(rq.multiplier[0])], shift=[int(rq.shift[0])],
        output_zero_point=y.zero_point,
    )


def _rescaled(op: Operation, x: Quantized, y: Output, bits: int) -> list[Operation]:
    """``op`` (on integers with x's parameters) and what moves it to y's parameters."""
    if _same_params(x, y):
        return [op]
    centred = _centred(op.results[0], x)
    scale = float(x.scale[0]) / y.scale
    return [op, *centred, _requantize(centred[-1], scale, _magnitude(x), y, bits)]


def _fold_layout_or_max(q: graph.QuantizeLinearOp, producer: Operation, bits: int) -> Rewrite:
    """Max pools and layout ops commute with the (monotone) quantization: exact."""
    x = _activation(producer.operands[0], f"{producer.name} input")
    op = type(producer).create(x.value, **producer.props_dict())  # type: ignore[attr-defined]
    return _rescaled(op, x, Output.of(q), bits), [producer], _STATISTIC[type(producer)]


def _fold_relu(q: graph.QuantizeLinearOp, relu: graph.ReluOp, bits: int) -> Rewrite:
    """relu is ``max(x, zero point)`` on the integers (real 0 is the zero point)."""
    x = _activation(relu.input, "relu input")
    y = Output.of(q)
    if _same_params(x, y):
        ops: list[Operation] = [graph.ClipOp.create(x.value, min=float(x.zero_point[0]))]
    else:
        centred = _centred(x.value, x)  # type: ignore[arg-type]
        relu_i32 = graph.ReluOp.create(centred[-1])
        scale = float(x.scale[0]) / y.scale
        ops = [*centred, relu_i32, _requantize(relu_i32, scale, _magnitude(x), y, bits)]
    return ops, [relu], "folded-relu"


def _fold_average_pool(q: graph.QuantizeLinearOp, pool: Operation, bits: int) -> Rewrite:
    """Window sums by a depthwise conv_integer of ones, the division in the requantize."""
    x = _activation(pool.operands[0], f"{pool.name} input")
    shape = x.value.type.get_shape()  # type: ignore[union-attr]
    geometry: dict[str, Any] = {"kernel_shape": list(shape[2:])}
    if isinstance(pool, graph.AveragePoolOp):
        props = pool.props_dict()
        geometry = {k: props[k] for k in ("kernel_shape", "strides", "pads")}
        if any(props["pads"]) and not props["count_include_pad"]:
            raise Unsupported(
                "skipped-unsupported",
                "average pool with pads and count_include_pad = 0 divides border windows by fewer taps",
            )
        floor_type = graph.AveragePoolOp.infer_result_type([pool.input.type], **{**props, "ceil_mode": 0})
        if floor_type != pool.result.type:
            raise Unsupported("skipped-unsupported", "average pool whose ceil_mode adds partial windows")
    channels, kernel = shape[1], geometry["kernel_shape"]
    ones = graph.ConstantOp.from_array(np.ones((channels, 1, *kernel), dtype=np.int8))
    x_zp = graph.ConstantOp.from_array(x.zero_point.reshape(()).astype(x.dtype))
    conv = graph.ConvIntegerOp.create(
        x.value, ones, x_zp, None, strides=geometry.get("strides"), pads=geometry.get("pads"), group=channels,
    )
    window = int(np.prod(kernel))
    y = Output.of(q)
    requantize = _requantize(conv, float(x.scale[0]) / (y.scale * window), _magnitude(x) * window, y, bits)
    return [ones, x_zp, conv, requantize], [pool], "folded-pool"


def _add_multipliers(
    ratios: list[float], magnitudes: list[int], offset_bound: int, bits: int
) -> tuple[list[int], int, float]:
    """One shift ``k`` and multipliers ``M_i = rint(r_i * 2^k)`` (``bits``-bit signed) for
    ``sum_i r_i * v_i`` with ``|v_i| <= magnitudes[i]``: the largest ``k`` whose
    ``sum M_i * magnitude_i + max(M) * offset_bound + 2^(k-1)`` fits int32 (nothing wraps
    on the ALU) with approximation error ``sum magnitude_i * |M_i / 2^k - r_i|`` below one
    step. Returns (multipliers, shift, error bound in steps)."""
    largest = (1 << (bits - 1)) - 1
    for shift in range(MAX_SHIFT, -1, -1):
        multipliers = [int(np.rint(r * 2.0**shift)) for r in ratios]
        if max(multipliers) > largest:
            continue
        extent = sum(m * a for m, a in zip(multipliers, magnitudes, strict=True))
        if extent + max(multipliers) * offset_bound + ((1 << (shift - 1)) if shift else 0) > INT32_MAX:
            continue
        error = sum(a * abs(m / 2.0**shift - r) for m, a, r in zip(multipliers, magnitudes, ratios, strict=True))
        if error >= 1.0:
            break
        while shift > 0 and all(m % 2 == 0 for m in multipliers):  # same results, less headroom
            multipliers, shift = [m // 2 for m in multipliers], shift - 1
        return multipliers, shift, error
    raise Unsupported(
        "skipped-inexact",
        f"add: input/output scale ratios {[float(r) for r in ratios]} have no {bits}-bit multipliers "
        "at a common shift within one step without leaving int32",
    )


def _quantized_bound_of(y: Output, bound: float) -> int:
    q = graph_reference.quantize_linear(
        np.asarray(bound, dtype=np.float32), np.asarray(y.scale, dtype=np.float32),
        np.asarray(y.zero_point, dtype=y.dtype),
    )
    return int(q)


def _fold_add(q: graph.QuantizeLinearOp, add: graph.AddOp, bounds: tuple[float, float] | None, bits: int) -> list[Operation]:
    """``Q(DQ a + DQ b)`` as ``requantize(cast(a) * Ma + cast(b) * Mb + C)`` (module docs)."""
    a, b = _activation(add.lhs, "add lhs"), _activation(add.rhs, "add rhs")
    y = Output.of(q)
    ratios = [float(a.scale[0]) / y.scale, float(b.scale[0]) / y.scale]
    raw = [max(abs(v) for v in _QRANGE[t.dtype]) for t in (a, b)]  # uncentred |a|, |b|
    zps = [int(a.zero_point[0]), int(b.zero_point[0])]
    multipliers, shift, _ = _add_multipliers(ratios, raw, sum(abs(z) for z in zps), bits)
    ops: list[Operation] = []
    terms = []
    for value, multiplier in ((a.value, multipliers[0]), (b.value, multipliers[1])):
        cast = graph.CastOp.create(value, to="i32")
        factor = _i32(multiplier)
        product = graph.MulOp.create(cast, factor)
        ops += [cast, factor, product]
        terms.append(product)
    total: Operation = graph.AddOp.create(*terms)
    ops.append(total)
    offset = -(multipliers[0] * zps[0] + multipliers[1] * zps[1])
    if offset:
        constant = _i32(offset)
        total = graph.AddOp.create(total, constant)
        ops += [constant, total]
    requantize = graph.RequantizeOp.create(
        total, result_type=y.type, multiplier=[1], shift=[shift], output_zero_point=y.zero_point,
    )
    ops.append(requantize)
    if bounds is not None:
        qmin, qmax = _QRANGE[y.dtype]
        lo, hi = (_quantized_bound_of(y, v) if np.isfinite(v) else None for v in bounds)
        props = {k: float(v) for k, v in (("min", lo), ("max", hi)) if v is not None and qmin < v < qmax}
        if props:
            ops.append(graph.ClipOp.create(requantize, **props))
    return ops


def _fold_other(q: graph.QuantizeLinearOp, bits: int) -> Rewrite | None:
    """The add / pool / relu / layout patterns ending in ``q`` (None: no such pattern)."""
    activation, bounds, value = _activation_before(q.input)
    producer = value.owner
    if isinstance(producer, graph.AddOp) and value.has_one_use() and all(
        isinstance(v.owner, graph.DequantizeLinearOp) for v in producer.operands
    ):
        old = [op for op in (activation, producer) if op is not None]
        return _fold_add(q, producer, bounds, bits), old, "folded-add"
    producer = q.input.owner
    if not q.input.has_one_use() or not isinstance(producer, Operation) or not producer.operands:
        return None
    if not isinstance(producer.operands[0].owner, graph.DequantizeLinearOp):
        return None
    if isinstance(producer, _LAYOUT_OPS + _MAX_POOLS):
        return _fold_layout_or_max(q, producer, bits)
    if isinstance(producer, graph.ReluOp):
        return _fold_relu(q, producer, bits)
    if isinstance(producer, _AVERAGE_POOLS):
        return _fold_average_pool(q, producer, bits)
    return None


_ROOTS = (graph.QuantizeLinearOp, graph.QLinearConvOp, graph.QLinearMatMulOp)


class FoldQdq(RewritePattern):
    def __init__(self, owner: GraphFoldQdq):
        self.owner = owner

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        try:
            if isinstance(op, graph.QuantizeLinearOp):
                pattern = _from_qdq(op)
                if pattern is None:
                    other = _fold_other(op, self.owner.multiplier_bits)
                    if other is not None:
                        self._replace(op, *other)
                    return
            elif isinstance(op, graph.QLinearConvOp | graph.QLinearMatMulOp):
                pattern = _from_qlinear(op)
            else:
                return
            ops, _ = _build(pattern, self.owner.multiplier_bits)
        except Unsupported as why:
            record_statistic(self.owner, why.statistic)
            _remark(op, f"graph-fold-qdq left this pattern alone: {why}")
            return
        # The replaced op's own operands (scales, zero points, a qlinear op's weight) may
        # be left unused too.
        old = pattern.old + [v.owner for v in op.operands if isinstance(v.owner, graph.GraphOp)]
        rewriter.replace(op, ops, [ops[-1].results[0]])
        _erase_dead(old, rewriter)
        kind = {graph.QLinearConvOp: "qlinear-conv", graph.QLinearMatMulOp: "qlinear-matmul"}.get(type(op))
        record_statistic(self.owner, f"folded-{kind or pattern.kind}")

    def _replace(self, q: graph.QuantizeLinearOp, ops: list[Operation], old: list[Operation], statistic: str) -> None:
        old = old + [v.owner for v in q.operands if isinstance(v.owner, graph.GraphOp)]
        _name_chain(ops, q.result.name_hint)
        rewriter = PatternRewriter(q)
        rewriter.replace(q, ops, [ops[-1].results[0]])
        _erase_dead(old, rewriter)
        record_statistic(self.owner, statistic)


def _remark(op: Operation, message: str) -> None:
    LOG.info("%s: %s", op.name, message)
    from canopy_mlir.tools.diagnostics import collecting_diagnostics, emit_remark

    if collecting_diagnostics():  # only inside a tool run; stay quiet in library use
        emit_remark(op, message)


@dataclass(frozen=True)
class GraphFoldQdq(ModulePass):
    """Fold QDQ / qlinear conv, gemm and matmul patterns into integer ops + requantize."""

    name = "graph-fold-qdq"
    declared_statistics: ClassVar[dict[str, str]] = {
        "folded-conv": "QDQ conv patterns folded to conv_integer + requantize",
        "folded-matmul": "QDQ gemm/matmul patterns folded to matmul_integer + requantize",
        "folded-qlinear-conv": "qlinear_conv ops folded to conv_integer + requantize",
        "folded-qlinear-matmul": "qlinear_matmul ops folded to matmul_integer + requantize",
        "folded-add": "QDQ adds folded to cast + multiply + add + requantize",
        "folded-relu": "QDQ relus folded to an integer clip (or relu + requantize)",
        "folded-pool": "QDQ max / average pools folded to integer pools / depthwise sums",
        "folded-layout": "QDQ reshape / flatten / transpose folded onto the integers",
        "skipped-inexact": "patterns left alone: requantization not within one int8 step",
        "skipped-unsupported": "patterns left alone: unsupported combination",
    }

    multiplier_bits: int = 16
    """Width of the requantization multiplier: 16 (the ALU's immediate) or 32 (host)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        # One sweep over a snapshot (not a greedy fixpoint): each pattern is matched once,
        # so statistics and remarks about skipped patterns are not repeated.
        pattern = FoldQdq(self)
        for candidate in list(op.walk()):
            if candidate.parent is not None and isinstance(candidate, _ROOTS):
                pattern.match_and_rewrite(candidate, PatternRewriter(candidate))


__all__ = ["GraphFoldQdq", "Pattern"]
