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
from functools import cached_property

import numpy as np

from canopy_mlir.dialects import tile
from canopy_mlir.hw import HardwareConfig
from canopy_mlir.isa_format import (
    DRAM_ADDR_BITS,
    AluInsn,
    EncodingError,
    FinishInsn,
    GemmInsn,
    Instruction,
    LoadInsn,
    LoopInstruction,
    MemInstruction,
    MemoryType,
    Opcode,
    Uop,
    encode_instructions,
    encode_uops,
    layouts_for,
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

    def encoded_instructions(self) -> np.ndarray:
        """The ``(n, 2)`` uint64 encoding (a fresh copy; encoded once per program)."""
        return self._instruction_words.copy()

    def encoded_uops(self) -> np.ndarray:
        return self._uop_words.copy()

    @cached_property
    def _instruction_words(self) -> np.ndarray:
        return encode_instructions(self.instructions, self.config)

    @cached_property
    def _uop_words(self) -> np.ndarray:
        return encode_uops(self.uops, self.config)

    # ------------------------------------------------------------- relocation
    @cached_property
    def _relocations(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(positions, roles, offsets) of the LOAD/STORE addresses of a program lowered at
        :func:`placeholder_placement`: address = role * RELOCATION_STRIDE + offset."""
        positions, roles, offsets = [], [], []
        for position, insn in enumerate(self.instructions):
            if isinstance(insn, MemInstruction) and insn.dram_base >= RELOCATION_STRIDE:
                role, offset = divmod(insn.dram_base, RELOCATION_STRIDE)
                positions.append(position)
                roles.append(role)
                offsets.append(offset)
        return (np.array(positions, np.int64), np.array(roles, np.int64),
                np.array(offsets, np.int64))

    def _relocated_bases(self, placement: DramPlacement) -> np.ndarray:
        """The new address of every relocated LOAD/STORE, checked against the placement
        (a role it lacks) and the DRAM address field."""
        _, roles, offsets = self._relocations
        bases = np.full(_TAIL_ROLE + len(placement.tail) + 1, -1, np.int64)
        for role, address in _role_addresses(placement).items():
            bases[role] = address
        missing = sorted({int(r) for r in roles if r >= len(bases) or bases[r] < 0})
        if missing:
            raise IsaCodegenError(
                f"relocating a program: it addresses {', '.join(_role_name(r) for r in missing)}, "
                f"which the placement {placement} does not give")
        addresses = bases[roles] + offsets
        limit = 1 << DRAM_ADDR_BITS
        if addresses.size and int(addresses.max()) >= limit:
            raise IsaCodegenError(
                f"relocating a program: DRAM address {int(addresses.max())} does not fit the "
                f"{DRAM_ADDR_BITS}-bit dram_base field")
        return addresses

    def relocated(self, placement: DramPlacement) -> KernelProgram:
        """This program (lowered at :func:`placeholder_placement`) at ``placement``.

        Lowerings never decide anything from an address, so moving the operands only
        changes the LOAD/STORE ``dram_base`` fields: the same program as lowering at
        ``placement`` (tests/isa_codegen/test_relocation.py checks it), without
        lowering again.
        """
        positions, _, _ = self._relocations
        addresses = self._relocated_bases(placement)
        insns = list(self.instructions)
        for position, address in zip(positions.tolist(), addresses.tolist()):
            insns[position] = replace(insns[position], dram_base=address)
        return KernelProgram(self.config, placement, tuple(insns), self.uops, self.uop_resident)

    def relocated_words(self, placement: DramPlacement) -> np.ndarray:
        """``relocated(placement).encoded_instructions()``, patched in the encoded words."""
        positions, _, _ = self._relocations
        addresses = self._relocated_bases(placement).astype(np.uint64)
        words = self.encoded_instructions()
        field_ = layouts_for(self.config).for_opcode(Opcode.LOAD).field("dram_base")
        store = layouts_for(self.config).for_opcode(Opcode.STORE).field("dram_base")
        assert (store.word, store.lo, store.width) == (field_.word, field_.lo, field_.width)
        mask = np.uint64(((1 << field_.width) - 1) << field_.lo)
        column = words[positions, field_.word]
        words[positions, field_.word] = (column & ~mask) | (addresses << np.uint64(field_.lo))
        return words

    def uop_map(self) -> dict[int, Uop]:
        """UOP DRAM element -> micro-op, for a token-checker ``ProgramView``."""
        return {self.placement.uops + i: u for i, u in enumerate(self.uops)}


# ------------------------------------------------------------------ relocatable programs
RELOCATION_STRIDE = 1 << 26
"""Elements between two operands of :func:`placeholder_placement`: more than any operand
has (the pass checks), so an address names its operand: ``address // RELOCATION_STRIDE``."""
_ROLES = ("input", "weight", "output", "uops", "mask")
_TAIL_ROLE = len(_ROLES) + 1
"""Role of tail operand j: _TAIL_ROLE + j (roles count from 1: address 0 is no operand)."""


def placeholder_placement(tails: int, mask: bool) -> DramPlacement:
    """Every operand at its own multiple of RELOCATION_STRIDE, for a relocatable program
    (:meth:`KernelProgram.relocated`). ``tails`` + ``mask`` roles must fit the 32-bit
    address field: at most 56 tail operands."""
    if _TAIL_ROLE + tails >= 1 << (DRAM_ADDR_BITS - 26):
        raise IsaCodegenError(f"{tails} tail operands: too many to relocate")
    at = {name: (1 + i) * RELOCATION_STRIDE for i, name in enumerate(_ROLES)}
    return DramPlacement(input=at["input"], weight=at["weight"], output=at["output"],
                         uops=at["uops"], mask=at["mask"] if mask else None,
                         tail=tuple((_TAIL_ROLE + j) * RELOCATION_STRIDE for j in range(tails)))


def _role_addresses(placement: DramPlacement) -> dict[int, int]:
    roles = {1 + i: getattr(placement, name) for i, name in enumerate(_ROLES)}
    roles.update({_TAIL_ROLE + j: t for j, t in enumerate(placement.tail)})
    return {role: int(a) for role, a in roles.items() if a is not None}


def _role_name(role: int) -> str:
    return _ROLES[role - 1] if 1 <= role <= len(_ROLES) else f"tail operand {role - _TAIL_ROLE}"


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
        seen: set[Instruction] = set()
        for index, insn in enumerate(program.instructions):
            if insn not in seen:  # tiles repeat instructions: check each distinct one once
                seen.add(insn)
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
    "RELOCATION_STRIDE",
    "finish_program",
    "placeholder_placement",
    "token_only_load",
    "with_flags",
]
