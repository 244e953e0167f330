"""The light model-zoo models shipped in the onnx wheel, end to end through the backend.

``onnx/backend/test/data/light/light_<model>.onnx`` are AlexNet, DenseNet-121,
Inception v1/v2, ResNet-50, ShuffleNet, SqueezeNet, VGG-19 and ZFNet-512 with every
weight replaced by a ``ConstantOfShape`` splat; ``light_<model>_output_0.pb`` is the
expected output for ONNX's dummy input (``arange(n) / n``), compared with the rtol/atol of
``data/real/test_<model>/data.json`` -- exactly what ``BackendTest``'s real-model tests do.

Those expected outputs are weak oracles: with splat weights every channel is equal and
the softmax is uniform (0.001 everywhere), so a wrong convolution would still pass. The
second test therefore gives each model random, well-scaled weights (He-style for
convolutions and fully connected layers, plausible batch-norm statistics) and compares
every output, and the logits before the final softmax, with ONNX Runtime.

Interpreter times are recorded as the ``interpreter_seconds`` property of each test
(``--junitxml`` shows them) and bounded, so a slow reference op fails loudly.
"""

from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper
from onnx.backend.test.runner import Runner

import canopy_mlir.backend as backend

ONNX_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
LIGHT_DIR = ONNX_DATA / "light"
MODELS = sorted(p.stem.removeprefix("light_") for p in LIGHT_DIR.glob("light_*.onnx"))

SLOW_TO_INTERPRET = {"densenet121", "inception_v2"}
"""More than about 1.5 s in the interpreter (DenseNet-121: ~4 s) on 2 cores."""
SLOW_TO_RANDOMIZE = {"bvlc_alexnet", "vgg19", "zfnet512"}
"""60-140 million weights to draw, check and hand to ONNX Runtime (5-14 s)."""

INTERPRETER_SECONDS_LIMIT = 60.0
"""Per model and input; the slowest (DenseNet-121) takes about 4 s on 2 cores."""


def _params(slow: set[str]) -> list:
    return [pytest.param(m, marks=pytest.mark.slow) if m in slow else m for m in MODELS]


def _load(name: str) -> onnx.ModelProto:
    return onnx.load(LIGHT_DIR / f"light_{name}.onnx")


def _tolerances(name: str) -> tuple[float, float]:
    """(rtol, atol) as BackendTest uses them for this model."""
    data = json.loads((ONNX_DATA / "real" / f"test_{name}" / "data.json").read_text())
    return data.get("rtol", 1e-3), data.get("atol", 1e-7)


def _runtime_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def _timed_run(rep, inputs: list[np.ndarray], record_property) -> list[np.ndarray]:
    start = time.perf_counter()
    outputs = list(rep.run(inputs))
    seconds = time.perf_counter() - start
    record_property("interpreter_seconds", round(seconds, 3))
    assert seconds < INTERPRETER_SECONDS_LIMIT, f"the interpreter took {seconds:.1f} s"
    return outputs


def test_every_light_model_is_covered():
    assert len(MODELS) == 9, MODELS
    assert SLOW_TO_INTERPRET | SLOW_TO_RANDOMIZE <= set(MODELS)


