"""Hypothesis strategies for random, valid ``graph`` dialect programs.

    from graph_program_strategies import graph_programs  # tests/ is on sys.path (conftest)

    @given(graph_programs(dtype_family="float", max_ops=8))
    def test_something(program):
        module, inputs = program
        outputs = run_graph(module, inputs)

:func:`graph_programs` draws a ``builtin.module`` holding ``func.func @main`` (verified)
and the numpy inputs for it, keyed by argument name (``arg0``: an NCHW tensor, ``arg1``:
a matrix). The body is a random DAG of graph ops with valid shapes: each step picks an
op kind from ``ops``, an existing value it accepts (most often the latest one, so chains
such as conv -> batch_norm -> relu are common) and random properties and constant
operands. ``@main`` returns every value nothing else uses, and sometimes one
intermediate too (so single-use assumptions get tested both ways).

Families:
- ``"float"`` (:data:`FLOAT_OPS`): f32 inputs; conv (random channels, groups, kernel
  1..5, stride 1..2, pads 0..2, dilation 1..2), gemm (transposes, every ``c`` broadcast
  form), matmul, broadcasting add/sub/mul/div, activations, pools, batch_norm, shape
  ops, sum, pad, and constant-only subgraphs;
- ``"int8"`` (:data:`INT8_OPS`): i8/ui8 inputs; conv_integer, matmul_integer (zero
  points), requantize, quantize/dequantize, and the element-type-generic ops.

Value-preserving special cases appear on purpose, so that rewrites get exercised:
constants of zeros (both signs) and ones, identity and inverse permutations, reshapes to
the same shape, clips with infinite bounds, single-input sum/concat, zero pads, weights
computed from constants (``reshape``/``transpose`` of a constant).

Data comes from a numpy generator seeded by a drawn integer (fast; values are small
enough that float results stay O(1)).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection
from io import StringIO
from typing import Any, NamedTuple

import numpy as np
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp, TensorType, f32, i32
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Region, SSAValue
from xdsl.printer import Printer

from canopy_mlir.dialects import graph

__all__ = [
    "FLOAT_OPS",
    "INT8_OPS",
    "OP_KINDS",
    "GraphProgram",
    "graph_programs",
]

_NUMPY = {f32: np.float32, graph.i8: np.int8, graph.ui8: np.uint8, i32: np.int32}
_ELEMENT = {np.dtype(v): k for k, v in _NUMPY.items()}
_QUANTIZED = (graph.i8, graph.ui8)
_INTEGER = (graph.i8, graph.ui8, i32)


class GraphProgram(NamedTuple):
    """``(module, inputs)``; its repr is the IR and the input shapes (for failure reports)."""

    module: ModuleOp
    inputs: dict[str, np.ndarray]

    def __repr__(self) -> str:
        out = StringIO()
        Printer(stream=out).print_op(self.module)
        shapes = ", ".join(f"{k}: {v.dtype}{list(v.shape)}" for k, v in self.inputs.items())
        return f"GraphProgram(inputs {{{shapes}}}):\n{out.getvalue()}"


# ------------------------------------------------------------------- the builder
class _Program:
    """The block being built, the values ops may use, and the data generator."""

    def __init__(self, draw: Callable[[st.SearchStrategy], Any], family: str, seed: int):
        self.draw = draw
        self.rng = np.random.default_rng(seed)
        self.inputs = self._make_inputs(family)
        self.block = Block(arg_types=[_tensor_type(a) for a in self.inputs])
        self.values: list[SSAValue] = list(self.block.args)
        self.arguments = frozenset(self.block.args)
        self.follow_up = False
        """Whether the current step continues the latest value (see _FOLLOW_UPS)."""

    # ----------------------------------------------------------------- inputs
    def _make_inputs(self, family: str) -> list[np.ndarray]:
        n = self.draw(st.integers(1, 2))
        c = self.draw(st.integers(1, 4))
        h, w = self.draw(st.integers(1, 6)), self.draw(st.integers(1, 6))
        m, k = self.draw(st.integers(1, 6)), self.draw(st.integers(1, 6))
        if family == "float":
            return [self.floats((n, c, h, w), 2.0), self.floats((m, k), 2.0)]
        return [self.ints((n, c, h, w), self.quantized_dtype()), self.ints((m, k), self.quantized_dtype())]

    # ---------------------------------------------------------------- choices
    def choice(self, options: list | tuple) -> Any:
        return self.draw(st.sampled_from(list(options)))

    def chance(self, p: float) -> bool:
        return self.draw(st.integers(0, 99)) < int(p * 100)

    def quantized_dtype(self) -> type:
        return self.choice([np.int8, np.uint8])

    # ------------------------------------------------------------------- data
    def floats(self, shape: tuple[int, ...], bound: float = 1.0) -> np.ndarray:
        return self.rng.uniform(-bound, bound, size=shape).astype(np.float32)

    def ints(self, shape: tuple[int, ...], dtype: type, low: int | None = None, high: int | None = None) -> np.ndarray:
        info = np.iinfo(dtype)
        low = info.min if low is None else low
        high = info.max if high is None else high
        return self.rng.integers(low, high, size=shape, endpoint=True).astype(dtype)

    def small(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """Random data of ``dtype`` for an elementwise operand (small integers)."""
        dtype = np.dtype(dtype)
        if dtype.kind == "f":
            return self.floats(shape)
        if dtype == np.uint8:
            return self.ints(shape, np.uint8, 0, 4)
        return self.ints(shape, dtype, -4, 4)

    # -------------------------------------------------------------------- IR
    def add(self, op: graph.GraphOp) -> SSAValue:
        """Append ``op``; its result becomes available to later ops (unless a constant)."""
        self.block.add_op(op)
        if not isinstance(op, graph.ConstantOp):
            self.values.append(op.result)
        return op.result

    def constant(self, array: np.ndarray) -> SSAValue:
        return self.add(graph.ConstantOp.from_array(np.asarray(array)))

    def weight(self, array: np.ndarray) -> SSAValue:
        """A constant operand, sometimes computed from constants (reshape/transpose)."""
        if array.ndim >= 2 and self.chance(0.15):
            if self.chance(0.5):
                flat = self.constant(array.reshape(-1))
                op = graph.ReshapeOp.create(flat, shape=list(array.shape))
            else:
                perm = list(self.draw(st.permutations(range(array.ndim))))
                inverse = list(np.argsort(perm))
                source = self.constant(np.ascontiguousarray(array.transpose(inverse)))
                op = graph.TransposeOp.create(source, perm=perm)
            self.block.add_op(op)  # not offered as an activation to later ops
            return op.result
        return self.constant(array)

    def pick(self, accept: Callable[[TensorType], bool]) -> SSAValue | None:
        """An available value whose type ``accept`` takes: most often the latest one
        (always, for a follow-up step)."""
        candidates = [v for v in self.values if accept(v.type)]  # type: ignore[arg-type]
        if not candidates:
            return None
        if self.follow_up or self.chance(0.6):
            return candidates[-1]
        return self.choice(candidates)

    # --------------------------------------------------------------- finishing
    def function(self) -> FuncOp:
        results = [v for v in self.values if v not in self.arguments and not v.uses]
        intermediates = [v for v in self.values if v not in self.arguments and v.uses]
        if intermediates and self.chance(0.3):
            extra = self.choice(intermediates)
            results = sorted({*results, extra}, key=self.values.index)
        if not results:
            results = [self.values[0]]
        self.block.add_op(ReturnOp(*results))
        return FuncOp(
            "main",
            ([a.type for a in self.block.args], [r.type for r in results]),
            Region(self.block),
        )


def _tensor_type(array: np.ndarray) -> TensorType:
    return TensorType(_ELEMENT[array.dtype], list(array.shape))


def _shape(t: Attribute) -> tuple[int, ...]:
    assert isinstance(t, TensorType)
    return tuple(t.get_shape())


def _dtype(t: Attribute) -> np.dtype:
    assert isinstance(t, TensorType)
    return np.dtype(_NUMPY[t.element_type])


def _is(elements: tuple, ranks: Collection[int] | None = None) -> Callable[[TensorType], bool]:
    def accept(t: TensorType) -> bool:
        return t.element_type in elements and (ranks is None or len(t.get_shape()) in ranks)

    return accept


# ------------------------------------------------------------------ shape helpers
def _broadcastable_shape(p: _Program, shape: tuple[int, ...], *, allow_growth: bool) -> tuple[int, ...]:
    """A shape that broadcasts with ``shape``: dims kept or 1, leading dims dropped; with
    ``allow_growth`` a size-1 dim of ``shape`` may become 2 (the result outgrows x)."""
    dims = []
    for d in shape:
        if d == 1 and allow_growth and p.chance(0.1):
            dims.append(2)
        else:
            dims.append(d if p.chance(0.6) else 1)
    drop = p.draw(st.integers(0, len(dims)))
    return tuple(dims[drop:])


def _factorizations(total: int, p: _Program) -> tuple[int, ...]:
    """A random shape of 1..4 dims with ``total`` elements."""
    factors = []
    n = total
    f = 2
    while f * f <= n:
        while n % f == 0:
            factors.append(f)
            n //= f
        f += 1
    if n > 1:
        factors.append(n)
    rank = p.draw(st.integers(1, 4))
    dims = [1] * rank
    for factor in factors:
        dims[p.draw(st.integers(0, rank - 1))] *= factor
    return tuple(dims)


def _window(p: _Program, size: int, kernel_max: int, *, dilate: bool) -> tuple[int, int, int, int, int]:
    """(kernel, stride, dilation, pad_begin, pad_end) with the window inside the input."""
    dilation = p.draw(st.integers(1, 2)) if dilate else 1
    kernel_cap = min(kernel_max, (size - 1) // dilation + 1)
    kernel = p.draw(st.integers(1, kernel_cap))
    stride = p.draw(st.integers(1, 2))
    pad_cap = min(2, kernel - 1)
    return kernel, stride, dilation, p.draw(st.integers(0, pad_cap)), p.draw(st.integers(0, pad_cap))


def _conv_geometry(p: _Program, h: int, w: int) -> tuple[list[int], dict[str, list[int]]]:
    """Kernel [kh, kw] and conv properties (strides, pads, dilations) that fit h x w.

    Pads reach up to 2 even beyond the kernel (conv allows it)."""
    kernel, props = [], {"strides": [], "dilations": []}
    begins, ends = [], []
    for size in (h, w):
        pad_begin, pad_end = p.draw(st.integers(0, 2)), p.draw(st.integers(0, 2))
        dilation = p.draw(st.integers(1, 2))
        cap = min(5, (size + pad_begin + pad_end - 1) // dilation + 1)
        kernel.append(p.draw(st.integers(1, cap)))
        props["strides"].append(p.draw(st.integers(1, 2)))
        props["dilations"].append(dilation)
        begins.append(pad_begin)
        ends.append(pad_end)
    props["pads"] = begins + ends
    return kernel, props


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


# ======================================================================= builders
# Each builder adds one op (plus its constants) and returns False when no available
# value fits it.


def _conv(p: _Program) -> bool:
    x = p.pick(_is((f32,), (4,)))
    if x is None:
        return False
    _, c, h, w = _shape(x.type)
    group = p.choice(_divisors(c))
    out_channels = group * p.draw(st.integers(1, 3))
    kernel, props = _conv_geometry(p, h, w)
    fan_in = (c // group) * kernel[0] * kernel[1]
    weight = p.floats((out_channels, c // group, *kernel), 1.0 / math.sqrt(fan_in))
    bias = p.constant(p.floats((out_channels,))) if p.chance(0.6) else None
    p.add(graph.ConvOp.create(x, p.weight(weight), bias, group=group, **props))
    return True


def _gemm(p: _Program) -> bool:
    a = p.pick(_is((f32,), (2,)))
    if a is None:
        return False
    rows, cols = _shape(a.type)
    trans_a = int(p.chance(0.3))
    m, k = (cols, rows) if trans_a else (rows, cols)
    n = p.draw(st.integers(1, 6))
    trans_b = int(p.chance(0.5))
    b = p.floats((n, k) if trans_b else (k, n), 1.0 / math.sqrt(k))
    c_shape = p.choice([None, (n,), (1, n), (m, n), (m, 1), (), (1,)])
    c = None if c_shape is None else p.constant(p.floats(c_shape))
    alpha, beta = p.choice([1.0, 0.5, -1.5]), p.choice([1.0, 2.0, -0.5])
    p.add(graph.GemmOp.create(a, p.weight(b), c, alpha=alpha, beta=beta, trans_a=trans_a, trans_b=trans_b))
    return True


def _matmul(p: _Program) -> bool:
    a = p.pick(_is((f32,), (2, 3, 4)))
    if a is None:
        return False
    k = _shape(a.type)[-1]
    b = p.floats((k, p.draw(st.integers(1, 5))), 1.0 / math.sqrt(k))
    p.add(graph.MatMulOp.create(a, p.weight(b)))
    return True


def _special_or_random(p: _Program, shape: tuple[int, ...], dtype: Any, *, divisor: bool) -> np.ndarray:
    """Zeros (either sign), ones, or random data; divisors are kept away from zero."""
    dtype = np.dtype(dtype)
    kind = p.choice(["random", "random", "zero", "negative-zero", "one"])
    if kind == "one":
        return np.ones(shape, dtype)
    if kind in ("zero", "negative-zero") and not divisor:
        zeros = np.zeros(shape, dtype)
        return -zeros if kind == "negative-zero" and dtype.kind == "f" else zeros
    if not divisor:
        return p.small(shape, dtype)
    if dtype.kind == "f":
        return (p.rng.uniform(0.5, 2.0, shape) * p.rng.choice([-1, 1], shape)).astype(dtype)
    values = p.rng.integers(1, 5, shape, endpoint=True)
    if dtype.kind == "i":
        values = values * p.rng.choice([-1, 1], shape)
    return values.astype(dtype)


def _binary(op_class: type[graph.GraphOp]) -> Callable[[_Program], bool]:
    is_div = op_class is graph.DivOp

    def build(p: _Program) -> bool:
        x = p.pick(_is((f32, *_INTEGER)))
        if x is None:
            return False
        shape, dtype = _shape(x.type), _dtype(x.type)
        same = [v for v in p.values if v.type == x.type]
        if not is_div and p.chance(0.25):
            other = p.choice(same)
        else:
            other_shape = _broadcastable_shape(p, shape, allow_growth=True)
            other = p.constant(_special_or_random(p, other_shape, dtype, divisor=is_div))
        operands = (other, x) if not is_div and p.chance(0.3) else (x, other)
        p.add(op_class.create(*operands))
        return True

    return build


def _unary(
    op_class: type[graph.GraphOp], elements: tuple, ranks: Collection[int] | None = None, **props_choices: list
) -> Callable[[_Program], bool]:
    def build(p: _Program) -> bool:
        x = p.pick(_is(elements, ranks))
        if x is None:
            return False
        props = {name: p.choice(options) for name, options in props_choices.items()}
        p.add(op_class.create(x, **props))
        return True

    return build


_FLOAT_CLIPS = [(0.0, 6.0), (-math.inf, math.inf), (-1.0, 0.5), (0.0, math.inf), (-math.inf, 1.0)]
_INT_CLIPS = [(-math.inf, math.inf), (-1000.0, 1000.0), (0.0, 6.0), (-20.5, 20.5), (-128.0, 127.0)]


def _clip(p: _Program) -> bool:
    x = p.pick(_is((f32, *_INTEGER)))
    if x is None:
        return False
    low, high = p.choice(_FLOAT_CLIPS if _dtype(x.type).kind == "f" else _INT_CLIPS)
    p.add(graph.ClipOp.create(x, min=low, max=high))
    return True


def _pool(op_class: type[graph.GraphOp], elements: tuple) -> Callable[[_Program], bool]:
    is_max = op_class is graph.MaxPoolOp

    def build(p: _Program) -> bool:
        x = p.pick(_is(elements, (4,)))
        if x is None:
            return False
        kernel, strides, dilations, begins, ends = [], [], [], [], []
        for size in _shape(x.type)[2:]:
            k, s, d, b, e = _window(p, size, 3, dilate=is_max)
            kernel.append(k), strides.append(s), dilations.append(d), begins.append(b), ends.append(e)
        props: dict[str, Any] = {
            "kernel_shape": kernel,
            "strides": strides,
            "pads": begins + ends,
            "ceil_mode": int(p.chance(0.3)),
        }
        if is_max:
            props["dilations"] = dilations
        else:
            props["count_include_pad"] = int(p.chance(0.5))
        p.add(op_class.create(x, **props))
        return True

    return build


def _batch_norm(p: _Program) -> bool:
    x = p.pick(_is((f32,), (2, 4)))
    if x is None:
        return False
    c = _shape(x.type)[1]
    scale = p.rng.uniform(0.5, 1.5, c) * p.rng.choice([-1, 1], c)
    params = [
        p.constant(scale.astype(np.float32)),
        p.constant(p.floats((c,))),
        p.constant(p.floats((c,))),
        p.constant(p.rng.uniform(0.25, 2.0, c).astype(np.float32)),
    ]
    p.add(graph.BatchNormOp.create(x, *params, epsilon=p.choice([1e-5, 1e-3])))
    return True


def _reshape(p: _Program) -> bool:
    x = p.pick(lambda t: True)
    if x is None:
        return False
    shape = _shape(x.type)
    target = shape if p.chance(0.2) else _factorizations(math.prod(shape), p)
    p.add(graph.ReshapeOp.create(x, shape=list(target)))
    return True


def _flatten(p: _Program) -> bool:
    x = p.pick(lambda t: True)
    if x is None:
        return False
    p.add(graph.FlattenOp.create(x, axis=p.draw(st.integers(0, len(_shape(x.type))))))
    return True


def _transpose(p: _Program) -> bool:
    x = p.pick(lambda t: len(t.get_shape()) >= 1)
    if x is None:
        return False
    rank = len(_shape(x.type))
    producer = x.owner
    kind = p.choice(["random", "random", "identity", "inverse"])
    if kind == "identity":
        perm = list(range(rank))
    elif kind == "inverse" and isinstance(producer, graph.TransposeOp):
        perm = [int(i) for i in np.argsort(producer.props_dict()["perm"])]
    else:
        perm = list(p.draw(st.permutations(range(rank))))
    p.add(graph.TransposeOp.create(x, perm=perm))
    return True


def _concat(p: _Program) -> bool:
    x = p.pick(lambda t: len(t.get_shape()) >= 1)
    if x is None:
        return False
    shape, dtype = _shape(x.type), _dtype(x.type)
    axis = p.draw(st.integers(0, len(shape) - 1))
    inputs = [x]
    for _ in range(p.draw(st.integers(0, 2))):
        kind = p.choice(["self", "constant", "value"])
        matching = [
            v for v in p.values
            if _dtype(v.type) == dtype and len(_shape(v.type)) == len(shape)
            and all(a == b for i, (a, b) in enumerate(zip(_shape(v.type), shape)) if i != axis)
        ]
        if kind == "self":
            inputs.append(x)
        elif kind == "value":
            inputs.append(p.choice(matching))
        else:
            other = list(shape)
            other[axis] = p.draw(st.integers(1, 3))
            inputs.append(p.constant(p.small(tuple(other), dtype)))
    if p.chance(0.5):
        p.draw(st.randoms(use_true_random=False)).shuffle(inputs)
    p.add(graph.ConcatOp.create(inputs, axis=axis))
    return True


def _sum(p: _Program) -> bool:
    x = p.pick(_is((f32, *_INTEGER)))
    if x is None:
        return False
    shape, dtype = _shape(x.type), _dtype(x.type)
    inputs = [x]
    for _ in range(p.draw(st.integers(0, 2))):
        if p.chance(0.4):
            inputs.append(x)
        else:
            inputs.append(p.constant(p.small(_broadcastable_shape(p, shape, allow_growth=False), dtype)))
    p.add(graph.SumOp.create(inputs))
    return True


def _pad(p: _Program) -> bool:
    x = p.pick(lambda t: len(t.get_shape()) >= 1)
    if x is None:
        return False
    rank = len(_shape(x.type))
    zero = p.chance(0.3)
    pads = [0 if zero else p.draw(st.integers(0, 1)) for _ in range(2 * rank)]
    mode = p.choice(["constant", "edge"])
    value = p.choice([0.0, 1.0]) if mode == "constant" else 0.0
    p.add(graph.PadOp.create(x, pads=pads, mode=mode, value=value))
    return True


def _constant_subgraph(p: _Program) -> bool:
    """``x (+|*) f(constant)`` where f is 1..2 ops on constants (folding material)."""
    x = p.pick(_is((f32, graph.i8, i32)))
    if x is None:
        return False
    shape, dtype = _shape(x.type), _dtype(x.type)
    c_shape = _broadcastable_shape(p, shape, allow_growth=False)
    value = p.constant(p.small(c_shape, dtype))
    for _ in range(p.draw(st.integers(1, 2))):
        # (no rank-0 transposes: graph_reference.transpose returns shape (1,) for them)
        kind = p.choice(["relu", "add", "mul", "transpose-pair"] if c_shape else ["relu", "add", "mul"])
        if kind == "relu":
            op = graph.ReluOp.create(value)
        elif kind in ("add", "mul"):
            other = p.constant(p.small(c_shape, dtype))
            op = (graph.AddOp if kind == "add" else graph.MulOp).create(value, other)
        else:
            perm = list(p.draw(st.permutations(range(len(c_shape)))))
            inner = graph.TransposeOp.create(value, perm=perm)
            p.block.add_op(inner)
            op = graph.TransposeOp.create(inner, perm=[int(i) for i in np.argsort(perm)])
        p.block.add_op(op)
        value = op.result
    combine = p.choice([graph.AddOp, graph.MulOp])
    p.add(combine.create(x, value))
    return True


# ----------------------------------------------------------------- integer family
def _zero_point(p: _Program, dtype: Any, shape: tuple[int, ...]) -> SSAValue:
    info = np.iinfo(dtype)
    return p.constant(p.ints(shape, dtype, max(info.min, -20), min(info.max, 140)))


def _conv_integer(p: _Program) -> bool:
    x = p.pick(_is(_QUANTIZED, (4,)))
    if x is None:
        return False
    _, c, h, w = _shape(x.type)
    group = p.choice(_divisors(c))
    out_channels = group * p.draw(st.integers(1, 3))
    kernel, props = _conv_geometry(p, h, w)
    w_dtype = p.quantized_dtype()
    weight = p.weight(p.ints((out_channels, c // group, *kernel), w_dtype))
    x_zp = _zero_point(p, _dtype(x.type), p.choice([(), (1,)])) if p.chance(0.5) else None
    w_zp = _zero_point(p, w_dtype, p.choice([(), (out_channels,)])) if p.chance(0.5) else None
    p.add(graph.ConvIntegerOp.create(x, weight, x_zp, w_zp, group=group, **props))
    return True


def _matmul_integer(p: _Program) -> bool:
    a = p.pick(_is(_QUANTIZED, (2, 4)))
    if a is None:
        return False
    shape = _shape(a.type)
    k, n = shape[-1], p.draw(st.integers(1, 5))
    b_dtype = p.quantized_dtype()
    b = p.weight(p.ints((k, n), b_dtype))
    a_zp = _zero_point(p, _dtype(a.type), p.choice([(), (shape[-2],)])) if p.chance(0.5) else None
    b_zp = _zero_point(p, b_dtype, p.choice([(), (n,)])) if p.chance(0.5) else None
    p.add(graph.MatMulIntegerOp.create(a, b, a_zp, b_zp))
    return True


def _requantize(p: _Program) -> bool:
    x = p.pick(_is((i32,)))
    if x is None:
        return False
    shape = _shape(x.type)
    count = shape[1] if len(shape) >= 2 and p.chance(0.4) else 1
    multiplier = [p.draw(st.integers(1, 1 << 15)) for _ in range(count)]
    shift = [p.draw(st.integers(0, 20)) for _ in range(count)]
    out = p.choice([graph.i8, graph.ui8])
    low, high = (-128, 127) if out == graph.i8 else (0, 255)
    zero_point = p.draw(st.integers(max(low, -10), min(high, 140)))
    result_type = TensorType(out, list(shape))
    p.add(
        graph.RequantizeOp.create(
            x, result_type=result_type, multiplier=multiplier, shift=shift, output_zero_point=zero_point
        )
    )
    return True


def _quant_params(p: _Program, shape: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Scale shape (scalar or per-channel along axis 1) and the axis.

    (graph_reference rejects an out-of-range axis even for per-tensor parameters, which
    ONNX ignores it for: rank-1 values get axis 0.)"""
    if len(shape) >= 2 and p.chance(0.4):
        return (shape[1],), 1
    return p.choice([(), (1,)]), 1 if len(shape) >= 2 else 0


