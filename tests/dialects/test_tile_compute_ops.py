"""tile.conv (groups, dilations, tail), tile.pool, tile.alu: interpreter bit-exactness.

Expected values never come from the tile interpreter's own code: convs from the graph
dialect's numpy reference (``graph_reference.conv_integer``), pools from a per-pixel
loop, tails from :func:`reference_tail` below (Python-int arithmetic written from
docs/isa.md, not canopy_mlir.alu_semantics), grouped weight layouts from an
element-by-element loop over the contract's formula, footprints from hand arithmetic.
Takes about 15 s.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, StringAttr, TensorType, i32
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.dialects.tile import (
    AccType,
    ActType,
    AluOp,
    AluStep,
    ConvOp,
    PackOp,
    PoolOp,
    TileError,
    UnpackOp,
    WgtType,
    alu_footprint,
    blocked_type_for,
    conv_footprint,
    conv_output_hw,
    grouped_reduction,
    i8,
    pool_footprint,
    ui8,
)
from canopy_mlir.hw import load_config
from canopy_mlir.interpreters.graph_reference import conv_integer
from canopy_mlir.interpreters.tile_interpreter import (
    TileInterpreterError,
    apply_tail,
    pack_array,
    run_tile,
    unpack_array,
)

CONFIGS = ("tiny", "tiny-b2", "intelfocl")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


# --------------------------------------------------------------------------- references
def _wrap(value: int) -> int:
    return (value + 2**31) % 2**32 - 2**31


def _reference_step(opcode: str, a: int, b: int) -> int:
    """One ALU step on Python ints, from docs/isa.md's wording."""
    if opcode == "add":
        return _wrap(a + b)
    if opcode == "mul":
        return _wrap(a * b)
    if opcode == "min":
        return min(a, b)
    if opcode == "max":
        return max(a, b)
    assert opcode == "shr"
    if b >= 0:
        return a // 2 ** min(b, 31)  # floor division = arithmetic shift right
    return _wrap(a * 2 ** (-b)) if -b < 32 else 0


def reference_tail(acc: np.ndarray, steps, operands, element=None) -> np.ndarray:
    """The tail on a logical NCHW int32 ``acc``, element by element with Python ints.

    ``operands`` are logical arrays: ``(C,)`` per-channel or ``acc``-shaped full ones.
    """
    out = np.empty(acc.shape, np.int64)
    for index in itertools.product(*(range(d) for d in acc.shape)):
        value = int(acc[index])
        for step in steps:
            if step.imm is not None:
                other = step.imm
            else:
                array = operands[step.operand]
                other = int(array[index[1]] if array.ndim == 1 else array[index])
            value = _reference_step(step.opcode, value, other)
        out[index] = value
    if element is None:
        return out.astype(np.int32)
    if element == i8:
        return ((out + 128) % 256 - 128).astype(np.int8)
    return (out % 256).astype(np.uint8)


def reference_pool(x: np.ndarray, kind: str, kernel, strides, pads) -> np.ndarray:
    """Max/sum pool per output pixel; padding never wins a max and adds 0 to a sum."""
    n, c, h, w = x.shape
    out_h, out_w = conv_output_hw((h, w), kernel, strides, pads)
    out = np.zeros((n, c, out_h, out_w), np.int64)
    for b, ch, y, xx in itertools.product(range(n), range(c), range(out_h), range(out_w)):
        values = [
            int(x[b, ch, iy, ix])
            for dy in range(kernel[0])
            for dx in range(kernel[1])
            for iy, ix in [(y * strides[0] - pads[0] + dy, xx * strides[1] - pads[1] + dx)]
            if 0 <= iy < h and 0 <= ix < w
        ]
        out[b, ch, y, xx] = (max(values) if values else INT32_MIN) if kind == "max" else _wrap(sum(values))
    return out.astype(np.int32)


# --------------------------------------------------------------------------- builders
def _residual_type(kind: str, shape, config_name: str):
    tensor = TensorType(i8 if kind == "act" else i32, list(shape))
    return tensor, blocked_type_for(kind, tensor, config_name, block="out")


def compute_module(build, arg_types, config_name: str) -> ModuleOp:
    """``@main(*args)``: ``build(block_args) -> list of ops`` whose last result is unpacked."""
    function = func.FuncOp("main", (list(arg_types), []))
    block = function.body.block
    ops = build(block.args)
    out = UnpackOp(ops[-1].results[0])
    block.add_ops([*ops, out, func.ReturnOp(out.result)])
    function.function_type = FunctionType.from_lists(list(arg_types), [out.result.type])
    function.attributes["tile.config"] = StringAttr(config_name)
    module = ModuleOp([function])
    module.verify()
    return module


