"""canopy_mlir as an ONNX backend (``onnx.backend.base``).

    import canopy_mlir.backend as backend
    rep = backend.prepare(model)                 # import once (BackendError if unsupported)
    (y,) = rep.run([x])                          # positional, or rep.run({"x": x})
    outputs = backend.run_model(model, [x])      # prepare + run
    outputs = backend.run_node(node, [a, b])     # one ONNX node

The module is itself a backend in the sense of ``onnx.backend.test.BackendTest`` (module
level ``prepare``, ``run_model``, ``run_node``, ``supports_device``, ``is_compatible``),
and :class:`CanopyBackend` is the same as an ``onnx.backend.base.Backend`` subclass.

What ``prepare`` does:

1. checks the model with ``onnx.checker``;
2. lowers a default-domain opset above the importer's :data:`MAX_OPSET` with ONNX's
   version converter, which refuses wherever a semantics-preserving adapter is missing
   (that refusal is reported as a :class:`BackendError`);
3. runs the importer's support check. Any unsupported node, attribute or element type is
   a :class:`BackendError` whose message is the importer's full report, naming every
   unsupported node at once (``error.report`` holds it as a ``SupportReport``);
4. imports the model to the ``graph`` dialect and hands it to the *executor*.

Two kinds of problem are not errors, because the call's inputs resolve them: a graph
input the importer needs as a constant (a Reshape shape, Clip bounds, Pad pads, axes
given as inputs) and a graph input with dynamic dimensions. Such a model is imported at
``run`` time, specialised to the values of those inputs and to the actual input shapes
(one import per distinct set of them, cached). A compiler for static accelerators has to
specialise this way anyway; the reps say which inputs they bind (``bound_inputs``).

The executor is the seam between the front end and execution. The default is
:class:`CompiledExecutor`: a model that is already quantized (QLinearConv, QLinearMatMul,
ConvInteger, MatMulInteger, QuantizeLinear / DequantizeLinear: onnxruntime's QDQ models
and the quantized node tests) is compiled with :func:`canopy_mlir.compile` and run on
the card (the OpenCL core on PoCL; ``CANOPY_ONNX_CARD=sim`` for the simulator), with the
graph inputs that feed quantization parameters and weights bound as constants per call
(a static accelerator's weights are compile-time data). Everything else runs in
:class:`InterpreterExecutor` (the numpy reference interpreter): float models (no
calibration data here), models whose compile fails with one of the compiler's
user-facing errors (:class:`canopy_mlir.api.CompileError`), and models of which nothing
lands on the card. Each fallback is logged at debug level (logger ``canopy_mlir.backend``)
with its reason; any other compile error is a bug and propagates. Pass
``prepare(model, executor=InterpreterExecutor())`` to skip the compiled path.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import onnx
from onnx import helper, version_converter
from onnx.backend.base import Backend, BackendRep, Device, DeviceType, namedtupledict
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.frontend.onnx_importer import (
    DEFAULT_DOMAINS,
    DYNAMIC_SHAPE,
    MAX_OPSET,
    NON_CONSTANT_INPUT,
    OnnxImportError,
    SupportIssue,
    SupportReport,
    check_support,
    function_io_names,
    import_onnx,
)
from canopy_mlir.interpreters.graph_interpreter import GraphInterpreterError, run_graph

__all__ = [
    "BackendError",
    "CanopyBackend",
    "CompiledExecutor",
    "CanopyBackendRep",
    "Executor",
    "InterpreterExecutor",
    "is_compatible",
    "prepare",
    "run_model",
    "run_node",
    "supports_device",
]

LOG = logging.getLogger("canopy_mlir.backend")
FUNCTION_NAME = "main"
SPECIALISATION_CACHE_SIZE = 16
"""Imports kept per rep for models specialised on their inputs (least recently used go)."""


class BackendError(RuntimeError):
    """The backend cannot prepare or run this model; the message says what and where.

    ``report`` is the importer's ``SupportReport`` when the model has unsupported parts.
    """

    def __init__(self, message: str, report: SupportReport | None = None):
        super().__init__(message)
        self.report = report


# ====================================================================== executors
Runner = Callable[[list[np.ndarray]], list[np.ndarray]]
"""Runs an imported function: its arguments in order in, its results in order out."""


class Executor(Protocol):
    """How an imported ``graph`` module is executed (the seam for the compiled path)."""

    name: str
    devices: tuple[str, ...]
    """ONNX device types (``"CPU"``, ``"CUDA"``) this executor runs on."""

    def load(self, module: ModuleOp, function: str) -> Runner:
        """Prepare ``function`` of ``module`` once; the result runs it many times."""
        ...


@dataclass(frozen=True)
class InterpreterExecutor:
    """Runs the module with the numpy reference interpreter
    (:func:`canopy_mlir.interpreters.graph_interpreter.run_graph`) on the host CPU."""

    name: str = "interpreter"
    devices: tuple[str, ...] = ("CPU",)

    def load(self, module: ModuleOp, function: str) -> Runner:
        def run(arguments: list[np.ndarray]) -> list[np.ndarray]:
            return run_graph(module, arguments, function)

        return run


QUANTIZED_PARAMETERS: dict[str, tuple[int, ...]] = {
    "QLinearConv": (1, 2, 3, 4, 5, 6, 7, 8),
    "QLinearMatMul": (1, 2, 3, 4, 5, 6, 7),
    "ConvInteger": (1, 2, 3),
    "MatMulInteger": (1, 2, 3),
    "QuantizeLinear": (1, 2),
    "DequantizeLinear": (1, 2),
}
"""Quantized ONNX ops and the input positions holding their weights and quantization
parameters: what :class:`CompiledExecutor` compiles, and what it binds as constants."""
CARD_ENV = "CANOPY_ONNX_CARD"
"""``opencl`` (default) or ``sim``: the card :class:`CompiledExecutor` runs on."""


@dataclass(frozen=True)
class CompiledExecutor:
    """Quantized models compiled by :func:`canopy_mlir.compile` and run on a card; the
    interpreter for the rest (see the module docstring for when and why)."""

    name: str = "compiled"
    devices: tuple[str, ...] = ("CPU",)
    config: str = "intelfocl"
    card: str | None = None
    """``opencl`` / ``sim``; None reads ``$CANOPY_ONNX_CARD`` (default ``opencl``)."""
    device: str | None = None
    """The OpenCL device (as ``$CANOPY_OPENCL_DEVICE``)."""
    fallback: InterpreterExecutor = InterpreterExecutor()

    def constant_inputs(self, model: onnx.ModelProto) -> frozenset[str]:
        """Graph inputs feeding weights / quantization parameters of quantized ops."""
        inputs = set(_runtime_input_names(model))
        bound = set()
        for node in model.graph.node:
            for index in QUANTIZED_PARAMETERS.get(node.op_type, ()) if node.domain in DEFAULT_DOMAINS else ():
                if index < len(node.input) and node.input[index] in inputs:
                    bound.add(node.input[index])
        return frozenset(bound)

    @staticmethod
    def quantized(module: ModuleOp) -> bool:
        from canopy_mlir.dialects import graph

        kinds = (graph.QLinearConvOp, graph.QLinearMatMulOp, graph.ConvIntegerOp, graph.MatMulIntegerOp,
                 graph.QuantizeLinearOp, graph.DequantizeLinearOp)
        return any(isinstance(op, kinds) for op in module.walk())

    def load(self, module: ModuleOp, function: str) -> Runner:
        from canopy_mlir.api import CompileError, compile

        if not self.quantized(module):
            LOG.debug("interpreter: a float model (no calibration data in the ONNX backend)")
            return self.fallback.load(module, function)
        try:
            compiled = compile(module, config=self.config)
        except CompileError as error:
            LOG.debug("interpreter: the compile failed at %s: %s", error.stage, error)
            return self.fallback.load(module, function)
        if not compiled.manifest["launches"]:
            LOG.debug("interpreter: nothing of this model runs on the card (%s)",
                      ", ".join(sorted(set(compiled.manifest["host_ops"]))))
            return self.fallback.load(module, function)
        card = self.card or os.environ.get(CARD_ENV) or "opencl"
        LOG.debug("card (%s): %d launches, %d instructions", card, len(compiled.manifest["launches"]),
                  compiled.manifest["instructions"])

        def run(arguments: list[np.ndarray]) -> list[np.ndarray]:
            from canopy_mlir.runtime.artifact import ArtifactLoadError

            try:
                return compiled.run(arguments, backend=card, device=self.device)
            except ArtifactLoadError as error:  # inputs of the wrong shape or type
                raise BackendError(f"running the model failed: {error}") from None

        run.compiled = compiled  # type: ignore[attr-defined]
        return run


# =================================================================== preparation
@dataclass(frozen=True)
class _Plan:
    """What the import of a model needs from each call, found by the support check."""

    constant_inputs: frozenset[str]
    """Graph inputs the importer needs as constants: bound to the call's values."""
    shaped_inputs: frozenset[str]
    """Graph inputs with dynamic dimensions: fixed to the call's shapes."""

    @property
    def static(self) -> bool:
        return not self.constant_inputs and not self.shaped_inputs


