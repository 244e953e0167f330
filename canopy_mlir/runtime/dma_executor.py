"""Run a planned dma-level function on a card (simulator or OpenCL core).

    program = DmaProgram(module, card)        # one pool region, constants written once
    outputs = program.run([x])                # host ops, copies, launches; may repeat
    outputs = run_dma(module, [x], card)      # both at once

The function must have been through ``dma-plan-memory``: every buffer has an offset in
one pool region of ``dma.pool_bytes`` bytes (the planner's peak). Instruction streams
address the pool by absolute element index, so the region must start at pool offset 0
of the card (a fresh card); a function without launches may live anywhere.

Host ops (``graph`` / ``tile`` / ``func``) run through the graph and tile interpreters'
reference functions; the dma ops drive the card:

* ``dma.constant``: its bytes are written once, by :meth:`DmaProgram.load`;
* ``dma.copy_to_card`` / ``dma.copy_to_host``: host <-> card byte copies;
* ``dma.launch``: ``card.run`` of the instruction range, after checking that every
  LOAD / STORE of it stays inside the buffers the launch lists (uops, reads, writes):
  the planner reuses space by those lists, so an unlisted access would read or clobber
  another buffer silently;
* ``dma.wait``: the card runs a launch to completion, so it only retires the token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.dialects.func import FuncOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Attribute, SSAValue

from canopy_mlir.dialects import dma, tile
from canopy_mlir.hw import INSN_BYTES
from canopy_mlir.interpreters import graph_interpreter, tile_interpreter
from canopy_mlir.isa_format import LoadInsn, MemoryType, StoreInsn
from canopy_mlir.isa_semantics import BYTE_PLANES, dram_byte_range, join_byte_planes
from canopy_mlir.runtime.card import Card, CardError, DeviceBuffer
from canopy_mlir.runtime.token_checker import ProgramView, TokenReport, check_tokens
from canopy_mlir.tools.diagnostics import OpError
from canopy_mlir.transforms.dma_plan_memory import function_lifetimes


class DmaExecutionError(RuntimeError):
    """A dma-level function that cannot run: unplanned, bad inputs, or a failing launch."""


@dataclass(frozen=True)
class PlacedBuffer:
    """A buffer at run time: where it lies in the pool (absolute bytes) and what it is."""

    label: str
    offset: int
    nbytes: int
    kind: str

    @property
    def end(self) -> int:
        return self.offset + self.nbytes


@dataclass
class LaunchToken:
    """A launch that ran (the card finishes a launch before returning)."""

    first: int
    count: int
    waited: bool = False


@dataclass
class ExecutionStats:
    """What a program did on the card (the tests check reuse and the write-once rule)."""

    constant_writes: int = 0
    bytes_to_card: int = 0
    bytes_to_host: int = 0
    launches: int = 0
    instructions: int = 0
    launch_ranges: list[tuple[int, int]] = field(default_factory=list)


def _label(value: SSAValue) -> str:
    return f"%{value.name_hint}" if value.name_hint else f"a {value.owner.name} buffer"  # type: ignore[union-attr]


def _host_layout(type_: Attribute) -> tuple[tuple[int, ...], np.dtype]:
    if isinstance(type_, tile.BlockedType):
        return tile_interpreter.blocked_shape_dtype(type_)
    if isinstance(type_, TensorType):
        return tuple(type_.get_shape()), graph_interpreter.element_dtype(type_.element_type)
    raise DmaExecutionError(f"no host layout for values of type {type_}")


def _find_function(module: ModuleOp, name: str) -> FuncOp:
    try:
        return graph_interpreter._find_function(module, name)  # pyright: ignore[reportPrivateUsage]
    except graph_interpreter.GraphInterpreterError as error:
        raise DmaExecutionError(str(error)) from None


# ------------------------------------------------------------------ the program
class DmaProgram:
    """A planned dma function loaded on a card: pool region allocated, constants written."""

    def __init__(self, module: ModuleOp, card: Card, function: str = "main"):
        self.module, self.card = module, card
        self.function = _find_function(module, function)
        self._check_config()
        self.stats = ExecutionStats()
        self._buffers = self._check_plan()
        self.pool_bytes = max((b.end for b in self._buffers.values()), default=0)
        self.region: DeviceBuffer | None = None
        self._footprints_checked: dict[dma.LaunchOp, list] = {}
        """Per launch, the decoded program whose footprint was checked (the card hands
        back the same list until the program's bytes change)."""
        self.load()

    # ------------------------------------------------------------- plan
    def _check_config(self) -> None:
        """The card is the config the function was compiled for (its ``tile.config``).

        Instruction encodings and element sizes differ between configs, so a mismatch
        would at best fail to decode and at worst compute something else.
        """
        try:
            wanted = tile.config_of(self.function)
        except tile.TileError as error:
            raise DmaExecutionError(str(error)) from None
        if wanted is not None and wanted != self.card.config:
            raise DmaExecutionError(
                f"@{self.function.sym_name.data} was compiled for config '{wanted.name}' but runs "
                f"on a {self.card.describe()}"
            )

    def _check_plan(self) -> dict[SSAValue, PlacedBuffer]:
        """Every buffer planned, and no two live at once overlapping (offsets are trusted)."""
        try:
            lifetimes = function_lifetimes(self.function)
        except OpError as error:
            raise DmaExecutionError(str(error)) from None
        buffers: dict[SSAValue, PlacedBuffer] = {}
        for lifetime in lifetimes:
            op = lifetime.op
            if op.planned_offset is None:
                raise DmaExecutionError(
                    f"{lifetime.label} ({op.name}) has no offset: run dma-plan-memory first"
                )
            buffers[op.result] = PlacedBuffer(_label(op.result), op.planned_offset, op.nbytes,
                                              op.kind.data)
        for i, a in enumerate(lifetimes):
            for b in lifetimes[i + 1:]:
                pa, pb = buffers[a.value], buffers[b.value]
                if a.start <= b.end and b.start <= a.end and pa.offset < pb.end and pb.offset < pa.end:
                    raise DmaExecutionError(
                        f"{pa.label} [{pa.offset}, {pa.end}) and {pb.label} [{pb.offset}, {pb.end}) "
                        "overlap in the pool while both are live: the plan is wrong (rerun "
                        "dma-plan-memory)"
                    )
        return buffers

    def load(self) -> None:
        """Allocate the pool region and write every constant (once)."""
        if self.region is not None:
            return
        has_launch = any(isinstance(op, dma.LaunchOp) for op in self.function.walk())
        try:
            self.region = self.card.alloc(max(self.pool_bytes, 1))
        except CardError as error:
            raise DmaExecutionError(
                f"@{self.function.sym_name.data} needs a {self.pool_bytes}-byte pool region: {error}"
            ) from None
        if has_launch and self.region.offset != 0:
            offset = self.region.offset
            self.close()
            raise DmaExecutionError(
                f"@{self.function.sym_name.data}'s instructions address the pool from offset 0, but "
                f"the {self.card.describe()} placed its region at pool offset {offset} (other "
                "buffers are live): run it on a card with no other live buffers"
            )
        for op in self.function.walk():
            if isinstance(op, dma.ConstantOp):
                buffer = self._buffers[op.result]
                self.card.write(self.region, op.data(), offset=buffer.offset)
                self.stats.constant_writes += 1

    def close(self) -> None:
        """Free the pool region (the card stays open)."""
        if self.region is not None:
            self.card.free(self.region)
            self.region = None

    def token_reports(self) -> list[tuple[dma.LaunchOp, TokenReport]]:
        """The token checker's report (deadlock, hazards, leftover tokens) on the program
        of every launch, in program order, as the card holds it: decoded from the pool
        after loading, micro-ops included, so what is checked is what would run."""
        if self.region is None:
            raise DmaExecutionError("the program was closed")
        pool = self.card.read(self.region, np.uint8, self.pool_bytes)
        reports = []
        for op in self.function.walk():
            if isinstance(op, dma.LaunchOp):
                first = self.buffer(op.instructions).offset // INSN_BYTES + op.first_index
                view = ProgramView.from_pool(self.card.config, pool, first, op.insn_count)
                reports.append((op, check_tokens(view)))
        return reports

    # ------------------------------------------------------------- run
    def run(self, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray]) -> list[np.ndarray]:
        """Run the function on ``inputs`` (checked as by ``run_graph``); its results in order."""
        if self.region is None:
            raise DmaExecutionError("the program was closed")
        func = self.function
        label = f"@{func.sym_name.data}"
        try:
            values = graph_interpreter._ordered_inputs(func, inputs)  # pyright: ignore[reportPrivateUsage]
            arrays = [
                graph_interpreter._checked_input(v, n, t, label)  # pyright: ignore[reportPrivateUsage]
                for v, n, t in zip(values, graph_interpreter.argument_names(func),
                                   func.function_type.inputs)
            ]
        except graph_interpreter.GraphInterpreterError as error:
            raise DmaExecutionError(str(error)) from None
        interpreter = tile_interpreter.build_interpreter(self.module)
        interpreter.register_implementations(DmaFunctions(self))
        results = interpreter.call_op(func, tuple(arrays))
        return [np.array(r, copy=True) for r in results]

    # ------------------------------------------------------------- dma ops
    def buffer(self, value: SSAValue) -> PlacedBuffer:
        return self._buffers[value]

    def copy_to_card(self, op: dma.CopyToCardOp, array: Any) -> None:
        shape, dtype = _host_layout(op.source.type)
        array = np.asarray(array)
        if array.shape != shape or array.dtype != dtype:
            raise DmaExecutionError(
                f"dma.copy_to_card got shape {array.shape} {array.dtype}, its type {op.source.type} "
                f"says {shape} {dtype}"
            )
        buffer = self.buffer(op.buffer)
        data = np.ascontiguousarray(array).reshape(-1).view(np.uint8)
        assert self.region is not None
        self.card.write(self.region, data, offset=buffer.offset + op.offset.value.data)
        self.stats.bytes_to_card += data.size

    def copy_to_host(self, op: dma.CopyToHostOp) -> np.ndarray:
        shape, dtype = _host_layout(op.result.type)
        buffer = self.buffer(op.buffer)
        count = int(np.prod(shape, dtype=np.int64))
        data = self.read_elements(buffer.offset + op.offset.value.data, dtype, count, op.planar)
        self.stats.bytes_to_host += data.nbytes
        return data.reshape(shape)

    def read_elements(self, offset: int, dtype, count: int, planar: bool = False) -> np.ndarray:
        """``count`` elements at pool byte ``offset``; ``planar``: int32 elements a card
        program stored as byte planes (``isa_semantics.BYTE_PLANES``), reassembled."""
        assert self.region is not None
        if not planar:
            return self.card.read(self.region, dtype, count, offset=offset)
        planes = self.card.read(self.region, np.int8, BYTE_PLANES * count, offset=offset)
        return join_byte_planes(planes.reshape(BYTE_PLANES, count))

    def launch(self, op: dma.LaunchOp) -> LaunchToken:
        insns = self.buffer(op.instructions)
        first = insns.offset // INSN_BYTES + op.first_index
        count = op.insn_count
        try:
            program = self.card.check_program(first, count)
            if self._footprints_checked.get(op) is not program:
                self._check_footprint(op, program, first)
                self._footprints_checked[op] = program
            self.card.run(first, count)
        except CardError as error:
            raise DmaExecutionError(f"dma.launch of {insns.label}[{op.first_index}, {count}]: {error}") from None
        self.stats.launches += 1
        self.stats.instructions += count
        self.stats.launch_ranges.append((first, count))
        return LaunchToken(first, count)

    def _check_footprint(self, op: dma.LaunchOp, program: list, first: int) -> None:
        """Each LOAD / STORE stays inside one buffer the launch lists for that access."""
        uops = [self.buffer(op.uops)]
        readable = [self.buffer(v) for v in (*op.reads, *op.writes)]
        writable = [self.buffer(v) for v in op.writes]
        for index, insn in enumerate(program):
            span = dram_byte_range(insn, self.card.config)
            if span is None:
                continue
            if isinstance(insn, StoreInsn):
                allowed, what = writable, "writes"
            elif isinstance(insn, LoadInsn) and insn.memory_type == MemoryType.UOP:
                allowed, what = uops, "uops"
            else:
                allowed, what = readable, "reads/writes"
            begin, end = span
            if not any(b.offset <= begin and end <= b.end for b in allowed):
                listed = ", ".join(f"{b.label} [{b.offset}, {b.end})" for b in allowed) or "none"
                raise DmaExecutionError(
                    f"dma.launch: instruction {first + index} ({type(insn).__name__}) touches pool "
                    f"bytes [{begin}, {end}), outside the buffers the launch lists in {what} "
                    f"({listed}); list the buffer so the planner keeps it live"
                )


