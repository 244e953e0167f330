"""canopy_mlir.frontend: model importers into the ``graph`` dialect.

- :mod:`~canopy_mlir.frontend.onnx_importer`: ONNX (default domain, opsets 7..21,
  static shapes) to one ``func.func`` of ``graph`` ops, with a pre-flight support check.
"""

from __future__ import annotations

from canopy_mlir.frontend.onnx_importer import (
    MAX_OPSET,
    MIN_OPSET,
    ONNX_NAME_ATTR,
    OnnxImportError,
    SupportIssue,
    SupportReport,
    check_support,
    function_io_names,
    import_onnx,
    supported_op_types,
)

__all__ = [
    "MAX_OPSET",
    "MIN_OPSET",
    "ONNX_NAME_ATTR",
    "OnnxImportError",
    "SupportIssue",
    "SupportReport",
    "check_support",
    "function_io_names",
    "import_onnx",
    "supported_op_types",
]
