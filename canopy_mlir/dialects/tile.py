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

The hardware config of an op is the ``tile.config`` attribute (a preset name or a JSON
path for :func:`canopy_mlir.hw.load_config`) of the nearest enclosing op carrying one
(normally the ``func.func`` or the ``builtin.module``). Without one, only the
config-independent checks run.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    prop_def,
    result_def,
    traits_def,
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
        return cls(
            ArrayAttr([IntAttr(int(d)) for d in blocked_shape]),
            element_type,
            ArrayAttr([IntAttr(int(d)) for d in logical]),
        )

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
            if count != ceil_div(extent, block):
                raise VerifyException(
                    f"{self.name}: {key} = {extent} in blocks of {block} needs "
                    f"ceil({extent}/{block}) = {ceil_div(extent, block)} blocks "
                    f"({ceil_div(extent, block) * block} padded), but dimension "
                    f"{self.DIM_NAMES[index]} is {count}"
                )

    # ------------------------------------------------------------- syntax
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
        parser.parse_punctuation(">", f" at the end of {cls.name}")
        parameters: list[Attribute] = [
            ArrayAttr([IntAttr(d) for d in shape]),
            element_type,
            ArrayAttr([IntAttr(d) for d in extents]),
        ]
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
    """int8 weights: O/BLOCK_OUT, I/BLOCK_IN, KH, KW, BLOCK_OUT, BLOCK_IN."""

    name = "tile.wgt"
    LOGICAL_NAMES = ("o", "i")
    ELEMENT_TYPES = (i8,)
    DIM_NAMES = ("O/BLOCK_OUT", "I/BLOCK_IN", "KH", "KW", "BLOCK_OUT", "BLOCK_IN")

    shape: ArrayAttr[IntAttr]
    element_type: Attribute
    logical: ArrayAttr[IntAttr]

    def config_mismatch(self, config: HardwareConfig) -> str | None:
        if self.blocks != (config.block_out, config.block_in):
            return (
                f"blocks BLOCK_OUT x BLOCK_IN = {self.blocks[0]}x{self.blocks[1]} but config "
                f"'{config.name}' has {config.block_out}x{config.block_in}"
            )
        return None


BLOCKED_TYPES: tuple[type[BlockedType], ...] = (ActType, WgtType, AccType)


