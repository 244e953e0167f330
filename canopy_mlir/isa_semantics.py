"""Static facts about instructions that several consumers share.

The ``isa`` dialect verifier, the reference simulator, the token checker, the timing
model and the card runtime's pre-launch check all ask the same questions: is this
instruction well-formed for the config, which module runs it, which DRAM bytes and which
SRAM elements does it touch. They ask them here so the answers cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canopy_mlir.hw import INSN_BYTES, UOP_BYTES, HardwareConfig
from canopy_mlir.isa_format import (
    AluInsn,
    EncodingError,
    GemmInsn,
    Instruction,
    LoadInsn,
    LoopInstruction,
    MemInstruction,
    MemoryType,
    Module,
    Opcode,
    StoreInsn,
    decode_instructions,
    decode_opcodes,
)

BYTE_PLANES = 4
"""An i32 result leaves the core as four int8 planes: STORE writes only the low 8 bits
of OUT, so the program stores the accumulator, shifts it right by 8 on the ALU, stores
again, and so on (docs/isa-codegen.md, "i32 results"). Plane ``k`` holds bits
``8k .. 8k+7`` of every element, in the OUT layout, planes one after the other."""


def join_byte_planes(planes: np.ndarray) -> np.ndarray:
    """The int32 elements whose byte planes are ``planes`` (``(BYTE_PLANES, n)`` int8 or
    uint8, plane 0 the least significant): the card's i32 results, reassembled."""
    planes = np.asarray(planes).view(np.uint8).astype(np.uint32)
    if planes.shape[0] != BYTE_PLANES:
        raise ValueError(f"expected {BYTE_PLANES} byte planes, got {planes.shape[0]}")
    word = planes[0] | planes[1] << 8 | planes[2] << 16 | planes[3] << 24
    return word.view(np.int32)


class IsaError(ValueError):
    """An instruction that is not valid for the hardware config.

    ``index`` and ``mnemonic`` name the instruction when the error is about one.
    """

    def __init__(self, message: str, index: int | None = None, mnemonic: str | None = None):
        super().__init__(message)
        self.index = index
        self.mnemonic = mnemonic


LOADABLE_MEMORIES = frozenset(
    {MemoryType.UOP, MemoryType.WGT, MemoryType.INP, MemoryType.ACC, MemoryType.ACC_8BIT}
)

# Token flags each module may use (see docs/isa.md, "Modules and dependency tokens").
_VALID_FLAGS = {
    Module.LOAD: {"pop_next", "push_next"},
    Module.COMPUTE: {"pop_prev", "pop_next", "push_prev", "push_next"},
    Module.STORE: {"pop_prev", "push_prev"},
}
TOKEN_FLAGS = ("pop_prev", "pop_next", "push_prev", "push_next")


def mnemonic(insn: Instruction) -> str:
    """``LOAD INP``, ``GEMM``, ``ALU MAX``...: how messages name an instruction."""
    if isinstance(insn, MemInstruction):
        return f"{insn.OPCODE.name} {MemoryType(insn.memory_type).name}"
    if isinstance(insn, AluInsn):
        return f"ALU {insn.alu_opcode.name}"
    return insn.OPCODE.name


def dram_elem_bytes(memory_type: MemoryType, config: HardwareConfig) -> int:
    """Bytes of one DRAM element of ``memory_type`` (DRAM addresses count these)."""
    return {
        MemoryType.UOP: UOP_BYTES,
        MemoryType.WGT: config.wgt_elem_bytes,
        MemoryType.INP: config.inp_elem_bytes,
        MemoryType.ACC: config.acc_elem_bytes,
        MemoryType.ACC_8BIT: config.out_elem_bytes,
        MemoryType.OUT: config.out_elem_bytes,
    }[MemoryType(memory_type)]


def sram_buffer(memory_type: MemoryType) -> str:
    """The SRAM buffer a memory type lands in (ACC_8BIT sign-extends into ACC)."""
    return {
        MemoryType.UOP: "UOP",
        MemoryType.WGT: "WGT",
        MemoryType.INP: "INP",
        MemoryType.ACC: "ACC",
        MemoryType.ACC_8BIT: "ACC",
        MemoryType.OUT: "OUT",
    }[MemoryType(memory_type)]


def sram_depth(memory_type: MemoryType, config: HardwareConfig) -> int:
    return config.depths()[sram_buffer(memory_type)]


# ------------------------------------------------------------------ well-formed
def instruction_errors(insn: Instruction, config: HardwareConfig) -> list[str]:
    """Everything wrong with ``insn`` that can be seen without the micro-op table."""
    errors = _token_flag_errors(insn)
    if isinstance(insn, LoadInsn):
        errors += _load_errors(insn, config)
    elif isinstance(insn, StoreInsn):
        errors += _store_errors(insn, config)
    elif isinstance(insn, LoopInstruction):
        errors += _loop_errors(insn, config)
    return errors


