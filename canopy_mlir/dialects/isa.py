"""The ``isa`` dialect: one accelerator launch as MLIR.

An ``isa.program`` is the unit the card runs: a hardware config, a micro-op table placed
at a DRAM address, and an instruction list ending in FINISH. Every instruction op holds
*every* field of its :mod:`canopy_mlir.isa_format` dataclass as a property, and all
conversions go through those dataclasses (``op.to_instruction()``,
:func:`op_from_instruction`), so the dialect, the assembler and the disassembler cannot
disagree about what an instruction is::

    isa.program @conv config("intelfocl") {
      isa.uops at 4096 {
        isa.uop dst 0 src 0 wgt 0
      }
      isa.load uop sram 0 dram 4096 size 1x1 stride 1
      isa.load inp sram 0 dram 256 size 1x16 stride 16 pad [1, 1, 0, 0] deps [push_next]
      isa.gemm reset uops [0, 1) iter 4x4 dst (16, 1) deps [pop_prev]
      isa.alu max imm 0 uops [0, 1) iter 16x1 dst (1, 0) src (1, 0)
      isa.store out sram 0 dram 8192 size 1x16 stride 16 deps [pop_prev]
      isa.finish
    }

Syntax notes (defaults are omitted when printing):

- LOAD/STORE: ``<memory> sram N dram N size YxX stride N [pad [y0, y1, x0, x1]]``.
- GEMM: ``[reset] uops [bgn, end) iter OUTxIN [dst (out, in)] [src (..)] [wgt (..)]``
  where the factor pairs are ``(*_factor_out, *_factor_in)``, omitted when both are 0.
- ALU: ``<min|max|add|shr|mul> [reset] [imm N]`` then the GEMM loop clauses (no wgt).
  ``imm N`` sets ``use_imm``; an immediate that is encoded but unused (``use_imm``
  clear) prints as ``unused_imm N`` so that decoded binaries round-trip.
- Every instruction takes ``deps [pop_prev, pop_next, push_prev, push_next]`` (any
  subset) and a trailing ``attributes {...}`` dictionary.
- ``config(...)`` is a preset name or HardwareConfig JSON path (string), or an inline
  dictionary of VTA ``vta_config.json`` keys, e.g. ``config({LOG_BATCH = 0, ...})``.
- ``isa.uops at N`` places the table at DRAM element N (elements of 4 bytes); micro-op
  ``k`` of the table lives at element ``N + k``.

Verification: each instruction and micro-op checks its field widths against the
enclosing program's config (``isa_format.Layout.check``) and its well-formedness
(``isa_semantics.instruction_errors``). The program checks that it ends with FINISH and,
when it has a micro-op table, simulates which table entries every LOAD UOP puts in the
UOP buffer, then bounds every GEMM/ALU index exactly (``isa_semantics.loop_indices``).
A program without an ``isa.uops`` table skips those micro-op checks: its table is
supplied by other means (e.g. a disassembled instruction buffer alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import ClassVar

import numpy as np
from xdsl.dialects.builtin import (
    DictionaryAttr,
    FloatAttr,
    IntegerAttr,
    StringAttr,
    UnitAttr,
    f64,
    i64,
)
from xdsl.dialects.utils import EnumAttribute
from xdsl.ir import Attribute, Block, Dialect, Operation, Region, SpacedOpaqueSyntaxAttribute
from xdsl.irdl import (
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    opt_prop_def,
    prop_def,
    region_def,
    traits_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import IsolatedFromAbove, NoTerminator, SymbolOpInterface
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.str_enum import StrEnum

from canopy_mlir.hw import INSN_BYTES, PRESETS, UOP_BYTES, ConfigError, HardwareConfig, load_config
from canopy_mlir.isa_format import (
    WORDS_PER_INSN,
    AluInsn,
    AluOpcode,
    EncodingError,
    FinishInsn,
    GemmInsn,
    Instruction,
    LoadInsn,
    LoopInstruction,
    MemInstruction,
    MemoryType,
    Opcode,
    StoreInsn,
    Uop,
    decode_instructions,
    decode_opcodes,
    decode_uops,
    encode_instructions,
    encode_uops,
    layouts_for,
)
from canopy_mlir.isa_semantics import TOKEN_FLAGS, instruction_errors, loop_indices, mnemonic


class IsaBinaryError(ValueError):
    """Bytes that are not an instruction buffer or micro-op table for the config."""


# ----------------------------------------------------------------- enum attributes
class MemoryKind(StrEnum):
    """Keyword spelling of :class:`~canopy_mlir.isa_format.MemoryType`."""

    UOP = "uop"
    WGT = "wgt"
    INP = "inp"
    ACC = "acc"
    OUT = "out"
    ACC_8BIT = "acc_8bit"


@irdl_attr_definition
class MemoryTypeAttr(EnumAttribute[MemoryKind], SpacedOpaqueSyntaxAttribute):
    """``#isa<memory inp>``: the memory a LOAD/STORE moves."""

    name = "isa.memory"


class AluKind(StrEnum):
    """Keyword spelling of :class:`~canopy_mlir.isa_format.AluOpcode`."""

    MIN = "min"
    MAX = "max"
    ADD = "add"
    SHR = "shr"
    MUL = "mul"


@irdl_attr_definition
class AluOpcodeAttr(EnumAttribute[AluKind], SpacedOpaqueSyntaxAttribute):
    """``#isa<alu_op max>``: the ALU operation."""

    name = "isa.alu_op"


_MEMORY_ATTRS = {m: MemoryTypeAttr(MemoryKind[m.name]) for m in MemoryType}
_ALU_ATTRS = {a: AluOpcodeAttr(AluKind[a.name]) for a in AluOpcode}
_UNIT = UnitAttr()
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