def _quantize_linear(p: _Program) -> bool:
    x = p.pick(_is((f32, i32)))
    if x is None:
        return False
    scale_shape, axis = _quant_params(p, _shape(x.type))
    scale = p.constant(p.rng.uniform(0.005, 0.1, scale_shape).astype(np.float32))
    zp = _zero_point(p, p.quantized_dtype(), scale_shape) if p.chance(0.7) else None
    p.add(graph.QuantizeLinearOp.create(x, scale, zp, axis=axis))
    return True


def _dequantize_linear(p: _Program) -> bool:
    x = p.pick(_is(_INTEGER))
    if x is None:
        return False
    scale_shape, axis = _quant_params(p, _shape(x.type))
    scale = p.constant(p.rng.uniform(0.005, 0.1, scale_shape).astype(np.float32))
    zp = None
    if p.chance(0.6):
        dtype = _dtype(x.type)
        zp = p.constant(p.ints(scale_shape, dtype, -20, 20) if dtype != np.uint8 else p.ints(scale_shape, dtype, 0, 140))
    p.add(graph.DequantizeLinearOp.create(x, scale, zp, axis=axis))
    return True


# ======================================================================= registry
OP_KINDS: dict[str, Callable[[_Program], bool]] = {
    "conv": _conv,
    "gemm": _gemm,
    "matmul": _matmul,
    "add": _binary(graph.AddOp),
    "sub": _binary(graph.SubOp),
    "mul": _binary(graph.MulOp),
    "div": _binary(graph.DivOp),
    "relu": _unary(graph.ReluOp, (f32, graph.i8, i32)),
    "clip": _clip,
    "sigmoid": _unary(graph.SigmoidOp, (f32,)),
    "leaky_relu": _unary(graph.LeakyReluOp, (f32,), alpha=[0.01, 0.2]),
    "max_pool": _pool(graph.MaxPoolOp, (f32, *_QUANTIZED)),
    "average_pool": _pool(graph.AveragePoolOp, (f32,)),
    "global_average_pool": _unary(graph.GlobalAveragePoolOp, (f32,), (4,)),
    "batch_norm": _batch_norm,
    "reshape": _reshape,
    "flatten": _flatten,
    "transpose": _transpose,
    "concat": _concat,
    "sum": _sum,
    "pad": _pad,
    "constant_subgraph": _constant_subgraph,
    "conv_integer": _conv_integer,
    "matmul_integer": _matmul_integer,
    "requantize": _requantize,
    "quantize_linear": _quantize_linear,
    "dequantize_linear": _dequantize_linear,
}
"""Every op kind a program may draw, by name."""

