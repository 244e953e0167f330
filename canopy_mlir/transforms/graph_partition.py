"""``graph-partition``: decide per graph op whether it runs on the card or on the host.

The decision is written into the IR as *discardable* attributes, so the program and its
results do not change (the interpreter ignores them)::

    %acc = graph.conv_integer %x, %w ... attributes {canopy.placement = "card"}
    %p = graph.softmax %y attributes {canopy.placement = "host",
                                       canopy.placement_reason = "softmax: exp/div have no ALU op"}

Card candidates are the integer form that ``graph-fold-qdq`` produces and the core can
compute: ``conv_integer`` (grouped/depthwise too) and ``matmul_integer`` (the GEMM core,
optionally with a ``fused_activation`` the ALU finishes), ``add`` on i32/i8, ``requantize``
whose multipliers fit the ALU's immediate, ``cast`` i8 -> i32 (LOAD ACC_8BIT), ``mul`` of
i32 by a constant that fits the immediate, integer ``relu``/``clip``, ``max_pool`` on
i8/ui8, and integer ``average_pool``/``global_average_pool`` over a power-of-two window
(sum by ADD, divide by SHR). Everything else stays on the host, with a reason: float ops,
softmax, layout glue (reshape/transpose/flatten/concat/pad), the quantize/dequantize
boundaries.

First-conv rule (data-driven from the HardwareConfig): a conv whose input comes from the
host (a function argument or a host op) and whose input channels fill less than
``first-conv-min-utilisation`` of the BLOCK_IN-wide GEMM core (``C / (ceil(C / BLOCK_IN)
* BLOCK_IN)``, e.g. 3 RGB channels on a 16-wide core: 0.19) stays on the host: the
padded channels would waste most of the core and the input must cross to the card
anyway. ``first-conv-min-channels`` (>= 0) overrides the threshold with a channel count.
A card candidate reading an i32 tensor made on the host (the bias add / requantize of a
host conv) stays on the host too: only i8/ui8 tensors cross from host to card.

Card islands: a connected group of card ops doing fewer than ``island-min-macs`` (default
1) multiply-accumulates, e.g. a lone integer relu between two host ops, goes back to the
host: its ALU work is not worth two PCIe crossings (reason "card island of N ops...").

Constants are left unmarked: they are data, placed with the ops that use them by the
lowering (a weight goes to the card with its conv, a bias with its add).

Crossings: a tensor made on one side and read on the other crosses PCIe once per run
(function arguments and results live on the host; constants are placed once and do not
count). The report and the statistics give their number and bytes per direction.

:func:`partition_report` reads the attributes back into a :class:`PartitionReport` (ops
and conv/matmul MACs per side, the card's share of MACs); the pass records the same
numbers as statistics (``canopy-opt -p graph-partition --mlir-pass-statistics``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerType, ModuleOp, StringAttr, TensorType
from xdsl.ir import Attribute, Block, BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass

from canopy_mlir.dialects import graph
from canopy_mlir.hw import HardwareConfig, load_config
from canopy_mlir.isa_format import ALU_IMM_BITS
from canopy_mlir.transforms import record_statistic
from canopy_mlir.transforms.graph_fuse_activations import (
    FusedActivationError,
    get_fused_activation,
)

PLACEMENT = "canopy.placement"
"""Discardable attribute: ``"card"`` or ``"host"``."""

PLACEMENT_REASON = "canopy.placement_reason"
"""Discardable attribute on host ops: why the op is not on the card."""

CARD, HOST = "card", "host"

_LAYOUT_GLUE = (graph.ReshapeOp, graph.TransposeOp, graph.FlattenOp, graph.ConcatOp, graph.PadOp)
_BOUNDARY = (graph.QuantizeLinearOp, graph.DequantizeLinearOp)


class PartitionError(ValueError):
    """A module the report cannot read (an op without placement, a bad attribute)."""


# ------------------------------------------------------------------ types and MACs
def _element(value: SSAValue) -> Attribute | None:
    t = value.type
    return t.element_type if isinstance(t, TensorType) else None


def _is_integer(value: SSAValue) -> bool:
    return isinstance(_element(value), IntegerType)


def _element_name(value: SSAValue) -> str:
    return str(_element(value))


def _shape(value: SSAValue) -> tuple[int, ...]:
    t = value.type
    return tuple(t.get_shape()) if isinstance(t, TensorType) else ()


def op_macs(op: Operation) -> int:
    """Multiply-accumulates of a conv / gemm / matmul (float or integer) from its shapes; 0 otherwise.

    conv: every output element sums ``C/group * prod(kernel)`` products; matmul: every
    output element sums K products (K = the last dimension of ``a``).
    """
    if isinstance(op, graph.ConvOp | graph.ConvIntegerOp | graph.QLinearConvOp):
        weight = _shape(op.weight)  # M x C/group x kernel...
        return math.prod(_shape(op.result)) * math.prod(weight[1:])
    if isinstance(op, graph.MatMulOp | graph.MatMulIntegerOp | graph.QLinearMatMulOp):
        a = op.aligned_operands()[0]
        return math.prod(_shape(op.result)) * _shape(a)[-1]
    if isinstance(op, graph.GemmOp):
        a = _shape(op.a)
        k = a[0] if op.props_dict()["trans_a"] else a[1]
        return math.prod(_shape(op.result)) * k
    return 0


# ------------------------------------------------------------------ the decision
@dataclass(frozen=True)
class Placement:
    """Where one op runs and, for the host, why."""

    side: str
    reason: str | None = None


def _host(reason: str) -> Placement:
    return Placement(HOST, reason)


def core_utilisation(channels: int, config: HardwareConfig) -> float:
    """Share of the BLOCK_IN-wide GEMM input lanes ``channels`` fills once padded to blocks."""
    blocks = max(1, math.ceil(channels / config.block_in))
    return channels / (blocks * config.block_in)


@dataclass(frozen=True)
class Partitioner:
    """The placement rules for one hardware config and first-conv threshold."""

    config: HardwareConfig
    first_conv_min_utilisation: float = 0.25
    first_conv_min_channels: int = -1
    placements: dict[int, str] = field(default_factory=dict)

    def decide(self, op: Operation) -> Placement:
        """The placement of ``op``; ops it feeds from must have been decided first."""
        if any(not _is_integer(v) for v in (*op.operands, *op.results)):
            return self._float_op(op)
        placement = self._decide_integer(op)
        if placement.side == CARD:
            return self._accumulator_from_host(op) or placement
        return placement

    def _decide_integer(self, op: Operation) -> Placement:
        if isinstance(op, graph.ConvIntegerOp):
            return self._signed_input(op.input) or self._fused(op) or self._first_conv(op) or Placement(CARD)
        if isinstance(op, graph.MatMulIntegerOp):
            return self._signed_input(op.a) or self._fused(op) or Placement(CARD)
        if isinstance(op, graph.AddOp):
            if _element_name(op.lhs) in ("i32", "i8"):
                return Placement(CARD)
            return _host(f"add on {_element_name(op.lhs)}: the ALU adds i32/i8 only")
        if isinstance(op, graph.RequantizeOp):
            return self._requantize(op)
        if isinstance(op, graph.CastOp):
            return self._cast(op)
        if isinstance(op, graph.MulOp):
            return self._multiply(op)
        if isinstance(op, graph.ReluOp | graph.ClipOp):
            return Placement(CARD)
        if isinstance(op, graph.MaxPoolOp):
            return Placement(CARD)
        if isinstance(op, graph.AveragePoolOp):
            return self._average(op.props_dict()["kernel_shape"], op)
        if isinstance(op, graph.GlobalAveragePoolOp):
            return self._average(_shape(op.input)[2:], op)
        return self._other(op)

    @staticmethod
    def _signed_input(value: SSAValue) -> Placement | None:
        """Host for a ui8 GEMM input: the core multiplies signed int8 by int8."""
        if _element_name(value) == "ui8":
            return _host("ui8 input: the GEMM core multiplies signed int8 (quantize activations symmetric, as int8)")
        return None

    def _accumulator_from_host(self, op: Operation) -> Placement | None:
        """Host for an op reading an i32 tensor a host op made (a host conv's bias add,
        requantize): i32 crosses the bus at 4x the bytes of the i8 result, so the
        epilogue stays with its producer and only i8/ui8 tensors go to the card."""
        for value in op.operands:
            owner = value.owner
            if (
                _element_name(value) == "i32"
                and isinstance(owner, Operation)
                and not isinstance(owner, graph.ConstantOp)
                and self.placements.get(id(owner)) == HOST
            ):
                return _host(f"i32 input from host op {owner.name} (epilogue stays with its producer)")
        return None

    def _float_op(self, op: Operation) -> Placement:
        if isinstance(op, graph.SoftmaxOp):
            return _host("softmax: exp/div have no ALU op")
        if isinstance(op, _BOUNDARY):
            return _host("quantization boundary (float <-> integer)")
        if isinstance(op, _LAYOUT_GLUE):
            return _host("layout glue")
        if isinstance(op, graph.QLinearConvOp | graph.QLinearMatMulOp):
            # Integer data with float scales: only graph-fold-qdq's integer form has a
            # card lowering, and its remark says why it left this one alone.
            return _host(f"{op.name} not folded to integer ops by graph-fold-qdq (its remark says why)")
        return _host("float op: the core computes integers only")

    def _other(self, op: Operation) -> Placement:
        if isinstance(op, _LAYOUT_GLUE):
            return _host("layout glue")
        return _host(f"{op.name} on {_element_name(op.operands[0]) if op.operands else 'no input'}: no card lowering")

    def _fused(self, op: Operation) -> Placement | None:
        try:
            get_fused_activation(op)
        except FusedActivationError as err:
            return _host(f"unsupported fused activation: {err}")
        return None

    def _first_conv(self, op: graph.ConvIntegerOp) -> Placement | None:
        """Host for an entry conv (input from the host) whose channels fill too little of BLOCK_IN."""
        source = op.input
        if not isinstance(source, BlockArgument) and self.placements.get(id(source.owner)) == CARD:
            return None
        channels = _shape(op.input)[1]
        block_in = self.config.block_in
        if self.first_conv_min_channels >= 0:
            if channels < self.first_conv_min_channels:
                return _host(
                    f"first conv: {channels} input channels < first-conv-min-channels "
                    f"{self.first_conv_min_channels} (BLOCK_IN {block_in})"
                )
            return None
        utilisation = core_utilisation(channels, self.config)
        if utilisation < self.first_conv_min_utilisation:
            return _host(
                f"first conv: {channels} input channels use {utilisation:.2f} of BLOCK_IN {block_in} "
                f"(< {self.first_conv_min_utilisation:g})"
            )
        return None

    def _requantize(self, op: graph.RequantizeOp) -> Placement:
        low, high = -(1 << (ALU_IMM_BITS - 1)), (1 << (ALU_IMM_BITS - 1)) - 1
        multipliers = op.props_dict()["multiplier"]
        if any(not low <= m <= high for m in multipliers):
            return _host(f"requantize multiplier does not fit the ALU's {ALU_IMM_BITS}-bit immediate")
        return Placement(CARD)

    def _cast(self, op: graph.CastOp) -> Placement:
        """i8 -> i32 is how an int8 tensor enters ACC (LOAD ACC_8BIT sign-extends)."""
        source, target = _element_name(op.input), _element_name(op.result)
        if (source, target) == ("i8", "i32"):
            return Placement(CARD)
        return _host(f"cast {source} -> {target}: the card widens i8 -> i32 only (LOAD ACC_8BIT sign-extends)")

    def _multiply(self, op: graph.MulOp) -> Placement:
        """i32 times a constant whose values fit the ALU's immediate (ALU MUL)."""
        if _element_name(op.result) != "i32":
            return _host(f"mul on {_element_name(op.result)}: the ALU multiplies i32 accumulators only")
        constants = [v.owner for v in op.operands if isinstance(v.owner, graph.ConstantOp)]
        if not constants:
            return _host("mul of two runtime tensors: the ALU multiplies by an immediate or a per-channel vector")
        low, high = -(1 << (ALU_IMM_BITS - 1)), (1 << (ALU_IMM_BITS - 1)) - 1
        values = constants[0].value_array()
        if values.size and not (low <= int(values.min()) and int(values.max()) <= high):
            return _host(f"mul by a constant outside the ALU's {ALU_IMM_BITS}-bit immediate")
        return Placement(CARD)

    def _average(self, window: tuple[int, ...] | list[int], op: Operation) -> Placement:
        size = math.prod(window)
        if size & (size - 1) == 0:
            return Placement(CARD)
        return _host(f"{op.name} window of {size} elements is not a power of two (ALU divides by SHR)")


