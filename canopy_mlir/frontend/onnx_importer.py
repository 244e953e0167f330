"""ONNX models to the ``graph`` dialect (see docs/graph-dialect.md).

:func:`import_onnx` turns an ONNX model (default domain, opsets 7..21, static shapes)
into one ``func.func @main`` of ``graph`` ops::

    module = import_onnx("resnet50.onnx")                      # or a ModelProto
    module = import_onnx(model, input_shapes={"x": (1, 3, 224, 224)})
    inputs, outputs = function_io_names(module)                # ONNX names, in order

:func:`check_support` is the pre-flight check (like Vitis AI's inspector): it walks the
whole model and lists *every* problem at once -- unsupported operators, attribute
values, element types, dynamic shapes, opsets, domains -- each naming the node.
``import_onnx`` runs the same walk and raises :class:`OnnxImportError` carrying that
full report when anything is unsupported, so an import never half-succeeds.

What happens at import time:

- Initializers, ``Constant`` and ``ConstantOfShape`` become numpy arrays; any node whose
  inputs are all such constants is evaluated at import time (numpy for the shape ops
  that matter for speed, ``onnx.reference`` for the rest), so ``Shape -> Gather ->
  Concat -> Reshape`` chains and weight ``Transpose``/``Unsqueeze`` disappear. Quantize,
  dequantize and integer ops are never folded: the quantization passes need them.
  A constant becomes a ``graph.constant`` only where a runtime op consumes it.
- Inputs that must be known at import time (Reshape's shape, Clip's min/max, Pad's pads,
  axes inputs, ...) become op properties; a non-constant one is reported.
- Older opsets are normalised: Softmax < 13 (coerce-to-2D) becomes flatten + softmax +
  reshape, Squeeze/Unsqueeze become ``graph.reshape``, Dropout and Identity vanish,
  ``auto_pad`` becomes explicit pads, negative axes become non-negative.
- Initializers shadow graph inputs of the same name (IR < 4 lists weights as inputs):
  they are constants, not function arguments.
- Nodes that no graph output depends on are skipped (and not checked).
- Graph input/output names are recorded as ``onnx.name`` in the function's
  ``arg_attrs``/``res_attrs`` (:func:`function_io_names` reads them back); values keep
  their ONNX names as SSA name hints where MLIR syntax allows (others are sanitised).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseIntOrFPElementsAttr,
    DictionaryAttr,
    IntegerType,
    ModuleOp,
    Signedness,
    StringAttr,
    TensorType,
    UnrealizedConversionCastOp,
    f32,
    i32,
    i64,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.irdl import IRDLOperation
from xdsl.utils.exceptions import DiagnosticException

MIN_OPSET = 7
MAX_OPSET = 21
DEFAULT_DOMAINS = ("", "ai.onnx")
ONNX_NAME_ATTR = "onnx.name"
"""Key of the ``arg_attrs``/``res_attrs`` entries that hold graph input/output names."""

# Issue kinds: what is missing for a node to import.
UNSUPPORTED_OP = "unsupported op"
UNSUPPORTED_ATTRIBUTE = "unsupported attribute"
UNSUPPORTED_DTYPE = "unsupported dtype"
DYNAMIC_SHAPE = "dynamic shape"
NON_CONSTANT_INPUT = "non-constant input"
UNSUPPORTED_OPSET = "unsupported opset"
UNSUPPORTED_DOMAIN = "unsupported domain"
INVALID_MODEL = "invalid model"
BAD_INPUT_SHAPES = "bad input_shapes"
BAD_CONSTANT_INPUTS = "bad constant_inputs"


class OnnxImportError(ValueError):
    """The model cannot be imported; ``report`` lists every reason (when there is one)."""

    def __init__(self, message: str, report: SupportReport | None = None):
        super().__init__(message)
        self.report = report


# ------------------------------------------------------------------------ report
@dataclass(frozen=True)
class SupportIssue:
    """One reason the model cannot be imported.

    ``node`` is the node's name (``#index`` when unnamed) or, for graph-level problems,
    a description such as ``graph input 'x'``; ``op_type`` is empty for those.
    ``value`` names the tensor the issue is about when there is one (the graph input
    with a dynamic shape, the run-time input a node needs as a constant), so that
    callers such as the ONNX backend can act on it without parsing ``reason``.
    """

    node: str
    op_type: str
    kind: str
    reason: str
    value: str = ""

    def __str__(self) -> str:
        where = f"node '{self.node}' ({self.op_type})" if self.op_type else self.node
        return f"{where}: {self.kind}: {self.reason}"


@dataclass(frozen=True)
class SupportReport:
    """Everything that stops a model from importing (empty ``issues`` when it imports)."""

    model_name: str
    opset: int | None
    node_count: int
    issues: tuple[SupportIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    @property
    def unsupported_op_types(self) -> Counter[str]:
        """How many nodes of each operator type the importer does not handle."""
        return Counter(i.op_type for i in self.issues if i.kind == UNSUPPORTED_OP)

    def __str__(self) -> str:
        nodes = f"{self.node_count} node{'s' if self.node_count != 1 else ''}"
        header = f"ONNX model '{self.model_name}' (opset {self.opset}, {nodes})"
        if self.ok:
            return f"{header}: supported"
        count = len(self.issues)
        problems = "1 problem prevents" if count == 1 else f"{count} problems prevent"
        lines = [f"{header}: {problems} import:"]
        lines += [f"  {issue}" for issue in self.issues]
        ops = self.unsupported_op_types
        if ops:
            summary = ", ".join(f"{op} ({n})" for op, n in sorted(ops.items()))
            lines.append(f"unsupported operators: {summary}")
        return "\n".join(lines)


# -------------------------------------------------------------- element types
_ELEMENT_TYPES: dict[int, Attribute] = {
    TensorProto.FLOAT: f32,
    TensorProto.INT8: IntegerType(8),
    TensorProto.UINT8: IntegerType(8, Signedness.UNSIGNED),
    TensorProto.INT32: i32,
    TensorProto.INT64: i64,
}
"""ONNX element types a runtime tensor (function argument, op result) may have."""

_SUPPORTED_NUMPY = {np.dtype(helper.tensor_dtype_to_np_dtype(t)) for t in _ELEMENT_TYPES}


def _onnx_dtype_name(elem_type: int) -> str:
    try:
        return TensorProto.DataType.Name(elem_type).lower()
    except ValueError:
        return f"element type {elem_type}"


def _numpy_dtype_name(dtype: np.dtype) -> str:
    return "bool" if dtype == np.bool_ else str(dtype)


def _element_type_of(dtype: np.dtype) -> Attribute:
    try:
        return _ELEMENT_TYPES[helper.np_dtype_to_tensor_dtype(dtype)]
    except (KeyError, ValueError, TypeError):
        raise _Unsupported(UNSUPPORTED_DTYPE, f"element type {_numpy_dtype_name(dtype)}") from None


# ------------------------------------------------------------ internal signals
class _Unsupported(Exception):
    """Raised inside a node handler: the node cannot be imported (becomes an issue)."""

    def __init__(self, kind: str, reason: str, value: str = ""):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.value = value


class _Downstream(Exception):
    """Raised inside a node handler that needs what an earlier, already reported,
    failure could not provide: the node is skipped without a second issue."""


class _Unknown:
    """The value of a tensor an earlier failure could not produce."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()

Value = np.ndarray | SSAValue | _Unknown
"""A tensor during import: known now (array), at run time (SSA value) or lost."""


# ------------------------------------------------------------ graph dialect
def _graph_dialect() -> ModuleType:
    from canopy_mlir.dialects import graph

    return graph


def _graph_op(name: str) -> type[IRDLOperation]:
    """The class of ``graph.<name>``."""
    return _graph_dialect().OP_BY_NAME[f"graph.{name}"]


def _has_graph_op(name: str) -> bool:
    try:
        _graph_op(name)
    except KeyError:
        return False
    return True


def _shape_errors() -> tuple[type[Exception], ...]:
    """Exceptions the dialect's builders raise for operands they reject."""
    graph_error = getattr(_graph_dialect(), "GraphError", None)
    errors: tuple[type[Exception], ...] = (DiagnosticException,)
    return errors + (graph_error,) if isinstance(graph_error, type) else errors


# --------------------------------------------------------------- SSA names
_ILLEGAL_NAME_CHARS = re.compile(r"[^\w$.-]")


def ssa_name_hint(onnx_name: str) -> str | None:
    """An MLIR-legal SSA name close to ``onnx_name`` (``gpu_0/data_0`` -> ``gpu_0_data_0``)."""
    if not onnx_name:
        return None
    name = _ILLEGAL_NAME_CHARS.sub("_", onnx_name)
    if not re.match(r"[A-Za-z_$.-]", name):
        name = "v" + name
    return name