@lru_cache(maxsize=1 << 14)
def _int_attr(value: int) -> IntegerAttr:
    """Integer properties are i64; identical values share one (immutable) attribute."""
    return IntegerAttr(value, i64)


def _field_default(cls: type, name: str) -> int:
    return next(f.default for f in fields(cls) if f.name == name)


def _int_prop(cls: type, name: str):
    """An i64 property defaulting to the isa_format dataclass default.

    Ops built here store only fields that differ from their default, which keeps the
    generic form short (and about twice as fast to parse); an absent property reads as
    its default, exactly like an omitted dataclass argument.
    """
    return opt_prop_def(IntegerAttr[i64], default_value=_int_attr(int(_field_default(cls, name))))


# ------------------------------------------------------- properties <-> dataclasses
_BOOL_FIELDS = frozenset({*TOKEN_FLAGS, "reset", "use_imm"})


def _attr_to_value(name: str, attr: Attribute | None):
    if name in _BOOL_FIELDS:
        return attr is not None
    if name == "memory_type":
        return MemoryType[attr.data.name]  # type: ignore[union-attr]
    if name == "alu_opcode":
        return AluOpcode[attr.data.name]  # type: ignore[union-attr]
    return attr.value.data  # type: ignore[union-attr]


def _value_to_attr(name: str, value) -> Attribute | None:
    if name in _BOOL_FIELDS:
        return _UNIT if value else None
    if name == "memory_type":
        return _MEMORY_ATTRS[MemoryType(value)]
    if name == "alu_opcode":
        return _ALU_ATTRS[AluOpcode(value)]
    return _int_attr(int(value))


_REQUIRED_FIELDS = frozenset({"memory_type", "alu_opcode"})


def _properties_of(insn: Instruction | Uop) -> dict[str, Attribute]:
    """Properties in dataclass field order (the order the generic form prints).

    Fields at their dataclass default are left out (see ``_int_prop``), except the
    memory type and ALU opcode, which always print.
    """
    props = {}
    for f in fields(insn):
        value = getattr(insn, f.name)
        if f.name not in _REQUIRED_FIELDS and value == f.default:
            continue
        attr = _value_to_attr(f.name, value)
        if attr is not None:
            props[f.name] = attr
    return props


def _values_of(props: dict[str, Attribute], cls: type) -> dict[str, object]:
    """Dataclass arguments for the properties present (absent ones take the default)."""
    return {f.name: _attr_to_value(f.name, props[f.name]) for f in fields(cls)
            if f.name in props}


# ------------------------------------------------------------- custom-syntax helpers
def _parse_int(parser: Parser, what: str) -> int:
    value = parser.parse_integer(allow_boolean=False, context_msg=f" for {what}")
    if not _I64_MIN <= value <= _I64_MAX:
        parser.raise_error(f"{what} = {value} does not fit in 64 bits")
    return value


def _parse_signed_dim(parser: Parser) -> int:
    negative = parser.parse_optional_punctuation("-") is not None
    value = parser.parse_shape_dimension(allow_dynamic=False)
    return -value if negative else value


def _parse_dims(parser: Parser, what: str) -> tuple[int, int]:
    """``AxB`` (like a tensor shape; ``0x16`` is 0 by 16, not hexadecimal)."""
    first = _parse_signed_dim(parser)
    parser.parse_shape_delimiter()
    second = _parse_signed_dim(parser)
    for value in (first, second):
        if not _I64_MIN <= value <= _I64_MAX:
            parser.raise_error(f"{what} {value} does not fit in 64 bits")
    return first, second


def _parse_int_list(parser: Parser, delimiter: Parser.Delimiter, what: str) -> list[int]:
    return parser.parse_comma_separated_list(delimiter, lambda: _parse_int(parser, what))


def _parse_factors(parser: Parser, role: str) -> tuple[int, int]:
    """``(out, in)``: the ``<role>_factor_out`` and ``<role>_factor_in`` of a loop."""
    start = parser.pos
    values = _parse_int_list(parser, Parser.Delimiter.PAREN, f"{role} factors")
    if len(values) != 2:
        parser.raise_error(
            f"{role} takes ({role}_factor_out, {role}_factor_in), got {len(values)} values",
            start, parser.pos,
        )
    return values[0], values[1]


def _parse_deps(parser: Parser) -> dict[str, bool]:
    if parser.parse_optional_keyword("deps") is None:
        return {}
    start = parser.pos
    flags = parser.parse_comma_separated_list(
        Parser.Delimiter.SQUARE,
        lambda: parser.parse_keyword_in(TOKEN_FLAGS, " (a dependency-token flag)"),
    )
    if len(set(flags)) != len(flags):
        parser.raise_error(f"deps [{', '.join(flags)}] names a flag twice", start, parser.pos)
    return dict.fromkeys(flags, True)


def _print_deps(printer: Printer, insn: Instruction) -> None:
    flags = [flag for flag in TOKEN_FLAGS if getattr(insn, flag)]
    if flags:
        printer.print_string(f" deps [{', '.join(flags)}]")


def _parse_attributes(parser: Parser, op: Operation) -> None:
    attributes = parser.parse_optional_attr_dict_with_keyword()
    if attributes is not None:
        op.attributes.update(attributes.data)


def _print_attributes(printer: Printer, op: Operation) -> None:
    printer.print_op_attributes(op.attributes, print_keyword=True)


def _parse_region(parser: Parser) -> Region:
    region = parser.parse_region()
    if not region.blocks:
        region.add_block(Block())
    return region


def _print_region(printer: Printer, region: Region) -> None:
    printer.print_string(" ")
    printer.print_region(region, print_entry_block_args=False, print_empty_block=False)


