"""canopy_mlir.targets."""