def _runtime_input_names(model: onnx.ModelProto) -> list[str]:
    """Graph inputs that are not initializers (IR < 4 lists weights as inputs too)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


def _bindable_input(issue: SupportIssue, inputs: set[str]) -> tuple[str, str] | None:
    """``("constant" | "shape", name)`` when a call's inputs resolve ``issue``, else None.

    A node that needs a run-time graph input as a constant is resolved by importing with
    that call's value; a graph input with dynamic dimensions by that call's shape.
    """
    if issue.value not in inputs:
        return None
    if issue.kind in (NON_CONSTANT_INPUT, DYNAMIC_SHAPE) and issue.op_type:
        return "constant", issue.value
    if issue.kind == DYNAMIC_SHAPE and not issue.op_type:
        return "shape", issue.value
    return None


def _plan(model: onnx.ModelProto, report: SupportReport) -> _Plan:
    """The inputs to bind per call, or BackendError naming what no call can fix."""
    inputs = set(_runtime_input_names(model))
    constants: set[str] = set()
    shapes: set[str] = set()
    fatal: list[SupportIssue] = []
    for issue in report.issues:
        bindable = _bindable_input(issue, inputs)
        if bindable is None:
            fatal.append(issue)
        else:
            (constants if bindable[0] == "constant" else shapes).add(bindable[1])
    if fatal:
        kept = SupportReport(report.model_name, report.opset, report.node_count, tuple(fatal))
        raise BackendError(f"canopy backend cannot run this model:\n{kept}", kept)
    return _Plan(frozenset(constants), frozenset(shapes))


def _default_opset(model: onnx.ModelProto) -> int | None:
    versions = [o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS]
    return max(versions) if versions else None


def _within_importer_opsets(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model``, lowered to opset :data:`MAX_OPSET` when it declares a newer one.

    ONNX's version converter only lowers an op through registered adapters (type
    restrictions, attribute/input moves), never by guessing, so a model it accepts means
    the same at the lower opset.
    """
    opset = _default_opset(model)
    if opset is None or opset <= MAX_OPSET:
        return model
    try:
        return version_converter.convert_version(model, MAX_OPSET)
    except Exception as err:  # noqa: BLE001 - the converter raises bare RuntimeErrors
        detail = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise BackendError(
            f"the model uses default-domain opset {opset}; the importer supports up to "
            f"{MAX_OPSET} and ONNX's version converter cannot lower it: {detail}"
        ) from None


