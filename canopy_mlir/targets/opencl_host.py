"""The ``opencl-host`` target: a standalone C++ host program for a dma-level module.

``canopy-opt model.mlir -t opencl-host -o DIR`` (or ``-f onnx m.onnx -p canopy-default
-t opencl-host -o DIR``) writes:

- ``artifact/``: the module's ``canopy-artifact`` (:mod:`canopy_mlir.targets.canopy_artifact`
  writes it: the program reads its ``.bin`` constants at start);
- ``host.cpp``: the function's step list baked into C++ (OpenCL C API): create the pool,
  write every ``dma.constant`` once, then per inference the host ops, copies, launches
  and waits in program order; inputs and outputs are ``.npy`` files on the command line;
- ``canopy_host.hpp``: the fixed runtime (checked OpenCL calls, .npy I/O, host ops that
  are bit-identical to the graph / tile interpreters' references);
- ``vta_core.cl``: the core, built at start with the ``-D`` options of
  :func:`canopy_mlir.runtime.kernel_build.build_options` baked into ``host.cpp``;
- ``build.sh``: ``g++ -O2 -std=c++17 -ffp-contract=off host.cpp -lOpenCL -o host``.

Host ops the C++ runtime implements are :data:`SUPPORTED_HOST_OPS`; any other op is an
:class:`OpenclHostError` at emit time naming it (a program that silently computed
something else would be worse than none). See docs/opencl-host.md.
"""

from __future__ import annotations

import hashlib
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.utils.target import Target

from canopy_mlir.dialects import dma, graph, tile
from canopy_mlir.hw import INSN_BYTES, HardwareConfig
from canopy_mlir.interpreters import graph_reference
from canopy_mlir.interpreters.graph_interpreter import element_dtype
from canopy_mlir.targets.canopy_artifact import (
    ArtifactError,
    _main_function,
    describe_module,
    write_artifact,
)

NAME = "opencl-host"
RUNTIME_DIR = Path(__file__).with_name("opencl_host_runtime")
RUNTIME_HEADER = "canopy_host.hpp"
ARTIFACT_DIR = "artifact"
HOST_SOURCE = "host.cpp"
BUILD_SCRIPT = "build.sh"
EXECUTABLE = "host"
KERNEL_FILE = "vta_core.cl"
OUR_FILES = frozenset({HOST_SOURCE, RUNTIME_HEADER, BUILD_SCRIPT, EXECUTABLE, KERNEL_FILE})
GXX_FLAGS = "-O2 -std=c++17 -ffp-contract=off"
"""-ffp-contract=off: no fused multiply-adds, so float ops round as numpy's do."""

_CPP_TYPES = {
    np.dtype(np.float32): "float",
    np.dtype(np.int8): "int8_t",
    np.dtype(np.uint8): "uint8_t",
    np.dtype(np.int32): "int32_t",
    np.dtype(np.int64): "int64_t",
}


class OpenclHostError(ArtifactError):
    """A module the opencl-host target cannot turn into a C++ program (one line, exit 1)."""


# ------------------------------------------------------------------ naming
def _op_label(op: Operation) -> str:
    """The op as a user finds it: name, first result's name, location when known."""
    label = f"'{op.name}'"
    hints = [r.name_hint for r in op.results if r.name_hint]
    if hints:
        label += f" (result %{hints[0]})"
    location = str(getattr(op, "location", "") or "")
    if location and "unknown" not in location:
        label += f" at {location}"
    return label


def _cpp_type(type_: Attribute, op: Operation, what: str) -> str:
    if isinstance(type_, tile.BlockedType):
        type_ = TensorType(type_.element_type, type_.blocked_shape)
    if not isinstance(type_, TensorType):
        raise OpenclHostError(f"{NAME}: {_op_label(op)}: {what} has type {type_}, not a tensor")
    try:
        dtype = element_dtype(type_.element_type)
    except Exception:
        dtype = None
    if dtype not in _CPP_TYPES:
        raise OpenclHostError(
            f"{NAME}: {_op_label(op)}: {what} has element type {type_.element_type}; the C++ "
            f"runtime handles {', '.join(sorted(str(d) for d in _CPP_TYPES))}"
        )
    return _CPP_TYPES[dtype]


def _shape(type_: Attribute) -> tuple[int, ...]:
    if isinstance(type_, tile.BlockedType):
        return tuple(type_.blocked_shape)
    assert isinstance(type_, TensorType)
    return tuple(type_.get_shape())


def _dims(values: Any) -> str:
    return "{" + ", ".join(str(int(v)) for v in values) + "}"


