"""Import and print the light ResNet-50 with real-valued weights; compare with xdsl-opt.

The light ResNet-50 shipped in the onnx wheel stores every weight as a ConstantOfShape
node (a splat). To measure a realistic module, each ConstantOfShape is replaced by an
initializer of random float32 values of its shape (25.6M weights, about 100 MB), so the
printed IR carries real hex payloads. Measured in one run:

1. canopy_mlir: ONNX -> graph IR (``import_onnx``) and printing it (custom form);
2. ``canopy-opt`` parse + verify + print of that printed module (custom form);
3. the baseline: upstream ``xdsl-opt --allow-unregistered-dialect`` parse + print of the
   same module in generic form (xdsl-opt does not know the graph dialect).

    python benchmarks/bench_import_resnet50.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from xdsl.printer import Printer

from canopy_mlir.frontend.onnx_importer import import_onnx

LIGHT_MODELS = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
BIN = Path(sys.executable).parent


def resnet50_with_random_weights(seed: int = 0) -> onnx.ModelProto:
    """The light ResNet-50 with every ConstantOfShape weight turned into random data."""
    model = onnx.load(str(LIGHT_MODELS / "light_resnet50.onnx"))
    shapes = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    rng = np.random.default_rng(seed)
    kept, weights = [], []
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            shape = tuple(int(d) for d in shapes[node.input[0]])
            values = rng.standard_normal(shape).astype(np.float32) * 0.05
            weights.append(numpy_helper.from_array(values, node.output[0]))
        else:
            kept.append(node)
    del model.graph.node[:]
    model.graph.node.extend(kept)
    model.graph.initializer.extend(weights)
    return model


def print_module(module, generic: bool = False) -> str:
    stream = io.StringIO()
    Printer(stream=stream, print_generic_format=generic).print_op(module)
    return stream.getvalue()


def timed(function, repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_tool(args: list[str]) -> None:
    completed = subprocess.run(args, capture_output=True, text=True)
    if completed.returncode:
        raise SystemExit(f"{Path(args[0]).name} failed: {completed.stderr.strip()[:2000]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    model = resnet50_with_random_weights()
    weights = sum(int(np.prod(init.dims)) for init in model.graph.initializer)
    import_time, module = timed(lambda: import_onnx(model), args.repeat)
    print_time, text = timed(lambda: print_module(module), args.repeat)
    generic = print_module(module, generic=True)

    with tempfile.TemporaryDirectory() as tmp:
        custom_path, generic_path = Path(tmp) / "resnet50.mlir", Path(tmp) / "generic.mlir"
        custom_path.write_text(text)
        generic_path.write_text(generic)
        canopy_time, _ = timed(lambda: run_tool(
            [str(BIN / "canopy-opt"), str(custom_path), "-o", str(Path(tmp) / "a.mlir")]),
            args.repeat)
        xdsl_time, _ = timed(lambda: run_tool(
            [str(BIN / "xdsl-opt"), "--allow-unregistered-dialect", str(generic_path),
             "-o", str(Path(tmp) / "b.mlir")]), args.repeat)

    print(f"light ResNet-50 with random weights: {len(module.body.block.first_op.body.block.ops)} "
          f"ops, {weights / 1e6:.1f}M weights, printed IR {len(text) / 1e6:.0f} MB "
          f"(generic {len(generic) / 1e6:.0f} MB); median of {args.repeat} runs")
    print(f"  canopy_mlir import (ONNX -> graph IR)            {import_time:7.2f} s")
    print(f"  canopy_mlir print (custom form)                  {print_time:7.2f} s")
    print(f"  canopy-opt parse+verify+print (process)          {canopy_time:7.2f} s")
    print(f"  xdsl-opt parse+print, generic form (process)     {xdsl_time:7.2f} s  (baseline)")
    print(f"  import+print / xdsl-opt: {(import_time + print_time) / xdsl_time:.2f}x   "
          f"canopy-opt / xdsl-opt: {canopy_time / xdsl_time:.2f}x")


if __name__ == "__main__":
    main()
