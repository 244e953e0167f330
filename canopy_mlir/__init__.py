"""canopy_mlir: an MLIR-style compiler (xDSL) for VTA-family int8 FPGA accelerator cards."""
