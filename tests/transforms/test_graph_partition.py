"""graph-partition on a quantize_static'd CNN: placements, the report, unchanged results.

The CNN (conv 3->8 + relu, conv 8->16 + relu, global average pool, flatten, gemm 16->10,
softmax) is quantized by onnxruntime (QDQ), imported, folded by graph-fold-qdq, then
partitioned for intelfocl (BLOCK_IN 16). Expected MACs are computed here from the ONNX
shapes, independently of the pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper
from test_graph_fold_qdq import (  # same directory: pytest puts it on sys.path
    RNG_SEED,
    _model,
    _Reader,
)
from xdsl.dialects.builtin import ModuleOp, StringAttr

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import load_config
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.transforms import collecting_statistics
from canopy_mlir.transforms.graph_fold_qdq import GraphFoldQdq
from canopy_mlir.transforms.graph_partition import (
    PLACEMENT,
    PLACEMENT_REASON,
    GraphPartition,
    PartitionError,
    core_utilisation,
    partition_report,
)

quantization = pytest.importorskip("onnxruntime.quantization")

X_SHAPE = [1, 3, 8, 8]
CONV0_MACS = 1 * 8 * 8 * 8 * (3 * 3 * 3)  # N * M * H * W outputs, C * kh * kw products each
CONV1_MACS = 1 * 16 * 8 * 8 * (8 * 3 * 3)
GEMM_MACS = 1 * 10 * 16
# graph-fold-qdq turns the quantized global average pool into a depthwise conv_integer of
# ones over the 8x8 window (16 channels, one output pixel each).
POOL_MACS = 1 * 16 * 1 * 1 * (1 * 8 * 8)


def _cnn() -> onnx.ModelProto:
    rng = np.random.default_rng(RNG_SEED)

    def f(*shape: int) -> np.ndarray:
        return rng.normal(size=shape).astype(np.float32)

    nodes = [
        helper.make_node("Conv", ["x", "W0", "B0"], ["c0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("GlobalAveragePool", ["r1"], ["g"]),
        helper.make_node("Flatten", ["g"], ["fl"]),
        helper.make_node("Gemm", ["fl", "W2", "B2"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], axis=1),
    ]
    inits = {"W0": f(8, 3, 3, 3), "B0": f(8), "W1": f(16, 8, 3, 3) * 0.3, "B1": f(16), "W2": f(10, 16), "B2": f(10)}
    return _model(nodes, inits, X_SHAPE, [1, 10])


@pytest.fixture(scope="module")
def folded(tmp_path_factory: pytest.TempPathFactory) -> ModuleOp:
    """The quantized CNN after import_onnx and graph-fold-qdq."""
    tmp: Path = tmp_path_factory.mktemp("cnn")
    src, dst = tmp / "float.onnx", tmp / "qdq.onnx"
    onnx.save(_cnn(), src)
    quantization.quantize_static(
        str(src), str(dst), _Reader(X_SHAPE), quant_format=quantization.QuantFormat.QDQ,
        per_channel=True, activation_type=quantization.QuantType.QInt8,
        weight_type=quantization.QuantType.QInt8,
    )
    module = import_onnx(onnx.load(dst))
    GraphFoldQdq().apply(make_context(), module)
    module.verify()
    return module


def _partition(module: ModuleOp, **options: object) -> tuple[ModuleOp, dict[str, int]]:
    module = module.clone()
    pass_ = GraphPartition(**options)  # type: ignore[arg-type]
    with collecting_statistics(pass_) as stats:
        pass_.apply(make_context(), module)
    module.verify()
    return module, stats[0].counters


def _placed(module: ModuleOp, op_type: type) -> list[tuple[str, str | None]]:
    result = []
    for op in module.walk():
        if isinstance(op, op_type):
            reason = op.attributes.get(PLACEMENT_REASON)
            result.append((op.attributes[PLACEMENT].data, reason.data if isinstance(reason, StringAttr) else None))
    return result


def test_fold_produced_integer_form(folded: ModuleOp) -> None:
    """Guards the premise: two convs + the pool's depthwise conv, one matmul_integer."""
    names = [op.name for op in folded.walk()]
    assert names.count("graph.conv_integer") == 3
    assert names.count("graph.matmul_integer") == 1