def check_instruction(insn: Instruction, config: HardwareConfig, index: int | None = None) -> None:
    """Raise :class:`IsaError` with every problem of ``insn``, naming it by ``index``."""
    errors = instruction_errors(insn, config)
    if errors:
        where = f"instruction {index} " if index is not None else ""
        raise IsaError(f"{where}({mnemonic(insn)}): " + "; ".join(errors), index=index,
                       mnemonic=mnemonic(insn))


def _token_flag_errors(insn: Instruction) -> list[str]:
    module = insn.module
    return [
        f"{flag} is not valid on the {module.name.lower()} module "
        f"(allowed: {', '.join(sorted(_VALID_FLAGS[module]))})"
        for flag in TOKEN_FLAGS
        if getattr(insn, flag) and flag not in _VALID_FLAGS[module]
    ]


def _pads(insn: MemInstruction) -> dict[str, int]:
    return {p: getattr(insn, p) for p in ("y_pad0", "y_pad1", "x_pad0", "x_pad1")}


def _load_errors(insn: LoadInsn, config: HardwareConfig) -> list[str]:
    memory = MemoryType(insn.memory_type)
    if memory not in LOADABLE_MEMORIES:
        return [f"memory type {memory.name} cannot be loaded (loadable: "
                f"{', '.join(m.name for m in sorted(LOADABLE_MEMORIES))})"]
    errors = []
    pads = {k: v for k, v in _pads(insn).items() if v}
    if pads and memory != MemoryType.INP:
        errors.append(f"padding is only supported on INP loads, got {pads} on {memory.name}")
    errors += _sram_window_errors(insn, config)
    return errors


def _store_errors(insn: StoreInsn, config: HardwareConfig) -> list[str]:
    memory = MemoryType(insn.memory_type)
    if memory != MemoryType.OUT:
        return [f"only the OUT buffer can be stored, got {memory.name}"]
    errors = []
    pads = {k: v for k, v in _pads(insn).items() if v}
    if pads:
        errors.append(f"stores cannot pad, got {pads}")
    if insn.y_size > 1 and insn.x_stride < insn.x_size:
        errors.append(
            f"x_stride = {insn.x_stride} < x_size = {insn.x_size}: stored rows would overlap"
        )
    errors += _sram_window_errors(insn, config)
    return errors


def _sram_window_errors(insn: MemInstruction, config: HardwareConfig) -> list[str]:
    depth = sram_depth(insn.memory_type, config)
    end = insn.sram_base + insn.sram_extent
    if not insn.is_token_only and end > depth:
        return [
            f"SRAM window [{insn.sram_base}, {end}) of {insn.rows} rows x "
            f"{insn.row_width} elements exceeds the {sram_buffer(insn.memory_type)} "
            f"buffer depth {depth}"
        ]
    return []


def _loop_errors(insn: LoopInstruction, config: HardwareConfig) -> list[str]:
    errors = []
    if not insn.uop_bgn < insn.uop_end:
        errors.append(f"empty micro-op range [{insn.uop_bgn}, {insn.uop_end})")
    if insn.uop_end > config.uop_depth:
        errors.append(
            f"micro-op range [{insn.uop_bgn}, {insn.uop_end}) exceeds the UOP buffer "
            f"depth {config.uop_depth}"
        )
    if insn.iter_out < 1 or insn.iter_in < 1:
        errors.append(f"loop extents must be >= 1, got iter_out = {insn.iter_out}, "
                      f"iter_in = {insn.iter_in}")
    return errors


# ------------------------------------------------------------------ DRAM ranges
def dram_byte_range(insn: Instruction, config: HardwareConfig) -> tuple[int, int] | None:
    """The ``[first, end)`` pool bytes a LOAD/STORE touches, or None if it moves nothing."""
    if not isinstance(insn, MemInstruction) or insn.is_token_only:
        return None
    elem = dram_elem_bytes(insn.memory_type, config)
    first = insn.dram_base * elem
    last_elem = insn.dram_base + (insn.y_size - 1) * insn.x_stride + insn.x_size
    return first, last_elem * elem


def dram_range_error(insn: Instruction, config: HardwareConfig, pool_bytes: int) -> str | None:
    span = dram_byte_range(insn, config)
    if span is None or span[1] <= pool_bytes:
        return None
    return (
        f"DRAM bytes [{span[0]}, {span[1]}) lie outside the {pool_bytes}-byte device pool "
        f"(dram_base = {insn.dram_base} elements of "
        f"{dram_elem_bytes(insn.memory_type, config)} bytes)"
    )