# ------------------------------------------------------------- node context
@dataclass
class _NodeContext:
    """What a node handler sees: the node, its input values, and helpers to build IR."""

    importer: _Importer
    node: onnx.NodeProto
    inputs: list[Value | None]
    """One entry per ONNX input; ``None`` for an omitted optional input (name "")."""

    @property
    def opset(self) -> int:
        return self.importer.opset

    @property
    def op_type(self) -> str:
        return self.node.op_type

    # ---------------------------------------------------------------- attributes
    def attr(self, name: str, default: Any = None) -> Any:
        """The attribute's Python value (ints, floats, lists, decoded strings, tensors)."""
        for attribute in self.node.attribute:
            if attribute.name == name:
                value = helper.get_attribute_value(attribute)
                return value.decode() if isinstance(value, bytes) else value
        return default

    def has_attr(self, name: str) -> bool:
        return any(a.name == name for a in self.node.attribute)

    def ints_attr(self, name: str, default: Sequence[int] | None = None) -> list[int] | None:
        value = self.attr(name)
        return [int(v) for v in value] if value is not None else (
            list(default) if default is not None else None
        )

    # -------------------------------------------------------------------- inputs
    def has_input(self, index: int) -> bool:
        return index < len(self.inputs) and self.inputs[index] is not None

    def input_name(self, index: int) -> str:
        return self.node.input[index]

    @property
    def all_inputs_constant(self) -> bool:
        present = [v for v in self.inputs if v is not None]
        return all(isinstance(v, np.ndarray) for v in present)

    def _require(self, index: int, role: str) -> Value:
        if not self.has_input(index):
            raise _Unsupported(INVALID_MODEL, f"required input {index} ({role}) is missing")
        value = self.inputs[index]
        assert value is not None
        return value

    def constant(self, index: int, role: str) -> np.ndarray:
        """Input ``index`` as an array; it must be known at import time."""
        value = self._require(index, role)
        if isinstance(value, np.ndarray):
            return value
        if value in self.importer.placeholders:
            raise _Downstream()
        kind = DYNAMIC_SHAPE if role in ("shape", "axes", "pads", "repeats") else NON_CONSTANT_INPUT
        raise _Unsupported(
            kind,
            f"input {index} ({role}) '{self.input_name(index)}' must be a constant known at "
            "import time (an initializer, a Constant node, or computable from those and "
            "static shapes), but it is computed at run time",
            value=self.input_name(index),
        )

    def optional_constant(self, index: int, role: str) -> np.ndarray | None:
        return self.constant(index, role) if self.has_input(index) else None

    def operand(self, index: int, role: str) -> SSAValue:
        """Input ``index`` as an SSA value, materialising a constant as ``graph.constant``."""
        value = self._require(index, role)
        return self.importer.materialize(self.input_name(index), value)

    def optional_operand(self, index: int, role: str) -> SSAValue | None:
        return self.operand(index, role) if self.has_input(index) else None

    def shape(self, index: int) -> tuple[int, ...]:
        """The static shape of input ``index`` (constant or runtime)."""
        value = self._require(index, "input")
        if isinstance(value, np.ndarray):
            return tuple(value.shape)
        assert isinstance(value, SSAValue)
        assert isinstance(value.type, TensorType)
        return tuple(value.type.get_shape())

    def rank(self, index: int) -> int:
        return len(self.shape(index))

    def element_type(self, index: int) -> Attribute:
        value = self._require(index, "input")
        if isinstance(value, np.ndarray):
            return _element_type_of(value.dtype)
        assert isinstance(value, SSAValue) and isinstance(value.type, TensorType)
        return value.type.element_type

    # ------------------------------------------------------------------- outputs
    def output_live(self, index: int) -> bool:
        """Whether anything the graph outputs depends on output ``index``."""
        return (
            index < len(self.node.output)
            and self.node.output[index] in self.importer.live_values
        )

    # ------------------------------------------------------------------ building
    def emit(
        self, op_name: str, *operands: Any, hint: str | None = None, **props: Any
    ) -> SSAValue:
        """Build ``graph.<op_name>`` (result type inferred) after the ops built so far."""
        op = _graph_op(op_name).create(*operands, **props)  # type: ignore[attr-defined]
        self.importer.block.add_op(op)
        result = op.results[0]
        result.name_hint = ssa_name_hint(hint if hint is not None else self.node.output[0])
        return result


Handler = Callable[[_NodeContext], Sequence[Value | None]]
_HANDLERS: dict[str, Handler] = {}


