"""``convert-tile-to-dma``: a tile-level function -> a planned dma-level function.

docs/convert-tile-to-dma.md is the contract. For each function of a module that went
through ``convert-graph-to-tile`` (graph host ops, ``tile.pack`` / ``tile.unpack``,
``tile.conv`` / ``tile.pool`` / ``tile.alu``):

* every blocked value a card compute op reads or writes lives in a ``dma.alloc
  activation`` buffer; a value made on the host (``tile.pack``, a host op) is copied to
  the card (``dma.copy_to_card``) just before its first card use, once; a value made on
  the card and used by a host op (``tile.unpack``, ``func.return``, a host compute op)
  is copied back (``dma.copy_to_host``) just before its first host use, once; a value
  made and used on the card is never copied;
* constant packed weights, per-channel tail vectors (``channel_vector_layout``), full
  tail operands packed from a ``graph.constant`` (the input zero-point map of
  convert-graph-to-tile) and padding masks become ``dma.constant`` buffers (one per
  distinct content);
* each compute op becomes a ``dma.launch`` of its own instruction and micro-op
  constants, followed by its ``dma.wait``;
* an i32 (``!tile.acc``) result leaves the core as byte planes: its copy to the host is
  ``dma.copy_to_host ... byte_planes`` (reassembled), and a card op reading it gets it
  through the host (copied back in the ACC layout);
* compute ops the instruction generator refuses (pads over 15, a tile that does not
  fit, ...) stay tile ops run on the host (``canopy.placement = "host"`` with the
  generator's reason); their operands and results cross as above.

Instructions hold absolute pool addresses, so they can only be encoded once the buffers
are placed. The pass therefore (1) lowers each distinct op (by spec) once, at
placeholder addresses that name their operand (``placeholder_placement``), which sizes
its instruction and micro-op constants; (2) runs the ``dma-plan-memory`` planner on the
function (same algorithm, same ``card-memory`` limit); (3) relocates each program to
the planned element addresses (``KernelProgram.relocated_words``: only the LOAD/STORE
``dram_base`` fields change, each range-checked) and writes the encoded bytes into the
constants. Running ``dma-plan-memory`` afterwards recomputes the same offsets (the
planner is deterministic and the IR is unchanged), so the programs stay valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import IntegerAttr, ModuleOp, StringAttr, i64
from xdsl.dialects.func import FuncOp
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass

from canopy_mlir.dialects import dma, graph, tile
from canopy_mlir.hw import INSN_BYTES, UOP_BYTES, HardwareConfig
from canopy_mlir.interpreters.tile_interpreter import pack_array
from canopy_mlir.isa_codegen import (
    AluSpec,
    ConvSpec,
    DramPlacement,
    IsaCodegenError,
    KernelProgram,
    PoolSpec,
    channel_vector_layout,
    lower_alu,
    lower_conv,
    lower_pool,
    needs_padding_mask,
    padding_mask_image,
    unsupported,
    unsupported_alu,
    unsupported_pool,
)
from canopy_mlir.isa_codegen.program import RELOCATION_STRIDE, placeholder_placement
from canopy_mlir.isa_codegen.tail import padding_starts
from canopy_mlir.isa_format import MemoryType
from canopy_mlir.isa_semantics import dram_elem_bytes
from canopy_mlir.tools.diagnostics import OpError
from canopy_mlir.transforms import record_statistic
from canopy_mlir.transforms.convert_graph_to_tile import resolve_config
from canopy_mlir.transforms.dma_plan_memory import (
    POOL_BYTES_ATTR,
    over_budget_message,
    plan_function,
)
from canopy_mlir.transforms.graph_partition import PLACEMENT, PLACEMENT_REASON


class ConvertTileToDmaError(OpError):
    """A tile-level op the pass cannot bring to the dma level (the message says why)."""


# ------------------------------------------------------------------ per-op kernels
@dataclass(frozen=True)
class _OpKind:
    """How one tile compute op kind is specified, refused and lowered."""

    spec: Callable
    unsupported: Callable
    lower: Callable


_KINDS: dict[type, _OpKind] = {
    tile.ConvOp: _OpKind(ConvSpec.from_op, unsupported, lower_conv),
    tile.PoolOp: _OpKind(PoolSpec.from_op, unsupported_pool, lower_pool),
    tile.AluOp: _OpKind(AluSpec.from_op, unsupported_alu, lower_alu),
}


@dataclass
class Kernel:
    """A launch whose program is encoded after planning: its spec and its buffers.

    ``roles`` maps a DramPlacement field ("input", "weight", "output", "mask") to the
    buffer holding it and the memory whose elements address it; ``tail`` does the same
    per tail operand.
    """

    op_name: str
    spec: object
    launch: dma.LaunchOp
    instructions: dma.ConstantOp
    uops: dma.ConstantOp
    roles: dict[str, tuple[SSAValue, MemoryType]]
    tail: list[tuple[SSAValue, MemoryType]]
    relocatable: KernelProgram
    """The program at ``placeholder_placement`` (shared by launches of equal specs)."""

    def placement(self, config: HardwareConfig) -> DramPlacement:
        """The planned addresses of the kernel's operands (buffers must be planned)."""

        def address(entry: tuple[SSAValue, MemoryType]) -> int:
            buffer, memory = entry
            owner = dma.buffer_op(buffer)
            assert owner is not None and owner.planned_offset is not None
            elem = dram_elem_bytes(memory, config)
            assert owner.planned_offset % elem == 0, "buffers are aligned to their elements"
            return owner.planned_offset // elem

        roles = self.roles
        uop_offset = self.uops.planned_offset
        assert uop_offset is not None
        return DramPlacement(
            input=address(roles["input"]),
            weight=address(roles["weight"]) if "weight" in roles else 0,
            output=address(roles["output"]), uops=uop_offset // UOP_BYTES,
            tail=tuple(address(t) for t in self.tail),
            mask=address(roles["mask"]) if "mask" in roles else None)

    def program(self, config: HardwareConfig) -> KernelProgram:
        """The program at the planned addresses (decoded form, for tests and tools)."""
        return self.relocatable.relocated(self.placement(config))


