"""``graph-fuse-activations``: fold a relu/clip into the conv or matmul that feeds it.

Representation (the contract with the interpreter and later lowerings): the producing
op carries *discardable* attributes, so no op or property of the dialect changes::

    %y = graph.conv %x, %w attributes {fused_activation = "relu"} : (...) -> ...
    %z = graph.gemm %a, %b attributes {fused_activation = "clip",
             fused_activation_min = 0.0 : f64, fused_activation_max = 6.0 : f64} : (...) -> ...

- ``fused_activation`` (string) names the activation as its ``graph`` op without the
  prefix (one of :data:`FUSABLE_ACTIVATIONS`);
- each property ``p`` of that op is stored as ``fused_activation_<p>``, with the
  dialect's attribute kind for it (clip's bounds: ``f64`` floats); properties at their
  default (clip's ``-inf``/``inf``) are left out and readers take the default;
- the op's result is ``activation(op without the attributes)``, the activation applied
  to the op's own result in the result's element type (an integer conv's i32 sum is
  clipped as i32). :func:`get_fused_activation` reads and checks the attributes and
  :meth:`FusedActivation.apply` evaluates them with ``graph_reference``, so the
  interpreter's result is exact by construction.

The pass fuses ``relu``/``clip`` whose input is the only use of a conv, conv_integer,
gemm, matmul or matmul_integer result that carries no fused activation yet (a second
user would see the pre-activation value). Passes that rewrite a producer must keep or
respect the attributes (graph-canonicalize and graph-fold-batchnorm leave fused ops
alone).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
)

from canopy_mlir.dialects import graph
from canopy_mlir.interpreters import graph_reference
from canopy_mlir.transforms import record_statistic

FUSED_ACTIVATION = "fused_activation"
"""Discardable attribute naming the fused activation (``"relu"``, ``"clip"``)."""

FUSED_PARAM_PREFIX = FUSED_ACTIVATION + "_"
"""Prefix of the attributes holding the activation's properties (``fused_activation_min``)."""

FUSABLE_ACTIVATIONS: dict[str, type[graph.GraphOp]] = {
    "relu": graph.ReluOp,
    "clip": graph.ClipOp,
}
"""Activations the pass fuses and readers accept: those the core's ALU does (max/min)."""

FUSING_PRODUCERS: tuple[type[graph.GraphOp], ...] = (
    graph.ConvOp,
    graph.ConvIntegerOp,
    graph.GemmOp,
    graph.MatMulOp,
    graph.MatMulIntegerOp,
)
"""Ops that take a fused activation: the matrix-unit ops, whose output the ALU finishes."""


class FusedActivationError(ValueError):
    """Malformed ``fused_activation`` attributes on an op (the message names the op)."""


