"""Float vs int8 accuracy: the digits CNN and the light ResNet-50 with random weights.

Two ways to int8 (``--method``), both compared with the float graph in the reference
interpreter (canopy_mlir.quantization.accuracy: cosine similarity, top-1 agreement,
relative RMS error, and for the digits, whose labels are real, both accuracies):

- ``onnxruntime-qdq``: onnxruntime's ``quantize_static`` (QDQ, int8 activations,
  per-channel int8 weights, min/max calibration), imported and folded to the integer form
  by ``graph-fold-qdq,canopy-cleanup``. onnxruntime running the same QDQ model is printed
  as a cross-check of our folding;
- ``graph-quantize``: canopy_mlir's own post-training quantization of the float graph
  (``canopy-cleanup`` then ``graph-quantize``: per-channel, symmetric int8, min/max),
  calibrated on the same inputs.

The models:

- digits CNN: trained here in numpy on scikit-learn's digits (tests/quantization/
  digits_cnn.py), calibrated on training images, measured on the 450 held-out ones.
- light ResNet-50 (onnx wheel) with random He-scaled weights (as tests/backend/
  test_light_models.py draws them), converted to opset 17 (onnxruntime's
  ``quant_pre_process`` folds its batch norms before ``quantize_static``); calibrated on
  ``--calibration`` random images, measured on ``--images`` other random images (seeded,
  standard-normal pixels), comparing the logits before the softmax. A random network
  answers nearly the same for every input (its float top-1 is one class for all images),
  so the raw metrics mostly measure that common part; the report adds the metrics
  *centered* on the float mean, which measure the input-dependent part.

    python benchmarks/bench_quant_accuracy.py [--images 32] [--calibration 4]
        [--skip-resnet] [--method all|onnxruntime-qdq|graph-quantize]

Times are wall-clock seconds of this process; "interpreter time" is the numpy reference
interpreter's, summed over the inputs. The default run takes about 2 minutes on a 2-core
machine, mostly the ResNet-50 in the interpreter: about 0.8 s per image in float and
1.0-1.2 s per image in int8 (conv_integer in numpy); the digits take seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
from onnx import version_converter
from xdsl.dialects.builtin import ModuleOp

# The tests' helpers (the digits CNN, the random ResNet-50 weights) live under tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from quantization import digits_cnn

from canopy_mlir.dialects import make_context
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.quantization.accuracy import (
    AccuracyReport,
    collect_outputs,
    measure,
)
from canopy_mlir.transforms import collecting_statistics

OPSET = 17
RESNET_SEED = 0
CALIBRATION_SEED = 1
INPUT_SEED = 2
METHODS = ("onnxruntime-qdq", "graph-quantize")
INTEGER_OPS = ("graph.conv_integer", "graph.matmul_integer", "graph.conv", "graph.gemm", "graph.matmul")

T = TypeVar("T")


def _timed(what: str, step: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = step()
    print(f"  {what:<52} {time.perf_counter() - start:7.2f} s", flush=True)
    return result


def _op_counts(module: ModuleOp) -> str:
    found = [op.name for op in module.walk()]
    return ", ".join(f"{found.count(n)} {n.removeprefix('graph.')}" for n in INTEGER_OPS)


def _statistics(pass_, module: ModuleOp) -> dict[str, int]:
    """Run ``pass_`` on ``module``; its non-zero statistics."""
    with collecting_statistics(pass_) as stats:
        pass_.apply(make_context(), module)
    return {k: v for k, v in stats[0].counters.items() if v}


def _via_onnxruntime(qdq: onnx.ModelProto) -> ModuleOp:
    """The QDQ model imported and folded; prints what graph-fold-qdq did."""
    from canopy_mlir.transforms.graph_fold_qdq import GraphFoldQdq

    def fold() -> ModuleOp:
        module = import_onnx(qdq)
        print(f"  graph-fold-qdq: {_statistics(GraphFoldQdq(), module)}")
        return digits_cnn.apply_pipeline(module, "canopy-cleanup")

    module = _timed("import + graph-fold-qdq + canopy-cleanup", fold)
    print(f"  int8 graph (onnxruntime-qdq): {_op_counts(module)}")
    return module


def _via_graph_quantize(model: onnx.ModelProto, calibration: list[dict[str, np.ndarray]]) -> ModuleOp:
    module = _timed(
        f"import + canopy-cleanup + graph-quantize ({len(calibration)} cal.)",
        lambda: digits_cnn.graph_quantize(import_onnx(model), calibration),
    )
    print(f"  int8 graph (graph-quantize): {_op_counts(module)}")
    return module


def _onnxruntime_outputs(model: onnx.ModelProto, feeds: list[dict[str, np.ndarray]], output: int) -> np.ndarray:
    """Output ``output`` of ``model`` run by onnxruntime on each feed, stacked."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, f)[output] for f in feeds])


def _methods(chosen: str) -> tuple[str, ...]:
    wanted = METHODS if chosen == "all" else (chosen,)
    if "graph-quantize" in wanted and not digits_cnn.graph_quantize_available():
        print("  (graph-quantize is not registered in this checkout: skipped)")
        wanted = tuple(m for m in wanted if m != "graph-quantize")
    return wanted


