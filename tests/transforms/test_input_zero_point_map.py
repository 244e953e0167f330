"""Asymmetric int8 activations (a nonzero input zero point z) through the whole card path.

ONNX pads a conv's input with z, the card's INP loads pad with 0; convert-graph-to-tile
corrects the padded taps with a constant full i32 map (the chain's first tail add: bias
and - z * (the weights' sum over the in-image taps) per output pixel), and
convert-tile-to-dma places that map once as a dma.constant. Targeted layers (depthwise
with stride 2 and uneven pads, dilation, batch 2, an average pool) run on the simulated
card through the dma executor: bit-exact with the graph interpreter, token-clean, no
host graph.pad and no per-run copy of the map. About 5 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from tile_program_strategies import CardGraph, lower_to_tile, run_token_checked

from canopy_mlir.dialects import dma, graph, make_context, tile
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.transforms.convert_tile_to_dma import ConvertTileToDma


def _depthwise_stride_2(g: CardGraph):
    return g.conv(g.args[0], g.args[0].type.get_shape()[1], (3, 3), strides=(2, 2), pads=(1, 2, 2, 0),
                  group=g.args[0].type.get_shape()[1], x_zero_point=-128, activation="relu")


def _dilated(g: CardGraph):
    return g.conv(g.args[0], 7, (3, 3), pads=(2, 2, 2, 2), dilations=(2, 2), x_zero_point=-128,
                  bias=True, activation=(-50.0, 60.0))


def _strided_grouped_then_dense(g: CardGraph):
    c = g.args[0].type.get_shape()[1]
    y = g.conv(g.args[0], 2 * c, (3, 3), strides=(2, 1), pads=(1, 1, 1, 1), group=c // 2,
               x_zero_point=-5, bias=True)
    return g.conv(y, 9, (3, 3), pads=(1, 1, 1, 1), x_zero_point=-128, per_channel=True)


def _average_pool(g: CardGraph):
    c = g.args[0].type.get_shape()[1]
    return g.conv(g.args[0], c, (3, 3), strides=(2, 2), pads=(1, 1, 1, 1), group=c, ones=True,
                  x_zero_point=-128, bias=False)


LAYERS = {"depthwise-stride2": _depthwise_stride_2, "dilated": _dilated,
          "grouped-strided+dense": _strided_grouped_then_dense, "average-pool": _average_pool}


@pytest.mark.parametrize("config,batch", [("tiny", 1), ("tiny-b2", 2), ("intelfocl", 2)])
@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_padded_layers_with_input_zero_point_run_on_the_card(layer: str, config: str, batch: int) -> None:
    rng = np.random.default_rng(11)
    x = rng.integers(-128, 127, size=(batch, 6, 9, 8), endpoint=True).astype(np.int8)
    g = CardGraph({"x": x}, rng)
    module = g.module(LAYERS[layer](g))
    expected = run_graph(module, [x])
    lowered = lower_to_tile(module.clone(), config, partition=False)
    assert not any(isinstance(op, graph.PadOp) for op in lowered.walk())
    ConvertTileToDma(config=config).apply(make_context(), lowered)
    lowered.verify()
    ops = list(lowered.walk())
    launches = [op for op in ops if isinstance(op, dma.LaunchOp)]
    assert launches and not any(isinstance(op, graph.GraphOp) and not isinstance(op, graph.ConstantOp)
                                for op in ops), "every layer runs on the card"
    copied = [op.operands[0].owner for op in ops if isinstance(op, dma.CopyToCardOp)]
    assert not any(isinstance(p, tile.PackOp) and isinstance(p.input.owner, graph.ConstantOp)
                   for p in copied), "the maps are constants, never copied per run"
    maps = [op for op in ops if isinstance(op, dma.ConstantOp) and "map" in op.result.name_hint]
    assert maps and all(op.kind.data == "data" for op in maps)
    for a, e in zip(run_token_checked(lowered, config, [x]), expected, strict=True):
        np.testing.assert_array_equal(a, e)
