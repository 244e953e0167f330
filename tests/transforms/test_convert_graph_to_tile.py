"""convert-graph-to-tile: random int8 card-form graphs lowered to tile ops run bit-exactly.

Each program (tests/tile_program_strategies.py) is lowered by graph-partition,
convert-graph-to-tile and canonicalize, then run by the tile interpreter; every output
must equal the graph interpreter's on the unlowered program, bit for bit. The programs
are also lowered with every op placed on the card, so the converter alone must send what
the tile ops cannot express back to the host (with a reason), never a wrong result.
Targeted cases and two onnxruntime-quantized models follow. About 12 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tile_program_strategies import (
    CardGraph,
    CardProgram,
    card_programs,
    lower_to_tile,
    place_all_on_card,
)
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.transforms.canonicalize import CanonicalizePass

from canopy_mlir.dialects import graph, make_context, tile
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.interpreters.tile_interpreter import run_tile
from canopy_mlir.transforms.convert_graph_to_tile import (
    ConvertGraphToTile,
    ConvertGraphToTileError,
    _post_multiply_offset,
    _premultiply,
)
from canopy_mlir.transforms.graph_partition import HOST, PLACEMENT, PLACEMENT_REASON

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(program: CardProgram, config: str, *, partition: bool) -> None:
    inputs = list(program.inputs.values())
    expected = run_graph(program.module, inputs)
    lowered = lower_to_tile(program.module.clone(), config, partition=partition)
    assert lowered.attributes[tile.CONFIG_ATTR] == StringAttr(config)
    for op in lowered.walk():
        if isinstance(op, graph.ReshapeOp) and PLACEMENT not in op.attributes:
            continue  # canonicalize merges the matmul's reshape with ours and drops attributes
        if isinstance(op, graph.GraphOp) and not isinstance(op, graph.ConstantOp):
            side = op.attributes[PLACEMENT]
            # every card op became a tile op; what stays in graph form is on the host, with a reason
            assert side == StringAttr(HOST) and PLACEMENT_REASON in op.attributes, op
    # input zero points never pad on the host (the card corrects padded taps by a map)
    assert not any(isinstance(op, graph.PadOp) for op in lowered.walk())
    actual = run_tile(lowered, inputs)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("config", ["tiny", "tiny-b2"])
@SETTINGS
@given(program=card_programs())
def test_random_programs_bit_exact(config: str, program: CardProgram) -> None:
    _check(program, config, partition=True)


@pytest.mark.parametrize("config", ["tiny", "tiny-b2"])
@SETTINGS
@given(program=card_programs())
def test_random_programs_all_on_card(config: str, program: CardProgram) -> None:
    _check(program, config, partition=False)


@settings(max_examples=40, deadline=None)
@given(program=card_programs(max_layers=2))
def test_random_programs_intelfocl(program: CardProgram) -> None:
    _check(program, "intelfocl", partition=False)


# ------------------------------------------------------------------ targeted cases
def _graph(c: int = 5, h: int = 6, seed: int = 0) -> tuple[CardGraph, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 127, size=(1, c, h, h), endpoint=True).astype(np.int8)
    return CardGraph({"x": x}, rng), x


def _lower(g: CardGraph, x: np.ndarray, *results, config: str = "tiny") -> tuple[ModuleOp, list[np.ndarray]]:
    module = g.module(*results)
    expected = run_graph(module, [x])
    lower_to_tile(module, config, partition=False)
    actual = run_tile(module, [x])
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(a, e)
    return module, actual


def _reasons(module: ModuleOp) -> dict[str, str]:
    return {op.name: op.attributes[PLACEMENT_REASON].data for op in module.walk() if PLACEMENT_REASON in op.attributes}


def _ops(module: ModuleOp, kind: type) -> list:
    return [op for op in module.walk() if isinstance(op, kind)]


def test_conv_chain_becomes_one_tile_conv_with_the_requantize_tail() -> None:
    g, x = _graph()
    acc = g.op(graph.ConvIntegerOp.create(g.args[0], g.constant(g.weights((7, 5, 3, 3), 3)), pads=[1, 1, 1, 1]))
    acc = g.op(graph.AddOp.create(acc, g.constant(np.arange(7, dtype=np.int32).reshape(1, 7, 1, 1) * 100)))
    y = g.op(graph.RequantizeOp.create(acc, result_type=TensorType(graph.i8, [1, 7, 6, 6]), multiplier=[3],
                                       shift=[4], output_zero_point=-5))
    y = g.op(graph.ReluOp.create(y))
    module, _ = _lower(g, x, y)
    (conv,) = _ops(module, tile.ConvOp)
    # The rounding 8 and the zero point -5 << 4 make the post-multiply offset -72, moved
    # before the mul as -72 / 3 = -24 and merged with the bias: (acc + b - 24) * 3 >> 4.
    assert [(s.opcode, s.imm, s.operand) for s in conv.tail_steps()] == [
        ("add", None, 0), ("mul", 3, None), ("shr", 4, None),
        ("max", 0, None), ("min", 127, None),  # relu merged into the requantize clamp
    ]
    bias = conv.tail_values()[0].owner.value_array()
    np.testing.assert_array_equal(bias, np.arange(7) * 100 - 24)
    assert not _ops(module, graph.GraphOp) or all(isinstance(op, graph.ConstantOp) for op in _ops(module, graph.GraphOp))


def test_requantize_that_can_overflow_int32_stays_on_the_host() -> None:
    g, x = _graph()
    acc = g.op(graph.ConvIntegerOp.create(g.args[0], g.constant(g.weights((4, 5, 3, 3))), pads=[1, 1, 1, 1]))
    y = g.op(graph.RequantizeOp.create(acc, result_type=TensorType(graph.i8, [1, 4, 6, 6]), multiplier=[30000],
                                       shift=[24], output_zero_point=0))
    module, _ = _lower(g, x, y)
    assert "x * multiplier + rounding can reach" in _reasons(module)["graph.requantize"]
    (conv,) = _ops(module, tile.ConvOp)
    assert isinstance(conv.result.type, tile.AccType) and not conv.tail_steps()


def _in_image_weight_sums(w: np.ndarray, hw: tuple[int, int], pads, strides=(1, 1), dilations=(1, 1)) -> np.ndarray:
    """S[o, y, x]: the sum of w[o] over the taps of output (y, x) inside the image (loops)."""
    o, _, kh, kw = w.shape
    out_h = (hw[0] + pads[0] + pads[2] - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    out_w = (hw[1] + pads[1] + pads[3] - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    s = np.zeros((o, out_h, out_w), np.int64)
    for y in range(out_h):
        for x in range(out_w):
            for ky in range(kh):
                for kx in range(kw):
                    iy = y * strides[0] - pads[0] + ky * dilations[0]
                    ix = x * strides[1] - pads[1] + kx * dilations[1]
                    if 0 <= iy < hw[0] and 0 <= ix < hw[1]:
                        s[:, y, x] += w[:, :, ky, kx].astype(np.int64).sum(axis=1)
    return s


def test_input_zero_point_padding_is_a_constant_map_on_the_card() -> None:
    g, x = _graph()
    weights = g.weights((4, 5, 3, 3))
    w = g.constant(weights)
    zp = g.constant(np.int8(-128))  # a relu'd activation's zero point
    plain = g.op(graph.ConvIntegerOp.create(g.args[0], w, zp))
    padded = g.op(graph.ConvIntegerOp.create(g.args[0], w, zp, pads=[1, 2, 0, 1]))
    module, _ = _lower(g, x, plain, padded)
    assert not _ops(module, graph.PadOp)  # no host round trip
    first, second = _ops(module, tile.ConvOp)
    assert first.params()["pads"] == [0, 0, 0, 0] and second.params()["pads"] == [1, 2, 0, 1]
    # unpadded: every tap reads x, the per-channel add - z * sum(w[o]) is exact
    assert [s.opcode for s in first.tail_steps()] == ["add"]
    assert first.tail_values()[0].type == TensorType(graph.i32, [4])
    # padded: the add is by a full i32 map, - z * (sum of w[o] over the in-image taps)
    assert [s.opcode for s in second.tail_steps()] == ["add"]
    (operand,) = second.tail_values()
    assert isinstance(operand.type, tile.AccType)
    map_ = operand.owner.input.owner.value_array()
    expected = 128 * _in_image_weight_sums(weights, (6, 6), [1, 2, 0, 1])
    np.testing.assert_array_equal(map_, expected[None])


def test_zero_point_map_depthwise_strided_dilated_batch_2() -> None:
    rng = np.random.default_rng(5)
    x = rng.integers(-128, 127, size=(2, 6, 7, 7), endpoint=True).astype(np.int8)
    g = CardGraph({"x": x}, rng)
    y = g.conv(g.args[0], 6, (3, 3), strides=(2, 2), pads=(1, 1, 2, 1), group=6, x_zero_point=-128,
               activation="relu")
    y = g.conv(y, 5, (3, 3), pads=(2, 2, 2, 2), dilations=(2, 2), x_zero_point=17, bias=True)
    module, _ = _lower(g, x, y, config="tiny-b2")
    assert not _ops(module, graph.PadOp)
    assert len(_ops(module, tile.ConvOp)) == 2


def test_bias_and_zero_point_corrections_merge_into_one_add() -> None:
    g, x = _graph()
    acc = g.conv(g.args[0], 4, (1, 1), x_zero_point=9, epilogue=False)
    acc = g.op(graph.AddOp.create(acc, g.constant(np.array([1, 2, 3, 4], np.int32).reshape(1, 4, 1, 1))))
    module, _ = _lower(g, x, acc)
    (conv,) = _ops(module, tile.ConvOp)
    assert [(s.opcode, s.operand) for s in conv.tail_steps()] == [("add", 0)]
    assert len(conv.tail_values()) == 1


def test_weight_zero_points_are_subtracted_at_compile_time() -> None:
    g, x = _graph()
    w = g.rng.integers(-60, 60, size=(4, 5, 3, 3)).astype(np.int8)
    zp = g.constant(np.array([3, -2, 0, 50], dtype=np.int8))
    acc = g.op(graph.ConvIntegerOp.create(g.args[0], g.constant(w), None, zp, pads=[1, 1, 1, 1]))
    module, _ = _lower(g, x, acc)
    assert len(_ops(module, tile.ConvOp)) == 1


def test_gemm_with_rank_3_input_is_a_1x1_conv() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 127, size=(2, 3, 9), endpoint=True).astype(np.int8)
    g = CardGraph({"x": x}, rng)
    y = g.matmul(g.args[0], 6, per_channel=True, activation="relu")
    module, _ = _lower(g, x, y, config="tiny-b2")
    (conv,) = _ops(module, tile.ConvOp)
    assert conv.input.type.tensor_shape == (6, 9, 1, 1)


def test_fused_activation_attribute_on_the_conv_is_applied_in_i32() -> None:
    g, x = _graph()
    acc = g.op(graph.ConvIntegerOp.create(g.args[0], g.constant(g.weights((4, 5, 3, 3))), pads=[1, 1, 1, 1]))
    acc.owner.attributes["fused_activation"] = StringAttr("relu")
    module, (result,) = _lower(g, x, acc)
    assert result.min() >= 0
    (conv,) = _ops(module, tile.ConvOp)
    assert [(s.opcode, s.imm) for s in conv.tail_steps()] == [("max", 0)]  # min INT32_MAX is no step


def test_what_the_tile_ops_cannot_express_goes_to_the_host_with_a_reason() -> None:
    rng = np.random.default_rng(5)
    u = rng.integers(0, 255, size=(1, 4, 5, 5), endpoint=True).astype(np.uint8)
    g = CardGraph({"u": u}, rng)
    conv = g.op(graph.ConvIntegerOp.create(g.args[0], g.constant(g.weights((4, 4, 1, 1)))))
    pool = g.op(graph.MaxPoolOp.create(g.args[0], kernel_shape=[2, 2]))
    module = g.module(conv, pool)
    expected = run_graph(module, [u])
    lower_to_tile(module, "tiny", partition=False)
    reasons = _reasons(module)
    assert "signed int8" in reasons["graph.conv_integer"]
    assert "i8 only" in reasons["graph.max_pool"]
    for a, e in zip(run_tile(module, [u]), expected):
        np.testing.assert_array_equal(a, e)


def test_i8_add_wraps_and_stays_on_the_host() -> None:
    g, x = _graph()
    y = g.op(graph.AddOp.create(g.args[0], g.args[0]))
    module, _ = _lower(g, x, y)
    assert "graph.add" in _reasons(module)


def test_unpack_pack_pairs_cancel_between_card_layers() -> None:
    g, x = _graph(c=8)
    y = g.conv(g.args[0], 8, (3, 3), pads=(1, 1, 1, 1), activation="relu")
    y = g.max_pool(y, (2, 2), (2, 2))
    y = g.conv(y, 8, (1, 1))
    module, _ = _lower(g, x, y)
    assert len(_ops(module, tile.PackOp)) == 3  # the input and two weights
    assert len(_ops(module, tile.UnpackOp)) == 1  # the result


def test_needs_placements() -> None:
    g, _ = _graph()
    module = g.module(g.op(graph.ReluOp.create(g.args[0])))
    with pytest.raises(ConvertGraphToTileError, match="run graph-partition first"):
        ConvertGraphToTile().apply(make_context(), module)


def test_config_comes_from_the_option_then_the_module() -> None:
    g, _ = _graph()
    module = g.module(g.op(graph.ReluOp.create(g.args[0])))
    place_all_on_card(module)
    module.attributes[tile.CONFIG_ATTR] = StringAttr("tiny-b2")
    ConvertGraphToTile().apply(make_context(), module)
    assert module.attributes[tile.CONFIG_ATTR] == StringAttr("tiny-b2")
    (alu,) = _ops(module, tile.AluOp)
    assert alu.input.type.blocks == (2, 8)
    with pytest.raises(ConvertGraphToTileError, match="neither a preset"):
        ConvertGraphToTile(config="nonesuch").apply(make_context(), module)


def test_pass_is_registered() -> None:
    from canopy_mlir.transforms import ALL_PASSES

    assert ALL_PASSES["convert-graph-to-tile"]() is ConvertGraphToTile


# ------------------------------------------------------------------ onnxruntime models
def _residual_cnn():
    """conv-relu-maxpool, a basic residual block (conv-relu-conv + add + relu), global
    average pool, flatten, gemm: the ResNet ingredients."""
    from onnx import helper
    from test_graph_fold_qdq import _model

    rng = np.random.default_rng(7)

    def f(*shape: int) -> np.ndarray:
        return (rng.normal(size=shape) * 0.3).astype(np.float32)

    nodes = [
        helper.make_node("Conv", ["x", "W0", "B0"], ["c0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("MaxPool", ["r0"], ["p0"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p0", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "W2", "B2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p0"], ["a"]),
        helper.make_node("Relu", ["a"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["fl"]),
        helper.make_node("Gemm", ["fl", "W3", "B3"], ["y"], transB=1),
    ]
    inits = {"W0": f(16, 3, 3, 3), "B0": f(16), "W1": f(16, 16, 3, 3), "B1": f(16), "W2": f(16, 16, 3, 3),
             "B2": f(16), "W3": f(10, 16), "B3": f(10)}
    return _model(nodes, inits, [1, 3, 16, 16], [1, 10]), [1, 3, 16, 16]


def _partition_cnn():
    from test_graph_partition import X_SHAPE, _cnn

    return _cnn(), X_SHAPE


@pytest.mark.parametrize(("model", "tiles"), [
    # 2 convs and the gemm; the average pool (fold-qdq: a depthwise conv of ones) as a sum pool
    (_partition_cnn, {tile.ConvOp: 3, tile.PoolOp: 1}),
    (_residual_cnn, {tile.ConvOp: 4, tile.PoolOp: 2}),  # + max pool; the residual add in a conv tail
], ids=["cnn", "residual"])
def test_quantize_static_models_end_to_end(model, tiles, tmp_path) -> None:
    """onnxruntime quantize_static (QDQ, int8, per-channel) -> import -> fold-qdq ->
    partition -> convert-graph-to-tile -> canonicalize: the tile program equals the folded
    graph bit for bit, and every conv / requantize is on the card."""
    quantization = pytest.importorskip("onnxruntime.quantization")
    import onnx
    from test_graph_fold_qdq import _Reader

    from canopy_mlir.frontend.onnx_importer import import_onnx
    from canopy_mlir.transforms.graph_fold_qdq import GraphFoldQdq
    from canopy_mlir.transforms.graph_partition import GraphPartition

    float_model, shape = model()
    src, dst = tmp_path / "float.onnx", tmp_path / "qdq.onnx"
    onnx.save(float_model, src)
    quantization.quantize_static(
        str(src), str(dst), _Reader(shape), quant_format=quantization.QuantFormat.QDQ, per_channel=True,
        activation_type=quantization.QuantType.QInt8, weight_type=quantization.QuantType.QInt8,
    )
    module = import_onnx(onnx.load(dst))
    ctx = make_context()
    GraphFoldQdq().apply(ctx, module)
    x = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    expected = run_graph(module, [x])
    GraphPartition(config="intelfocl", first_conv_min_channels=0).apply(ctx, module)
    ConvertGraphToTile().apply(ctx, module)
    CanonicalizePass().apply(ctx, module)
    module.verify()
    for kind, count in tiles.items():
        assert len(_ops(module, kind)) == count, kind
    assert not _ops(module, graph.ConvIntegerOp) and not _ops(module, graph.RequantizeOp)
    for a, e in zip(run_tile(module, [x]), expected):
        np.testing.assert_array_equal(a, e)


def test_depthwise_conv_of_ones_is_a_sum_pool() -> None:
    """graph-fold-qdq's average pool (with its zero point, padded: count_include_pad)."""
    g, x = _graph(c=6, h=7)
    y = g.conv(g.args[0], 6, (3, 3), strides=(2, 2), pads=(1, 1, 1, 1), group=6, ones=True, x_zero_point=-128,
               bias=False)
    module, _ = _lower(g, x, y, config="tiny-b2")
    (pool,) = _ops(module, tile.PoolOp)
    assert pool.params()["kind"] == "sum" and pool.params()["pads"] == [1, 1, 1, 1]
    # - z * (in-image taps) merged with the requantize's offset (moved before its mul):
    # a full i32 map, no host pad
    assert [s.opcode for s in pool.tail_steps()] == ["add", "mul", "shr", "max", "min"]
    assert isinstance(pool.tail_values()[pool.tail_steps()[0].operand].type, tile.AccType)
    assert not _ops(module, tile.ConvOp) and not _ops(module, graph.PadOp)


