// -t isa-listing: every dma.launch of a compiled model as an isa.program (its
// instruction range decoded, its micro-op table at the table's planned address).
// The listing parses and verifies again, and each program assembles back to the
// launch's own bytes (tests/targets/test_isa_listing.py).
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/../tools/Inputs/make_small_cnn.py %t/float.onnx
// RUN: canopy-opt -f onnx %t/float.onnx -p 'canopy-default{calibration-random=2 config="tiny"}' -o %t/dma.mlir
// RUN: canopy-opt %t/dma.mlir -t isa-listing | filecheck %s
// RUN: canopy-opt %t/dma.mlir -t isa-listing -o %t/listing.mlir && canopy-opt %t/listing.mlir > /dev/null
// RUN: not canopy-opt %s --split-input-file -t isa-listing 2>&1 | filecheck %s --check-prefix=ERROR

// CHECK:      builtin.module {
// CHECK-NEXT:   isa.program @launch0_tile_conv config("tiny") {
// CHECK-NEXT:     isa.uops at {{[0-9]+}} {
// CHECK:          isa.finish
// CHECK:        isa.program @launch1_tile_
// CHECK:          isa.gemm
// CHECK:          isa.finish

// Instructions not yet placed (dma-plan-memory has not run) have no address to list.
// ERROR: canopy-opt: error: launch 0: its instruction constant has no planned offset (run dma-plan-memory)
builtin.module attributes {tile.config = "tiny"} {
  func.func @main() {
    %insns = dma.constant instructions align 16 dense<0> : tensor<16xi8> -> !dma.buffer<16>
    %uops = dma.constant uops align 4 dense<0> : tensor<4xi8> -> !dma.buffer<4>
    %t = dma.launch %insns[0, 1] uops %uops : !dma.buffer<16>, !dma.buffer<4> reads() writes()
    dma.wait %t
    func.return
  }
}