def instruction_byte_range(insn_offset: int, insn_count: int) -> tuple[int, int]:
    return insn_offset * INSN_BYTES, (insn_offset + insn_count) * INSN_BYTES


def instruction_range_error(insn_offset: int, insn_count: int, pool_bytes: int) -> str | None:
    """Why instructions ``[insn_offset, +insn_count)`` cannot be fetched from the pool, if so."""
    for name, value in (("insn_offset", insn_offset), ("insn_count", insn_count)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
            return f"{name} must be a non-negative integer, got {value!r}"
    first, end = instruction_byte_range(insn_offset, insn_count)
    if end > pool_bytes:
        return (f"instructions [{insn_offset}, {insn_offset + insn_count}) occupy pool bytes "
                f"[{first}, {end}), outside the {pool_bytes}-byte device pool")
    return None


def _raw_mnemonic(words: np.ndarray) -> str:
    """The name of a word pair that does not decode: its opcode, if that one is valid."""
    opcode = int(decode_opcodes(words)[0])
    return Opcode(opcode).name if opcode in Opcode._value2member_map_ else f"opcode {opcode}"


def launch_problems(insn: Instruction, config: HardwareConfig, pool_bytes: int | None) -> list[str]:
    """Everything that forbids launching ``insn``: malformed, or DRAM outside the pool."""
    problems = instruction_errors(insn, config)
    if pool_bytes is not None:
        dram_error = dram_range_error(insn, config, pool_bytes)
        if dram_error:
            problems.append(dram_error)
    return problems


def decode_launch(words: np.ndarray, config: HardwareConfig, pool_bytes: int,
                  insn_offset: int) -> list[Instruction]:
    """Decode the instructions of one launch and check each of them before anything runs.

    The card runtime and the simulator both call this, so a program one of them refuses
    the other refuses too. Raises :class:`IsaError` naming the first bad instruction
    (``IsaError.index``) and all its problems.
    """
    try:
        insns = decode_instructions(words, config, first_index=insn_offset)
    except EncodingError as err:
        index = err.index if err.index is not None else insn_offset
        name = _raw_mnemonic(words[index - insn_offset])
        problem = str(err).removeprefix(f"instruction {index}: ")
        raise IsaError(f"instruction {index} ({name}): cannot be decoded: {problem}",
                       index=index, mnemonic=name) from err
    for index, insn in enumerate(insns, start=insn_offset):
        problems = launch_problems(insn, config, pool_bytes)
        if problems:
            raise IsaError(f"instruction {index} ({mnemonic(insn)}): " + "; ".join(problems),
                           index=index, mnemonic=mnemonic(insn))
    return insns


# ------------------------------------------------------------------ loop indices
@dataclass(frozen=True)
class LoopIndices:
    """The buffer indices of every step of a GEMM/ALU loop, in execution order."""

    dst: np.ndarray
    src: np.ndarray
    wgt: np.ndarray | None  # None for ALU


def loop_indices(insn: LoopInstruction, uop_dst: np.ndarray, uop_src: np.ndarray,
                 uop_wgt: np.ndarray) -> LoopIndices:
    """Vectorised ``for o, for i, for u`` index computation (docs/isa.md, GEMM).

    ``uop_*`` are the decoded fields of the *whole* UOP buffer; the loop uses entries
    ``[uop_bgn, uop_end)``.
    """
    u = slice(insn.uop_bgn, insn.uop_end)
    o = np.arange(insn.iter_out, dtype=np.int64)[:, None, None]
    i = np.arange(insn.iter_in, dtype=np.int64)[None, :, None]

    def index(base: np.ndarray, f_out: int, f_in: int) -> np.ndarray:
        return (base[u][None, None, :] + o * f_out + i * f_in).reshape(-1)

    dst = index(uop_dst, insn.dst_factor_out, insn.dst_factor_in)
    src = index(uop_src, insn.src_factor_out, insn.src_factor_in)
    wgt = None
    if isinstance(insn, GemmInsn):
        wgt = index(uop_wgt, insn.wgt_factor_out, insn.wgt_factor_in)
    return LoopIndices(dst, src, wgt)


def module_of(insn: Instruction) -> Module:
    return insn.module


__all__ = [
    "decode_launch",
    "instruction_range_error",
    "launch_problems",
    "IsaError",
    "LoopIndices",
    "check_instruction",
    "dram_byte_range",
    "dram_elem_bytes",
    "dram_range_error",
    "instruction_errors",
    "loop_indices",
    "mnemonic",
    "module_of",
    "sram_buffer",
    "sram_depth",
]