# ------------------------------------------------------------------ instruction ops
class InstructionOp(IRDLOperation):
    """An instruction of an ``isa.program``: its four dependency-token flags.

    Subclasses declare one property per field of ``INSN_CLASS``; the custom syntax is
    defined on the dataclass (parse builds one, print reads one).
    """

    INSN_CLASS: ClassVar[type[Instruction]]

    pop_prev = opt_prop_def(UnitAttr)
    pop_next = opt_prop_def(UnitAttr)
    push_prev = opt_prop_def(UnitAttr)
    push_next = opt_prop_def(UnitAttr)

    def to_instruction(self) -> Instruction:
        """The :mod:`~canopy_mlir.isa_format` dataclass this op stands for."""
        return self.INSN_CLASS(**_values_of(self.properties, self.INSN_CLASS))

    @classmethod
    def from_instruction(cls, insn: Instruction) -> InstructionOp:
        if type(insn) is not cls.INSN_CLASS:
            raise TypeError(f"{cls.name} holds {cls.INSN_CLASS.__name__}, got {type(insn).__name__}")
        return cls.create(properties=_properties_of(insn))

    # ---------------------------------------------------------------- verification
    def program(self) -> ProgramOp | None:
        parent = self.parent_op()
        return parent if isinstance(parent, ProgramOp) else None

    def verify_(self) -> None:
        program = self.program()
        if program is None:
            where = self.parent_op().name if self.parent_op() else "no parent"
            raise VerifyException(
                f"{self.name} must be directly inside an isa.program, which gives it its "
                f"hardware config (it is in {where})"
            )
        config = program.try_hardware_config()
        if config is None:
            return  # The program reports its config error after its body verifies.
        insn = self.to_instruction()
        try:
            layouts_for(config).for_opcode(insn.OPCODE).check(insn.field_values())
        except EncodingError as err:
            raise VerifyException(f"{self._where(program, insn)}: {err}") from None
        errors = instruction_errors(insn, config)
        if errors:
            raise VerifyException(f"{self._where(program, insn)}: " + "; ".join(errors))

    def _where(self, program: ProgramOp, insn: Instruction) -> str:
        """How messages name this op; the linear index search only runs on errors."""
        index = program.instruction_ops().index(self)
        return f"instruction {index} ({mnemonic(insn)}) of @{program.sym_name.data}"

    # --------------------------------------------------------------- custom syntax
    @classmethod
    def parse(cls, parser: Parser) -> InstructionOp:
        values = cls._parse_fields(parser)
        values.update(_parse_deps(parser))
        op = cls.from_instruction(cls.INSN_CLASS(**values))
        _parse_attributes(parser, op)
        return op

    def print(self, printer: Printer) -> None:
        insn = self.to_instruction()
        self._print_fields(printer, insn)
        _print_deps(printer, insn)
        _print_attributes(printer, self)

    @classmethod
    def _parse_fields(cls, parser: Parser) -> dict[str, object]:
        """Dataclass arguments written between the op name and ``deps``."""
        return {}

    def _print_fields(self, printer: Printer, insn: Instruction) -> None:
        """Everything between the op name and ``deps``; FINISH has no fields."""


class _MemOp(InstructionOp):
    """LOAD/STORE: ``<memory> sram N dram N size YxX stride N [pad [y0, y1, x0, x1]]``."""

    memory_type = prop_def(MemoryTypeAttr)
    sram_base = _int_prop(MemInstruction, "sram_base")
    dram_base = _int_prop(MemInstruction, "dram_base")
    y_size = _int_prop(MemInstruction, "y_size")
    x_size = _int_prop(MemInstruction, "x_size")
    x_stride = _int_prop(MemInstruction, "x_stride")
    y_pad0 = _int_prop(MemInstruction, "y_pad0")
    y_pad1 = _int_prop(MemInstruction, "y_pad1")
    x_pad0 = _int_prop(MemInstruction, "x_pad0")
    x_pad1 = _int_prop(MemInstruction, "x_pad1")

    @classmethod
    def _parse_fields(cls, parser: Parser) -> dict[str, object]:
        values: dict[str, object] = {
            "memory_type": MemoryType[parser.parse_str_enum(MemoryKind).name]
        }
        if parser.parse_optional_keyword("sram") is not None:
            values["sram_base"] = _parse_int(parser, "sram_base")
        if parser.parse_optional_keyword("dram") is not None:
            values["dram_base"] = _parse_int(parser, "dram_base")
        if parser.parse_optional_keyword("size") is not None:
            values["y_size"], values["x_size"] = _parse_dims(parser, "size")
        if parser.parse_optional_keyword("stride") is not None:
            values["x_stride"] = _parse_int(parser, "x_stride")
        if parser.parse_optional_keyword("pad") is not None:
            start = parser.pos
            pads = _parse_int_list(parser, Parser.Delimiter.SQUARE, "pad")
            if len(pads) != 4:
                parser.raise_error(
                    f"pad takes [y_pad0, y_pad1, x_pad0, x_pad1], got {len(pads)} values",
                    start, parser.pos,
                )
            values.update(zip(("y_pad0", "y_pad1", "x_pad0", "x_pad1"), pads, strict=True))
        return values

    def _print_fields(self, printer: Printer, insn: Instruction) -> None:
        assert isinstance(insn, MemInstruction)
        printer.print_string(
            f" {MemoryKind[MemoryType(insn.memory_type).name].value}"
            f" sram {insn.sram_base} dram {insn.dram_base}"
            f" size {insn.y_size}x{insn.x_size} stride {insn.x_stride}"
        )
        pads = (insn.y_pad0, insn.y_pad1, insn.x_pad0, insn.x_pad1)
        if any(pads):
            printer.print_string(f" pad [{', '.join(map(str, pads))}]")


@irdl_op_definition
class LoadOp(_MemOp):
    """LOAD: DRAM -> UOP/WGT/INP/ACC SRAM, with zero padding on INP loads."""

    name = "isa.load"
    INSN_CLASS: ClassVar[type[Instruction]] = LoadInsn


