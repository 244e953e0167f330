"""Issue 5's acceptance benchmark: ResNet-18-style and ResNet-50 through the whole compiler.

For the ResNet-18-style network and the light ResNet-50 (random weights) of
``canopy_mlir.zoo``, this

1. compiles the float model to the dma level with ``canopy-to-dma`` (graph-quantize on
   two random calibration inputs) and prints the compile time per pass;
2. times every ``dma.launch`` program, as encoded at its planned addresses, with
   ``canopy_mlir.runtime.timing`` and prints the modelled cycles and the GEMM
   utilisation against the compute bound (card MACs / (BATCH * BLOCK_IN * BLOCK_OUT)
   cycles = non-reset GEMM steps), for the conv layers (launches with GEMM steps) and
   for all card launches; launches run one after the other, so cycles add up;
3. runs one inference of the compiled program on the OpenCL core (PoCL's CPU device;
   kernel build and one warm-up run excluded) and of the float model on onnxruntime
   (same input, one warm-up), and prints both wall times, their ratio and how the
   outputs (the last one: ResNet-50's logits) agree;
4. prints the ALU floor: the best utilisation any program could reach with 1, 2 or 3 ALU
   steps per output vector (the tails run on the compute module in series with the GEMMs,
   2 cycles per step and vector), everything else perfect;
5. prints issue 5's targets with met / NOT met: utilisation >= 90% on the card layers,
   ResNet-50 compile under 60 s, one ResNet-18 PoCL inference under 1 s.

    python benchmarks/bench_card_utilisation.py [--config intelfocl] [--bus-bytes 64]
        [--model resnet18|resnet50|both] [--size 224] [--per-layer] [--no-run]

``--per-layer`` prints each launch (bound, cycles, busy cycles of load / compute / store,
ALU cycles) to find where cycles go; ``--no-run`` skips PoCL and onnxruntime. The bus
width applies to the timing model only (the program does not depend on it).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import defaultdict

import numpy as np
import onnx
from xdsl.dialects.func import FuncOp

from canopy_mlir.dialects import dma, make_context
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import INSN_BYTES, ConfigError, HardwareConfig, load_config
from canopy_mlir.isa_format import (
    GemmInsn,
    Module,
    StoreInsn,
    decode_instructions,
    decode_uops,
)
from canopy_mlir.runtime.timing import ALU_CYCLES_PER_STEP, estimate_cycles
from canopy_mlir.runtime.token_checker import ProgramView
from canopy_mlir.tools import pipelines
from canopy_mlir.transforms.dma_plan_memory import POOL_BYTES_ATTR
from canopy_mlir.zoo import resnet18_style, resnet50_light

TARGET = 0.90
COMPILE_TARGET_S = 60.0
POCL_TARGET_S = 1.0
UOP_BYTES = 4


# ------------------------------------------------------------------ compile
def compile_to_dma(model: onnx.ModelProto, config_name: str) -> tuple[object, dict[str, float]]:
    """Import + ``canopy-to-dma`` pass by pass; returns (module, seconds per stage)."""
    from xdsl.transforms import get_all_passes

    from canopy_mlir.tools.opt import UPSTREAM_PASSES
    from canopy_mlir.transforms import ALL_PASSES

    stages: dict[str, float] = defaultdict(float)
    start = time.perf_counter()
    module = import_onnx(model)
    stages["import"] = time.perf_counter() - start
    upstream = get_all_passes()
    available = {**{name: upstream[name] for name in UPSTREAM_PASSES}, **ALL_PASSES}
    spec = f'canopy-to-dma{{calibration-random=2 config="{config_name}"}}'
    passes = pipelines.instantiate_passes(
        pipelines.expand_pipeline(spec, pipelines.NAMED_PIPELINES, available), available)
    ctx = make_context()
    for pass_ in passes:
        start = time.perf_counter()
        pass_.apply(ctx, module)
        stages[pass_.name] += time.perf_counter() - start
    start = time.perf_counter()
    module.verify()
    stages["verify"] = time.perf_counter() - start
    return module, dict(stages)


# ------------------------------------------------------------------ timing the launches
@dataclasses.dataclass
class LaunchTiming:
    name: str
    bound: int
    cycles: int
    load: int
    compute: int
    store: int
    alu: int
    stored: int
    """OUT elements (BATCH x BLOCK_OUT vectors) the program stores."""

    @property
    def utilisation(self) -> float:
        return self.bound / self.cycles if self.cycles else 0.0


def launch_timings(module, config: HardwareConfig) -> list[LaunchTiming]:
    """Each launch's program decoded from its planned constants and timed."""
    timings = []
    for op in module.walk():
        if not isinstance(op, dma.LaunchOp):
            continue
        insn_buffer, uop_buffer = dma.buffer_op(op.instructions), dma.buffer_op(op.uops)
        assert isinstance(insn_buffer, dma.ConstantOp) and isinstance(uop_buffer, dma.ConstantOp)
        first = op.first_index * INSN_BYTES
        data = bytes(insn_buffer.data())[first:first + op.insn_count * INSN_BYTES]
        insns = decode_instructions(data, config)
        uops = decode_uops(bytes(uop_buffer.data()), config)
        base = uop_buffer.planned_offset // UOP_BYTES
        report = estimate_cycles(ProgramView(config, insns, {base + i: u for i, u in enumerate(uops)}))
        kernel = op.attributes.get("dma.kernel")
        name = kernel.data if kernel is not None else "launch"
        bound = sum(i.steps for i in insns if isinstance(i, GemmInsn) and not i.reset)
        stored = sum(i.y_size * i.x_size for i in insns if isinstance(i, StoreInsn))
        busy = report.busy_cycles
        timings.append(LaunchTiming(f"{len(timings):3d} {name}", bound, report.total_cycles,
                                    busy[Module.LOAD], busy[Module.COMPUTE], busy[Module.STORE],
                                    report.alu_cycles, stored))
    return timings