@dataclass(frozen=True)
class FusedActivation:
    """An activation fused into an op: its name and every property (defaults filled in)."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, value: np.ndarray) -> np.ndarray:
        """The activation of ``value``, as ``graph_reference`` computes the unfused op."""
        reference = getattr(graph_reference, FUSABLE_ACTIVATIONS[self.name].REFERENCE)
        return reference(value, **self.params)

    def attributes(self) -> dict[str, Any]:
        """The discardable attributes that encode this activation on an op (parameters
        at their default, such as clip's infinite bounds, are left out)."""
        specs = FUSABLE_ACTIVATIONS[self.name].prop_specs()
        attrs: dict[str, Any] = {FUSED_ACTIVATION: StringAttr(self.name)}
        for prop, value in self.params.items():
            if value != specs[prop].default_for(self.name, prop, []):
                attrs[FUSED_PARAM_PREFIX + prop] = specs[prop].to_attr(value)
        return attrs


def _label(op: Operation) -> str:
    hint = op.results[0].name_hint if op.results else None
    return f"'{op.name}'" + (f" (result %{hint})" if hint else "")


def get_fused_activation(op: Operation) -> FusedActivation | None:
    """The activation fused into ``op``, None if there is none.

    Raises :class:`FusedActivationError` for an unknown activation, a parameter attribute
    that the activation does not have or that has the wrong kind, parameters without a
    ``fused_activation``, or NaN clip bounds.
    """
    params = {k: v for k, v in op.attributes.items() if k.startswith(FUSED_PARAM_PREFIX)}
    name_attr = op.attributes.get(FUSED_ACTIVATION)
    if name_attr is None:
        if params:
            raise FusedActivationError(
                f"{_label(op)} has {', '.join(sorted(params))} but no '{FUSED_ACTIVATION}'"
            )
        return None
    if not isinstance(name_attr, StringAttr) or name_attr.data not in FUSABLE_ACTIVATIONS:
        raise FusedActivationError(
            f"{_label(op)}: {FUSED_ACTIVATION} = {name_attr} is not one of "
            f"{', '.join(repr(n) for n in FUSABLE_ACTIVATIONS)}"
        )
    name = name_attr.data
    specs = FUSABLE_ACTIVATIONS[name].prop_specs()
    values: dict[str, Any] = {}
    for key, attr in params.items():
        prop = key[len(FUSED_PARAM_PREFIX) :]
        if prop not in specs:
            allowed = ", ".join(FUSED_PARAM_PREFIX + p for p in specs) or "none"
            raise FusedActivationError(
                f"{_label(op)}: '{key}' is not a parameter of the fused {name} (its parameters: {allowed})"
            )
        try:
            values[prop] = specs[prop].from_attr(attr)
        except graph.GraphError as error:
            raise FusedActivationError(f"{_label(op)}: '{key}': {error}") from None
    for prop, spec in specs.items():
        if prop not in values:
            values[prop] = spec.default_for(name, prop, [])
    if any(isinstance(v, float) and math.isnan(v) for v in values.values()):
        raise FusedActivationError(f"{_label(op)}: the fused {name} has a NaN parameter {values}")
    return FusedActivation(name, values)


def activation_of(op: graph.GraphOp) -> FusedActivation:
    """The fused form of the relu/clip ``op`` (its properties, defaults filled in)."""
    names = {cls: name for name, cls in FUSABLE_ACTIVATIONS.items()}
    return FusedActivation(names[type(op)], op.props_dict())


def can_fuse_into(producer: Operation | None) -> bool:
    """Whether an activation of ``producer``'s result may be fused into it."""
    return (
        isinstance(producer, FUSING_PRODUCERS)
        and FUSED_ACTIVATION not in producer.attributes
        and not any(k.startswith(FUSED_PARAM_PREFIX) for k in producer.attributes)
        and producer.results[0].has_one_use()
    )


class FuseActivationPattern(RewritePattern):
    """relu/clip of a single-use conv/gemm/matmul result -> attributes on the producer."""

    def __init__(self, owner: ModulePass):
        self.owner = owner

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if not isinstance(op, tuple(FUSABLE_ACTIVATIONS.values())):
            return
        producer = op.operands[0].owner
        if not can_fuse_into(producer):
            return
        assert isinstance(producer, graph.GraphOp)
        if producer.results[0].type != op.results[0].type:
            return  # an activation never changes the type; a malformed module is left as is
        producer.attributes.update(activation_of(op).attributes())
        rewriter.notify_op_modified(producer)
        rewriter.replace(op, [], [producer.results[0]])
        record_statistic(self.owner, "fused")


@dataclass(frozen=True)
class GraphFuseActivations(ModulePass):
    """Fuse relu/clip into the conv, gemm or matmul producing their input.

    See the module docstring for the ``fused_activation`` attributes it writes.
    """

    name = "graph-fuse-activations"
    declared_statistics: ClassVar[dict[str, str]] = {"fused": "activations fused into their producer"}

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        PatternRewriteWalker(
            GreedyRewritePatternApplier([FuseActivationPattern(self)], dce_enabled=False),
            apply_recursively=False,
        ).rewrite_module(op)


__all__ = [
    "FUSABLE_ACTIVATIONS",
    "FUSED_ACTIVATION",
    "FUSED_PARAM_PREFIX",
    "FUSING_PRODUCERS",
    "FusedActivation",
    "FusedActivationError",
    "GraphFuseActivations",
    "activation_of",
    "can_fuse_into",
    "get_fused_activation",
]
