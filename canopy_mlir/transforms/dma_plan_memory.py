"""``dma-plan-memory``: give every device buffer of a dma-level function its pool offset.

The card has one memory pool (canopy_mlir.runtime.card); a dma-level function lays all
its buffers out in it at offsets chosen here, so the executor needs one pool allocation
and the instruction streams can hold absolute DRAM addresses.

* ``dma.constant`` buffers (weights, micro-ops, instructions) are live for the whole
  function and are placed first, in program order, each at the lowest free offset
  aligned for it: one read-only image at the bottom of the pool, written once at load
  time and never overlapped by an activation.
* ``dma.alloc`` buffers are live from their alloc to their last use; a ``dma.launch``
  keeps its operands live until the ``dma.wait`` of its token (the launch is
  asynchronous). Buffers whose lifetimes do not overlap may share pool space.
  Placement is the *greedy by size* heuristic of Pisarchyk & Lee, "Efficient Memory
  Management for Deep Neural Net Inference" (2020), also TFLite's arena planner: largest
  buffer first, each at the lowest offset (rounded up to its alignment) that does not
  overlap a time-overlapping buffer placed before it.

The peak (the end of the highest buffer) is recorded as the ``peak-bytes`` statistic
with the lower bound no placement can beat (``lower-bound-bytes``: the most bytes live
at any one op), and is set as the function's ``dma.pool_bytes`` attribute. With
``card-memory=BYTES`` (0: no limit) a peak above the limit is an error naming the peak,
the limit and the largest buffers live at the peak.

The analysis also rejects an order the card cannot honour: a launch whose token is
never waited, and a buffer used while a launch that writes it (or reads it, for a
write) is still in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, i64
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from canopy_mlir.dialects import dma
from canopy_mlir.tools.diagnostics import OpError
from canopy_mlir.transforms import record_statistic

POOL_BYTES_ATTR = "dma.pool_bytes"
"""Discardable function attribute: the pool size the planned function needs (its peak)."""


# ------------------------------------------------------------------ the algorithm
@dataclass(frozen=True)
class BufferRequest:
    """A buffer to place: ``size`` bytes aligned to ``align``, live over ops [start, end].

    ``pinned`` buffers (constants) are placed first, in order, before any other.
    """

    size: int
    align: int
    start: int
    end: int
    pinned: bool = False

    def overlaps_in_time(self, other: BufferRequest) -> bool:
        return self.start <= other.end and other.start <= self.end


def align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _lowest_fit(size: int, align: int, taken: list[tuple[int, int]]) -> int:
    """The lowest ``align``-aligned offset where ``size`` bytes avoid every taken range."""
    candidate = 0
    for begin, end in sorted(taken):
        if align_up(candidate, align) + size <= begin:
            break
        candidate = max(candidate, end)
    return align_up(candidate, align)


def plan_offsets(requests: Sequence[BufferRequest]) -> list[int]:
    """Offsets for ``requests`` (same order): pinned first in order, then greedy by size."""
    order = [i for i, r in enumerate(requests) if r.pinned]
    rest = [i for i, r in enumerate(requests) if not r.pinned]
    order += sorted(rest, key=lambda i: (-requests[i].size, requests[i].start, i))
    offsets: list[int | None] = [None] * len(requests)
    placed: list[int] = []
    for index in order:
        request = requests[index]
        taken = [(offsets[j], offsets[j] + requests[j].size) for j in placed  # type: ignore[operator]
                 if requests[j].overlaps_in_time(request)]
        offsets[index] = _lowest_fit(request.size, request.align, taken)  # type: ignore[arg-type]
        placed.append(index)
    return [int(o) for o in offsets]  # type: ignore[arg-type]


def peak_bytes(requests: Sequence[BufferRequest], offsets: Sequence[int]) -> int:
    return max((o + r.size for r, o in zip(requests, offsets)), default=0)


def live_bytes_at(requests: Sequence[BufferRequest], time: int) -> int:
    return sum(r.size for r in requests if r.start <= time <= r.end)


def lower_bound_bytes(requests: Sequence[BufferRequest]) -> int:
    """The most bytes live at one time: no placement can use a smaller pool."""
    return max((live_bytes_at(requests, r.start) for r in requests), default=0)


# ------------------------------------------------------------------ the IR
@dataclass
class Lifetime:
    """One buffer of a function and the ops (indices in the body) over which it is live."""

    op: dma.AllocOp | dma.ConstantOp
    start: int
    end: int
    position: int
    """Index of the op in the body (a constant's lifetime starts before it, at 0)."""

    @property
    def value(self) -> SSAValue:
        return self.op.result

    @property
    def label(self) -> str:
        hint = self.value.name_hint
        return f"%{hint}" if hint else f"the {self.op.name} at op #{self.position}"

    def request(self) -> BufferRequest:
        return BufferRequest(self.op.nbytes, self.op.align, self.start, self.end,
                             isinstance(self.op, dma.ConstantOp))


class DmaPlanError(OpError):
    """A dma-level function whose buffers cannot be planned (or do not fit the card)."""


def _top_level(op: Operation, body: Operation) -> Operation:
    """The ancestor of ``op`` that is an op of the function body ``body`` belongs to."""
    while op.parent_op() is not body:
        parent = op.parent_op()
        if parent is None:
            return op
        op = parent
    return op


def function_lifetimes(func: FuncOp) -> list[Lifetime]:
    """The lifetime of every buffer of ``func``; raises :class:`DmaPlanError` on bad order."""
    blocks = list(func.body.blocks)
    if len(blocks) != 1:
        raise DmaPlanError(func, f"dma-plan-memory: @{func.sym_name.data} must have one block "
                                 f"(straight-line code), it has {len(blocks)}")
    ops = list(blocks[0].ops)
    index = {op: i for i, op in enumerate(ops)}
    waits = _wait_indices(func, ops, index)
    lifetimes = []
    for i, op in enumerate(ops):
        if isinstance(op, dma.AllocOp | dma.ConstantOp):
            end = i
            for use in op.result.uses:
                user = _top_level(use.operation, func)
                if not isinstance(user, dma.LaunchOp | dma.CopyToCardOp | dma.CopyToHostOp):
                    raise DmaPlanError(user, f"dma-plan-memory: a !dma.buffer may only be used by "
                                             f"dma copies and launches, not by '{user.name}'")
                end = max(end, waits.get(user, index[user]))
            if isinstance(op, dma.ConstantOp):
                # Written at load time and kept across runs: live over the whole function.
                lifetimes.append(Lifetime(op, 0, len(ops), i))
            else:
                lifetimes.append(Lifetime(op, i, end, i))
        elif any(isinstance(o, dma.AllocOp | dma.ConstantOp | dma.LaunchOp)
                 for o in op.walk() if o is not op):
            raise DmaPlanError(op, "dma-plan-memory: dma buffers and launches must be at the top "
                                   "level of the function, not inside a region")
    _check_in_flight(ops, waits, index)
    return lifetimes


def _wait_indices(func: FuncOp, ops: list[Operation], index: dict[Operation, int]) -> dict[Operation, int]:
    """Each launch -> the index of its first wait; a launch never waited is an error."""
    waits: dict[Operation, int] = {}
    for op in ops:
        if not isinstance(op, dma.LaunchOp):
            continue
        found = [index[_top_level(u.operation, func)] for u in op.token.uses
                 if isinstance(u.operation, dma.WaitOp)]
        if not found:
            raise DmaPlanError(op, "dma-plan-memory: the launch's token is never waited "
                                   "(add dma.wait before its buffers are used or freed)")
        waits[op] = min(found)
    return waits


def _check_in_flight(ops: list[Operation], waits: dict[Operation, int], index: dict[Operation, int]) -> None:
    """No op touches a buffer a launch in flight writes, nor writes one it reads."""
    for launch, wait in waits.items():
        assert isinstance(launch, dma.LaunchOp)
        written = set(launch.writes)
        used = set(launch.buffers())
        for op in ops[index[launch] + 1:wait]:
            for value, writes in _buffer_accesses(op):
                if value in written or (writes and value in used):
                    name = f"%{value.name_hint}" if value.name_hint else "a buffer"
                    raise DmaPlanError(
                        op, f"dma-plan-memory: '{op.name}' uses {name} while the dma.launch at "
                            f"op #{index[launch]} that {'writes' if value in written else 'reads'} "
                            f"it is in flight (dma.wait its token first)")


def _buffer_accesses(op: Operation) -> list[tuple[SSAValue, bool]]:
    """(buffer, whether written) for each buffer ``op`` touches."""
    if isinstance(op, dma.CopyToCardOp):
        return [(op.buffer, True)]
    if isinstance(op, dma.CopyToHostOp):
        return [(op.buffer, False)]
    if isinstance(op, dma.LaunchOp):
        return [(v, False) for v in (op.instructions, op.uops, *op.reads)] + [(v, True) for v in op.writes]
    return []


@dataclass(frozen=True)
class FunctionPlan:
    """The placement of one function's buffers."""

    lifetimes: list[Lifetime]
    offsets: list[int]
    peak: int
    lower_bound: int

    @property
    def requests(self) -> list[BufferRequest]:
        return [lt.request() for lt in self.lifetimes]


def plan_function(func: FuncOp) -> FunctionPlan:
    """Place ``func``'s buffers (does not change the IR)."""
    lifetimes = function_lifetimes(func)
    requests = [lt.request() for lt in lifetimes]
    offsets = plan_offsets(requests)
    return FunctionPlan(lifetimes, offsets, peak_bytes(requests, offsets), lower_bound_bytes(requests))


def over_budget_message(func: FuncOp, plan: FunctionPlan, limit: int) -> str:
    """Peak, limit, and the largest buffers live at the peak (biggest first)."""
    requests = plan.requests
    top = max(range(len(requests)), key=lambda i: plan.offsets[i] + requests[i].size)
    span = range(requests[top].start, requests[top].end + 1)
    time = max(span, key=lambda t: live_bytes_at(requests, t))
    live = sorted((lt for lt, r in zip(plan.lifetimes, requests) if r.start <= time <= r.end),
                  key=lambda lt: -lt.op.nbytes)
    listing = ", ".join(f"{lt.label} ({lt.op.nbytes} bytes, {lt.op.kind.data})" for lt in live[:3])
    return (f"dma-plan-memory: @{func.sym_name.data} needs a {plan.peak}-byte pool but "
            f"card-memory is {limit} bytes; largest buffers live at the peak (op #{time}): {listing}")


@dataclass(frozen=True)
class DmaPlanMemory(ModulePass):
    """Give every dma.alloc / dma.constant an offset in the card's pool (see the module doc)."""

    name = "dma-plan-memory"
    card_memory: int = 0
    """The card's pool size in bytes; 0: no limit."""

    declared_statistics: ClassVar[dict[str, str]] = {
        "peak-bytes": "pool bytes the planned functions need (largest function)",
        "lower-bound-bytes": "most bytes live at one op (largest function)",
        "constant-bytes": "bytes of dma.constant buffers",
        "activation-bytes": "bytes of dma.alloc buffers, before reuse",
        "buffers-placed": "buffers given an offset",
    }

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.card_memory < 0:
            raise DmaPlanError(op, f"dma-plan-memory: card-memory must be >= 0, got {self.card_memory}")
        peak = lower = 0
        for func in op.walk():
            if not isinstance(func, FuncOp) or func.is_declaration:
                continue
            if not any(isinstance(o, dma.AllocOp | dma.ConstantOp) for o in func.walk()):
                continue
            plan = plan_function(func)
            if self.card_memory and plan.peak > self.card_memory:
                raise DmaPlanError(func, over_budget_message(func, plan, self.card_memory))
            for lifetime, offset in zip(plan.lifetimes, plan.offsets):
                lifetime.op.set_offset(offset)
                is_constant = isinstance(lifetime.op, dma.ConstantOp)
                record_statistic(self, "constant-bytes" if is_constant else "activation-bytes",
                                 lifetime.op.nbytes)
            func.attributes[POOL_BYTES_ATTR] = IntegerAttr(plan.peak, i64)
            record_statistic(self, "buffers-placed", len(plan.lifetimes))
            peak, lower = max(peak, plan.peak), max(lower, plan.lower_bound)
        record_statistic(self, "peak-bytes", peak)
        record_statistic(self, "lower-bound-bytes", lower)
