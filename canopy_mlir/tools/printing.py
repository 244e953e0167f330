"""IR printing for canopy_mlir tools: mlir-opt's large-constant elision on xDSL's Printer.

``canopy-opt --mlir-elide-elementsattrs-if-larger=N`` prints every dense constant with
more than ``N`` elements as ``dense_resource<__elided__>`` (mlir-opt's spelling, which
xDSL parses back), so IR dumps of real networks stay readable. Splat constants are never
elided (they are one number long), as in mlir-opt.

Ops with a custom printer that prints a large value itself (``graph.constant`` prints
its tensor in hex) consult the same setting::

    from canopy_mlir.tools.printing import ELIDED_VALUE, should_elide_dense

    if should_elide_dense(value):          # a DenseIntOrFPElementsAttr
        printer.print_string(f"{ELIDED_VALUE} : ")
    else:
        ...  # print the hex literal
    printer.print_attribute(value.type)

(``should_elide(num_elements, is_splat=...)`` is the same test for values held in
other forms.)

The setting is a context variable: tools scope it with ``eliding_constants_larger_than``
and library code outside a tool sees ``None`` (print everything).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp
from xdsl.ir import Attribute, Operation
from xdsl.printer import Printer
from xdsl.syntax_printer import SyntaxPrinter
from xdsl.targets.mlir import MLIRTarget

ELIDED_VALUE = "dense_resource<__elided__>"
"""What an elided constant prints as, in place of ``dense<...>`` (without the type)."""

_ELIDE_THRESHOLD: ContextVar[int | None] = ContextVar(
    "canopy_elide_threshold", default=None
)


def elide_threshold() -> int | None:
    """The element count above which constants print elided; None: never elide."""
    return _ELIDE_THRESHOLD.get()


def should_elide(num_elements: int, *, is_splat: bool = False) -> bool:
    """Whether a constant of ``num_elements`` elements prints as ``ELIDED_VALUE`` now."""
    threshold = _ELIDE_THRESHOLD.get()
    return threshold is not None and num_elements > threshold and not is_splat


@contextmanager
def eliding_constants_larger_than(threshold: int | None) -> Iterator[None]:
    """Elide constants of more than ``threshold`` elements while the block runs."""
    if threshold is not None and threshold < 0:
        raise ValueError(f"the elision threshold must be >= 0, got {threshold}")
    token = _ELIDE_THRESHOLD.set(threshold)
    try:
        yield
    finally:
        _ELIDE_THRESHOLD.reset(token)


def dense_is_splat(attr: DenseIntOrFPElementsAttr) -> bool:
    """Whether all elements of ``attr`` are equal, compared as bytes (no Python lists)."""
    data = attr.data.data
    width = attr.get_element_type().compile_time_size
    return len(data) <= width or data == data[:width] * (len(data) // width)


def should_elide_dense(attr: DenseIntOrFPElementsAttr) -> bool:
    """Whether ``attr`` prints elided now (cheap when elision is off: no data is read)."""
    threshold = _ELIDE_THRESHOLD.get()
    return threshold is not None and len(attr) > threshold and not dense_is_splat(attr)


class ElidingPrinterMixin:
    """Prints dense constants that ``should_elide`` as ``dense_resource<__elided__>``."""

    def print_attribute(self, attribute: Attribute) -> None:
        if isinstance(attribute, DenseIntOrFPElementsAttr) and should_elide_dense(attribute):
            printer: Printer = self  # type: ignore[assignment]
            printer.print_string(f"{ELIDED_VALUE} : ")
            printer.print_attribute(attribute.get_type())
            return
        super().print_attribute(attribute)  # type: ignore[misc]


@dataclass(eq=False, repr=False)
class CanopyPrinter(ElidingPrinterMixin, Printer):
    """xDSL's Printer with large-constant elision."""


@dataclass(eq=False, repr=False)
class CanopySyntaxPrinter(ElidingPrinterMixin, SyntaxPrinter):
    """xDSL's syntax-highlighting Printer with large-constant elision."""


@dataclass(frozen=True)
class PrintOptions:
    """How canopy-opt prints IR (its output and its IR dumps alike)."""

    generic: bool = False
    properties_as_attributes: bool = False
    debuginfo: bool = False
    syntax_highlight: bool = False


def make_printer(stream: IO[str], options: PrintOptions = PrintOptions()) -> Printer:
    """A printer on ``stream`` honouring ``options`` and the elision setting."""
    cls = CanopySyntaxPrinter if options.syntax_highlight else CanopyPrinter
    return cls(
        stream=stream,
        print_generic_format=options.generic,
        print_properties_as_attributes=options.properties_as_attributes,
        print_debuginfo=options.debuginfo,
    )


def print_ir(
    op: Operation,
    stream: IO[str],
    options: PrintOptions = PrintOptions(),
    ctx: Context | None = None,
) -> None:
    """Print ``op`` (and, given ``ctx``, its dialect resources) followed by a newline."""
    printer = make_printer(stream, options)
    printer.print_op(op)
    if ctx is not None:
        printer.print_metadata(ctx.loaded_dialects)
    stream.write("\n")


@dataclass(frozen=True)
class CanopyMLIRTarget(MLIRTarget):
    """xDSL's ``mlir`` target, printing through ``CanopyPrinter`` (so it elides)."""

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        options = PrintOptions(
            generic=self.print_generic_format,
            properties_as_attributes=self.print_properties_as_attributes,
            debuginfo=self.print_debuginfo,
            syntax_highlight=self.syntax_highlight,
        )
        print_ir(module, output, options, ctx)
        output.write("\n")


__all__ = [
    "ELIDED_VALUE",
    "CanopyMLIRTarget",
    "CanopyPrinter",
    "PrintOptions",
    "dense_is_splat",
    "elide_threshold",
    "eliding_constants_larger_than",
    "make_printer",
    "print_ir",
    "should_elide",
    "should_elide_dense",
]
