"""The accelerator's instruction set as plain Python data, and its binary encoding.

This module is the single definition of what an instruction *is*: the ``isa`` dialect,
the assembler, the simulator, the token checker and the card runtime all go through it.
Field layouts are derived from a :class:`~canopy_mlir.hw.HardwareConfig`: fields are
packed LSB-first into two little-endian uint64 words, and a field that does not fit in
what is left of word 0 starts at bit 0 of word 1 (VTA's encoding).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from enum import IntEnum
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np

if TYPE_CHECKING:
    from canopy_mlir.hw import HardwareConfig

WORD_BITS = 64
WORDS_PER_INSN = 2
UOP_BITS = 32

# Widths VTA fixes independently of the buffer sizes.
OPCODE_BITS = 3
MEMORY_TYPE_BITS = 3
SRAM_ADDR_BITS = 16
DRAM_ADDR_BITS = 32
SIZE_BITS = 16
STRIDE_BITS = 16
PAD_BITS = 4
LOOP_ITER_BITS = 14
ALU_OPCODE_BITS = 3
ALU_IMM_BITS = 16


class EncodingError(ValueError):
    """A field value that does not fit its encoding, or bytes that are no instruction.

    ``index`` is the instruction (or micro-op) index the error is about, when there is one.
    """

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


class Opcode(IntEnum):
    LOAD = 0
    STORE = 1
    GEMM = 2
    FINISH = 3
    ALU = 4


class MemoryType(IntEnum):
    UOP = 0
    WGT = 1
    INP = 2
    ACC = 3
    OUT = 4
    ACC_8BIT = 5


class AluOpcode(IntEnum):
    MIN = 0
    MAX = 1
    ADD = 2
    SHR = 3
    MUL = 4


class Module(IntEnum):
    """The three concurrent modules of the core, in pipeline order."""

    LOAD = 0
    COMPUTE = 1
    STORE = 2


LOAD_MODULE_MEMORY_TYPES = frozenset({MemoryType.INP, MemoryType.WGT})
COMPUTE_LOAD_MEMORY_TYPES = frozenset(
    {MemoryType.UOP, MemoryType.ACC, MemoryType.ACC_8BIT}
)


# --------------------------------------------------------------------- layouts
@dataclass(frozen=True)
class Field:
    """One bit field: ``width`` bits at bit ``lo`` of 64-bit word ``word``."""

    name: str
    word: int
    lo: int
    width: int
    signed: bool = False

    @property
    def min_value(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def max_value(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    def describe(self) -> str:
        return f"word {self.word} bits [{self.lo}:{self.lo + self.width})"


@dataclass(frozen=True)
class Layout:
    """The bit layout of one instruction kind (or of a micro-op)."""

    kind: str
    fields: tuple[Field, ...]
    words: int
    word_bits: int

    def field(self, name: str) -> Field:
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(f"{self.kind} has no field '{name}'")

    def check(self, values: Mapping[str, int], where: str = "") -> None:
        """Raise :class:`EncodingError` naming the first field whose value does not fit."""
        for field in self.fields:
            value = int(values[field.name])
            if not field.min_value <= value <= field.max_value:
                raise EncodingError(
                    f"{where}{self.kind}.{field.name} = {value} does not fit its "
                    f"{field.width}-bit field ({field.describe()}): allowed range is "
                    f"[{field.min_value}, {field.max_value}]"
                )

    def encode(self, values: Mapping[str, int], where: str = "") -> list[int]:
        """Pack checked field values into ``self.words`` unsigned integers."""
        self.check(values, where)
        words = [0] * self.words
        for field in self.fields:
            raw = int(values[field.name]) & ((1 << field.width) - 1)
            words[field.word] |= raw << field.lo
        return words

    def decode(self, words: np.ndarray) -> dict[str, np.ndarray]:
        """Unpack every field of a ``(n, words)`` uint array into int64 arrays."""
        words = np.asarray(words, dtype=np.uint64).reshape(-1, self.words)
        result = {}
        for field in self.fields:
            raw = (words[:, field.word] >> np.uint64(field.lo)) & np.uint64(
                (1 << field.width) - 1
            )
            value = raw.astype(np.int64)
            if field.signed:
                value = np.where(value >= 1 << (field.width - 1), value - (1 << field.width), value)
            result[field.name] = value
        return result


def _pack(kind: str, specs: Sequence[tuple[str, int] | tuple[str, int, bool]],
          words: int, word_bits: int, config_name: str) -> Layout:
    """Lay fields out LSB-first; a field that does not fit the current word starts the next."""
    from canopy_mlir.hw import ConfigError

    placed = []
    word, lo = 0, 0
    for spec in specs:
        name, width = spec[0], spec[1]
        signed = bool(spec[2]) if len(spec) > 2 else False
        if lo + width > word_bits:
            word, lo = word + 1, 0
        if word >= words or width > word_bits:
            raise ConfigError(
                f"config '{config_name}': the {kind} encoding does not fit in "
                f"{words * word_bits} bits (field '{name}' of {width} bits overflows)"
            )
        placed.append(Field(name, word, lo, width, signed))
        lo += width
    return Layout(kind, tuple(placed), words, word_bits)


_HEADER = (("opcode", OPCODE_BITS), ("pop_prev", 1), ("pop_next", 1),
           ("push_prev", 1), ("push_next", 1))


@dataclass(frozen=True)
class IsaLayouts:
    """Every layout of one hardware config."""

    mem: Layout
    gemm: Layout
    alu: Layout
    finish: Layout
    uop: Layout

    def for_opcode(self, opcode: int) -> Layout:
        return {
            Opcode.LOAD: self.mem,
            Opcode.STORE: self.mem,
            Opcode.GEMM: self.gemm,
            Opcode.ALU: self.alu,
            Opcode.FINISH: self.finish,
        }[Opcode(opcode)]


def log2_depth(depth: int) -> int:
    return max(depth - 1, 0).bit_length()


@lru_cache(maxsize=None)
def layouts_for(config: HardwareConfig) -> IsaLayouts:
    """Derive every instruction and micro-op layout from the config's buffer depths."""
    log_uop = log2_depth(config.uop_depth)
    log_inp = log2_depth(config.inp_depth)
    log_wgt = log2_depth(config.wgt_depth)
    log_acc = log2_depth(config.acc_depth)

    def insn(kind, specs):
        return _pack(kind, _HEADER + tuple(specs), WORDS_PER_INSN, WORD_BITS, config.name)

    loop = (("reset", 1), ("uop_bgn", log_uop), ("uop_end", log_uop + 1),
            ("iter_out", LOOP_ITER_BITS), ("iter_in", LOOP_ITER_BITS),
            ("dst_factor_out", log_acc), ("dst_factor_in", log_acc))
    return IsaLayouts(
        mem=insn("mem", (
            ("memory_type", MEMORY_TYPE_BITS), ("sram_base", SRAM_ADDR_BITS),
            ("dram_base", DRAM_ADDR_BITS), ("y_size", SIZE_BITS), ("x_size", SIZE_BITS),
            ("x_stride", STRIDE_BITS), ("y_pad0", PAD_BITS), ("y_pad1", PAD_BITS),
            ("x_pad0", PAD_BITS), ("x_pad1", PAD_BITS))),
        gemm=insn("gemm", loop + (
            ("src_factor_out", log_inp), ("src_factor_in", log_inp),
            ("wgt_factor_out", log_wgt), ("wgt_factor_in", log_wgt))),
        alu=insn("alu", loop + (
            ("src_factor_out", log_acc), ("src_factor_in", log_acc),
            ("alu_opcode", ALU_OPCODE_BITS), ("use_imm", 1), ("imm", ALU_IMM_BITS, True))),
        finish=insn("finish", ()),
        uop=_pack("uop", (("dst", log_acc), ("src", max(log_inp, log_acc)),
                          ("wgt", log_wgt)), 1, UOP_BITS, config.name),
    )