def _checked(model: onnx.ModelProto) -> onnx.ModelProto:
    if not isinstance(model, onnx.ModelProto):
        raise BackendError(f"expected an onnx.ModelProto, got {type(model).__name__}")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        raise BackendError(f"the model is not valid ONNX: {str(err).strip()}") from None
    return model


def _device_type(device: str) -> str | None:
    """``"CPU"`` / ``"CUDA"`` for an ONNX device string (``"CUDA:1"``), None if malformed."""
    try:
        parsed = Device(device)
    except (AttributeError, ValueError):
        return None
    return "CPU" if parsed.type == DeviceType.CPU else "CUDA"


# ========================================================================== reps
class CanopyBackendRep(BackendRep):
    """A prepared model: ``run(inputs)`` executes it on numpy arrays.

    ``inputs`` is a list in the order of the model's graph inputs (initializers left
    out), a dict keyed by graph input name, or one array for a one-input model. Outputs
    come back in graph-output order as a tuple that also answers to output names.
    """

    def __init__(
        self,
        model: onnx.ModelProto,
        plan: _Plan,
        executor: Executor,
        module: ModuleOp | None = None,
    ):
        """``module`` is the import of a model that needs no per-call specialisation."""
        self.model = model
        self.executor = executor
        self.input_names = _runtime_input_names(model)
        self.output_names = [o.name for o in model.graph.output]
        self._plan = plan
        self._outputs_type = namedtupledict("Outputs", self.output_names)
        self._runners: OrderedDict[tuple, tuple[Runner, list[str]]] = OrderedDict()
        wanted = getattr(executor, "constant_inputs", None)
        extra = wanted(model) - plan.constant_inputs if wanted is not None else frozenset()
        if extra:  # the executor specialises on these inputs' values: import per call
            self._plan = _Plan(plan.constant_inputs | extra, plan.shaped_inputs)
            module = None
        if module is not None:
            argument_names, _ = function_io_names(module, FUNCTION_NAME)
            self._runners[()] = (executor.load(module, FUNCTION_NAME), argument_names)

    @property
    def specialised_per_call(self) -> bool:
        """Whether each distinct set of bound input values gets its own import."""
        return not self._plan.static

    @property
    def bound_inputs(self) -> frozenset[str]:
        """Graph inputs whose values each call bakes into its own import."""
        return self._plan.constant_inputs

    @property
    def shape_specialised_inputs(self) -> frozenset[str]:
        """Graph inputs with dynamic dimensions, fixed per call to the given shapes."""
        return self._plan.shaped_inputs

    # ------------------------------------------------------------------- run
    def run(self, inputs: Any, **kwargs: Any) -> tuple[Any, ...]:
        if kwargs:
            raise BackendError(f"run() takes no options, got {sorted(kwargs)}")
        arrays = self._bind(inputs)
        runner, argument_names = self._runner_for(arrays)
        try:
            results = runner([arrays[name] for name in argument_names])
        except GraphInterpreterError as err:
            raise BackendError(f"running the model failed: {err}") from err
        return self._outputs_type(*results)

    def _bind(self, inputs: Any) -> dict[str, np.ndarray]:
        names = self.input_names
        if isinstance(inputs, np.ndarray | np.generic):
            inputs = [inputs]
        if isinstance(inputs, Mapping):
            missing = [n for n in names if n not in inputs]
            unknown = [k for k in inputs if k not in names]
            if missing or unknown:
                raise BackendError(
                    f"the model takes inputs {names}; missing {missing}, unknown {unknown}"
                )
            values = [inputs[n] for n in names]
        elif isinstance(inputs, Sequence) and not isinstance(inputs, str | bytes):
            if len(inputs) != len(names):
                raise BackendError(
                    f"the model takes {len(names)} input(s) {names}, got {len(inputs)}"
                )
            values = list(inputs)
        else:
            raise BackendError(
                f"inputs must be a list of arrays, a dict name -> array or one array, got "
                f"{type(inputs).__name__}"
            )
        bound = {}
        for name, value in zip(names, values, strict=True):
            if not isinstance(value, np.ndarray | np.generic):
                raise BackendError(
                    f"input '{name}' must be a numpy array, got {type(value).__name__}"
                )
            bound[name] = np.asarray(value)
        return bound

    # ------------------------------------------------------ specialisation
    def _runner_for(self, arrays: Mapping[str, np.ndarray]) -> tuple[Runner, list[str]]:
        if () in self._runners:
            return self._runners[()]
        key = self._specialisation_key(arrays)
        entry = self._runners.get(key)
        if entry is None:
            entry = self._load_specialised(arrays)
            self._runners[self._specialisation_key(arrays)] = entry  # the plan may have grown
            while len(self._runners) > SPECIALISATION_CACHE_SIZE:
                self._runners.popitem(last=False)
        else:
            self._runners.move_to_end(key)
        return entry

    def _specialisation_key(self, arrays: Mapping[str, np.ndarray]) -> tuple:
        """What an import specialised to ``arrays`` depends on: bound values and shapes."""
        values = tuple(
            (n, arrays[n].dtype.str, arrays[n].shape, arrays[n].tobytes())
            for n in sorted(self._plan.constant_inputs)
        )
        shapes = tuple((n, arrays[n].shape) for n in sorted(self._plan.shaped_inputs))
        return values, shapes

    def _load(
        self, constants: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, ...]]
    ) -> tuple[Runner, list[str]]:
        module = import_onnx(
            self.model,
            function_name=FUNCTION_NAME,
            input_shapes=dict(shapes) or None,
            constant_inputs=dict(constants) or None,
        )
        argument_names, _ = function_io_names(module, FUNCTION_NAME)
        return self.executor.load(module, FUNCTION_NAME), argument_names

    def _load_specialised(self, arrays: Mapping[str, np.ndarray]) -> tuple[Runner, list[str]]:
        """Import with the plan's inputs bound to ``arrays``.

        The importer reports one problem per node, so binding a node's first constant
        input (Clip's ``min``) can reveal the next (``max``): such inputs join the plan
        and the import is retried, at most once per graph input.
        """
        for _ in range(len(self.input_names) + 1):
            constants = {n: arrays[n] for n in sorted(self._plan.constant_inputs)}
            shapes = {n: tuple(arrays[n].shape) for n in sorted(self._plan.shaped_inputs)}
            try:
                return self._load(constants, shapes)
            except OnnxImportError as err:
                error = err
                report = err.report
            try:
                more = _plan(self.model, report) if report is not None else None
            except BackendError:
                more = None
            grown = more is not None and not (
                more.constant_inputs <= self._plan.constant_inputs
                and more.shaped_inputs <= self._plan.shaped_inputs
            )
            if not grown:
                break
            self._plan = _Plan(
                self._plan.constant_inputs | more.constant_inputs,
                self._plan.shaped_inputs | more.shaped_inputs,
            )
        bound = sorted(self._plan.constant_inputs)
        where = f" with inputs {bound} bound to this call's values" if bound else ""
        raise BackendError(f"canopy backend cannot run this model{where}:\n{error}", error.report)


