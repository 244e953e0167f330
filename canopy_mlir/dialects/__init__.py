"""canopy_mlir.dialects: our xDSL dialects, and the registry tools load them from.

``ALL_DIALECTS`` maps a dialect name to a factory, so a tool imports a dialect's module
only when the input uses it (xDSL's ``Context.register_dialect`` is lazy).
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.context import Context
from xdsl.ir import Dialect


def _isa() -> Dialect:
    from canopy_mlir.dialects.isa import Isa

    return Isa


def _graph() -> Dialect:
    from canopy_mlir.dialects.graph import Graph

    return Graph


def _tile() -> Dialect:
    from canopy_mlir.dialects.tile import Tile

    return Tile


def _dma() -> Dialect:
    from canopy_mlir.dialects.dma import Dma

    return Dma


ALL_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "isa": _isa,
    "graph": _graph,
    "tile": _tile,
    "dma": _dma,
}


def _builtin() -> Dialect:
    from xdsl.dialects.builtin import Builtin

    return Builtin


def _func() -> Dialect:
    from xdsl.dialects.func import Func

    return Func


def _arith() -> Dialect:
    from xdsl.dialects.arith import Arith

    return Arith


UPSTREAM_DIALECTS: dict[str, Callable[[], Dialect]] = {
    "builtin": _builtin,
    "func": _func,
    "arith": _arith,
}
"""The xDSL dialects our IR mixes with ours."""


def register_all_dialects(ctx: Context) -> Context:
    """Register (lazily) every dialect canopy_mlir reads and writes; returns ``ctx``."""
    for name, factory in {**UPSTREAM_DIALECTS, **ALL_DIALECTS}.items():
        if name not in ctx.registered_dialect_names:
            ctx.register_dialect(name, factory)
    return ctx


def make_context() -> Context:
    """A fresh context with every canopy_mlir dialect registered."""
    return register_all_dialects(Context())


__all__ = ["ALL_DIALECTS", "UPSTREAM_DIALECTS", "make_context", "register_all_dialects"]