def _alignment(config: HardwareConfig, *memories: MemoryType) -> int:
    """A byte alignment at which every listed memory can address the buffer.

    Element sizes are powers of two, so the largest is a multiple of the others.
    """
    return max(dram_elem_bytes(m, config) for m in memories)


def _hint(value: SSAValue, suffix: str) -> str:
    """``<value's name>_<suffix>`` (just the suffix for an unnamed value), for readable IR."""
    return f"{value.name_hint}_{suffix}" if value.name_hint else suffix


def lowering_reason(op: tile.ComputeOp, config: HardwareConfig) -> str | None:
    """Why ``op`` cannot run on the card (the generator's reason), or None if it can."""
    kind = _KINDS[type(op)]
    try:
        spec = kind.spec(op, config)
    except IsaCodegenError as error:
        return str(error)
    return kind.unsupported(spec, config)


# ------------------------------------------------------------------ one function
@dataclass
class _FunctionLowering:
    """Rewrites one function body in place (see the module docstring)."""

    func: FuncOp
    config: HardwareConfig
    owner: ModulePass
    card: dict[SSAValue, SSAValue] = field(default_factory=dict)
    """tile value -> the buffer holding it on the card."""
    host: dict[SSAValue, SSAValue] = field(default_factory=dict)
    """card-made tile value -> its copy on the host."""
    card_made: set[SSAValue] = field(default_factory=set)
    planar: set[SSAValue] = field(default_factory=set)
    """card-made i32 values, held as byte planes (``isa_semantics.BYTE_PLANES``)."""
    constants: dict[tuple, SSAValue] = field(default_factory=dict)
    kernels: list[Kernel] = field(default_factory=list)
    lowered: list[Operation] = field(default_factory=list)
    constant_sources: set[Operation] = field(default_factory=set)
    anchor: Operation | None = None
    programs: dict[tuple, KernelProgram] = field(default_factory=dict)

    @property
    def block(self):
        return self.func.body.block

    def run(self) -> list[Kernel]:
        if len(self.func.body.blocks) != 1:
            raise ConvertTileToDmaError(
                self.func, f"convert-tile-to-dma: @{self.func.sym_name.data} has "
                           f"{len(self.func.body.blocks)} blocks; the dma level needs a single-block "
                           "function (buffer lifetimes are op ranges of one block)")
        for op in list(self.block.ops):
            if isinstance(op, tile.TILE_COMPUTE_OPS) and self._on_card(op):
                self._lower_compute(op)
            else:
                self._host_op(op)
        self._erase_lowered()
        return self.kernels

    # ------------------------------------------------------------- placement
    def _on_card(self, op: tile.ComputeOp) -> bool:
        if op.attributes.get(PLACEMENT) == StringAttr("host"):
            return False
        reason = lowering_reason(op, self.config)
        if reason is None:
            return True
        op.attributes[PLACEMENT] = StringAttr("host")
        op.attributes[PLACEMENT_REASON] = StringAttr(f"no card program: {reason}")
        record_statistic(self.owner, "host-compute-ops")
        return False

    # ------------------------------------------------------------- host ops
    def _host_op(self, op: Operation) -> None:
        """Give a host op host copies of the card-made values it reads."""
        for index, value in enumerate(op.operands):
            if value in self.card_made:
                op.operands[index] = self._to_host(value, op)

    def _to_host(self, value: SSAValue, before: Operation) -> SSAValue:
        copy = self.host.get(value)
        if copy is None:
            op = dma.CopyToHostOp(self.card[value], value.type, byte_planes=value in self.planar)
            self.block.insert_op_before(op, before)
            copy = self.host[value] = op.result
            copy.name_hint = _hint(value, "host")
            record_statistic(self.owner, "copies-to-host")
        return copy

    # ------------------------------------------------------------- card buffers
    def _on_card_buffer(self, value: SSAValue, before: Operation, *memories: MemoryType) -> SSAValue:
        """The buffer holding ``value`` on the card; a host value is copied in once."""
        buffer = self.card.get(value)
        if buffer is not None and value not in self.planar:
            return buffer
        if buffer is not None:
            # An i32 result the card stored as byte planes: its consumers read int32
            # elements, so it goes through the host once (reassembled) and back.
            value = self._to_host(value, before)
            cached = self.card.get(value)
            if cached is not None:
                return cached
        nbytes = dma.host_value_bytes(value.type)
        if nbytes is None:
            raise ConvertTileToDmaError(before, f"{before.name}: operand of type {value.type} "
                                                "has no byte layout to copy to the card")
        # Aligned for every memory an activation may be read through (later card ops
        # may read it as INP, ACC or ACC_8BIT), not only this first use's.
        alloc = dma.AllocOp(nbytes, "activation", _alignment(
            self.config, MemoryType.INP, MemoryType.OUT, MemoryType.ACC, *memories))
        alloc.result.name_hint = _hint(value, "card")
        copy = dma.CopyToCardOp(value, alloc.result)
        self.block.insert_ops_before([alloc, copy], before)
        record_statistic(self.owner, "copies-to-card")
        self.card[value] = alloc.result
        return alloc.result

    def _constant(self, key: tuple, data: np.ndarray, kind: str, align: int, before: Operation,
                  hint: str) -> SSAValue:
        """One dma.constant per distinct content (weights, vectors, masks)."""
        key = (*key, kind, data.dtype.str, data.shape, data.tobytes())
        value = self.constants.get(key)
        if value is None:
            op = dma.ConstantOp(np.ascontiguousarray(data), kind, align)
            op.result.name_hint = hint
            self._insert_at_top(op)
            value = self.constants[key] = op.result
            record_statistic(self.owner, "constants")
        return value

    def _insert_at_top(self, op: Operation) -> None:
        """Constants go before the function's first original op, in creation order: they
        are live all along anyway, and the planner places them in that order."""
        if self.anchor is None:
            self.anchor = self.block.first_op
        if self.anchor is None:
            self.block.add_op(op)
        else:
            self.block.insert_op_before(op, self.anchor)

    def _constant_array(self, value: SSAValue) -> np.ndarray | None:
        owner = value.owner
        if isinstance(owner, graph.ConstantOp):
            self.constant_sources.add(owner)
            return owner.value_array()
        return None

    def _packed_constant(self, value: SSAValue) -> np.ndarray | None:
        """The card image of ``value`` when it is a ``tile.pack`` of a graph.constant
        (packed here, at compile time; the pack is then erased if only card ops read it),
        else None."""
        pack = value.owner
        if not (isinstance(pack, tile.PackOp) and isinstance(pack.input.owner, graph.ConstantOp)):
            return None
        array = self._constant_array(pack.input)
        assert array is not None
        self.constant_sources.add(pack)
        return pack_array(array, value.type)  # type: ignore[arg-type]

    def _weight(self, op: tile.ConvOp) -> SSAValue:
        """Packed constant weights as a ``weights`` constant; else copied from the host."""
        packed = self._packed_constant(op.weight)
        if packed is not None:
            return self._constant((), packed, "weights", _alignment(self.config, MemoryType.WGT),
                                  op, "weights")
        return self._on_card_buffer(op.weight, op, MemoryType.WGT)

    def _full_operand(self, op: tile.ComputeOp, value: SSAValue, memory: MemoryType) -> SSAValue:
        """A full tail operand: packed from a graph.constant (convert-graph-to-tile's
        input zero-point map) it is a ``data`` constant, placed once; else an activation
        (copied from the host once when made there)."""
        packed = self._packed_constant(value)
        if packed is not None:
            return self._constant(("tensor",), packed, "data", _alignment(self.config, memory),
                                  op, _hint(value, "map") if value.name_hint else "map")
        return self._on_card_buffer(value, op, memory)

    def _channel_vector(self, op: tile.ComputeOp, value: SSAValue, batch: int) -> SSAValue:
        array = self._constant_array(value)
        if array is None:
            raise ConvertTileToDmaError(
                op, f"{op.name}: a per-channel tail operand must be a graph.constant (it is laid "
                    "out per batch block at compile time), got one made by "
                    f"{getattr(value.owner, 'name', 'a block argument')}")
        image = channel_vector_layout(array.astype(np.int32), batch, self.config)
        return self._constant(("chan",), image, "data", _alignment(self.config, MemoryType.ACC),
                              op, "vector")

    # ------------------------------------------------------------- compute ops
    def _lower_compute(self, op: tile.ComputeOp) -> None:
        kind = _KINDS[type(op)]
        spec = kind.spec(op, self.config)
        roles: dict[str, tuple[SSAValue, MemoryType]] = {}
        if isinstance(op, tile.ConvOp):
            roles["input"] = (self._on_card_buffer(op.input, op, MemoryType.INP), MemoryType.INP)
            roles["weight"] = (self._weight(op), MemoryType.WGT)
        else:
            memory = spec.input_memory
            roles["input"] = (self._on_card_buffer(op.input, op, memory), memory)
        tail: list[tuple[SSAValue, MemoryType]] = []
        for j, value in enumerate(op.tail_values()):
            memory = spec.tail_memory(j)
            if spec.tail_kinds[j] == "chan":
                tail.append((self._channel_vector(op, value, spec.logical[0]), memory))
            else:
                tail.append((self._full_operand(op, value, memory), memory))
        if needs_padding_mask(spec.tail, spec.logical, self.config, padding_starts(spec)):
            mask = padding_mask_image(spec.logical, self.config)
            roles["mask"] = (self._constant(("mask",), mask, "data",
                                            _alignment(self.config, MemoryType.ACC), op, "mask"),
                             MemoryType.ACC)
        out_bytes = dma.host_value_bytes(op.result.type)
        assert out_bytes is not None
        output = dma.AllocOp(out_bytes, "activation", _alignment(
            self.config, MemoryType.OUT, MemoryType.INP, MemoryType.ACC))
        if op.result.name_hint:
            output.result.name_hint = op.result.name_hint
        roles["output"] = (output.result, MemoryType.OUT)
        self.block.insert_op_before(output, op)
        self._launch(op, kind, spec, roles, tail)
        self.card[op.result] = output.result
        self.card_made.add(op.result)
        if spec.output_planes > 1:
            self.planar.add(op.result)
        self.lowered.append(op)
        record_statistic(self.owner, "launches")

    def _program(self, op: tile.ComputeOp, kind: _OpKind, spec, tails: int,
                 mask: bool) -> KernelProgram:
        """``op``'s program lowered once at placeholder addresses, relocated after planning.

        Cached by spec: repeated layers (a ResNet's blocks) are lowered once, and the
        generator is the pass's main cost.
        """
        key = (type(op), spec, tails, mask)
        program = self.programs.get(key)
        if program is None:
            largest = max(spec.dram_elements().values(), default=0)
            if largest >= RELOCATION_STRIDE:
                raise ConvertTileToDmaError(
                    op, f"{op.name}: an operand of {largest} elements is too large for a "
                        f"relocatable program (at most {RELOCATION_STRIDE - 1})")
            try:
                program = kind.lower(spec, self.config, placeholder_placement(tails, mask))
            except IsaCodegenError as error:
                raise ConvertTileToDmaError(op, str(error)) from None
            self.programs[key] = program
        return program

    def _launch(self, op: tile.ComputeOp, kind: _OpKind, spec, roles, tail) -> None:
        """Instruction / micro-op constants sized at placeholder addresses, launch, wait."""
        program = self._program(op, kind, spec, len(tail), "mask" in roles)
        n_insn, n_uop = len(program.instructions), len(program.uops)
        # Zero bytes of the right size until emit_programs encodes the real ones.
        insns = dma.ConstantOp(np.zeros(n_insn * INSN_BYTES, np.uint8), "instructions", INSN_BYTES)
        uops = dma.ConstantOp(np.zeros(max(n_uop, 1) * UOP_BYTES, np.uint8), "uops", UOP_BYTES)
        insns.result.name_hint = _hint(op.result, "insns")
        uops.result.name_hint = _hint(op.result, "uops")
        self._insert_at_top(uops)
        self._insert_at_top(insns)
        reads: list[SSAValue] = []
        candidates = [roles["input"], roles.get("weight"), *tail, roles.get("mask")]
        for entry in candidates:
            if entry is not None and entry[0] not in reads:
                reads.append(entry[0])
        launch = dma.LaunchOp(insns.result, 0, n_insn, uops.result, reads, [roles["output"][0]])
        launch.attributes["dma.kernel"] = StringAttr(op.name)
        wait = dma.WaitOp(launch.token)
        self.block.insert_ops_before([launch, wait], op)
        self.kernels.append(Kernel(op.name, spec, launch, insns, uops, roles, tail, program))

    # ------------------------------------------------------------- cleanup
    def _erase_lowered(self) -> None:
        """Erase the lowered compute ops, then the packs / constants only they read."""
        for op in reversed(self.lowered):
            self.block.erase_op(op)
        for op in reversed(list(self.block.ops)):
            if op in self.constant_sources and all(not r.uses for r in op.results):
                self.block.erase_op(op)