def _handles(*op_types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for op_type in op_types:
            _HANDLERS[op_type] = handler
        return handler

    return register


_SELF_FOLDING = frozenset(
    {
        "Constant", "ConstantOfShape", "Identity", "Dropout", "Cast", "Shape", "Size",
        "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Transpose", "Concat", "Expand",
    }
)
"""Handlers that compute constant results themselves (with numpy, fast)."""

_NEVER_FOLD = frozenset(
    {
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv",
        "QLinearMatMul", "ConvInteger", "MatMulInteger",
        "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
        "Multinomial", "Bernoulli",
    }
)
"""Ops kept even when all their inputs are constants: quantization structure that later
passes rely on, and random generators."""


# ================================================================ shape helpers
def _normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise _Unsupported(INVALID_MODEL, f"{what} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def _normalize_axes(axes: Sequence[int], rank: int) -> list[int]:
    normalized = [_normalize_axis(int(a), rank, "axes entry") for a in axes]
    if len(set(normalized)) != len(normalized):
        raise _Unsupported(INVALID_MODEL, f"axes {list(axes)} repeat an axis")
    return normalized


def _resolve_reshape(
    in_shape: Sequence[int], spec: Sequence[int], allowzero: bool = False
) -> tuple[int, ...]:
    """ONNX Reshape's target shape with its 0 (copy) and -1 (infer) entries resolved."""
    total = math.prod(in_shape)
    out: list[int] = []
    for i, dim in enumerate(int(d) for d in spec):
        if dim == 0 and not allowzero:
            if i >= len(in_shape):
                raise _Unsupported(
                    INVALID_MODEL, f"shape entry {i} is 0 (copy) but the input has rank {len(in_shape)}"
                )
            out.append(in_shape[i])
        elif dim < -1:
            raise _Unsupported(INVALID_MODEL, f"shape {list(spec)} has a negative entry {dim}")
        else:
            out.append(dim)
    if out.count(-1) > 1:
        raise _Unsupported(INVALID_MODEL, f"shape {list(spec)} has more than one -1")
    if -1 in out:
        known = math.prod(d for d in out if d != -1)
        if known == 0 or total % known:
            raise _Unsupported(
                INVALID_MODEL, f"cannot reshape {tuple(in_shape)} to {list(spec)}"
            )
        out[out.index(-1)] = total // known
    if math.prod(out) != total:
        raise _Unsupported(
            INVALID_MODEL,
            f"cannot reshape {tuple(in_shape)} ({total} elements) to {tuple(out)}",
        )
    return tuple(out)


def _reshaped(ctx: _NodeContext, target: Sequence[int]) -> Value:
    """Input 0 reshaped to ``target``: an array when constant, else ``graph.reshape``."""
    target = tuple(int(d) for d in target)
    value = ctx.inputs[0]
    if isinstance(value, np.ndarray):
        return value.reshape(target)
    if ctx.shape(0) == target:
        return value
    return ctx.emit("reshape", ctx.operand(0, "data"), shape=target)


def _axes_input_or_attr(ctx: _NodeContext, since_opset: int, index: int = 1) -> list[int] | None:
    """``axes`` as an attribute (before ``since_opset``) or a constant input (from it)."""
    if ctx.opset < since_opset:
        return ctx.ints_attr("axes")
    axes = ctx.optional_constant(index, "axes")
    return None if axes is None else [int(a) for a in axes.reshape(-1)]


# ============================================================ constants & shapes
@_handles("Constant")
def _constant(ctx: _NodeContext) -> list[Value]:
    if ctx.has_attr("value"):
        return [_tensor_to_array(ctx.attr("value"), ctx.node.output[0])]
    scalar_forms = {
        "value_float": np.float32, "value_floats": np.float32,
        "value_int": np.int64, "value_ints": np.int64,
    }
    for name, dtype in scalar_forms.items():
        if ctx.has_attr(name):
            return [np.array(ctx.attr(name), dtype=dtype)]
    present = [a.name for a in ctx.node.attribute]
    raise _Unsupported(
        UNSUPPORTED_ATTRIBUTE,
        f"Constant given as {present or 'nothing'}: only value, value_float(s) and "
        "value_int(s) are supported (no strings or sparse tensors)",
    )


@_handles("ConstantOfShape")
def _constant_of_shape(ctx: _NodeContext) -> list[Value]:
    shape = [int(d) for d in ctx.constant(0, "shape").reshape(-1)]
    if any(d < 0 for d in shape):
        raise _Unsupported(INVALID_MODEL, f"shape {shape} has a negative dimension")
    fill = ctx.attr("value")
    fill_array = (
        np.zeros((1,), np.float32) if fill is None else _tensor_to_array(fill, "value")
    )
    if fill_array.size != 1:
        raise _Unsupported(INVALID_MODEL, "the value attribute must hold exactly one element")
    # A zero-strided view: no memory, and it becomes a one-element (splat) constant.
    return [np.broadcast_to(fill_array.reshape(()), shape)]


@_handles("Identity")
def _identity(ctx: _NodeContext) -> list[Value]:
    return [ctx._require(0, "input")]


@_handles("Dropout")
def _dropout(ctx: _NodeContext) -> list[Value | None]:
    """Inference-mode dropout: the output is the input and the mask is all true."""
    if ctx.opset >= 12 and ctx.has_input(2):
        training = ctx.constant(2, "training_mode")
        if bool(training.reshape(-1)[0]):
            raise _Unsupported(UNSUPPORTED_ATTRIBUTE, "training_mode=True (only inference)")
    data = ctx._require(0, "data")
    mask = np.ones(ctx.shape(0), dtype=np.bool_) if ctx.output_live(1) else None
    return [data, mask]


@_handles("Cast")
def _cast(ctx: _NodeContext) -> list[Value]:
    if not ctx.has_attr("to"):
        raise _Unsupported(INVALID_MODEL, "Cast needs a 'to' attribute")
    to = int(ctx.attr("to"))
    try:
        np_dtype = helper.tensor_dtype_to_np_dtype(to)
    except (KeyError, ValueError):
        raise _Unsupported(UNSUPPORTED_DTYPE, f"Cast to {_onnx_dtype_name(to)}") from None
    value = ctx._require(0, "input")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "OSU" or np.dtype(np_dtype).kind in "OSU":
            raise _Unsupported(UNSUPPORTED_DTYPE, "Cast from or to strings")
        return [value.astype(np_dtype)]
    if to in _ELEMENT_TYPES and ctx.element_type(0) == _ELEMENT_TYPES[to]:
        return [value]
    # A runtime cast: graph.cast covers i8 / ui8 / i32 / f32 both ways (ONNX's
    # ``saturate`` only concerns float8 types, so it is accepted and has no effect).
    cast_names = {TensorProto.INT8: "i8", TensorProto.UINT8: "ui8", TensorProto.INT32: "i32", TensorProto.FLOAT: "f32"}
    source = ctx.element_type(0)
    if to in cast_names and source in [_ELEMENT_TYPES[t] for t in cast_names]:
        return [ctx.emit("cast", value, to=cast_names[to])]
    raise _Unsupported(
        UNSUPPORTED_OP,
        f"Cast of a runtime {source} tensor to {_onnx_dtype_name(to)} (graph.cast converts "
        "between int8, uint8, int32 and float32 only)",
    )


@_handles("Shape")
def _shape(ctx: _NodeContext) -> list[Value]:
    dims = list(ctx.shape(0))
    if ctx.opset >= 15:
        start, end = ctx.attr("start", 0), ctx.attr("end")
        dims = dims[start:end]
    return [np.array(dims, dtype=np.int64)]


@_handles("Size")
def _size(ctx: _NodeContext) -> list[Value]:
    return [np.array(math.prod(ctx.shape(0)), dtype=np.int64)]


@_handles("Reshape")
def _reshape(ctx: _NodeContext) -> list[Value]:
    spec = ctx.constant(1, "shape").reshape(-1)
    allowzero = ctx.opset >= 14 and bool(ctx.attr("allowzero", 0))
    return [_reshaped(ctx, _resolve_reshape(ctx.shape(0), spec, allowzero))]


@_handles("Squeeze")
def _squeeze(ctx: _NodeContext) -> list[Value]:
    shape = ctx.shape(0)
    axes = _axes_input_or_attr(ctx, since_opset=13)
    if axes is None:
        squeezed = {i for i, d in enumerate(shape) if d == 1}
    else:
        squeezed = set(_normalize_axes(axes, len(shape)))
        wrong = [a for a in sorted(squeezed) if shape[a] != 1]
        if wrong:
            raise _Unsupported(
                INVALID_MODEL, f"cannot squeeze axes {wrong} of shape {shape}: size is not 1"
            )
    return [_reshaped(ctx, [d for i, d in enumerate(shape) if i not in squeezed])]


@_handles("Unsqueeze")
def _unsqueeze(ctx: _NodeContext) -> list[Value]:
    shape = ctx.shape(0)
    axes = _axes_input_or_attr(ctx, since_opset=13)
    if axes is None:
        raise _Unsupported(INVALID_MODEL, "Unsqueeze needs axes")
    out_rank = len(shape) + len(axes)
    inserted = set(_normalize_axes(axes, out_rank))
    rest = iter(shape)
    return [_reshaped(ctx, [1 if i in inserted else next(rest) for i in range(out_rank)])]


@_handles("Flatten")
def _flatten(ctx: _NodeContext) -> list[Value]:
    shape = ctx.shape(0)
    axis = int(ctx.attr("axis", 1))
    if axis < 0:
        axis += len(shape)
    if not 0 <= axis <= len(shape):
        raise _Unsupported(INVALID_MODEL, f"axis {ctx.attr('axis')} is out of range for rank {len(shape)}")
    value = ctx.inputs[0]
    if isinstance(value, np.ndarray):
        return [value.reshape(math.prod(shape[:axis]), math.prod(shape[axis:]))]
    return [ctx.emit("flatten", ctx.operand(0, "input"), axis=axis)]


@_handles("Transpose")
def _transpose(ctx: _NodeContext) -> list[Value]:
    rank = ctx.rank(0)
    perm = ctx.ints_attr("perm", list(reversed(range(rank))))
    assert perm is not None
    if sorted(perm) != list(range(rank)):
        raise _Unsupported(INVALID_MODEL, f"perm {perm} is not a permutation of rank {rank}")
    value = ctx.inputs[0]
    if isinstance(value, np.ndarray):
        return [value.transpose(perm)]
    return [ctx.emit("transpose", ctx.operand(0, "data"), perm=tuple(perm))]


@_handles("Concat")
def _concat(ctx: _NodeContext) -> list[Value]:
    if not ctx.has_attr("axis"):
        raise _Unsupported(INVALID_MODEL, "Concat needs an axis attribute")
    count = len(ctx.inputs)
    axis = _normalize_axis(int(ctx.attr("axis")), ctx.rank(0))
    if ctx.all_inputs_constant:
        arrays = [ctx.constant(i, "input") for i in range(count)]
        return [np.concatenate(arrays, axis=axis)]
    operands = [ctx.operand(i, f"input {i}") for i in range(count)]
    return [ctx.emit("concat", operands, axis=axis)]


@_handles("Expand")
def _expand(ctx: _NodeContext) -> list[Value]:
    """Expand: constants broadcast now; a runtime tensor adds a zero splat of the
    broadcast shape (the graph dialect's add broadcasts), or vanishes if the shape is kept."""
    spec = [int(d) for d in ctx.constant(1, "shape").reshape(-1)]
    shape = ctx.shape(0)
    try:
        out_shape = np.broadcast_shapes(shape, tuple(spec))
    except ValueError:
        raise _Unsupported(INVALID_MODEL, f"cannot expand {shape} to {spec}") from None
    value = ctx.inputs[0]
    if isinstance(value, np.ndarray):
        return [np.array(np.broadcast_to(value, out_shape))]
    if out_shape == shape:
        return [value]
    zeros = ctx.importer.materialize_array(
        np.zeros(out_shape, dtype=_numpy_dtype_of(ctx.element_type(0))), f"{ctx.node.output[0]}_zeros"
    )
    return [ctx.emit("add", ctx.operand(0, "input"), zeros)]


def _numpy_dtype_of(element_type: Attribute) -> np.dtype:
    for onnx_type, attribute in _ELEMENT_TYPES.items():
        if attribute == element_type:
            return np.dtype(helper.tensor_dtype_to_np_dtype(onnx_type))
    raise _Unsupported(UNSUPPORTED_DTYPE, f"element type {element_type}")


# ================================================================ elementwise
_BINARY_OPS = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div"}


@_handles(*_BINARY_OPS)
def _binary(ctx: _NodeContext) -> list[Value]:
    lhs, rhs = ctx.operand(0, "A"), ctx.operand(1, "B")
    return [ctx.emit(_BINARY_OPS[ctx.op_type], lhs, rhs)]


@_handles("Relu", "Sigmoid")
def _unary(ctx: _NodeContext) -> list[Value]:
    return [ctx.emit(ctx.op_type.lower(), ctx.operand(0, "X"))]


@_handles("LeakyRelu")
def _leaky_relu(ctx: _NodeContext) -> list[Value]:
    return [ctx.emit("leaky_relu", ctx.operand(0, "X"), alpha=float(ctx.attr("alpha", 0.01)))]


@_handles("HardSigmoid")
def _hard_sigmoid(ctx: _NodeContext) -> list[Value]:
    alpha, beta = float(ctx.attr("alpha", 0.2)), float(ctx.attr("beta", 0.5))
    return [ctx.emit("hard_sigmoid", ctx.operand(0, "X"), alpha=alpha, beta=beta)]


_FLOAT32_MAX = float(np.finfo(np.float32).max)


@_handles("Clip")
def _clip(ctx: _NodeContext) -> list[Value]:
    """Clip's bounds become properties; Clip < 11 defaults to +-FLT_MAX, Clip >= 11 to
    no bound (which the dialect spells +-inf)."""
    if ctx.opset < 11:
        low, high = float(ctx.attr("min", -_FLOAT32_MAX)), float(ctx.attr("max", _FLOAT32_MAX))
    else:
        low = _scalar_input(ctx, 1, "min", -math.inf)
        high = _scalar_input(ctx, 2, "max", math.inf)
    return [ctx.emit("clip", ctx.operand(0, "input"), min=low, max=high)]


def _scalar_input(ctx: _NodeContext, index: int, role: str, default: float) -> float:
    value = ctx.optional_constant(index, role)
    if value is None:
        return default
    if value.size != 1:
        raise _Unsupported(INVALID_MODEL, f"{role} must be a scalar, got shape {value.shape}")
    return float(value.reshape(()))


@_handles("Sum")
def _sum(ctx: _NodeContext) -> list[Value]:
    operands = [ctx.operand(i, f"input {i}") for i in range(len(ctx.inputs))]
    if not operands:
        raise _Unsupported(INVALID_MODEL, "Sum needs at least one input")
    return [ctx.emit("sum", operands)]


@_handles("Softmax")
def _softmax(ctx: _NodeContext) -> list[Value]:
    """Softmax >= 13 maps directly; older opsets normalise over all axes from ``axis``
    on, which is flatten(axis) + softmax(1) + reshape back (or plain softmax on the
    last axis when ``axis`` is the last one)."""
    shape = ctx.shape(0)
    rank = len(shape)
    axis = _normalize_axis(int(ctx.attr("axis", -1 if ctx.opset >= 13 else 1)), rank)
    operand = ctx.operand(0, "input")
    if ctx.opset >= 13 or axis == rank - 1:
        return [ctx.emit("softmax", operand, axis=axis)]
    out = ctx.node.output[0]
    flat = ctx.emit("flatten", operand, axis=axis, hint=f"{out}_2d")
    normalized = ctx.emit("softmax", flat, axis=1, hint=f"{out}_2d_softmax")
    return [ctx.emit("reshape", normalized, shape=shape)]


# ====================================================================== linear
@_handles("Gemm")
def _gemm(ctx: _NodeContext) -> list[Value]:
    a, b = ctx.operand(0, "A"), ctx.operand(1, "B")
    operands = [a, b] + ([ctx.operand(2, "C")] if ctx.has_input(2) else [])
    return [
        ctx.emit(
            "gemm", *operands,
            alpha=float(ctx.attr("alpha", 1.0)), beta=float(ctx.attr("beta", 1.0)),
            trans_a=int(ctx.attr("transA", 0)), trans_b=int(ctx.attr("transB", 0)),
        )
    ]


@_handles("MatMul")
def _matmul(ctx: _NodeContext) -> list[Value]:
    return [ctx.emit("matmul", ctx.operand(0, "A"), ctx.operand(1, "B"))]


@_handles("MatMulInteger")
def _matmul_integer(ctx: _NodeContext) -> list[Value]:
    operands = [
        ctx.operand(0, "A"), ctx.operand(1, "B"),
        ctx.optional_operand(2, "a_zero_point"), ctx.optional_operand(3, "b_zero_point"),
    ]
    return [ctx.emit("matmul_integer", *_trim_trailing_none(operands))]


@_handles("QLinearMatMul")
def _qlinear_matmul(ctx: _NodeContext) -> list[Value]:
    roles = ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point",
             "y_scale", "y_zero_point"]
    return [ctx.emit("qlinear_matmul", *[ctx.operand(i, r) for i, r in enumerate(roles)])]


def _trim_trailing_none(operands: list[SSAValue | None]) -> list[SSAValue | None]:
    while operands and operands[-1] is None:
        operands.pop()
    return operands


@_handles("BatchNormalization")
def _batch_norm(ctx: _NodeContext) -> list[Value]:
    if ctx.opset < 9 and int(ctx.attr("spatial", 1)) != 1:
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, "spatial=0 (per-activation statistics)")
    if ctx.opset >= 14 and int(ctx.attr("training_mode", 0)):
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, "training_mode=1 (only inference)")
    if any(ctx.output_live(i) for i in range(1, 5)):
        raise _Unsupported(
            UNSUPPORTED_ATTRIBUTE, "running mean/variance outputs are used (training mode)"
        )
    roles = ["X", "scale", "B", "input_mean", "input_var"]
    operands = [ctx.operand(i, r) for i, r in enumerate(roles)]
    return [ctx.emit("batch_norm", *operands, epsilon=float(ctx.attr("epsilon", 1e-5)))]