def test_global_max_pool_is_a_pool_over_the_whole_image() -> None:
    g, x = _graph(c=6, h=5)
    y = g.op(graph.GlobalMaxPoolOp.create(g.args[0]))
    module, _ = _lower(g, x, y, config="tiny-b2")
    (pool,) = _ops(module, tile.PoolOp)
    assert pool.params()["kernel"] == [5, 5]


def test_matmul_with_zero_point_and_a_residual_operand() -> None:
    """The matmul's a zero point folds into the tail; a full-tensor i8 residual of the
    matmul's [M, N] shape is reshaped to the 1x1 conv's M x N x 1 x 1 like the result."""
    rng = np.random.default_rng(11)
    a = rng.integers(-128, 127, size=(3, 9), endpoint=True).astype(np.int8)
    r = rng.integers(-128, 127, size=(3, 6), endpoint=True).astype(np.int8)
    g = CardGraph({"a": a, "r": r}, rng)
    b = g.constant(g.weights((9, 6)))
    acc = g.op(graph.MatMulIntegerOp.create(g.args[0], b, g.constant(np.int8(5))))
    acc = g.op(graph.AddOp.create(acc, g.op(graph.CastOp.create(g.args[1], to="i32"))))
    y = g.op(graph.RequantizeOp.create(acc, result_type=TensorType(graph.i8, [3, 6]), multiplier=[5], shift=[9]))
    module = g.module(y)
    expected = run_graph(module, [a, r])
    lower_to_tile(module, "tiny-b2", partition=False)
    (conv,) = _ops(module, tile.ConvOp)
    assert [s.opcode for s in conv.tail_steps()][:2] == ["add", "add"]  # - zp * colsum(b), the residual
    assert any(isinstance(v.type, tile.ActType) for v in conv.tail_values())
    np.testing.assert_array_equal(run_tile(module, [a, r])[0], expected[0])


