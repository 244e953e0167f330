"""canopy_mlir.transforms."""