# ============================================================== conv & pooling
def _require_2d(ctx: _NodeContext, rank: int, what: str) -> None:
    if rank != 4:
        spatial = rank - 2
        raise _Unsupported(
            UNSUPPORTED_OP,
            f"{ctx.op_type} over {spatial} spatial dimension{'s' if spatial != 1 else ''} "
            f"({what} has rank {rank}): only 2-D (NCHW) is supported",
        )


def _pair(ctx: _NodeContext, name: str, default: Sequence[int]) -> tuple[int, ...]:
    values = ctx.ints_attr(name, default)
    assert values is not None
    if len(values) != len(default):
        raise _Unsupported(
            INVALID_MODEL, f"{name} {values} must have {len(default)} entries for a 2-D op"
        )
    return tuple(values)


def _window_pads(
    ctx: _NodeContext,
    spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> tuple[int, ...]:
    """Explicit [top, left, bottom, right] pads, resolving ``auto_pad``.

    ONNX's 2-D pads [x1_begin, x2_begin, x1_end, x2_end] are already in that order.
    SAME_* pads so that out = ceil(in / stride), the odd pixel at the end (UPPER) or
    the beginning (LOWER); VALID pads nothing.
    """
    auto_pad = ctx.attr("auto_pad", "NOTSET")
    if auto_pad == "NOTSET":
        return _pair(ctx, "pads", (0, 0, 0, 0))
    if auto_pad == "VALID":
        return (0, 0, 0, 0)
    if auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, f"auto_pad={auto_pad!r}")
    begins, ends = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations):
        out = -(-size // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return (*begins, *ends)


def _conv_props(ctx: _NodeContext, input_index: int, weight_index: int) -> dict[str, Any]:
    """strides/pads/dilations/group of a Conv-like node whose input and weight are the
    given inputs (2-D only; ``kernel_shape``, when given, must match the weight)."""
    in_shape, w_shape = ctx.shape(input_index), ctx.shape(weight_index)
    _require_2d(ctx, len(in_shape), "input")
    _require_2d(ctx, len(w_shape), "weight")
    kernel = tuple(w_shape[2:])
    if ctx.has_attr("kernel_shape") and tuple(ctx.ints_attr("kernel_shape") or ()) != kernel:
        raise _Unsupported(
            INVALID_MODEL,
            f"kernel_shape {ctx.ints_attr('kernel_shape')} disagrees with the weight shape {w_shape}",
        )
    strides = _pair(ctx, "strides", (1, 1))
    dilations = _pair(ctx, "dilations", (1, 1))
    pads = _window_pads(ctx, in_shape[2:], kernel, strides, dilations)
    return {
        "strides": strides, "pads": pads, "dilations": dilations,
        "group": int(ctx.attr("group", 1)),
    }


@_handles("Conv")
def _conv(ctx: _NodeContext) -> list[Value]:
    props = _conv_props(ctx, 0, 1)
    operands = [ctx.operand(0, "X"), ctx.operand(1, "W")]
    if ctx.has_input(2):
        operands.append(ctx.operand(2, "B"))
    return [ctx.emit("conv", *operands, **props)]


@_handles("ConvInteger")
def _conv_integer(ctx: _NodeContext) -> list[Value]:
    props = _conv_props(ctx, 0, 1)
    operands = [
        ctx.operand(0, "x"), ctx.operand(1, "w"),
        ctx.optional_operand(2, "x_zero_point"), ctx.optional_operand(3, "w_zero_point"),
    ]
    return [ctx.emit("conv_integer", *_trim_trailing_none(operands), **props)]


@_handles("QLinearConv")
def _qlinear_conv(ctx: _NodeContext) -> list[Value]:
    props = _conv_props(ctx, 0, 3)
    roles = ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point",
             "y_scale", "y_zero_point"]
    operands = [ctx.operand(i, r) for i, r in enumerate(roles)]
    if ctx.has_input(8):
        operands.append(ctx.operand(8, "B"))
    return [ctx.emit("qlinear_conv", *operands, **props)]


