"""The ``graph`` dialect: ONNX-level tensor ops on static ``tensor<...>`` types.

``docs/graph-dialect.md`` is the contract (op names, operands, property names and
defaults); this module implements it. Every op is an :class:`GraphOp`:

- ``XxxOp.create(*operands, result_type=None, attributes=None, **props)`` builds an op
  from SSA values and plain Python property values (defaults filled in), inferring the
  result type; bad shapes or types raise :class:`GraphError` naming the op and problem.
- ``XxxOp.infer_result_type(operand_types, **props)`` is the ONNX shape/type inference
  (used by ``create``, the verifier and the importer).
- ``op.props_dict()`` gives every property (defaults filled in) as a Python value under
  its documented name, so ``graph_reference.<op.REFERENCE>(*arrays, **op.props_dict())``
  evaluates the op.

Custom syntax (properties at their default are not printed)::

    %c = graph.constant dense<"0x0000803F..."> : tensor<64x3x7x7xf32>
    %y = graph.conv %x, %c {strides = [2, 2], pads = [3, 3, 3, 3]}
        : (tensor<1x3x224x224xf32>, tensor<64x3x7x7xf32>) -> tensor<1x64x112x112xf32>
    %s = graph.sum %a, %b : (tensor<4xf32>, tensor<1xf32>) -> tensor<4xf32>

Property values are written like their Python values (``[1, 2]``, ``1``, ``0.5``, ``-inf``,
``"edge"``). Optional operands are listed in order; when an absent optional operand is
followed by a present one (e.g. only ``weight_zero_point`` of ``graph.conv_integer``) the
dictionary also carries ``operandSegmentSizes = [1, 1, 0, 1]``. Discardable attributes
follow as ``attributes {...}``. Constants always print their data as one hexadecimal
string (one element when every element is equal), never as a literal list: a ResNet-50's
weights print and parse in seconds.

Properties built by ``create`` or parsed from the custom form are stored explicitly,
defaults included, so the generic form shows every value; generic IR that leaves an
optional property out reads as its default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
from xdsl.dialect_interfaces.op_asm import OpAsmDialectInterface
from xdsl.dialects.builtin import (
    Builtin,
    BytesAttr,
    DenseArrayBase,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    Signedness,
    StringAttr,
    TensorType,
    f32,
    f64,
    i1,
    i32,
    i64,
)
from xdsl.ir import Attribute, Dialect, Operation, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    OptionalDef,
    VariadicDef,
    base,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import Parser, UnresolvedOperand
from xdsl.printer import Printer
from xdsl.traits import ConstantLike, HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.tools.printing import ELIDED_VALUE, should_elide_dense


class GraphError(ValueError):
    """A graph op whose operands, properties or result type break docs/graph-dialect.md."""


# ------------------------------------------------------------------ element types
i8 = IntegerType(8)
ui8 = IntegerType(8, Signedness.UNSIGNED)

FLOAT = (f32, f64)
QUANTIZED = (i8, ui8)
NUMERIC = (f32, f64, i8, ui8, i32, i64)
SIGNED_NUMERIC = (f32, f64, i8, i32, i64)
ANY_ELEMENT = (*NUMERIC, i1)

_NUMPY_DTYPES: dict[Attribute, np.dtype] = {
    f32: np.dtype("<f4"),
    f64: np.dtype("<f8"),
    i8: np.dtype("i1"),
    ui8: np.dtype("u1"),
    i32: np.dtype("<i4"),
    i64: np.dtype("<i8"),
    i1: np.dtype("u1"),  # one byte per element; value_array turns it into bool
}
_ELEMENT_OF_KIND = {
    ("f", 4): f32,
    ("f", 8): f64,
    ("i", 1): i8,
    ("u", 1): ui8,
    ("i", 4): i32,
    ("i", 8): i64,
    ("b", 1): i1,
}
_I64_MIN, _I64_MAX = -(1 << 63), (1 << 63) - 1


def _names(types: Sequence[Attribute]) -> str:
    return "/".join(str(t) for t in types)


# ------------------------------------------------------------------- properties
class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""Default of a property that has none: ``create`` and the verifier demand it."""

Default = Any  # a value, REQUIRED, or a function of the aligned operand types


@dataclass(frozen=True)
class PropSpec:
    """How one property is stored, converted and defaulted.

    ``kind`` is the docs' property type: ``i64`` (IntegerAttr i64), ``f32`` (FloatAttr
    f64), ``ints`` (``array<i64: ...>``), ``str`` (StringAttr) or ``dense`` (the
    constant's value). A callable ``default`` derives the value from the operand types
    (e.g. one stride per spatial axis).
    """

    kind: str
    default: Default

    def default_for(self, op_name: str, prop: str, types: list) -> Any:
        if self.default is REQUIRED:
            raise GraphError(f"{op_name}: property '{prop}' is required")
        if callable(self.default):
            return self.default(types)
        return list(self.default) if isinstance(self.default, list) else self.default

    def normalise(self, op_name: str, prop: str, value: Any) -> Any:
        """``value`` as the canonical Python value of this kind, or GraphError."""
        if isinstance(value, Attribute) and self.kind != "dense":
            return self.from_attr(value)
        if self.kind == "i64":
            return _as_int(op_name, f"property '{prop}'", value)
        if self.kind == "f32":
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise GraphError(f"{op_name}: property '{prop}' must be a number, got {value!r}")
            return float(value)
        if self.kind == "ints":
            if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
                raise GraphError(
                    f"{op_name}: property '{prop}' must be a list of integers, got {value!r}"
                )
            return [_as_int(op_name, f"property '{prop}' element", v) for v in value]
        if self.kind == "str":
            if not isinstance(value, str):
                raise GraphError(f"{op_name}: property '{prop}' must be a string, got {value!r}")
            return value
        return value  # dense: ConstantOp converts it

    def to_attr(self, value: Any) -> Attribute:
        if self.kind == "i64":
            return _int_attr(value)
        if self.kind == "f32":
            return FloatAttr(value, f64)
        if self.kind == "ints":
            return DenseArrayBase.from_list(i64, value)
        if self.kind == "str":
            return StringAttr(value)
        return value

    def from_attr(self, attr: Attribute) -> Any:
        if self.kind in ("i64", "f32") and isinstance(attr, IntegerAttr | FloatAttr):
            value = attr.value.data
            return float(value) if self.kind == "f32" else int(value)
        if self.kind == "ints" and isinstance(attr, DenseArrayBase):
            return [int(v) for v in attr.get_values()]
        if self.kind == "str" and isinstance(attr, StringAttr):
            return attr.data
        if self.kind == "dense":
            return attr
        raise GraphError(f"a {self.kind} property cannot hold {attr}")


_CONSTRAINTS = {
    "i64": IntegerAttr[IntegerType],
    "f32": FloatAttr[Float64Type],
    "ints": DenseArrayBase.constr(i64),
    "str": StringAttr,
    "dense": base(DenseIntOrFPElementsAttr) | base(DenseResourceAttr),
}
_FIELD_SPECS: dict[int, tuple[object, PropSpec]] = {}
_SPECS_BY_CLASS: dict[type, dict[str, PropSpec]] = {}


def _prop(kind: str, default: Default) -> Any:
    """An IRDL property field whose kind and default GraphOp subclasses pick up."""
    constraint = _CONSTRAINTS[kind]
    field = prop_def(constraint) if default is REQUIRED else opt_prop_def(constraint)
    _FIELD_SPECS[id(field)] = (field, PropSpec(kind, default))
    return field


def _i64(default: Default = REQUIRED) -> IntegerAttr:
    return _prop("i64", default)


def _f32(default: Default = REQUIRED) -> FloatAttr:
    return _prop("f32", default)


def _ints(default: Default = REQUIRED) -> DenseArrayBase:
    return _prop("ints", default)


def _str(default: Default = REQUIRED) -> StringAttr:
    return _prop("str", default)


@cache
def _int_attr(value: int) -> IntegerAttr:
    return IntegerAttr(value, i64)


def _as_int(op_name: str, what: str, value: Any) -> int:
    if isinstance(value, bool | np.bool_ | int | np.integer):
        result = int(value)
        if not _I64_MIN <= result <= _I64_MAX:
            raise GraphError(f"{op_name}: {what} = {result} does not fit in 64 bits")
        return result
    raise GraphError(f"{op_name}: {what} must be an integer, got {value!r}")


def _rank(t: Attribute | None) -> int:
    return len(t.get_shape()) if isinstance(t, TensorType) else 0


def _spatial_rank(types: list) -> int:
    return max(_rank(types[0]) - 2, 0)


def _spatial_ones(types: list) -> list[int]:
    return [1] * _spatial_rank(types)


def _spatial_zero_pads(types: list) -> list[int]:
    return [0] * (2 * _spatial_rank(types))


def _all_axes(types: list) -> list[int]:
    return list(range(_rank(types[0])))


def _reversed_axes(types: list) -> list[int]:
    return list(reversed(range(_rank(types[0]))))


def _rank_zero_pads(types: list) -> list[int]:
    return [0] * (2 * _rank(types[0]))


