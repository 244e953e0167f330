"""canopy_mlir.runtime."""