def _card_islands(ops: list[Operation], placements: dict[int, str]) -> list[list[Operation]]:
    """The connected components of card ops (edges: a card op reading a card op's result)."""
    parent = {id(op): id(op) for op in ops if placements.get(id(op)) == CARD}

    def root(key: int) -> int:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for op in ops:
        if id(op) not in parent:
            continue
        for value in op.operands:
            owner = value.owner
            if isinstance(owner, Operation) and id(owner) in parent:
                parent[root(id(owner))] = root(id(op))
    islands: dict[int, list[Operation]] = {}
    for op in ops:
        if id(op) in parent:
            islands.setdefault(root(id(op)), []).append(op)
    return list(islands.values())


def _demote_small_islands(ops: list[Operation], placements: dict[int, Placement], min_macs: int) -> None:
    """Move card islands with fewer than ``min_macs`` MACs to the host (in ``placements``)."""
    sides = {key: p.side for key, p in placements.items()}
    for island in _card_islands(ops, sides):
        macs = sum(op_macs(op) for op in island)
        if macs >= min_macs:
            continue
        reason = (
            f"card island of {len(island)} op(s) with {macs} MACs (< island-min-macs {min_macs}): "
            "ALU work alone is not worth the PCIe crossings"
        )
        for op in island:
            placements[id(op)] = _host(reason)


