"""uint8 activations on the card: the lit tests' small CNN and a ResNet-18-style net
(32x32) quantized by onnxruntime's ``quantize_static`` with ``activation_type=QUInt8``
(QDQ, per-channel int8 weights), compiled with canopy-default.

graph-uint8-to-int8 moves the ui8 activations to int8 (``v - 128``, zero point
``z - 128``), so the convs reach the card. Checked:

- the integer graph after the rewrite == the integer graph without it (graph
  interpreter), bit for bit;
- only the RGB stem conv (and convs needing a 32-bit rescale, as with QInt8) stay host
  GEMMs; without the rewrite every GEMM does;
- simulator == graph interpreter, bit for bit; PoCL == simulator;
- the dequantized outputs against onnxruntime's own run of the QDQ model: within one
  output quantization step for the small CNN; ResNet: as far as its QInt8 version (see
  Case.max_steps).

Time: ~4 s + ~7 s.
"""

from __future__ import annotations

import importlib.util
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
from e2e.e2e_support import (
    assert_bit_exact,
    compile_model,
    have_opencl,
    onnxruntime_outputs,
    run_on_card,
    split_pipeline,
)
from onnx import numpy_helper

from canopy_mlir import zoo
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.tools.pipelines import apply_pipeline

pytest.importorskip("onnxruntime")

SMALL_CNN = Path(__file__).parents[1] / "filecheck" / "tools" / "Inputs" / "make_small_cnn.py"


def _small_cnn() -> onnx.ModelProto:
    spec = importlib.util.spec_from_file_location("make_small_cnn", SMALL_CNN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._cnn()


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[], onnx.ModelProto]
    host_gemms_before: int
    """Host GEMMs (conv_integer / matmul_integer, incl. average pools as depthwise convs)
    without the rewrite: all of them."""
    host_gemms_after: int
    """With it: the RGB stem (3 of 16 input channels). (Convs whose requantize needs a
    32-bit multiplier run on the card too, their i32 results stored as byte planes.)"""
    launches: int
    max_steps: float
    """Output quantization steps from onnxruntime's run of the QDQ model. The QInt8
    quantization of the same model is as far (resnet18-32: 4 steps, mean 0.8; the
    rescale rounding of graph-fold-qdq compounds over 21 layers): not this pass's."""


CASES = [
    pytest.param(Case("small-cnn", _small_cnn, 5, 1, 5, 1.0), id="small-cnn"),
    pytest.param(Case("resnet18-32", lambda: zoo.resnet18_style(32), 22, 1, 23, 4.0), id="resnet18-32"),
]


def _images(model: onnx.ModelProto, count: int, first_seed: int) -> list[np.ndarray]:
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    return [np.random.default_rng(first_seed + i).standard_normal(shape, dtype=np.float32) for i in range(count)]


def _quantize_quint8(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxruntime quantize_static: QDQ, QUInt8 activations, per-channel QInt8 weights."""
    from onnxruntime import quantization

    name = model.graph.input[0].name
    batches = iter([{name: x} for x in _images(model, 4, 100)])

    class _Reader(quantization.CalibrationDataReader):
        def get_next(self):
            return next(batches, None)

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "float.onnx", Path(tmp) / "qdq.onnx"
            onnx.save(model, src)
            quantization.quantize_static(
                str(src), str(dst), _Reader(), quant_format=quantization.QuantFormat.QDQ, per_channel=True,
                activation_type=quantization.QuantType.QUInt8, weight_type=quantization.QuantType.QInt8,
            )
            return onnx.load(dst)
    finally:
        root.setLevel(level)


def _output_step(model: onnx.ModelProto) -> float:
    """The scale of the DequantizeLinear that produces the graph's output."""
    out = model.graph.output[0].name
    node = next(n for n in model.graph.node if out in n.output)
    assert node.op_type == "DequantizeLinear", node.op_type
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    return float(inits[node.input[1]])


def _host_gemms(module) -> int:
    return sum(op.name in ("graph.conv_integer", "graph.matmul_integer", "tile.conv")
               and "canopy.placement_reason" in op.attributes for op in module.walk())


@pytest.mark.parametrize("case", CASES)
def test_quint8_model_runs_on_the_card(case: Case, record_property) -> None:
    model = case.build()
    qdq = _quantize_quint8(model)
    start = time.perf_counter()
    compiled = compile_model(qdq, None)
    compile_seconds = time.perf_counter() - start

    # The same pipeline without the rewrite: the reference integer graph, and where the
    # partition put the GEMMs before.
    integer_spec, card_spec = split_pipeline("intelfocl", None)
    assert "graph-uint8-to-int8" in integer_spec.split(",")
    without = ",".join(p for p in integer_spec.split(",") if p != "graph-uint8-to-int8")
    reference = apply_pipeline(import_onnx(qdq), without)
    assert any("ui8" in str(op.result.type) for op in reference.walk() if op.name == "graph.requantize")
    before_host = _host_gemms(apply_pipeline(reference.clone(), card_spec))
    after_host = _host_gemms(compiled.lowered)
    assert before_host == case.host_gemms_before, before_host
    assert after_host == case.host_gemms_after, compiled.host_ops()

    images = _images(model, 2, 0)
    expected = [run_graph(reference, [x]) for x in images]
    for i, x in enumerate(images):
        assert_bit_exact(run_graph(compiled.integer, [x]), expected[i], f"image {i}: rewritten vs ui8 integer graph")

    sim = run_on_card(compiled, images, "sim")
    for i, (got, want) in enumerate(zip(sim.outputs, expected, strict=True)):
        assert_bit_exact(got, want, f"image {i}: simulator vs graph interpreter")
    assert sim.launches == case.launches, sim.launches
    if have_opencl():
        pocl = run_on_card(compiled, images, "opencl")
        assert pocl.launches == sim.launches
        for i, (got, want) in enumerate(zip(pocl.outputs, sim.outputs, strict=True)):
            assert_bit_exact(got, want, f"image {i}: PoCL vs simulator")

    step = _output_step(qdq)
    ort = onnxruntime_outputs(qdq, images)
    worst = max(float(np.max(np.abs(e[0] - o[0]))) / step for e, o in zip(expected, ort, strict=True))
    print(f"QUInt8 {case.name}: {sim.launches} launches, {len(compiled.host_ops())} host ops "
          f"(host GEMMs {before_host} -> {after_host}); vs onnxruntime QDQ: {worst:.2f} steps; "
          f"compile {compile_seconds:.1f} s")
    record_property("launches", sim.launches)
    assert worst <= case.max_steps + 1e-5, f"{worst:.2f} output steps from onnxruntime's QDQ run"
