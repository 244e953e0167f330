"""Every ResNet-18 conv shape and MobileNet-style depthwise / pointwise convs lower to tiles
that fit intelfocl, and the tile interpreter matches the graph interpreter on them.

Each layer is the fold-qdq card form (conv_integer, bias add, requantize, relu) on random
int8 weights and inputs, lowered by convert-graph-to-tile on intelfocl with every op
placed on the card; the whole chain must become one tile.conv (the tail fused), its
footprint must fit every buffer, and the result must be bit-identical. Then the whole light
ResNet-50 as onnxruntime quantizes it. About 18 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from tile_program_strategies import CardGraph, lower_to_tile

from canopy_mlir.dialects import graph, tile
from canopy_mlir.hw import load_config
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.interpreters.tile_interpreter import run_tile

CONFIG = "intelfocl"

# (name, C, O, H, kernel, stride, groups)
RESNET18 = [
    ("conv1", 3, 64, 224, 7, 2, 1),
    ("layer1.conv", 64, 64, 56, 3, 1, 1),
    ("layer2.0.conv1", 64, 128, 56, 3, 2, 1),
    ("layer2.0.downsample", 64, 128, 56, 1, 2, 1),
    ("layer2.conv", 128, 128, 28, 3, 1, 1),
    ("layer3.0.conv1", 128, 256, 28, 3, 2, 1),
    ("layer3.0.downsample", 128, 256, 28, 1, 2, 1),
    ("layer3.conv", 256, 256, 14, 3, 1, 1),
    ("layer4.0.conv1", 256, 512, 14, 3, 2, 1),
    ("layer4.0.downsample", 256, 512, 14, 1, 2, 1),
    ("layer4.conv", 512, 512, 7, 3, 1, 1),
]
MOBILENET = [
    ("v1.dw1", 32, 32, 112, 3, 1, 32),
    ("v1.pw1", 32, 64, 112, 1, 1, 1),
    ("v1.dw2.s2", 64, 64, 112, 3, 2, 64),
    ("v1.dw.56", 128, 128, 56, 3, 1, 128),
    ("v1.dw.56.s2", 128, 128, 56, 3, 2, 128),
    ("v1.pw.28", 128, 256, 28, 1, 1, 1),
    ("v1.dw.14", 512, 512, 14, 3, 1, 512),
    ("v1.dw.14.s2", 512, 512, 14, 3, 2, 512),
    ("v1.pw.7", 512, 1024, 7, 1, 1, 1),
    ("v1.dw.7", 1024, 1024, 7, 3, 1, 1024),
    ("v2.expand", 24, 144, 56, 1, 1, 1),
    ("v2.dw.s2", 144, 144, 56, 3, 2, 144),
    ("v2.project", 144, 32, 28, 1, 1, 1),
    ("v2.dw.7", 960, 960, 7, 3, 1, 960),
]


def _params(layers: list[tuple]) -> list:
    return [pytest.param(*layer, id=layer[0]) for layer in layers]


def _lower_and_compare(g: CardGraph, result, x: np.ndarray) -> list[tile.ConvOp]:
    module = g.module(result)
    expected = run_graph(module, [x])
    lower_to_tile(module, CONFIG, partition=False)
    leftovers = [op for op in module.walk() if isinstance(op, graph.GraphOp) and not isinstance(op, graph.ConstantOp)]
    assert not leftovers, f"ops left in graph form: {[op.name for op in leftovers]}"
    depths = load_config(CONFIG).depths()
    convs = [op for op in module.walk() if isinstance(op, tile.ConvOp)]
    for conv in convs:
        for buffer, need in conv.footprint().items():
            assert need <= depths[buffer.upper()], (conv.tile_sizes(), buffer, need)
    actual = run_tile(module, [x])
    np.testing.assert_array_equal(actual[0], expected[0])
    return convs


@pytest.mark.parametrize(("name", "c", "o", "h", "k", "stride", "groups"), _params(RESNET18 + MOBILENET))
def test_layer_lowers_and_matches(name: str, c: int, o: int, h: int, k: int, stride: int, groups: int) -> None:
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.integers(-128, 127, size=(1, c, h, h), endpoint=True).astype(np.int8)
    g = CardGraph({"x": x}, rng)
    y = g.conv(g.args[0], o, (k, k), strides=(stride, stride), pads=(k // 2,) * 4, group=groups,
               activation=None if name == "v2.project" else "relu", per_channel=True)
    (conv,) = _lower_and_compare(g, y, x)
    assert [s.opcode for s in conv.tail_steps()][-2:] == ["max", "min"]


def test_resnet_basic_block_fuses_the_residual() -> None:
    """conv-relu-conv + residual add (QDQ integer form) at 56x56x64: two tile.convs, the
    residual add and its requantize in the second conv's tail."""
    rng = np.random.default_rng(18)
    x = rng.integers(-128, 127, size=(1, 64, 56, 56), endpoint=True).astype(np.int8)
    g = CardGraph({"x": x}, rng)
    y = g.conv(g.args[0], 64, (3, 3), pads=(1, 1, 1, 1), activation="relu")
    y = g.conv(y, 64, (3, 3), pads=(1, 1, 1, 1), activation="relu")
    out = g.residual_add(y, g.args[0])
    convs = _lower_and_compare(g, out, x)
    assert len(convs) == 2
    second = convs[1]
    assert sum(1 for s in second.tail_steps() if s.opcode == "shr") == 2  # both requantizes
    assert any(isinstance(v.type, tile.AccType | tile.ActType) for v in second.tail_values())  # the residual


