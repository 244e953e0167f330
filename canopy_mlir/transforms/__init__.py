"""canopy_mlir.transforms: our passes, and the registry canopy-opt loads them from.

Add a pass as ``ALL_PASSES["kebab-name"] = lambda: PassClass`` (a factory, so that the
pass module is imported only when a pipeline names it).
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.passes import ModulePass

ALL_PASSES: dict[str, Callable[[], type[ModulePass]]] = {}

__all__ = ["ALL_PASSES"]