# ------------------------------------------------------------------ emission
def emit_programs(func: FuncOp, kernels: list[Kernel], config: HardwareConfig) -> None:
    """Encode every launch's program at the planned addresses into its constants: the
    relocatable program's encoding with its LOAD/STORE addresses patched."""
    for kernel in kernels:
        try:
            words = kernel.relocatable.relocated_words(kernel.placement(config))
        except IsaCodegenError as error:
            raise ConvertTileToDmaError(kernel.launch, f"{kernel.op_name}: {error}") from None
        kernel.instructions.set_data(words.astype("<u8").tobytes())
        if kernel.relocatable.uops:
            kernel.uops.set_data(kernel.relocatable.encoded_uops().astype("<u4").tobytes())


def convert_function(func: FuncOp, config: HardwareConfig, owner: ModulePass,
                     card_memory: int = 0) -> list[Kernel]:
    """Lower, plan and encode one function; returns its kernels (programs filled in)."""
    kernels = _FunctionLowering(func, config, owner).run()
    if not any(isinstance(o, dma.AllocOp | dma.ConstantOp) for o in func.walk()):
        return kernels
    plan = plan_function(func)
    if card_memory and plan.peak > card_memory:
        raise ConvertTileToDmaError(func, over_budget_message(func, plan, card_memory).replace(
            "dma-plan-memory", "convert-tile-to-dma"))
    for lifetime, offset in zip(plan.lifetimes, plan.offsets):
        lifetime.op.set_offset(offset)
    func.attributes[POOL_BYTES_ATTR] = IntegerAttr(plan.peak, i64)
    record_statistic(owner, "pool-bytes", plan.peak)
    emit_programs(func, kernels, config)
    return kernels


