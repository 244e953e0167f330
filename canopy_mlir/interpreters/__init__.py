"""canopy_mlir.interpreters: executable semantics for our dialects.

- :mod:`~canopy_mlir.interpreters.graph_reference`: one pure numpy function per
  ``graph`` op (the op's meaning, checked against onnx.reference);
- :mod:`~canopy_mlir.interpreters.graph_interpreter`: xDSL interpreter glue running a
  ``graph`` module on numpy arrays (:func:`run_graph`);
- :mod:`~canopy_mlir.interpreters.tile_interpreter`: the same for functions that mix
  ``graph`` and ``tile`` ops (:func:`run_tile`).

Names are imported lazily so that using the numpy reference alone does not load xDSL
or the dialect.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "GraphReferenceError": "canopy_mlir.interpreters.graph_reference",
    "GraphInterpreterError": "canopy_mlir.interpreters.graph_interpreter",
    "GraphFunctions": "canopy_mlir.interpreters.graph_interpreter",
    "run_graph": "canopy_mlir.interpreters.graph_interpreter",
    "run_tile": "canopy_mlir.interpreters.tile_interpreter",
}

__all__ = ["GraphFunctions", "GraphInterpreterError", "GraphReferenceError", "run_graph", "run_tile"]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)
