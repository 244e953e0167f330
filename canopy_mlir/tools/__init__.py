"""canopy_mlir.tools."""
