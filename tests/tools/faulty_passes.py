"""A canopy-opt plugin of deliberately faulty and chatty passes, for the tool's tests.

Loaded with ``canopy-opt --load-plugin tests/tools/faulty_passes.py``; never installed.

- ``divide-by-zero``: a buggy pass that raises a plain ``ZeroDivisionError`` if the
  module holds an ``arith.muli`` (so a pipeline that removes them first succeeds);
- ``reject-addi``: refuses every ``arith.addi`` with an ``OpError`` naming the op;
- ``break-ir``: leaves a function whose body does not end in a terminator;
- ``count-ops``: records how many ops and constants it saw (pass statistics);
- ``note-constants``: emits a remark per ``arith.constant`` and a warning per ``i1`` one;
- ``muli-to-addi``: rewrites ``arith.muli %x, %c2`` (any operands) to ``arith.addi``, so
  a reproducer of a later pass shows IR that earlier passes changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import IntegerType, ModuleOp
from xdsl.passes import ModulePass

from canopy_mlir.tools.diagnostics import OpError, emit_remark, emit_warning
from canopy_mlir.transforms import record_statistic


@dataclass(frozen=True)
class DivideByZeroPass(ModulePass):
    name = "divide-by-zero"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if any(isinstance(o, arith.MuliOp) for o in op.walk()):
            1 // 0  # noqa: B018 - the bug this pass exists to have


@dataclass(frozen=True)
class RejectAddiPass(ModulePass):
    name = "reject-addi"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for child in op.walk():
            if isinstance(child, arith.AddiOp):
                raise OpError(child, "reject-addi: arith.addi is not allowed here")


@dataclass(frozen=True)
class BreakIrPass(ModulePass):
    name = "break-ir"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for child in list(op.walk()):
            if isinstance(child, func.ReturnOp):
                child.detach()
                child.erase()


@dataclass(frozen=True)
class CountOpsPass(ModulePass):
    name = "count-ops"
    declared_statistics: ClassVar[dict[str, str]] = {
        "ops": "operations seen",
        "constants": "arith.constant ops seen",
        "never": "a counter nothing increments",
    }
    weight: int = 1

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for child in op.walk():
            record_statistic(self, "ops", self.weight)
            if isinstance(child, arith.ConstantOp):
                record_statistic(self, "constants")


@dataclass(frozen=True)
class NoteConstantsPass(ModulePass):
    name = "note-constants"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for child in op.walk():
            if isinstance(child, arith.ConstantOp):
                emit_remark(child, "a constant")
                if child.result.type == IntegerType(1):
                    emit_warning(child, "an i1 constant")


@dataclass(frozen=True)
class MuliToAddiPass(ModulePass):
    name = "muli-to-addi"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for child in list(op.walk()):
            if isinstance(child, arith.MuliOp):
                new = arith.AddiOp(child.lhs, child.rhs)
                child.parent_block().insert_op_before(new, child)
                child.result.replace_all_uses_with(new.result)
                child.detach()
                child.erase()


PASSES = [
    DivideByZeroPass,
    RejectAddiPass,
    BreakIrPass,
    CountOpsPass,
    NoteConstantsPass,
    MuliToAddiPass,
]