def _graph_ops(module: ModuleOp) -> Iterator[Operation]:
    """The graph ops of ``module`` in program order, constants excepted."""
    for op in module.walk():
        if isinstance(op, graph.GraphOp) and not isinstance(op, graph.ConstantOp):
            yield op


# ------------------------------------------------------------------ the pass
@dataclass(frozen=True)
class GraphPartition(ModulePass):
    """Mark every graph op (constants excepted) ``canopy.placement = "card"`` or ``"host"``."""

    name = "graph-partition"
    declared_statistics: ClassVar[dict[str, str]] = {
        "ops-on-card": "graph ops placed on the card",
        "ops-on-host": "graph ops placed on the host",
        "macs-on-card": "conv/matmul multiply-accumulates on the card",
        "macs-on-host": "conv/matmul multiply-accumulates on the host",
        "crossings-host-to-card": "tensors sent over PCIe to the card per run",
        "crossings-card-to-host": "tensors read back over PCIe per run",
        "bytes-host-to-card": "bytes sent to the card per run",
        "bytes-card-to-host": "bytes read back per run",
    }

    config: str = "intelfocl"
    """Hardware config: a preset name or a VTA-style JSON file (canopy_mlir.hw.load_config)."""

    first_conv_min_utilisation: float = 0.25
    """An entry conv filling less than this share of BLOCK_IN stays on the host."""

    first_conv_min_channels: int = -1
    """If >= 0: an entry conv with fewer input channels stays on the host (overrides utilisation)."""

    island_min_macs: int = 1
    """A connected group of card ops with fewer MACs than this goes back to the host."""

    report: str = ""
    """Write the partition report to this file after the pass ("-" for stderr)."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        partitioner = Partitioner(load_config(self.config), self.first_conv_min_utilisation, self.first_conv_min_channels)
        ops = list(_graph_ops(op))
        decided: dict[int, Placement] = {}
        for candidate in ops:
            decided[id(candidate)] = partitioner.decide(candidate)
            partitioner.placements[id(candidate)] = decided[id(candidate)].side
        _demote_small_islands(ops, decided, self.island_min_macs)
        for candidate in ops:
            _mark(candidate, decided[id(candidate)])
            record_statistic(self, f"ops-on-{decided[id(candidate)].side}")
            record_statistic(self, f"macs-on-{decided[id(candidate)].side}", op_macs(candidate))
        report = partition_report(op)
        for direction, (count, size) in report.crossings.items():
            record_statistic(self, f"crossings-{direction}", count)
            record_statistic(self, f"bytes-{direction}", size)
        self._write_report(report)

    def _write_report(self, report: PartitionReport) -> None:
        if not self.report:
            return
        if self.report == "-":
            print(report, file=sys.stderr)
            return
        with open(self.report, "w") as handle:
            handle.write(f"{report}\n")


def _mark(op: Operation, placement: Placement) -> None:
    op.attributes[PLACEMENT] = StringAttr(placement.side)
    if placement.reason is None:
        op.attributes.pop(PLACEMENT_REASON, None)
    else:
        op.attributes[PLACEMENT_REASON] = StringAttr(placement.reason)


# ------------------------------------------------------------------ the report
@dataclass(frozen=True)
class PlacedOp:
    """One op of the report."""

    name: str
    side: str
    reason: str | None
    macs: int


HOST_TO_CARD, CARD_TO_HOST = "host-to-card", "card-to-host"


@dataclass(frozen=True)
class PartitionReport:
    """Ops and MACs per side of a partitioned module, and the tensors crossing PCIe."""

    ops: tuple[PlacedOp, ...]
    crossings: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per direction (``host-to-card``, ``card-to-host``): (tensors, bytes) per run."""

    def count(self, side: str) -> int:
        return sum(1 for o in self.ops if o.side == side)

    def macs(self, side: str) -> int:
        return sum(o.macs for o in self.ops if o.side == side)

    @property
    def card_mac_share(self) -> float:
        """Share of all MACs on the card (0.0 when the module has no MACs)."""
        total = self.macs(CARD) + self.macs(HOST)
        return self.macs(CARD) / total if total else 0.0

    def __str__(self) -> str:
        lines = [
            f"card: {self.count(CARD)} ops, {self.macs(CARD)} MACs",
            f"host: {self.count(HOST)} ops, {self.macs(HOST)} MACs",
            f"card share of MACs: {self.card_mac_share:.1%}",
        ]
        lines += [
            f"{direction}: {count} tensors, {size} bytes per run"
            for direction, (count, size) in self.crossings.items()
        ]
        lines += [f"  {o.side:4} {o.name}" + (f" ({o.reason})" if o.reason else "") for o in self.ops]
        return "\n".join(lines)