# ------------------------------------------------------------------ emitter
@dataclass
class _Emitter:
    """Turns one planned dma function into the body of host.cpp."""

    function: FuncOp
    constant_files: dict[dma.ConstantOp, str]

    def __post_init__(self) -> None:
        self.names: dict[SSAValue, str] = {}
        self.globals: list[str] = []   # file-scope byte arrays of graph.constant values
        self.setup: list[str] = []     # once: constants into the pool, host constants
        self.steps: list[str] = []     # per inference
        self.outputs: list[str] = []

    # -------------------------------------------------------------- values
    def name(self, value: SSAValue) -> str:
        return self.names[value]

    def define(self, value: SSAValue) -> str:
        name = f"v{len(self.names)}"
        self.names[value] = name
        return name

    def comment(self, op: Operation) -> str:
        hints = ", ".join(f"%{r.name_hint}" for r in op.results if r.name_hint)
        return f"  // {op.name}" + (f" -> {hints}" if hints else "")

    def step(self, op: Operation, line: str) -> None:
        self.steps.append(self.comment(op))
        self.steps.append(f"  {line}")

    # -------------------------------------------------------------- walk
    def emit(self) -> None:
        for argument in self.function.args:
            self.define(argument)
        for op in self.function.body.block.ops:
            handler = _HANDLERS.get(op.name)
            if handler is None:
                raise OpenclHostError(
                    f"{NAME}: host op {_op_label(op)} in @{self.function.sym_name.data} is not "
                    f"supported by the C++ runtime (supported: {', '.join(sorted(SUPPORTED_HOST_OPS))}); "
                    "use -t canopy-artifact and the Python runtime"
                )
            _check_no_fused_activation(op)
            handler(self, op)


def _check_no_fused_activation(op: Operation) -> None:
    if not any(key.startswith("fused_activation") for key in op.attributes):
        return
    from canopy_mlir.transforms.graph_fuse_activations import get_fused_activation

    if get_fused_activation(op) is not None:
        raise OpenclHostError(
            f"{NAME}: {_op_label(op)} carries a fused activation, which the C++ runtime does not apply"
        )


def _fail(op: Operation, message: str) -> OpenclHostError:
    return OpenclHostError(f"{NAME}: {_op_label(op)}: {message}")


# -------------------------------------------------------------- dma ops
def _buffer_offset(op: Operation) -> int:
    offset = op.planned_offset  # type: ignore[attr-defined]
    if offset is None:
        raise _fail(op, "has no offset: run dma-plan-memory (canopy-default) first")
    return int(offset)


def _emit_placed(e: _Emitter, op: Operation) -> None:
    """dma.alloc / dma.constant: a byte offset in the pool; constants written at start."""
    offset = _buffer_offset(op)
    e.names[op.results[0]] = f"{offset}"
    if isinstance(op, dma.ConstantOp):
        file = e.constant_files[op]
        data = bytes(op.data())
        e.setup.append(f'  card.write_file({offset}, args.artifact + "/{file}", {len(data)}, '
                       f'"{hashlib.sha256(data).hexdigest()}");'
                       f"  // %{op.result.name_hint or 'constant'}")


def _emit_copy_to_card(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, dma.CopyToCardOp)
    offset = f"{e.name(op.buffer)} + {op.offset.value.data}"
    e.step(op, f"card.write_tensor({offset}, {e.name(op.source)});")


def _emit_copy_to_host(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, dma.CopyToHostOp)
    cpp = _cpp_type(op.result.type, op, "the result")
    offset = f"{e.name(op.buffer)} + {op.offset.value.data}"
    dims = _dims(_shape(op.result.type))
    if op.planar:
        e.step(op, f"const auto {e.define(op.result)} = card.read_byte_planes({offset}, {dims});")
        return
    e.step(op, f"const auto {e.define(op.result)} = card.read_tensor<{cpp}>({offset}, {dims});")


def _emit_launch(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, dma.LaunchOp)
    insns = op.instructions.owner
    first = _buffer_offset(insns) // INSN_BYTES + op.first_index  # type: ignore[arg-type]
    e.step(op, f"cl_event {e.define(op.results[0])} = card.launch({first}, {op.insn_count});")


def _emit_wait(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, dma.WaitOp)
    e.step(op, f"card.wait({e.name(op.operands[0])});")


def _emit_return(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, ReturnOp)
    e.outputs = [e.name(v) for v in op.arguments]


# -------------------------------------------------------------- graph / tile ops
def _emit_constant(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, graph.ConstantOp)
    array = np.ascontiguousarray(op.value_array())
    cpp = _cpp_type(op.result.type, op, "the constant")
    name = e.define(op.result)
    data = array.astype(element_dtype(op.result.type.element_type), copy=False).tobytes()  # type: ignore[attr-defined]
    if data:
        items = ",".join(f"0x{b:02x}" for b in data)
        e.globals.append(f"static const unsigned char k_{name}[] = {{{items}}};")
        source = f"k_{name}, sizeof(k_{name})"
    else:
        source = "nullptr, 0"
    shape = _shape(op.result.type)
    if array.size != math.prod(shape):
        raise _fail(op, f"holds {array.size} values for its type's shape {shape}")
    e.setup.append(f"  const auto {name} = canopy::tensor_from_bytes<{cpp}>({_dims(shape)}, {source});"
                   f"  // %{op.result.name_hint or 'constant'}")


