"""The ``tile`` dialect: blocked (card) layouts as types, and explicit layout changes.

``docs/tile-dialect.md`` is the contract; this module implements it.

The accelerator core computes on BATCH x BLOCK_IN / BLOCK_OUT x BLOCK_IN tiles of the
hardware config (``canopy_mlir.hw``). A value in the card's layout has a blocked type
that carries those block sizes, so a layout change is an op (``tile.pack`` /
``tile.unpack``) visible to passes instead of a hidden property of a buffer:

    !tile.act<1x4x56x56x1x16xi8, n = 1, c = 64>    N/BATCH, C/BLOCK, H, W, BATCH, BLOCK
    !tile.wgt<4x1x3x3x16x16xi8, o = 64, i = 3>     O/BLOCK_OUT, I/BLOCK_IN, KH, KW, BLOCK_OUT, BLOCK_IN
    !tile.acc<1x4x56x56x1x16xi32, n = 1, c = 64>   like act, int32 accumulators

All three share one layout rule: blocked dimension 0 (1) counts blocks of logical
dimension 0 (1) with the block size at blocked dimension 4 (5); dimensions 2, 3 are the
spatial (kernel) dimensions. Element ``[b0, b1, s2, s3, i4, i5]`` is logical element
``[b0 * B4 + i4, b1 * B5 + i5, s2, s3]``; positions past the logical extent are padding
and hold zero (an invariant every tile op keeps, which makes ``pack(unpack(y)) == y``).

Compute ops (``TILE_COMPUTE_OPS``): ``tile.conv`` (groups, dilations; also the GEMM
tile), ``tile.pool`` (max/sum) and ``tile.alu``, each followed by an ALU tail of
:class:`AluStep` (``#tile.step<...>``) and carrying its buffer footprint, which the
verifier checks against the config.

The hardware config of an op is the ``tile.config`` attribute (a preset name or a JSON
path for :func:`canopy_mlir.hw.load_config`) of the nearest enclosing op carrying one
(normally the ``func.func`` or the ``builtin.module``). Without one, only the
config-independent checks run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    IntAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    i32,
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
    IRDLOperation,
    ParsePropInAttrDict,
    base,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.printer import Printer
from xdsl.traits import HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.alu_semantics import ALU_OPCODES, IMM_MAX, IMM_MIN, SHIFT_LIMIT
from canopy_mlir.hw import ConfigError, HardwareConfig, load_config


class TileError(ValueError):
    """A tile type or op that breaks docs/tile-dialect.md (raised by the builders)."""


CONFIG_ATTR = "tile.config"
"""Discardable attribute (on a func or module) naming the hardware config of its ops."""

i8 = IntegerType(8)
ui8 = IntegerType(8, Signedness.UNSIGNED)


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------ blocked types
class BlockedType(ParametrizedAttribute, TypeAttribute):
    """Common layout, syntax and verification of ``!tile.act/wgt/acc``.

    Parameters (declared by each subclass): ``shape`` (the six blocked dimensions),
    ``element_type`` and ``logical`` (the two unpadded extents of the blocked logical
    dimensions, e.g. ``[N, C]``).
    """

    LOGICAL_NAMES: ClassVar[tuple[str, str]]
    """Syntax keys of the two logical extents, e.g. ``("n", "c")``."""
    ELEMENT_TYPES: ClassVar[tuple[Attribute, ...]]
    DIM_NAMES: ClassVar[tuple[str, ...]]

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    logical: ArrayAttr[IntAttr]

    # ------------------------------------------------------------- building
    @classmethod
    def get(
        cls, blocked_shape: Sequence[int], element_type: Attribute, logical: Sequence[int]
    ) -> BlockedType:
        return cls.new(cls._parameters(blocked_shape, element_type, logical))

    @classmethod
    def _parameters(
        cls, blocked_shape: Sequence[int], element_type: Attribute, logical: Sequence[int]
    ) -> list[Attribute]:
        return [
            ArrayAttr([IntAttr(int(d)) for d in blocked_shape]),
            element_type,
            ArrayAttr([IntAttr(int(d)) for d in logical]),
        ]

    @classmethod
    def for_tensor(
        cls, tensor_shape: Sequence[int], element_type: Attribute, blocks: tuple[int, int]
    ) -> BlockedType:
        """The blocked type holding a ``tensor_shape`` (rank 4) tensor with ``blocks``.

        ``blocks`` are the block sizes of logical dimensions 0 and 1 (act: BATCH, BLOCK;
        wgt: BLOCK_OUT, BLOCK_IN).
        """
        if len(tensor_shape) != 4:
            raise TileError(f"{cls.name}: needs a rank-4 tensor shape, got {list(tensor_shape)}")
        d0, d1, d2, d3 = (int(d) for d in tensor_shape)
        b0, b1 = blocks
        return cls.get([ceil_div(d0, b0), ceil_div(d1, b1), d2, d3, b0, b1], element_type, [d0, d1])

    # ------------------------------------------------------------- queries
    @property
    def blocked_shape(self) -> tuple[int, ...]:
        return tuple(d.data for d in self.shape.data)

    @property
    def logical_extents(self) -> tuple[int, int]:
        l0, l1 = (d.data for d in self.logical.data)
        return l0, l1

    @property
    def blocks(self) -> tuple[int, int]:
        """Block sizes of logical dimensions 0 and 1."""
        return self.blocked_shape[4], self.blocked_shape[5]

    @property
    def tensor_shape(self) -> tuple[int, int, int, int]:
        """The logical (unpadded) NCHW / OIHW shape."""
        l0, l1 = self.logical_extents
        shape = self.blocked_shape
        return l0, l1, shape[2], shape[3]

    @property
    def padded_shape(self) -> tuple[int, int, int, int]:
        """The logical shape with dimensions 0 and 1 rounded up to whole blocks."""
        s = self.blocked_shape
        return s[0] * s[4], s[1] * s[5], s[2], s[3]

    def tensor_type(self) -> TensorType:
        """The tensor type ``tile.unpack`` of this type yields."""
        return TensorType(self.element_type, list(self.tensor_shape))

    def config_mismatch(self, config: HardwareConfig) -> str | None:
        """Why the block sizes do not fit ``config``, or None."""
        raise NotImplementedError

    # ------------------------------------------------------------- verifier
    def verify(self) -> None:
        shape = self.blocked_shape
        if len(shape) != 6:
            raise VerifyException(
                f"{self.name}: needs 6 blocked dimensions ({', '.join(self.DIM_NAMES)}), got {list(shape)}"
            )
        if len(self.logical.data) != 2:
            raise VerifyException(
                f"{self.name}: needs 2 logical extents ({', '.join(self.LOGICAL_NAMES)}), got "
                f"{len(self.logical.data)}"
            )
        if self.element_type not in self.ELEMENT_TYPES:
            allowed = "/".join(str(t) for t in self.ELEMENT_TYPES)
            raise VerifyException(
                f"{self.name}: element type must be {allowed}, got {self.element_type}"
            )
        if any(d < 1 for d in shape):
            raise VerifyException(f"{self.name}: dimensions must be positive, got {list(shape)}")
        for index in (4, 5):
            if not _is_power_of_two(shape[index]):
                raise VerifyException(
                    f"{self.name}: block size {self.DIM_NAMES[index]} = {shape[index]} is not a power of two"
                )
        for index, extent in enumerate(self.logical_extents):
            key, block, count = self.LOGICAL_NAMES[index], shape[4 + index], shape[index]
            if extent < 1:
                raise VerifyException(f"{self.name}: {key} = {extent} must be positive")
            if index == 1 and self._verify_reduction_blocks():
                continue
            if count != ceil_div(extent, block):
                raise VerifyException(
                    f"{self.name}: {key} = {extent} in blocks of {block} needs "
                    f"ceil({extent}/{block}) = {ceil_div(extent, block)} blocks "
                    f"({ceil_div(extent, block) * block} padded), but dimension "
                    f"{self.DIM_NAMES[index]} is {count}"
                )

    def _verify_reduction_blocks(self) -> bool:
        """Hook: a subclass that checks blocked dimension 1 itself returns True."""
        return False

    # ------------------------------------------------------------- syntax
    @classmethod
    def _parse_extra(cls, parser: AttrParser, parameters: list[Attribute]) -> None:
        """Hook: parse optional trailing parameters (``, groups = G`` of !tile.wgt)."""

    def _print_extra(self, printer: Printer) -> None:
        """Hook: print optional trailing parameters."""

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        """Parse ``<shape x element, key = extent, key = extent>`` and verify it here.

        Verifying while parsing reports a bad type at its place in the source (a
        diagnostic ``--verify-diagnostics`` can match), not as a location-less error.
        """
        start = parser.pos
        parser.parse_punctuation("<", f" in {cls.name}")
        shape, element_type = parser.parse_ranked_shape()
        extents = []
        for key in cls.LOGICAL_NAMES:
            parser.parse_punctuation(",", f" before '{key}' in {cls.name}")
            parser.parse_keyword(key, f" in {cls.name}")
            parser.parse_punctuation("=", f" after '{key}' in {cls.name}")
            extents.append(parser.parse_integer(allow_boolean=False, allow_negative=False))
        parameters = cls._parameters(shape, element_type, extents)
        cls._parse_extra(parser, parameters)
        parser.parse_punctuation(">", f" at the end of {cls.name}")
        try:
            cls.new(parameters).verify()
        except VerifyException as error:
            parser.raise_error(str(error), start, parser.pos)
        return parameters

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string("x".join(str(d) for d in self.blocked_shape) + "x")
            printer.print_attribute(self.element_type)
            for key, extent in zip(self.LOGICAL_NAMES, self.logical_extents):
                printer.print_string(f", {key} = {extent}")
            self._print_extra(printer)


def _act_like_mismatch(type_: BlockedType, config: HardwareConfig, blocks: Sequence[int]) -> str | None:
    batch, block = type_.blocks
    if batch != config.batch:
        return f"BATCH block {batch} but config '{config.name}' has BATCH = {config.batch}"
    if block not in blocks:
        wanted = " or ".join(str(b) for b in sorted(set(blocks)))
        return f"channel block {block} but config '{config.name}' has {wanted}"
    return None


@irdl_attr_definition
class ActType(BlockedType):
    """int8 activations: N/BATCH, C/BLOCK, H, W, BATCH, BLOCK (BLOCK = BLOCK_IN or BLOCK_OUT)."""

    name = "tile.act"
    LOGICAL_NAMES = ("n", "c")
    ELEMENT_TYPES = (i8, ui8)
    DIM_NAMES = ("N/BATCH", "C/BLOCK", "H", "W", "BATCH", "BLOCK")

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    logical: ArrayAttr[IntAttr]

    def config_mismatch(self, config: HardwareConfig) -> str | None:
        # An activation is read as INP (BLOCK_IN) or written from OUT (BLOCK_OUT).
        return _act_like_mismatch(self, config, (config.block_in, config.block_out))


@irdl_attr_definition
class AccType(BlockedType):
    """int32 accumulators: N/BATCH, C/BLOCK_OUT, H, W, BATCH, BLOCK_OUT."""

    name = "tile.acc"
    LOGICAL_NAMES = ("n", "c")
    ELEMENT_TYPES = (i32,)
    DIM_NAMES = ("N/BATCH", "C/BLOCK_OUT", "H", "W", "BATCH", "BLOCK_OUT")

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    logical: ArrayAttr[IntAttr]

    def config_mismatch(self, config: HardwareConfig) -> str | None:
        return _act_like_mismatch(self, config, (config.block_out,))


@irdl_attr_definition
class WgtType(BlockedType):
    """int8 weights: O/BLOCK_OUT, R, KH, KW, BLOCK_OUT, BLOCK_IN.

    ``groups`` (default 1, printed only when != 1) is the conv's group count G. The
    logical tensor is OIHW with I = C/G; dimension 1 counts the R reduction blocks of
    :func:`grouped_reduction` (``ceil(I / BLOCK_IN)`` when G = 1), and the blocked
    array holds the dense-equivalent weight (zero outside each output's group).
    """

    name = "tile.wgt"
    LOGICAL_NAMES = ("o", "i")
    ELEMENT_TYPES = (i8,)
    DIM_NAMES = ("O/BLOCK_OUT", "I/BLOCK_IN", "KH", "KW", "BLOCK_OUT", "BLOCK_IN")

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    logical: ArrayAttr[IntAttr]
    groups: IntAttr

    @classmethod
    def _parameters(
        cls,
        blocked_shape: Sequence[int],
        element_type: Attribute,
        logical: Sequence[int],
        groups: int = 1,
    ) -> list[Attribute]:
        return [*super()._parameters(blocked_shape, element_type, logical), IntAttr(int(groups))]

    @classmethod
    def get(
        cls,
        blocked_shape: Sequence[int],
        element_type: Attribute,
        logical: Sequence[int],
        groups: int = 1,
    ) -> WgtType:
        return cls.new(cls._parameters(blocked_shape, element_type, logical, groups))

    @classmethod
    def for_tensor(
        cls,
        tensor_shape: Sequence[int],
        element_type: Attribute,
        blocks: tuple[int, int],
        groups: int = 1,
    ) -> WgtType:
        """The blocked weight of an OIHW ``tensor_shape`` (I = C/groups) of a grouped conv."""
        if len(tensor_shape) != 4:
            raise TileError(f"{cls.name}: needs a rank-4 tensor shape, got {list(tensor_shape)}")
        o, i, kh, kw = (int(d) for d in tensor_shape)
        block_out, block_in = blocks
        if groups < 1 or o % groups:
            raise TileError(f"{cls.name}: {o} output channels do not split into {groups} groups")
        reduction, _ = grouped_reduction(o, i * groups, groups, block_out, block_in)
        shape = [ceil_div(o, block_out), reduction, kh, kw, block_out, block_in]
        return cls.get(shape, element_type, [o, i], groups)

    @property
    def group_count(self) -> int:
        return self.groups.data

    @property
    def input_channels(self) -> int:
        """C, the conv's input channel count (I * groups)."""
        return self.logical_extents[1] * self.group_count

    def reduction(self) -> tuple[int, tuple[int, ...]]:
        """``(R, starts)`` of :func:`grouped_reduction` for this weight."""
        o = self.logical_extents[0]
        return grouped_reduction(o, self.input_channels, self.group_count, *self.blocks)

    def _verify_reduction_blocks(self) -> bool:
        groups, (o, i) = self.group_count, self.logical_extents
        if groups < 1:
            raise VerifyException(f"{self.name}: groups = {groups} must be positive")
        if o % groups:
            raise VerifyException(
                f"{self.name}: o = {o} output channels do not split into groups = {groups}"
            )
        if groups == 1 or o < 1 or i < 1:
            return False
        reduction, _ = self.reduction()
        if self.blocked_shape[1] != reduction:
            raise VerifyException(
                f"{self.name}: o = {o}, i = {i}, groups = {groups} (C = {i * groups}) in "
                f"{self.blocks[0]}x{self.blocks[1]} blocks need R = {reduction} reduction "
                f"blocks, but dimension I/BLOCK_IN is {self.blocked_shape[1]}"
            )
        return True

    @classmethod
    def _parse_extra(cls, parser: AttrParser, parameters: list[Attribute]) -> None:
        if parser.parse_optional_punctuation(",") is None:
            return
        parser.parse_keyword("groups", f" in {cls.name}")
        parser.parse_punctuation("=", f" after 'groups' in {cls.name}")
        parameters[3] = IntAttr(parser.parse_integer(allow_boolean=False, allow_negative=False))

    def _print_extra(self, printer: Printer) -> None:
        if self.group_count != 1:
            printer.print_string(f", groups = {self.group_count}")

    def config_mismatch(self, config: HardwareConfig) -> str | None:
        if self.blocks != (config.block_out, config.block_in):
            return (
                f"blocks BLOCK_OUT x BLOCK_IN = {self.blocks[0]}x{self.blocks[1]} but config "
                f"'{config.name}' has {config.block_out}x{config.block_in}"
            )
        return None


def grouped_reduction(
    out_channels: int, in_channels: int, groups: int, block_out: int, block_in: int
) -> tuple[int, tuple[int, ...]]:
    """``(R, starts)``: the BLOCK_IN reduction blocks of each BLOCK_OUT output block.

    Output block ``ob`` covers channels ``[ob*BO, min(O, (ob+1)*BO))``; the input
    channels of their groups span ``[lo, hi)``; its reduction starts at input block
    ``floor(lo / BI)`` (clamped so that ``start + R <= ceil(C / BI)``) and ``R`` is the
    most blocks any output block needs. G = 1 gives ``R = ceil(C / BI)``, all starts 0;
    depthwise with BI == BO gives R = 1 and ``starts[ob] = ob`` (diagonal blocks).
    """
    if groups < 1 or out_channels % groups or in_channels % groups:
        raise TileError(
            f"grouped_reduction: {out_channels} outputs and {in_channels} inputs do not split "
            f"into {groups} groups"
        )
    per_out, per_in = out_channels // groups, in_channels // groups
    in_blocks = ceil_div(in_channels, block_in)
    spans = []
    for ob in range(ceil_div(out_channels, block_out)):
        first, last = ob * block_out, min(out_channels, (ob + 1) * block_out) - 1
        lo, hi = (first // per_out) * per_in, (last // per_out + 1) * per_in
        spans.append((lo // block_in, ceil_div(hi, block_in)))
    reduction = max(end - start for start, end in spans)
    starts = tuple(min(start, in_blocks - reduction) for start, _ in spans)
    return reduction, starts


BLOCKED_TYPES: tuple[type[BlockedType], ...] = (ActType, WgtType, AccType)


def blocked_type_for(
    kind: str,
    tensor_type: TensorType,
    config: HardwareConfig | str,
    *,
    block: str = "in",
    groups: int = 1,
) -> BlockedType:
    """The blocked type ``tile.pack`` gives ``tensor_type`` on ``config``.

    ``kind`` is ``"act"``, ``"wgt"`` or ``"acc"``; ``block`` picks BLOCK_IN or BLOCK_OUT
    as the channel block of an activation (``"in"``: read by GEMM; ``"out"``: written);
    ``groups`` is a weight's conv group count.
    """
    config = load_config(config)
    shape = tensor_type.get_shape()
    element = tensor_type.element_type
    if kind == "act":
        channel_block = config.block_in if block == "in" else config.block_out
        return ActType.for_tensor(shape, element, (config.batch, channel_block))
    if kind == "acc":
        return AccType.for_tensor(shape, element, (config.batch, config.block_out))
    if kind == "wgt":
        return WgtType.for_tensor(shape, element, (config.block_out, config.block_in), groups)
    raise TileError(f"unknown blocked type kind '{kind}' (act, wgt or acc)")


# ------------------------------------------------------------------ the config
def config_of(op: Operation) -> HardwareConfig | None:
    """The hardware config named by the nearest ``tile.config`` around ``op`` (or on it).

    Raises :class:`TileError` when the attribute is not a string or names no config.
    """
    current: Operation | None = op
    while current is not None:
        attr = current.attributes.get(CONFIG_ATTR)
        if attr is not None:
            if not isinstance(attr, StringAttr):
                raise TileError(f"'{CONFIG_ATTR}' on '{current.name}' must be a string, got {attr}")
            try:
                return load_config(attr.data)
            except ConfigError as error:
                raise TileError(f"'{CONFIG_ATTR}' on '{current.name}': {error}") from error
        current = current.parent_op()
    return None


def _verify_against_config(op: Operation, type_: BlockedType) -> None:
    try:
        config = config_of(op)
    except TileError as error:
        raise VerifyException(f"{op.name}: {error}") from error
    if config is None:
        return
    mismatch = type_.config_mismatch(config)
    if mismatch is not None:
        raise VerifyException(f"{op.name}: {type_.name} has {mismatch}")


# ------------------------------------------------------------------ operations
class TileCanonicalization(HasCanonicalizationPatternsTrait):
    """Gives xDSL's ``canonicalize`` the pack/unpack cancellation patterns."""

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        return (CancelPackOfUnpack(), CancelUnpackOfPack())


def _verify_layout_change(op: Operation, tensor: TensorType, blocked: BlockedType) -> None:
    """The checks shared by pack and unpack: ``blocked`` holds exactly ``tensor``."""
    if tensor.get_num_dims() != 4:
        raise VerifyException(
            f"{op.name}: the tensor must be rank 4 (NCHW / OIHW), got {tensor}"
        )
    if tensor.element_type != blocked.element_type:
        raise VerifyException(
            f"{op.name}: element types differ: tensor {tensor.element_type}, blocked "
            f"{blocked.element_type}"
        )
    if tuple(tensor.get_shape()) != blocked.tensor_shape:
        raise VerifyException(
            f"{op.name}: tensor shape {list(tensor.get_shape())} is not the logical shape "
            f"{list(blocked.tensor_shape)} of {blocked}"
        )
    _verify_against_config(op, blocked)


@irdl_op_definition
class PackOp(IRDLOperation):
    """NCHW / OIHW tensor -> blocked layout, zero-padding dimensions 0 and 1 to whole blocks."""

    name = "tile.pack"
    input = operand_def(TensorType)
    result = result_def(base(ActType) | base(WgtType) | base(AccType))
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"
    traits = traits_def(Pure(), TileCanonicalization())

    def __init__(self, input: SSAValue | Operation, result_type: BlockedType) -> None:
        super().__init__(operands=[input], result_types=[result_type])

    def verify_(self) -> None:
        assert isinstance(self.input.type, TensorType)
        assert isinstance(self.result.type, BlockedType)
        _verify_layout_change(self, self.input.type, self.result.type)


@irdl_op_definition
class UnpackOp(IRDLOperation):
    """Blocked layout -> NCHW / OIHW tensor, dropping the padding."""

    name = "tile.unpack"
    input = operand_def(base(ActType) | base(WgtType) | base(AccType))
    result = result_def(TensorType)
    assembly_format = "$input attr-dict `:` type($input) `->` type($result)"
    traits = traits_def(Pure(), TileCanonicalization())

    def __init__(self, input: SSAValue | Operation, result_type: TensorType | None = None) -> None:
        value = SSAValue.get(input)
        if result_type is None:
            if not isinstance(value.type, BlockedType):
                raise TileError(f"tile.unpack: operand type {value.type} is not a blocked type")
            result_type = value.type.tensor_type()
        super().__init__(operands=[value], result_types=[result_type])

    def verify_(self) -> None:
        assert isinstance(self.input.type, BlockedType)
        assert isinstance(self.result.type, TensorType)
        _verify_layout_change(self, self.result.type, self.input.type)


# ------------------------------------------------------------------ canonicalization
class CancelUnpackOfPack(RewritePattern):
    """``unpack(pack(x))`` -> ``x``: packing loses nothing, unpacking drops only the padding."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: UnpackOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if isinstance(inner, PackOp) and inner.input.type == op.result.type:
            rewriter.replace(op, [], [inner.input])


class CancelPackOfUnpack(RewritePattern):
    """``pack(unpack(y))`` -> ``y``: exact because blocked padding is always zero."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: PackOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if isinstance(inner, UnpackOp) and inner.input.type == op.result.type:
            rewriter.replace(op, [], [inner.input])


# ------------------------------------------------------------------ ALU tail
TAIL_OPCODES = ALU_OPCODES
"""The core's ALU opcodes a tail step may use (docs/isa.md)."""


@dataclass(frozen=True)
class AluStep:
    """One ALU step of a compute op's tail: ``acc = opcode(acc, imm or tail_operands[operand])``.

    Exactly one of ``imm`` (signed 16-bit; for ``shr`` in [-31, 31]) and ``operand``
    (an index into the op's ``tail_operands``).
    """

    opcode: str
    imm: int | None = None
    operand: int | None = None

    def problem(self) -> str | None:
        """Why this step is not a valid ALU step (operand indices aside), or None."""
        if self.opcode not in TAIL_OPCODES:
            return f"unknown ALU opcode '{self.opcode}' (one of {', '.join(TAIL_OPCODES)})"
        if (self.imm is None) == (self.operand is None):
            return f"ALU step '{self.opcode}' needs exactly one of an immediate and an operand"
        if self.imm is not None:
            low, high = (-SHIFT_LIMIT, SHIFT_LIMIT) if self.opcode == "shr" else (IMM_MIN, IMM_MAX)
            if not low <= self.imm <= high:
                return f"'{self.opcode}' immediate {self.imm} is outside [{low}, {high}]"
        elif self.operand is not None and self.operand < 0:
            return f"'{self.opcode}' operand index {self.operand} is negative"
        return None

    def to_attr(self) -> AluStepAttr:
        """The ``#tile.step`` attribute of this step (TileError if invalid)."""
        problem = self.problem()
        if problem is not None:
            raise TileError(f"tile tail: {problem}")
        source, value = ("imm", self.imm) if self.imm is not None else ("operand", self.operand)
        return AluStepAttr(StringAttr(self.opcode), StringAttr(source), IntAttr(int(value)))  # pyright: ignore[reportArgumentType]


@irdl_attr_definition
class AluStepAttr(ParametrizedAttribute):
    """``#tile.step<add 5>`` (immediate) or ``#tile.step<add operand 0>`` (tail operand 0)."""

    name = "tile.step"

    opcode: StringAttr
    source: StringAttr
    value: IntAttr

    def step(self) -> AluStep:
        if self.source.data == "imm":
            return AluStep(self.opcode.data, imm=self.value.data)
        return AluStep(self.opcode.data, operand=self.value.data)

    def verify(self) -> None:
        if self.source.data not in ("imm", "operand"):
            raise VerifyException(f"tile.step: source must be imm or operand, got '{self.source.data}'")
        problem = self.step().problem()
        if problem is not None:
            raise VerifyException(f"tile.step: {problem}")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        start = parser.pos
        parser.parse_punctuation("<", " in tile.step")
        opcode = parser.parse_identifier(" (an ALU opcode) in tile.step")
        if parser.parse_optional_keyword("operand") is not None:
            source, value = "operand", parser.parse_integer(allow_boolean=False)
        else:
            source, value = "imm", parser.parse_integer(allow_boolean=False)
        parser.parse_punctuation(">", " at the end of tile.step")
        parameters: list[Attribute] = [StringAttr(opcode), StringAttr(source), IntAttr(value)]
        try:
            cls.new(parameters).verify()
        except VerifyException as error:
            parser.raise_error(str(error), start, parser.pos)
        return parameters

    def print_parameters(self, printer: Printer) -> None:
        operand = "operand " if self.source.data == "operand" else ""
        printer.print_string(f"<{self.opcode.data} {operand}{self.value.data}>")


def _element_attr(element: Attribute | str | None) -> Attribute | None:
    """``result_element`` as an attribute: None, i8 or ui8 (also spelled "i8"/"ui8")."""
    if element is None or element in (i8, ui8):
        return element  # pyright: ignore[reportReturnType]
    names = {"i8": i8, "ui8": ui8}
    if isinstance(element, str) and element in names:
        return names[element]
    raise TileError(f"result_element must be None, i8 or ui8, got {element}")


def _element_range(element: Attribute) -> tuple[int, int]:
    return (-128, 127) if element == i8 else (0, 255)


def tail_operand_kinds(
    operands: Sequence[SSAValue],
) -> tuple[int, int]:
    """(full-tensor operands, per-channel operands) among ``operands``."""
    channel = sum(1 for v in operands if isinstance(v.type, TensorType))
    return len(operands) - channel, channel


def compute_result_type(
    tensor_shape: Sequence[int], blocks: tuple[int, int], element: Attribute | None
) -> BlockedType:
    """``!tile.acc`` (element None) or ``!tile.act`` of ``element`` for an NCHW shape."""
    if element is None:
        return AccType.for_tensor(tensor_shape, i32, blocks)
    return ActType.for_tensor(tensor_shape, element, blocks)


# ------------------------------------------------------------------ footprints
def _window(tile_extent: int, stride: int, kernel: int, dilation: int = 1) -> int:
    """Input rows (columns) that ``tile_extent`` output rows (columns) read."""
    return (tile_extent - 1) * stride + (kernel - 1) * dilation + 1


def conv_footprint(
    kernel_hw: Sequence[int],
    strides: Sequence[int],
    tile: Sequence[int],
    buffers: int,
    *,
    dilations: Sequence[int] = (1, 1),
    tail_steps: int = 0,
    full_operands: int = 0,
    channel_operands: int = 0,
    inp_blocks: int | None = None,
) -> dict[str, int]:
    """Buffer elements one ``tile.conv`` tile occupies: ``{"inp", "wgt", "acc", "uop"}``.

    ``inp_blocks`` (default ``tile_ic``) is the most input blocks one (oc tile, chunk)
    reads: a grouped conv's output blocks start their reduction at different input
    blocks, so an oc tile of several blocks reads the union (:func:`conv_input_blocks`).

    ``tile`` is ``[tile_h, tile_w, tile_oc, tile_ic]`` (output rows, output columns,
    BLOCK_OUT channel blocks, BLOCK_IN reduction blocks) for one BATCH block. The input
    window of ``tile_h x tile_w`` outputs (halo included) is
    ``((tile_h-1)*sh + (KH-1)*dh + 1) x ((tile_w-1)*sw + (KW-1)*dw + 1)`` pixels; one GEMM
    micro-op per (oc block, ic block, kh, kw) and one ALU micro-op per (oc block, tail
    step), the output pixels being the instructions' two loops. A full-tensor tail
    operand (a residual) takes as much ACC as the output tile, a per-channel one one row
    per oc block. ``buffers = 2`` (double buffering) keeps two copies of INP, WGT and
    ACC so the next tile loads while this one computes; the micro-op kernel is shared.
    """
    (kh, kw), (sh, sw), (dh, dw) = kernel_hw, strides, dilations
    tile_h, tile_w, tile_oc, tile_ic = tile
    window = _window(tile_h, sh, kh, dh) * _window(tile_w, sw, kw, dw)
    out_tile = tile_oc * tile_h * tile_w
    return {
        "inp": buffers * (tile_ic if inp_blocks is None else inp_blocks) * window,
        "wgt": buffers * tile_oc * tile_ic * kh * kw,
        "acc": buffers * (out_tile * (1 + full_operands) + tile_oc * channel_operands),
        "uop": tile_oc * tile_ic * kh * kw + tile_oc * tail_steps,
    }


def conv_input_blocks(starts: Sequence[int], reduction: int, tile_oc: int, tile_ic: int) -> int:
    """The most input blocks one (oc tile, reduction chunk) of a conv reads.

    Output block ``ob`` reads blocks ``starts[ob] + r``; an oc tile's chunk
    ``[r0, r0 + tile_ic)`` reads the union over its output blocks. ``tile_ic`` for G = 1
    (all starts 0); more for a grouped conv whose tile spans several groups' blocks.
    """
    most = 0
    for first in range(0, len(starts), tile_oc):
        tile_starts = set(starts[first : first + tile_oc])
        for r0 in range(0, reduction, tile_ic):
            length = min(tile_ic, reduction - r0)
            blocks = {s + r0 + r for s in tile_starts for r in range(length)}
            most = max(most, len(blocks))
    return most


def pool_footprint(
    kernel_hw: Sequence[int],
    strides: Sequence[int],
    tile: Sequence[int],
    buffers: int,
    *,
    tail_steps: int = 0,
    full_operands: int = 0,
    channel_operands: int = 0,
) -> dict[str, int]:
    """Buffer elements of one ``tile.pool`` tile ``[tile_h, tile_w, tile_c]``: ACC and UOP.

    The input window (halo included) and the output tile both live in ACC (the ALU
    reads and writes only ACC); one ALU micro-op per (channel block, kernel position)
    and per (channel block, tail step).
    """
    (kh, kw), (sh, sw) = kernel_hw, strides
    tile_h, tile_w, tile_c = tile
    window = _window(tile_h, sh, kh) * _window(tile_w, sw, kw)
    out_tile = tile_c * tile_h * tile_w
    return {
        "acc": buffers * (tile_c * window + out_tile * (1 + full_operands) + tile_c * channel_operands),
        "uop": tile_c * (kh * kw + tail_steps),
    }


def alu_footprint(
    tile: Sequence[int], buffers: int, *, tail_steps: int, full_operands: int = 0, channel_operands: int = 0
) -> dict[str, int]:
    """Buffer elements of one ``tile.alu`` tile ``[tile_h, tile_w, tile_c]``: ACC and UOP."""
    tile_h, tile_w, tile_c = tile
    return {
        "acc": buffers * (tile_c * tile_h * tile_w * (1 + full_operands) + tile_c * channel_operands),
        "uop": tile_c * tail_steps,
    }


# ------------------------------------------------------------------ compute ops
def _ints(attr: Attribute | None, default: Sequence[int] = ()) -> list[int]:
    if attr is None:
        return list(default)
    assert isinstance(attr, DenseArrayBase)
    return [int(v) for v in attr.get_values()]


def _array(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, [int(v) for v in values])


def conv_output_hw(
    input_hw: Sequence[int],
    kernel_hw: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int] = (1, 1),
) -> tuple[int, int]:
    """Output height and width of a conv or pool (pads are [top, left, bottom, right])."""
    (h, w), (kh, kw), (sh, sw), (dh, dw) = input_hw, kernel_hw, strides, dilations
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    return (h + pads[0] + pads[2] - eh) // sh + 1, (w + pads[1] + pads[3] - ew) // sw + 1


class ComputeOp(IRDLOperation):
    """What ``tile.conv``, ``tile.pool`` and ``tile.alu`` share: the tail, result, footprint.

    Subclasses define ``OP_NAME``-specific ``_verify_shapes`` (operand rules and the
    expected result shape), ``footprint()`` and ``TILE_NAMES``.
    """

    TILE_NAMES: ClassVar[tuple[str, ...]]

    # -------------------------------------------------------------- shared properties
    def tile_sizes(self) -> list[int]:
        return _ints(self.properties["tile"])

    def buffer_count(self) -> int:
        attr = self.properties["buffers"]
        assert isinstance(attr, IntegerAttr)
        return int(attr.value.data)

    def tail_steps(self) -> tuple[AluStep, ...]:
        attr = self.properties.get("tail")
        if attr is None:
            return ()
        assert isinstance(attr, ArrayAttr)
        return tuple(step.step() for step in attr.data)  # pyright: ignore[reportAttributeAccessIssue]

    def tail_values(self) -> tuple[SSAValue, ...]:
        return tuple(self.tail_operands)  # pyright: ignore[reportAttributeAccessIssue]

    @property
    def result_element(self) -> Attribute | None:
        """None (an int32 ``!tile.acc`` result) or the i8/ui8 element of a ``!tile.act``."""
        type_ = self.result.type  # pyright: ignore[reportAttributeAccessIssue]
        return type_.element_type if isinstance(type_, ActType) else None

    def _tail_counts(self) -> dict[str, int]:
        full, channel = tail_operand_kinds(self.tail_values())
        return {"tail_steps": len(self.tail_steps()), "full_operands": full, "channel_operands": channel}

    @staticmethod
    def _common_properties(
        tile: Sequence[int], buffers: int, tail: Sequence[AluStep]
    ) -> dict[str, Attribute]:
        properties: dict[str, Attribute] = {"tile": _array(tile), "buffers": IntegerAttr(buffers, i64)}
        if tail:
            properties["tail"] = ArrayAttr([step.to_attr() for step in tail])
        return properties

    # -------------------------------------------------------------- verification
    def _fail(self, message: str) -> VerifyException:
        return VerifyException(f"{self.name}: {message}")

    def _verify_common(self, result_shape: Sequence[int], result_blocks: tuple[int, int]) -> None:
        """Tile, buffers, tail, tail operands, result type and buffer footprint."""
        sizes = self.tile_sizes()
        if len(sizes) != len(self.TILE_NAMES):
            raise self._fail(f"tile must be [{', '.join(self.TILE_NAMES)}], got {sizes}")
        if self.buffer_count() not in (1, 2):
            raise self._fail(f"buffers must be 1 or 2 (double buffering), got {self.buffer_count()}")
        self._verify_tail(result_shape, result_blocks)
        expected = compute_result_type(result_shape, result_blocks, self.result_element)
        if self.result.type != expected:  # pyright: ignore[reportAttributeAccessIssue]
            raise self._fail(f"result type {self.result.type} should be {expected}")  # pyright: ignore[reportAttributeAccessIssue]
        self._verify_clamp()

    def _verify_tail(self, result_shape: Sequence[int], result_blocks: tuple[int, int]) -> None:
        operands = self.tail_values()
        for index, step in enumerate(self.tail_steps()):
            if step.operand is not None and step.operand >= len(operands):
                raise self._fail(
                    f"tail step {index} ({step.opcode}) uses operand {step.operand}, but there "
                    f"are {len(operands)} tail operands"
                )
        for index, value in enumerate(operands):
            problem = _tail_operand_problem(value.type, result_shape, result_blocks)
            if problem is not None:
                raise self._fail(f"tail operand {index}: {problem}")

    def _verify_clamp(self) -> None:
        element = self.result_element
        if element is None:
            return
        low, high = _element_range(element)
        steps = self.tail_steps()
        last = steps[-2:]
        opcodes = sorted(step.opcode for step in last)
        if len(last) < 2 or opcodes != ["max", "min"] or any(s.imm is None for s in last):
            raise self._fail(
                f"a {element} result keeps the low 8 bits of ACC, so the tail must end with a "
                f"max and a min by immediates clamping into [{low}, {high}] (no value may be "
                f"silently truncated)"
            )
        for step in last:
            assert step.imm is not None
            if not low <= step.imm <= high:
                raise self._fail(
                    f"the tail's final '{step.opcode} {step.imm}' does not clamp into the "
                    f"{element} range [{low}, {high}]"
                )

    def _verify_footprint(self, types: Sequence[Attribute]) -> None:
        try:
            config = config_of(self)
        except TileError as error:
            raise self._fail(str(error)) from error
        if config is None:
            raise self._fail(f"needs a '{CONFIG_ATTR}' on an enclosing op to check its buffer footprint")
        for type_ in types:
            if isinstance(type_, BlockedType):
                mismatch = type_.config_mismatch(config)
                if mismatch is not None:
                    raise self._fail(f"{type_.name} has {mismatch}")
        self._verify_block_out(config)
        depths = config.depths()
        for buffer, elements in self.footprint().items():  # pyright: ignore[reportAttributeAccessIssue]
            depth = depths[buffer.upper()]
            if elements > depth:
                raise self._fail(
                    f"a tile {self.tile_sizes()} needs {elements} {buffer.upper()} elements; "
                    f"config '{config.name}' has {depth}"
                )

    def _verify_block_out(self, config: HardwareConfig) -> None:
        """The result (and any ACC-side operand) is blocked by BLOCK_OUT."""
        result = self.result.type  # pyright: ignore[reportAttributeAccessIssue]
        assert isinstance(result, BlockedType)
        if result.blocks[1] != config.block_out:
            raise self._fail(
                f"the result's channel block {result.blocks[1]} is not BLOCK_OUT = "
                f"{config.block_out} of config '{config.name}'"
            )

    def _verify_tile_limits(self, limits: Sequence[int]) -> None:
        for name, size, limit in zip(self.TILE_NAMES, self.tile_sizes(), limits):
            if not 1 <= size <= limit:
                raise self._fail(f"{name} = {size} is outside [1, {limit}]")


def _tail_operand_problem(
    type_: Attribute, result_shape: Sequence[int], result_blocks: tuple[int, int]
) -> str | None:
    """Why ``type_`` is not a valid tail operand of a result of ``result_shape``, or None."""
    channels = result_shape[1]
    if isinstance(type_, TensorType):
        if type_.element_type != i32 or tuple(type_.get_shape()) != (channels,):
            return f"a per-channel operand must be tensor<{channels}xi32>, got {type_}"
        return None
    if isinstance(type_, ActType) and type_.element_type != i8:
        return (
            f"{type_} enters ACC sign-extended (as LOAD ACC_8BIT does), so its element must "
            f"be i8, not {type_.element_type}"
        )
    if isinstance(type_, (ActType, AccType)):
        if type_.tensor_shape != tuple(result_shape):
            return (
                f"a full-tensor operand must have the result's logical shape "
                f"{list(result_shape)}, got {list(type_.tensor_shape)}"
            )
        if type_.blocks != result_blocks:
            return (
                f"a full-tensor operand must be blocked like the result "
                f"({result_blocks[0]}x{result_blocks[1]}), got {type_.blocks[0]}x{type_.blocks[1]}"
            )
        return None
    return f"must be tensor<{channels}xi32>, !tile.acc or an i8 !tile.act, got {type_}"


def _verify_acc_input(op: ComputeOp, type_: Attribute) -> None:
    """An ALU-side input (pool, alu): ``!tile.acc`` or an i8 ``!tile.act``."""
    if isinstance(type_, ActType) and type_.element_type != i8:
        raise op._fail(  # pyright: ignore[reportPrivateUsage]
            f"the input {type_} enters ACC sign-extended (as LOAD ACC_8BIT does), so its "
            f"element must be i8, not {type_.element_type}"
        )


_COMPUTE_FORMAT_TAIL = "(`tail` `(` $tail_operands^ `)`)? attr-dict `:` functional-type(operands, results)"


def _prop_ints(op: IRDLOperation, name: str, default: Sequence[int] = ()) -> list[int]:
    return _ints(op.properties.get(name), default)


@irdl_op_definition
class ConvOp(ComputeOp):
    """An int8 conv (groups, dilations, zero padding) of blocked operands, with an ALU tail.

    ``acc[n, o, y, x] = sum over i in o's group, kh, kw of
    input[n, i, y*sh - top + kh*dh, x*sw - left + kw*dw] * weight[o, i - g(o)*C/G, kh, kw]``
    in int32 (wrapping), then the tail's ALU steps. Computed tile by tile (docs/tile-
    dialect.md, "Schedule"): ``tile = [tile_h, tile_w, tile_oc, tile_ic]``. A gemm is
    a 1x1 conv on a 1x1 image.
    """

    name = "tile.conv"
    TILE_NAMES: ClassVar[tuple[str, ...]] = ("tile_h", "tile_w", "tile_oc", "tile_ic")
    input = operand_def(ActType)
    weight = operand_def(WgtType)
    tail_operands = var_operand_def(base(TensorType) | base(ActType) | base(AccType))
    result = result_def(base(AccType) | base(ActType))
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    dilations = opt_prop_def(DenseArrayBase)
    groups = opt_prop_def(IntegerAttr)
    tile = prop_def(DenseArrayBase)
    buffers = prop_def(IntegerAttr)
    tail = opt_prop_def(ArrayAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input `,` $weight " + _COMPUTE_FORMAT_TAIL
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        *,
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        dilations: Sequence[int] = (1, 1),
        groups: int = 1,
        tile: Sequence[int],
        buffers: int = 1,
        tail: Sequence[AluStep] = (),
        tail_operands: Sequence[SSAValue | Operation] = (),
        result_element: Attribute | str | None = None,
    ) -> None:
        x, w = SSAValue.get(input), SSAValue.get(weight)
        if not isinstance(x.type, ActType) or not isinstance(w.type, WgtType):
            raise TileError(f"tile.conv: operands must be !tile.act and !tile.wgt, got {x.type}, {w.type}")
        result_type = conv_result_type(x.type, w.type, strides, pads, dilations, _element_attr(result_element))
        properties = {"strides": _array(strides), "pads": _array(pads)}
        if tuple(dilations) != (1, 1):
            properties["dilations"] = _array(dilations)
        if groups != 1:
            properties["groups"] = IntegerAttr(groups, i64)
        properties.update(self._common_properties(tile, buffers, tail))
        super().__init__(
            operands=[x, w, [SSAValue.get(v) for v in tail_operands]],
            result_types=[result_type],
            properties=properties,
        )

    def params(self) -> dict[str, list[int] | int]:
        """The conv's properties as Python values (defaults filled in)."""
        groups = self.groups
        return {
            "strides": _prop_ints(self, "strides"),
            "pads": _prop_ints(self, "pads"),
            "dilations": _prop_ints(self, "dilations", (1, 1)),
            "groups": 1 if groups is None else int(groups.value.data),
            "tile": self.tile_sizes(),
            "buffers": self.buffer_count(),
        }

    def footprint(self) -> dict[str, int]:
        assert isinstance(self.weight.type, WgtType)
        p = self.params()
        return conv_footprint(
            self.weight.type.tensor_shape[2:],
            p["strides"],  # pyright: ignore[reportArgumentType]
            p["tile"],  # pyright: ignore[reportArgumentType]
            p["buffers"],  # pyright: ignore[reportArgumentType]
            dilations=p["dilations"],  # pyright: ignore[reportArgumentType]
            inp_blocks=self._input_blocks(p["tile"]),  # pyright: ignore[reportArgumentType]
            **self._tail_counts(),
        )

    def _input_blocks(self, tile: Sequence[int]) -> int | None:
        """INP blocks per chunk (:func:`conv_input_blocks`); None if the tile is malformed."""
        w = self.weight.type
        assert isinstance(w, WgtType)
        if len(tile) != 4 or min(tile) < 1:
            return None
        reduction, starts = w.reduction()
        return conv_input_blocks(starts, reduction, tile[2], tile[3])

    def output_shape(self) -> tuple[int, int, int, int]:
        """The logical NCHW shape of the result."""
        x, w = self.input.type, self.weight.type
        assert isinstance(x, ActType) and isinstance(w, WgtType)
        p = self.params()
        out_h, out_w = conv_output_hw(x.tensor_shape[2:], w.tensor_shape[2:], p["strides"], p["pads"], p["dilations"])  # pyright: ignore[reportArgumentType]
        return x.tensor_shape[0], w.tensor_shape[0], out_h, out_w

    def macs(self) -> int:
        """Useful multiply-accumulates: N * O * OH * OW * (C/G) * KH * KW."""
        w = self.weight.type
        assert isinstance(w, WgtType)
        n, o, out_h, out_w = self.output_shape()
        _, i, kh, kw = w.tensor_shape
        return n * o * out_h * out_w * i * kh * kw

    def card_macs(self) -> int:
        """MACs the core performs: padded batch and channel blocks, all R reduction blocks."""
        x, w = self.input.type, self.weight.type
        assert isinstance(x, ActType) and isinstance(w, WgtType)
        _, _, out_h, out_w = self.output_shape()
        ob, reduction, kh, kw, block_out, block_in = w.blocked_shape
        return x.blocked_shape[0] * ob * reduction * kh * kw * out_h * out_w * x.blocks[0] * block_in * block_out

    def verify_(self) -> None:
        x, w = self.input.type, self.weight.type
        assert isinstance(x, ActType) and isinstance(w, WgtType)
        p = self.params()
        self._verify_conv_params(p)
        groups = p["groups"]
        assert isinstance(groups, int)
        if w.group_count != groups:
            raise self._fail(f"the weight type has groups = {w.group_count}, the op groups = {groups}")
        if x.tensor_shape[1] != w.input_channels:
            raise self._fail(
                f"input has {x.tensor_shape[1]} channels, weight expects {w.input_channels} "
                f"({w.tensor_shape[1]} per group x {groups} groups)"
            )
        if x.blocks[1] != w.blocks[1]:
            raise self._fail(f"input channel block {x.blocks[1]} differs from the weight's BLOCK_IN {w.blocks[1]}")
        if x.element_type != i8:
            raise self._fail(f"the input must be i8 (the GEMM is signed int8), got {x.element_type}")
        n, o, out_h, out_w = self.output_shape()
        if out_h < 1 or out_w < 1:
            raise self._fail(
                f"the padded {list(x.tensor_shape[2:])} input is smaller than the dilated "
                f"{list(w.tensor_shape[2:])} kernel"
            )
        self._verify_common((n, o, out_h, out_w), (x.blocks[0], w.blocks[0]))
        self._verify_tile_limits((out_h, out_w, w.blocked_shape[0], w.blocked_shape[1]))
        self._verify_footprint([x, w, *(v.type for v in self.tail_values())])

    def _verify_conv_params(self, p: dict) -> None:
        if len(p["strides"]) != 2 or min(p["strides"]) < 1:
            raise self._fail(f"strides must be 2 positive integers, got {p['strides']}")
        if len(p["dilations"]) != 2 or min(p["dilations"]) < 1:
            raise self._fail(f"dilations must be 2 positive integers, got {p['dilations']}")
        if len(p["pads"]) != 4 or min(p["pads"]) < 0:
            raise self._fail(f"pads must be 4 non-negative integers [top, left, bottom, right], got {p['pads']}")
        if p["groups"] < 1:
            raise self._fail(f"groups must be positive, got {p['groups']}")


def conv_result_type(
    x: ActType,
    w: WgtType,
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int] = (1, 1),
    result_element: Attribute | None = None,
) -> BlockedType:
    """The type a conv of ``x`` by ``w`` yields (TileError if it has no pixels)."""
    out_h, out_w = conv_output_hw(x.tensor_shape[2:], w.tensor_shape[2:], strides, pads, dilations)
    if out_h < 1 or out_w < 1:
        raise TileError(
            f"tile.conv: the padded {list(x.tensor_shape[2:])} input is smaller than the dilated "
            f"{list(w.tensor_shape[2:])} kernel"
        )
    shape = (x.tensor_shape[0], w.tensor_shape[0], out_h, out_w)
    return compute_result_type(shape, (x.blocks[0], w.blocks[0]), result_element)


POOL_KINDS = ("max", "sum")


@irdl_op_definition
class PoolOp(ComputeOp):
    """Max or sum pooling on the ALU, with a tail; average pools are ``sum`` + tail.

    ``max``: padding positions never win (they count as the minimum int32); ``sum``:
    padding adds 0. ``tile = [tile_h, tile_w, tile_c]`` output pixels and channel blocks.
    """

    name = "tile.pool"
    TILE_NAMES: ClassVar[tuple[str, ...]] = ("tile_h", "tile_w", "tile_c")
    input = operand_def(base(ActType) | base(AccType))
    tail_operands = var_operand_def(base(TensorType) | base(ActType) | base(AccType))
    result = result_def(base(AccType) | base(ActType))
    kind = prop_def(StringAttr)
    kernel = prop_def(DenseArrayBase)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    tile = prop_def(DenseArrayBase)
    buffers = prop_def(IntegerAttr)
    tail = opt_prop_def(ArrayAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input " + _COMPUTE_FORMAT_TAIL
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        *,
        kind: str,
        kernel: Sequence[int],
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        tile: Sequence[int],
        buffers: int = 1,
        tail: Sequence[AluStep] = (),
        tail_operands: Sequence[SSAValue | Operation] = (),
        result_element: Attribute | str | None = None,
    ) -> None:
        x = SSAValue.get(input)
        if not isinstance(x.type, (ActType, AccType)):
            raise TileError(f"tile.pool: the input must be !tile.act or !tile.acc, got {x.type}")
        out_h, out_w = conv_output_hw(x.type.tensor_shape[2:], kernel, strides, pads)
        if out_h < 1 or out_w < 1:
            raise TileError(f"tile.pool: the padded {list(x.type.tensor_shape[2:])} input is smaller than the {list(kernel)} kernel")
        n, c = x.type.logical_extents
        result_type = compute_result_type((n, c, out_h, out_w), x.type.blocks, _element_attr(result_element))
        properties = {
            "kind": StringAttr(kind),
            "kernel": _array(kernel),
            "strides": _array(strides),
            "pads": _array(pads),
            **self._common_properties(tile, buffers, tail),
        }
        super().__init__(
            operands=[x, [SSAValue.get(v) for v in tail_operands]],
            result_types=[result_type],
            properties=properties,
        )

    def params(self) -> dict[str, list[int] | int | str]:
        return {
            "kind": self.kind.data,
            "kernel": _prop_ints(self, "kernel"),
            "strides": _prop_ints(self, "strides"),
            "pads": _prop_ints(self, "pads"),
            "tile": self.tile_sizes(),
            "buffers": self.buffer_count(),
        }

    def footprint(self) -> dict[str, int]:
        p = self.params()
        return pool_footprint(p["kernel"], p["strides"], p["tile"], p["buffers"], **self._tail_counts())  # pyright: ignore[reportArgumentType]

    def verify_(self) -> None:
        x = self.input.type
        assert isinstance(x, (ActType, AccType))
        p = self.params()
        if p["kind"] not in POOL_KINDS:
            raise self._fail(f"kind must be one of {', '.join(POOL_KINDS)}, got '{p['kind']}'")
        if len(p["kernel"]) != 2 or min(p["kernel"]) < 1:  # pyright: ignore[reportArgumentType]
            raise self._fail(f"kernel must be 2 positive integers, got {p['kernel']}")
        if len(p["strides"]) != 2 or min(p["strides"]) < 1:  # pyright: ignore[reportArgumentType]
            raise self._fail(f"strides must be 2 positive integers, got {p['strides']}")
        if len(p["pads"]) != 4 or min(p["pads"]) < 0:  # pyright: ignore[reportArgumentType]
            raise self._fail(f"pads must be 4 non-negative integers [top, left, bottom, right], got {p['pads']}")
        _verify_acc_input(self, x)
        out_h, out_w = conv_output_hw(x.tensor_shape[2:], p["kernel"], p["strides"], p["pads"])  # pyright: ignore[reportArgumentType]
        if out_h < 1 or out_w < 1:
            raise self._fail(f"the padded {list(x.tensor_shape[2:])} input is smaller than the {p['kernel']} kernel")
        n, c = x.logical_extents
        self._verify_common((n, c, out_h, out_w), x.blocks)
        self._verify_tile_limits((out_h, out_w, x.blocked_shape[1]))
        self._verify_footprint([x, *(v.type for v in self.tail_values())])


@irdl_op_definition
class AluOp(ComputeOp):
    """A standalone elementwise ALU tile: the tail applied to an ACC-resident input.

    For a residual add not fused into a conv, relu/clip, requantize.
    ``tile = [tile_h, tile_w, tile_c]``.
    """

    name = "tile.alu"
    TILE_NAMES: ClassVar[tuple[str, ...]] = ("tile_h", "tile_w", "tile_c")
    input = operand_def(base(ActType) | base(AccType))
    tail_operands = var_operand_def(base(TensorType) | base(ActType) | base(AccType))
    result = result_def(base(AccType) | base(ActType))
    tile = prop_def(DenseArrayBase)
    buffers = prop_def(IntegerAttr)
    tail = opt_prop_def(ArrayAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$input " + _COMPUTE_FORMAT_TAIL
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        *,
        tile: Sequence[int],
        buffers: int = 1,
        tail: Sequence[AluStep],
        tail_operands: Sequence[SSAValue | Operation] = (),
        result_element: Attribute | str | None = None,
    ) -> None:
        x = SSAValue.get(input)
        if not isinstance(x.type, (ActType, AccType)):
            raise TileError(f"tile.alu: the input must be !tile.act or !tile.acc, got {x.type}")
        result_type = compute_result_type(x.type.tensor_shape, x.type.blocks, _element_attr(result_element))
        super().__init__(
            operands=[x, [SSAValue.get(v) for v in tail_operands]],
            result_types=[result_type],
            properties=self._common_properties(tile, buffers, tail),
        )

    def params(self) -> dict[str, list[int] | int]:
        return {"tile": self.tile_sizes(), "buffers": self.buffer_count()}

    def footprint(self) -> dict[str, int]:
        return alu_footprint(self.tile_sizes(), self.buffer_count(), **self._tail_counts())

    def verify_(self) -> None:
        x = self.input.type
        assert isinstance(x, (ActType, AccType))
        if not self.tail_steps():
            raise self._fail("needs at least one tail step (an ALU tile with no step does nothing)")
        _verify_acc_input(self, x)
        self._verify_common(x.tensor_shape, x.blocks)
        _, _, h, w = x.tensor_shape
        self._verify_tile_limits((h, w, x.blocked_shape[1]))
        self._verify_footprint([x, *(v.type for v in self.tail_values())])


TILE_COMPUTE_OPS: tuple[type[ComputeOp], ...] = (ConvOp, PoolOp, AluOp)
TILE_OPS: tuple[type[IRDLOperation], ...] = (PackOp, UnpackOp, *TILE_COMPUTE_OPS)

Tile = Dialect("tile", list(TILE_OPS), [*BLOCKED_TYPES, AluStepAttr])

__all__ = [
    "BLOCKED_TYPES",
    "CONFIG_ATTR",
    "POOL_KINDS",
    "TAIL_OPCODES",
    "TILE_COMPUTE_OPS",
    "TILE_OPS",
    "AccType",
    "ActType",
    "AluOp",
    "AluStep",
    "AluStepAttr",
    "BlockedType",
    "CancelPackOfUnpack",
    "CancelUnpackOfPack",
    "ComputeOp",
    "ConvOp",
    "PackOp",
    "PoolOp",
    "Tile",
    "TileError",
    "UnpackOp",
    "WgtType",
    "alu_footprint",
    "blocked_type_for",
    "ceil_div",
    "compute_result_type",
    "config_of",
    "conv_footprint",
    "conv_input_blocks",
    "conv_output_hw",
    "conv_result_type",
    "grouped_reduction",
    "pool_footprint",
    "tail_operand_kinds",
]
