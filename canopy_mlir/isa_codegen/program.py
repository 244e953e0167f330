"""What every lowering of a tile op to instructions shares: placements, programs, micro-ops.

A lowering (``lower_conv`` ...) turns one tile compute op plus the DRAM placement of its
operands into a :class:`KernelProgram`: the instruction stream and the micro-op table
(which the caller writes at ``placement.uops``). Kernels are emitted with symbolic
micro-op references (:class:`UopTableBuilder`); :func:`finish_program` then lays the
table out, decides whether it stays resident in the UOP buffer (one LOAD UOP) or is
paged in kernel by kernel, and checks every field against its encoding.
docs/isa-codegen.md describes the scheme.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from canopy_mlir.dialects import tile
from canopy_mlir.hw import HardwareConfig
from canopy_mlir.isa_format import (
    AluInsn,
    EncodingError,
    FinishInsn,
    GemmInsn,
    Instruction,
    LoadInsn,
    LoopInstruction,
    MemoryType,
    Uop,
    encode_instructions,
    encode_uops,
)
from canopy_mlir.isa_semantics import IsaError, check_instruction, mnemonic

MAX_MEM_SIZE = (1 << 16) - 1
"""Largest x_size / y_size / x_stride of a LOAD/STORE (16-bit fields)."""
MAX_PAD = (1 << 4) - 1
"""Largest pad of an INP load (4-bit fields)."""


class IsaCodegenError(ValueError):
    """An op, or a property of it, that convert-tile-to-isa cannot lower (yet).

    The message names the op, the property and why.
    """


@dataclass(frozen=True)
class DramPlacement:
    """Where a compute op's operands and result live in the device pool.

    Every address is an element index from the pool base in the units of the memory that
    reads or writes it (docs/isa.md): ``input`` in INP elements, ``weight`` in WGT
    elements, ``output`` in OUT elements, ``uops`` in micro-ops (4 bytes); ``tail`` has
    one address per tail operand: ACC elements for a per-channel vector or an i32
    full-tensor operand, ACC_8BIT elements (BATCH x BLOCK_OUT bytes) for an i8 one.
    Each blocked value is its blocked shape in row-major order (docs/isa-codegen.md).
    ``mask`` (ACC elements) is where the padding mask lives when the op needs one
    (``padding_mask_image``: a tail that makes zero padding non-zero), else None.
    """

    input: int
    weight: int
    output: int
    uops: int
    tail: tuple[int, ...] = ()
    mask: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tail", tuple(int(t) for t in self.tail))
        for name in ("input", "weight", "output", "uops"):
            if int(getattr(self, name)) < 0:
                raise IsaCodegenError(f"DramPlacement.{name} = {getattr(self, name)} is negative")
        if self.mask is not None and self.mask < 0:
            raise IsaCodegenError(f"DramPlacement.mask = {self.mask} is negative")
        if any(t < 0 for t in self.tail):
            raise IsaCodegenError(f"DramPlacement.tail {self.tail} holds a negative address")


@dataclass(frozen=True)
class ProgramSummary:
    """Counts of one program: instructions (by mnemonic), micro-ops, loop steps, MACs."""

    instructions: int
    uops: int
    by_kind: dict[str, int]
    gemm_steps: int
    alu_steps: int
    macs: int
    uop_resident: bool

    def __str__(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        where = "resident" if self.uop_resident else "paged"
        return (f"{self.instructions} instructions ({kinds}); {self.uops} micro-ops "
                f"({where}); {self.gemm_steps} GEMM steps ({self.macs} MACs), "
                f"{self.alu_steps} ALU steps")


@dataclass(frozen=True)
class KernelProgram:
    """The instructions and micro-op table that compute one tile op on the core.

    Write ``encoded_uops()`` at ``placement.uops`` (UOP elements) and
    ``encoded_instructions()`` anywhere in the pool, then launch them.
    """

    config: HardwareConfig = field(repr=False)
    placement: DramPlacement
    instructions: tuple[Instruction, ...]
    uops: tuple[Uop, ...]
    uop_resident: bool = True

    @property
    def summary(self) -> ProgramSummary:
        kinds = Counter(mnemonic(i) for i in self.instructions)
        loops = [i for i in self.instructions if isinstance(i, LoopInstruction)]
        gemm = sum(i.steps for i in loops if isinstance(i, GemmInsn) and not i.reset)
        return ProgramSummary(
            instructions=len(self.instructions), uops=len(self.uops), by_kind=dict(kinds),
            gemm_steps=gemm, alu_steps=sum(i.steps for i in loops if isinstance(i, AluInsn)),
            macs=gemm * self.config.macs_per_gemm_uop, uop_resident=self.uop_resident)

    def encoded_instructions(self):
        return encode_instructions(self.instructions, self.config)

    def encoded_uops(self):
        return encode_uops(self.uops, self.config)

    def uop_map(self) -> dict[int, Uop]:
        """UOP DRAM element -> micro-op, for a token-checker ``ProgramView``."""
        return {self.placement.uops + i: u for i, u in enumerate(self.uops)}


# ------------------------------------------------------------------ micro-op kernels
@dataclass(frozen=True)
class KernelRef:
    """A symbolic micro-op range: kernel ``index`` of a :class:`UopTableBuilder`."""

    index: int


class UopTableBuilder:
    """Distinct micro-op kernels, each stored once (deduplicated by content)."""

    def __init__(self) -> None:
        self.kernels: list[tuple[Uop, ...]] = []
        self._index: dict[tuple[Uop, ...], int] = {}

    def kernel(self, uops: Sequence[Uop]) -> KernelRef:
        key = tuple(uops)
        if not key:
            raise ValueError("a micro-op kernel needs at least one micro-op")
        if key not in self._index:
            self._index[key] = len(self.kernels)
            self.kernels.append(key)
        return KernelRef(self._index[key])


@dataclass
class Emitted:
    """An instruction as emitted, with its symbolic kernel for GEMM/ALU."""

    insn: Instruction
    kernel: KernelRef | None = None


def finish_program(op_name: str, config: HardwareConfig, placement: DramPlacement,
                   emitted: Sequence[Emitted], table: UopTableBuilder) -> KernelProgram:
    """Lay out the micro-op table, resolve kernel references, append FINISH, check fields.

    The table (kernels in first-use order) stays resident when it fits the UOP buffer:
    one LOAD UOP first. Otherwise kernels are paged in before their first use with a
    bump allocator that restarts at 0 when full (LOAD UOP runs on the compute module,
    in order with the GEMM/ALU that use the entries, so overwriting is safe).
    """
    offsets, total = [], 0
    for kernel in table.kernels:
        offsets.append(total)
        total += len(kernel)
    depth = config.uop_depth
    too_big = [len(k) for k in table.kernels if len(k) > depth]
    if too_big:
        raise IsaCodegenError(
            f"{op_name}: a micro-op kernel of {max(too_big)} entries does not fit the UOP "
            f"buffer ({depth} entries); reduce the op's tile")
    resident = total <= depth
    insns: list[Instruction] = []
    if resident:
        insns += _uop_loads(placement.uops, 0, total)
        slots = offsets
    else:
        slots = [-1] * len(table.kernels)
        cursor = 0
    for item in emitted:
        if item.kernel is None:
            insns.append(item.insn)
            continue
        k = item.kernel.index
        if not resident and slots[k] < 0:
            size = len(table.kernels[k])
            if cursor + size > depth:
                cursor, slots = 0, [-1] * len(table.kernels)
            slots[k] = cursor
            insns += _uop_loads(placement.uops + offsets[k], cursor, size)
            cursor += size
        size = len(table.kernels[k])
        insns.append(replace(item.insn, uop_bgn=slots[k], uop_end=slots[k] + size))
    insns.append(FinishInsn(pop_next=True))
    uops = tuple(u for kernel in table.kernels for u in kernel)
    program = KernelProgram(config, placement, tuple(insns), uops, resident)
    check_program_fields(op_name, program)
    return program


def _uop_loads(dram: int, sram: int, count: int) -> list[Instruction]:
    loads = []
    for first in range(0, count, MAX_MEM_SIZE):
        size = min(MAX_MEM_SIZE, count - first)
        loads.append(LoadInsn(memory_type=MemoryType.UOP, sram_base=sram + first,
                              dram_base=dram + first, x_size=size, x_stride=size))
    return loads


def acc_input_types(op: tile.AluOp | tile.PoolOp, config: HardwareConfig) -> tuple[tile.BlockedType, tile.BlockedType]:
    """The input and result types of an op whose input is read into ACC, checked against
    ``config`` (blocks fit; the input's channel block is BLOCK_OUT, ACC's width)."""
    x, result = op.input.type, op.result.type
    assert isinstance(x, tile.BlockedType) and isinstance(result, tile.BlockedType)
    for what, type_ in (("input", x), ("result", result)):
        problem = type_.config_mismatch(config)
        if problem is not None:
            raise IsaCodegenError(f"{op.name}: the {what} type does not fit config '{config.name}': {problem}")
    if x.blocks[1] != config.block_out:
        raise IsaCodegenError(f"{op.name}: the input's channel block {x.blocks[1]} is not "
                              f"BLOCK_OUT = {config.block_out} (it is read into ACC)")
    return x, result


def check_program_fields(op_name: str, program: KernelProgram) -> None:
    """Every field within its width and every instruction well-formed, else IsaCodegenError."""
    try:
        for index, insn in enumerate(program.instructions):
            check_instruction(insn, program.config, index)
        program.encoded_instructions()
        program.encoded_uops()
    except (EncodingError, IsaError) as err:
        raise IsaCodegenError(f"{op_name}: the generated program does not encode: {err}") from err


def token_only_load(memory: MemoryType) -> LoadInsn:
    """A LOAD that moves nothing: a token carrier on the module of ``memory``."""
    return LoadInsn(memory_type=memory, x_size=0, y_size=0, x_stride=0)


def with_flags(insn: Instruction, **flags: bool) -> Instruction:
    """``insn`` with the given token flags or-ed in."""
    return replace(insn, **{k: bool(getattr(insn, k) or v) for k, v in flags.items()})


__all__ = [
    "DramPlacement",
    "Emitted",
    "IsaCodegenError",
    "KernelProgram",
    "KernelRef",
    "ProgramSummary",
    "UopTableBuilder",
    "finish_program",
    "token_only_load",
    "with_flags",
]