def test_light_resnet50_quantize_static_lowers_bit_exactly() -> None:
    """The whole light ResNet-50 (random weights), quantized by onnxruntime (QDQ, int8,
    per-channel, batch norms folded by quant_pre_process), folded, partitioned for
    intelfocl and lowered: every integer conv / gemm graph-partition put on the card becomes
    a tile.conv, and the tile program's outputs equal the folded graph's bit for bit.
    About 15 s."""
    pytest.importorskip("onnxruntime.quantization")
    import onnxruntime
    from backend.test_light_models import _load, with_random_weights
    from onnx import version_converter
    from quantization.digits_cnn import quantize_qdq
    from xdsl.dialects.builtin import StringAttr
    from xdsl.transforms.canonicalize import CanonicalizePass

    from canopy_mlir.dialects import make_context
    from canopy_mlir.frontend.onnx_importer import import_onnx
    from canopy_mlir.transforms.convert_graph_to_tile import ConvertGraphToTile
    from canopy_mlir.transforms.graph_fold_qdq import GraphFoldQdq
    from canopy_mlir.transforms.graph_partition import CARD, PLACEMENT, GraphPartition

    onnxruntime.set_default_logger_severity(3)  # not the unused-initializer warnings
    model = version_converter.convert_version(with_random_weights(_load("resnet50"), seed=0), 17)
    name = model.graph.input[0].name
    images = [{name: np.random.default_rng(i).standard_normal((1, 3, 224, 224), dtype=np.float32)} for i in range(2)]
    module = import_onnx(quantize_qdq(model, images, preprocess=True))
    ctx = make_context()
    GraphFoldQdq().apply(ctx, module)
    x = images[1][name]
    expected = run_graph(module, [x])
    GraphPartition(config=CONFIG).apply(ctx, module)
    gemms = (graph.ConvIntegerOp, graph.MatMulIntegerOp)
    on_card = [op for op in module.walk() if isinstance(op, gemms) and op.attributes[PLACEMENT] == StringAttr(CARD)]
    assert len(on_card) >= 45  # graph-fold-qdq folds most of the 53 convs and the gemm
    ConvertGraphToTile().apply(ctx, module)
    CanonicalizePass().apply(ctx, module)
    module.verify()
    assert len([op for op in module.walk() if isinstance(op, tile.ConvOp)]) == len(on_card)
    host_convs = [op for op in module.walk() if isinstance(op, gemms)]
    assert len(host_convs) == 1 and host_convs[0].operands[0].type.get_shape()[1] == 3  # the RGB entry conv
    for actual, want in zip(run_tile(module, [x]), expected):
        np.testing.assert_array_equal(actual, want)