def _operand_or_null(e: _Emitter, value: SSAValue | None) -> str:
    return "nullptr" if value is None else f"&{e.name(value)}"


def _size(type_: Attribute) -> int:
    return math.prod(_shape(type_))


def _quantization_axis(op: Operation, x_type: Attribute, scale: SSAValue, zero_point: SSAValue | None,
                       axis: int) -> int:
    """As graph_reference._quantization_axis: per tensor (one scale / zero point) or per axis."""
    shape = _shape(x_type)
    per_tensor = _size(scale.type) == 1 and (zero_point is None or _size(zero_point.type) == 1)
    if per_tensor or not shape:
        return 0
    if not -len(shape) <= axis < len(shape):
        raise _fail(op, f"axis {axis} is out of range for a rank-{len(shape)} tensor")
    axis %= len(shape)
    for what, value in (("scale", scale), ("zero point", zero_point)):
        if value is not None and _size(value.type) not in (1, shape[axis]):
            raise _fail(op, f"the {what} must have 1 or {shape[axis]} elements")
    return axis


def _require_f32_scale(op: Operation, scale: SSAValue) -> None:
    if _cpp_type(scale.type, op, "the scale") != "float":
        raise _fail(op, "the scale must be f32")


def _emit_quantize(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, graph.QuantizeLinearOp)
    tin = _cpp_type(op.input.type, op, "the input")
    tout = _cpp_type(op.result.type, op, "the result")
    if tin not in ("float", "int32_t") or tout not in ("int8_t", "uint8_t"):
        raise _fail(op, f"quantizes {tin} to {tout}; the C++ runtime quantizes f32 / i32 to i8 / ui8")
    _require_f32_scale(op, op.scale)
    axis = _quantization_axis(op, op.input.type, op.scale, op.zero_point, op.props_dict()["axis"])
    e.step(op, f"const auto {e.define(op.result)} = canopy::quantize_linear<{tin}, {tout}>("
               f"{e.name(op.input)}, {e.name(op.scale)}, {_operand_or_null(e, op.zero_point)}, {axis});")


def _emit_dequantize(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, graph.DequantizeLinearOp)
    tin = _cpp_type(op.input.type, op, "the input")
    if tin == "float" or _cpp_type(op.result.type, op, "the result") != "float":
        raise _fail(op, "the C++ runtime dequantizes integers to f32 only")
    _require_f32_scale(op, op.scale)
    if op.zero_point is not None and _cpp_type(op.zero_point.type, op, "the zero point") != tin:
        raise _fail(op, "the zero point's type differs from the input's")
    axis = _quantization_axis(op, op.input.type, op.scale, op.zero_point, op.props_dict()["axis"])
    e.step(op, f"const auto {e.define(op.result)} = canopy::dequantize_linear<{tin}>("
               f"{e.name(op.input)}, {e.name(op.scale)}, {_operand_or_null(e, op.zero_point)}, {axis});")


def _emit_requantize(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, graph.RequantizeOp)
    tin = _cpp_type(op.input.type, op, "the input")
    tout = _cpp_type(op.result.type, op, "the result")
    if tin == "float" or tout == "float":
        raise _fail(op, "requantize maps integers to integers")
    props = op.props_dict()
    multiplier = [int(m) for m in props["multiplier"]]
    shift = [int(s) for s in props["shift"]]
    shape = _shape(op.input.type)
    if not multiplier or len(multiplier) != len(shift):
        raise _fail(op, "'multiplier' and 'shift' must be equally long and non-empty")
    if min(shift) < 0 or max(shift) > 63:
        raise _fail(op, f"'shift' values {shift} must lie in [0, 63]")
    axis = int(props.get("axis", 1))
    if len(multiplier) > 1:
        if not -len(shape) <= axis < len(shape):
            raise _fail(op, f"axis {axis} is out of range for a rank-{len(shape)} tensor")
        axis %= len(shape)
        if len(multiplier) != shape[axis]:
            raise _fail(op, f"{len(multiplier)} multipliers for {shape[axis]} channels of axis {axis}")
    zero_point = int(props.get("output_zero_point", 0))
    e.step(op, f"const auto {e.define(op.result)} = canopy::requantize<{tin}, {tout}>("
               f"{e.name(op.input)}, {_dims(multiplier)}, {_dims(shift)}, {zero_point}, {axis});")