def _pool_geometry(ctx: _NodeContext, dilations: Sequence[int]) -> dict[str, Any]:
    in_shape = ctx.shape(0)
    _require_2d(ctx, len(in_shape), "input")
    if not ctx.has_attr("kernel_shape"):
        raise _Unsupported(INVALID_MODEL, "kernel_shape is required")
    kernel = _pair(ctx, "kernel_shape", (1, 1))
    strides = _pair(ctx, "strides", (1, 1))
    pads = _window_pads(ctx, in_shape[2:], kernel, strides, dilations)
    ceil_mode = int(ctx.attr("ceil_mode", 0)) if ctx.opset >= 10 else 0
    return {"kernel_shape": kernel, "strides": strides, "pads": pads, "ceil_mode": ceil_mode}


@_handles("MaxPool")
def _max_pool(ctx: _NodeContext) -> list[Value]:
    if int(ctx.attr("storage_order", 0)) != 0:
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, "storage_order=1 (only row-major, 0)")
    if ctx.output_live(1):
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, "the Indices output is used (only Y is supported)")
    _require_2d(ctx, ctx.rank(0), "input")
    dilations = _pair(ctx, "dilations", (1, 1)) if ctx.opset >= 10 else (1, 1)
    props = _pool_geometry(ctx, dilations)
    return [ctx.emit("max_pool", ctx.operand(0, "X"), dilations=dilations, **props)]


@_handles("AveragePool")
def _average_pool(ctx: _NodeContext) -> list[Value]:
    _require_2d(ctx, ctx.rank(0), "input")
    dilations = _pair(ctx, "dilations", (1, 1)) if ctx.opset >= 19 else (1, 1)
    if dilations != (1, 1):
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, f"dilations={list(dilations)} (only 1s)")
    props = _pool_geometry(ctx, dilations)
    count_include_pad = int(ctx.attr("count_include_pad", 0))
    return [
        ctx.emit("average_pool", ctx.operand(0, "X"), count_include_pad=count_include_pad, **props)
    ]


@_handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(ctx: _NodeContext) -> list[Value]:
    _require_2d(ctx, ctx.rank(0), "input")
    name = "global_average_pool" if ctx.op_type == "GlobalAveragePool" else "global_max_pool"
    return [ctx.emit(name, ctx.operand(0, "X"))]


@_handles("LRN")
def _lrn(ctx: _NodeContext) -> list[Value]:
    """LRN needs ``graph.lrn``, which the dialect may not define (no decomposition into
    the other graph ops exists: it needs a fractional power)."""
    if not _has_graph_op("lrn"):
        raise _Unsupported(UNSUPPORTED_OP, "LRN (the graph dialect has no lrn op)")
    _require_2d(ctx, ctx.rank(0), "input")
    return [
        ctx.emit(
            "lrn", ctx.operand(0, "X"), size=int(ctx.attr("size")),
            alpha=float(ctx.attr("alpha", 1e-4)), beta=float(ctx.attr("beta", 0.75)),
            bias=float(ctx.attr("bias", 1.0)),
        )
    ]


@_handles("ReduceMean")
def _reduce_mean(ctx: _NodeContext) -> list[Value]:
    rank = ctx.rank(0)
    axes = _axes_input_or_attr(ctx, since_opset=18)
    keepdims = int(ctx.attr("keepdims", 1))
    if not axes:
        if ctx.opset >= 18 and int(ctx.attr("noop_with_empty_axes", 0)):
            return [ctx._require(0, "data")]
        axes = list(range(rank))
    normalized = sorted(_normalize_axes(axes, rank))
    return [
        ctx.emit("reduce_mean", ctx.operand(0, "data"), axes=tuple(normalized), keepdims=keepdims)
    ]


@_handles("Pad")
def _pad(ctx: _NodeContext) -> list[Value]:
    """Pad's pads/value (inputs from opset 11, optional axes from 18) become properties
    in ONNX order: all begins, then all ends, over every axis."""
    rank = ctx.rank(0)
    mode = ctx.attr("mode", "constant")
    if mode not in ("constant", "reflect", "edge"):
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, f"mode={mode!r} (only constant, reflect, edge)")
    if ctx.opset < 11:
        pads = ctx.ints_attr("pads")
        if pads is None:
            raise _Unsupported(INVALID_MODEL, "pads attribute is required")
        value = float(ctx.attr("value", 0.0))
    else:
        pads = [int(p) for p in ctx.constant(1, "pads").reshape(-1)]
        value = _scalar_input(ctx, 2, "constant_value", 0.0)
        if ctx.opset >= 18 and ctx.has_input(3):
            axes = _normalize_axes(ctx.constant(3, "axes").reshape(-1), rank)
            pads = _pads_over_all_axes(pads, axes, rank)
    if len(pads) != 2 * rank:
        raise _Unsupported(INVALID_MODEL, f"pads {pads} must have {2 * rank} entries (rank {rank})")
    if any(p < 0 for p in pads):
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, f"negative pads {pads} (cropping)")
    return [ctx.emit("pad", ctx.operand(0, "data"), pads=tuple(pads), mode=mode, value=value)]


def _pads_over_all_axes(pads: Sequence[int], axes: Sequence[int], rank: int) -> list[int]:
    if len(pads) != 2 * len(axes):
        raise _Unsupported(INVALID_MODEL, f"pads {list(pads)} must have {2 * len(axes)} entries")
    full = [0] * (2 * rank)
    for j, axis in enumerate(axes):
        full[axis], full[axis + rank] = pads[j], pads[j + len(axes)]
    return full


# ================================================================ quantization
def _quantization_axis(ctx: _NodeContext, scale_index: int) -> dict[str, int]:
    """The normalised ``axis`` property for per-axis scales; nothing for per-tensor."""
    if ctx.opset >= 21 and int(ctx.attr("block_size", 0)):
        raise _Unsupported(UNSUPPORTED_ATTRIBUTE, "block_size != 0 (blocked quantization)")
    scale_shape = ctx.shape(scale_index)
    if len(scale_shape) == 0:
        # Per-tensor: ONNX ignores axis, but the default 1 is out of range below rank 2.
        return {"axis": 0} if ctx.rank(0) < 2 else {}
    if ctx.opset < 13 or len(scale_shape) != 1:
        raise _Unsupported(
            INVALID_MODEL,
            f"scale of shape {scale_shape}: per-axis scales need opset >= 13 and a 1-D scale",
        )
    return {"axis": _normalize_axis(int(ctx.attr("axis", 1)), ctx.rank(0))}


def _scalar_if_single(ctx: _NodeContext, index: int, role: str) -> None:
    """A one-element 1-D scale or zero point means per-tensor (as in ONNX Runtime):
    make it a scalar so the graph op does not read it as per-axis."""
    if not ctx.has_input(index) or ctx.shape(index) != (1,):
        return
    value = ctx.inputs[index]
    if isinstance(value, np.ndarray):
        ctx.inputs[index] = value.reshape(())
    else:
        name = f"{ctx.input_name(index)}_scalar"
        ctx.inputs[index] = ctx.emit("reshape", ctx.operand(index, role), shape=(), hint=name)


def _per_tensor_params(ctx: _NodeContext) -> None:
    for index, role in ((1, "scale"), (2, "zero_point")):
        _scalar_if_single(ctx, index, role)


@_handles("QuantizeLinear")
def _quantize_linear(ctx: _NodeContext) -> list[Value]:
    _per_tensor_params(ctx)
    props = _quantization_axis(ctx, 1)
    operands = [ctx.operand(0, "x"), ctx.operand(1, "y_scale")]
    if ctx.has_input(2):
        operands.append(ctx.operand(2, "y_zero_point"))
    else:
        output_dtype = int(ctx.attr("output_dtype", 0)) if ctx.opset >= 21 else 0
        if output_dtype not in (0, TensorProto.UINT8, TensorProto.INT8):
            raise _Unsupported(UNSUPPORTED_DTYPE, f"output_dtype {_onnx_dtype_name(output_dtype)}")
        if output_dtype == TensorProto.INT8:
            zero = np.zeros(ctx.shape(1), dtype=np.int8)
            operands.append(ctx.importer.materialize_array(zero, f"{ctx.node.output[0]}_zero_point"))
    return [ctx.emit("quantize_linear", *operands, **props)]


@_handles("DequantizeLinear")
def _dequantize_linear(ctx: _NodeContext) -> list[Value]:
    _per_tensor_params(ctx)
    props = _quantization_axis(ctx, 1)
    operands = [ctx.operand(0, "x"), ctx.operand(1, "x_scale")]
    if ctx.has_input(2):
        operands.append(ctx.operand(2, "x_zero_point"))
    return [ctx.emit("dequantize_linear", *operands, **props)]