@irdl_op_definition
class StoreOp(_MemOp):
    """STORE: OUT SRAM -> DRAM."""

    name = "isa.store"
    INSN_CLASS: ClassVar[type[Instruction]] = StoreInsn


class _LoopOp(InstructionOp):
    """GEMM/ALU: ``uops [bgn, end) iter OUTxIN`` and the index factors."""

    reset = opt_prop_def(UnitAttr)
    uop_bgn = _int_prop(LoopInstruction, "uop_bgn")
    uop_end = _int_prop(LoopInstruction, "uop_end")
    iter_out = _int_prop(LoopInstruction, "iter_out")
    iter_in = _int_prop(LoopInstruction, "iter_in")
    dst_factor_out = _int_prop(LoopInstruction, "dst_factor_out")
    dst_factor_in = _int_prop(LoopInstruction, "dst_factor_in")
    src_factor_out = _int_prop(LoopInstruction, "src_factor_out")
    src_factor_in = _int_prop(LoopInstruction, "src_factor_in")

    FACTOR_ROLES: ClassVar[tuple[str, ...]] = ("dst", "src")

    @classmethod
    def _parse_loop(cls, parser: Parser, values: dict[str, object]) -> None:
        if parser.parse_optional_keyword("uops") is not None:
            parser.parse_punctuation("[")
            values["uop_bgn"] = _parse_int(parser, "uop_bgn")
            parser.parse_punctuation(",")
            values["uop_end"] = _parse_int(parser, "uop_end")
            parser.parse_punctuation(")", " (micro-op ranges are half-open: [bgn, end))")
        if parser.parse_optional_keyword("iter") is not None:
            values["iter_out"], values["iter_in"] = _parse_dims(parser, "iter")
        for role in cls.FACTOR_ROLES:
            if parser.parse_optional_keyword(role) is not None:
                pair = _parse_factors(parser, role)
                values[f"{role}_factor_out"], values[f"{role}_factor_in"] = pair

    def _print_loop(self, printer: Printer, insn: LoopInstruction) -> None:
        printer.print_string(
            f" uops [{insn.uop_bgn}, {insn.uop_end}) iter {insn.iter_out}x{insn.iter_in}"
        )
        for role in self.FACTOR_ROLES:
            pair = (getattr(insn, f"{role}_factor_out"), getattr(insn, f"{role}_factor_in"))
            if any(pair):
                printer.print_string(f" {role} ({pair[0]}, {pair[1]})")


@irdl_op_definition
class GemmOp(_LoopOp):
    """GEMM: ``[reset]`` and the loop clauses, with ``wgt`` factors."""

    name = "isa.gemm"
    INSN_CLASS: ClassVar[type[Instruction]] = GemmInsn
    FACTOR_ROLES: ClassVar[tuple[str, ...]] = ("dst", "src", "wgt")

    wgt_factor_out = _int_prop(GemmInsn, "wgt_factor_out")
    wgt_factor_in = _int_prop(GemmInsn, "wgt_factor_in")

    @classmethod
    def _parse_fields(cls, parser: Parser) -> dict[str, object]:
        values: dict[str, object] = {"reset": parser.parse_optional_keyword("reset") is not None}
        cls._parse_loop(parser, values)
        return values

    def _print_fields(self, printer: Printer, insn: Instruction) -> None:
        assert isinstance(insn, GemmInsn)
        if insn.reset:
            printer.print_string(" reset")
        self._print_loop(printer, insn)


@irdl_op_definition
class AluOp(_LoopOp):
    """ALU: ``<opcode> [reset] [imm N | unused_imm N]`` and the loop clauses."""

    name = "isa.alu"
    INSN_CLASS: ClassVar[type[Instruction]] = AluInsn

    alu_opcode = prop_def(AluOpcodeAttr)
    use_imm = opt_prop_def(UnitAttr)
    imm = _int_prop(AluInsn, "imm")

    @classmethod
    def _parse_fields(cls, parser: Parser) -> dict[str, object]:
        values: dict[str, object] = {
            "alu_opcode": AluOpcode[parser.parse_str_enum(AluKind).name],
            "reset": parser.parse_optional_keyword("reset") is not None,
        }
        if parser.parse_optional_keyword("imm") is not None:
            values["use_imm"], values["imm"] = True, _parse_int(parser, "imm")
        elif parser.parse_optional_keyword("unused_imm") is not None:
            values["imm"] = _parse_int(parser, "imm")
        cls._parse_loop(parser, values)
        return values

    def _print_fields(self, printer: Printer, insn: Instruction) -> None:
        assert isinstance(insn, AluInsn)
        printer.print_string(f" {AluKind[insn.alu_opcode.name].value}")
        if insn.reset:
            printer.print_string(" reset")
        if insn.use_imm:
            printer.print_string(f" imm {insn.imm}")
        elif insn.imm:
            printer.print_string(f" unused_imm {insn.imm}")
        self._print_loop(printer, insn)


@irdl_op_definition
class FinishOp(InstructionOp):
    """FINISH: ends the program."""

    name = "isa.finish"
    INSN_CLASS: ClassVar[type[Instruction]] = FinishInsn


_OP_BY_INSN: dict[type[Instruction], type[InstructionOp]] = {
    op.INSN_CLASS: op for op in (LoadOp, StoreOp, GemmOp, AluOp, FinishOp)
}


def op_from_instruction(insn: Instruction) -> InstructionOp:
    """The ``isa`` op for an :mod:`~canopy_mlir.isa_format` instruction."""
    try:
        op_class = _OP_BY_INSN[type(insn)]
    except KeyError:
        raise TypeError(f"{type(insn).__name__} is not an isa_format instruction") from None
    return op_class.from_instruction(insn)


