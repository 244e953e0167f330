"""``graph-fold-constants``: evaluate graph ops whose operands are all constants.

Each such op is computed by the interpreter's own generic implementation
(``GraphFunctions.run_reference_op``: ``graph_reference.<op.REFERENCE>`` on the operand
arrays and ``op.props_dict()``, a fused activation applied, the result checked against
and cast to the result type) and replaced by a ``graph.constant`` holding the result, so
the folded program computes exactly what the interpreter computed before. One walk in
program order folds whole constant subgraphs (``transpose(reshape(constant))``).

Left alone:
- results with more than ``max-elements`` elements (a broadcast can turn two small
  constants into a huge one; ``-p 'graph-fold-constants{max-elements=N}'``);
- ops the reference rejects (e.g. an integer division by zero): the error stays where
  the program would raise it at run time;
- ops that are not graph ops, and ``graph.constant`` itself.

Operand constants left without users are erased.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.rewriter import Rewriter

from canopy_mlir.dialects import graph
from canopy_mlir.interpreters.graph_interpreter import (
    GraphFunctions,
    GraphInterpreterError,
)
from canopy_mlir.transforms import record_statistic

DEFAULT_MAX_ELEMENTS = 1 << 24
"""16M elements (64 MiB of f32): more than any single weight of the usual CNNs."""


class ConstantFoldError(ValueError):
    """A bad option of graph-fold-constants."""


def _result_elements(op: Operation) -> int:
    result_type = op.results[0].type
    assert isinstance(result_type, TensorType)
    return math.prod(result_type.get_shape())


def _is_foldable(op: Operation) -> bool:
    """A graph op (not a constant) with operands that are all ``graph.constant`` results."""
    return (
        isinstance(op, graph.GraphOp)
        and not isinstance(op, graph.ConstantOp)
        and len(op.results) == 1
        and all(isinstance(operand.owner, graph.ConstantOp) for operand in op.operands)
    )


def evaluate(op: graph.GraphOp) -> np.ndarray:
    """``op``'s result on its constant operands, exactly as the interpreter computes it.

    Raises :class:`GraphInterpreterError` when the reference rejects the op.
    """
    values = tuple(operand.owner.value_array() for operand in op.operands)  # type: ignore[union-attr]
    # run_reference_op does not use the interpreter argument: the op and values suffice.
    (result,) = GraphFunctions().run_reference_op(None, op, values)  # type: ignore[arg-type]
    return np.asarray(result)


def fold_op(op: graph.GraphOp) -> graph.ConstantOp | None:
    """A constant equal to ``op``'s result, or None if the reference rejects the op."""
    try:
        array = evaluate(op)
    except GraphInterpreterError:
        return None
    constant = graph.ConstantOp.from_array(array)
    if constant.result.type != op.results[0].type:
        return None  # e.g. an element type numpy cannot represent exactly
    return constant


def _erase_if_dead(op: Operation) -> bool:
    if isinstance(op, graph.ConstantOp) and op.parent is not None and not op.result.uses:
        Rewriter.erase_op(op)
        return True
    return False


@dataclass(frozen=True)
class GraphFoldConstants(ModulePass):
    """Replace graph ops whose operands are all constants by the constant they compute."""

    name = "graph-fold-constants"
    declared_statistics: ClassVar[dict[str, str]] = {
        "folded": "ops replaced by constants",
        "too-large": "ops left alone: result above max-elements",
        "rejected": "ops left alone: the reference rejects them",
    }

    max_elements: int = DEFAULT_MAX_ELEMENTS
    """Fold only results of at most this many elements."""

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        if self.max_elements < 0:
            raise ConstantFoldError(f"{self.name}: max-elements must be >= 0, got {self.max_elements}")
        for candidate in list(op.walk()):
            if candidate.parent is None or not _is_foldable(candidate):
                continue
            assert isinstance(candidate, graph.GraphOp)
            if _result_elements(candidate) > self.max_elements:
                record_statistic(self, "too-large")
                continue
            constant = fold_op(candidate)
            if constant is None:
                record_statistic(self, "rejected")
                continue
            self._replace(candidate, constant)
            record_statistic(self, "folded")

    @staticmethod
    def _replace(op: graph.GraphOp, constant: graph.ConstantOp) -> None:
        operand_owners = [operand.owner for operand in op.operands]
        Rewriter.replace_op(op, constant)
        for owner in dict.fromkeys(operand_owners):  # each once, in order
            if isinstance(owner, Operation):
                _erase_if_dead(owner)


__all__ = [
    "DEFAULT_MAX_ELEMENTS",
    "ConstantFoldError",
    "GraphFoldConstants",
    "evaluate",
    "fold_op",
]