# ---------------------------------------------------------------- instructions
@dataclass(frozen=True)
class Instruction:
    """Common part of every instruction: the four dependency-token flags."""

    OPCODE: ClassVar[Opcode]
    pop_prev: bool = False
    pop_next: bool = False
    push_prev: bool = False
    push_next: bool = False

    def field_values(self) -> dict[str, int]:
        values = {f.name: int(getattr(self, f.name)) for f in fields(self)}
        values["opcode"] = int(self.OPCODE)
        return values

    @property
    def module(self) -> Module:
        return Module.COMPUTE


@dataclass(frozen=True)
class MemInstruction(Instruction):
    """LOAD or STORE: a 2-D strided copy between DRAM and one SRAM buffer."""

    memory_type: MemoryType = MemoryType.INP
    sram_base: int = 0
    dram_base: int = 0
    y_size: int = 1
    x_size: int = 1
    x_stride: int = 1
    y_pad0: int = 0
    y_pad1: int = 0
    x_pad0: int = 0
    x_pad1: int = 0

    @property
    def is_token_only(self) -> bool:
        """A zero-sized copy moves no data and only carries dependency tokens."""
        return self.x_size == 0 or self.y_size == 0

    @property
    def row_width(self) -> int:
        return self.x_pad0 + self.x_size + self.x_pad1

    @property
    def rows(self) -> int:
        return self.y_pad0 + self.y_size + self.y_pad1

    @property
    def sram_extent(self) -> int:
        """SRAM elements written (LOAD) or read (STORE), padding included."""
        return 0 if self.is_token_only else self.rows * self.row_width


