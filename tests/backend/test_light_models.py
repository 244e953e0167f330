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

import json
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper
from onnx.backend.test.runner import Runner

import canopy_mlir.backend as backend
from canopy_mlir.zoo import with_random_weights

ONNX_DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
LIGHT_DIR = ONNX_DATA / "light"
MODELS = sorted(p.stem.removeprefix("light_") for p in LIGHT_DIR.glob("light_*.onnx"))

SLOW_TO_INTERPRET = {"densenet121", "inception_v2"}
"""More than about 1.5 s in the interpreter (DenseNet-121: ~4 s) on 2 cores."""
SLOW_TO_RANDOMIZE = {"bvlc_alexnet", "vgg19", "zfnet512"}
"""60-140 million weights to draw, check and hand to ONNX Runtime (5-14 s)."""


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
# with_random_weights lives in canopy_mlir.zoo (re-exported here: benchmarks import it from here).


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
