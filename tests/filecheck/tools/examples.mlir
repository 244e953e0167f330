// The examples under examples/isa verify, print back unchanged, and assemble.
// RUN: rm -rf %t && mkdir -p %t
// RUN: canopy-opt %S/../../../examples/isa/gemm_tiny.mlir -o %t/gemm.mlir
// RUN: canopy-opt %t/gemm.mlir | diff - %t/gemm.mlir
// RUN: canopy-opt %t/gemm.mlir -t isa-bin -o %t/gemm.bin
// RUN: canopy-disasm %t/gemm.bin --uops %t/gemm.uops.bin --uop-base 512 --config tiny --name gemm_48x8x12 | canopy-opt | diff - %t/gemm.mlir
// RUN: filecheck %s --input-file %t/gemm.mlir
// CHECK: isa.program @gemm_48x8x12 config("tiny") {
// CHECK: isa.finish deps [pop_next]