_SHARED = ("relu", "clip", "max_pool", "add", "sub", "mul", "reshape", "flatten", "transpose", "concat", "sum", "pad", "constant_subgraph")

FLOAT_OPS: tuple[str, ...] = (
    "conv", "gemm", "matmul", "div", "sigmoid", "leaky_relu", "average_pool",
    "global_average_pool", "batch_norm", *_SHARED,
)
"""The default op kinds of the ``"float"`` family."""

INT8_OPS: tuple[str, ...] = (
    "conv_integer", "matmul_integer", "requantize", "quantize_linear", "dequantize_linear", *_SHARED,
)
"""The default op kinds of the ``"int8"`` family (f32 appears only after dequantize)."""

FAMILIES = {"float": FLOAT_OPS, "int8": INT8_OPS}

_FOLLOW_UPS: dict[type[graph.GraphOp], tuple[str, ...]] = {
    graph.ConvOp: ("batch_norm", "relu", "clip"),
    graph.GemmOp: ("batch_norm", "relu", "clip"),
    graph.MatMulOp: ("relu", "clip"),
    graph.ConvIntegerOp: ("relu", "clip", "requantize"),
    graph.MatMulIntegerOp: ("relu", "clip", "requantize"),
    graph.BatchNormOp: ("relu", "clip"),
    graph.TransposeOp: ("transpose",),
    graph.ReshapeOp: ("reshape", "flatten"),
    graph.FlattenOp: ("reshape",),
    graph.ConcatOp: ("concat",),
    graph.ReluOp: ("relu",),
}
"""Op kinds that often follow an op in real models (conv -> batch_norm -> relu) or that
canonicalization combines with it: a step continues the latest value with one of them
half of the time, when the allowed kinds include them."""