# ---------------------------------------------------------------- float syntax
def _format_float(value: float) -> str:
    """Shortest round-tripping spelling that MLIR's lexer reads as a float."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    mantissa, sep, exponent = repr(float(value)).partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + sep + exponent


def _parse_float_value(parser: Parser, what: str) -> float:
    negative = parser.parse_optional_punctuation("-") is not None
    special = parser.parse_optional_keyword_in(("inf", "nan"))
    if special is not None:
        value = math.inf if special == "inf" else math.nan
    else:
        value = float(parser.parse_number(context_msg=f" for {what}"))
    return -value if negative else value


# ------------------------------------------------------------ canonicalization
@dataclass(frozen=True)
class GraphCanonicalization(HasCanonicalizationPatternsTrait):
    """Hands xDSL's ``canonicalize`` the op's patterns from
    ``canopy_mlir.transforms.graph_canonicalize``.

    The patterns build graph ops, so they cannot live in this module; they are imported
    on first use and looked up by op class (ops without patterns get none).
    """

    def get_patterns(self, op: type[Operation]) -> tuple[Any, ...]:
        from canopy_mlir.transforms.graph_canonicalize import canonicalization_patterns

        return canonicalization_patterns(op)

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[Any, ...]:
        return ()  # per op class: see get_patterns


# --------------------------------------------------------------- base operation
_GENERIC_CREATE_KEYS = frozenset({"operands", "result_types", "properties"})
_SEGMENTS = AttrSizedOperandSegments.attribute_name


class GraphOp(IRDLOperation):
    """Common machinery of graph ops: building, inference, verification and syntax.

    Subclasses declare operands with IRDL (``operand_def`` / ``opt_operand_def`` /
    ``var_operand_def``, in the docs' order), properties with ``_i64`` / ``_f32`` /
    ``_ints`` / ``_str`` (kind and default), one ``result``, and ``_infer``.
    """

    REFERENCE: ClassVar[str]
    """Name of the numpy reference function in interpreters/graph_reference.py."""

    traits = traits_def(Pure(), GraphCanonicalization())

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        specs: dict[str, PropSpec] = {}
        for parent in reversed(cls.__mro__[1:]):
            specs.update(_SPECS_BY_CLASS.get(parent, {}))
        for field_name, value in cls.__dict__.items():
            entry = _FIELD_SPECS.get(id(value))
            if entry is not None and entry[0] is value:
                specs[field_name] = entry[1]
        _SPECS_BY_CLASS[cls] = specs

    # ------------------------------------------------------------- introspection
    @classmethod
    def prop_specs(cls) -> dict[str, PropSpec]:
        """The op's properties in the docs' order."""
        return _SPECS_BY_CLASS[cls]

    @classmethod
    def operand_kinds(cls) -> list[tuple[str, str]]:
        """``(name, "single" | "optional" | "variadic")`` for each operand definition."""
        return _operand_kinds(cls)

    @classmethod
    def _signature(cls) -> str:
        parts = []
        for name, kind in cls.operand_kinds():
            parts.append({"single": name, "optional": f"[{name}]", "variadic": f"{name}..."}[kind])
        return f"{cls.name}({', '.join(parts)})"

    # ------------------------------------------------------------------ building
    @classmethod
    def create(  # type: ignore[override]
        cls,
        *operands: Any,
        result_type: Attribute | None = None,
        attributes: Mapping[str, Attribute] | None = None,
        **props: Any,
    ) -> Any:
        """Build the op from operands in the docs' order and Python property values.

        Optional operands may be None or left off at the end; variadic ops take one
        list. Omitted properties take their default. The result type is inferred, or
        checked against inference when given. xDSL's own keyword-only ``create``
        (``operands=..., result_types=..., properties=...``, used by the generic parser
        and ``clone``) still works.
        """
        if not operands and result_type is None and props.keys() & _GENERIC_CREATE_KEYS:
            return super().create(**props, **({"attributes": attributes} if attributes else {}))
        slots = cls._align(tuple(_as_value(cls.name, v) for v in _flatten_once(cls, operands)))
        types = _types_of(slots)
        inferred, values = cls._infer_checked(types, props)
        if result_type is None:
            result_type = inferred
        else:
            cls._check_result(result_type, inferred, values)
        return cls._build(slots, result_type, values, attributes or {})

    @classmethod
    def _build(
        cls,
        slots: list,
        result_type: Attribute,
        values: Mapping[str, Any],
        attributes: Mapping[str, Attribute],
        segments: Sequence[int] | None = None,
    ) -> Any:
        specs = cls.prop_specs()
        properties = {name: specs[name].to_attr(value) for name, value in values.items()}
        if segments is not None:
            properties[_SEGMENTS] = DenseArrayBase.from_list(IntegerType(32), segments)
        return cls(
            operands=slots,
            result_types=[result_type],
            properties=properties,
            attributes=dict(attributes),
        )

    # ------------------------------------------------------------------ inference
    @classmethod
    def infer_result_type(cls, operand_types: Sequence[Any], **props: Any) -> TensorType:
        """The result type ONNX inference gives for these operand types and properties.

        ``operand_types`` follows ``create``'s operand conventions (None or omitted
        trailing optional operands; variadic ops take the list of their input types).
        """
        types = cls._align(tuple(_flatten_once(cls, tuple(operand_types))))
        return cls._infer_checked(types, props)[0]

    @classmethod
    def _infer_checked(cls, types: list, props: Mapping[str, Any]) -> tuple[TensorType, dict]:
        cls._check_tensor_types(types)
        values = cls._complete_props(types, props)
        return cls._infer(types, values), values

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        raise NotImplementedError(f"{cls.name} has no shape inference")

    @classmethod
    def _check_result(cls, result: Attribute, inferred: TensorType, props: dict) -> None:
        """Raise GraphError unless ``result`` is an acceptable result type."""
        if result != inferred:
            raise GraphError(
                f"{cls.name}: result type {result} does not match the inferred type {inferred}"
            )

    @classmethod
    def _complete_props(cls, types: list, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validated property values with defaults for those omitted (or None)."""
        specs = cls.prop_specs()
        unknown = [name for name in given if name not in specs]
        if unknown:
            allowed = ", ".join(specs) if specs else "none"
            raise GraphError(
                f"{cls.name}: unknown property '{unknown[0]}' (its properties: {allowed})"
            )
        values = {}
        for name, spec in specs.items():
            value = given.get(name)
            if value is None:
                values[name] = spec.default_for(cls.name, name, types)
            else:
                values[name] = spec.normalise(cls.name, name, value)
        return values

    # ------------------------------------------------------------------ operands
    @classmethod
    def _align(cls, given: tuple) -> list:
        """One slot per operand definition: a value, None (absent optional), or a list."""
        kinds = cls.operand_kinds()
        if len(kinds) == 1 and kinds[0][1] == "variadic":
            items = list(given)
            if any(item is None for item in items):
                raise GraphError(f"{cls.name}: '{kinds[0][0]}' holds None")
            return [items]
        if len(given) > len(kinds):
            raise GraphError(
                f"{cls.name} takes at most {len(kinds)} operands ({cls._signature()}), "
                f"got {len(given)}"
            )
        slots = list(given) + [None] * (len(kinds) - len(given))
        for (name, kind), slot in zip(kinds, slots, strict=True):
            if slot is None and kind == "single":
                raise GraphError(f"{cls.name}: operand '{name}' is missing ({cls._signature()})")
        return slots

    @classmethod
    def _check_tensor_types(cls, types: list) -> None:
        for (name, kind), slot in zip(cls.operand_kinds(), types, strict=True):
            items = slot if kind == "variadic" else [slot]
            for item in items:
                if item is None:
                    continue
                if not isinstance(item, TensorType):
                    raise GraphError(f"{cls.name}: operand '{name}' must be a tensor, got {item}")
                if any(dim < 0 for dim in item.get_shape()):
                    raise GraphError(
                        f"{cls.name}: operand '{name}' must have a static shape, got {item}"
                    )

    def aligned_operands(self) -> list:
        """This op's operands, one slot per definition (value, None, or list)."""
        slots = []
        for name, kind in self.operand_kinds():
            value = getattr(self, name)
            slots.append(list(value) if kind == "variadic" else value)
        return slots

    def aligned_operand_types(self) -> list:
        return _types_of(self.aligned_operands())

    # --------------------------------------------------------------- properties
    def props_dict(self) -> dict[str, Any]:
        """Every property as a Python value under its docs name, defaults filled in."""
        types = self.aligned_operand_types()
        values = {}
        for name, spec in self.prop_specs().items():
            attr = self.properties.get(name)
            if attr is None:
                values[name] = spec.default_for(self.name, name, types)
            else:
                values[name] = spec.from_attr(attr)
        return values

    def _stored_props(self) -> dict[str, Any]:
        """What the verifier checks: props_dict() (ConstantOp keeps its attribute)."""
        return self.props_dict()

    # -------------------------------------------------------------- verification
    def verify_(self) -> None:
        try:
            types = self.aligned_operand_types()
            inferred, values = self._infer_checked(types, self._stored_props())
            self._check_result(self.result.type, inferred, values)
        except GraphError as err:
            raise VerifyException(str(err)) from None

    # ----------------------------------------------------------------- printing
    def print(self, printer: Printer) -> None:
        if self.operands:
            printer.print_string(" ")
            printer.print_list(self.operands, printer.print_operand)
        self._print_props(printer)
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" : ")
        printer.print_function_type([o.type for o in self.operands], [self.result.type])

    def _print_props(self, printer: Printer) -> None:
        types = self.aligned_operand_types()
        entries: list[tuple[str, str, Any]] = []
        for name, spec in self.prop_specs().items():
            attr = self.properties.get(name)
            if attr is None:
                continue
            try:
                value = spec.from_attr(attr)
            except GraphError:
                entries.append((name, "attribute", attr))  # invalid IR, shown as is
                continue
            if spec.default is REQUIRED or value != spec.default_for(self.name, name, types):
                entries.append((name, spec.kind, value))
        segments = self._segments_to_print()
        if segments is not None:
            entries.append((_SEGMENTS, "ints", segments))
        if not entries:
            return
        printer.print_string(" {")
        for index, (name, kind, value) in enumerate(entries):
            if index:
                printer.print_string(", ")
            printer.print_string(f"{name} = ")
            if kind == "attribute":
                printer.print_attribute(value)
            else:
                _print_value(printer, kind, value)
        printer.print_string("}")

    def _segments_to_print(self) -> list[int] | None:
        """Segment sizes when the operand list alone would be ambiguous, else None."""
        kinds = self.operand_kinds()
        if not any(kind == "optional" for _, kind in kinds):
            return None
        sizes = [
            (1 if slot is not None else 0) if kind != "variadic" else len(slot)
            for (_, kind), slot in zip(kinds, self.aligned_operands(), strict=True)
        ]
        optional = [size for (_, kind), size in zip(kinds, sizes, strict=True) if kind == "optional"]
        is_prefix = all(a >= b for a, b in pairwise(optional))
        return None if is_prefix else sizes

    # ------------------------------------------------------------------ parsing
    @classmethod
    def parse(cls, parser: Parser) -> Any:
        start = parser.pos
        unresolved = _parse_operand_list(parser)
        prop_values, segments = cls._parse_props(parser)
        attributes = parser.parse_optional_attr_dict_with_keyword()
        parser.parse_punctuation(":", f" before the type of {cls.name}")
        type_pos = parser.pos
        function_type = parser.parse_function_type()
        outputs = function_type.outputs.data
        if len(outputs) != 1:
            parser.raise_error(f"{cls.name} has one result, got {len(outputs)} types", type_pos, parser.pos)
        operands = parser.resolve_operands(unresolved, function_type.inputs.data, start)
        slots, segments = cls._slots_from_parsed(parser, list(operands), segments, start)
        types = _types_of(slots)
        specs = cls.prop_specs()
        for name, spec in specs.items():
            if name not in prop_values:
                try:
                    prop_values[name] = spec.default_for(cls.name, name, types)
                except GraphError:
                    pass  # a required property: the verifier reports it
        return cls._build(slots, outputs[0], prop_values, attributes.data if attributes else {}, segments)

    @classmethod
    def _parse_props(cls, parser: Parser) -> tuple[dict[str, Any], list[int] | None]:
        values: dict[str, Any] = {}
        segments: list[int] | None = None
        if parser.parse_optional_punctuation("{") is None:
            return values, segments
        if parser.parse_optional_punctuation("}") is not None:
            return values, segments
        specs = cls.prop_specs()
        while True:
            name_pos = parser.pos
            name = parser.parse_identifier(f" (a property name of {cls.name})")
            if name in values or (name == _SEGMENTS and segments is not None):
                parser.raise_error(f"property '{name}' is given twice", name_pos, parser.pos)
            parser.parse_punctuation("=", f" after property '{name}'")
            if name == _SEGMENTS:
                segments = _parse_value(parser, "ints", name)
            elif name in specs:
                values[name] = _parse_value(parser, specs[name].kind, name)
            else:
                allowed = ", ".join(specs) if specs else "none"
                parser.raise_error(
                    f"unknown property '{name}' for {cls.name} (its properties: {allowed})",
                    name_pos,
                    parser.pos,
                )
            if parser.parse_optional_punctuation(",") is None:
                break
        parser.parse_punctuation("}", " to end the property dictionary")
        return values, segments

    @classmethod
    def _slots_from_parsed(
        cls, parser: Parser, operands: list[SSAValue], segments: list[int] | None, pos: int
    ) -> tuple[list, list[int] | None]:
        kinds = cls.operand_kinds()
        if len(kinds) == 1 and kinds[0][1] == "variadic":
            return [operands], None
        has_optional = any(kind == "optional" for _, kind in kinds)
        if segments is None:
            required = sum(kind == "single" for _, kind in kinds)
            if not required <= len(operands) <= len(kinds):
                parser.raise_error(
                    f"{cls.name} takes {required} to {len(kinds)} operands "
                    f"({cls._signature()}), got {len(operands)}",
                    pos,
                    parser.pos,
                )
            slots = cls._align(tuple(operands))
            return slots, None
        if not has_optional or len(segments) != len(kinds) or sum(segments) != len(operands) or any(
            size not in ((1,) if kind == "single" else (0, 1)) for (_, kind), size in zip(kinds, segments, strict=False)
        ):
            parser.raise_error(
                f"operandSegmentSizes {segments} does not fit {cls._signature()} with "
                f"{len(operands)} operands",
                pos,
                parser.pos,
            )
        values = iter(operands)
        slots = [next(values) if size else None for size in segments]
        return slots, None