# ================================================================== the walk
def _tensor_to_array(tensor: onnx.TensorProto, name: str) -> np.ndarray:
    if tensor.data_location == TensorProto.EXTERNAL and not tensor.raw_data:
        raise _Unsupported(
            INVALID_MODEL,
            f"tensor '{name}' keeps its data in an external file that was not loaded "
            "(load the model from its path, or with onnx.load(..., load_external_data=True))",
        )
    try:
        return numpy_helper.to_array(tensor)
    except Exception as err:  # noqa: BLE001 - onnx raises several unrelated types here
        raise _Unsupported(INVALID_MODEL, f"cannot read tensor '{name}': {err}") from None


def _live_values(graph: onnx.GraphProto) -> tuple[set[str], list[bool]]:
    """Values the graph outputs depend on, and whether each node produces one of them."""
    live = {output.name for output in graph.output}
    node_live = [False] * len(graph.node)
    for index in range(len(graph.node) - 1, -1, -1):
        node = graph.node[index]
        if any(name in live for name in node.output):
            node_live[index] = True
            live.update(name for name in node.input if name)
    return live, node_live


def _has_subgraph(node: onnx.NodeProto) -> bool:
    return any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute)


@dataclass(frozen=True)
class _OnnxType:
    """A value's type as ONNX shape inference sees it (dims None where unknown)."""

    elem_type: int
    dims: tuple[int | None, ...] | None

    @property
    def static_dims(self) -> tuple[int, ...] | None:
        if self.dims is None or any(d is None for d in self.dims):
            return None
        return tuple(int(d) for d in self.dims)  # type: ignore[arg-type]


def _onnx_type(value_info: onnx.ValueInfoProto) -> _OnnxType | None:
    type_proto = value_info.type
    if type_proto.WhichOneof("value") != "tensor_type":
        return None
    tensor_type = type_proto.tensor_type
    if not tensor_type.HasField("shape"):
        return _OnnxType(tensor_type.elem_type, None)
    dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim)
    return _OnnxType(tensor_type.elem_type, dims)