# ------------------------------------------------------------------ micro-op table
@irdl_op_definition
class UopOp(IRDLOperation):
    """One micro-op of a table: ``isa.uop dst D src S wgt W``."""

    name = "isa.uop"

    dst = _int_prop(Uop, "dst")
    src = _int_prop(Uop, "src")
    wgt = _int_prop(Uop, "wgt")

    def to_uop(self) -> Uop:
        return Uop(**_values_of(self.properties, Uop))

    @classmethod
    def from_uop(cls, uop: Uop) -> UopOp:
        return cls.create(properties=_properties_of(uop))

    def verify_(self) -> None:
        table = self.parent_op()
        program = table.parent_op() if isinstance(table, UopsOp) else None
        if not isinstance(program, ProgramOp):
            raise VerifyException("isa.uop must be inside an isa.uops table of an isa.program")
        config = program.try_hardware_config()
        if config is None:
            return
        uop = self.to_uop()
        try:
            layouts_for(config).uop.check({"dst": uop.dst, "src": uop.src, "wgt": uop.wgt})
        except EncodingError as err:
            index = list(table.body.block.ops).index(self)  # error path only
            raise VerifyException(f"micro-op {index} of @{program.sym_name.data}: {err}") from None

    @classmethod
    def parse(cls, parser: Parser) -> UopOp:
        values = {}
        for name in ("dst", "src", "wgt"):
            if parser.parse_optional_keyword(name) is not None:
                values[name] = _parse_int(parser, name)
        op = cls.from_uop(Uop(**values))
        _parse_attributes(parser, op)
        return op

    def print(self, printer: Printer) -> None:
        uop = self.to_uop()
        printer.print_string(f" dst {uop.dst} src {uop.src} wgt {uop.wgt}")
        _print_attributes(printer, self)


@irdl_op_definition
class UopsOp(IRDLOperation):
    """The micro-op table of a program: ``isa.uops at <dram element> { isa.uop ... }``.

    Micro-op ``k`` sits at DRAM element ``base + k`` (elements of 4 bytes), which is
    what LOAD UOP ``dram_base`` values address.
    """

    name = "isa.uops"

    base = prop_def(IntegerAttr[i64])
    body = region_def("single_block")
    traits = traits_def(NoTerminator())

    @property
    def base_address(self) -> int:
        return self.base.value.data

    def uop_ops(self) -> list[UopOp]:
        return [op for op in self.body.block.ops if isinstance(op, UopOp)]

    def uops(self) -> list[Uop]:
        return [op.to_uop() for op in self.uop_ops()]

    def verify_(self) -> None:
        program = self.parent_op()
        if not isinstance(program, ProgramOp):
            raise VerifyException("isa.uops must be directly inside an isa.program")
        for op in self.body.block.ops:
            if not isinstance(op, UopOp):
                raise VerifyException(f"isa.uops may only contain isa.uop ops, found {op.name}")
        config = program.try_hardware_config()
        if config is None:
            return
        count = len(self.body.block.ops)
        dram_field = layouts_for(config).mem.field("dram_base")
        if self.base_address < 0 or self.base_address + count - 1 > dram_field.max_value:
            raise VerifyException(
                f"micro-op table of @{program.sym_name.data} at DRAM elements "
                f"[{self.base_address}, {self.base_address + count}) is not addressable: "
                f"LOAD dram_base allows [{dram_field.min_value}, {dram_field.max_value}]"
            )

    @classmethod
    def parse(cls, parser: Parser) -> UopsOp:
        parser.parse_keyword("at", " (isa.uops at <DRAM element> { ... })")
        base = _parse_int(parser, "micro-op table base")
        attributes = parser.parse_optional_attr_dict_with_keyword()
        op = cls.create(properties={"base": _int_attr(base)}, regions=[_parse_region(parser)])
        if attributes is not None:
            op.attributes.update(attributes.data)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(f" at {self.base_address}")
        _print_attributes(printer, self)
        _print_region(printer, self.body)


# ------------------------------------------------------------------------ programs
def config_attr(config: HardwareConfig) -> StringAttr | DictionaryAttr:
    """A preset by name, anything else as an inline dictionary of VTA JSON keys."""
    if PRESETS.get(config.name) == config:
        return StringAttr(config.name)
    entries: dict[str, Attribute] = {}
    for key, value in config.to_vta_json().items():
        if isinstance(value, str):
            entries[key] = StringAttr(value)
        elif isinstance(value, float):
            entries[key] = FloatAttr(value, f64)
        else:
            entries[key] = _int_attr(int(value))
    return DictionaryAttr(entries)


@lru_cache(maxsize=64)
def _config_from_attr(attr: Attribute) -> HardwareConfig:
    """Resolve (and cache: every op's verifier asks) a program's ``config``."""
    if isinstance(attr, StringAttr):
        return load_config(attr.data)
    if not isinstance(attr, DictionaryAttr):
        raise ConfigError(f"config must be a preset name or a dictionary, got {attr}")
    data: dict[str, object] = {}
    for key, value in attr.data.items():
        if isinstance(value, IntegerAttr):
            data[key] = value.value.data
        elif isinstance(value, FloatAttr):
            data[key] = value.value.data
        elif isinstance(value, StringAttr):
            data[key] = value.data
        else:
            raise ConfigError(f"config key {key} must be a number or a string, got {value}")
    return HardwareConfig.from_vta_json(data, source="inline config")


def _print_config(printer: Printer, attr: Attribute) -> None:
    printer.print_string(" config(")
    if isinstance(attr, StringAttr):
        printer.print_string_literal(attr.data)
    elif isinstance(attr, DictionaryAttr):
        with printer.in_braces():
            printer.print_list(attr.data.items(), lambda item: _print_config_entry(printer, *item))
    else:
        printer.print_attribute(attr)
    printer.print_string(")")