@register_impls
class DmaFunctions(InterpreterFunctions):
    """xDSL interpreter functions of the dma ops, driving a :class:`DmaProgram`'s card."""

    def __init__(self, program: DmaProgram):
        self.program = program

    @impl(dma.AllocOp)
    def run_alloc(self, interpreter: Interpreter, op: dma.AllocOp, args: tuple[Any, ...]):
        return (self.program.buffer(op.result),)

    @impl(dma.ConstantOp)
    def run_constant(self, interpreter: Interpreter, op: dma.ConstantOp, args: tuple[Any, ...]):
        return (self.program.buffer(op.result),)

    @impl(dma.CopyToCardOp)
    def run_copy_to_card(self, interpreter: Interpreter, op: dma.CopyToCardOp, args: tuple[Any, ...]):
        self.program.copy_to_card(op, args[0])
        return ()

    @impl(dma.CopyToHostOp)
    def run_copy_to_host(self, interpreter: Interpreter, op: dma.CopyToHostOp, args: tuple[Any, ...]):
        return (self.program.copy_to_host(op),)

    @impl(dma.LaunchOp)
    def run_launch(self, interpreter: Interpreter, op: dma.LaunchOp, args: tuple[Any, ...]):
        return (self.program.launch(op),)

    @impl(dma.WaitOp)
    def run_wait(self, interpreter: Interpreter, op: dma.WaitOp, args: tuple[Any, ...]):
        token = args[0]
        assert isinstance(token, LaunchToken)
        token.waited = True
        return ()


def run_dma(module: ModuleOp, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray],
            card: Card, function: str = "main") -> list[np.ndarray]:
    """Load ``function`` of the planned ``module`` on ``card``, run it once, free its region."""
    program = DmaProgram(module, card, function)
    try:
        return program.run(inputs)
    finally:
        program.close()


__all__ = ["DmaExecutionError", "DmaFunctions", "DmaProgram", "ExecutionStats", "run_dma"]
