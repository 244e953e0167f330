"""``convert-graph-to-tile``: the card ops of a partitioned integer graph to ``tile`` ops.

Input: the integer graph of ``graph-fold-qdq`` with the ``canopy.placement`` attributes
of ``graph-partition`` (without any, the pass raises: run graph-partition first). Ops
placed on the card become *chains*: an anchor op and the elementwise ops after it that
the anchor's ALU tail can compute bit-exactly::

    conv_integer / matmul_integer  ->  tile.conv   (a matmul as a 1x1 conv on N x K x 1 x 1)
    max_pool (i8)                  ->  tile.pool {kind = "max"}
    depthwise conv_integer of ones ->  tile.pool {kind = "sum"}   (graph-fold-qdq's average pool)
    add / mul / requantize / relu / clip / cast on a card value  ->  tile.alu

    followed by, in the tail (docs/tile-dialect.md, ALU tail):
    add, mul (i32) by a scalar constant      -> add/mul by an immediate (or a vector)
    add, mul (i32) by a per-channel constant -> add/mul by a tensor<Cxi32> operand
    add (i32) of a full tensor               -> add by a !tile.act (an i8 value, through its
                                                i8 -> i32 cast: a residual) or !tile.acc operand
    requantize                               -> mul, add 1 << (shift-1), shr, add zero point,
                                                max/min clamp (immediates, or per-channel vectors)
    relu / clip                              -> max/min (merged into the requantize clamp)
    cast i8/ui8 -> i32, cast i32 -> i8/ui8   -> nothing (ACC holds the value either way),
                                                the latter only when the value provably fits

Each chain becomes ``tile.pack`` of its input (and weight), the compute op with the tile
the cost model (:mod:`canopy_mlir.tiling.cost_model`) chooses, and ``tile.unpack`` of
the result. ``canonicalize`` afterwards cancels the unpack/pack pairs between consecutive
card chains.

Bit-exactness: ``graph.add``/``graph.mul`` on i32 wrap at 32 bits like the ALU, but
``graph.requantize`` multiplies exactly in 64 bits. The pass tracks a per-channel range
of every chain value (a conv's from its known weights and int8 inputs, then through
every step) and fuses a requantize only if ``x * multiplier + rounding`` provably stays in
int32; otherwise the requantize stays on the host, with a ``canopy.placement_reason``. So
does every card op the tile ops cannot express (ui8 GEMM inputs, i8 adds that wrap at
8 bits, dilated pools, ...): never a wrong result.

Zero points: weights are centred at compile time; an input zero point ``z`` becomes
``add -z * sum(w[o])`` in the tail. ONNX pads with the zero point, the card with 0: a
padded conv (or sum pool) gets that first ``add`` as a constant full i32 map instead,
``c[o] + z * (sum(w[o]) - S[o, y, x])`` with ``S`` the weights' sum over the in-image
taps of each output pixel (``_zero_point_border``, ``_with_border_map``); the instruction
generator starts the accumulator from it, convert-tile-to-dma places it once. No host pad.

The hardware config is the ``config`` option, else the module's ``tile.config``
attribute, else ``intelfocl``; the pass sets ``tile.config`` on the module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
)
from xdsl.ir import Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from canopy_mlir.dialects import graph, tile
from canopy_mlir.hw import ConfigError, HardwareConfig, load_config
from canopy_mlir.tiling.cost_model import (
    AluLayer,
    ConvLayer,
    PoolLayer,
    Tail,
    TilingError,
    choose_alu_tile,
    choose_conv_tile,
    choose_pool_tile,
)
from canopy_mlir.transforms import record_statistic
from canopy_mlir.transforms.graph_fuse_activations import (
    FusedActivationError,
    get_fused_activation,
)
from canopy_mlir.transforms.graph_partition import (
    CARD,
    HOST,
    PLACEMENT,
    PLACEMENT_REASON,
)

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
IMM_MIN, IMM_MAX = -(1 << 15), (1 << 15) - 1
SHIFT_MAX = 31
ELEMENT_RANGE = {"i8": (-128, 127), "ui8": (0, 255), "i32": (INT32_MIN, INT32_MAX)}
DEFAULT_CONFIG = "intelfocl"


class ConvertGraphToTileError(ValueError):
    """The module cannot be converted at all (no placements, a bad config)."""


class NotOnCard(Exception):
    """This op cannot run on the card as the tile ops stand; the message says why."""


# ------------------------------------------------------------------ small helpers
def _element(value: SSAValue) -> str:
    t = value.type
    if not isinstance(t, TensorType):
        return str(t)
    e = t.element_type
    if isinstance(e, IntegerType):
        unsigned = e.signedness.data == Signedness.UNSIGNED
        return f"{'ui' if unsigned else 'i'}{e.width.data}"
    return str(e)


def _shape(value: SSAValue) -> tuple[int, ...]:
    t = value.type
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def _constant(value: SSAValue | None) -> np.ndarray | None:
    owner = value.owner if value is not None else None
    return owner.value_array() if isinstance(owner, graph.ConstantOp) else None


def _placement(op: Operation) -> str | None:
    attr = op.attributes.get(PLACEMENT)
    return attr.data if isinstance(attr, StringAttr) else None


def _fits_imm(values: np.ndarray) -> bool:
    return bool(values.size) and IMM_MIN <= int(values.min()) and int(values.max()) <= IMM_MAX


def _uniform(values: np.ndarray) -> bool:
    return bool(np.all(values == values.reshape(-1)[0]))


def _wrap32(values: np.ndarray) -> np.ndarray:
    return (np.asarray(values, dtype=object) + (1 << 31)) % (1 << 32) - (1 << 31)


def _ints(values) -> np.ndarray:
    """An object array of exact Python ints."""
    return np.array([int(v) for v in np.asarray(values).reshape(-1)], dtype=object)


# ------------------------------------------------------------------ value ranges
@dataclass
class Range:
    """Per-channel [lo, hi] of a chain value (exact Python ints)."""

    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def of(cls, lo: int, hi: int, channels: int) -> Range:
        return cls(np.full(channels, lo, dtype=object), np.full(channels, hi, dtype=object))

    def wrapped(self) -> Range:
        """After a wrapping int32 op: exact if inside int32, anything otherwise."""
        inside = (self.lo >= INT32_MIN) & (self.hi <= INT32_MAX)
        lo = np.where(inside, self.lo, INT32_MIN).astype(object)
        hi = np.where(inside, self.hi, INT32_MAX).astype(object)
        return Range(lo, hi)

    def within(self, lo: int, hi: int) -> bool:
        return bool(np.all(self.lo >= lo) and np.all(self.hi <= hi))

    def add(self, lo: np.ndarray, hi: np.ndarray) -> Range:
        return Range(self.lo + lo, self.hi + hi).wrapped()

    def mul(self, k_lo: np.ndarray, k_hi: np.ndarray) -> Range:
        corners = [self.lo * k_lo, self.lo * k_hi, self.hi * k_lo, self.hi * k_hi]
        lo = np.minimum.reduce(corners).astype(object)
        hi = np.maximum.reduce(corners).astype(object)
        return Range(lo, hi).wrapped()

    def clamp(self, lo: int, hi: int) -> Range:
        return Range(np.minimum(np.maximum(self.lo, lo), hi).astype(object),
                     np.minimum(np.maximum(self.hi, lo), hi).astype(object))


# ------------------------------------------------------------------ chains
@dataclass
class Operand:
    """A tail operand: a per-channel vector (``vector``), a constant full tensor
    (``tensor``, the result's shape: the input zero-point map) or a full tensor named by
    the op operand it comes from (``source``: earlier chains replace their values while
    rewriting, and the use follows)."""

    vector: np.ndarray | None = None
    source: tuple[Operation, int] | None = None
    tensor: np.ndarray | None = None
    kind: str = "acc"  # full tensors: "act" (i8, BLOCK_OUT) or "acc" (i32)

    @property
    def value(self) -> SSAValue:
        assert self.source is not None
        op, index = self.source
        return op.operands[index]


@dataclass
class Chain:
    """A card anchor op and the elementwise ops fused into its tail."""

    kind: str  # "conv", "pool" or "alu"
    name: str
    source: tuple[Operation, int]  # the op operand feeding the compute op
    ops: list[Operation]
    value: SSAValue  # the graph value the chain currently computes
    element: str  # "i32", "i8" or "ui8"
    channel_axis: int
    tile_shape: tuple[int, int, int, int]  # NCHW of the compute op's result
    range: Range
    steps: list[tile.AluStep] = field(default_factory=list)
    operands: list[Operand] = field(default_factory=list)
    clamp_at: int | None = None  # index of the trailing max/min clamp's first step
    conv: dict = field(default_factory=dict)  # conv: weight array, strides, pads, ...
    pool: dict = field(default_factory=dict)  # pool: kind, kernel, strides, pads
    before: dict = field(default_factory=dict)  # absorbed op -> tail state before it (_truncate)
    border: np.ndarray | None = None  # [C, OH, OW] input zero-point border correction (_zero_point_border)

    def snapshot(self) -> tuple:
        return list(self.steps), list(self.operands), self.element, self.range, self.clamp_at, self.value

    def restore(self, state: tuple) -> None:
        self.steps, self.operands, self.element, self.range, self.clamp_at, self.value = (
            list(state[0]), list(state[1]), *state[2:])

    @property
    def channels(self) -> int:
        return self.tile_shape[1]

    @property
    def input(self) -> SSAValue:
        """The graph value feeding the compute op (looked up: earlier rewrites replace it)."""
        op, index = self.source
        return op.operands[index]

    @property
    def graph_shape(self) -> tuple[int, ...]:
        return _shape(self.value)

    def add_vector(self, opcode: str, values: np.ndarray) -> None:
        """A step by a per-channel vector, or by an immediate when all channels agree.

        Two adds in a row become one (exact: both wrap modulo 2**32), which saves an ALU
        step and, for vectors, an operand (bias + input zero-point correction).
        """
        values = _ints(np.broadcast_to(np.asarray(values, dtype=object), (self.channels,)))
        previous = self._previous_add() if opcode == "add" else None
        if previous is not None:
            self.steps.pop()
            values = _wrap32(values + previous)
        if _uniform(values) and _fits_imm(values.astype(np.int64)):
            self.steps.append(tile.AluStep(opcode, imm=int(values[0])))
        else:
            self.operands.append(Operand(vector=values))
            self.steps.append(tile.AluStep(opcode, operand=len(self.operands) - 1))
        self.clamp_at = None

    def mul_merged(self, values: np.ndarray) -> None:
        """``mul values``, merged into a trailing ``mul`` by an immediate or the last
        per-channel vector (exact: both wrap modulo 2**32); nothing for a mul by 1."""
        values = _ints(np.broadcast_to(np.asarray(values, dtype=object), (self.channels,)))
        step = self.steps[-1] if self.steps else None
        if step is not None and step.opcode == "mul" and step.imm is not None:
            self.steps.pop()
            values = values * step.imm
        elif (step is not None and step.opcode == "mul" and step.operand == len(self.operands) - 1
              and self.operands[-1].vector is not None):
            self.steps.pop()
            values = values * self.operands.pop().vector
        values = _wrap32(values)
        if np.all(values == 1):
            return
        self.add_vector("mul", values)

    def _previous_add(self) -> np.ndarray | None:
        """The values of a trailing ``add`` by an immediate or a per-channel vector (its
        vector operand, used by no other step, is dropped when it is the last one)."""
        if not self.steps or self.steps[-1].opcode != "add":
            return None
        step = self.steps[-1]
        if step.imm is not None:
            return np.full(self.channels, step.imm, dtype=object)
        operand = self.operands[step.operand] if step.operand is not None else None
        if operand is None or operand.vector is None or step.operand != len(self.operands) - 1:
            return None
        self.operands.pop()
        return operand.vector

    def add_clamp(self, lo: int, hi: int) -> None:
        """max lo, min hi; merged into a trailing clamp when the two ranges overlap."""
        if self.clamp_at is not None:
            a, b = self.steps[self.clamp_at].imm, self.steps[self.clamp_at + 1].imm
            assert a is not None and b is not None
            if max(a, lo) <= min(b, hi):
                self.steps[self.clamp_at] = tile.AluStep("max", imm=max(a, lo))
                self.steps[self.clamp_at + 1] = tile.AluStep("min", imm=min(b, hi))
                self.range = self.range.clamp(lo, hi)
                return
        if IMM_MIN <= lo and hi <= IMM_MAX:
            self.steps += [tile.AluStep("max", imm=lo), tile.AluStep("min", imm=hi)]
            self.clamp_at = len(self.steps) - 2
        else:  # an i32 clip: bounds at the int32 extremes change nothing
            if lo > INT32_MIN:
                self.add_vector("max", np.full(self.channels, lo))
            if hi < INT32_MAX:
                self.add_vector("min", np.full(self.channels, hi))
        self.range = self.range.clamp(lo, hi)


def _post_multiply_offset(rounding: np.ndarray, shift: np.ndarray, zero_point: int,
                          exact_lo: np.ndarray, exact_hi: np.ndarray) -> np.ndarray | None:
    """The rounding constant with the output zero point folded in, ``r + (zp << s)``, or
    None when that is not exact.

    ``((v + r + (zp << s)) >> s) == ((v + r) >> s) + zp`` for an arithmetic shift, as
    long as ``v + r + (zp << s)`` stays in int32 (``exact_lo/hi``: the range of
    ``v + r``) and the ALU shifts by ``s`` itself (``s <= SHIFT_MAX``): one ALU step (the
    ``add zp``) fewer.
    """
    if np.any(shift > SHIFT_MAX) or np.any(shift < 0):
        return None
    folded = np.array([(1 << int(s)) * zero_point for s in shift], dtype=object)
    if int((exact_lo + folded).min()) < INT32_MIN or int((exact_hi + folded).max()) > INT32_MAX:
        return None
    return (rounding + folded).astype(object)


def _premultiply(offset: np.ndarray, multiplier: np.ndarray) -> np.ndarray | None:
    """K with ``K * m == offset (mod 2**32)`` per channel, or None if some channel has none.

    Then ``(x + K) * m == x * m + offset (mod 2**32)``: ADD and MUL wrap at 32 bits, so
    they are ring operations modulo 2**32, and when the exact ``x * m + offset`` lies in
    int32 (the requantize's range check) the wrapped value *is* the exact one. So the
    post-multiply add moves before the ``mul``, where it merges with the bias add (one
    ALU step fewer) and, as the tail's first step, the instruction generator can start
    the accumulator from it (a LOAD ACC instead of a reset and an add). A solution
    exists iff ``2**tz(m)`` divides the offset (``tz``: trailing zero bits of ``m``):
    ``K = (offset >> tz) * inverse(m >> tz) mod 2**32``.
    """
    result = []
    for c, m in zip(offset, multiplier):
        c, m = int(c) % (1 << 32), int(m) % (1 << 32)
        if m == 0:
            return None
        tz = (m & -m).bit_length() - 1
        if c % (1 << tz):
            return None
        result.append((c >> tz) * pow(m >> tz, -1, 1 << 32) % (1 << 32))
    return _wrap32(np.array(result, dtype=object))


def _clip_bounds(op: Operation, element: str) -> tuple[int, int]:
    """The integer bounds graph.clip / graph.relu apply."""
    if isinstance(op, graph.ReluOp):
        return _integer_bounds(0.0, math.inf, element)
    props = op.props_dict()
    return _integer_bounds(props["min"], props["max"], element)


def _integer_bounds(lo: float, hi: float, element: str) -> tuple[int, int]:
    """Float clip bounds as an integer clip applies them (graph_reference.clip: rounded
    inward, limited to the element's range)."""
    low, high = ELEMENT_RANGE[element]
    lo, hi = float(lo), float(hi)
    lo_ = max(low, math.ceil(lo)) if lo != -math.inf else low
    hi_ = min(high, math.floor(hi)) if hi != math.inf else high
    return min(lo_, high), max(hi_, low)


# ------------------------------------------------------------------ the converter
@dataclass
class Converter:
    """Builds the chains of one block, then rewrites them into tile ops."""

    config: HardwareConfig
    owner: ModulePass
    chains: list[Chain] = field(default_factory=list)
    open: dict[SSAValue, Chain] = field(default_factory=dict)
    ranges: dict[SSAValue, Range] = field(default_factory=dict)

    # -------------------------------------------------------------- planning
    def plan(self, block: Block) -> None:
        for op in list(block.ops):
            if not isinstance(op, graph.GraphOp) or isinstance(op, graph.ConstantOp):
                continue
            if _placement(op) != CARD:
                continue
            try:
                if not self._absorb_into_open(op):
                    self._anchor(op)
            except NotOnCard as why:
                _to_host(op, str(why))
                record_statistic(self.owner, "left-on-host")

    def _absorb_into_open(self, op: Operation) -> bool:
        # A residual add tries first the chain whose *other* operand is a scaled i8 (that
        # one then enters its tail as an i8 operand, see _scaled_residual).
        values = sorted(op.operands, key=lambda v: not (
            isinstance(op, graph.AddOp) and len(op.operands) == 2
            and _scaled_cast(op.operands[1] if v is op.operands[0] else op.operands[0]) is not None))
        for value in values:
            chain = self.open.get(value)
            if chain is None or not value.has_one_use():
                continue
            try:
                self._absorb(chain, op)
            except NotOnCard:
                self._close(chain)
                return False
            return True
        return False

    def _close(self, chain: Chain) -> None:
        self.open.pop(chain.value, None)

    def _advance(self, chain: Chain, op: Operation) -> None:
        if self.open.get(chain.value) is chain:
            del self.open[chain.value]
        chain.ops.append(op)
        chain.value = op.results[0]
        self.open[chain.value] = chain
        self.ranges[chain.value] = chain.range

    def _range_of(self, value: SSAValue, channels: int) -> Range:
        """A value's known per-channel range (a chain's), or its element type's."""
        known = self.ranges.get(value)
        if known is not None and known.lo.size == channels:
            return known
        if known is not None:
            return Range.of(int(known.lo.min()), int(known.hi.max()), channels)
        lo, hi = ELEMENT_RANGE.get(_element(value), (INT32_MIN, INT32_MAX))
        return Range.of(lo, hi, channels)

    # -------------------------------------------------------------- anchors
    def _anchor(self, op: Operation) -> None:
        if isinstance(op, graph.ConvIntegerOp):
            chain = self._conv_chain(op)
        elif isinstance(op, graph.MatMulIntegerOp):
            chain = self._matmul_chain(op)
        elif isinstance(op, graph.MaxPoolOp | graph.GlobalMaxPoolOp):
            chain = self._max_pool_chain(op)
        elif isinstance(op, graph.AveragePoolOp | graph.GlobalAveragePoolOp):
            raise NotOnCard(f"{op.name}: the integer average pool is not lowered to tile.pool yet")
        else:
            chain = self._alu_chain(op)
        self.chains.append(chain)
        self.open[chain.value] = chain
        self.ranges[chain.value] = chain.range

    def _name(self, op: Operation) -> str:
        hint = op.results[0].name_hint
        return hint or f"{op.name}#{sum(len(c.ops) for c in self.chains)}"

    def _gemm_input(self, value: SSAValue, what: str) -> None:
        if _element(value) != "i8":
            raise NotOnCard(
                f"{what} is {_element(value)}: the GEMM core multiplies signed int8 (a ui8 input "
                f"would need its zero point folded in)"
            )

    def _conv_chain(self, op: graph.ConvIntegerOp) -> Chain:
        self._gemm_input(op.input, "conv_integer input")
        if len(_shape(op.input)) != 4:
            raise NotOnCard(f"conv_integer on a rank-{len(_shape(op.input))} tensor (tile.conv is 2-D)")
        props = op.props_dict()
        weight = _constant(op.weight)
        if weight is None:
            raise NotOnCard("conv_integer weight is not a graph.constant")
        groups = int(props["group"])
        pads = [int(p) for p in props["pads"]]
        weight = _centred_weight(weight, _constant(op.weight_zero_point), op.weight_zero_point, 0)
        x_zp = _scalar_zero_point(op.input_zero_point, "conv_integer input")
        c = _shape(op.input)[1]
        o = weight.shape[0]
        x_range = self._range_of(op.input, c)
        centred = (int(x_range.lo.min()) - x_zp, int(x_range.hi.max()) - x_zp)
        strides, dilations = [int(s) for s in props["strides"]], [int(d) for d in props["dilations"]]
        chain = Chain(
            "conv", self._name(op), (op, 0), [op], op.results[0], "i32", 1, _shape(op.results[0]),  # type: ignore[arg-type]
            _weight_range(weight, centred),
            conv={"weight": weight, "strides": strides, "pads": pads, "dilations": dilations, "groups": groups},
        )
        if groups == c == o and dilations == [1, 1] and np.all(weight == 1):
            # graph-fold-qdq's average pool: a depthwise conv of ones is a window sum, which
            # tile.pool computes without loading (diagonal, mostly zero) weights.
            chain.kind = "pool"
            chain.pool = {"kind": "sum", "kernel": list(weight.shape[2:]), "strides": strides, "pads": pads}
            chain.conv = {}
        if x_zp:
            # conv(x - z) = conv(x) - z * sum(w[o]) when every tap reads x. ONNX pads x with
            # z (so padded taps give 0), the card pads with 0: where taps fall in the
            # padding the per-channel correction over-subtracts; _with_border_map adds
            # that back through a constant per-pixel map when the chain is emitted.
            chain.add_vector("add", _wrap32(-x_zp * weight.reshape(o, -1).astype(object).sum(axis=1)))
            chain.border = _zero_point_border(weight, x_zp, _shape(op.input)[2:], pads, strides,
                                              dilations)
        self._fused_activation(chain, op)
        return chain

    def _matmul_chain(self, op: graph.MatMulIntegerOp) -> Chain:
        self._gemm_input(op.a, "matmul_integer a")
        b = _constant(op.b)
        if b is None or b.ndim != 2:
            raise NotOnCard("matmul_integer b is not a 2-D graph.constant")
        a_shape = _shape(op.a)
        if len(a_shape) < 2:
            raise NotOnCard("matmul_integer a must have rank >= 2")
        weight = _centred_weight(b, _constant(op.b_zero_point), op.b_zero_point, 1)
        weight = np.ascontiguousarray(weight.T).reshape(weight.shape[1], weight.shape[0], 1, 1)
        x_zp = _scalar_zero_point(op.a_zero_point, "matmul_integer a")
        m, k, n = math.prod(a_shape[:-1]), a_shape[-1], weight.shape[0]
        x_range = self._range_of(op.a, k)
        centred = (int(x_range.lo.min()) - x_zp, int(x_range.hi.max()) - x_zp)
        rank = len(_shape(op.results[0]))
        chain = Chain(
            "conv", self._name(op), (op, 0), [op], op.results[0], "i32", rank - 1, (m, n, 1, 1),
            _weight_range(weight, centred),
            conv={"weight": weight, "strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1],
                  "groups": 1, "input_shape": (m, k, 1, 1)},
        )
        if x_zp:
            chain.add_vector("add", _wrap32(-x_zp * weight.reshape(n, -1).astype(object).sum(axis=1)))
        self._fused_activation(chain, op)
        return chain

    def _fused_activation(self, chain: Chain, op: Operation) -> None:
        try:
            fused = get_fused_activation(op)
        except FusedActivationError as error:
            raise NotOnCard(f"unsupported fused activation: {error}") from error
        if fused is None:
            return
        if fused.name == "relu":
            chain.add_clamp(0, INT32_MAX)
        elif fused.name == "clip":
            params = fused.params
            chain.add_clamp(*_integer_bounds(params.get("min", -math.inf), params.get("max", math.inf), "i32"))
        else:
            raise NotOnCard(f"fused activation {fused.name} has no ALU form")

    def _max_pool_chain(self, op: graph.MaxPoolOp | graph.GlobalMaxPoolOp) -> Chain:
        x = op.input
        if _element(x) != "i8":
            raise NotOnCard(f"{op.name} on {_element(x)}: the pool input enters ACC sign-extended (i8 only)")
        if len(_shape(x)) != 4:
            raise NotOnCard(f"{op.name} on a rank-{len(_shape(x))} tensor (tile.pool is 2-D)")
        _, c, h, w = _shape(x)
        if isinstance(op, graph.GlobalMaxPoolOp):
            props = {"kernel_shape": [h, w], "strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1]}
        else:
            props = op.props_dict()
        if any(int(d) != 1 for d in props["dilations"]):
            raise NotOnCard("max_pool with dilations: tile.pool has no dilation")
        kernel = [int(k) for k in props["kernel_shape"]]
        strides = [int(s) for s in props["strides"]]
        pads = [int(p) for p in props["pads"]]
        out = _shape(op.results[0])
        # ceil_mode: pad the end so the floor formula gives the graph's size; padding never wins.
        for d, size in enumerate((h, w)):
            pads[2 + d] = max(pads[2 + d], (out[2 + d] - 1) * strides[d] + kernel[d] - size - pads[d])
        if tile.conv_output_hw((h, w), kernel, strides, pads) != tuple(out[2:]):
            raise NotOnCard(f"max_pool output {list(out[2:])} has no tile.pool padding that gives it")
        chain = Chain(
            "pool", self._name(op), (op, 0), [op], op.results[0], "i8", 1, out,  # type: ignore[arg-type]
            self._range_of(x, c), pool={"kind": "max", "kernel": kernel, "strides": strides, "pads": pads},
        )
        return chain

    def _alu_chain(self, op: Operation) -> Chain:
        """An elementwise op starting a tile.alu on its (first non-constant) input."""
        inputs = [v for v in op.operands if _constant(v) is None]
        if not inputs:
            raise NotOnCard(f"{op.name} has only constant operands (graph-fold-constants folds it)")
        x = inputs[0]
        index = list(op.operands).index(x)
        element, shape = _element(x), _shape(x)
        if element == "ui8":
            raise NotOnCard(f"{op.name} on ui8: ACC operands enter sign-extended (i8 only)")
        if element not in ("i8", "i32"):
            raise NotOnCard(f"{op.name} on {element}: the ALU computes on i8/i32")
        if element == "i32" and self._from_host(x):
            raise NotOnCard(f"{op.name}: i32 input from the host (only i8/ui8 tensors cross to the card)")
        if len(shape) == 4:
            tile_shape = shape
        elif len(shape) == 2:
            tile_shape = (shape[0], shape[1], 1, 1)
        else:
            raise NotOnCard(f"{op.name} on a rank-{len(shape)} tensor: no NCHW view for the ALU")
        chain = Chain(
            "alu", self._name(op), (op, index), [], x, element, 1, tile_shape,  # type: ignore[arg-type]
            self._range_of(x, tile_shape[1]),
        )
        self._absorb(chain, op)
        return chain

    def _from_host(self, value: SSAValue) -> bool:
        if isinstance(value, BlockArgument):
            return True
        owner = value.owner
        return not isinstance(owner, graph.ConstantOp) and value not in self.ranges

    # -------------------------------------------------------------- tail steps
    def _absorb(self, chain: Chain, op: Operation) -> None:
        """Fuse ``op`` (reading ``chain.value``) into the tail, or raise NotOnCard."""
        chain.before[op] = chain.snapshot()
        if isinstance(op, graph.AddOp | graph.MulOp):
            self._binary(chain, op)
        elif isinstance(op, graph.RequantizeOp):
            self._requantize(chain, op)
        elif isinstance(op, graph.ReluOp | graph.ClipOp):
            chain.add_clamp(*_clip_bounds(op, chain.element))
        elif isinstance(op, graph.CastOp):
            self._cast(chain, op)
        else:
            raise NotOnCard(f"{op.name} has no tile lowering")
        self._advance(chain, op)
        record_statistic(self.owner, "fused-ops")

    def _binary(self, chain: Chain, op: Operation) -> None:
        opcode = "add" if isinstance(op, graph.AddOp) else "mul"
        if chain.element != "i32":
            raise NotOnCard(f"{op.name} on {chain.element} wraps at 8 bits; the card keeps only clamped results")
        if _shape(op.results[0]) != chain.graph_shape:
            raise NotOnCard(f"{op.name} broadcasts the chain value to a larger shape")
        if op.operands[0] is op.operands[1]:
            raise NotOnCard(f"{op.name} of a value with itself")
        other_index = 1 if op.operands[0] is chain.value else 0
        other = op.operands[other_index]
        constant = _constant(other)
        if constant is not None:
            vector = self._per_channel(chain, constant)
            if vector is not None:
                vector = _ints(vector)
                chain.add_vector(opcode, vector)
                chain.range = chain.range.add(vector, vector) if opcode == "add" else chain.range.mul(vector, vector)
                return
        if _shape(other) != chain.graph_shape:
            raise NotOnCard(f"{op.name} operand of shape {list(_shape(other))} is neither per-channel nor full")
        if opcode == "add" and self._scaled_residual(chain, other):
            return
        operand, other_range = self._full_operand(chain, op, other_index)
        chain.operands.append(operand)
        chain.steps.append(tile.AluStep(opcode, operand=len(chain.operands) - 1))
        chain.clamp_at = None
        if opcode == "add":
            chain.range = chain.range.add(other_range.lo, other_range.hi)
        else:
            chain.range = chain.range.mul(other_range.lo, other_range.hi)

    def _per_channel(self, chain: Chain, constant: np.ndarray) -> np.ndarray | None:
        """``constant`` as one value per channel if it broadcasts along the channel axis only."""
        rank = len(chain.graph_shape)
        if constant.size == 1:
            return np.full(chain.channels, constant.reshape(-1)[0])
        if constant.ndim > rank:
            return None
        shape = (1,) * (rank - constant.ndim) + constant.shape
        for axis, size in enumerate(shape):
            if axis != chain.channel_axis and size != 1:
                return None
        if shape[chain.channel_axis] != chain.channels:
            return None
        return constant.reshape(-1)

    def _full_operand(self, chain: Chain, op: Operation, index: int) -> tuple[Operand, Range]:
        """A full-tensor operand: the i8 value under an i8 -> i32 cast (a residual; it enters
        ACC sign-extended, which is the cast), or an i32 card value."""
        other = op.operands[index]
        owner = other.owner
        if isinstance(owner, graph.CastOp) and _element(owner.input) == "i8" and _element(other) == "i32":
            self._dissolve(other)
            return Operand(source=(owner, 0), kind="act"), self._range_of(owner.input, chain.channels)
        if _element(other) != "i32":
            raise NotOnCard(f"full-tensor tail operand of element {_element(other)}")
        if self._from_host(other):
            raise NotOnCard("i32 tail operand from the host (only i8/ui8 tensors cross to the card)")
        return Operand(source=(op, index), kind="acc"), self._range_of(other, chain.channels)

    def _scaled_residual(self, chain: Chain, other: SSAValue) -> bool:
        """Add ``other = cast(s: i8 -> i32) * M`` (graph-fold-qdq's scaled residual branch,
        ``M`` a per-channel constant) to the tail with ``s`` as an i8 ``!tile.act``
        operand (LOAD ACC_8BIT) and the multiply by ``M`` done in ACC; False (nothing
        changed) when ``other`` is not of that form.

        The ALU has no ``operand * imm``, so the product is folded into the accumulator.
        ADD and MUL wrap at 32 bits: they are the ring Z/2**32, where ``graph.add`` and
        ``graph.mul`` on i32 compute too (both wrap), so an identity of ring polynomials
        gives bit-identical results whatever the ranges. With ``y`` the accumulator:

        - ``M`` odd (a unit mod 2**32, inverse ``M'``): ``(y * M' + s) * M = y + s * M``.
        - ``M`` even: ``A = M - 1`` is odd (inverse ``A'``), and
          ``(y * A' + s) * A + s = y + s * (A + 1) = y + s * M``; the operand is read by
          two steps (it is loaded once, docs/tile-dialect.md).

        The ``mul M'`` / ``mul A'`` merges with a trailing ``mul`` (the other branch's
        ``mul Ma``: ``y = v * Ma``), muls by 1 are dropped. Channels whose ``M`` differ
        in parity would need two step sequences: not this form. The range is that of the
        graph's ``y + s * M`` (wrapping where it may leave int32, like the graph).
        """
        found = _scaled_cast(other)
        if found is None:
            return False
        cast, mul, constant = found
        multiplier = self._per_channel(chain, constant)
        if multiplier is None:
            return False
        multiplier = _ints(multiplier) % (1 << 32)
        odd = multiplier % 2 == 1
        if not (np.all(odd) or not np.any(odd)):
            return False
        shortcut = self._truncate(cast, mul)
        if shortcut is False:
            return False
        s_range = self._range_of(cast.input, chain.channels)
        scaled = s_range.mul(_wrap32(multiplier), _wrap32(multiplier))
        factor = multiplier if np.all(odd) else (multiplier - 1) % (1 << 32)
        inverse = np.array([pow(int(m), -1, 1 << 32) for m in factor], dtype=object)
        chain.mul_merged(inverse)
        chain.operands.append(Operand(source=(cast, 0), kind="act"))
        index = len(chain.operands) - 1
        chain.steps.append(tile.AluStep("add", operand=index))
        if np.any(factor != 1):
            chain.add_vector("mul", _wrap32(factor))
        if not np.all(odd):
            chain.steps.append(tile.AluStep("add", operand=index))
        chain.clamp_at = None
        chain.range = chain.range.add(scaled.lo, scaled.hi)
        chain.ops += [cast, mul]
        record_statistic(self.owner, "scaled-residuals")
        return True

    def _truncate(self, cast: graph.CastOp, mul: Operation) -> bool:
        """Take ``cast`` and ``mul`` (the last two ops of an open chain, or of no chain:
        host ops cannot be taken) back out of their chain, restoring its tail to what it
        was before them; a chain left without ops is dropped. False when impossible."""
        owner = self.open.get(mul.results[0])
        if owner is None or owner.ops[-2:] != [cast, mul] or cast not in owner.before:
            return False
        del self.open[mul.results[0]]
        owner.restore(owner.before[cast])
        owner.ops = owner.ops[:-2]
        if not owner.ops:
            self.chains.remove(owner)
        return True

    def _dissolve(self, value: SSAValue) -> None:
        """Drop the open chain of a lone cast whose only use becomes a tail operand."""
        chain = self.open.get(value)
        if chain is not None and value.has_one_use() and chain.kind == "alu" and not chain.steps:
            del self.open[value]
            self.chains.remove(chain)

    def _requantize(self, chain: Chain, op: graph.RequantizeOp) -> None:
        if chain.element != "i32":
            raise NotOnCard(f"requantize of an {chain.element} value")
        props = op.props_dict()
        multiplier, shift = _ints(props["multiplier"]), _ints(props["shift"])
        if multiplier.size > 1:
            axis = int(props["axis"]) % len(chain.graph_shape)
            if axis != chain.channel_axis:
                raise NotOnCard(f"requantize per axis {axis}, not the channel axis {chain.channel_axis}")
        channels = chain.channels
        multiplier = np.broadcast_to(multiplier, (channels,)).astype(object)
        shift = np.broadcast_to(shift, (channels,)).astype(object)
        rounding = np.array([(1 << (int(s) - 1)) if s > 0 else 0 for s in shift], dtype=object)
        zero_point = int(props["output_zero_point"])
        exact_lo = np.minimum(chain.range.lo * multiplier, chain.range.hi * multiplier) + rounding
        exact_hi = np.maximum(chain.range.lo * multiplier, chain.range.hi * multiplier) + rounding
        if not (np.all(exact_lo >= INT32_MIN) and np.all(exact_hi <= INT32_MAX)):
            worst = max(abs(int(exact_lo.min())), abs(int(exact_hi.max())))
            raise NotOnCard(
                f"requantize: x * multiplier + rounding can reach {worst} >= 2**31 for the "
                f"accumulator range [{int(chain.range.lo.min())}, {int(chain.range.hi.max())}] "
                f"(the graph multiplies in 64 bits, the ALU wraps at 32)"
            )
        shifted_lo = np.array([int(v) >> int(s) for v, s in zip(exact_lo, shift)], dtype=object)
        shifted_hi = np.array([int(v) >> int(s) for v, s in zip(exact_hi, shift)], dtype=object)
        if int(shifted_lo.min()) + zero_point < INT32_MIN or int(shifted_hi.max()) + zero_point > INT32_MAX:
            raise NotOnCard("requantize: adding the output zero point can leave int32")
        offset = _post_multiply_offset(rounding, shift, zero_point, exact_lo, exact_hi)
        premultiplied = None if offset is None else _premultiply(offset, multiplier)
        if premultiplied is not None:  # add K, mul m, shr s: the fewest ALU steps
            chain.add_vector("add", premultiplied)
            if not np.all(multiplier == 1):
                chain.add_vector("mul", multiplier)
        else:
            if not np.all(multiplier == 1):
                chain.add_vector("mul", multiplier)
            if offset is not None and np.any(offset != 0):
                chain.add_vector("add", offset)
            elif offset is None and np.any(rounding != 0):
                chain.add_vector("add", rounding)
        if np.any(shift != 0):
            chain.add_vector("shr", np.minimum(shift, SHIFT_MAX))
        if zero_point and offset is None:
            chain.add_vector("add", np.full(channels, zero_point))
        element = _element(op.results[0])
        chain.range = Range(shifted_lo + zero_point, shifted_hi + zero_point)
        chain.element = element
        chain.add_clamp(*ELEMENT_RANGE[element])

    def _cast(self, chain: Chain, op: graph.CastOp) -> None:
        to = _element(op.results[0])
        if to == "i32" and chain.element in ("i8", "ui8", "i32"):
            chain.element = "i32"
            return
        if to in ("i8", "ui8") and chain.range.within(*ELEMENT_RANGE[to]):
            chain.element = to
            return
        raise NotOnCard(f"cast {chain.element} -> {to} can wrap (value range not provably inside {to})")

    # -------------------------------------------------------------- rewriting
    def rewrite(self, block: Block) -> None:
        position = {op: index for index, op in enumerate(block.ops)}
        for chain in sorted(self.chains, key=lambda c: position[c.ops[-1]] if c.ops else -1):
            if not chain.ops:
                continue
            new: list[Operation] = []
            try:
                self._emit(chain, new)
            except (TilingError, tile.TileError) as error:
                for op in reversed(new):  # not inserted yet: drop their uses of graph values
                    op.erase(safe_erase=False)
                for op in chain.ops:
                    _to_host(op, f"no tile fits: {error}")
                record_statistic(self.owner, "left-on-host", len(chain.ops))

    def _emit(self, chain: Chain, new: list[Operation]) -> None:
        """Build the chain's pack / compute / unpack ops into ``new``, then insert them
        before the chain's last op, replace its value and erase the fused graph ops."""
        anchor_last = chain.ops[-1]
        if chain.element in ("i8", "ui8") and chain.clamp_at != len(chain.steps) - 2:
            chain.add_clamp(*ELEMENT_RANGE[chain.element])
        if chain.border is not None:
            _with_border_map(chain)
        operands = [self._tail_operand(chain, o, new) for o in chain.operands]
        element = None if chain.element == "i32" else chain.element
        tail = Tail(
            steps=len(chain.steps),
            channel_operands=sum(1 for o in chain.operands if o.vector is not None),
            tensor_operands=sum(1 for o in chain.operands if o.vector is None),
            tensor_operand_bytes=max([1] + [4 for o in chain.operands if o.vector is None and o.kind == "acc"]),
            out_bytes=4 if element is None else 1,
        )
        if chain.kind == "conv":
            compute = self._emit_conv(chain, tail, operands, element, new)
        elif chain.kind == "pool":
            compute = self._emit_pool(chain, tail, operands, element, new)
        else:
            compute = self._emit_alu(chain, tail, operands, element, new)
        new.append(compute)
        unpack = tile.UnpackOp(compute.results[0])
        new.append(unpack)
        result = unpack.result
        if chain.graph_shape != chain.tile_shape:
            reshape = _glue(graph.ReshapeOp.create(result, shape=list(chain.graph_shape)))
            new.append(reshape)
            result = reshape.results[0]
        Rewriter.insert_op(new, InsertPoint.before(anchor_last))
        result.name_hint = chain.value.name_hint
        chain.value.replace_all_uses_with(result)
        dead = [v.owner for op in chain.ops for v in op.operands if isinstance(v.owner, Operation)]
        for op in reversed(chain.ops):
            Rewriter.erase_op(op)
        for owner in dead:
            if owner.parent is not None and not any(r.uses for r in owner.results) and isinstance(owner, graph.ConstantOp | graph.CastOp):
                Rewriter.erase_op(owner)
        record_statistic(self.owner, f"converted-{chain.kind}")

    def _pack(self, value: SSAValue, kind: str, block: str, new: list[Operation], shape: tuple[int, ...] | None = None) -> SSAValue:
        if shape is not None and _shape(value) != tuple(shape):
            reshape = _glue(graph.ReshapeOp.create(value, shape=list(shape)))
            new.append(reshape)
            value = reshape.results[0]
        assert isinstance(value.type, TensorType)
        pack = tile.PackOp(value, tile.blocked_type_for(kind, value.type, self.config, block=block))
        new.append(pack)
        return pack.result

    def _tail_operand(self, chain: Chain, operand: Operand, new: list[Operation]) -> SSAValue:
        if operand.vector is not None:
            constant = graph.ConstantOp.from_array(np.array([int(v) for v in operand.vector], dtype=np.int64).astype(np.int32))
            new.append(constant)
            return constant.results[0]
        if operand.tensor is not None:
            constant = graph.ConstantOp.from_array(operand.tensor.astype(np.int64).astype(np.int32))
            new.append(constant)
            return self._pack(constant.results[0], "acc", "out", new)
        assert operand.value is not None
        return self._pack(operand.value, operand.kind, "out", new, chain.tile_shape)

    def _emit_conv(self, chain: Chain, tail: Tail, operands: list[SSAValue], element: str | None,
                   new: list[Operation]) -> Operation:
        spec = chain.conv
        weight = spec["weight"]
        x = self._pack(chain.input, "act", "in", new, spec.get("input_shape"))
        assert isinstance(x.type, tile.ActType)
        w_const = graph.ConstantOp.from_array(weight.astype(np.int8))
        new.append(w_const)
        w_type = tile.WgtType.for_tensor(weight.shape, tile.i8, (self.config.block_out, self.config.block_in), spec["groups"])
        w_pack = tile.PackOp(w_const.results[0], w_type)
        new.append(w_pack)
        n, c, h, w = x.type.tensor_shape
        o, _, kh, kw = weight.shape
        layer = ConvLayer(chain.name, n, c, h, w, o, kh, kw, tuple(spec["strides"]), tuple(spec["pads"]),  # type: ignore[arg-type]
                          tuple(spec["dilations"]), spec["groups"], tail)  # type: ignore[arg-type]
        choice = choose_conv_tile(layer, self.config)
        return tile.ConvOp(
            x, w_pack.result, strides=spec["strides"], pads=spec["pads"], dilations=spec["dilations"],
            groups=spec["groups"], tile=choice.tile, buffers=choice.buffers, tail=chain.steps,
            tail_operands=operands, result_element=element,
        )

    def _emit_pool(self, chain: Chain, tail: Tail, operands: list[SSAValue], element: str | None,
                   new: list[Operation]) -> Operation:
        spec = chain.pool
        x = self._pack(chain.input, "act", "out", new)
        assert isinstance(x.type, tile.ActType)
        n, c, h, w = x.type.tensor_shape
        layer = PoolLayer(chain.name, n, c, h, w, spec["kernel"][0], spec["kernel"][1], tuple(spec["strides"]),  # type: ignore[arg-type]
                          tuple(spec["pads"]), 1, tail)  # type: ignore[arg-type]
        choice = choose_pool_tile(layer, self.config)
        return tile.PoolOp(
            x, kind=spec["kind"], kernel=spec["kernel"], strides=spec["strides"], pads=spec["pads"],
            tile=choice.tile, buffers=choice.buffers, tail=chain.steps, tail_operands=operands,
            result_element=element,
        )

    def _emit_alu(self, chain: Chain, tail: Tail, operands: list[SSAValue], element: str | None,
                  new: list[Operation]) -> Operation:
        in_element = _element(chain.input)
        kind = "act" if in_element == "i8" else "acc"
        x = self._pack(chain.input, kind, "out", new, chain.tile_shape)
        if not chain.steps:
            chain.steps.append(tile.AluStep("add", imm=0))
            tail = Tail(1, tail.channel_operands, tail.tensor_operands, tail.tensor_operand_bytes, tail.out_bytes)
        n, c, h, w = chain.tile_shape
        layer = AluLayer(chain.name, n, c, h, w, 1 if kind == "act" else 4, tail)
        choice = choose_alu_tile(layer, self.config)
        return tile.AluOp(x, tile=choice.tile, buffers=choice.buffers, tail=chain.steps,
                          tail_operands=operands, result_element=element)


# ------------------------------------------------------------------ helpers
def _zero_point_border(weight: np.ndarray, zero_point: int, in_hw: tuple[int, ...],
                       pads: list[int], strides: list[int], dilations: list[int]) -> np.ndarray | None:
    """``z * (sum(w[o]) - S[o, y, x])`` per output pixel, or None where it is 0 everywhere.

    ``S[o, y, x]``: the sum of the (centred) weights ``w[o]`` over the taps of output
    ``(y, x)`` that read the image (the conv of an all-ones image, zero-padded). ONNX pads
    the input with ``z``, so a padded tap gives ``z - z = 0``; the card pads with 0 and
    its tail subtracts ``z * sum(w[o])``, i.e. ``z`` once too often per padded tap: this
    is what to add back. Grouped / depthwise, strided and dilated convs alike (the sum
    runs over each output channel's own input channels).
    """
    o, _, kh, kw = weight.shape
    taps = weight.astype(np.int64).sum(axis=1)  # [O, KH, KW]
    out_hw = tile.conv_output_hw(in_hw, (kh, kw), strides, pads, dilations)

    def inside(size: int, k: int, stride: int, pad: int, dilation: int, out: int) -> np.ndarray:
        position = np.arange(out)[None, :] * stride - pad + np.arange(k)[:, None] * dilation
        return ((position >= 0) & (position < size)).astype(np.int64)  # [K, OUT]

    rows = inside(in_hw[0], kh, strides[0], pads[0], dilations[0], out_hw[0])
    cols = inside(in_hw[1], kw, strides[1], pads[1], dilations[1], out_hw[1])
    outside = taps.sum(axis=(1, 2))[:, None, None] - np.einsum("okl,ky,lx->oyx", taps, rows, cols)
    if not np.any(outside):
        return None
    return outside.astype(object) * zero_point


def _with_border_map(chain: Chain) -> None:
    """Replace the chain's first step, the ``add`` of the per-channel constants (input
    zero-point correction, bias, rounding: ``Chain.add_vector`` merged them), by an
    ``add`` of a full i32 constant: those constants plus ``chain.border`` per pixel,
    broadcast over the batch.

    Exact: the card's accumulator then holds, modulo 2**32 like every ALU add, the
    graph's value of the conv of the zero-point-padded input, whose range the chain
    already tracks (centred input, padding contributing 0). The instruction generator
    starts the accumulator from the map (tile_init_loads), at the cycles of today's
    bias broadcast; the map is a ``dma.constant``, placed once.
    """
    step = chain.steps[0]
    assert step.opcode == "add", "the zero-point correction is the chain's first step"
    if step.imm is not None:
        values, index = np.full(chain.channels, step.imm, dtype=object), len(chain.operands)
        chain.operands.append(Operand())
    else:
        assert step.operand is not None
        vector = chain.operands[step.operand].vector
        assert vector is not None
        values, index = vector, step.operand
    assert chain.border is not None
    per_pixel = _wrap32(values[:, None, None] + chain.border)
    chain.operands[index] = Operand(tensor=np.broadcast_to(per_pixel, chain.tile_shape))
    chain.steps[0] = tile.AluStep("add", operand=index)
    chain.border = None


def _scaled_cast(value: SSAValue) -> tuple[graph.CastOp, Operation, np.ndarray] | None:
    """(cast, mul, M) when ``value = mul(cast(s: i8 -> i32), M)`` with a constant ``M``
    and both ops used once (graph-fold-qdq's scaled residual branch), else None."""
    mul = value.owner
    if not isinstance(mul, graph.MulOp) or not value.has_one_use() or _placement(mul) != CARD:
        return None
    for index in (0, 1):
        cast, constant = mul.operands[index].owner, _constant(mul.operands[1 - index])
        if (isinstance(cast, graph.CastOp) and constant is not None and cast.results[0].has_one_use()
                and _placement(cast) == CARD and _element(cast.input) == "i8"
                and _element(cast.results[0]) == "i32"):
            return cast, mul, constant
    return None


def _to_host(op: Operation, reason: str) -> None:
    op.attributes[PLACEMENT] = StringAttr(HOST)
    op.attributes[PLACEMENT_REASON] = StringAttr(reason)


def _glue(op: Operation, why: str = "a matmul as a 1x1 conv") -> Operation:
    """A reshape / pad the lowering adds: layout glue on the host."""
    op.attributes[PLACEMENT] = StringAttr(HOST)
    op.attributes[PLACEMENT_REASON] = StringAttr(f"layout glue ({why})")
    return op


def _scalar_zero_point(value: SSAValue | None, what: str) -> int:
    if value is None:
        return 0
    array = _constant(value)
    if array is None or array.size != 1:
        raise NotOnCard(f"{what} zero point is not a scalar graph.constant")
    return int(array.reshape(-1)[0])


def _centred_weight(weight: np.ndarray, zero_point: np.ndarray | None, zp_value: SSAValue | None,
                    channel_axis: int) -> np.ndarray:
    """``weight - zero_point`` as int8 (NotOnCard if it does not fit)."""
    if zp_value is not None and zero_point is None:
        raise NotOnCard("weight zero point is not a graph.constant")
    centred = weight.astype(np.int64)
    if zero_point is not None and np.any(zero_point != 0):
        zp = zero_point.astype(np.int64).reshape(-1)
        if zp.size > 1:
            shape = [1] * weight.ndim
            shape[channel_axis] = zp.size
            zp = zp.reshape(shape)
        centred = centred - zp
    if centred.min(initial=0) < -128 or centred.max(initial=0) > 127:
        raise NotOnCard("weight minus its zero point does not fit int8")
    return centred.astype(np.int8)


def _weight_range(weight: np.ndarray, x_range: tuple[int, int]) -> Range:
    """Per-output-channel exact range of ``sum w * x`` over inputs in ``x_range`` (zero
    padding contributes 0, inside the range when it contains 0)."""
    lo_x, hi_x = min(x_range[0], 0), max(x_range[1], 0)
    w = weight.reshape(weight.shape[0], -1).astype(np.int64)
    lo = np.minimum(w * lo_x, w * hi_x).sum(axis=1)
    hi = np.maximum(w * lo_x, w * hi_x).sum(axis=1)
    return Range(_ints(lo), _ints(hi)).wrapped()


def _functions(module: ModuleOp) -> list[Block]:
    return [op.body.blocks[0] for op in module.walk() if isinstance(op, func.FuncOp) and op.body.blocks]


def resolve_config(option: str, module: ModuleOp) -> tuple[str, HardwareConfig]:
    """The config spec and config: the option, else the module's tile.config, else intelfocl."""
    attr = module.attributes.get(tile.CONFIG_ATTR)
    if option:
        spec = option
    elif isinstance(attr, StringAttr):
        spec = attr.data
    elif attr is not None:
        raise ConvertGraphToTileError(f"'{tile.CONFIG_ATTR}' on the module must be a string, got {attr}")
    else:
        spec = DEFAULT_CONFIG
    try:
        return spec, load_config(spec)
    except ConfigError as error:
        raise ConvertGraphToTileError(f"convert-graph-to-tile: {error}") from error


@dataclass(frozen=True)
class ConvertGraphToTile(ModulePass):
    """Lower card-placed graph chains to tile.pack / conv / pool / alu / unpack."""

    name = "convert-graph-to-tile"
    declared_statistics: ClassVar[dict[str, str]] = {
        "converted-conv": "tile.conv ops emitted (conv_integer / matmul_integer chains)",
        "converted-pool": "tile.pool ops emitted",
        "converted-alu": "tile.alu ops emitted",
        "fused-ops": "graph ops fused into a compute op's ALU tail",
        "left-on-host": "card ops moved to the host (placement_reason says why)",
    }

    config: str = ""
    """Hardware config (preset or VTA JSON); empty: the module's tile.config, else intelfocl."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        spec, config = resolve_config(self.config, op)
        placed = [o for o in op.walk() if isinstance(o, graph.GraphOp) and PLACEMENT in o.attributes]
        if not placed:
            raise ConvertGraphToTileError(
                "convert-graph-to-tile: no op has a 'canopy.placement' attribute; run graph-partition first"
            )
        op.attributes[tile.CONFIG_ATTR] = StringAttr(spec)
        for block in _functions(op):
            converter = Converter(config, self)
            converter.plan(block)
            converter.rewrite(block)


__all__ = ["ConvertGraphToTile", "ConvertGraphToTileError", "NotOnCard", "resolve_config"]