def _tail_operand_ops(args, specs, config_name):
    """Pack ops and values of the tail operands; ``specs`` entries are "chan"/"act"/"acc"."""
    ops, values = [], []
    for arg, spec in zip(args, specs):
        if spec == "chan":
            values.append(arg)
        else:
            pack = PackOp(arg, blocked_type_for(spec, arg.type, config_name, block="out"))
            ops.append(pack)
            values.append(pack.result)
    return ops, values


def _operand_arrays(rng, specs, shape):
    arrays = []
    for spec in specs:
        if spec == "chan":
            arrays.append(rng.integers(-(2**20), 2**20, (shape[1],), dtype=np.int32))
        elif spec == "act":
            arrays.append(rng.integers(-128, 127, shape, endpoint=True, dtype=np.int8))
        else:
            arrays.append(rng.integers(INT32_MIN, INT32_MAX, shape, endpoint=True, dtype=np.int32))
    return arrays


def _arg_type(spec, shape):
    if spec == "chan":
        return TensorType(i32, [shape[1]])
    return TensorType(i8 if spec == "act" else i32, list(shape))


@st.composite
def tails(draw, max_operands=2):
    """(steps, operand specs, result element) with a clamp when the element is 8-bit."""
    specs = draw(st.lists(st.sampled_from(["chan", "act", "acc"]), max_size=max_operands))
    steps = []
    for _ in range(draw(st.integers(0, 4))):
        opcode = draw(st.sampled_from(["add", "mul", "shr", "min", "max"]))
        if specs and draw(st.booleans()):
            steps.append(AluStep(opcode, operand=draw(st.integers(0, len(specs) - 1))))
        elif opcode == "shr":
            steps.append(AluStep(opcode, imm=draw(st.integers(-31, 31))))
        else:
            steps.append(AluStep(opcode, imm=draw(st.integers(-(2**15), 2**15 - 1))))
    element = draw(st.sampled_from([None, i8, ui8]))
    if element is not None:
        low, high = (-128, 127) if element == i8 else (0, 255)
        clamp = [AluStep("max", imm=draw(st.integers(low, high))), AluStep("min", imm=draw(st.integers(low, high)))]
        steps.extend(clamp if draw(st.booleans()) else clamp[::-1])
    return steps, specs, element


def _fits(needs, config) -> bool:
    return all(needs[b] <= config.depths()[b.upper()] for b in needs)


# --------------------------------------------------------------------------- tile.conv
def _most_input_blocks(starts, reduction, tile_oc, tile_ic) -> int:
    """Input blocks one (oc tile, chunk) reads, by listing every block each output reads."""
    sizes = []
    for first in range(0, len(starts), tile_oc):
        for r0 in range(0, reduction, tile_ic):
            read = set()
            for ob in range(first, min(first + tile_oc, len(starts))):
                read.update(starts[ob] + r for r in range(r0, min(r0 + tile_ic, reduction)))
            sizes.append(len(read))
    return max(sizes)


def test_grouped_oc_tiles_read_the_union_of_their_input_blocks():
    # tiny-b2, 12 outputs / 18 inputs / 3 groups: starts (0, 2), R = 3. One oc tile of
    # both blocks reads blocks {0, 1, 2} and {2, 3, 4}: 5 blocks of a 1x1 window, not 3.
    x_type, w_type = TensorType(i8, [1, 18, 1, 1]), TensorType(i8, [12, 6, 1, 1])

    def build(args):
        px = PackOp(args[0], blocked_type_for("act", x_type, "tiny-b2"))
        pw = PackOp(args[1], blocked_type_for("wgt", w_type, "tiny-b2", groups=3))
        return [px, pw, ConvOp(px.result, pw.result, groups=3, tile=[1, 1, 2, 3])]

    module = compute_module(build, [x_type, w_type], "tiny-b2")
    conv = next(op for op in module.walk() if isinstance(op, ConvOp))
    assert conv.footprint()["inp"] == 5
    assert _most_input_blocks((0, 2), 3, 2, 3) == 5 and _most_input_blocks((0, 0), 3, 2, 2) == 2
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 127, (1, 18, 1, 1), endpoint=True, dtype=np.int8)
    w = rng.integers(-128, 127, (12, 6, 1, 1), endpoint=True, dtype=np.int8)
    (result,) = run_tile(module, [x, w])
    np.testing.assert_array_equal(result, conv_integer(x, w, group=3))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data(), config_name=st.sampled_from(CONFIGS), tail=tails())