def _next_kind(draw: Callable[[st.SearchStrategy], Any], program: _Program, kinds: tuple[str, ...]) -> str:
    latest = program.values[-1].owner
    follow_ups = [k for k in _FOLLOW_UPS.get(type(latest), ()) if k in kinds]
    program.follow_up = bool(follow_ups) and draw(st.booleans())
    return draw(st.sampled_from(follow_ups if program.follow_up else kinds))


@st.composite
def graph_programs(
    draw: Callable[[st.SearchStrategy], Any],
    *,
    ops: Collection[str] | None = None,
    dtype_family: str = "float",
    max_ops: int = 8,
    min_ops: int = 1,
) -> GraphProgram:
    """A verified module with ``@main`` of ``min_ops..max_ops`` random op steps, and its inputs.

    ``ops`` restricts the op kinds (names from :data:`OP_KINDS`; default: the family's
    list). A step whose op finds no value of a type it takes is skipped, so e.g.
    ``ops=["conv_integer"]`` in the float family builds nothing: mix in ``quantize_linear``.
    """
    if dtype_family not in FAMILIES:
        raise ValueError(f"dtype_family must be one of {sorted(FAMILIES)}, got {dtype_family!r}")
    kinds = tuple(FAMILIES[dtype_family] if ops is None else ops)
    unknown = [k for k in kinds if k not in OP_KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown op kinds {unknown} (known: {', '.join(OP_KINDS)})" if unknown else "ops is empty")
    if not 0 <= min_ops <= max_ops:
        raise ValueError(f"need 0 <= min_ops <= max_ops, got {min_ops}, {max_ops}")
    program = _Program(draw, dtype_family, draw(st.integers(0, 2**32 - 1)))
    for _ in range(draw(st.integers(min_ops, max_ops))):
        OP_KINDS[_next_kind(draw, program, kinds)](program)
    module = ModuleOp([program.function()])
    module.verify()
    inputs = {f"arg{i}": array for i, array in enumerate(program.inputs)}
    return GraphProgram(module, inputs)
