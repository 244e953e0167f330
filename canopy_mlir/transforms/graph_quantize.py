"""``graph-quantize``: post-training quantization of a float graph into the core's integer form.

A float model has no quantization parameters, so this pass makes them the way
onnxruntime's ``quantize_static`` does, then reuses ``graph-fold-qdq``:

1. **Plan** which ops to quantize: conv, gemm, matmul (constant weights), add, max /
   average / global pools, relu, and reshape / flatten / transpose of a quantized tensor.
   A relu or clip that is the only use of a conv / gemm / matmul / add is absorbed into
   its output (quantized after the activation, as onnxruntime does). Everything else stays
   in float on the host; a ``float-<op>`` statistic counts each such op.
2. **Calibrate**: run the float function through the reference interpreter on the
   calibration inputs (``calibration=<file.npz>``, or ``calibration-random=N`` normal
   samples with ``seed``) and record each quantized tensor's range (``method=minmax`` or
   ``percentile`` with ``percentile=99.99``). Activations become int8 with zero point 0
   (``symmetric=true``, the default and the card's natural form) or uint8 asymmetric;
   layout ops and max pools keep their input's parameters (so they fold exactly).
3. **Insert** ``quantize_linear -> dequantize_linear`` on every planned tensor (all its
   uses read the dequantized value), weights as ``dequantize_linear`` of an int8 constant
   (symmetric, per output channel with ``per-channel=true``), and conv / gemm biases as
   ``dequantize_linear`` of an int32 constant with scale ``x_scale * w_scale``.
4. **Fold** with :class:`GraphFoldQdq` (same ``multiplier-bits``): the result is the same
   integer form as for a model quantized by onnxruntime.

Errors in the options or the calibration data raise :class:`GraphQuantizeError` (a
:class:`~canopy_mlir.quantization.calibration.CalibrationError` for the data) naming what
is wrong; an op that cannot be quantized is not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, TensorType, f32
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass

from canopy_mlir.dialects import graph
from canopy_mlir.quantization.calibration import (
    CalibrationError,
    QuantParams,
    RangeObserver,
    activation_params,
    input_specs,
    load_calibration,
    observe_values,
    quantize_weight,
    random_calibration,
    weight_params,
)
from canopy_mlir.transforms import record_statistic
from canopy_mlir.transforms.graph_fold_qdq import GraphFoldQdq


class GraphQuantizeError(CalibrationError):
    """graph-quantize cannot run: missing or conflicting options, unusable calibration data."""


_ACTIVATIONS = (graph.ReluOp, graph.ClipOp)
_SHARED_PARAMS = (graph.MaxPoolOp, graph.GlobalMaxPoolOp, graph.ReshapeOp, graph.FlattenOp, graph.TransposeOp)
_QUANT_OPS = (graph.QuantizeLinearOp, graph.DequantizeLinearOp, graph.ConstantOp)


def _constant(value: SSAValue | None) -> np.ndarray | None:
    owner = value.owner if value is not None else None
    return owner.value_array() if isinstance(owner, graph.ConstantOp) else None


def _is_float_tensor(value: SSAValue) -> bool:
    return isinstance(value.type, TensorType) and value.type.element_type == f32


# ------------------------------------------------------------------ planning
@dataclass
class Plan:
    """What to quantize in one function.

    ``tensors``: float values to quantize, in program order; ``shared``: value -> the
    value whose parameters it reuses; ``weights``: (op, kind) of each conv / gemm / matmul;
    ``anchors``: statistic name per quantized op.
    """

    tensors: list[SSAValue] = field(default_factory=list)
    shared: dict[SSAValue, SSAValue] = field(default_factory=dict)
    weights: list[Operation] = field(default_factory=list)
    anchors: list[str] = field(default_factory=list)

    def add(self, value: SSAValue, like: SSAValue | None = None) -> None:
        if value not in self.tensors:
            self.tensors.append(value)
            if like is not None:
                self.shared[value] = like


def _weighted(op: Operation) -> bool:
    """A conv / gemm / matmul whose weight (and bias) are float constants fold-qdq takes."""
    if isinstance(op, graph.ConvOp):
        return _constant(op.weight) is not None and (op.bias is None or _constant(op.bias) is not None)
    if isinstance(op, graph.GemmOp):
        props = op.props_dict()
        if props["trans_a"] or props["alpha"] != 1.0 or (op.c is not None and props["beta"] != 1.0):
            return False
        c = _constant(op.c)
        c_ok = op.c is None or (c is not None and (c.ndim <= 1 or c.shape[0] == 1))
        return _constant(op.b) is not None and c_ok
    if isinstance(op, graph.MatMulOp):
        b = _constant(op.b)
        return b is not None and b.ndim == 2 and len(op.a.type.get_shape()) >= 2  # type: ignore[attr-defined]
    return False


def _output_of(op: Operation, absorbed: set[Operation]) -> SSAValue:
    """The op's result, or that of a relu / clip that is its only use (absorbed)."""
    result = op.results[0]
    if result.has_one_use():
        user = result.first_use.operation  # type: ignore[union-attr]
        if isinstance(user, _ACTIVATIONS) and _is_float_tensor(user.results[0]):
            absorbed.add(user)
            return user.results[0]
    return result


