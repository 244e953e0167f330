"""An example canopy-opt plugin: a one-op dialect and the pass that lowers it.

    canopy-opt --load-plugin examples/plugin/demo_plugin.py \
        examples/plugin/double.mlir -p demo-lower-double

``demo.double %x : i32`` doubles an integer; ``demo-lower-double`` rewrites it to
``arith.addi %x, %x`` and counts how many it rewrote (``--mlir-pass-statistics``).
``register`` below is the whole plugin interface; see canopy_mlir/tools/plugins.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerType, ModuleOp
from xdsl.ir import Dialect
from xdsl.irdl import (
    IRDLOperation,
    VarConstraint,
    base,
    irdl_op_definition,
    operand_def,
    result_def,
)
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from canopy_mlir.transforms import record_statistic


@irdl_op_definition
class DoubleOp(IRDLOperation):
    """``demo.double %x : T``: ``2 * x`` for an integer ``x`` (wrapping)."""

    name = "demo.double"
    T: ClassVar = VarConstraint("T", base(IntegerType))
    input = operand_def(T)
    result = result_def(T)
    assembly_format = "$input attr-dict `:` type($input)"

    def __init__(self, value):
        super().__init__(operands=[value], result_types=[value.type])


Demo = Dialect("demo", [DoubleOp], [])


@dataclass
class _LowerDouble(RewritePattern):
    owner: ModulePass

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: DoubleOp, rewriter: PatternRewriter) -> None:
        rewriter.replace(op, arith.AddiOp(op.input, op.input))
        record_statistic(self.owner, "lowered")


@dataclass(frozen=True)
class LowerDoublePass(ModulePass):
    """Rewrite every ``demo.double`` to ``arith.addi`` of its operand with itself."""

    name = "demo-lower-double"
    declared_statistics: ClassVar[dict[str, str]] = {"lowered": "demo.double ops rewritten"}

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(_LowerDouble(self), apply_recursively=False).rewrite_module(op)


def register(registry) -> None:
    """canopy-opt calls this with its ``PluginRegistry`` when loading the plugin."""
    registry.add_dialect("demo", lambda: Demo)
    registry.add_pass(LowerDoublePass)
    registry.add_pipeline("demo-lower", "demo-lower-double,cse", "lower demo ops, then CSE")