@cache
def _operand_kinds(cls: type[GraphOp]) -> list[tuple[str, str]]:
    kinds = []
    for name, definition in cls.get_irdl_definition().operands:
        if isinstance(definition, OptionalDef):
            kinds.append((name, "optional"))
        elif isinstance(definition, VariadicDef):
            kinds.append((name, "variadic"))
        else:
            kinds.append((name, "single"))
    return kinds


def _flatten_once(cls: type[GraphOp], operands: tuple) -> tuple:
    """A variadic op's single list argument becomes its operands."""
    kinds = cls.operand_kinds()
    is_variadic = len(kinds) == 1 and kinds[0][1] == "variadic"
    if is_variadic and len(operands) == 1 and isinstance(operands[0], list | tuple):
        return tuple(operands[0])
    return operands


def _as_value(op_name: str, value: Any) -> Any:
    if value is None or isinstance(value, SSAValue):
        return value
    if isinstance(value, Operation):
        if len(value.results) != 1:
            raise GraphError(
                f"{op_name}: operand {value.name} has {len(value.results)} results; pass one"
            )
        return value.results[0]
    if isinstance(value, list | tuple):
        return [_as_value(op_name, v) for v in value]
    raise GraphError(f"{op_name}: operands must be SSA values, got {value!r}")


def _types_of(slots: list) -> list:
    types = []
    for slot in slots:
        if isinstance(slot, list):
            types.append([_type_of(v) for v in slot])
        else:
            types.append(_type_of(slot))
    return types


def _type_of(value: Any) -> Any:
    if value is None:
        return None
    return value.type if isinstance(value, SSAValue) else value


def _parse_operand_list(parser: Parser) -> list[UnresolvedOperand]:
    first = parser.parse_optional_unresolved_operand()
    if first is None:
        return []
    operands = [first]
    while parser.parse_optional_punctuation(",") is not None:
        operands.append(parser.parse_unresolved_operand())
    return operands


def _parse_value(parser: Parser, kind: str, name: str) -> Any:
    if kind == "i64":
        return parser.parse_integer(allow_boolean=False, context_msg=f" for property '{name}'")
    if kind == "f32":
        return _parse_float_value(parser, f"property '{name}'")
    if kind == "ints":
        return parser.parse_comma_separated_list(
            Parser.Delimiter.SQUARE,
            lambda: parser.parse_integer(allow_boolean=False, context_msg=f" in property '{name}'"),
        )
    return parser.parse_str_literal(f" for property '{name}'")


def _print_value(printer: Printer, kind: str, value: Any) -> None:
    if kind == "i64":
        printer.print_string(str(value))
    elif kind == "f32":
        printer.print_string(_format_float(value))
    elif kind == "ints":
        printer.print_string("[" + ", ".join(str(v) for v in value) + "]")
    else:
        printer.print_string_literal(value)


# ------------------------------------------------------------ checking helpers
Shape = tuple[int, ...]


def _shape(t: TensorType) -> Shape:
    return tuple(t.get_shape())


def _expect_element(op: str, what: str, t: TensorType, allowed: Sequence[Attribute]) -> None:
    if t.element_type not in allowed:
        raise GraphError(
            f"{op}: {what} element type must be {_names(allowed)}, got {t.element_type} ({t})"
        )


def _expect_same_element(op: str, what: str, t: TensorType, other_what: str, other: TensorType) -> None:
    if t.element_type != other.element_type:
        raise GraphError(
            f"{op}: {what} element type {t.element_type} differs from {other_what} "
            f"element type {other.element_type}"
        )


def _is_scalar(shape: Shape) -> bool:
    return shape in ((), (1,))


def _expect_scalar(op: str, what: str, t: TensorType) -> None:
    if not _is_scalar(_shape(t)):
        raise GraphError(f"{op}: {what} must be a scalar (shape [] or [1]), got {t}")


def _expect_scalar_or_vector(op: str, what: str, t: TensorType, size: int, meaning: str) -> None:
    shape = _shape(t)
    if not (_is_scalar(shape) or shape == (size,)):
        raise GraphError(
            f"{op}: {what} must be a scalar or have shape [{size}] ({meaning}), got {t}"
        )


def _expect_rank(op: str, what: str, t: TensorType, ranks: Sequence[int] | range, meaning: str) -> None:
    if _rank(t) not in ranks:
        raise GraphError(f"{op}: {what} must be {meaning}, got rank {_rank(t)} ({t})")


def _normalise_axis(op: str, prop: str, axis: int, rank: int, *, allow_rank: bool = False) -> int:
    """``axis`` in ``[-rank, rank)`` (``[-rank, rank]`` with ``allow_rank``) as non-negative."""
    high = rank if allow_rank else rank - 1
    if not -rank <= axis <= high:
        raise GraphError(f"{op}: {prop} = {axis} is out of range [{-rank}, {high}] for rank {rank}")
    return axis + rank if axis < 0 else axis


