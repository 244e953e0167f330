"""canopy_mlir: an MLIR-style compiler (xDSL) for VTA-family int8 FPGA accelerator cards.

``canopy_mlir.compile(model, config=..., calibration=...)`` is the one-call API (see
:mod:`canopy_mlir.api` and docs/python-api.md). It is imported on first use, so that
``import canopy_mlir.<submodule>`` stays as light as the submodule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canopy_mlir.api import CompiledModel, CompileError, compile

__all__ = ["CompileError", "CompiledModel", "compile"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from canopy_mlir import api

        return getattr(api, name)
    raise AttributeError(f"module 'canopy_mlir' has no attribute {name!r}")
