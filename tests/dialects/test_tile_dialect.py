"""The ``tile`` dialect: blocked types, pack/unpack, tile.conv, interpreter, cancellation.

Expected blocked layouts come from an independent element-by-element loop over the
logical tensor (the docs' index formula), never from the interpreter's reshapes; tiled
conv results from the graph dialect's numpy reference (``conv_integer``); footprints
from hand arithmetic.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from xdsl.dialects import func
from xdsl.dialects.builtin import (
    ArrayAttr,
    FunctionType,
    IntAttr,
    ModuleOp,
    StringAttr,
    TensorType,
    i32,
)
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.dialects.tile import (
    AccType,
    ActType,
    ConvOp,
    PackOp,
    TileError,
    UnpackOp,
    WgtType,
    blocked_type_for,
    config_of,
    conv_footprint,
    conv_output_hw,
    i8,
    ui8,
)
from canopy_mlir.hw import load_config
from canopy_mlir.interpreters.graph_reference import conv_integer
from canopy_mlir.interpreters.tile_interpreter import (
    TileInterpreterError,
    pack_array,
    run_tile,
    unpack_array,
)
from canopy_mlir.tools import opt

CONFIGS = ("tiny", "tiny-b2", "intelfocl")
_DTYPES = {"act": np.int8, "wgt": np.int8, "acc": np.int32}
_ELEMENTS = {"act": i8, "wgt": i8, "acc": i32}


def expected_blocked(array: np.ndarray, b4: int, b5: int) -> np.ndarray:
    """The blocked layout by the docs' formula, one element at a time.

    blocked[d0 // b4, d1 // b5, d2, d3, d0 % b4, d1 % b5] = array[d0, d1, d2, d3];
    every other element (padding) is zero.
    """
    d0, d1, d2, d3 = array.shape
    blocked = np.zeros((-(-d0 // b4), -(-d1 // b5), d2, d3, b4, b5), dtype=array.dtype)
    for i0, i1, i2, i3 in itertools.product(range(d0), range(d1), range(d2), range(d3)):
        blocked[i0 // b4, i1 // b5, i2, i3, i0 % b4, i1 % b5] = array[i0, i1, i2, i3]
    return blocked


def expected_blocks(kind: str, config_name: str) -> tuple[int, int]:
    config = load_config(config_name)
    return {
        "act": (config.batch, config.block_in),
        "acc": (config.batch, config.block_out),
        "wgt": (config.block_out, config.block_in),
    }[kind]


def pack_unpack_module(
    tensor_type: TensorType, blocked_type, config_name: str
) -> ModuleOp:
    """``@main(x) -> (pack(x), unpack(pack(x)))`` with ``tile.config`` on the function."""
    block = func.FuncOp("main", ((tensor_type,), (blocked_type, tensor_type))).body.block
    function = block.parent_op()
    pack = PackOp(block.args[0], blocked_type)
    unpack = UnpackOp(pack.result)
    block.add_ops([pack, unpack, func.ReturnOp(pack.result, unpack.result)])
    function.attributes["tile.config"] = StringAttr(config_name)
    module = ModuleOp([function])
    module.verify()
    return module


shapes = st.tuples(
    st.integers(1, 5), st.integers(1, 40), st.integers(1, 3), st.integers(1, 3)
)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["act", "wgt", "acc"]),
    config_name=st.sampled_from(CONFIGS),
    shape=shapes,
    seed=st.integers(0, 2**32 - 1),
)
def test_pack_then_unpack_is_identity_and_pack_matches_the_loop(kind, config_name, shape, seed):
    dtype = _DTYPES[kind]
    info = np.iinfo(dtype)
    array = np.random.default_rng(seed).integers(info.min, info.max, shape, endpoint=True, dtype=dtype)
    tensor_type = TensorType(_ELEMENTS[kind], list(shape))
    blocked_type = blocked_type_for(kind, tensor_type, config_name)
    assert blocked_type.blocks == expected_blocks(kind, config_name)
    packed, unpacked = run_tile(pack_unpack_module(tensor_type, blocked_type, config_name), [array])
    np.testing.assert_array_equal(packed, expected_blocked(array, *blocked_type.blocks))
    assert packed.dtype == dtype
    np.testing.assert_array_equal(unpacked, array)
    assert unpacked.dtype == dtype


def test_a_known_layout_by_hand():
    # 1 image, 5 channels, 1x2 pixels, blocks of BATCH = 2 and BLOCK = 4: two channel
    # blocks; the second holds channel 4 and three zero channels; batch row 1 is padding.
    x = np.arange(10, dtype=np.int8).reshape(1, 5, 1, 2)
    blocked = pack_array(x, ActType.for_tensor(x.shape, i8, (2, 4)))
    assert blocked.shape == (1, 2, 1, 2, 2, 4)
    assert blocked[0, 0, 0, 1, 0].tolist() == [1, 3, 5, 7]
    assert blocked[0, 1, 0, 0, 0].tolist() == [8, 0, 0, 0]
    assert not blocked[:, :, :, :, 1].any()


def test_unpack_rejects_nonzero_padding():
    type_ = ActType.for_tensor((1, 3, 1, 1), i8, (1, 4))
    blocked = np.zeros(type_.blocked_shape, np.int8)
    blocked[0, 0, 0, 0, 0, 3] = 7  # channel 3 of 3: padding
    with pytest.raises(TileInterpreterError, match="padding .* is not zero"):
        unpack_array(blocked, type_)


def test_mixed_graph_and_tile_function_runs():
    text = """
    func.func @main(%x: tensor<1x6x2x2xi8>, %y: tensor<1x6x2x2xi8>) -> tensor<1x6x2x2xi8> attributes {tile.config = "tiny"} {
      %r = graph.relu %x : (tensor<1x6x2x2xi8>) -> tensor<1x6x2x2xi8>
      %p = tile.pack %r : tensor<1x6x2x2xi8> -> !tile.act<1x2x2x2x1x4xi8, n = 1, c = 6>
      %u = tile.unpack %p : !tile.act<1x2x2x2x1x4xi8, n = 1, c = 6> -> tensor<1x6x2x2xi8>
      %s = graph.add %u, %y : (tensor<1x6x2x2xi8>, tensor<1x6x2x2xi8>) -> tensor<1x6x2x2xi8>
      func.return %s : tensor<1x6x2x2xi8>
    }
    """
    module = Parser(make_context(), text).parse_module()
    module.verify()
    rng = np.random.default_rng(0)
    x, y = (rng.integers(-50, 50, (1, 6, 2, 2), dtype=np.int8) for _ in range(2))
    (result,) = run_tile(module, [x, y])
    np.testing.assert_array_equal(result, np.maximum(x, 0) + y)


CANCEL = """
func.func @main(%x: tensor<1x5x3x3xi8>) -> (tensor<1x5x3x3xi8>, !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>) attributes {tile.config = "tiny-b2"} {
  %p = tile.pack %x : tensor<1x5x3x3xi8> -> !tile.act<1x2x3x3x2x4xi8, n = 1, c = 5>
  %t = tile.unpack %p : !tile.act<1x2x3x3x2x4xi8, n = 1, c = 5> -> tensor<1x5x3x3xi8>
  %q = tile.pack %t : tensor<1x5x3x3xi8> -> !tile.act<1x2x3x3x2x4xi8, n = 1, c = 5>
  %t2 = tile.unpack %q : !tile.act<1x2x3x3x2x4xi8, n = 1, c = 5> -> tensor<1x5x3x3xi8>
  %r = tile.pack %t2 : tensor<1x5x3x3xi8> -> !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>
  func.return %t2, %r : tensor<1x5x3x3xi8>, !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>
}
"""


def test_canonicalize_cancels_pairs_and_keeps_values(capsys, tmp_path):
    source = tmp_path / "cancel.mlir"
    source.write_text(CANCEL)
    assert opt.main([str(source), "-p", "canonicalize"]) == 0
    output = capsys.readouterr().out
    # Only the re-blocking to BLOCK_OUT = 8 is left, straight from %x.
    assert output.count("tile.pack") == 1 and "tile.unpack" not in output
    assert "tile.pack %x : tensor<1x5x3x3xi8> -> !tile.act<1x1x3x3x2x8xi8" in output
    x = np.random.default_rng(1).integers(-128, 127, (1, 5, 3, 3), dtype=np.int8)
    before = run_tile(Parser(make_context(), CANCEL).parse_module(), [x])
    after = run_tile(Parser(make_context(), output).parse_module(), [x])
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_types_from_python_verify():
    assert ActType.for_tensor((1, 64, 56, 56), i8, (1, 16)).blocked_shape == (1, 4, 56, 56, 1, 16)
    wgt = WgtType.for_tensor((64, 3, 7, 7), i8, (16, 16))
    assert wgt.blocked_shape == (4, 1, 7, 7, 16, 16) and wgt.padded_shape == (64, 16, 7, 7)
    assert str(wgt) == "!tile.wgt<4x1x7x7x16x16xi8, o = 64, i = 3>"
    AccType.for_tensor((1, 10, 1, 1), i32, (2, 8)).verify()
    ActType.for_tensor((2, 3, 4, 4), ui8, (2, 4)).verify()
    with pytest.raises(VerifyException, match="needs 2 logical extents"):
        ActType(ArrayAttr([IntAttr(d) for d in (1, 1, 1, 1, 1, 4)]), i8, ArrayAttr([IntAttr(1)]))
    with pytest.raises(VerifyException, match="not a power of two"):
        WgtType.for_tensor((8, 8, 1, 1), i8, (8, 6))
    with pytest.raises(TileError, match="rank-4"):
        ActType.for_tensor((1, 3, 4), i8, (1, 4))
    with pytest.raises(TileError, match="unknown blocked type kind"):
        blocked_type_for("out", TensorType(i8, [1, 1, 1, 1]), "tiny")


def test_block_out_activations_for_outputs():
    config = load_config("tiny-b2")
    type_ = blocked_type_for("act", TensorType(i8, [1, 9, 2, 2]), config, block="out")
    assert type_.blocks == (config.batch, config.block_out)
    assert type_.config_mismatch(config) is None


def test_config_nearest_enclosing_wins():
    text = """
    builtin.module attributes {tile.config = "intelfocl"} {
      func.func @a(%x: tensor<1x1x1x1xi8>) attributes {tile.config = "tiny"} {
        %p = tile.pack %x : tensor<1x1x1x1xi8> -> !tile.act<1x1x1x1x1x4xi8, n = 1, c = 1>
        func.return
      }
      func.func @b(%x: tensor<1x1x1x1xi8>) {
        %p = tile.pack %x : tensor<1x1x1x1xi8> -> !tile.act<1x1x1x1x1x16xi8, n = 1, c = 1>
        func.return
      }
    }
    """
    module = Parser(make_context(), text).parse_module()
    module.verify()
    packs = [op for op in module.walk() if isinstance(op, PackOp)]
    assert [config_of(op).name for op in packs] == ["tiny", "intelfocl"]
    assert config_of(graph.ReluOp.create(_block_arg_i8())) is None


def _block_arg_i8():
    return func.FuncOp("g", ((TensorType(i8, [1]),), ())).body.block.args[0]


# --------------------------------------------------------------------------- tile.conv
def conv_module(x_shape, w_shape, strides, pads, tile, buffers, config_name) -> ModuleOp:
    """``@main(x, w) -> unpack(conv(pack(x), pack(w)))`` on ``config_name``."""
    x_type, w_type = TensorType(i8, list(x_shape)), TensorType(i8, list(w_shape))
    function = func.FuncOp("main", ((x_type, w_type), ()))
    block = function.body.block
    px = PackOp(block.args[0], blocked_type_for("act", x_type, config_name))
    pw = PackOp(block.args[1], blocked_type_for("wgt", w_type, config_name))
    conv = ConvOp(px.result, pw.result, strides=strides, pads=pads, tile=tile, buffers=buffers)
    out = UnpackOp(conv.result)
    block.add_ops([px, pw, conv, out, func.ReturnOp(out.result)])
    function.function_type = FunctionType.from_lists([x_type, w_type], [out.result.type])
    function.attributes["tile.config"] = StringAttr(config_name)
    module = ModuleOp([function])
    module.verify()
    return module


@settings(max_examples=30, deadline=None)
@given(data=st.data(), config_name=st.sampled_from(CONFIGS))
def test_tiled_conv_matches_the_graph_reference(data, config_name):
    config = load_config(config_name)
    n, c, o = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 20)), data.draw(st.integers(1, 20))
    kh, kw = data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3))
    strides = [data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2))]
    pads = data.draw(st.lists(st.integers(0, 1), min_size=4, max_size=4))
    h, w = data.draw(st.integers(max(1, kh - 1), 7)), data.draw(st.integers(max(1, kw - 1), 7))
    out_h, out_w = conv_output_hw((h, w), (kh, kw), strides, pads)
    assume(out_h >= 1 and out_w >= 1)
    tile = [
        data.draw(st.integers(1, out_h)),
        data.draw(st.integers(1, out_w)),
        data.draw(st.integers(1, -(-o // config.block_out))),
        data.draw(st.integers(1, -(-c // config.block_in))),
    ]
    buffers = data.draw(st.integers(1, 2))
    needs = conv_footprint((kh, kw), strides, tile, buffers)
    assume(all(needs[b] <= config.depths()[b.upper()] for b in needs))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-128, 127, (n, c, h, w), endpoint=True, dtype=np.int8)
    wt = rng.integers(-128, 127, (o, c, kh, kw), endpoint=True, dtype=np.int8)
    module = conv_module(x.shape, wt.shape, strides, pads, tile, buffers, config_name)
    (result,) = run_tile(module, [x, wt])
    expected = conv_integer(x, wt, strides=strides, pads=pads)
    assert result.dtype == np.int32
    np.testing.assert_array_equal(result, expected)


def test_conv_footprint_by_hand():
    # ResNet-18 3x3/64 layer at 56x56 on intelfocl: 7x14 output pixels, 4 oc blocks, 4 ic
    # blocks per tile. Input window (7-1)*1+3 = 9 rows by (14-1)*1+3 = 16 columns.
    assert conv_footprint((3, 3), (1, 1), (7, 14, 4, 4), 1) == {
        "inp": 4 * 9 * 16,
        "wgt": 4 * 4 * 9,
        "acc": 4 * 7 * 14,
        "uop": 4 * 4 * 9,
    }
    # Stride 2 widens the window: (4-1)*2+3 = 9 by (2-1)*2+1 = 3; double buffering doubles
    # INP/WGT/ACC, not the micro-op kernel.
    assert conv_footprint((3, 1), (2, 2), (4, 2, 1, 2), 2) == {
        "inp": 2 * 2 * 9 * 3,
        "wgt": 2 * 1 * 2 * 3,
        "acc": 2 * 1 * 4 * 2,
        "uop": 1 * 2 * 3 * 1,
    }


def test_resnet18_layer_fits_intelfocl_and_too_big_a_tile_does_not():
    module = conv_module((1, 64, 56, 56), (64, 64, 3, 3), [1, 1], [1, 1, 1, 1], [7, 14, 4, 4], 2, "intelfocl")
    (conv,) = [op for op in module.walk() if isinstance(op, ConvOp)]
    assert conv.footprint() == {"inp": 1152, "wgt": 288, "acc": 784, "uop": 144}
    with pytest.raises(VerifyException, match="needs 2304 ACC elements; config 'intelfocl' has 2048"):
        conv_module((1, 64, 56, 56), (128, 64, 3, 3), [1, 1], [1, 1, 1, 1], [12, 12, 8, 4], 2, "intelfocl")
