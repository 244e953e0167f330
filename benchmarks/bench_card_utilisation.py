"""GEMM utilisation of the card layers of ResNet-18 and ResNet-50 (issue 5's target).

For a ResNet-18-style network (built here with onnx.helper: He-init random weights,
seeded, biases, no batch norm) and the light ResNet-50 of the onnx wheel (its splat
weights replaced by random ones, as tests/backend/test_light_models.py does), this

1. compiles the float model down to tile ops with ``canopy-to-tile`` (graph-quantize on
   random calibration inputs, symmetric int8 activations, per-channel weights) and
   reports the compile time;
2. lowers every tile compute op (``tile.conv``, ``tile.alu``, ``tile.pool``) with
   ``canopy_mlir.isa_codegen`` (each operand at its own place in a bump-allocated pool:
   the timing model does not look at addresses) and times each program with
   ``canopy_mlir.runtime.timing``;
3. prints per layer and in total: card MACs (what the GEMMs compute, padding included),
   the compute bound (card MACs / (BATCH * BLOCK_IN * BLOCK_OUT) cycles), the modelled
   cycles and the utilisation (bound / modelled), and the total against the 90% target.

Layers run one after the other (a program per op), so the total is the sum of the
ops' cycles.

    python benchmarks/bench_card_utilisation.py [--config intelfocl] [--bus-bytes 64]
        [--model resnet18|resnet50|both] [--size 224] [--per-layer]

Takes about 20 s for both networks at 224x224. Ops the instruction generator refuses (today:
the i32-result ops of the residual rescale, see docs/isa-codegen.md) are listed and left
out of the totals.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, version_converter

from canopy_mlir.dialects import tile
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import ConfigError, HardwareConfig, load_config
from canopy_mlir.isa_codegen import (
    AluSpec,
    ConvSpec,
    DramPlacement,
    IsaCodegenError,
    PoolSpec,
    lower_alu,
    lower_conv,
    lower_pool,
    needs_padding_mask,
)
from canopy_mlir.isa_codegen.tail import padding_starts
from canopy_mlir.isa_format import MemoryType
from canopy_mlir.isa_semantics import dram_elem_bytes
from canopy_mlir.runtime.timing import estimate_cycles
from canopy_mlir.runtime.token_checker import ProgramView
from canopy_mlir.tools.pipelines import apply_pipeline

TARGET = 0.90
LIGHT_RESNET50 = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / "light_resnet50.onnx"
TESTS = Path(__file__).resolve().parent.parent / "tests"


# ------------------------------------------------------------------ the networks
def resnet18(size: int = 224, seed: int = 0) -> onnx.ModelProto:
    """A ResNet-18-style float model: conv 7x7/2 + relu, max pool 3x3/2, four stages of
    two basic blocks (64, 128, 256, 512 channels; 1x1/2 projection where the shape
    changes), global average pool, a 1000-way gemm. He-init weights, small biases."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def conv(x: str, cin: int, cout: int, k: int, stride: int, name: str, relu: bool) -> str:
        w = rng.standard_normal((cout, cin, k, k), dtype=np.float32) * np.float32(math.sqrt(2 / (cin * k * k)))
        b = rng.normal(0.0, 0.1, cout).astype(np.float32)
        inits.extend([numpy_helper.from_array(w, f"{name}.w"), numpy_helper.from_array(b, f"{name}.b")])
        nodes.append(helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [name], kernel_shape=[k, k],
                                      strides=[stride, stride], pads=[k // 2] * 4))
        if not relu:
            return name
        nodes.append(helper.make_node("Relu", [name], [f"{name}.relu"]))
        return f"{name}.relu"

    x = conv("input", 3, 64, 7, 2, "conv1", True)
    nodes.append(helper.make_node("MaxPool", [x], ["pool1"], kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4))
    x, cin = "pool1", 64
    for stage, cout in enumerate((64, 128, 256, 512)):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            name = f"s{stage + 1}b{block + 1}"
            y = conv(x, cin, cout, 3, stride, f"{name}.conv1", True)
            y = conv(y, cout, cout, 3, 1, f"{name}.conv2", False)
            shortcut = conv(x, cin, cout, 1, stride, f"{name}.down", False) if stride != 1 or cin != cout else x
            nodes.append(helper.make_node("Add", [y, shortcut], [f"{name}.add"]))
            nodes.append(helper.make_node("Relu", [f"{name}.add"], [f"{name}.out"]))
            x, cin = f"{name}.out", cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    fc_w = rng.standard_normal((1000, 512), dtype=np.float32) * np.float32(math.sqrt(2 / 512))
    inits += [numpy_helper.from_array(fc_w, "fc.w"),
              numpy_helper.from_array(rng.normal(0, 0.1, 1000).astype(np.float32), "fc.b")]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes, "resnet18_style",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def resnet50() -> onnx.ModelProto:
    """The light ResNet-50 with random weights (tests/backend/test_light_models.py)."""
    sys.path.insert(0, str(TESTS))
    from backend.test_light_models import with_random_weights

    return version_converter.convert_version(with_random_weights(onnx.load(LIGHT_RESNET50), seed=0), 17)


# ------------------------------------------------------------------ lowering + timing
SPECS = {tile.ConvOp: (ConvSpec, lower_conv), tile.AluOp: (AluSpec, lower_alu),
         tile.PoolOp: (PoolSpec, lower_pool)}


class _Pool:
    """A bump allocator of the device pool in bytes, handing out element indices."""

    def __init__(self) -> None:
        self.top = 0

    def take(self, elements: int, elem_bytes: int) -> int:
        self.top = -(-self.top // 64) * 64
        index = -(-self.top // elem_bytes)
        self.top = (index + max(elements, 1)) * elem_bytes
        return index


def placement_of(spec, config: HardwareConfig) -> DramPlacement:
    """Every operand, the result, the micro-ops and the mask at their own place."""
    pool, sizes = _Pool(), spec.dram_elements()

    def at(name: str, memory: MemoryType) -> int:
        return pool.take(sizes.get(name, 1), dram_elem_bytes(memory, config))

    input_memory = getattr(spec, "input_memory", MemoryType.INP)
    mask = None
    if needs_padding_mask(spec.tail, spec.logical, config, padding_starts(spec)):
        mask = pool.take(sizes.get("mask", 64), dram_elem_bytes(MemoryType.ACC, config))
    return DramPlacement(
        input=at("input", input_memory), weight=at("weight", MemoryType.WGT),
        output=at("output", MemoryType.OUT), uops=pool.take(1 << 16, 4),
        tail=tuple(at(f"tail{j}", spec.tail_memory(j)) for j in range(len(spec.tail_kinds))),
        mask=mask)


@dataclasses.dataclass
class LayerTiming:
    name: str
    kind: str
    macs: int
    bound: int
    cycles: int
    alu_cycles: int

    @property
    def utilisation(self) -> float:
        return self.bound / self.cycles if self.cycles else 0.0


def time_op(op, config: HardwareConfig) -> LayerTiming:
    spec_cls, lower = SPECS[type(op)]
    spec = spec_cls.from_op(op, config)
    program = lower(spec, config, placement_of(spec, config))
    report = estimate_cycles(ProgramView(config, program.instructions, program.uop_map()))
    steps = program.summary.gemm_steps
    return LayerTiming(spec.name if hasattr(spec, "name") else op.name, op.name.split(".")[-1],
                       steps * config.macs_per_gemm_uop, steps, report.total_cycles,
                       report.alu_cycles)


def compile_to_tile(model: onnx.ModelProto, config_name: str):
    """canopy-to-tile on the float model; returns (module, seconds)."""
    start = time.perf_counter()
    module = import_onnx(model)
    apply_pipeline(module, f"canopy-to-tile{{calibration-random=2 symmetric=true per-channel=true "
                           f"config={config_name}}}")
    return module, time.perf_counter() - start


def card_ops(module) -> list:
    return [op for op in module.walk() if type(op) in SPECS]


def report(title: str, model: onnx.ModelProto, config_name: str, config: HardwareConfig,
           per_layer: bool) -> float:
    module, seconds = compile_to_tile(model, config_name)
    ops = card_ops(module)
    start = time.perf_counter()
    layers = []
    for index, op in enumerate(ops):
        try:
            timing = time_op(op, config)
        except IsaCodegenError as err:
            print(f"  {index:3d} {op.name}: not lowered: {err}")
            continue
        timing.name = f"{index:3d} {op.name}"
        layers.append(timing)
    lower_seconds = time.perf_counter() - start
    print(f"\n== {title} on '{config.name}', bus {config.dram_bytes_per_cycle} B/cycle ==")
    print(f"compile (import + canopy-to-tile): {seconds:.2f} s; lower + time {len(layers)} card ops: "
          f"{lower_seconds:.2f} s")
    if per_layer:
        print(f"{'layer':<18} {'card MACs':>13} {'bound':>11} {'cycles':>11} {'ALU cyc':>10} {'util':>7}")
        for t in layers:
            print(f"{t.name:<18} {t.macs:>13,} {t.bound:>11,} {t.cycles:>11,} {t.alu_cycles:>10,} "
                  f"{100 * t.utilisation:>6.1f}%")
    convs = [t for t in layers if t.macs]
    for label, group in (("conv layers", convs), ("all card ops", layers)):
        macs = sum(t.macs for t in group)
        bound = sum(t.bound for t in group)
        cycles = sum(t.cycles for t in group)
        alu = sum(t.alu_cycles for t in group)
        util = bound / cycles if cycles else 0.0
        print(f"total {label:<12} ({len(group):3d}): card MACs {macs:,}, bound {bound:,} cycles, "
              f"modelled {cycles:,} cycles ({cycles / (config.clock_mhz * 1e3):.2f} ms), "
              f"ALU {alu:,} cycles; utilisation {100 * util:.1f}% "
              f"({'meets' if util >= TARGET else 'below'} the {100 * TARGET:.0f}% target)")
    total_bound = sum(t.bound for t in layers)
    total_cycles = sum(t.cycles for t in layers)
    return total_bound / total_cycles if total_cycles else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="intelfocl", help="preset name or JSON file")
    parser.add_argument("--bus-bytes", type=int, default=64, help="DRAM bytes per cycle")
    parser.add_argument("--model", choices=("resnet18", "resnet50", "both"), default="both")
    parser.add_argument("--size", type=int, default=224, help="ResNet-18 input height/width")
    parser.add_argument("--per-layer", action="store_true", help="print every layer")
    args = parser.parse_args(argv)
    try:
        config = dataclasses.replace(load_config(args.config), dram_bytes_per_cycle=args.bus_bytes)
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.model in ("resnet18", "both"):
        report(f"ResNet-18-style {args.size}x{args.size}", resnet18(args.size), args.config, config,
               args.per_layer)
    if args.model in ("resnet50", "both"):
        report("light ResNet-50 (random weights) 224x224", resnet50(), args.config, config,
               args.per_layer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
