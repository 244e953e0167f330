"""canopy_mlir.backend: the ONNX backend API around the importer and the interpreter."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.backend.base import Backend, BackendRep

import canopy_mlir.backend as backend
from canopy_mlir.backend import BackendError, CanopyBackend, CanopyBackendRep, InterpreterExecutor
from canopy_mlir.frontend.onnx_importer import MAX_OPSET

F = TensorProto.FLOAT


def make_model(nodes, inputs, outputs, initializers=(), opset=13, ir_version=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if ir_version is not None:
        model.ir_version = ir_version
    return model


def vinfo(name, shape, elem=F):
    return helper.make_tensor_value_info(name, elem, shape)


def rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def gemm_relu_model():
    w = numpy_helper.from_array(rand((4, 3), 1), "w")
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["h"], name="fc"),
        helper.make_node("Relu", ["h"], ["y"], name="act"),
        helper.make_node("Sigmoid", ["h"], ["z"], name="gate"),
    ]
    return make_model(nodes, [vinfo("x", [2, 4])], [vinfo("y", [2, 3]), vinfo("z", [2, 3])], [w])


# ------------------------------------------------------------------ protocol
def test_module_and_class_are_onnx_backends():
    assert issubclass(CanopyBackend, Backend)
    for name in ("prepare", "run_model", "run_node", "supports_device", "is_compatible"):
        assert callable(getattr(backend, name)), name
    assert backend.supports_device("CPU")
    assert not backend.supports_device("CUDA")
    assert not backend.supports_device("CUDA:1")
    assert not backend.supports_device("TPU")


def test_prepare_and_run_positionally_and_by_name():
    model = gemm_relu_model()
    rep = backend.prepare(model)
    assert isinstance(rep, CanopyBackendRep) and isinstance(rep, BackendRep)
    assert not rep.specialised_per_call
    x = rand((2, 4))
    hidden = x @ rand((4, 3), 1)
    y, z = rep.run([x])
    np.testing.assert_allclose(y, np.maximum(hidden, 0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(z, 1 / (1 + np.exp(-hidden)), rtol=1e-6, atol=1e-6)
    by_name = rep.run({"x": x})
    np.testing.assert_array_equal(by_name["y"], y)
    np.testing.assert_array_equal(by_name.z, z)
    np.testing.assert_array_equal(rep.run(x)[0], y)  # one array for a one-input model
    np.testing.assert_array_equal(backend.run_model(model, [x])[1], z)


def test_ir3_initializers_listed_as_inputs_are_not_run_time_inputs():
    model = gemm_relu_model()
    model.graph.input.append(vinfo("w", [4, 3]))
    rep = backend.prepare(model)
    assert rep.input_names == ["x"]
    (y, _) = rep.run([rand((2, 4))])
    assert y.shape == (2, 3)


@pytest.mark.parametrize(
    "inputs, message",
    [
        ([], r"takes 1 input\(s\) \['x'\], got 0"),
        ({"x": rand((2, 4)), "q": rand((1,))}, r"missing \[\], unknown \['q'\]"),
        ([[1.0, 2.0]], "must be a numpy array, got list"),
        ("x", "must be a list of arrays"),
        ([rand((3, 4))], r"input 'x' of @main must be tensor<2x4xf32>"),
    ],
)
def test_bad_inputs_raise_backend_error(inputs, message):
    with pytest.raises(BackendError, match=message):
        backend.prepare(gemm_relu_model()).run(inputs)


# ------------------------------------------------------------------ refusals
def test_unsupported_model_names_every_unsupported_node():
    nodes = [
        helper.make_node("Erf", ["x"], ["e"], name="my_erf"),
        helper.make_node("Relu", ["e"], ["r"], name="ok_relu"),
        helper.make_node("TopK", ["r", "k"], ["v", "i"], name="my_topk", axis=-1),
    ]
    k = numpy_helper.from_array(np.array([2], np.int64), "k")
    model = make_model(nodes, [vinfo("x", [2, 4])], [vinfo("v", [2, 2])], [k])
    with pytest.raises(BackendError) as info:
        backend.prepare(model)
    message = str(info.value)
    assert "node 'my_erf' (Erf)" in message and "node 'my_topk' (TopK)" in message
    assert "ok_relu" not in message
    assert set(info.value.report.unsupported_op_types) == {"Erf", "TopK"}
    assert not backend.is_compatible(model)
    assert backend.is_compatible(gemm_relu_model())


def test_invalid_model_and_device_are_backend_errors():
    model = gemm_relu_model()
    with pytest.raises(BackendError, match="not supported by the compiled executor"):
        backend.prepare(model, "CUDA")
    with pytest.raises(BackendError, match="not an ONNX device string"):
        backend.prepare(model, "gpu0")
    broken = gemm_relu_model()
    broken.graph.node[1].input[0] = "nowhere"
    with pytest.raises(BackendError, match="not valid ONNX"):
        backend.prepare(broken)
    with pytest.raises(BackendError, match="expected an onnx.ModelProto"):
        backend.prepare(b"not a model")
    with pytest.raises(BackendError, match="unknown options"):
        backend.prepare(model, rtol=1e-3)


# ------------------------------------------------------------ specialisation
def clip_model():
    node = helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")
    return make_model([node], [vinfo("x", [5]), vinfo("lo", []), vinfo("hi", [])], [vinfo("y", [5])])


def test_constant_inputs_are_bound_per_call_and_cached():
    rep = backend.prepare(clip_model())
    assert rep.specialised_per_call and rep.bound_inputs == {"lo"}
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    lo, hi = np.float32(-1), np.float32(0.5)
    (y,) = rep.run([x, np.array(lo), np.array(hi)])
    np.testing.assert_array_equal(y, np.clip(x, lo, hi))
    assert rep.bound_inputs == {"lo", "hi"}  # hi showed up once lo was bound
    runners = dict(rep._runners)
    (again,) = rep.run({"x": x * 2, "lo": np.array(lo), "hi": np.array(hi)})
    np.testing.assert_array_equal(again, np.clip(x * 2, lo, hi))
    assert dict(rep._runners) == runners  # same bounds: no new import
    (other,) = rep.run([x, np.array(np.float32(0)), np.array(np.float32(1))])
    np.testing.assert_array_equal(other, np.clip(x, 0, 1))
    assert len(rep._runners) == 2


def test_dynamic_input_shapes_are_fixed_per_call():
    node = helper.make_node("Relu", ["x"], ["y"])
    model = make_model([node], [vinfo("x", ["batch", 3])], [vinfo("y", ["batch", 3])])
    rep = backend.prepare(model)
    assert rep.shape_specialised_inputs == {"x"} and not rep.bound_inputs
    for batch in (1, 4):
        x = rand((batch, 3), batch)
        (y,) = rep.run([x])
        np.testing.assert_array_equal(y, np.maximum(x, 0))


def test_a_run_time_reshape_shape_is_not_bindable():
    """A shape computed inside the graph cannot be bound from the call's inputs."""
    nodes = [
        helper.make_node("Relu", ["s"], ["s2"]),
        helper.make_node("Reshape", ["x", "s2"], ["y"], name="reshape"),
    ]
    model = make_model(
        nodes, [vinfo("x", [2, 3]), vinfo("s", [2], TensorProto.INT64)], [vinfo("y", [3, 2])]
    )
    with pytest.raises(BackendError, match="node 'reshape' \\(Reshape\\)"):
        backend.prepare(model)