def _emit_conv_integer(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, graph.ConvIntegerOp)
    tx = _cpp_type(op.input.type, op, "the input")
    tw = _cpp_type(op.weight.type, op, "the weight")
    if tx not in ("int8_t", "uint8_t") or tw not in ("int8_t", "uint8_t"):
        raise _fail(op, "the C++ runtime convolves i8 / ui8 inputs and weights")
    props = op.props_dict()
    x_shape, w_shape = _shape(op.input.type), _shape(op.weight.type)
    try:
        strides, pads, dilations, group, out = graph_reference._conv_geometry(  # pyright: ignore[reportPrivateUsage]
            "conv_integer", np.empty(x_shape, np.int8), np.empty(w_shape, np.int8),
            props["strides"], props["pads"], props["dilations"], props["group"])
    except graph_reference.GraphReferenceError as error:
        raise _fail(op, str(error)) from None
    result_shape = _shape(op.result.type)
    if result_shape != (x_shape[0], w_shape[0], *out):
        raise _fail(op, f"result shape {result_shape} differs from the convolution's {(x_shape[0], w_shape[0], *out)}")
    if op.input_zero_point is not None and _size(op.input_zero_point.type) != 1:
        raise _fail(op, "the input zero point must be a scalar")
    if op.weight_zero_point is not None and _size(op.weight_zero_point.type) not in (1, w_shape[0]):
        raise _fail(op, f"the weight zero point must have 1 or {w_shape[0]} elements")
    for what, value, cpp in (("input", op.input_zero_point, tx), ("weight", op.weight_zero_point, tw)):
        if value is not None and _cpp_type(value.type, op, f"the {what} zero point") != cpp:
            raise _fail(op, f"the {what} zero point's type differs from the {what}'s")
    e.step(op, f"const auto {e.define(op.result)} = canopy::conv_integer<{tx}, {tw}>("
               f"{e.name(op.input)}, {e.name(op.weight)}, {_operand_or_null(e, op.input_zero_point)}, "
               f"{_operand_or_null(e, op.weight_zero_point)}, {_dims(result_shape)}, {_dims(strides)}, "
               f"{_dims(pads)}, {_dims(dilations)}, {group});")


def _emit_add(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, graph.AddOp)
    lhs, rhs = op.operands
    types = {_cpp_type(v.type, op, "an operand") for v in (lhs, rhs, op.results[0])}
    if len(types) != 1:
        raise _fail(op, "operands and result must have one element type")
    result_shape = _shape(op.results[0].type)
    try:
        broadcast = np.broadcast_shapes(_shape(lhs.type), _shape(rhs.type))
    except ValueError:
        raise _fail(op, "the operand shapes do not broadcast") from None
    if tuple(broadcast) != result_shape:
        raise _fail(op, f"result shape {result_shape} is not the broadcast shape {tuple(broadcast)}")
    e.step(op, f"const auto {e.define(op.results[0])} = canopy::add({e.name(lhs)}, {e.name(rhs)}, {_dims(result_shape)});")


def _emit_reshape(e: _Emitter, op: Operation) -> None:
    """graph.reshape / graph.flatten: same data, the result type's (static) shape."""
    source, result = op.operands[0], op.results[0]
    if _size(source.type) != _size(result.type) or _cpp_type(source.type, op, "the input") != _cpp_type(result.type, op, "the result"):
        raise _fail(op, "input and result differ in size or element type")
    e.step(op, f"const auto {e.define(result)} = canopy::reshape({e.name(source)}, {_dims(_shape(result.type))});")


def _emit_relu(e: _Emitter, op: Operation) -> None:
    _cpp_type(op.operands[0].type, op, "the input")
    e.step(op, f"const auto {e.define(op.results[0])} = canopy::relu({e.name(op.operands[0])});")


def _emit_max_pool(e: _Emitter, op: Operation) -> None:
    cpp = _cpp_type(op.operands[0].type, op, "the input")
    if cpp not in ("float", "int8_t", "uint8_t"):
        raise _fail(op, "max pooling takes f32, i8 or ui8")
    props = op.props_dict()  # type: ignore[attr-defined]
    x_shape = _shape(op.operands[0].type)
    try:  # the reference's checks (a window in padding only, bad geometry) on a dummy input
        expected = graph_reference.max_pool(np.zeros(x_shape, np.dtype(np.float32)), **props).shape
    except graph_reference.GraphReferenceError as error:
        raise _fail(op, str(error)) from None
    result_shape = _shape(op.results[0].type)
    if tuple(expected) != result_shape:
        raise _fail(op, f"result shape {result_shape} differs from the pooling's {tuple(expected)}")
    e.step(op, f"const auto {e.define(op.results[0])} = canopy::max_pool({e.name(op.operands[0])}, "
               f"{_dims(result_shape)}, {_dims(props['kernel_shape'])}, {_dims(props.get('strides', (1, 1)))}, "
               f"{_dims(props.get('pads', (0, 0, 0, 0)))}, {_dims(props.get('dilations', (1, 1)))});")