def _average_pool_ok(op: Operation) -> bool:
    if isinstance(op, graph.GlobalAveragePoolOp):
        return True
    assert isinstance(op, graph.AveragePoolOp)
    props = op.props_dict()
    if any(props["pads"]) and not props["count_include_pad"]:
        return False
    floor = graph.AveragePoolOp.infer_result_type([op.input.type], **{**props, "ceil_mode": 0})
    return floor == op.result.type


def plan_function(function: func.FuncOp) -> Plan:
    """Which tensors, weights and ops of ``function`` to quantize (see the module docs)."""
    plan = Plan()
    absorbed: set[Operation] = set()
    for op in function.body.walk():
        if not isinstance(op, graph.GraphOp) or isinstance(op, _QUANT_OPS) or op in absorbed:
            continue
        if not op.operands or not all(_is_float_tensor(v) for v in op.results):
            continue
        first = op.operands[0]
        if _weighted(op):
            plan.add(first)
            plan.add(_output_of(op, absorbed))
            plan.weights.append(op)
            plan.anchors.append(f"quantized-{op.name.removeprefix('graph.')}")
        elif isinstance(op, graph.AddOp) and all(_constant(v) is None for v in op.operands):
            plan.add(op.lhs)
            plan.add(op.rhs)
            plan.add(_output_of(op, absorbed))
            plan.anchors.append("quantized-add")
        elif isinstance(op, graph.AveragePoolOp | graph.GlobalAveragePoolOp) and _average_pool_ok(op):
            plan.add(first)
            plan.add(op.results[0])
            plan.anchors.append("quantized-pool")
        elif isinstance(op, graph.MaxPoolOp | graph.GlobalMaxPoolOp):
            plan.add(first)
            plan.add(op.results[0], like=first)
            plan.anchors.append("quantized-pool")
        elif isinstance(op, graph.ReluOp):
            plan.add(first)
            plan.add(op.results[0])
            plan.anchors.append("quantized-relu")
        elif isinstance(op, _SHARED_PARAMS) and first in plan.tensors:
            plan.add(op.results[0], like=first)
            plan.anchors.append("quantized-layout")
    return plan


# ------------------------------------------------------------------ inserting
def _const(array: np.ndarray, name: str | None) -> graph.ConstantOp:
    op = graph.ConstantOp.from_array(np.array(array, order="C"))
    if name:
        op.result.name_hint = name
    return op