@dataclass(frozen=True)
class ConvertTileToDma(ModulePass):
    """Tile-level functions -> planned dma-level functions with encoded programs."""

    name = "convert-tile-to-dma"
    config: str = ""
    """Hardware config (preset or VTA JSON); empty: the module's tile.config, else intelfocl."""
    card_memory: int = 0
    """The card's pool size in bytes (0: no limit); a larger plan is an error."""

    declared_statistics: ClassVar[dict[str, str]] = {
        "launches": "tile compute ops lowered to a card program",
        "host-compute-ops": "tile compute ops left on the host (no card program)",
        "copies-to-card": "dma.copy_to_card inserted",
        "copies-to-host": "dma.copy_to_host inserted",
        "constants": "dma.constant buffers of weights, vectors and masks",
        "pool-bytes": "pool bytes the planned functions need (sum over functions)",
    }

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.card_memory < 0:
            raise ConvertTileToDmaError(op, f"convert-tile-to-dma: card-memory must be >= 0, "
                                            f"got {self.card_memory}")
        spec, config = resolve_config(self.config, op)
        op.attributes[tile.CONFIG_ATTR] = StringAttr(spec)
        for func in list(op.walk()):
            if isinstance(func, FuncOp) and not func.is_declaration:
                convert_function(func, config, self, self.card_memory)


__all__ = ["ConvertTileToDma", "ConvertTileToDmaError", "Kernel", "convert_function",
           "emit_programs", "lowering_reason"]