def _emit_pad(e: _Emitter, op: Operation) -> None:
    cpp = _cpp_type(op.operands[0].type, op, "the input")
    props = op.props_dict()  # type: ignore[attr-defined]
    if props.get("mode", "constant") != "constant":
        raise _fail(op, f"pad mode '{props['mode']}' is not supported by the C++ runtime (only 'constant')")
    x_shape = _shape(op.operands[0].type)
    dtype = element_dtype(op.operands[0].type.element_type)  # type: ignore[attr-defined]
    try:
        value = graph_reference._pad_value(float(props.get("value", 0.0)), dtype)  # pyright: ignore[reportPrivateUsage]
        expected = graph_reference.pad(np.zeros(x_shape, dtype), pads=props["pads"], mode="constant",
                                       value=float(props.get("value", 0.0))).shape
    except graph_reference.GraphReferenceError as error:
        raise _fail(op, str(error)) from None
    result_shape = _shape(op.results[0].type)
    if tuple(expected) != result_shape:
        raise _fail(op, f"result shape {result_shape} differs from the padding's {tuple(expected)}")
    literal = repr(float(value)) + "f" if cpp == "float" else str(int(value))
    begins = list(props["pads"])[: len(x_shape)]
    e.step(op, f"const auto {e.define(op.results[0])} = canopy::pad_constant<{cpp}>({e.name(op.operands[0])}, "
               f"{_dims(result_shape)}, {_dims(begins)}, {cpp}({literal}));")


def _blocked(op: Operation, type_: Attribute) -> tile.BlockedType:
    if not isinstance(type_, tile.BlockedType) or len(type_.blocked_shape) != 6:
        raise _fail(op, f"{type_} is not a rank-6 blocked type")
    return type_


def _grouped_args(blocked: tile.BlockedType) -> str | None:
    """``starts, groups`` of a grouped ``!tile.wgt`` for canopy::pack_grouped (else None)."""
    if not isinstance(blocked, tile.WgtType) or blocked.group_count == 1:
        return None
    _, starts = blocked.reduction()
    return f"{_dims(starts)}, {blocked.group_count}"


def _emit_layout(e: _Emitter, op: Operation) -> None:
    """tile.pack (logical -> blocked) or tile.unpack (blocked -> logical)."""
    assert isinstance(op, tile.PackOp | tile.UnpackOp)
    packing = isinstance(op, tile.PackOp)
    source, result = op.input, op.result
    blocked = _blocked(op, result.type if packing else source.type)
    logical, what = (source, "input") if packing else (result, "result")
    if tuple(_shape(logical.type)) != tuple(blocked.tensor_shape):
        raise _fail(op, f"{what} shape {_shape(logical.type)} differs from {blocked}'s {blocked.tensor_shape}")
    _cpp_type(logical.type, op, f"the {what}")
    target = blocked.blocked_shape if packing else blocked.tensor_shape
    function = "pack" if packing else "unpack"
    grouped = _grouped_args(blocked)
    call = (f"canopy::{function}({e.name(source)}, {_dims(target)})" if grouped is None else
            f"canopy::{function}_grouped({e.name(source)}, {_dims(target)}, {grouped})")
    if packing and isinstance(source.owner, graph.ConstantOp):
        # a host tile op's constant weights: packed once at start, not per inference
        e.setup.append(f"  const auto {e.define(result)} = {call};  // %{result.name_hint or 'packed'}, packed once")
        return
    e.step(op, f"const auto {e.define(result)} = {call};")


_ALU_OPCODES = {"min": "kAluMin", "max": "kAluMax", "add": "kAluAdd", "mul": "kAluMul", "shr": "kAluShr"}


def _tail_args(e: _Emitter, op: tile.ComputeOp) -> str:
    """``result, steps, operands`` of a canopy::tile_* call (the ALU tail, checked)."""
    result = _blocked(op, op.result.type)  # pyright: ignore[reportAttributeAccessIssue]
    _result_cpp(op, result)
    values = op.tail_values()
    steps = []
    for step in op.tail_steps():
        if step.opcode not in _ALU_OPCODES:
            raise _fail(op, f"tail opcode '{step.opcode}' is not one the C++ runtime knows ({', '.join(_ALU_OPCODES)})")
        if step.imm is not None:
            steps.append(f"{{canopy::{_ALU_OPCODES[step.opcode]}, true, {int(step.imm)}}}")
        else:
            if step.operand is None or not 0 <= step.operand < len(values):
                raise _fail(op, f"tail step '{step.opcode}' names operand {step.operand} of {len(values)}")
            steps.append(f"{{canopy::{_ALU_OPCODES[step.opcode]}, false, {int(step.operand)}}}")
    padded_channels = result.blocked_shape[1] * result.blocks[1]
    operands = []
    for index, value in enumerate(values):
        type_ = value.type
        _cpp_type(type_, op, f"tail operand {index}")
        if isinstance(type_, tile.BlockedType):
            if tuple(type_.blocked_shape) != tuple(result.blocked_shape):
                raise _fail(op, f"tail operand {index} ({type_}) is not laid out as the result {result}")
            operands.append(f"canopy::full_operand({e.name(value)})")
        else:
            shape = _shape(type_)
            if len(shape) != 1 or shape[0] > padded_channels:
                raise _fail(op, f"tail operand {index} has shape {shape}, not a per-channel vector of at most "
                                f"{padded_channels} values")
            operands.append(f"canopy::channel_operand({e.name(value)}, {padded_channels})")
    n, c = result.logical_extents
    return (f"canopy::BlockedResult{{{_dims(result.blocked_shape)}, {n}, {c}}}, "
            f"{{{', '.join(steps)}}}, {{{', '.join(operands)}}}")