# ------------------------------------------------------------------ running
def pocl_seconds(module, config_name: str, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Wall time of one inference on the OpenCL core (after kernel build and a warm-up)."""
    from canopy_mlir.runtime.card import open_card
    from canopy_mlir.runtime.dma_executor import DmaProgram

    func = next(op for op in module.walk() if isinstance(op, FuncOp) and op.sym_name.data == "main")
    config = load_config(config_name)
    pool = int(func.attributes[POOL_BYTES_ATTR].value.data)
    pool = -(-max(pool, 4096) // config.pool_alignment) * config.pool_alignment
    card = open_card(config, pool_bytes=pool, backend="opencl")
    program = DmaProgram(module, card)
    try:
        program.run([x])
        start = time.perf_counter()
        outputs = program.run([x])
        return time.perf_counter() - start, outputs[-1]
    finally:
        program.close()


def onnxruntime_seconds(model: onnx.ModelProto, x: np.ndarray) -> tuple[float, np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # the light ResNet-50 has unused initializers: no warnings
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    session.run(None, {name: x})
    start = time.perf_counter()
    outputs = session.run(None, {name: x})
    return time.perf_counter() - start, outputs[-1]


def alu_floor(layers: list[LaunchTiming], steps: int, conv_only: bool = True) -> float:
    """The best utilisation of ``layers`` with ``steps`` ALU steps per conv output vector
    (see :func:`print_alu_floor`); ``conv_only``: the conv layers, else all card ops (one
    step per output vector of the ops without GEMMs)."""
    convs = [t for t in layers if t.bound]
    bound = sum(t.bound for t in convs)
    cycles = bound + steps * ALU_CYCLES_PER_STEP * sum(t.stored for t in convs)
    if not conv_only:
        cycles += ALU_CYCLES_PER_STEP * sum(t.stored for t in layers if not t.bound)
    return bound / cycles if cycles else 0.0


def print_alu_floor(layers: list[LaunchTiming]) -> None:
    """The best utilisation any program for these layers could reach on this core.

    Every int8 result element leaves an int32 accumulator through at least one ALU step
    (a right shift; a requantize also clamps: max and min), each ALU_CYCLES_PER_STEP
    cycles per BATCH x BLOCK_OUT vector on the compute module, in series with the
    GEMMs (VTA's compute module runs one instruction at a time; its ALU loop has II = 2).
    With the GEMMs at exactly the compute bound and every load and store hidden, a conv
    layer takes at least ``bound + steps * ALU_CYCLES_PER_STEP * stored`` cycles, and a
    card op without GEMMs (pool, ALU op) at least one ALU step per stored vector: a
    floor that no tiling, schedule or quantization with that many steps per output can
    beat."""
    convs = [t for t in layers if t.bound]
    others = [t for t in layers if not t.bound]
    bound = sum(t.bound for t in convs)
    stored = sum(t.stored for t in convs)

    def best(steps: int, all_ops: bool = False) -> str:
        return f"{100 * alu_floor(layers, steps, conv_only=not all_ops):.1f}%"

    short = [t for t in convs if t.bound < 4 * ALU_CYCLES_PER_STEP * t.stored]
    print(f"ALU floor ({stored:,} conv output vectors, {bound / max(stored, 1):.1f} GEMM cycles each "
          f"on average): best possible utilisation of the conv layers with 1 ALU step per output "
          f"vector (a shift) {best(1)}, 2 (shift, relu's max) {best(2)}, 3 (shift, max, min: a "
          f"saturating requantize) {best(3)}; of all card ops (plus one step per output vector "
          f"of the {len(others)} ops without GEMMs) {best(1, True)} / {best(2, True)} / "
          f"{best(3, True)}; {len(short)} of {len(convs)} conv layers have fewer GEMM cycles "
          f"per output vector than a 4-step requantize's {4 * ALU_CYCLES_PER_STEP} ALU cycles")


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# ------------------------------------------------------------------ report
def report(title: str, model: onnx.ModelProto, input_shape: tuple[int, ...], config_name: str,
           config: HardwareConfig, per_layer: bool, run: bool) -> dict[str, float]:
    print(f"\n== {title} on '{config.name}', bus {config.dram_bytes_per_cycle} B/cycle ==")
    module, stages = compile_to_dma(model, config_name)
    total = sum(stages.values())
    slow = sorted(stages.items(), key=lambda kv: -kv[1])
    print(f"compile (import + canopy-to-dma): {total:.2f} s; " +
          ", ".join(f"{name} {s:.2f}" for name, s in slow if s >= 0.05))
    layers = launch_timings(module, config)
    if per_layer:
        print(f"{'launch':<26} {'bound':>10} {'cycles':>10} {'load':>10} {'compute':>10} "
              f"{'store':>9} {'ALU':>9} {'util':>6}")
        for t in layers:
            print(f"{t.name:<26} {t.bound:>10,} {t.cycles:>10,} {t.load:>10,} {t.compute:>10,} "
                  f"{t.store:>9,} {t.alu:>9,} {100 * t.utilisation:>5.1f}%")
    results = {"compile_s": total}
    for label, group in (("conv layers", [t for t in layers if t.bound]), ("all card ops", layers)):
        bound = sum(t.bound for t in group)
        cycles = sum(t.cycles for t in group)
        util = bound / cycles if cycles else 0.0
        alu = sum(t.alu for t in group)
        results[label] = util
        print(f"{label:<12} ({len(group):3d} launches): bound {bound:,} cycles, modelled {cycles:,} "
              f"cycles ({cycles / (config.clock_mhz * 1e3):.2f} ms at {config.clock_mhz:g} MHz), "
              f"ALU {alu:,}; utilisation {100 * util:.1f}% (ceiling with the ALU tails in series "
              f"on the compute module, all else hidden: {100 * bound / max(bound + alu, 1):.1f}%)")
    print_alu_floor(layers)
    if run:
        x = np.random.default_rng(1).standard_normal(input_shape, dtype=np.float32)
        card_s, card_out = pocl_seconds(module, config_name, x)
        ort_s, ort_out = onnxruntime_seconds(model, x)
        results["pocl_s"] = card_s
        a, b = card_out.reshape(-1).astype(np.float64), ort_out.reshape(-1).astype(np.float64)
        corr = float(np.corrcoef(a, b)[0, 1]) if a.std() and b.std() else float("nan")
        print(f"one inference: PoCL {1e3 * card_s:.1f} ms, onnxruntime (float) {1e3 * ort_s:.1f} ms, "
              f"ratio {card_s / ort_s:.1f}x; outputs vs float: correlation {corr:.3f}, same "
              f"top-1 {'yes' if np.argmax(a) == np.argmax(b) else 'no'}")
    return results


def targets(r18: dict[str, float] | None, r50: dict[str, float] | None) -> None:
    print("\n== issue 5 targets ==")
    for name, res in (("ResNet-18", r18), ("ResNet-50", r50)):
        if res is None:
            continue
        util = res["all card ops"]
        print(f"{name} card-op utilisation {100 * util:.1f}% >= 90% "
              f"(conv layers {100 * res['conv layers']:.1f}%): {verdict(util >= TARGET)}")
    if r50 is not None:
        print(f"ResNet-50 compile {r50['compile_s']:.1f} s < {COMPILE_TARGET_S:.0f} s: "
              f"{verdict(r50['compile_s'] < COMPILE_TARGET_S)}")
    if r18 is not None and "pocl_s" in r18:
        print(f"ResNet-18 PoCL inference {r18['pocl_s']:.2f} s < {POCL_TARGET_S:.0f} s: "
              f"{verdict(r18['pocl_s'] < POCL_TARGET_S)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="intelfocl", help="preset name or JSON file")
    parser.add_argument("--bus-bytes", type=int, default=64, help="DRAM bytes per cycle (timing)")
    parser.add_argument("--model", choices=("resnet18", "resnet50", "both"), default="both")
    parser.add_argument("--size", type=int, default=224, help="ResNet-18 input height/width")
    parser.add_argument("--per-layer", action="store_true", help="print every launch")
    parser.add_argument("--no-run", action="store_true", help="skip PoCL and onnxruntime")
    args = parser.parse_args(argv)
    try:
        config = dataclasses.replace(load_config(args.config), dram_bytes_per_cycle=args.bus_bytes)
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    r18 = r50 = None
    if args.model in ("resnet18", "both"):
        r18 = report(f"ResNet-18-style {args.size}x{args.size}", resnet18_style(args.size),
                     (1, 3, args.size, args.size), args.config, config, args.per_layer,
                     not args.no_run)
    if args.model in ("resnet50", "both"):
        r50 = report("light ResNet-50 (random weights) 224x224", resnet50_light(), (1, 3, 224, 224),
                     args.config, config, args.per_layer, not args.no_run)
    targets(r18, r50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