# ------------------------------------------------------------------ requantize folding
def _wrap(v: np.ndarray) -> np.ndarray:
    return ((v.astype(np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int64)


@settings(max_examples=200, deadline=None)
@given(m=st.integers(0, (1 << 31) - 1), s=st.integers(0, 31), zp=st.integers(-128, 127),
       seed=st.integers(0, 2**16))
def test_requantize_offset_moves_before_the_multiply_exactly(m: int, s: int, zp: int, seed: int) -> None:
    """(x + K) * m >> s, in wrapping int32 ALU arithmetic, equals the requantize
    ((x * m + r) >> s) + zp computed exactly, on every x for which the pass allows the fold;
    K exists whenever the offset is a multiple of m's power-of-two factor."""
    rounding = np.array([(1 << (s - 1)) if s else 0], dtype=object)
    limit = ((1 << 31) - 1 - (1 << 30)) // max(m, 1)  # x * m + r stays in int32
    x = np.random.default_rng(seed).integers(-limit, limit, 64, endpoint=True)
    exact = np.array([int(v) * m for v in x], dtype=object) + rounding[0]
    offset = _post_multiply_offset(rounding, np.array([s], dtype=object), zp,
                                   np.array([exact.min()], dtype=object), np.array([exact.max()], dtype=object))
    if offset is None:  # zp << s leaves int32: allowed only then
        assert min(exact) + (zp << s) < -(1 << 31) or max(exact) + (zp << s) > (1 << 31) - 1
        return
    k = _premultiply(offset, np.array([m], dtype=object))
    tz = (m & -m).bit_length() - 1 if m else 32
    assert (k is None) == (m == 0 or int(offset[0]) % (1 << tz) != 0)
    if k is None:
        return
    alu = _wrap(_wrap(x + int(k[0])) * m) >> s  # ADD and MUL wrap, SHR is arithmetic
    expected = np.array([(int(v) * m + int(rounding[0])) >> s for v in x]) + zp
    np.testing.assert_array_equal(alu, expected)