def _expect_flag(op: str, prop: str, value: int) -> None:
    if value not in (0, 1):
        raise GraphError(f"{op}: {prop} must be 0 or 1, got {value}")


def _expect_length(op: str, prop: str, values: list[int], length: int, meaning: str) -> None:
    if len(values) != length:
        raise GraphError(f"{op}: {prop} has {len(values)} values {values}, expected {length} ({meaning})")


def _expect_all(op: str, prop: str, values: list[int], low: int) -> None:
    bad = [v for v in values if v < low]
    if bad:
        relation = "positive" if low == 1 else f">= {low}"
        raise GraphError(f"{op}: {prop} {values} must all be {relation}, got {bad[0]}")


def broadcast_shapes(op: str, shapes: Sequence[Shape], names: Sequence[str]) -> Shape:
    """Numpy (ONNX multidirectional) broadcasting of ``shapes``, or GraphError."""
    rank = max((len(s) for s in shapes), default=0)
    result = []
    for k in range(rank, 0, -1):
        dims = [s[-k] if k <= len(s) else 1 for s in shapes]
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            described = ", ".join(f"{n} {list(s)}" for n, s in zip(names, shapes, strict=True))
            raise GraphError(
                f"{op}: shapes are not broadcastable ({described}): dimension {-k} is "
                f"{' vs '.join(str(d) for d in dims)}"
            )
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def window_output_size(
    op: str,
    axis: int,
    size: int,
    kernel: int,
    stride: int,
    pad_begin: int,
    pad_end: int,
    dilation: int,
    ceil_mode: int = 0,
) -> int:
    """ONNX's conv/pool output size along one spatial axis.

    ``floor((size + pads - dilation * (kernel - 1) - 1) / stride) + 1``; with
    ``ceil_mode`` the division rounds up, but the last window must start inside the
    input or its begin padding (onnx.reference's pool shape function, ONNX Runtime and
    PyTorch; onnx 1.23's C++ shape inference rounds up without this rule, so ONNX files
    may declare one window more than they compute).
    """
    extent = dilation * (kernel - 1) + 1
    padded = size + pad_begin + pad_end
    span = padded - extent
    if span < 0:
        raise GraphError(
            f"{op}: kernel extent {extent} (kernel {kernel}, dilation {dilation}) exceeds the "
            f"padded input size {padded} (input {size}, pads {pad_begin}+{pad_end}) along "
            f"spatial axis {axis}"
        )
    if not ceil_mode:
        return span // stride + 1
    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad_begin:
        out -= 1
    return out


def _check_window_props(
    op: str,
    spatial: int,
    strides: list[int],
    pads: list[int],
    dilations: list[int],
) -> None:
    _expect_length(op, "strides", strides, spatial, "one per spatial axis")
    _expect_length(op, "pads", pads, 2 * spatial, "begin then end for each spatial axis")
    _expect_length(op, "dilations", dilations, spatial, "one per spatial axis")
    _expect_all(op, "strides", strides, 1)
    _expect_all(op, "pads", pads, 0)
    _expect_all(op, "dilations", dilations, 1)


def _spatial_output(
    op: str,
    spatial_in: Shape,
    kernel: Sequence[int],
    strides: list[int],
    pads: list[int],
    dilations: list[int],
    ceil_mode: int = 0,
) -> list[int]:
    n = len(spatial_in)
    return [
        window_output_size(
            op, axis, spatial_in[axis], kernel[axis], strides[axis], pads[axis], pads[axis + n],
            dilations[axis], ceil_mode,
        )
        for axis in range(n)
    ]


def conv_output_shape(
    op: str,
    input_shape: Shape,
    weight_shape: Shape,
    strides: list[int],
    pads: list[int],
    dilations: list[int],
    group: int,
) -> Shape:
    """``[N, M, *spatial]`` for an NC... input and an M x C/group x kernel weight."""
    rank = len(input_shape)
    if rank < 3:
        raise GraphError(f"{op}: input must be N x C x spatial... (rank >= 3), got shape {list(input_shape)}")
    if len(weight_shape) != rank:
        raise GraphError(
            f"{op}: weight must have rank {rank} (M x C/group x kernel...) like the input, "
            f"got shape {list(weight_shape)}"
        )
    spatial = rank - 2
    _check_window_props(op, spatial, strides, pads, dilations)
    if group < 1:
        raise GraphError(f"{op}: group must be positive, got {group}")
    batch, channels = input_shape[:2]
    out_channels, group_channels = weight_shape[:2]
    if group_channels * group != channels:
        raise GraphError(
            f"{op}: input has {channels} channels but weight shape {list(weight_shape)} with "
            f"group = {group} expects {group_channels * group} (weight dimension 1 x group)"
        )
    if out_channels % group:
        raise GraphError(
            f"{op}: weight output channels {out_channels} are not divisible by group = {group}"
        )
    kernel = weight_shape[2:]
    _expect_all(op, "weight kernel shape", list(kernel), 1)
    return (batch, out_channels, *_spatial_output(op, input_shape[2:], kernel, strides, pads, dilations))


def matmul_shape(op: str, a: Shape, b: Shape) -> Shape:
    """numpy.matmul's result shape (1-D operands promoted then squeezed)."""
    if not a or not b:
        raise GraphError(f"{op}: matmul operands must have rank >= 1, got {list(a)} and {list(b)}")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise GraphError(
            f"{op}: inner dimensions differ: a {list(a)} has {a2[-1]} columns, "
            f"b {list(b)} has {b2[-2]} rows"
        )
    batch = broadcast_shapes(op, [a2[:-2], b2[:-2]], ["a batch", "b batch"])
    out = [*batch]
    if len(a) > 1:
        out.append(a2[-2])
    if len(b) > 1:
        out.append(b2[-1])
    return tuple(out)


def _check_quant_params(
    op: str,
    input_t: TensorType,
    axis: int,
    scale_t: TensorType,
    zero_point_t: TensorType | None,
    scale_name: str,
    zero_point_name: str,
) -> None:
    """Per-tensor (shape [] or [1]) or per-axis ([C], C = input dim ``axis``) parameters."""
    shape = _shape(input_t)
    scale = _shape(scale_t)
    if not _is_scalar(scale):
        if len(scale) != 1:
            raise GraphError(
                f"{op}: {scale_name} must be a scalar or a 1-D per-axis tensor, got {scale_t}"
            )
        dim = _normalise_axis(op, "axis", axis, len(shape))
        if scale[0] != shape[dim]:
            raise GraphError(
                f"{op}: per-axis {scale_name} has {scale[0]} values but input dimension "
                f"{dim} (axis = {axis}) of {input_t} has {shape[dim]}"
            )
    if zero_point_t is not None and _shape(zero_point_t) != scale:
        raise GraphError(
            f"{op}: {zero_point_name} shape {list(_shape(zero_point_t))} differs from "
            f"{scale_name} shape {list(scale)}"
        )


def _tensor(element_type: Attribute, shape: Sequence[int]) -> TensorType:
    return TensorType(element_type, list(shape))


# ===================================================================== constant
@irdl_op_definition
class ConstantOp(GraphOp):
    """A tensor constant; its data is kept as raw bytes (or a ``dense_resource`` blob)."""

    name = "graph.constant"
    REFERENCE: ClassVar[str] = "constant"

    value = _prop("dense", REQUIRED)
    result = result_def(TensorType)

    traits = traits_def(ConstantLike())  # and GraphOp's Pure

    @classmethod
    def from_array(cls, array: np.ndarray) -> ConstantOp:
        """A constant holding ``array``'s bytes (f32, f64, i8, ui8, i32, i64 or bool)."""
        return cls.create(value=dense_attr_from_array(array))

    def value_array(self) -> np.ndarray:
        """The constant's data as a read-only numpy array (no Python lists)."""
        return array_from_value(self.value)

    def props_dict(self) -> dict[str, Any]:
        return {"value": self.value_array()}

    def _stored_props(self) -> dict[str, Any]:
        return {"value": self.value}  # no copy of the data, no blob lookup

    @classmethod
    def _complete_props(cls, types: list, given: Mapping[str, Any]) -> dict[str, Any]:
        values = super()._complete_props(types, given)
        value = values["value"]
        if isinstance(value, np.ndarray):
            values["value"] = dense_attr_from_array(value)
        elif not isinstance(value, DenseIntOrFPElementsAttr | DenseResourceAttr):
            raise GraphError(
                f"{cls.name}: value must be a numpy array, DenseIntOrFPElementsAttr or "
                f"DenseResourceAttr, got {type(value).__name__}"
            )
        return values

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        value = props["value"]
        value_type = value.type
        if not isinstance(value_type, TensorType):
            raise GraphError(f"{cls.name}: value type must be a tensor, got {value_type}")
        _expect_element(cls.name, "value", value_type, ANY_ELEMENT)
        if isinstance(value, DenseIntOrFPElementsAttr):
            count = math.prod(value_type.get_shape())
            stored = len(value)
            if stored != count and not (stored == 1 and count > 1):
                raise GraphError(
                    f"{cls.name}: value holds {stored} elements but its type {value_type} "
                    f"has {count}"
                )
        return value_type

    def print(self, printer: Printer) -> None:
        printer.print_op_attributes(self.attributes, print_keyword=True)
        printer.print_string(" ")
        print_constant_value(printer, self.value)

    @classmethod
    def parse(cls, parser: Parser) -> ConstantOp:
        attributes = parser.parse_optional_attr_dict_with_keyword()
        start = parser.pos
        value = parser.parse_attribute()
        if not isinstance(value, DenseIntOrFPElementsAttr | DenseResourceAttr):
            parser.raise_error(
                f"graph.constant takes a dense<...> or dense_resource<...> value, got {value}",
                start,
                parser.pos,
            )
        return cls(
            properties={"value": value},
            result_types=[value.type],
            attributes=attributes.data if attributes else {},
        )