def test_placements(folded: ModuleOp) -> None:
    module, _ = _partition(folded)
    first, second, pool = _placed(module, graph.ConvIntegerOp)
    assert first[0] == "host" and "first conv: 3 input channels" in (first[1] or "")
    assert second == pool == ("card", None)
    assert _placed(module, graph.MatMulIntegerOp) == [("card", None)]
    # The host conv's requantize stays with it (i32 input); the others are on the card.
    requantize = _placed(module, graph.RequantizeOp)
    assert requantize[0] == ("host", "i32 input from host op graph.add (epilogue stays with its producer)")
    assert requantize[1:] == [("card", None)] * 3
    assert _placed(module, graph.SoftmaxOp) == [("host", "softmax: exp/div have no ALU op")]
    assert all(side == "host" for side, _ in _placed(module, graph.GlobalAveragePoolOp))  # float between DQ/Q
    assert all(side == "host" for side, _ in _placed(module, graph.DequantizeLinearOp))
    for op in module.walk():
        if isinstance(op, graph.ConstantOp):
            assert PLACEMENT not in op.attributes
        elif isinstance(op, graph.GraphOp):
            assert op.attributes[PLACEMENT].data in ("card", "host")
            assert (PLACEMENT_REASON in op.attributes) == (op.attributes[PLACEMENT].data == "host")


def test_report_and_statistics(folded: ModuleOp) -> None:
    module, stats = _partition(folded)
    report = partition_report(module)
    card_macs, host_macs = CONV1_MACS + POOL_MACS + GEMM_MACS, CONV0_MACS
    assert (report.macs("card"), report.macs("host")) == (card_macs, host_macs)
    assert report.card_mac_share == pytest.approx(card_macs / (card_macs + host_macs))
    graph_ops = [op for op in module.walk() if isinstance(op, graph.GraphOp) and not isinstance(op, graph.ConstantOp)]
    assert report.count("card") + report.count("host") == len(graph_ops)
    # Crossings, from the ONNX shapes: to the card the host conv's i8 output (1x8x8x8) and
    # the flattened pool after the host's flatten (1x16); back, the pool's i8 output
    # (1x16x1x1) for that flatten and the gemm's i8 logits (1x10).
    to_card, to_host = (2, 8 * 8 * 8 + 16), (2, 16 + 10)
    assert report.crossings == {"host-to-card": to_card, "card-to-host": to_host}
    assert stats == {
        "ops-on-card": report.count("card"), "ops-on-host": report.count("host"),
        "macs-on-card": card_macs, "macs-on-host": host_macs,
        "crossings-host-to-card": 2, "bytes-host-to-card": to_card[1],
        "crossings-card-to-host": 2, "bytes-card-to-host": to_host[1],
    }
    text = str(report)
    assert f"host-to-card: 2 tensors, {to_card[1]} bytes per run" in text
    assert f"card: {report.count('card')} ops, {card_macs} MACs" in text
    assert "softmax: exp/div have no ALU op" in text


def test_results_unchanged(folded: ModuleOp) -> None:
    module, _ = _partition(folded)
    x = np.random.default_rng(RNG_SEED + 7).normal(size=X_SHAPE).astype(np.float32)
    before, after = run_graph(folded, [x]), run_graph(module, [x])
    assert len(before) == len(after)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("options", "side"),
    [
        ({"config": "tiny"}, "card"),  # BLOCK_IN 4: 3 channels fill 0.75
        ({"first_conv_min_utilisation": 0.1}, "card"),
        ({"first_conv_min_channels": 3}, "card"),
        ({"first_conv_min_channels": 4}, "host"),
    ],
)
def test_first_conv_rule_follows_config_and_options(folded: ModuleOp, options: dict, side: str) -> None:
    module, _ = _partition(folded, **options)
    assert _placed(module, graph.ConvIntegerOp)[0][0] == side
    assert _placed(module, graph.RequantizeOp)[0][0] == side  # the epilogue follows the conv


def test_core_utilisation() -> None:
    intelfocl = load_config("intelfocl")
    assert intelfocl.block_in == 16
    assert core_utilisation(3, intelfocl) == 3 / 16
    assert core_utilisation(16, intelfocl) == 1.0
    assert core_utilisation(24, intelfocl) == 24 / 32


def test_report_needs_a_partitioned_module(folded: ModuleOp) -> None:
    with pytest.raises(PartitionError, match="run graph-partition first"):
        partition_report(folded)