@dataclass(frozen=True)
class LoadInsn(MemInstruction):
    OPCODE: ClassVar[Opcode] = Opcode.LOAD

    @property
    def module(self) -> Module:
        if self.memory_type in LOAD_MODULE_MEMORY_TYPES:
            return Module.LOAD
        return Module.COMPUTE


@dataclass(frozen=True)
class StoreInsn(MemInstruction):
    OPCODE: ClassVar[Opcode] = Opcode.STORE
    memory_type: MemoryType = MemoryType.OUT

    @property
    def module(self) -> Module:
        return Module.STORE


@dataclass(frozen=True)
class LoopInstruction(Instruction):
    """GEMM and ALU: a two-level loop over a range of the micro-op buffer."""

    reset: bool = False
    uop_bgn: int = 0
    uop_end: int = 1
    iter_out: int = 1
    iter_in: int = 1
    dst_factor_out: int = 0
    dst_factor_in: int = 0
    src_factor_out: int = 0
    src_factor_in: int = 0

    @property
    def steps(self) -> int:
        """Micro-op executions: iter_out * iter_in * (uop_end - uop_bgn)."""
        return self.iter_out * self.iter_in * max(self.uop_end - self.uop_bgn, 0)


@dataclass(frozen=True)
class GemmInsn(LoopInstruction):
    OPCODE: ClassVar[Opcode] = Opcode.GEMM
    wgt_factor_out: int = 0
    wgt_factor_in: int = 0


@dataclass(frozen=True)
class AluInsn(LoopInstruction):
    OPCODE: ClassVar[Opcode] = Opcode.ALU
    alu_opcode: AluOpcode = AluOpcode.ADD
    use_imm: bool = False
    imm: int = 0


@dataclass(frozen=True)
class FinishInsn(Instruction):
    OPCODE: ClassVar[Opcode] = Opcode.FINISH


@dataclass(frozen=True)
class Uop:
    """A micro-op: buffer indices that a GEMM or ALU loop offsets.

    ``dst`` indexes ACC; ``src`` indexes INP (GEMM) or ACC (ALU); ``wgt`` indexes WGT.
    """

    dst: int = 0
    src: int = 0
    wgt: int = 0


_CLASS_BY_OPCODE: dict[Opcode, type[Instruction]] = {
    Opcode.LOAD: LoadInsn,
    Opcode.STORE: StoreInsn,
    Opcode.GEMM: GemmInsn,
    Opcode.ALU: AluInsn,
    Opcode.FINISH: FinishInsn,
}
_ENUM_FIELDS = {"memory_type": MemoryType, "alu_opcode": AluOpcode}
_BOOL_FIELDS = {"pop_prev", "pop_next", "push_prev", "push_next", "reset", "use_imm"}


# ------------------------------------------------------------ encode / decode
def encode_instructions(insns: Iterable[Instruction], config: HardwareConfig) -> np.ndarray:
    """Assemble instructions into a ``(n, 2)`` uint64 array (bit-exact VTA encoding)."""
    layouts = layouts_for(config)
    rows = [
        layouts.for_opcode(insn.OPCODE).encode(insn.field_values(), where=f"instruction {i}: ")
        for i, insn in enumerate(insns)
    ]
    return np.array(rows, dtype=np.uint64).reshape(-1, WORDS_PER_INSN)


def instructions_to_bytes(insns: Iterable[Instruction], config: HardwareConfig) -> bytes:
    return encode_instructions(insns, config).astype("<u8").tobytes()


def decode_opcodes(words: np.ndarray) -> np.ndarray:
    words = np.asarray(words, dtype=np.uint64).reshape(-1, WORDS_PER_INSN)
    return (words[:, 0] & np.uint64((1 << OPCODE_BITS) - 1)).astype(np.int64)