def _result_cpp(op: Operation, result: tile.BlockedType) -> str:
    cpp = _cpp_type(result, op, "the result")
    if cpp not in ("int8_t", "uint8_t", "int32_t"):
        raise _fail(op, f"the result element must be i8, ui8 or i32, not {result.element_type}")
    return cpp


def _emit_tile_conv(e: _Emitter, op: Operation) -> None:
    """tile.conv on the host (one convert-tile-to-dma left there): canopy::tile_conv."""
    assert isinstance(op, tile.ConvOp)
    x, w = _blocked(op, op.input.type), _blocked(op, op.weight.type)
    assert isinstance(w, tile.WgtType)
    for what, type_ in (("input", x), ("weight", w)):
        if _cpp_type(type_, op, f"the {what}") not in ("int8_t", "uint8_t"):
            raise _fail(op, f"the {what} must be i8 or ui8")
    tout = _result_cpp(op, _blocked(op, op.result.type))
    params = op.params()
    _, starts = w.reduction()
    tail = _tail_args(e, op)
    e.step(op, f"const auto {e.define(op.result)} = canopy::tile_conv<{tout}>({e.name(op.input)}, {e.name(op.weight)}, "
               f"{_dims(starts)}, {_dims(params['strides'])}, {_dims(params['pads'])}, "  # pyright: ignore[reportArgumentType]
               f"{_dims(params['dilations'])}, {tail});")  # pyright: ignore[reportArgumentType]


def _emit_tile_pool(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, tile.PoolOp)
    _cpp_type(_blocked(op, op.input.type), op, "the input")
    tout = _result_cpp(op, _blocked(op, op.result.type))
    params = op.params()
    if params["kind"] not in ("max", "sum"):
        raise _fail(op, f"pool kind '{params['kind']}' is not max or sum")
    tail = _tail_args(e, op)
    e.step(op, f"const auto {e.define(op.result)} = canopy::tile_pool<{tout}>({e.name(op.input)}, "
               f"{'true' if params['kind'] == 'max' else 'false'}, {_dims(params['kernel'])}, "  # pyright: ignore[reportArgumentType]
               f"{_dims(params['strides'])}, {_dims(params['pads'])}, {tail});")  # pyright: ignore[reportArgumentType]


def _emit_tile_alu(e: _Emitter, op: Operation) -> None:
    assert isinstance(op, tile.AluOp)
    x = _blocked(op, op.input.type)
    _cpp_type(x, op, "the input")
    tout = _result_cpp(op, _blocked(op, op.result.type))
    if tuple(x.blocked_shape) != tuple(_blocked(op, op.result.type).blocked_shape):
        raise _fail(op, "input and result layouts differ")
    e.step(op, f"const auto {e.define(op.result)} = canopy::tile_alu<{tout}>({e.name(op.input)}, {_tail_args(e, op)});")


_HANDLERS: dict[str, Callable[[_Emitter, Operation], None]] = {
    "dma.alloc": _emit_placed,
    "dma.constant": _emit_placed,
    "dma.copy_to_card": _emit_copy_to_card,
    "dma.copy_to_host": _emit_copy_to_host,
    "dma.launch": _emit_launch,
    "dma.wait": _emit_wait,
    "func.return": _emit_return,
    "graph.constant": _emit_constant,
    "graph.quantize_linear": _emit_quantize,
    "graph.dequantize_linear": _emit_dequantize,
    "graph.requantize": _emit_requantize,
    "graph.conv_integer": _emit_conv_integer,
    "graph.add": _emit_add,
    "graph.reshape": _emit_reshape,
    "graph.flatten": _emit_reshape,
    "graph.relu": _emit_relu,
    "graph.max_pool": _emit_max_pool,
    "graph.pad": _emit_pad,
    "tile.pack": _emit_layout,
    "tile.unpack": _emit_layout,
    "tile.conv": _emit_tile_conv,
    "tile.pool": _emit_tile_pool,
    "tile.alu": _emit_tile_alu,
}
SUPPORTED_HOST_OPS = frozenset(n for n in _HANDLERS if not n.startswith(("dma.", "func.")))
"""The host ops the C++ runtime implements (bit-identical to the Python references)."""