def test_card_islands_without_macs_go_back_to_the_host() -> None:
    """A lone integer relu between host ops would cost two crossings for ALU work only."""
    text = """
    func.func @f(%x: tensor<1x4x2x2xf32>) -> tensor<1x4x2x2xf32> {
      %s = graph.constant dense<0.5> : tensor<f32>
      %z = graph.constant dense<0> : tensor<i8>
      %q = graph.quantize_linear %x, %s, %z : (tensor<1x4x2x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x4x2x2xi8>
      %r = graph.relu %q : (tensor<1x4x2x2xi8>) -> tensor<1x4x2x2xi8>
      %y = graph.dequantize_linear %r, %s, %z : (tensor<1x4x2x2xi8>, tensor<f32>, tensor<i8>) -> tensor<1x4x2x2xf32>
      func.return %y : tensor<1x4x2x2xf32>
    }
    """
    from xdsl.parser import Parser

    module = Parser(make_context(), text).parse_module()
    demoted, _ = _partition(module)
    ((side, reason),) = _placed(demoted, graph.ReluOp)
    assert side == "host" and "card island of 1 op(s) with 0 MACs" in (reason or "")
    assert partition_report(demoted).crossings == {"host-to-card": (0, 0), "card-to-host": (0, 0)}
    kept, _ = _partition(module, island_min_macs=0)
    assert _placed(kept, graph.ReluOp) == [("card", None)]
    assert partition_report(kept).crossings == {"host-to-card": (1, 16), "card-to-host": (1, 16)}


def test_widening_and_immediate_multiplies_go_to_the_card() -> None:
    """i8 -> i32 casts are LOAD ACC_8BIT; i32 x constant fitting 16 bits is ALU MUL."""
    from xdsl.parser import Parser

    text = """
    func.func @f(%a: tensor<1x16x2x2xi8>, %u: tensor<1x16x2x2xui8>) -> (tensor<1x16x2x2xi32>, tensor<1x16x2x2xi32>, tensor<1x16x2x2xi32>, tensor<1x16x2x2xi32>) {
      %w = graph.constant dense<1> : tensor<16x16x1x1xi8>
      %c = graph.conv_integer %a, %w : (tensor<1x16x2x2xi8>, tensor<16x16x1x1xi8>) -> tensor<1x16x2x2xi32>
      %small = graph.constant dense<-32768> : tensor<i32>
      %big = graph.constant dense<32768> : tensor<i32>
      %m = graph.mul %c, %small : (tensor<1x16x2x2xi32>, tensor<i32>) -> tensor<1x16x2x2xi32>
      %n = graph.mul %c, %big : (tensor<1x16x2x2xi32>, tensor<i32>) -> tensor<1x16x2x2xi32>
      %wide = graph.cast %a {to = "i32"} : (tensor<1x16x2x2xi8>) -> tensor<1x16x2x2xi32>
      %s = graph.add %wide, %m : (tensor<1x16x2x2xi32>, tensor<1x16x2x2xi32>) -> tensor<1x16x2x2xi32>
      %unsigned = graph.cast %u {to = "i32"} : (tensor<1x16x2x2xui8>) -> tensor<1x16x2x2xi32>
      func.return %s, %n, %unsigned, %c : tensor<1x16x2x2xi32>, tensor<1x16x2x2xi32>, tensor<1x16x2x2xi32>, tensor<1x16x2x2xi32>
    }
    """
    module, _ = _partition(Parser(make_context(), text).parse_module())
    assert _placed(module, graph.MulOp) == [
        ("card", None),
        ("host", "mul by a constant outside the ALU's 16-bit immediate"),
    ]
    assert _placed(module, graph.CastOp) == [
        ("card", None),
        ("host", "cast ui8 -> i32: the card widens i8 -> i32 only (LOAD ACC_8BIT sign-extends)"),
    ]


def test_unfolded_qlinear_op_names_the_fold() -> None:
    """A qlinear op graph-fold-qdq left alone (here: a 3-D ``b``) has integer data; its
    reason points at the fold, not at "float op" (found by the ONNX node test
    test_qlinearmatmul_3D_int8_float32 in tests/e2e)."""
    from xdsl.parser import Parser

    text = """
    func.func @f(%a: tensor<2x2x4xi8>) -> tensor<2x2x3xi8> {
      %s = graph.constant dense<0.5> : tensor<f32>
      %z = graph.constant dense<0> : tensor<i8>
      %b = graph.constant dense<1> : tensor<2x4x3xi8>
      %y = graph.qlinear_matmul %a, %s, %z, %b, %s, %z, %s, %z : (tensor<2x2x4xi8>, tensor<f32>, tensor<i8>, tensor<2x4x3xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<i8>) -> tensor<2x2x3xi8>
      func.return %y : tensor<2x2x3xi8>
    }
    """
    module = Parser(make_context(), text).parse_module()
    GraphFoldQdq().apply(make_context(), module)
    placed, _ = _partition(module)
    assert _placed(placed, graph.QLinearMatMulOp) == [
        ("host", "graph.qlinear_matmul not folded to integer ops by graph-fold-qdq (its remark says why)")
    ]