@pytest.mark.parametrize("name", _params(SLOW_TO_INTERPRET))
def test_light_model_matches_onnx_expected_output(name, record_property):
    model = _load(name)
    rep = backend.prepare(model)
    inputs = [Runner.generate_dummy_data(x, seed=0, name=name, random=False) for x in _runtime_inputs(model)]
    (actual,) = _timed_run(rep, inputs, record_property)
    expected = numpy_helper.to_array(onnx.load_tensor(str(LIGHT_DIR / f"light_{name}_output_0.pb")))
    rtol, atol = _tolerances(name)
    assert actual.dtype == expected.dtype
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- random weights
def _random_weight(consumer: onnx.NodeProto | None, index: int, shape, fill, rng) -> np.ndarray:
    """A random stand-in for a splat weight, scaled for its role so that activations
    stay O(1) through 20-120 layers (all-positive splats blow VGG-19 up to 1e31)."""
    op = consumer.op_type if consumer is not None else ""
    if op in ("Conv", "Gemm", "MatMul") and index == 1 and len(shape) >= 2:
        fan_in = math.prod(shape[1:]) if op == "Conv" else shape[0] if op == "MatMul" else None
        if fan_in is None:  # Gemm: transB decides which dimension is the reduction
            trans_b = next((a.i for a in consumer.attribute if a.name == "transB"), 0)
            fan_in = shape[1] if trans_b else shape[0]
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(math.sqrt(2.0 / fan_in))
    if op == "BatchNormalization":
        scale_or_var = index in (1, 4)
        return rng.uniform(0.5, 1.5, shape) if scale_or_var else rng.normal(0.0, 0.1, shape)
    if op in ("Conv", "Gemm") and index == 2:
        return rng.normal(0.0, 0.1, shape)
    return fill * rng.uniform(0.5, 1.5, shape) if fill else rng.normal(0.0, 0.1, shape)


def with_random_weights(model: onnx.ModelProto, seed: int = 0) -> onnx.ModelProto:
    """``model`` with each ConstantOfShape splat weight replaced by a random initializer,
    and the logits before the last Softmax added as an extra graph output."""
    model = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    graph = model.graph
    inferred = onnx.shape_inference.infer_shapes(model).graph.value_info  # cheap: no weights yet
    initializers = {t.name: t for t in graph.initializer}
    consumers = {name: (node, i) for node in graph.node for i, name in enumerate(node.input)}
    kept = []
    for node in graph.node:
        if node.op_type != "ConstantOfShape" or node.input[0] not in initializers:
            kept.append(node)
            continue
        shape = [int(d) for d in numpy_helper.to_array(initializers[node.input[0]])]
        fill = numpy_helper.to_array(node.attribute[0].t).reshape(-1)[0]
        consumer, index = consumers.get(node.output[0], (None, 0))
        data = _random_weight(consumer, index, shape, float(fill), rng).astype(fill.dtype, copy=False)
        tensor = numpy_helper.from_array(data, node.output[0])
        graph.initializer.append(tensor)
        if model.ir_version < 4:  # IR 3 lists every initializer as a graph input
            graph.input.append(helper.make_tensor_value_info(tensor.name, tensor.data_type, shape))
    del graph.node[:]
    graph.node.extend(kept)
    softmaxes = [n for n in kept if n.op_type == "Softmax"]
    if softmaxes:
        logits = softmaxes[-1].input[0]
        (info,) = [v for v in inferred if v.name == logits]
        graph.output.append(info)
    return model


def _onnxruntime_outputs(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    ort = pytest.importorskip("onnxruntime")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the unused __SHAPE initializers warn otherwise
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1  # pytest-xdist already runs one test per core
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


@pytest.mark.parametrize("name", _params(SLOW_TO_INTERPRET | SLOW_TO_RANDOMIZE))
def test_light_model_with_random_weights_matches_onnxruntime(name, record_property):
    model = with_random_weights(_load(name))
    inputs = {
        x.name: np.random.default_rng(1).random(
            [d.dim_value for d in x.type.tensor_type.shape.dim], dtype=np.float32
        )
        for x in _runtime_inputs(model)
    }
    expected = _onnxruntime_outputs(model, inputs)
    actual = _timed_run(backend.prepare(model), list(inputs.values()), record_property)
    assert len(actual) == len(expected) == len(model.graph.output)
    for output, got, want in zip(model.graph.output, actual, expected, strict=True):
        scale = float(np.max(np.abs(want)))
        assert np.isfinite(scale) and scale > 0, f"{output.name}: degenerate reference output"
        assert float(np.std(want)) > 1e-3 * scale, f"{output.name}: the reference output is flat"
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * scale, err_msg=output.name)