def partition_report(module: ModuleOp) -> PartitionReport:
    """Read the placements of a module that ran ``graph-partition``."""
    placed = []
    for op in _graph_ops(module):
        side = op.attributes.get(PLACEMENT)
        if not isinstance(side, StringAttr) or side.data not in (CARD, HOST):
            raise PartitionError(f"{op.name}: no valid {PLACEMENT} attribute ({side}); run graph-partition first")
        reason = op.attributes.get(PLACEMENT_REASON)
        placed.append(PlacedOp(op.name, side.data, reason.data if isinstance(reason, StringAttr) else None, op_macs(op)))
    return PartitionReport(tuple(placed), _crossings(module))


def _side_of_producer(value: SSAValue) -> str | None:
    """Where ``value`` is made: host for arguments, the op's placement, None for constants."""
    owner = value.owner
    if isinstance(owner, Block):
        return HOST
    if isinstance(owner, graph.ConstantOp):
        return None
    side = owner.attributes.get(PLACEMENT)
    return side.data if isinstance(side, StringAttr) else HOST


def _side_of_consumer(op: Operation) -> str:
    """Where ``op`` reads its operands: its placement; host for anything unplaced (return)."""
    side = op.attributes.get(PLACEMENT)
    return side.data if isinstance(side, StringAttr) else HOST


def _tensor_bytes(value: SSAValue) -> int:
    t = value.type
    if not isinstance(t, TensorType):
        return 0
    width = t.element_type.bitwidth if hasattr(t.element_type, "bitwidth") else 32
    return math.prod(t.get_shape()) * max(1, width // 8)


def _crossings(module: ModuleOp) -> dict[str, tuple[int, int]]:
    """(tensors, bytes) crossing per direction: each value counted once per direction."""
    seen: dict[str, dict[int, int]] = {HOST_TO_CARD: {}, CARD_TO_HOST: {}}
    for op in module.walk():
        if isinstance(op, ModuleOp) or op.parent_op() is None:
            continue
        consumer = _side_of_consumer(op)
        for value in op.operands:
            producer = _side_of_producer(value)
            if producer is None or producer == consumer:
                continue
            direction = HOST_TO_CARD if producer == HOST else CARD_TO_HOST
            seen[direction][id(value)] = _tensor_bytes(value)
    return {direction: (len(values), sum(values.values())) for direction, values in seen.items()}


__all__ = [
    "PLACEMENT", "PLACEMENT_REASON", "GraphPartition", "PartitionError", "PartitionReport",
    "Partitioner", "Placement", "core_utilisation", "op_macs", "partition_report",
]