def blocked_type_for(
    kind: str, tensor_type: TensorType, config: HardwareConfig | str, *, block: str = "in"
) -> BlockedType:
    """The blocked type ``tile.pack`` gives ``tensor_type`` on ``config``.

    ``kind`` is ``"act"``, ``"wgt"`` or ``"acc"``; ``block`` picks BLOCK_IN or BLOCK_OUT
    as the channel block of an activation (``"in"``: read by GEMM; ``"out"``: written).
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
        return WgtType.for_tensor(shape, element, (config.block_out, config.block_in))
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


# ------------------------------------------------------------------ tiled conv
def _ints(attr: Attribute) -> list[int]:
    assert isinstance(attr, DenseArrayBase)
    return [int(v) for v in attr.get_values()]


def conv_output_hw(
    input_hw: Sequence[int], kernel_hw: Sequence[int], strides: Sequence[int], pads: Sequence[int]
) -> tuple[int, int]:
    """Output height and width of a conv (pads are [top, left, bottom, right])."""
    (h, w), (kh, kw), (sh, sw) = input_hw, kernel_hw, strides
    return (h + pads[0] + pads[2] - kh) // sh + 1, (w + pads[1] + pads[3] - kw) // sw + 1


def conv_footprint(
    kernel_hw: Sequence[int], strides: Sequence[int], tile: Sequence[int], buffers: int
) -> dict[str, int]:
    """Buffer elements one ``tile.conv`` tile occupies: ``{"INP", "WGT", "ACC", "UOP"}``.

    ``tile`` is ``[tile_h, tile_w, tile_oc, tile_ic]`` (output rows, output columns,
    BLOCK_OUT channel blocks, BLOCK_IN channel blocks) for one BATCH block. The input
    window of ``tile_h x tile_w`` outputs is ``((tile_h-1)*sh + KH) x ((tile_w-1)*sw + KW)``
    pixels; one GEMM micro-op per (oc block, ic block, kh, kw), the output pixels being
    the GEMM instruction's two loops. ``buffers = 2`` (double buffering) keeps two
    copies of INP, WGT and ACC so the next tile loads while this one computes; the
    micro-op kernel is shared.
    """
    (kh, kw), (sh, sw) = kernel_hw, strides
    tile_h, tile_w, tile_oc, tile_ic = tile
    window = ((tile_h - 1) * sh + kh) * ((tile_w - 1) * sw + kw)
    return {
        "INP": buffers * tile_ic * window,
        "WGT": buffers * tile_oc * tile_ic * kh * kw,
        "ACC": buffers * tile_oc * tile_h * tile_w,
        "UOP": tile_oc * tile_ic * kh * kw,
    }


@irdl_op_definition
class ConvOp(IRDLOperation):
    """An int8 conv (group 1, dilation 1, zero padding) of blocked operands into ACC.

    ``acc[n, o, y, x] = sum(input[n, i, y*sh - top + kh, x*sw - left + kw] * weight[o, i, kh, kw])``
    in int32 (wrapping), computed tile by tile: ``tile = [tile_h, tile_w, tile_oc, tile_ic]``
    output rows / columns / BLOCK_OUT blocks per tile, reducing over BLOCK_IN blocks
    ``tile_ic`` at a time; edge tiles are partial. The tile's on-chip footprint
    (:func:`conv_footprint`) must fit the enclosing ``tile.config``'s buffers.
    """

    name = "tile.conv"
    input = operand_def(ActType)
    weight = operand_def(WgtType)
    result = result_def(AccType)
    strides = prop_def(DenseArrayBase)
    pads = prop_def(DenseArrayBase)
    tile = prop_def(DenseArrayBase)
    buffers = prop_def(IntegerAttr)
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$input `,` $weight attr-dict `:` `(` type($input) `,` type($weight) `)` `->` type($result)"
    )
    traits = traits_def(Pure())

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        *,
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        tile: Sequence[int],
        buffers: int = 1,
    ) -> None:
        x, w = SSAValue.get(input), SSAValue.get(weight)
        if not isinstance(x.type, ActType) or not isinstance(w.type, WgtType):
            raise TileError(f"tile.conv: operands must be !tile.act and !tile.wgt, got {x.type}, {w.type}")
        super().__init__(
            operands=[x, w],
            result_types=[conv_result_type(x.type, w.type, strides, pads)],
            properties={
                "strides": DenseArrayBase.from_list(i64, list(strides)),
                "pads": DenseArrayBase.from_list(i64, list(pads)),
                "tile": DenseArrayBase.from_list(i64, list(tile)),
                "buffers": IntegerAttr(buffers, i64),
            },
        )

    def params(self) -> dict[str, list[int] | int]:
        """The properties as Python values."""
        return {
            "strides": _ints(self.strides),
            "pads": _ints(self.pads),
            "tile": _ints(self.tile),
            "buffers": int(self.buffers.value.data),
        }

    def footprint(self) -> dict[str, int]:
        assert isinstance(self.weight.type, WgtType)
        p = self.params()
        return conv_footprint(self.weight.type.tensor_shape[2:], p["strides"], p["tile"], p["buffers"])

    def verify_(self) -> None:
        x, w = self.input.type, self.weight.type
        assert isinstance(x, ActType) and isinstance(w, WgtType)
        p = self.params()
        self._verify_params(p)
        if x.tensor_shape[1] != w.tensor_shape[1]:
            raise VerifyException(
                f"tile.conv: input has {x.tensor_shape[1]} channels, weight expects {w.tensor_shape[1]}"
            )
        if x.blocks[1] != w.blocks[1]:
            raise VerifyException(
                f"tile.conv: input channel block {x.blocks[1]} differs from the weight's BLOCK_IN {w.blocks[1]}"
            )
        out_h, out_w = conv_output_hw(x.tensor_shape[2:], w.tensor_shape[2:], p["strides"], p["pads"])
        if out_h < 1 or out_w < 1:
            raise VerifyException(
                f"tile.conv: the padded {list(x.tensor_shape[2:])} input is smaller than the "
                f"{list(w.tensor_shape[2:])} kernel"
            )
        expected = conv_result_type(x, w, p["strides"], p["pads"])
        if self.result.type != expected:
            raise VerifyException(f"tile.conv: result type {self.result.type} should be {expected}")
        limits = (out_h, out_w, w.blocked_shape[0], w.blocked_shape[1])
        for name, size, limit in zip(("tile_h", "tile_w", "tile_oc", "tile_ic"), p["tile"], limits):
            if not 1 <= size <= limit:
                raise VerifyException(f"tile.conv: {name} = {size} is outside [1, {limit}]")
        self._verify_footprint(x, w)

    @staticmethod
    def _verify_params(p: dict) -> None:
        if len(p["strides"]) != 2 or min(p["strides"]) < 1:
            raise VerifyException(f"tile.conv: strides must be 2 positive integers, got {p['strides']}")
        if len(p["pads"]) != 4 or min(p["pads"]) < 0:
            raise VerifyException(
                f"tile.conv: pads must be 4 non-negative integers [top, left, bottom, right], got {p['pads']}"
            )
        if len(p["tile"]) != 4:
            raise VerifyException(
                f"tile.conv: tile must be [tile_h, tile_w, tile_oc, tile_ic], got {p['tile']}"
            )
        if p["buffers"] not in (1, 2):
            raise VerifyException(f"tile.conv: buffers must be 1 or 2 (double buffering), got {p['buffers']}")

    def _verify_footprint(self, x: ActType, w: WgtType) -> None:
        try:
            config = config_of(self)
        except TileError as error:
            raise VerifyException(f"tile.conv: {error}") from error
        if config is None:
            raise VerifyException(
                f"tile.conv: needs a '{CONFIG_ATTR}' on an enclosing op to check its buffer footprint"
            )
        for type_ in (x, w, self.result.type):
            assert isinstance(type_, BlockedType)
            mismatch = type_.config_mismatch(config)
            if mismatch is not None:
                raise VerifyException(f"tile.conv: {type_.name} has {mismatch}")
        depths = config.depths()
        for buffer, elements in self.footprint().items():
            if elements > depths[buffer]:
                raise VerifyException(
                    f"tile.conv: a tile {self.params()['tile']} needs {elements} {buffer} elements; "
                    f"config '{config.name}' has {depths[buffer]}"
                )


def conv_result_type(
    x: ActType, w: WgtType, strides: Sequence[int], pads: Sequence[int]
) -> AccType:
    """The ``!tile.acc`` a conv of ``x`` by ``w`` yields (TileError if it has no pixels)."""
    out_h, out_w = conv_output_hw(x.tensor_shape[2:], w.tensor_shape[2:], strides, pads)
    if out_h < 1 or out_w < 1:
        raise TileError(
            f"tile.conv: the padded {list(x.tensor_shape[2:])} input is smaller than the "
            f"{list(w.tensor_shape[2:])} kernel"
        )
    result = AccType.for_tensor(
        (x.tensor_shape[0], w.tensor_shape[0], out_h, out_w), i32, (x.blocks[0], w.blocks[0])
    )
    assert isinstance(result, AccType)
    return result


TILE_OPS: tuple[type[IRDLOperation], ...] = (PackOp, UnpackOp, ConvOp)

Tile = Dialect("tile", list(TILE_OPS), list(BLOCKED_TYPES))

__all__ = [
    "BLOCKED_TYPES",
    "CONFIG_ATTR",
    "TILE_OPS",
    "AccType",
    "ActType",
    "BlockedType",
    "CancelPackOfUnpack",
    "CancelUnpackOfPack",
    "ConvOp",
    "PackOp",
    "Tile",
    "TileError",
    "UnpackOp",
    "WgtType",
    "blocked_type_for",
    "ceil_div",
    "config_of",
    "conv_footprint",
    "conv_output_hw",
    "conv_result_type",
]
