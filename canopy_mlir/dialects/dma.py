"""The ``dma`` dialect: the PCIe-DMA level, where a function talks to the card.

``docs/dma-dialect.md`` is the contract; this module implements it.

At this level a function holds host ops (``graph`` / ``tile`` on host tensors) and the
operations a card driver performs: device buffers in the card's single memory pool,
bytes placed once at load time, copies between host tensors and device buffers, and
launches of instruction ranges. A device buffer is an SSA value of type
``!dma.buffer<BYTES>``, so its lifetime is visible: it is live from its ``dma.alloc`` /
``dma.constant`` to its last use (a launch keeps its operands live until the
``dma.wait`` of its token). ``dma-plan-memory`` turns those lifetimes into pool offsets.

    %w = dma.constant weights align 256 dense<"0x..."> : tensor<256xi8> -> !dma.buffer<256>
    %x = dma.alloc activation align 16 : !dma.buffer<64>
    dma.copy_to_card %a, %x : !tile.act<4x1x1x1x1x16xi8, n = 4, c = 16> -> !dma.buffer<64>
    %t = dma.launch %insns[0, 12] uops %u : !dma.buffer<192>, !dma.buffer<16>
           reads(%x : !dma.buffer<64>, %w : !dma.buffer<256>) writes(%y : !dma.buffer<64>)
    dma.wait %t
    %r = dma.copy_to_host %y : !dma.buffer<64> -> tensor<4x16xi8>
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from xdsl.dialects.builtin import (
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    IntAttr,
    IntegerAttr,
    StringAttr,
    TensorType,
    UnitAttr,
    i64,
)
from xdsl.ir import (
    Attribute,
    Dialect,
    Operation,
    ParametrizedAttribute,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    var_operand_def,
)
from xdsl.parser import AttrParser, Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.dialects.graph import print_constant_value
from canopy_mlir.hw import INSN_BYTES, UOP_BYTES

CONSTANT_KINDS = ("weights", "uops", "instructions", "data")
"""Kinds of ``dma.constant``: read-only bytes placed once, live for the whole function."""
ALLOC_KINDS = ("activation", "scratch")
"""Kinds of ``dma.alloc``: buffers whose pool space is reused once they are dead."""
KIND_GRANULE = {"instructions": INSN_BYTES, "uops": UOP_BYTES}
"""Kinds whose buffer size must be a whole number of these items."""


class DmaError(ValueError):
    """A dma type or op that breaks docs/dma-dialect.md (raised by the builders)."""


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


# ------------------------------------------------------------------ types
@irdl_attr_definition
class BufferType(ParametrizedAttribute, TypeAttribute):
    """``!dma.buffer<BYTES>``: a device buffer of ``BYTES`` bytes in the card's pool."""

    name = "dma.buffer"
    size: IntAttr

    def __init__(self, nbytes: int) -> None:
        super().__init__(IntAttr(int(nbytes)))

    @property
    def nbytes(self) -> int:
        return self.size.data

    def verify(self) -> None:
        if self.nbytes < 1:
            raise VerifyException(f"dma.buffer: size must be at least 1 byte, got {self.nbytes}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        start = parser.pos
        parser.parse_punctuation("<", " in dma.buffer")
        size = parser.parse_integer(allow_boolean=False, allow_negative=True)
        parser.parse_punctuation(">", " at the end of dma.buffer")
        if size < 1:
            parser.raise_error(f"dma.buffer: size must be at least 1 byte, got {size}", start, parser.pos)
        return [IntAttr(size)]

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string(f"<{self.nbytes}>")


@irdl_attr_definition
class TokenType(ParametrizedAttribute, TypeAttribute):
    """``!dma.token``: a launch in flight; ``dma.wait`` retires it."""

    name = "dma.token"


# ------------------------------------------------------------------ host values
def host_value_bytes(type_: Attribute) -> int | None:
    """Bytes a host value of ``type_`` occupies on the card, or None if it cannot move.

    Tensors and ``tile`` blocked values (already in the card's layout) move as their
    dense little-endian bytes.
    """
    from canopy_mlir.dialects import tile

    if isinstance(type_, TensorType):
        shape, element = type_.get_shape(), type_.element_type
    elif isinstance(type_, tile.BlockedType):
        shape, element = type_.blocked_shape, type_.element_type
    else:
        return None
    width = getattr(element, "bitwidth", None)
    if width is None or width % 8 or any(d < 0 for d in shape):
        return None
    return math.prod(shape) * (width // 8)


def value_bytes(value: Attribute) -> bytes:
    """The bytes a ``dense`` / ``dense_resource`` tensor attribute places in the pool."""
    from canopy_mlir.dialects.graph import GraphError, array_from_value

    try:
        return np.ascontiguousarray(array_from_value(value)).tobytes()
    except GraphError as error:
        raise DmaError(str(error).replace("graph.constant", "dma.constant")) from error


def dense_value(data: bytes | np.ndarray) -> DenseIntOrFPElementsAttr:
    """A ``dense<"0x...">`` attribute holding ``data`` (bytes become a ``tensor<Nxui8>``)."""
    from canopy_mlir.dialects.graph import dense_attr_from_array

    if isinstance(data, bytes | bytearray):
        data = np.frombuffer(bytes(data), dtype=np.uint8)
    return dense_attr_from_array(np.asarray(data))


def _value_label(value: SSAValue) -> str:
    return f"%{value.name_hint}" if value.name_hint else "a buffer"


def _buffer_type(value: SSAValue, what: str, op: Operation) -> BufferType:
    if not isinstance(value.type, BufferType):
        raise VerifyException(f"{op.name}: {what} must be a !dma.buffer, got {value.type}")
    return value.type


def buffer_op(value: SSAValue) -> AllocOp | ConstantOp | None:
    """The op that created the buffer ``value`` (None: a block argument or another op)."""
    owner = value.owner
    return owner if isinstance(owner, AllocOp | ConstantOp) else None


def _verify_placement(op: AllocOp | ConstantOp) -> None:
    """Alignment, offset and kind checks shared by dma.alloc and dma.constant."""
    align = op.alignment.value.data
    if not _is_power_of_two(align):
        raise VerifyException(f"{op.name}: alignment {align} is not a power of two")
    if op.offset is not None:
        offset = op.offset.value.data
        if offset < 0 or offset % align:
            raise VerifyException(
                f"{op.name}: offset {offset} is not a non-negative multiple of the alignment {align}"
            )
    kind = op.kind.data
    allowed = CONSTANT_KINDS if isinstance(op, ConstantOp) else ALLOC_KINDS
    if kind not in allowed:
        other = "dma.alloc" if isinstance(op, ConstantOp) else "dma.constant"
        hint = f" ('{kind}' is a {other} kind)" if kind in CONSTANT_KINDS + ALLOC_KINDS else ""
        raise VerifyException(f"{op.name}: kind '{kind}' is not one of {', '.join(allowed)}{hint}")
    granule = KIND_GRANULE.get(kind)
    nbytes = op.buffer_type.nbytes
    if granule and nbytes % granule:
        raise VerifyException(
            f"{op.name}: a '{kind}' buffer holds {granule}-byte items, but its size {nbytes} "
            f"is not a multiple of {granule}"
        )
    if granule and align % granule:
        raise VerifyException(
            f"{op.name}: a '{kind}' buffer must be aligned to its {granule}-byte items, got "
            f"alignment {align}"
        )


def _parse_placement(parser: Parser) -> tuple[str, int, int | None]:
    """``KIND align A [offset O]``."""
    kind = parser.parse_identifier(" (the buffer kind)")
    parser.parse_keyword("align")
    align = parser.parse_integer(allow_boolean=False, allow_negative=True)
    offset = None
    if parser.parse_optional_keyword("offset") is not None:
        offset = parser.parse_integer(allow_boolean=False, allow_negative=True)
    return kind, align, offset


def _print_placement(printer: Printer, op: AllocOp | ConstantOp) -> None:
    printer.print_string(f" {op.kind.data} align {op.alignment.value.data}")
    if op.offset is not None:
        printer.print_string(f" offset {op.offset.value.data}")


def _placement_props(kind: str, alignment: int, offset: int | None) -> dict[str, Attribute]:
    props: dict[str, Attribute] = {"kind": StringAttr(kind), "alignment": IntegerAttr(alignment, i64)}
    if offset is not None:
        props["offset"] = IntegerAttr(offset, i64)
    return props


def _print_attr_dict(printer: Printer, op: Operation) -> None:
    if op.attributes:
        printer.print_op_attributes(op.attributes)


# ------------------------------------------------------------------ buffers
class _PlacedBuffer(IRDLOperation):
    """Shared accessors of dma.alloc and dma.constant (a buffer with a planned offset)."""

    @property
    def buffer_type(self) -> BufferType:
        type_ = self.result.type  # pyright: ignore[reportAttributeAccessIssue]
        assert isinstance(type_, BufferType)
        return type_

    @property
    def nbytes(self) -> int:
        return self.buffer_type.nbytes

    @property
    def align(self) -> int:
        return self.alignment.value.data  # pyright: ignore[reportAttributeAccessIssue]

    @property
    def planned_offset(self) -> int | None:
        offset = self.offset  # pyright: ignore[reportAttributeAccessIssue]
        return None if offset is None else offset.value.data

    def set_offset(self, offset: int) -> None:
        self.properties["offset"] = IntegerAttr(int(offset), i64)


@irdl_op_definition
class AllocOp(_PlacedBuffer):
    """A device buffer of the pool whose space is reused after its last use."""

    name = "dma.alloc"
    kind = prop_def(StringAttr)
    alignment = prop_def(IntegerAttr)
    offset = opt_prop_def(IntegerAttr)
    result = result_def(BufferType)

    def __init__(self, nbytes: int, kind: str = "activation", alignment: int = 64,
                 offset: int | None = None) -> None:
        super().__init__(properties=_placement_props(kind, alignment, offset),
                         result_types=[BufferType(nbytes)])

    def verify_(self) -> None:
        _verify_placement(self)

    def print(self, printer: Printer) -> None:
        _print_placement(printer, self)
        _print_attr_dict(printer, self)
        printer.print_string(" : ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> AllocOp:
        kind, align, offset = _parse_placement(parser)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        type_ = parser.parse_type()
        op = cls.create(properties=_placement_props(kind, align, offset), result_types=[type_],
                        attributes=attributes)
        return op


@irdl_op_definition
class ConstantOp(_PlacedBuffer):
    """A device buffer holding ``value``'s bytes, written once when the program is loaded."""

    name = "dma.constant"
    kind = prop_def(StringAttr)
    alignment = prop_def(IntegerAttr)
    offset = opt_prop_def(IntegerAttr)
    value = prop_def(base(DenseIntOrFPElementsAttr) | base(DenseResourceAttr))
    result = result_def(BufferType)

    def __init__(self, data: bytes | np.ndarray | Attribute, kind: str = "weights",
                 alignment: int = 64, offset: int | None = None, nbytes: int | None = None) -> None:
        value = data if isinstance(data, Attribute) else dense_value(data)
        size = len(value_bytes(value)) if nbytes is None else nbytes
        props = _placement_props(kind, alignment, offset)
        props["value"] = value
        super().__init__(properties=props, result_types=[BufferType(size)])

    def data(self) -> bytes:
        """The bytes placed at the buffer's start (the rest of the buffer is zero)."""
        return value_bytes(self.value)

    def set_data(self, data: bytes | np.ndarray) -> None:
        """Replace the bytes (e.g. instructions encoded after planning); same size or less."""
        value = dense_value(data)
        if len(value_bytes(value)) > self.nbytes:
            raise DmaError(f"dma.constant: {len(value_bytes(value))} bytes do not fit its {self.nbytes}-byte buffer")
        self.properties["value"] = value

    def verify_(self) -> None:
        _verify_placement(self)
        value_type = getattr(self.value, "type", None)
        if not isinstance(value_type, TensorType):
            raise VerifyException(f"dma.constant: value must be a tensor, got {value_type}")
        stored = host_value_bytes(value_type)
        if stored is None:
            raise VerifyException(f"dma.constant: value of type {value_type} has no byte layout")
        if stored > self.nbytes:
            raise VerifyException(
                f"dma.constant: value {value_type} holds {stored} bytes, more than the "
                f"{self.nbytes}-byte buffer"
            )

    def print(self, printer: Printer) -> None:
        _print_placement(printer, self)
        printer.print_string(" ")
        print_constant_value(printer, self.value)  # as graph.constant prints its value
        _print_attr_dict(printer, self)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        kind, align, offset = _parse_placement(parser)
        start = parser.pos
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr | DenseResourceAttr):
            parser.raise_error(
                f"dma.constant takes a dense<...> or dense_resource<...> value, got {value}",
                start, parser.pos,
            )
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation("->")
        type_ = parser.parse_type()
        props = _placement_props(kind, align, offset)
        props["value"] = value
        return cls.create(properties=props, result_types=[type_], attributes=attributes)


# ------------------------------------------------------------------ copies
def _verify_span(op: Operation, host: Attribute, buffer: SSAValue, offset: int, verb: str) -> None:
    buffer_type = _buffer_type(buffer, "the buffer", op)
    nbytes = host_value_bytes(host)
    if nbytes is None:
        raise VerifyException(
            f"{op.name}: {host} cannot be {verb}: only tensors and tile blocked values move as bytes"
        )
    if offset < 0 or offset + nbytes > buffer_type.nbytes:
        raise VerifyException(
            f"{op.name}: {nbytes} bytes at offset {offset} do not fit the "
            f"{buffer_type.nbytes}-byte buffer"
        )


def _element_type(type_: Attribute) -> Attribute | None:
    """The element type of a tensor or tile blocked type (else None)."""
    element = getattr(type_, "element_type", None)
    return element if isinstance(element, Attribute) else None


def _parse_at(parser: Parser) -> int:
    if parser.parse_optional_keyword("at") is None:
        return 0
    return parser.parse_integer(allow_boolean=False, allow_negative=True)


def _print_at(printer: Printer, offset: int) -> None:
    if offset:
        printer.print_string(f" at {offset}")


@irdl_op_definition
class CopyToCardOp(IRDLOperation):
    """Host -> card: the bytes of a host tensor (or blocked value) to ``offset`` in a buffer.

    Any layout change (``tile.pack``) happens on the host before the copy: the copy only
    moves bytes.
    """

    name = "dma.copy_to_card"
    source = operand_def(Attribute)
    buffer = operand_def(BufferType)
    offset = prop_def(IntegerAttr)

    def __init__(self, source: SSAValue | Operation, buffer: SSAValue | Operation, offset: int = 0) -> None:
        super().__init__(operands=[source, buffer], properties={"offset": IntegerAttr(offset, i64)})

    def verify_(self) -> None:
        _verify_span(self, self.source.type, self.buffer, self.offset.value.data, "copied to the card")
        owner = buffer_op(self.buffer)
        if isinstance(owner, ConstantOp):
            raise VerifyException(
                f"dma.copy_to_card: the destination is a dma.constant ('{owner.kind.data}'), "
                "which is read-only"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.source)
        printer.print_string(", ")
        printer.print_operand(self.buffer)
        _print_at(printer, self.offset.value.data)
        _print_attr_dict(printer, self)
        printer.print_string(" : ")
        printer.print_attribute(self.source.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.buffer.type)

    @classmethod
    def parse(cls, parser: Parser) -> CopyToCardOp:
        source = parser.parse_unresolved_operand()
        parser.parse_punctuation(",")
        buffer = parser.parse_unresolved_operand()
        offset = _parse_at(parser)
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        source_type = parser.parse_type()
        parser.parse_punctuation("->")
        buffer_type = parser.parse_type()
        return cls.create(
            operands=[parser.resolve_operand(source, source_type),
                      parser.resolve_operand(buffer, buffer_type)],
            properties={"offset": IntegerAttr(offset, i64)},
            attributes=attributes,
        )


@irdl_op_definition
class CopyToHostOp(IRDLOperation):
    """Card -> host: a host value of the result type read from ``offset`` in a buffer.

    ``byte_planes``: the buffer holds the value's int32 elements as four int8 planes (a
    card program's i32 result: STORE writes 8 bits, see
    ``canopy_mlir.isa_semantics.BYTE_PLANES``); the copy reassembles them. The same
    number of bytes either way.
    """

    name = "dma.copy_to_host"
    buffer = operand_def(BufferType)
    offset = prop_def(IntegerAttr)
    byte_planes = opt_prop_def(UnitAttr)
    result = result_def(Attribute)

    def __init__(self, buffer: SSAValue | Operation, result_type: Attribute, offset: int = 0,
                 byte_planes: bool = False) -> None:
        properties: dict[str, Attribute] = {"offset": IntegerAttr(offset, i64)}
        if byte_planes:
            properties["byte_planes"] = UnitAttr()
        super().__init__(operands=[buffer], result_types=[result_type], properties=properties)

    @property
    def planar(self) -> bool:
        return self.byte_planes is not None

    def verify_(self) -> None:
        _verify_span(self, self.result.type, self.buffer, self.offset.value.data, "copied to the host")
        if self.planar and getattr(_element_type(self.result.type), "bitwidth", None) != 32:
            raise VerifyException(
                f"dma.copy_to_host: byte_planes reassembles 32-bit elements, but the result "
                f"type is {self.result.type}")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.buffer)
        _print_at(printer, self.offset.value.data)
        if self.planar:
            printer.print_string(" byte_planes")
        _print_attr_dict(printer, self)
        printer.print_string(" : ")
        printer.print_attribute(self.buffer.type)
        printer.print_string(" -> ")
        printer.print_attribute(self.result.type)

    @classmethod
    def parse(cls, parser: Parser) -> CopyToHostOp:
        buffer = parser.parse_unresolved_operand()
        offset = _parse_at(parser)
        properties: dict[str, Attribute] = {"offset": IntegerAttr(offset, i64)}
        if parser.parse_optional_keyword("byte_planes") is not None:
            properties["byte_planes"] = UnitAttr()
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        buffer_type = parser.parse_type()
        parser.parse_punctuation("->")
        result_type = parser.parse_type()
        return cls.create(
            operands=[parser.resolve_operand(buffer, buffer_type)],
            result_types=[result_type],
            properties=properties,
            attributes=attributes,
        )


# ------------------------------------------------------------------ launches
@irdl_op_definition
class LaunchOp(IRDLOperation):
    """Run instructions ``[first, first + count)`` of an instruction buffer on the core.

    ``uops`` is the micro-op buffer the program's LOAD UOP reads; ``reads`` / ``writes``
    list every other buffer the instructions touch, so that liveness (and the memory
    planner) sees them. The launch is asynchronous: its operands stay live until the
    ``dma.wait`` of the returned token.
    """

    name = "dma.launch"
    instructions = operand_def(BufferType)
    uops = operand_def(BufferType)
    reads = var_operand_def(BufferType)
    writes = var_operand_def(BufferType)
    first = prop_def(IntegerAttr)
    count = prop_def(IntegerAttr)
    token = result_def(TokenType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    def __init__(self, instructions: SSAValue | Operation, first: int, count: int,
                 uops: SSAValue | Operation, reads: Sequence[SSAValue | Operation] = (),
                 writes: Sequence[SSAValue | Operation] = ()) -> None:
        super().__init__(
            operands=[instructions, uops, list(reads), list(writes)],
            properties={"first": IntegerAttr(first, i64), "count": IntegerAttr(count, i64)},
            result_types=[TokenType()],
        )

    @property
    def first_index(self) -> int:
        return self.first.value.data

    @property
    def insn_count(self) -> int:
        return self.count.value.data

    def buffers(self) -> list[SSAValue]:
        """Every buffer the launch uses: instructions, uops, reads, writes."""
        return [self.instructions, self.uops, *self.reads, *self.writes]

    def verify_(self) -> None:
        first, count = self.first_index, self.insn_count
        if first < 0 or count < 1:
            raise VerifyException(
                f"dma.launch: needs first >= 0 and count >= 1 instructions, got [{first}, {count}]"
            )
        insns = _buffer_type(self.instructions, "the instruction buffer", self)
        if (first + count) * INSN_BYTES > insns.nbytes:
            raise VerifyException(
                f"dma.launch: instructions [{first}, {first + count}) need "
                f"{(first + count) * INSN_BYTES} bytes but the instruction buffer has {insns.nbytes}"
            )
        self._verify_kind(self.instructions, "instructions", "the instruction buffer")
        self._verify_kind(self.uops, "uops", "the uop buffer")
        seen: dict[SSAValue, str] = {self.instructions: "instructions", self.uops: "uops"}
        for role, values in (("reads", self.reads), ("writes", self.writes)):
            for value in values:
                if value in seen:
                    raise VerifyException(
                        f"dma.launch: {_value_label(value)} is listed twice (in {seen[value]} and {role}); "
                        "list a buffer the program reads and writes once, in writes"
                    )
                seen[value] = role
                owner = buffer_op(value)
                if owner is not None and owner.kind.data in ("instructions", "uops"):
                    raise VerifyException(
                        f"dma.launch: a '{owner.kind.data}' buffer cannot be in {role}"
                    )
                if role == "writes" and isinstance(owner, ConstantOp):
                    raise VerifyException(
                        f"dma.launch: writes a dma.constant ('{owner.kind.data}'), which is read-only"
                    )

    def _verify_kind(self, value: SSAValue, kind: str, what: str) -> None:
        owner = buffer_op(value)
        if owner is None:
            raise VerifyException(f"dma.launch: {what} must come from a dma.constant")
        if owner.kind.data != kind:
            raise VerifyException(
                f"dma.launch: {what} must be a '{kind}' buffer, got '{owner.kind.data}'"
            )

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_operand(self.instructions)
        printer.print_string(f"[{self.first_index}, {self.insn_count}] uops ")
        printer.print_operand(self.uops)
        printer.print_string(" : ")
        printer.print_attribute(self.instructions.type)
        printer.print_string(", ")
        printer.print_attribute(self.uops.type)
        for keyword, values in (("reads", self.reads), ("writes", self.writes)):
            if not values:
                continue
            printer.print_string(f" {keyword}(")
            for index, value in enumerate(values):
                if index:
                    printer.print_string(", ")
                printer.print_operand(value)
                printer.print_string(" : ")
                printer.print_attribute(value.type)
            printer.print_string(")")
        _print_attr_dict(printer, self)

    @classmethod
    def parse(cls, parser: Parser) -> LaunchOp:
        insns = parser.parse_unresolved_operand()
        parser.parse_punctuation("[")
        first = parser.parse_integer(allow_boolean=False, allow_negative=True)
        parser.parse_punctuation(",")
        count = parser.parse_integer(allow_boolean=False, allow_negative=True)
        parser.parse_punctuation("]")
        parser.parse_keyword("uops")
        uops = parser.parse_unresolved_operand()
        parser.parse_punctuation(":")
        insns_type = parser.parse_type()
        parser.parse_punctuation(",")
        uops_type = parser.parse_type()
        groups: dict[str, list[SSAValue]] = {"reads": [], "writes": []}
        for keyword in groups:
            if parser.parse_optional_keyword(keyword) is not None:
                groups[keyword] = parser.parse_comma_separated_list(
                    parser.Delimiter.PAREN, lambda: _parse_typed_operand(parser)
                )
        attributes = parser.parse_optional_attr_dict()
        op = cls(parser.resolve_operand(insns, insns_type), first, count,
                 parser.resolve_operand(uops, uops_type), groups["reads"], groups["writes"])
        op.attributes.update(attributes)
        return op


def _parse_typed_operand(parser: Parser) -> SSAValue:
    operand: UnresolvedOperand = parser.parse_unresolved_operand()
    parser.parse_punctuation(":")
    return parser.resolve_operand(operand, parser.parse_type())


@irdl_op_definition
class WaitOp(IRDLOperation):
    """Block the host until the launch of ``token`` has finished."""

    name = "dma.wait"
    token = operand_def(TokenType)
    assembly_format = "$token attr-dict"

    def __init__(self, token: SSAValue | Operation) -> None:
        super().__init__(operands=[token])


Dma = Dialect(
    "dma",
    [AllocOp, ConstantOp, CopyToCardOp, CopyToHostOp, LaunchOp, WaitOp],
    [BufferType, TokenType],
)

__all__ = [
    "ALLOC_KINDS",
    "CONSTANT_KINDS",
    "AllocOp",
    "BufferType",
    "ConstantOp",
    "CopyToCardOp",
    "CopyToHostOp",
    "Dma",
    "DmaError",
    "LaunchOp",
    "TokenType",
    "WaitOp",
    "buffer_op",
    "dense_value",
    "host_value_bytes",
    "value_bytes",
]
