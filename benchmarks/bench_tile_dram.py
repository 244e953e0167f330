"""DRAM traffic of the chosen conv tiles of ResNet-50, against the lower bound.

The conv shapes come from the light ResNet-50 in the onnx wheel
(``onnx/backend/test/data/light/light_resnet50.onnx``): weight shapes from the
ConstantOfShape nodes that stand for the weights, activation shapes from ONNX shape
inference. Every conv is costed as the card runs it after graph-fold-qdq and
convert-graph-to-tile: int8 input and weights, a fused tail of a per-channel bias vector
and the six requantize steps (mul, add rounding, shr, add zero point, max, min), int8
output; the last conv of each bottleneck also fuses the residual add (one int8
full-tensor operand, one more step).

The max pool and the global average pool (``tile.pool`` max / sum) and the classifier
gemm (a 1x1 conv) follow the convs.

For each layer the table gives the chosen tile ``[tile_h, tile_w, tile_oc, tile_ic]``
(pools: ``[tile_h, tile_w, tile_c]``) and buffering, the DRAM bytes that tile moves (canopy_mlir.tiling.cost_model's
schedule), the lower bound (every input, weight, output and tail operand moved once, in
padded blocked bytes), their ratio, and the unpadded bound; then the totals.

    python benchmarks/bench_tile_dram.py [--config intelfocl|vitis|tiny|path.json]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import onnx
from onnx import numpy_helper, shape_inference

from canopy_mlir.hw import ConfigError, HardwareConfig, load_config
from canopy_mlir.tiling.cost_model import (
    ConvLayer,
    PoolLayer,
    Tail,
    TileChoice,
    TilingError,
    choose_conv_tile,
    choose_pool_tile,
)

LIGHT_RESNET50 = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_resnet50.onnx"
REQUANTIZE_STEPS = 6


def _shapes(model: onnx.ModelProto) -> dict[str, tuple[int, ...]]:
    """Static shapes of every tensor: ConstantOfShape weights, then shape inference."""
    init = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    shapes: dict[str, tuple[int, ...]] = {}
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in init:
            shapes[node.output[0]] = tuple(int(d) for d in init[node.input[0]])
    inferred = shape_inference.infer_shapes(model)
    for info in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        dims = info.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes.setdefault(info.name, tuple(d.dim_value for d in dims))
    return shapes


def _residual_convs(model: onnx.ModelProto) -> set[str]:
    """Convs whose (batch-normed) result feeds a Sum/Add directly: the residual is fused."""
    producer = {out: node for node in model.graph.node for out in node.output}
    fused = set()
    for node in model.graph.node:
        if node.op_type in ("Sum", "Add"):
            for value in node.input:
                bn = producer.get(value)
                if bn is not None and bn.op_type == "BatchNormalization":
                    conv = producer.get(bn.input[0])
                    if conv is not None and conv.op_type == "Conv":
                        fused.add(conv.output[0])
                        break  # one operand takes the residual
    return fused


def resnet50_other_layers(path: Path = LIGHT_RESNET50) -> list[ConvLayer | PoolLayer]:
    """The max pool, the average pool (graph-fold-qdq's depthwise conv of ones, which
    convert-graph-to-tile turns into a sum pool; the division is in the requantize) and the
    classifier gemm (a 1x1 conv)."""
    model = onnx.load(str(path))
    shapes = _shapes(model)
    layers: list[ConvLayer | PoolLayer] = []
    requantized = Tail(steps=REQUANTIZE_STEPS, channel_operands=1, out_bytes=1)
    for node in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type in ("MaxPool", "AveragePool"):
            n, c, h, w = shapes[node.input[0]]
            kh, kw = attrs["kernel_shape"]
            strides = tuple(attrs.get("strides", [1, 1]))
            pads = tuple(attrs.get("pads", [0, 0, 0, 0]))
            # max: the i8 clamp; average: the window sum, its zero-point correction, requantize
            tail = Tail(steps=2) if node.op_type == "MaxPool" else Tail(steps=REQUANTIZE_STEPS + 1)
            layers.append(PoolLayer(node.op_type.lower(), n, c, h, w, kh, kw, strides, pads, 1, tail))  # type: ignore[arg-type]
        elif node.op_type == "Gemm":
            n, k = shapes[node.input[0]]
            out = shapes[node.input[1]][0] if attrs.get("transB") else shapes[node.input[1]][1]
            layers.append(ConvLayer("fc", n, k, 1, 1, out, 1, 1, tail=requantized))
    return layers


def resnet50_conv_layers(path: Path = LIGHT_RESNET50) -> list[ConvLayer]:
    """The 53 conv layers of the light ResNet-50 as cost-model layers."""
    model = onnx.load(str(path))
    shapes, residual = _shapes(model), _residual_convs(model)
    layers = []
    for node in model.graph.node:
        if node.op_type != "Conv":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        n, c, h, w = shapes[node.input[0]]
        o, _, kh, kw = shapes[node.input[1]]
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        with_residual = node.output[0] in residual
        tail = Tail(
            steps=REQUANTIZE_STEPS + with_residual, channel_operands=1,
            tensor_operands=int(with_residual), tensor_operand_bytes=1, out_bytes=1,
        )
        layers.append(ConvLayer(
            name=node.input[1].removeprefix("gpu_0/").removesuffix("_w_0"), n=n, c=c, h=h, w=w, o=o, kh=kh, kw=kw,
            strides=tuple(attrs.get("strides", [1, 1])), pads=(pads[0], pads[1], pads[2], pads[3]),
            dilations=tuple(attrs.get("dilations", [1, 1])), groups=int(attrs.get("group", 1)), tail=tail,
        ))
    return layers


def _mb(value: int) -> str:
    return f"{value / 1e6:9.3f}"


def _choose(layer: ConvLayer | PoolLayer, config: HardwareConfig) -> TileChoice:
    if isinstance(layer, PoolLayer):
        return choose_pool_tile(layer, config)
    return choose_conv_tile(layer, config)


def _shape_columns(layer: ConvLayer | PoolLayer) -> tuple[str, str, str]:
    out = layer.o if isinstance(layer, ConvLayer) else layer.c
    return f"{layer.c}->{out}", f"{layer.h}x{layer.w}", f"{layer.kh}/{layer.strides[0]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="intelfocl", help="hardware config: preset name or VTA JSON path")
    args = parser.parse_args(argv)
    convs = resnet50_conv_layers()
    layers = [*convs, *resnet50_other_layers()]
    try:
        config = load_config(args.config)
        start = time.perf_counter()
        choices = [_choose(layer, config) for layer in convs]
        elapsed = time.perf_counter() - start
        choices += [_choose(layer, config) for layer in layers[len(convs):]]
    except (ConfigError, TilingError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    header = (f"{'layer':<22} {'C->O':>10} {'HxW':>7} {'k/s':>5} {'tile':>17} {'buf':>3} {'moved MB':>9} "
              f"{'bound MB':>9} {'ratio':>6} {'unpadded MB':>11}")
    print(f"ResNet-50 tiles on '{config.name}' ({len(convs)} convs: search {elapsed * 1e3:.0f} ms; "
          f"then the pools and the classifier)")
    print(header)
    print("-" * len(header))
    for layer, choice in zip(layers, choices):
        channels, size, kernel = _shape_columns(layer)
        print(
            f"{layer.name:<22} {channels:>10} {size:>7} {kernel:>5} {list(choice.tile)!s:>17} {choice.buffers:>3} "
            f"{_mb(choice.dram_bytes)} {_mb(choice.lower_bound)} {choice.ratio:6.3f} {_mb(choice.unpadded_bound):>11}"
        )
    print("-" * len(header))
    for label, subset in (("convs", choices[: len(convs)]), ("all", choices)):
        moved = sum(c.dram_bytes for c in subset)
        bound = sum(c.lower_bound for c in subset)
        unpadded = sum(c.unpadded_bound for c in subset)
        print(f"{'total ' + label:<22} {'':>10} {'':>7} {'':>5} {'':>17} {'':>3} {_mb(moved)} {_mb(bound)} "
              f"{moved / bound:6.3f} {_mb(unpadded):>11}")
    print(f"total ratio moved / lower bound: {moved / bound:.3f} (moved / unpadded bound: {moved / unpadded:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
