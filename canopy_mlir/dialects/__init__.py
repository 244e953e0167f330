"""canopy_mlir.dialects."""