def _insert_qdq(value: SSAValue, params: QuantParams) -> None:
    """``value`` -> Q -> DQ right after its definition; every other use reads the DQ."""
    hint = value.name_hint
    scale = _const(params.scale, f"{hint}_scale" if hint else None)
    zero_point = _const(params.zero_point, f"{hint}_zero_point" if hint else None)
    q = graph.QuantizeLinearOp.create(value, scale, zero_point)
    dq = graph.DequantizeLinearOp.create(q, scale, zero_point)
    if hint:
        # The quantized value takes the name: graph-fold-qdq names the integer ops after it.
        q.result.name_hint, dq.result.name_hint = hint, f"{hint}_dequantized"
    ops = [scale, zero_point, q, dq]
    if isinstance(value, BlockArgument):
        block = value.block
        assert isinstance(block, Block) and block.first_op is not None
        block.insert_ops_before(ops, block.first_op)
    else:
        owner = value.owner
        assert isinstance(owner, Operation) and owner.parent_block() is not None
        owner.parent_block().insert_ops_after(ops, owner)  # type: ignore[union-attr]
    value.replace_uses_with_if(dq.result, lambda use: use.operation is not q)


def _weight_axis(op: Operation) -> int:
    if isinstance(op, graph.ConvOp):
        return 0
    if isinstance(op, graph.GemmOp):
        return 0 if op.props_dict()["trans_b"] else 1
    return 1


def _quantize_weights(op: Operation, x_params: QuantParams, per_channel: bool) -> None:
    """Replace the weight (and conv / gemm bias) operand by DQ of int8 (int32) constants."""
    index = 1  # conv weight, gemm b, matmul b
    weight_value = op.operands[index]
    weight = _constant(weight_value)
    assert weight is not None
    axis = _weight_axis(op) if per_channel else None
    params = weight_params(weight, axis)
    hint = weight_value.name_hint or f"{op.results[0].name_hint or 'w'}_weight"
    q_const = _const(quantize_weight(weight, params, axis), f"{hint}_quantized")
    scale = _const(params.scale, f"{hint}_scale")
    zero_point = _const(params.zero_point, f"{hint}_zero_point")
    dq = graph.DequantizeLinearOp.create(q_const, scale, zero_point, axis=axis or 0)
    dq.result.name_hint = f"{hint}_dequantized"
    new_ops: list[Operation] = [q_const, scale, zero_point, dq]
    op.operands[index] = dq.result
    bias_value = op.operands[2] if len(op.operands) > 2 else None
    bias = _constant(bias_value)
    if bias is not None and bias.size > 1:
        channels = weight.shape[_weight_axis(op)]
        if bias.reshape(-1).size == channels:
            bias_scale = (np.float32(x_params.scale) * params.scale.astype(np.float32)).astype(np.float32)
            bias_scale = np.broadcast_to(bias_scale.reshape(-1), (channels,)).astype(np.float32)
            bias_q = np.clip(np.rint(bias.reshape(-1).astype(np.float64) / bias_scale), -(2**31), 2**31 - 1)
            b_hint = bias_value.name_hint or f"{hint}_bias"  # type: ignore[union-attr]
            b_const = _const(bias_q.astype(np.int32), f"{b_hint}_quantized")
            b_scale = _const(bias_scale, f"{b_hint}_scale")
            b_dq = graph.DequantizeLinearOp.create(b_const, b_scale, axis=0)
            b_dq.result.name_hint = f"{b_hint}_dequantized"
            if b_dq.result.type == bias_value.type:  # type: ignore[union-attr]
                new_ops += [b_const, b_scale, b_dq]
                op.operands[2] = b_dq.result
    block = op.parent_block()
    assert block is not None
    block.insert_ops_before(new_ops, op)
    for old in {weight_value.owner, bias_value.owner if bias_value is not None else None}:
        if isinstance(old, graph.ConstantOp) and not old.result.uses:  # replaced, not shared
            old.parent_block().erase_op(old)  # type: ignore[union-attr]