class _Importer:
    """One import (or support check) of one model; collects issues instead of stopping."""

    LARGE_INITIALIZER = 4096
    """Initializers with more elements are shown to shape inference by type only."""

    def __init__(
        self,
        model: onnx.ModelProto,
        input_shapes: Mapping[str, Sequence[int]] | None,
        function_name: str,
        constant_inputs: Mapping[str, Any] | None = None,
    ):
        self.model = model
        self.graph = model.graph
        self.function_name = function_name
        self.input_shapes = {k: tuple(int(d) for d in v) for k, v in (input_shapes or {}).items()}
        self.declared_opset = self._default_opset()
        self.opset = self.declared_opset if self.declared_opset is not None else MAX_OPSET
        """The default-domain opset the walk follows (the latest when none is declared)."""
        self.issues: list[SupportIssue] = []
        self.values: dict[str, Value] = {}
        self.materialized: dict[tuple[str, tuple[int, ...], str], SSAValue] = {}
        self.placeholders: set[SSAValue] = set()
        self.initializers = {t.name: t for t in self.graph.initializer}
        self.constant_inputs = {k: np.asarray(v) for k, v in (constant_inputs or {}).items()}
        self.sparse_initializers = {t.values.name for t in self.graph.sparse_initializer}
        self.live_values, self.node_live = _live_values(self.graph)
        self.block = Block()
        self.inferred: dict[str, _OnnxType] = {}

    # ------------------------------------------------------------------ issues
    def report_issue(self, node: str, op_type: str, kind: str, reason: str,
                     value: str = "") -> None:
        self.issues.append(SupportIssue(node, op_type, kind, reason, value))

    def report(self) -> SupportReport:
        return SupportReport(
            model_name=self.graph.name or "(unnamed)",
            opset=self.declared_opset,
            node_count=len(self.graph.node),
            issues=tuple(self.issues),
        )

    # ---------------------------------------------------------------- opsets
    def _default_opset(self) -> int | None:
        versions = [o.version for o in self.model.opset_import if o.domain in DEFAULT_DOMAINS]
        return max(versions) if versions else None

    def check_opset(self) -> None:
        if self.declared_opset is None:
            self.report_issue(
                "model", "", UNSUPPORTED_OPSET, "the model imports no default-domain (ai.onnx) opset"
            )
        elif not MIN_OPSET <= self.opset <= MAX_OPSET:
            self.report_issue(
                "model", "", UNSUPPORTED_OPSET,
                f"default-domain opset {self.opset} is outside the supported range "
                f"{MIN_OPSET}..{MAX_OPSET}",
            )

    # ---------------------------------------------------------- graph inputs
    def runtime_inputs(self) -> list[onnx.ValueInfoProto]:
        return [i for i in self.graph.input if i.name not in self.initializers]

    def bind_constant_inputs(self) -> None:
        """Turn the caller's ``constant_inputs`` into initializers (after checking that
        each names a graph input and matches its declared element type and shape)."""
        declared = {i.name: i for i in self.runtime_inputs()}
        for name, array in self.constant_inputs.items():
            where = f"constant_inputs['{name}']"
            value_info = declared.get(name)
            if value_info is None:
                self.report_issue(
                    where, "", BAD_CONSTANT_INPUTS,
                    f"'{name}' is not a graph input (inputs: {', '.join(sorted(declared)) or 'none'})",
                )
                continue
            problem = _constant_input_mismatch(value_info, array)
            if problem:
                self.report_issue(where, "", BAD_CONSTANT_INPUTS, problem)
                continue
            self.initializers[name] = numpy_helper.from_array(array, name)

    def check_input_shapes_argument(self) -> None:
        names = {i.name for i in self.runtime_inputs()}
        for name in self.input_shapes:
            if name not in names:
                self.report_issue(
                    f"input_shapes['{name}']", "", BAD_INPUT_SHAPES,
                    f"'{name}' is not a graph input (inputs: {', '.join(sorted(names)) or 'none'})",
                )

    def input_dims(self, value_info: onnx.ValueInfoProto) -> tuple[int, ...] | None:
        """The static shape of a graph input (caller's override applied); reports and
        returns None when it is not static, or not a supported tensor."""
        where = f"graph input '{value_info.name}'"
        declared = _onnx_type(value_info)
        if declared is None:
            self.report_issue(where, "", UNSUPPORTED_DTYPE, "is not a tensor (sequence, map or optional)")
            return None
        if declared.elem_type not in _ELEMENT_TYPES:
            self.report_issue(
                where, "", UNSUPPORTED_DTYPE,
                f"has element type {_onnx_dtype_name(declared.elem_type)} (supported: "
                "float32, int8, uint8, int32, int64)",
            )
            return None
        override = self.input_shapes.get(value_info.name)
        if override is not None:
            return self._checked_override(where, declared, override)
        if declared.dims is None:
            self.report_issue(
                where, "", DYNAMIC_SHAPE,
                f"has no declared shape: pass input_shapes={{'{value_info.name}': (...)}} "
                f"(canopy-import --input-shape {value_info.name}=D0,D1,...)",
                value=value_info.name,
            )
            return None
        dynamic = [i for i, d in enumerate(declared.dims) if d is None]
        if dynamic:
            dims = value_info.type.tensor_type.shape.dim
            named = ", ".join(
                f"{i} ('{dims[i].dim_param}')" if dims[i].dim_param else f"{i} (unknown)"
                for i in dynamic
            )
            example = tuple(1 if d is None else d for d in declared.dims)
            self.report_issue(
                where, "", DYNAMIC_SHAPE,
                f"has dynamic dimension{'s' if len(dynamic) > 1 else ''} {named} of shape "
                f"{_format_dims(declared.dims)}: pass input_shapes={{'{value_info.name}': {example}}} "
                f"(canopy-import --input-shape {value_info.name}={','.join(map(str, example))})",
                value=value_info.name,
            )
            return None
        return declared.static_dims

    def _checked_override(
        self, where: str, declared: _OnnxType, override: tuple[int, ...]
    ) -> tuple[int, ...] | None:
        if any(d < 0 for d in override):
            self.report_issue(where, "", BAD_INPUT_SHAPES, f"input_shapes gives negative dims {override}")
            return None
        if declared.dims is None:
            return override
        if len(override) != len(declared.dims):
            self.report_issue(
                where, "", BAD_INPUT_SHAPES,
                f"input_shapes gives rank {len(override)} {override}, the model declares rank "
                f"{len(declared.dims)} {_format_dims(declared.dims)}",
            )
            return None
        clashes = [i for i, (d, o) in enumerate(zip(declared.dims, override)) if d is not None and d != o]
        if clashes:
            self.report_issue(
                where, "", BAD_INPUT_SHAPES,
                f"input_shapes gives {override} but the model fixes dimension"
                f"{'s' if len(clashes) > 1 else ''} {', '.join(map(str, clashes))} of "
                f"{_format_dims(declared.dims)}",
            )
            return None
        return override

    # ------------------------------------------------------- shape inference
    def infer_onnx_types(self, input_dims: Mapping[str, tuple[int, ...]]) -> None:
        """Run ONNX shape inference on a light copy of the graph (large initializers
        shown by type only, caller's input shapes applied); keeps what it finds."""
        view = onnx.ModelProto()
        view.ir_version = self.model.ir_version
        view.opset_import.extend(self.model.opset_import)
        view.functions.extend(self.model.functions)
        graph = view.graph
        graph.name = self.graph.name
        graph.node.extend(self.graph.node)
        graph.output.extend(self.graph.output)
        listed = set()
        for value_info in self.graph.input:
            listed.add(value_info.name)
            if value_info.name in input_dims:
                dims = input_dims[value_info.name]
                elem = value_info.type.tensor_type.elem_type
                graph.input.append(helper.make_tensor_value_info(value_info.name, elem, dims))
            else:
                graph.input.append(value_info)
        for tensor in self.initializers.values():
            if math.prod(tensor.dims) <= self.LARGE_INITIALIZER and tensor.data_location != TensorProto.EXTERNAL:
                graph.initializer.append(tensor)
            elif tensor.name not in listed:
                graph.input.append(
                    helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))
                )
        try:
            inferred = onnx.shape_inference.infer_shapes(view, strict_mode=False, data_prop=True)
        except Exception:  # noqa: BLE001 - inference only refines reports and cross-checks
            return
        for value_info in [*inferred.graph.value_info, *inferred.graph.output]:
            onnx_type = _onnx_type(value_info)
            if onnx_type is not None and onnx_type.elem_type:
                self.inferred[value_info.name] = onnx_type

    # ---------------------------------------------------------------- values
    def lookup(self, name: str) -> Value | None:
        """The value named ``name`` (initializers read on first use); None if undefined."""
        if name in self.values:
            return self.values[name]
        tensor = self.initializers.get(name)
        if tensor is None:
            return None
        array = _tensor_to_array(tensor, name)
        self.values[name] = array
        return array

    def materialize(self, name: str, value: Value) -> SSAValue:
        """``value`` as an SSA value: a constant becomes one ``graph.constant`` per name."""
        if isinstance(value, SSAValue):
            return value
        if isinstance(value, _Unknown):
            raise _Downstream()
        key = (name, value.shape, value.dtype.str)  # a handler may pass a reshaped view
        cached = self.materialized.get(key)
        if cached is None:
            cached = self.materialize_array(value, name)
            self.materialized[key] = cached
        return cached

    def materialize_array(self, array: np.ndarray, name: str) -> SSAValue:
        if array.dtype not in _SUPPORTED_NUMPY:
            raise _Unsupported(
                UNSUPPORTED_DTYPE,
                f"tensor '{name}' has element type {_numpy_dtype_name(array.dtype)} (supported: "
                "float32, int8, uint8, int32, int64; bool only inside constant folding)",
            )
        self.block.add_op(op := _constant_op(array))
        op.results[0].name_hint = ssa_name_hint(name)
        return op.results[0]

    def placeholder(self, name: str) -> Value:
        """A stand-in for a value a reported node could not produce: typed (so that
        later nodes are still checked) when ONNX shape inference knows its type."""
        onnx_type = self.inferred.get(name)
        dims = onnx_type.static_dims if onnx_type else None
        if onnx_type is None or dims is None or onnx_type.elem_type not in _ELEMENT_TYPES:
            return UNKNOWN
        op = UnrealizedConversionCastOp.get([], [TensorType(_ELEMENT_TYPES[onnx_type.elem_type], dims)])
        self.block.add_op(op)
        self.placeholders.add(op.results[0])
        return op.results[0]

    # ----------------------------------------------------------------- nodes
    def node_label(self, index: int, node: onnx.NodeProto) -> str:
        """The node's name; unnamed nodes are ``#index -> first output``."""
        if node.name:
            return node.name
        return f"#{index} -> {node.output[0]}" if node.output else f"#{index}"

    def convert_node(self, index: int, node: onnx.NodeProto) -> None:
        label = self.node_label(index, node)
        try:
            outputs = self._outputs_of(node)
        except _Unsupported as problem:
            self.report_issue(label, node.op_type, problem.kind, problem.reason, problem.value)
            outputs = None
        except _Downstream:
            outputs = None
        except _shape_errors() as err:
            self.report_issue(label, node.op_type, INVALID_MODEL, str(err).strip())
            outputs = None
        except (TypeError, ValueError, KeyError, IndexError) as err:
            # Malformed nodes (a missing required attribute, a wrongly typed one) that no
            # handler check anticipated: still one line in the report, not a traceback.
            reason = f"cannot import this node ({type(err).__name__}: {err})"
            self.report_issue(label, node.op_type, INVALID_MODEL, reason)
            outputs = None
        if outputs is None:
            for name in node.output:
                if name:
                    self.values[name] = self.placeholder(name)
            return
        for position, (name, value) in enumerate(zip(node.output, outputs)):
            if name and value is not None:
                self.values[name] = value
                self._cross_check(label, node, position, name, value)

    def _outputs_of(self, node: onnx.NodeProto) -> Sequence[Value | None]:
        if node.domain not in DEFAULT_DOMAINS:
            raise _Unsupported(
                UNSUPPORTED_DOMAIN,
                f"operator domain '{node.domain}' (only the default ONNX domain is supported)",
            )
        inputs: list[Value | None] = []
        for name in node.input:
            if not name:
                inputs.append(None)
                continue
            value = self.lookup(name)
            if value is None:
                kind = UNSUPPORTED_DTYPE if name in self.sparse_initializers else INVALID_MODEL
                reason = (
                    f"input '{name}' is a sparse initializer (not supported)"
                    if kind == UNSUPPORTED_DTYPE
                    else f"input '{name}' is not produced by an earlier node, a graph input or an initializer"
                )
                raise _Unsupported(kind, reason)
            inputs.append(value)
        if any(isinstance(v, _Unknown) for v in inputs):
            raise _Downstream()
        context = _NodeContext(self, node, inputs)
        op_type = node.op_type
        handler = _HANDLERS.get(op_type)
        foldable = (
            context.all_inputs_constant
            and op_type not in _NEVER_FOLD
            and op_type not in _SELF_FOLDING
            and not _has_subgraph(node)
            and bool(node.input)
        )
        if foldable:
            try:
                return _evaluate_constant_node(context)
            except _Unsupported:
                if handler is None:
                    raise
        if handler is None:
            raise _Unsupported(UNSUPPORTED_OP, _unsupported_op_reason(op_type))
        return handler(context)

    def _cross_check(
        self, label: str, node: onnx.NodeProto, position: int, name: str, value: Value
    ) -> None:
        """Report an output whose shape differs from what ONNX shape inference says:
        an import that disagrees with ONNX must not pass silently."""
        expected = self.inferred.get(name)
        dims = expected.static_dims if expected else None
        if dims is None:
            return
        if isinstance(value, np.ndarray):
            actual = tuple(value.shape)
        elif isinstance(value, SSAValue) and isinstance(value.type, TensorType):
            actual = tuple(value.type.get_shape())
        else:
            return
        if actual != dims:
            self.report_issue(
                label, node.op_type, INVALID_MODEL,
                f"output {position} '{name}' gets shape {actual}, but the model's declared or "
                f"ONNX-inferred shape is {dims}",
            )

    # ----------------------------------------------------------------- whole
    def run(self) -> ModuleOp | None:
        """Walk the model; returns the module, or None when any issue was reported."""
        self.check_opset()
        self.bind_constant_inputs()
        self.check_input_shapes_argument()
        arguments = self._function_arguments()
        self.infer_onnx_types({vi.name: dims for vi, dims in arguments})
        self.block = Block(arg_types=[TensorType(self._input_element_type(vi), dims) for vi, dims in arguments])
        for argument, (value_info, _) in zip(self.block.args, arguments):
            argument.name_hint = ssa_name_hint(value_info.name)
            self.values[value_info.name] = argument
        for index, node in enumerate(self.graph.node):
            if self.node_live[index]:
                self.convert_node(index, node)
        results = self._function_results()
        if self.issues:
            return None
        self.block.add_op(ReturnOp(*results))
        return self._module(arguments, results)

    def _input_element_type(self, value_info: onnx.ValueInfoProto) -> Attribute:
        return _ELEMENT_TYPES[value_info.type.tensor_type.elem_type]

    def _function_arguments(self) -> list[tuple[onnx.ValueInfoProto, tuple[int, ...]]]:
        arguments = []
        for value_info in self.runtime_inputs():
            dims = self.input_dims(value_info)
            if dims is None:
                self.values[value_info.name] = UNKNOWN
            else:
                arguments.append((value_info, dims))
        return arguments

    def _function_results(self) -> list[SSAValue]:
        results = []
        for output in self.graph.output:
            where = f"graph output '{output.name}'"
            value = self.lookup(output.name)
            if value is None:
                self.report_issue(where, "", INVALID_MODEL, "is not produced by any node, input or initializer")
                continue
            try:
                results.append(self.materialize(output.name, value))
            except _Unsupported as problem:
                self.report_issue(where, "", problem.kind, problem.reason, problem.value)
            except _Downstream:
                pass
        return results

    def _module(
        self, arguments: list[tuple[onnx.ValueInfoProto, tuple[int, ...]]], results: list[SSAValue]
    ) -> ModuleOp:
        def names(values: Sequence[str]) -> ArrayAttr[DictionaryAttr]:
            return ArrayAttr([DictionaryAttr({ONNX_NAME_ATTR: StringAttr(n)}) for n in values])

        function = FuncOp(
            self.function_name,
            ([a.type for a in self.block.args], [r.type for r in results]),
            Region(self.block),
            arg_attrs=names([vi.name for vi, _ in arguments]),
            res_attrs=names([o.name for o in self.graph.output]),
        )
        return ModuleOp([function])