# ------------------------------------------------------------------- opsets
def test_newer_opsets_are_lowered_with_the_version_converter():
    node = helper.make_node("Relu", ["x"], ["y"])
    model = make_model([node], [vinfo("x", [3])], [vinfo("y", [3])], opset=MAX_OPSET + 3)
    x = rand((3,))
    np.testing.assert_array_equal(backend.run_model(model, [x])[0], np.maximum(x, 0))


def test_an_opset_the_converter_cannot_lower_is_a_backend_error():
    node = helper.make_node("GlobalMaxPool", ["x"], ["y"])
    model = make_model([node], [vinfo("x", [1, 2, 3, 3])], [vinfo("y", [1, 2, 1, 1])], opset=22)
    with pytest.raises(BackendError, match=r"opset 22; the importer supports up to 21"):
        backend.prepare(model)


# ------------------------------------------------------------------ run_node
def test_run_node_builds_a_one_node_model():
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, transB=1)
    a, b, c = rand((2, 3)), rand((4, 3), 1), rand((4,), 2)
    (y,) = backend.run_node(node, [a, b, c])
    np.testing.assert_allclose(y, 0.5 * a @ b.T + c, rtol=1e-5, atol=1e-6)
    (y_named,) = backend.run_node(node, {"a": a, "b": b, "c": c}, opset_version=11)
    np.testing.assert_array_equal(y_named, y)
    with pytest.raises(BackendError, match=r"takes inputs \['a', 'b', 'c'\], got 2"):
        backend.run_node(node, [a, b])


# ------------------------------------------------------------------ executor
@dataclass
class RecordingExecutor:
    """Stands in for the compiled path: records what it was asked to run."""

    name: str = "recording"
    devices: tuple[str, ...] = ("CPU",)
    loaded: list = field(default_factory=list)

    def load(self, module, function):
        self.loaded.append(function)
        inner = InterpreterExecutor().load(module, function)
        return lambda arrays: [2 * out for out in inner(arrays)]


def test_the_executor_is_a_seam():
    executor = RecordingExecutor()
    x = rand((2, 4))
    (y, _) = backend.prepare(gemm_relu_model(), executor=executor).run([x])
    (reference, _) = backend.prepare(gemm_relu_model()).run([x])
    assert executor.loaded == ["main"]
    np.testing.assert_array_equal(y, 2 * reference)
    with pytest.raises(BackendError, match="not supported by the cuda-only executor"):
        backend.prepare(gemm_relu_model(), "CPU", executor=RecordingExecutor("cuda-only", ("CUDA",)))
