"""Random int8 card-form graphs (as graph-fold-qdq writes them) for convert-graph-to-tile.

    from tile_program_strategies import card_programs, CardGraph, lower_to_tile

    @given(card_programs())
    def test_something(program): ...

A program is a chain of layers on one int8 NCHW input: conv_integer (random channels,
kernel 1..7, stride 1..2, pads, dilation, groups incl. depthwise), matmul_integer
(a gemm on the flattened value), max pool, the average pool as graph-fold-qdq writes it
(a depthwise conv_integer of ones with the input zero point), zero points on weights and
inputs, relu/clip, and the QDQ residual add (cast
i8 -> i32, mul by constants, add, add offset, requantize with multiplier 1, clip), each
conv/matmul followed by the i32 bias add, requantize and an optional relu/clip exactly
as graph-fold-qdq emits them. Requantize multipliers are mostly chosen so that
``acc * multiplier`` provably fits int32 (the card path); sometimes too large (the host
fallback). :func:`lower_to_tile` runs graph-partition, convert-graph-to-tile and
canonicalize.

:class:`CardGraph` is the builder the layer tests use directly.
"""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, i32
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Block, Region, SSAValue
from xdsl.printer import Printer
from xdsl.transforms.canonicalize import CanonicalizePass

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.transforms.convert_graph_to_tile import ConvertGraphToTile
from canopy_mlir.transforms.graph_partition import CARD, PLACEMENT, GraphPartition

__all__ = ["CardGraph", "CardProgram", "card_programs", "lower_to_tile", "place_all_on_card", "requant_params",
           "run_token_checked"]

_ELEMENT = {np.dtype(np.int8): graph.i8, np.dtype(np.uint8): graph.ui8, np.dtype(np.int32): i32}


class CardProgram(NamedTuple):
    """``(module, inputs)``; the repr prints the IR (for failure reports)."""

    module: ModuleOp
    inputs: dict[str, np.ndarray]

    def __repr__(self) -> str:
        out = StringIO()
        Printer(stream=out).print_op(self.module)
        shapes = ", ".join(f"{k}: {v.dtype}{list(v.shape)}" for k, v in self.inputs.items())
        return f"CardProgram(inputs {{{shapes}}}):\n{out.getvalue()}"