def dense_attr_from_array(array: np.ndarray) -> DenseIntOrFPElementsAttr:
    """A DenseIntOrFPElementsAttr over ``array``'s bytes (little-endian, C order)."""
    array = np.asarray(array)
    element = _ELEMENT_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if element is None:
        raise GraphError(
            f"graph.constant: unsupported numpy dtype {array.dtype} (supported: float32, "
            "float64, int8, uint8, int32, int64, bool)"
        )
    data = np.ascontiguousarray(array, dtype=_NUMPY_DTYPES[element]).tobytes()
    return DenseIntOrFPElementsAttr(TensorType(element, array.shape), BytesAttr(data))


def array_from_value(value: Attribute) -> np.ndarray:
    """The data of a dense or dense_resource tensor value as a read-only array."""
    value_type = value.type  # type: ignore[attr-defined]
    if not isinstance(value_type, TensorType) or value_type.element_type not in _NUMPY_DTYPES:
        raise GraphError(f"graph.constant: cannot read a value of type {value_type}")
    element = value_type.element_type
    dtype = _NUMPY_DTYPES[element]
    shape = tuple(value_type.get_shape())
    count = math.prod(shape)
    if isinstance(value, DenseIntOrFPElementsAttr):
        data = value.data.data
    elif isinstance(value, DenseResourceAttr):
        data = _resource_bytes(value.resource_handle.data, count * dtype.itemsize)
    else:
        raise GraphError(f"graph.constant: value must be dense or dense_resource, got {value}")
    flat = np.frombuffer(data, dtype=dtype)
    if flat.size == 1 and count != 1:
        flat = np.broadcast_to(flat, (count,))
    elif flat.size != count:
        raise GraphError(f"graph.constant: value holds {flat.size} elements, its type {value_type} {count}")
    array = flat.reshape(shape)
    if element == i1:
        array = np.asarray(array != 0)  # (a 0-d comparison gives a numpy scalar)
        array.flags.writeable = False
    return array


def _resource_bytes(handle: str, nbytes: int) -> bytes:
    """A builtin dialect_resources blob: MLIR's hex of a 4-byte alignment then the data."""
    interface = Builtin.get_interface(OpAsmDialectInterface)
    blob = interface.lookup(handle) if interface is not None else None
    if not blob:
        raise GraphError(
            f"graph.constant: dense_resource<{handle}> has no blob in the module's "
            "{-# dialect_resources: { builtin: ... } #-} section"
        )
    try:
        data = bytes.fromhex(blob[2:])
    except ValueError:
        raise GraphError(f"graph.constant: blob '{handle}' is not a hex string") from None
    if len(data) == nbytes + 4:
        return data[4:]
    if len(data) == nbytes:
        return data
    raise GraphError(
        f"graph.constant: blob '{handle}' holds {len(data)} bytes; its type needs {nbytes} "
        "(plus a 4-byte alignment header)"
    )


def print_constant_value(printer: Printer, value: Attribute) -> None:
    """A constant's value as ``dense<"0x...">`` (hex: exact and fast to parse; a splat as
    one element) with its type, elided above canopy-opt's
    ``--mlir-elide-elementsattrs-if-larger=N``; any other attribute as itself."""
    if not isinstance(value, DenseIntOrFPElementsAttr):
        printer.print_attribute(value)
        return
    if should_elide_dense(value):
        printer.print_string(f"{ELIDED_VALUE} : ")
    else:
        printer.print_string(f'dense<"0x{_hex_payload(value)}"> : ')
    printer.print_attribute(value.type)


def _hex_payload(value: DenseIntOrFPElementsAttr) -> str:
    """The value's bytes in hex; a single element when every element is bitwise equal."""
    data = value.data.data
    if value.get_element_type() == i1:
        # xDSL's literal parser stores `true` as 0xFF; print the canonical 0x01.
        data = (np.frombuffer(data, dtype=np.uint8) != 0).astype(np.uint8).tobytes()
    size = value.get_element_type().compile_time_size
    if len(data) > size and data[:size] == data[size : 2 * size] and size in (1, 2, 4, 8):
        words = np.frombuffer(data, dtype=f"u{size}")
        if bool((words == words[0]).all()):
            data = data[:size]
    return data.hex().upper()


# ================================================================ convolutions
class _ConvLikeOp(GraphOp):
    """Properties shared by the convolutions (docs: "as conv")."""

    strides = _ints(_spatial_ones)
    pads = _ints(_spatial_zero_pads)
    dilations = _ints(_spatial_ones)
    group = _i64(1)

    @classmethod
    def _conv_shape(cls, x: TensorType, w: TensorType, props: dict[str, Any]) -> Shape:
        return conv_output_shape(
            cls.name, _shape(x), _shape(w), props["strides"], props["pads"], props["dilations"],
            props["group"],
        )


@irdl_op_definition
class ConvOp(_ConvLikeOp):
    """ONNX Conv on f32: NC... input, M x C/group x kernel weight, optional [M] bias."""

    name = "graph.conv"
    REFERENCE: ClassVar[str] = "conv"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        x, w, b = types
        _expect_element(cls.name, "input", x, (f32,))
        _expect_element(cls.name, "weight", w, (f32,))
        shape = cls._conv_shape(x, w, props)
        if b is not None:
            _expect_element(cls.name, "bias", b, (f32,))
            if _shape(b) != (shape[1],):
                raise GraphError(f"{cls.name}: bias must have shape [{shape[1]}] (one per output channel), got {b}")
        return _tensor(f32, shape)


