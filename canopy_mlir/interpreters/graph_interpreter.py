"""Run ``graph`` dialect modules on numpy arrays with xDSL's interpreter.

    from canopy_mlir.interpreters.graph_interpreter import run_graph
    outputs = run_graph(module, {"input": x})         # by ONNX input name
    outputs = run_graph(module, [x], function="main")  # or positionally

Every ``graph`` op runs through one generic implementation:
``getattr(graph_reference, op.REFERENCE)(*operands, **op.props_dict())``, with absent
optional operands passed as ``None`` in their declared position, and the op's result
element type passed as ``out_dtype`` to references that take it (``requantize``). The
result is checked against the op's result type (shape, and float vs integer kind) and
cast to its element type. ``graph.constant`` yields ``op.value_array()``.

Errors name the op and what went wrong (:class:`GraphInterpreterError`). Unlike xDSL's
default dispatch, a failing op does not attach a print-out of the whole module to the
exception (a ResNet's weights would be printed).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
)
from xdsl.dialects.func import FuncOp
from xdsl.interpreter import (
    Interpreter,
    InterpreterFunctions,
    OpImplResult,
    _InterpreterFunctionImpls,  # pyright: ignore[reportPrivateUsage]
    impl,
    register_impls,
)
from xdsl.interpreters.func import FuncFunctions
from xdsl.ir import Attribute, Operation
from xdsl.irdl import IRDLOperation, OptOperandDef, VarOperandDef

from canopy_mlir.dialects import graph as graph_dialect
from canopy_mlir.interpreters import graph_reference

__all__ = [
    "GraphFunctions",
    "GraphInterpreterError",
    "argument_names",
    "build_interpreter",
    "element_dtype",
    "run_graph",
]

ARGUMENT_NAME_ATTR = "onnx.name"
"""``arg_attrs`` key holding a function argument's name (the ONNX importer sets it)."""


class GraphInterpreterError(RuntimeError):
    """A graph module could not be run: bad call, bad inputs, or an op that failed."""


# ---------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------


def element_dtype(element_type: Attribute) -> np.dtype:
    """The numpy dtype of a builtin element type (``ui8`` -> uint8, ``i8``/``si8`` -> int8)."""
    if isinstance(element_type, Float32Type):
        return np.dtype(np.float32)
    if isinstance(element_type, Float64Type):
        return np.dtype(np.float64)
    if isinstance(element_type, Float16Type):
        return np.dtype(np.float16)
    if isinstance(element_type, IntegerType):
        width = element_type.width.data
        if width == 1:
            return np.dtype(np.bool_)
        if width in (8, 16, 32, 64):
            unsigned = element_type.signedness.data == Signedness.UNSIGNED
            return np.dtype(f"{'u' if unsigned else ''}int{width}")
    raise GraphInterpreterError(f"element type {element_type} has no numpy equivalent")


def _tensor_type(type_: Attribute, what: str) -> TensorType:
    if not isinstance(type_, TensorType):
        raise GraphInterpreterError(f"{what} has type {type_}; only ranked tensors are supported")
    return type_


def _describe(array: np.ndarray) -> str:
    return f"shape {tuple(array.shape)} dtype {array.dtype}"


def _expected(type_: TensorType) -> tuple[tuple[int, ...], np.dtype]:
    return tuple(type_.get_shape()), element_dtype(type_.element_type)


# ---------------------------------------------------------------------------------------
# The op implementations
# ---------------------------------------------------------------------------------------


def _op_label(op: Operation) -> str:
    hints = [r.name_hint for r in op.results if r.name_hint]
    label = f"'{op.name}'"
    if hints:
        label += f" (result %{hints[0]})"
    func = op.parent_op()
    while func is not None and not isinstance(func, FuncOp):
        func = func.parent_op()
    if func is not None:
        label += f" in @{func.sym_name.data}"
    return label


@cache
def _operand_layout(op_class: type[IRDLOperation]) -> tuple[tuple[str, str], ...]:
    """(name, 'single' | 'optional' | 'variadic') per declared operand, in order."""
    layout = []
    for name, operand_def in op_class.get_irdl_definition().operands:
        if isinstance(operand_def, OptOperandDef):
            layout.append((name, "optional"))
        elif isinstance(operand_def, VarOperandDef):
            layout.append((name, "variadic"))
        else:
            layout.append((name, "single"))
    return tuple(layout)


def _reference_arguments(op: IRDLOperation, values: Sequence[Any]) -> list[Any]:
    """The interpreter's flat operand values re-laid out as the reference's positional args.

    An absent optional operand becomes ``None`` so later operands keep their position;
    a variadic group is spliced in (only ``sum``/``concat`` have one, and it is alone).
    """
    arguments: list[Any] = []
    position = 0
    for name, kind in _operand_layout(type(op)):
        if kind == "single":
            arguments.append(values[position])
            position += 1
        elif kind == "optional":
            if getattr(op, name) is None:
                arguments.append(None)
            else:
                arguments.append(values[position])
                position += 1
        else:
            count = len(getattr(op, name))
            arguments.extend(values[position : position + count])
            position += count
    return arguments