# ------------------------------------------------------------------ digits CNN
def digits_reports(method: str) -> list[AccuracyReport]:
    print("digits CNN", flush=True)
    data = _timed("load scikit-learn digits", digits_cnn.load_split)
    net = _timed("train (numpy, Adam)", lambda: digits_cnn.train(data))
    batch = len(data.x_test)
    model = digits_cnn.to_onnx(net, batch)
    n = len(data.x_train)
    calibration = [{"x": data.x_train[s : s + batch]} for s in (0, batch, n - batch)]
    float_module = digits_cnn.apply_pipeline(import_onnx(model), "canopy-cleanup")
    inputs = [data.x_test]
    reference, float_seconds = collect_outputs(float_module, inputs)
    reports = []
    for chosen in _methods(method):
        if chosen == "onnxruntime-qdq":
            qdq = _timed("quantize_static", lambda: digits_cnn.quantize_qdq(model, calibration))
            int8_module = _via_onnxruntime(qdq)
        else:
            int8_module = _via_graph_quantize(model, calibration)
        candidate, int8_seconds = collect_outputs(int8_module, inputs)
        reports.append(measure(
            reference, candidate, labels=data.y_test, name=f"digits CNN, {chosen} (held-out images, real labels)",
            float_seconds=float_seconds, quantized_seconds=int8_seconds,
        ))
        if chosen == "onnxruntime-qdq":
            reports.append(measure(
                _onnxruntime_outputs(qdq, [{"x": data.x_test}], 0), candidate, labels=data.y_test,
                name="digits CNN: our folded int8 graph vs onnxruntime running the QDQ model",
                reference_label="onnxruntime int8", quantized_label="canopy int8",
            ))
    return reports


# ------------------------------------------------------------------ ResNet-50
def _resnet50_float() -> onnx.ModelProto:
    from backend.test_light_models import _load, with_random_weights

    return version_converter.convert_version(with_random_weights(_load("resnet50"), seed=RESNET_SEED), OPSET)


def _images(count: int, seed: int, name: str) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [{name: rng.standard_normal((1, 3, 224, 224), dtype=np.float32)} for _ in range(count)]


def resnet_reports(images: int, calibration_count: int, method: str) -> list[AccuracyReport]:
    print("light ResNet-50, random weights", flush=True)
    model = _timed("random weights + opset 17", _resnet50_float)
    name = model.graph.input[0].name
    calibration = _images(calibration_count, CALIBRATION_SEED, name)
    feeds = _images(images, INPUT_SEED, name)
    inputs = [[f[name]] for f in feeds]
    float_module = _timed(
        "import + canopy-cleanup (float)",
        lambda: digits_cnn.apply_pipeline(import_onnx(model), "canopy-cleanup"),
    )
    # Output 1 is the logits before the softmax (with_random_weights adds it): with
    # random weights the softmax is nearly one-hot, which would hide the error.
    reference, float_seconds = _timed(
        f"float interpreter ({images} images)", lambda: collect_outputs(float_module, inputs, output=1)
    )
    print(
        f"  float logits: mean |x| {np.abs(reference).mean():.4g}, "
        f"std over the images {reference.std(axis=0).mean():.4g}"
    )
    title = f"light ResNet-50, random weights, {images} random images (logits)"
    reports = []
    for chosen in _methods(method):
        if chosen == "onnxruntime-qdq":
            qdq = _timed(
                f"quant_pre_process + quantize_static ({calibration_count} cal.)",
                lambda: digits_cnn.quantize_qdq(model, calibration, preprocess=True),
            )
            int8_module = _via_onnxruntime(qdq)
        else:
            int8_module = _via_graph_quantize(model, calibration)
        candidate, int8_seconds = _timed(
            f"int8 interpreter ({images} images)", lambda module=int8_module: collect_outputs(module, inputs, output=1)
        )
        times = {"float_seconds": float_seconds, "quantized_seconds": int8_seconds}
        reports.append(measure(reference, candidate, name=f"{title}, {chosen}", **times))
        if images > 1:
            reports.append(measure(reference, candidate, name=f"{title}, {chosen}", center=True, **times))
        if chosen == "onnxruntime-qdq":
            ort_int8 = _timed(f"onnxruntime int8 ({images} images)", lambda model=qdq: _onnxruntime_outputs(model, feeds, 1))
            if images > 1:
                reports.append(measure(
                    reference, ort_int8, name=f"{title}, onnxruntime running the QDQ model (control)",
                    center=True, quantized_label="onnxruntime int8",
                ))
            reports.append(measure(
                ort_int8, candidate, name="light ResNet-50: our folded int8 graph vs onnxruntime running the QDQ model",
                reference_label="onnxruntime int8", quantized_label="canopy int8",
            ))
    return reports


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="ResNet-50 images compared (default 32)")
    parser.add_argument("--calibration", type=int, default=4, help="ResNet-50 calibration images (default 4)")
    parser.add_argument("--skip-resnet", action="store_true", help="only the digits CNN")
    parser.add_argument("--method", choices=("all", *METHODS), default="all", help="how to quantize (default all)")
    args = parser.parse_args(argv)
    if args.images < 1 or args.calibration < 1:
        parser.error("--images and --calibration must be at least 1")
    start = time.perf_counter()
    reports = digits_reports(args.method)
    if not args.skip_resnet:
        reports.extend(resnet_reports(args.images, args.calibration, args.method))
    print()
    for report in reports:
        print(report.format())
    print(f"\ntotal {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