# ------------------------------------------------------------------ the pass
@dataclass(frozen=True)
class GraphQuantize(ModulePass):
    """Post-training quantization of float conv / gemm / matmul / add / pools into the
    integer form of graph-fold-qdq, calibrated on an .npz or on random inputs."""

    name = "graph-quantize"
    declared_statistics: ClassVar[dict[str, str]] = {
        "calibration-samples": "calibration samples run through the float graph",
        "quantized-tensors": "tensors given a quantize / dequantize pair",
        "quantized-conv": "convs quantized",
        "quantized-gemm": "gemms quantized",
        "quantized-matmul": "matmuls quantized",
        "quantized-add": "adds quantized",
        "quantized-pool": "max / average pools quantized",
        "quantized-relu": "standalone relus quantized",
        "quantized-layout": "reshape / flatten / transpose of quantized tensors",
    }

    calibration: str = ""
    """Path of an .npz with one array per function input (named like it)."""
    calibration_random: int = 0
    """Instead of a file: this many standard-normal inputs (smoke tests)."""
    seed: int = 0
    """Seed of calibration-random."""
    method: str = "minmax"
    """Range per tensor: ``minmax`` or ``percentile``."""
    percentile: float = 99.99
    """With method=percentile: the upper percentile kept (the lower is 100 - it)."""
    per_channel: bool = True
    """Weights: one scale per output channel (else per tensor)."""
    symmetric: bool = True
    """Activations: int8 with zero point 0 (else uint8 asymmetric)."""
    multiplier_bits: int = 16
    """Requantization multiplier width, as graph-fold-qdq."""

    def _check_options(self) -> None:
        if not self.calibration and self.calibration_random <= 0:
            raise GraphQuantizeError(
                "graph-quantize needs calibration inputs: give calibration=<file.npz> "
                "or calibration-random=<N> (N random inputs, for smoke tests)"
            )
        if self.calibration and self.calibration_random:
            raise GraphQuantizeError("graph-quantize: give either calibration or calibration-random, not both")
        RangeObserver(self.method, self.percentile)  # validates method / percentile

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        self._check_options()
        for function in [f for f in op.ops if isinstance(f, func.FuncOp) and f.body.blocks]:
            self._quantize_function(op, function)
        fold = GraphFoldQdq(multiplier_bits=self.multiplier_bits)
        fold.apply(ctx, op)
        for leftover in op.walk():
            if isinstance(leftover, graph.GraphOp) and not isinstance(leftover, _QUANT_OPS):
                if any(_is_float_tensor(r) for r in leftover.results):
                    record_statistic(self, f"float-{leftover.name.removeprefix('graph.')}")

    def _samples(self, function: func.FuncOp) -> list[dict[str, np.ndarray]]:
        specs = input_specs(function)
        if self.calibration:
            return load_calibration(self.calibration, specs)
        return random_calibration(specs, self.calibration_random, self.seed)

    def _quantize_function(self, module: ModuleOp, function: func.FuncOp) -> None:
        plan = plan_function(function)
        if not plan.tensors:
            return
        samples = self._samples(function)
        record_statistic(self, "calibration-samples", len(samples))
        own = [v for v in plan.tensors if v not in plan.shared]
        observers = {v: RangeObserver(self.method, self.percentile, self.seed) for v in own}
        for arrays in observe_values(module, function, own, samples):
            for value, array in zip(own, arrays, strict=True):
                observers[value].observe(array)
        params: dict[SSAValue, QuantParams] = {}
        for value in plan.tensors:
            if value in plan.shared:
                params[value] = params[plan.shared[value]]
            else:
                params[value] = activation_params(*observers[value].range(), self.symmetric)
        for weighted in plan.weights:
            _quantize_weights(weighted, params[weighted.operands[0]], self.per_channel)
        for value in plan.tensors:
            _insert_qdq(value, params[value])
        record_statistic(self, "quantized-tensors", len(plan.tensors))
        for anchor in plan.anchors:
            record_statistic(self, anchor)


__all__ = ["GraphQuantize", "GraphQuantizeError", "Plan", "plan_function"]
