"""Run modules mixing ``graph`` and ``tile`` ops on numpy arrays.

    from canopy_mlir.interpreters.tile_interpreter import run_tile
    outputs = run_tile(module, {"input": x})

A blocked value (``!tile.act/wgt/acc``) is a numpy array of the blocked shape (six
dimensions) and the element type's dtype; padding elements are zero. ``tile.pack`` and
``tile.unpack`` are pure numpy index shuffles, so results are bit-exact. The compute
ops (``tile.conv``, ``tile.pool``, ``tile.alu``) run on the blocked arrays tile by tile
in their schedule (docs/tile-dialect.md), their ALU tails with the core's semantics
(``canopy_mlir.alu_semantics``, shared with the simulator).

The graph interpreter is extended, not changed: :func:`build_interpreter` takes the
graph interpreter of ``canopy_mlir.interpreters.graph_interpreter`` and registers
:class:`TileFunctions` on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Attribute

from canopy_mlir.alu_semantics import alu_apply
from canopy_mlir.dialects import tile
from canopy_mlir.interpreters import graph_interpreter
from canopy_mlir.interpreters.graph_interpreter import element_dtype

__all__ = [
    "TileFunctions",
    "TailOperand",
    "TileInterpreterError",
    "apply_tail",
    "build_interpreter",
    "conv_blocked",
    "pack_array",
    "pool_blocked",
    "run_tile",
    "unpack_array",
]


class TileInterpreterError(RuntimeError):
    """A tile op could not run: a value that breaks its type (shape, dtype, padding)."""


# The blocked layout is the padded logical array split as (d0/B4, B4, d1/B5, B5, d2, d3)
# and permuted to (d0/B4, d1/B5, d2, d3, B4, B5); unpacking is the inverse permutation.
_TO_BLOCKED = (0, 2, 4, 5, 1, 3)
_FROM_BLOCKED = (0, 4, 1, 5, 2, 3)


def pack_array(array: np.ndarray, blocked: tile.BlockedType) -> np.ndarray:
    """``array`` (the logical NCHW / OIHW tensor) in ``blocked``'s layout, zero-padded.

    A grouped ``!tile.wgt`` holds the dense-equivalent weight (zero outside each output's
    group) in each output block's R reduction blocks.
    """
    if tuple(array.shape) != blocked.tensor_shape:
        raise TileInterpreterError(
            f"tile.pack: input has shape {tuple(array.shape)}, the type {blocked} holds "
            f"{blocked.tensor_shape}"
        )
    if _is_grouped(blocked):
        assert isinstance(blocked, tile.WgtType)
        return _pack_grouped(array, blocked)
    p0, p1, d2, d3 = blocked.padded_shape
    padded = np.zeros((p0, p1, d2, d3), dtype=array.dtype)
    padded[: array.shape[0], : array.shape[1]] = array
    b0, b1 = blocked.blocks
    split = padded.reshape(p0 // b0, b0, p1 // b1, b1, d2, d3)
    return np.ascontiguousarray(split.transpose(_TO_BLOCKED))


def _is_grouped(blocked: tile.BlockedType) -> bool:
    return isinstance(blocked, tile.WgtType) and blocked.group_count != 1


def _group_mask(wgt: tile.WgtType) -> np.ndarray:
    """Boolean (O, C): output o reads input channel i (i in o's group)."""
    o, per_group = wgt.logical_extents
    per_out = o // wgt.group_count
    groups_of_outputs = np.arange(o) // per_out
    groups_of_inputs = np.arange(wgt.input_channels) // per_group
    return groups_of_outputs[:, None] == groups_of_inputs[None, :]


def _pack_grouped(array: np.ndarray, wgt: tile.WgtType) -> np.ndarray:
    """The dense-equivalent blocked weight of a grouped conv (docs: "Groups")."""
    o, per_group, kh, kw = array.shape
    block_out, block_in = wgt.blocks
    reduction, starts = wgt.reduction()
    out_blocks = wgt.blocked_shape[0]
    dense = np.zeros((out_blocks * block_out, tile.ceil_div(wgt.input_channels, block_in) * block_in, kh, kw), array.dtype)
    for channel in range(o):
        group = channel // (o // wgt.group_count)
        dense[channel, group * per_group : (group + 1) * per_group] = array[channel]
    blocked = np.zeros(wgt.blocked_shape, array.dtype)
    for ob, start in enumerate(starts):
        rows = dense[ob * block_out : (ob + 1) * block_out, start * block_in : (start + reduction) * block_in]
        blocked[ob] = rows.reshape(block_out, reduction, block_in, kh, kw).transpose(1, 3, 4, 0, 2)
    return blocked


def _unpack_grouped(array: np.ndarray, wgt: tile.WgtType) -> np.ndarray:
    """Inverse of :func:`_pack_grouped`; every element outside the groups must be zero."""
    o, per_group, kh, kw = wgt.tensor_shape
    block_out, block_in = wgt.blocks
    reduction, starts = wgt.reduction()
    dense = np.zeros((wgt.blocked_shape[0] * block_out, tile.ceil_div(wgt.input_channels, block_in) * block_in, kh, kw), array.dtype)
    for ob, start in enumerate(starts):
        rows = array[ob].transpose(3, 0, 4, 1, 2).reshape(block_out, reduction * block_in, kh, kw)
        dense[ob * block_out : (ob + 1) * block_out, start * block_in : (start + reduction) * block_in] = rows
    mask = np.zeros(dense.shape[:2], bool)
    mask[:o, : wgt.input_channels] = _group_mask(wgt)
    if dense[~mask].any():
        raise TileInterpreterError(
            f"tile.unpack: the padding of a {wgt} value is not zero (an element outside "
            f"its output's group or past the logical extents)"
        )
    result = np.zeros(wgt.tensor_shape, array.dtype)
    for channel in range(o):
        group = channel // (o // wgt.group_count)
        result[channel] = dense[channel, group * per_group : (group + 1) * per_group]
    return result


def unpack_array(array: np.ndarray, blocked: tile.BlockedType) -> np.ndarray:
    """The logical tensor held by ``array`` (of type ``blocked``), padding dropped.

    Raises :class:`TileInterpreterError` if a padding element is not zero: the blocked
    types promise zero padding (``pack(unpack(y)) == y`` relies on it), so a non-zero
    one is a bug in whatever produced ``array``.
    """
    if tuple(array.shape) != blocked.blocked_shape:
        raise TileInterpreterError(
            f"tile.unpack: input has shape {tuple(array.shape)}, its type {blocked} is "
            f"{blocked.blocked_shape}"
        )
    if _is_grouped(blocked):
        assert isinstance(blocked, tile.WgtType)
        return _unpack_grouped(array, blocked)
    padded = np.ascontiguousarray(array.transpose(_FROM_BLOCKED)).reshape(blocked.padded_shape)
    l0, l1 = blocked.logical_extents
    if padded[l0:].any() or padded[:, l1:].any():
        raise TileInterpreterError(
            f"tile.unpack: the padding of a {blocked} value is not zero (logical extents "
            f"{l0} x {l1} of padded {padded.shape[0]} x {padded.shape[1]})"
        )
    return padded[:l0, :l1].copy()


# ------------------------------------------------------------------ compute ops
def _tail_arrays(op: tile.ComputeOp, args: Sequence[Any]) -> list[TailOperand]:
    """The op's tail operands as int64 arrays broadcastable to a blocked result.

    A per-channel ``tensor<Cxi32>`` becomes shape ``(1, CB, 1, 1, 1, BO)`` (padding
    channels 0); a full-tensor operand keeps its blocked shape (an i8 one sign-extended,
    as LOAD ACC_8BIT reads it).
    """
    result = op.result.type  # pyright: ignore[reportAttributeAccessIssue]
    assert isinstance(result, tile.BlockedType)
    channel_blocks, block = result.blocked_shape[1], result.blocks[1]
    arrays = []
    for index, (value, arg) in enumerate(zip(op.tail_values(), args, strict=True)):
        type_ = value.type
        array = _checked(arg, type_, f"tail operand {index} of {op.name}")
        if isinstance(type_, tile.BlockedType):
            unpack_array(array, type_)  # checks the padding is zero
            arrays.append(TailOperand(array.astype(np.int64), per_channel=False))
        else:
            padded = np.zeros(channel_blocks * block, np.int64)
            padded[: array.shape[0]] = array
            arrays.append(TailOperand(padded.reshape(1, channel_blocks, 1, 1, 1, block), per_channel=True))
    return arrays


@dataclass(frozen=True)
class TailOperand:
    """A tail operand in blocked form: per-channel ``(1, CB, 1, 1, 1, BO)`` or full-tensor."""

    array: np.ndarray
    per_channel: bool


def apply_tail(
    acc: np.ndarray,
    steps: Sequence[tile.AluStep],
    operands: Sequence[TailOperand] = (),
    region: tuple[slice, ...] = (),
) -> np.ndarray:
    """Run ALU ``steps`` on an int32 ``acc`` tile (shared semantics: canopy_mlir.alu_semantics).

    ``region`` = (batch blocks, channel blocks, rows, cols) of the tile: it indexes a
    full-tensor operand, and a per-channel one on its channel-block axis. Empty: the
    operands cover exactly ``acc``.
    """
    acc = acc.astype(np.int32)
    for step in steps:
        if step.imm is not None:
            operand: np.ndarray | int = step.imm
        else:
            assert step.operand is not None
            tail_operand = operands[step.operand]
            array = tail_operand.array
            if not region:
                operand = array
            elif tail_operand.per_channel:
                operand = array[:, region[1]]
            else:
                operand = array[region]
        acc = alu_apply(step.opcode, acc, operand)
    return acc


def _finish(acc: np.ndarray, result: tile.BlockedType) -> np.ndarray:
    """The result value: the low 8 bits for an act result, padding re-zeroed (STORE writes
    only logical batches and channels)."""
    values = acc.astype(element_dtype(result.element_type))
    n, c = result.logical_extents
    batch, block = result.blocks
    logical = np.zeros(result.blocked_shape[:2] + (1, 1) + result.blocks, bool)
    n_index = np.arange(result.blocked_shape[0])[:, None] * batch + np.arange(batch)[None, :]
    c_index = np.arange(result.blocked_shape[1])[:, None] * block + np.arange(block)[None, :]
    logical[...] = (n_index < n)[:, None, None, None, :, None] & (c_index < c)[None, :, None, None, None, :]
    return np.where(logical, values, 0).astype(values.dtype)


def _spatial_tiles(out_h: int, out_w: int, tile_h: int, tile_w: int):
    """Output tiles in row-major order, as (rows, cols) slices; edge tiles are partial."""
    for y0 in range(0, out_h, tile_h):
        for x0 in range(0, out_w, tile_w):
            yield slice(y0, min(y0 + tile_h, out_h)), slice(x0, min(x0 + tile_w, out_w))


def _pad_hw(array: np.ndarray, pads: Sequence[int], fill: int = 0) -> np.ndarray:
    """Pad blocked dims 2 and 3 ([top, left, bottom, right]) with ``fill``, as int64."""
    top, left, bottom, right = pads
    widths = ((0, 0), (0, 0), (top, bottom), (left, right), (0, 0), (0, 0))
    return np.pad(array.astype(np.int64), widths, constant_values=fill)


def _window_slice(out: slice, stride: int, offset: int) -> slice:
    """Input positions ``y*stride + offset`` for the output positions of ``out``."""
    return slice(out.start * stride + offset, (out.stop - 1) * stride + offset + 1, stride)


def conv_blocked(
    x: np.ndarray,
    w: np.ndarray,
    *,
    starts: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    tile_sizes: Sequence[int],
    out_hw: tuple[int, int],
    finish_tile=None,
) -> np.ndarray:
    """int32 conv of a blocked input ``x`` by a blocked (dense-equivalent) weight ``w``.

    Follows tile.conv's schedule (docs/tile-dialect.md): oc tiles, then spatial tiles
    row-major, then chunks of ``tile_ic`` reduction blocks; output block ``ob`` reads
    input blocks ``starts[ob] + r``. ``finish_tile(acc, obs, rows, cols)`` (the tail)
    runs on each finished output tile. Sums are exact in int64, wrapped to int32 per
    tile (wrapping at the end equals wrapping at each step).
    """
    tile_h, tile_w, tile_oc, tile_ic = tile_sizes
    (sh, sw), (dh, dw) = strides, dilations
    out_blocks, reduction, kh, kw, block_out, _ = w.shape
    xp = _pad_hw(x, pads)
    w64 = w.astype(np.int64)
    start_array = np.asarray(starts)
    out = np.zeros((x.shape[0], out_blocks, *out_hw, x.shape[4], block_out), np.int32)
    for ob0 in range(0, out_blocks, tile_oc):
        obs = slice(ob0, min(ob0 + tile_oc, out_blocks))
        for rows, cols in _spatial_tiles(*out_hw, tile_h, tile_w):
            acc = np.zeros((x.shape[0], obs.stop - obs.start, rows.stop - rows.start, cols.stop - cols.start, x.shape[4], block_out), np.int64)
            for r0 in range(0, reduction, tile_ic):
                rs = np.arange(r0, min(r0 + tile_ic, reduction))
                blocks = start_array[obs][:, None] + rs[None, :]
                for dy in range(kh):
                    for dx in range(kw):
                        window = xp[:, :, _window_slice(rows, sh, dy * dh), _window_slice(cols, sw, dx * dw)]
                        gathered = window[:, blocks]  # (N, Ot, Rt, th, tw, BATCH, BI)
                        weights = w64[obs][:, rs, dy, dx]  # (Ot, Rt, BO, BI)
                        acc += np.einsum("norhwbi,orci->nohwbc", gathered, weights)
            tile_acc = alu_apply("add", acc, 0)
            if finish_tile is not None:
                tile_acc = finish_tile(tile_acc, obs, rows, cols)
            out[:, obs, rows, cols] = tile_acc
    return out


def pool_blocked(
    x: np.ndarray,
    *,
    kind: str,
    kernel: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    tile_sizes: Sequence[int],
    out_hw: tuple[int, int],
    finish_tile=None,
) -> np.ndarray:
    """int32 max/sum pool of a blocked ACC-side input, tile by tile (channel tiles outer).

    Max pads with the minimum int32 (padding never wins); sum pads with 0 and wraps at
    32 bits as ALU ADD does.
    """
    tile_h, tile_w, tile_c = tile_sizes
    (kh, kw), (sh, sw) = kernel, strides
    fill = int(np.iinfo(np.int32).min) if kind == "max" else 0
    xp = _pad_hw(x, pads, fill)
    out = np.zeros((x.shape[0], x.shape[1], *out_hw, x.shape[4], x.shape[5]), np.int32)
    for c0 in range(0, x.shape[1], tile_c):
        cs = slice(c0, min(c0 + tile_c, x.shape[1]))
        for rows, cols in _spatial_tiles(*out_hw, tile_h, tile_w):
            acc = None
            for dy in range(kh):
                for dx in range(kw):
                    window = xp[:, cs, _window_slice(rows, sh, dy), _window_slice(cols, sw, dx)]
                    if acc is None:
                        acc = window.copy()
                    else:
                        acc = np.maximum(acc, window) if kind == "max" else alu_apply("add", acc, window).astype(np.int64)
            assert acc is not None
            tile_acc = alu_apply("add", acc, 0)
            if finish_tile is not None:
                tile_acc = finish_tile(tile_acc, cs, rows, cols)
            out[:, cs, rows, cols] = tile_acc
    return out


def _tail_finisher(op: tile.ComputeOp, operands: Sequence[TailOperand]):
    steps = op.tail_steps()

    def finish(acc: np.ndarray, channels: slice, rows: slice, cols: slice) -> np.ndarray:
        return apply_tail(acc, steps, operands, (slice(None), channels, rows, cols))

    return finish


def _checked_blocked(value: Any, type_: Attribute, what: str) -> np.ndarray:
    """A blocked operand, shape/dtype- and padding-checked."""
    assert isinstance(type_, tile.BlockedType)
    array = _checked(value, type_, what)
    unpack_array(array, type_)
    return array


def _checked(value: Any, type_: Attribute, what: str) -> np.ndarray:
    array = np.asarray(value)
    if isinstance(type_, tile.BlockedType):
        shape, dtype = blocked_shape_dtype(type_)
    else:
        shape, dtype = tuple(type_.get_shape()), element_dtype(type_.element_type)  # pyright: ignore[reportAttributeAccessIssue]
    if array.shape != shape or array.dtype != dtype:
        raise TileInterpreterError(
            f"{what} must have shape {shape} dtype {dtype} ({type_}), got shape "
            f"{array.shape} dtype {array.dtype}"
        )
    return array


def blocked_shape_dtype(type_: tile.BlockedType) -> tuple[tuple[int, ...], np.dtype]:
    """The numpy shape and dtype of a value of ``type_``."""
    return type_.blocked_shape, element_dtype(type_.element_type)


@register_impls
class TileFunctions(InterpreterFunctions):
    """xDSL interpreter functions of the ``tile`` ops."""

    @impl(tile.PackOp)
    def run_pack(self, interpreter: Interpreter, op: tile.PackOp, args: tuple[Any, ...]) -> tuple[Any, ...]:
        blocked = op.result.type
        assert isinstance(blocked, tile.BlockedType)
        array = _checked(args[0], op.input.type, "the operand of tile.pack")
        return (_checked(pack_array(array, blocked), blocked, "the result of tile.pack"),)

    @impl(tile.UnpackOp)
    def run_unpack(
        self, interpreter: Interpreter, op: tile.UnpackOp, args: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        blocked = op.input.type
        assert isinstance(blocked, tile.BlockedType)
        array = _checked(args[0], blocked, "the operand of tile.unpack")
        return (_checked(unpack_array(array, blocked), op.result.type, "the result of tile.unpack"),)


    @impl(tile.ConvOp)
    def run_conv(self, interpreter: Interpreter, op: tile.ConvOp, args: tuple[Any, ...]) -> tuple[Any, ...]:
        x_type, w_type, result = op.input.type, op.weight.type, op.result.type
        assert isinstance(w_type, tile.WgtType) and isinstance(result, tile.BlockedType)
        x = _checked_blocked(args[0], x_type, "the input of tile.conv")
        w = _checked_blocked(args[1], w_type, "the weight of tile.conv")
        params = op.params()
        _, starts = w_type.reduction()
        acc = conv_blocked(
            x,
            w,
            starts=starts,
            strides=params["strides"],  # pyright: ignore[reportArgumentType]
            pads=params["pads"],  # pyright: ignore[reportArgumentType]
            dilations=params["dilations"],  # pyright: ignore[reportArgumentType]
            tile_sizes=params["tile"],  # pyright: ignore[reportArgumentType]
            out_hw=op.output_shape()[2:],
            finish_tile=_tail_finisher(op, _tail_arrays(op, args[2:])),
        )
        return (_checked(_finish(acc, result), result, "the result of tile.conv"),)

    @impl(tile.PoolOp)
    def run_pool(self, interpreter: Interpreter, op: tile.PoolOp, args: tuple[Any, ...]) -> tuple[Any, ...]:
        result = op.result.type
        assert isinstance(result, tile.BlockedType)
        x = _checked_blocked(args[0], op.input.type, "the input of tile.pool")
        params = op.params()
        acc = pool_blocked(
            x,
            kind=params["kind"],  # pyright: ignore[reportArgumentType]
            kernel=params["kernel"],  # pyright: ignore[reportArgumentType]
            strides=params["strides"],  # pyright: ignore[reportArgumentType]
            pads=params["pads"],  # pyright: ignore[reportArgumentType]
            tile_sizes=params["tile"],  # pyright: ignore[reportArgumentType]
            out_hw=result.tensor_shape[2:],
            finish_tile=_tail_finisher(op, _tail_arrays(op, args[1:])),
        )
        return (_checked(_finish(acc, result), result, "the result of tile.pool"),)

    @impl(tile.AluOp)
    def run_alu(self, interpreter: Interpreter, op: tile.AluOp, args: tuple[Any, ...]) -> tuple[Any, ...]:
        result = op.result.type
        assert isinstance(result, tile.BlockedType)
        x = _checked_blocked(args[0], op.input.type, "the input of tile.alu").astype(np.int64)
        finish = _tail_finisher(op, _tail_arrays(op, args[1:]))
        tile_h, tile_w, tile_c = op.tile_sizes()
        out = np.zeros(x.shape, np.int32)
        for c0 in range(0, x.shape[1], tile_c):
            cs = slice(c0, min(c0 + tile_c, x.shape[1]))
            for rows, cols in _spatial_tiles(x.shape[2], x.shape[3], tile_h, tile_w):
                out[:, cs, rows, cols] = finish(x[:, cs, rows, cols], cs, rows, cols)
        return (_checked(_finish(out, result), result, "the result of tile.alu"),)


def build_interpreter(module: ModuleOp) -> Interpreter:
    """The graph interpreter of ``module`` (graph + func ops) plus the tile ops."""
    interpreter = graph_interpreter.build_interpreter(module)
    interpreter.register_implementations(TileFunctions())
    return interpreter


def run_tile(
    module: ModuleOp,
    inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    function: str = "main",
) -> list[np.ndarray]:
    """Interpret ``function`` (graph, tile and func ops) on ``inputs``; its results in order.

    Inputs are given and checked as for :func:`graph_interpreter.run_graph` (the
    function's arguments are tensors); a blocked result is returned in its blocked
    numpy layout.
    """
    func_op = graph_interpreter._find_function(module, function)  # pyright: ignore[reportPrivateUsage]
    label = f"@{function}"
    values = graph_interpreter._ordered_inputs(func_op, inputs)  # pyright: ignore[reportPrivateUsage]
    names = graph_interpreter.argument_names(func_op)
    arrays = [
        graph_interpreter._checked_input(value, name, type_, label)  # pyright: ignore[reportPrivateUsage]
        for value, name, type_ in zip(values, names, func_op.function_type.inputs)
    ]
    results = build_interpreter(module).call_op(func_op, tuple(arrays))
    return [graph_interpreter._owned(np.asarray(r), arrays) for r in results]  # pyright: ignore[reportPrivateUsage]