_MLIR_FLOAT = re.compile(r"-?[0-9]+\.[0-9]*([eE][-+]?[0-9]+)?")


def _print_config_entry(printer: Printer, key: str, value: Attribute) -> None:
    printer.print_identifier_or_string_literal(key)
    printer.print_string(" = ")
    if isinstance(value, IntegerAttr) and value.type == i64:
        printer.print_int(value.value.data)
    elif isinstance(value, FloatAttr) and value.type == f64:
        text = repr(value.value.data)  # "200.0" reads better than "2.000000e+02"
        if _MLIR_FLOAT.fullmatch(text):
            printer.print_string(text)
        else:
            printer.print_float(value.value.data, f64)
    else:
        printer.print_attribute(value)


def _parse_config(parser: Parser) -> Attribute:
    parser.parse_keyword("config", ' (isa.program @name config("preset") { ... })')
    parser.parse_punctuation("(")
    start = parser.pos
    attr = parser.parse_optional_attribute()
    if not isinstance(attr, StringAttr | DictionaryAttr):
        parser.raise_error(
            'config takes a preset name or JSON path ("intelfocl") or a dictionary of '
            "VTA config keys ({LOG_BATCH = 0, ...})", start, parser.pos,
        )
    parser.parse_punctuation(")")
    return attr


@irdl_op_definition
class ProgramOp(IRDLOperation):
    """One launch: ``isa.program @name config(...) { [isa.uops ...] instructions }``."""

    name = "isa.program"

    sym_name = prop_def(StringAttr)
    config = prop_def(StringAttr | DictionaryAttr)
    body = region_def("single_block")
    traits = traits_def(SymbolOpInterface(), NoTerminator(), IsolatedFromAbove())

    # ------------------------------------------------------------------ accessors
    def hardware_config(self) -> HardwareConfig:
        """The program's config; raises ConfigError when it names no valid config."""
        return _config_from_attr(self.config)

    def try_hardware_config(self) -> HardwareConfig | None:
        try:
            return self.hardware_config()
        except ConfigError:
            return None

    def uop_table(self) -> UopsOp | None:
        for op in self.body.block.ops:
            if isinstance(op, UopsOp):
                return op
        return None

    def instruction_ops(self) -> list[InstructionOp]:
        return [op for op in self.body.block.ops if isinstance(op, InstructionOp)]

    def instructions(self) -> list[Instruction]:
        return [op.to_instruction() for op in self.instruction_ops()]

    # ---------------------------------------------------------------- verification
    def verify_(self) -> None:
        name = self.sym_name.data
        try:
            config = self.hardware_config()
        except ConfigError as err:
            raise VerifyException(f"isa.program @{name}: invalid hardware config: {err}") from None
        tables = []
        for op in self.body.block.ops:
            if isinstance(op, UopsOp):
                tables.append(op)
            elif not isinstance(op, InstructionOp):
                raise VerifyException(
                    f"isa.program @{name} may only contain isa.uops and isa instructions, "
                    f"found {op.name}"
                )
        if len(tables) > 1:
            raise VerifyException(
                f"isa.program @{name} has {len(tables)} isa.uops tables; a program has at most one"
            )
        insns = self.instructions()
        if not insns:
            raise VerifyException(
                f"isa.program @{name} has no instructions; a program ends with isa.finish"
            )
        if not isinstance(insns[-1], FinishInsn):
            raise VerifyException(
                f"isa.program @{name} must end with isa.finish, but its last instruction "
                f"({len(insns) - 1}) is {mnemonic(insns[-1])}"
            )
        if tables:
            error = uop_usage_error(insns, tables[0].uops(), tables[0].base_address, config)
            if error is not None:
                index, what, message = error
                raise VerifyException(f"instruction {index} ({what}) of @{name}: {message}")

    # --------------------------------------------------------------- custom syntax
    @classmethod
    def parse(cls, parser: Parser) -> ProgramOp:
        sym_name = parser.parse_symbol_name()
        config = _parse_config(parser)
        attributes = parser.parse_optional_attr_dict_with_keyword()
        op = cls.create(
            properties={"sym_name": sym_name, "config": config},
            regions=[_parse_region(parser)],
        )
        if attributes is not None:
            op.attributes.update(attributes.data)
        return op

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_symbol_name(self.sym_name.data)
        _print_config(printer, self.config)
        _print_attributes(printer, self)
        _print_region(printer, self.body)


# ------------------------------------------------------------- micro-op usage check
_LOOP_INDEX_STEP_LIMIT = 1 << 18
"""Loops up to this many steps get their indices enumerated by ``loop_indices``; longer
ones use the closed form (exact too: every term of an index is non-negative)."""


@dataclass
class _UopBuffer:
    """What the UOP SRAM holds at a point of the program: decoded fields + fill map."""

    dst: np.ndarray
    src: np.ndarray
    wgt: np.ndarray
    filled: np.ndarray

    @classmethod
    def empty(cls, depth: int) -> _UopBuffer:
        zeros = np.zeros(depth, dtype=np.int64)
        return cls(zeros.copy(), zeros.copy(), zeros.copy(), np.zeros(depth, dtype=bool))

    def load(self, insn: LoadInsn, table: _UopBuffer, base: int) -> str | None:
        """Apply a (well-formed, unpadded) LOAD UOP whose elements come from ``table``."""
        rows = np.arange(insn.y_size, dtype=np.int64)[:, None]
        cols = np.arange(insn.x_size, dtype=np.int64)[None, :]
        dram = (insn.dram_base + rows * insn.x_stride + cols).reshape(-1)
        first, last = int(dram.min()), int(dram.max())
        end = base + len(table.dst)
        if first < base or last >= end:
            return (
                f"reads DRAM micro-ops [{first}, {last + 1}) (dram_base = {insn.dram_base}, "
                f"size {insn.y_size}x{insn.x_size}, stride {insn.x_stride}), outside the "
                f"program's micro-op table at [{base}, {end})"
            )
        sram = (insn.sram_base + rows * insn.row_width + cols).reshape(-1)
        entries = dram - base
        self.dst[sram] = table.dst[entries]
        self.src[sram] = table.src[entries]
        self.wgt[sram] = table.wgt[entries]
        self.filled[sram] = True
        return None