def decode_instructions(words: np.ndarray | bytes, config: HardwareConfig,
                        first_index: int = 0) -> list[Instruction]:
    """Disassemble a ``(n, 2)`` uint64 array (or raw little-endian bytes)."""
    if isinstance(words, bytes | bytearray | memoryview):
        if len(words) % (WORDS_PER_INSN * 8):
            raise EncodingError(
                f"instruction buffer of {len(words)} bytes is not a multiple of "
                f"{WORDS_PER_INSN * 8} bytes"
            )
        words = np.frombuffer(bytes(words), dtype="<u8")
    words = np.asarray(words, dtype=np.uint64).reshape(-1, WORDS_PER_INSN)
    layouts = layouts_for(config)
    opcodes = decode_opcodes(words)
    _raise_for_first_undecodable(words, opcodes, layouts, first_index)
    result: list[Instruction | None] = [None] * len(words)
    for opcode, cls in _CLASS_BY_OPCODE.items():
        rows = np.flatnonzero(opcodes == opcode)
        if rows.size == 0:
            continue
        columns = layouts.for_opcode(opcode).decode(words[rows])
        names = [f.name for f in fields(cls)]
        for n, row in enumerate(rows):
            kwargs = {name: _typed(name, int(columns[name][n])) for name in names}
            for name, enum in _ENUM_FIELDS.items():
                if name in kwargs:
                    kwargs[name] = enum(kwargs[name])
            result[row] = cls(**kwargs)
    return result  # type: ignore[return-value]


def _raise_for_first_undecodable(words: np.ndarray, opcodes: np.ndarray, layouts: IsaLayouts,
                                 first_index: int) -> None:
    """Raise :class:`EncodingError` for the lowest-indexed word pair that is no instruction.

    A word pair is no instruction when its opcode, or an enumerated field of its kind
    (memory_type, alu_opcode), holds a value outside the enumeration.
    """
    problems: list[tuple[int, str]] = []
    bad = np.flatnonzero(~np.isin(opcodes, [int(o) for o in Opcode]))
    if bad.size:
        problems.append((int(bad[0]), f"opcode {int(opcodes[bad[0]])} is not one of "
                                      f"{_enum_listing(Opcode)}"))
    for opcodes_of_kind, name, enum in (((Opcode.LOAD, Opcode.STORE), "memory_type", MemoryType),
                                        ((Opcode.ALU,), "alu_opcode", AluOpcode)):
        rows = np.flatnonzero(np.isin(opcodes, [int(o) for o in opcodes_of_kind]))
        if rows.size == 0:
            continue
        values = layouts.for_opcode(opcodes_of_kind[0]).decode(words[rows])[name]
        bad = np.flatnonzero(~np.isin(values, [int(v) for v in enum]))
        if bad.size:
            problems.append((int(rows[bad[0]]), f"{name} {int(values[bad[0]])} is not one of "
                                                f"{_enum_listing(enum)}"))
    if problems:
        row, problem = min(problems)
        raise EncodingError(f"instruction {first_index + row}: {problem}", index=first_index + row)


def _enum_listing(enum: type[IntEnum]) -> str:
    return ", ".join(f"{member.name}={member.value}" for member in enum)


def _typed(name: str, value: int):
    return bool(value) if name in _BOOL_FIELDS else value


def encode_uops(uops: Iterable[Uop], config: HardwareConfig) -> np.ndarray:
    """Assemble micro-ops into a uint32 array."""
    layout = layouts_for(config).uop
    values = [
        layout.encode({"dst": u.dst, "src": u.src, "wgt": u.wgt}, where=f"uop {i}: ")[0]
        for i, u in enumerate(uops)
    ]
    return np.array(values, dtype=np.uint32)


def decode_uop_fields(words: np.ndarray, config: HardwareConfig) -> dict[str, np.ndarray]:
    """Vectorised micro-op decode: ``{"dst", "src", "wgt"}`` int64 arrays."""
    layout = layouts_for(config).uop
    return layout.decode(np.asarray(words, dtype=np.uint32).astype(np.uint64))


def decode_uops(words: np.ndarray | bytes, config: HardwareConfig) -> list[Uop]:
    if isinstance(words, bytes | bytearray | memoryview):
        if len(words) % 4:
            raise EncodingError(f"micro-op buffer of {len(words)} bytes is not a multiple of 4")
        words = np.frombuffer(bytes(words), dtype="<u4")
    columns = decode_uop_fields(words, config)
    return [
        Uop(int(d), int(s), int(w))
        for d, s, w in zip(columns["dst"], columns["src"], columns["wgt"], strict=True)
    ]