def _constant_op(array: np.ndarray) -> Operation:
    """``graph.constant`` of ``array``; a broadcast view of one value (as ConstantOfShape
    makes) is stored as one element, so zoo models' splat weights cost nothing."""
    constant = _graph_op("constant")
    if array.size > 1 and not any(array.strides):
        graph = _graph_dialect()
        one = graph.dense_attr_from_array(np.ascontiguousarray(array.reshape(-1)[:1]))
        splat = DenseIntOrFPElementsAttr(TensorType(one.type.element_type, array.shape), one.data)
        return constant.create(value=splat)  # type: ignore[attr-defined]
    return constant.from_array(array)  # type: ignore[attr-defined]


_FOLD_ONLY_OPS = frozenset(
    {"Gather", "GatherElements", "Slice", "Range", "Where", "Equal", "Tile", "Split",
     "ReduceProd", "NonZero", "Less", "Greater", "Not", "And", "Or"}
)
"""Shape-computation ops that import only when they fold (all inputs constant)."""


def _unsupported_op_reason(op_type: str) -> str:
    if op_type in _FOLD_ONLY_OPS:
        return (
            f"operator {op_type} on a run-time tensor is not supported (it is only "
            "evaluated at import time, when all its inputs are constants)"
        )
    return f"operator {op_type} is not supported"


def _constant_input_mismatch(value_info: onnx.ValueInfoProto, array: np.ndarray) -> str | None:
    """Why ``array`` cannot stand for the graph input ``value_info`` (None if it can)."""
    declared = _onnx_type(value_info)
    if declared is None:
        return "the graph input is not a tensor"
    try:
        elem_type = helper.np_dtype_to_tensor_dtype(array.dtype)
    except (KeyError, ValueError, TypeError):
        return f"numpy dtype {array.dtype} has no ONNX element type"
    if declared.elem_type and elem_type != declared.elem_type:
        return (
            f"array of {_onnx_dtype_name(elem_type)} for an input of "
            f"{_onnx_dtype_name(declared.elem_type)}"
        )
    if declared.dims is not None and (
        len(declared.dims) != array.ndim
        or any(d is not None and d != a for d, a in zip(declared.dims, array.shape))
    ):
        return f"array of shape {tuple(array.shape)} for an input of shape {_format_dims(declared.dims)}"
    return None


def _format_dims(dims: Sequence[int | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _evaluate_constant_node(ctx: _NodeContext) -> list[Value]:
    """Run a node whose inputs are all constants with ONNX's reference implementation."""
    from onnx.reference import ReferenceEvaluator

    feeds = {name: value for name, value in zip(ctx.node.input, ctx.inputs) if name}
    try:
        evaluator = ReferenceEvaluator(ctx.node, opsets={"": ctx.opset})
        results = evaluator.run(None, feeds)
    except Exception as err:  # noqa: BLE001 - any evaluator failure is reported
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = f"cannot evaluate this all-constant {ctx.op_type} at import time: {message}"
        kind = UNSUPPORTED_OP if ctx.op_type not in _HANDLERS else INVALID_MODEL
        raise _Unsupported(kind, reason) from None
    arrays: list[Value] = []
    for result in results:
        if not isinstance(result, np.ndarray | np.generic):
            raise _Unsupported(
                UNSUPPORTED_DTYPE, f"{ctx.op_type} produces a {type(result).__name__}, not a tensor"
            )
        arrays.append(np.asarray(result))
    return arrays


# ================================================================== public API
def _load_model(model: onnx.ModelProto | str | Path) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if not isinstance(model, str | Path):
        raise TypeError(f"expected an onnx.ModelProto or a path, got {type(model).__name__}")
    try:
        return onnx.load(str(model))
    except FileNotFoundError:
        raise OnnxImportError(f"cannot read ONNX model '{model}': no such file") from None
    except OSError as err:
        raise OnnxImportError(f"cannot read ONNX model '{model}': {err}") from None
    except Exception as err:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise OnnxImportError(f"'{model}' is not a valid ONNX model file: {err}") from None


def _run(
    model: onnx.ModelProto | str | Path,
    input_shapes: Mapping[str, Sequence[int]] | None,
    function_name: str,
    constant_inputs: Mapping[str, Any] | None,
) -> tuple[ModuleOp | None, SupportReport]:
    importer = _Importer(_load_model(model), input_shapes, function_name, constant_inputs)
    module = importer.run()
    return module, importer.report()


def check_support(
    model: onnx.ModelProto | str | Path,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    constant_inputs: Mapping[str, np.ndarray] | None = None,
) -> SupportReport:
    """Every reason ``model`` would not import, without raising (``report.ok`` if none).

    Takes :func:`import_onnx`'s keywords. Raises :class:`OnnxImportError` only when
    ``model`` is a path that cannot be read.
    """
    return _run(model, input_shapes, "main", constant_inputs)[1]


def import_onnx(
    model: onnx.ModelProto | str | Path,
    *,
    function_name: str = "main",
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    constant_inputs: Mapping[str, np.ndarray] | None = None,
) -> ModuleOp:
    """The model as a module holding ``func.func @<function_name>`` of ``graph`` ops.

    ``input_shapes`` fixes graph inputs' dynamic dimensions (``{"x": (1, 3, 224, 224)}``).
    ``constant_inputs`` binds graph inputs to arrays at import time: they fold like
    initializers and are not function arguments (for models that take a Reshape shape,
    Pad pads or Clip bounds as inputs).
    Raises :class:`OnnxImportError` whose message is the full :class:`SupportReport`
    when anything is unsupported.
    """
    module, report = _run(model, input_shapes, function_name, constant_inputs)
    if module is None:
        raise OnnxImportError(str(report), report)
    return module


def function_io_names(
    module: ModuleOp, function_name: str | None = None
) -> tuple[list[str], list[str]]:
    """The ONNX names of the imported function's inputs and outputs, in order.

    ``function_name`` picks the function; by default the module's only one.
    """
    functions = [op for op in module.ops if isinstance(op, FuncOp)]
    if function_name is not None:
        functions = [f for f in functions if f.sym_name.data == function_name]
    if len(functions) != 1:
        wanted = f"@{function_name}" if function_name else "exactly one func.func"
        raise ValueError(f"the module has no single {wanted} (found {len(functions)})")
    function = functions[0]
    return (
        _names_of(function.arg_attrs, len(function.function_type.inputs), function, "argument"),
        _names_of(function.res_attrs, len(function.function_type.outputs), function, "result"),
    )


def _names_of(
    attrs: ArrayAttr[DictionaryAttr] | None, count: int, function: FuncOp, what: str
) -> list[str]:
    names = []
    for index in range(count):
        entry = attrs.data[index].data.get(ONNX_NAME_ATTR) if attrs is not None else None
        if not isinstance(entry, StringAttr):
            raise ValueError(  # noqa: TRY004 - a missing name, not a caller's wrong type
                f"{what} {index} of @{function.sym_name.data} has no '{ONNX_NAME_ATTR}' string "
                "attribute (was the function imported from ONNX?)"
            )
        names.append(entry.data)
    return names


def supported_op_types() -> list[str]:
    """ONNX operators the importer handles on runtime tensors (any operator folds when
    all its inputs are constants, except quantization ops and random generators)."""
    names = set(_HANDLERS)
    if not _has_graph_op("lrn"):
        names.discard("LRN")
    return sorted(names)


__all__ = [
    "MAX_OPSET",
    "MIN_OPSET",
    "ONNX_NAME_ATTR",
    "OnnxImportError",
    "SupportIssue",
    "SupportReport",
    "check_support",
    "function_io_names",
    "import_onnx",
    "ssa_name_hint",
    "supported_op_types",
]