# ======================================================================= backend
class CanopyBackend(Backend):
    """ONNX models through canopy_mlir's importer and an :class:`Executor`."""

    executor: Executor = CompiledExecutor()
    """The default executor: the card for quantized models, the interpreter otherwise."""

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return _device_type(device) in cls.executor.devices

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        """Whether :meth:`prepare` would accept ``model`` on ``device``."""
        try:
            cls._check_device(device, kwargs.get("executor") or cls.executor)
            model = _within_importer_opsets(_checked(model))
            _plan(model, check_support(model))
        except BackendError:
            return False
        return True

    @classmethod
    def prepare(
        cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any
    ) -> CanopyBackendRep:
        """Import ``model`` for repeated runs; raises :class:`BackendError` naming every
        unsupported node. ``executor=`` overrides :attr:`executor`."""
        executor = kwargs.pop("executor", None) or cls.executor
        if kwargs:
            raise BackendError(f"prepare() got unknown options {sorted(kwargs)} (it takes executor=)")
        cls._check_device(device, executor)
        model = _within_importer_opsets(_checked(model))
        try:
            module = import_onnx(model, function_name=FUNCTION_NAME)
        except OnnxImportError as err:
            if err.report is None:
                raise BackendError(f"canopy backend cannot run this model: {err}") from None
            return CanopyBackendRep(model, _plan(model, err.report), executor)
        return CanopyBackendRep(model, _Plan(frozenset(), frozenset()), executor, module)

    @classmethod
    def run_model(
        cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any
    ) -> tuple[Any, ...]:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(
        cls,
        node: onnx.NodeProto,
        inputs: Any,
        device: str = "CPU",
        outputs_info: Sequence[tuple[np.dtype, tuple[int, ...]]] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, ...]:
        """Run one node on ``inputs`` (a list for the node's non-empty inputs in order, or
        a dict by input name). ``opset_version=`` picks the opset (default
        :data:`MAX_OPSET`); ``outputs_info`` (dtype, shape) pairs declare output types."""
        opset = int(kwargs.pop("opset_version", MAX_OPSET))
        model = _node_model(node, inputs, outputs_info, opset)
        feeds = inputs if isinstance(inputs, Mapping) else list(inputs)
        return cls.run_model(model, feeds, device, **kwargs)

    @classmethod
    def _check_device(cls, device: str, executor: Executor) -> None:
        kind = _device_type(device)
        if kind is None:
            raise BackendError(f"device '{device}' is not an ONNX device string (CPU, CUDA:1, ...)")
        if kind not in executor.devices:
            raise BackendError(
                f"device '{device}' is not supported by the {executor.name} executor "
                f"(devices: {', '.join(executor.devices)})"
            )


