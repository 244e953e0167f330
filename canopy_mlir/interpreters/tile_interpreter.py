"""Run modules mixing ``graph`` and ``tile`` ops on numpy arrays.

    from canopy_mlir.interpreters.tile_interpreter import run_tile
    outputs = run_tile(module, {"input": x})

A blocked value (``!tile.act/wgt/acc``) is a numpy array of the blocked shape (six
dimensions) and the element type's dtype; padding elements are zero. ``tile.pack`` and
``tile.unpack`` are pure numpy index shuffles, so results are bit-exact.

The graph interpreter is extended, not changed: :func:`build_interpreter` takes the
graph interpreter of ``canopy_mlir.interpreters.graph_interpreter`` and registers
:class:`TileFunctions` on it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.interpreter import Interpreter, InterpreterFunctions, impl, register_impls
from xdsl.ir import Attribute

from canopy_mlir.dialects import tile
from canopy_mlir.interpreters import graph_interpreter
from canopy_mlir.interpreters.graph_interpreter import element_dtype

__all__ = [
    "TileFunctions",
    "TileInterpreterError",
    "build_interpreter",
    "conv_tiled",
    "pack_array",
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
    """``array`` (the logical NCHW / OIHW tensor) in ``blocked``'s layout, zero-padded."""
    if tuple(array.shape) != blocked.tensor_shape:
        raise TileInterpreterError(
            f"tile.pack: input has shape {tuple(array.shape)}, the type {blocked} holds "
            f"{blocked.tensor_shape}"
        )
    p0, p1, d2, d3 = blocked.padded_shape
    padded = np.zeros((p0, p1, d2, d3), dtype=array.dtype)
    padded[: array.shape[0], : array.shape[1]] = array
    b0, b1 = blocked.blocks
    split = padded.reshape(p0 // b0, b0, p1 // b1, b1, d2, d3)
    return np.ascontiguousarray(split.transpose(_TO_BLOCKED))


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
    padded = np.ascontiguousarray(array.transpose(_FROM_BLOCKED)).reshape(blocked.padded_shape)
    l0, l1 = blocked.logical_extents
    if padded[l0:].any() or padded[:, l1:].any():
        raise TileInterpreterError(
            f"tile.unpack: the padding of a {blocked} value is not zero (logical extents "
            f"{l0} x {l1} of padded {padded.shape[0]} x {padded.shape[1]})"
        )
    return padded[:l0, :l1].copy()


def conv_tiled(
    x: np.ndarray,
    w: np.ndarray,
    *,
    strides: Sequence[int],
    pads: Sequence[int],
    tile: Sequence[int],
    blocks: tuple[int, int],
) -> np.ndarray:
    """int32 conv of logical ``x`` (NCHW) by ``w`` (OIHW), computed tile by tile.

    Mirrors ``tile.conv``'s schedule: output tiles of ``tile_h x tile_w`` pixels and
    ``tile_oc`` BLOCK_OUT channel blocks, each accumulated over ``tile_ic`` BLOCK_IN
    channel blocks at a time and the kernel window. ``blocks`` is (BLOCK_OUT,
    BLOCK_IN). The sum wraps to int32 as the ACC buffer does (exact in int64 first:
    wrapping at the end equals wrapping at each step).
    """
    tile_h, tile_w, tile_oc, tile_ic = tile
    block_out, block_in = blocks
    sh, sw = strides
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    out_h = (h + pads[0] + pads[2] - kh) // sh + 1
    out_w = (wd + pads[1] + pads[3] - kw) // sw + 1
    xp = np.zeros((n, c, h + pads[0] + pads[2], wd + pads[1] + pads[3]), np.int64)
    xp[:, :, pads[0] : pads[0] + h, pads[1] : pads[1] + wd] = x
    w64 = w.astype(np.int64)
    acc = np.zeros((n, o, out_h, out_w), np.int64)
    for o0 in range(0, o, tile_oc * block_out):
        oc = slice(o0, min(o0 + tile_oc * block_out, o))
        for y0 in range(0, out_h, tile_h):
            ys = range(y0, min(y0 + tile_h, out_h))
            for x0 in range(0, out_w, tile_w):
                xs = range(x0, min(x0 + tile_w, out_w))
                for i0 in range(0, c, tile_ic * block_in):
                    ic = slice(i0, min(i0 + tile_ic * block_in, c))
                    for dy in range(kh):
                        for dx in range(kw):
                            rows = slice(ys[0] * sh + dy, ys[-1] * sh + dy + 1, sh)
                            cols = slice(xs[0] * sw + dx, xs[-1] * sw + dx + 1, sw)
                            window = xp[:, ic, rows, cols]
                            acc[:, oc, ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1] += np.einsum(
                                "nchw,oc->nohw", window, w64[oc, ic, dy, dx]
                            )
    return acc.astype(np.int32)


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
        x_type, w_type, acc_type = op.input.type, op.weight.type, op.result.type
        assert isinstance(x_type, tile.ActType) and isinstance(w_type, tile.WgtType)
        assert isinstance(acc_type, tile.AccType)
        x = unpack_array(_checked(args[0], x_type, "the input of tile.conv"), x_type)
        w = unpack_array(_checked(args[1], w_type, "the weight of tile.conv"), w_type)
        params = op.params()
        acc = conv_tiled(
            x, w, strides=params["strides"], pads=params["pads"], tile=params["tile"], blocks=w_type.blocks
        )
        return (_checked(pack_array(acc, acc_type), acc_type, "the result of tile.conv"),)


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