@irdl_op_definition
class ConvIntegerOp(_ConvLikeOp):
    """ONNX ConvInteger: i8/ui8 input and weight with zero points, i32 result."""

    name = "graph.conv_integer"
    REFERENCE: ClassVar[str] = "conv_integer"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    input_zero_point = opt_operand_def(TensorType)
    weight_zero_point = opt_operand_def(TensorType)
    result = result_def(TensorType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        x, w, x_zp, w_zp = types
        _expect_element(cls.name, "input", x, QUANTIZED)
        _expect_element(cls.name, "weight", w, QUANTIZED)
        shape = cls._conv_shape(x, w, props)
        if x_zp is not None:
            _expect_same_element(cls.name, "input_zero_point", x_zp, "input", x)
            _expect_scalar(cls.name, "input_zero_point", x_zp)
        if w_zp is not None:
            _expect_same_element(cls.name, "weight_zero_point", w_zp, "weight", w)
            _expect_scalar_or_vector(cls.name, "weight_zero_point", w_zp, shape[1], "one per output channel")
        return _tensor(i32, shape)


@irdl_op_definition
class QLinearConvOp(_ConvLikeOp):
    """ONNX QLinearConv: quantized conv with scales/zero points and optional i32 bias."""

    name = "graph.qlinear_conv"
    REFERENCE: ClassVar[str] = "qlinear_conv"

    input = operand_def(TensorType)
    input_scale = operand_def(TensorType)
    input_zero_point = operand_def(TensorType)
    weight = operand_def(TensorType)
    weight_scale = operand_def(TensorType)
    weight_zero_point = operand_def(TensorType)
    output_scale = operand_def(TensorType)
    output_zero_point = operand_def(TensorType)
    bias = opt_operand_def(TensorType)
    result = result_def(TensorType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias = types
        op = cls.name
        _expect_element(op, "input", x, QUANTIZED)
        _expect_element(op, "weight", w, QUANTIZED)
        shape = cls._conv_shape(x, w, props)
        out_channels = shape[1]
        for what, scale in (("input_scale", x_scale), ("weight_scale", w_scale), ("output_scale", y_scale)):
            _expect_element(op, what, scale, (f32,))
        _expect_scalar(op, "input_scale", x_scale)
        _expect_scalar(op, "output_scale", y_scale)
        _expect_scalar_or_vector(op, "weight_scale", w_scale, out_channels, "one per output channel")
        _expect_same_element(op, "input_zero_point", x_zp, "input", x)
        _expect_scalar(op, "input_zero_point", x_zp)
        _expect_same_element(op, "weight_zero_point", w_zp, "weight", w)
        _expect_scalar_or_vector(op, "weight_zero_point", w_zp, out_channels, "one per output channel")
        _expect_element(op, "output_zero_point", y_zp, QUANTIZED)
        _expect_scalar(op, "output_zero_point", y_zp)
        if bias is not None:
            _expect_element(op, "bias", bias, (i32,))
            if _shape(bias) != (out_channels,):
                raise GraphError(f"{op}: bias must have shape [{out_channels}] (one per output channel), got {bias}")
        return _tensor(y_zp.element_type, shape)


# ===================================================================== matmuls
@irdl_op_definition
class GemmOp(GraphOp):
    """ONNX Gemm: ``alpha * op(a) @ op(b) + beta * c`` on 2-D f32, c broadcast to [M, N]."""

    name = "graph.gemm"
    REFERENCE: ClassVar[str] = "gemm"

    a = operand_def(TensorType)
    b = operand_def(TensorType)
    c = opt_operand_def(TensorType)
    alpha = _f32(1.0)
    beta = _f32(1.0)
    trans_a = _i64(0)
    trans_b = _i64(0)
    result = result_def(TensorType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        a, b, c = types
        op = cls.name
        _expect_flag(op, "trans_a", props["trans_a"])
        _expect_flag(op, "trans_b", props["trans_b"])
        for what, t in (("a", a), ("b", b)):
            _expect_element(op, what, t, (f32,))
            _expect_rank(op, what, t, (2,), "2-D")
        rows, inner_a = reversed(_shape(a)) if props["trans_a"] else _shape(a)
        inner_b, cols = reversed(_shape(b)) if props["trans_b"] else _shape(b)
        if inner_a != inner_b:
            raise GraphError(
                f"{op}: inner dimensions differ: a {list(_shape(a))} (trans_a = {props['trans_a']}) "
                f"gives K = {inner_a}, b {list(_shape(b))} (trans_b = {props['trans_b']}) gives K = {inner_b}"
            )
        if c is not None:
            _expect_element(op, "c", c, (f32,))
            c_shape = _shape(c)
            fits = len(c_shape) <= 2 and all(
                d in (1, target) for d, target in zip(reversed(c_shape), (cols, rows), strict=False)
            )
            if not fits:
                raise GraphError(f"{op}: c {list(c_shape)} does not broadcast to the result [{rows}, {cols}]")
        return _tensor(f32, (rows, cols))


@irdl_op_definition
class MatMulOp(GraphOp):
    """ONNX MatMul (numpy.matmul) on f32."""

    name = "graph.matmul"
    REFERENCE: ClassVar[str] = "matmul"

    a = operand_def(TensorType)
    b = operand_def(TensorType)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        a, b = types
        _expect_element(cls.name, "a", a, (f32,))
        _expect_element(cls.name, "b", b, (f32,))
        return _tensor(f32, matmul_shape(cls.name, _shape(a), _shape(b)))


def _check_row_or_column_param(op: str, what: str, t: TensorType, matrix: Shape, per: str) -> None:
    """A zero point or scale: scalar, or one per row of a ([M]) / column of b ([N])."""
    if _is_scalar(_shape(t)):
        return
    if len(matrix) >= 2:
        size = matrix[-2] if per == "row" else matrix[-1]
        if _shape(t) == (size,):
            return
        raise GraphError(f"{op}: {what} must be a scalar or have shape [{size}] (one per {per}), got {t}")
    raise GraphError(f"{op}: {what} must be a scalar for a 1-D operand, got {t}")


@irdl_op_definition
class MatMulIntegerOp(GraphOp):
    """ONNX MatMulInteger: i8/ui8 operands, optional zero points, i32 result."""

    name = "graph.matmul_integer"
    REFERENCE: ClassVar[str] = "matmul_integer"

    a = operand_def(TensorType)
    b = operand_def(TensorType)
    a_zero_point = opt_operand_def(TensorType)
    b_zero_point = opt_operand_def(TensorType)
    result = result_def(TensorType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        a, b, a_zp, b_zp = types
        op = cls.name
        _expect_element(op, "a", a, QUANTIZED)
        _expect_element(op, "b", b, QUANTIZED)
        shape = matmul_shape(op, _shape(a), _shape(b))
        if a_zp is not None:
            _expect_same_element(op, "a_zero_point", a_zp, "a", a)
            _check_row_or_column_param(op, "a_zero_point", a_zp, _shape(a), "row")
        if b_zp is not None:
            _expect_same_element(op, "b_zero_point", b_zp, "b", b)
            _check_row_or_column_param(op, "b_zero_point", b_zp, _shape(b), "column")
        return _tensor(i32, shape)


@irdl_op_definition
class QLinearMatMulOp(GraphOp):
    """ONNX QLinearMatMul: quantized matmul; result type is the output_zero_point's."""

    name = "graph.qlinear_matmul"
    REFERENCE: ClassVar[str] = "qlinear_matmul"

    a = operand_def(TensorType)
    a_scale = operand_def(TensorType)
    a_zero_point = operand_def(TensorType)
    b = operand_def(TensorType)
    b_scale = operand_def(TensorType)
    b_zero_point = operand_def(TensorType)
    output_scale = operand_def(TensorType)
    output_zero_point = operand_def(TensorType)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp = types
        op = cls.name
        _expect_element(op, "a", a, QUANTIZED)
        _expect_element(op, "b", b, QUANTIZED)
        shape = matmul_shape(op, _shape(a), _shape(b))
        for what, scale in (("a_scale", a_scale), ("b_scale", b_scale), ("output_scale", y_scale)):
            _expect_element(op, what, scale, (f32,))
        _expect_same_element(op, "a_zero_point", a_zp, "a", a)
        _expect_same_element(op, "b_zero_point", b_zp, "b", b)
        for what, t in (("a_scale", a_scale), ("a_zero_point", a_zp)):
            _check_row_or_column_param(op, what, t, _shape(a), "row")
        for what, t in (("b_scale", b_scale), ("b_zero_point", b_zp)):
            _check_row_or_column_param(op, what, t, _shape(b), "column")
        _expect_scalar(op, "output_scale", y_scale)
        _expect_element(op, "output_zero_point", y_zp, QUANTIZED)
        _expect_scalar(op, "output_zero_point", y_zp)
        return _tensor(y_zp.element_type, shape)


# ================================================================= elementwise
class _BinaryOp(GraphOp):
    """lhs (op) rhs with numpy broadcasting; both operands of one element type."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        lhs, rhs = types
        _expect_element(cls.name, "lhs", lhs, NUMERIC)
        _expect_same_element(cls.name, "rhs", rhs, "lhs", lhs)
        shape = broadcast_shapes(cls.name, [_shape(lhs), _shape(rhs)], ["lhs", "rhs"])
        return _tensor(lhs.element_type, shape)


@irdl_op_definition
class AddOp(_BinaryOp):
    name = "graph.add"
    REFERENCE: ClassVar[str] = "add"


@irdl_op_definition
class SubOp(_BinaryOp):
    name = "graph.sub"
    REFERENCE: ClassVar[str] = "sub"


@irdl_op_definition
class MulOp(_BinaryOp):
    name = "graph.mul"
    REFERENCE: ClassVar[str] = "mul"


@irdl_op_definition
class DivOp(_BinaryOp):
    """Integer division truncates toward zero, as ONNX."""

    name = "graph.div"
    REFERENCE: ClassVar[str] = "div"


class _UnaryOp(GraphOp):
    """An elementwise op whose result has the input's type."""

    ELEMENTS: ClassVar[tuple[Attribute, ...]] = FLOAT

    input = operand_def(TensorType)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        _expect_element(cls.name, "input", x, cls.ELEMENTS)
        return x


@irdl_op_definition
class ReluOp(_UnaryOp):
    name = "graph.relu"
    REFERENCE: ClassVar[str] = "relu"
    ELEMENTS: ClassVar[tuple[Attribute, ...]] = SIGNED_NUMERIC


@irdl_op_definition
class SigmoidOp(_UnaryOp):
    name = "graph.sigmoid"
    REFERENCE: ClassVar[str] = "sigmoid"


@irdl_op_definition
class ClipOp(_UnaryOp):
    """Clamp to [min, max] (opset >= 11 min/max inputs are folded by the importer)."""

    name = "graph.clip"
    REFERENCE: ClassVar[str] = "clip"
    ELEMENTS: ClassVar[tuple[Attribute, ...]] = NUMERIC

    min = _f32(-math.inf)
    max = _f32(math.inf)


@irdl_op_definition
class LeakyReluOp(_UnaryOp):
    name = "graph.leaky_relu"
    REFERENCE: ClassVar[str] = "leaky_relu"

    alpha = _f32(0.01)


@irdl_op_definition
class HardSigmoidOp(_UnaryOp):
    name = "graph.hard_sigmoid"
    REFERENCE: ClassVar[str] = "hard_sigmoid"

    alpha = _f32(0.2)
    beta = _f32(0.5)


# ====================================================================== pooling
class _PoolOp(GraphOp):
    """Windowed pooling over the spatial axes of an NC... input."""

    ELEMENTS: ClassVar[tuple[Attribute, ...]] = (f32,)

    input = operand_def(TensorType)
    result = result_def(TensorType)

    @classmethod
    def _pool_shape(cls, x: TensorType, props: dict[str, Any]) -> Shape:
        op = cls.name
        _expect_element(op, "input", x, cls.ELEMENTS)
        shape = _shape(x)
        if len(shape) < 3:
            raise GraphError(f"{op}: input must be N x C x spatial... (rank >= 3), got {x}")
        spatial = len(shape) - 2
        kernel = props["kernel_shape"]
        _expect_length(op, "kernel_shape", kernel, spatial, "one per spatial axis")
        _expect_all(op, "kernel_shape", kernel, 1)
        dilations = props.get("dilations", [1] * spatial)
        _check_window_props(op, spatial, props["strides"], props["pads"], dilations)
        _expect_flag(op, "ceil_mode", props["ceil_mode"])
        out = _spatial_output(op, shape[2:], kernel, props["strides"], props["pads"], dilations, props["ceil_mode"])
        return (*shape[:2], *out)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        return _tensor(x.element_type, cls._pool_shape(x, props))


@irdl_op_definition
class MaxPoolOp(_PoolOp):
    name = "graph.max_pool"
    REFERENCE: ClassVar[str] = "max_pool"
    ELEMENTS: ClassVar[tuple[Attribute, ...]] = (f32, i8, ui8)

    kernel_shape = _ints()
    strides = _ints(_spatial_ones)
    pads = _ints(_spatial_zero_pads)
    dilations = _ints(_spatial_ones)
    ceil_mode = _i64(0)


@irdl_op_definition
class AveragePoolOp(_PoolOp):
    name = "graph.average_pool"
    REFERENCE: ClassVar[str] = "average_pool"

    kernel_shape = _ints()
    strides = _ints(_spatial_ones)
    pads = _ints(_spatial_zero_pads)
    ceil_mode = _i64(0)
    count_include_pad = _i64(0)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        _expect_flag(cls.name, "count_include_pad", props["count_include_pad"])
        return super()._infer(types, props)


class _GlobalPoolOp(GraphOp):
    """Pool over all spatial axes: N x C x 1 x ... x 1."""

    ELEMENTS: ClassVar[tuple[Attribute, ...]] = (f32,)

    input = operand_def(TensorType)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        _expect_element(cls.name, "input", x, cls.ELEMENTS)
        _expect_rank(cls.name, "input", x, range(3, 64), "N x C x spatial... (rank >= 3)")
        shape = _shape(x)
        return _tensor(x.element_type, (*shape[:2], *([1] * (len(shape) - 2))))


@irdl_op_definition
class GlobalAveragePoolOp(_GlobalPoolOp):
    name = "graph.global_average_pool"
    REFERENCE: ClassVar[str] = "global_average_pool"


@irdl_op_definition
class GlobalMaxPoolOp(_GlobalPoolOp):
    name = "graph.global_max_pool"
    REFERENCE: ClassVar[str] = "global_max_pool"
    ELEMENTS: ClassVar[tuple[Attribute, ...]] = (f32, i8, ui8)


@irdl_op_definition
class ReduceMeanOp(GraphOp):
    """Mean over ``axes`` (all when omitted), keeping them as size 1 when ``keepdims``."""

    name = "graph.reduce_mean"
    REFERENCE: ClassVar[str] = "reduce_mean"

    input = operand_def(TensorType)
    axes = _ints(_all_axes)
    keepdims = _i64(1)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        op = cls.name
        _expect_element(op, "input", x, FLOAT)
        _expect_flag(op, "keepdims", props["keepdims"])
        shape = _shape(x)
        axes = [_normalise_axis(op, "axes element", a, len(shape)) for a in props["axes"]]
        if len(set(axes)) != len(axes):
            raise GraphError(f"{op}: axes {props['axes']} name an axis twice")
        if not axes and shape:
            raise GraphError(f"{op}: axes is empty; leave it out to reduce over all axes")
        if props["keepdims"]:
            out = [1 if i in axes else d for i, d in enumerate(shape)]
        else:
            out = [d for i, d in enumerate(shape) if i not in axes]
        return _tensor(x.element_type, out)


@irdl_op_definition
class SumOp(GraphOp):
    """Elementwise sum of one or more inputs with numpy broadcasting."""

    name = "graph.sum"
    REFERENCE: ClassVar[str] = "sum"

    inputs = var_operand_def(TensorType)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (inputs,) = types
        if not inputs:
            raise GraphError(f"{cls.name} needs at least one input")
        _expect_element(cls.name, "inputs[0]", inputs[0], NUMERIC)
        for index, t in enumerate(inputs[1:], 1):
            _expect_same_element(cls.name, f"inputs[{index}]", t, "inputs[0]", inputs[0])
        names = [f"inputs[{i}]" for i in range(len(inputs))]
        shape = broadcast_shapes(cls.name, [_shape(t) for t in inputs], names)
        return _tensor(inputs[0].element_type, shape)


@irdl_op_definition
class BatchNormOp(GraphOp):
    """Inference-mode batch normalization of an N x C x ... input."""

    name = "graph.batch_norm"
    REFERENCE: ClassVar[str] = "batch_norm"

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    mean = operand_def(TensorType)
    variance = operand_def(TensorType)
    epsilon = _f32(1e-5)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        x, *params = types
        op = cls.name
        _expect_element(op, "input", x, (f32,))
        _expect_rank(op, "input", x, range(2, 64), "N x C x ... (rank >= 2)")
        channels = _shape(x)[1]
        for what, t in zip(("scale", "bias", "mean", "variance"), params, strict=True):
            _expect_element(op, what, t, (f32,))
            if _shape(t) != (channels,):
                raise GraphError(f"{op}: {what} must have shape [{channels}] (one per channel of {x}), got {t}")
        epsilon = props["epsilon"]
        if not epsilon >= 0 or math.isinf(epsilon):
            raise GraphError(f"{op}: epsilon must be finite and >= 0, got {epsilon}")
        return x


@irdl_op_definition
class LrnOp(GraphOp):
    """ONNX LRN: each element divided by ``(bias + alpha / size * sum of squares over
    the ``size`` neighbouring channels) ** beta`` (AlexNet, GoogLeNet, ZFNet)."""

    name = "graph.lrn"
    REFERENCE: ClassVar[str] = "lrn"

    input = operand_def(TensorType)
    size = _i64()
    alpha = _f32(0.0001)
    beta = _f32(0.75)
    bias = _f32(1.0)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        op = cls.name
        _expect_element(op, "input", x, (f32,))
        _expect_rank(op, "input", x, (4,), "N x C x H x W (rank 4)")
        if props["size"] < 1:
            raise GraphError(f"{op}: size must be positive (channels per window), got {props['size']}")
        for prop in ("alpha", "beta", "bias"):
            if not math.isfinite(props[prop]):
                raise GraphError(f"{op}: {prop} must be finite, got {props[prop]}")
        return x


# ====================================================================== shapes
@irdl_op_definition
class FlattenOp(GraphOp):
    """2-D view: dimensions before ``axis`` times those from ``axis`` on."""

    name = "graph.flatten"
    REFERENCE: ClassVar[str] = "flatten"

    input = operand_def(TensorType)
    axis = _i64(1)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        _expect_element(cls.name, "input", x, ANY_ELEMENT)
        shape = _shape(x)
        axis = _normalise_axis(cls.name, "axis", props["axis"], len(shape), allow_rank=True)
        return _tensor(x.element_type, (math.prod(shape[:axis]), math.prod(shape[axis:])))


@irdl_op_definition
class ReshapeOp(GraphOp):
    """Reshape to the static ``shape`` (the importer resolves ONNX's -1 and 0)."""

    name = "graph.reshape"
    REFERENCE: ClassVar[str] = "reshape"

    input = operand_def(TensorType)
    shape = _ints()
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        op = cls.name
        _expect_element(op, "input", x, ANY_ELEMENT)
        target = props["shape"]
        _expect_all(op, "shape", target, 0)
        if math.prod(target) != math.prod(_shape(x)):
            raise GraphError(
                f"{op}: shape {target} has {math.prod(target)} elements but the input {x} "
                f"has {math.prod(_shape(x))}"
            )
        return _tensor(x.element_type, target)


@irdl_op_definition
class TransposeOp(GraphOp):
    """Permute dimensions: result dimension i is input dimension perm[i]."""

    name = "graph.transpose"
    REFERENCE: ClassVar[str] = "transpose"

    input = operand_def(TensorType)
    perm = _ints(_reversed_axes)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        _expect_element(cls.name, "input", x, ANY_ELEMENT)
        shape = _shape(x)
        perm = props["perm"]
        if sorted(perm) != list(range(len(shape))):
            raise GraphError(
                f"{cls.name}: perm {perm} is not a permutation of 0..{len(shape) - 1} "
                f"(input {x})"
            )
        return _tensor(x.element_type, [shape[p] for p in perm])


@irdl_op_definition
class ConcatOp(GraphOp):
    """Concatenate inputs of equal rank along ``axis``."""

    name = "graph.concat"
    REFERENCE: ClassVar[str] = "concat"

    inputs = var_operand_def(TensorType)
    axis = _i64()
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (inputs,) = types
        op = cls.name
        if not inputs:
            raise GraphError(f"{op} needs at least one input")
        first = inputs[0]
        _expect_element(op, "inputs[0]", first, ANY_ELEMENT)
        rank = _rank(first)
        axis = props["axis"]
        if axis < 0:
            raise GraphError(f"{op}: axis = {axis} must be non-negative (the importer normalises ONNX's negative axes)")
        axis = _normalise_axis(op, "axis", axis, rank)
        total = 0
        for index, t in enumerate(inputs):
            _expect_same_element(op, f"inputs[{index}]", t, "inputs[0]", first)
            shape = _shape(t)
            if len(shape) != rank or any(
                d != e for i, (d, e) in enumerate(zip(shape, _shape(first), strict=True)) if i != axis
            ):
                raise GraphError(
                    f"{op}: inputs[{index}] {t} does not match inputs[0] {first} outside axis {axis}"
                )
            total += shape[axis]
        out = list(_shape(first))
        out[axis] = total
        return _tensor(first.element_type, out)


@irdl_op_definition
class SoftmaxOp(GraphOp):
    """Softmax along ``axis`` (opset-13 semantics)."""

    name = "graph.softmax"
    REFERENCE: ClassVar[str] = "softmax"

    input = operand_def(TensorType)
    axis = _i64(-1)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        _expect_element(cls.name, "input", x, FLOAT)
        _normalise_axis(cls.name, "axis", props["axis"], _rank(x))
        return x


PAD_MODES = ("constant", "reflect", "edge")


@irdl_op_definition
class PadOp(GraphOp):
    """ONNX Pad: ``pads`` = all begins then all ends (negative values crop)."""

    name = "graph.pad"
    REFERENCE: ClassVar[str] = "pad"

    input = operand_def(TensorType)
    pads = _ints(_rank_zero_pads)
    mode = _str("constant")
    value = _f32(0.0)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        op = cls.name
        _expect_element(op, "input", x, ANY_ELEMENT)
        shape = _shape(x)
        pads, mode = props["pads"], props["mode"]
        _expect_length(op, "pads", pads, 2 * len(shape), "all begins then all ends, 2 x rank")
        if mode not in PAD_MODES:
            raise GraphError(f"{op}: mode '{mode}' is not one of {', '.join(PAD_MODES)}")
        out = []
        for axis, dim in enumerate(shape):
            begin, end = pads[axis], pads[axis + len(shape)]
            size = dim + begin + end
            if size < 0:
                raise GraphError(f"{op}: pads {begin}, {end} crop axis {axis} of size {dim} below zero")
            if mode != "constant" and dim == 0 and (begin > 0 or end > 0):
                raise GraphError(f"{op}: mode '{mode}' cannot extend the empty axis {axis}")
            out.append(size)
        return _tensor(x.element_type, out)


# ================================================================ quantization
@irdl_op_definition
class QuantizeLinearOp(GraphOp):
    """``saturate(round_half_even(x / scale) + zero_point)`` to i8/ui8."""

    name = "graph.quantize_linear"
    REFERENCE: ClassVar[str] = "quantize_linear"

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    zero_point = opt_operand_def(TensorType)
    axis = _i64(1)
    result = result_def(TensorType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        x, scale, zp = types
        op = cls.name
        _expect_element(op, "input", x, (f32, i32))
        _expect_element(op, "scale", scale, (f32,))
        if zp is not None:
            _expect_element(op, "zero_point", zp, QUANTIZED)
        _check_quant_params(op, x, props["axis"], scale, zp, "scale", "zero_point")
        return _tensor(zp.element_type if zp is not None else ui8, _shape(x))


@irdl_op_definition
class DequantizeLinearOp(GraphOp):
    """``(x - zero_point) * scale`` to f32."""

    name = "graph.dequantize_linear"
    REFERENCE: ClassVar[str] = "dequantize_linear"

    input = operand_def(TensorType)
    scale = operand_def(TensorType)
    zero_point = opt_operand_def(TensorType)
    axis = _i64(1)
    result = result_def(TensorType)
    irdl_options = (AttrSizedOperandSegments(as_property=True),)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        x, scale, zp = types
        op = cls.name
        _expect_element(op, "input", x, (i8, ui8, i32))
        _expect_element(op, "scale", scale, (f32,))
        if zp is not None:
            _expect_same_element(op, "zero_point", zp, "input", x)
        _check_quant_params(op, x, props["axis"], scale, zp, "scale", "zero_point")
        return _tensor(f32, _shape(x))


_QUANT_RANGES = {i8: (-128, 127), ui8: (0, 255)}


@irdl_op_definition
class RequantizeOp(GraphOp):
    """Integer rescale i32 -> i8/ui8 (docs: the ALU-friendly form of quantization).

    The result element type chooses i8 or ui8; inference picks i8 when
    ``output_zero_point`` fits it, else ui8.
    """

    name = "graph.requantize"
    REFERENCE: ClassVar[str] = "requantize"

    input = operand_def(TensorType)
    multiplier = _ints()
    shift = _ints()
    output_zero_point = _i64(0)
    axis = _i64(1)
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        op = cls.name
        _expect_element(op, "input", x, (i32,))
        multiplier, shift = props["multiplier"], props["shift"]
        shape = _shape(x)
        if len(multiplier) != 1:
            axis = _normalise_axis(op, "axis", props["axis"], len(shape))
            if len(multiplier) != shape[axis]:
                raise GraphError(
                    f"{op}: multiplier has {len(multiplier)} values; expected 1 or "
                    f"{shape[axis]} (input dimension {axis}, axis = {props['axis']}, of {x})"
                )
        if len(shift) != len(multiplier):
            raise GraphError(f"{op}: shift has {len(shift)} values but multiplier has {len(multiplier)}")
        bad = [m for m in multiplier if not -(1 << 31) <= m < (1 << 31)]
        if bad:
            raise GraphError(f"{op}: multiplier {bad[0]} is outside the i32 range (x * multiplier must fit 64 bits)")
        bad = [s for s in shift if not 0 <= s <= 63]
        if bad:
            raise GraphError(f"{op}: shift {bad[0]} is outside [0, 63]")
        zero_point = props["output_zero_point"]
        for element, (low, high) in _QUANT_RANGES.items():
            if low <= zero_point <= high:
                return _tensor(element, shape)
        raise GraphError(f"{op}: output_zero_point = {zero_point} fits neither i8 nor ui8")

    @classmethod
    def _check_result(cls, result: Attribute, inferred: TensorType, props: dict) -> None:
        if not isinstance(result, TensorType) or _shape(result) != _shape(inferred) or (
            result.element_type not in QUANTIZED
        ):
            raise GraphError(
                f"{cls.name}: result type {result} must be a tensor of i8 or ui8 with shape "
                f"{list(_shape(inferred))}"
            )
        low, high = _QUANT_RANGES[result.element_type]
        zero_point = props["output_zero_point"]
        if not low <= zero_point <= high:
            raise GraphError(
                f"{cls.name}: output_zero_point = {zero_point} is outside the {result.element_type} "
                f"range [{low}, {high}]"
            )


# ========================================================================= cast
CAST_ELEMENTS: dict[str, Attribute] = {"i8": i8, "ui8": ui8, "i32": i32, "f32": f32}
"""``graph.cast``'s ``to`` spellings and the element types they name."""


@irdl_op_definition
class CastOp(GraphOp):
    """ONNX Cast between i8, ui8, i32 and f32 (``to`` names the result element type).

    The op makes integer widening (i8 -> i32 before an i32 add) and narrowing visible in
    the graph. Semantics are numpy ``astype`` as onnx.reference's Cast: integer
    narrowing wraps, float -> integer truncates toward zero (out-of-range or NaN values
    are undefined in ONNX; the reference rejects them). ONNX's ``saturate`` attribute
    only concerns float8 types, so it has no property here.
    """

    name = "graph.cast"
    REFERENCE: ClassVar[str] = "cast"

    input = operand_def(TensorType)
    to = _str()
    result = result_def(TensorType)

    @classmethod
    def _infer(cls, types: list, props: dict[str, Any]) -> TensorType:
        (x,) = types
        _expect_element(cls.name, "input", x, tuple(CAST_ELEMENTS.values()))
        to = props["to"]
        if to not in CAST_ELEMENTS:
            raise GraphError(
                f"{cls.name}: property 'to' = {to!r} is not one of {', '.join(CAST_ELEMENTS)}"
            )
        return _tensor(CAST_ELEMENTS[to], _shape(x))


# ====================================================================== dialect
GRAPH_OPS: tuple[type[GraphOp], ...] = (
    ConstantOp,
    ConvOp,
    ConvIntegerOp,
    QLinearConvOp,
    GemmOp,
    MatMulOp,
    MatMulIntegerOp,
    QLinearMatMulOp,
    AddOp,
    SubOp,
    MulOp,
    DivOp,
    ReluOp,
    SigmoidOp,
    ClipOp,
    LeakyReluOp,
    HardSigmoidOp,
    MaxPoolOp,
    AveragePoolOp,
    GlobalAveragePoolOp,
    GlobalMaxPoolOp,
    ReduceMeanOp,
    SumOp,
    BatchNormOp,
    LrnOp,
    FlattenOp,
    ReshapeOp,
    TransposeOp,
    ConcatOp,
    SoftmaxOp,
    PadOp,
    QuantizeLinearOp,
    DequantizeLinearOp,
    RequantizeOp,
    CastOp,
)
"""Every graph op, in the docs' table order."""

OP_BY_NAME: dict[str, type[GraphOp]] = {op.name: op for op in GRAPH_OPS}

Graph = Dialect("graph", list(GRAPH_OPS), [])

__all__ = [
    "ANY_ELEMENT",
    "FLOAT",
    "GRAPH_OPS",
    "NUMERIC",
    "OP_BY_NAME",
    "QUANTIZED",
    "REQUIRED",
    "AddOp",
    "AveragePoolOp",
    "BatchNormOp",
    "CAST_ELEMENTS",
    "CastOp",
    "ClipOp",
    "ConcatOp",
    "ConstantOp",
    "ConvIntegerOp",
    "ConvOp",
    "DequantizeLinearOp",
    "DivOp",
    "FlattenOp",
    "GemmOp",
    "GlobalAveragePoolOp",
    "GlobalMaxPoolOp",
    "Graph",
    "GraphCanonicalization",
    "GraphError",
    "GraphOp",
    "HardSigmoidOp",
    "LeakyReluOp",
    "LrnOp",
    "MatMulIntegerOp",
    "MatMulOp",
    "MaxPoolOp",
    "MulOp",
    "PadOp",
    "PropSpec",
    "QLinearConvOp",
    "QLinearMatMulOp",
    "QuantizeLinearOp",
    "ReduceMeanOp",
    "ReluOp",
    "RequantizeOp",
    "ReshapeOp",
    "SigmoidOp",
    "SoftmaxOp",
    "SubOp",
    "SumOp",
    "TransposeOp",
    "array_from_value",
    "broadcast_shapes",
    "conv_output_shape",
    "dense_attr_from_array",
    "i8",
    "matmul_shape",
    "ui8",
    "window_output_size",
]