def requant_params(acc_bound: int, rng: np.random.Generator, *, exact: bool = True) -> tuple[int, int]:
    """(multiplier, shift) mapping accumulators up to ``acc_bound`` onto about int8.

    ``exact``: ``acc_bound * multiplier + rounding`` stays below 2**31 (ALU-exact);
    otherwise the multiplier is large enough that it may not (the host fallback).
    """
    acc_bound = max(1, acc_bound)
    if exact:
        high = max(1, min((1 << 15) - 1, ((1 << 30) // acc_bound)))
        multiplier = int(rng.integers(1, high, endpoint=True))
    else:
        multiplier = int(rng.integers(1 << 14, (1 << 15) - 1))
    shift = max(0, (acc_bound * multiplier).bit_length() - 7)
    return multiplier, shift


class CardGraph:
    """Builds ``func @main`` of int8 card-form layers on numpy-known constants."""

    def __init__(self, inputs: dict[str, np.ndarray], rng: np.random.Generator):
        self.rng = rng
        self.inputs = inputs
        self.block = Block(arg_types=[TensorType(_ELEMENT[a.dtype], list(a.shape)) for a in inputs.values()])
        for arg, name in zip(self.block.args, inputs):
            arg.name_hint = name
        self.results: list[SSAValue] = []

    @property
    def args(self) -> list[SSAValue]:
        return list(self.block.args)

    # ------------------------------------------------------------- primitives
    def op(self, op: graph.GraphOp) -> SSAValue:
        self.block.add_op(op)
        return op.results[0]

    def constant(self, array: np.ndarray) -> SSAValue:
        return self.op(graph.ConstantOp.from_array(np.asarray(array)))

    def weights(self, shape: tuple[int, ...], bound: int = 127) -> np.ndarray:
        return self.rng.integers(-bound, bound, size=shape, endpoint=True).astype(np.int8)

    # ------------------------------------------------------------- fold-qdq tails
    def epilogue(self, acc: SSAValue, acc_bound: int, channels: int, axis: int, *, bias: bool = True,
                 per_channel: bool = False, exact: bool = True, activation: Any = None,
                 out: str = "i8") -> SSAValue:
        """add(acc, bias i32) -> requantize -> relu/clip, as graph-fold-qdq writes them."""
        rank = len(acc.type.get_shape())  # type: ignore[attr-defined]
        if bias:
            b = self.rng.integers(-(1 << 12), 1 << 12, size=channels).astype(np.int32)
            shape = [1] * rank
            shape[axis] = channels
            acc = self.op(graph.AddOp.create(acc, self.constant(b.reshape(shape))))
            acc_bound += 1 << 12
        params = [requant_params(acc_bound, self.rng, exact=exact) for _ in range(channels if per_channel else 1)]
        zp_range = (-20, 20) if out == "i8" else (100, 140)
        zero_point = int(self.rng.integers(*zp_range))
        dtype = graph.i8 if out == "i8" else graph.ui8
        shape = acc.type.get_shape()  # type: ignore[attr-defined]
        y = self.op(graph.RequantizeOp.create(
            acc, result_type=TensorType(dtype, list(shape)), multiplier=[m for m, _ in params],
            shift=[s for _, s in params], output_zero_point=zero_point, axis=axis,
        ))
        return self.activation(y, activation)

    def activation(self, y: SSAValue, activation: Any) -> SSAValue:
        if activation == "relu" and str(y.type.element_type) == "ui8":  # type: ignore[attr-defined]
            activation = (3.0, 250.0)  # graph.relu takes signed types only
        if activation == "relu":
            return self.op(graph.ReluOp.create(y))
        if isinstance(activation, tuple):
            return self.op(graph.ClipOp.create(y, min=float(activation[0]), max=float(activation[1])))
        return y

    # ------------------------------------------------------------- layers
    def conv(self, x: SSAValue, out_channels: int, kernel: tuple[int, int], *, strides=(1, 1),
             pads=(0, 0, 0, 0), dilations=(1, 1), group: int = 1, weight_bound: int = 127,
             x_zero_point: int = 0, w_zero_point: np.ndarray | None = None, ones: bool = False,
             epilogue: bool = True, **tail: Any) -> SSAValue:
        """conv_integer (+ epilogue); ``ones``: the all-ones depthwise weights graph-fold-qdq
        gives an average pool; zero points as optional operands when given."""
        c = x.type.get_shape()[1]  # type: ignore[attr-defined]
        shape = (out_channels, c // group, *kernel)
        w = np.ones(shape, np.int8) if ones else self.weights(shape, weight_bound)
        x_zp = None if not x_zero_point else self.constant(np.int8(x_zero_point))
        w_zp = None if w_zero_point is None else self.constant(w_zero_point.astype(np.int8))
        acc = self.op(graph.ConvIntegerOp.create(
            x, self.constant(w), x_zp, w_zp, strides=list(strides), pads=list(pads), dilations=list(dilations),
            group=group,
        ))
        if not epilogue:
            return acc
        centred = w.astype(np.int64) - (0 if w_zero_point is None else w_zero_point.astype(np.int64).reshape(-1, 1, 1, 1))
        bound = int(np.abs(centred).reshape(out_channels, -1).sum(axis=1).max()) * (128 + abs(x_zero_point))
        return self.epilogue(acc, bound, out_channels, 1, **tail)

    def matmul(self, a: SSAValue, n: int, *, weight_bound: int = 127, **tail: Any) -> SSAValue:
        k = a.type.get_shape()[-1]  # type: ignore[attr-defined]
        b = self.weights((k, n), weight_bound)
        acc = self.op(graph.MatMulIntegerOp.create(a, self.constant(b)))
        bound = int(np.abs(b.astype(np.int64)).sum(axis=0).max()) * 128
        rank = len(acc.type.get_shape())  # type: ignore[attr-defined]
        return self.epilogue(acc, bound, n, rank - 1, **tail)

    def max_pool(self, x: SSAValue, kernel: tuple[int, int], strides=(1, 1), pads=(0, 0, 0, 0),
                 ceil_mode: int = 0) -> SSAValue:
        return self.op(graph.MaxPoolOp.create(
            x, kernel_shape=list(kernel), strides=list(strides), pads=list(pads), ceil_mode=ceil_mode,
        ))

    def residual_add(self, a: SSAValue, b: SSAValue, activation: Any = "relu") -> SSAValue:
        """The QDQ Add in integer form: cast both to i32, scale, add, offset, requantize
        with multiplier 1, clip."""
        shape = a.type.get_shape()  # type: ignore[attr-defined]
        scale_a, scale_b = (int(self.rng.integers(1, 1 << 10)) for _ in range(2))
        a32 = self.op(graph.MulOp.create(self.op(graph.CastOp.create(a, to="i32")), self.constant(np.int32(scale_a))))
        b32 = self.op(graph.MulOp.create(self.op(graph.CastOp.create(b, to="i32")), self.constant(np.int32(scale_b))))
        total = self.op(graph.AddOp.create(a32, b32))
        offset = int(self.rng.integers(-(1 << 12), 1 << 12))
        total = self.op(graph.AddOp.create(total, self.constant(np.int32(offset))))
        shift = max(0, (128 * (scale_a + scale_b) + abs(offset)).bit_length() - 7)
        y = self.op(graph.RequantizeOp.create(
            total, result_type=TensorType(graph.i8, list(shape)), multiplier=[1], shift=[shift],
            output_zero_point=int(self.rng.integers(-10, 10)),
        ))
        return self.activation(y, activation)

    # ------------------------------------------------------------- finishing
    def module(self, *results: SSAValue) -> ModuleOp:
        results = results or tuple(self.results)
        self.block.add_op(ReturnOp(*results))
        function = FuncOp("main", ([a.type for a in self.block.args], [r.type for r in results]), Region(self.block))
        return ModuleOp([function])


def place_all_on_card(module: ModuleOp) -> None:
    """Mark every non-constant graph op ``card``: the converter alone must then decide
    what the tile ops can express (and send the rest back to the host)."""
    for op in module.walk():
        if isinstance(op, graph.GraphOp) and not isinstance(op, graph.ConstantOp):
            op.attributes[PLACEMENT] = StringAttr(CARD)


def lower_to_tile(module: ModuleOp, config: str, *, partition: bool = True) -> ModuleOp:
    """graph-partition (every conv on the card; or, with ``partition=False``, every op
    placed on the card) -> convert-graph-to-tile -> canonicalize."""
    ctx = make_context()
    if partition:
        GraphPartition(config=config, first_conv_min_channels=0, island_min_macs=0).apply(ctx, module)
    else:
        place_all_on_card(module)
    ConvertGraphToTile(config=config).apply(ctx, module)
    CanonicalizePass().apply(ctx, module)
    module.verify()
    return module


# ------------------------------------------------------------------ the strategy
def _window(draw: Callable, size: int) -> tuple[int, int, int, int, int]:
    """(kernel, stride, dilation, pad_begin, pad_end) fitting an input of ``size``."""
    kernel = draw(st.integers(1, min(7, size + 2)))
    dilation = draw(st.sampled_from([1, 1, 1, 2])) if kernel > 1 else 1
    stride = draw(st.integers(1, 2))
    pad_begin, pad_end = draw(st.integers(0, kernel - 1)), draw(st.integers(0, kernel - 1))
    span = (kernel - 1) * dilation + 1
    if size + pad_begin + pad_end < span:
        return 1, stride, 1, 0, 0
    return kernel, stride, dilation, pad_begin, pad_end


def _conv_layer(draw: Callable, g: CardGraph, x: SSAValue) -> SSAValue:
    _, c, h, w = x.type.get_shape()  # type: ignore[attr-defined]
    kh, sh, dh, pt, pb = _window(draw, h)
    kw, sw, dw, pl, pr = _window(draw, w)
    kind = draw(st.sampled_from(["dense", "dense", "grouped", "depthwise"]))
    divisors = [d for d in range(2, c + 1) if c % d == 0]
    if kind == "depthwise":
        group, out = c, c * draw(st.sampled_from([1, 1, 2]))
    elif kind == "grouped" and divisors:
        group = draw(st.sampled_from(divisors))
        out = group * draw(st.integers(1, 3))
    else:
        group, out = 1, draw(st.integers(1, 20))
    activation = draw(st.sampled_from([None, "relu", (-50.0, 60.0), (0.0, 6.5)]))
    zero_points: dict[str, Any] = {}
    if draw(st.integers(0, 3)) == 0:  # weight zero points: weights centred at compile time
        zero_points["weight_bound"] = 100
        zero_points["w_zero_point"] = g.rng.integers(-20, 20, size=draw(st.sampled_from([1, out])))
    if draw(st.booleans()):
        # asymmetric activations (onnxruntime's QInt8 default: -128 after a relu): folded
        # into the tail, padded taps corrected by a per-pixel map on the card
        zero_points["x_zero_point"] = draw(st.sampled_from([-128, -1, int(g.rng.integers(-30, 30))]))
    return g.conv(
        x, out, (kh, kw), strides=(sh, sw), pads=(pt, pl, pb, pr), dilations=(dh, dw), group=group, **zero_points,
        bias=draw(st.booleans()), per_channel=draw(st.booleans()), exact=draw(st.integers(0, 9)) > 0,
        activation=activation, out=draw(st.sampled_from(["i8", "i8", "i8", "ui8"])),
    )


def _layer(draw: Callable, g: CardGraph, x: SSAValue) -> SSAValue:
    kind = draw(st.sampled_from(["conv", "conv", "conv", "pool", "average", "residual", "relu"]))
    _, c, h, w = x.type.get_shape()  # type: ignore[attr-defined]
    if kind == "average":  # graph-fold-qdq's average pool: a depthwise conv of ones, x zero point
        kh, kw = draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w)))
        stride = draw(st.integers(1, 2))
        pads = tuple(draw(st.integers(0, k - 1)) for k in (kh, kw, kh, kw))
        return g.conv(x, c, (kh, kw), strides=(stride, stride), pads=pads, group=c, ones=True,
                      x_zero_point=draw(st.sampled_from([-128, int(g.rng.integers(-10, 10))])), bias=False)
    if kind == "pool":
        kh, kw = draw(st.integers(1, min(3, h))), draw(st.integers(1, min(3, w)))
        pads = tuple(draw(st.integers(0, k - 1)) for k in (kh, kw, kh, kw))
        return g.max_pool(x, (kh, kw), (draw(st.integers(1, 2)), draw(st.integers(1, 2))), pads,
                          ceil_mode=draw(st.integers(0, 1)))
    if kind == "residual":
        c = x.type.get_shape()[1]  # type: ignore[attr-defined]
        branch = g.conv(x, c, (3, 3), pads=(1, 1, 1, 1), activation="relu")
        return g.residual_add(branch, x, draw(st.sampled_from([None, "relu"])))
    if kind == "relu":
        return g.activation(x, draw(st.sampled_from(["relu", (-3.0, 100.0)])))
    return _conv_layer(draw, g, x)


@st.composite
def card_programs(draw: Callable, max_layers: int = 3) -> CardProgram:
    """A random int8 card-form program (module docstring)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 20))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    x = rng.integers(-128, 127, size=(n, c, h, w), endpoint=True).astype(np.int8)
    g = CardGraph({"x": x}, rng)
    value = g.args[0]
    for _ in range(draw(st.integers(1, max_layers))):
        if str(value.type.element_type) != "i8":  # type: ignore[attr-defined]
            break  # a ui8 value only goes back to the host
        value = _layer(draw, g, value)
    results = [value]
    if str(value.type.element_type) == "i8" and draw(st.booleans()):  # type: ignore[attr-defined]
        shape = value.type.get_shape()  # type: ignore[attr-defined]
        flat = g.op(graph.ReshapeOp.create(value, shape=[shape[0], int(np.prod(shape[1:]))]))
        results.append(g.matmul(flat, draw(st.integers(1, 20)), per_channel=draw(st.booleans()),
                                activation=draw(st.sampled_from([None, "relu"]))))
    return CardProgram(g.module(*results), {"x": x})


def run_token_checked(module: ModuleOp, config: str, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Run a dma-level module once on a fresh simulated card; every launch's program, as
    the card's pool holds it, must pass the token checker without error or warning."""
    from canopy_mlir.runtime.card import open_card
    from canopy_mlir.runtime.dma_executor import DmaProgram

    executor = DmaProgram(module, open_card(config, backend="sim"))
    try:
        actual = executor.run(inputs)
        for _, report in executor.token_reports():
            assert report.ok and not report.warnings, str(report)
    finally:
        executor.close()
    return actual