def _table_columns(uops: Sequence[Uop]) -> _UopBuffer:
    dst, src, wgt = (np.array([getattr(u, n) for u in uops], dtype=np.int64) for n in ("dst", "src", "wgt"))
    return _UopBuffer(dst, src, wgt, np.ones(len(uops), dtype=bool))


def _used_index_roles(insn: LoopInstruction, config: HardwareConfig) -> list[tuple[str, str, int]]:
    """``(role, buffer, depth)`` of every index the loop really uses (docs/isa.md)."""
    roles = [("dst", "ACC", config.acc_depth)]
    if insn.reset:
        return roles
    if isinstance(insn, GemmInsn):
        roles += [("src", "INP", config.inp_depth), ("wgt", "WGT", config.wgt_depth)]
    elif isinstance(insn, AluInsn) and not insn.use_imm:
        roles.append(("src", "ACC", config.acc_depth))
    return roles


def loop_index_maxima(insn: LoopInstruction, uop_dst: np.ndarray, uop_src: np.ndarray,
                      uop_wgt: np.ndarray) -> dict[str, tuple[int, int, int, int]]:
    """For each index role, its largest value and the first step ``(o, i, u)`` reaching it.

    ``uop_*`` are the fields of the whole UOP buffer, as for ``loop_indices``.
    """
    bases = {"dst": uop_dst, "src": uop_src, "wgt": uop_wgt}
    roles = ["dst", "src"] + (["wgt"] if isinstance(insn, GemmInsn) else [])
    result = {}
    if insn.steps <= _LOOP_INDEX_STEP_LIMIT:
        indices = loop_indices(insn, uop_dst, uop_src, uop_wgt)
        shape = (insn.iter_out, insn.iter_in, insn.uop_end - insn.uop_bgn)
        for role in roles:
            values = getattr(indices, role)
            step = int(np.argmax(values))
            o, i, u = (int(x) for x in np.unravel_index(step, shape))
            result[role] = (int(values[step]), o, i, insn.uop_bgn + u)
        return result
    for role in roles:
        f_out, f_in = getattr(insn, f"{role}_factor_out"), getattr(insn, f"{role}_factor_in")
        u = insn.uop_bgn + int(np.argmax(bases[role][insn.uop_bgn:insn.uop_end]))
        o = insn.iter_out - 1 if f_out > 0 else 0
        i = insn.iter_in - 1 if f_in > 0 else 0
        result[role] = (int(bases[role][u]) + o * f_out + i * f_in, o, i, u)
    return result


def _loop_error(insn: LoopInstruction, buffer: _UopBuffer, config: HardwareConfig) -> str | None:
    unfilled = np.flatnonzero(~buffer.filled[insn.uop_bgn:insn.uop_end])
    if unfilled.size:
        return (
            f"reads UOP buffer entry {insn.uop_bgn + int(unfilled[0])} (micro-op range "
            f"[{insn.uop_bgn}, {insn.uop_end})), which no earlier LOAD UOP filled"
        )
    maxima = loop_index_maxima(insn, buffer.dst, buffer.src, buffer.wgt)
    for role, buffer_name, depth in _used_index_roles(insn, config):
        value, o, i, u = maxima[role]
        if value >= depth:
            return (
                f"{role} index reaches {value} (at o = {o}, i = {i}, micro-op {u}: "
                f"{role} {int(getattr(buffer, role)[u])} + {o} * {role}_factor_out "
                f"{getattr(insn, f'{role}_factor_out')} + {i} * {role}_factor_in "
                f"{getattr(insn, f'{role}_factor_in')}), outside the {buffer_name} buffer: "
                f"allowed [0, {depth - 1}]"
            )
    return None


def uop_usage_error(insns: Sequence[Instruction], uops: Sequence[Uop], uop_base: int,
                    config: HardwareConfig) -> tuple[int, str, str] | None:
    """The first misuse of the micro-op table as ``(index, mnemonic, message)``, or None.

    Walks the program in order: a LOAD UOP must read inside the table (DRAM elements
    ``[uop_base, uop_base + len(uops))``) and fills UOP buffer entries; a GEMM/ALU may
    only read filled entries, and every index it really uses must stay inside its
    buffer. Assumes every instruction is well-formed (the ops verify that first).
    """
    table = _table_columns(uops)
    buffer = _UopBuffer.empty(config.uop_depth)
    for index, insn in enumerate(insns):
        error = None
        if isinstance(insn, LoadInsn) and insn.memory_type == MemoryType.UOP:
            if not insn.is_token_only:
                error = buffer.load(insn, table, uop_base)
        elif isinstance(insn, LoopInstruction):
            error = _loop_error(insn, buffer, config)
        if error is not None:
            return index, mnemonic(insn), error
    return None


# ------------------------------------------------------------------- construction
def program_from_instructions(config: HardwareConfig, instructions: Iterable[Instruction],
                              uops: Sequence[Uop] | None = None, uop_base: int = 0,
                              name: str = "program") -> ProgramOp:
    """Build an ``isa.program``; ``uops=None`` means the program carries no table."""
    ops: list[Operation] = []
    if uops is not None:
        table = Block([UopOp.from_uop(u) for u in uops])
        ops.append(UopsOp.create(properties={"base": _int_attr(uop_base)}, regions=[Region(table)]))
    ops += [op_from_instruction(insn) for insn in instructions]
    return ProgramOp.create(
        properties={"sym_name": StringAttr(name), "config": config_attr(config)},
        regions=[Region(Block(ops))],
    )