def _node_model(
    node: onnx.NodeProto,
    inputs: Any,
    outputs_info: Sequence[tuple[np.dtype, tuple[int, ...]]] | None,
    opset: int,
) -> onnx.ModelProto:
    """A one-node model whose graph inputs are the node's (non-empty) inputs."""
    names = [name for name in node.input if name]
    if isinstance(inputs, Mapping):
        arrays = [np.asarray(inputs[n]) if n in inputs else None for n in names]
    else:
        arrays = [np.asarray(a) for a in inputs]
    if len(arrays) != len(names) or any(a is None for a in arrays):
        raise BackendError(f"node '{node.op_type}' takes inputs {names}, got {len(arrays)} array(s)")
    graph_inputs = [
        helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
        for n, a in zip(names, arrays, strict=True)
    ]
    if outputs_info is not None:
        graph_outputs = [
            helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape)
            for n, (dtype, shape) in zip(node.output, outputs_info, strict=False)
        ]
    else:
        graph_outputs = [helper.make_empty_tensor_value_info(n) for n in node.output if n]
    graph = helper.make_graph([node], f"{node.op_type}_node", graph_inputs, graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    if outputs_info is not None:
        return model
    try:  # ONNX's shape inference types the outputs (the checker requires types)
        return onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as err:  # noqa: BLE001 - inference raises several unrelated types
        detail = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
        raise BackendError(
            f"node '{node.op_type}': cannot infer its output types from these inputs: {detail}"
        ) from None


# The module itself is a backend for onnx.backend.test.BackendTest.
prepare = CanopyBackend.prepare
run_model = CanopyBackend.run_model
run_node = CanopyBackend.run_node
supports_device = CanopyBackend.supports_device
is_compatible = CanopyBackend.is_compatible