def test_conv_with_groups_dilations_and_tail_matches_the_references(data, config_name, tail):
    config = load_config(config_name)
    steps, specs, element = tail
    draw = data.draw
    groups = draw(st.integers(1, 4))
    depthwise = draw(st.booleans())
    per_in = 1 if depthwise else draw(st.integers(1, 7))
    per_out = 1 if depthwise else draw(st.integers(1, 7))
    if depthwise:
        groups = draw(st.integers(1, 20))
    n, c, o = draw(st.integers(1, 3)), per_in * groups, per_out * groups
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    dilations = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = draw(st.lists(st.integers(0, 2), min_size=4, max_size=4))
    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    out_h, out_w = conv_output_hw((h, w), (kh, kw), strides, pads, dilations)
    assume(out_h >= 1 and out_w >= 1)
    reduction, starts = grouped_reduction(o, c, groups, config.block_out, config.block_in)
    tile = [
        draw(st.integers(1, out_h)),
        draw(st.integers(1, out_w)),
        draw(st.integers(1, -(-o // config.block_out))),
        draw(st.integers(1, reduction)),
    ]
    buffers = draw(st.integers(1, 2))
    full = sum(s != "chan" for s in specs)
    needs = conv_footprint(
        (kh, kw), strides, tile, buffers, dilations=dilations, tail_steps=len(steps),
        full_operands=full, channel_operands=len(specs) - full,
        inp_blocks=_most_input_blocks(starts, reduction, tile[2], tile[3]),
    )
    assume(_fits(needs, config))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-128, 127, (n, c, h, w), endpoint=True, dtype=np.int8)
    wt = rng.integers(-128, 127, (o, per_in, kh, kw), endpoint=True, dtype=np.int8)
    out_shape = (n, o, out_h, out_w)
    operands = _operand_arrays(rng, specs, out_shape)
    x_type, w_type = TensorType(i8, list(x.shape)), TensorType(i8, list(wt.shape))

    def build(args):
        px = PackOp(args[0], blocked_type_for("act", x_type, config_name))
        pw = PackOp(args[1], blocked_type_for("wgt", w_type, config_name, groups=groups))
        tail_ops, values = _tail_operand_ops(args[2:], specs, config_name)
        conv = ConvOp(
            px.result, pw.result, strides=strides, pads=pads, dilations=dilations, groups=groups,
            tile=tile, buffers=buffers, tail=steps, tail_operands=values, result_element=element,
        )
        assert conv.footprint() == needs
        return [px, pw, *tail_ops, conv]

    arg_types = [x_type, w_type, *(_arg_type(s, out_shape) for s in specs)]
    module = compute_module(build, arg_types, config_name)
    (result,) = run_tile(module, [x, wt, *operands])
    acc = conv_integer(x, wt, strides=strides, pads=pads, dilations=dilations, group=groups)
    expected = reference_tail(acc, steps, operands, element)
    assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result, expected)


def test_grouped_weight_layout_follows_the_formula():
    # tiny-b2: BLOCK_OUT 8, BLOCK_IN 4; 12 outputs, 18 inputs, 3 groups (6 inputs, 4
    # outputs each). Block 0 = outputs 0..7 (groups 0, 1): inputs 0..11 = blocks 0..2;
    # block 1 = outputs 8..11 (group 2): inputs 12..17 = blocks 3..4 -> R = 3, start
    # clamped to ceil(18/4) - 3 = 2.
    assert grouped_reduction(12, 18, 3, 8, 4) == (3, (0, 2))
    assert grouped_reduction(32, 32, 32, 16, 16) == (1, (0, 1))  # depthwise: diagonal
    assert grouped_reduction(32, 32, 32, 8, 4) == (2, (0, 2, 4, 6))
    assert grouped_reduction(20, 20, 1, 16, 16) == (2, (0, 0))
    w = np.random.default_rng(3).integers(-128, 127, (12, 6, 2, 1), endpoint=True, dtype=np.int8)
    type_ = WgtType.for_tensor(w.shape, i8, (8, 4), groups=3)
    assert type_.blocked_shape == (2, 3, 2, 1, 8, 4)
    assert str(type_) == "!tile.wgt<2x3x2x1x8x4xi8, o = 12, i = 6, groups = 3>"
    blocked = pack_array(w, type_)
    expected = np.zeros(type_.blocked_shape, np.int8)
    starts = (0, 2)
    for ob, r, kh, kw, bo, bi in itertools.product(*(range(d) for d in type_.blocked_shape)):
        o, i = ob * 8 + bo, (starts[ob] + r) * 4 + bi
        if o < 12 and i < 18 and i // 6 == o // 4:
            expected[ob, r, kh, kw, bo, bi] = w[o, i - (o // 4) * 6, kh, kw]
    np.testing.assert_array_equal(blocked, expected)
    np.testing.assert_array_equal(unpack_array(blocked, type_), w)
    blocked[0, 2, 0, 0, 0, 0] = 1  # output 0 (group 0) x input 8 (group 1): padding
    with pytest.raises(TileInterpreterError, match="padding .* is not zero"):
        unpack_array(blocked, type_)


def test_wgt_groups_type_checks():
    with pytest.raises(VerifyException, match="need R = 3 reduction blocks, but dimension I/BLOCK_IN is 5"):
        WgtType.get([2, 5, 1, 1, 8, 4], i8, [12, 6], 3).verify()
    with pytest.raises(VerifyException, match="o = 10 output channels do not split into groups = 3"):
        WgtType.get([2, 1, 1, 1, 8, 4], i8, [10, 1], 3).verify()
    with pytest.raises(TileError, match="do not split into 3 groups"):
        WgtType.for_tensor((10, 1, 1, 1), i8, (8, 4), groups=3)


# --------------------------------------------------------------------------- tail
def _acc_value(values, config_name="tiny"):
    """A 1 x C x 1 x 1 acc value and its blocked array."""
    array = np.asarray(values, np.int32).reshape(1, -1, 1, 1)
    type_ = blocked_type_for("acc", TensorType(i32, list(array.shape)), config_name)
    return array, type_


def _alu_module(shape, steps, specs, element, config_name, input_kind="acc", tile=None):
    in_type = TensorType(i8 if input_kind == "act" else i32, list(shape))

    def build(args):
        pack = PackOp(args[0], blocked_type_for(input_kind, in_type, config_name, block="out"))
        tail_ops, values = _tail_operand_ops(args[1:], specs, config_name)
        config = load_config(config_name)
        sizes = tile or [shape[2], shape[3], -(-shape[1] // config.block_out)]
        alu = AluOp(pack.result, tile=sizes, tail=steps, tail_operands=values, result_element=element)
        return [pack, *tail_ops, alu]

    return compute_module(build, [in_type, *(_arg_type(s, shape) for s in specs)], config_name)


def test_tail_wraps_at_32_bits_and_clamps_shifts():
    acc = [INT32_MAX, INT32_MIN, -5, 5, 3, -1]
    steps = [AluStep("add", imm=1)]
    (result,) = run_tile(_alu_module((1, 6, 1, 1), steps, [], None, "tiny"), [np.asarray(acc, np.int32).reshape(1, 6, 1, 1)])
    assert result.ravel().tolist() == [INT32_MIN, INT32_MIN + 1, -4, 6, 4, 0]
    # mul wraps; shr by a per-channel vector: 40 -> 31 (sign only), -33 -> 0, -2 -> x4.
    shifts = np.asarray([40, 40, 40, 40, -33, -2], np.int32)
    steps = [AluStep("mul", imm=2), AluStep("shr", operand=0)]
    module = _alu_module((1, 6, 1, 1), steps, ["chan"], None, "tiny")
    (result,) = run_tile(module, [np.asarray(acc, np.int32).reshape(1, 6, 1, 1), shifts])
    assert result.ravel().tolist() == [-1, 0, -1, 0, 0, -8]
    # The same through apply_tail directly, and against the Python-int reference.
    blocked = np.asarray(acc, np.int64)
    direct = apply_tail(blocked, [AluStep("mul", imm=2)], [])
    assert direct.tolist() == [-2, 0, -10, 10, 6, -2]
    assert [_reference_step("shr", -7, 31), _reference_step("shr", -7, 1), _reference_step("shr", 3, -31)] == [-1, -4, _wrap(3 * 2**31)]


def test_alu_tile_with_channel_full_and_i8_residual_operands():
    rng = np.random.default_rng(7)
    shape = (3, 10, 3, 5)  # tiny-b2: 2 batch blocks, 2 channel blocks of 8, all padded
    specs = ["chan", "act", "acc"]
    x = rng.integers(-(2**24), 2**24, shape, dtype=np.int32)
    operands = _operand_arrays(rng, specs, shape)
    steps = [
        AluStep("add", operand=1), AluStep("add", operand=2), AluStep("mul", operand=0),
        AluStep("shr", imm=9), AluStep("add", imm=-3), AluStep("min", imm=100), AluStep("max", imm=-100),
    ]
    module = _alu_module(shape, steps, specs, i8, "tiny-b2", tile=[2, 3, 1])
    (result,) = run_tile(module, [x, *operands])
    np.testing.assert_array_equal(result, reference_tail(x, steps, operands, i8))
    (alu,) = [op for op in module.walk() if isinstance(op, AluOp)]
    # 1 channel block x 2 x 3 pixels, the output plus two full operands, plus a row.
    assert alu.footprint() == {"acc": 1 * 6 * 3 + 1, "uop": 7}
    assert alu_footprint([2, 3, 1], 2, tail_steps=7, full_operands=2, channel_operands=1) == {"acc": 38, "uop": 7}


def test_alu_on_an_i8_input_sign_extends_and_rezeroes_padding():
    x = np.asarray([-128, -1, 0, 127, 5], np.int8).reshape(1, 5, 1, 1)
    # add 5 makes the padding channels 5..7 non-zero inside ACC; the result keeps them 0.
    module = _alu_module(x.shape, [AluStep("add", imm=5)], [], None, "tiny-b2", input_kind="act")
    (result,) = run_tile(module, [x])
    assert result.ravel().tolist() == [-123, 4, 5, 132, 10]


# --------------------------------------------------------------------------- tile.pool
@settings(max_examples=30, deadline=None)
@given(data=st.data(), config_name=st.sampled_from(CONFIGS), tail=tails(max_operands=1))
def test_pool_max_and_sum_with_pads_match_the_loop(data, config_name, tail):
    config = load_config(config_name)
    steps, specs, element = tail
    draw = data.draw
    kind = draw(st.sampled_from(["max", "sum"]))
    input_kind = draw(st.sampled_from(["act", "acc"]))
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = [draw(st.integers(0, k - 1)) for k in kernel * 2]
    n, c, h, w = draw(st.integers(1, 3)), draw(st.integers(1, 20)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    out_h, out_w = conv_output_hw((h, w), kernel, strides, pads)
    assume(out_h >= 1 and out_w >= 1)
    tile = [draw(st.integers(1, out_h)), draw(st.integers(1, out_w)), draw(st.integers(1, -(-c // config.block_out)))]
    buffers = draw(st.integers(1, 2))
    full = sum(s != "chan" for s in specs)
    needs = pool_footprint(kernel, strides, tile, buffers, tail_steps=len(steps), full_operands=full, channel_operands=len(specs) - full)
    assume(_fits(needs, config))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if input_kind == "act":
        x = rng.integers(-128, 127, (n, c, h, w), endpoint=True, dtype=np.int8)
    else:
        x = rng.integers(INT32_MIN, INT32_MAX, (n, c, h, w), endpoint=True, dtype=np.int32)
    out_shape = (n, c, out_h, out_w)
    operands = _operand_arrays(rng, specs, out_shape)
    in_type = TensorType(i8 if input_kind == "act" else i32, list(x.shape))

    def build(args):
        pack = PackOp(args[0], blocked_type_for(input_kind, in_type, config_name, block="out"))
        tail_ops, values = _tail_operand_ops(args[1:], specs, config_name)
        pool = PoolOp(
            pack.result, kind=kind, kernel=kernel, strides=strides, pads=pads, tile=tile,
            buffers=buffers, tail=steps, tail_operands=values, result_element=element,
        )
        assert pool.footprint() == needs
        return [pack, *tail_ops, pool]

    module = compute_module(build, [in_type, *(_arg_type(s, out_shape) for s in specs)], config_name)
    (result,) = run_tile(module, [x, *operands])
    pooled = reference_pool(x, kind, kernel, strides, pads)
    np.testing.assert_array_equal(result, reference_tail(pooled, steps, operands, element))


def test_pool_footprint_by_hand():
    # 3x3 stride-2 max pool, tile 4x4 outputs x 2 channel blocks: window 9x9 in ACC plus
    # the 16-pixel output, per block; one ALU micro-op per (block, kernel position).
    assert pool_footprint((3, 3), (2, 2), (4, 4, 2), 1) == {"acc": 2 * (81 + 16), "uop": 2 * 9}
    assert pool_footprint((2, 2), (2, 2), (1, 3, 1), 2, tail_steps=3, channel_operands=1) == {
        "acc": 2 * (1 * 2 * 6 + 3 + 1),
        "uop": 1 * (4 + 3),
    }


# --------------------------------------------------------------------------- footprints
def test_worked_footprint_examples_of_the_docs():
    """The two examples in docs/tile-dialect.md ("Footprint examples")."""
    tail = [AluStep("add", operand=0), AluStep("mul", imm=19), AluStep("shr", imm=11),
            AluStep("max", imm=-128), AluStep("min", imm=127)]

    def conv(c, o, hw, groups, tile):
        x_type = TensorType(i8, [1, c, hw, hw])
        w_type = TensorType(i8, [o, c // groups, 3, 3])

        def build(args):
            px = PackOp(args[0], blocked_type_for("act", x_type, "intelfocl"))
            pw = PackOp(args[1], blocked_type_for("wgt", w_type, "intelfocl", groups=groups))
            return [px, pw, ConvOp(px.result, pw.result, pads=[1, 1, 1, 1], groups=groups, tile=tile,
                                   buffers=2, tail=tail, tail_operands=[args[2]], result_element=i8)]

        module = compute_module(build, [x_type, w_type, TensorType(i32, [o])], "intelfocl")
        return next(op for op in module.walk() if isinstance(op, ConvOp))

    resnet = conv(64, 64, 56, 1, [7, 14, 4, 4])
    # INP 2*4*(6+3)*(13+3); WGT 2*4*4*9; ACC 2*(4*7*14 + 4 bias rows); UOP 4*4*9 + 4*5.
    assert resnet.footprint() == {"inp": 1152, "wgt": 288, "acc": 792, "uop": 164}
    assert resnet.macs() == resnet.card_macs() == 64 * 56 * 56 * 64 * 9 == 115_605_504
    depthwise = conv(32, 32, 28, 32, [14, 28, 2, 1])
    # R = 1 (diagonal blocks), but the 2 oc blocks of a tile read 2 different input blocks:
    # INP 2*2*16*30; WGT 2*2*1*9; ACC 2*(2*14*28 + 2); UOP 2*9 + 2*5.
    assert depthwise.footprint() == {"inp": 1920, "wgt": 36, "acc": 1572, "uop": 28}
    assert depthwise.macs() == 32 * 28 * 28 * 9 == 225_792
    assert depthwise.card_macs() == 2 * 1 * 9 * 28 * 28 * 16 * 16 == 3_612_672  # 16x the useful work
    depths = load_config("intelfocl").depths()
    assert all(depthwise.footprint()[b] <= depths[b.upper()] for b in ("inp", "wgt", "acc", "uop"))


def test_builder_errors_are_tile_errors():
    x = func.FuncOp("g", ([ActType.for_tensor((1, 4, 4, 4), i8, (1, 4))], [])).body.block.args[0]
    with pytest.raises(TileError, match="unknown ALU opcode 'sub'"):
        AluOp(x, tile=[1, 1, 1], tail=[AluStep("sub", imm=1)])
    with pytest.raises(TileError, match="exactly one of an immediate and an operand"):
        AluOp(x, tile=[1, 1, 1], tail=[AluStep("add", imm=1, operand=0)])
    with pytest.raises(TileError, match="'shr' immediate 32 is outside \\[-31, 31\\]"):
        AluOp(x, tile=[1, 1, 1], tail=[AluStep("shr", imm=32)])
    with pytest.raises(TileError, match="result_element must be None, i8 or ui8"):
        AluOp(x, tile=[1, 1, 1], tail=[AluStep("add", imm=1)], result_element="i16")
    acc = func.FuncOp("h", ([AccType.for_tensor((1, 4, 2, 2), i32, (1, 4))], [])).body.block.args[0]
    with pytest.raises(TileError, match="smaller than the \\[3, 3\\] kernel"):
        PoolOp(acc, kind="max", kernel=[3, 3], tile=[1, 1, 1])
    assert isinstance(AluOp(acc, tile=[1, 1, 1], tail=[AluStep("add", imm=1)], result_element=None).result.type, AccType)
    assert AluOp(
        acc, tile=[1, 1, 1], tail=[AluStep("max", imm=0), AluStep("min", imm=255)], result_element="ui8"
    ).result.type == ActType.for_tensor((1, 4, 2, 2), ui8, (1, 4))