@cache
def _reference_function(name: str) -> tuple[Callable[..., Any], bool]:
    """The reference function ``name`` and whether it takes ``out_dtype``."""
    function = getattr(graph_reference, name, None)
    if function is None or name.startswith("_") or not callable(function):
        raise GraphInterpreterError(f"graph_reference has no function '{name}'")
    return function, "out_dtype" in inspect.signature(function).parameters


def _as_result(value: Any, op: Operation) -> np.ndarray:
    """``value`` checked against and cast to the op's (single) result type."""
    shape, dtype = _expected(_tensor_type(op.results[0].type, f"the result of {_op_label(op)}"))
    array = np.asarray(value)
    if array.shape != shape:
        raise GraphInterpreterError(
            f"{_op_label(op)} computed {_describe(array)} but its result type is "
            f"{op.results[0].type}: the op's shape inference and its reference disagree"
        )
    if (array.dtype.kind == "f") != (dtype.kind == "f"):
        raise GraphInterpreterError(
            f"{_op_label(op)} computed {array.dtype} values for a {dtype} result: casting "
            f"between float and integer would silently change them"
        )
    return array.astype(dtype, copy=False)


class GraphFunctions(InterpreterFunctions):
    """xDSL interpreter functions for every op of the ``graph`` dialect.

    ``graph.constant`` has its own implementation; every other op class is registered
    (below the class) with :meth:`run_reference_op`, which dispatches on ``op.REFERENCE``.
    """

    def run_constant(
        self, interpreter: Interpreter, op: Operation, args: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        return (_as_result(op.value_array(), op),)  # pyright: ignore[reportAttributeAccessIssue]

    def run_reference_op(
        self, interpreter: Interpreter, op: Operation, args: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        assert isinstance(op, IRDLOperation)
        function, takes_out_dtype = _reference_function(op.REFERENCE)  # pyright: ignore[reportAttributeAccessIssue]
        properties = dict(op.props_dict())  # pyright: ignore[reportAttributeAccessIssue]
        if takes_out_dtype:
            properties["out_dtype"] = element_dtype(
                _tensor_type(op.results[0].type, _op_label(op)).element_type
            )
        try:
            value = function(*_reference_arguments(op, args), **properties)
        except graph_reference.GraphReferenceError as error:
            raise GraphInterpreterError(f"{_op_label(op)}: {error}") from error
        except Exception as error:  # a dialect/reference contract bug: say where
            raise GraphInterpreterError(
                f"{_op_label(op)}: reference graph_reference.{op.REFERENCE} failed with "  # pyright: ignore[reportAttributeAccessIssue]
                f"{type(error).__name__}: {error}"
            ) from error
        result = _as_result(value, op)
        return (_as_result(_with_fused_activation(op, result), op),)


def _with_fused_activation(op: Operation, value: Any) -> Any:
    """``value`` with the activation that graph-fuse-activations fused into ``op`` applied.

    The ``fused_activation`` discardable attributes (see
    ``canopy_mlir.transforms.graph_fuse_activations``) are part of the op's semantics:
    the result is the activation of what the op alone computes, in its result type
    (exactly what the separate relu/clip op computed).
    """
    if not any(key.startswith("fused_activation") for key in op.attributes):
        return value
    from canopy_mlir.transforms.graph_fuse_activations import (
        FusedActivationError,
        get_fused_activation,
    )

    try:
        activation = get_fused_activation(op)
    except FusedActivationError as error:
        raise GraphInterpreterError(str(error)) from error
    if activation is None:
        return value
    try:
        return activation.apply(np.asarray(value))
    except graph_reference.GraphReferenceError as error:
        raise GraphInterpreterError(f"{_op_label(op)}: fused {activation.name}: {error}") from error


def _graph_op_classes() -> list[type[IRDLOperation]]:
    dialect = graph_dialect.Graph
    return list(dialect.operations)


def _register_graph_ops() -> None:
    """Attach one ``@impl`` per graph op class to :class:`GraphFunctions`, then register.

    ``register_impls`` collects the class attributes carrying ``@impl`` markers, so
    marked copies of the generic method are set as attributes before it runs.
    """
    for op_class in _graph_op_classes():
        if op_class is graph_dialect.ConstantOp:
            method = GraphFunctions.run_constant
        elif hasattr(op_class, "REFERENCE"):
            method = GraphFunctions.run_reference_op
        else:
            continue  # no semantics declared: running it reports a missing implementation
        setattr(GraphFunctions, f"_impl_{op_class.__name__}", impl(op_class)(method))
    register_impls(GraphFunctions)


_register_graph_ops()


# ---------------------------------------------------------------------------------------
# Running functions
# ---------------------------------------------------------------------------------------


class _QuietImpls(_InterpreterFunctionImpls):
    """xDSL's dispatch table, minus the whole-module print-out it attaches to op errors."""

    def run(self, interpreter: Interpreter, op: Operation, args: tuple[Any, ...]) -> OpImplResult:
        entry = self._impl_dict.get(type(op))
        if entry is None:
            raise GraphInterpreterError(
                f"no interpreter implementation for '{op.name}' (the graph interpreter runs "
                f"graph and func ops)"
            )
        functions, implementation = entry
        return implementation(functions, interpreter, op, args)


def build_interpreter(module: ModuleOp) -> Interpreter:
    """An xDSL interpreter for ``module`` with the graph and func implementations."""
    interpreter = Interpreter(module, _impls=_QuietImpls())
    interpreter.register_implementations(GraphFunctions())
    interpreter.register_implementations(FuncFunctions())
    return interpreter


def _find_function(module: ModuleOp, name: str) -> FuncOp:
    functions = {op.sym_name.data: op for op in module.ops if isinstance(op, FuncOp)}
    if name not in functions:
        available = ", ".join(f"@{n}" for n in functions) or "none"
        raise GraphInterpreterError(f"the module has no function @{name} (functions: {available})")
    function = functions[name]
    if function.is_declaration:
        raise GraphInterpreterError(f"@{name} is a declaration without a body")
    return function


def argument_names(function: FuncOp) -> list[str]:
    """Each argument's ``onnx.name`` from ``arg_attrs``, else ``arg<i>``."""
    count = len(function.function_type.inputs)
    names = [f"arg{i}" for i in range(count)]
    if function.arg_attrs is not None:
        for index, attrs in enumerate(function.arg_attrs.data[:count]):
            if isinstance(attrs, DictionaryAttr):
                name = attrs.data.get(ARGUMENT_NAME_ATTR)
                if isinstance(name, StringAttr):
                    names[index] = name.data
    return names


def _ordered_inputs(function: FuncOp, inputs: Mapping[str, Any] | Sequence[Any]) -> list[Any]:
    names = argument_names(function)
    label = f"@{function.sym_name.data}"
    if isinstance(inputs, Mapping):
        missing = [n for n in names if n not in inputs]
        unknown = [k for k in inputs if k not in names]
        if missing or unknown:
            raise GraphInterpreterError(
                f"{label} takes inputs {names}; missing {missing}, unknown {unknown}"
            )
        return [inputs[n] for n in names]
    if isinstance(inputs, (str, bytes, np.ndarray)) or not isinstance(inputs, Sequence):
        raise GraphInterpreterError(
            f"inputs of {label} must be a list of arrays or a dict name -> array, got {type(inputs).__name__}"
        )
    if len(inputs) != len(names):
        raise GraphInterpreterError(
            f"{label} takes {len(names)} input(s) {names}, got {len(inputs)}"
        )
    return list(inputs)


def _checked_input(value: Any, name: str, type_: Attribute, label: str) -> np.ndarray:
    tensor = _tensor_type(type_, f"argument '{name}' of {label}")
    shape, dtype = _expected(tensor)
    if not isinstance(value, (np.ndarray, np.generic)):
        raise GraphInterpreterError(
            f"input '{name}' of {label} must be a numpy array of type {tensor}, got {type(value).__name__}"
        )
    array = np.asarray(value)
    if array.shape != shape or array.dtype != dtype:
        raise GraphInterpreterError(
            f"input '{name}' of {label} must be {tensor} (shape {shape} dtype {dtype}), "
            f"got {_describe(array)}"
        )
    return array


def run_graph(
    module: ModuleOp,
    inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray],
    function: str = "main",
) -> list[np.ndarray]:
    """Interpret ``function`` of ``module`` on ``inputs``; returns its results in order.

    ``inputs`` is a list (argument order) or a dict keyed by argument name (see
    :func:`argument_names`). Each input must have exactly the argument's shape and
    element type: nothing is converted implicitly. The returned arrays are the caller's
    (never views of the inputs or of constant data).
    """
    func_op = _find_function(module, function)
    label = f"@{function}"
    values = _ordered_inputs(func_op, inputs)
    arrays = [
        _checked_input(value, name, type_, label)
        for value, name, type_ in zip(values, argument_names(func_op), func_op.function_type.inputs)
    ]
    results = build_interpreter(module).call_op(func_op, tuple(arrays))
    return [_owned(np.asarray(result), arrays) for result in results]


def _owned(result: np.ndarray, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """``result``, copied if it is read-only (a constant's data) or may alias an input.

    Reshapes and identities return views; the caller should be free to modify outputs.
    """
    if not result.flags.writeable or any(np.may_share_memory(result, x) for x in inputs):
        return result.copy()
    return result