# ------------------------------------------------------------------ the program
def _kernel_options(config: HardwareConfig) -> tuple[str, int]:
    """The core's -D options (SRAM in local memory; the C++ adds the pool variant) and SRAM bytes."""
    from canopy_mlir.runtime.kernel_build import build_options, sram_bytes

    return " ".join(build_options(config)), sram_bytes(config)


def _cpp_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def host_source(module: ModuleOp, constant_files: dict[dma.ConstantOp, str]) -> str:
    """The text of host.cpp for the planned dma-level ``module`` (raises OpenclHostError)."""
    function = _main_function(module)
    config = tile.config_of(function)
    if config is None:
        raise OpenclHostError(f"{NAME}: the function has no 'tile.config': run canopy-default")
    emitter = _Emitter(function, constant_files)
    emitter.emit()
    manifest = describe_module(module)
    inputs, outputs = manifest["inputs"], manifest["outputs"]
    options, sram = _kernel_options(config)
    arg_types = [_cpp_type(t, function, f"input {i['name']}") for t, i in zip(function.function_type.inputs, inputs, strict=True)]
    out_types = [_cpp_type(t, function, f"output {o['name']}") for t, o in zip(function.function_type.outputs, outputs, strict=True)]
    params = ", ".join(f"const canopy::Tensor<{t}> &{emitter.name(a)}" for t, a in zip(arg_types, function.args, strict=True))
    result_type = "std::tuple<" + ", ".join(f"canopy::Tensor<{t}>" for t in out_types) + ">"
    lines = [
        f"// host.cpp: @{function.sym_name.data} for config '{config.name}', emitted by canopy-opt -t {NAME}.",
        "// Build: ./build.sh (g++ " + GXX_FLAGS + " host.cpp -lOpenCL -o host)",
        "// Run:   ./host [--artifact DIR] [--kernel vta_core.cl] [--device SUBSTRING] [--sram auto|local|pool] [--repeat N] "
        + " ".join(f"{i['name']}.npy" for i in inputs) + " " + " ".join(f"OUT_{o['name']}.npy" for o in outputs),
        '#include "canopy_host.hpp"',
        "",
        "#include <tuple>",
        "",
        f"static const size_t kPoolBytes = {manifest['pool_bytes']};",
        f"static const size_t kPoolAlignment = {config.pool_alignment};",
        f"static const size_t kSramBytes = {sram};",
        f"static const char *kKernelOptions = {_cpp_string(options)};",
        "",
        *emitter.globals,
        "",
        "static int run(int argc, char **argv) {",
        "  const canopy::Arguments args = canopy::parse_arguments(argc, argv, {"
        + ", ".join(_cpp_string(i["name"]) for i in inputs) + "}, {"
        + ", ".join(_cpp_string(o["name"]) for o in outputs) + "});",
        "  const double start = canopy::now_ms();",
        "  canopy::Card card({args.device, args.kernel, kPoolBytes, kPoolAlignment, kSramBytes, kKernelOptions, args.sram});",
        *emitter.setup,
        "  const double ready = canopy::now_ms();",
        f"  auto infer = [&]({params}) -> {result_type} {{",
        *["  " + line for line in emitter.steps],
        "    return {" + ", ".join(emitter.outputs) + "};",
        "  };",
    ]
    for index, (type_, entry) in enumerate(zip(arg_types, inputs, strict=True)):
        lines.append(f"  const auto input{index} = canopy::read_npy<{type_}>(args.inputs[{index}], "
                     f"{_dims(entry['shape'])}, {_cpp_string(entry['name'])});")
    call = "infer(" + ", ".join(f"input{i}" for i in range(len(inputs))) + ")"
    lines += [
        f"  {result_type} results = {call};",
        "  const double first = canopy::now_ms();",
        f"  for (int i = 1; i < args.repeat; ++i) results = {call};",
        "  const double done = canopy::now_ms();",
    ]
    for index in range(len(outputs)):
        lines.append(f"  canopy::write_npy(args.outputs[{index}], std::get<{index}>(results));")
    lines += [
        '  std::fprintf(stderr, "device: %s\\nsetup: %.3f ms (kernel build, constants)\\nfirst inference: %.3f ms\\n",',
        "               card.describe().c_str(), ready - start, first - ready);",
        "  if (args.repeat > 1)",
        '    std::fprintf(stderr, "inference: %.3f ms (mean of %d more)\\n", (done - first) / (args.repeat - 1), args.repeat - 1);',
        "  return 0;",
        "}",
        "",
        "int main(int argc, char **argv) {",
        "  try {",
        "    return run(argc, argv);",
        "  } catch (const std::exception &error) {",
        '    std::fprintf(stderr, "host: error: %s\\n", error.what());',
        "    return 1;",
        "  }",
        "}",
        "",
    ]
    return "\n".join(lines)