# ------------------------------------------------------------------ binary <-> ops
def program_to_binary(program: ProgramOp) -> tuple[np.ndarray, np.ndarray]:
    """``(instruction words (n, 2) uint64, micro-op words uint32)`` via isa_format.

    A program without a micro-op table yields an empty micro-op array.
    """
    config = program.hardware_config()
    words = encode_instructions(program.instructions(), config)
    table = program.uop_table()
    uops = encode_uops(table.uops(), config) if table is not None else np.zeros(0, np.uint32)
    return words, uops


def _instruction_words(data: bytes | np.ndarray) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return np.asarray(data, dtype=np.uint64).reshape(-1, WORDS_PER_INSN)
    data = bytes(data)
    if len(data) % INSN_BYTES:
        index = len(data) // INSN_BYTES
        raise IsaBinaryError(
            f"instruction buffer of {len(data)} bytes is truncated: instruction {index} at "
            f"byte offset {index * INSN_BYTES} has only {len(data) % INSN_BYTES} of its "
            f"{INSN_BYTES} bytes"
        )
    return np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(-1, WORDS_PER_INSN)


def _uop_words(data: bytes | np.ndarray) -> np.ndarray:
    if isinstance(data, np.ndarray):
        return np.asarray(data, dtype=np.uint32).reshape(-1)
    data = bytes(data)
    if len(data) % UOP_BYTES:
        index = len(data) // UOP_BYTES
        raise IsaBinaryError(
            f"micro-op buffer of {len(data)} bytes is truncated: micro-op {index} at byte "
            f"offset {index * UOP_BYTES} has only {len(data) % UOP_BYTES} of its "
            f"{UOP_BYTES} bytes"
        )
    return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def _located(index: int, message: str) -> IsaBinaryError:
    message = message.removeprefix(f"instruction {index}: ")
    return IsaBinaryError(f"instruction {index} at byte offset {index * INSN_BYTES}: {message}")


def _field_masks(config: HardwareConfig) -> dict[int, np.ndarray]:
    """Per opcode, the bits of each word that some field of its layout uses."""
    layouts = layouts_for(config)
    masks = {}
    for opcode in Opcode:
        mask = [0] * WORDS_PER_INSN
        for field in layouts.for_opcode(opcode).fields:
            mask[field.word] |= ((1 << field.width) - 1) << field.lo
        masks[int(opcode)] = np.array(mask, dtype=np.uint64)
    return masks


def _check_unused_bits(words: np.ndarray, config: HardwareConfig) -> None:
    """Bits outside every field would be lost by a disassemble/assemble round trip."""
    opcodes = decode_opcodes(words)
    for opcode, mask in _field_masks(config).items():
        rows = np.flatnonzero(opcodes == opcode)
        stray = words[rows] & ~mask
        bad = np.flatnonzero(stray.any(axis=1))
        if bad.size:
            index = int(rows[bad[0]])
            stray_words = ", ".join(f"0x{int(w):016x}" for w in stray[bad[0]])
            raise _located(
                index,
                f"{Opcode(opcode).name} has bits set outside its fields "
                f"(stray bits per word: {stray_words}); these are not bytes the assembler writes",
            )


def decode_program_instructions(data: bytes | np.ndarray, config: HardwareConfig) -> list[Instruction]:
    """Decode an instruction buffer; errors name the instruction index and byte offset."""
    words = _instruction_words(data)
    try:
        insns = decode_instructions(words, config)
    except EncodingError as err:
        raise _located(err.index or 0, str(err)) from None
    _check_unused_bits(words, config)
    return insns


def decode_program_uops(data: bytes | np.ndarray, config: HardwareConfig) -> list[Uop]:
    """Decode a micro-op table; stray bits above the fields are an error (byte offset)."""
    words = _uop_words(data)
    layout = layouts_for(config).uop
    mask = 0
    for field in layout.fields:
        mask |= ((1 << field.width) - 1) << field.lo
    stray = np.flatnonzero(words & np.uint32(~mask & 0xFFFFFFFF))
    if stray.size:
        index = int(stray[0])
        raise IsaBinaryError(
            f"micro-op {index} at byte offset {index * UOP_BYTES}: bits set outside its "
            f"fields (word 0x{int(words[index]):08x}, fields cover 0x{mask:08x})"
        )
    return decode_uops(words, config)


def program_from_binary(config: HardwareConfig, insn_bytes: bytes | np.ndarray,
                        uop_bytes: bytes | np.ndarray | None = None, uop_base: int = 0,
                        name: str = "program") -> ProgramOp:
    """Disassemble an instruction buffer (and optionally its micro-op table)."""
    insns = decode_program_instructions(insn_bytes, config)
    uops = decode_program_uops(uop_bytes, config) if uop_bytes is not None else None
    return program_from_instructions(config, insns, uops, uop_base, name)


Isa = Dialect(
    "isa",
    [ProgramOp, UopsOp, UopOp, LoadOp, StoreOp, GemmOp, AluOp, FinishOp],
    [MemoryTypeAttr, AluOpcodeAttr],
)

__all__ = [
    "AluKind",
    "AluOp",
    "AluOpcodeAttr",
    "FinishOp",
    "GemmOp",
    "InstructionOp",
    "Isa",
    "IsaBinaryError",
    "LoadOp",
    "MemoryKind",
    "MemoryTypeAttr",
    "ProgramOp",
    "StoreOp",
    "UopOp",
    "UopsOp",
    "config_attr",
    "decode_program_instructions",
    "decode_program_uops",
    "loop_index_maxima",
    "op_from_instruction",
    "program_from_binary",
    "program_from_instructions",
    "program_to_binary",
    "uop_usage_error",
]