BUILD_SH = f"""#!/bin/sh
# Builds the host program (needs g++ and the OpenCL headers / ICD loader: Debian's
# ocl-icd-opencl-dev). Extra flags: CXXFLAGS=... ./build.sh
set -e
cd "$(dirname "$0")"
exec ${{CXX:-g++}} {GXX_FLAGS} $CXXFLAGS host.cpp -o host -lOpenCL
"""


def _prepare_directory(directory: Path) -> None:
    """Refuse a directory holding files we do not write (no silent rm -rf); clear ours."""
    if directory.exists() and not directory.is_dir():
        raise OpenclHostError(f"{NAME}: {directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        ours = (path.is_file() and path.name in OUR_FILES) or (path.is_dir() and path.name == ARTIFACT_DIR)
        if not ours:
            raise OpenclHostError(
                f"{NAME}: {directory} holds {path.name}, which this target does not write; "
                "give an empty or new directory"
            )
    for path in directory.iterdir():
        if path.is_file():
            path.unlink()


def write_host_program(module: ModuleOp, directory: str | Path) -> dict[str, Any]:
    """Write the artifact, host.cpp, its runtime, the core and build.sh to ``directory``.

    The C++ is generated before anything is written, so an unsupported module leaves the
    directory untouched. Returns the artifact's manifest.
    """
    from canopy_mlir.runtime.kernel_build import kernel_path

    directory = Path(directory)
    function = _main_function(module)
    constants = [op for op in function.walk() if isinstance(op, dma.ConstantOp)]
    files = {op: f"c{index:03d}_{op.kind.data}.bin" for index, op in enumerate(constants)}
    source = host_source(module, files)
    _prepare_directory(directory)
    manifest = write_artifact(module, directory / ARTIFACT_DIR)
    written = [b["file"] for b in manifest["buffers"] if "file" in b]
    if written != list(files.values()):
        raise OpenclHostError(f"{NAME}: the artifact named its constants {written}, host.cpp expects "
                              f"{list(files.values())} (canopy_artifact's naming changed?)")
    for op, file in files.items():  # host.cpp checks the files against these checksums
        if manifest["files"].get(file) != hashlib.sha256(bytes(op.data())).hexdigest():
            raise OpenclHostError(f"{NAME}: the artifact's {file} is not the bytes of its dma.constant "
                                  "(canopy_artifact wrote something else?)")
    (directory / HOST_SOURCE).write_text(source)
    shutil.copyfile(RUNTIME_DIR / RUNTIME_HEADER, directory / RUNTIME_HEADER)
    shutil.copyfile(kernel_path(), directory / KERNEL_FILE)
    (directory / BUILD_SCRIPT).write_text(BUILD_SH)
    (directory / BUILD_SCRIPT).chmod(0o755)
    return manifest


def pocl_library() -> Path:
    """The libpocl shared library of pyopencl's wheel (raises OpenclHostError if absent)."""
    import importlib.util

    spec = importlib.util.find_spec("pyopencl")
    if spec is None or spec.origin is None:
        raise OpenclHostError("PoCL comes with pyopencl's wheel: pip install 'pyopencl[pocl]'")
    found = sorted((Path(spec.origin).parent / ".libs").glob("libpocl*.so*"))
    if not found:
        raise OpenclHostError(f"no libpocl*.so in {Path(spec.origin).parent / '.libs'}: install "
                              "pyopencl's wheel with PoCL (pip install 'pyopencl[pocl]')")
    return found[0].resolve()


def pocl_vendors_dir(directory: str | Path) -> Path:
    """``directory`` holding ``pocl.icd`` = the absolute path of pyopencl's libpocl.

    Point ``OCL_ICD_VENDORS`` at it and a program linked with the system's ICD loader
    (libOpenCL) finds PoCL's CPU device; PoCL finds its own kernel library next to itself.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "pocl.icd").write_text(f"{pocl_library()}\n")
    return directory


@dataclass(frozen=True)
class OpenclHostTarget(Target):
    """Writes a directory (``-o DIR``), not a stream: canopy-opt calls :meth:`write`."""

    name: ClassVar[str] = NAME

    def write(self, module: ModuleOp, directory: str | Path) -> dict[str, Any]:
        return write_host_program(module, directory)

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        raise OpenclHostError(f"{NAME} writes a directory: give -o DIR")


__all__ = [
    "SUPPORTED_HOST_OPS",
    "OpenclHostError",
    "OpenclHostTarget",
    "host_source",
    "pocl_library",
    "pocl_vendors_dir",
    "write_host_program",
]
